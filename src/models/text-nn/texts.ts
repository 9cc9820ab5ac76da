// The one text per row a text model reads: its text columns, in order, joined with "\n" (a single column as is).
import type { FeatureMatrix } from "../../features/preprocessor.js";
import { WorkbenchError } from "../../shared/errors.js";

/** The texts of `columns` per row of `x`; MODEL_INPUT_TEXT_MISSING when a column is absent or of the wrong length. */
export function modelTexts(kind: string, x: FeatureMatrix, columns: readonly string[]): string[] {
  const found = columns.map((name) => x.texts?.[name]);
  columns.forEach((name, i) => {
    const column = found[i];
    if (column === undefined || column.length !== x.rows)
      throw new WorkbenchError(
        "MODEL_INPUT_TEXT_MISSING",
        column === undefined
          ? `The ${kind} model reads the text column '${name}', which the input does not have (it has: ${Object.keys(x.texts ?? {}).join(", ") || "no text column"}).`
          : `The ${kind} model's text column '${name}' has ${column.length} texts for ${x.rows} rows.`,
        { details: { kind, column: name } },
      );
  });
  if (found.length === 1) return found[0]!;
  return Array.from({ length: x.rows }, (_, r) => found.map((column) => column![r]!).join("\n"));
}
