// Batch scoring of raw CSV chunks (pipelines/predict.ts cuts the file into chunks of whole records): the chunk
// scorer reads, validates, transforms, predicts and formats one chunk, in the calling thread or in worker threads
// (predict-worker.ts), each of which loads the model package once. Worker threads start the way the trial pool's
// do (src/models/pool.ts: workerEntryFor; through tsx's loader under tsx and vitest, compiled files in dist/).
//
// The scorer reads each row exactly as batch scoring always has: training's reading of a CSV field
// (data/csv-value.ts: missing tokens, strict decimal numbers) and then the model's input check (the checks of
// serving/input.ts rowsToTable for typed values: required columns absent from the file, integers for `long`;
// then the signature's category recodes), column-wise, without building an object per row. Chunks without quotes
// or whitespace (the usual machine-written CSV) are split by hand; any other chunk is parsed by csv-parse with the
// options batch scoring has always used.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { CsvError, parse as parseCsv } from "csv-parse/sync";
import { isMissingField, parseNumberField } from "../data/csv-value.js";
import type { Table } from "../data/table.js";
import { checkTextField } from "../data/validate.js";
import { transform } from "../features/preprocessor.js";
import { workerEntryFor } from "../models/pool.js";
import type { PackagedModel } from "../registry/model-package.js";
import { recodeCategory } from "../registry/signature.js";
import { textRules } from "../serving/input.js";
import { errorMessage, WorkbenchError } from "../shared/errors.js";

/** How records end in the file (csv-parse's auto-detection, made once from the header). */
export type RecordDelimiter = "\n" | "\r\n" | "\r";

/** What every chunk of one file is scored with. */
export interface ScoringSettings {
  /** The file's header (its column names, in order). */
  header: string[];
  delimiter: RecordDelimiter;
  format: "csv" | "jsonl";
  /** The model version written in every output row ("local" for a package directory). */
  version: string;
}

/**
 * Why a row was not scored. The first three and `text_too_long` are read here, as training reads its files (an
 * empty or whitespace-only text in a column that is not nullable is `null`); `signature` is any other finding of
 * the model's input check (e.g. 2.5 for a `long` column).
 */
export type BadRowKind = "wrong_field_count" | "wrong_type" | "null" | "text_too_long" | "signature";

/** A row that failed validation. */
export interface BadRow {
  /** The line its record ends on, counted from the chunk's first line (1-based). */
  line: number;
  reasons: string[];
  kinds: BadRowKind[];
  /** The row as read (column → text). */
  values: Record<string, string>;
  /** Every raw field, when their count differs from the header's (the values would hide the extras). */
  fields?: string[];
}

export interface ChunkResult {
  /** Records read (empty lines are not records). */
  rows: number;
  scored: number;
  /** The output rows (UTF-8), in input order. */
  output: Uint8Array;
  bad: BadRow[];
  /** Lines the chunk spans (as csv-parse counts them): where the next chunk's line numbers start. */
  lines: number;
  /** Texts cut to their column's maxLength (overLength: truncate), per text column; scored rows only. */
  truncated: Record<string, number>;
}

/** A chunk is not valid CSV; `message` is csv-parse's, its "at line N" counted from the chunk's first line. */
export class ChunkCsvError extends Error {
  constructor(
    readonly csvCode: string,
    message: string,
  ) {
    super(message);
    this.name = "ChunkCsvError";
  }

  /** The message with its line numbers counted from the start of the file (`offset` lines before the chunk). */
  messageAt(offset: number): string {
    return this.message.replace(/\bat line (\d+)/g, (_, n: string) => `at line ${offset + Number(n)}`);
  }
}

/** A worker thread failed (crashed, threw, or could not load the model); the pool is unusable afterwards. */
export class ScoringWorkerError extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ScoringWorkerError";
  }
}

/** The csv-parse options batch scoring reads files with (besides `bom`, handled at the start of the file). */
const CSV_OPTIONS = { skip_empty_lines: true, trim: true, relax_column_count: true } as const;

/** A record as csv-parse reads it with `info`: its fields and the line it ends on. */
export interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

/** csv-parse's reading of whole records (batch scoring's options); throws its CsvError. */
export function parseRecords(data: string | Buffer, delimiter: RecordDelimiter): ParsedRecord[] {
  return parseCsv(data, {
    ...CSV_OPTIONS,
    record_delimiter: delimiter,
    info: true,
  }) as unknown as ParsedRecord[];
}

/** A CSV cell as written to the output: quoted when it holds a quote, a comma or a line break. */
export function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function quoted(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

/**
 * Chunks that need no CSV parser: no quote, and no whitespace besides the record delimiters (csv-parse trims
 * exactly the characters of \s, as String.prototype.trim does).
 */
const NEEDS_PARSER: Record<RecordDelimiter, RegExp> = {
  "\n": /"|[^\S\n]/,
  "\r\n": /"|[^\S\r\n]|\r(?!\n)|(?<!\r)\n/,
  "\r": /"|[^\S\r]/,
};

/** String(n) for the small integers category codes usually are, made once. */
const CODE_TEXT = Array.from({ length: 1280 }, (_, i) => String(i - 256));

function codeText(value: number): string {
  return Number.isInteger(value) && value >= -256 && value < 1024 && !Object.is(value, -0)
    ? CODE_TEXT[value + 256]!
    : String(value);
}

const decoder = new TextDecoder("utf-8");
const encoder = new TextEncoder();

/** Scores one chunk of whole records; `last` when it is the end of the file (it may lack a final delimiter). */
export type ChunkScorer = (bytes: Uint8Array, last: boolean) => ChunkResult;

/**
 * The scorer of one file's chunks with one loaded model package. Pure: the same chunk gives the same result in
 * any thread, so scoring with workers writes byte for byte what scoring in this thread writes.
 */
export function createChunkScorer(packaged: PackagedModel, settings: ScoringSettings): ChunkScorer {
  const { header, delimiter, format, version } = settings;
  const { meta, preprocessor, model } = packaged;
  const inputs = meta.inputs;
  const categorical = new Set(preprocessor.categorical.map((s) => s.name));
  const rules = textRules(inputs, preprocessor);
  const m = inputs.length;
  const names = inputs.map((c) => c.name);
  const at = Int32Array.from(inputs, (c) => header.indexOf(c.name));
  const required = inputs.map((c) => c.required);
  const isString = inputs.map((c) => c.type === "string");
  const isLong = inputs.map((c) => c.type === "long");
  // Text columns are held as strings, as category codes are; the table gets them as `text`.
  const textSpecs = inputs.map((c) => {
    const rule = rules.get(c.name);
    return rule === undefined ? undefined : { type: "text" as const, ...rule, nullable: !c.required };
  });
  const isText = textSpecs.map((spec) => spec !== undefined);
  const isCategorical = inputs.map((c, i) => categorical.has(c.name) || isText[i]!);
  const classes = meta.classes;
  const k = classes.length;
  const threshold = k === 2 ? meta.threshold : undefined;
  const labelCells = classes.map(csvCell);
  const fieldCount = header.length;
  const countReason = (n: number) => `has ${n} fields, the header has ${fieldCount}`;
  const needsParser = NEEDS_PARSER[delimiter];

  // Per chunk: the validated values of the good rows so far, column by column (row g = the g-th good row).
  let numeric: (Float64Array | undefined)[] = [];
  let strings: (string[] | undefined)[] = [];
  let good = 0;
  /** Per input column: the row being read had its text cut (counted once the row is kept). */
  const cut = new Uint8Array(m);
  let cutAny = false;
  let truncated: Record<string, number> = {};
  // The row being read.
  let reasons: string[] = [];
  let kinds: BadRowKind[] = [];
  let deferred: string[] = [];

  const problem = (kind: BadRowKind, reason: string) => {
    kinds.push(kind);
    reasons.push(reason);
  };
  const setNumber = (i: number, value: number) => {
    if (isCategorical[i]) strings[i]![good] = codeText(value);
    else numeric[i]![good] = value;
  };
  const setMissing = (i: number) => {
    if (isCategorical[i]) strings[i]![good] = "";
    else numeric[i]![good] = Number.NaN;
  };
  /** A number read from the file: the signature's integer check, then the table. */
  const takeNumber = (i: number, value: number) => {
    if (isLong[i] && !Number.isInteger(value))
      deferred.push(`${names[i]}: expected an integer, got ${value}`);
    setNumber(i, value);
  };
  /** A field as text (already trimmed by the reader). */
  const takeText = (i: number, raw: string) => {
    const spec = textSpecs[i];
    if (spec !== undefined) {
      // As training reads a text field: as written ("NA" is a word); empty, whitespace only or too long: refused.
      const checked = checkTextField(names[i]!, spec, raw);
      strings[i]![good] = checked.text;
      if (checked.problem !== undefined)
        problem(
          checked.problem.kind,
          checked.problem.kind === "null"
            ? `${checked.problem.reason} (the column is not nullable)`
            : checked.problem.reason,
        );
      else if (checked.truncated) {
        cut[i] = 1;
        cutAny = true;
      }
      return;
    }
    if (isMissingField(raw)) {
      setMissing(i);
      if (required[i]) {
        const token = raw.trim();
        problem(
          "null",
          `${names[i]}: ${token === "" ? "empty" : `missing ('${token}')`} where a value is required`,
        );
      }
    } else if (isString[i]) {
      if (isCategorical[i]) strings[i]![good] = raw;
      else numeric[i]![good] = Number.NaN;
    } else {
      const value = parseNumberField(raw);
      if (value === undefined) problem("wrong_type", `${names[i]}: not a number: the string ${quoted(raw)}`);
      else takeNumber(i, value);
    }
  };
  /** A signature column the file does not have. */
  const takeAbsent = (i: number) => {
    setMissing(i);
    if (required[i]) deferred.push(`${names[i]}: missing (required)`);
  };
  const startRow = () => {
    if (cutAny) {
      cut.fill(0);
      cutAny = false;
    }
    if (reasons.length > 0) {
      reasons = [];
      kinds = [];
    }
    if (deferred.length > 0) deferred = [];
  };
  const valuesOf = (fields: readonly string[]) =>
    Object.fromEntries(header.map((h, i) => [h, fields[i] ?? ""])) as Record<string, string>;

  return (bytes, last) => {
    const text = decoder.decode(bytes);
    const bad: BadRow[] = [];
    /** Per good row: its cells as written back (CSV) or its values (JSONL). */
    const kept: (string | Record<string, string>)[] = [];
    let rows = 0;
    let lines = 0;
    good = 0;
    truncated = {};

    /**
     * Ends the current row: quarantined with its problems, or kept for scoring. `fields` is the record, or the
     * line when it was split by hand (its fields need no unquoting, nor quoting when written back).
     */
    const endRow = (line: number, fields: string[] | string) => {
      if (reasons.length === 0 && deferred.length > 0)
        for (const reason of deferred) problem("signature", reason);
      if (reasons.length > 0) {
        const all = typeof fields === "string" ? fields.split(",") : fields;
        bad.push({ line, reasons, kinds, values: valuesOf(all) });
        reasons = [];
        kinds = [];
      } else {
        if (format === "jsonl") kept.push(valuesOf(typeof fields === "string" ? fields.split(",") : fields));
        else kept.push(typeof fields === "string" ? fields : fields.map(csvCell).join(","));
        good++;
        if (cutAny)
          for (let i = 0; i < m; i++)
            if (cut[i] === 1) truncated[names[i]!] = (truncated[names[i]!] ?? 0) + 1;
      }
    };

    const allocate = (n: number) => {
      numeric = inputs.map((_, i) => (isCategorical[i] ? undefined : new Float64Array(n)));
      strings = inputs.map((_, i) => (isCategorical[i] ? new Array<string>(n).fill("") : undefined));
    };

    if (!needsParser.test(text)) {
      // Split by hand: every field is its text as is (nothing to unquote or trim).
      const pieces = text.split(delimiter);
      const n = pieces.length;
      // A chunk ending with its delimiter leaves an empty last piece, which is no line.
      const count = pieces[n - 1] === "" ? n - 1 : n;
      lines = count;
      allocate(count);
      const ends = new Int32Array(fieldCount);
      // Each field's value when it is a plain integer ([+-]?\d{1,15}: exact as a double), else NaN.
      const plain = new Float64Array(fieldCount);
      for (let p = 0; p < count; p++) {
        const line = pieces[p]!;
        const length = line.length;
        if (length === 0) continue; // an empty line (skip_empty_lines)
        rows++;
        startRow();
        // One pass over the line: where each field ends, and its value if it is a plain integer.
        let f = 0;
        let start = 0;
        let value = 0;
        let sign = 1;
        let digits = 0;
        let simple = true;
        for (let c = 0; c <= length; c++) {
          const code = c < length ? line.charCodeAt(c) : 44;
          if (code === 44) {
            if (f < fieldCount) {
              ends[f] = c;
              plain[f] = simple && digits > 0 && digits <= 15 ? sign * value : Number.NaN;
            }
            f++;
            start = c + 1;
            value = 0;
            sign = 1;
            digits = 0;
            simple = true;
          } else if (simple) {
            const d = code - 48;
            if (d >= 0 && d <= 9) {
              value = value * 10 + d;
              digits++;
            } else if (c === start && (code === 45 || code === 43)) {
              if (code === 45) sign = -1;
            } else simple = false;
          }
        }
        if (f !== fieldCount) {
          const fields = line.split(",");
          problem("wrong_field_count", countReason(fields.length));
          bad.push({ line: p + 1, reasons, kinds, values: valuesOf(fields), fields });
          reasons = [];
          kinds = [];
          continue;
        }
        for (let i = 0; i < m; i++) {
          const h = at[i]!;
          if (h < 0) {
            takeAbsent(i);
            continue;
          }
          if (!isString[i]) {
            const value = plain[h]!;
            if (!Number.isNaN(value)) {
              takeNumber(i, value);
              continue;
            }
          }
          takeText(i, line.slice(h === 0 ? 0 : ends[h - 1]! + 1, ends[h]!));
        }
        endRow(p + 1, line);
      }
    } else {
      // csv-parse. A chunk that is not the last ends with a delimiter (outside quotes): one more record "x" after
      // it ends on the line after the chunk's last, which is how many lines the chunk spans.
      const sentinel = !last;
      let records: ParsedRecord[];
      try {
        records = parseRecords(sentinel ? `${text}x` : text, delimiter);
      } catch (error) {
        if (error instanceof CsvError) throw new ChunkCsvError(error.code, error.message);
        throw error;
      }
      if (sentinel) lines = records.pop()!.info.lines - 1;
      allocate(records.length);
      for (const { record: fields, info } of records) {
        rows++;
        startRow();
        if (fields.length !== fieldCount) {
          problem("wrong_field_count", countReason(fields.length));
          bad.push({ line: info.lines, reasons, kinds, values: valuesOf(fields), fields });
          reasons = [];
          kinds = [];
          continue;
        }
        for (let i = 0; i < m; i++) {
          const h = at[i]!;
          if (h < 0) takeAbsent(i);
          else takeText(i, fields[h]!);
        }
        endRow(info.lines, fields);
      }
    }

    let out = "";
    if (good > 0) {
      const table: Table = {
        rowCount: good,
        numeric: {},
        categorical: {},
        text: {},
        target: [],
        ids: {},
        lines: new Int32Array(good),
      };
      for (let i = 0; i < m; i++) {
        if (isCategorical[i]) {
          const column = strings[i]!;
          column.length = good;
          if (isText[i]) table.text[names[i]!] = column;
          else {
            // The manifest's raw codes become the category training saw, as rowsToTable recodes them.
            const input = inputs[i]!;
            if (input.recode !== undefined)
              for (let r = 0; r < good; r++)
                if (column[r] !== "") column[r] = recodeCategory(input, column[r]!);
            table.categorical[names[i]!] = column;
          }
        } else table.numeric[names[i]!] = numeric[i]!.subarray(0, good);
      }
      const probabilities = model.predict(transform(preprocessor, table));
      const parts: string[] = new Array(good);
      for (let r = 0; r < good; r++) {
        const base = r * k;
        let label: number;
        if (threshold !== undefined) label = probabilities[base + 1]! >= threshold ? 1 : 0;
        else {
          label = 0;
          for (let c = 1; c < k; c++) if (probabilities[base + c]! > probabilities[base + label]!) label = c;
        }
        const row = kept[r]!;
        if (typeof row === "string") {
          let line = `${row},${labelCells[label]}`;
          for (let c = 0; c < k; c++) line += `,${probabilities[base + c]}`;
          parts[r] = `${line},${version}\n`;
        } else {
          const p: Record<string, number> = {};
          for (let c = 0; c < k; c++) p[classes[c]!] = probabilities[base + c]!;
          parts[r] =
            `${JSON.stringify({ ...row, label: classes[label], probabilities: p, model_version: version })}\n`;
        }
      }
      out = parts.join("");
    }
    const result: ChunkResult = { rows, scored: good, output: encoder.encode(out), bad, lines, truncated };
    numeric = [];
    strings = [];
    return result;
  };
}

/** What every worker starts with. */
export interface PredictWorkerInit {
  /** The model package directory, loaded once by each worker. */
  dir: string;
  settings: ScoringSettings;
  /** The meta and preprocessor this thread loaded (JSON): a worker refuses a package that has changed since. */
  meta: string;
  preprocessor: string;
}

/** Main thread → worker. */
export interface ChunkMessage {
  type: "chunk";
  seq: number;
  bytes: Uint8Array;
  last: boolean;
}

/** An error as it crosses the thread boundary. */
export interface SerializedScoringError {
  name: string;
  message: string;
  code?: string;
  details?: Record<string, unknown>;
  /** csv-parse's code, for a ChunkCsvError. */
  csvCode?: string;
}

/** Worker → main thread. */
export type PredictWorkerMessage =
  | { type: "ready" }
  | { type: "init-failed"; error: SerializedScoringError }
  | { type: "done"; seq: number; result: ChunkResult }
  | { type: "failed"; seq: number; error: SerializedScoringError };

export function serializeScoringError(error: unknown): SerializedScoringError {
  if (error instanceof ChunkCsvError)
    return { name: error.name, message: error.message, csvCode: error.csvCode };
  if (error instanceof WorkbenchError)
    return { name: error.name, message: error.message, code: error.code, details: { ...error.details } };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

function deserialize(error: SerializedScoringError): Error {
  if (error.csvCode !== undefined) return new ChunkCsvError(error.csvCode, error.message);
  if (error.code !== undefined)
    return new WorkbenchError(error.code, error.message, { details: error.details ?? {} });
  return new ScoringWorkerError(`${error.name}: ${error.message}`);
}

/** How to start a worker: code for an eval'd bootstrap that imports predict-worker (through tsx for .ts). */
export interface PredictWorkerEntry {
  file: string;
  code: string;
}

/**
 * How to start predict-worker: workerEntryFor (src/models/pool.ts) finds the trial pool's worker next to pool.ts
 * and knows how to start a TypeScript one (tsx's loader registered first) or a compiled one; the same start,
 * pointed at predict-worker next to this module. A string says why there is no worker to start.
 */
export function predictWorkerEntry(moduleUrl: string): PredictWorkerEntry | string {
  if (!moduleUrl.startsWith("file:")) return `the scoring module is not a file (${moduleUrl})`;
  const here = fileURLToPath(moduleUrl);
  const ext = path.extname(here);
  const sibling = (e: string) => path.join(path.dirname(here), `predict-worker${e}`);
  const file = [sibling(ext), sibling(".ts")].find((f) => existsSync(f));
  if (file === undefined) return `${sibling(ext)} does not exist`;
  const trial = workerEntryFor(
    pathToFileURL(path.join(path.dirname(here), "..", "models", `pool${ext}`)).href,
  );
  if (typeof trial === "string") return trial;
  const theirs = JSON.stringify(pathToFileURL(trial.file).href);
  if (!trial.code.includes(theirs) || path.extname(trial.file) !== path.extname(file))
    return `the trial pool's worker start (${trial.code}) does not fit ${file}`;
  return { file, code: trial.code.replace(theirs, JSON.stringify(pathToFileURL(file).href)) };
}

interface Job {
  resolve: (result: ChunkResult) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** The model is loaded: the worker takes chunks. */
  ready: boolean;
  jobs: Map<number, Job>;
  /** The worker's uncaught error, if it threw. */
  error: string | undefined;
  stderrTail: string;
  stderrEnded: Promise<void>;
}

const STDERR_TAIL = 2000;
/** Chunks handed to one worker at once: the next one waits in its queue while it scores. */
export const WORKER_DEPTH = 2;

/**
 * Worker threads that score chunks of one file, each with its own copy of the model (loaded from the package
 * directory). The caller offers each chunk: a worker that is ready and has room takes it; otherwise the caller
 * scores it in its own thread (so nothing waits while the workers start).
 */
export class ScoringWorkers {
  private readonly slots: Slot[] = [];
  private failure: Error | undefined;
  private closed = false;
  private readonly readyWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(
    /** Worker threads. */
    readonly size: number,
    entry: PredictWorkerEntry,
    init: PredictWorkerInit,
  ) {
    for (let i = 0; i < size; i++) this.spawn(entry, init);
  }

  /** The first failure (a worker crashed, threw or could not load the model), if any. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Resolves once every worker has loaded the model; rejects when one fails first. */
  ready(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.slots.every((s) => s.ready)) return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** The ready worker with the fewest chunks, if it has room for one more. */
  private freest(): Slot | undefined {
    let slot: Slot | undefined;
    for (const s of this.slots)
      if (s.ready && s.jobs.size < WORKER_DEPTH && (slot === undefined || s.jobs.size < slot.jobs.size))
        slot = s;
    return slot;
  }

  /** True when a worker can take a chunk now (or the pool has failed: the next offer reports it). */
  hasRoom(): boolean {
    return this.failure !== undefined || (!this.closed && this.freest() !== undefined);
  }

  /**
   * Hands chunk `seq` to a ready worker with room (ask hasRoom() first); the bytes are moved to it, so they must
   * be the chunk's own buffer. Rejects with a ChunkCsvError, a WorkbenchError of the worker, or a
   * ScoringWorkerError when a worker failed.
   */
  offer(seq: number, bytes: Uint8Array, last: boolean): Promise<ChunkResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const slot = this.freest();
    if (slot === undefined)
      return Promise.reject(new Error("no scoring worker has room (ask hasRoom first)"));
    return new Promise<ChunkResult>((resolve, reject) => {
      slot.jobs.set(seq, { resolve, reject });
      const message: ChunkMessage = { type: "chunk", seq, bytes, last };
      slot.worker.postMessage(message, [bytes.buffer as ArrayBuffer]);
    });
  }

  private spawn(entry: PredictWorkerEntry, init: PredictWorkerInit): void {
    const worker = new Worker(entry.code, { eval: true, execArgv: [], workerData: init, stderr: true });
    const slot: Slot = {
      worker,
      ready: false,
      jobs: new Map(),
      error: undefined,
      stderrTail: "",
      stderrEnded: Promise.resolve(),
    };
    slot.stderrEnded = new Promise<void>((resolve) => {
      worker.stderr.on("data", (chunk: Buffer) => {
        process.stderr.write(chunk);
        slot.stderrTail = (slot.stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL);
      });
      worker.stderr.on("end", resolve);
      worker.stderr.on("close", resolve);
    });
    worker.on("message", (message: PredictWorkerMessage) => this.onMessage(slot, message));
    worker.on("error", (error: unknown) => {
      slot.error = errorMessage(error);
    });
    worker.on("messageerror", (error: unknown) => {
      slot.error = `a message could not be read: ${errorMessage(error)}`;
      void worker.terminate();
    });
    worker.on("exit", (code) => {
      void this.onExit(slot, code);
    });
    this.slots.push(slot);
  }

  private onMessage(slot: Slot, message: PredictWorkerMessage): void {
    if (message.type === "ready") {
      slot.ready = true;
      if (this.slots.every((s) => s.ready)) for (const w of this.readyWaiters.splice(0)) w.resolve();
      return;
    }
    if (message.type === "init-failed") {
      this.fail(deserialize(message.error));
      return;
    }
    const job = slot.jobs.get(message.seq);
    if (job === undefined) return;
    slot.jobs.delete(message.seq);
    if (message.type === "done") job.resolve(message.result);
    else job.reject(deserialize(message.error));
  }

  /** The pool is unusable: every chunk a worker holds, and every later offer, fails with `failure`. */
  private fail(failure: Error): void {
    this.failure ??= failure;
    for (const s of this.slots) {
      const jobs = [...s.jobs.values()];
      s.jobs.clear();
      for (const job of jobs) job.reject(this.failure);
    }
    for (const w of this.readyWaiters.splice(0)) w.reject(this.failure);
  }

  /** A worker that ends before the pool is closed fails the pool (with its error, or its exit code). */
  private async onExit(slot: Slot, code: number): Promise<void> {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    if (this.closed) return;
    // Wait (briefly) for the rest of its stderr, so that the error can quote it.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      slot.stderrEnded,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 500);
      }),
    ]);
    clearTimeout(timer);
    const last = slot.stderrTail.trim().split("\n").pop()?.trim() ?? "";
    const said = last === "" ? "" : ` (its last stderr line: ${last.slice(0, 300)})`;
    const how = slot.error !== undefined ? `threw: ${slot.error}` : `exited with code ${code}${said}`;
    const failure = new ScoringWorkerError(`a scoring worker thread ${how}`, {
      exitCode: code,
      ...(slot.error === undefined ? {} : { error: slot.error }),
    });
    // Its own chunks first (the other slots' chunks are rejected by fail() too).
    const jobs = [...slot.jobs.values()];
    slot.jobs.clear();
    this.fail(failure);
    for (const job of jobs) job.reject(this.failure);
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

/**
 * `workers` worker threads scoring chunks of one file with the package at `packaged.dir`, or a string saying why
 * none can start (e.g. a notebook kernel without the worker file): then the caller scores in its own thread.
 */
export function startScoringWorkers(
  packaged: PackagedModel,
  settings: ScoringSettings,
  workers: number,
): ScoringWorkers | string {
  const url: unknown = import.meta.url;
  const entry = typeof url === "string" ? predictWorkerEntry(url) : "import.meta.url is not available";
  if (typeof entry === "string") return entry;
  return new ScoringWorkers(workers, entry, {
    dir: packaged.dir,
    settings,
    meta: JSON.stringify(packaged.meta),
    preprocessor: JSON.stringify(packaged.preprocessor),
  });
}
