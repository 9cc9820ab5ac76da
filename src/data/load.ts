import { type AcquireOptions, acquireDataset, type DatasetFile } from "./acquire.js";
import { type DatasetManifest, loadManifest } from "./manifest.js";
import type { Table } from "./table.js";
import { readValidatedCsv, type ValidationReport } from "./validate.js";

export interface LoadedDataset {
  manifest: DatasetManifest;
  source: DatasetFile;
  table: Table;
  report: ValidationReport;
}

/** Finds, verifies and validates a dataset by name: what notebooks use to load data. */
export async function loadDataset(
  name: string,
  options: AcquireOptions & { limit?: number; maxBadFraction?: number; quarantineDir?: string } = {},
): Promise<LoadedDataset> {
  const manifest = await loadManifest(name);
  const source = await acquireDataset(manifest, options);
  const { table, report } = await readValidatedCsv(
    source.path,
    {
      columns: manifest.columns,
      idColumns: manifest.idColumns,
      target: { column: manifest.target.column, classes: manifest.target.classes },
    },
    {
      maxBadFraction: options.maxBadFraction ?? 0.01,
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.quarantineDir === undefined ? {} : { quarantineDir: options.quarantineDir }),
    },
  );
  return { manifest, source, table, report };
}

/**
 * The table as columns for `new dfd.DataFrame(...)`: numbers stay numbers (missing → NaN), categories are
 * strings, the target is a column named after it.
 */
export function tableColumns(table: Table, target?: string): Record<string, (number | string)[]> {
  const columns: Record<string, (number | string)[]> = {};
  for (const [name, values] of Object.entries(table.ids)) columns[name] = values;
  for (const [name, values] of Object.entries(table.numeric)) columns[name] = Array.from(values);
  for (const [name, values] of Object.entries(table.categorical)) columns[name] = values;
  if (target !== undefined && table.target.length > 0) columns[target] = table.target;
  return columns;
}
