/**
 * Tests on counts per category, built as Evidently 0.7.23 builds them: the chi-square goodness-of-fit test of the
 * current counts against the reference counts scaled to the current total, and the two-proportion Z-test.
 * Both accept category counts or a numeric column's distinct values (Evidently's default rule sends numeric
 * columns with at most 5 distinct values here).
 */
import type { CategoryCounts, WeightedValues } from "../types.js";
import { chi2Sf, normalCdf } from "./special.js";

/** Counts per category, or a numeric column whose distinct values are its categories. */
export type CountsInput = CategoryCounts | WeightedValues;

export interface AlignedCounts {
  /** The union of both sides' categories with rows (numeric: ascending values as strings). */
  keys: string[];
  /** Numeric inputs only: the values behind `keys`. */
  values?: Float64Array;
  reference: Float64Array;
  current: Float64Array;
  referenceTotal: number;
  currentTotal: number;
}

function isWeighted(input: CountsInput): input is WeightedValues {
  return (input as WeightedValues).values instanceof Float64Array;
}

/** Both sides' counts over the union of their categories (keys with no rows on either side are left out). */
export function alignCounts(reference: CountsInput, current: CountsInput): AlignedCounts {
  if (isWeighted(reference) && isWeighted(current)) return alignWeighted(reference, current);
  const ref = isWeighted(reference) ? weightedAsMap(reference) : reference;
  const cur = isWeighted(current) ? weightedAsMap(current) : current;
  const index = new Map<string, number>();
  for (const [key, count] of ref) if (count > 0 && !index.has(key)) index.set(key, index.size);
  for (const [key, count] of cur) if (count > 0 && !index.has(key)) index.set(key, index.size);
  const refCounts = new Float64Array(index.size);
  const curCounts = new Float64Array(index.size);
  let refTotal = 0;
  let curTotal = 0;
  for (const [key, count] of ref) {
    if (count > 0) {
      refCounts[index.get(key)!]! += count;
      refTotal += count;
    }
  }
  for (const [key, count] of cur) {
    if (count > 0) {
      curCounts[index.get(key)!]! += count;
      curTotal += count;
    }
  }
  return {
    keys: [...index.keys()],
    reference: refCounts,
    current: curCounts,
    referenceTotal: refTotal,
    currentTotal: curTotal,
  };
}

function weightedAsMap(w: WeightedValues): Map<string, number> {
  const map = new Map<string, number>();
  for (let i = 0; i < w.values.length; i++) map.set(String(w.values[i]!), w.counts[i]!);
  return map;
}

function alignWeighted(ref: WeightedValues, cur: WeightedValues): AlignedCounts {
  const a = ref.values;
  const b = cur.values;
  const capacity = a.length + b.length;
  const values = new Float64Array(capacity);
  const refCounts = new Float64Array(capacity);
  const curCounts = new Float64Array(capacity);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? (j < b.length ? Math.min(a[i]!, b[j]!) : a[i]!) : b[j]!;
    const rc = i < a.length && a[i] === x ? ref.counts[i++]! : 0;
    const cc = j < b.length && b[j] === x ? cur.counts[j++]! : 0;
    if (rc > 0 || cc > 0) {
      values[k] = x;
      refCounts[k] = rc;
      curCounts[k] = cc;
      k++;
    }
  }
  const keys = new Array<string>(k);
  for (let n = 0; n < k; n++) keys[n] = String(values[n]!);
  return {
    keys,
    values: values.slice(0, k),
    reference: refCounts.slice(0, k),
    current: curCounts.slice(0, k),
    referenceTotal: ref.total,
    currentTotal: cur.total,
  };
}

/**
 * Evidently's chi-square test: expected = reference rows × (current total / reference total), observed = current
 * rows, over the union of categories; scipy.stats.chisquare with K - 1 degrees of freedom. A category absent from
 * the reference makes the statistic infinite (p = 0), as in scipy.
 */
export function chiSquareTest(
  reference: CountsInput,
  current: CountsInput,
): { statistic: number; pValue: number } {
  const aligned = alignCounts(reference, current);
  const kNorm = aligned.currentTotal / aligned.referenceTotal;
  let statistic = 0;
  for (let k = 0; k < aligned.keys.length; k++) {
    const expected = aligned.reference[k]! * kNorm;
    const diff = aligned.current[k]! - expected;
    statistic += (diff * diff) / expected;
  }
  return { statistic, pValue: chi2Sf(statistic, aligned.keys.length - 1) };
}

/**
 * Evidently's two-proportion Z-test: the first category in sorted order (numeric order for numbers, string order
 * for categories) against all others, pooled variance, two-sided p = 2 (1 - Φ(|z|)). Both sides holding the same
 * single category gives p = 1.
 */
export function zTest(reference: CountsInput, current: CountsInput): { statistic: number; pValue: number } {
  const aligned = alignCounts(reference, current);
  const refPresent = countPresent(aligned.reference);
  const curPresent = countPresent(aligned.current);
  if (refPresent.count === 1 && curPresent.count === 1 && refPresent.index === curPresent.index) {
    return { statistic: 0, pValue: 1 };
  }
  const first = firstKeyIndex(aligned);
  const n1 = aligned.referenceTotal;
  const n2 = aligned.currentTotal;
  const p1 = (n1 - aligned.reference[first]!) / n1;
  const p2 = (n2 - aligned.current[first]!) / n2;
  const P = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(P * (1 - P) * (1 / n1 + 1 / n2));
  return { statistic: z, pValue: 2 * (1 - normalCdf(Math.abs(z))) };
}

function countPresent(counts: Float64Array): { count: number; index: number } {
  let count = 0;
  let index = -1;
  for (let k = 0; k < counts.length; k++) {
    if (counts[k]! > 0) {
      count += 1;
      index = k;
    }
  }
  return { count, index };
}

function firstKeyIndex(aligned: AlignedCounts): number {
  if (aligned.values) return 0; // numeric keys are already ascending
  let best = 0;
  for (let k = 1; k < aligned.keys.length; k++) {
    if (compareCodePoints(aligned.keys[k]!, aligned.keys[best]!) < 0) best = k;
  }
  return best;
}

/** Python's str ordering (by code point), not JavaScript's UTF-16 code-unit ordering. */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}
