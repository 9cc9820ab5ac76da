import { parse } from "csv-parse/sync";
import type { InputMode } from "./input.js";

/** A request the service rejects before scoring: the status and MLflow-style error code it maps to. */
export class PayloadError extends Error {
  constructor(
    readonly status: 400 | 413 | 415 | 422,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

const FORMATS = ["dataframe_split", "dataframe_records", "instances", "inputs"] as const;

export interface ParsedPayload {
  rows: Record<string, unknown>[];
  mode: InputMode;
  format: (typeof FORMATS)[number] | "csv" | "records";
  params: Record<string, unknown> | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function columnar(value: Record<string, unknown>, key: string): Record<string, unknown>[] {
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
  return Array.from({ length: n }, (_, i) =>
    Object.fromEntries(columns.map(([c, v]) => [c, (v as unknown[])[i]])),
  );
}

function records(value: unknown, key: string): Record<string, unknown>[] {
  if (Array.isArray(value)) {
    value.forEach((row, i) => {
      if (!isRecord(row))
        throw new PayloadError(400, "BAD_REQUEST", `'${key}[${i}]' must be an object of column → value.`);
    });
    return value as Record<string, unknown>[];
  }
  if (isRecord(value)) return columnar(value, key);
  throw new PayloadError(
    400,
    "BAD_REQUEST",
    `'${key}' must be a list of records or a dictionary of columns.`,
  );
}

/**
 * Parses an MLflow scoring-protocol body: JSON with exactly one of dataframe_split, dataframe_records,
 * instances, inputs (and optional params), or a CSV document.
 */
export function parseScoringPayload(body: unknown, contentType: "json" | "csv"): ParsedPayload {
  if (contentType === "csv")
    return { rows: parseCsv(String(body ?? "")), mode: "text", format: "csv", params: undefined };
  if (!isRecord(body))
    throw new PayloadError(
      400,
      "BAD_REQUEST",
      `The input must be a JSON dictionary with exactly one of the input fields ${FORMATS.join(", ")}.`,
    );
  const present = FORMATS.filter((f) => f in body);
  if (present.length !== 1) {
    throw new PayloadError(
      400,
      "BAD_REQUEST",
      `The input must be a JSON dictionary with exactly one of the input fields ${FORMATS.join(", ")}; received fields: ${Object.keys(body).join(", ") || "none"}.`,
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
    const columns = value.columns.map(String);
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
  return { rows: records(value, format), mode: "json", format, params };
}

export function parseCsv(text: string): Record<string, unknown>[] {
  try {
    return parse(text, { columns: true, skip_empty_lines: true, bom: true, trim: true }) as Record<
      string,
      unknown
    >[];
  } catch (cause) {
    throw new PayloadError(
      400,
      "BAD_REQUEST",
      `The CSV body could not be parsed: ${(cause as Error).message}`,
    );
  }
}
