import { createReadStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse";
import { DataValidationError } from "../shared/errors.js";
import { categoryKey, isMissingField, parseNumberField } from "./csv-value.js";
import { assertLooksLikeCsv, checkHeader, csvReadError } from "./header.js";
import type { ColumnSpec } from "./manifest.js";
import type { Table } from "./table.js";

/** What a file must look like: the columns it has, the target (if labelled) and the id columns. */
export interface TableSchema {
  columns: Record<string, ColumnSpec>;
  idColumns: readonly string[];
  /** Present for training data; absent for scoring input. */
  target?: {
    column: string;
    classes: readonly string[];
    /** Raw label → class (the manifest's target.recode), applied before the class check. */
    recode?: Readonly<Record<string, string>>;
  };
}

export interface RowProblem {
  /** 1-based line in the file (the header is line 1). */
  line: number;
  column?: string;
  value?: string;
  reason: string;
}

export interface ValidationReport {
  file: string;
  rowsRead: number;
  rowsAccepted: number;
  rowsQuarantined: number;
  badFraction: number;
  /** Counts per kind of problem (a row may have several). */
  problemCounts: Record<string, number>;
  /** Where quarantined rows were written (JSONL), when any were. */
  quarantineFile: string | undefined;
  /** Values recoded by the manifest's `recode` maps, per column. */
  recoded: Record<string, number>;
  /** Texts longer than their column's maxLength that were truncated (overLength: truncate), per column. */
  truncated: Record<string, number>;
}

export interface ValidateOptions {
  /** Fail when more than this share of rows is bad (0..1). */
  maxBadFraction: number;
  /** Folder for the quarantine file; none is written when undefined. */
  quarantineDir?: string;
  /** Read at most this many data rows (quick runs). */
  limit?: number;
}

type Kind =
  | "wrong_type"
  | "out_of_range"
  | "unknown_category"
  | "null"
  | "wrong_field_count"
  | "duplicate_row"
  | "duplicate_id"
  | "unknown_class"
  | "text_too_long";

function problem(
  kind: Kind,
  line: number,
  reason: string,
  column?: string,
  value?: string,
): RowProblem & { kind: Kind } {
  return {
    kind,
    line,
    reason,
    ...(column === undefined ? {} : { column }),
    ...(value === undefined ? {} : { value }),
  };
}

/** What a text field becomes: the text kept, whether it was cut to maxLength, or why the row is refused. */
export interface TextFieldCheck {
  text: string;
  truncated: boolean;
  problem?: { kind: "null" | "text_too_long"; reason: string; value: string };
}

/**
 * Checks one text field against its column: empty or whitespace-only is missing (kept as "" when the column is
 * nullable, a problem otherwise); longer than maxLength is cut (overLength: truncate) or a problem (reject).
 * Training, batch scoring and the service apply this same rule.
 */
export function checkTextField(
  name: string,
  spec: Extract<ColumnSpec, { type: "text" }>,
  raw: string,
): TextFieldCheck {
  if (raw.trim() === "") {
    return spec.nullable
      ? { text: "", truncated: false }
      : {
          text: "",
          truncated: false,
          problem: {
            kind: "null",
            reason: `${name} is ${raw === "" ? "empty" : "whitespace only"}`,
            value: raw,
          },
        };
  }
  if (raw.length <= spec.maxLength) return { text: raw, truncated: false };
  if (spec.overLength === "truncate") return { text: raw.slice(0, spec.maxLength), truncated: true };
  return {
    text: raw,
    truncated: false,
    problem: {
      kind: "text_too_long",
      reason: `${name} has ${raw.length} characters, more than its maxLength ${spec.maxLength}`,
      value: `${raw.slice(0, 80)}…`,
    },
  };
}

/**
 * Reads a CSV and checks it against `schema`. File-level problems (missing or extra columns, no data, not
 * CSV) throw a DataValidationError. Row-level problems quarantine the row (JSONL with a reason per row) and
 * are counted; more than `maxBadFraction` bad rows throws DATA_TOO_MANY_BAD_ROWS. Nothing is dropped silently.
 */
export async function readValidatedCsv(
  file: string,
  schema: TableSchema,
  options: ValidateOptions,
): Promise<{ table: Table; report: ValidationReport }> {
  await assertLooksLikeCsv(file);
  const parser = createReadStream(file).pipe(
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true, trim: false, info: true }),
  );
  const declared = Object.keys(schema.columns);
  const expected = [...declared, ...(schema.target ? [schema.target.column] : [])];
  let header: string[] | undefined;
  let index: Record<string, number> = {};
  const numeric: Record<string, number[]> = {};
  const categorical: Record<string, string[]> = {};
  const text: Record<string, string[]> = {};
  const ids: Record<string, string[]> = {};
  const target: string[] = [];
  const lines: number[] = [];
  const problems: (RowProblem & { kind: Kind })[] = [];
  const quarantined: {
    line: number;
    reasons: string[];
    kinds: Kind[];
    values: Record<string, string>;
    /** Every raw field, when their count differs from the header's (the values alone would hide the extras). */
    fields?: string[];
  }[] = [];
  const seenRows = new Map<string, number>();
  const seenIds = new Map<string, number>();
  const recoded: Record<string, number> = {};
  const truncated: Record<string, number> = {};
  let rowsRead = 0;
  const classes = new Set(schema.target?.classes ?? []);

  for (const name of declared) {
    const spec = schema.columns[name]!;
    if (schema.idColumns.includes(name)) ids[name] = [];
    else if (spec.type === "number") numeric[name] = [];
    else if (spec.type === "text") text[name] = [];
    else categorical[name] = [];
  }

  try {
    for await (const record of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const { record: fields, info } = record;
      if (header === undefined) {
        header = fields.map((f) => f.trim());
        checkHeader(file, header, expected);
        index = Object.fromEntries(header.map((c, i) => [c, i]));
        continue;
      }
      if (options.limit !== undefined && rowsRead >= options.limit) break;
      rowsRead++;
      const line = info.lines;
      const rowProblems: (RowProblem & { kind: Kind })[] = [];
      const values: Record<string, string> = {};
      for (const c of header) values[c] = fields[index[c]!] ?? "";
      if (fields.length !== header.length) {
        // One extra or missing field (an unquoted "20,000", a trailing comma) shifts every later value: checking
        // them by position would report made-up problems, or none. The count is the one reason.
        const wrongCount = problem(
          "wrong_field_count",
          line,
          `has ${fields.length} fields, the header has ${header.length}`,
        );
        problems.push(wrongCount);
        quarantined.push({ line, reasons: [wrongCount.reason], kinds: [wrongCount.kind], values, fields });
        continue;
      }
      const parsedNumbers: Record<string, number> = {};
      const parsedCategories: Record<string, string> = {};
      const parsedTexts: Record<string, string> = {};
      const rowTruncated: string[] = [];
      for (const name of declared) {
        const spec = schema.columns[name]!;
        if (spec.type === "text" && !schema.idColumns.includes(name)) {
          // Text is taken as written: only an empty or whitespace-only field is missing ("NA" or "None" is a word).
          const checked = checkTextField(name, spec, values[name] ?? "");
          if (checked.problem !== undefined)
            rowProblems.push(
              problem(checked.problem.kind, line, checked.problem.reason, name, checked.problem.value),
            );
          if (checked.truncated) rowTruncated.push(name);
          parsedTexts[name] = checked.text;
          continue;
        }
        const raw = (values[name] ?? "").trim();
        if (isMissingField(raw)) {
          if (!spec.nullable && !schema.idColumns.includes(name))
            rowProblems.push(
              problem(
                "null",
                line,
                raw === "" ? `${name} is empty` : `${name} is missing ('${raw}')`,
                name,
                raw,
              ),
            );
          if (spec.type === "number") parsedNumbers[name] = Number.NaN;
          else parsedCategories[name] = "";
          continue;
        }
        if (schema.idColumns.includes(name)) continue;
        if (spec.type === "number") {
          const value = parseNumberField(raw);
          if (value === undefined) {
            rowProblems.push(problem("wrong_type", line, `${name}: '${raw}' is not a number`, name, raw));
          } else if (
            (spec.min !== undefined && value < spec.min) ||
            (spec.max !== undefined && value > spec.max)
          ) {
            rowProblems.push(
              problem(
                "out_of_range",
                line,
                `${name}: ${value} is outside [${spec.min ?? "-∞"}, ${spec.max ?? "∞"}]`,
                name,
                raw,
              ),
            );
          } else if (spec.integer && !Number.isInteger(value)) {
            rowProblems.push(problem("wrong_type", line, `${name}: ${value} is not an integer`, name, raw));
          }
          parsedNumbers[name] = value ?? Number.NaN;
        } else if (spec.type === "category") {
          const key = categoryKey(raw);
          // Without a values list any value is accepted: the preprocessor learns the categories on train.
          if (spec.values !== undefined && !spec.values.includes(key)) {
            rowProblems.push(
              problem(
                "unknown_category",
                line,
                `${name}: '${raw}' is not one of ${spec.values.join(", ")}`,
                name,
                raw,
              ),
            );
          }
          const mapped = spec.recode[key];
          if (mapped !== undefined) recoded[name] = (recoded[name] ?? 0) + 1;
          parsedCategories[name] = mapped ?? key;
        }
      }
      let label = "";
      if (schema.target) {
        const raw = (values[schema.target.column] ?? "").trim();
        const mapped = schema.target.recode?.[categoryKey(raw)];
        if (mapped !== undefined) recoded[schema.target.column] = (recoded[schema.target.column] ?? 0) + 1;
        label = mapped ?? categoryKey(raw);
        if (!classes.has(label)) {
          rowProblems.push(
            problem(
              "unknown_class",
              line,
              `${schema.target.column}: '${raw}' is not a known class (${[...classes].join(", ")}); add it to target.classes, or map it to a class with target.recode in the dataset manifest`,
              schema.target.column,
              raw,
            ),
          );
        }
      }
      const rowKey = header.map((c) => values[c]).join("\u0001");
      const firstSeen = seenRows.get(rowKey);
      if (firstSeen !== undefined)
        rowProblems.push(problem("duplicate_row", line, `duplicate of line ${firstSeen}`));
      else seenRows.set(rowKey, line);
      for (const idColumn of schema.idColumns) {
        const id = (values[idColumn] ?? "").trim();
        const prior = seenIds.get(`${idColumn}\u0001${id}`);
        if (id !== "" && prior !== undefined && firstSeen === undefined) {
          rowProblems.push(
            problem("duplicate_id", line, `${idColumn} '${id}' already used on line ${prior}`, idColumn, id),
          );
        } else if (id !== "") seenIds.set(`${idColumn}\u0001${id}`, line);
      }
      if (rowProblems.length > 0) {
        problems.push(...rowProblems);
        quarantined.push({
          line,
          reasons: rowProblems.map((p) => p.reason),
          kinds: rowProblems.map((p) => p.kind),
          values,
        });
        continue;
      }
      for (const name of Object.keys(numeric)) numeric[name]!.push(parsedNumbers[name]!);
      for (const name of Object.keys(categorical)) categorical[name]!.push(parsedCategories[name]!);
      for (const name of Object.keys(text)) text[name]!.push(parsedTexts[name]!);
      for (const name of rowTruncated) truncated[name] = (truncated[name] ?? 0) + 1;
      for (const name of Object.keys(ids)) ids[name]!.push((values[name] ?? "").trim());
      if (schema.target) target.push(label);
      lines.push(line);
    }
  } catch (error) {
    throw csvReadError(file, error);
  }

  if (header === undefined || rowsRead === 0) {
    throw new DataValidationError("DATA_EMPTY", `${file} has a header but no data rows.`, {
      details: { file },
    });
  }

  let quarantineFile: string | undefined;
  if (quarantined.length > 0 && options.quarantineDir !== undefined) {
    await mkdir(options.quarantineDir, { recursive: true });
    quarantineFile = path.join(
      options.quarantineDir,
      `${path.basename(file, path.extname(file))}.quarantine.jsonl`,
    );
    await writeFile(quarantineFile, `${quarantined.map((q) => JSON.stringify({ file, ...q })).join("\n")}\n`);
  }
  const problemCounts: Record<string, number> = {};
  for (const p of problems) problemCounts[p.kind] = (problemCounts[p.kind] ?? 0) + 1;
  const report: ValidationReport = {
    file,
    rowsRead,
    rowsAccepted: rowsRead - quarantined.length,
    rowsQuarantined: quarantined.length,
    badFraction: quarantined.length / rowsRead,
    problemCounts,
    quarantineFile,
    recoded,
    truncated,
  };
  if (report.badFraction > options.maxBadFraction) {
    const examples = problems
      .slice(0, 5)
      .map((p) => `  - ${file}:${p.line}${p.column ? ` column ${p.column}` : ""}: ${p.reason}`)
      .join("\n");
    throw new DataValidationError(
      "DATA_TOO_MANY_BAD_ROWS",
      `${file}: ${quarantined.length} of ${rowsRead} rows (${(report.badFraction * 100).toFixed(2)}%) failed validation, above the limit of ${(options.maxBadFraction * 100).toFixed(2)}%.${quarantineFile ? ` Quarantined rows with reasons: ${quarantineFile}.` : ""}\n${examples}`,
      { details: { ...report } },
    );
  }
  const table: Table = {
    rowCount: lines.length,
    numeric: Object.fromEntries(Object.entries(numeric).map(([k, v]) => [k, Float64Array.from(v)])),
    categorical,
    text,
    target,
    ids,
    lines: Int32Array.from(lines),
  };
  return { table, report };
}
