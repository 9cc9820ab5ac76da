// The three tree kinds behind the Model seam: files, quality, invariances, determinism, early stopping,
// importance, and every bad input refused by name.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluate } from "../../../../src/evaluation/metrics.js";
import { decisionTreeKind } from "../../../../src/models/kinds/decision-tree.js";
import { gbdtKind } from "../../../../src/models/kinds/gbdt.js";
import { randomForestKind } from "../../../../src/models/kinds/random-forest.js";
import type { ModelKind } from "../../../../src/models/model.js";
import { createRng } from "../../../../src/shared/random.js";
import { fitData, options, reorder, synthetic, trained, withNoiseColumns } from "./helpers.js";

const KINDS: [ModelKind, Record<string, unknown>][] = [
  [gbdtKind as unknown as ModelKind, { rounds: 60, minSamplesLeaf: 10 }],
  [randomForestKind as unknown as ModelKind, { trees: 30, minSamplesLeaf: 2 }],
  [decisionTreeKind as unknown as ModelKind, { maxDepth: 6, minSamplesLeaf: 5 }],
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "trees-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function majorityAccuracy(labels: Int32Array, classes: number): number {
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) counts[l]!++;
  return Math.max(...counts) / labels.length;
}

const binary = { train: synthetic(1500, 1), validation: synthetic(600, 2), test: synthetic(800, 3) };
const three = { train: synthetic(1500, 4, 3), validation: synthetic(600, 5, 3), test: synthetic(800, 6, 3) };

describe.each(KINDS)("%s", (kind, params) => {
  const name = kind.kind;
  for (const [label, task, classes] of [
    ["binary", binary, 2],
    ["3-class", three, 3],
  ] as const) {
    it(`${label}: beats the majority class clearly, and save → load predicts identically`, async () => {
      const data = fitData(task.train, task.validation, classes);
      const model = await trained(kind, params, data);
      const p = model.predict(task.test.x);
      expect(p.length).toBe(task.test.x.rows * classes);
      for (let r = 0; r < task.test.x.rows; r++) {
        let sum = 0;
        for (let k = 0; k < classes; k++) sum += p[r * classes + k]!;
        expect(sum).toBeCloseTo(1, 5);
      }
      const metrics = evaluate(task.test.y, p, data.classes).metrics;
      const baseline = majorityAccuracy(task.test.y, classes);
      expect(metrics.accuracy!).toBeGreaterThan(baseline + 0.1);
      expect(metrics.roc_auc!).toBeGreaterThan(0.8);

      const at = path.join(dir, `${name}-${label}`);
      await model.save(at);
      const loaded = await kind.load(at, kind.params.parse(params), {
        featureNames: data.train.featureNames,
        classes: data.classes,
      });
      expect(loaded.predict(task.test.x)).toEqual(p);
      expect(loaded.summary()).toEqual(model.summary());
      expect(loaded.importance?.()).toEqual(model.importance());
    });
  }

  it("same seed → the identical model; the train-set row order does not matter", async () => {
    const data = fitData(binary.train, binary.validation, 2);
    const a = await trained(kind, params, data);
    const b = await trained(kind, params, data);
    expect(b.predict(binary.test.x)).toEqual(a.predict(binary.test.x));
    const rng = createRng(99);
    const order = Int32Array.from({ length: binary.train.x.rows }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const shuffled = await trained(kind, params, fitData(reorder(binary.train, order), binary.validation, 2));
    const p = a.predict(binary.test.x);
    const q = shuffled.predict(binary.test.x);
    if (name === "random-forest") {
      // Bootstrap samples are drawn by row position, so the forest differs, but not in quality.
      const auc = (x: Float32Array) => evaluate(binary.test.y, x, ["c0", "c1"]).metrics.roc_auc!;
      expect(Math.abs(auc(p) - auc(q))).toBeLessThan(0.02);
    } else {
      // Same bins, same splits: only the order of floating-point sums differs.
      for (let i = 0; i < p.length; i++) expect(q[i]).toBeCloseTo(p[i]!, 6);
    }
  });
});

describe("gbdt", () => {
  const data = fitData(binary.train, binary.validation, 2);

  it("an irrelevant random column does not change the quality materially", async () => {
    const auc = (x: Float32Array, y: Int32Array) => evaluate(y, x, ["c0", "c1"]).metrics.roc_auc!;
    const base = await trained(gbdtKind, { rounds: 60 }, data);
    const noisy = fitData(withNoiseColumns(binary.train, 1, 5), withNoiseColumns(binary.validation, 1, 6), 2);
    const model = await trained(gbdtKind, { rounds: 60 }, noisy);
    const test = withNoiseColumns(binary.test, 1, 7);
    expect(
      Math.abs(auc(model.predict(test.x), test.y) - auc(base.predict(binary.test.x), binary.test.y)),
    ).toBeLessThan(0.015);
  });

  it("directional: raising the monotone signal feature raises p(positive)", async () => {
    const model = await trained(gbdtKind, { rounds: 60 }, data);
    const x = binary.test.x;
    const low = { ...x, values: Float32Array.from(x.values) };
    const high = { ...x, values: Float32Array.from(x.values) };
    for (let r = 0; r < x.rows; r++) {
      low.values[r * x.cols] = -0.8;
      high.values[r * x.cols] = 0.8;
    }
    const pl = model.predict(low);
    const ph = model.predict(high);
    let higher = 0;
    let diff = 0;
    for (let r = 0; r < x.rows; r++) {
      if (ph[r * 2 + 1]! >= pl[r * 2 + 1]!) higher++;
      diff += ph[r * 2 + 1]! - pl[r * 2 + 1]!;
    }
    expect(higher / x.rows).toBeGreaterThan(0.95);
    expect(diff / x.rows).toBeGreaterThan(0.3);
  });

  it("a different seed with subsampling gives a different model; the same seed the same", async () => {
    const params = { rounds: 30, subsample: 0.7, colsample: 0.7 };
    const a = await trained(gbdtKind, params, data, options({ seed: 1 }));
    const b = await trained(gbdtKind, params, data, options({ seed: 1 }));
    const c = await trained(gbdtKind, params, data, options({ seed: 2 }));
    expect(b.predict(binary.test.x)).toEqual(a.predict(binary.test.x));
    expect(c.predict(binary.test.x)).not.toEqual(a.predict(binary.test.x));
  });

  it("early stopping keeps the best round's trees, whose validation metric the model reproduces", async () => {
    // Noisy labels and a high learning rate: validation AUC peaks early.
    const noisy = synthetic(800, 21);
    const rng = createRng(3);
    for (let i = 0; i < noisy.y.length; i++) if (rng() < 0.3) noisy.y[i] = 1 - noisy.y[i]!;
    const d = fitData(noisy, binary.validation, 2);
    const onIteration: number[] = [];
    const model = await gbdtKind.create(
      gbdtKind.params.parse({ rounds: 200, learningRate: 0.5, minSamplesLeaf: 2, earlyStoppingRounds: 8 }),
      {
        featureNames: d.train.featureNames,
        classes: d.classes,
      },
    );
    const result = await model.fit(
      d,
      options({
        earlyStopping: { patience: 1000, minDelta: 0 },
        onIteration: (r) => onIteration.push(r.iteration),
      }),
    );
    expect(result.stoppedEarly).toBe(true);
    // Its own patience (8), not the run's (1000).
    expect(result.history.length).toBe(result.bestIteration + 8);
    expect(onIteration).toEqual(result.history.map((r) => r.iteration));
    expect(model.summary().rounds).toBe(result.bestIteration);
    expect(model.summary().trees).toBe(result.bestIteration);
    const auc = evaluate(d.validationLabels, model.predict(d.validation), d.classes).metrics.roc_auc;
    expect(auc).toBe(result.history[result.bestIteration - 1]!.valMetric);
    for (const r of result.history) expect(Number.isFinite(r.loss)).toBe(true);
  });

  it("gain importance ranks the signal features above the noise, named as the shape names them", async () => {
    const model = await trained(gbdtKind, { rounds: 60 }, data);
    const importance = model.importance();
    expect(importance.map((i) => i.feature).sort()).toEqual([...binary.train.x.featureNames].sort());
    expect(
      importance
        .slice(0, 4)
        .map((i) => i.feature)
        .sort(),
    ).toEqual(["f0", "f1", "f2", "f3"]);
    const total = model.ensemble.gain.reduce((a, b) => a + b, 0);
    expect(importance.reduce((a, i) => a + i.gain, 0)).toBeCloseTo(total, 6);
    expect(importance.reduce((a, i) => a + i.splits, 0)).toBe(
      Array.from(model.ensemble.feature).filter((f) => f >= 0).length,
    );
  });

  it("balanced class weights raise the minority class's probabilities", async () => {
    const rare = synthetic(1500, 31);
    for (let i = 0; i < rare.y.length; i++) if (rare.y[i] === 1 && i % 3 !== 0) rare.y[i] = 0;
    const d = fitData(rare, binary.validation, 2);
    const plain = await trained(gbdtKind, { rounds: 30 }, d);
    const weighted = await trained(gbdtKind, { rounds: 30 }, d, options({ classWeight: "balanced" }));
    const mean = (p: Float32Array) => {
      let s = 0;
      for (let r = 0; r < p.length / 2; r++) s += p[r * 2 + 1]!;
      return s / (p.length / 2);
    };
    expect(mean(weighted.predict(binary.test.x))).toBeGreaterThan(mean(plain.predict(binary.test.x)) + 0.1);
    // Balanced weights make the weighted prior even: base score 0.
    expect(weighted.ensemble.baseScores[0]).toBeCloseTo(0, 12);
  });
});

describe("random forest", () => {
  it("one iteration per tree; early stopping keeps the trees up to the best one", async () => {
    const d = fitData(binary.train, binary.validation, 2);
    const model = await randomForestKind.create(randomForestKind.params.parse({ trees: 40 }), {
      featureNames: d.train.featureNames,
      classes: d.classes,
    });
    const result = await model.fit(d, options({ earlyStopping: { patience: 5, minDelta: 0.0005 } }));
    expect(result.history.length).toBeLessThanOrEqual(40);
    expect(model.summary().trees).toBe(result.bestIteration);
    const auc = evaluate(d.validationLabels, model.predict(d.validation), d.classes).metrics.roc_auc;
    expect(auc).toBe(result.history[result.bestIteration - 1]!.valMetric);
  });

  it("the seed drives the bootstrap and the feature samples", async () => {
    const d = fitData(binary.train, binary.validation, 2);
    const a = await trained(randomForestKind, { trees: 5 }, d, options({ seed: 1 }));
    const b = await trained(randomForestKind, { trees: 5 }, d, options({ seed: 2 }));
    expect(b.predict(binary.test.x)).not.toEqual(a.predict(binary.test.x));
  });

  it("maxFeatures and criterion change the forest; entropy works for 3 classes", async () => {
    const d = fitData(three.train, three.validation, 3);
    const sqrt = await trained(randomForestKind, { trees: 10, maxFeatures: "sqrt" }, d);
    const all = await trained(randomForestKind, { trees: 10, maxFeatures: "all", criterion: "entropy" }, d);
    const half = await trained(randomForestKind, { trees: 10, maxFeatures: 0.5, bootstrap: false }, d);
    const p = sqrt.predict(three.test.x);
    expect(all.predict(three.test.x)).not.toEqual(p);
    expect(half.predict(three.test.x)).not.toEqual(p);
    for (const m of [sqrt, all, half])
      expect(evaluate(three.test.y, m.predict(three.test.x), d.classes).metrics.accuracy!).toBeGreaterThan(
        0.6,
      );
  });
});

describe("bad input", () => {
  const refused = (kind: ModelKind, params: Record<string, unknown>, field: string) => {
    const parsed = kind.params.safeParse(params);
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(parsed.error.issues.map((i) => i.path.join("."))).toContain(field);
  };

  it("impossible hyperparameters are refused by the schema with the field named", () => {
    refused(gbdtKind as unknown as ModelKind, { rounds: 0 }, "rounds");
    refused(gbdtKind as unknown as ModelKind, { maxLeaves: 1 }, "maxLeaves");
    refused(gbdtKind as unknown as ModelKind, { maxBins: 300 }, "maxBins");
    refused(gbdtKind as unknown as ModelKind, { maxBins: 1 }, "maxBins");
    refused(gbdtKind as unknown as ModelKind, { subsample: 0 }, "subsample");
    refused(gbdtKind as unknown as ModelKind, { colsample: 1.5 }, "colsample");
    refused(gbdtKind as unknown as ModelKind, { learningRate: 0 }, "learningRate");
    refused(gbdtKind as unknown as ModelKind, { earlyStoppingRounds: 0 }, "earlyStoppingRounds");
    refused(randomForestKind as unknown as ModelKind, { trees: 0 }, "trees");
    refused(randomForestKind as unknown as ModelKind, { maxFeatures: 1.5 }, "maxFeatures");
    refused(randomForestKind as unknown as ModelKind, { maxFeatures: "half" }, "maxFeatures");
    refused(randomForestKind as unknown as ModelKind, { minSamplesSplit: 1 }, "minSamplesSplit");
    refused(decisionTreeKind as unknown as ModelKind, { criterion: "mse" }, "criterion");
    refused(decisionTreeKind as unknown as ModelKind, { maxDepth: 0 }, "maxDepth");
    // A parameter of another kind.
    const other = decisionTreeKind.params.safeParse({ trees: 10 });
    expect(other.success).toBe(false);
    if (!other.success) expect(other.error.issues[0]!.code).toBe("unrecognized_keys");
    // Defaults for everything.
    expect(gbdtKind.params.parse({})).toMatchObject({
      rounds: 300,
      maxLeaves: 31,
      maxBins: 255,
      earlyStoppingRounds: null,
    });
    expect(randomForestKind.params.parse({})).toMatchObject({
      trees: 100,
      maxFeatures: "sqrt",
      criterion: "gini",
    });
    expect(decisionTreeKind.params.parse({})).toMatchObject({ maxFeatures: "all", maxDepth: null });
  });

  it("training data a tree cannot use is refused by name", async () => {
    const d = fitData(binary.train, binary.validation, 2);
    const model = await gbdtKind.create(gbdtKind.params.parse({ rounds: 2 }), {
      featureNames: d.train.featureNames,
      classes: d.classes,
    });
    const badLabels = { ...d, trainLabels: Int32Array.from(d.trainLabels, (l, i) => (i === 5 ? 2 : l)) };
    await expect(model.fit(badLabels, options())).rejects.toMatchObject({
      code: "TREE_TRAIN_DATA_INVALID",
      message: expect.stringMatching(/label 2 is not a class index 0\.\.1/),
    });
    await expect(model.fit({ ...d, classes: ["only"] }, options())).rejects.toMatchObject({
      code: "TREE_TRAIN_DATA_INVALID",
    });
    expect(() => model.predict(binary.test.x)).toThrow(
      expect.objectContaining({ code: "MODEL_NOT_TRAINED" }),
    );
  });

  it("a matrix with the wrong number of features is refused at predict", async () => {
    const d = fitData(binary.train, binary.validation, 2);
    const model = await trained(decisionTreeKind, { maxDepth: 2 }, d);
    const wide = withNoiseColumns(binary.test, 1, 1).x;
    expect(() => model.predict(wide)).toThrow(
      expect.objectContaining({
        code: "MODEL_INPUT_SHAPE",
        message: expect.stringMatching(/expects 6 features per row, got 7/),
      }),
    );
  });

  it("missing, damaged, newer or foreign tree files are refused by name", async () => {
    const d = fitData(binary.train, binary.validation, 2);
    const model = await trained(gbdtKind, { rounds: 3 }, d);
    const shape = { featureNames: d.train.featureNames, classes: d.classes };
    const params = gbdtKind.params.parse({});
    const at = path.join(dir, "damaged");
    await model.save(at);
    await expect(gbdtKind.load(path.join(dir, "nothing-here"), params, shape)).rejects.toMatchObject({
      code: "TREE_MODEL_INVALID",
    });
    await expect(randomForestKind.load(at, randomForestKind.params.parse({}), shape)).rejects.toMatchObject({
      code: "TREE_MODEL_INVALID",
      message: expect.stringMatching(/holds a gbdt model, not random-forest/),
    });
    await expect(
      gbdtKind.load(at, params, { featureNames: ["a"], classes: d.classes }),
    ).rejects.toMatchObject({ code: "TREE_MODEL_INVALID" });
    const headerPath = path.join(at, "trees.json");
    const header = JSON.parse(await readFile(headerPath, "utf8"));
    await writeFile(headerPath, JSON.stringify({ ...header, version: 99 }));
    await expect(gbdtKind.load(at, params, shape)).rejects.toMatchObject({
      code: "TREE_MODEL_VERSION",
      message: expect.stringMatching(/format version 99/),
    });
    await writeFile(headerPath, JSON.stringify(header));
    const bin = await readFile(path.join(at, "trees.bin"));
    await writeFile(path.join(at, "trees.bin"), bin.subarray(0, bin.length - 16));
    await expect(gbdtKind.load(at, params, shape)).rejects.toMatchObject({
      code: "TREE_MODEL_INVALID",
      message: expect.stringMatching(/truncated/),
    });
    // A child pointing backwards (a loop) is caught before any prediction.
    const corrupt = Buffer.from(bin);
    const left = header.sections.find((s: { name: string }) => s.name === "left");
    corrupt.writeInt32LE(0, left.offset);
    await writeFile(path.join(at, "trees.bin"), corrupt);
    await expect(gbdtKind.load(at, params, shape)).rejects.toMatchObject({
      code: "TREE_MODEL_INVALID",
      message: expect.stringMatching(/adjacent children after it/),
    });
  });
});
