/**
 * The two-sample Kolmogorov–Smirnov test as scipy.stats.ks_2samp computes it (two-sided, method "auto"): the
 * exact p-value (Hodges' lattice-path counts, Viehmann's stable recursion) when both samples have at most 10,000
 * rows, the kstwo asymptotic otherwise, falling back to it when the exact computation fails. Inputs are weighted
 * distinct values, so D costs one merge of the two sorted arrays.
 */
import type { WeightedValues } from "../types.js";
import { kolmogorovSf } from "./kolmogorov.js";
import { roundHalfEven } from "./special.js";

/** scipy's MAX_AUTO_N: "auto" is exact when both samples are at most this large. */
export const KS_MAX_EXACT_N = 10000;

export interface KsResult {
  statistic: number;
  pValue: number;
  method: "exact" | "asymp";
}

/** D = sup |F_ref - F_cur| over the union of the values (F as searchsorted(..., "right") / n, like scipy). */
export function ksStatistic(ref: WeightedValues, cur: WeightedValues): number {
  const a = ref.values;
  const b = cur.values;
  const ca = ref.counts;
  const cb = cur.counts;
  const n1 = ref.total;
  const n2 = cur.total;
  let i = 0;
  let j = 0;
  let cum1 = 0;
  let cum2 = 0;
  let maxS = Number.NEGATIVE_INFINITY;
  let minS = Number.POSITIVE_INFINITY;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? (j < b.length ? Math.min(a[i]!, b[j]!) : a[i]!) : b[j]!;
    if (i < a.length && a[i] === x) cum1 += ca[i++]!;
    if (j < b.length && b[j] === x) cum2 += cb[j++]!;
    const diff = cum1 / n1 - cum2 / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  const minClipped = Math.min(Math.max(-minS, 0), 1);
  return Math.max(minClipped, maxS);
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** Pr(D_{n,n} >= h/n), scipy's _compute_prob_outside_square. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/** The share of lattice paths leaving the band |x/m - y/n| < h / lcm: scipy's _compute_outer_prob_inside_method. */
function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = Math.floor(m / g);
  const ng = Math.floor(n / g);
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    const offset = minj - lastminj;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + offset]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1]!;
}

/** scipy's _attempt_exact_2kssamp for the two-sided alternative. */
function exactTwoSided(n1: number, n2: number, d: number): { ok: boolean; d: number; p: number } {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const dLattice = h / lcm;
  if (h === 0) return { ok: true, d: dLattice, p: 1 };
  const p = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
  return { ok: p >= 0 && p <= 1, d: dLattice, p };
}

/** The asymptotic two-sided p-value: kstwo.sf(D, round(n1 n2 / (n1 + n2))). */
export function ksAsymptoticPValue(d: number, n1: number, n2: number): number {
  const en = (Math.max(n1, n2) * Math.min(n1, n2)) / (n1 + n2);
  const p = kolmogorovSf(d, roundHalfEven(en));
  return Math.min(Math.max(p, 0), 1);
}

/**
 * scipy.stats.ks_2samp(ref, cur) (two-sided, method "auto") on weighted values: D and its p-value. Exact when
 * both totals are whole numbers of at most 10,000 rows; otherwise (or when the exact sum fails) asymptotic.
 */
export function ksTest(ref: WeightedValues, cur: WeightedValues): KsResult {
  const n1 = ref.total;
  const n2 = cur.total;
  const d = ksStatistic(ref, cur);
  if (Number.isInteger(n1) && Number.isInteger(n2) && Math.max(n1, n2) <= KS_MAX_EXACT_N) {
    const exact = exactTwoSided(n1, n2, d);
    if (exact.ok) return { statistic: exact.d, pValue: exact.p, method: "exact" };
    return { statistic: exact.d, pValue: ksAsymptoticPValue(exact.d, n1, n2), method: "asymp" };
  }
  return { statistic: d, pValue: ksAsymptoticPValue(d, n1, n2), method: "asymp" };
}
