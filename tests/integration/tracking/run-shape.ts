import path from "node:path";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { projectRoot } from "../../../src/shared/project.js";
import type { MlflowClient } from "../../../src/tracking/client.js";
import { collect } from "../../../src/tracking/paginate.js";
import { uniqueName } from "../../helpers/mlflow.js";

/**
 * A 2,000-row credit-default slice, two candidates of two epochs: small enough to interrupt on cue. One worker:
 * the candidates train one after the other, so "during the second candidate" is a well-defined moment.
 */
export async function smallTrainConfig(prefix: string) {
  return loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"), [
    "data.limit=2000",
    "training.workers=1",
    `experiment=${uniqueName(prefix)}`,
    `registry.modelName=${uniqueName(prefix)}`,
    "training.candidates=[{kind: logistic, params: {epochs: 2, batchSize: 256}}, {kind: mlp, params: {epochs: 2, hiddenUnits: [8]}}]",
  ]);
}

export interface RunShape {
  /** "(parent)" for the top run, its own name for a child. */
  name: string;
  status: string;
  params: Record<string, string>;
  tagKeys: string[];
  /** Points per metric key. */
  metricPoints: Record<string, number>;
  /** Points sharing (key, step, timestamp) with another: 0 when everything arrived exactly once. */
  duplicates: number;
  artifacts: string[];
  inputs: string[];
}

export interface ExperimentShape {
  runs: RunShape[];
  versions: { aliases: string[]; status: string; runIsParent: boolean }[];
  /** metrics: "key@dataset" per metric point the model holds (logged with its id); tagKeys: its tags. */
  loggedModels: { status: string; files: string[]; metrics: string[]; tagKeys: string[] }[];
}

// Differ between two trainings by construction (names, ids, clocks, the writing process).
const VOLATILE_PARAMS = ["config.experiment", "config.registry.modelName"];

/** Everything a user sees of a training in MLflow, with what legitimately differs between two trainings taken out. */
export async function experimentShape(
  client: MlflowClient,
  experimentId: string,
  modelName: string,
): Promise<ExperimentShape> {
  const runs = await collect(client.runs.search({ experimentIds: [experimentId] }));
  const shapes: RunShape[] = [];
  for (const run of runs) {
    const metricPoints: Record<string, number> = {};
    let duplicates = 0;
    for (const key of run.data.metrics.map((m) => m.key)) {
      const history = await collect(client.runs.metricHistory(run.info.runId, key));
      metricPoints[key] = history.length;
      duplicates += history.length - new Set(history.map((m) => `${m.step}|${m.timestamp}`)).size;
    }
    const isChild = run.data.tags["mlflow.parentRunId"] !== undefined;
    shapes.push({
      name: isChild ? run.info.runName : "(parent)",
      status: run.info.status,
      params: Object.fromEntries(
        Object.entries(run.data.params).filter(([k]) => !VOLATILE_PARAMS.includes(k)),
      ),
      tagKeys: Object.keys(run.data.tags).sort(),
      metricPoints,
      duplicates,
      artifacts: (await client.artifacts.listRecursive(run.info.artifactUri)).map((f) => f.path).sort(),
      inputs: run.inputs.datasetInputs.map((d) => `${d.dataset.name}@${d.dataset.digest}`).sort(),
    });
  }
  const parentId = runs.find((r) => r.data.tags["mlflow.parentRunId"] === undefined)?.info.runId;
  const versions = await collect(client.registry.searchVersions({ filter: `name = '${modelName}'` }));
  const aliases = (await client.registry.getModel(modelName)).aliases;
  const models = await collect(client.loggedModels.search({ experimentIds: [experimentId] }));
  return {
    runs: shapes.sort((a, b) => a.name.localeCompare(b.name)),
    versions: versions.map((v) => ({
      aliases: Object.entries(aliases)
        .filter(([, version]) => version === v.version)
        .map(([alias]) => alias),
      status: v.status,
      runIsParent: v.runId === parentId,
    })),
    loggedModels: await Promise.all(
      models.map(async (m) => ({
        status: m.status,
        files: (await client.artifacts.listRecursive(m.artifactUri)).map((f) => f.path).sort(),
        metrics: m.metrics.map((x) => `${x.key}@${x.datasetName ?? ""}`).sort(),
        tagKeys: Object.keys(m.tags).sort(),
      })),
    ),
  };
}

/** The counts a test prints: runs, params, metric points, artifacts, versions. */
export function shapeCounts(shape: ExperimentShape) {
  return {
    runs: shape.runs.length,
    params: shape.runs.reduce((n, r) => n + Object.keys(r.params).length, 0),
    tags: shape.runs.reduce((n, r) => n + r.tagKeys.length, 0),
    metricPoints: shape.runs.reduce(
      (n, r) => n + Object.values(r.metricPoints).reduce((a, b) => a + b, 0),
      0,
    ),
    duplicates: shape.runs.reduce((n, r) => n + r.duplicates, 0),
    artifacts: shape.runs.reduce((n, r) => n + r.artifacts.length, 0),
    inputs: shape.runs.reduce((n, r) => n + r.inputs.length, 0),
    versions: shape.versions.length,
    loggedModelFiles: shape.loggedModels.reduce((n, m) => n + m.files.length, 0),
    loggedModelMetrics: shape.loggedModels.reduce((n, m) => n + m.metrics.length, 0),
  };
}
