import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { calibrationCurve, rocCurve } from "../../../src/evaluation/binary.js";
import { evaluate } from "../../../src/evaluation/metrics.js";
import { chooseThreshold } from "../../../src/evaluation/threshold.js";

const fixtures = path.join(__dirname, "..", "..", "fixtures", "metrics");
const load = <T>(name: string): T => JSON.parse(readFileSync(path.join(fixtures, name), "utf8")) as T;

interface BinaryFixture {
  y_true: number[];
  scores: number[];
  threshold: number;
  expected: Record<string, number>;
  confusion: number[][];
  calibration: { observed: number[]; predicted: number[] };
}
interface MulticlassFixture {
  y_true: number[];
  probabilities: number[][];
  expected: Record<string, number>;
  confusion: number[][];
}

describe("metrics agree with scikit-learn on stored fixtures", () => {
  it("binary: every metric, the confusion matrix and the calibration curve", () => {
    const f = load<BinaryFixture>("binary.json");
    const probabilities = Float64Array.from(f.scores.flatMap((s) => [1 - s, s]));
    const result = evaluate(f.y_true, probabilities, ["0", "1"], f.threshold);
    for (const [name, value] of Object.entries(f.expected)) {
      expect(result.metrics[name], `${name} vs sklearn`).toBeCloseTo(value, 10);
    }
    expect(result.confusion).toEqual(f.confusion);
    const calibration = calibrationCurve(f.y_true, f.scores, 10);
    expect(calibration.observed.length).toBe(f.calibration.observed.length);
    calibration.observed.forEach((v, i) => {
      expect(v, `observed[${i}]`).toBeCloseTo(f.calibration.observed[i]!, 12);
    });
    calibration.predicted.forEach((v, i) => {
      expect(v, `predicted[${i}]`).toBeCloseTo(f.calibration.predicted[i]!, 12);
    });
  });

  it("multiclass: accuracy, balanced accuracy, macro/weighted P/R/F1, OvR ROC AUC, PR AUC, log loss, Brier", () => {
    const f = load<MulticlassFixture>("multiclass.json");
    const probabilities = Float64Array.from(f.probabilities.flat());
    const result = evaluate(f.y_true, probabilities, ["a", "b", "c", "d"]);
    for (const [name, value] of Object.entries(f.expected)) {
      expect(result.metrics[name], `${name} vs sklearn`).toBeCloseTo(value, 10);
    }
    expect(result.confusion).toEqual(f.confusion);
  });
});

describe("curves and thresholds", () => {
  it("the ROC curve runs from (0,0) to (1,1)", () => {
    const curve = rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(curve.fpr).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(curve.tpr).toEqual([0, 0.5, 0.5, 1, 1]);
  });

  it("max-F1, cost and fixed thresholds", () => {
    const y = [0, 0, 0, 1, 1, 0, 1];
    const s = [0.1, 0.2, 0.3, 0.35, 0.6, 0.65, 0.9];
    expect(chooseThreshold(y, s, { strategy: "max_f1" })).toBe(0.35);
    expect(chooseThreshold(y, s, { strategy: "cost", falsePositiveCost: 10, falseNegativeCost: 1 })).toBe(
      0.9,
    );
    expect(chooseThreshold(y, s, { strategy: "fixed", value: 0.42 })).toBe(0.42);
  });
});
