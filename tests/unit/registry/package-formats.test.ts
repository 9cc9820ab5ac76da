import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadModelPackage, PACKAGE_FORMAT_VERSION } from "../../../src/registry/model-package.js";
import { loadPredictor } from "../../../src/serving/model-source.js";
import type { Prediction } from "../../../src/serving/predictor.js";
import { rejectionOf } from "../../helpers/expect-error.js";

const fixtures = path.resolve("tests/fixtures/packages");
const scratch: string[] = [];
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

async function copyOf(name: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "package-format-"));
  scratch.push(dir);
  await cp(path.join(fixtures, name), dir, { recursive: true });
  return dir;
}

describe("model packages written by earlier formats", () => {
  for (const kind of ["logistic", "mlp"]) {
    it(`a format-1 ${kind} package (commit 021c864) loads and predicts exactly what that commit predicted`, async () => {
      const expected = JSON.parse(
        await readFile(path.join(fixtures, `v1-${kind}.expected.json`), "utf8"),
      ) as {
        rows: Record<string, unknown>[];
        predictions: Prediction[];
      };
      const predictor = await loadPredictor(path.join(fixtures, `v1-${kind}`), undefined);
      try {
        expect(predictor.model.meta.formatVersion).toBe(1);
        expect(predictor.model.model.kind).toBe(kind);
        expect(predictor.predict(expected.rows)).toEqual(expected.predictions);
      } finally {
        predictor.retire();
      }
    });
  }

  it("a package of a newer format is refused with the versions named", async () => {
    expect(PACKAGE_FORMAT_VERSION).toBe(2);
    const dir = await copyOf("v1-logistic");
    const meta = JSON.parse(await readFile(path.join(dir, "model-meta.json"), "utf8")) as Record<
      string,
      unknown
    >;
    await writeFile(path.join(dir, "model-meta.json"), JSON.stringify({ ...meta, formatVersion: 3 }));
    const error = await rejectionOf(loadModelPackage(dir));
    expect(error).toMatchObject({ code: "MODEL_PACKAGE_FORMAT_UNSUPPORTED" });
    expect(error.message).toContain(
      "is a format 3 model package; this version of the workbench reads formats 1 to 2",
    );
  });

  it("a package of an unknown kind is refused naming the kind and the known ones", async () => {
    const dir = await copyOf("v1-logistic");
    const meta = JSON.parse(await readFile(path.join(dir, "model-meta.json"), "utf8")) as Record<
      string,
      unknown
    >;
    await writeFile(
      path.join(dir, "model-meta.json"),
      JSON.stringify({ ...meta, formatVersion: 2, kind: "xgboost" }),
    );
    const error = await rejectionOf(loadModelPackage(dir));
    expect(error).toMatchObject({ code: "MODEL_KIND_UNKNOWN" });
    expect(error.message).toContain("holds a model of kind 'xgboost'");
    expect(error.message).toContain("known: logistic, mlp, gbdt");
  });

  it("a format-1 package claiming a kind format 1 never had is refused", async () => {
    const dir = await copyOf("v1-logistic");
    const meta = JSON.parse(await readFile(path.join(dir, "model-meta.json"), "utf8")) as Record<
      string,
      unknown
    >;
    await writeFile(path.join(dir, "model-meta.json"), JSON.stringify({ ...meta, kind: "gbdt" }));
    const error = await rejectionOf(loadModelPackage(dir));
    expect(error).toMatchObject({ code: "MODEL_PACKAGE_INVALID" });
    expect(error.message).toContain("format 1 packages hold logistic or mlp networks, not 'gbdt'");
  });

  it("params that do not fit the kind are refused with the field", async () => {
    const dir = await copyOf("v1-mlp");
    const meta = JSON.parse(await readFile(path.join(dir, "model-meta.json"), "utf8")) as {
      params: Record<string, unknown>;
    };
    await writeFile(
      path.join(dir, "model-meta.json"),
      JSON.stringify({ ...meta, params: { ...meta.params, maxLeaves: 31 } }),
    );
    const error = await rejectionOf(loadModelPackage(dir));
    expect(error).toMatchObject({ code: "MODEL_PACKAGE_INVALID" });
    expect(error.message).toContain("params do not fit kind mlp");
  });
});
