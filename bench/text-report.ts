// The comparison lines of `npm run bench:text`: ratios of our variants against the scikit-learn TF-IDF peers, the
// issue's goals, and the check that the full training run used the bench's split. Pure functions of the variant
// lines, so the rules are unit-tested (tests/unit/bench/text-report.test.ts) without training anything.
import { round3, round5 } from "./lib.js";
import { ratio } from "./train-report.js";

export type Line = Record<string, unknown>;

/** The fields of a variant line (ours or a peer's) that the comparisons read; a side may lack time or memory. */
export interface TextVariantSummary {
  variant: string;
  test_f1_macro: number;
  test_f1_weighted?: number;
  /** One fit (ours: the preprocessor + the kind's best trial; peers: vectorizer + classifier). */
  fit_s_median?: number;
  /** Peak resident set of the variant's own process. */
  peak_rss_mb?: number;
}

/** The full `npm run train` run of the config: its best model on test, and the command's wall time. */
export interface ConfigRunSummary {
  variant: string;
  best_candidate: string;
  test_f1_macro: number;
  test_f1_weighted?: number;
  wall_s: number;
}

/** The LinearSVC peer's variant name: the reference. */
export const LINEAR_SVC = "sklearn-tfidf-linear-svc";

/** The limit on training the full complaints config. */
export const MAX_TRAIN_SECONDS = 300;

const roundOrNull = (x: number | null | undefined, round: (x: number) => number) =>
  x === null || x === undefined || !Number.isFinite(x) ? null : round(x);

type Compared = "test_f1_macro" | "test_f1_weighted" | "fit_s_median" | "peak_rss_mb";
const QUALITY: [Compared, string][] = [
  ["test_f1_macro", "ours / peer: >1 means ours scores higher"],
  ["test_f1_weighted", "ours / peer: >1 means ours scores higher"],
];
const COST: [Compared, string][] = [
  ["fit_s_median", "peer / ours: >1 means ours is faster"],
  ["peak_rss_mb", "peer / ours: >1 means ours is smaller"],
];

/**
 * Ratio lines of one pair. Quality (macro-F1, weighted F1): ours / peer, > 1 means ours scores higher. Fit time
 * and peak RSS: peer / ours, > 1 means ours is faster / smaller. Only the metrics both sides reported (the config
 * run has no fit time or memory of its own; our kinds' lines no weighted F1); a zero denominator gives null.
 */
export function ratioLines(
  common: Line,
  ours: TextVariantSummary | ConfigRunSummary,
  peer: TextVariantSummary,
): Line[] {
  const a: Partial<Record<Compared, number>> & { variant: string } = ours;
  const b: Partial<Record<Compared, number>> & { variant: string } = peer;
  const lines: Line[] = [];
  for (const [metric, meaning] of QUALITY) {
    if (a[metric] === undefined || b[metric] === undefined) continue;
    lines.push({
      ...common,
      ratio: `${a.variant}/${b.variant}`,
      metric,
      value: roundOrNull(ratio(a[metric] ?? Number.NaN, b[metric] ?? Number.NaN), round5),
      ours: roundOrNull(a[metric], round5),
      peer: roundOrNull(b[metric], round5),
      meaning,
    });
  }
  for (const [metric, meaning] of COST) {
    if (a[metric] === undefined || b[metric] === undefined) continue;
    lines.push({
      ...common,
      ratio: `${b.variant}/${a.variant}`,
      metric,
      value: roundOrNull(ratio(b[metric] ?? Number.NaN, a[metric] ?? Number.NaN), round3),
      ours: roundOrNull(a[metric], round3),
      peer: roundOrNull(b[metric], round3),
      meaning,
    });
  }
  return lines;
}

/**
 * The goals: the config's best model scores at least LinearSVC's macro-F1 on the same test split (a tie
 * counts as met), and training the full config takes under MAX_TRAIN_SECONDS. A side that did not run gives
 * `met: null` with the reason.
 */
export function goalLines(
  common: Line,
  best: ConfigRunSummary | undefined,
  linearSvc: TextVariantSummary | undefined,
): Line[] {
  const quality: Line = {
    ...common,
    goal: "best model's test macro-F1 >= the TF-IDF + LinearSVC peer's (same split)",
    metric: "test_f1_macro",
    ours: roundOrNull(best?.test_f1_macro, round5),
    best_candidate: best?.best_candidate ?? null,
    peer: roundOrNull(linearSvc?.test_f1_macro, round5),
    met: best === undefined || linearSvc === undefined ? null : best.test_f1_macro >= linearSvc.test_f1_macro,
  };
  if (best === undefined || linearSvc === undefined)
    quality.reason =
      best === undefined ? "the config's training did not run" : "the LinearSVC peer did not run";
  const time: Line = {
    ...common,
    goal: `training the full config takes < ${MAX_TRAIN_SECONDS} s`,
    metric: "wall_s",
    ours: roundOrNull(best?.wall_s, round3),
    limit_s: MAX_TRAIN_SECONDS,
    met: best === undefined ? null : best.wall_s < MAX_TRAIN_SECONDS,
  };
  if (best === undefined) time.reason = "the config's training did not run";
  return [quality, time];
}

/** What identifies a split: its row count and the MLflow dataset digest of its rows. */
export interface SplitIdentity {
  rows: number;
  digest: string;
}

/**
 * The differences between the split the bench prepared (and handed to the peers) and the one a training run
 * logged (its `data_rows_<split>` metrics and `<dataset>-<split>` dataset inputs); empty when they agree.
 */
export function splitMismatches(
  expected: Record<string, SplitIdentity>,
  logged: Record<string, Partial<SplitIdentity>>,
): string[] {
  const problems: string[] = [];
  for (const [split, want] of Object.entries(expected)) {
    const got = logged[split];
    if (got?.rows === undefined || got.digest === undefined) {
      problems.push(
        `${split}: the run logged no ${got?.rows === undefined ? "row count" : "dataset digest"}`,
      );
      continue;
    }
    if (got.rows !== want.rows)
      problems.push(`${split}: ${got.rows} rows in the run, ${want.rows} in the bench`);
    else if (got.digest !== want.digest)
      problems.push(`${split}: dataset digest ${got.digest} in the run, ${want.digest} in the bench`);
  }
  return problems;
}
