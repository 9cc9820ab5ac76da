import { type AcquireOptions, acquireDataset, cacheDataset, type DatasetFile } from "../data/acquire.js";
import { type CfpbQuery, type DatasetManifest, loadManifest } from "../data/manifest.js";
import { WorkbenchError } from "../shared/errors.js";
import { createLogger } from "../shared/logger.js";
import { parseCli } from "./args.js";

const USAGE = `usage: npm run data -- <dataset> [<dataset> ...] [--mirror DIR]
       npm run data -- complaints [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--product NAME ...] [--limit N]
  datasets: data/<name>.yaml
  --mirror DIR   copy the file from DIR/<name>/<file> instead of downloading it (default: WORKBENCH_DATA_MIRROR)
  query datasets (source.format: cfpb-api) download now when one of these is given, replacing data/raw/<name>/:
  --from, --to   complaints received from/to these days (inclusive)
  --product      a CFPB product name (repeat the flag for several; default: the manifest's classes and recode keys)
  --limit        rows to keep (with a narrative, duplicates skipped); the download stops there`;

/** The query the flags ask for, or undefined when none was given. */
function queryFlags(
  values: Record<string, string | boolean | string[] | undefined>,
): Partial<CfpbQuery> | undefined {
  const query: Partial<CfpbQuery> = {};
  if (typeof values.from === "string") query.from = values.from;
  if (typeof values.to === "string") query.to = values.to;
  if (Array.isArray(values.product)) query.products = values.product;
  if (typeof values.limit === "string") query.limit = Number(values.limit);
  return Object.keys(query).length === 0 ? undefined : query;
}

/** Labels a query download brought that the manifest neither lists as classes nor recodes: training quarantines them. */
function unmappedLabels(manifest: DatasetManifest, file: DatasetFile): [string, number][] {
  const known = new Set([...manifest.target.classes, ...Object.keys(manifest.target.recode)]);
  return Object.entries(file.provenance?.labels ?? {}).filter(([label]) => !known.has(label));
}

function describe(manifest: DatasetManifest, file: DatasetFile, cached: string): string {
  const head = `${manifest.name}: ${cached} (sha256 ${file.sha256.slice(0, 12)}…, from ${file.origin === "download" ? file.source : file.origin})`;
  const p = file.provenance;
  if (file.origin !== "download" || p === undefined) return head;
  const labels = Object.entries(p.labels)
    .sort((a, b) => b[1] - a[1])
    .map(([label, n]) => `${label} ${n}`)
    .join(", ");
  return [
    head,
    `  ${p.rowsWritten} rows written of ${p.rowsRead} read; skipped ${p.skipped.noText} without a narrative and ${p.skipped.duplicates} duplicates${p.stoppedAtLimit ? `; stopped at the limit of ${p.query.limit} (the API had more)` : ""}`,
    `  per ${manifest.target.column}: ${labels || "(none)"}`,
    ...unmappedLabels(manifest, file).map(
      ([label, n]) =>
        `  warning: '${label}' (${n} rows) is neither in target.classes nor a key of target.recode in data/${manifest.name}.yaml: training will quarantine these rows. Add it to one of the two.`,
    ),
  ].join("\n");
}

/**
 * `npm run data -- credit-default`: downloads a dataset from its official source (or copies it from a
 * mirror), converts it to the canonical CSV when needed, verifies its sha256 and keeps it in data/raw/.
 * A query dataset (the CFPB complaints) downloads the complaints the --from/--to/--product/--limit flags ask for.
 */
export async function dataCommand(argv: readonly string[]): Promise<void> {
  const parsed = parseCli(
    argv,
    {
      mirror: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      product: { type: "string", multiple: true },
      limit: { type: "string" },
    },
    USAGE,
  );
  if (parsed === undefined) return;
  if (parsed.positionals.length === 0) {
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  const query = queryFlags(parsed.values);
  const logger = createLogger({ name: "data", level: process.env.LOG_LEVEL ?? "warn" });
  for (const name of parsed.positionals) {
    try {
      const manifest = await loadManifest(name);
      const options: AcquireOptions = {
        logger,
        ...(typeof parsed.values.mirror === "string" ? { mirror: parsed.values.mirror } : {}),
        ...(query === undefined ? {} : { query }),
      };
      const file = await acquireDataset(manifest, options);
      const cached = file.origin === "mirror" ? await cacheDataset(file, manifest) : file.path;
      console.log(describe(manifest, file, cached));
    } catch (error) {
      process.exitCode = 1;
      console.error(error instanceof WorkbenchError ? `error [${error.code}]: ${error.message}` : error);
    }
  }
}
