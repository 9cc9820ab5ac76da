import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evaluate } from "../../../src/evaluation/metrics.js";
import { GATE_METRICS, type GateMetric, weightedMetric } from "../../../src/promotion/weighted-metrics.js";
import { createRng } from "../../../src/shared/random.js";
import { thrownBy } from "../../helpers/expect-error.js";

interface BinaryFixture {
  labels: number[];
  scores: number[];
  weights: number[];
  threshold: number;
  expected: Record<GateMetric, number>;
}
interface MulticlassFixture {
  labels: number[];
  probabilities: number[][];
  weights: number[];
  expected: Partial<Record<GateMetric, number>>;
}
const fixture = JSON.parse(
  readFileSync(path.join(__dirname, "..", "..", "fixtures", "promotion", "weighted.json"), "utf8"),
) as { binaryIntegerWeights: BinaryFixture; binaryRealWeights: BinaryFixture; multiclass: MulticlassFixture };

const BINARY_ONLY: GateMetric[] = ["f1", "precision", "recall"];
const twoColumns = (scores: ArrayLike<number>) =>
  Float64Array.from(Array.from(scores).flatMap((s) => [1 - s, s]));

/** Random rows with ties (scores on a 0.05 grid) and softmax probabilities for k > 2. */
function randomRows(n: number, k: number, seed: number) {
  const rng = createRng(seed);
  const labels = Int32Array.from({ length: n }, () => Math.floor(rng() * k));
  const probabilities = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const logits = Array.from(
      { length: k },
      (_, c) => Math.round(20 * (rng() + (labels[i] === c ? 0.4 : 0))) / 8,
    );
    const total = logits.reduce((a, l) => a + Math.exp(l), 0);
    logits.forEach((l, c) => {
      probabilities[i * k + c] = Math.exp(l) / total;
    });
  }
  return { labels, probabilities };
}

/** Bootstrap-style counts: n draws with replacement. */
function drawCounts(n: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const weights = new Float64Array(n);
  for (let j = 0; j < n; j++) weights[Math.floor(rng() * n)]!++;
  return weights;
}

/** The resample as actual rows: row i repeated weights[i] times. */
function expand(labels: Int32Array, probabilities: Float64Array, k: number, weights: Float64Array) {
  const y: number[] = [];
  const p: number[] = [];
  weights.forEach((w, i) => {
    for (let t = 0; t < w; t++) {
      y.push(labels[i]!);
      for (let c = 0; c < k; c++) p.push(probabilities[i * k + c]!);
    }
  });
  return { y, p: Float64Array.from(p) };
}

describe("weightedMetric agrees with scikit-learn's sample_weight", () => {
  for (const name of ["binaryIntegerWeights", "binaryRealWeights"] as const) {
    it(`given ${name}, then every gate metric matches`, () => {
      const f = fixture[name];
      const labels = Int32Array.from(f.labels);
      const weights = Float64Array.from(f.weights);
      for (const metric of GATE_METRICS) {
        const value = weightedMetric(metric, labels, twoColumns(f.scores), 2, weights, f.threshold);
        expect(value, `${metric} vs sklearn`).toBeCloseTo(f.expected[metric], 12);
      }
    });
  }

  it("given 3 classes with integer weights, then macro OvR AUCs, F1s, accuracies and losses match", () => {
    const f = fixture.multiclass;
    const probabilities = Float64Array.from(f.probabilities.flat());
    for (const [metric, expected] of Object.entries(f.expected) as [GateMetric, number][]) {
      const value = weightedMetric(
        metric,
        Int32Array.from(f.labels),
        probabilities,
        3,
        Float64Array.from(f.weights),
      );
      expect(value, `${metric} vs sklearn`).toBeCloseTo(expected, 12);
    }
  });
});

describe("weightedMetric equals evaluate() on the explicitly expanded resample", () => {
  const cases = [
    { k: 2, threshold: 0.42, metrics: GATE_METRICS },
    { k: 3, threshold: 0.5, metrics: GATE_METRICS.filter((m) => !BINARY_ONLY.includes(m)) },
  ];
  for (const { k, threshold, metrics } of cases) {
    it(`given k = ${k} and bootstrap counts, when the rows are duplicated, then every metric agrees`, () => {
      const { labels, probabilities } = randomRows(400, k, 5 + k);
      const classes = Array.from({ length: k }, (_, c) => String(c));
      for (const seed of [1, 2, 3]) {
        const weights = drawCounts(400, seed);
        const { y, p } = expand(labels, probabilities, k, weights);
        const expected = evaluate(y, p, classes, threshold).metrics;
        for (const metric of metrics) {
          const value = weightedMetric(metric, labels, probabilities, k, weights, threshold);
          expect(value, `${metric}, resample ${seed}`).toBeCloseTo(expected[metric]!, 12);
        }
      }
    });
  }

  it("given a resample without positives, then ROC and PR AUC are NaN, as evaluate() gives", () => {
    const { labels, probabilities } = randomRows(60, 2, 9);
    const weights = Float64Array.from(labels, (y, i) => (y === 0 ? 1 + (i % 3) : 0));
    const { y, p } = expand(labels, probabilities, 2, weights);
    const expected = evaluate(y, p, ["0", "1"]).metrics;
    expect(expected.roc_auc).toBeNaN();
    expect(weightedMetric("roc_auc", labels, probabilities, 2, weights)).toBeNaN();
    expect(weightedMetric("pr_auc", labels, probabilities, 2, weights)).toBeNaN();
    expect(weightedMetric("accuracy", labels, probabilities, 2, weights)).toBeCloseTo(expected.accuracy!, 14);
  });

  it("given a multiclass resample missing one class, then the macro averages run over present classes", () => {
    const { labels, probabilities } = randomRows(90, 3, 4);
    const weights = Float64Array.from(labels, (y) => (y === 2 ? 0 : 2));
    const { y, p } = expand(labels, probabilities, 3, weights);
    const expected = evaluate(y, p, ["0", "1", "2"]).metrics;
    for (const metric of ["roc_auc", "pr_auc", "f1_macro", "balanced_accuracy"] as const) {
      expect(weightedMetric(metric, labels, probabilities, 3, weights), metric).toBeCloseTo(
        expected[metric]!,
        12,
      );
    }
  });

  it("given all weights zero, then every metric is NaN", () => {
    const { labels, probabilities } = randomRows(20, 2, 1);
    for (const metric of GATE_METRICS) {
      expect(weightedMetric(metric, labels, probabilities, 2, new Float64Array(20)), metric).toBeNaN();
    }
  });

  it("given Float32 probabilities changed in place after a first call, then the cached order is not trusted", () => {
    const { labels, probabilities } = randomRows(200, 2, 8);
    const scores = Float32Array.from(probabilities);
    const ones = new Float64Array(200).fill(1);
    weightedMetric("roc_auc", labels, scores, 2, ones);
    for (let i = 0; i < 200; i++) scores[i * 2 + 1] = 1 - scores[i * 2 + 1]!;
    const expected = evaluate(labels, Float64Array.from(scores), ["0", "1"]).metrics;
    expect(weightedMetric("roc_auc", labels, scores, 2, ones)).toBeCloseTo(expected.roc_auc!, 14);
    expect(weightedMetric("pr_auc", labels, scores, 2, ones)).toBeCloseTo(expected.pr_auc!, 14);
  });
});

describe("weightedMetric rejects bad input with STATS_INVALID_INPUT", () => {
  const labels = Int32Array.from([0, 1, 1, 0]);
  const probabilities = twoColumns([0.2, 0.8, 0.6, 0.3]);
  const ones = new Float64Array(4).fill(1);
  const cases: [string, () => unknown, string][] = [
    [
      "an unknown metric",
      () => weightedMetric("auc" as GateMetric, labels, probabilities, 2, ones),
      "Weighted auc: unknown metric; use one of roc_auc, pr_auc",
    ],
    [
      "f1 on three classes",
      () => weightedMetric("f1", Int32Array.from([0, 1]), new Float64Array(6), 3, new Float64Array(2)),
      "Weighted f1: is defined for binary tasks only (k = 3); use f1_macro",
    ],
    [
      "one weight too few",
      () => weightedMetric("accuracy", labels, probabilities, 2, new Float64Array(3)),
      "expected 4 rows × 2 probabilities and 4 weights, got 8 probabilities and 3 weights",
    ],
    [
      "a label outside the classes",
      () => weightedMetric("accuracy", Int32Array.from([0, 1, 2, 0]), probabilities, 2, ones),
      "label 2 at row 2 is not a class index in 0..1",
    ],
    [
      "k = 1",
      () => weightedMetric("brier", labels, new Float64Array(4), 1, ones),
      "needs at least 2 classes",
    ],
  ];
  for (const [name, run, message] of cases) {
    it(`given ${name}, then it throws and says what to fix`, () => {
      const error = thrownBy(run);
      expect(error.code).toBe("STATS_INVALID_INPUT");
      expect(error.message).toContain(message);
    });
  }
});
