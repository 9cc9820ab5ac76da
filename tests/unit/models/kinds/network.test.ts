import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { evaluate } from "../../../../src/evaluation/metrics.js";
import { type PreprocessorState, transform } from "../../../../src/features/preprocessor.js";
import { initTf } from "../../../../src/models/backend.js";
import { logisticKind } from "../../../../src/models/kinds/logistic.js";
import { mlpKind } from "../../../../src/models/kinds/mlp.js";
import type { FitData, FitOptions } from "../../../../src/models/model.js";
import {
  installWasmKernels,
  restoreWasmKernels,
  wasmKernelsInstalled,
} from "../../../../src/models/wasm-kernels.js";
import type { Prediction } from "../../../../src/serving/predictor.js";
import { createRng, deriveSeed } from "../../../../src/shared/random.js";
import { syntheticFitData } from "../../../helpers/synthetic.js";

const options: FitOptions = {
  seed: 11,
  selectionMetric: "roc_auc",
  classWeight: "none",
  earlyStopping: { patience: 3, minDelta: 0 },
};
const data = syntheticFitData(2);
const mlpParams = mlpKind.params.parse({ hiddenUnits: [16, 8], dropout: 0.2, epochs: 8, batchSize: 64 });
const shape = (d: FitData) => ({ featureNames: d.train.featureNames, classes: d.classes });

describe("network kinds (logistic, mlp) behind the Model seam", () => {
  beforeAll(async () => {
    await initTf();
  });

  it("records the backend: wasm with SIMD here (tfjs-node cannot install), never silently cpu", async () => {
    expect(["tensorflow", "wasm"]).toContain((await initTf()).backend);
  });

  it("training twice with the same seed gives identical predictions (dropout included); another seed differs", async () => {
    const a = await mlpKind.create(mlpParams, shape(data));
    const b = await mlpKind.create(mlpParams, shape(data));
    const c = await mlpKind.create(mlpParams, shape(data));
    try {
      const ra = await a.fit(data, options);
      const rb = await b.fit(data, options);
      await c.fit(data, { ...options, seed: 12 });
      const pa = a.predict(data.validation);
      expect(b.predict(data.validation)).toEqual(pa);
      expect(ra.history).toEqual(rb.history.map((h, i) => ({ ...h, seconds: ra.history[i]!.seconds })));
      expect(c.predict(data.validation)).not.toEqual(pa);
      expect(
        evaluate(data.validationLabels, pa, data.classes).metrics.roc_auc,
        "learns the signal",
      ).toBeGreaterThan(0.9);
    } finally {
      for (const m of [a, b, c]) m.dispose();
    }
  });

  it("early stopping keeps the best epoch's weights and reports it", async () => {
    const model = await mlpKind.create(mlpParams, shape(data));
    try {
      const result = await model.fit(data, options);
      const best = result.history.find((h) => h.iteration === result.bestIteration)!;
      expect(best.valMetric).toBe(Math.max(...result.history.map((h) => h.valMetric)));
      const final = evaluate(data.validationLabels, model.predict(data.validation), data.classes).metrics
        .roc_auc;
      expect(final).toBeCloseTo(best.valMetric, 6);
    } finally {
      model.dispose();
    }
  });

  it("trains a multiclass softmax model with balanced class weights", async () => {
    const d3 = syntheticFitData(3);
    const model = await mlpKind.create(mlpParams, shape(d3));
    try {
      await model.fit(d3, { ...options, selectionMetric: "f1_macro", classWeight: "balanced" });
      const p = model.predict(d3.validation);
      expect(p.length).toBe(d3.validation.rows * 3);
      expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 5);
      expect(
        evaluate(d3.validationLabels, p, d3.classes).metrics.accuracy,
        "above chance (1/3)",
      ).toBeGreaterThan(0.45);
    } finally {
      model.dispose();
    }
  });

  it("save → load gives identical probabilities", async () => {
    const model = await logisticKind.create(logisticKind.params.parse({ epochs: 5 }), shape(data));
    const dir = await mkdtemp(path.join(os.tmpdir(), "network-kind-"));
    try {
      await model.fit(data, options);
      await model.save(dir);
      const loaded = await logisticKind.load(dir, logisticKind.params.parse({ epochs: 5 }), shape(data));
      expect(loaded.predict(data.validation)).toEqual(model.predict(data.validation));
      expect(loaded.summary()).toMatchObject({ parameters: 7 });
      loaded.dispose();
    } finally {
      model.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  // tests/fixtures/packages was written by commit 021c864's trainNetwork (before the seam): the same rows,
  // trial ids and seed must give the same weights, hence the same predictions, through the seam.
  for (const [kind, spec, classes] of [
    ["logistic", logisticKind, ["no", "yes"]],
    ["mlp", mlpKind, ["A", "B", "C"]],
  ] as const) {
    for (const kernels of ["tfjs", "workbench"] as const)
      it(
        kernels === "tfjs"
          ? `${kind}: the same seed reproduces what the pre-seam trainer (021c864) learned, bit for bit (tfjs' own wasm kernels)`
          : `${kind}: with the workbench's wasm kernels, what the pre-seam trainer learned to float32 rounding`,
        async () => {
          // initTf (beforeAll) installed the workbench's kernels, unless the environment asked for tfjs' own.
          const installed = wasmKernelsInstalled();
          if (kernels === "workbench") expect(installed, "the workbench's kernels are installed").toBe(true);
          if (kernels === "tfjs") restoreWasmKernels();
          const rng = createRng(5);
          const rows: Record<string, string | number>[] = [];
          for (let i = 0; i < 400; i++)
            rows.push({
              x1: Math.round((rng() * 10 - 5) * 100) / 100,
              x2: Math.round(rng() * 100),
              c: ["a", "b", "c"][Math.floor(rng() * 3)]!,
            });
          const state = JSON.parse(
            await readFile(path.resolve(`tests/fixtures/packages/v1-${kind}/preprocessor.json`), "utf8"),
          ) as PreprocessorState;
          const table = {
            rowCount: rows.length,
            numeric: {
              x1: Float64Array.from(rows, (r) => r.x1 as number),
              x2: Float64Array.from(rows, (r) => r.x2 as number),
            },
            categorical: { c: rows.map((r) => r.c as string) },
            target: rows.map(() => ""),
            lines: Int32Array.from(rows, (_, i) => i + 2),
          };
          const x = transform(state, table as unknown as Parameters<typeof transform>[1]);
          const y = Int32Array.from(rows, (r) => {
            const x1 = r.x1 as number;
            if (classes.length === 2) return x1 + (r.c === "a" ? 2 : 0) > 0 ? 1 : 0;
            return x1 < -1.5 ? 0 : x1 < 1.5 ? 1 : 2;
          });
          const params = spec.params.parse(
            kind === "mlp" ? { hiddenUnits: [8], epochs: 5, batchSize: 64 } : { epochs: 5, batchSize: 64 },
          );
          const model = await spec.create(params as never, {
            featureNames: state.featureNames,
            classes: [...classes],
          });
          try {
            await model.fit(
              { train: x, trainLabels: y, validation: x, validationLabels: y, classes: [...classes] },
              {
                seed: deriveSeed(3, `${kind}-1`),
                selectionMetric: "accuracy",
                classWeight: "none",
                earlyStopping: { patience: 5, minDelta: 0 },
              },
            );
            const expected = JSON.parse(
              await readFile(path.resolve(`tests/fixtures/packages/v1-${kind}.expected.json`), "utf8"),
            ) as { predictions: Prediction[] };
            const p = model.predict({ ...x, rows: 20, values: x.values.subarray(0, 20 * x.cols) });
            const k = classes.length;
            expected.predictions.forEach((prediction, i) => {
              classes.forEach((c, j) => {
                if (kernels === "tfjs")
                  expect(p[i * k + j], `row ${i} class ${c}`).toBe(prediction.probabilities[c]);
                else
                  expect(
                    Math.abs(p[i * k + j]! - prediction.probabilities[c]!),
                    `row ${i} class ${c}`,
                  ).toBeLessThan(1e-5);
              });
            });
          } finally {
            model.dispose();
            if (installed) installWasmKernels();
          }
        },
      );
  }
});
