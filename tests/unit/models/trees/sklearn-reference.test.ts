// The tree engine against scikit-learn where the two must agree exactly: features with fewer distinct values
// than bins make every histogram bin one value, so a decision tree's splits, thresholds and leaf
// probabilities and a gradient-boosted model's trees are scikit-learn's (DecisionTreeClassifier,
// HistGradientBoostingClassifier). Reference values: tests/fixtures/python/trees_reference.py.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decisionTreeKind } from "../../../../src/models/kinds/decision-tree.js";
import { gbdtKind } from "../../../../src/models/kinds/gbdt.js";
import type { Ensemble } from "../../../../src/models/trees/ensemble.js";
import { fitData, keepAll, matrix, trained } from "./helpers.js";

interface DtNode {
  feature: number;
  threshold: number | null;
  left: number;
  right: number;
  probabilities: number[];
  samples: number;
}
interface DtCase {
  name: string;
  criterion: "gini" | "entropy";
  maxDepth: number;
  classes: number;
  x: number[][];
  y: number[];
  nodes: DtNode[];
  probabilities: number[][];
}
interface HgbNode {
  feature: number;
  threshold: number | null;
  left: number;
  right: number;
  value: number;
  count: number;
}
interface HgbCase {
  name: string;
  classes: number;
  params: { rounds: number; learningRate: number; maxLeaves: number; minSamplesLeaf: number; l2: number };
  x: number[][];
  y: number[];
  xTest: number[][];
  baseline: number[];
  firstTree: HgbNode[][];
  probabilities: number[][];
  testProbabilities: number[][];
}

const reference = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "../../../fixtures/trees/reference.json"), "utf8"),
) as { decisionTrees: DtCase[]; hgb: HgbCase[] };

/** Walks both trees from their roots, comparing every node. */
function compareTree(
  e: Ensemble,
  root: number,
  nodes: { feature: number; threshold: number | null; left: number; right: number }[],
  leaf: (ours: number, theirs: number) => void,
): number {
  let compared = 0;
  const walk = (ours: number, theirs: number) => {
    const node = nodes[theirs]!;
    compared++;
    expect(e.feature[ours], `split feature at sklearn node ${theirs}`).toBe(node.feature);
    if (node.feature < 0) {
      leaf(ours, theirs);
      return;
    }
    expect(e.threshold[ours], `threshold at sklearn node ${theirs}`).toBe(node.threshold);
    walk(e.left[ours]!, node.left);
    walk(e.right[ours]!, node.right);
  };
  walk(root, 0);
  return compared;
}

describe("decision tree = scikit-learn DecisionTreeClassifier (exact bins)", () => {
  for (const c of reference.decisionTrees) {
    it(`${c.name}: same splits, thresholds and leaf probabilities`, async () => {
      const train = { x: matrix(c.x), y: Int32Array.from(c.y) };
      const model = await trained(
        decisionTreeKind,
        { criterion: c.criterion, maxDepth: c.maxDepth },
        fitData(train, train, c.classes),
        keepAll(),
      );
      const e = model.ensemble;
      const compared = compareTree(e, 0, c.nodes, (ours, theirs) => {
        const expected = c.nodes[theirs]!;
        expect(e.count[ours]).toBe(expected.samples);
        for (let k = 0; k < c.classes; k++)
          expect(e.value[ours * c.classes + k]).toBeCloseTo(expected.probabilities[k]!, 12);
      });
      expect(compared).toBe(c.nodes.length);
      expect(e.feature.length).toBe(c.nodes.length);
      const p = model.predict(train.x);
      c.probabilities.forEach((row, r) => {
        row.forEach((v, k) => {
          expect(p[r * c.classes + k]).toBeCloseTo(v, 6);
        });
      });
    });
  }
});

describe("gbdt = scikit-learn HistGradientBoostingClassifier (exact bins, no early stopping)", () => {
  for (const c of reference.hgb) {
    it(`${c.name}: same first trees and probabilities`, async () => {
      const train = { x: matrix(c.x), y: Int32Array.from(c.y) };
      const model = await trained(
        gbdtKind,
        { ...c.params, maxBins: 255, minHessianLeaf: 1e-3 },
        fitData(train, train, c.classes),
        keepAll(),
      );
      const e = model.ensemble;
      const trees = c.classes === 2 ? 1 : c.classes;
      expect(e.roots.length).toBe(c.params.rounds * trees);
      // Base scores: log-odds of the prior (scikit-learn centres the multiclass ones; softmax does not care).
      if (c.classes === 2) expect(e.baseScores[0]).toBeCloseTo(c.baseline[0]!, 12);
      else {
        const mean = e.baseScores.reduce((a, b) => a + b, 0) / c.classes;
        e.baseScores.forEach((b, k) => {
          expect(b - mean).toBeCloseTo(c.baseline[k]!, 12);
        });
      }
      for (let k = 0; k < trees; k++) {
        // scikit-learn keeps gradients in float32: leaf values agree to ~1e-6, structure exactly.
        compareTree(e, e.roots[k]!, c.firstTree[k]!, (ours, theirs) => {
          expect(e.count[ours]).toBe(c.firstTree[k]![theirs]!.count);
          expect(e.value[ours]).toBeCloseTo(c.firstTree[k]![theirs]!.value, 5);
        });
      }
      const p = model.predict(matrix(c.xTest));
      c.testProbabilities.forEach((row, r) => {
        row.forEach((v, k) => {
          expect(Math.abs(p[r * c.classes + k]! - v)).toBeLessThan(1e-5);
        });
      });
      const pTrain = model.predict(train.x);
      c.probabilities.forEach((row, r) => {
        row.forEach((v, k) => {
          expect(Math.abs(pTrain[r * c.classes + k]! - v)).toBeLessThan(1e-5);
        });
      });
    });
  }
});
