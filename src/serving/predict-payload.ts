// /predict's bodies and the answers to what a request gets wrong about its model: `records`, or `texts` for a model
// whose only input is one text column; tabular rows sent to a text model (TEXT_COLUMN_MISSING) and texts sent to
// a tabular one (TEXTS_NOT_SUPPORTED); field problems as one 422 answer, named by their code when they share one.
import { textInputs } from "../registry/signature.js";
import { clipName, type FieldProblem, textRules } from "./input.js";
import { type ParsedPayload, PayloadError } from "./payload.js";
import type { Predictor } from "./predictor.js";

/**
 * The 422 answer to field problems: error_code INVALID_INPUT, or the text problems' own code (TEXT_EMPTY,
 * TEXT_TOO_LONG, TEXT_NOT_STRING) when every problem has it, the first one then named in the message too.
 */
export function invalidInput(problems: readonly FieldProblem[], problemCount: number): PayloadError {
  const listed = problemCount > problems.length ? ` (the first ${problems.length} listed)` : "";
  const message = `${problemCount} problem${problemCount === 1 ? "" : "s"} in the input${listed}`;
  const code = problems[0]?.code;
  if (code !== undefined && problems.every((p) => p.code === code)) {
    const first = problems[0]!;
    return new PayloadError(
      422,
      code,
      `${message}: row ${first.row}, ${clipName(first.field)}: ${first.problem}`,
      [...problems],
    );
  }
  return new PayloadError(422, "INVALID_INPUT", message, [...problems]);
}

/** The column a `texts` body fills: the model's only input, a text column; else why `texts` does not fit it. */
function textsColumn(predictor: Predictor): string | PayloadError {
  const { inputs } = predictor.model.meta;
  const rules = textRules(inputs, predictor.model.preprocessor);
  const texts = inputs.filter((c) => rules.has(c.name));
  if (texts.length === 1 && inputs.length === 1) return texts[0]!.name;
  const columns = `${inputs
    .slice(0, 10)
    .map((c) => clipName(c.name))
    .join(", ")}${inputs.length > 10 ? `, … (${inputs.length} in all)` : ""}`;
  return new PayloadError(
    422,
    "TEXTS_NOT_SUPPORTED",
    texts.length === 0
      ? `This model takes tabular records, not texts: send {"records": [{column: value, ...}]} with its columns ${columns} (GET /model lists them).`
      : `This model reads ${inputs.length} input columns (${columns}), not one text: send {"records": [{column: value, ...}]}.`,
  );
}

/** Tabular records (or rows of other columns) sent to a text model: its text column is in no row. */
export function textColumnMissing(predictor: Predictor, absent: readonly string[]): PayloadError {
  const named = absent.map((c) => `'${clipName(c)}'`).join(", ");
  const texts = typeof textsColumn(predictor) === "string" ? ', or {"texts": [...]} to /predict' : "";
  return new PayloadError(
    422,
    "TEXT_COLUMN_MISSING",
    `This is a text model: its text column${absent.length === 1 ? "" : "s"} ${named} ${absent.length === 1 ? "is" : "are"} in no row of the input. Send rows with ${absent.length === 1 ? "that column" : "those columns"}${texts}.`,
  );
}

/** /predict's body: {"records": [...]} or, for a model whose only input is one text column, {"texts": [...]}. */
export function predictPayload(body: unknown, predictor: Predictor): ParsedPayload {
  const { records, texts } = (typeof body === "object" && body !== null ? body : {}) as {
    records?: unknown;
    texts?: unknown;
  };
  if (records !== undefined && texts !== undefined)
    throw new PayloadError(400, "BAD_REQUEST", 'Send either "records" or "texts", not both.');
  if (texts !== undefined) {
    if (!Array.isArray(texts))
      throw new PayloadError(400, "BAD_REQUEST", 'The body must be {"texts": ["...", ...]}.');
    const column = textsColumn(predictor);
    if (typeof column !== "string") throw column;
    return {
      rows: texts.map((text: unknown) => ({ [column]: text })),
      mode: "json",
      format: "texts",
      params: undefined,
    };
  }
  if (!Array.isArray(records))
    throw new PayloadError(
      400,
      "BAD_REQUEST",
      textInputs(predictor.model.meta.inputs).length > 0
        ? 'The body must be {"records": [{column: value, ...}, ...]} or, for a model whose only input is a text, {"texts": ["...", ...]}.'
        : 'The body must be {"records": [{column: value, ...}, ...]}.',
    );
  return { rows: records as Record<string, unknown>[], mode: "json", format: "records", params: undefined };
}
