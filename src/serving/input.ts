import { isMissingField, parseNumberField } from "../data/csv-value.js";
import type { Table } from "../data/table.js";
import { checkTextField } from "../data/validate.js";
import type { PreprocessorState } from "../features/preprocessor.js";
import { recodeCategory, type SignatureColumn, type TextInputRule } from "../registry/signature.js";
import { type SchemaWarning, SchemaWarnings } from "./schema-warnings.js";

/**
 * Named problems of text columns (any other problem is INVALID_INPUT): no text (null, absent from the row, empty
 * or whitespace only) in a column that is not nullable; longer than the column's maxLength when its manifest
 * says `overLength: reject`; a value that is not text (a list, an object; under --strict also a number or a
 * boolean).
 */
export type TextProblemCode = "TEXT_EMPTY" | "TEXT_TOO_LONG" | "TEXT_NOT_STRING";

/** One problem of one field of one row, as returned to the client. */
export interface FieldProblem {
  row: number;
  field: string;
  problem: string;
  /** Set on text columns' problems: the service answers with this error_code when every problem shares it. */
  code?: TextProblemCode;
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

/**
 * How the input is checked against the signature. `mlflow` (the default of the service): MLflow's scoring
 * server semantics (mlflow/models/utils.py _enforce_schema, _enforce_mlflow_datatype and the pandas casts
 * of mlflow/utils/proto_json_utils.py): extra columns are ignored, lossless conversions applied, a required
 * double or string column may hold nulls; each adjustment is reported as a warning. `strict`: every one of
 * these is a problem (422).
 */
export type SchemaEnforcement = "mlflow" | "strict";

export interface RowsToTableOptions {
  /** Columns outside the signature are ignored instead of reported (batch scoring keeps ID columns). */
  allowExtraColumns?: boolean;
  /** List at most this many problems (all are still counted in `problemCount`): bounds an error's size. */
  maxProblems?: number;
  /** `strict` unless said otherwise (batch scoring); the service passes its own mode. */
  enforcement?: SchemaEnforcement;
}

export interface CheckedRows {
  table: Table;
  problems: FieldProblem[];
  problemCount: number;
  /** What the `mlflow` enforcement adjusted (under `strict`, only texts cut to their maxLength). */
  warnings: SchemaWarning[];
}

/** What a text column without a rule in its signature (a package written before the rule was) is checked with. */
const DEFAULT_TEXT_RULE: TextInputRule = { maxLength: 20_000, overLength: "truncate" };

/**
 * The text columns of a model's input, with their rule: signature columns carrying one, and (for packages whose
 * signature predates it) the preprocessor's text columns, with the manifest's defaults.
 */
export function textRules(
  inputs: readonly SignatureColumn[],
  preprocessor: PreprocessorState,
): Map<string, TextInputRule> {
  const rules = new Map<string, TextInputRule>();
  for (const column of inputs) if (column.text !== undefined) rules.set(column.name, column.text);
  for (const step of preprocessor.text ?? [])
    if (!rules.has(step.name) && inputs.some((c) => c.name === step.name))
      rules.set(step.name, DEFAULT_TEXT_RULE);
  return rules;
}

/**
 * The required text columns absent from every row: such a request was meant for another model (tabular records
 * sent to a text model), and is refused as a whole (TEXT_COLUMN_MISSING) rather than row by row.
 */
export function missingTextColumns(
  rows: readonly Record<string, unknown>[],
  inputs: readonly SignatureColumn[],
  preprocessor: PreprocessorState,
): string[] {
  const rules = textRules(inputs, preprocessor);
  return inputs
    .filter((c) => c.required && rules.has(c.name))
    .filter(
      (c) =>
        !rows.some(
          (row) =>
            row !== null && typeof row === "object" && !Array.isArray(row) && Object.hasOwn(row, c.name),
        ),
    )
    .map((c) => c.name);
}

/**
 * One text cell, as training reads it (data/validate.ts checkTextField): taken as written ("NA" is a word),
 * empty or whitespace only is no text (refused unless the column is nullable), longer than maxLength is cut
 * (counted) or refused. A number or boolean becomes its text under `mlflow` (as MLflow's string columns take
 * them), a problem under `strict`; lists and objects are always problems.
 */
function readText(
  value: unknown,
  column: SignatureColumn,
  rule: TextInputRule,
  lenient: boolean,
  warnings: SchemaWarnings,
): { text: string } | { problem: string; code: TextProblemCode } {
  const spec = { type: "text" as const, ...rule, nullable: !column.required };
  if (value === undefined || value === null) {
    if (!column.required) return { text: "" };
    return {
      problem: `${value === undefined ? "missing" : "null"} where a text is required (the column is not nullable)`,
      code: "TEXT_EMPTY",
    };
  }
  let raw: string;
  if (typeof value === "string") raw = value;
  else if (lenient && (typeof value === "number" || typeof value === "boolean")) {
    raw = String(value);
    warnings.add("converted", column.name, `${describe(value)} -> ${JSON.stringify(raw)}`);
  } else return { problem: `expected a text (a string), got ${describe(value)}`, code: "TEXT_NOT_STRING" };
  const checked = checkTextField(column.name, spec, raw);
  if (checked.problem !== undefined)
    return checked.problem.kind === "null"
      ? { problem: `${checked.problem.reason} (the column is not nullable)`, code: "TEXT_EMPTY" }
      : { problem: checked.problem.reason, code: "TEXT_TOO_LONG" };
  if (checked.truncated)
    warnings.add("text_truncated", column.name, `${raw.length} characters -> ${rule.maxLength}`);
  return { text: checked.text };
}

/** Python's int(): optional sign and whitespace, decimal digits only (no "3.0", no "1e3"). */
const INTEGER_TEXT = /^\s*[+-]?\d+\s*$/;
/** Python's float("nan") spellings: NaN is a missing value. */
const NAN_TEXT = /^\s*[+-]?nan\s*$/i;

/**
 * Checks rows against the model's input signature and builds the table the preprocessor reads.
 * Every problem is collected (never only the first): missing and unknown columns, wrong types, nulls where a
 * value is required, non-finite numbers. Unknown category values are fine: the preprocessor's unknown bucket
 * takes them. A category value checked for its type then goes through the column's recode map (recodeCategory:
 * the manifest's raw codes become the category training saw, as data/validate.ts recodes them). Text cells
 * (CSV) are read by data/csv-value.ts, as training reads them: missing tokens (NA, null, …) are missing values,
 * and only plain decimal notation is a number ("0x31", "0b1", "1_000" are not).
 * Under the `mlflow` enforcement, what MLflow's scoring server accepts is accepted (see SchemaEnforcement)
 * and reported in `warnings`; what it refuses stays a problem. Text columns (textRules) go to the table's `text`,
 * read as training reads them (readText), their problems carrying a TextProblemCode.
 */
export function rowsToTable(
  rows: readonly Record<string, unknown>[],
  inputs: readonly SignatureColumn[],
  preprocessor: PreprocessorState,
  mode: InputMode,
  options: RowsToTableOptions = {},
): CheckedRows {
  const lenient = options.enforcement === "mlflow";
  const problems: FieldProblem[] = [];
  const warnings = new SchemaWarnings();
  const maxProblems = options.maxProblems ?? Number.POSITIVE_INFINITY;
  let problemCount = 0;
  const report = (problem: FieldProblem) => {
    problemCount++;
    if (problems.length < maxProblems) problems.push(problem);
  };
  const categorical = new Set(preprocessor.categorical.map((s) => s.name));
  const rules = textRules(inputs, preprocessor);
  const known = new Set(inputs.map((c) => c.name));
  const numeric: Record<string, Float64Array> = {};
  const categories: Record<string, string[]> = {};
  const texts: Record<string, string[]> = {};
  for (const column of inputs) {
    if (rules.has(column.name)) texts[column.name] = new Array<string>(rows.length).fill("");
    else if (categorical.has(column.name)) categories[column.name] = new Array<string>(rows.length).fill("");
    else numeric[column.name] = new Float64Array(rows.length).fill(Number.NaN);
  }
  // A column MLflow sees at all (pandas builds it from every row): absent from one record only, it is null there.
  const present = new Set<string>();
  if (lenient)
    for (const row of rows)
      if (row !== null && typeof row === "object" && !Array.isArray(row))
        for (const column of inputs) if (Object.hasOwn(row, column.name)) present.add(column.name);
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
        if (known.has(field)) continue;
        if (lenient) warnings.add("extra_column", clipName(field), "");
        else
          report({
            row: r,
            field: clipName(field),
            problem: "unknown column (not in the model's signature)",
          });
      }
    }
    for (const column of inputs) {
      const value = Object.hasOwn(row, column.name) ? row[column.name] : undefined;
      const rule = rules.get(column.name);
      if (rule !== undefined) {
        const read = readText(value, column, rule, lenient, warnings);
        if ("text" in read) texts[column.name]![r] = read.text;
        else report({ row: r, field: column.name, problem: read.problem, code: read.code });
        continue;
      }
      // A CSV token meaning "no value" (NA, null, …): its trimmed text, else undefined.
      const token =
        mode === "text" && typeof value === "string" && isMissingField(value) ? value.trim() : undefined;
      const nan =
        lenient &&
        mode === "json" &&
        column.type === "double" &&
        typeof value === "string" &&
        NAN_TEXT.test(value);
      if (token !== undefined || nan || value === undefined || value === null) {
        if (!column.required) {
          if (nan) warnings.add("converted", column.name, `${describe(value)} -> missing`);
          continue;
        }
        // MLflow: a required column must be there; a double or string one may hold nulls (NaN, None), a long
        // one may not (pandas cannot cast NaN to int64).
        const absent = value === undefined && !present.has(column.name);
        if (lenient && !absent && column.type !== "long") {
          warnings.add("missing_required", column.name, value === undefined ? "absent" : describe(value));
          continue;
        }
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
        let text: string;
        if (typeof value === "string") text = value;
        else if (lenient && (typeof value === "number" || typeof value === "boolean")) {
          text = String(value);
          warnings.add("converted", column.name, `${describe(value)} -> ${JSON.stringify(text)}`);
        } else {
          report({ row: r, field: column.name, problem: `expected a string, got ${describe(value)}` });
          continue;
        }
        if (categories[column.name] !== undefined) categories[column.name]![r] = recodeCategory(column, text);
        continue;
      }
      const number = readNumber(value, column, mode, lenient);
      if (typeof number === "string") {
        report({ row: r, field: column.name, problem: number });
        continue;
      }
      if (number.converted) warnings.add("converted", column.name, `${describe(value)} -> ${number.value}`);
      if (column.type === "long" && !Number.isInteger(number.value)) {
        if (!lenient || mode === "text") {
          report({ row: r, field: column.name, problem: `expected an integer, got ${number.value}` });
          continue;
        }
        warnings.add("not_integer", column.name, String(number.value));
      }
      if (categorical.has(column.name))
        categories[column.name]![r] = recodeCategory(column, String(number.value));
      else numeric[column.name]![r] = number.value;
    }
  });
  return {
    table: {
      rowCount: rows.length,
      numeric,
      categorical: categories,
      text: texts,
      target: [],
      ids: {},
      lines: Int32Array.from(rows, (_, i) => i),
    },
    problems,
    problemCount,
    warnings: warnings.list,
  };
}

/**
 * A present value of a long or double column as a finite number (`converted` when it was not a JSON
 * number), or the problem. Under `mlflow`, JSON strings are read as Python's int() (long) and float()
 * (double) read them, booleans are 1 and 0; non-finite values stay refused (a scaler would clip them).
 */
function readNumber(
  value: unknown,
  column: SignatureColumn,
  mode: InputMode,
  lenient: boolean,
): { value: number; converted: boolean } | string {
  let number: number;
  let converted = false;
  if (typeof value === "number") number = value;
  else if (typeof value === "string" && mode === "text") {
    const parsed = parseNumberField(value);
    if (parsed === undefined) return `not a number: ${describe(value)}`;
    number = parsed;
  } else if (lenient && typeof value === "boolean") {
    number = value ? 1 : 0;
    converted = true;
  } else if (lenient && typeof value === "string") {
    if (column.type === "long" && !INTEGER_TEXT.test(value))
      return `not an integer: ${describe(value)} (a long column takes integer text only)`;
    const parsed = parseNumberField(value);
    if (parsed === undefined)
      return /inf/i.test(value) ? "not a finite number" : `not a number: ${describe(value)}`;
    if (column.type === "long" && !Number.isSafeInteger(parsed))
      return `integer out of range: ${describe(value)}`;
    number = parsed;
    converted = true;
  } else if (typeof value === "string" && (value === "NaN" || /infinity/i.test(value)))
    number = Number(value);
  else return `expected a number, got ${describe(value)}`;
  if (!Number.isFinite(number))
    return Number.isNaN(number) ? `not a number: ${describe(value)}` : "not a finite number";
  return { value: number, converted };
}
