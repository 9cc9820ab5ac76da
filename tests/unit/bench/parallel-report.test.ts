// The rules of `npm run bench:parallel`'s computed lines (no training, no server).
import { describe, expect, it } from "vitest";
import { interleave, runPhases, speedup, summaryLines } from "../../../bench/parallel-report.js";

const common = { bench: "parallel", config: "credit-default" };

describe("bench:parallel report", () => {
  it("interleaves the worker counts, alternating which goes first", () => {
    expect(interleave(3, 2)).toEqual([
      [1, 2],
      [2, 1],
      [1, 2],
    ]);
    expect(interleave(1, 4)).toEqual([[1, 4]]);
  });

  it("speedup is one worker's median over n workers' median; null without values", () => {
    expect(speedup([80, 60, 70], [40, 50, 45])).toBeCloseTo(70 / 45, 12);
    expect(speedup([10, 20], [5])).toBe(3); // even count: the mean of the middle two
    expect(speedup([], [1])).toBeNull();
    expect(speedup([1], [])).toBeNull();
    expect(speedup([1], [0])).toBeNull();
  });

  it("the phases of a run from its parent and child runs", () => {
    const parent = { startTime: 10_000, endTime: 70_000 };
    const children = [
      { startTime: 13_000, endTime: 40_000, trainSeconds: 26.6 },
      { startTime: 13_100, endTime: 30_000, trainSeconds: 15.4 },
      { startTime: 30_100, endTime: 45_500, trainSeconds: 5.3 },
    ];
    expect(runPhases(parent, children)).toEqual({
      trials: 3,
      before_candidates_s: 3,
      candidates_s: 32.5,
      after_candidates_s: 24.5,
      trial_seconds_sum: 47.3,
    });
    // A child still running (no end time) or without train_seconds: those fields are null.
    expect(runPhases(parent, [{ startTime: 13_000, endTime: undefined, trainSeconds: undefined }])).toEqual({
      trials: 1,
      before_candidates_s: 3,
      candidates_s: null,
      after_candidates_s: null,
      trial_seconds_sum: null,
    });
  });

  it("summary medians and ratios per worker count, and the goal met or missed at the target", () => {
    const runs = [
      { workers: 1, wall_s: 64, candidates_s: 50, cpu_s: 80 },
      { workers: 2, wall_s: 40, candidates_s: 28, cpu_s: 76 },
      { workers: 2, wall_s: 42, candidates_s: 30, cpu_s: 78 },
      { workers: 1, wall_s: 62, candidates_s: 48, cpu_s: 79 },
      { workers: 1, wall_s: 70, candidates_s: undefined },
      { workers: 2, wall_s: 44, cpu_s: 84 },
    ];
    const [summary, goal] = summaryLines(common, runs, 2, 1.6, 2);
    expect(summary).toEqual({
      ...common,
      summary: true,
      workers: 2,
      runs_1: 3,
      runs_2: 3,
      wall_s_median_1: 64,
      wall_s_median_2: 42,
      wall_speedup: 1.524,
      candidates_s_median_1: 49,
      candidates_s_median_2: 29,
      candidates_speedup: 1.69,
      cpu_s_median_1: 79.5,
      cpu_s_median_2: 78,
      // 64 s of one worker against 78 CPU seconds on 2 cores (39 s at best).
      wall_speedup_cpu_bound: 1.641,
      meaning: "median wall time with 1 worker / with 2: > 1 means 2 workers are faster",
    });
    expect(goal).toEqual({
      ...common,
      goal: "parallel candidates: the credit-default run's wall time drops by at least 1.6x with 2 workers versus one",
      value: 1.524,
      target: 1.6,
      met: false,
    });
    const [, reached] = summaryLines(common, runs, 2, 1.5, 2);
    // More workers than cores: the work spreads on the cores there are.
    const [fourOnTwo] = summaryLines(
      common,
      runs.map((r) => ({ ...r, workers: r.workers === 2 ? 4 : 1 })),
      4,
      1.6,
      2,
    );
    expect(fourOnTwo!.wall_speedup_cpu_bound).toBe(1.641);
    // Fewer workers than cores: this thread and the server run beside them, so the work spreads on every core.
    const [twoOnFour] = summaryLines(common, runs, 2, 1.6, 4);
    expect(twoOnFour!.wall_speedup_cpu_bound).toBe(3.282);
    expect(reached!.met).toBe(true);
    // No run of one side (all failed): no ratio, goal not met.
    const [empty, missing] = summaryLines(
      common,
      runs.filter((r) => r.workers === 2),
      2,
      1.6,
      2,
    );
    expect([
      empty!.wall_speedup,
      empty!.wall_s_median_1,
      empty!.wall_speedup_cpu_bound,
      missing!.value,
      missing!.met,
    ]).toEqual([null, null, null, null, false]);
  });
});
