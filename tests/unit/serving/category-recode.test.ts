// The manifest's category recodes (data/credit-default.yaml: EDUCATION 0, 5, 6 → 4; MARRIAGE 0 → 3) travel with
// the model: training applies them (data/validate.ts), and so do the service and batch scoring, through the
// signature in model-meta.json (registry/signature.ts) read by serving/input.ts rowsToTable. A raw code scores
// exactly as its recoded value; the MLflow signature in MLmodel stays MLflow's (name, type, required).
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, describe, expect, it } from "vitest";
import { loadManifest } from "../../../src/data/manifest.js";
import type { PreprocessorState } from "../../../src/features/preprocessor.js";
import { batchPredict } from "../../../src/pipelines/predict.js";
import { loadModelPackage } from "../../../src/registry/model-package.js";
import {
  mlflowSignatureInputs,
  recodeCategory,
  type SignatureColumn,
  signatureInputs,
} from "../../../src/registry/signature.js";
import { rowsToTable } from "../../../src/serving/input.js";
import { Predictor } from "../../../src/serving/predictor.js";
import { rejectionOf } from "../../helpers/expect-error.js";

const scratch: string[] = [];
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

describe("the signature of a dataset with recoded categories", () => {
  it("given credit-default, then EDUCATION and MARRIAGE carry the manifest's recode maps (category keys), other columns none, and MLflow's signature is unchanged", async () => {
    const inputs = signatureInputs(await loadManifest("credit-default"));
    const byName = new Map(inputs.map((c) => [c.name, c]));
    expect(byName.get("EDUCATION")).toEqual({
      name: "EDUCATION",
      type: "long",
      required: true,
      recode: { "0": "4", "5": "4", "6": "4" },
    });
    expect(byName.get("MARRIAGE")?.recode).toEqual({ "0": "3" });
    expect(Object.hasOwn(byName.get("SEX")!, "recode"), "no recode key without a recode map").toBe(false);
    expect(Object.hasOwn(byName.get("AGE")!, "recode")).toBe(false);
    const mlflow = JSON.parse(mlflowSignatureInputs(inputs)) as Record<string, unknown>[];
    expect(mlflow.find((c) => c.name === "EDUCATION")).toEqual({
      name: "EDUCATION",
      type: "long",
      required: true,
    });
    expect(mlflowSignatureInputs(inputs)).not.toContain("recode");
  });

  it("recodeCategory maps a recoded key and leaves any other key (and a column without a map) as it is", () => {
    const education: SignatureColumn = {
      name: "EDUCATION",
      type: "long",
      required: true,
      recode: { "0": "4", "5": "4" },
    };
    expect(recodeCategory(education, "0")).toBe("4");
    expect(recodeCategory(education, "5")).toBe("4");
    expect(recodeCategory(education, "2")).toBe("2");
    expect(recodeCategory(education, "")).toBe("");
    expect(recodeCategory({ name: "SEX", type: "long", required: true }, "0")).toBe("0");
    // An inherited name is not a recode.
    expect(recodeCategory(education, "constructor")).toBe("constructor");
  });
});

describe("rows with raw category codes", () => {
  const inputs: SignatureColumn[] = [
    { name: "grade", type: "long", required: true, recode: { "0": "3", "5": "3" } },
    { name: "city", type: "string", required: false, recode: { x: "a" } },
  ];
  const pre = {
    version: 1,
    engineered: [],
    numeric: [],
    categorical: [
      { name: "grade", categories: ["1", "2", "3"] },
      { name: "city", categories: ["a", "b"] },
    ],
    clip: 5,
    featureNames: [],
  } as PreprocessorState;

  it.each(["strict", "mlflow"] as const)(
    "given JSON rows under %s enforcement, then raw codes reach the preprocessor recoded, other values as sent",
    (enforcement) => {
      const rows = [
        { grade: 0, city: "x" },
        { grade: 5, city: "b" },
        { grade: 2, city: "a" },
        { grade: 9, city: null },
      ];
      const { table, problems } = rowsToTable(rows, inputs, pre, "json", { enforcement });
      expect(problems).toEqual([]);
      expect(table.categorical.grade).toEqual(["3", "3", "2", "9"]);
      expect(table.categorical.city).toEqual(["a", "b", "a", ""]);
    },
  );

  it("given CSV text (as batch scoring reads it), then '0', '00' and '0.0' are all the raw code 0, recoded", () => {
    const rows = [
      { grade: "0", city: "x" },
      { grade: "00", city: "a" },
      { grade: " 0.0 ", city: "b" },
      { grade: "1", city: "x" },
    ];
    const { table, problems } = rowsToTable(rows, inputs, pre, "text");
    expect(problems).toEqual([]);
    expect(table.categorical.grade).toEqual(["3", "3", "3", "1"]);
    expect(table.categorical.city).toEqual(["a", "a", "b", "a"]);
  });

  it("given the string '0' under mlflow enforcement, then it is converted, warned about, and recoded", () => {
    const { table, problems, warnings } = rowsToTable([{ grade: "0" }], inputs, pre, "json", {
      enforcement: "mlflow",
    });
    expect(problems).toEqual([]);
    expect(table.categorical.grade).toEqual(["3"]);
    expect(warnings).toEqual([
      { kind: "converted", field: "grade", count: 1, example: 'the string "0" -> 0' },
    ]);
  });

  it("given a raw code that is not valid for the column type, then it is still a problem (recoding comes after the check)", () => {
    const { problems } = rowsToTable([{ grade: "zero", city: 0 }], inputs, pre, "json", {
      enforcement: "strict",
    });
    expect(problems).toEqual([
      { row: 0, field: "grade", problem: 'expected a number, got the string "zero"' },
      { row: 0, field: "city", problem: "expected a string, got number 0" },
    ]);
  });
});

/**
 * A copy of the format-1 logistic fixture whose categorical column `c` is a long category column (codes 1, 2)
 * of which the raw codes 0 and 5 mean 2, as a manifest's `recode: { "0": 2, "5": 2 }` says. `recode` overrides
 * the map written to model-meta.json (null: none, as in packages written before the map).
 */
async function recodedPackage(recode: unknown = { "0": "2", "5": "2" }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "recode-package-"));
  scratch.push(dir);
  await cp(path.resolve("tests/fixtures/packages/v1-logistic"), dir, { recursive: true });
  const rename = (names: string[]) => names.map((n) => ({ "c=a": "c=1", "c=b": "c=2" })[n] ?? n);
  const metaFile = path.join(dir, "model-meta.json");
  const meta = JSON.parse(await readFile(metaFile, "utf8")) as {
    inputs: Record<string, unknown>[];
    featureNames: string[];
  };
  meta.inputs = meta.inputs.map((c) =>
    c.name === "c" ? { ...c, type: "long", ...(recode === null ? {} : { recode }) } : c,
  );
  meta.featureNames = rename(meta.featureNames);
  await writeFile(metaFile, JSON.stringify(meta));
  const preFile = path.join(dir, "preprocessor.json");
  const pre = JSON.parse(await readFile(preFile, "utf8")) as PreprocessorState;
  pre.categorical = pre.categorical.map((s) => (s.name === "c" ? { ...s, categories: ["1", "2"] } : s));
  pre.featureNames = rename(pre.featureNames);
  await writeFile(preFile, JSON.stringify(pre));
  return dir;
}

async function predictorOf(dir: string): Promise<Predictor> {
  const packaged = await loadModelPackage(dir);
  return new Predictor(packaged, {
    uri: dir,
    name: packaged.meta.name,
    version: undefined,
    alias: undefined,
    runId: undefined,
    modelId: undefined,
  });
}

describe("a model package whose signature recodes a category", () => {
  const ROWS = [
    { x1: 0.5, x2: 10 },
    { x1: -1.2, x2: 80 },
    { x1: 3.1, x2: 0 },
  ];

  it("given the raw code, then the served model scores it exactly as the recoded value (not as an unseen category)", async () => {
    const predictor = await predictorOf(await recodedPackage());
    try {
      expect(predictor.model.meta.inputs.find((c) => c.name === "c")?.recode).toEqual({ "0": "2", "5": "2" });
      const as = (c: unknown) => predictor.predict(ROWS.map((r) => ({ ...r, c })));
      expect(as(0)).toEqual(as(2));
      expect(as(5)).toEqual(as(2));
      expect(
        predictor.predict(
          ROWS.map((r) => ({ ...r, c: "0" })),
          "text",
        ),
      ).toEqual(as(2));
      // The comparison can fail: an unseen code scores otherwise.
      expect(as(9)).not.toEqual(as(2));
    } finally {
      predictor.retire();
    }
  });

  it("given a package written before the map (no recode), then it loads and the raw code is an unseen category", async () => {
    const predictor = await predictorOf(await recodedPackage(null));
    try {
      expect(Object.hasOwn(predictor.model.meta.inputs.find((c) => c.name === "c")!, "recode")).toBe(false);
      const as = (c: unknown) => predictor.predict(ROWS.map((r) => ({ ...r, c })));
      expect(as(0)).toEqual(as(9));
    } finally {
      predictor.retire();
    }
  });

  it("given a recode map that is not category key → category key, then MODEL_PACKAGE_INVALID names the field", async () => {
    const dir = await recodedPackage({ "0": 2 });
    const error = await rejectionOf(loadModelPackage(dir));
    expect(error).toMatchObject({ code: "MODEL_PACKAGE_INVALID" });
    expect(error.message).toBe(
      `${dir}/model-meta.json is invalid: inputs.2.recode.0: Expected string, received number`,
    );
  });

  it("given a CSV of raw codes, then batch scoring writes the same probabilities and labels as for the recoded values", async () => {
    const dir = await recodedPackage();
    const predictor = await predictorOf(dir);
    try {
      const input = path.join(dir, "rows.csv");
      const lines = ROWS.flatMap((r, i) => ["0", "2", "5", "9"].map((c) => `${i}-${c},${r.x1},${r.x2},${c}`));
      await writeFile(input, `ID,x1,x2,c\n${lines.join("\n")}\n`);
      const output = path.join(dir, "scored.csv");
      const result = await batchPredict(predictor, { input, output, maxBadFraction: 0 });
      expect(result).toMatchObject({ rowsRead: 12, rowsScored: 12, rowsQuarantined: 0 });
      const scored = parse(await readFile(output, "utf8"), { columns: true }) as Record<string, string>[];
      const byId = new Map(scored.map((row) => [row.ID!, row]));
      const scores = (id: string) => {
        const { ID: _id, c: _c, ...rest } = byId.get(id)!;
        return rest;
      };
      for (let i = 0; i < ROWS.length; i++) {
        expect(scores(`${i}-0`), `row ${i}: raw 0 as 2`).toEqual(scores(`${i}-2`));
        expect(scores(`${i}-5`), `row ${i}: raw 5 as 2`).toEqual(scores(`${i}-2`));
        expect(scores(`${i}-9`), `row ${i}: an unseen code scores otherwise`).not.toEqual(scores(`${i}-2`));
      }
      expect(byId.get("0-0")!.c, "the output keeps the input as written").toBe("0");
    } finally {
      predictor.retire();
    }
  });
});
