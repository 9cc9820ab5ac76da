// The kinds' cost estimates, which order the trial pool's waiting trials (longest first). No timing: the
// estimates are pure functions of the hyperparameters and the data's shape.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { planCandidates } from "../../../src/models/candidates.js";
import { KIND_NAMES, modelKind } from "../../../src/models/kinds/index.js";
import type { CostFacts } from "../../../src/models/model.js";
import { trialCost } from "../../../src/models/search.js";
import { syntheticFitData } from "../../helpers/synthetic.js";

const root = path.resolve(fileURLToPath(import.meta.url), "../../../..");

/** credit-default's training split as `npm run train` prepares it (18,000 × 88, validation 4,500). */
const credit: CostFacts = { rows: 18_000, cols: 88, classes: 2, validationRows: 4_500, patience: 6 };

/**
 * Seconds each credit-default trial took with one worker on a quiet 2-core machine (2026-12-01, the wasm kernels of
 * src/models/wasm-kernels.ts; fitTrial on the prepared splits, median of 2).
 */
const measured: Record<string, number> = {
  "logistic-1": 1.03,
  "logistic-2": 0.81,
  "mlp-1": 3.5,
  "mlp-2": 4.4,
  "gbdt-1": 0.55,
  "gbdt-2": 0.67,
  "random-forest-1": 1.43,
};

const cost = (kind: string, params: Record<string, unknown>, facts: CostFacts = credit) => {
  const k = modelKind(kind);
  return k.estimateCost(k.params.parse(params), facts);
};

describe("cost estimates", () => {
  it("order credit-default's trials as they took: mlp-2, mlp-1, the forest, the logistic ones, gbdt-2, gbdt-1", async () => {
    const config = await loadTrainConfig(path.join(root, "configs/credit-default.yaml"));
    const trials = planCandidates(config.training.candidates, config.seed).flatMap((p) => p.trials);
    const facts = { ...credit, patience: config.training.earlyStopping.patience };
    const estimates = trials.map((t) => ({ id: t.id, ms: cost(t.kind, t.params, facts) }));
    const order = [...estimates].sort((a, b) => b.ms - a.ms).map((e) => e.id);
    expect(order).toEqual([
      "mlp-2",
      "mlp-1",
      "random-forest-1",
      "logistic-1",
      "logistic-2",
      "gbdt-2",
      "gbdt-1",
    ]);
    // Calibrated in milliseconds: each estimate within a factor of 1.5 of the recorded seconds.
    for (const { id, ms } of estimates) {
      expect(ms / 1000 / measured[id]!, id).toBeGreaterThan(1 / 1.5);
      expect(ms / 1000 / measured[id]!, id).toBeLessThan(1.5);
    }
  });

  it("complaints' text trials: the two longest (text-gru, text-cnn) first, every estimate within 2.5× of its time", async () => {
    // The mirror's complaints sample as `npm run train` prepares it; seconds of each trial alone on a quiet
    // 2-core machine (2026-12-01, `npm run bench:text`, the wasm kernels of src/models/wasm-kernels.ts).
    const complaints: CostFacts = {
      rows: 1_187,
      cols: 0,
      classes: 3,
      validationRows: 298,
      patience: 5,
      textColumns: 1,
      avgTextLength: 943,
    };
    const took: Record<string, number> = {
      "tfidf-linear-1": 0.82,
      "tfidf-linear-2": 0.3,
      "tfidf-linear-3": 1.02,
      "tfidf-gbdt-1": 5.6,
      "text-embedding-bag-1": 3.3,
      "text-cnn-1": 14.2,
      "text-gru-1": 17.3,
    };
    const config = await loadTrainConfig(path.join(root, "configs/complaints.yaml"));
    const trials = planCandidates(config.training.candidates, config.seed).flatMap((p) => p.trials);
    const estimates = trials.map((t) => ({ id: t.id, ms: cost(t.kind, t.params, complaints) }));
    expect(estimates.map((e) => e.id).sort()).toEqual(Object.keys(took).sort());
    const order = [...estimates].sort((a, b) => b.ms - a.ms).map((e) => e.id);
    expect(order.slice(0, 2)).toEqual(["text-gru-1", "text-cnn-1"]);
    for (const { id, ms } of estimates) {
      expect(ms / 1000 / took[id]!, id).toBeGreaterThan(1 / 2.5);
      expect(ms / 1000 / took[id]!, id).toBeLessThan(2.5);
    }
  });

  it("every kind: a positive, finite estimate at its defaults that grows with the training rows", () => {
    // Text kinds on complaints-like data (text only: their cost follows the texts' length, not dense columns).
    const texts: CostFacts = {
      rows: 1_400,
      cols: 0,
      classes: 3,
      validationRows: 300,
      patience: 5,
      textColumns: 1,
      avgTextLength: 1_000,
    };
    for (const kind of KIND_NAMES) {
      const text = modelKind(kind).input === "text";
      const facts = text ? texts : credit;
      const base = cost(kind, {}, facts);
      expect(Number.isFinite(base) && base > 0, kind).toBe(true);
      expect(cost(kind, {}, { ...facts, rows: 2 * facts.rows }), kind).toBeGreaterThan(base);
      if (text)
        expect(cost(kind, {}, { ...facts, avgTextLength: 2 * texts.avgTextLength! }), kind).toBeGreaterThan(
          base,
        );
      else expect(cost(kind, {}, { ...facts, cols: 2 * facts.cols }), kind).toBeGreaterThan(base);
    }
  });

  it("grows with each kind's size parameters", () => {
    expect(cost("logistic", { epochs: 8 })).toBeCloseTo(2 * cost("logistic", { epochs: 4 }), 6);
    expect(cost("logistic", { batchSize: 64 })).toBeGreaterThan(cost("logistic", { batchSize: 512 }));
    expect(cost("mlp", { hiddenUnits: [128, 64] })).toBeGreaterThan(cost("mlp", { hiddenUnits: [64, 32] }));
    expect(cost("mlp", { hiddenUnits: [64, 64, 64] })).toBeGreaterThan(
      cost("mlp", { hiddenUnits: [64, 64] }),
    );
    expect(cost("gbdt", { maxLeaves: 63 })).toBeGreaterThan(cost("gbdt", { maxLeaves: 15 }));
    expect(cost("gbdt", { learningRate: 0.02 })).toBeGreaterThan(cost("gbdt", { learningRate: 0.1 }));
    expect(cost("gbdt", { subsample: 0.5 })).toBeLessThan(cost("gbdt", {}));
    // Softmax boosting grows one tree per class and round.
    expect(cost("gbdt", {}, { ...credit, classes: 5 })).toBeGreaterThan(4 * cost("gbdt", {}));
    expect(cost("random-forest", { maxFeatures: "all" })).toBeGreaterThan(cost("random-forest", {}));
    expect(cost("random-forest", { maxDepth: 4 })).toBeLessThan(cost("random-forest", {}));
    expect(cost("decision-tree", { maxLeaves: 8 })).toBeLessThan(cost("decision-tree", {}));
    expect(cost("knn", { maxRows: 5000 })).toBeLessThan(cost("knn", {}));
    expect(cost("linear-svm", {}, { ...credit, classes: 4 })).toBeGreaterThan(cost("linear-svm", {}));
  });

  it("early-stopping kinds count the iterations they typically run: more planned rounds or trees cost no more", () => {
    // gbdt at learning rate 0.1 levels off after ~40 rounds, then the patience: 60 rounds of 400 or 4,000.
    expect(cost("gbdt", { rounds: 4000, earlyStoppingRounds: 20 })).toBe(
      cost("gbdt", { rounds: 400, earlyStoppingRounds: 20 }),
    );
    expect(cost("gbdt", { rounds: 30 })).toBeLessThan(cost("gbdt", { rounds: 400 }));
    expect(cost("gbdt", { earlyStoppingRounds: 50 })).toBeGreaterThan(
      cost("gbdt", { earlyStoppingRounds: 5 }),
    );
    expect(cost("random-forest", { trees: 500 })).toBe(cost("random-forest", { trees: 200 }));
    // Networks too (credit-default: 14–17 of 40 epochs with patience 6).
    expect(cost("mlp", { epochs: 400 })).toBe(cost("mlp", { epochs: 40 }));
    expect(cost("mlp", { epochs: 5 })).toBeLessThan(cost("mlp", { epochs: 40 }));
    expect(cost("random-forest", { trees: 10 })).toBeLessThan(cost("random-forest", { trees: 200 }));
    // The run's patience (forests and networks have no patience of their own).
    expect(cost("random-forest", {}, { ...credit, patience: 30 })).toBeGreaterThan(cost("random-forest", {}));
    expect(cost("logistic", {}, { ...credit, patience: 30 })).toBeGreaterThan(cost("logistic", {}));
  });

  it("trialCost reads the shape from the data: the kind's estimate on its rows, columns, classes, validation rows", () => {
    const data = syntheticFitData(3, 600);
    const [trial] = planCandidates([{ kind: "gbdt", params: { rounds: 50 } }], 1)[0]!.trials;
    expect(trialCost(trial!, data, 7)).toBe(
      cost("gbdt", { rounds: 50 }, { rows: 600, cols: 6, classes: 3, validationRows: 200, patience: 7 }),
    );
  });
});
