// The model's input signature: one column per feature column of the manifest, typed as MLflow types them. It is
// written twice: to model-meta.json (what our service, batch scoring and the Python loader check input against,
// text columns with their length rule) and to the MLmodel file (MLflow's colspec: name, type, required only).
import { type DatasetManifest, featureColumns } from "../data/manifest.js";
import { mlflowColumnType } from "../data/mlflow-dataset.js";

/** How a text column's input is checked: the manifest's rule, applied at serving and batch scoring as at training. */
export interface TextInputRule {
  /** Longest text kept, in characters (UTF-16 code units). */
  maxLength: number;
  /** A longer text: cut to maxLength and counted (`truncate`), or refused (`reject`). */
  overLength: "truncate" | "reject";
}

/** One input column of the signature. */
export interface SignatureColumn {
  name: string;
  type: "double" | "long" | "string";
  /** False for a nullable manifest column (a text column: empty or whitespace-only text is allowed). */
  required: boolean;
  /** Present on text columns (type `string`): free text, not a category. */
  text?: TextInputRule;
  /**
   * Present on category columns whose manifest recodes raw codes (`recode`): category key of the raw value →
   * the category training saw (data/validate.ts applies the same map). Serving and batch scoring apply it
   * through recodeCategory; MLflow's signature in MLmodel has no place for it.
   */
  recode?: Record<string, string>;
}

/**
 * The signature's input columns for a dataset: every feature column in manifest order, its MLflow type
 * (text → `string`), required unless nullable, text columns with their length rule, category columns with
 * their recode map when the manifest has one.
 * @example signatureInputs(complaints) // [{ name: "Consumer complaint narrative", type: "string", required: true, text: { maxLength: 20000, overLength: "truncate" } }]
 */
export function signatureInputs(manifest: DatasetManifest): SignatureColumn[] {
  return featureColumns(manifest).map((name) => {
    const spec = manifest.columns[name]!;
    const column: SignatureColumn = {
      name,
      type: mlflowColumnType(manifest, name),
      required: !spec.nullable,
    };
    if (spec.type === "text") column.text = { maxLength: spec.maxLength, overLength: spec.overLength };
    if (spec.type === "category" && Object.keys(spec.recode).length > 0) column.recode = { ...spec.recode };
    return column;
  });
}

/**
 * A category value as training saw it: the column's recode map applied to `key` (the category key of the raw
 * value, as serving/input.ts rowsToTable keys it: String(number) for long and double columns, the text as sent
 * for string ones); any other key, and every key of a column without a map, is returned as it is.
 * @example recodeCategory({ name: "EDUCATION", type: "long", required: true, recode: { "0": "4" } }, "0") // "4"
 */
export function recodeCategory(column: SignatureColumn, key: string): string {
  const recode = column.recode;
  return recode !== undefined && Object.hasOwn(recode, key) ? recode[key]! : key;
}

/** The text columns of a signature, in order. */
export function textInputs(
  inputs: readonly SignatureColumn[],
): (SignatureColumn & { text: TextInputRule })[] {
  return inputs.filter((c): c is SignatureColumn & { text: TextInputRule } => c.text !== undefined);
}

/** The signature as MLflow's colspec JSON (MLflow reads name, type and required; the text rule stays ours). */
export function mlflowSignatureInputs(inputs: readonly SignatureColumn[]): string {
  return JSON.stringify(inputs.map(({ name, type, required }) => ({ name, type, required })));
}
