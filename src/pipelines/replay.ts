import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { AcquireOptions, DatasetFile } from "../data/acquire.js";
import { type BackendInfo, initTf, type WasmKernels } from "../models/backend.js";
import { WorkbenchError } from "../shared/errors.js";
import { projectRoot } from "../shared/project.js";
import type { MlflowClient } from "../tracking/client.js";
import { collect } from "../tracking/paginate.js";
import { readGitState } from "../tracking/source-tags.js";
import { executeNotebook, REPLAY_ENV } from "./notebook-run.js";
import type { Recipe } from "./recipe.js";
import { loggedData, type ReplayTarget, readRecipe, resolveReplayTarget } from "./replay-source.js";
import { type TrainContext, type TrainResult, trainPipeline } from "./train.js";

export type DataMode = "logged" | "current";

export interface ReplayOptions extends AcquireOptions {
  /** `models:/<name>@<alias>`, `models:/<name>/<version>`, `runs:/<id>` or a run id. */
  from: string;
  data: DataMode;
  /** Refuse to replay on other code than the recipe's commit, or on a dirty tree. */
  strict?: boolean;
  workDir?: string;
  /** Tags added to the new run (CT marks its runs). */
  tags?: Record<string, string>;
  /** The checkout whose code replays (default: this project); its git state is compared with the recipe's. */
  codeDir?: string;
}

export interface MetricComparison {
  metric: string;
  original: number;
  replay: number;
  delta: number;
}

export interface ReplayResult {
  target: ReplayTarget;
  recipe: Recipe;
  mode: "script" | "notebook";
  runId: string;
  runUrl: string;
  code: { original: string | undefined; current: string | undefined; dirty: boolean | undefined };
  data: { mode: DataMode; sha256: string; source: string };
  comparison: MetricComparison[];
  /** Every compared metric is exactly equal (bit for bit). */
  identical: boolean;
  /** Set when the original and this replay ran on different wasm kernels (see kernelsDiffer). */
  kernels?: { original: WasmKernels; replay: WasmKernels } | undefined;
  model: { name: string; version: string } | undefined;
  /** The training result, for script replays (notebook replays ran in a kernel). */
  train: TrainResult | undefined;
}

/**
 * The wasm kernels of the original run and of this process when both trained on wasm and the kernels differ
 * (networks then differ in the last float digits); a recipe without the field predates the workbench's kernels.
 */
export function kernelsDiffer(
  recipe: Pick<Recipe, "backend" | "wasmKernels">,
  current: Pick<BackendInfo, "backend" | "wasmKernels">,
): { original: WasmKernels; replay: WasmKernels } | undefined {
  if (recipe.backend !== "wasm" || current.backend !== "wasm" || current.wasmKernels === undefined)
    return undefined;
  const original = recipe.wasmKernels ?? "tfjs";
  return original === current.wasmKernels ? undefined : { original, replay: current.wasmKernels };
}

/** What to tell a user whose replay ran on other wasm kernels than the original. */
export function kernelsNote(kernels: { original: WasmKernels; replay: WasmKernels }): string {
  const name = (k: WasmKernels) =>
    k === "tfjs" ? "TensorFlow.js's own wasm kernels" : "the workbench's wasm kernels";
  const env = kernels.original === "tfjs" ? "WORKBENCH_WASM_KERNELS=tfjs" : "WORKBENCH_WASM_KERNELS unset";
  return `the original trained on ${name(kernels.original)}, this replay on ${name(kernels.replay)}: networks differ in the last float digits; replay with ${env} to reproduce them bit for bit`;
}

function checkCode(recipe: Recipe, strict: boolean, codeDir: string): ReplayResult["code"] {
  const current = readGitState(codeDir);
  const code = { original: recipe.git.commit, current: current.commit, dirty: current.dirty };
  if (!strict) return code;
  if (recipe.git.commit === undefined || current.commit === undefined) {
    throw new WorkbenchError(
      "REPLAY_CODE_UNKNOWN",
      "--strict needs the code version of both sides, and the recipe or this checkout has no git commit. Replay without --strict, or from a git checkout.",
      { details: code },
    );
  }
  if (recipe.git.commit !== current.commit) {
    throw new WorkbenchError(
      "REPLAY_CODE_MISMATCH",
      `The run was trained on commit ${recipe.git.commit}; this checkout is ${current.commit}. With --strict a replay runs only on the same code: \`git checkout ${recipe.git.commit}\` (or drop --strict to replay on today's code, recorded in the new run).`,
      { details: code },
    );
  }
  if (current.dirty === true || recipe.git.dirty === true) {
    throw new WorkbenchError(
      "REPLAY_TREE_DIRTY",
      current.dirty === true
        ? "The working tree has uncommitted changes; with --strict a replay runs only on committed code. Commit or stash them first."
        : `The run itself was trained on a dirty tree (uncommitted changes on top of ${recipe.git.commit}), so its code cannot be reproduced exactly; replay without --strict.`,
      { details: code },
    );
  }
  return code;
}

/** The metrics both runs logged (validation, test, holdout, threshold), original vs replay. */
export async function compareRuns(
  client: MlflowClient,
  originalRunId: string,
  replayRunId: string,
): Promise<MetricComparison[]> {
  const [a, b] = await Promise.all([client.runs.get(originalRunId), client.runs.get(replayRunId)]);
  const latest = (metrics: { key: string; value: number }[]) => new Map(metrics.map((m) => [m.key, m.value]));
  const original = latest(a.data.metrics);
  const replay = latest(b.data.metrics);
  const keys = [...original.keys()]
    .filter((k) => /^(val|test|holdout)_/.test(k) || k === "threshold")
    .filter((k) => replay.has(k))
    .sort();
  return keys.map((metric) => ({
    metric,
    original: original.get(metric)!,
    replay: replay.get(metric)!,
    delta: replay.get(metric)! - original.get(metric)!,
  }));
}

/** The registry version a training run registered (the last, if several). */
export async function registeredVersionOf(client: MlflowClient, runId: string) {
  const versions = await collect(client.registry.searchVersions({ filter: `run_id = '${runId}'` }));
  const v = versions.at(-1);
  return v === undefined ? undefined : { name: v.name, version: v.version };
}

/** Re-executes a notebook-born run's notebook (the logged copy) with its logged parameters. */
async function replayNotebook(
  context: TrainContext,
  target: ReplayTarget,
  recipe: Recipe,
  data: DataMode,
  dataFile: DatasetFile | undefined,
  mirror: string | undefined,
): Promise<string> {
  const notebook = recipe.notebook!;
  const { client } = context;
  const original = await client.runs.get(target.runId);
  const dir = await mkdtemp(path.join(os.tmpdir(), "workbench-notebook-replay-"));
  try {
    const local = path.join(dir, path.basename(notebook.path));
    await client.artifacts.downloadFile(
      original.info.artifactUri,
      notebook.artifact ?? `notebook/${path.basename(notebook.path)}`,
      local,
    );
    const token = randomUUID();
    await executeNotebook({
      notebook: local,
      out: path.join(dir, `executed-${path.basename(notebook.path)}`),
      parameters: notebook.parameters,
      env: {
        MLFLOW_TRACKING_URI: client.trackingUri,
        ...(mirror === undefined ? {} : { WORKBENCH_DATA_MIRROR: mirror }),
        [REPLAY_ENV.of]: target.runId,
        [REPLAY_ENV.data]: data,
        [REPLAY_ENV.token]: token,
        ...(dataFile === undefined
          ? {}
          : { [REPLAY_ENV.dataFile]: dataFile.path, [REPLAY_ENV.dataSha256]: dataFile.sha256 }),
      },
    });
    const experiments = await collect(client.experiments.search({}));
    const runs = await collect(
      client.runs.search({
        experimentIds: experiments.map((e) => e.experimentId),
        filter: `tags.\`workbench.replay.token\` = '${token}'`,
      }),
    );
    const run = runs.find((r) => r.data.tags["mlflow.parentRunId"] === undefined);
    if (run === undefined) {
      throw new WorkbenchError(
        "NOTEBOOK_REPLAY_NO_RUN",
        `${notebook.path} ran to the end but logged no training run tagged for this replay: does it still pass notebookRun(...) to trainPipeline?`,
      );
    }
    return run.info.runId;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Replays a logged run: reads its recipe, checks the code version, brings back its data (`logged`: the
 * exact file, verified by hash; `current`: today's dataset), trains again — a script run through the
 * training pipeline, a notebook-born run by re-executing its notebook — and compares the metrics.
 */
export async function replayPipeline(context: TrainContext, options: ReplayOptions): Promise<ReplayResult> {
  const { client } = context;
  const target = await resolveReplayTarget(client, options.from);
  const recipe = await readRecipe(client, target.runId);
  const code = checkCode(recipe, options.strict ?? false, options.codeDir ?? projectRoot());
  const dataFile = options.data === "logged" ? await loggedData(client, recipe, options) : undefined;
  let runId: string;
  let mode: ReplayResult["mode"];
  let train: TrainResult | undefined;
  if (recipe.notebook !== undefined) {
    mode = "notebook";
    runId = await replayNotebook(context, target, recipe, options.data, dataFile, options.mirror);
  } else {
    mode = "script";
    const result = await trainPipeline(context, recipe.config, {
      ...options,
      entryPoint: "npm run replay",
      ...(recipe.configFile === undefined ? {} : { configFile: recipe.configFile }),
      ...(dataFile === undefined ? {} : { dataFile }),
      replayOf: { runId: target.runId, data: options.data },
      tags: {
        "workbench.replay.original_commit": recipe.git.commit ?? "unknown",
        ...options.tags,
      },
    });
    runId = result.runId;
    train = result;
  }
  const run = await client.runs.get(runId);
  const comparison = await compareRuns(client, target.runId, runId);
  return {
    target,
    recipe,
    mode,
    runId,
    runUrl: client.runUrl(run.info.experimentId, runId),
    code,
    data: {
      mode: options.data,
      sha256: run.data.tags["workbench.data.sha256"] ?? dataFile?.sha256 ?? "",
      source: dataFile?.source ?? run.data.params["data.source"] ?? "",
    },
    comparison,
    identical: comparison.length > 0 && comparison.every((c) => Object.is(c.original, c.replay)),
    kernels: kernelsDiffer(recipe, await initTf()),
    model: await registeredVersionOf(client, runId),
    train,
  };
}
