/**
 * Weighted points (sorted values with row counts): ties merged, and compression to a budget of points that keeps
 * the total and the mean and bounds the KS and Wasserstein errors.
 */
import type { WeightedValues } from "./types.js";

/**
 * Sorted points with equal (or, from bin means at the precision limit, out-of-order) neighbours merged into
 * their weighted mean: strictly ascending values, same total and mean.
 */
export function mergeTies(values: Float64Array, counts: Float64Array): WeightedValues {
  let total = 0;
  let m = 0;
  const v = new Float64Array(values.length);
  const c = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    total += counts[i]!;
    v[m] = values[i]!;
    c[m] = counts[i]!;
    m++;
    while (m > 1 && v[m - 1]! <= v[m - 2]!) {
      const w = c[m - 2]! + c[m - 1]!;
      v[m - 2] = v[m - 2] === v[m - 1] ? v[m - 2]! : (v[m - 2]! * c[m - 2]! + v[m - 1]! * c[m - 1]!) / w;
      c[m - 2] = w;
      m--;
    }
  }
  return m === values.length
    ? { values, counts, total }
    : { values: v.slice(0, m), counts: c.slice(0, m), total };
}

/**
 * At most `points` weighted points from sorted ones: adjacent points merge into their weighted mean (the mean is
 * kept) while a group stays within a share of the total weight (bounds the KS error) and of the value range
 * (bounds the Wasserstein error); both bounds coarsen together until the groups fit.
 */
export function compressPoints(input: WeightedValues, points: number): WeightedValues {
  const n = input.values.length;
  if (n <= points) return input;
  const range = input.values[n - 1]! - input.values[0]!;
  let budget = points;
  for (;;) {
    const maxWeight = (2 * input.total) / budget;
    const maxSpan = (2 * range) / budget;
    const values = new Float64Array(points);
    const counts = new Float64Array(points);
    let m = 0;
    let groupWeight = 0;
    let groupSum = 0;
    let groupStart = 0;
    let fits = true;
    for (let i = 0; i < n; i++) {
      const x = input.values[i]!;
      const w = input.counts[i]!;
      if (groupWeight > 0 && (groupWeight + w > maxWeight || x - groupStart > maxSpan)) {
        if (m === points - 1) {
          fits = false;
          break;
        }
        values[m] = groupSum / groupWeight;
        counts[m++] = groupWeight;
        groupWeight = 0;
        groupSum = 0;
      }
      if (groupWeight === 0) groupStart = x;
      groupWeight += w;
      groupSum += x * w;
    }
    if (fits) {
      values[m] = groupSum / groupWeight;
      counts[m++] = groupWeight;
      return mergeTies(values.slice(0, m), counts.slice(0, m));
    }
    budget = Math.max(1, Math.floor(budget * 0.9));
  }
}
