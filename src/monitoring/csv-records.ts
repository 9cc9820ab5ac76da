/**
 * A fast streaming RFC 4180 reader: monitoring reads millions of rows, and csv-parse (objects per record, a
 * string per field) spends most of a monitor run there. This one scans the file's bytes in blocks (the
 * separators are ASCII, so UTF-8 text needs no decoding to be split), keeps only the unfinished record between
 * blocks, and hands each record to the caller as offsets into the block: a numeric field becomes a number
 * without ever becoming a string, other fields are decoded only when asked for.
 *
 * Accepted: `,` between fields; records ending in LF, CRLF or a lone CR; fields in double quotes holding
 * commas, quotes (written `""`) and line breaks; a UTF-8 byte order mark; empty lines (skipped, as csv-parse's
 * `skip_empty_lines`). A quote inside an unquoted field is a literal character (csv-parse's `relax_quotes`).
 * Text between a closing quote and the next comma marks the record malformed (kept in the field, reported); a
 * quote left open at the end of the input is an error, as it swallows the rest of the file.
 */
import { open } from "node:fs/promises";
import { WorkbenchError } from "../shared/errors.js";

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Exact powers of ten: m / 10^k is correctly rounded for integer m < 2^53 and k <= 22 (Clinger's fast path). */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Digits a mantissa may have and stay below 2^53. */
const MAX_FAST_DIGITS = 15;

/** Field flags: quoted, and quoted with `""` escapes to undo. */
const QUOTED = 1;
const ESCAPED = 2;
/** An unquoted field whose plain-decimal value the scan computed on the way (see `plainNumber`). */
const PLAIN = 4;

/**
 * One record, valid until the callback returns: fields are read from the block's text by index. The arrays
 * are reused for the next record.
 */
export class CsvRecord {
  /** Fields in this record. */
  length = 0;
  /** 1-based line of the record's first line (line breaks inside quoted fields count). */
  line = 0;
  /** Why the record is malformed (text after a closing quote), or undefined. */
  malformed: string | undefined;
  /** @internal */ bytes: Buffer = Buffer.alloc(0);
  /** @internal */ starts = new Int32Array(64);
  /** @internal */ ends = new Int32Array(64);
  /** @internal */ flags = new Uint8Array(64);
  /** @internal */ numbers = new Float64Array(64);

  /** The field's text, quotes removed and `""` unescaped. */
  field(i: number): string {
    const raw = this.bytes.toString("utf8", this.starts[i]!, this.ends[i]!);
    return (this.flags[i]! & ESCAPED) !== 0 ? raw.replaceAll('""', '"') : raw;
  }

  /**
   * A number standing for the field's bytes when they are few (up to 6, unescaped: the codes of a categorical
   * column), so that a reader can tally repeated values without decoding them; -1 otherwise.
   */
  shortKey(i: number): number {
    const s = this.starts[i]!;
    const e = this.ends[i]!;
    if (e - s > 6 || (this.flags[i]! & ESCAPED) !== 0) return -1;
    const bytes = this.bytes;
    let key = 1;
    for (let j = s; j < e; j++) key = key * 256 + bytes[j]!;
    return key;
  }

  /** True when the field was written in quotes. */
  quoted(i: number): boolean {
    return (this.flags[i]! & QUOTED) !== 0;
  }

  /** True when the field is empty (``, or `""`). */
  empty(i: number): boolean {
    return this.starts[i] === this.ends[i];
  }

  /**
   * True when the scan read the field as a plain decimal number (or as empty): `value(i)` holds it then. The
   * pair keeps the hot loop free of `number | undefined` results (which V8 would box).
   */
  isPlain(i: number): boolean {
    return (this.flags[i]! & PLAIN) !== 0;
  }

  /** The number the scan read for a plain field (NaN when empty); meaningless unless `isPlain(i)`. */
  value(i: number): number {
    return this.numbers[i]!;
  }

  /**
   * The field as a number when it is plain decimal notation that needs no general parser: optional spaces, a
   * sign, at most 15 digits with an optional point, no exponent. Exactly `Number(text)` then. NaN for an empty
   * field; undefined for anything else (read `field(i)` and parse that).
   */
  plainNumber(i: number): number | undefined {
    if ((this.flags[i]! & PLAIN) !== 0) return this.numbers[i]!;
    const bytes = this.bytes;
    let s = this.starts[i]!;
    let e = this.ends[i]!;
    while (s < e && (bytes[s] === SPACE || bytes[s] === TAB)) s++;
    while (e > s && (bytes[e - 1] === SPACE || bytes[e - 1] === TAB)) e--;
    if (s === e) return Number.NaN;
    let negative = false;
    let c = bytes[s]!;
    if (c === MINUS || c === PLUS) {
      negative = c === MINUS;
      s++;
    }
    let mantissa = 0;
    let digits = 0;
    let fraction = -1;
    for (; s < e; s++) {
      c = bytes[s]!;
      if (c >= ZERO && c <= NINE) {
        mantissa = mantissa * 10 + (c - ZERO);
        digits++;
      } else if (c === DOT && fraction < 0) fraction = digits;
      else return undefined;
    }
    if (digits === 0 || digits > MAX_FAST_DIGITS) return undefined;
    const scale = fraction < 0 ? 0 : digits - fraction;
    const value = scale === 0 ? mantissa : mantissa / POW10[scale]!;
    return negative ? -value : value;
  }

  /** Every field as a string (tests and error reports). */
  fields(): string[] {
    return Array.from({ length: this.length }, (_, i) => this.field(i));
  }

  /** @internal */
  push(start: number, end: number, flags: number, value = 0): void {
    if (this.length === this.starts.length) {
      const grow = <T extends Int32Array | Uint8Array | Float64Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts, (n) => new Int32Array(n));
      this.ends = grow(this.ends, (n) => new Int32Array(n));
      this.flags = grow(this.flags, (n) => new Uint8Array(n));
      this.numbers = grow(this.numbers, (n) => new Float64Array(n));
    }
    this.starts[this.length] = start;
    this.ends[this.length] = end;
    this.flags[this.length] = flags;
    this.numbers[this.length] = value;
    this.length++;
  }
}

/**
 * Scans CSV bytes pushed in pieces of any size (a record, even a character, may span pieces) and calls
 * `onRecord` for each complete record, in order. Synchronous, so that tests can cut the same input at every point.
 */
export class CsvScanner {
  private carry: Buffer | undefined;
  private line = 1;
  private first = true;
  private readonly record = new CsvRecord();
  /** Records delivered (empty lines excluded). */
  records = 0;

  constructor(private readonly onRecord: (record: CsvRecord) => void) {}

  /**
   * Scans `chunk` (not kept after the call: the caller may reuse it); `final` marks the end of the input (the
   * last record needs no line break).
   */
  push(chunk: Uint8Array, final = false): void {
    let bytes: Buffer =
      this.carry === undefined
        ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        : Buffer.concat([this.carry, chunk]);
    this.carry = undefined;
    if (this.first) {
      if (bytes.length < 3 && !final) {
        this.carry = Buffer.from(bytes);
        return;
      }
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
      this.first = false;
    }
    const n = bytes.length;
    const record = this.record;
    record.bytes = bytes;
    let pos = 0;
    while (pos < n) {
      const recordStart = pos;
      const startLine = this.line;
      let extraLines = 0;
      record.length = 0;
      record.malformed = undefined;
      let complete = false;
      // One field per turn; `pos` ends on the comma or line break after it (or n).
      for (;;) {
        let c = pos < n ? bytes[pos]! : -1;
        if (c === QUOTE) {
          const start = pos + 1;
          let flags = QUOTED;
          let close = -1;
          let from = start;
          for (;;) {
            const q = bytes.indexOf(QUOTE, from);
            if (q === -1) break;
            if (q + 1 < n && bytes[q + 1] === QUOTE) {
              flags |= ESCAPED;
              from = q + 2;
              continue;
            }
            close = q;
            break;
          }
          if (close === -1) {
            if (!final) break; // wait for more input
            throw new WorkbenchError(
              "CSV_UNCLOSED_QUOTE",
              `the quoted field starting on line ${startLine + extraLines} is never closed: the rest of the file would be one field. Close the quote (a quote inside a quoted field is written "").`,
              { details: { line: startLine + extraLines } },
            );
          }
          for (let i = start; i < close; i++) {
            const b = bytes[i];
            if (b === LF || (b === CR && bytes[i + 1] !== LF)) extraLines++;
          }
          pos = close + 1;
          // Anything up to the next comma or line break after the closing quote: malformed, kept in the field.
          let end = close;
          while (pos < n) {
            c = bytes[pos]!;
            if (c === COMMA || c === LF || c === CR) break;
            pos++;
          }
          if (pos === n && !final) break; // the closing quote may be the first half of "" in the next piece
          if (pos > close + 1) {
            record.malformed ??= `text after the closing quote of field ${record.length + 1}`;
            end = pos;
            flags &= ~QUOTED;
          }
          record.push(start, end, flags);
        } else {
          // Unquoted: the field's plain-decimal value is computed on the way (one pass over the bytes): a sign,
          // digits, a point and digits; anything else before the separator makes it not plain.
          const start = pos;
          const negative = c === MINUS;
          if (negative || c === PLUS) pos++;
          let mantissa = 0;
          const integerStart = pos;
          while (pos < n) {
            const digit = bytes[pos]! - ZERO;
            if (digit < 0 || digit > 9) break;
            mantissa = mantissa * 10 + digit;
            pos++;
          }
          let digits = pos - integerStart;
          let scale = 0;
          if (pos < n && bytes[pos] === DOT) {
            pos++;
            const fractionStart = pos;
            while (pos < n) {
              const digit = bytes[pos]! - ZERO;
              if (digit < 0 || digit > 9) break;
              mantissa = mantissa * 10 + digit;
              pos++;
            }
            scale = pos - fractionStart;
            digits += scale;
          }
          let plain = true;
          while (pos < n) {
            c = bytes[pos]!;
            if (c === COMMA || c === LF || c === CR) break;
            plain = false;
            pos++;
          }
          if (pos === n && !final) break;
          if (pos === start) record.push(start, pos, PLAIN, Number.NaN);
          else if (plain && digits > 0 && digits <= MAX_FAST_DIGITS) {
            const value = scale === 0 ? mantissa : mantissa / POW10[scale]!;
            record.push(start, pos, PLAIN, negative ? -value : value);
          } else record.push(start, pos, 0);
        }
        if (pos === n) {
          complete = true;
          break;
        }
        c = bytes[pos]!;
        if (c === COMMA) {
          pos++;
          if (pos === n && final) {
            record.push(pos, pos, 0); // a trailing comma: one more, empty field
            complete = true;
            break;
          }
          continue;
        }
        if (c === CR) {
          if (pos + 1 === n && !final) break; // CR or CRLF: the next piece decides
          pos += bytes[pos + 1] === LF ? 2 : 1;
        } else pos++;
        complete = true;
        break;
      }
      if (!complete) {
        this.carry = Buffer.from(bytes.subarray(recordStart));
        record.bytes = EMPTY;
        return;
      }
      this.line = startLine + extraLines + 1;
      // An empty line: one empty unquoted field.
      if (record.length === 1 && (record.flags[0]! & QUOTED) === 0 && record.starts[0] === record.ends[0])
        continue;
      record.line = startLine;
      this.records++;
      this.onRecord(record);
    }
    record.bytes = EMPTY;
  }
}

const EMPTY = Buffer.alloc(0);

export interface CsvFileProgress {
  bytesRead: number;
  totalBytes: number;
  records: number;
}

export interface ReadCsvFileOptions {
  /** Bytes read per block (default 1 MiB). */
  blockBytes?: number;
  /** Called after each block. */
  onProgress?: (progress: CsvFileProgress) => void;
}

/**
 * Streams a CSV file through a CsvScanner: constant memory (a block and one unfinished record). Returns the
 * records delivered and the bytes read.
 */
export async function readCsvFile(
  file: string,
  onRecord: (record: CsvRecord) => void,
  options: ReadCsvFileOptions = {},
): Promise<{ records: number; bytes: number }> {
  const handle = await open(file, "r");
  try {
    const totalBytes = (await handle.stat()).size;
    const blockBytes = options.blockBytes ?? 1 << 20;
    const block = Buffer.allocUnsafe(blockBytes);
    const scanner = new CsvScanner(onRecord);
    let bytesRead = 0;
    for (;;) {
      const { bytesRead: got } = await handle.read(block, 0, blockBytes, null);
      if (got === 0) break;
      bytesRead += got;
      scanner.push(block.subarray(0, got));
      options.onProgress?.({ bytesRead, totalBytes, records: scanner.records });
    }
    scanner.push(EMPTY, true);
    return { records: scanner.records, bytes: bytesRead };
  } finally {
    await handle.close();
  }
}
