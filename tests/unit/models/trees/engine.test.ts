// The building blocks of the tree engine checked against independent computations: binning, histograms
// (sparse = dense, subtraction = a direct build), split gains (the closed form, by brute force), leaf values
// (−G/(H+λ)), missing-value routing.
import { describe, expect, it } from "vitest";
import { gbdtKind } from "../../../../src/models/kinds/gbdt.js";
import {
  applyBins,
  binOf,
  featureThresholds,
  fitBins,
  rowMajorCodes,
  rowStride,
} from "../../../../src/models/trees/binning.js";
import {
  buildClassHistogram,
  buildClassHistogramSparse,
  buildGradientHistogram,
  buildGradientHistogramSparse,
  clearHistogram,
  subtractHistogram,
} from "../../../../src/models/trees/histogram.js";
import {
  findClassSplit,
  findClassSplitSorted,
  findGradientSplit,
  gradientGain,
  SortScratch,
  Split,
  splitThreshold,
} from "../../../../src/models/trees/split.js";
import { createRng } from "../../../../src/shared/random.js";
import { fitData, keepAll, matrix, synthetic, trained } from "./helpers.js";

function randomMatrix(n: number, cols: number, seed: number, distinct: number[]): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: cols }, (_, j) => {
      if (rng() < 0.05) return Number.NaN;
      const d = distinct[j % distinct.length]!;
      return d > 0 ? Math.floor(rng() * d) : rng() * 10 - 5;
    }),
  );
}

describe("binning", () => {
  it("one bin per distinct value with midpoint thresholds (scikit-learn's rule)", () => {
    expect(Array.from(featureThresholds(Float64Array.from([1, 1, 2, 4, 4, 7]), 255))).toEqual([1.5, 3, 5.5]);
    const x = matrix([[3], [1], [Number.NaN], [2], [1]]);
    const mapper = fitBins(x, 255, 1);
    expect(Array.from(mapper.thresholds[0]!)).toEqual([1.5, 2.5]);
    expect(mapper.nBins[0]).toBe(3);
    const binned = applyBins(mapper, x);
    // Column-major codes; NaN gets the extra bin nBins.
    expect(Array.from(binned.codes)).toEqual([2, 0, 3, 1, 0]);
  });

  it("quantile thresholds when there are more distinct values than bins", () => {
    const sorted = Float64Array.from({ length: 1000 }, (_, i) => i);
    const thr = featureThresholds(sorted, 4);
    // numpy.percentile(range(1000), [25, 50, 75], method="midpoint")
    expect(Array.from(thr)).toEqual([249.5, 499.5, 749.5]);
    expect(binOf(thr, 249.5)).toBe(0);
    expect(binOf(thr, 249.6)).toBe(1);
    expect(binOf(thr, 1e9)).toBe(3);
  });

  it("a value is in bin b exactly when it is ≤ threshold b and > threshold b−1", () => {
    const rows = randomMatrix(500, 3, 3, [0, 0, 0]);
    const x = matrix(rows);
    const mapper = fitBins(x, 16, 1);
    const binned = applyBins(mapper, x);
    for (let f = 0; f < 3; f++) {
      const thr = mapper.thresholds[f]!;
      expect(thr.length).toBeLessThanOrEqual(15);
      for (let r = 0; r < 500; r++) {
        const v = x.values[r * 3 + f]!;
        const code = binned.codes[f * 500 + r]!;
        if (Number.isNaN(v)) expect(code).toBe(mapper.nBins[f]);
        else {
          if (code < thr.length) expect(v).toBeLessThanOrEqual(thr[code]!);
          if (code > 0) expect(v).toBeGreaterThan(thr[code - 1]!);
        }
      }
    }
  });

  it("refuses maxBins outside 2..255", () => {
    expect(() => fitBins(matrix([[1]]), 300, 1)).toThrow(/maxBins/);
    expect(() => fitBins(matrix([[1]]), 1, 1)).toThrow(/maxBins/);
  });
});

describe("histograms", () => {
  const n = 400;
  const rows = randomMatrix(n, 5, 11, [2, 7, 0, 3, 0]);
  const x = matrix(rows);
  const data = applyBins(fitBins(x, 32, 1), x);
  const rng = createRng(5);
  const g = Float64Array.from({ length: n }, () => rng() - 0.5);
  const h = Float64Array.from({ length: n }, () => rng() * 0.25 + 0.01);
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const features = Int32Array.from({ length: 5 }, (_, i) => i);
  const totalsOf = (idx: Int32Array) => {
    const t = new Float64Array(3);
    for (const r of idx) {
      t[0] = t[0]! + g[r]!;
      t[1] = t[1]! + h[r]!;
    }
    t[2] = idx.length;
    return t;
  };
  const direct = (idx: Int32Array) => {
    // Straight from the definition: every row adds to its bin of every feature.
    const hist = new Float64Array(data.totalSlots * 3);
    for (const r of idx)
      for (let f = 0; f < 5; f++) {
        const s = (data.offsets[f]! + data.codes[f * n + r]!) * 3;
        hist[s] = hist[s]! + g[r]!;
        hist[s + 1] = hist[s + 1]! + h[r]!;
        hist[s + 2] = hist[s + 2]! + 1;
      }
    return hist;
  };

  it("the sparse (default-bin) and dense builders equal the definition", () => {
    const subset = all.filter((r) => r % 3 !== 0);
    const expected = direct(subset);
    const sparse = new Float64Array(data.totalSlots * 3);
    buildGradientHistogramSparse(data, subset, 0, subset.length, g, h, totalsOf(subset), sparse);
    const dense = new Float64Array(data.totalSlots * 3);
    clearHistogram(data, features, 5, 3, dense);
    buildGradientHistogram(
      data,
      rowMajorCodes(data),
      rowStride(5),
      subset,
      0,
      subset.length,
      features,
      5,
      g,
      h,
      dense,
    );
    for (let s = 0; s < expected.length; s++) {
      expect(sparse[s]).toBeCloseTo(expected[s]!, 12);
      expect(dense[s]).toBeCloseTo(expected[s]!, 12);
    }
  });

  it("parent − child equals the sibling built directly", () => {
    const left = all.filter((r) => rows[r]![2]! < 0.7 || Number.isNaN(rows[r]![2]!));
    const right = all.filter((r) => !(rows[r]![2]! < 0.7 || Number.isNaN(rows[r]![2]!)));
    const parent = new Float64Array(data.totalSlots * 3);
    buildGradientHistogramSparse(data, all, 0, n, g, h, totalsOf(all), parent);
    const small = new Float64Array(data.totalSlots * 3);
    buildGradientHistogramSparse(data, left, 0, left.length, g, h, totalsOf(left), small);
    subtractHistogram(data, features, 5, 3, parent, small);
    const expected = direct(right);
    for (let s = 0; s < expected.length; s++) expect(parent[s]).toBeCloseTo(expected[s]!, 12);
    // Counts stay exact integers.
    for (let s = 2; s < expected.length; s += 3) expect(parent[s]).toBe(expected[s]);
  });

  it("class histograms: sparse = dense, weighted per class", () => {
    const labels = Int32Array.from({ length: n }, (_, r) => r % 3);
    const weights = Float64Array.from({ length: n }, (_, r) => 1 + (r % 4));
    const totals = new Float64Array(4);
    for (let r = 0; r < n; r++) totals[labels[r]!] = totals[labels[r]!]! + weights[r]!;
    totals[3] = n;
    const sparse = new Float64Array(data.totalSlots * 4);
    buildClassHistogramSparse(data, all, 0, n, labels, weights, 3, totals, sparse);
    const dense = new Float64Array(data.totalSlots * 4);
    clearHistogram(data, features, 5, 4, dense);
    // Positions = row ids here (every row, in order).
    buildClassHistogram(
      data,
      rowMajorCodes(data),
      rowStride(5),
      0,
      n,
      features,
      5,
      labels,
      weights,
      3,
      dense,
    );
    for (let s = 0; s < dense.length; s++) expect(sparse[s]).toBeCloseTo(dense[s]!, 10);
  });

  it("the best split's gain is the closed form, and no threshold beats it (brute force on the rows)", () => {
    // Few distinct values per feature: every bin is one value, so every partition is a histogram candidate.
    const rows = randomMatrix(n, 5, 12, [2, 7, 5, 3, 9]);
    const x = matrix(rows);
    const data = applyBins(fitBins(x, 32, 1), x);
    const lambda = 0.7;
    const hist = new Float64Array(data.totalSlots * 3);
    const totals = totalsOf(all);
    buildGradientHistogramSparse(data, all, 0, n, g, h, totals, hist);
    const best = new Split();
    findGradientSplit(
      data,
      hist,
      features,
      5,
      totals,
      { lambda, minSamplesLeaf: 5, minHessianLeaf: 1e-3 },
      best,
    );
    expect(best.found).toBe(true);
    // Independently: every feature, every threshold between present values, NaN rows on either side.
    const closed = (gl: number, hl: number, gr: number, hr: number) =>
      ((gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - ((gl + gr) * (gl + gr)) / (hl + hr + lambda)) /
      2;
    let bruteBest = Number.NEGATIVE_INFINITY;
    let bruteAt: [number, number, boolean] = [-1, -1, false];
    for (let f = 0; f < 5; f++) {
      const values = [...new Set(rows.map((row) => row[f]!).filter((v) => !Number.isNaN(v)))].sort(
        (a, b) => a - b,
      );
      for (let i = 0; i + 1 < values.length; i++) {
        const t = values[i]!;
        for (const nanLeft of [false, true]) {
          let gl = 0;
          let hl = 0;
          let cl = 0;
          let gr = 0;
          let hr = 0;
          let cr = 0;
          for (let r = 0; r < n; r++) {
            const v = rows[r]![f]!;
            const goLeft = Number.isNaN(v) ? nanLeft : v <= t;
            if (goLeft) {
              gl += g[r]!;
              hl += h[r]!;
              cl++;
            } else {
              gr += g[r]!;
              hr += h[r]!;
              cr++;
            }
          }
          if (cl < 5 || cr < 5) continue;
          const gain = closed(gl, hl, gr, hr);
          if (gain > bruteBest + 1e-12) {
            bruteBest = gain;
            bruteAt = [f, t, nanLeft];
          }
        }
      }
    }
    expect(best.gain).toBeCloseTo(bruteBest, 10);
    expect(best.feature).toBe(bruteAt[0]);
    // G_L = 1, H_L = 2 of a node with G = 0, H = 3: ½·(1/(2+λ) + 1/(1+λ) − 0).
    expect(gradientGain(1, 2, 0, 3, lambda)).toBeCloseTo(0.5 * (1 / (2 + lambda) + 1 / (1 + lambda)), 12);
  });
});

describe("small class nodes: sorting finds the histogram's split", () => {
  it("same feature, gain, threshold and missing side on 200 random small nodes", () => {
    const n = 300;
    const rows = randomMatrix(n, 5, 21, [2, 9, 0, 4, 0]);
    const x = matrix(rows);
    const data = applyBins(fitBins(x, 64, 1), x);
    const codes = rowMajorCodes(data);
    const rng = createRng(8);
    const labels = Int32Array.from({ length: n }, () => Math.floor(rng() * 3));
    const weights = Float64Array.from({ length: n }, () => 0.5 + rng());
    const features = Int32Array.from({ length: 5 }, (_, i) => i);
    const hist = new Float64Array(data.totalSlots * 4);
    const scratch = new Float64Array(12);
    const sortScratch = new SortScratch(32, 3);
    let compared = 0;
    for (let trial = 0; trial < 200; trial++) {
      const size = 2 + Math.floor(rng() * 31);
      const picked = new Set<number>();
      while (picked.size < size) picked.add(Math.floor(rng() * n));
      const node = Int32Array.from([...picked].sort((a, b) => a - b));
      const totals = new Float64Array(4);
      for (const r of node) totals[labels[r]!] = totals[labels[r]!]! + weights[r]!;
      totals[3] = node.length;
      // The node's rows in node order, as the grower lays them out.
      const bytes = rowStride(5);
      const nodeCodes = new Uint8Array(node.length * bytes);
      node.forEach((r, i) => {
        nodeCodes.set(codes.subarray(r * bytes, (r + 1) * bytes), i * bytes);
      });
      const nodeLabels = Int32Array.from(node, (r) => labels[r]!);
      const nodeWeights = Float64Array.from(node, (r) => weights[r]!);
      for (const criterion of ["gini", "entropy"] as const) {
        const params = { criterion, minSamplesLeaf: 1 + (trial % 3), classes: 3 };
        clearHistogram(data, features, 5, 4, hist);
        buildClassHistogram(
          data,
          nodeCodes,
          bytes,
          0,
          node.length,
          features,
          5,
          nodeLabels,
          nodeWeights,
          3,
          hist,
        );
        const viaHistogram = new Split();
        findClassSplit(data, hist, features, 5, totals, params, scratch, viaHistogram);
        if (viaHistogram.found) viaHistogram.threshold = splitThreshold(data, hist, 4, 3, viaHistogram, true);
        const viaSort = new Split();
        for (let f = 0; f < 5; f++)
          findClassSplitSorted(
            data,
            nodeCodes,
            bytes,
            0,
            node.length,
            f,
            nodeLabels,
            nodeWeights,
            totals,
            params,
            sortScratch,
            viaSort,
          );
        expect(viaSort.found).toBe(viaHistogram.found);
        if (!viaHistogram.found) continue;
        compared++;
        expect(viaSort.feature).toBe(viaHistogram.feature);
        expect(viaSort.gain).toBeCloseTo(viaHistogram.gain, 10);
        expect(viaSort.threshold).toBe(viaHistogram.threshold);
        expect(viaSort.missingLeft).toBe(viaHistogram.missingLeft);
      }
    }
    expect(compared).toBeGreaterThan(300);
  });
});

describe("gbdt leaves and missing values", () => {
  it("a 1-round stump with learning rate 1 has the closed-form leaf values −G/(H+λ)", async () => {
    const train = synthetic(600, 3);
    const l2 = 2.5;
    const model = await trained(
      gbdtKind,
      { rounds: 1, learningRate: 1, maxLeaves: 2, minSamplesLeaf: 1, l2 },
      fitData(train, train, 2),
      keepAll(),
    );
    const e = model.ensemble;
    expect(e.feature.length).toBe(3);
    const f = e.feature[0]!;
    const t = e.threshold[0]!;
    // Gradients at the base score: p0 = mean(y), g = p0 − y, h = p0(1 − p0).
    let positives = 0;
    for (const v of train.y) positives += v;
    const p0 = positives / train.y.length;
    expect(e.baseScores[0]).toBeCloseTo(Math.log(p0 / (1 - p0)), 12);
    let gl = 0;
    let hl = 0;
    let gr = 0;
    let hr = 0;
    for (let r = 0; r < train.x.rows; r++) {
      const goLeft = train.x.values[r * train.x.cols + f]! <= t;
      const g = p0 - train.y[r]!;
      const h = p0 * (1 - p0);
      if (goLeft) {
        gl += g;
        hl += h;
      } else {
        gr += g;
        hr += h;
      }
    }
    expect(e.value[e.left[0]!]).toBeCloseTo(-gl / (hl + l2), 12);
    expect(e.value[e.right[0]!]).toBeCloseTo(-gr / (hr + l2), 12);
    expect(e.gain[0]).toBeCloseTo(
      0.5 * ((gl * gl) / (hl + l2) + (gr * gr) / (hr + l2) - ((gl + gr) * (gl + gr)) / (hl + hr + l2)),
      10,
    );
  });

  for (const missingClass of [1, 0]) {
    it(`missing values go to the side whose rows look like them (NaN rows of class ${missingClass})`, async () => {
      // x < 0 → class 0, x > 0 → class 1, and the NaN rows all belong to `missingClass`.
      const rng = createRng(missingClass + 1);
      const rows: number[][] = [];
      const y: number[] = [];
      for (let i = 0; i < 400; i++) {
        if (i % 4 === 0) {
          rows.push([Number.NaN]);
          y.push(missingClass);
        } else {
          const v = rng() * 2 - 1;
          rows.push([v]);
          y.push(v > 0 ? 1 : 0);
        }
      }
      const train = { x: matrix(rows), y: Int32Array.from(y) };
      const model = await trained(
        gbdtKind,
        { rounds: 1, learningRate: 1, maxLeaves: 2, minSamplesLeaf: 1 },
        fitData(train, train, 2),
        keepAll(),
      );
      const e = model.ensemble;
      expect(e.feature[0]).toBe(0);
      expect(e.missingLeft[0]).toBe(missingClass === 0 ? 1 : 0);
      const p = model.predict(matrix([[Number.NaN], [-0.5], [0.5]]));
      // The NaN row gets the probability of the side of its class.
      expect(p[1]).toBe(missingClass === 1 ? p[5] : p[3]);
    });
  }

  it("missingness alone can be the split (every value left, NaN right), in every prediction path", async () => {
    const rng = createRng(4);
    const rows: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 400; i++) {
      const missing = rng() < 0.3;
      rows.push([missing ? Number.NaN : rng() * 2 - 1, rng()]);
      y.push(missing ? 1 : 0);
    }
    const train = { x: matrix(rows), y: Int32Array.from(y) };
    const model = await trained(
      gbdtKind,
      { rounds: 1, learningRate: 1, maxLeaves: 2, minSamplesLeaf: 1 },
      fitData(train, train, 2),
      keepAll(),
    );
    const e = model.ensemble;
    expect(e.feature[0]).toBe(0);
    expect(e.threshold[0]).toBe(Number.POSITIVE_INFINITY);
    expect(e.missingLeft[0]).toBe(0);
    // Nine rows: groups of four and a remainder walk the trees differently.
    const probe = Array.from({ length: 9 }, (_, i) => [i % 2 === 0 ? Number.NaN : 0.5, 0.5]);
    const p = model.predict(matrix(probe));
    for (let i = 0; i < 9; i++) expect(p[i * 2 + 1]! > 0.9).toBe(i % 2 === 0);
  });

  it("a feature without missing values in training sends unseen NaN to the larger child", async () => {
    const rows: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 300; i++) {
      rows.push([i]);
      y.push(i < 100 ? 1 : 0);
    }
    const train = { x: matrix(rows), y: Int32Array.from(y) };
    const model = await trained(
      gbdtKind,
      { rounds: 1, learningRate: 1, maxLeaves: 2, minSamplesLeaf: 1 },
      fitData(train, train, 2),
      keepAll(),
    );
    const e = model.ensemble;
    expect(e.threshold[0]).toBe(99.5);
    expect(e.missingLeft[0]).toBe(0);
    const p = model.predict(matrix([[Number.NaN], [250]]));
    expect(p[1]).toBe(p[3]);
  });
});
