import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evaluate } from "../../../../src/evaluation/metrics.js";
import type { FeatureMatrix } from "../../../../src/features/preprocessor.js";
import { knnKind } from "../../../../src/models/kinds/knn.js";
import type { FitData, FitOptions, ModelShape } from "../../../../src/models/model.js";
import { fitStandardizer, standardize } from "../../../../src/models/neighbors/knn-model.js";
import {
  buildIndex,
  indexFromPadded,
  kNearest,
  type Metric,
  paddedRows,
  strideFor,
} from "../../../../src/models/neighbors/search.js";
import { simdKernel } from "../../../../src/models/neighbors/simd-kernel.js";
import { createRng } from "../../../../src/shared/random.js";
import { majorityAccuracy, syntheticFitData } from "../../../helpers/synthetic.js";

const options: FitOptions = {
  seed: 11,
  selectionMetric: "accuracy",
  classWeight: "none",
  earlyStopping: { patience: 3, minDelta: 0 },
};
const shape = (d: FitData): ModelShape => ({ featureNames: d.train.featureNames, classes: d.classes });

interface Fixture {
  classes: string[];
  train: number[][];
  trainLabels: number[];
  queries: number[][];
  cases: {
    k: number;
    weights: "uniform" | "distance";
    metric: Metric;
    probabilities: number[][];
    indices: number[][];
    distances: number[][];
  }[];
}

const matrix = (rows: number[][]): FeatureMatrix => ({
  rows: rows.length,
  cols: rows[0]!.length,
  values: Float32Array.from(rows.flat()),
  featureNames: rows[0]!.map((_, j) => `x${j}`),
});

async function fixture(): Promise<{ f: Fixture; data: FitData }> {
  const f = JSON.parse(
    await readFile(path.resolve("tests/fixtures/kinds/knn-sklearn.json"), "utf8"),
  ) as Fixture;
  const train = matrix(f.train);
  const queries = matrix(f.queries);
  // Every fixture value is a float32 written as the float64 it equals: nothing is rounded on the way in.
  expect(Array.from(train.values)).toEqual(f.train.flat());
  return {
    f,
    data: {
      train,
      trainLabels: Int32Array.from(f.trainLabels),
      validation: queries,
      validationLabels: new Int32Array(queries.rows),
      classes: f.classes,
    },
  };
}

/** Every distance from every query to every stored row in float64, fully sorted: the slow, obvious answer. */
function naive(stored: Float32Array, queries: Float32Array, cols: number, k: number, metric: Metric) {
  const n = stored.length / cols;
  return Array.from({ length: queries.length / cols }, (_, q) => {
    const all = Array.from({ length: n }, (_, s) => {
      let acc = 0;
      for (let t = 0; t < cols; t++) {
        const diff = queries[q * cols + t]! - stored[s * cols + t]!;
        acc += metric === "euclidean" ? diff * diff : Math.abs(diff);
      }
      return { s, d: metric === "euclidean" ? Math.sqrt(acc) : acc };
    }).sort((a, b) => a.d - b.d || a.s - b.s);
    return { top: all.slice(0, k), next: all[k]?.d ?? Number.POSITIVE_INFINITY };
  });
}

function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: rows * cols }, () => rng() * 4 - 2);
}

describe("knn kind", () => {
  it("reproduces scikit-learn's StandardScaler + KNeighborsClassifier probabilities and neighbours", async () => {
    const { f, data } = await fixture();
    for (const c of f.cases) {
      const params = knnKind.params.parse({ k: c.k, weights: c.weights, metric: c.metric });
      const model = await knnKind.create(params, shape(data));
      await model.fit(data, options);
      const p = model.predict(data.validation);
      c.probabilities.forEach((row, i) => {
        row.forEach((expected, j) => {
          expect(p[i * 3 + j], `${c.k} ${c.weights} ${c.metric}: row ${i} class ${j}`).toBeCloseTo(
            expected,
            6,
          );
        });
      });
      // The same neighbours, in the same order, at the same distances (float32 standardised values).
      const standardizer = fitStandardizer(data.train);
      const stride = strideFor(data.train.cols);
      const stored = new Float32Array(paddedRows(240) * stride);
      standardize(data.train, standardizer, 0, 240, stored);
      const index = indexFromPadded(stored, 240, 8);
      const queries = standardize(data.validation, standardizer, 0, 60, new Float32Array(60 * stride));
      const nb = kNearest(index, queries, 60, c.k, c.metric);
      expect(Array.from(nb.indices)).toEqual(c.indices.flat());
      c.distances.flat().forEach((d, i) => {
        expect(Math.abs(nb.distances[i]! - d)).toBeLessThan(1e-5 * (1 + d));
      });
      model.dispose();
    }
  });

  it("smoothing adds pseudo-neighbours per class: (k·share + α) / (k + K·α), never 0, same arg-max", async () => {
    const { f, data } = await fixture();
    const c = f.cases.find((x) => x.weights === "uniform" && x.metric === "euclidean")!;
    const model = await knnKind.create(knnKind.params.parse({ k: c.k, smoothing: 1 }), shape(data));
    await model.fit(data, options);
    const p = model.predict(data.validation);
    let zeros = 0;
    c.probabilities.forEach((row, i) => {
      row.forEach((share, j) => {
        if (share === 0) zeros++;
        expect(p[i * 3 + j]).toBeCloseTo((c.k * share + 1) / (c.k + 3), 6);
        expect(p[i * 3 + j]).toBeGreaterThan(0);
      });
    });
    expect(zeros, "the fixture has classes no neighbour voted for").toBeGreaterThan(10);
    expect(model.summary()).toMatchObject({ smoothing: 1 });
    model.dispose();
  });

  it("applies balanced class weights to the votes", async () => {
    const { f, data } = await fixture();
    const c = f.cases.find((x) => x.weights === "distance" && x.metric === "euclidean")!;
    const model = await knnKind.create(
      knnKind.params.parse({ k: c.k, weights: "distance", metric: "euclidean" }),
      shape(data),
    );
    await model.fit(data, { ...options, classWeight: "balanced" });
    const p = model.predict(data.validation);
    const counts = [0, 1, 2].map((k) => f.trainLabels.filter((l) => l === k).length);
    const weight = counts.map((n) => 240 / (3 * n));
    expect(new Set(weight).size, "the fixture's classes are unbalanced").toBe(3);
    c.indices.forEach((neighbours, i) => {
      const distances = c.distances[i]!;
      const exact = distances.some((d) => d === 0);
      const votes = [0, 0, 0];
      neighbours.forEach((s, j) => {
        const w = exact ? (distances[j] === 0 ? 1 : 0) : 1 / distances[j]!;
        votes[f.trainLabels[s]!]! += w * weight[f.trainLabels[s]!]!;
      });
      const total = votes[0]! + votes[1]! + votes[2]!;
      votes.forEach((v, j) => {
        expect(p[i * 3 + j]).toBeCloseTo(v / total, 5);
      });
    });
    model.dispose();
  });

  it("the search is exact: SIMD and TypeScript kernels both find the fully sorted answer (ragged tiles, odd sizes)", () => {
    expect(simdKernel(), "Node 20 has WebAssembly SIMD").not.toBeNull();
    const cols = 37;
    const stored = randomMatrix(2051, cols, 1);
    const queries = randomMatrix(131, cols, 2);
    // Two exact duplicates of stored row 5 later on: ties go to the earlier row.
    stored.copyWithin(700 * cols, 5 * cols, 6 * cols);
    stored.copyWithin(1900 * cols, 5 * cols, 6 * cols);
    queries.set(stored.subarray(5 * cols, 6 * cols), 3 * cols);
    const index = buildIndex(stored, 2051, cols);
    const stride = strideFor(cols);
    const padded = new Float32Array(131 * stride);
    for (let q = 0; q < 131; q++) padded.set(queries.subarray(q * cols, (q + 1) * cols), q * stride);
    for (const metric of ["euclidean", "manhattan"] as const) {
      const k = 9;
      const expected = naive(stored, queries, cols, k, metric);
      for (const useSimd of [true, false]) {
        const nb = kNearest(index, padded, 131, k, metric, useSimd);
        expected.forEach(({ top, next }, q) => {
          // Where float32 rounding could swap the k-th and the next row, only the distances are compared.
          const clear = next - top[k - 1]!.d > 1e-4;
          top.forEach(({ s, d }, j) => {
            expect(Math.abs(nb.distances[q * k + j]! - d), `${metric} simd=${useSimd} q${q}`).toBeLessThan(
              1e-9,
            );
            if (clear) expect(nb.indices[q * k + j]).toBe(s);
          });
        });
        expect(Array.from(nb.indices.subarray(3 * k, 3 * k + 3))).toEqual([5, 700, 1900]);
        // A tie at the k-th place: the earlier rows are kept.
        const two = kNearest(index, padded, 131, 2, metric, useSimd);
        expect(Array.from(two.indices.subarray(6, 8))).toEqual([5, 700]);
      }
    }
  });

  it("beats the majority-class baseline clearly (binary and 3-class)", async () => {
    for (const classes of [2, 3]) {
      const data = syntheticFitData(classes);
      const model = await knnKind.create(knnKind.params.parse({}), shape(data));
      const result = await model.fit(data, options);
      expect(result.history).toHaveLength(1);
      expect(result.bestIteration).toBe(1);
      const accuracy = evaluate(data.validationLabels, model.predict(data.validation), data.classes).metrics
        .accuracy!;
      expect(accuracy - majorityAccuracy(data.validationLabels), `${classes} classes`).toBeGreaterThan(0.2);
      expect(result.history[0]!.valMetric).toBeCloseTo(accuracy, 12);
      model.dispose();
    }
  });

  it("caps the reference rows with a seeded stratified sample: deterministic, class shares kept", async () => {
    const data = syntheticFitData(3, 3000);
    const params = knnKind.params.parse({ k: 5, maxRows: 500 });
    const a = await knnKind.create(params, shape(data));
    const b = await knnKind.create(params, shape(data));
    const c = await knnKind.create(params, shape(data));
    await a.fit(data, options);
    await b.fit(data, options);
    await c.fit(data, { ...options, seed: 12 });
    expect(a.summary()).toMatchObject({ storedRows: 500, trainingRows: 3000, sampled: true });
    const pa = a.predict(data.validation);
    expect(b.predict(data.validation)).toEqual(pa);
    expect(c.predict(data.validation)).not.toEqual(pa);
    const dir = await mkdtemp(path.join(os.tmpdir(), "knn-cap-"));
    try {
      await a.save(dir);
      const bytes = await readFile(path.join(dir, "knn.bin"));
      const labels = new Int32Array(
        bytes.buffer.slice(bytes.byteOffset + 500 * 6 * 4, bytes.byteOffset + bytes.length),
      );
      for (let k = 0; k < 3; k++) {
        const share = data.trainLabels.filter((l) => l === k).length / 3000;
        expect(
          Math.abs(labels.filter((l) => l === k).length - 500 * share),
          `class ${k}`,
        ).toBeLessThanOrEqual(1);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    for (const m of [a, b, c]) m.dispose();
  });

  for (const classes of [2, 3])
    it(`save → load gives identical probabilities (${classes} classes)`, async () => {
      const data = syntheticFitData(classes, 900);
      const params = knnKind.params.parse({
        k: 7,
        weights: "distance",
        metric: "manhattan",
        maxRows: 600,
        smoothing: 0.5,
      });
      const model = await knnKind.create(params, shape(data));
      const dir = await mkdtemp(path.join(os.tmpdir(), "knn-kind-"));
      try {
        await model.fit(data, { ...options, classWeight: "balanced" });
        await model.save(dir);
        const loaded = await knnKind.load(dir, params, shape(data));
        expect(loaded.predict(data.validation)).toEqual(model.predict(data.validation));
        expect(loaded.summary()).toEqual(model.summary());
        loaded.dispose();
      } finally {
        model.dispose();
        await rm(dir, { recursive: true, force: true });
      }
    });

  it("treats a missing value as the training mean; a constant column stays 0", async () => {
    const data = syntheticFitData(2, 600);
    const values = Float32Array.from(data.train.values);
    for (let i = 0; i < data.train.rows; i++) values[i * 6 + 5] = 3; // constant column
    const train = { ...data.train, values };
    const model = await knnKind.create(knnKind.params.parse({ k: 9, weights: "distance" }), shape(data));
    await model.fit({ ...data, train }, options);
    const mean = fitStandardizer(train).mean;
    const row = Float32Array.from(data.validation.values.subarray(0, 6));
    const withNaN = Float32Array.from(row);
    withNaN[1] = Number.NaN;
    withNaN[5] = 1000; // far off, but a constant column has no say
    const atMean = Float32Array.from(row);
    atMean[1] = mean[1]!;
    const one = (v: Float32Array): FeatureMatrix => ({
      rows: 1,
      cols: 6,
      values: v,
      featureNames: train.featureNames,
    });
    const p = model.predict(one(withNaN));
    expect(Number.isNaN(p[0])).toBe(false);
    expect(p).toEqual(model.predict(one(atMean)));
    model.dispose();
  });

  describe("bad input", () => {
    it("k = 0 and non-integer k are refused by the schema, naming k", () => {
      for (const k of [0, -1, 2.5]) {
        const parsed = knnKind.params.safeParse({ k });
        expect(parsed.success).toBe(false);
        expect(parsed.error?.issues[0]?.path).toEqual(["k"]);
      }
      expect(knnKind.params.safeParse({ weights: "gaussian" }).success).toBe(false);
      expect(knnKind.params.safeParse({ maxRows: 0 }).success).toBe(false);
      expect(knnKind.params.safeParse({ smoothing: -0.5 }).error?.issues[0]?.path).toEqual(["smoothing"]);
      const other = knnKind.params.safeParse({ epochs: 3 });
      expect(other.error?.issues[0]?.code).toBe("unrecognized_keys");
    });

    it("k larger than the training rows (or maxRows) is refused by checkData with the field named, and by fit", async () => {
      const params = knnKind.params.parse({ k: 50 });
      expect(knnKind.checkData!(params, { rows: 40, cols: 6, classes: 2 })).toEqual([
        ["k", "k = 50 is larger than the 40 training rows; use k ≤ 40."],
      ]);
      expect(knnKind.checkData!(params, { rows: 50, cols: 6, classes: 2 })).toEqual([]);
      expect(knnKind.checkData!({ ...params, maxRows: 20 }, { rows: 500, cols: 6, classes: 2 })).toEqual([
        ["k", "k = 50 is larger than maxRows = 20, the rows kept to vote."],
      ]);
      const data = syntheticFitData(2, 40);
      const model = await knnKind.create(params, shape(data));
      await expect(model.fit(data, options)).rejects.toMatchObject({
        code: "KNN_K_TOO_LARGE",
        message: "knn: k = 50 is larger than the 40 reference rows (40 training rows, maxRows 10000).",
      });
    });

    it("named errors: untrained, wrong width, bad labels, a newer or mismatched saved model", async () => {
      const data = syntheticFitData(2, 300);
      const params = knnKind.params.parse({ k: 3 });
      const model = await knnKind.create(params, shape(data));
      expect(() => model.predict(data.validation)).toThrow(
        expect.objectContaining({ code: "MODEL_NOT_TRAINED" }) as Error,
      );
      await expect(
        model.fit({ ...data, trainLabels: data.trainLabels.map(() => 7) }, options),
      ).rejects.toMatchObject({
        code: "KNN_TRAIN_DATA_INVALID",
        message: "knn: label 7 is not a class index 0..1.",
      });
      await model.fit(data, options);
      expect(() => model.predict({ ...data.validation, cols: 5 })).toThrow(
        expect.objectContaining({ code: "MODEL_INPUT_SHAPE" }) as Error,
      );
      const dir = await mkdtemp(path.join(os.tmpdir(), "knn-bad-"));
      try {
        await model.save(dir);
        await expect(knnKind.load(dir, { ...params, k: 4 }, shape(data))).rejects.toMatchObject({
          code: "KNN_MODEL_INVALID",
        });
        const header = JSON.parse(await readFile(path.join(dir, "knn.json"), "utf8")) as Record<
          string,
          unknown
        >;
        await writeFile(path.join(dir, "knn.json"), JSON.stringify({ ...header, version: 2 }));
        await expect(knnKind.load(dir, params, shape(data))).rejects.toMatchObject({
          code: "KNN_MODEL_VERSION",
        });
        await writeFile(path.join(dir, "knn.json"), JSON.stringify(header));
        await writeFile(path.join(dir, "knn.bin"), new Uint8Array(10));
        await expect(knnKind.load(dir, params, shape(data))).rejects.toMatchObject({
          code: "KNN_MODEL_INVALID",
        });
      } finally {
        model.dispose();
        await rm(dir, { recursive: true, force: true });
      }
      expect(() => model.predict(data.validation)).toThrow(
        expect.objectContaining({ code: "MODEL_NOT_TRAINED" }) as Error,
      );
    });
  });
});
