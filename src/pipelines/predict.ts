import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse";
import { takeRows } from "../data/table.js";
import type { Predictor } from "../serving/predictor.js";
import { DataValidationError } from "../shared/errors.js";

export interface BatchPredictOptions {
  input: string;
  output: string;
  /** Defaults from the output's extension. */
  format?: "csv" | "jsonl";
  /** Where rows failing validation go (JSONL with reasons); defaults to <output>.quarantine.jsonl */
  quarantine?: string;
  /** Rows scored per batch: memory stays bounded by this, whatever the file size. */
  chunkRows?: number;
  /** Fail when a larger share of rows is invalid (0..1). */
  maxBadFraction?: number;
  onProgress?: (progress: { bytesRead: number; totalBytes: number; rows: number }) => void;
}

export interface BatchPredictResult {
  rowsRead: number;
  rowsScored: number;
  rowsQuarantined: number;
  output: string;
  quarantine: string | undefined;
  model: { name: string; version: string | undefined };
  seconds: number;
}

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Writes a chunk honouring back-pressure, so a slow disk never makes memory grow. */
async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, "drain");
}

/**
 * Scores a CSV file in constant memory: rows stream through in chunks, each chunk is validated against the
 * model's signature (bad rows go to a quarantine file with their reasons, counted, never dropped silently),
 * the rest is scored, and every input column is written back with the label, the class probabilities and the
 * model version. The output appears atomically (written to a temporary name, then renamed).
 */
export async function batchPredict(
  predictor: Predictor,
  options: BatchPredictOptions,
): Promise<BatchPredictResult> {
  const started = performance.now();
  const format = options.format ?? (options.output.endsWith(".jsonl") ? "jsonl" : "csv");
  const chunkRows = options.chunkRows ?? 4096;
  const totalBytes = (
    await stat(options.input).catch((cause: unknown) => {
      throw new DataValidationError("DATA_FILE_MISSING", `${options.input} does not exist.`, { cause });
    })
  ).size;
  const quarantinePath = options.quarantine ?? `${options.output}.quarantine.jsonl`;
  await mkdir(path.dirname(path.resolve(options.output)), { recursive: true });
  const partial = `${options.output}.partial`;
  const out = createWriteStream(partial);
  let quarantine: NodeJS.WritableStream | undefined;
  const source = createReadStream(options.input);
  const parser = source.pipe(
    parse({
      columns: true,
      bom: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      info: true,
    }),
  );
  const version = predictor.origin.version ?? "local";
  const probabilityColumns = predictor.classes.map((c) => `probability_${c}`);
  let header: string[] | undefined;
  let rowsRead = 0;
  let rowsScored = 0;
  let rowsQuarantined = 0;
  let chunk: { record: Record<string, unknown>; line: number }[] = [];

  const flush = async () => {
    if (chunk.length === 0) return;
    const records = chunk.map((c) => c.record);
    const { table, problems } = predictor.check(records, "text", { allowExtraColumns: true });
    const bad = new Map<number, string[]>();
    for (const p of problems)
      bad.set(p.row, [...(bad.get(p.row) ?? []), p.field ? `${p.field}: ${p.problem}` : p.problem]);
    const good = records.map((_, i) => i).filter((i) => !bad.has(i));
    const predictions = good.length > 0 ? predictor.score(takeRows(table, good)) : [];
    let text = "";
    good.forEach((i, k) => {
      const record = records[i]!;
      const p = predictions[k]!;
      if (format === "jsonl") {
        text += `${JSON.stringify({ ...record, label: p.label, probabilities: p.probabilities, model_version: version })}\n`;
      } else {
        text += `${[...header!.map((h) => csvCell(record[h])), csvCell(p.label), ...predictor.classes.map((c) => String(p.probabilities[c])), version].join(",")}\n`;
      }
    });
    await write(out, text);
    if (bad.size > 0) {
      quarantine ??= createWriteStream(quarantinePath);
      let q = "";
      for (const [i, reasons] of bad)
        q += `${JSON.stringify({ file: options.input, line: chunk[i]!.line, reasons, values: records[i] })}\n`;
      await write(quarantine, q);
    }
    rowsScored += good.length;
    rowsQuarantined += bad.size;
    chunk = [];
    options.onProgress?.({ bytesRead: source.bytesRead, totalBytes, rows: rowsRead });
  };

  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: Record<string, unknown>;
      info: { lines: number };
    }>) {
      if (header === undefined) {
        header = Object.keys(record);
        if (format === "csv")
          await write(
            out,
            `${[...header, "label", ...probabilityColumns, "model_version"].map(csvCell).join(",")}\n`,
          );
      }
      rowsRead++;
      chunk.push({ record, line: info.lines });
      if (chunk.length >= chunkRows) await flush();
    }
    await flush();
    if (rowsRead === 0)
      throw new DataValidationError("DATA_EMPTY", `${options.input} has no data rows to score.`);
    const limit = options.maxBadFraction ?? 1;
    if (rowsQuarantined / rowsRead > limit) {
      throw new DataValidationError(
        "DATA_TOO_MANY_BAD_ROWS",
        `${rowsQuarantined} of ${rowsRead} rows failed validation, above the limit of ${(limit * 100).toFixed(2)}%; reasons in ${quarantinePath}.`,
      );
    }
    out.end();
    await once(out, "finish");
    await rename(partial, options.output);
  } catch (error) {
    // Writes still queued on the destroyed stream fail with ERR_STREAM_DESTROYED: expected, the file is dropped.
    out.on("error", () => {});
    out.destroy();
    await rm(partial, { force: true });
    if (error instanceof DataValidationError) throw error;
    throw new DataValidationError(
      "DATA_NOT_CSV",
      `${options.input} could not be read as CSV: ${(error as Error).message}`,
      { cause: error },
    );
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
    output: options.output,
    quarantine: rowsQuarantined > 0 ? quarantinePath : undefined,
    model: { name: predictor.origin.name, version: predictor.origin.version },
    seconds: (performance.now() - started) / 1000,
  };
}
