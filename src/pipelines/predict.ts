import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { CsvError } from "csv-parse/sync";
import { textRules } from "../serving/input.js";
import type { Predictor } from "../serving/predictor.js";
import { ConfigError, DataValidationError, WorkbenchError } from "../shared/errors.js";
import {
  ChunkCsvError,
  type ChunkResult,
  createChunkScorer,
  csvCell,
  type ParsedRecord,
  parseRecords,
  type RecordDelimiter,
  ScoringWorkerError,
  type ScoringWorkers,
  startScoringWorkers,
  WORKER_DEPTH,
} from "./predict-workers.js";

/** Share of invalid rows above which batch scoring fails and writes no output, unless told otherwise. */
export const DEFAULT_MAX_BAD_FRACTION = 0.05;

/** Lines per chunk unless told otherwise. */
export const DEFAULT_CHUNK_ROWS = 4096;

export interface BatchPredictOptions {
  input: string;
  output: string;
  /** Defaults from the output's extension. */
  format?: "csv" | "jsonl";
  /** Where rows failing validation go (JSONL with reasons); defaults to <output>.quarantine.jsonl */
  quarantine?: string;
  /**
   * Lines (≈ rows) per chunk: memory stays bounded by this times the chunks in flight (two per worker thread,
   * and a few this thread scored ahead), whatever the file size.
   */
  chunkRows?: number;
  /** Fail when a larger share of rows is invalid (0..1); DEFAULT_MAX_BAD_FRACTION when absent. */
  maxBadFraction?: number;
  /**
   * Threads scoring chunks in parallel: this one (with the predictor's model) and `workers` − 1 worker threads,
   * each with its own copy of the model loaded from the package directory. This thread also reads the file and
   * writes the results in order, and scores a chunk whenever no worker has room for it (e.g. while they start).
   * Default 1: this thread only. The output is the same byte for byte whatever the number.
   */
  workers?: number;
  /**
   * Wait until every worker thread has loaded the model before scoring the first chunk, so that the workers take
   * the first chunks (default false: this thread scores while they start).
   */
  waitForWorkers?: boolean;
  onProgress?: (progress: { bytesRead: number; totalBytes: number; rows: number }) => void;
  /** One-line notices (e.g. why scoring stays in this thread); default: a line on stderr. */
  onNotice?: (message: string) => void;
}

export interface BatchPredictResult {
  rowsRead: number;
  rowsScored: number;
  rowsQuarantined: number;
  badFraction: number;
  maxBadFraction: number;
  /** Quarantined rows per kind of problem (a row counts once per problem). */
  problemCounts: Record<string, number>;
  /** Scored rows whose text was cut to its column's maxLength (overLength: truncate), per text column. */
  textsTruncated: Record<string, number>;
  output: string;
  quarantine: string | undefined;
  model: { name: string; version: string | undefined };
  /** Threads that could score: this one, and the worker threads started (none for a one-chunk file). */
  workers: number;
  /** Chunks the file was cut into, and how many of them worker threads scored (the rest: this thread). */
  chunks: number;
  workerChunks: number;
  seconds: number;
}

/** Writes a chunk honouring back-pressure, so a slow disk never makes memory grow. */
async function write(stream: NodeJS.WritableStream, data: string | Uint8Array): Promise<void> {
  if (!stream.write(data)) await once(stream, "drain");
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(`${name} must be a positive integer, got ${value}.`, {
      details: { [name]: value },
    });
  return value;
}

const BLOCK_BYTES = 1 << 20;
const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

/**
 * The file read in blocks, with the unconsumed rest kept: chunks are cut from `buffer` at `start` (whole records
 * only, so the buffer holds at most a chunk plus a block).
 */
class BlockReader {
  buffer: Buffer = Buffer.alloc(0);
  start = 0;
  eof = false;
  bytesRead = 0;

  constructor(private readonly file: FileHandle) {}

  /** Reads one more block; false at the end of the file. */
  async more(): Promise<boolean> {
    if (this.eof) return false;
    const block = Buffer.allocUnsafe(BLOCK_BYTES);
    const { bytesRead } = await this.file.read(block, 0, BLOCK_BYTES, null);
    if (bytesRead === 0) {
      this.eof = true;
      return false;
    }
    this.bytesRead += bytesRead;
    const rest = this.buffer.subarray(this.start);
    this.buffer =
      rest.length === 0 ? block.subarray(0, bytesRead) : Buffer.concat([rest, block.subarray(0, bytesRead)]);
    this.start = 0;
    return true;
  }
}

/**
 * The record delimiter as csv-parse detects it: the first CR, LF or CRLF outside quotes; LF when there is none.
 * Undefined when the buffer ends first (more data needed).
 */
function detectDelimiter(buffer: Buffer, from: number, eof: boolean): RecordDelimiter | undefined {
  let quoted = false;
  for (let i = from; i < buffer.length; i++) {
    const c = buffer[i];
    if (c === QUOTE) quoted = !quoted;
    else if (!quoted && c === LF) return "\n";
    else if (!quoted && c === CR) {
      if (i + 1 < buffer.length) return buffer[i + 1] === LF ? "\r\n" : "\r";
      return eof ? "\r" : undefined;
    }
  }
  return eof ? "\n" : undefined;
}

/**
 * The end of the first `lines` records delimited by `delimiter` from `from` (line breaks inside quotes do not
 * count), or undefined when the buffer ends first.
 */
function cutLines(buffer: Buffer, from: number, lines: number, delimiter: Buffer): number | undefined {
  const single = delimiter.length === 1 ? delimiter[0]! : -1;
  let pos = from;
  let quote = buffer.indexOf(QUOTE, pos);
  for (let n = 0; n < lines; ) {
    const end = single >= 0 ? buffer.indexOf(single, pos) : buffer.indexOf(delimiter, pos);
    if (end === -1) return undefined;
    if (quote !== -1 && quote < end) {
      // A quoted section opens before the delimiter: skip to its closing quote ("" inside is two sections).
      const close = buffer.indexOf(QUOTE, quote + 1);
      if (close === -1) return undefined;
      pos = close + 1;
      quote = buffer.indexOf(QUOTE, pos);
      continue;
    }
    n++;
    pos = end + delimiter.length;
  }
  return pos;
}

function notCsv(input: string, message: string, cause: unknown): DataValidationError {
  return new DataValidationError("DATA_NOT_CSV", `${input} could not be read as CSV: ${message}`, { cause });
}

/**
 * Scores a CSV file in constant memory: the file is cut into chunks of whole records (`chunkRows` lines each),
 * each row is read like training reads its data and checked against the model's signature (bad rows go to a
 * quarantine file with their line, kinds and reasons, counted, never dropped silently), the rest is scored, and
 * every input column is written back with the label, the class probabilities and the model version, in input
 * order. With `workers` > 1, worker threads read, check, score and format chunks too (two at a time each),
 * while this thread reads the file, scores the chunks no worker has room for, and writes the results in order
 * (a bounded number of chunks in flight); the output is the same byte for byte. The output is written to
 * `<output>.partial` and renamed only on success: when more than `maxBadFraction` of the rows are bad, none could
 * be scored, or a worker fails, the partial file is removed and nothing appears at `output` (a file already there
 * is left untouched).
 */
export async function batchPredict(
  predictor: Predictor,
  options: BatchPredictOptions,
): Promise<BatchPredictResult> {
  const started = performance.now();
  const format = options.format ?? (options.output.endsWith(".jsonl") ? "jsonl" : "csv");
  const chunkRows = positiveInteger("chunkRows", options.chunkRows ?? DEFAULT_CHUNK_ROWS);
  const workers = positiveInteger("workers", options.workers ?? 1);
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
  const file = await open(options.input, "r");
  const out = createWriteStream(partial);
  let quarantine: NodeJS.WritableStream | undefined;
  const reader = new BlockReader(file);
  const version = predictor.origin.version ?? "local";
  const probabilityColumns = predictor.classes.map((c) => `probability_${c}`);
  let pool: ScoringWorkers | undefined;
  let chunks = 0;
  let workerChunks = 0;
  let rowsRead = 0;
  let rowsScored = 0;
  let rowsQuarantined = 0;
  const problemCounts: Record<string, number> = {};
  const textsTruncated: Record<string, number> = {};
  const examples: string[] = [];
  /** Lines before the next chunk to write (the header's included). */
  let offset = 0;

  /** Writes one chunk's results (chunks come in file order). */
  const take = async (result: ChunkResult) => {
    await write(out, result.output);
    if (result.bad.length > 0) {
      quarantine ??= createWriteStream(quarantinePath);
      let q = "";
      for (const r of result.bad) {
        const line = offset + r.line;
        for (const kind of r.kinds) problemCounts[kind] = (problemCounts[kind] ?? 0) + 1;
        if (examples.length < 5) examples.push(`  - ${options.input}:${line}: ${r.reasons.join("; ")}`);
        q += `${JSON.stringify({ file: options.input, line, reasons: r.reasons, kinds: r.kinds, values: r.values, ...(r.fields ? { fields: r.fields } : {}) })}\n`;
      }
      await write(quarantine, q);
    }
    for (const [column, n] of Object.entries(result.truncated))
      textsTruncated[column] = (textsTruncated[column] ?? 0) + n;
    rowsRead += result.rows;
    rowsScored += result.scored;
    rowsQuarantined += result.bad.length;
    offset += result.lines;
    options.onProgress?.({ bytesRead: reader.bytesRead, totalBytes, rows: rowsRead });
  };

  try {
    // The header: the first record (csv-parse's reading: BOM, empty lines skipped, fields trimmed).
    await reader.more();
    if (reader.buffer[0] === 0xef && reader.buffer[1] === 0xbb && reader.buffer[2] === 0xbf) reader.start = 3;
    let delimiter = detectDelimiter(reader.buffer, reader.start, reader.eof);
    while (delimiter === undefined) {
      await reader.more();
      delimiter = detectDelimiter(reader.buffer, reader.start, reader.eof);
    }
    const delimiterBytes = Buffer.from(delimiter);
    let header: string[] | undefined;
    for (let lines = 1; header === undefined; lines++) {
      let end = cutLines(reader.buffer, reader.start, lines, delimiterBytes);
      while (end === undefined && (await reader.more()))
        end = cutLines(reader.buffer, reader.start, lines, delimiterBytes);
      const head = reader.buffer.subarray(reader.start, end ?? reader.buffer.length);
      let records: ParsedRecord[];
      try {
        records = parseRecords(head, delimiter);
      } catch (error) {
        if (error instanceof CsvError) throw notCsv(options.input, error.message, error);
        throw error;
      }
      if (records.length > 0) {
        header = records[0]!.record;
        offset = records[0]!.info.lines;
        reader.start = end ?? reader.buffer.length;
      } else if (end === undefined) break; // nothing but empty lines
    }
    if (header !== undefined) {
      const columns = header;
      const dupes = columns.filter((c, i) => columns.indexOf(c) !== i);
      if (dupes.length > 0) {
        throw new DataValidationError(
          "DATA_DUPLICATE_COLUMN",
          `${options.input}: column '${dupes[0]}' appears twice in the header.`,
          { details: { file: options.input, dupes } },
        );
      }
      // A text model's required text column absent from the file: every row would be refused, and the file was
      // most likely meant for another model (tabular rows for a text model).
      const { inputs } = predictor.model.meta;
      const rules = textRules(inputs, predictor.model.preprocessor);
      const absentText = inputs.filter((c) => c.required && rules.has(c.name) && !columns.includes(c.name));
      if (absentText.length > 0) {
        const named = absentText.map((c) => `'${c.name}'`).join(", ");
        throw new DataValidationError(
          "PREDICT_TEXT_COLUMN_MISSING",
          `${options.input} has no column ${named}: ${predictor.origin.name} is a text model and reads ${absentText.length === 1 ? "that text" : "those texts"}. Score a file with ${absentText.length === 1 ? "that column" : "those columns"} (its header has ${columns.length} columns: ${columns.slice(0, 10).join(", ")}${columns.length > 10 ? ", …" : ""}).`,
          {
            details: {
              file: options.input,
              missing: absentText.map((c) => c.name),
              header: columns.slice(0, 50),
            },
          },
        );
      }
      if (format === "csv")
        await write(
          out,
          `${[...columns, "label", ...probabilityColumns, "model_version"].map(csvCell).join(",")}\n`,
        );
      const settings = { header: columns, delimiter, format, version };
      const scorer = createChunkScorer(predictor.model, settings);
      /** Chunks scored or being scored, in file order: each settles in any order, is written in this order. */
      const inFlight: { result: Promise<ChunkResult>; settled: boolean }[] = [];
      const track = (result: Promise<ChunkResult>) => {
        const entry = { result, settled: false };
        // Awaited below, in order; until then a failure must not count as unhandled.
        result.then(
          () => {
            entry.settled = true;
          },
          () => {
            entry.settled = true;
          },
        );
        inFlight.push(entry);
      };
      /** Writes the oldest chunk in flight, or fails the run with its error. */
      const settle = async () => {
        const first = inFlight.shift()!;
        let result: ChunkResult;
        try {
          result = await first.result;
        } catch (error) {
          throw chunkFailure(error, options.input, offset);
        }
        await take(result);
      };
      let seq = 0;
      let maxInFlight = 1;
      const dispatch = async (bytes: Uint8Array, last: boolean) => {
        if (seq === 0 && workers > 1 && !last) {
          // One chunk holding the whole file gains nothing from worker threads.
          const started = startScoringWorkers(predictor.model, settings, workers - 1);
          if (typeof started === "string")
            (options.onNotice ?? ((m: string) => process.stderr.write(`${m}\n`)))(
              `scoring in this thread only: no worker thread (${started})`,
            );
          else {
            pool = started;
            maxInFlight = (workers - 1) * WORKER_DEPTH + 4;
            if (options.waitForWorkers)
              await pool.ready().catch((error: unknown) => {
                throw chunkFailure(error, options.input, offset);
              });
          }
        }
        chunks++;
        if (pool?.hasRoom()) {
          // A worker gets its own copy (moved to it; Buffer#slice would not copy); this thread scores a view.
          track(pool.offer(seq, new Uint8Array(bytes), last));
          workerChunks++;
        } else {
          let result: Promise<ChunkResult>;
          try {
            result = Promise.resolve(scorer(bytes, last));
          } catch (error) {
            result = Promise.reject(error);
          }
          track(result);
          // Let the workers' messages in (their results, room for the next chunk).
          if (pool !== undefined) await new Promise((resolve) => setImmediate(resolve));
        }
        seq++;
        while (inFlight.length > 0 && (inFlight[0]!.settled || inFlight.length >= maxInFlight))
          await settle();
      };
      for (;;) {
        const end = cutLines(reader.buffer, reader.start, chunkRows, delimiterBytes);
        if (end !== undefined) {
          const bytes = reader.buffer.subarray(reader.start, end);
          reader.start = end;
          await dispatch(bytes, false);
          continue;
        }
        if (await reader.more()) continue;
        if (reader.start < reader.buffer.length) await dispatch(reader.buffer.subarray(reader.start), true);
        break;
      }
      while (inFlight.length > 0) await settle();
    }
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
    await rm(partial, { force: true });
    throw error;
  } finally {
    await pool?.close();
    await file.close();
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
    textsTruncated,
    output: options.output,
    quarantine: rowsQuarantined > 0 ? quarantinePath : undefined,
    model: { name: predictor.origin.name, version: predictor.origin.version },
    workers: pool === undefined ? 1 : pool.size + 1,
    chunks,
    workerChunks,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The error a chunk failed with, as the run's: line numbers counted from the start of the file. */
function chunkFailure(error: unknown, input: string, offset: number): unknown {
  if (error instanceof ChunkCsvError) return notCsv(input, error.messageAt(offset), error);
  if (error instanceof ScoringWorkerError)
    return new WorkbenchError(
      "PREDICT_WORKER_FAILED",
      `${input}: batch scoring failed in a worker thread while scoring the rows from line ${offset + 1}: ${error.message}. Nothing was written; try again, or score in this thread with --workers 1.`,
      { cause: error, details: { file: input, line: offset + 1, ...error.details } },
    );
  return error;
}
