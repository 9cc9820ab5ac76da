import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { AcquireOptions, DatasetFile } from "../data/acquire.js";
import { acquireDataset } from "../data/acquire.js";
import { loadManifest } from "../data/manifest.js";
import { fetchSnapshot } from "../data/snapshot.js";
import { ConfigError, DataValidationError, isNotFound, WorkbenchError } from "../shared/errors.js";
import { sha256File } from "../shared/hash.js";
import type { MlflowClient } from "../tracking/client.js";
import { parseRecipe, type Recipe } from "./recipe.js";

/** The run a replay starts from, and how it was named on the command line. */
export interface ReplayTarget {
  runId: string;
  /** `models:/name@alias`, `models:/name/3` or `runs:/<id>`. */
  label: string;
  model?: { name: string; version: string };
}

/** Resolves `--from models:/<name>@<alias>`, `models:/<name>/<version>`, `runs:/<id>` or a bare run id to a run. */
export async function resolveReplayTarget(client: MlflowClient, from: string): Promise<ReplayTarget> {
  const alias = /^models:\/([^/@]+)@([A-Za-z0-9_-]+)$/.exec(from);
  const numbered = /^models:\/([^/@]+)\/(\d+)$/.exec(from);
  if (alias !== null || numbered !== null) {
    const name = decodeURIComponent((alias ?? numbered)![1]!);
    const version =
      alias !== null
        ? await client.registry.getVersionByAlias(name, alias[2]!)
        : await client.registry.getVersion(name, numbered![2]!);
    if (version.runId === undefined || version.runId === "") {
      throw new WorkbenchError(
        "RECIPE_MISSING",
        `${from} (version ${version.version}) is not linked to a training run, so there is no recipe to replay. Replay a run logged by \`npm run train\` instead: --run-id <id>.`,
        { details: { from } },
      );
    }
    return { runId: version.runId, label: from, model: { name, version: version.version } };
  }
  const run = /^(?:runs:\/)?([0-9a-f]{32})\/?$/.exec(from);
  if (run !== null) return { runId: run[1]!, label: `runs:/${run[1]}` };
  throw new ConfigError(
    `Cannot replay '${from}': use models:/<name>@<alias>, models:/<name>/<version>, or a run id (--run-id).`,
    { code: "REPLAY_SOURCE_INVALID" },
  );
}

/** Reads and validates a run's recipe.json. */
export async function readRecipe(client: MlflowClient, runId: string): Promise<Recipe> {
  let artifactUri: string;
  try {
    artifactUri = (await client.runs.get(runId)).info.artifactUri;
  } catch (error) {
    if (isNotFound(error))
      throw new WorkbenchError("RUN_NOT_FOUND", `Run ${runId} does not exist on the tracking server.`, {
        cause: error,
        details: { runId },
      });
    throw error;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "workbench-recipe-"));
  try {
    const local = path.join(dir, "recipe.json");
    try {
      await client.artifacts.downloadFile(artifactUri, "recipe.json", local);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      throw new WorkbenchError(
        "RECIPE_MISSING",
        `Run ${runId} has no recipe.json, so it cannot be replayed: only runs logged by \`npm run train\`, \`npm run ct\` or a notebook calling trainPipeline record one. Train it again with \`npm run train -- --config <file>\`.`,
        { cause: error, details: { runId } },
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(local, "utf8"));
    } catch (cause) {
      throw new WorkbenchError("RECIPE_INVALID", `recipe.json of run ${runId} is not valid JSON.`, {
        cause,
        details: { runId },
      });
    }
    return parseRecipe(raw, `recipe.json of run ${runId}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The exact file a recipe trained on: its content-addressed snapshot, or (recipes without one) today's
 * dataset when its hash still matches. A file whose hash changed is refused with the two hashes.
 */
export async function loggedData(
  client: MlflowClient,
  recipe: Recipe,
  options: AcquireOptions = {},
): Promise<DatasetFile> {
  if (recipe.data.snapshot !== undefined) {
    return fetchSnapshot(client, {
      uri: recipe.data.snapshot,
      sha256: recipe.data.sha256,
      file: recipe.data.file ?? path.basename(recipe.data.snapshot),
    });
  }
  const manifest = await loadManifest(recipe.data.dataset);
  let file: DatasetFile;
  try {
    file = await acquireDataset({ ...manifest, sha256: recipe.data.sha256 }, options);
  } catch (error) {
    if (error instanceof DataValidationError && error.code === "DATA_CHECKSUM_MISMATCH") {
      throw new DataValidationError(
        "REPLAY_DATA_CHANGED",
        `The run trained on ${recipe.data.uri} with sha256 ${recipe.data.sha256}, and it kept no snapshot; the file available today has a different hash (${String(error.details.actual)}). Nothing was replayed: restore that file, or replay with --data current.`,
        { cause: error, details: { expected: recipe.data.sha256, actual: error.details.actual } },
      );
    }
    throw error;
  }
  // acquireDataset verified against the recipe's hash; say so explicitly for the reader of this code.
  if ((await sha256File(file.path)) !== recipe.data.sha256)
    throw new DataValidationError("REPLAY_DATA_CHANGED", `${file.path} changed while it was being read.`);
  return file;
}
