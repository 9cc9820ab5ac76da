import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse";
import { isMissingField, parseNumberField } from "../data/csv-value.js";
import { takeRows } from "../data/table.js";
import type { SignatureColumn } from "../registry/model-package.js";
import type { Predictor } from "../serving/predictor.js";
import { ConfigError, DataValidationError, WorkbenchError } from "../shared/errors.js";

/** Share of invalid rows above which batch scoring fails and writes no output, unless told otherwise. */
export const DEFAULT_MAX_BAD_FRACTION = 0.05;

export interface BatchPredictOptions {
  input: string;
  output: string;
  /** Defaults from the output's extension. */
  format?: "csv" | "jsonl";
  /** Where rows failing validation go (JSONL with reasons); defaults to <output>.quarantine.jsonl */
  quarantine?: string;
  /** Rows scored per batch: memory stays bounded by this, whatever the file size. */
  chunkRows?: number;
  /** Fail when a larger share of rows is invalid (0..1); DEFAULT_MAX_BAD_FRACTION when absent. */
  maxBadFraction?: number;
  onProgress?: (progress: { bytesRead: number; totalBytes: number; rows: number }) => void;
}

export interface BatchPredictResult {
  rowsRead: number;
  rowsScored: number;
  rowsQuarantined: number;
  badFraction: number;
  maxBadFraction: number;
  /** Quarantined rows per kind of problem (a row counts once per problem). */
  problemCounts: Record<string, number>;
  output: string;
  quarantine: string | undefined;
  model: { name: string; version: string | undefined };
  seconds: number;
}

/**
 * Why a row was not scored. The first three are read here, as training reads its files; `signature` is any
 * other finding of the model's input check (e.g. 2.5 for a `long` column).
 */
type BadRowKind = "wrong_field_count" | "wrong_type" | "null" | "signature";

interface ReadRow {
  line: number;
  /** The row as read (column → text): written back to the output, or to the quarantine. */
  values: Record<string, string>;
  /** The signature's columns typed for the model: numbers parsed strictly, missing tokens as null. */
  typed: Record<string, unknown>;
  /** Every raw field, kept when their count differs from the header's (the values would hide the extras). */
  fields: string[] | undefined;
  problems: { kind: BadRowKind; reason: string }[];
}

function quoted(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

/**
 * Reads one CSV record with the rules training uses (data/csv-value.ts). Fields are typed here, so a string
 * like "0x31" never reaches the predictor's `Number()`, and NA / null / empty become null for the signature
 * to accept where it does not require a value.
 */
function readRow(
  fields: string[],
  line: number,
  header: readonly string[],
  inputs: readonly SignatureColumn[],
): ReadRow {
  const values = Object.fromEntries(header.map((h, i) => [h, fields[i] ?? ""]));
  if (fields.length !== header.length) {
    // An unquoted "20,000" or a trailing comma shifts every later value: the count is the one reason.
    const reason = `has ${fields.length} fields, the header has ${header.length}`;
    return { line, values, typed: {}, fields, problems: [{ kind: "wrong_field_count", reason }] };
  }
  const typed: Record<string, unknown> = {};
  const problems: ReadRow["problems"] = [];
  for (const column of inputs) {
    const raw = values[column.name];
    // A column absent from the header stays absent: the signature check reports it if it is required.
    if (raw === undefined) continue;
    if (isMissingField(raw)) {
      typed[column.name] = null;
      if (column.required) {
        const token = raw.trim();
        problems.push({
          kind: "null",
          reason: `${column.name}: ${token === "" ? "empty" : `missing ('${token}')`} where a value is required`,
        });
      }
    } else if (column.type === "string") {
      typed[column.name] = raw;
    } else {
      const number = parseNumberField(raw);
      if (number === undefined)
        problems.push({
          kind: "wrong_type",
          reason: `${column.name}: not a number: the string ${quoted(raw)}`,
        });
      else typed[column.name] = number;
    }
  }
  return { line, values, typed, fields: undefined, problems };
}

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Writes a chunk honouring back-pressure, so a slow disk never makes memory grow. */
async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, "drain");
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

/**
 * Scores a CSV file in constant memory: rows stream through in chunks, each row is read like training reads
 * its data and checked against the model's signature (bad rows go to a quarantine file with their line, kinds
 * and reasons, counted, never dropped silently), the rest is scored, and every input column is written back
 * with the label, the class probabilities and the model version. The output is written to `<output>.partial`
 * and renamed only on success: when more than `maxBadFraction` of the rows are bad, or none could be scored,
 * the partial file is removed and nothing appears at `output` (a file already there is left untouched).
 */
export async function batchPredict(
  predictor: Predictor,
  options: BatchPredictOptions,
): Promise<BatchPredictResult> {
  const started = performance.now();
  const format = options.format ?? (options.output.endsWith(".jsonl") ? "jsonl" : "csv");
  const chunkRows = options.chunkRows ?? 4096;
  const limit = options.maxBadFraction ?? DEFAULT_MAX_BAD_FRACTION;
  if (!(limit >= 0 && limit <= 1))
    throw new ConfigError(`maxBadFraction must be a number from 0 to 1, got ${limit}.`);
  const totalBytes = (
    await stat(options.input).catch((cause: unknown) => {
      throw new DataValidationError("DATA_FILE_MISSING", `${options.input} does not exist.`, { cause });
    })
  ).size;
  const quarantinePath = options.quarantine ?? `${options.output}.quarantine.jsonl`;
  await mkdir(path.dirname(path.resolve(options.output)), { recursive: true });
  // A quarantine file left by an earlier run would be taken for this run's.
  await rm(quarantinePath, { force: true });
  const partial = `${options.output}.partial`;
  const out = createWriteStream(partial);
  let quarantine: NodeJS.WritableStream | undefined;
  const source = createReadStream(options.input);
  const parser = source.pipe(
    parse({ bom: true, skip_empty_lines: true, trim: true, relax_column_count: true, info: true }),
  );
  const inputs = predictor.model.meta.inputs;
  const version = predictor.origin.version ?? "local";
  const probabilityColumns = predictor.classes.map((c) => `probability_${c}`);
  let header: string[] | undefined;
  let rowsRead = 0;
  let rowsScored = 0;
  let rowsQuarantined = 0;
  const problemCounts: Record<string, number> = {};
  const examples: string[] = [];
  let chunk: ReadRow[] = [];

  const flush = async () => {
    if (chunk.length === 0) return;
    const candidates = chunk.filter((r) => r.problems.length === 0);
    const { table, problems } = predictor.check(
      candidates.map((r) => r.typed),
      "json",
    );
    for (const p of problems)
      candidates[p.row]!.problems.push({
        kind: "signature",
        reason: p.field ? `${p.field}: ${p.problem}` : p.problem,
      });
    const good = candidates.flatMap((r, i) => (r.problems.length === 0 ? [i] : []));
    const predictions = good.length > 0 ? predictor.score(takeRows(table, good)) : [];
    let text = "";
    good.forEach((i, k) => {
      const { values } = candidates[i]!;
      const p = predictions[k]!;
      if (format === "jsonl") {
        text += `${JSON.stringify({ ...values, label: p.label, probabilities: p.probabilities, model_version: version })}\n`;
      } else {
        text += `${[...header!.map((h) => csvCell(values[h])), csvCell(p.label), ...predictor.classes.map((c) => String(p.probabilities[c])), version].join(",")}\n`;
      }
    });
    await write(out, text);
    const bad = chunk.filter((r) => r.problems.length > 0);
    if (bad.length > 0) {
      quarantine ??= createWriteStream(quarantinePath);
      let q = "";
      for (const r of bad) {
        const reasons = r.problems.map((p) => p.reason);
        const kinds = r.problems.map((p) => p.kind);
        for (const kind of kinds) problemCounts[kind] = (problemCounts[kind] ?? 0) + 1;
        if (examples.length < 5) examples.push(`  - ${options.input}:${r.line}: ${reasons.join("; ")}`);
        q += `${JSON.stringify({ file: options.input, line: r.line, reasons, kinds, values: r.values, ...(r.fields ? { fields: r.fields } : {}) })}\n`;
      }
      await write(quarantine, q);
    }
    rowsScored += good.length;
    rowsQuarantined += bad.length;
    chunk = [];
    options.onProgress?.({ bytesRead: source.bytesRead, totalBytes, rows: rowsRead });
  };

  try {
    for await (const { record: fields, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (header === undefined) {
        header = fields;
        const dupes = header.filter((c, i) => header!.indexOf(c) !== i);
        if (dupes.length > 0) {
          throw new DataValidationError(
            "DATA_DUPLICATE_COLUMN",
            `${options.input}: column '${dupes[0]}' appears twice in the header.`,
            { details: { file: options.input, dupes } },
          );
        }
        if (format === "csv")
          await write(
            out,
            `${[...header, "label", ...probabilityColumns, "model_version"].map(csvCell).join(",")}\n`,
          );
        continue;
      }
      rowsRead++;
      chunk.push(readRow(fields, info.lines, header, inputs));
      if (chunk.length >= chunkRows) await flush();
    }
    await flush();
    if (rowsRead === 0)
      throw new DataValidationError("DATA_EMPTY", `${options.input} has no data rows to score.`);
    const where = `Quarantined rows with reasons: ${quarantinePath}.\n${examples.join("\n")}`;
    const details = {
      file: options.input,
      rowsRead,
      rowsQuarantined,
      problemCounts,
      quarantine: quarantinePath,
    };
    if (rowsQuarantined / rowsRead > limit) {
      throw new DataValidationError(
        "PREDICT_TOO_MANY_BAD_ROWS",
        `${options.input}: ${rowsQuarantined} of ${rowsRead} rows (${percent(rowsQuarantined / rowsRead)}) failed validation, above the limit of ${percent(limit)} (--max-bad-fraction ${limit}). Nothing was written to ${options.output}: fix the input, or raise --max-bad-fraction if these rows may be skipped. ${where}`,
        { details },
      );
    }
    if (rowsScored === 0) {
      throw new DataValidationError(
        "PREDICT_NOTHING_SCORED",
        `${options.input}: none of the ${rowsRead} rows could be scored (all failed validation); nothing was written to ${options.output}. ${where}`,
        { details },
      );
    }
    out.end();
    await once(out, "finish");
    await rename(partial, options.output);
  } catch (error) {
    // Writes still queued on the destroyed stream fail with ERR_STREAM_DESTROYED: expected, the file is dropped.
    out.on("error", () => {});
    out.destroy();
    source.destroy();
    await rm(partial, { force: true });
    if (error instanceof WorkbenchError) throw error;
    if (String((error as { code?: unknown }).code).startsWith("CSV_")) {
      throw new DataValidationError(
        "DATA_NOT_CSV",
        `${options.input} could not be read as CSV: ${(error as Error).message}`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    if (quarantine) {
      quarantine.end();
      await once(quarantine, "finish");
    }
  }
  return {
    rowsRead,
    rowsScored,
    rowsQuarantined,
    badFraction: rowsQuarantined / rowsRead,
    maxBadFraction: limit,
    problemCounts,
    output: options.output,
    quarantine: rowsQuarantined > 0 ? quarantinePath : undefined,
    model: { name: predictor.origin.name, version: predictor.origin.version },
    seconds: (performance.now() - started) / 1000,
  };
}
