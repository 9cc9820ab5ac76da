import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { DataValidationError } from "../shared/errors.js";
import { sha256File } from "../shared/hash.js";
import { projectRoot } from "../shared/project.js";
import type { MlflowClient } from "../tracking/client.js";
import type { DatasetFile } from "./acquire.js";

/**
 * Content-addressed copies of training data in the tracking server's artifact store, so that any run can
 * be replayed on exactly the rows it saw: `mlflow-artifacts:/workbench-data/sha256/<hash>/<file>`. A file is
 * uploaded once whatever the number of runs that use it; its address is its content.
 */
const ROOT = "mlflow-artifacts:/workbench-data";

export interface DataSnapshot {
  /** Artifact URI of the copy. */
  uri: string;
  sha256: string;
  file: string;
}

function relativePath(sha256: string, file: string): string {
  return `sha256/${sha256}/${file}`;
}

/** Uploads the dataset file under its hash unless a copy is already there; returns its address. */
export async function snapshotDataset(client: MlflowClient, source: DatasetFile): Promise<DataSnapshot> {
  const file = path.basename(source.path);
  const dir = `sha256/${source.sha256}`;
  const existing = await client.artifacts.list(ROOT, dir).catch(() => []);
  if (!existing.some((f) => f.path === relativePath(source.sha256, file))) {
    await client.artifacts.uploadFile(ROOT, source.path, dir);
  }
  return { uri: `${ROOT}/${relativePath(source.sha256, file)}`, sha256: source.sha256, file };
}

/** Where fetched snapshots are kept locally (verified by hash on every use). */
export function snapshotCacheDir(): string {
  return process.env.WORKBENCH_DATA_SNAPSHOTS ?? path.join(projectRoot(), ".cache", "data-snapshots");
}

async function download(client: MlflowClient, relative: string, local: string, uri: string): Promise<void> {
  await mkdir(path.dirname(local), { recursive: true });
  const partial = `${local}.partial-${process.pid}`;
  try {
    await client.artifacts.downloadFile(ROOT, relative, partial);
    await rename(partial, local);
  } catch (cause) {
    await rm(partial, { force: true });
    throw new DataValidationError(
      "REPLAY_DATA_UNAVAILABLE",
      `The data snapshot ${uri} could not be fetched from the tracking server: ${(cause as Error).message}. Replay with --data current to use today's data instead.`,
      { cause, details: { uri } },
    );
  }
}

/**
 * Brings a snapshot back and proves it is the file the run used: the sha256 must equal the logged one.
 * A copy that no longer matches is refused, never silently replaced.
 */
export async function fetchSnapshot(client: MlflowClient, snapshot: DataSnapshot): Promise<DatasetFile> {
  const match = /^mlflow-artifacts:\/workbench-data\/(sha256\/[0-9a-f]{64}\/[^/]+)$/.exec(snapshot.uri);
  if (match === null) {
    throw new DataValidationError(
      "REPLAY_DATA_UNAVAILABLE",
      `The recipe's data snapshot '${snapshot.uri}' is not a workbench data snapshot address.`,
      { details: { uri: snapshot.uri } },
    );
  }
  const local = path.join(snapshotCacheDir(), snapshot.sha256, snapshot.file);
  // A local copy is only a cache: one that does not match is fetched again before anything is judged.
  if (existsSync(local) && (await sha256File(local)) !== snapshot.sha256) await rm(local, { force: true });
  if (!existsSync(local)) await download(client, match[1]!, local, snapshot.uri);
  const actual = await sha256File(local);
  if (actual !== snapshot.sha256) {
    throw new DataValidationError(
      "REPLAY_DATA_CHANGED",
      `The logged data ${snapshot.uri} has sha256 ${actual}, not the ${snapshot.sha256} the run recorded: the copy was altered since. Nothing was replayed; restore the original file, or replay with --data current to train on today's data.`,
      { details: { uri: snapshot.uri, expected: snapshot.sha256, actual, local } },
    );
  }
  return { path: local, sha256: actual, origin: "cache", source: snapshot.uri };
}
