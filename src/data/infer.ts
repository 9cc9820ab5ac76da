/**
 * What a CSV holds, read once: per column its kind (number, category, id), whether values are integers or may
 * be missing, the observed range or categories; for the target its classes and, when there are two, which one
 * is the positive class. `npm run init` turns this into a dataset manifest and a training config.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { parse } from "csv-parse";
import { DataValidationError } from "../shared/errors.js";
import { sha256File } from "../shared/hash.js";
import { categoryKey, isMissingField, parseNumberField } from "./csv-value.js";
import { assertLooksLikeCsv, checkHeader, csvReadError } from "./header.js";

/** Categories listed in the manifest up to this many distinct values; beyond, they are learned on train. */
export const MAX_LISTED_CATEGORIES = 50;
/** A target with more distinct values is not a set of classes. */
export const MAX_CLASSES = 50;
/** Fewer rows than this and "unique per row" says nothing: no column is taken for an id. */
const MIN_ROWS_FOR_IDS = 20;
/** Distinct values tracked per column; past it a column counts as having "many" (not listed, not an id). */
const DISTINCT_CAP = 1_000_000;
/** Free text: a string column whose values average at least this many characters and words (and rarely repeat). */
const TEXT_MIN_MEAN_LENGTH = 30;
const TEXT_MIN_MEAN_WORDS = 5;
/** Past this many present values a column that reads as free text stops keeping its values (memory). */
const TEXT_DECIDED_AFTER = 2_000;

export type InferredColumn =
  | {
      kind: "number";
      integer: boolean;
      missing: number;
      min: number;
      max: number;
      distinct: number;
    }
  | {
      kind: "category";
      missing: number;
      distinct: number;
      /** Observed values with their counts (sorted), when at most MAX_LISTED_CATEGORIES. */
      values: { value: string; count: number }[] | undefined;
    }
  | {
      kind: "id";
      /** Whether the ids are integers (declared as numbers) or strings (categories). */
      integer: boolean;
      reason: string;
    }
  | {
      kind: "text";
      missing: number;
      /** Mean and longest length of the present values, in characters; mean words per value. */
      meanLength: number;
      maxLength: number;
      meanWords: number;
    }
  | { kind: "empty"; missing: number };

export interface InferredTarget {
  column: string;
  /** In manifest order: for two classes the second is the positive one. */
  classes: string[];
  counts: Record<string, number>;
  /** Rows without a label (training quarantines them). */
  missing: number;
  positive: { value: string; reason: string } | undefined;
}

export interface InferredDataset {
  file: string;
  sha256: string;
  rows: number;
  /** Every column except the target, in file order. */
  columns: Record<string, InferredColumn>;
  idColumns: string[];
  target: InferredTarget;
  /** Rows that repeat an earlier row field for field (training quarantines them as duplicates). */
  duplicateRows: number;
}

interface Tally {
  missing: number;
  numeric: boolean;
  integer: boolean;
  min: number;
  max: number;
  /** Every value so far is the previous one plus one (a row number). */
  sequential: boolean;
  last: number;
  counts: Map<string, number> | undefined;
  /** Characters and whitespace-separated words of the present values (free-text detection). */
  chars: number;
  words: number;
  longest: number;
}

/** Category and class order: numbers by value, otherwise alphabetical (the preprocessor's order). */
export function compareValues(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  return a.trim() === "" || b.trim() === "" || Number.isNaN(x) || Number.isNaN(y)
    ? a.localeCompare(b)
    : x - y;
}

const POSITIVE_LABELS = new Set(
  "1 yes y true t bad default defaulted positive pos fraud fraudulent churn churned spam malignant sick disease diseased fail failed failure abnormal anomaly event dead died".split(
    " ",
  ),
);
const NEGATIVE_LABELS = new Set(
  "0 no n false f good negative neg ok normal benign healthy pass passed success legit ham alive survived".split(
    " ",
  ),
);

/**
 * The positive class of a binary target: a label that reads as the event (yes, 1, true, bad, default, …), else
 * the other one of a label that reads as the non-event (no, 0, good, …), else the minority class.
 */
export function inferPositiveClass(counts: Record<string, number>): { value: string; reason: string } {
  const classes = Object.keys(counts).sort(compareValues);
  const [a, b] = classes as [string, string];
  const positives = classes.filter((c) => POSITIVE_LABELS.has(c.toLowerCase()));
  if (positives.length === 1) return { value: positives[0]!, reason: `'${positives[0]}' reads as the event` };
  const negatives = classes.filter((c) => NEGATIVE_LABELS.has(c.toLowerCase()));
  if (negatives.length === 1) {
    const other = negatives[0] === a ? b : a;
    return { value: other, reason: `'${negatives[0]}' reads as the non-event` };
  }
  const minority = counts[a]! < counts[b]! ? a : b;
  return {
    value: minority,
    reason: `'${minority}' is the minority class (${counts[minority]} of ${counts[a]! + counts[b]!} rows)`,
  };
}

const ID_NAME = /(^|[^a-z])id$|^id([^a-z]|$)|[a-z]Id$|ID$|(^|[^a-z])(uuid|guid|key)$/;

/** Reads `file` once and infers what every column holds; `target` names the label column. */
export async function inferDataset(file: string, options: { target: string }): Promise<InferredDataset> {
  await assertLooksLikeCsv(file);
  const parser = createReadStream(file).pipe(
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true }),
  );
  let header: string[] | undefined;
  let tallies: Tally[] = [];
  let rows = 0;
  let duplicateRows = 0;
  // Digests of the rows seen, for the duplicates validation will quarantine (20 bytes a row, not the row).
  const seen = new Set<string>();
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (header === undefined) {
        header = record.map((f) => f.trim());
        const unnamed = header.indexOf("");
        if (unnamed >= 0)
          throw new DataValidationError(
            "DATA_UNNAMED_COLUMN",
            `${file}: column ${unnamed + 1} of the header has no name (a row index written by pandas' to_csv?). Name it, or write the file without it (to_csv(index=False)).`,
            { details: { file, column: unnamed + 1 } },
          );
        checkHeader(file, header, [...new Set(header)]);
        if (!header.includes(options.target))
          throw new DataValidationError(
            "DATA_MISSING_COLUMN",
            `${file}: there is no column '${options.target}' to predict (--target); the header has ${header.map((c) => `'${c}'`).join(", ")}.`,
            { details: { file, missing: [options.target], header } },
          );
        tallies = header.map(() => ({
          missing: 0,
          numeric: true,
          integer: true,
          min: Number.POSITIVE_INFINITY,
          max: Number.NEGATIVE_INFINITY,
          sequential: true,
          last: Number.NaN,
          counts: new Map<string, number>(),
          chars: 0,
          words: 0,
          longest: 0,
        }));
        continue;
      }
      if (record.length !== header.length)
        throw new DataValidationError(
          "DATA_RAGGED_ROW",
          `${file}:${info.lines}: the row has ${record.length} fields, the header has ${header.length}. A field holding a comma must be quoted ("20,000"); fix the row, or remove it.`,
          { details: { file, line: info.lines, fields: record.length, header: header.length } },
        );
      rows++;
      const digest = createHash("sha1").update(record.join("\u0001")).digest("base64");
      if (seen.has(digest)) duplicateRows++;
      else seen.add(digest);
      for (let c = 0; c < header.length; c++) {
        const raw = record[c]!.trim();
        const tally = tallies[c]!;
        if (isMissingField(raw)) {
          tally.missing++;
          continue;
        }
        if (tally.numeric) {
          const value = parseNumberField(raw);
          if (value === undefined) tally.numeric = false;
          else {
            if (!Number.isInteger(value)) tally.integer = false;
            if (value < tally.min) tally.min = value;
            if (value > tally.max) tally.max = value;
            if (!Number.isNaN(tally.last) && value !== tally.last + 1) tally.sequential = false;
            tally.last = value;
          }
        }
        tally.chars += raw.length;
        tally.words += raw.split(/\s+/).length;
        if (raw.length > tally.longest) tally.longest = raw.length;
        const present = rows - tally.missing;
        if (tally.counts !== undefined && present >= TEXT_DECIDED_AFTER && readsAsText(tally, present))
          tally.counts = undefined;
        if (tally.counts !== undefined) {
          const key = categoryKey(raw);
          tally.counts.set(key, (tally.counts.get(key) ?? 0) + 1);
          if (tally.counts.size > DISTINCT_CAP) tally.counts = undefined;
        }
      }
    }
  } catch (error) {
    throw csvReadError(file, error);
  }
  if (header === undefined || rows === 0)
    throw new DataValidationError("DATA_EMPTY", `${file} has a header but no data rows.`, {
      details: { file },
    });

  const columns: Record<string, InferredColumn> = {};
  const idColumns: string[] = [];
  let target: InferredTarget | undefined;
  header.forEach((name, c) => {
    const tally = tallies[c]!;
    if (name === options.target) {
      target = inferTarget(file, name, tally);
      return;
    }
    const column = inferColumn(name, tally, rows);
    columns[name] = column;
    if (column.kind === "id") idColumns.push(name);
  });
  return {
    file,
    sha256: await sha256File(file),
    rows,
    columns,
    idColumns,
    target: target!,
    duplicateRows,
  };
}

/** Long, wordy, mostly distinct strings: a narrative, a comment, a title, not a category or an id. */
function readsAsText(tally: Tally, present: number): boolean {
  if (tally.numeric || present === 0) return false;
  const distinct = tally.counts?.size ?? Number.POSITIVE_INFINITY;
  return (
    tally.chars / present >= TEXT_MIN_MEAN_LENGTH &&
    tally.words / present >= TEXT_MIN_MEAN_WORDS &&
    distinct > Math.min(MAX_LISTED_CATEGORIES, present / 2)
  );
}

function inferColumn(name: string, tally: Tally, rows: number): InferredColumn {
  const present = rows - tally.missing;
  if (present === 0) return { kind: "empty", missing: tally.missing };
  if (readsAsText(tally, present))
    return {
      kind: "text",
      missing: tally.missing,
      meanLength: Math.round(tally.chars / present),
      maxLength: tally.longest,
      meanWords: Math.round((tally.words / present) * 10) / 10,
    };
  const distinct = tally.counts?.size ?? Number.POSITIVE_INFINITY;
  const unique = tally.missing === 0 && distinct === rows && rows >= MIN_ROWS_FOR_IDS;
  if (tally.numeric) {
    // Unique integers are ids only when they look like ids: a row number (n, n+1, … in file order), or an
    // id-like name. A unique measurement (an exact amount, the ages of 30 people) stays a feature.
    if (unique && tally.integer && (tally.sequential || ID_NAME.test(name)))
      return {
        kind: "id",
        integer: true,
        reason: tally.sequential
          ? `a row number, ${tally.min}..${tally.max}`
          : "a different integer on every row, and an id-like name",
      };
    return {
      kind: "number",
      integer: tally.integer,
      missing: tally.missing,
      min: tally.min,
      max: tally.max,
      distinct,
    };
  }
  if (unique) return { kind: "id", integer: false, reason: "a different value on every row" };
  const values =
    tally.counts !== undefined && tally.counts.size <= MAX_LISTED_CATEGORIES
      ? [...tally.counts.entries()]
          .sort(([a], [b]) => compareValues(a, b))
          .map(([value, count]) => ({ value, count }))
      : undefined;
  return { kind: "category", missing: tally.missing, distinct, values };
}

function inferTarget(file: string, column: string, tally: Tally): InferredTarget {
  const counts = Object.fromEntries(tally.counts ?? []);
  const classes = Object.keys(counts).sort(compareValues);
  if (classes.length < 2)
    throw new DataValidationError(
      "DATA_TARGET_ONE_CLASS",
      `${file}: the target '${column}' has ${classes.length === 0 ? "no values" : `one value ('${classes[0]}')`}: there is nothing to tell apart. Pick the column to predict with --target.`,
      { details: { file, column, classes } },
    );
  if (tally.counts === undefined || classes.length > MAX_CLASSES)
    throw new DataValidationError(
      "DATA_TARGET_NOT_CLASSES",
      `${file}: the target '${column}' has ${tally.counts === undefined ? "more than a million" : classes.length} distinct values; the workbench trains classifiers (2 to ${MAX_CLASSES} classes). Bin a numeric target into classes first, or pick another --target.`,
      { details: { file, column, distinct: classes.length } },
    );
  if (classes.length !== 2) return { column, classes, counts, missing: tally.missing, positive: undefined };
  const positive = inferPositiveClass(counts);
  return {
    column,
    classes: [...classes.filter((c) => c !== positive.value), positive.value],
    counts,
    missing: tally.missing,
    positive,
  };
}
