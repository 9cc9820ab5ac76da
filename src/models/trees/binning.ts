// Feature binning for the histogram tree engine (gbdt, random forest, decision tree).
//
// Every feature is cut into at most `maxBins` (≤ 255) bins once, before any tree is grown, exactly as
// scikit-learn's HistGradientBoosting `_BinMapper` does it:
//   - a feature with at most `maxBins` distinct (non-missing) values gets one bin per value, and the
//     thresholds between bins are the midpoints of consecutive distinct values — so a split on such a
//     feature is the same split an exact (sort-based) tree would find;
//   - otherwise the thresholds are the `maxBins − 1` inner quantiles (numpy's "midpoint" percentiles),
//     de-duplicated, so every bin holds about the same number of rows.
// A value x falls in the first bin b with x ≤ threshold[b] (the last bin takes the rest), so "bin ≤ b goes
// left" and "x ≤ threshold[b] goes left" are the same rule: trees store float thresholds and predict on raw
// values without ever binning. Missing values (NaN) get a bin of their own, code `nBins[f]`, after the value
// bins; the grower learns per split which side they go to.
//
// The codes are kept in up to three layouts, each for the access pattern that uses it:
//   - dense, column-major (features × rows, one byte per cell): partitioning a node reads one feature's
//     column at the node's (ascending) rows, which stays in cache — with row-major codes that read was a
//     cache miss per row;
//   - sparse rows: per row, only the cells outside their feature's most frequent ("default") bin, as global
//     histogram slots (LightGBM's most-frequent-bin trick). A full histogram is built from these and each
//     feature's default bin is filled in as node total − the feature's other bins. One-hot columns are almost
//     all default: on credit-default 25 of 88 cells per row remain, and a full histogram costs ~a quarter of
//     a dense one (V8, credit-default: dense ~7.5 ns per cell, sparse ~1.9 ns per dense-equivalent cell);
//   - dense, row-major (rows × features padded to whole words; class trees only): the grower copies the
//     tree's rows into node order and moves them with the partition, so a node's codes, labels and weights
//     are contiguous and the histograms of per-split feature samples (random forests) and the sorted small
//     nodes read memory front to back instead of one cache miss per row.
//
// Each bin also records the smallest and largest training value it holds: the classification trees place
// their threshold halfway between the largest value left of a split and the smallest value right of it *in
// the node* (scikit-learn's DecisionTreeClassifier does the same), while gbdt uses the global bin threshold as
// HistGradientBoosting does.
//
// Categorical features (gbdt's native one-hot groups, see categorical.ts) hold category indices 0 … m − 1: each
// category is its own bin (thresholds at the half-integers, so the bin of c is c), whatever maxBins says, and
// the split search treats the bins as an unordered set (split.ts).
import type { FeatureMatrix } from "../../features/preprocessor.js";
import { createRng } from "../../shared/random.js";

/** scikit-learn bins on at most this many rows (a seeded subsample beyond it). */
const BINNING_SAMPLE = 200_000;

/** The learned bin edges of every feature. */
export interface BinMapper {
  cols: number;
  /** Non-missing bins per feature (≥ 1); the missing bin's code is `nBins[f]`. */
  nBins: Int32Array;
  /** Per feature: `nBins[f] − 1` increasing thresholds; bin b holds values in (thr[b−1], thr[b]]. */
  thresholds: Float64Array[];
  /** Per feature and bin: the smallest and largest training value in the bin (NaN for an empty bin). */
  binMin: Float64Array[];
  binMax: Float64Array[];
  /** Per feature: 0 (numeric) or its number of categories m (bins 0 … m − 1 are the categories). */
  categories: Int32Array;
}

/** Binned training data: dense and sparse codes, and where each feature's bins sit in a histogram. */
export interface BinnedData {
  rows: number;
  cols: number;
  /** cols × rows, column-major: codes[f * rows + r] ∈ [0, nBins[f]] (nBins[f] = missing). */
  codes: Uint8Array;
  mapper: BinMapper;
  /** First histogram slot of each feature; a feature has nBins[f] + 1 slots (the last one for missing). */
  offsets: Int32Array;
  /** Histogram slots over all features. */
  totalSlots: number;
  /** Per feature: its most frequent bin, left out of the sparse rows below. */
  defaultBin: Int32Array;
  /**
   * Sparse rows: the histogram slots (offsets[f] + code) of row r's cells that are not in their feature's
   * default bin are sparseSlots[rowStart[r] … rowStart[r + 1]).
   */
  rowStart: Int32Array;
  sparseSlots: Uint16Array | Uint32Array;
}

/** numpy.percentile(sorted, q, method="midpoint") on an ascending array. */
function percentileMidpoint(sorted: Float64Array, q: number): number {
  const index = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(index);
  const hi = Math.ceil(index);
  return (sorted[lo]! + sorted[hi]!) / 2;
}

/** Bin thresholds of one feature from its sorted non-missing values. */
export function featureThresholds(sorted: Float64Array, maxBins: number): Float64Array {
  if (sorted.length === 0) return new Float64Array(0);
  const distinct: number[] = [sorted[0]!];
  for (let i = 1; i < sorted.length && distinct.length <= maxBins; i++)
    if (sorted[i]! !== sorted[i - 1]!) distinct.push(sorted[i]!);
  if (distinct.length <= maxBins) {
    const out = new Float64Array(distinct.length - 1);
    for (let i = 0; i < out.length; i++) {
      const mid = (distinct[i]! + distinct[i + 1]!) / 2;
      // Adjacent doubles: the midpoint may round up to the larger value, which must stay right of the split.
      out[i] = mid >= distinct[i + 1]! ? distinct[i]! : mid;
    }
    return out;
  }
  const cuts: number[] = [];
  for (let j = 1; j < maxBins; j++) {
    const t = percentileMidpoint(sorted, (100 * j) / maxBins);
    if (cuts.length === 0 || t > cuts[cuts.length - 1]!) cuts.push(t);
  }
  // A threshold at the maximum would leave an empty last bin.
  while (cuts.length > 0 && cuts[cuts.length - 1]! >= sorted[sorted.length - 1]!) cuts.pop();
  return Float64Array.from(cuts);
}

/** The bin of `value` given ascending thresholds (missing values are handled by the caller). */
export function binOf(thresholds: Float64Array, value: number): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value <= thresholds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The distinct values of column[0 … k) in ascending order when there are at most `maxBins` of them, else
 * undefined. A Map with a last-value shortcut: one-hot and code columns (most columns of tabular data) never
 * need a sort.
 */
function fewDistinct(column: Float64Array, k: number, maxBins: number): Float64Array | undefined {
  const seen = new Set<number>();
  let last = Number.NaN;
  for (let i = 0; i < k; i++) {
    const v = column[i]!;
    if (v === last) continue;
    last = v;
    if (!seen.has(v)) {
      // −0 and +0 are one value (a Set would keep both only if they differed under SameValueZero: they don't).
      seen.add(v);
      if (seen.size > maxBins) return undefined;
    }
  }
  return Float64Array.from(seen).sort();
}

/**
 * Learns every feature's bins from the training matrix (seeded subsample above 200,000 rows). `categories`
 * (per feature, 0 = numeric) marks categorical features, binned one bin per category.
 */
export function fitBins(
  x: FeatureMatrix,
  maxBins: number,
  seed: number,
  categories: Int32Array = new Int32Array(x.cols),
): BinMapper {
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > 255)
    throw new RangeError(`maxBins must be an integer in 2..255 (got ${maxBins})`);
  const { rows, cols, values } = x;
  let sample: Int32Array | undefined;
  if (rows > BINNING_SAMPLE) {
    const rng = createRng(seed);
    const all = Int32Array.from({ length: rows }, (_, i) => i);
    for (let i = 0; i < BINNING_SAMPLE; i++) {
      const j = i + Math.floor(rng() * (rows - i));
      const t = all[i]!;
      all[i] = all[j]!;
      all[j] = t;
    }
    sample = all.slice(0, BINNING_SAMPLE).sort();
  }
  const m = sample === undefined ? rows : sample.length;
  // Column-major copy of the (sampled) non-missing values, filled row by row (sequential reads).
  const columns = new Float64Array(m * cols);
  const present = new Int32Array(cols);
  for (let i = 0; i < m; i++) {
    const base = (sample === undefined ? i : sample[i]!) * cols;
    for (let f = 0; f < cols; f++) {
      const v = values[base + f]!;
      if (!Number.isNaN(v)) columns[f * m + present[f]!++] = v;
    }
  }
  const nBins = new Int32Array(cols);
  const thresholds: Float64Array[] = [];
  const binMin: Float64Array[] = [];
  const binMax: Float64Array[] = [];
  for (let f = 0; f < cols; f++) {
    const cats = categories[f]!;
    if (cats > 0) {
      if (!Number.isInteger(cats) || cats > 255)
        throw new RangeError(`feature ${f}: a categorical feature has 1..255 categories (got ${cats})`);
      nBins[f] = cats;
      thresholds.push(Float64Array.from({ length: cats - 1 }, (_, c) => c + 0.5));
      const index = Float64Array.from({ length: cats }, (_, c) => c);
      binMin.push(index);
      binMax.push(index);
      continue;
    }
    const column = columns.subarray(f * m, f * m + present[f]!);
    const distinct = fewDistinct(column, column.length, maxBins);
    let thr: Float64Array;
    let lo: Float64Array;
    let hi: Float64Array;
    if (distinct !== undefined) {
      thr = featureThresholds(distinct, maxBins);
      lo = distinct.length > 0 ? distinct : new Float64Array([Number.NaN]);
      hi = lo;
    } else {
      const sorted = column.sort();
      thr = featureThresholds(sorted, maxBins);
      lo = new Float64Array(thr.length + 1).fill(Number.NaN);
      hi = new Float64Array(thr.length + 1).fill(Number.NaN);
      let b = 0;
      for (let i = 0; i < sorted.length; i++) {
        const v = sorted[i]!;
        while (b < thr.length && v > thr[b]!) b++;
        if (Number.isNaN(lo[b]!)) lo[b] = v;
        hi[b] = v;
      }
    }
    nBins[f] = thr.length + 1;
    thresholds.push(thr);
    binMin.push(lo);
    binMax.push(hi);
  }
  return { cols, nBins, thresholds, binMin, binMax, categories: Int32Array.from(categories) };
}

/** Bytes per row of row-major codes: the features rounded up to whole 4-byte words (rows move as words). */
export function rowStride(cols: number): number {
  return Math.ceil(cols / 4) * 4;
}

/** Row-major copy of the dense codes, `rowStride(cols)` bytes per row (padding bytes are 0). */
export function rowMajorCodes(data: BinnedData): Uint8Array {
  const { rows, cols, codes } = data;
  const stride = rowStride(cols);
  const out = new Uint8Array(rows * stride);
  for (let f = 0; f < cols; f++) {
    const column = f * rows;
    for (let r = 0; r < rows; r++) out[r * stride + f] = codes[column + r]!;
  }
  return out;
}

/** Codes of a matrix under learned bins (column-major dense codes plus sparse rows). */
export function applyBins(mapper: BinMapper, x: FeatureMatrix): BinnedData {
  const { rows, cols, values } = x;
  if (cols !== mapper.cols) throw new RangeError(`expected ${mapper.cols} features, got ${cols}`);
  const codes = new Uint8Array(rows * cols);
  const { thresholds, nBins } = mapper;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let f = 0; f < cols; f++) {
      const v = values[base + f]!;
      codes[f * rows + r] = Number.isNaN(v) ? nBins[f]! : binOf(thresholds[f]!, v);
    }
  }
  const offsets = new Int32Array(cols);
  let slots = 0;
  for (let f = 0; f < cols; f++) {
    offsets[f] = slots;
    slots += nBins[f]! + 1;
  }
  // Default bins: the most frequent code of each feature (0 for a one-hot column).
  const defaultBin = new Int32Array(cols);
  const frequency = new Int32Array(256);
  let nonDefault = 0;
  for (let f = 0; f < cols; f++) {
    frequency.fill(0);
    const column = codes.subarray(f * rows, (f + 1) * rows);
    for (let r = 0; r < rows; r++) frequency[column[r]!]!++;
    let best = 0;
    for (let b = 1; b <= nBins[f]!; b++) if (frequency[b]! > frequency[best]!) best = b;
    defaultBin[f] = best;
    nonDefault += rows - frequency[best]!;
  }
  const rowStart = new Int32Array(rows + 1);
  const sparseSlots = slots <= 0xffff ? new Uint16Array(nonDefault) : new Uint32Array(nonDefault);
  let k = 0;
  for (let r = 0; r < rows; r++) {
    rowStart[r] = k;
    for (let f = 0; f < cols; f++) {
      const c = codes[f * rows + r]!;
      if (c !== defaultBin[f]) sparseSlots[k++] = offsets[f]! + c;
    }
  }
  rowStart[rows] = k;
  return { rows, cols, codes, mapper, offsets, totalSlots: slots, defaultBin, rowStart, sparseSlots };
}
