/**
 * File-level checks of a CSV before its rows are read: is it a CSV text file at all, and does its header hold
 * exactly the declared columns. Training (data/validate.ts), `npm run train -- --dry-run` and `npm run init`
 * share them.
 */
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { parse } from "csv-parse";
import { DataValidationError } from "../shared/errors.js";

/** Throws DATA_FILE_MISSING, DATA_EMPTY or DATA_NOT_CSV unless `file` looks like CSV text. */
export async function assertLooksLikeCsv(file: string): Promise<void> {
  const info = await stat(file).catch((cause: unknown) => {
    throw new DataValidationError("DATA_FILE_MISSING", `${file} does not exist.`, {
      cause,
      details: { file },
    });
  });
  if (info.size === 0)
    throw new DataValidationError(
      "DATA_EMPTY",
      `${file} is empty: expected a CSV with a header row and data rows.`,
      { details: { file } },
    );
  const handle = await open(file, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    const head = buffer.subarray(0, bytesRead);
    if (head.includes(0)) {
      throw new DataValidationError(
        "DATA_NOT_CSV",
        `${file} is not a CSV text file (it contains binary data).`,
        { details: { file } },
      );
    }
    const first = head.toString("utf8").trimStart();
    if (first.startsWith("{") || first.startsWith("[") || first.startsWith("<")) {
      throw new DataValidationError(
        "DATA_NOT_CSV",
        `${file} is not CSV: it starts like ${first.startsWith("<") ? "HTML/XML" : "JSON"}.`,
        {
          details: { file },
        },
      );
    }
  } finally {
    await handle.close();
  }
}

/** Throws DATA_MISSING_COLUMN, DATA_EXTRA_COLUMN or DATA_DUPLICATE_COLUMN unless `header` holds exactly `expected`. */
export function checkHeader(file: string, header: readonly string[], expected: readonly string[]): void {
  const missing = expected.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new DataValidationError(
      "DATA_MISSING_COLUMN",
      `${file}: missing column${missing.length > 1 ? "s" : ""} ${missing.map((c) => `'${c}'`).join(", ")} (header has ${header.length} columns: ${header.slice(0, 8).join(", ")}${header.length > 8 ? ", …" : ""}).`,
      { details: { file, missing, header } },
    );
  }
  const extra = header.filter((c) => !expected.includes(c));
  if (extra.length > 0) {
    throw new DataValidationError(
      "DATA_EXTRA_COLUMN",
      `${file}: unexpected column${extra.length > 1 ? "s" : ""} ${extra.map((c) => `'${c}'`).join(", ")}; declare ${extra.length > 1 ? "them" : "it"} in the dataset manifest or remove ${extra.length > 1 ? "them" : "it"}.`,
      { details: { file, extra } },
    );
  }
  const dupes = header.filter((c, i) => header.indexOf(c) !== i);
  if (dupes.length > 0) {
    throw new DataValidationError(
      "DATA_DUPLICATE_COLUMN",
      `${file}: column '${dupes[0]}' appears twice in the header.`,
      { details: { file, dupes } },
    );
  }
}

/** The header row of a CSV (field names trimmed), after the file-level checks. */
export async function readCsvHeader(file: string): Promise<string[]> {
  await assertLooksLikeCsv(file);
  const parser = createReadStream(file).pipe(
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true, to_line: 1 }),
  );
  try {
    for await (const record of parser as AsyncIterable<string[]>) return record.map((f) => f.trim());
  } catch (error) {
    throw new DataValidationError("DATA_NOT_CSV", `${file} is not valid CSV: ${(error as Error).message}`, {
      cause: error,
      details: { file },
    });
  } finally {
    parser.destroy();
  }
  throw new DataValidationError("DATA_EMPTY", `${file} has no header row.`, { details: { file } });
}

/** A csv-parse failure (or a DataValidationError raised while reading rows, passed through) as DATA_NOT_CSV. */
export function csvReadError(file: string, error: unknown): DataValidationError {
  if (error instanceof DataValidationError) return error;
  const where = (error as { lines?: number }).lines;
  return new DataValidationError(
    "DATA_NOT_CSV",
    `${file}${where ? `:${where}` : ""} is not valid CSV: ${(error as Error).message}`,
    { cause: error, details: { file } },
  );
}
