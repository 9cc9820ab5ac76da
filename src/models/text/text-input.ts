// What the TF-IDF kinds read from a feature matrix: the model's text columns joined per row (in the order training
// saw them, "\n" between columns), and the TF-IDF matrix of those texts with the dense columns appended.
import type { FeatureMatrix } from "../../features/preprocessor.js";
import { type CsrMatrix, hstackDense } from "../../features/text/sparse.js";
import type { TfidfVectorizer } from "../../features/text/tfidf.js";
import { WorkbenchError } from "../../shared/errors.js";
import type { ModelShape } from "../model.js";

/** One text per row: the model's text columns of `x`, joined with "\n". MODEL_INPUT_SHAPE when one is missing. */
export function rowTexts(kind: string, x: FeatureMatrix, columns: readonly string[]): string[] {
  const missing = columns.filter((c) => x.texts?.[c] === undefined);
  if (columns.length === 0 || missing.length > 0)
    throw new WorkbenchError(
      "MODEL_INPUT_SHAPE",
      columns.length === 0
        ? `The ${kind} model reads text, and it was built without a text column.`
        : `The ${kind} model reads the text column${columns.length > 1 ? "s" : ""} ${columns.map((c) => `'${c}'`).join(", ")}; the input has no ${missing.map((c) => `'${c}'`).join(", ")} (send texts, not only tabular features).`,
      { details: { expected: columns, missing } },
    );
  const parts = columns.map((c) => x.texts![c]!);
  for (const [i, part] of parts.entries())
    if (part.length !== x.rows)
      throw new WorkbenchError(
        "MODEL_INPUT_SHAPE",
        `The ${kind} model got ${part.length} texts in '${columns[i]}' for ${x.rows} rows.`,
        { details: { column: columns[i], texts: part.length, rows: x.rows } },
      );
  if (parts.length === 1) return parts[0]!;
  return Array.from({ length: x.rows }, (_, r) => parts.map((p) => p[r]!).join("\n"));
}

/** MODEL_INPUT_SHAPE when the dense part of `x` is not the one the model was trained with. */
export function checkDense(kind: string, x: FeatureMatrix, shape: ModelShape): void {
  const cols = shape.featureNames.length;
  if (x.cols !== cols || x.values.length < x.rows * x.cols)
    throw new WorkbenchError(
      "MODEL_INPUT_SHAPE",
      `The ${kind} model expects ${cols} numeric/categorical features beside its text, got ${x.cols}.`,
      { details: { expected: cols, got: x.cols } },
    );
}

/** The TF-IDF rows of `x`'s texts, the dense columns (if any) appended after the vocabulary's. */
export function textFeatures(
  kind: string,
  x: FeatureMatrix,
  shape: ModelShape,
  vectorizer: TfidfVectorizer,
): CsrMatrix {
  checkDense(kind, x, shape);
  return hstackDense(vectorizer.transform(rowTexts(kind, x, shape.textColumns ?? [])), x);
}
