import type { DatasetInput } from "../tracking/types.js";
import type { DatasetManifest } from "./manifest.js";
import type { SplitName } from "./split.js";
import type { Table } from "./table.js";

/** MLflow's column type for a manifest column (integer-coded categories are longs). */
export function mlflowColumnType(manifest: DatasetManifest, column: string): "double" | "long" | "string" {
  const spec = manifest.columns[column];
  if (spec === undefined) return "string";
  if (spec.type === "number") return spec.integer ? "long" : "double";
  return spec.values.every((v) => /^-?\d+$/.test(v)) ? "long" : "string";
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

/** One split as an MLflow dataset input: name, digest, source, schema, profile and context tag. */
export function splitDatasetInput(
  manifest: DatasetManifest,
  split: SplitName,
  table: Table,
  fingerprint: string,
  source: { uri: string; sha256: string },
): DatasetInput {
  const classCounts: Record<string, number> = {};
  for (const label of table.target) classCounts[label] = (classCounts[label] ?? 0) + 1;
  return {
    dataset: {
      name: `${manifest.name}-${split}`,
      // MLflow limits digests to 36 characters.
      digest: fingerprint.slice(0, 36),
      sourceType: source.uri.startsWith("http") ? "http" : "local",
      source: JSON.stringify({ uri: source.uri, sha256: source.sha256 }),
      schema: datasetSchemaJson(manifest),
      profile: JSON.stringify({ num_rows: table.rowCount, class_counts: classCounts, fingerprint }),
    },
    tags: { "mlflow.data.context": split === "validation" ? "eval" : split },
  };
}
