// Best split of a node from its histogram: one left-to-right scan over each feature's value bins.
//
// For a threshold bin b, "left" is every value bin ≤ b. Rows with a missing value are tried on both sides
// (LightGBM's and scikit-learn HGB's rule), and the better side is stored with the split as `missingLeft`;
// splitting missing from non-missing values (all value bins left, missing right) is tried too. A node that
// has no missing value for the feature sends unseen missing values to the child with more rows (scikit-learn's
// rule). Only non-empty bins are tried as thresholds, so two thresholds never describe the same partition,
// and ties keep the first (lowest feature position, then lowest bin) candidate.
//
// Gradient gain (gbdt, XGBoost/LightGBM form with L2 λ on leaf values):
//   gain = ½ · (G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)),  accepted when > 0 (up to rounding).
// Class gain (forest, decision tree) is the weighted impurity decrease, scikit-learn's criterion:
//   gini:    Σ_k cL_k²/wL + Σ_k cR_k²/wR − Σ_k c_k²/w
//   entropy: Σ_k cL_k·ln(cL_k/wL) + Σ_k cR_k·ln(cR_k/wR) − Σ_k c_k·ln(c_k/w)
// (c = class weight sums, w = their total); like scikit-learn, any valid split of an impure node is taken
// even when its decrease is zero (XOR-like data only separates one level down).
//
// Categorical features (gbdt only; bins = categories, see binning.ts) are split on a set of categories, as
// scikit-learn's HistGradientBoosting does (`_find_best_bin_to_split_category`, after Fisher 1958 and
// LightGBM): the categories with enough support (Σh · count/H ≥ MIN_CAT_SUPPORT; the missing bin counts as one
// more category) are sorted by Σg / (Σh + MIN_CAT_SUPPORT) and scanned as if ordered, from both ends: from
// the low end the first 1 … ⌈n/2⌉ sorted categories go left, from the high end the last 1 … ⌈n/2⌉ − 1, where n
// is the number of supported categories; the rest (low-support categories included) go right. Gains, L2 and the
// leaf constraints are those of numeric splits. The result is the bitset of categories that go left, and
// missing values go left when the missing bin is in the set.
import type { BinnedData } from "./binning.js";

/** scikit-learn's MIN_CAT_SUPPORT (LightGBM's cat_smooth): the least support of a category, and its smoothing. */
export const MIN_CAT_SUPPORT = 10;

/** Words of a category bitset covering every bin code (≤ 255). */
export const CATEGORY_WORDS = 8;

/** The chosen split of a node (mutable, reused). */
export class Split {
  feature = -1;
  /** Value bins ≤ bin go left (numeric splits). */
  bin = -1;
  missingLeft = false;
  gain = Number.NEGATIVE_INFINITY;
  threshold = Number.NaN;
  /** A split on a categorical feature: category c goes left when bit c of `leftCategories` is set. */
  categorical = false;
  readonly leftCategories = new Uint32Array(CATEGORY_WORDS);

  reset(): void {
    this.feature = -1;
    this.bin = -1;
    this.missingLeft = false;
    this.gain = Number.NEGATIVE_INFINITY;
    this.threshold = Number.NaN;
    this.categorical = false;
  }

  get found(): boolean {
    return this.feature >= 0;
  }

  copyFrom(other: Split): void {
    this.feature = other.feature;
    this.bin = other.bin;
    this.missingLeft = other.missingLeft;
    this.gain = other.gain;
    this.threshold = other.threshold;
    this.categorical = other.categorical;
    this.leftCategories.set(other.leftCategories);
  }
}

export interface GradientSplitParams {
  lambda: number;
  minSamplesLeaf: number;
  minHessianLeaf: number;
}

export interface ClassSplitParams {
  criterion: "gini" | "entropy";
  minSamplesLeaf: number;
  classes: number;
}

/** Gain of moving from one leaf (G, H) to two (G_L, H_L), (G − G_L, H − H_L); the closed form above. */
export function gradientGain(gl: number, hl: number, g: number, h: number, lambda: number): number {
  const gr = g - gl;
  const hr = h - hl;
  return 0.5 * ((gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - (g * g) / (h + lambda));
}

/**
 * Best gradient split over `features[0 … nFeatures)`. `totals` = [G, H, count] of the node. Leaves `best`
 * unfound when no split has a positive gain under the constraints.
 */
export function findGradientSplit(
  data: BinnedData,
  hist: Float64Array,
  features: Int32Array,
  nFeatures: number,
  totals: Float64Array,
  params: GradientSplitParams,
  best: Split,
): void {
  best.reset();
  const { offsets, mapper } = data;
  const { lambda, minSamplesLeaf, minHessianLeaf } = params;
  const G = totals[0]!;
  const H = totals[1]!;
  const C = totals[2]!;
  const parent = (G * G) / (H + lambda);
  // Rounding noise must not pass for a gain (a node whose rows all carry the same gradient has none).
  let bestScore = parent + 1e-12 * Math.abs(parent);
  let bestFeature = -1;
  let bestBin = -1;
  let bestMissingLeft = false;
  let bestCategorical = false;
  const categories = mapper.categories;
  for (let j = 0; j < nFeatures; j++) {
    const f = features[j]!;
    const nb = mapper.nBins[f]!;
    const base = offsets[f]! * 3;
    if (categories[f]! > 0) {
      const score = categoricalScan(hist, base, nb, G, H, C, params, bestScore);
      if (score > bestScore) {
        bestScore = score;
        bestFeature = f;
        bestBin = -1;
        bestMissingLeft = catScratch.missingLeft;
        bestCategorical = true;
        best.leftCategories.set(catScratch.bits);
      }
      continue;
    }
    const mi = base + nb * 3;
    const mg = hist[mi]!;
    const mh = hist[mi + 1]!;
    const mc = hist[mi + 2]!;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    for (let b = 0; b < nb - 1; b++) {
      const s = base + b * 3;
      const c = hist[s + 2]!;
      gl += hist[s]!;
      hl += hist[s + 1]!;
      cl += c;
      if (c === 0) continue;
      // Missing values right.
      {
        const cr = C - cl;
        const hr = H - hl;
        if (cl >= minSamplesLeaf && cr >= minSamplesLeaf && hl >= minHessianLeaf && hr >= minHessianLeaf) {
          const gr = G - gl;
          const score = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda);
          if (score > bestScore) {
            bestScore = score;
            bestFeature = f;
            bestBin = b;
            bestMissingLeft = false;
            bestCategorical = false;
          }
        }
      }
      // Missing values left.
      if (mc > 0) {
        const gml = gl + mg;
        const hml = hl + mh;
        const cml = cl + mc;
        const cr = C - cml;
        const hr = H - hml;
        if (cml >= minSamplesLeaf && cr >= minSamplesLeaf && hml >= minHessianLeaf && hr >= minHessianLeaf) {
          const gr = G - gml;
          const score = (gml * gml) / (hml + lambda) + (gr * gr) / (hr + lambda);
          if (score > bestScore) {
            bestScore = score;
            bestFeature = f;
            bestBin = b;
            bestMissingLeft = true;
            bestCategorical = false;
          }
        }
      }
    }
    // Missing against every value.
    if (mc > 0) {
      const cl2 = C - mc;
      const hl2 = H - mh;
      if (cl2 >= minSamplesLeaf && mc >= minSamplesLeaf && hl2 >= minHessianLeaf && mh >= minHessianLeaf) {
        const gl2 = G - mg;
        const score = (gl2 * gl2) / (hl2 + lambda) + (mg * mg) / (mh + lambda);
        if (score > bestScore) {
          bestScore = score;
          bestFeature = f;
          bestBin = nb - 1;
          bestMissingLeft = false;
          bestCategorical = false;
        }
      }
    }
  }
  if (bestFeature < 0) return;
  best.feature = bestFeature;
  best.bin = bestBin;
  best.missingLeft = bestMissingLeft;
  best.categorical = bestCategorical;
  best.gain = 0.5 * (bestScore - parent);
}

/** Scratch of categoricalScan: the supported categories, their sort keys, and the best set it found. */
const catScratch = {
  bins: new Int32Array(256),
  keys: new Float64Array(256),
  order: [] as number[],
  bits: new Uint32Array(CATEGORY_WORDS),
  missingLeft: false,
};

/**
 * The best category-set split of one categorical feature (bins = categories, its missing bin last at `nb`;
 * see the top of this file) whose score G_L²/(H_L+λ) + G_R²/(H_R+λ) beats `beat`. Returns that score, with
 * the left set in catScratch.bits and whether the missing bin is in it in catScratch.missingLeft; returns
 * `beat` (and leaves the scratch alone) when no candidate beats it.
 */
function categoricalScan(
  hist: Float64Array,
  base: number,
  nb: number,
  G: number,
  H: number,
  C: number,
  params: GradientSplitParams,
  beat: number,
): number {
  const { lambda, minSamplesLeaf, minHessianLeaf } = params;
  const { bins, keys } = catScratch;
  const supportFactor = C / H;
  let used = 0;
  // Value bins, then the missing bin as one more category.
  for (let b = 0; b <= nb; b++) {
    const s = base + b * 3;
    const h = hist[s + 1]!;
    if (h * supportFactor >= MIN_CAT_SUPPORT) {
      bins[used] = b;
      keys[used] = hist[s]! / (h + MIN_CAT_SUPPORT);
      used++;
    }
  }
  if (used <= 1) return beat;
  const order = catScratch.order;
  order.length = used;
  for (let i = 0; i < used; i++) order[i] = i;
  // By key; equal keys by bin (scikit-learn's qsort leaves their order to the C library).
  order.sort((a, b) => keys[a]! - keys[b]! || bins[a]! - bins[b]!);
  let bestScore = beat;
  let bestDirection = 0;
  let bestAt = -1;
  for (const direction of [1, -1]) {
    const middle = direction === 1 ? (used + 1) >> 1 : ((used + 1) >> 1) - 1;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    for (let i = 0; i < middle; i++) {
      const at = direction === 1 ? i : used - 1 - i;
      const s = base + bins[order[at]!]! * 3;
      gl += hist[s]!;
      hl += hist[s + 1]!;
      cl += hist[s + 2]!;
      const cr = C - cl;
      const hr = H - hl;
      if (cl < minSamplesLeaf || hl < minHessianLeaf) continue;
      if (cr < minSamplesLeaf || hr < minHessianLeaf) break;
      const gr = G - gl;
      const score = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda);
      if (score > bestScore) {
        bestScore = score;
        bestDirection = direction;
        bestAt = at;
      }
    }
  }
  if (bestDirection === 0) return beat;
  const bits = catScratch.bits;
  bits.fill(0);
  let missingLeft = false;
  const from = bestDirection === 1 ? 0 : bestAt;
  const to = bestDirection === 1 ? bestAt : used - 1;
  for (let i = from; i <= to; i++) {
    const b = bins[order[i]!]!;
    if (b === nb) missingLeft = true;
    else bits[b >>> 5] = bits[b >>> 5]! | (1 << (b & 31));
  }
  catScratch.missingLeft = missingLeft;
  return bestScore;
}

/** x·ln(x / total) with 0·ln 0 = 0. */
function xlogx(x: number, total: number): number {
  return x > 0 ? x * Math.log(x / total) : 0;
}

/** The criterion's "proxy": impurity decrease = proxy(left) + proxy(right) − proxy(node). */
function proxy(counts: Float64Array, offset: number, total: number, classes: number, gini: boolean): number {
  let sum = 0;
  if (gini) {
    for (let k = 0; k < classes; k++) {
      const c = counts[offset + k]!;
      sum += c * c;
    }
    return sum / total;
  }
  for (let k = 0; k < classes; k++) sum += xlogx(counts[offset + k]!, total);
  return sum;
}

/**
 * Best impurity-decrease split over `features[0 … nFeatures)`. `totals` = [w_0 … w_{K−1}, count] of the node;
 * `scratch` holds at least 3·(K + 1) numbers. Leaves `best` unfound when no split satisfies the constraints.
 */
export function findClassSplit(
  data: BinnedData,
  hist: Float64Array,
  features: Int32Array,
  nFeatures: number,
  totals: Float64Array,
  params: ClassSplitParams,
  scratch: Float64Array,
  best: Split,
): void {
  best.reset();
  const { offsets, mapper } = data;
  const { minSamplesLeaf, classes } = params;
  const gini = params.criterion === "gini";
  const stride = classes + 1;
  const C = totals[classes]!;
  let W = 0;
  for (let k = 0; k < classes; k++) W += totals[k]!;
  if (!(W > 0)) return;
  const parent = proxy(totals, 0, W, classes, gini);
  // scratch layout: [0, K) left sums, [K, 2K) right sums, [2K, 3K) left sums with missing.
  const left = 0;
  const right = classes;
  const leftMissing = 2 * classes;
  let bestScore = Number.NEGATIVE_INFINITY;
  let bestFeature = -1;
  let bestBin = -1;
  let bestMissingLeft = false;
  const evaluate = (at: number, cl: number): number => {
    const cr = C - cl;
    if (cl < minSamplesLeaf || cr < minSamplesLeaf) return Number.NEGATIVE_INFINITY;
    let wl = 0;
    for (let k = 0; k < classes; k++) {
      const v = scratch[at + k]!;
      wl += v;
      scratch[right + k] = totals[k]! - v;
    }
    const wr = W - wl;
    if (!(wl > 0) || !(wr > 0)) return Number.NEGATIVE_INFINITY;
    return proxy(scratch, at, wl, classes, gini) + proxy(scratch, right, wr, classes, gini);
  };
  for (let j = 0; j < nFeatures; j++) {
    const f = features[j]!;
    const nb = mapper.nBins[f]!;
    const base = offsets[f]! * stride;
    const mi = base + nb * stride;
    const mc = hist[mi + classes]!;
    scratch.fill(0, left, left + classes);
    let cl = 0;
    for (let b = 0; b < nb - 1; b++) {
      const s = base + b * stride;
      const c = hist[s + classes]!;
      for (let k = 0; k < classes; k++) scratch[left + k] = scratch[left + k]! + hist[s + k]!;
      cl += c;
      if (c === 0) continue;
      const scoreRight = evaluate(left, cl);
      if (scoreRight > bestScore) {
        bestScore = scoreRight;
        bestFeature = f;
        bestBin = b;
        bestMissingLeft = false;
      }
      if (mc > 0) {
        for (let k = 0; k < classes; k++) scratch[leftMissing + k] = scratch[left + k]! + hist[mi + k]!;
        const scoreLeft = evaluate(leftMissing, cl + mc);
        if (scoreLeft > bestScore) {
          bestScore = scoreLeft;
          bestFeature = f;
          bestBin = b;
          bestMissingLeft = true;
        }
      }
    }
    if (mc > 0) {
      for (let k = 0; k < classes; k++) scratch[leftMissing + k] = totals[k]! - hist[mi + k]!;
      const score = evaluate(leftMissing, C - mc);
      if (score > bestScore) {
        bestScore = score;
        bestFeature = f;
        bestBin = nb - 1;
        bestMissingLeft = false;
      }
    }
  }
  if (bestFeature < 0) return;
  best.feature = bestFeature;
  best.bin = bestBin;
  best.missingLeft = bestMissingLeft;
  best.gain = bestScore - parent;
}

/**
 * The float threshold of a found split (x ≤ threshold goes left). `midpoint`: halfway between the largest
 * training value left of the split and the smallest one right of it among the node's bins (scikit-learn
 * DecisionTreeClassifier); otherwise the global bin threshold (scikit-learn HGB). +∞ when every value goes left.
 */
export function splitThreshold(
  data: BinnedData,
  hist: Float64Array,
  stride: number,
  countAt: number,
  split: Split,
  midpoint: boolean,
): number {
  const f = split.feature;
  const b = split.bin;
  const nb = data.mapper.nBins[f]!;
  if (b >= nb - 1) return Number.POSITIVE_INFINITY;
  if (!midpoint) return data.mapper.thresholds[f]![b]!;
  const base = data.offsets[f]!;
  let next = b + 1;
  while (next < nb && hist[(base + next) * stride + countAt] === 0) next++;
  if (next >= nb) return Number.POSITIVE_INFINITY;
  return midpointBetween(data, f, b, next);
}

/** Halfway between the largest training value of bin `b` and the smallest of bin `next` (> b). */
function midpointBetween(data: BinnedData, f: number, b: number, next: number): number {
  const lo = data.mapper.binMax[f]![b]!;
  const hi = data.mapper.binMin[f]![next]!;
  const mid = (lo + hi) / 2;
  // Adjacent doubles: the midpoint may round up to the right-hand value, which must stay right.
  return mid >= hi ? lo : mid;
}

/** Buffers of findClassSplitSorted for nodes of up to `capacity` rows. */
export class SortScratch {
  readonly keys: Int32Array;
  readonly rows: Int32Array;
  readonly sums: Float64Array;
  constructor(
    readonly capacity: number,
    classes: number,
  ) {
    this.keys = new Int32Array(capacity);
    this.rows = new Int32Array(capacity);
    this.sums = new Float64Array(4 * classes);
  }
}

/**
 * The class split of one feature in a small node (positions [start … end) of node-ordered codes, labels
 * and weights, as buildClassHistogram reads them), by sorting the node's codes instead of building a
 * histogram (scikit-learn's way): the candidates, their order and their scores are the histogram scan's — the
 * value bins present in the node, ascending, missing values right then left, then missing against every value
 * — so the same split is found; only its cost no longer depends on the number of bins. `best` is replaced
 * when this feature has a strictly better split (threshold included). Returns false when the feature is
 * constant in the node (scikit-learn does not count such features towards max_features).
 */
export function findClassSplitSorted(
  data: BinnedData,
  codes: Uint8Array,
  rowBytes: number,
  start: number,
  end: number,
  f: number,
  labels: Int32Array,
  weights: Float64Array,
  totals: Float64Array,
  params: ClassSplitParams,
  scratch: SortScratch,
  best: Split,
): boolean {
  const { mapper } = data;
  const { minSamplesLeaf, classes } = params;
  const gini = params.criterion === "gini";
  const m = end - start;
  const keys = scratch.keys;
  const order = scratch.rows;
  // Insertion sort of (code, position) by code; positions stay ascending within a code.
  for (let i = 0; i < m; i++) {
    const r = start + i;
    const key = codes[r * rowBytes + f]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      order[j + 1] = order[j]!;
      j--;
    }
    keys[j + 1] = key;
    order[j + 1] = r;
  }
  if (m === 0 || keys[0] === keys[m - 1]) return false;
  const nb = mapper.nBins[f]!;
  const sums = scratch.sums;
  const left = 0;
  const right = classes;
  const missing = 2 * classes;
  const leftMissing = 3 * classes;
  sums.fill(0);
  let W = 0;
  for (let k = 0; k < classes; k++) W += totals[k]!;
  const C = totals[classes]!;
  let firstMissing = m;
  while (firstMissing > 0 && keys[firstMissing - 1] === nb) firstMissing--;
  for (let i = firstMissing; i < m; i++) {
    const y = labels[order[i]!]!;
    sums[missing + y] = sums[missing + y]! + weights[order[i]!]!;
  }
  const mc = m - firstMissing;
  const score = (at: number, cl: number): number => {
    const cr = C - cl;
    if (cl < minSamplesLeaf || cr < minSamplesLeaf) return Number.NEGATIVE_INFINITY;
    let wl = 0;
    for (let k = 0; k < classes; k++) {
      const v = sums[at + k]!;
      wl += v;
      sums[right + k] = totals[k]! - v;
    }
    const wr = W - wl;
    if (!(wl > 0) || !(wr > 0)) return Number.NEGATIVE_INFINITY;
    return proxy(sums, at, wl, classes, gini) + proxy(sums, right, wr, classes, gini);
  };
  const parent = proxy(totals, 0, W, classes, gini);
  const offer = (value: number, bin: number, missingLeft: boolean, threshold: number): void => {
    if (value === Number.NEGATIVE_INFINITY) return;
    // Compared as impurity decreases, as findClassSplit reports them.
    const gain = value - parent;
    if (gain > best.gain) {
      best.feature = f;
      best.bin = bin;
      best.missingLeft = missingLeft;
      best.gain = gain;
      best.threshold = threshold;
    }
  };
  for (let i = 0; i < firstMissing; i++) {
    const y = labels[order[i]!]!;
    sums[left + y] = sums[left + y]! + weights[order[i]!]!;
    const b = keys[i]!;
    if (i + 1 < firstMissing && keys[i + 1] === b) continue;
    const cl = i + 1;
    if (i + 1 < firstMissing) {
      const threshold = midpointBetween(data, f, b, keys[i + 1]!);
      offer(score(left, cl), b, false, threshold);
      if (mc > 0) {
        for (let k = 0; k < classes; k++) sums[leftMissing + k] = sums[left + k]! + sums[missing + k]!;
        offer(score(leftMissing, cl + mc), b, true, threshold);
      }
    } else if (mc > 0) {
      // Every value left, missing right.
      offer(score(left, cl), nb - 1, false, Number.POSITIVE_INFINITY);
    }
  }
  return true;
}
