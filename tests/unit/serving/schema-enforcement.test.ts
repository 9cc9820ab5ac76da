import { describe, expect, it } from "vitest";
import { strictFromEnv } from "../../../src/cli/serve-command.js";
import type { PreprocessorState } from "../../../src/features/preprocessor.js";
import type { SignatureColumn } from "../../../src/registry/model-package.js";
import { rowsToTable } from "../../../src/serving/input.js";
import { warningsHeader } from "../../../src/serving/schema-warnings.js";
import { ConfigError } from "../../../src/shared/errors.js";
import { thrownBy } from "../../helpers/expect-error.js";

const inputs: SignatureColumn[] = [
  { name: "amount", type: "double", required: true },
  { name: "age", type: "long", required: true },
  { name: "grade", type: "long", required: true },
  { name: "city", type: "string", required: true },
  { name: "bonus", type: "long", required: false },
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
const ROW = { amount: 1.5, age: 30, grade: 1, city: "a", bonus: 2 };

const mlflow = (rows: Record<string, unknown>[], mode: "json" | "text" = "json") =>
  rowsToTable(rows, inputs, pre, mode, { enforcement: "mlflow" });
const strict = (rows: Record<string, unknown>[], mode: "json" | "text" = "json") =>
  rowsToTable(rows, inputs, pre, mode, { enforcement: "strict" });

describe("MLflow's schema enforcement (the service's default)", () => {
  it("given what MLflow's scoring server adjusts, then it is scored and every adjustment is a warning", () => {
    const { table, problems, warnings } = mlflow([
      { ...ROW, ID: 7, target: "1", amount: " 2.5 ", age: "+41", grade: "1" },
      { ...ROW, amount: true, age: 24.5, city: 5 },
      { ...ROW, amount: null, city: null, ID: 8 },
      { ...ROW, amount: "nan" },
    ]);
    expect(problems).toEqual([]);
    expect(Array.from(table.numeric.amount!)).toEqual([2.5, 1, Number.NaN, Number.NaN]);
    expect(Array.from(table.numeric.age!)).toEqual([41, 24.5, 30, 30]);
    expect(table.categorical.grade).toEqual(["1", "1", "1", "1"]);
    expect(table.categorical.city).toEqual(["a", "5", "", "a"]);
    expect(warnings).toEqual([
      { kind: "extra_column", field: "ID", count: 2, example: "" },
      { kind: "extra_column", field: "target", count: 1, example: "" },
      { kind: "converted", field: "amount", count: 2, example: 'the string " 2.5 " -> 2.5' },
      { kind: "converted", field: "age", count: 1, example: 'the string "+41" -> 41' },
      { kind: "converted", field: "grade", count: 1, example: 'the string "1" -> 1' },
      { kind: "not_integer", field: "age", count: 1, example: "24.5" },
      { kind: "converted", field: "city", count: 1, example: 'number 5 -> "5"' },
      { kind: "missing_required", field: "amount", count: 2, example: "null" },
      { kind: "missing_required", field: "city", count: 1, example: "null" },
    ]);
    expect(warningsHeader(warnings)).toBe(
      'extra columns ignored: ID, target; amount: 2 values converted (the string " 2.5 " -> 2.5); age: 1 value converted (the string "+41" -> 41); grade: 1 value converted (the string "1" -> 1); age: 1 value not an integer for a long column, scored as sent (24.5); city: 1 value converted (number 5 -> "5"); amount: 2 values missing in a required column, scored as missing (null); city: 1 value missing in a required column, scored as missing (null)',
    );
  });

  it("given what MLflow refuses too, then each is a problem naming the row and field", () => {
    const { problems, warnings } = mlflow([
      { ...ROW, amount: "abc" },
      { ...ROW, amount: "Infinity", age: "24.5" },
      { ...ROW, age: null, grade: "1e3" },
      { ...ROW, amount: [1], city: { a: 1 } },
      { ...ROW, amount: "1_000", age: "99999999999999999999" },
    ]);
    expect(problems).toEqual([
      { row: 0, field: "amount", problem: 'not a number: the string "abc"' },
      { row: 1, field: "amount", problem: "not a finite number" },
      {
        row: 1,
        field: "age",
        problem: 'not an integer: the string "24.5" (a long column takes integer text only)',
      },
      { row: 2, field: "age", problem: "null where a value is required" },
      {
        row: 2,
        field: "grade",
        problem: 'not an integer: the string "1e3" (a long column takes integer text only)',
      },
      { row: 3, field: "amount", problem: "expected a number, got an array" },
      { row: 3, field: "city", problem: "expected a string, got object [object Object]" },
      { row: 4, field: "amount", problem: 'not a number: the string "1_000"' },
      { row: 4, field: "age", problem: 'integer out of range: the string "99999999999999999999"' },
    ]);
    expect(warnings).toEqual([]);
  });

  it('given "NaN" for an optional double, then it is missing, with a warning', () => {
    const optional: SignatureColumn[] = [{ name: "rate", type: "double", required: false }];
    const { table, problems, warnings } = rowsToTable([{ rate: "NaN" }], optional, pre, "json", {
      enforcement: "mlflow",
    });
    expect(problems).toEqual([]);
    expect(Number.isNaN(table.numeric.rate![0])).toBe(true);
    expect(warnings).toEqual([
      { kind: "converted", field: "rate", count: 1, example: 'the string "NaN" -> missing' },
    ]);
  });

  it("given a required column absent from every row, then it is missing; absent from one record only, then it is null there", () => {
    const { amount: _a, ...noAmount } = ROW;
    expect(mlflow([noAmount, noAmount]).problems).toEqual([
      { row: 0, field: "amount", problem: "missing (required)" },
      { row: 1, field: "amount", problem: "missing (required)" },
    ]);
    const once = mlflow([noAmount, ROW]);
    expect(once.problems).toEqual([]);
    expect(once.warnings).toEqual([
      { kind: "missing_required", field: "amount", count: 1, example: "absent" },
    ]);
    const { age: _g, ...noAge } = ROW;
    expect(mlflow([noAge, ROW]).problems, "a long cannot hold a missing value").toEqual([
      { row: 0, field: "age", problem: "missing (required)" },
    ]);
  });

  it("given CSV text, then it is read as training reads it; NA in a required double is missing, in a long refused, 24.5 for a long refused", () => {
    const text = { amount: "1.5", age: "30", grade: "1", city: "a", bonus: "" };
    const { problems, warnings } = mlflow(
      [
        { ...text, amount: "NA" },
        { ...text, age: "" },
        { ...text, age: "24.5" },
        { ...text, age: "3.0", extra: "x" },
      ],
      "text",
    );
    expect(problems).toEqual([
      { row: 1, field: "age", problem: "empty where a value is required" },
      { row: 2, field: "age", problem: "expected an integer, got 24.5" },
    ]);
    expect(warnings).toEqual([
      { kind: "missing_required", field: "amount", count: 1, example: 'the string "NA"' },
      { kind: "extra_column", field: "extra", count: 1, example: "" },
    ]);
  });

  it("given --strict, then every adjustment is a problem and nothing is a warning", () => {
    const { problems, warnings } = strict([
      { ...ROW, ID: 7, amount: "2.5", age: 24.5, city: null },
      { ...ROW, amount: true, grade: "1", city: 5 },
    ]);
    expect(warnings).toEqual([]);
    expect(problems).toEqual([
      { row: 0, field: "ID", problem: "unknown column (not in the model's signature)" },
      { row: 0, field: "amount", problem: 'expected a number, got the string "2.5"' },
      { row: 0, field: "age", problem: "expected an integer, got 24.5" },
      { row: 0, field: "city", problem: "null where a value is required" },
      { row: 1, field: "amount", problem: "expected a number, got boolean true" },
      { row: 1, field: "grade", problem: 'expected a number, got the string "1"' },
      { row: 1, field: "city", problem: "expected a string, got number 5" },
    ]);
  });
});

describe("the x-schema-warnings header", () => {
  it("lists at most 10 extra columns, escapes what is not printable ASCII, and stays under 2,000 characters", () => {
    const extra = Array.from({ length: 25 }, (_, i) => ({
      kind: "extra_column" as const,
      field: `é${i}`,
      count: 1,
      example: "",
    }));
    expect(warningsHeader(extra)).toBe(
      `extra columns ignored: ${Array.from({ length: 10 }, (_, i) => `\\u00e9${i}`).join(", ")}, \\u2026 (25 in all)`,
    );
    const many = Array.from({ length: 200 }, (_, i) => ({
      kind: "converted" as const,
      field: `column_${i}`,
      count: 1,
      example: 'the string "1" -> 1',
    }));
    const header = warningsHeader(many)!;
    expect(header.length).toBe(2000);
    expect(header.endsWith("...")).toBe(true);
    expect(warningsHeader([])).toBeUndefined();
  });
});

describe("WORKBENCH_SERVE_STRICT", () => {
  it("given true/1/yes or false/0/no/unset, then strict or not", () => {
    for (const v of ["true", "1", "YES", " yes "]) expect(strictFromEnv(v), v).toBe(true);
    for (const v of [undefined, "", "false", "0", "No"]) expect(strictFromEnv(v), String(v)).toBe(false);
  });

  it("given anything else, then CONFIG_ENV_INVALID says what is allowed", () => {
    const error = thrownBy(() => strictFromEnv("strict"), ConfigError);
    expect(error.code).toBe("CONFIG_ENV_INVALID");
    expect(error.message).toBe("WORKBENCH_SERVE_STRICT='strict' must be true or false.");
  });
});
