// predictEnsemble (predict.ts) scores on threshold ranks, with QuickScorer's bit vectors or by walking the trees:
// every method must give, to the bit, the probabilities of the plain float rule "x ≤ threshold goes left, NaN
// follows missingLeft" (categorical nodes: "a category of the node's set goes left"), whatever the values (NaN,
// ±∞, values equal to a threshold, unknown categories) and whatever the block boundaries.
import { describe, expect, it } from "vitest";
import type { FeatureMatrix } from "../../../../src/features/preprocessor.js";
import { decisionTreeKind } from "../../../../src/models/kinds/decision-tree.js";
import { gbdtKind } from "../../../../src/models/kinds/gbdt.js";
import { randomForestKind } from "../../../../src/models/kinds/random-forest.js";
import {
  buildEnsemble,
  type Ensemble,
  rawOutputs,
  rawToProbabilities,
} from "../../../../src/models/trees/ensemble.js";
import type { GrownTree } from "../../../../src/models/trees/grower.js";
import {
  type PredictTuning,
  predictEnsemble,
  predictionMethod,
} from "../../../../src/models/trees/predict.js";
import { createRng } from "../../../../src/shared/random.js";
import { fitData, options, synthetic, trained } from "./helpers.js";

/** The float rule, one row and one tree at a time (the definition the coded walk must reproduce). */
function reference(e: Ensemble, x: FeatureMatrix): Float32Array {
  const mean = e.objective === "mean";
  const width = mean ? e.classes : rawOutputs(e.objective, e.classes);
  const sums = new Float64Array(x.rows * width);
  for (let r = 0; r < x.rows; r++) {
    if (!mean) sums.set(e.baseScores, r * width);
    for (let t = 0; t < e.roots.length; t++) {
      let node = e.roots[t]!;
      while (e.feature[node]! >= 0) {
        const v = x.values[r * x.cols + e.feature[node]!]!;
        const off = e.catOffset[node]!;
        const inSet = (c: number) =>
          Number.isInteger(c) &&
          c >= 0 &&
          c < e.categories[e.feature[node]!]! &&
          ((e.catBits[off + (c >>> 5)]! >>> (c & 31)) & 1) === 1;
        const left =
          off >= 0
            ? inSet(v) || (Number.isNaN(v) && e.missingLeft[node] === 1)
            : v <= e.threshold[node]! || (Number.isNaN(v) && e.missingLeft[node] === 1);
        node = left ? e.left[node]! : e.right[node]!;
      }
      if (mean) for (let k = 0; k < e.classes; k++) sums[r * width + k]! += e.value[node * e.classes + k]!;
      else sums[r * width + e.treeOutput[t]!]! += e.value[node]!;
    }
  }
  if (!mean) return rawToProbabilities(e.objective, e.classes, sums);
  return Float32Array.from(sums, (s) => s / e.roots.length);
}

/** Probe rows: the training rows, with NaN, ±∞ and exact threshold values sprinkled in. */
function probe(e: Ensemble, x: FeatureMatrix, rows: number, seed: number): FeatureMatrix {
  const rng = createRng(seed);
  const values = new Float32Array(rows * x.cols);
  const thresholds = Array.from(e.threshold).filter(Number.isFinite);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < x.cols; c++) {
      const u = rng();
      values[r * x.cols + c] =
        u < 0.08
          ? Number.NaN
          : u < 0.1
            ? Number.POSITIVE_INFINITY
            : u < 0.12
              ? Number.NEGATIVE_INFINITY
              : u < 0.3 && thresholds.length > 0
                ? thresholds[Math.floor(rng() * thresholds.length)]!
                : x.values[(r % x.rows) * x.cols + c]!;
    }
  }
  return { rows, cols: x.cols, values, featureNames: x.featureNames };
}

/**
 * Every scoring method: the default (bit vectors, the row loop in WebAssembly for gbdt), the same loop in
 * JavaScript, the tree walk, and the bit vectors with checkpoints spaced out to the limit, in both loops.
 */
const METHODS: (PredictTuning | undefined)[] = [
  undefined,
  { wasm: false },
  { walk: true },
  { combinedBudget: 1 },
  { combinedBudget: 50 },
  { combinedBudget: 1, wasm: false },
];

function expectAllMethods(e: Ensemble, x: FeatureMatrix): void {
  const expected = Array.from(reference(e, x));
  for (const tuning of METHODS)
    expect(Array.from(predictEnsemble(e, x, tuning)), JSON.stringify(tuning)).toEqual(expected);
}

describe("predictEnsemble on threshold ranks", () => {
  it("gbdt (binary and 3 classes, NaN in training) equals the float rule to the bit, over several blocks", async () => {
    for (const classes of [2, 3]) {
      const train = synthetic(600, 11, classes, 3);
      for (let r = 0; r < train.x.rows; r += 7) train.x.values[r * train.x.cols + (r % 4)] = Number.NaN;
      const model = await trained(
        gbdtKind,
        { rounds: 25, maxLeaves: 15, minSamplesLeaf: 5 },
        fitData(train, synthetic(200, 12, classes, 3), classes),
      );
      const e = model.ensemble;
      // 5,003 rows × 7 columns: several blocks and a short last one.
      const x = probe(e, train.x, 5003, classes);
      expect(predictionMethod(e)).toBe("bit-vectors-wasm");
      expectAllMethods(e, x);
    }
  });

  it("forests and a decision tree (midpoint thresholds, class-probability leaves) equal the float rule", async () => {
    const train = synthetic(500, 21, 3, 2);
    const data = fitData(train, synthetic(100, 22, 3, 2), 3);
    for (const [kind, params] of [
      [randomForestKind, { trees: 12 }],
      [decisionTreeKind, {}],
    ] as const) {
      const model = await trained(kind, params, data, options());
      const e = model.ensemble;
      const x = probe(e, train.x, 2500, 5);
      expectAllMethods(e, x);
      // A fully grown decision tree has more than 32 leaves: walked, not scored by bit vectors.
      if (kind === decisionTreeKind) expect(predictionMethod(e)).toBe("walk");
    }
  });

  it("±∞ thresholds, missing values sent left, a feature no node uses and a zero-tree ensemble", () => {
    // Tree 0: f0 ≤ +∞ (NaN left) → [f2 ≤ −∞ (NaN right) → leaves 1.5 / −2] / leaf 0.25; tree 1: a leaf.
    const e = buildEnsemble("logistic", 2, 3, new Float64Array([0.1]), [
      {
        output: 0,
        tree: {
          feature: Int32Array.from([0, 2, -1, -1, -1]),
          threshold: Float64Array.from([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 0, 0]),
          left: Int32Array.from([1, 3, -1, -1, -1]),
          right: Int32Array.from([2, 4, -1, -1, -1]),
          missingLeft: Uint8Array.from([1, 0, 0, 0, 0]),
          value: Float64Array.from([0, 0, 0.25, 1.5, -2]),
          gain: new Float64Array(5),
          count: new Float64Array(5),
          leaves: 3,
          depth: 2,
        },
      },
      {
        output: 0,
        tree: {
          feature: Int32Array.from([-1]),
          threshold: new Float64Array(1),
          left: Int32Array.from([-1]),
          right: Int32Array.from([-1]),
          missingLeft: new Uint8Array(1),
          value: Float64Array.from([0.5]),
          gain: new Float64Array(1),
          count: new Float64Array(1),
          leaves: 1,
          depth: 0,
        },
      },
    ]);
    const inf = Number.POSITIVE_INFINITY;
    const rows = [
      [inf, 0, -inf],
      [Number.NaN, 0, Number.NaN],
      [1, 0, 3],
      [-inf, Number.NaN, -inf],
    ];
    const x: FeatureMatrix = { rows: 4, cols: 3, values: Float32Array.from(rows.flat()), featureNames: [] };
    const p = predictEnsemble(e, x);
    expectAllMethods(e, x);
    // Row 0 and 3: f0 left, f2 = −∞ ≤ −∞ left → 0.1 + 1.5 + 0.5; row 1: NaN left, NaN right → 0.1 − 2 + 0.5.
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-2.1)), 6);
    expect(p[3]).toBeCloseTo(1 / (1 + Math.exp(1.4)), 6);
    expect(p[5]).toBeCloseTo(1 / (1 + Math.exp(1.4)), 6);
    const empty = buildEnsemble("mean", 2, 3, new Float64Array(0), []);
    expect(Array.from(predictEnsemble(empty, x))).toEqual(new Array(8).fill(0));
  });

  it("categorical nodes: category sets, unknown and fractional codes, missing values, next to numeric nodes", () => {
    // Feature 0 numeric; feature 1 categorical with 40 categories (two bitset words); feature 2 categorical (3).
    const set = (cats: number[], words: number) => {
      const bits = new Uint32Array(words);
      for (const c of cats) bits[c >>> 5] = bits[c >>> 5]! | (1 << (c & 31));
      return bits;
    };
    const tree = (nodes: Partial<GrownTree> & Pick<GrownTree, "feature">): GrownTree => {
      const n = nodes.feature.length;
      return {
        threshold: new Float64Array(n),
        left: new Int32Array(n).fill(-1),
        right: new Int32Array(n).fill(-1),
        missingLeft: new Uint8Array(n),
        value: new Float64Array(n),
        gain: new Float64Array(n),
        count: new Float64Array(n),
        catOffset: new Int32Array(n).fill(-1),
        catBits: new Uint32Array(0),
        leaves: 0,
        depth: 0,
        ...nodes,
      };
    };
    // Tree 0: f1 ∈ {0, 5, 33, 39} (NaN left) → [f0 ≤ 0.5 → 1 / 2] / [f2 ∈ {1} (NaN right) → 3 / 4].
    const t0 = tree({
      feature: Int32Array.from([1, 0, 2, -1, -1, -1, -1]),
      threshold: Float64Array.from([Number.NaN, 0.5, Number.NaN, 0, 0, 0, 0]),
      left: Int32Array.from([1, 3, 5, -1, -1, -1, -1]),
      right: Int32Array.from([2, 4, 6, -1, -1, -1, -1]),
      missingLeft: Uint8Array.from([1, 0, 0, 0, 0, 0, 0]),
      value: Float64Array.from([0, 0, 0, 1, 2, 3, 4]),
      catOffset: Int32Array.from([0, -1, 2, -1, -1, -1, -1]),
      catBits: Uint32Array.from([...set([0, 5, 33, 39], 2), ...set([1], 1)]),
    });
    // Tree 1: f2 ∈ {0, 2} → 0.5 / −0.5.
    const t1 = tree({
      feature: Int32Array.from([2, -1, -1]),
      threshold: Float64Array.from([Number.NaN, 0, 0]),
      left: Int32Array.from([1, -1, -1]),
      right: Int32Array.from([2, -1, -1]),
      value: Float64Array.from([0, 0.5, -0.5]),
      catOffset: Int32Array.from([0, -1, -1]),
      catBits: set([0, 2], 1),
    });
    const e = buildEnsemble(
      "softmax",
      2,
      3,
      new Float64Array([0, 0]),
      [
        { tree: t0, output: 0 },
        { tree: t1, output: 1 },
      ],
      Int32Array.from([0, 40, 3]),
    );
    const nan = Number.NaN;
    const rows = [
      [0, 0, 1],
      [1, 5, 0],
      [0.2, 39, 2],
      [0.7, 33, nan],
      [0, 1, 1],
      [0, 40, 1], // 40 is no category: right
      [0, 5.5, 3], // fractional and out-of-range codes: right
      [nan, nan, nan],
      [0, -1, -0],
      [Number.POSITIVE_INFINITY, 38, 1],
    ];
    const x: FeatureMatrix = {
      rows: rows.length,
      cols: 3,
      values: Float32Array.from(rows.flat()),
      featureNames: [],
    };
    expect(predictionMethod(e)).toBe("bit-vectors-wasm");
    expectAllMethods(e, x);
    // Row 1: f1 = 5 ∈ set → f0 = 1 > 0.5 → 2; f2 = 0 ∈ {0, 2} → 0.5. Row 5: 40 → right → f2 = 1 ∈ {1} → 3; 1 ∉ {0, 2} → −0.5.
    const p = predictEnsemble(e, x);
    const softmax = (a: number, b: number) => Math.exp(a) / (Math.exp(a) + Math.exp(b));
    expect(p[2]).toBeCloseTo(softmax(2, 0.5), 6);
    expect(p[10]).toBeCloseTo(softmax(3, -0.5), 6);
    // Row 7: NaN → left at tree 0's root (missingLeft) → f0 NaN → right → 2; NaN ∉ {0, 2} → −0.5.
    expect(p[14]).toBeCloseTo(softmax(2, -0.5), 6);
  });

  it("refuses a numeric split on a categorical feature and a category set outside the bitsets", () => {
    const base = {
      threshold: Float64Array.from([0.5, 0, 0]),
      left: Int32Array.from([1, -1, -1]),
      right: Int32Array.from([2, -1, -1]),
      missingLeft: new Uint8Array(3),
      value: Float64Array.from([0, 1, -1]),
      gain: new Float64Array(3),
      count: new Float64Array(3),
      leaves: 2,
      depth: 1,
    };
    const x: FeatureMatrix = { rows: 1, cols: 1, values: Float32Array.from([0]), featureNames: [] };
    const numericOnCategorical = buildEnsemble(
      "logistic",
      2,
      1,
      new Float64Array(1),
      [{ tree: { ...base, feature: Int32Array.from([0, -1, -1]) }, output: 0 }],
      Int32Array.from([4]),
    );
    expect(() => predictEnsemble(numericOnCategorical, x)).toThrow(
      expect.objectContaining({
        code: "TREE_MODEL_INVALID",
        message: expect.stringMatching(/categorical feature 0 on a threshold/),
      }),
    );
    const outside = buildEnsemble(
      "logistic",
      2,
      1,
      new Float64Array(1),
      [
        {
          tree: {
            ...base,
            feature: Int32Array.from([0, -1, -1]),
            catOffset: Int32Array.from([0, -1, -1]),
            catBits: new Uint32Array(1),
          },
          output: 0,
        },
      ],
      Int32Array.from([40]),
    );
    expect(() => predictEnsemble(outside, x)).toThrow(
      expect.objectContaining({
        code: "TREE_MODEL_INVALID",
        message: expect.stringMatching(/outside the bitsets/),
      }),
    );
  });
});
