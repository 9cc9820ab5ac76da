import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { MlflowClient } from "./client.js";
import { type LoggedIdentity, stampMlmodel } from "./mlmodel-stamp.js";
import { collect } from "./paginate.js";
import { MLFLOW_TAGS, standardRunTags } from "./source-tags.js";
import { isUnreachable, type ModelToLog, WORKBENCH_TAGS } from "./tracker.js";
import type { LoggedModel, ModelVersion, Run, StringMap } from "./types.js";

export interface LogModelOptions extends ModelToLog {
  runId: string;
  experimentId: string;
  /** The registration's client id: recorded as a tag on the logged model and the version. */
  clientModelId: string;
}

export interface LoggedRegistration {
  modelId: string;
  artifactUri: string;
  version: ModelVersion;
  /** What this call had to do (nothing on a replay of a finished registration). */
  done: { loggedModel: boolean; files: number; metrics: number; version: boolean };
}

/** The tags MLflow's client puts on a logged model from its context: who and what produced it. */
const CONTEXT_TAGS = [
  MLFLOW_TAGS.user,
  MLFLOW_TAGS.sourceName,
  MLFLOW_TAGS.sourceType,
  MLFLOW_TAGS.gitCommit,
  MLFLOW_TAGS.gitBranch,
  MLFLOW_TAGS.gitRepoUrl,
];

/**
 * The context tags of the run that produced the model (a replay by `npm run sync` still names the
 * training, not the sync), or of this process when the run has none.
 */
function contextTags(run: Run): StringMap {
  const fromRun = Object.fromEntries(
    CONTEXT_TAGS.filter((k) => run.data.tags[k] !== undefined).map((k) => [k, run.data.tags[k]!]),
  );
  if (fromRun[MLFLOW_TAGS.user] !== undefined && fromRun[MLFLOW_TAGS.sourceName] !== undefined)
    return fromRun;
  const own = standardRunTags();
  return Object.fromEntries(CONTEXT_TAGS.filter((k) => own[k] !== undefined).map((k) => [k, own[k]!]));
}

async function localFiles(dir: string): Promise<{ path: string; size: number; file: string }[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  return Promise.all(
    files.sort().map(async (file) => ({
      file,
      path: path.relative(dir, file).split(path.sep).join("/"),
      size: (await stat(file)).size,
    })),
  );
}

async function findLoggedModel(
  client: MlflowClient,
  options: LogModelOptions,
): Promise<LoggedModel | undefined> {
  const found = await collect(
    client.loggedModels.search({
      experimentIds: [options.experimentId],
      filter: `tags.\`${WORKBENCH_TAGS.clientModelId}\` = '${options.clientModelId}'`,
    }),
  );
  return found.find((m) => m.status === "READY") ?? found[0];
}

/**
 * Uploads the package files the logged model does not hold yet (same path and size counts as held). The
 * MLmodel file goes up stamped with the run and model ids (a temporary copy: the package is not changed).
 */
async function uploadMissing(
  client: MlflowClient,
  model: LoggedModel,
  dir: string,
  identity: LoggedIdentity,
): Promise<number> {
  const present = new Map(
    (await client.artifacts.listRecursive(model.artifactUri)).map((f) => [f.path, f.fileSize]),
  );
  let uploaded = 0;
  const scratch = await mkdtemp(path.join(os.tmpdir(), "workbench-mlmodel-"));
  try {
    for (const file of await localFiles(dir)) {
      let source = file;
      if (file.path === "MLmodel") {
        const text = stampMlmodel(await readFile(file.file, "utf8"), identity, file.file);
        const stamped = path.join(scratch, "MLmodel");
        await writeFile(stamped, text);
        source = { ...file, file: stamped, size: Buffer.byteLength(text) };
      }
      if (present.get(source.path) === source.size) continue;
      const sub = path.posix.dirname(source.path);
      await client.artifacts.uploadFile(model.artifactUri, source.file, sub === "." ? undefined : sub);
      uploaded++;
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return uploaded;
}

/** Logs the model's metrics it does not hold yet (by key, step and timestamp) with its id, to the run. */
async function logModelMetrics(
  client: MlflowClient,
  model: LoggedModel,
  options: LogModelOptions,
): Promise<number> {
  const held = new Set(model.metrics.map((m) => `${m.key}|${m.step}|${m.timestamp}`));
  const missing = (options.metrics ?? []).filter(
    (m) => m.timestamp === undefined || !held.has(`${m.key}|${m.step ?? 0}|${m.timestamp}`),
  );
  if (missing.length === 0) return 0;
  await client.runs.logBatch(options.runId, {
    metrics: missing.map((m) => ({ ...m, modelId: model.modelId })),
  });
  return missing.length;
}

/**
 * Logs a model package as an MLflow 3 logged model of `runId` (run output, metrics with the model id,
 * upload with the MLmodel stamped, finalize) and registers it as a new version of `modelName` with `alias`.
 * The logged model carries the run's `mlflow.user` / `mlflow.source.*` tags, as MLflow's client records. Idempotent on `clientModelId`: a replay finds the logged
 * model and the version by their tag and only completes what is missing, so a registration interrupted by an
 * outage (or replayed from the spool three times) yields one logged model and one version.
 */
export async function logAndRegister(
  client: MlflowClient,
  options: LogModelOptions,
): Promise<LoggedRegistration> {
  const idTag = { [WORKBENCH_TAGS.clientModelId]: options.clientModelId };
  const done = { loggedModel: false, files: 0, metrics: 0, version: false };
  const run = await client.runs.get(options.runId);
  let logged = await findLoggedModel(client, options);
  if (logged === undefined) {
    logged = await client.loggedModels.create({
      experimentId: options.experimentId,
      name: options.modelName,
      modelType: options.modelType,
      sourceRunId: options.runId,
      ...(options.params ? { params: options.params } : {}),
      tags: { ...contextTags(run), ...options.tags, ...idTag },
    });
    done.loggedModel = true;
  }
  const modelId = logged.modelId;
  if (!run.outputs.modelOutputs.some((o) => o.modelId === modelId))
    await client.runs.logOutputs(options.runId, [{ modelId, step: 0 }]);
  done.metrics = await logModelMetrics(client, logged, options);
  if (logged.status !== "READY") {
    const identity = { runId: options.runId, modelId, artifactUri: logged.artifactUri };
    try {
      done.files = await uploadMissing(client, logged, options.dir, identity);
    } catch (error) {
      // An outage is not a failed upload: the spool completes it later.
      if (!isUnreachable(error))
        await client.loggedModels.finalize(logged.modelId, "FAILED").catch(() => undefined);
      throw error;
    }
    await client.loggedModels.finalize(logged.modelId, "READY");
  }
  await client.registry.getOrCreateModel(options.modelName);
  const existing = (
    await collect(client.registry.searchVersions({ filter: `run_id = '${options.runId}'` }))
  ).find(
    (v) => v.name === options.modelName && v.tags[WORKBENCH_TAGS.clientModelId] === options.clientModelId,
  );
  let version = existing;
  if (version === undefined) {
    version = await client.registry.createVersion({
      name: options.modelName,
      source: `models:/${logged.modelId}`,
      runId: options.runId,
      modelId: logged.modelId,
      tags: { ...options.tags, ...idTag },
      ...(options.description ? { description: options.description } : {}),
    });
    done.version = true;
  }
  await client.registry.setAlias(options.modelName, options.alias, version.version);
  // MLflow's own client records the registrations on the logged model.
  await client.loggedModels.setTags(logged.modelId, {
    "mlflow.modelVersions": JSON.stringify([{ name: version.name, version: version.version }]),
  });
  const aliases = version.aliases.includes(options.alias)
    ? version.aliases
    : [...version.aliases, options.alias];
  return { modelId: logged.modelId, artifactUri: logged.artifactUri, version: { ...version, aliases }, done };
}
