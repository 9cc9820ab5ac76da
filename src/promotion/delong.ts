/**
 * DeLong's test for two correlated ROC AUCs scored on the same rows, with the O(n log n) midrank
 * algorithm of Sun & Xu (2014). Checked against a Python reference (tests/fixtures/promotion).
 */
import { WorkbenchError } from "../shared/errors.js";

export interface DelongResult {
  aucA: number;
  aucB: number;
  /** aucB - aucA */
  difference: number;
  variance: number;
  z: number;
  /** one-sided p-value for H1: B's AUC > A's AUC */
  pValue: number;
  pValueTwoSided: number;
  /** 95% CI of the difference */
  ci: [number, number];
}

/** scipy.stats.norm.ppf(0.975) */
const Z_975 = 1.959963984540054;

/**
 * Compares champion A with challenger B on the same labelled rows.
 * Zero variance (e.g. identical score vectors) has no normal approximation, so the sign decides:
 * a difference of 0 gives p = 1 (one- and two-sided: no evidence of any change), a positive
 * difference p = 0, a negative one p = 1 one-sided and 0 two-sided.
 * @example delongTest([0, 1, 0, 1], champion, challenger).pValue < 0.05
 */
export function delongTest(
  labels: ArrayLike<number>,
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
): DelongResult {
  const { positives, negatives } = checkInputs(labels, scoresA, scoresB);
  const a = structuralComponents(scoresA, positives, negatives);
  const b = structuralComponents(scoresB, positives, negatives);
  const m = positives.length;
  const n = negatives.length;
  // Var(B - A) = Var(A) + Var(B) - 2 Cov(A, B), each term from both classes' components.
  const variance = Math.max(
    0,
    (covariance(a.v10, a.v10) + covariance(b.v10, b.v10) - 2 * covariance(a.v10, b.v10)) / m +
      (covariance(a.v01, a.v01) + covariance(b.v01, b.v01) - 2 * covariance(a.v01, b.v01)) / n,
  );
  const difference = b.auc - a.auc;
  const sd = Math.sqrt(variance);
  let z: number;
  let pValue: number;
  let pValueTwoSided: number;
  if (variance === 0) {
    z = difference === 0 ? 0 : Math.sign(difference) * Number.POSITIVE_INFINITY;
    pValue = difference <= 0 ? 1 : 0;
    pValueTwoSided = difference === 0 ? 1 : 0;
  } else {
    z = difference / sd;
    pValue = normalSurvival(z);
    pValueTwoSided = Math.min(1, 2 * normalSurvival(Math.abs(z)));
  }
  const ci: [number, number] = [difference - Z_975 * sd, difference + Z_975 * sd];
  return { aucA: a.auc, aucB: b.auc, difference, variance, z, pValue, pValueTwoSided, ci };
}

function checkInputs(labels: ArrayLike<number>, scoresA: ArrayLike<number>, scoresB: ArrayLike<number>) {
  const invalid = (message: string) => new WorkbenchError("STATS_INVALID_INPUT", `DeLong test: ${message}`);
  if (scoresA.length !== labels.length || scoresB.length !== labels.length) {
    throw invalid(
      `labels (${labels.length}), champion scores (${scoresA.length}) and challenger scores ` +
        `(${scoresB.length}) must have the same length; score both models on the same rows`,
    );
  }
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y === 1) positives.push(i);
    else if (y === 0) negatives.push(i);
    else throw invalid(`labels must be 0 or 1, got ${y} at row ${i}; binarise multiclass labels first`);
    if (!Number.isFinite(scoresA[i]!) || !Number.isFinite(scoresB[i]!)) {
      throw invalid(`scores must be finite numbers, got ${scoresA[i]} / ${scoresB[i]} at row ${i}`);
    }
  }
  if (positives.length < 2 || negatives.length < 2) {
    throw invalid(
      `needs at least 2 rows of each class to estimate a variance, got ${positives.length} ` +
        `positive and ${negatives.length} negative; use a larger evaluation set`,
    );
  }
  return { positives, negatives };
}

/**
 * The AUC and its structural components from midranks: v10[i] is the share of negatives positive i
 * outranks, v01[j] the share of positives outranking negative j (ties count half).
 */
function structuralComponents(scores: ArrayLike<number>, positives: number[], negatives: number[]) {
  const m = positives.length;
  const n = negatives.length;
  const x = Float64Array.from(positives, (i) => scores[i]!);
  const y = Float64Array.from(negatives, (i) => scores[i]!);
  const all = new Float64Array(m + n);
  all.set(x);
  all.set(y, m);
  const tx = midranks(x);
  const ty = midranks(y);
  const tz = midranks(all);
  const v10 = new Float64Array(m);
  const v01 = new Float64Array(n);
  let rankSum = 0;
  for (let i = 0; i < m; i++) {
    rankSum += tz[i]!;
    v10[i] = (tz[i]! - tx[i]!) / n;
  }
  for (let j = 0; j < n; j++) v01[j] = 1 - (tz[m + j]! - ty[j]!) / m;
  return { auc: (rankSum / m - (m + 1) / 2) / n, v10, v01 };
}

/** 1-based ranks, tied values sharing the average of their ranks. */
function midranks(values: Float64Array): Float64Array {
  const n = values.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((p, q) => values[p]! - values[q]!);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && values[order[j]!] === values[order[i]!]) j++;
    const rank = 0.5 * (i + j - 1) + 1;
    for (let t = i; t < j; t++) ranks[order[t]!] = rank;
    i = j;
  }
  return ranks;
}

/** Sample covariance (n - 1 denominator, as numpy.cov). */
function covariance(u: Float64Array, v: Float64Array): number {
  const n = u.length;
  let meanU = 0;
  let meanV = 0;
  for (let i = 0; i < n; i++) {
    meanU += u[i]!;
    meanV += v[i]!;
  }
  meanU /= n;
  meanV /= n;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (u[i]! - meanU) * (v[i]! - meanV);
  return sum / (n - 1);
}

/** P(Z > z) for a standard normal Z, to ~1e-15 relative in the upper tail. */
export function normalSurvival(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

// W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 1969
// (netlib specfun CALERF): near-minimax rational functions on three intervals, coefficients written as
// the nearest doubles.
const A = [3.1611237438705655, 113.86415415105016, 377.485237685302, 3209.3775891384694, 0.18577770618460315];
const B = [23.601290952344122, 244.02463793444417, 1282.6165260773723, 2844.236833439171];
const C = [
  0.5641884969886701, 8.883149794388377, 66.11919063714163, 298.6351381974001, 881.952221241769,
  1712.0476126340707, 2051.0783778260716, 1230.3393547979972, 2.1531153547440383e-8,
];
const D = [
  15.744926110709835, 117.6939508913125, 537.1811018620099, 1621.3895745666903, 3290.7992357334597,
  4362.619090143247, 3439.3676741437216, 1230.3393548037495,
];
const P = [
  0.30532663496123236, 0.36034489994980445, 0.12578172611122926, 0.016083785148742275, 0.0006587491615298378,
  0.016315387137302097,
];
const Q = [
  2.568520192289822, 1.8729528499234604, 0.5279051029514285, 0.06051834131244132, 0.0023352049762686918,
];
const SQRT_PI_INV = 0.5641895835477563;

/** The complementary error function (Cody's CALERF), accurate to ~1e-16 relative. */
function erfc(x: number): number {
  const y = Math.abs(x);
  if (y <= 0.46875) {
    const ysq = y > 1.11e-16 ? y * y : 0;
    let num = A[4]! * ysq;
    let den = ysq;
    for (let i = 0; i < 3; i++) {
      num = (num + A[i]!) * ysq;
      den = (den + B[i]!) * ysq;
    }
    return 1 - (x * (num + A[3]!)) / (den + B[3]!);
  }
  let result: number;
  if (y <= 4) {
    let num = C[8]! * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + C[i]!) * y;
      den = (den + D[i]!) * y;
    }
    result = (num + C[7]!) / (den + D[7]!);
  } else if (y >= 26.543) {
    result = 0;
  } else {
    const ysq = 1 / (y * y);
    let num = P[5]! * ysq;
    let den = ysq;
    for (let i = 0; i < 4; i++) {
      num = (num + P[i]!) * ysq;
      den = (den + Q[i]!) * ysq;
    }
    result = (SQRT_PI_INV - (ysq * (num + P[4]!)) / (den + Q[4]!)) / y;
  }
  // exp(-y²) split as exp(-ysq²)·exp(-del) so the rounding of y² is not magnified in the tail.
  const ysq = Math.trunc(y * 16) / 16;
  const del = (y - ysq) * (y + ysq);
  result *= Math.exp(-ysq * ysq) * Math.exp(-del);
  return x < 0 ? 2 - result : result;
}
