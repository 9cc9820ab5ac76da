/** Binary classification metrics, matching scikit-learn's definitions (checked against stored fixtures). */

export interface Confusion {
  tn: number;
  fp: number;
  fn: number;
  tp: number;
}

export function confusionAt(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
  threshold: number,
): Confusion {
  const c = { tn: 0, fp: 0, fn: 0, tp: 0 };
  for (let i = 0; i < yTrue.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (yTrue[i] === 1) predicted ? c.tp++ : c.fn++;
    else predicted ? c.fp++ : c.tn++;
  }
  return c;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

export function precisionRecallF1(c: Confusion): { precision: number; recall: number; f1: number } {
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  return { precision, recall, f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn) };
}

/** ROC AUC as the Mann–Whitney statistic with average ranks for ties. */
export function rocAuc(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = yTrue.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; i++) {
    if (yTrue[i] === 1) {
      positives++;
      rankSum += ranks[i]!;
    }
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export interface CurvePoint {
  threshold: number;
  tp: number;
  fp: number;
}

/** Cumulative counts at each distinct score, highest first (the basis of ROC and PR curves). */
export function thresholdCounts(yTrue: ArrayLike<number>, scores: ArrayLike<number>): CurvePoint[] {
  const order = Array.from({ length: yTrue.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const points: CurvePoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (yTrue[i] === 1) tp++;
    else fp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[i]) points.push({ threshold: scores[i]!, tp, fp });
  }
  return points;
}

/** Average precision (scikit-learn's PR AUC): Σ (Rₙ − Rₙ₋₁) Pₙ over distinct thresholds. */
export function averagePrecision(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  const points = thresholdCounts(yTrue, scores);
  const positives = points.at(-1)?.tp ?? 0;
  if (positives === 0) return Number.NaN;
  let ap = 0;
  let previousRecall = 0;
  for (const p of points) {
    const recall = p.tp / positives;
    ap += (recall - previousRecall) * (p.tp / (p.tp + p.fp));
    previousRecall = recall;
  }
  return ap;
}

export function rocCurve(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
): { fpr: number[]; tpr: number[]; thresholds: number[] } {
  const points = thresholdCounts(yTrue, scores);
  const positives = points.at(-1)?.tp ?? 0;
  const negatives = points.at(-1)?.fp ?? 0;
  return {
    fpr: [0, ...points.map((p) => ratio(p.fp, negatives))],
    tpr: [0, ...points.map((p) => ratio(p.tp, positives))],
    thresholds: [Number.POSITIVE_INFINITY, ...points.map((p) => p.threshold)],
  };
}

export function prCurve(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
): { precision: number[]; recall: number[]; thresholds: number[] } {
  const points = thresholdCounts(yTrue, scores);
  const positives = points.at(-1)?.tp ?? 0;
  return {
    precision: points.map((p) => p.tp / (p.tp + p.fp)),
    recall: points.map((p) => ratio(p.tp, positives)),
    thresholds: points.map((p) => p.threshold),
  };
}

const EPS = 1e-15;

export function binaryLogLoss(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = Math.min(1 - EPS, Math.max(EPS, scores[i]!));
    total -= yTrue[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return total / yTrue.length;
}

export function brierScore(yTrue: ArrayLike<number>, scores: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < yTrue.length; i++) total += (scores[i]! - yTrue[i]!) ** 2;
  return total / yTrue.length;
}

/** scikit-learn's calibration_curve with uniform bins: mean predicted vs observed rate per non-empty bin. */
export function calibrationCurve(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
  bins = 10,
): { predicted: number[]; observed: number[]; counts: number[] } {
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i * (1 + 1e-8)) / bins);
  const sums = new Float64Array(bins);
  const trues = new Float64Array(bins);
  const totals = new Float64Array(bins);
  const inner = edges.slice(1, -1);
  for (let i = 0; i < yTrue.length; i++) {
    const s = scores[i]!;
    let b = 0;
    while (b < inner.length && inner[b]! < s) b++;
    sums[b]! += s;
    trues[b]! += yTrue[i]!;
    totals[b]!++;
  }
  const out = { predicted: [] as number[], observed: [] as number[], counts: [] as number[] };
  for (let b = 0; b < bins; b++) {
    if (totals[b] === 0) continue;
    out.predicted.push(sums[b]! / totals[b]!);
    out.observed.push(trues[b]! / totals[b]!);
    out.counts.push(totals[b]!);
  }
  return out;
}
