import { mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { FeatureMatrix, PreprocessorState } from "../../../src/features/preprocessor.js";
import { modelKind } from "../../../src/models/kinds/index.js";
import {
  buildReferenceProfile,
  readReferenceProfile,
  writeReferenceProfile,
} from "../../../src/monitoring/profile.js";
import { exportModel } from "../../../src/registry/export-model.js";
import { PACKAGE_FORMAT_VERSION, writeModelPackage } from "../../../src/registry/model-package.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("export-profile-");

const PREPROCESSOR = {
  version: 1,
  engineered: [],
  numeric: [{ name: "X", fill: 0, signedLog: false, center: 0, scale: 1 }],
  categorical: [],
  clip: 8,
  featureNames: ["X"],
} as unknown as PreprocessorState;

/** A one-feature logistic package, as training writes it (the profile first, then the package). */
async function writePackage(dir: string, withProfile: boolean): Promise<void> {
  const spec = modelKind("logistic");
  const params = spec.params.parse({ epochs: 1 }) as Record<string, unknown>;
  const model = await spec.create(params, { featureNames: ["X"], classes: ["0", "1"] });
  const x: FeatureMatrix = { rows: 4, cols: 1, values: Float32Array.from([0, 1, 2, 3]), featureNames: ["X"] };
  const labels = Int32Array.from([0, 0, 1, 1]);
  await model.fit(
    { train: x, trainLabels: labels, validation: x, validationLabels: labels, classes: ["0", "1"] },
    { seed: 1, selectionMetric: "roc_auc", classWeight: "none", earlyStopping: { patience: 5, minDelta: 0 } },
  );
  if (withProfile) {
    await mkdir(dir, { recursive: true });
    await writeReferenceProfile(
      dir,
      buildReferenceProfile({
        table: {
          rowCount: 4,
          numeric: { X: Float64Array.from([0, 1, 2, 3]) },
          categorical: {},
          text: {},
          target: [],
          ids: {},
          lines: Int32Array.from([2, 3, 4, 5]),
        },
      }),
    );
  }
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
}

describe("model:export and the reference profile", () => {
  it("copies the profile with the package, and never leaves a previous export's profile beside a package without one", async () => {
    const root = path.dirname(await tmp.file("keep", ""));
    const withProfile = path.join(root, "new");
    const withoutProfile = path.join(root, "old");
    await writePackage(withProfile, true);
    await writePackage(withoutProfile, false);
    const out = path.join(root, "export");

    await exportModel(undefined, withProfile, out);
    expect((await readReferenceProfile(out))?.columns.map((c) => c.name)).toEqual(["X"]);

    await exportModel(undefined, withoutProfile, out);
    expect(await readdir(out)).not.toContain("reference_profile.json");
    expect(await readReferenceProfile(out), "a model trained before profiles has none").toBeUndefined();
  });
});
