import { WorkbenchError } from "../shared/errors.js";
import { type AcquireOptions, acquireDataset, type DatasetFile } from "./acquire.js";
import { checkHeader, readCsvHeader } from "./header.js";
import { type DatasetManifest, loadManifest, manifestFile } from "./manifest.js";
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
      target: {
        column: manifest.target.column,
        classes: manifest.target.classes,
        recode: manifest.target.recode,
      },
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

export interface DatasetCheck {
  manifest: DatasetManifest;
  manifestFile: string;
  /** The data file, when it is on this machine (a local source.path, the cache or the mirror). */
  source: DatasetFile | undefined;
  /** The data file's columns, when it was found (they matched the manifest: otherwise this threw). */
  header: string[] | undefined;
}

/**
 * What `npm run train -- --dry-run` checks before any training: the manifest is valid, and the data file (when
 * it is on this machine; nothing is downloaded) has the recorded sha256 and exactly the declared columns.
 */
export async function checkDataset(name: string, options: AcquireOptions = {}): Promise<DatasetCheck> {
  const manifest = await loadManifest(name);
  let source: DatasetFile;
  try {
    source = await acquireDataset(manifest, { ...options, download: false });
  } catch (error) {
    if (error instanceof WorkbenchError && error.code === "DATA_NOT_AVAILABLE")
      return { manifest, manifestFile: manifestFile(name), source: undefined, header: undefined };
    throw error;
  }
  const header = await readCsvHeader(source.path);
  checkHeader(source.path, header, [...Object.keys(manifest.columns), manifest.target.column]);
  return { manifest, manifestFile: manifestFile(name), source, header };
}
