// The comparison lines of `npm run bench:train`: ratios of one of our variants against one peer, and the
// issue's goals for the gbdt kind. Pure functions of the variant lines, so the rules are unit-tested
// (tests/unit/bench/train-report.test.ts) without training anything.
import { round3, round5 } from "./lib.js";

/** The fields of a variant line (ours or a peer's) that the comparisons read. */
export interface VariantSummary {
  variant: string;
  test_roc_auc: number;
  test_f1_macro: number;
  /** One fit, preprocessing included (ours: fitting the preprocessor + transforming the splits + model.fit). */
  fit_s_median: number;
  /** Class probabilities of `predict_rows` rows through the whole pipeline (ours: transform + model.predict). */
  predict_rows_s_median: number;
  /** Peak resident set of the variant's own process. */
  peak_rss_mb: number;
  /** CPU seconds (every thread) of the same fit and predict spans: less distorted by other jobs than wall time. */
  fit_cpu_s_median?: number;
  predict_rows_cpu_s_median?: number;
}

/** Our side also times model.predict alone, on the already preprocessed matrix. */
export interface OursSummary extends VariantSummary {
  predict_rows_model_only_s_median: number;
}

/** Which peers each of our kinds is compared with. */
export const PEERS_OF: Readonly<Record<string, readonly string[]>> = {
  logistic: ["sklearn-logistic"],
  mlp: ["sklearn-hgb"],
  gbdt: ["sklearn-hgb", "sklearn-hgb-ours-params", "lightgbm"],
  "random-forest": ["sklearn-rf"],
};

/** a / b, or null when it is not a finite number (a zero or missing denominator). */
export function ratio(a: number, b: number): number | null {
  const r = a / b;
  return Number.isFinite(r) ? r : null;
}

const roundOrNull = (x: number | null | undefined, round: (x: number) => number) =>
  x === null || x === undefined || !Number.isFinite(x) ? null : round(x);

export type Line = Record<string, unknown>;

/**
 * Ratio lines of one pair. Quality (ROC AUC, macro-F1): ours / peer, > 1 means ours scores higher. Time
 * (fit, predict; wall and CPU) and memory (peak RSS): peer / ours, > 1 means ours is faster / smaller. Predict is compared
 * twice: the peer's pipeline against our transform + predict (like for like) and against model.predict alone.
 */
export function ratioLines(common: Line, ours: OursSummary, peer: VariantSummary): Line[] {
  const name = `${ours.variant}/${peer.variant}`;
  const lines: Line[] = [];
  for (const metric of ["test_roc_auc", "test_f1_macro"] as const) {
    lines.push({
      ...common,
      ratio: name,
      metric,
      value: roundOrNull(ratio(ours[metric], peer[metric]), round5),
      ours: round5(ours[metric]),
      peer: round5(peer[metric]),
      meaning: "ours / peer: >1 means ours scores higher",
    });
  }
  const inverse: [string, number | undefined, number | undefined, string][] = [
    ["fit_s_median", ours.fit_s_median, peer.fit_s_median, "faster"],
    ["predict_rows_s_median", ours.predict_rows_s_median, peer.predict_rows_s_median, "faster"],
    [
      "predict_rows_model_only_s_median",
      ours.predict_rows_model_only_s_median,
      peer.predict_rows_s_median,
      "faster (ours without the transform)",
    ],
    ["peak_rss_mb", ours.peak_rss_mb, peer.peak_rss_mb, "smaller"],
    ["fit_cpu_s_median", ours.fit_cpu_s_median, peer.fit_cpu_s_median, "cheaper in CPU time"],
    [
      "predict_rows_cpu_s_median",
      ours.predict_rows_cpu_s_median,
      peer.predict_rows_cpu_s_median,
      "cheaper in CPU time",
    ],
  ];
  for (const [metric, a, b, better] of inverse) {
    lines.push({
      ...common,
      ratio: `${peer.variant}/${ours.variant}`,
      metric,
      value: a === undefined || b === undefined ? null : roundOrNull(ratio(b, a), round3),
      ours: roundOrNull(a, round3),
      peer: roundOrNull(b, round3),
      meaning: `peer / ours: >1 means ours is ${better}`,
    });
  }
  return lines;
}

/** The quality metric a goal is judged on: the config's selection metric when it is one the bench reports. */
export function goalMetric(selectionMetric: string): "test_roc_auc" | "test_f1_macro" {
  return selectionMetric === "f1_macro" ? "test_f1_macro" : "test_roc_auc";
}

export interface GoalOptions {
  /** The quality metric (see goalMetric). */
  metric: "test_roc_auc" | "test_f1_macro";
  /** Our fit may take at most this many times the peer's (issue 10: 3). */
  maxFitRatio: number;
  /** Our predict of `rows` rows must take less than this (issue 10: 0.5 s for 100,000 rows). */
  maxPredictSeconds: number;
  rows: number;
}

/** The goals for the gbdt kind against scikit-learn's HistGradientBoosting, each met or not. */
export function goalLines(common: Line, gbdt: OursSummary, hgb: VariantSummary, goals: GoalOptions): Line[] {
  const fitRatio = ratio(gbdt.fit_s_median, hgb.fit_s_median);
  return [
    {
      ...common,
      goal: `${gbdt.variant} ${goals.metric} >= ${hgb.variant}'s`,
      metric: goals.metric,
      ours: round5(gbdt[goals.metric]),
      peer: round5(hgb[goals.metric]),
      met: gbdt[goals.metric] >= hgb[goals.metric],
    },
    {
      ...common,
      goal: `${gbdt.variant} fit_s <= ${goals.maxFitRatio} x ${hgb.variant}'s`,
      metric: "fit_s_median",
      ours: round3(gbdt.fit_s_median),
      peer: round3(hgb.fit_s_median),
      ours_over_peer: roundOrNull(fitRatio, round3),
      met: fitRatio !== null && fitRatio <= goals.maxFitRatio,
      cpu_ours_over_peer:
        gbdt.fit_cpu_s_median === undefined || hgb.fit_cpu_s_median === undefined
          ? null
          : roundOrNull(ratio(gbdt.fit_cpu_s_median, hgb.fit_cpu_s_median), round3),
    },
    {
      ...common,
      goal: `${gbdt.variant} predict of ${goals.rows} rows < ${goals.maxPredictSeconds} s`,
      metric: "predict_rows_model_only_s_median",
      ours: round3(gbdt.predict_rows_model_only_s_median),
      met: gbdt.predict_rows_model_only_s_median < goals.maxPredictSeconds,
      with_transform_s: round3(gbdt.predict_rows_s_median),
      met_with_transform: gbdt.predict_rows_s_median < goals.maxPredictSeconds,
    },
  ];
}
