// Sampling helpers of the kNN and linear SVM kinds: seeded stratified splits and samples, row selection.
import type { FeatureMatrix } from "../../features/preprocessor.js";

/**
 * A seeded, stratified choice of about `fraction` × n rows (per class: its share rounded, at least one row of
 * every class with two or more rows, never all of a class), returned as sorted row indices, plus the rest.
 */
export function stratifiedSplit(
  labels: Int32Array,
  classes: number,
  fraction: number,
  rng: () => number,
): { chosen: Int32Array; rest: Int32Array } {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  const chosen: number[] = [];
  for (const rows of byClass) {
    if (rows.length < 2) continue;
    const take = Math.min(rows.length - 1, Math.max(1, Math.round(fraction * rows.length)));
    shuffleInPlace(rows, rng);
    chosen.push(...rows.slice(0, take));
  }
  return complement(chosen, labels.length);
}

/**
 * A seeded, stratified sample of exactly `size` rows (size < n): class quotas by largest remainder, every
 * class present keeps at least one row while `size` allows. Sorted row indices, plus the rest.
 */
export function stratifiedSample(
  labels: Int32Array,
  classes: number,
  size: number,
  rng: () => number,
): { chosen: Int32Array; rest: Int32Array } {
  const n = labels.length;
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  const exact = byClass.map((rows) => (size * rows.length) / n);
  const quota = exact.map(Math.floor);
  let left = size - quota.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((e, c) => [e - Math.floor(e), c] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, c] of byRemainder) {
    if (left === 0) break;
    if (quota[c]! < byClass[c]!.length) {
      quota[c]!++;
      left--;
    }
  }
  // A class that rounded to nothing takes a row from the largest quota.
  for (let c = 0; c < classes; c++) {
    if (quota[c] !== 0 || byClass[c]!.length === 0) continue;
    let donor = -1;
    for (let d = 0; d < classes; d++)
      if (quota[d]! > 1 && (donor < 0 || quota[d]! > quota[donor]!)) donor = d;
    if (donor < 0) break;
    quota[donor]!--;
    quota[c] = 1;
  }
  const chosen: number[] = [];
  byClass.forEach((rows, c) => {
    shuffleInPlace(rows, rng);
    chosen.push(...rows.slice(0, quota[c]!));
  });
  return complement(chosen, n);
}

function shuffleInPlace(items: number[], rng: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
}

function complement(chosen: number[], n: number): { chosen: Int32Array; rest: Int32Array } {
  const mark = new Uint8Array(n);
  for (const i of chosen) mark[i] = 1;
  const picked = new Int32Array(chosen.length);
  const rest = new Int32Array(n - chosen.length);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    if (mark[i] === 1) picked[a++] = i;
    else rest[b++] = i;
  }
  return { chosen: picked, rest };
}

/** The rows `rows` of `x` (in that order) as a new matrix. */
export function takeRows(x: FeatureMatrix, rows: Int32Array): FeatureMatrix {
  const values = new Float32Array(rows.length * x.cols);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    values.set(x.values.subarray(r * x.cols, (r + 1) * x.cols), i * x.cols);
  }
  return { rows: rows.length, cols: x.cols, values, featureNames: x.featureNames };
}
