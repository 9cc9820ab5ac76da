/**
 * What the MLflow-compatible schema enforcement let through after adjusting it (never in --strict mode,
 * where each of these is a 422 problem instead; text_truncated excepted):
 * - `extra_column`: a column outside the signature, ignored (MLflow logs "These inputs will be ignored").
 * - `converted`: a value converted without loss to its column's type: "24" -> 24 (long), "1.5" -> 1.5 (double),
 *   true -> 1 (long or double), 5 -> "5" (string).
 * - `not_integer`: a number with a fraction for a `long` column (MLflow truncates 24.5 to 24): scored as sent.
 * - `missing_required`: no value (null, "NaN", a CSV missing token) in a required double or string column
 *   (MLflow's `required` only asks for the column): scored as missing — the training median, or the
 *   category's unknown bucket.
 * - `text_truncated`: a text longer than its column's maxLength, cut to it (the manifest's `overLength:
 *   truncate`, as training cuts it). Not an MLflow adjustment: reported under --strict too.
 */
export type SchemaWarningKind =
  | "extra_column"
  | "converted"
  | "not_integer"
  | "missing_required"
  | "text_truncated";

/** One kind of adjustment on one column, over a whole request. */
export interface SchemaWarning {
  kind: SchemaWarningKind;
  /** The column, as it may be echoed back (clipped by the caller). */
  field: string;
  /** Values adjusted (1 for an extra column). */
  count: number;
  /** The first adjusted value, as the client wrote it, and what it became. */
  example: string;
}

const WORDING: Record<Exclude<SchemaWarningKind, "extra_column">, string> = {
  converted: "converted",
  not_integer: "not an integer for a long column, scored as sent",
  missing_required: "missing in a required column, scored as missing",
  text_truncated: "truncated to the column's maxLength",
};

/** Longest x-schema-warnings header (a request with thousands of extra columns still answers in bytes). */
const MAX_HEADER_CHARS = 2000;

/** Collects a request's warnings, one per kind and column. */
export class SchemaWarnings {
  private readonly byKey = new Map<string, SchemaWarning>();

  add(kind: SchemaWarningKind, field: string, example: string): void {
    const key = `${kind}\u0000${field}`;
    const known = this.byKey.get(key);
    if (known !== undefined) known.count++;
    else this.byKey.set(key, { kind, field, count: 1, example });
  }

  get list(): SchemaWarning[] {
    return [...this.byKey.values()];
  }

  get size(): number {
    return this.byKey.size;
  }
}

/**
 * The x-schema-warnings header: "extra columns ignored: ID, target; AGE: 1 value converted (the string
 * "24" -> 24)". Printable ASCII only (other characters as \uXXXX), at most 2,000 characters.
 */
export function warningsHeader(warnings: readonly SchemaWarning[]): string | undefined {
  if (warnings.length === 0) return undefined;
  const extra = warnings.filter((w) => w.kind === "extra_column").map((w) => w.field);
  const parts: string[] = [];
  if (extra.length > 0)
    parts.push(
      `extra columns ignored: ${extra.slice(0, 10).join(", ")}${extra.length > 10 ? `, … (${extra.length} in all)` : ""}`,
    );
  for (const w of warnings) {
    if (w.kind === "extra_column") continue;
    parts.push(`${w.field}: ${w.count} value${w.count === 1 ? "" : "s"} ${WORDING[w.kind]} (${w.example})`);
  }
  let text = parts
    .join("; ")
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (text.length > MAX_HEADER_CHARS) text = `${text.slice(0, MAX_HEADER_CHARS - 3)}...`;
  return text;
}
