import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { MlflowClient } from "./client.js";
import { collect } from "./paginate.js";
import { isUnreachable, type ModelToLog, WORKBENCH_TAGS } from "./tracker.js";
import type { LoggedModel, ModelVersion } from "./types.js";

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
  done: { loggedModel: boolean; files: number; version: boolean };
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

/** Uploads the package files the logged model does not hold yet (same path and size counts as held). */
async function uploadMissing(client: MlflowClient, model: LoggedModel, dir: string): Promise<number> {
  const present = new Map(
    (await client.artifacts.listRecursive(model.artifactUri)).map((f) => [f.path, f.fileSize]),
  );
  let uploaded = 0;
  for (const file of await localFiles(dir)) {
    if (present.get(file.path) === file.size) continue;
    const sub = path.posix.dirname(file.path);
    await client.artifacts.uploadFile(model.artifactUri, file.file, sub === "." ? undefined : sub);
    uploaded++;
  }
  return uploaded;
}

/**
 * Logs a model package as an MLflow 3 logged model of `runId` (upload, finalize, run output) and registers
 * it as a new version of `modelName` with `alias`. Idempotent on `clientModelId`: a replay finds the logged
 * model and the version by their tag and only completes what is missing, so a registration interrupted by an
 * outage (or replayed from the spool three times) yields one logged model and one version.
 */
export async function logAndRegister(
  client: MlflowClient,
  options: LogModelOptions,
): Promise<LoggedRegistration> {
  const idTag = { [WORKBENCH_TAGS.clientModelId]: options.clientModelId };
  const done = { loggedModel: false, files: 0, version: false };
  let logged = await findLoggedModel(client, options);
  if (logged === undefined) {
    logged = await client.loggedModels.create({
      experimentId: options.experimentId,
      name: options.modelName,
      modelType: options.modelType,
      sourceRunId: options.runId,
      ...(options.params ? { params: options.params } : {}),
      tags: { ...options.tags, ...idTag },
    });
    done.loggedModel = true;
  }
  if (logged.status !== "READY") {
    try {
      done.files = await uploadMissing(client, logged, options.dir);
    } catch (error) {
      // An outage is not a failed upload: the spool completes it later.
      if (!isUnreachable(error))
        await client.loggedModels.finalize(logged.modelId, "FAILED").catch(() => undefined);
      throw error;
    }
    await client.loggedModels.finalize(logged.modelId, "READY");
  }
  const modelId = logged.modelId;
  const run = await client.runs.get(options.runId);
  if (!run.outputs.modelOutputs.some((o) => o.modelId === modelId))
    await client.runs.logOutputs(options.runId, [{ modelId, step: 0 }]);
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
