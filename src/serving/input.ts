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

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string")
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

/**
 * Checks rows against the model's input signature and builds the table the preprocessor reads.
 * Every problem is collected (never only the first): missing and unknown columns, wrong types, nulls where a
 * value is required, non-finite numbers. Unknown category values are fine: the preprocessor's unknown bucket
 * takes them.
 */
export function rowsToTable(
  rows: readonly Record<string, unknown>[],
  inputs: readonly SignatureColumn[],
  preprocessor: PreprocessorState,
  mode: InputMode,
  options: { allowExtraColumns?: boolean } = {},
): { table: Table; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
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
      problems.push({
        row: r,
        field: "",
        problem: `each row must be an object of column → value, got ${describe(row)}`,
      });
      return;
    }
    if (!options.allowExtraColumns) {
      for (const field of Object.keys(row)) {
        if (!known.has(field))
          problems.push({ row: r, field, problem: "unknown column (not in the model's signature)" });
      }
    }
    for (const column of inputs) {
      let value = row[column.name];
      if (mode === "text" && value === "") value = null;
      if (value === undefined || value === null) {
        if (column.required)
          problems.push({
            row: r,
            field: column.name,
            problem: value === undefined ? "missing (required)" : "null where a value is required",
          });
        continue;
      }
      if (column.type === "string") {
        if (typeof value !== "string") {
          problems.push({ row: r, field: column.name, problem: `expected a string, got ${describe(value)}` });
          continue;
        }
        if (categories[column.name] !== undefined) categories[column.name]![r] = value;
        continue;
      }
      let number: number;
      if (typeof value === "number") number = value;
      else if (typeof value === "string" && (mode === "text" || value === "NaN" || /infinity/i.test(value)))
        number = value.trim() === "" ? Number.NaN : Number(value);
      else {
        problems.push({ row: r, field: column.name, problem: `expected a number, got ${describe(value)}` });
        continue;
      }
      if (!Number.isFinite(number)) {
        problems.push({
          row: r,
          field: column.name,
          problem: Number.isNaN(number) ? `not a number: ${describe(value)}` : "not a finite number",
        });
        continue;
      }
      if (column.type === "long" && !Number.isInteger(number)) {
        problems.push({ row: r, field: column.name, problem: `expected an integer, got ${number}` });
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
  };
}
