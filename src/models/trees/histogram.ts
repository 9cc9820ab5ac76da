// Histograms of a node's rows over the binned features: the only place where training touches every row.
//
// A histogram is one Float64Array with `stride` numbers per slot; every feature owns nBins[f] + 1 consecutive
// slots (its value bins, then the missing bin) starting at `offsets[f]`:
//   - gradient histograms (gbdt): stride 3 = [Σ gradient, Σ hessian, row count];
//   - class histograms (forest, decision tree): stride K + 1 = [Σ weight of class 0 … class K−1, row count].
// Float64 sums keep the split gains stable however the rows are ordered. Only the slots of the features being
// considered (`features[0 … nFeatures)`) are written or read, so column subsampling costs nothing extra.
//
// Two builders: the sparse one (full histograms from the non-default cells, default bins from the node
// totals; see binning.ts) whenever every feature may be split on, the dense one for a few sampled features.
//
// Histogram subtraction (LightGBM, scikit-learn HGB): a parent's histogram is the sum of its children's, so
// after a split only the child with fewer rows is built from its rows and the other is `parent − smaller`,
// computed in place in the parent's buffer. That halves (at least) the row work of every level.
import type { BinnedData } from "./binning.js";

/** Zeroes the slots of the given features. */
export function clearHistogram(
  data: BinnedData,
  features: Int32Array,
  nFeatures: number,
  stride: number,
  hist: Float64Array,
): void {
  if (nFeatures === data.cols) {
    hist.fill(0, 0, data.totalSlots * stride);
    return;
  }
  const { offsets, mapper } = data;
  for (let j = 0; j < nFeatures; j++) {
    const f = features[j]!;
    hist.fill(0, offsets[f]! * stride, (offsets[f]! + mapper.nBins[f]! + 1) * stride);
  }
}

/**
 * Adds rows[start … end) to a gradient histogram (stride 3) for the given features, from row-major dense
 * codes (`rowBytes` per row, indexed by row id): per slot Σg, Σh and the row count. Clear these first.
 */
export function buildGradientHistogram(
  data: BinnedData,
  rowCodes: Uint8Array,
  rowBytes: number,
  rows: Int32Array,
  start: number,
  end: number,
  features: Int32Array,
  nFeatures: number,
  gradients: Float64Array,
  hessians: Float64Array,
  hist: Float64Array,
): void {
  const { offsets } = data;
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const g = gradients[r]!;
    const h = hessians[r]!;
    const base = r * rowBytes;
    for (let j = 0; j < nFeatures; j++) {
      const f = features[j]!;
      const s = (offsets[f]! + rowCodes[base + f]!) * 3;
      hist[s] = hist[s]! + g;
      hist[s + 1] = hist[s + 1]! + h;
      hist[s + 2] = hist[s + 2]! + 1;
    }
  }
}

/**
 * Adds positions [start … end) of node-ordered data to a class histogram (stride K + 1) for the given
 * features: `codes` holds `rowBytes` bytes per position, `labels` and `weights` one entry per position (the
 * grower keeps the tree's rows in node order, so this reads memory front to back). Clear these first.
 */
export function buildClassHistogram(
  data: BinnedData,
  codes: Uint8Array,
  rowBytes: number,
  start: number,
  end: number,
  features: Int32Array,
  nFeatures: number,
  labels: Int32Array,
  weights: Float64Array,
  classes: number,
  hist: Float64Array,
): void {
  const { offsets } = data;
  const stride = classes + 1;
  for (let i = start; i < end; i++) {
    const y = labels[i]!;
    const w = weights[i]!;
    const base = i * rowBytes;
    for (let j = 0; j < nFeatures; j++) {
      const f = features[j]!;
      const s = (offsets[f]! + codes[base + f]!) * stride;
      hist[s + y] = hist[s + y]! + w;
      hist[s + classes] = hist[s + classes]! + 1;
    }
  }
}

/**
 * Full gradient histogram (every feature) of rows[start … end) from the sparse rows: the non-default cells are
 * summed, then each feature's default bin gets the node totals ([G, H, count]) minus its other bins.
 */
export function buildGradientHistogramSparse(
  data: BinnedData,
  rows: Int32Array,
  start: number,
  end: number,
  gradients: Float64Array,
  hessians: Float64Array,
  totals: Float64Array,
  hist: Float64Array,
): void {
  const { rowStart, sparseSlots } = data;
  hist.fill(0, 0, data.totalSlots * 3);
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const g = gradients[r]!;
    const h = hessians[r]!;
    const stop = rowStart[r + 1]!;
    for (let k = rowStart[r]!; k < stop; k++) {
      const s = sparseSlots[k]! * 3;
      hist[s] = hist[s]! + g;
      hist[s + 1] = hist[s + 1]! + h;
      hist[s + 2] = hist[s + 2]! + 1;
    }
  }
  fillDefaultBins(data, 3, totals, hist);
}

/** Full class histogram (every feature) of rows[start … end) from the sparse rows; see above. */
export function buildClassHistogramSparse(
  data: BinnedData,
  rows: Int32Array,
  start: number,
  end: number,
  labels: Int32Array,
  weights: Float64Array,
  classes: number,
  totals: Float64Array,
  hist: Float64Array,
): void {
  const { rowStart, sparseSlots } = data;
  const stride = classes + 1;
  hist.fill(0, 0, data.totalSlots * stride);
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const y = labels[r]!;
    const w = weights[r]!;
    const stop = rowStart[r + 1]!;
    for (let k = rowStart[r]!; k < stop; k++) {
      const s = sparseSlots[k]! * stride;
      hist[s + y] = hist[s + y]! + w;
      hist[s + classes] = hist[s + classes]! + 1;
    }
  }
  fillDefaultBins(data, stride, totals, hist);
}

/** Each feature's default bin = node totals − the feature's other bins (every number of the slot). */
function fillDefaultBins(data: BinnedData, stride: number, totals: Float64Array, hist: Float64Array): void {
  const { offsets, mapper, defaultBin, cols } = data;
  for (let f = 0; f < cols; f++) {
    const from = offsets[f]! * stride;
    const to = (offsets[f]! + mapper.nBins[f]! + 1) * stride;
    const d = (offsets[f]! + defaultBin[f]!) * stride;
    for (let k = 0; k < stride; k++) {
      let sum = 0;
      for (let s = from + k; s < to; s += stride) sum += hist[s]!;
      hist[d + k] = totals[k]! - sum;
    }
  }
}

/** parent −= child over the given features: the parent's buffer becomes the sibling's histogram. */
export function subtractHistogram(
  data: BinnedData,
  features: Int32Array,
  nFeatures: number,
  stride: number,
  parent: Float64Array,
  child: Float64Array,
): void {
  const { offsets, mapper } = data;
  if (nFeatures === data.cols) {
    const n = data.totalSlots * stride;
    for (let s = 0; s < n; s++) parent[s] = parent[s]! - child[s]!;
    return;
  }
  for (let j = 0; j < nFeatures; j++) {
    const f = features[j]!;
    const end = (offsets[f]! + mapper.nBins[f]! + 1) * stride;
    for (let s = offsets[f]! * stride; s < end; s++) parent[s] = parent[s]! - child[s]!;
  }
}
