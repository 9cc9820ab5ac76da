// Text columns at the service's input (serving/input.ts): read as training reads them (data/validate.ts
// checkTextField), every bad case a named problem code with its row and field.
import { describe, expect, it } from "vitest";
import type { PreprocessorState } from "../../../src/features/preprocessor.js";
import { type SignatureColumn, textInputs } from "../../../src/registry/signature.js";
import { missingTextColumns, rowsToTable, textRules } from "../../../src/serving/input.js";
import { invalidInput } from "../../../src/serving/predict-payload.js";
import { warningsHeader } from "../../../src/serving/schema-warnings.js";

const TEXT = "narrative";
const inputs: SignatureColumn[] = [
  { name: TEXT, type: "string", required: true, text: { maxLength: 20, overLength: "truncate" } },
  { name: "state", type: "string", required: true },
];
const pre = {
  version: 1,
  engineered: [],
  numeric: [],
  categorical: [{ name: "state", categories: ["CA"] }],
  text: [
    {
      name: TEXT,
      normalize: { lowercase: true, masks: "drop", numbers: "token", punctuation: "strip" },
    },
  ],
  clip: 5,
  featureNames: [],
} as PreprocessorState;

const check = (
  rows: Record<string, unknown>[],
  options: { enforcement?: "mlflow" | "strict"; mode?: "json" | "text"; columns?: SignatureColumn[] } = {},
) =>
  rowsToTable(rows, options.columns ?? inputs, pre, options.mode ?? "json", {
    enforcement: options.enforcement ?? "mlflow",
  });

describe("text columns at the service's input", () => {
  it("given texts, then they go to the table's text columns as written (not a NaN numeric column), in both modes", () => {
    for (const enforcement of ["mlflow", "strict"] as const) {
      const { table, problems, warnings } = check(
        [
          { [TEXT]: "My card was charged", state: "CA" },
          { [TEXT]: "NA", state: "CA" },
          { [TEXT]: "  padded  ", state: "CA" },
        ],
        { enforcement },
      );
      expect(problems, enforcement).toEqual([]);
      expect(warnings, enforcement).toEqual([]);
      expect(table.text[TEXT], "a text column, 'NA' a word").toEqual([
        "My card was charged",
        "NA",
        "  padded  ",
      ]);
      expect(table.numeric[TEXT], "never a numeric column").toBeUndefined();
      expect(table.categorical.state).toEqual(["CA", "CA", "CA"]);
    }
  });

  it("given CSV cells (text/csv), then a text cell is text: missing tokens are words there", () => {
    const { table, problems } = check([{ [TEXT]: "null", state: "CA" }], { mode: "text" });
    expect(problems).toEqual([]);
    expect(table.text[TEXT]).toEqual(["null"]);
  });

  it("given an empty, whitespace-only, null or absent text in a required text column, then TEXT_EMPTY names each row", () => {
    for (const enforcement of ["mlflow", "strict"] as const) {
      const { problems } = check(
        [
          { [TEXT]: "fine", state: "CA" },
          { [TEXT]: "", state: "CA" },
          { [TEXT]: " \t\n ", state: "CA" },
          { [TEXT]: null, state: "CA" },
          { state: "CA" },
        ],
        { enforcement },
      );
      expect(problems, enforcement).toEqual([
        { row: 1, field: TEXT, problem: `${TEXT} is empty (the column is not nullable)`, code: "TEXT_EMPTY" },
        {
          row: 2,
          field: TEXT,
          problem: `${TEXT} is whitespace only (the column is not nullable)`,
          code: "TEXT_EMPTY",
        },
        {
          row: 3,
          field: TEXT,
          problem: "null where a text is required (the column is not nullable)",
          code: "TEXT_EMPTY",
        },
        {
          row: 4,
          field: TEXT,
          problem: "missing where a text is required (the column is not nullable)",
          code: "TEXT_EMPTY",
        },
      ]);
    }
  });

  it("given a nullable text column, then empty, whitespace-only, null and absent texts are scored as missing ('')", () => {
    const columns: SignatureColumn[] = [{ ...inputs[0]!, required: false }, inputs[1]!];
    const { table, problems } = check(
      [
        { [TEXT]: "", state: "CA" },
        { [TEXT]: "   ", state: "CA" },
        { [TEXT]: null, state: "CA" },
        { state: "CA" },
      ],
      { columns },
    );
    expect(problems).toEqual([]);
    expect(table.text[TEXT]).toEqual(["", "", "", ""]);
  });

  it("given a text over maxLength (overLength: truncate), then it is cut and counted as text_truncated, in both modes", () => {
    for (const enforcement of ["mlflow", "strict"] as const) {
      const long = "a".repeat(25);
      const { table, problems, warnings } = check(
        [
          { [TEXT]: long, state: "CA" },
          { [TEXT]: `${"b".repeat(30)}`, state: "CA" },
          { [TEXT]: "short", state: "CA" },
        ],
        { enforcement },
      );
      expect(problems, enforcement).toEqual([]);
      expect(table.text[TEXT]).toEqual(["a".repeat(20), "b".repeat(20), "short"]);
      expect(warnings).toEqual([
        { kind: "text_truncated", field: TEXT, count: 2, example: "25 characters -> 20" },
      ]);
      expect(warningsHeader(warnings)).toBe(
        `${TEXT}: 2 values truncated to the column's maxLength (25 characters -> 20)`,
      );
    }
  });

  it("given a text over maxLength (overLength: reject), then TEXT_TOO_LONG names the row, its length and the limit", () => {
    const columns: SignatureColumn[] = [
      { ...inputs[0]!, text: { maxLength: 20, overLength: "reject" } },
      inputs[1]!,
    ];
    const { problems, warnings } = check(
      [
        { [TEXT]: "ok", state: "CA" },
        { [TEXT]: "x".repeat(21), state: "CA" },
      ],
      { columns },
    );
    expect(warnings).toEqual([]);
    expect(problems).toEqual([
      {
        row: 1,
        field: TEXT,
        problem: `${TEXT} has 21 characters, more than its maxLength 20`,
        code: "TEXT_TOO_LONG",
      },
    ]);
  });

  it("given a number or boolean for a text, then MLflow's reading (its text, a `converted` warning) by default and TEXT_NOT_STRING under --strict", () => {
    const rows = [
      { [TEXT]: 5, state: "CA" },
      { [TEXT]: true, state: "CA" },
    ];
    const lenient = check(rows);
    expect(lenient.problems).toEqual([]);
    expect(lenient.table.text[TEXT]).toEqual(["5", "true"]);
    expect(lenient.warnings).toEqual([
      { kind: "converted", field: TEXT, count: 2, example: 'number 5 -> "5"' },
    ]);
    expect(check(rows, { enforcement: "strict" }).problems).toEqual([
      { row: 0, field: TEXT, problem: "expected a text (a string), got number 5", code: "TEXT_NOT_STRING" },
      {
        row: 1,
        field: TEXT,
        problem: "expected a text (a string), got boolean true",
        code: "TEXT_NOT_STRING",
      },
    ]);
  });

  it("given a list or an object for a text, then TEXT_NOT_STRING in both modes (never scored as '[object Object]')", () => {
    for (const enforcement of ["mlflow", "strict"] as const) {
      const { problems } = check(
        [
          { [TEXT]: ["a", "b"], state: "CA" },
          { [TEXT]: { t: "a" }, state: "CA" },
        ],
        { enforcement },
      );
      expect(problems, enforcement).toEqual([
        { row: 0, field: TEXT, problem: "expected a text (a string), got an array", code: "TEXT_NOT_STRING" },
        {
          row: 1,
          field: TEXT,
          problem: "expected a text (a string), got object [object Object]",
          code: "TEXT_NOT_STRING",
        },
      ]);
    }
  });

  it("given tabular rows without the text column, then missingTextColumns names it (the service answers TEXT_COLUMN_MISSING)", () => {
    expect(missingTextColumns([{ state: "CA", LIMIT_BAL: 2000 }, { state: "NY" }], inputs, pre)).toEqual([
      TEXT,
    ]);
    expect(
      missingTextColumns([{ state: "CA" }, { [TEXT]: "x" }], inputs, pre),
      "in one row: per-row problems",
    ).toEqual([]);
    const optional: SignatureColumn[] = [{ ...inputs[0]!, required: false }, inputs[1]!];
    expect(
      missingTextColumns([{ state: "CA" }], optional, pre),
      "a nullable text column may be absent",
    ).toEqual([]);
  });

  it("given a package whose signature predates the text rule, then the preprocessor's text columns are text with the manifest's defaults", () => {
    const old: SignatureColumn[] = [{ name: TEXT, type: "string", required: true }, inputs[1]!];
    expect([...textRules(old, pre)]).toEqual([[TEXT, { maxLength: 20_000, overLength: "truncate" }]]);
    const { table, problems } = check([{ [TEXT]: "a complaint", state: "CA" }], { columns: old });
    expect(problems).toEqual([]);
    expect(table.text[TEXT]).toEqual(["a complaint"]);
    expect(textInputs(old), "the signature alone has none").toEqual([]);
  });
});

describe("the service's 422 answer to field problems", () => {
  it("given only text problems of one code, then that code is the error_code and the message names the first row", () => {
    const { problems, problemCount } = check([
      { [TEXT]: "", state: "CA" },
      { [TEXT]: " ", state: "CA" },
    ]);
    const error = invalidInput(problems, problemCount);
    expect(error.status).toBe(422);
    expect(error.errorCode).toBe("TEXT_EMPTY");
    expect(error.message).toBe(
      `2 problems in the input: row 0, ${TEXT}: ${TEXT} is empty (the column is not nullable)`,
    );
    expect(error.errors).toHaveLength(2);
  });

  it("given mixed problems (or tabular ones), then INVALID_INPUT as before", () => {
    const { problems, problemCount } = check(
      [
        { [TEXT]: "", state: "CA" },
        { [TEXT]: "ok", state: 5 },
      ],
      { enforcement: "strict" },
    );
    const error = invalidInput(problems, problemCount);
    expect(error.errorCode).toBe("INVALID_INPUT");
    expect(error.message).toBe("2 problems in the input");
    expect(error.errors).toEqual([
      { row: 0, field: TEXT, problem: `${TEXT} is empty (the column is not nullable)`, code: "TEXT_EMPTY" },
      { row: 1, field: "state", problem: "expected a string, got number 5" },
    ]);
  });
});
