/**
 * Weighted empirical distributions (sorted distinct values with their row counts) and the statistics that are
 * one pass over them: building one from raw values, the population standard deviation and scipy's 1-D
 * Wasserstein distance.
 */
import type { WeightedValues } from "../types.js";

/** Sort and count `values` into a WeightedValues; NaN and ±Infinity are dropped (Evidently drops them too). */
export function toWeighted(values: ArrayLike<number>): WeightedValues {
  const sorted = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) sorted[n++] = v;
  }
  const finite = sorted.subarray(0, n).sort();
  const distinctValues = new Float64Array(n);
  const counts = new Float64Array(n);
  let k = -1;
  for (let i = 0; i < n; i++) {
    const v = finite[i]!;
    if (k >= 0 && distinctValues[k] === v) counts[k]! += 1;
    else {
      k += 1;
      distinctValues[k] = v === 0 ? 0 : v;
      counts[k] = 1;
    }
  }
  return { values: distinctValues.slice(0, k + 1), counts: counts.slice(0, k + 1), total: n };
}

/** The weighted mean (Neumaier-compensated sum: exact to rounding whatever the offset of the values). */
export function weightedMean(w: WeightedValues): number {
  let sum = 0;
  let compensation = 0;
  for (let i = 0; i < w.values.length; i++) {
    const term = w.values[i]! * w.counts[i]!;
    const t = sum + term;
    compensation += Math.abs(sum) >= Math.abs(term) ? sum - t + term : term - t + sum;
    sum = t;
  }
  return (sum + compensation) / w.total;
}

/** The population standard deviation (numpy's np.std, ddof 0) of the rows a WeightedValues describes. */
export function weightedStd(w: WeightedValues): number {
  const mean = weightedMean(w);
  let sum = 0;
  let compensation = 0;
  for (let i = 0; i < w.values.length; i++) {
    const d = w.values[i]! - mean;
    const term = d * d * w.counts[i]!;
    const t = sum + term;
    compensation += sum >= term ? sum - t + term : term - t + sum;
    sum = t;
  }
  return Math.sqrt((sum + compensation) / w.total);
}

/**
 * scipy.stats.wasserstein_distance(u, v): the area between the two empirical CDFs, one merge of the sorted
 * distinct values (O(distinct)).
 */
export function wasserstein(u: WeightedValues, v: WeightedValues): number {
  const a = u.values;
  const b = v.values;
  let i = 0;
  let j = 0;
  let cumU = 0;
  let cumV = 0;
  let area = 0;
  let previous = Number.NaN;
  let previousGap = 0;
  while (i < a.length || j < b.length) {
    const x = i < a.length ? (j < b.length ? Math.min(a[i]!, b[j]!) : a[i]!) : b[j]!;
    if (!Number.isNaN(previous)) area += previousGap * (x - previous);
    if (i < a.length && a[i] === x) cumU += u.counts[i++]!;
    if (j < b.length && b[j] === x) cumV += v.counts[j++]!;
    previousGap = Math.abs(cumU / u.total - cumV / v.total);
    previous = x;
  }
  return area;
}
