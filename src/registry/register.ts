import type { MlflowClient } from "../tracking/client.js";
import type { ModelVersion, StringMap } from "../tracking/types.js";

export interface RegisterOptions {
  runId: string;
  experimentId: string;
  /** Local model package directory. */
  dir: string;
  modelName: string;
  alias: string;
  modelType: string;
  params?: StringMap;
  tags?: StringMap;
  description?: string;
}

export interface Registration {
  modelId: string;
  artifactUri: string;
  version: ModelVersion;
}

/**
 * Logs a model package as an MLflow 3 logged model of `runId` (upload, finalize, run output) and registers
 * it as a new version of `modelName` with `alias`. A failed upload finalizes the logged model as FAILED.
 */
export async function logAndRegisterModel(
  client: MlflowClient,
  options: RegisterOptions,
): Promise<Registration> {
  const logged = await client.loggedModels.create({
    experimentId: options.experimentId,
    name: options.modelName,
    modelType: options.modelType,
    sourceRunId: options.runId,
    ...(options.params ? { params: options.params } : {}),
    ...(options.tags ? { tags: options.tags } : {}),
  });
  try {
    await client.artifacts.uploadDirectory(logged.artifactUri, options.dir);
  } catch (error) {
    await client.loggedModels.finalize(logged.modelId, "FAILED").catch(() => undefined);
    throw error;
  }
  await client.loggedModels.finalize(logged.modelId, "READY");
  await client.runs.logOutputs(options.runId, [{ modelId: logged.modelId, step: 0 }]);
  await client.registry.getOrCreateModel(options.modelName);
  const version = await client.registry.createVersion({
    name: options.modelName,
    source: `models:/${logged.modelId}`,
    runId: options.runId,
    modelId: logged.modelId,
    ...(options.tags ? { tags: options.tags } : {}),
    ...(options.description ? { description: options.description } : {}),
  });
  await client.registry.setAlias(options.modelName, options.alias, version.version);
  // MLflow's own client records the registrations on the logged model.
  await client.loggedModels.setTags(logged.modelId, {
    "mlflow.modelVersions": JSON.stringify([{ name: version.name, version: version.version }]),
  });
  return {
    modelId: logged.modelId,
    artifactUri: logged.artifactUri,
    version: { ...version, aliases: [...version.aliases, options.alias] },
  };
}
