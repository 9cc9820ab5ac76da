// predictEnsemble walks trees on threshold ranks (ensemble.ts): it must give, to the bit, the probabilities of
// the plain float rule "x ≤ threshold goes left, NaN follows missingLeft", whatever the values (NaN, ±∞,
// values equal to a threshold) and whatever the block boundaries.
import { describe, expect, it } from "vitest";
import type { FeatureMatrix } from "../../../../src/features/preprocessor.js";
import { decisionTreeKind } from "../../../../src/models/kinds/decision-tree.js";
import { gbdtKind } from "../../../../src/models/kinds/gbdt.js";
import { randomForestKind } from "../../../../src/models/kinds/random-forest.js";
import {
  buildEnsemble,
  type Ensemble,
  predictEnsemble,
  rawOutputs,
  rawToProbabilities,
} from "../../../../src/models/trees/ensemble.js";
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
        const left = v <= e.threshold[node]! || (Number.isNaN(v) && e.missingLeft[node] === 1);
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
      expect(Array.from(predictEnsemble(e, x))).toEqual(Array.from(reference(e, x)));
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
      expect(Array.from(predictEnsemble(e, x))).toEqual(Array.from(reference(e, x)));
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
    expect(Array.from(p)).toEqual(Array.from(reference(e, x)));
    // Row 0 and 3: f0 left, f2 = −∞ ≤ −∞ left → 0.1 + 1.5 + 0.5; row 1: NaN left, NaN right → 0.1 − 2 + 0.5.
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-2.1)), 6);
    expect(p[3]).toBeCloseTo(1 / (1 + Math.exp(1.4)), 6);
    expect(p[5]).toBeCloseTo(1 / (1 + Math.exp(1.4)), 6);
    const empty = buildEnsemble("mean", 2, 3, new Float64Array(0), []);
    expect(Array.from(predictEnsemble(empty, x))).toEqual(new Array(8).fill(0));
  });
});
