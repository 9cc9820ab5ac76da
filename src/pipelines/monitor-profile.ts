/**
 * `npm run monitor:profile`: a reference profile built by streaming a CSV file through its dataset manifest's
 * feature columns, for monitoring against data of your own (`npm run monitor -- --reference <profile.json>`).
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { featureColumns, loadManifest } from "../data/manifest.js";
import { CurrentAccumulator } from "../monitoring/current.js";
import { readCurrent, type WatchedColumn } from "../monitoring/read-current.js";
import type { ReferenceProfile } from "../monitoring/types.js";

export interface ProfileFromCsvResult {
  out: string;
  rows: number;
  columns: number;
  bad: number;
  seconds: number;
  profile: ReferenceProfile;
}

/** Profiles `data` (CSV) with the feature columns of `manifest` (a dataset name or a manifest file) into `out`. */
export async function buildProfileFromCsv(options: {
  data: string;
  manifest: string;
  out: string;
  maxBadFraction?: number;
}): Promise<ProfileFromCsvResult> {
  const started = performance.now();
  const manifest = await loadManifest(options.manifest);
  const columns: WatchedColumn[] = featureColumns(manifest).map((name) => {
    const type = manifest.columns[name]!.type;
    return { name, type: type === "number" ? "numeric" : type === "category" ? "categorical" : "text" };
  });
  const accumulator = CurrentAccumulator.forColumns(columns);
  const read = await readCurrent({
    path: options.data,
    format: "csv",
    accumulator,
    columns,
    ...(options.maxBadFraction === undefined ? {} : { maxBadFraction: options.maxBadFraction }),
  });
  const profile = accumulator.toProfile({ split: path.basename(options.data), rows: accumulator.rows });
  await mkdir(path.dirname(path.resolve(options.out)), { recursive: true });
  await writeFile(options.out, `${JSON.stringify(profile)}\n`);
  return {
    out: options.out,
    rows: accumulator.rows,
    columns: columns.length,
    bad: read.bad,
    seconds: (performance.now() - started) / 1000,
    profile,
  };
}
