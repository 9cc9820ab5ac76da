/**
 * Per-class evaluation: the precision/recall/F1/support table, the row-normalised confusion matrix, the
 * most confused class pairs and the misclassified rows. Definitions follow scikit-learn's
 * `classification_report` and `confusion_matrix(normalize="true")` with `zero_division=0` (checked against
 * stored fixtures); binary tasks are the two-class case of the same table.
 */
import { WorkbenchError } from "../shared/errors.js";
import { predictClasses } from "./metrics.js";

/** One class's row of the classification report. */
export interface ClassReportRow {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Rows whose true class this is. */
  support: number;
  /** Rows predicted as this class. */
  predicted: number;
}

/** A cell off the confusion matrix's diagonal: rows of class `actual` predicted as `predicted`. */
export interface ConfusedPair {
  actual: string;
  predicted: string;
  count: number;
  /** `count` over the true class's support. */
  share: number;
}

/** A misclassified row, by its line in the source file. */
export interface MisclassifiedRow {
  line: number;
  actual: string;
  predicted: string;
  /** The model's probability of the true class. */
  probabilityActual: number;
  /** The model's probability of the predicted class. */
  probabilityPredicted: number;
  /** The row's text columns as written, each clipped to `clip` characters (empty for tabular data). */
  text: Record<string, string>;
}

export interface MisclassifiedInput {
  labels: ArrayLike<number>;
  /** Rows × classes, row-major. */
  probabilities: Float32Array | Float64Array;
  classes: string[];
  /** The binary decision threshold (ignored with more than two classes). */
  threshold?: number;
  /** Each row's line in its source file. */
  lines: ArrayLike<number>;
  /** Raw text per text column, one entry per row. */
  texts?: Record<string, string[]>;
}

export interface MisclassifiedOptions {
  /** Keep at most this many rows, the most confident mistakes first (default 1000). */
  limit?: number;
  /** Clip each text to this many characters (default 500). */
  clip?: number;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

function checkConfusion(confusion: number[][], classes: string[]): void {
  const k = classes.length;
  if (confusion.length !== k || confusion.some((row) => row.length !== k))
    throw new WorkbenchError(
      "EVALUATION_INVALID_INPUT",
      `The confusion matrix must be ${k} × ${k} (one row and column per class: ${classes.join(", ")}), got ${confusion.length} × ${confusion[0]?.length ?? 0}.`,
    );
}

/** Precision, recall, F1 and support per class from a confusion matrix (rows: true, columns: predicted). */
export function classReport(confusion: number[][], classes: string[]): ClassReportRow[] {
  checkConfusion(confusion, classes);
  return classes.map((label, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c]!, 0);
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    return { label, precision, recall, f1: ratio(2 * tp, support + predicted), support, predicted };
  });
}

/** Each row divided by its total (the share of the true class); a class with no rows gives a row of zeros. */
export function normalizeRows(confusion: number[][]): number[][] {
  return confusion.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((v) => ratio(v, total));
  });
}

/** The `limit` largest off-diagonal cells with a count above zero: most rows first, then largest share. */
export function topConfusedPairs(confusion: number[][], classes: string[], limit = 10): ConfusedPair[] {
  checkConfusion(confusion, classes);
  const pairs: ConfusedPair[] = [];
  confusion.forEach((row, t) => {
    const support = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      if (p !== t && count > 0)
        pairs.push({ actual: classes[t]!, predicted: classes[p]!, count, share: count / support });
    });
  });
  // Stable sort: equal pairs keep class order.
  return pairs.sort((a, b) => b.count - a.count || b.share - a.share).slice(0, limit);
}

/** `text` cut to at most `max` characters (never inside a surrogate pair), with "…" when cut. */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * The rows whose predicted class (arg-max, or the threshold for binary tasks: as `evaluate()` decides) is not
 * the true one, the most confident mistakes first, with their source line and (for text data) their text.
 */
export function misclassifiedRows(
  input: MisclassifiedInput,
  options: MisclassifiedOptions = {},
): { total: number; rows: MisclassifiedRow[] } {
  const { labels, probabilities, classes, lines } = input;
  const k = classes.length;
  const n = labels.length;
  const limit = options.limit ?? 1000;
  const clip = options.clip ?? 500;
  if (probabilities.length !== n * k || lines.length !== n)
    throw new WorkbenchError(
      "EVALUATION_INVALID_INPUT",
      `Misclassified rows: expected ${n} rows × ${k} probabilities and ${n} line numbers, got ${probabilities.length} probabilities and ${lines.length} line numbers.`,
    );
  const texts = Object.entries(input.texts ?? {});
  for (const [column, values] of texts)
    if (values.length !== n)
      throw new WorkbenchError(
        "EVALUATION_INVALID_INPUT",
        `Misclassified rows: text column '${column}' has ${values.length} values for ${n} rows.`,
      );
  const predicted = predictClasses(probabilities, k, input.threshold);
  const wrong: number[] = [];
  for (let i = 0; i < n; i++) if (predicted[i] !== labels[i]) wrong.push(i);
  const confidence = (i: number) => probabilities[i * k + predicted[i]!]!;
  wrong.sort((a, b) => confidence(b) - confidence(a) || lines[a]! - lines[b]!);
  const rows = wrong.slice(0, limit).map((i) => ({
    line: lines[i]!,
    actual: classes[labels[i]!]!,
    predicted: classes[predicted[i]!]!,
    probabilityActual: probabilities[i * k + labels[i]!]!,
    probabilityPredicted: confidence(i),
    text: Object.fromEntries(texts.map(([column, values]) => [column, clipText(values[i]!, clip)])),
  }));
  return { total: wrong.length, rows };
}
