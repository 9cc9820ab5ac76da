import { describe, expect, it } from "vitest";
import { evaluate } from "../../../src/evaluation/metrics.js";
import { IterationTracker, selectionMetric } from "../../../src/models/iterations.js";
import { createRng } from "../../../src/shared/random.js";
import { syntheticFitData } from "../../helpers/synthetic.js";

function probabilities(n: number, k: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < k; c++) sum += out[i * k + c] = rng();
    for (let c = 0; c < k; c++) out[i * k + c]! /= sum;
  }
  return out;
}

describe("the per-iteration selection metric", () => {
  it.each([
    ["roc_auc", 2],
    ["pr_auc", 2],
    ["f1_macro", 3],
    ["roc_auc", 3],
    ["log_loss", 2],
  ])("%s with %i classes equals evaluate()'s value exactly", (metric, k) => {
    const data = syntheticFitData(k, 600);
    const p = probabilities(data.validation.rows, k, 9);
    expect(selectionMetric(data.validationLabels, p, data.classes, metric)).toBe(
      evaluate(data.validationLabels, p, data.classes).metrics[metric],
    );
  });

  it("early stopping: stops after `patience` iterations without improvement, keeps the best, honours shouldStop", () => {
    const data = syntheticFitData(2, 300);
    const seen: number[] = [];
    const tracker = new IterationTracker(
      data,
      {
        seed: 1,
        selectionMetric: "roc_auc",
        classWeight: "none",
        earlyStopping: { patience: 2, minDelta: 0 },
        onIteration: (r) => seen.push(r.iteration),
      },
      10,
    );
    const good = new Float32Array(data.validation.rows * 2);
    data.validationLabels.forEach((l, i) => {
      good[i * 2 + 1] = l === 1 ? 0.9 : 0.1;
      good[i * 2] = 1 - good[i * 2 + 1]!;
    });
    const bad = probabilities(data.validation.rows, 2, 3);
    const started = performance.now();
    expect(tracker.step(1, { loss: 1, validationProbabilities: bad, started })).toEqual({
      improved: true,
      stop: false,
    });
    expect(tracker.step(2, { loss: 1, validationProbabilities: good, started })).toEqual({
      improved: true,
      stop: false,
    });
    expect(tracker.step(3, { loss: 1, validationProbabilities: bad, started })).toEqual({
      improved: false,
      stop: false,
    });
    expect(tracker.step(4, { loss: 1, validationProbabilities: bad, started })).toEqual({
      improved: false,
      stop: true,
    });
    expect(tracker.result()).toMatchObject({ bestIteration: 2, stoppedEarly: true, pruned: false });
    expect(seen).toEqual([1, 2, 3, 4]);
    const pruned = new IterationTracker(
      data,
      {
        seed: 1,
        selectionMetric: "roc_auc",
        classWeight: "none",
        earlyStopping: { patience: 5, minDelta: 0 },
        shouldStop: (r) => r.iteration >= 2,
      },
      10,
    );
    pruned.step(1, { loss: 1, validationProbabilities: bad, started });
    expect(pruned.step(2, { loss: 1, validationProbabilities: good, started }).stop).toBe(true);
    expect(pruned.result()).toMatchObject({ bestIteration: 2, stoppedEarly: false, pruned: true });
  });
});
