// The lines of `npm run bench:parallel` that are computed from the timed runs: the phases of one training run
// (from its MLflow runs), the medians per worker count, their ratio and issue 10's goal. Pure functions, unit-tested
// (tests/unit/bench/parallel-report.test.ts) without training anything.
import { median, round1, round3 } from "./lib.js";

export type Line = Record<string, unknown>;

/** One timed `npm run train` (a fresh process against the already running tracking server). */
export interface TimedRun {
  workers: number;
  /** Spawn to exit of the train command. */
  wall_s: number;
  /** The candidates' phase (see runPhases), when the runs could be read back. */
  candidates_s?: number | undefined;
  /** CPU seconds of the run: the train command's (every thread) plus the tracking server's, when measured. */
  cpu_s?: number | undefined;
}

/** What runPhases reads of a run: MLflow's start and end times (ms) and, for a trial, its train_seconds. */
export interface RunTimes {
  startTime: number | undefined;
  endTime: number | undefined;
  trainSeconds?: number | undefined;
}

/**
 * The phases of one training run from its parent run and child runs (one per trial): `before_candidates_s`
 * from the parent's start to the first trial's start (data logging and artifacts; the data preparation comes
 * before the parent run starts), `candidates_s` from the first trial's start to the last trial's end (child
 * runs include their logging), `after_candidates_s` to the parent's end (evaluation, plots, packaging,
 * registration), and `trial_seconds_sum` (Σ train_seconds: the work a single worker does one trial after
 * another). Null where a time is missing.
 */
export function runPhases(parent: RunTimes, children: readonly RunTimes[]): Line {
  const starts = children.map((c) => c.startTime).filter((t): t is number => t !== undefined);
  const ends = children.map((c) => c.endTime).filter((t): t is number => t !== undefined);
  const first = starts.length === children.length && starts.length > 0 ? Math.min(...starts) : undefined;
  const last = ends.length === children.length && ends.length > 0 ? Math.max(...ends) : undefined;
  const seconds = (from: number | undefined, to: number | undefined) =>
    from === undefined || to === undefined ? null : round3((to - from) / 1000);
  const trainSeconds = children.map((c) => c.trainSeconds);
  return {
    trials: children.length,
    before_candidates_s: seconds(parent.startTime, first),
    candidates_s: seconds(first, last),
    after_candidates_s: seconds(last, parent.endTime),
    trial_seconds_sum: trainSeconds.every((s) => s !== undefined && Number.isFinite(s))
      ? round3((trainSeconds as number[]).reduce((a, b) => a + b, 0))
      : null,
  };
}

/**
 * The order of the worker counts in each repeat: alternating (1, n, then n, 1, …), so that a drift of the
 * machine's speed over the benchmark weighs on both sides alike.
 */
export function interleave(repeats: number, workers: number): number[][] {
  return Array.from({ length: repeats }, (_, r) => (r % 2 === 0 ? [1, workers] : [workers, 1]));
}

/** One worker's median / n workers' median, or null when either side has no finite value. */
export function speedup(one: readonly number[], many: readonly number[]): number | null {
  if (one.length === 0 || many.length === 0) return null;
  const r = median(one) / median(many);
  return Number.isFinite(r) && r > 0 ? r : null;
}

/**
 * The summary line (medians of the wall time, of the candidates' phase and of the CPU seconds per worker count,
 * and their ratios: > 1 means n workers are faster) and the goal line: the whole run's wall-time ratio at least
 * `target`. `wall_speedup_cpu_bound` is the most n workers could give with the CPU work their runs did: one
 * worker's median wall time over n workers' median CPU seconds spread evenly on `cores` cores (n workers do more
 * work than one: each worker thread loads its modules and compiles its hot code again).
 */
export function summaryLines(
  common: Line,
  runs: readonly TimedRun[],
  workers: number,
  target: number,
  cores: number,
): Line[] {
  const of = (w: number, field: "wall_s" | "candidates_s" | "cpu_s") =>
    runs
      .filter((r) => r.workers === w)
      .map((r) => r[field])
      .filter((v): v is number => v !== undefined && Number.isFinite(v));
  const medianOrNull = (xs: number[]) => (xs.length === 0 ? null : round3(median(xs)));
  const wall = speedup(of(1, "wall_s"), of(workers, "wall_s"));
  const candidates = speedup(of(1, "candidates_s"), of(workers, "candidates_s"));
  return [
    {
      ...common,
      summary: true,
      workers,
      runs_1: of(1, "wall_s").length,
      [`runs_${workers}`]: of(workers, "wall_s").length,
      wall_s_median_1: medianOrNull(of(1, "wall_s")),
      [`wall_s_median_${workers}`]: medianOrNull(of(workers, "wall_s")),
      wall_speedup: wall === null ? null : round3(wall),
      candidates_s_median_1: medianOrNull(of(1, "candidates_s")),
      [`candidates_s_median_${workers}`]: medianOrNull(of(workers, "candidates_s")),
      candidates_speedup: candidates === null ? null : round3(candidates),
      cpu_s_median_1: medianOrNull(of(1, "cpu_s")),
      [`cpu_s_median_${workers}`]: medianOrNull(of(workers, "cpu_s")),
      wall_speedup_cpu_bound:
        of(1, "wall_s").length === 0 || of(workers, "cpu_s").length === 0
          ? null
          : round3(median(of(1, "wall_s")) / (median(of(workers, "cpu_s")) / cores)),
      meaning: `median wall time with 1 worker / with ${workers}: > 1 means ${workers} workers are faster`,
    },
    {
      ...common,
      goal: `parallel candidates: the ${String(common.config ?? "config")} run's wall time drops by at least ${round1(target)}x with ${workers} workers versus one`,
      value: wall === null ? null : round3(wall),
      target,
      met: wall !== null && wall >= target,
    },
  ];
}
