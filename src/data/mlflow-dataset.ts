import type { DatasetInput } from "../tracking/types.js";
import { type FrameColumn, pandasDigest } from "./dataset-digest.js";
import type { DatasetManifest } from "./manifest.js";
import type { SplitName } from "./split.js";
import type { Table } from "./table.js";

/** MLflow's column type for a manifest column (integer-coded categories are longs). */
export function mlflowColumnType(manifest: DatasetManifest, column: string): "double" | "long" | "string" {
  const spec = manifest.columns[column];
  if (spec === undefined) return "string";
  if (spec.type === "number") return spec.integer ? "long" : "double";
  if (spec.type === "text") return "string";
  // Without a values list the codes are not known in advance: strings.
  return spec.values?.every((v) => /^-?\d+$/.test(v)) === true ? "long" : "string";
}

/** MLflow's `mlflow_colspec` schema JSON of the dataset's columns (target included). */
export function datasetSchemaJson(manifest: DatasetManifest): string {
  const columns = Object.keys(manifest.columns).map((name) => ({
    type: mlflowColumnType(manifest, name),
    name,
    required: true,
  }));
  const targetType = manifest.target.classes.every((v) => /^-?\d+$/.test(v)) ? "long" : "string";
  columns.push({ type: targetType, name: manifest.target.column, required: true });
  return JSON.stringify({ mlflow_colspec: columns });
}

const INTEGER = /^-?\d+$/;

/** The split as the DataFrame its digest describes (see splitFrame). */
function labelColumn(name: string, values: readonly string[]): FrameColumn {
  const missing = values.some((v) => v === "");
  if (values.every((v) => v === "" || (INTEGER.test(v) && Number.isSafeInteger(Number(v)))))
    return missing
      ? { name, dtype: "float64", values: values.map((v) => (v === "" ? Number.NaN : Number(v))) }
      : { name, dtype: "int64", values: values.map(Number) };
  return { name, dtype: "str", values: values.map((v) => (v === "" ? null : v)) };
}

/**
 * A split as a pandas DataFrame: the manifest's columns in order, then the target, each with the dtype
 * `pd.read_csv` gives such values (whole numbers without missing values int64, other numbers float64,
 * integer codes int64, other labels str; a missing value is NaN) and a RangeIndex. Its digest is what
 * `mlflow.data.from_pandas(frame).digest` says.
 */
export function splitFrame(manifest: DatasetManifest, table: Table): FrameColumn[] {
  const columns: FrameColumn[] = [];
  for (const name of Object.keys(manifest.columns)) {
    const numbers = table.numeric[name];
    const labels = table.categorical[name] ?? table.ids[name];
    const texts = table.text[name];
    if (texts !== undefined) {
      columns.push({ name, dtype: "str", values: texts.map((v) => (v === "" ? null : v)) });
    } else if (numbers !== undefined) {
      const whole = numbers.every((v) => Number.isSafeInteger(v));
      columns.push({ name, dtype: whole ? "int64" : "float64", values: numbers });
    } else if (labels !== undefined) columns.push(labelColumn(name, labels));
  }
  if (table.target.length === table.rowCount) columns.push(labelColumn(manifest.target.column, table.target));
  return columns;
}

/**
 * Where the data comes from, as MLflow's dataset sources say it: the official download
 * (`{"url": …}`, source type http) or the local file (`{"uri": …}`, local). The file actually read (a
 * mirror or cache copy of the download) and its sha256 are extra fields.
 */
export function datasetSource(
  manifest: DatasetManifest,
  file: { path: string; sha256: string },
): { sourceType: string; source: string } {
  const url = manifest.source.url;
  if (url !== undefined)
    return {
      sourceType: "http",
      source: JSON.stringify({ url, sha256: file.sha256, read_from: file.path }),
    };
  return { sourceType: "local", source: JSON.stringify({ uri: file.path, sha256: file.sha256 }) };
}

/** MLflow's context tag of a split (MLflow's own evaluation calls the validation data "eval"). */
export function splitContext(split: SplitName): string {
  return split === "validation" ? "eval" : split;
}

/**
 * One split as an MLflow dataset input: name, digest (MLflow's 8-character digest of the split's frame,
 * see splitFrame), source, schema, profile (with the sha256 fingerprint of the split's rows) and context.
 */
export function splitDatasetInput(
  manifest: DatasetManifest,
  split: SplitName,
  table: Table,
  fingerprint: string,
  file: { path: string; sha256: string },
): DatasetInput {
  const classCounts: Record<string, number> = {};
  for (const label of table.target) classCounts[label] = (classCounts[label] ?? 0) + 1;
  return {
    dataset: {
      name: `${manifest.name}-${split}`,
      digest: pandasDigest(splitFrame(manifest, table), table.rowCount),
      ...datasetSource(manifest, file),
      schema: datasetSchemaJson(manifest),
      profile: JSON.stringify({ num_rows: table.rowCount, class_counts: classCounts, fingerprint }),
    },
    tags: { "mlflow.data.context": splitContext(split) },
  };
}
