import { execFile } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { copyFile, mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { DataValidationError, WorkbenchError } from "../shared/errors.js";
import { sha256File } from "../shared/hash.js";
import type { Logger } from "../shared/logger.js";
import { silentLogger } from "../shared/logger.js";
import { projectRoot, venvExecutable } from "../shared/project.js";
import {
  downloadCfpbCsv,
  effectiveQuery,
  provenanceFile,
  type QueryProvenance,
  readProvenance,
} from "./cfpb.js";
import type { CfpbQuery, DatasetManifest } from "./manifest.js";

const run = promisify(execFile);

export interface AcquireOptions {
  /** A folder mirroring the official sources as <mirror>/<name>/<file>; defaults to WORKBENCH_DATA_MIRROR. */
  mirror?: string;
  /** Where downloads are kept; defaults to <project>/data/raw. */
  dataDir?: string;
  /** Allow a download from the official source when neither cache nor mirror has the file (default true). */
  download?: boolean;
  /** Overrides the manifest's source URL (tests use a local server). */
  sourceUrl?: string;
  /**
   * A query source (`source.format: cfpb-api`): download now with this query, ignoring the cache and the mirror;
   * what is not given comes from the manifest's `source.query`.
   */
  query?: Partial<CfpbQuery>;
  env?: Readonly<Record<string, string | undefined>>;
  logger?: Logger;
}

export interface DatasetFile {
  path: string;
  sha256: string;
  /** cache: data/raw/<name>/; mirror: <mirror>/<name>/; download: the official source; local: the manifest's source.path. */
  origin: "cache" | "mirror" | "download" | "local";
  /** Where it came from: the mirror path, the official URL or the local file. */
  source: string;
  /** A query download (fresh or cached): the query, the counts and the sha256 recorded when it was downloaded. */
  provenance?: QueryProvenance;
}

/** A manifest with an official download: `file` and `sha256` are required then (manifest.ts checks it). */
type RemoteManifest = DatasetManifest & { file: string; sha256: string; source: { url: string } };

function remote(manifest: DatasetManifest): RemoteManifest {
  if (
    manifest.source.url === undefined ||
    manifest.file === undefined ||
    (manifest.sha256 === undefined && manifest.source.format !== "cfpb-api")
  )
    throw new WorkbenchError(
      "MANIFEST_INVALID",
      `Dataset '${manifest.name}' needs source.url, file and sha256 to be downloaded.`,
    );
  return manifest as RemoteManifest;
}

async function verified(
  file: string,
  manifest: RemoteManifest,
  where: string,
  origin: DatasetFile["origin"],
): Promise<string> {
  const actual = await sha256File(file);
  if (actual !== manifest.sha256) {
    // Only our own copies (the cache, a failed download) may be deleted; a mirror may be the user's only copy.
    const advice =
      origin === "mirror"
        ? `Leave that file alone if it is your own data: either put the official file (${manifest.source.url}) there, or, if this version is the one you mean to train on, set sha256: ${actual} in data/${manifest.name}.yaml (or describe the file with source.path).`
        : `The downloaded copy is corrupt or a different version; delete ${file} and run \`npm run data -- ${manifest.name}\` again.`;
    throw new DataValidationError(
      "DATA_CHECKSUM_MISMATCH",
      `${where}: sha256 ${actual} does not match the manifest's ${manifest.sha256} for '${manifest.name}'. ${advice}`,
      { details: { file, expected: manifest.sha256, actual, origin } },
    );
  }
  return actual;
}

/** A local CSV named by source.path: read in place; its sha256 is computed, and checked when the manifest has one. */
async function localDataset(manifest: DatasetManifest, file: string, logger: Logger): Promise<DatasetFile> {
  if (!existsSync(file)) {
    throw new DataValidationError(
      "DATA_FILE_MISSING",
      `Dataset '${manifest.name}' reads ${file} (source.path in its manifest), which does not exist. Point source.path at the CSV, or move the file back.`,
      { details: { dataset: manifest.name, file } },
    );
  }
  const actual = await sha256File(file);
  if (manifest.sha256 !== undefined && actual !== manifest.sha256) {
    throw new DataValidationError(
      "DATA_CHECKSUM_MISMATCH",
      `${file}: sha256 ${actual} does not match the sha256 ${manifest.sha256} recorded in the manifest of '${manifest.name}': the file changed since it was recorded. Your file was not touched. If the change is intended, set sha256: ${actual} in the manifest (or remove the sha256 line to train on whatever the file holds); otherwise restore the recorded version.`,
      { details: { file, expected: manifest.sha256, actual, origin: "local" } },
    );
  }
  logger.info({ dataset: manifest.name, file, sha256: actual }, "using the local dataset file");
  return { path: file, sha256: actual, origin: "local", source: file };
}

async function download(url: string, target: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: "follow", signal: AbortSignal.timeout(600_000) });
  } catch (cause) {
    throw new WorkbenchError(
      "DATA_DOWNLOAD_FAILED",
      `Could not download ${url}: ${(cause as Error).message}. Offline? Point --mirror (or WORKBENCH_DATA_MIRROR) at a folder holding <name>/<file>.`,
      { cause, details: { url } },
    );
  }
  if (!response.ok || response.body === null) {
    throw new WorkbenchError("DATA_DOWNLOAD_FAILED", `Could not download ${url}: HTTP ${response.status}.`, {
      details: { url, status: response.status },
    });
  }
  const partial = `${target}.partial`;
  try {
    await pipeline(
      Readable.fromWeb(response.body as import("node:stream/web").ReadableStream),
      createWriteStream(partial),
    );
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/**
 * Finds or fetches a dataset's canonical CSV and verifies its sha256. A local `source.path` is read in place;
 * an official `source.url` is looked up in the local cache (data/raw/<name>/), then the mirror, then downloaded
 * (converted with data/convert.py when it is not a CSV).
 */
export async function acquireDataset(
  manifest: DatasetManifest,
  options: AcquireOptions = {},
): Promise<DatasetFile> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? silentLogger();
  if (options.query !== undefined && manifest.source.format !== "cfpb-api")
    throw new WorkbenchError(
      "DATA_QUERY_UNSUPPORTED",
      `Dataset '${manifest.name}' is a fixed file (source.format: ${manifest.source.format}${manifest.source.path === undefined ? "" : ", source.path"}): a query (--from, --to, --product, --limit) applies only to query sources (source.format: cfpb-api).`,
      { details: { dataset: manifest.name } },
    );
  if (manifest.source.path !== undefined) return localDataset(manifest, manifest.source.path, logger);
  if (manifest.source.format === "cfpb-api") return queryDataset(manifest, options, logger);
  const official = remote(manifest);
  const dir = path.join(options.dataDir ?? path.join(projectRoot(), "data", "raw"), manifest.name);
  const cached = path.join(dir, official.file);
  if (existsSync(cached)) {
    return {
      path: cached,
      sha256: await verified(cached, official, cached, "cache"),
      origin: "cache",
      source: cached,
    };
  }
  const mirror = options.mirror ?? env.WORKBENCH_DATA_MIRROR;
  if (mirror !== undefined && mirror !== "") {
    const mirrored = path.resolve(mirror, manifest.name, official.file);
    if (existsSync(mirrored)) {
      logger.info({ dataset: manifest.name, mirrored }, "using the dataset mirror");
      return {
        path: mirrored,
        sha256: await verified(mirrored, official, mirrored, "mirror"),
        origin: "mirror",
        source: mirrored,
      };
    }
    logger.warn({ dataset: manifest.name, mirrored }, "dataset not in the mirror");
  }
  if (options.download === false) {
    throw new WorkbenchError(
      "DATA_NOT_AVAILABLE",
      `Dataset '${manifest.name}' is not downloaded (${cached}) and not in the mirror${mirror ? ` (${mirror})` : ""}. Run \`npm run data -- ${manifest.name}\`.`,
      { details: { dataset: manifest.name } },
    );
  }
  const url = options.sourceUrl ?? official.source.url;
  await mkdir(dir, { recursive: true });
  logger.info({ dataset: manifest.name, url }, "downloading from the official source");
  if (official.source.format === "csv") {
    await download(url, cached);
  } else {
    const archive = path.join(dir, path.basename(new URL(url).pathname) || "download");
    await download(url, archive);
    if (official.source.sha256 !== undefined) {
      const actual = await sha256File(archive);
      if (actual !== official.source.sha256) {
        throw new DataValidationError(
          "DATA_CHECKSUM_MISMATCH",
          `${url}: the download's sha256 ${actual} is not the manifest's ${official.source.sha256}.`,
          {
            details: { url, expected: official.source.sha256, actual },
          },
        );
      }
    }
    const converted = `${cached}.converting`;
    try {
      await run(venvExecutable("python"), [
        path.join(projectRoot(), "data", "convert.py"),
        official.source.format,
        archive,
        official.source.entry ?? "",
        converted,
        official.source.rDoubles.join(","),
      ]);
      await rename(converted, cached);
    } catch (cause) {
      await rm(converted, { force: true });
      throw new WorkbenchError(
        "DATA_CONVERSION_FAILED",
        `Could not convert ${archive} (${official.source.format}): ${(cause as Error).message}`,
        {
          cause,
          details: { archive },
        },
      );
    }
  }
  try {
    return {
      path: cached,
      sha256: await verified(cached, official, url, "download"),
      origin: "download",
      source: url,
    };
  } catch (error) {
    await rm(cached, { force: true });
    throw error;
  }
}

/** A mismatch between a file and the sha256 it should have; `ours` files (the cache) may be deleted and fetched again. */
function queryMismatch(
  manifest: DatasetManifest,
  file: string,
  actual: string,
  expected: string,
  why: string,
  origin: DatasetFile["origin"],
): DataValidationError {
  const advice =
    origin === "mirror"
      ? `Leave that file alone if it is your own data: if this version is the one you mean to train on, set sha256: ${actual} in data/${manifest.name}.yaml (or remove the sha256 line to train on whatever the mirror holds).`
      : `Delete ${file} and run \`npm run data -- ${manifest.name}\` again.`;
  return new DataValidationError(
    "DATA_CHECKSUM_MISMATCH",
    `${file}: sha256 ${actual} does not match ${why} (${expected}). ${advice}`,
    { details: { file, expected, actual, origin } },
  );
}

/**
 * A query source (the CFPB API): its answer changes every day, so a download is checked against the sha256 it
 * recorded itself (<file>.source.json), and a copy of the mirror against the manifest's sha256 when it has one
 * (otherwise the hash is computed and logged, like a local source.path). Order: an explicit query downloads now;
 * else the cache, the mirror, then a download with the manifest's default query.
 */
async function queryDataset(
  manifest: DatasetManifest,
  options: AcquireOptions,
  logger: Logger,
): Promise<DatasetFile> {
  const official = remote(manifest);
  const dir = path.join(options.dataDir ?? path.join(projectRoot(), "data", "raw"), manifest.name);
  const cached = path.join(dir, official.file);
  if (options.query === undefined) {
    if (existsSync(cached)) {
      const provenance = await readProvenance(cached);
      const actual = await sha256File(cached);
      if (provenance !== undefined && actual !== provenance.sha256)
        throw queryMismatch(
          manifest,
          cached,
          actual,
          provenance.sha256,
          `the sha256 recorded when it was downloaded on ${provenance.downloadedAt} (${provenanceFile(cached)})`,
          "cache",
        );
      if (provenance === undefined && manifest.sha256 !== undefined && actual !== manifest.sha256)
        throw queryMismatch(manifest, cached, actual, manifest.sha256, "the manifest's sha256", "cache");
      logger.info(
        { dataset: manifest.name, file: cached, sha256: actual, query: provenance?.url },
        "using the downloaded dataset",
      );
      return {
        path: cached,
        sha256: actual,
        origin: "cache",
        source: cached,
        ...(provenance === undefined ? {} : { provenance }),
      };
    }
    const mirror = options.mirror ?? (options.env ?? process.env).WORKBENCH_DATA_MIRROR;
    if (mirror !== undefined && mirror !== "") {
      const mirrored = path.resolve(mirror, manifest.name, official.file);
      if (existsSync(mirrored)) {
        const actual = await sha256File(mirrored);
        if (manifest.sha256 !== undefined && actual !== manifest.sha256)
          throw queryMismatch(manifest, mirrored, actual, manifest.sha256, "the manifest's sha256", "mirror");
        logger.info({ dataset: manifest.name, mirrored, sha256: actual }, "using the dataset mirror");
        return { path: mirrored, sha256: actual, origin: "mirror", source: mirrored };
      }
      logger.warn({ dataset: manifest.name, mirrored }, "dataset not in the mirror");
    }
    if (options.download === false)
      throw new WorkbenchError(
        "DATA_NOT_AVAILABLE",
        `Dataset '${manifest.name}' is not downloaded (${cached}) and not in the mirror${mirror ? ` (${mirror})` : ""}. Run \`npm run data -- ${manifest.name}\` (with --from, --to, --product, --limit to choose the complaints).`,
        { details: { dataset: manifest.name } },
      );
  }
  const query = effectiveQuery(manifest, options.query);
  logger.info({ dataset: manifest.name, query }, "downloading from the CFPB complaint API");
  const provenance = await downloadCfpbCsv(
    manifest,
    options.sourceUrl ?? official.source.url,
    query,
    cached,
    logger,
  );
  return { path: cached, sha256: provenance.sha256, origin: "download", source: provenance.url, provenance };
}

/** Copies a verified dataset into the cache (used by `npm run data` with a mirror). */
export async function cacheDataset(
  file: DatasetFile,
  manifest: DatasetManifest,
  dataDir?: string,
): Promise<string> {
  const dir = path.join(dataDir ?? path.join(projectRoot(), "data", "raw"), manifest.name);
  await mkdir(dir, { recursive: true });
  const target = path.join(dir, remote(manifest).file);
  if (path.resolve(file.path) !== path.resolve(target)) await copyFile(file.path, target);
  // A copy of the mirror is not a query download: an earlier download's record no longer describes the file.
  if (file.origin === "mirror") await rm(provenanceFile(target), { force: true });
  return target;
}
