import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evaluate } from "../../../../src/evaluation/metrics.js";
import type { FeatureMatrix } from "../../../../src/features/preprocessor.js";
import { classWeights } from "../../../../src/models/iterations.js";
import { linearSvmKind } from "../../../../src/models/kinds/linear-svm.js";
import { DualCoordinateDescent, decision, oneVsRest } from "../../../../src/models/linear/dcd.js";
import { fitPlatt, plattProbability } from "../../../../src/models/linear/platt.js";
import type { LinearSvmModel } from "../../../../src/models/linear/svm-model.js";
import type { FitData, FitOptions, ModelShape } from "../../../../src/models/model.js";
import { createRng } from "../../../../src/shared/random.js";
import { majorityAccuracy, synthetic, syntheticFitData } from "../../../helpers/synthetic.js";

const options: FitOptions = {
  seed: 11,
  selectionMetric: "accuracy",
  classWeight: "none",
  earlyStopping: { patience: 5, minDelta: 0 },
};
const shape = (d: FitData): ModelShape => ({ featureNames: d.train.featureNames, classes: d.classes });
const params = linearSvmKind.params.parse({});

interface SvmCase {
  name: string;
  C: number;
  classWeight: "balanced" | "none";
  classes: number;
  train: number[][];
  trainLabels: number[];
  test: number[][];
  coef: number[][];
  intercept: number[];
  decision: number[][] | number[];
  platt?: { decisions: number[]; labels: number[]; a: number; b: number; sklearnA: number; sklearnB: number };
}

async function cases(): Promise<SvmCase[]> {
  const f = JSON.parse(
    await readFile(path.resolve("tests/fixtures/kinds/linear-svm-sklearn.json"), "utf8"),
  ) as {
    cases: SvmCase[];
  };
  return f.cases;
}

describe("linear-svm kind", () => {
  // Both solve min ½‖w̃‖² + Σ Cᵢ hinge with w̃ = (w, b) (the bias regularised as a constant feature 1), whose
  // optimum w̃ is unique: run to tol 1e-9 here and 1e-10 there, the weights agree to ~1e-7; compared at 1e-5.
  it("the dual coordinate descent reaches scikit-learn LinearSVC's optimum (binary, balanced binary, 3-class OvR)", async () => {
    for (const c of await cases()) {
      const n = c.train.length;
      const cols = c.train[0]!.length;
      const x = Float32Array.from(c.train.flat());
      expect(Array.from(x), "float32 values, exactly").toEqual(c.train.flat());
      const labels = Int32Array.from(c.trainLabels);
      const weights = classWeights(labels, c.classes, c.classWeight);
      const problems = oneVsRest(x, n, cols, labels, c.classes, c.C, weights);
      expect(problems).toHaveLength(c.coef.length);
      const test = Float32Array.from(c.test.flat());
      problems.forEach((p, k) => {
        const solver = new DualCoordinateDescent(p, 1e-9, createRng(k + 1));
        while (!solver.converged && solver.epochs < 200_000) solver.epoch();
        expect(solver.converged, `${c.name}: converged`).toBe(true);
        c.coef[k]!.forEach((w, j) => {
          expect(Math.abs(solver.w[j]! - w), `${c.name} w${k}[${j}]`).toBeLessThan(1e-5);
        });
        expect(Math.abs(solver.w[cols]! - c.intercept[k]!), `${c.name} bias ${k}`).toBeLessThan(1e-5);
        for (let r = 0; r < c.test.length; r++) {
          const expected =
            c.coef.length === 1 ? (c.decision as number[])[r]! : (c.decision as number[][])[r]![k]!;
          expect(Math.abs(decision(solver.w, test, r, cols) - expected)).toBeLessThan(
            1e-5 * (1 + Math.abs(expected)),
          );
        }
      });
    }
  });

  it("Platt scaling matches Lin, Lin & Weng's algorithm (and scikit-learn's sigmoid fit) on LinearSVC's decision values", async () => {
    for (const c of (await cases()).filter((x) => x.platt !== undefined)) {
      const p = c.platt!;
      const fitted = fitPlatt(Float64Array.from(p.decisions), Uint8Array.from(p.labels));
      expect(Math.abs(fitted.a - p.a), c.name).toBeLessThan(1e-9);
      expect(Math.abs(fitted.b - p.b), c.name).toBeLessThan(1e-9);
      expect(Math.abs(fitted.a - p.sklearnA), c.name).toBeLessThan(1e-6);
      expect(Math.abs(fitted.b - p.sklearnB), c.name).toBeLessThan(1e-6);
      // Unit weights are the unweighted algorithm.
      expect(
        fitPlatt(
          Float64Array.from(p.decisions),
          Uint8Array.from(p.labels),
          new Float64Array(p.labels.length).fill(1),
        ),
      ).toEqual(fitted);
      // Sane: increasing in the decision value, strictly inside (0, 1) over the data's range.
      expect(fitted.a).toBeLessThan(0);
      let previous = 0;
      for (let f = -6; f <= 6; f += 0.25) {
        const q = plattProbability(f, fitted);
        expect(q).toBeGreaterThan(previous);
        expect(q).toBeLessThan(1);
        previous = q;
      }
      expect(plattProbability(1e6, fitted)).toBe(1);
      expect(plattProbability(-1e6, fitted)).toBe(0);
    }
    expect(fitPlatt(new Float64Array(0), new Uint8Array(0))).toEqual({ a: 0, b: 0 });
  });

  it("beats the majority-class baseline clearly (binary and 3-class); probabilities sum to 1", async () => {
    for (const classes of [2, 3]) {
      const data = syntheticFitData(classes);
      const model = await linearSvmKind.create(params, shape(data));
      const result = await model.fit(data, options);
      const p = model.predict(data.validation);
      const accuracy = evaluate(data.validationLabels, p, data.classes).metrics.accuracy!;
      expect(accuracy - majorityAccuracy(data.validationLabels), `${classes} classes`).toBeGreaterThan(0.25);
      for (let r = 0; r < data.validation.rows; r++) {
        let sum = 0;
        for (let c = 0; c < classes; c++) sum += p[r * classes + c]!;
        expect(sum).toBeCloseTo(1, 6);
      }
      // The model keeps the best epoch: its predictions score what the history says.
      const best = result.history.find((h) => h.iteration === result.bestIteration)!;
      expect(best.valMetric).toBe(Math.max(...result.history.map((h) => h.valMetric)));
      expect(accuracy).toBe(best.valMetric);
      expect(model.summary()).toMatchObject({
        epochs: result.bestIteration,
        fitRows: 1200,
        calibrationRows: 300,
      });
      model.dispose();
    }
  });

  it("Platt probabilities are monotone in the decision value, fitted on held-out rows", async () => {
    const data = syntheticFitData(2);
    const model = (await linearSvmKind.create(params, shape(data))) as LinearSvmModel;
    await model.fit(data, options);
    const f = model.decisionFunction(data.validation);
    const p = model.predict(data.validation);
    const order = Array.from(f.keys()).sort((a, b) => f[a]! - f[b]!);
    for (let i = 1; i < order.length; i++)
      expect(p[order[i]! * 2 + 1]!).toBeGreaterThanOrEqual(p[order[i - 1]! * 2 + 1]!);
    expect(model.calibration()[0]!.a).toBeLessThan(0);
    for (const v of p) expect(v > 0 && v < 1).toBe(true);
    model.dispose();
  });

  it("one iteration is one epoch; same seed → identical model and history, another seed differs", async () => {
    const data = syntheticFitData(3);
    const p5 = linearSvmKind.params.parse({ maxIter: 5, tol: 1e-12 });
    const patient = { ...options, earlyStopping: { patience: 100, minDelta: 0 } };
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => linearSvmKind.create(p5, shape(data))));
    const ra = await a!.fit(data, patient);
    const rb = await b!.fit(data, patient);
    await c!.fit(data, { ...patient, seed: 12 });
    expect(ra.history.map((h) => h.iteration)).toEqual([1, 2, 3, 4, 5]);
    expect(rb.history).toEqual(ra.history.map((h, i) => ({ ...h, seconds: rb.history[i]!.seconds })));
    const pa = a!.predict(data.validation);
    expect(b!.predict(data.validation)).toEqual(pa);
    expect(c!.predict(data.validation)).not.toEqual(pa);
    for (const m of [a, b, c]) m!.dispose();
  });

  it("balanced class weights move probability and recall towards a rare class", async () => {
    const rng = createRng(3);
    const make = (n: number) => {
      const { x } = synthetic(n, Math.floor(rng() * 1e6), 2);
      const y = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < 6; j++) s += (j < 3 ? 1 : -0.3) * x.values[i * 6 + j]!;
        y[i] = s + (rng() - 0.5) * 1.2 > 1.1 ? 1 : 0;
      }
      return { x, y };
    };
    const train = make(2000);
    const validation = make(800);
    const data: FitData = {
      train: train.x,
      trainLabels: train.y,
      validation: validation.x,
      validationLabels: validation.y,
      classes: ["0", "1"],
    };
    const share = train.y.reduce((s, v) => s + v, 0) / 2000;
    expect(share).toBeLessThan(0.25);
    const mean1 = (p: Float32Array) =>
      p.filter((_, i) => i % 2 === 1).reduce((s, v) => s + v, 0) / (p.length / 2);
    const recall = (p: Float32Array) => evaluate(validation.y, p, data.classes).metrics.recall!;
    const plain = await linearSvmKind.create(params, shape(data));
    const balanced = await linearSvmKind.create(params, shape(data));
    await plain.fit(data, options);
    await balanced.fit(data, { ...options, classWeight: "balanced" });
    const pp = plain.predict(validation.x);
    const pb = balanced.predict(validation.x);
    expect(mean1(pb)).toBeGreaterThan(mean1(pp) + 0.04);
    expect(recall(pb)).toBeGreaterThan(recall(pp));
  });

  for (const classes of [2, 3])
    it(`save → load gives identical probabilities (${classes} classes)`, async () => {
      const data = syntheticFitData(classes, 900);
      const p = linearSvmKind.params.parse({ C: 0.3, calibrationFraction: 0.25 });
      const model = await linearSvmKind.create(p, shape(data));
      const dir = await mkdtemp(path.join(os.tmpdir(), "svm-kind-"));
      try {
        await model.fit(data, { ...options, classWeight: "balanced" });
        await model.save(dir);
        const loaded = await linearSvmKind.load(dir, p, shape(data));
        expect(loaded.predict(data.validation)).toEqual(model.predict(data.validation));
        expect(loaded.summary()).toEqual(model.summary());
        const summary = model.summary();
        expect(summary).toMatchObject({ classifiers: classes === 2 ? 1 : 3 });
        // A quarter of the rows, rounded per class.
        expect(Math.abs((summary.calibrationRows as number) - 225)).toBeLessThanOrEqual(classes);
        expect((summary.calibrationRows as number) + (summary.fitRows as number)).toBe(900);
        loaded.dispose();
      } finally {
        model.dispose();
        await rm(dir, { recursive: true, force: true });
      }
    });

  it("treats a missing value as 0, the preprocessor's centre", async () => {
    const data = syntheticFitData(2, 600);
    const model = await linearSvmKind.create(params, shape(data));
    await model.fit(data, options);
    const row = Float32Array.from(data.validation.values.subarray(0, 6));
    const one = (v: Float32Array): FeatureMatrix => ({
      rows: 1,
      cols: 6,
      values: v,
      featureNames: data.train.featureNames,
    });
    const withNaN = Float32Array.from(row);
    withNaN[2] = Number.NaN;
    const atZero = Float32Array.from(row);
    atZero[2] = 0;
    expect(model.predict(one(withNaN))).toEqual(model.predict(one(atZero)));
    expect(Number.isNaN(model.predict(one(withNaN))[0])).toBe(false);
    model.dispose();
  });

  describe("bad input", () => {
    it("C ≤ 0, a non-integer maxIter and an impossible calibrationFraction are refused by the schema, by name", () => {
      for (const [input, field] of [
        [{ C: 0 }, "C"],
        [{ C: -1 }, "C"],
        [{ maxIter: 0 }, "maxIter"],
        [{ maxIter: 2.5 }, "maxIter"],
        [{ tol: 0 }, "tol"],
        [{ calibrationFraction: 0 }, "calibrationFraction"],
        [{ calibrationFraction: 0.6 }, "calibrationFraction"],
      ] as const) {
        const parsed = linearSvmKind.params.safeParse(input);
        expect(parsed.success, JSON.stringify(input)).toBe(false);
        expect(parsed.error?.issues[0]?.path).toEqual([field]);
      }
      expect(linearSvmKind.params.safeParse({ k: 3 }).error?.issues[0]?.code).toBe("unrecognized_keys");
    });

    it("checkData refuses a calibration share too small for the classes, naming the field", () => {
      expect(linearSvmKind.checkData!(params, { rows: 10, cols: 6, classes: 3 })).toEqual([
        [
          "calibrationFraction",
          "calibrationFraction 0.2 of 10 training rows holds out 2, fewer than the 3 classes; raise it or add rows.",
        ],
      ]);
      expect(linearSvmKind.checkData!(params, { rows: 100, cols: 6, classes: 3 })).toEqual([]);
    });

    it("named errors: untrained, wrong width, bad labels, no row to hold out, a newer or mismatched saved model", async () => {
      const data = syntheticFitData(2, 300);
      const model = await linearSvmKind.create(params, shape(data));
      expect(() => model.predict(data.validation)).toThrow(
        expect.objectContaining({ code: "MODEL_NOT_TRAINED" }) as Error,
      );
      await expect(
        model.fit({ ...data, trainLabels: data.trainLabels.map(() => -1) }, options),
      ).rejects.toMatchObject({
        code: "SVM_TRAIN_DATA_INVALID",
        message: "linear-svm: label -1 is not a class index 0..1.",
      });
      const tiny: FitData = {
        ...data,
        train: { ...data.train, rows: 2, values: data.train.values.subarray(0, 12) },
        trainLabels: Int32Array.from([0, 1]),
      };
      await expect(model.fit(tiny, options)).rejects.toMatchObject({
        code: "SVM_TRAIN_DATA_INVALID",
        message: "linear-svm: no class has the 2 training rows needed to hold out calibration rows (2 rows).",
      });
      await model.fit(data, options);
      expect(() => model.predict({ ...data.validation, cols: 7 })).toThrow(
        expect.objectContaining({ code: "MODEL_INPUT_SHAPE" }) as Error,
      );
      const dir = await mkdtemp(path.join(os.tmpdir(), "svm-bad-"));
      try {
        await model.save(dir);
        await expect(linearSvmKind.load(dir, { ...params, C: 2 }, shape(data))).rejects.toMatchObject({
          code: "SVM_MODEL_INVALID",
        });
        await expect(
          linearSvmKind.load(dir, params, { featureNames: ["a"], classes: data.classes }),
        ).rejects.toMatchObject({ code: "SVM_MODEL_INVALID" });
        const file = JSON.parse(await readFile(path.join(dir, "linear-svm.json"), "utf8")) as Record<
          string,
          unknown
        >;
        await writeFile(path.join(dir, "linear-svm.json"), JSON.stringify({ ...file, version: 9 }));
        await expect(linearSvmKind.load(dir, params, shape(data))).rejects.toMatchObject({
          code: "SVM_MODEL_VERSION",
        });
        await writeFile(path.join(dir, "linear-svm.json"), JSON.stringify({ ...file, weights: [[1, 2]] }));
        await expect(linearSvmKind.load(dir, params, shape(data))).rejects.toMatchObject({
          code: "SVM_MODEL_INVALID",
        });
      } finally {
        model.dispose();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
