import type { Readable } from "node:stream";
import { parse } from "csv-parse/sync";
import { clipName, type InputMode } from "./input.js";

/** A request the service rejects before scoring: the status and MLflow-style error code it maps to. */
export class PayloadError extends Error {
  constructor(
    readonly status: 400 | 413 | 415 | 422,
    readonly errorCode: string,
    message: string,
    /** Per-field problems, for INVALID_INPUT. */
    readonly errors?: unknown[],
  ) {
    super(message);
  }
}

const FORMATS = ["dataframe_split", "dataframe_records", "instances", "inputs"] as const;

export interface ParsedPayload {
  rows: Record<string, unknown>[];
  mode: InputMode;
  /** `records` and `texts`: /predict's bodies. */
  format: (typeof FORMATS)[number] | "csv" | "records" | "texts";
  params: Record<string, unknown> | undefined;
}

/** What one request body may hold; checked while its bytes arrive, before anything is materialised. */
export interface BodyBounds {
  /** Bytes (the body limit). */
  maxBytes: number;
  /** Rows of a batch (the max-batch limit). */
  maxRows: number;
  /** JSON values or CSV fields in the whole body: bounds the memory parsing takes. */
  maxValues: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Long texts from elsewhere (parser messages) as they may be echoed back. */
function clipText(text: string, max = 300): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function names(keys: readonly string[], max = 10): string {
  const listed = keys.slice(0, max).map(clipName).join(", ");
  return keys.length > max ? `${listed}, … (${keys.length} in all)` : listed;
}

function columnar(value: Record<string, unknown>, key: string, maxRows: number): Record<string, unknown>[] {
  const columns = Object.entries(value);
  const lengths = new Set(columns.map(([, v]) => (Array.isArray(v) ? v.length : -1)));
  if (lengths.has(-1) || lengths.size !== 1) {
    throw new PayloadError(
      400,
      "BAD_REQUEST",
      `'${key}' as a dictionary must map every column to a list of the same length.`,
    );
  }
  const n = [...lengths][0]!;
  if (n > maxRows) throw tooManyRows(maxRows);
  return Array.from({ length: n }, (_, i) =>
    Object.fromEntries(columns.map(([c, v]) => [c, (v as unknown[])[i]])),
  );
}

function records(value: unknown, key: string, maxRows: number): Record<string, unknown>[] {
  if (Array.isArray(value)) {
    if (value.length > maxRows) throw tooManyRows(maxRows);
    value.forEach((row, i) => {
      if (!isRecord(row))
        throw new PayloadError(400, "BAD_REQUEST", `'${key}[${i}]' must be an object of column → value.`);
    });
    return value as Record<string, unknown>[];
  }
  if (isRecord(value)) return columnar(value, key, maxRows);
  throw new PayloadError(
    400,
    "BAD_REQUEST",
    `'${key}' must be a list of records or a dictionary of columns.`,
  );
}

/** Refuses a header naming a column twice: building records from it would keep only the last value. */
function refuseDuplicates(
  columns: readonly string[],
  describe: (name: string, first: number, second: number) => string,
) {
  const seen = new Map<string, number>();
  columns.forEach((name, j) => {
    const first = seen.get(name);
    if (first !== undefined)
      throw new PayloadError(
        400,
        "BAD_REQUEST",
        `${describe(`'${clipName(name)}'`, first, j)}: name each column once.`,
      );
    seen.set(name, j);
  });
}

/**
 * Parses an MLflow scoring-protocol body: JSON with exactly one of dataframe_split, dataframe_records,
 * instances, inputs (and optional params), or a CSV document. A batch over `maxRows` is refused before its
 * rows are built.
 */
export function parseScoringPayload(
  body: unknown,
  contentType: "json" | "csv",
  maxRows = Number.POSITIVE_INFINITY,
): ParsedPayload {
  if (contentType === "csv")
    return { rows: parseCsv(String(body ?? ""), maxRows), mode: "text", format: "csv", params: undefined };
  if (!isRecord(body))
    throw new PayloadError(
      400,
      "BAD_REQUEST",
      `The input must be a JSON dictionary with exactly one of the input fields ${FORMATS.join(", ")}.`,
    );
  const present = FORMATS.filter((f) => Object.hasOwn(body, f));
  if (present.length !== 1) {
    throw new PayloadError(
      400,
      "BAD_REQUEST",
      `The input must be a JSON dictionary with exactly one of the input fields ${FORMATS.join(", ")}; received fields: ${names(Object.keys(body)) || "none"}.`,
    );
  }
  const format = present[0]!;
  const params = isRecord(body.params) ? body.params : undefined;
  const value = body[format];
  if (format === "dataframe_split") {
    if (!isRecord(value) || !Array.isArray(value.columns) || !Array.isArray(value.data)) {
      throw new PayloadError(
        400,
        "BAD_REQUEST",
        '\'dataframe_split\' must be {"columns": [...], "data": [[...], ...]}.',
      );
    }
    if (value.data.length > maxRows) throw tooManyRows(maxRows);
    const columns = value.columns.map(String);
    refuseDuplicates(
      columns,
      (name, a, b) =>
        `'dataframe_split.columns' names the column ${name} twice (columns[${a}] and columns[${b}])`,
    );
    const rows = (value.data as unknown[]).map((row, i) => {
      if (!Array.isArray(row) || row.length !== columns.length) {
        throw new PayloadError(
          400,
          "BAD_REQUEST",
          `'dataframe_split.data[${i}]' must be a list of ${columns.length} values (one per column).`,
        );
      }
      return Object.fromEntries(columns.map((c, j) => [c, row[j]]));
    });
    return { rows, mode: "json", format, params };
  }
  return { rows: records(value, format, maxRows), mode: "json", format, params };
}

/**
 * Reads a CSV body into text records (the header names the columns). A row with more or fewer fields than
 * the header, and a header naming a column twice, are refused: either would score values under the wrong
 * column. Reading stops one row past `maxRows`.
 */
export function parseCsv(text: string, maxRows = Number.POSITIVE_INFINITY): Record<string, unknown>[] {
  let table: string[][];
  try {
    const to = Number.isFinite(maxRows) ? { to: maxRows + 2 } : {}; // the header and one row too many
    table = parse(text, { bom: true, trim: true, skip_empty_lines: true, ...to }) as string[][];
  } catch (cause) {
    throw new PayloadError(
      400,
      "BAD_REQUEST",
      `The CSV body could not be parsed: ${clipText((cause as Error).message)}`,
    );
  }
  const [header, ...rows] = table;
  if (header === undefined) return [];
  if (rows.length > maxRows) throw tooManyRows(maxRows);
  refuseDuplicates(
    header,
    (name, a, b) => `The CSV header names the column ${name} twice (fields ${a + 1} and ${b + 1})`,
  );
  return rows.map((fields) => Object.fromEntries(header.map((name, j) => [name, fields[j]])));
}

/** Parses a JSON body read by readBody; a syntax error is a 400 that says where. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === "")
    throw new PayloadError(400, "BAD_REQUEST", "The body is empty: send a JSON document.");
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new PayloadError(
      400,
      "BAD_REQUEST",
      `The body is not valid JSON: ${clipText((cause as Error).message)}`,
    );
  }
}

/** Counts what a body holds as its bytes arrive; `finish` throws the PayloadError that refuses it. */
export interface BodyScan {
  feed(chunk: Uint8Array): void;
  /** True once the body is sure to be refused: its bytes need not be kept. */
  readonly refusing: boolean;
  finish(): void;
  /** Whether a body too small to be scanned as it arrives must still be scanned whole. */
  suspicious(body: Buffer): boolean;
}

/**
 * Bodies up to this size are not scanned as they arrive: parsing them costs at most a few milliseconds
 * whatever they hold, and the row limit is checked before rows are built. Scoring batches of up to ~800
 * credit-default rows pay nothing for the scan.
 */
export const SCAN_FROM_BYTES = 256 * 1024;

// Scans stop at the first row or value over a bound: the count past it is not known, only "more than".
function tooManyRows(max: number): PayloadError {
  return new PayloadError(
    413,
    "BATCH_TOO_LARGE",
    `The batch has more than ${max} rows; the limit is ${max}: send it in smaller batches.`,
  );
}

function tooManyValues(bounds: BodyBounds, what: string): PayloadError {
  return new PayloadError(
    413,
    "PAYLOAD_TOO_LARGE",
    `The body holds more than ${bounds.maxValues} ${what}, more than batches of ${bounds.maxRows} rows of the model's columns need: send smaller batches.`,
  );
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

/** Rows (non-empty lines after the header, quoted line breaks excepted) and fields of a CSV body. */
export class CsvBodyScan implements BodyScan {
  private inQuotes = false;
  private lineHasContent = false;
  private lines = 0;
  private fields = 0;

  constructor(private readonly bounds: BodyBounds) {}

  get refusing(): boolean {
    return this.lines - 1 > this.bounds.maxRows || this.fields > this.bounds.maxValues;
  }

  feed(chunk: Uint8Array): void {
    if (this.refusing) return; // refused early: the rest is neither scanned nor kept
    let { inQuotes, lineHasContent, lines, fields } = this;
    const { maxRows, maxValues } = this.bounds;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (inQuotes) {
        if (b === QUOTE) inQuotes = false; // "" (an escaped quote) closes and reopens
      } else if (b === LF || b === CR) {
        if (lineHasContent) {
          lines++;
          fields++;
          if (lines - 1 > maxRows || fields > maxValues) break;
        }
        lineHasContent = false;
      } else if (b === COMMA) {
        lineHasContent = true;
        if (++fields > maxValues) break;
      } else if (b !== SPACE && b !== TAB) {
        if (b === QUOTE) inQuotes = true;
        lineHasContent = true;
      }
    }
    Object.assign(this, { inQuotes, lineHasContent, lines, fields });
  }

  suspicious(): boolean {
    return false; // parseCsv stops reading at the row limit
  }

  finish(): void {
    if (this.lineHasContent) {
      this.lines++;
      this.fields++;
      this.lineHasContent = false;
    }
    const rows = Math.max(0, this.lines - 1);
    if (rows > this.bounds.maxRows) throw tooManyRows(this.bounds.maxRows);
    if (this.fields > this.bounds.maxValues) throw tooManyValues(this.bounds, "fields");
  }
}

const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Keys whose array values are a batch's rows (or, as objects, hold its columns); "records", "texts": /predict's. */
const ROW_KEYS = new Set<string>([...FORMATS, "records", "texts"]);
/** Scoring payloads nest 4 deep (dataframe_split → data → row → value); tensors a little deeper. */
const MAX_DEPTH = 64;
/** Enough bytes of a key to recognise "__proto__", "constructor" and "prototype", even \u-escaped. */
const KEY_BYTES = 80;

// What a container on the scan's stack is to the batch.
const OTHER = 0;
const ROOT = 1; // the top-level object
const FORMAT = 2; // {"inputs": {column: [...]}}: its arrays are columns
const SPLIT = 3; // {"dataframe_split": {...}}: its "data" array holds the rows
const ROWS = 4; // an array whose elements are rows (or a column's values)

/**
 * A byte-level pass over a JSON body that counts its values and the rows of the batch it carries (the
 * elements of dataframe_records/instances/inputs/records, dataframe_split.data, or a column of a columnar
 * dictionary), and finds keys that could change a prototype ("__proto__", "constructor.prototype"). It does
 * not validate the JSON (JSON.parse does, afterwards) and allocates nothing per value, so a 10 MB body of
 * millions of rows is refused after a scan of a few tens of milliseconds spread over its chunks, instead of
 * being materialised.
 */
export class JsonBodyScan implements BodyScan {
  // The stack of open containers, one slot per depth.
  private depth = 0;
  private readonly isObject = new Uint8Array(MAX_DEPTH);
  private readonly role = new Uint8Array(MAX_DEPTH);
  private readonly count = new Float64Array(MAX_DEPTH);
  /** The key each container sits under in an object parent, when decoded (for roles and messages). */
  private readonly names: (string | undefined)[] = new Array(MAX_DEPTH).fill(undefined);
  private inString = false;
  private inKey = false;
  private escaped = false;
  private expectKey = false;
  private expectValue = true;
  private readonly keyBytes = Buffer.alloc(KEY_BYTES);
  private keyLength = 0;
  /** Whether the string being read (a key, when it matters) has a backslash escape. */
  private keyEscaped = false;
  /** The last key read, decoded when it matters (top two levels, prototype-like names). */
  private key: string | undefined;
  private rows = 0;
  private values = 0;
  private refusal: PayloadError | undefined;

  constructor(private readonly bounds: BodyBounds) {}

  get refusing(): boolean {
    return (
      this.refusal !== undefined || this.rows > this.bounds.maxRows || this.values > this.bounds.maxValues
    );
  }

  feed(chunk: Uint8Array): void {
    if (this.refusing) return; // refused early: the rest of the body is neither scanned nor kept
    // The state lives in locals while the loop runs (a 10 MB body is 10 million iterations).
    let { inString, inKey, escaped, expectKey, expectValue } = this;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      if (inString) {
        // To the closing quote (or the end of the chunk) in one tight loop.
        let j = i;
        for (; j < n; j++) {
          const c = chunk[j]!;
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = this.keyEscaped = true;
          else if (c === QUOTE) break;
        }
        if (inKey) this.keepKey(chunk, i, j);
        i = j;
        if (j === n) break;
        inString = false;
        if (inKey) {
          inKey = false;
          this.endKey();
          if (this.refusal !== undefined) break;
        }
        continue;
      }
      const b = chunk[i]!;
      if (b === SPACE || b === LF || b === CR || b === TAB) continue;
      if (b === QUOTE) {
        inString = true;
        inKey = expectKey;
        if (inKey) {
          expectKey = false;
          this.keyLength = 0;
          this.keyEscaped = false;
          continue;
        }
      } else if (b === COMMA) {
        if (this.depth > 0 && this.isObject[this.depth - 1] === 1) expectKey = true;
        else expectValue = true;
        continue;
      } else if (b === COLON) {
        expectValue = true;
        continue;
      } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        if (this.depth > 0) this.depth--;
        expectKey = expectValue = false;
        continue;
      } else if (!expectValue && b !== OPEN_OBJECT && b !== OPEN_ARRAY) continue; // inside a number or literal
      // A value starts: a string, a container, a number, true, false or null.
      expectValue = false;
      this.values++;
      const top = this.depth - 1;
      if (top >= 0 && this.isObject[top] === 0) {
        const count = ++this.count[top]!;
        if (this.role[top] === ROWS && count > this.rows) this.rows = count;
      }
      if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        this.push(b === OPEN_OBJECT);
        if (b === OPEN_OBJECT) expectKey = true;
        else expectValue = true;
      }
      if (this.refusing) break;
    }
    Object.assign(this, { inString, inKey, escaped, expectKey, expectValue });
  }

  /** Keeps the first KEY_BYTES bytes of a key (it may arrive over several chunks). */
  private keepKey(chunk: Uint8Array, from: number, to: number): void {
    let k = this.keyLength;
    for (let j = from; j < to && k < KEY_BYTES; j++, k++) this.keyBytes[k] = chunk[j]!;
    this.keyLength += to - from;
  }

  /** "__proto__" and "prototype" can only be written as such, or with \\u escapes. */
  suspicious(body: Buffer): boolean {
    return body.includes("__proto__") || body.includes("prototype") || body.includes("\\u");
  }

  finish(): void {
    if (this.refusal !== undefined) throw this.refusal;
    if (this.rows > this.bounds.maxRows) throw tooManyRows(this.bounds.maxRows);
    if (this.values > this.bounds.maxValues) throw tooManyValues(this.bounds, "JSON values");
  }

  private push(isObject: boolean): void {
    if (this.depth === MAX_DEPTH) {
      this.refusal = new PayloadError(
        400,
        "BAD_REQUEST",
        `The body nests deeper than ${MAX_DEPTH} levels (at ${this.path()}); a scoring payload needs 4.`,
      );
      return;
    }
    const d = this.depth;
    const parentRole = d === 0 ? OTHER : this.role[d - 1]!;
    const parentIsObject = d > 0 && this.isObject[d - 1] === 1;
    const key = parentIsObject ? this.key : undefined;
    let role = OTHER;
    if (d === 0) role = isObject ? ROOT : OTHER;
    else if (parentRole === ROOT && key !== undefined && ROW_KEYS.has(key))
      role = isObject ? (key === "dataframe_split" ? SPLIT : FORMAT) : ROWS;
    else if (!isObject && (parentRole === FORMAT || (parentRole === SPLIT && key === "data"))) role = ROWS;
    this.isObject[d] = isObject ? 1 : 0;
    this.role[d] = role;
    this.count[d] = 0;
    this.names[d] = key;
    this.depth = d + 1;
  }

  private endKey(): void {
    const n = this.keyLength;
    const first = this.keyBytes[0];
    const escaped = this.keyEscaped;
    // Decoded: the top two levels (they give the roles), and what could be a prototype key.
    const wanted =
      n <= KEY_BYTES &&
      (this.depth <= 2 ||
        escaped ||
        (n === 9 && (first === 0x5f || first === 0x70)) ||
        (n === 11 && first === 0x63));
    this.key = undefined;
    if (wanted) {
      const raw = this.keyBytes.toString("utf8", 0, n);
      try {
        this.key = escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
      } catch {
        // An invalid escape: JSON.parse refuses the body afterwards.
      }
    }
    const inConstructor = this.depth > 1 && this.names[this.depth - 1] === "constructor";
    const forbidden =
      this.key === "__proto__"
        ? "'__proto__'"
        : this.key === "prototype" && inConstructor
          ? "'constructor.prototype'"
          : undefined;
    if (forbidden !== undefined)
      this.refusal = new PayloadError(
        400,
        "BAD_REQUEST",
        `The body contains the key ${forbidden} (at ${this.path()}), which could change an object's prototype: remove it (no model has such a column).`,
      );
  }

  /** Where the scan is, as dataframe_records[3].x ("…" for a key not decoded), for messages. */
  private path(): string {
    let path = "";
    for (let d = Math.max(1, this.depth - 8); d < this.depth; d++) {
      if (this.isObject[d - 1] === 0) path += `[${this.count[d - 1]! - 1}]`;
      else path += `${d === 1 ? "" : "."}${clipName(this.names[d] ?? "…")}`;
    }
    return path === "" ? "the top level" : path;
  }
}

/**
 * Reads a request body, through a scan once it is larger than `scanFrom` bytes, keeping its bytes only while
 * the scan has no objection, and resolves with the text. A body that is refused is still read to its end
 * (cheaply: nothing is kept or parsed), so the client gets the 4xx answer instead of a reset connection.
 */
export function readBody(
  stream: Readable,
  scan: BodyScan,
  maxBytes: number,
  contentLength: string | undefined,
  scanFrom = SCAN_FROM_BYTES,
): Promise<string> {
  const declared = contentLength === undefined ? Number.NaN : Number(contentLength);
  const tooLarge = () =>
    new PayloadError(413, "PAYLOAD_TOO_LARGE", `The body exceeds the limit of ${maxBytes} bytes.`);
  if (declared > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    let received = 0;
    let scanning = false;
    let chunks: Buffer[] | undefined = [];
    const stop = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
    };
    function onData(chunk: Buffer | string) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      if (received > maxBytes) {
        stop();
        reject(tooLarge());
        return;
      }
      if (chunks === undefined) return; // refused: read to the end, keep nothing
      chunks.push(bytes);
      if (scanning) scan.feed(bytes);
      else if (received > scanFrom) {
        scanning = true;
        for (const c of chunks) scan.feed(c);
      }
      if (scanning && scan.refusing) chunks = undefined;
    }
    function onEnd() {
      stop();
      if (!Number.isNaN(declared) && declared !== received) {
        reject(
          new PayloadError(
            400,
            "BAD_REQUEST",
            `The body has ${received} bytes; its Content-Length said ${declared}.`,
          ),
        );
        return;
      }
      const body = chunks === undefined ? Buffer.alloc(0) : Buffer.concat(chunks, received);
      try {
        if (!scanning && scan.suspicious(body)) scan.feed(body);
        scan.finish();
      } catch (error) {
        reject(error);
        return;
      }
      resolve(body.toString("utf8"));
    }
    function onError(error: Error) {
      stop();
      reject(new PayloadError(400, "BAD_REQUEST", `The body could not be read: ${clipText(error.message)}`));
    }
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.resume();
  });
}
