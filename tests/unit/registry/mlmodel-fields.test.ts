import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { FeatureMatrix, PreprocessorState } from "../../../src/features/preprocessor.js";
import { modelKind } from "../../../src/models/kinds/index.js";
import { MLFLOW_VERSION } from "../../../src/registry/mlflow-version.js";
import { PACKAGE_FORMAT_VERSION, writeModelPackage } from "../../../src/registry/model-package.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("mlmodel-fields-");

const PREPROCESSOR: PreprocessorState = {
  version: 1,
  engineered: [],
  numeric: [{ name: "X", fill: 0, signedLog: false, center: 0, scale: 1 }],
  categorical: [],
  clip: 8,
  featureNames: ["X"],
} as unknown as PreprocessorState;

async function otherFilesSize(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && !(e.name === "MLmodel" && e.parentPath === dir));
  const sizes = await Promise.all(files.map(async (e) => (await stat(path.join(e.parentPath, e.name))).size));
  return sizes.reduce((a, b) => a + b, 0);
}

describe("the MLmodel file's top-level fields (as MLflow's writer puts them)", () => {
  it("given a written package, then model_uuid, mlflow_version, model_size_bytes and a quoted utc_time_created", async () => {
    const dir = path.join(path.dirname(await tmp.file("keep", "")), "model");
    const spec = modelKind("logistic");
    const params = spec.params.parse({ epochs: 1 }) as Record<string, unknown>;
    const model = await spec.create(params, { featureNames: ["X"], classes: ["0", "1"] });
    const x: FeatureMatrix = {
      rows: 4,
      cols: 1,
      values: Float32Array.from([0, 1, 2, 3]),
      featureNames: ["X"],
    };
    await model.fit(
      {
        train: x,
        trainLabels: Int32Array.from([0, 0, 1, 1]),
        validation: x,
        validationLabels: Int32Array.from([0, 0, 1, 1]),
        classes: ["0", "1"],
      },
      {
        seed: 1,
        selectionMetric: "roc_auc",
        classWeight: "none",
        earlyStopping: { patience: 5, minDelta: 0 },
      },
    );
    await writeModelPackage(dir, {
      model,
      preprocessor: PREPROCESSOR,
      meta: {
        formatVersion: PACKAGE_FORMAT_VERSION,
        name: "t",
        kind: "logistic",
        params,
        target: "y",
        classes: ["0", "1"],
        positiveClass: "1",
        threshold: 0.5,
        inputs: [{ name: "X", type: "double", required: true }],
        featureNames: ["X"],
        metrics: {},
        backend: "test",
        dataFingerprint: "f",
        trainedAt: "2026-11-30T12:34:56.789Z",
      },
      example: [{ X: 1 }],
    });
    model.dispose();
    const text = await readFile(path.join(dir, "MLmodel"), "utf8");
    const doc = parse(text);
    expect(doc.model_uuid).toMatch(/^[0-9a-f]{32}$/);
    expect(doc.mlflow_version).toBe(MLFLOW_VERSION);
    expect(doc.model_size_bytes, "every file of the package but MLmodel").toBe(await otherFilesSize(dir));
    expect(text, "quoted: PyYAML would read a bare one as a datetime").toMatch(
      /^utc_time_created: "2026-11-30 12:34:56\.789"$/m,
    );
    expect(doc.run_id, "known only once logged (tracking/mlmodel-stamp.ts)").toBeUndefined();
    expect(doc.model_id).toBeUndefined();
  });
});
