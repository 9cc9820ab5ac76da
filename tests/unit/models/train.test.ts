import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { evaluate } from "../../../src/evaluation/metrics.js";
import type { FeatureMatrix } from "../../../src/features/preprocessor.js";
import { initTf } from "../../../src/models/backend.js";
import { expandCandidates } from "../../../src/models/candidates.js";
import { predictProbabilities } from "../../../src/models/classifier.js";
import { trainNetwork } from "../../../src/models/train.js";
import { loadModelPackage, writeModelPackage } from "../../../src/registry/model-package.js";
import { createRng } from "../../../src/shared/random.js";

function synthetic(n: number, seed: number, classes = 2): { x: FeatureMatrix; y: Int32Array } {
  const rng = createRng(seed);
  const cols = 6;
  const values = new Float32Array(n * cols);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const v = rng() * 2 - 1;
      values[i * cols + j] = v;
      s += (j < 3 ? 1 : -0.3) * v;
    }
    const noisy = s + (rng() - 0.5) * 0.6;
    y[i] =
      classes === 2
        ? noisy > 0
          ? 1
          : 0
        : Math.min(classes - 1, Math.max(0, Math.floor((noisy + 2) / (4 / classes))));
  }
  return { x: { rows: n, cols, values, featureNames: Array.from({ length: cols }, (_, j) => `f${j}`) }, y };
}

const trials = expandCandidates(
  [{ kind: "mlp", params: { hiddenUnits: [16, 8], dropout: 0.2, epochs: 8, batchSize: 64 } }],
  1,
);
const train = synthetic(1500, 1);
const validation = synthetic(500, 2);
const options = {
  seed: 11,
  selectionMetric: "roc_auc",
  classWeight: "none" as const,
  earlyStopping: { patience: 3, minDelta: 0 },
};
const input = {
  train: train.x,
  trainLabels: train.y,
  validation: validation.x,
  validationLabels: validation.y,
  classes: ["0", "1"],
};

describe("tfjs models", () => {
  // Every test needs a backend, whichever runs first (and with -t filters).
  beforeAll(async () => {
    await initTf();
  });

  it("records the backend: wasm with SIMD here (tfjs-node cannot install), never silently cpu", async () => {
    const info = await initTf();
    expect(["tensorflow", "wasm"]).toContain(info.backend);
  });

  it("training twice with the same seed on the same backend gives identical predictions (dropout included)", async () => {
    const a = await trainNetwork(trials[0]!, input, options);
    const b = await trainNetwork(trials[0]!, input, options);
    const pa = predictProbabilities(a.model, validation.x, 2);
    const pb = predictProbabilities(b.model, validation.x, 2);
    expect(pb).toEqual(pa);
    expect(a.history).toEqual(b.history.map((h, i) => ({ ...h, seconds: a.history[i]!.seconds })));
    const c = await trainNetwork(trials[0]!, input, { ...options, seed: 12 });
    expect(predictProbabilities(c.model, validation.x, 2)).not.toEqual(pa);
    const quality = evaluate(validation.y, pa, ["0", "1"]).metrics;
    expect(quality.roc_auc, "learns a separable signal").toBeGreaterThan(0.9);
  });

  it("early stopping restores the best epoch's weights", async () => {
    const trained = await trainNetwork(trials[0]!, input, options);
    const best = Math.max(...trained.history.map((h) => h.valMetric));
    const final = evaluate(validation.y, predictProbabilities(trained.model, validation.x, 2), ["0", "1"])
      .metrics.roc_auc;
    expect(final).toBeCloseTo(best, 6);
  });

  it("trains a multiclass softmax model", async () => {
    const t3 = synthetic(1500, 3, 3);
    const v3 = synthetic(400, 4, 3);
    const trained = await trainNetwork(
      trials[0]!,
      { train: t3.x, trainLabels: t3.y, validation: v3.x, validationLabels: v3.y, classes: ["a", "b", "c"] },
      { ...options, selectionMetric: "f1_macro", classWeight: "balanced" },
    );
    const p = predictProbabilities(trained.model, v3.x, 3);
    expect(p.length).toBe(400 * 3);
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 5);
    expect(evaluate(v3.y, p, ["a", "b", "c"]).metrics.accuracy, "well above chance (1/3)").toBeGreaterThan(
      0.45,
    );
  });

  it("a model package round trip (save, load) gives identical predictions", async () => {
    const trained = await trainNetwork(trials[0]!, input, options);
    const dir = await mkdtemp(path.join(os.tmpdir(), "package-"));
    try {
      await writeModelPackage(dir, {
        network: trained.model,
        preprocessor: {
          version: 1,
          engineered: [],
          numeric: [],
          categorical: [],
          clip: 5,
          featureNames: train.x.featureNames,
        },
        example: [{ f0: 1 }],
        meta: {
          formatVersion: 1,
          name: "m",
          kind: "mlp",
          params: {},
          target: "y",
          classes: ["0", "1"],
          positiveClass: "1",
          threshold: 0.4,
          inputs: [{ name: "f0", type: "double", required: true }],
          featureNames: train.x.featureNames,
          metrics: {},
          backend: "wasm",
          dataFingerprint: "x",
          trainedAt: new Date(0).toISOString(),
        },
      });
      const loaded = await loadModelPackage(dir);
      expect(loaded.meta.threshold).toBe(0.4);
      expect(predictProbabilities(loaded.network, validation.x, 2)).toEqual(
        predictProbabilities(trained.model, validation.x, 2),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
