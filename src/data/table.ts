/**
 * A validated, column-oriented table: numeric columns as Float64Array (NaN = missing), categorical
 * and text columns as strings ("" = missing), the target as class labels, and each row's line in its source file.
 */
export interface Table {
  rowCount: number;
  numeric: Record<string, Float64Array>;
  categorical: Record<string, string[]>;
  /** Text columns as written (after the manifest's maxLength rule); "" = missing. */
  text: Record<string, string[]>;
  /** Target labels; empty when the table is unlabelled (scoring input). */
  target: string[];
  ids: Record<string, string[]>;
  /** 1-based line numbers in the source file (header = line 1). */
  lines: Int32Array;
}

/** The rows of `table` at `indices`, in that order. */
export function takeRows(table: Table, indices: ArrayLike<number>): Table {
  const n = indices.length;
  const pickNumbers = (col: Float64Array) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = col[indices[i]!]!;
    return out;
  };
  const pickStrings = (col: string[]) => Array.from({ length: n }, (_, i) => col[indices[i]!]!);
  const lines = new Int32Array(n);
  for (let i = 0; i < n; i++) lines[i] = table.lines[indices[i]!]!;
  return {
    rowCount: n,
    numeric: Object.fromEntries(Object.entries(table.numeric).map(([k, v]) => [k, pickNumbers(v)])),
    categorical: Object.fromEntries(Object.entries(table.categorical).map(([k, v]) => [k, pickStrings(v)])),
    text: Object.fromEntries(Object.entries(table.text).map(([k, v]) => [k, pickStrings(v)])),
    target: table.target.length === 0 ? [] : pickStrings(table.target),
    ids: Object.fromEntries(Object.entries(table.ids).map(([k, v]) => [k, pickStrings(v)])),
    lines,
  };
}

/** The first `n` rows. */
export function headRows(table: Table, n: number): Table {
  return takeRows(
    table,
    Array.from({ length: Math.min(n, table.rowCount) }, (_, i) => i),
  );
}

/** One row as a plain record (for examples, logs and quarantine files). */
export function rowRecord(table: Table, index: number): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {};
  for (const [k, v] of Object.entries(table.ids)) out[k] = v[index] ?? null;
  for (const [k, v] of Object.entries(table.numeric)) {
    const value = v[index]!;
    out[k] = Number.isNaN(value) ? null : value;
  }
  for (const [k, v] of Object.entries(table.categorical))
    out[k] = v[index] === "" ? null : (v[index] ?? null);
  for (const [k, v] of Object.entries(table.text)) out[k] = v[index] === "" ? null : (v[index] ?? null);
  return out;
}
