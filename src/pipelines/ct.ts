import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { GateMetricName } from "../config/promotion-config.js";
import type { TrainConfig } from "../config/train-config.js";
import type { AcquireOptions, DatasetFile } from "../data/acquire.js";
import type { Table } from "../data/table.js";
import { transform } from "../features/preprocessor.js";
import { initTf } from "../models/backend.js";
import { type AliasNames, promote, readChampion } from "../promotion/aliases.js";
import { type GateDecision, runGate, type ScoredModel } from "../promotion/gate.js";
import { gateMarkdown, verdictLine } from "../promotion/gate-report.js";
import { exportModel } from "../registry/export-model.js";
import { loadPredictor } from "../serving/model-source.js";
import type { Predictor } from "../serving/predictor.js";
import { WorkbenchError } from "../shared/errors.js";
import type { MlflowClient } from "../tracking/client.js";
import type { ModelVersion } from "../tracking/types.js";
import { prepareData } from "./prepare-data.js";
import { type DataMode, registeredVersionOf, replayPipeline } from "./replay.js";
import { loggedData, readRecipe } from "./replay-source.js";
import { type TrainContext, trainPipeline } from "./train.js";

export interface CtOptions extends AcquireOptions {
  /** The config given with --config (train it, or the fallback when there is no champion). */
  config?: TrainConfig;
  configFile?: string;
  /** The registered model (--model); defaults to the config's registry.modelName. */
  modelName?: string;
  /** `champion`: replay the champion's logged recipe; `config`: train the config. */
  recipe: "champion" | "config";
  data: DataMode;
  forcePromote?: boolean;
  dryRun?: boolean;
  /** Write the champion's package here after the run (the image bakes it in). */
  exportDir?: string;
  workDir?: string;
}

export type CtDecision = "promoted" | "kept" | "dry-run" | "forced";

export interface CtResult {
  modelName: string;
  decision: CtDecision;
  promoted: boolean;
  challenger: { runId: string; runUrl: string; version: string; source: "config" | "champion-recipe" };
  champion: { before: string | undefined; after: string | undefined };
  gate: GateDecision;
  markdown: string;
  /** Test metrics of the challenger's run. */
  metrics: Record<string, number>;
  exported: string | undefined;
}

async function scoreModel(predictor: Predictor, tables: Table[]): Promise<ScoredModel> {
  const { model, preprocessor, meta } = predictor.model;
  const parts = tables.map((t) => model.predict(transform(preprocessor, t)));
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return { version: predictor.origin.version ?? "?", probabilities: out, threshold: meta.threshold };
}

/** The evaluation splits of a finished training run, rebuilt from its recipe and logged data. */
async function evaluationSplitsOf(client: MlflowClient, runId: string, options: AcquireOptions) {
  const recipe = await readRecipe(client, runId);
  const dataFile: DatasetFile = await loggedData(client, recipe, options);
  const data = await prepareData(recipe.config, { ...options, dataFile });
  await rm(data.workDir, { recursive: true, force: true });
  return { config: recipe.config, splits: { test: data.splits.test, holdout: data.splits.holdout } };
}

/**
 * Continuous training: train a challenger (the champion's recipe on current data, or the config), score it
 * and the champion on the same fresh evaluation rows, gate, promote race-safely, export the champion.
 */
export async function ctPipeline(context: TrainContext, options: CtOptions): Promise<CtResult> {
  const { client, logger } = context;
  await initTf();
  const modelName = options.modelName ?? options.config?.registry.modelName;
  if (modelName === undefined)
    throw new WorkbenchError("CT_USAGE", "Continuous training needs --config <file> or --model <name>.");
  const aliases: AliasNames = options.config?.promotion.aliases ?? {
    champion: "champion",
    previous: "previous",
  };
  const champion: ModelVersion | undefined = await readChampion(client, modelName, aliases);
  logger.info({ modelName, champion: champion?.version }, "continuous training");

  // 1. The challenger.
  let runId: string;
  let version: string | undefined;
  let config: TrainConfig;
  let splits: { test: Table; holdout: Table } | undefined;
  let source: CtResult["challenger"]["source"];
  const tags = { "workbench.pipeline": "ct", "workbench.ct.champion": champion?.version ?? "none" };
  if (options.recipe === "champion" && champion !== undefined) {
    source = "champion-recipe";
    const replay = await replayPipeline(context, {
      ...options,
      from: `models:/${modelName}/${champion.version}`,
      data: options.data,
      tags,
    });
    runId = replay.runId;
    version = replay.model?.version;
    config = replay.recipe.config;
    splits = replay.train?.evaluationSplits;
  } else {
    if (options.config === undefined) {
      throw new WorkbenchError(
        "CT_NO_CHAMPION_NO_CONFIG",
        `models:/${modelName}@${aliases.champion} does not exist yet and no --config was given, so there is nothing to replay or train. Run \`npm run ct -- --config configs/<name>.yaml\` for the first champion.`,
        { details: { modelName } },
      );
    }
    source = "config";
    config = options.config;
    const dataFile =
      options.data === "logged" && champion?.runId !== undefined
        ? await loggedData(client, await readRecipe(client, champion.runId), options)
        : undefined;
    const result = await trainPipeline(context, config, {
      ...options,
      entryPoint: "npm run ct",
      ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
      ...(dataFile === undefined ? {} : { dataFile }),
      tags,
    });
    runId = result.runId;
    version = result.model.version;
    splits = result.evaluationSplits;
  }
  version ??= (await registeredVersionOf(client, runId))?.version;
  if (version === undefined)
    throw new WorkbenchError("CT_NO_CHALLENGER", `Run ${runId} registered no model version to gate.`);
  if (splits === undefined) {
    const rebuilt = await evaluationSplitsOf(client, runId, options);
    splits = rebuilt.splits;
    config = rebuilt.config;
  }
  const promotion = options.config?.promotion ?? config.promotion;

  // 2. Both models scored on the same fresh rows: the new run's evaluation splits.
  const tables = promotion.evaluateOn.map((s) => splits![s]);
  const challengerModel = await loadPredictor(`models:/${modelName}/${version}`, client);
  const championModel =
    champion === undefined
      ? undefined
      : await loadPredictor(`models:/${modelName}/${champion.version}`, client);
  const classes = challengerModel.classes;
  if (championModel !== undefined && championModel.classes.join("\u0000") !== classes.join("\u0000")) {
    throw new WorkbenchError(
      "GATE_INCOMPATIBLE",
      `The champion (v${champion!.version}) predicts classes [${championModel.classes.join(", ")}] and the challenger (v${version}) [${classes.join(", ")}]: they cannot be compared. Promote by hand if the label set changed on purpose (npm run ct -- --force-promote).`,
    );
  }
  const labels = Int32Array.from(tables.flatMap((t) => t.target.map((y) => classes.indexOf(y))));
  const gate = runGate({
    config: promotion,
    defaultMetric: config.training.selectionMetric as GateMetricName,
    seed: config.seed,
    classes,
    labels,
    challenger: await scoreModel(challengerModel, tables),
    champion: championModel === undefined ? undefined : await scoreModel(championModel, tables),
    force: options.forcePromote === true,
  });
  challengerModel.retire();
  championModel?.retire();
  const markdown = gateMarkdown(gate);
  logger.info({ verdict: verdictLine(gate) }, "gate");

  // 3. The decision, recorded on the challenger's run and on both versions.
  const decision: CtDecision = options.dryRun
    ? "dry-run"
    : !gate.promote
      ? "kept"
      : gate.forced
        ? "forced"
        : "promoted";
  await recordDecision(client, {
    runId,
    modelName,
    version,
    champion: champion?.version,
    gate,
    markdown,
    decision,
  });

  // 4. Promotion (compare-and-set under the lock), then the champion's package for the image.
  let after = champion?.version;
  if (decision === "promoted" || decision === "forced") {
    const moved = await promote(client, {
      modelName,
      version,
      expectedChampion: champion?.version,
      aliases,
      logger,
    });
    after = moved.champion;
    await client.runs.setTag(runId, "workbench.ct.promoted", "true");
  }
  let exported: string | undefined;
  if (options.exportDir !== undefined && after !== undefined) {
    exported = (await exportModel(client, `models:/${modelName}/${after}`, options.exportDir)).dir;
  }
  const run = await client.runs.get(runId);
  return {
    modelName,
    decision,
    promoted: decision === "promoted" || decision === "forced",
    challenger: { runId, runUrl: client.runUrl(run.info.experimentId, runId), version, source },
    champion: { before: champion?.version, after },
    gate,
    markdown,
    metrics: Object.fromEntries(
      run.data.metrics.filter((m) => m.key.startsWith("test_")).map((m) => [m.key, m.value]),
    ),
    exported,
  };
}

async function recordDecision(
  client: MlflowClient,
  input: {
    runId: string;
    modelName: string;
    version: string;
    champion: string | undefined;
    gate: GateDecision;
    markdown: string;
    decision: CtDecision;
  },
): Promise<void> {
  const { gate } = input;
  const dir = await mkdtemp(path.join(os.tmpdir(), "workbench-gate-"));
  try {
    await writeFile(
      path.join(dir, "decision.json"),
      `${JSON.stringify({ decision: input.decision, modelName: input.modelName, ...gate }, null, 2)}\n`,
    );
    await writeFile(path.join(dir, "gate.md"), `${input.markdown}\n`);
    await client.artifacts.uploadDirectory(
      (await client.runs.get(input.runId)).info.artifactUri,
      dir,
      "gate",
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const primary = gate.checks.find((c) => c.kind === "improvement");
  await client.runs.logBatch(input.runId, {
    metrics: [
      { key: "gate_promote", value: gate.promote ? 1 : 0 },
      {
        key: `gate_challenger_${gate.metric}`,
        value: gate.checks.find((c) => c.metric === gate.metric)?.challenger ?? Number.NaN,
      },
      ...(primary?.champion === undefined
        ? []
        : [
            { key: `gate_champion_${gate.metric}`, value: primary.champion },
            { key: `gate_delta_${gate.metric}`, value: primary.delta ?? Number.NaN },
            { key: "gate_bootstrap_p_value", value: primary.pValue ?? Number.NaN },
          ]),
      ...gate.checks
        .filter((c) => c.kind === "delong")
        .map((c) => ({ key: "gate_delong_p_value", value: c.pValue ?? Number.NaN })),
    ].filter((m) => Number.isFinite(m.value)),
    tags: { "workbench.gate.decision": input.decision, "workbench.gate.champion": input.champion ?? "none" },
  });
  const verdict = input.decision;
  await client.registry.setVersionTag(input.modelName, input.version, "workbench.gate.decision", verdict);
  await client.registry.setVersionTag(
    input.modelName,
    input.version,
    "workbench.gate.champion",
    input.champion ?? "none",
  );
  await client.registry.setVersionTag(input.modelName, input.version, "workbench.gate.run_id", input.runId);
  if (input.champion !== undefined) {
    await client.registry.setVersionTag(
      input.modelName,
      input.champion,
      "workbench.gate.last_challenger",
      input.version,
    );
    await client.registry.setVersionTag(
      input.modelName,
      input.champion,
      "workbench.gate.last_decision",
      verdict,
    );
  }
}
