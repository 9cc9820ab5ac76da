import { isMissingField, parseNumberField } from "../data/csv-value.js";
import type { Table } from "../data/table.js";
import type { PreprocessorState } from "../features/preprocessor.js";
import type { SignatureColumn } from "../registry/model-package.js";

/** One problem of one field of one row, as returned to the client. */
export interface FieldProblem {
  row: number;
  field: string;
  problem: string;
}

/** How cell values arrive: typed JSON, or text (CSV) to be parsed. */
export type InputMode = "json" | "text";

/** Names longer than this are clipped wherever they are echoed back (errors, logs). */
const NAME_ECHO_CHARS = 64;

/**
 * A column or key name as it may be echoed back in an error: names past 64 characters are cut, with their
 * length, so a 1 MB name costs the answer ~80 bytes.
 * @example clipName("x".repeat(1_000_000)) // "xxxx…xxxx…(1000000 chars)" (64 x's)
 */
export function clipName(name: string): string {
  return name.length <= NAME_ECHO_CHARS ? name : `${name.slice(0, NAME_ECHO_CHARS)}…(${name.length} chars)`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string")
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

export interface RowsToTableOptions {
  /** Columns outside the signature are ignored instead of reported (batch scoring keeps ID columns). */
  allowExtraColumns?: boolean;
  /** List at most this many problems (all are still counted in `problemCount`): bounds an error's size. */
  maxProblems?: number;
}

/**
 * Checks rows against the model's input signature and builds the table the preprocessor reads.
 * Every problem is collected (never only the first): missing and unknown columns, wrong types, nulls where a
 * value is required, non-finite numbers. Unknown category values are fine: the preprocessor's unknown bucket
 * takes them. Text cells (CSV) are read by data/csv-value.ts, as training reads them: missing tokens (NA,
 * null, …) are missing values, and only plain decimal notation is a number ("0x31", "0b1", "1_000" are not).
 */
export function rowsToTable(
  rows: readonly Record<string, unknown>[],
  inputs: readonly SignatureColumn[],
  preprocessor: PreprocessorState,
  mode: InputMode,
  options: RowsToTableOptions = {},
): { table: Table; problems: FieldProblem[]; problemCount: number } {
  const problems: FieldProblem[] = [];
  const maxProblems = options.maxProblems ?? Number.POSITIVE_INFINITY;
  let problemCount = 0;
  const report = (problem: FieldProblem) => {
    problemCount++;
    if (problems.length < maxProblems) problems.push(problem);
  };
  const categorical = new Set(preprocessor.categorical.map((s) => s.name));
  const known = new Set(inputs.map((c) => c.name));
  const numeric: Record<string, Float64Array> = {};
  const categories: Record<string, string[]> = {};
  for (const column of inputs) {
    if (categorical.has(column.name)) categories[column.name] = new Array<string>(rows.length).fill("");
    else numeric[column.name] = new Float64Array(rows.length).fill(Number.NaN);
  }
  rows.forEach((row, r) => {
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      report({
        row: r,
        field: "",
        problem: `each row must be an object of column → value, got ${describe(row)}`,
      });
      return;
    }
    if (!options.allowExtraColumns) {
      for (const field of Object.keys(row)) {
        if (!known.has(field))
          report({
            row: r,
            field: clipName(field),
            problem: "unknown column (not in the model's signature)",
          });
      }
    }
    for (const column of inputs) {
      const value = Object.hasOwn(row, column.name) ? row[column.name] : undefined;
      // A CSV token meaning "no value" (NA, null, …): its trimmed text, else undefined.
      const token =
        mode === "text" && typeof value === "string" && isMissingField(value) ? value.trim() : undefined;
      if (token !== undefined || value === undefined || value === null) {
        if (column.required)
          report({
            row: r,
            field: column.name,
            // Worded as batch scoring words its quarantine reasons (pipelines/predict.ts).
            problem:
              token !== undefined
                ? `${token === "" ? "empty" : `missing ('${token}')`} where a value is required`
                : value === undefined
                  ? "missing (required)"
                  : "null where a value is required",
          });
        continue;
      }
      if (column.type === "string") {
        if (typeof value !== "string") {
          report({ row: r, field: column.name, problem: `expected a string, got ${describe(value)}` });
          continue;
        }
        if (categories[column.name] !== undefined) categories[column.name]![r] = value;
        continue;
      }
      let number: number;
      if (typeof value === "number") number = value;
      else if (typeof value === "string" && mode === "text") {
        const parsed = parseNumberField(value);
        if (parsed === undefined) {
          report({ row: r, field: column.name, problem: `not a number: ${describe(value)}` });
          continue;
        }
        number = parsed;
      } else if (typeof value === "string" && (value === "NaN" || /infinity/i.test(value)))
        number = Number(value);
      else {
        report({ row: r, field: column.name, problem: `expected a number, got ${describe(value)}` });
        continue;
      }
      if (!Number.isFinite(number)) {
        report({
          row: r,
          field: column.name,
          problem: Number.isNaN(number) ? `not a number: ${describe(value)}` : "not a finite number",
        });
        continue;
      }
      if (column.type === "long" && !Number.isInteger(number)) {
        report({ row: r, field: column.name, problem: `expected an integer, got ${number}` });
        continue;
      }
      if (categorical.has(column.name)) categories[column.name]![r] = String(number);
      else numeric[column.name]![r] = number;
    }
  });
  return {
    table: {
      rowCount: rows.length,
      numeric,
      categorical: categories,
      target: [],
      ids: {},
      lines: Int32Array.from(rows, (_, i) => i),
    },
    problems,
    problemCount,
  };
}
