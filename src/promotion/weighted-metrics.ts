/**
 * The gate's metrics with per-row weights: a bootstrap resample is a vector of draw counts, so no
 * resampled copy of the rows is ever built. Weight w on a row means exactly what w copies of it mean
 * to `evaluate()` (src/evaluation/metrics.ts); the tests hold the two to that.
 */
import { GATE_METRIC_NAMES, type GateMetricName } from "../config/promotion-config.js";
import { precisionRecallF1 } from "../evaluation/binary.js";
import { WorkbenchError } from "../shared/errors.js";

export { higherIsBetter } from "../evaluation/metrics.js";

/** Metrics the gate can compare, named as `evaluate()` names them (the config's list, one source). */
export const GATE_METRICS = GATE_METRIC_NAMES;
export type GateMetric = GateMetricName;

type Probabilities = Float32Array | Float64Array;
/** The evaluation rows: labels, probabilities (rows × k, row-major) and one weight per row. */
interface Rows {
  labels: Int32Array;
  p: Probabilities;
  k: number;
  w: Float64Array;
}

const BINARY_ONLY: ReadonlySet<string> = new Set(["f1", "precision", "recall"]);
const EPS = 1e-15;

/**
 * `metric` of class probabilities (rows × k, row-major) with per-row weights; NaN where undefined (e.g.
 * an AUC with one class present, or all weights zero). Binary tasks threshold the positive class (index 1),
 * multiclass tasks take the arg-max. ROC and PR AUC sort each score column once per probabilities array
 * and reuse that order, so a call costs O(n) after the first.
 */
export function weightedMetric(
  metric: GateMetric,
  labels: Int32Array,
  probabilities: Probabilities,
  k: number,
  weights: Float64Array,
  threshold = 0.5,
): number {
  const rows: Rows = { labels, p: probabilities, k, w: weights };
  checkInputs(metric, rows);
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i]!;
  if (!(total > 0)) return Number.NaN;
  if (metric === "roc_auc" || metric === "pr_auc") {
    if (k === 2) return ranked(metric, rows, 1);
    // Macro one-vs-rest over the classes present in this resample, as evaluate() does.
    const support = new Float64Array(k);
    for (let i = 0; i < labels.length; i++) support[labels[i]!]! += weights[i]!;
    let sum = 0;
    let present = 0;
    for (let c = 0; c < k; c++) {
      if (support[c]! === 0) continue;
      sum += ranked(metric, rows, c);
      present++;
    }
    return sum / present;
  }
  if (metric === "log_loss" || metric === "brier") return probabilityLoss(metric, rows) / total;
  return fromConfusion(metric, confusion(rows, threshold), k, total);
}

function checkInputs(metric: string, { labels, p, k, w }: Rows): void {
  const invalid = (message: string) =>
    new WorkbenchError("STATS_INVALID_INPUT", `Weighted ${metric}: ${message}`);
  if (!(GATE_METRICS as readonly string[]).includes(metric)) {
    throw invalid(`unknown metric; use one of ${GATE_METRICS.join(", ")}`);
  }
  if (!Number.isInteger(k) || k < 2) throw invalid(`needs at least 2 classes, got k = ${k}`);
  if (BINARY_ONLY.has(metric) && k !== 2) {
    throw invalid(
      `is defined for binary tasks only (k = ${k}); use f1_macro, f1_weighted or balanced_accuracy`,
    );
  }
  if (p.length !== labels.length * k || w.length !== labels.length) {
    throw invalid(
      `expected ${labels.length} rows × ${k} probabilities and ${labels.length} weights, got ` +
        `${p.length} probabilities and ${w.length} weights`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y < 0 || y >= k) throw invalid(`label ${y} at row ${i} is not a class index in 0..${k - 1}`);
  }
}

// Row orders by descending score, per probabilities array and column. Weak keys: the cache dies with the
// scores. Every walk re-checks the order, so an array changed in place after caching is re-sorted.
const orders = new WeakMap<Probabilities, { k: number; columns: (Int32Array | undefined)[] }>();

function columnOrder(p: Probabilities, k: number, c: number, fresh: boolean): Int32Array {
  let entry = orders.get(p);
  if (entry === undefined || entry.k !== k) {
    entry = { k, columns: [] };
    orders.set(p, entry);
  }
  let order = entry.columns[c];
  if (order === undefined || fresh) {
    order = Int32Array.from({ length: p.length / k }, (_, i) => i);
    order.sort((a, b) => p[b * k + c]! - p[a * k + c]!);
    entry.columns[c] = order;
  }
  return order;
}

/** One-vs-rest ROC AUC (Mann–Whitney, ties half) or average precision of class `c`, in O(n). */
function ranked(metric: "roc_auc" | "pr_auc", rows: Rows, c: number): number {
  const { labels, w } = rows;
  const walk = (order: Int32Array) => {
    let positives = 0;
    let negatives = 0;
    let pairs = 0;
    let ap = 0;
    let previousRecall = 0;
    let allPositives = 0;
    if (metric === "pr_auc")
      for (let i = 0; i < labels.length; i++) if (labels[i] === c) allPositives += w[i]!;
    const sorted = forEachTieGroup(rows, c, order, (groupPositives, groupNegatives) => {
      // The group's negatives lose to every positive above it and tie with the group's own positives.
      pairs += groupNegatives * (positives + 0.5 * groupPositives);
      positives += groupPositives;
      negatives += groupNegatives;
      // A group of zero weight is a threshold the expanded rows do not have: no point on the PR curve.
      if (metric === "pr_auc" && groupPositives + groupNegatives > 0) {
        const recall = positives / allPositives;
        ap += (recall - previousRecall) * (positives / (positives + negatives));
        previousRecall = recall;
      }
    });
    if (!sorted) return undefined;
    if (metric === "pr_auc") return positives === 0 ? Number.NaN : ap;
    return positives === 0 || negatives === 0 ? Number.NaN : pairs / (positives * negatives);
  };
  const { p, k } = rows;
  return walk(columnOrder(p, k, c, false)) ?? walk(columnOrder(p, k, c, true))!;
}

/**
 * Calls `group` with the positive and negative weight of each tie group of column `c`, highest score
 * first; returns false as soon as `order` is found not sorted by the current scores.
 */
function forEachTieGroup(
  { labels, p, k, w }: Rows,
  c: number,
  order: Int32Array,
  group: (positives: number, negatives: number) => void,
): boolean {
  let positives = 0;
  let negatives = 0;
  let previous = Number.POSITIVE_INFINITY;
  for (let r = 0; r < order.length; r++) {
    const i = order[r]!;
    const score = p[i * k + c]!;
    if (score !== previous) {
      if (score > previous) return false;
      group(positives, negatives);
      positives = 0;
      negatives = 0;
      previous = score;
    }
    if (labels[i] === c) positives += w[i]!;
    else negatives += w[i]!;
  }
  group(positives, negatives);
  return true;
}

/** Weighted sum of per-row log loss or Brier terms, with evaluate()'s clipping and row normalisation. */
function probabilityLoss(metric: "log_loss" | "brier", { labels, p, k, w }: Rows): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    if (w[i] === 0) continue;
    let loss = 0;
    if (k === 2) {
      const s = p[i * 2 + 1]!;
      const clipped = Math.min(1 - EPS, Math.max(EPS, s));
      if (metric === "log_loss") loss = labels[i] === 1 ? -Math.log(clipped) : -Math.log(1 - clipped);
      else loss = (s - (labels[i] === 1 ? 1 : 0)) ** 2;
    } else {
      let rowSum = 0;
      for (let c = 0; c < k; c++) rowSum += p[i * k + c]!;
      if (metric === "log_loss")
        loss = -Math.log(Math.min(1 - EPS, Math.max(EPS, p[i * k + labels[i]!]! / rowSum)));
      else for (let c = 0; c < k; c++) loss += (p[i * k + c]! / rowSum - (labels[i] === c ? 1 : 0)) ** 2;
    }
    sum += w[i]! * loss;
  }
  return sum;
}

/** Weighted confusion matrix (rows: true class, columns: predicted), row-major k × k. */
function confusion({ labels, p, k, w }: Rows, threshold: number): Float64Array {
  const matrix = new Float64Array(k * k);
  for (let i = 0; i < labels.length; i++) {
    if (w[i] === 0) continue;
    let predicted = 0;
    if (k === 2) predicted = p[i * 2 + 1]! >= threshold ? 1 : 0;
    else for (let c = 1; c < k; c++) if (p[i * k + c]! > p[i * k + predicted]!) predicted = c;
    matrix[labels[i]! * k + predicted]! += w[i]!;
  }
  return matrix;
}

/** The threshold metrics, with evaluate()'s conventions (0 for an empty ratio, macro over present classes). */
function fromConfusion(
  metric: Exclude<GateMetric, "roc_auc" | "pr_auc" | "log_loss" | "brier">,
  m: Float64Array,
  k: number,
  total: number,
): number {
  if (metric === "f1" || metric === "precision" || metric === "recall") {
    return precisionRecallF1({ tn: m[0]!, fp: m[1]!, fn: m[2]!, tp: m[3]! })[metric];
  }
  let correct = 0;
  let recallSum = 0;
  let f1Sum = 0;
  let f1Weighted = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      support += m[c * k + j]!;
      predicted += m[j * k + c]!;
    }
    const tp = m[c * k + c]!;
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    correct += tp;
    f1Weighted += f1 * support;
    if (support > 0) {
      present++;
      recallSum += recall;
      f1Sum += f1;
    }
  }
  if (metric === "accuracy") return correct / total;
  if (metric === "balanced_accuracy") return recallSum / present;
  if (metric === "f1_macro") return f1Sum / present;
  return f1Weighted / total;
}
