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
}

/**
 * The signature's input columns for a dataset: every feature column in manifest order, its MLflow type
 * (text → `string`), required unless nullable, text columns with their length rule.
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
    return column;
  });
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
