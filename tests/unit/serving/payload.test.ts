import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { PreprocessorState } from "../../../src/features/preprocessor.js";
import type { SignatureColumn } from "../../../src/registry/model-package.js";
import { rowsToTable } from "../../../src/serving/input.js";
import { PayloadError, parseScoringPayload } from "../../../src/serving/payload.js";
import { PredictionLog } from "../../../src/serving/prediction-log.js";
import { thrownBy } from "../../helpers/expect-error.js";

const rows = [
  { a: 1, b: "x" },
  { a: 2, b: "y" },
];

const payloadError = (fn: () => unknown) => thrownBy(fn, PayloadError);

describe("MLflow scoring protocol payloads", () => {
  it.each([
    [
      "dataframe_split",
      {
        dataframe_split: {
          columns: ["a", "b"],
          data: [
            [1, "x"],
            [2, "y"],
          ],
        },
      },
    ],
    ["dataframe_records", { dataframe_records: rows }],
    ["instances", { instances: rows }],
    ["inputs (records)", { inputs: rows }],
    ["inputs (columns)", { inputs: { a: [1, 2], b: ["x", "y"] } }],
  ])("%s gives the same rows", (_name, body) => {
    expect(parseScoringPayload(body, "json").rows).toEqual(rows);
  });

  it("CSV gives text rows and params are passed through", () => {
    expect(parseScoringPayload("a,b\n1,x\n2,y\n", "csv")).toMatchObject({
      rows: [
        { a: "1", b: "x" },
        { a: "2", b: "y" },
      ],
      mode: "text",
    });
    expect(parseScoringPayload({ instances: rows, params: { k: 1 } }, "json").params).toEqual({ k: 1 });
  });

  it.each([
    [{}, "received fields: none"],
    [{ instances: rows, inputs: rows }, "received fields: instances, inputs"],
    [[1, 2], "must be a JSON dictionary"],
    [
      { dataframe_split: { columns: ["a"], data: [[1, 2]] } },
      "'dataframe_split.data[0]' must be a list of 1 values",
    ],
    [{ dataframe_split: [1] }, "'dataframe_split' must be"],
    [{ instances: [1] }, "'instances[0]' must be an object"],
    [{ inputs: { a: [1], b: [1, 2] } }, "every column to a list of the same length"],
  ])("given %j, then 400 BAD_REQUEST: %s", (body, message) => {
    const error = payloadError(() => parseScoringPayload(body, "json"));
    expect(error.status).toBe(400);
    expect(error.errorCode).toBe("BAD_REQUEST");
    expect(error.message).toContain(message);
  });
});

const inputs: SignatureColumn[] = [
  { name: "amount", type: "double", required: true },
  { name: "age", type: "long", required: true },
  { name: "grade", type: "long", required: true },
  { name: "city", type: "string", required: false },
];
const pre = {
  version: 1,
  engineered: [],
  numeric: [],
  categorical: [
    { name: "grade", categories: ["1"] },
    { name: "city", categories: ["a"] },
  ],
  clip: 5,
  featureNames: [],
} as PreprocessorState;

describe("rows against the model signature", () => {
  it("accepts good rows; unknown categories are left to the unknown bucket", () => {
    const { table, problems } = rowsToTable(
      [{ amount: 1.5, age: 30, grade: 7, city: "zzz" }],
      inputs,
      pre,
      "json",
    );
    expect(problems).toEqual([]);
    expect(table.numeric.amount![0]).toBe(1.5);
    expect(table.categorical.grade![0]).toBe("7");
    expect(table.categorical.city![0]).toBe("zzz");
  });

  it("reports every problem with row and field", () => {
    const { problems } = rowsToTable(
      [
        { amount: "1.5", age: 30.5, grade: 1, extra: true },
        { amount: "NaN", age: null, grade: "1", city: 3 },
        { age: 1, grade: 1 },
      ],
      inputs,
      pre,
      "json",
    );
    expect(problems).toEqual([
      { row: 0, field: "extra", problem: "unknown column (not in the model's signature)" },
      { row: 0, field: "amount", problem: 'expected a number, got the string "1.5"' },
      { row: 0, field: "age", problem: "expected an integer, got 30.5" },
      { row: 1, field: "amount", problem: 'not a number: the string "NaN"' },
      { row: 1, field: "age", problem: "null where a value is required" },
      { row: 1, field: "grade", problem: 'expected a number, got the string "1"' },
      { row: 1, field: "city", problem: "expected a string, got number 3" },
      { row: 2, field: "amount", problem: "missing (required)" },
    ]);
  });

  it("CSV text is parsed: numbers from strings, empty cells are nulls", () => {
    const { table, problems } = rowsToTable(
      [{ amount: "2.5", age: "40", grade: "1", city: "" }],
      inputs,
      pre,
      "text",
    );
    expect(problems).toEqual([]);
    expect(table.numeric.age![0]).toBe(40);
  });
});

describe("prediction log", () => {
  it("samples, writes JSONL and rotates within its size bound", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "plog-"));
    try {
      let i = 0;
      const log = new PredictionLog({
        dir,
        sampleRate: 0.5,
        maxBytes: 400,
        maxFiles: 2,
        random: () => (i++ % 2 === 0 ? 0.1 : 0.9),
      });
      const record = {
        time: "t",
        requestId: "r",
        model: { name: "m", version: "1" },
        inputs: [{ a: 1 }],
        outputs: [{ label: "1", probabilities: { "0": 0.2, "1": 0.8 } }],
      };
      const written = Array.from({ length: 20 }, () => log.write(record)).filter(Boolean).length;
      await log.flush();
      expect(written, "half the requests sampled").toBe(10);
      const files = (await readdir(dir)).sort();
      expect(files).toEqual(["predictions.1.jsonl", "predictions.2.jsonl", "predictions.jsonl"]);
      for (const f of files) {
        const text = await readFile(path.join(dir, f), "utf8");
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(400);
        for (const line of text.trim().split("\n")) expect(JSON.parse(line).model.version).toBe("1");
      }
      expect(log.failures).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
