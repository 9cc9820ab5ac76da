// What the Python peers read (bench:train, bench:predict, bench/hpc-cv.ts): the raw rows — the manifest's feature
// columns minus `features.drop`, numbers as numbers (empty = missing), categoricals and the target as strings —
// plus a meta.json naming the columns by type, and the run's training options as command-line flags.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { TrainConfig } from "../src/config/train-config.js";
import { featureColumns } from "../src/data/manifest.js";
import type { Table } from "../src/data/table.js";
import type { PreparedData } from "../src/pipelines/prepare-data.js";

/** A CSV field: quoted when it holds a comma, a quote, a line break or surrounding spaces. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replaceAll('"', '""')}"` : value;
}

export interface PeerColumns {
  numeric: string[];
  categorical: string[];
  target: string;
}

/** The columns the peers get, checked to be loaded in `table`. */
export function peerColumns(config: TrainConfig, data: PreparedData, table: Table): PeerColumns {
  const dropped = new Set(config.features.drop);
  const columns = featureColumns(data.manifest).filter((c) => !dropped.has(c));
  const numeric = columns.filter((c) => data.manifest.columns[c]!.type === "number");
  const categorical = columns.filter((c) => data.manifest.columns[c]!.type === "category");
  for (const c of numeric)
    if (table.numeric[c] === undefined) throw new Error(`numeric column '${c}' is not loaded`);
  for (const c of categorical)
    if (table.categorical[c] === undefined) throw new Error(`categorical column '${c}' is not loaded`);
  return { numeric, categorical, target: data.manifest.target.column };
}

/** `dir`/meta.json: dataset, target, classes and the columns by type. */
export async function writePeerMeta(dir: string, data: PreparedData, columns: PeerColumns): Promise<void> {
  const { numeric, categorical, target } = columns;
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, "meta.json"),
    `${JSON.stringify({ dataset: data.manifest.name, target, classes: data.classes, numeric, categorical }, null, 2)}\n`,
  );
}

/** A table's rows as CSV: the numeric columns, the categorical ones, then the target. */
export async function writePeerCsv(file: string, table: Table, columns: PeerColumns): Promise<void> {
  const { numeric, categorical, target } = columns;
  const lines = [[...numeric, ...categorical, target].map(csvField).join(",")];
  for (let i = 0; i < table.rowCount; i++) {
    const cells: string[] = [];
    for (const c of numeric) {
      const v = table.numeric[c]![i]!;
      cells.push(Number.isNaN(v) ? "" : String(v));
    }
    for (const c of categorical) cells.push(csvField(table.categorical[c]![i]!));
    cells.push(csvField(table.target[i]!));
    lines.push(cells.join(","));
  }
  await writeFile(file, `${lines.join("\n")}\n`);
}

/**
 * The run's training options as the peer scripts' flags (train_peer.py, hpc_cv_peer.py): class weights, seed,
 * the selection metric and early stopping, and the peer's thread count.
 */
export function peerTrainingArgs(config: TrainConfig, threads: number): string[] {
  return [
    "--class-weight",
    config.training.classWeight,
    "--seed",
    String(config.seed),
    "--threads",
    String(threads),
    "--selection-metric",
    config.training.selectionMetric,
    "--patience",
    String(config.training.earlyStopping.patience),
    "--min-delta",
    String(config.training.earlyStopping.minDelta),
  ];
}
