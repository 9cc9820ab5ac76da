import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadTrainConfig, type TrainConfig } from "../../../src/config/train-config.js";
import { type CtOptions, ctPipeline } from "../../../src/pipelines/ct.js";
import { executeNotebook } from "../../../src/pipelines/notebook-run.js";
import { replayPipeline } from "../../../src/pipelines/replay.js";
import { ModelHolder } from "../../../src/serving/model-holder.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { collect } from "../../../src/tracking/paginate.js";
import { cli } from "../../helpers/cli.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
const mirror = datasetMirror();
const context = { client, logger: silentLogger() };
const model = uniqueName("it-ct");
const experiment = uniqueName("it-ct");
const configFile = path.join(projectRoot(), "configs", "credit-default.yaml");
let scratch: string;
let holder: ModelHolder | undefined;

// Small, fast configs on slices of the real credit-default data. "Worse" is a logistic regression trained for
// one epoch at a tiny learning rate; "better" is an MLP on four times the rows ("grown data").
const BASE = [
  `experiment=${experiment}`,
  `registry.modelName=${model}`,
  "promotion.minimums={roc_auc: 0.6}",
  "promotion.bootstrap.resamples=1000",
];
const FIRST = [
  ...BASE,
  "data.limit=3000",
  "training.candidates=[{kind: logistic, params: {epochs: 6, batchSize: 256}}, {kind: mlp, params: {epochs: 6, hiddenUnits: [16], dropout: 0.1}}]",
];
const WORSE = [
  ...BASE,
  "data.limit=3000",
  "training.candidates=[{kind: logistic, params: {epochs: 1, batchSize: 512, learningRate: 0.0001}}]",
];
const BETTER = [
  ...BASE,
  "data.limit=12000",
  "training.candidates=[{kind: mlp, params: {epochs: 12, hiddenUnits: [32], dropout: 0.1}}]",
];

function options(config: TrainConfig, extra: Partial<CtOptions> = {}): CtOptions {
  return { config, configFile, recipe: "config", data: "current", ...(mirror ? { mirror } : {}), ...extra };
}

async function aliases(name = model) {
  return (await client.registry.getModel(name)).aliases;
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "it-ct-"));
});
afterAll(async () => {
  holder?.stopPolling();
  client.close();
  await rm(scratch, { recursive: true, force: true });
});

describe.sequential("continuous training end to end against a real MLflow server", () => {
  it("1. with no champion, the first round trains, passes the absolute minimum and promotes", async () => {
    const result = await ctPipeline(context, options(await loadTrainConfig(configFile, FIRST)));
    expect(result.decision).toBe("promoted");
    expect(result.champion).toEqual({ before: undefined, after: "1" });
    expect(
      result.gate.checks.map((c) => c.kind),
      "no champion: only the absolute bounds are checked",
    ).toEqual(["minimum"]);
    expect(result.markdown).toContain("no champion yet");
    expect(await aliases()).toMatchObject({ champion: "1", challenger: "1" });
    // The service follows the alias from here on (hot swap on promotion).
    holder = await ModelHolder.load(`models:/${model}@champion`, client);
    holder.startPolling(100);
    expect(holder.current.origin.version).toBe("1");
  });

  it("2. a deliberately worse config keeps the champion, and the gate table says why", async () => {
    const result = await ctPipeline(context, options(await loadTrainConfig(configFile, WORSE)));
    expect(result.decision).toBe("kept");
    expect(result.promoted).toBe(false);
    expect(result.champion).toEqual({ before: "1", after: "1" });
    const primary = result.gate.checks.find((c) => c.kind === "improvement")!;
    expect(primary.delta, "the worse model scores lower").toBeLessThan(0);
    expect(primary.passed).toBe(false);
    expect(result.gate.failures.join("\n")).toMatch(/roc_auc improvement/);
    expect(result.markdown).toMatch(/\| roc_auc \(primary\) \| .* \| ❌/);
    expect(result.markdown).toContain("KEEP the champion");
    expect(await aliases()).toMatchObject({ champion: "1", challenger: "2" });
    const v2 = await client.registry.getVersion(model, "2");
    expect(v2.tags).toMatchObject({ "workbench.gate.decision": "kept", "workbench.gate.champion": "1" });
    expect((await client.registry.getVersion(model, "1")).tags["workbench.gate.last_challenger"]).toBe("2");
    const run = await client.runs.get(result.challenger.runId);
    expect(run.data.tags["workbench.gate.decision"]).toBe("kept");
    const files = (await client.artifacts.list(run.info.artifactUri, "gate")).map((f) => f.path);
    expect(files.sort()).toEqual(["gate/decision.json", "gate/gate.md"]);
  });

  it("3. a better config on grown data promotes, keeps the old champion as previous, and the service swaps to it", async () => {
    const exportDir = path.join(scratch, "export");
    const result = await ctPipeline(
      context,
      options(await loadTrainConfig(configFile, BETTER), { exportDir }),
    );
    expect(result.decision, result.markdown).toBe("promoted");
    expect(result.champion).toEqual({ before: "1", after: "3" });
    for (const check of result.gate.checks) expect(check.passed, `${check.kind} ${check.metric}`).toBe(true);
    const delong = result.gate.checks.find((c) => c.kind === "delong")!;
    expect(delong.pValue).toBeLessThan(0.05);
    expect(await aliases()).toMatchObject({ champion: "3", previous: "1" });
    const meta = JSON.parse(await readFile(path.join(exportDir, "model-meta.json"), "utf8")) as {
      name: string;
    };
    expect(meta.name, "the champion's package is exported for the image").toBe(model);
    const deadline = Date.now() + 20_000;
    while (holder!.current.origin.version !== "3" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(holder!.current.origin.version, "the serving hot swap picked up the promotion").toBe("3");
  });

  it("3b. npm run model:export copies the champion's package out (what the image bakes in)", async () => {
    const out = path.join(scratch, "docker-model");
    const { code, stdout, stderr } = await cli(
      "export-model.ts",
      ["--model", `models:/${model}@champion`, "--out", out],
      { MLFLOW_TRACKING_URI: inject("mlflowUri") },
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`exported ${model} version 3 to ${out}`);
    const meta = JSON.parse(await readFile(path.join(out, "model-meta.json"), "utf8")) as { name: string };
    expect(meta.name).toBe(model);
    const again = await cli("export-model.ts", ["--model", out, "--out", path.join(scratch, "copy")]);
    expect(again.code, `a local package exports too: ${again.stderr}`).toBe(0);
  });

  it("4. npm run rollback restores the previous champion", async () => {
    const { code, stdout, stderr } = await cli("rollback.ts", ["--model", model], {
      MLFLOW_TRACKING_URI: inject("mlflowUri"),
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(
      `rolled back ${model}: version 1 is @champion again, version 3 is now @previous`,
    );
    expect(await aliases()).toMatchObject({ champion: "1", previous: "3" });
  });

  it("5. npm run replay --data logged reproduces the champion's metrics exactly", async () => {
    const { code, stdout, stderr } = await cli(
      "replay.ts",
      ["--from", `models:/${model}@champion`, "--data", "logged"],
      {
        MLFLOW_TRACKING_URI: inject("mlflowUri"),
      },
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("identical: every metric reproduced exactly");
    expect(stdout).toMatch(/test_roc_auc\s+(\S+)\s+\1\s+0/);
    const replayRun = /run: .*runs\/([0-9a-f]{32})/.exec(stdout)![1]!;
    const run = await client.runs.get(replayRun);
    const original = (await client.registry.getVersion(model, "1")).runId;
    expect(run.data.tags).toMatchObject({
      "workbench.replay_of": original,
      "workbench.replay.data": "logged",
    });
  });

  it("6. a replay of a notebook-born run re-executes the notebook with its logged parameters", async () => {
    const notebookModel = uniqueName("it-ct-nb");
    const notebookExperiment = uniqueName("it-ct-nb");
    await executeNotebook({
      notebook: path.join(projectRoot(), "notebooks", "02-credit-default-training.ipynb"),
      out: path.join(scratch, "02-executed.ipynb"),
      parameters: {
        sliceRows: 3000,
        epochs: 4,
        experimentName: notebookExperiment,
        modelName: notebookModel,
      },
      env: {
        MLFLOW_TRACKING_URI: inject("mlflowUri"),
        LOG_LEVEL: "warn",
        ...(mirror ? { WORKBENCH_DATA_MIRROR: mirror } : {}),
      },
    });
    const born = (await client.registry.getVersionByAlias(notebookModel, "challenger")).runId!;
    const bornRun = await client.runs.get(born);
    expect(bornRun.data.tags["workbench.notebook"]).toBe("notebooks/02-credit-default-training.ipynb");
    const replay = await replayPipeline(context, {
      from: `runs:/${born}`,
      data: "logged",
      ...(mirror ? { mirror } : {}),
    });
    expect(replay.mode).toBe("notebook");
    expect(replay.recipe.notebook?.parameters).toEqual({
      sliceRows: 3000,
      epochs: 4,
      experimentName: notebookExperiment,
      modelName: notebookModel,
    });
    expect(replay.identical, JSON.stringify(replay.comparison.filter((c) => c.delta !== 0))).toBe(true);
    expect(replay.comparison.length).toBeGreaterThan(20);
    const run = await client.runs.get(replay.runId);
    expect(run.data.tags["workbench.replay_of"]).toBe(born);
    expect(replay.model).toEqual({ name: notebookModel, version: "2" });
  });

  it("7. two concurrent CT runs promote at most once", async () => {
    const raceModel = uniqueName("it-ct-race");
    const args = [
      "--config",
      "configs/credit-default.yaml",
      "--recipe",
      "config",
      ...FIRST.flatMap((s) => ["--set", s]),
      "--set",
      `registry.modelName=${raceModel}`,
    ];
    const env = { MLFLOW_TRACKING_URI: inject("mlflowUri") };
    const results = await Promise.all([cli("ct.ts", args, env), cli("ct.ts", args, env)]);
    const codes = results.map((r) => r.code).sort();
    expect(codes.filter((c) => c === 0).length, results.map((r) => r.stdout + r.stderr).join("\n---\n")).toBe(
      1,
    );
    // The loser either lost the race for the alias (4: conflict) or, starting later, gated an identical model
    // against the new champion (3: kept).
    expect([3, 4]).toContain(codes[1]);
    const loser = results.find((r) => r.code !== 0)!;
    if (loser.code === 4) expect(loser.stderr).toContain("error [PROMOTION_CONFLICT]");
    const registry = await client.registry.getModel(raceModel);
    expect(registry.aliases.previous, "no second promotion moved the first champion aside").toBeUndefined();
    expect(["1", "2"]).toContain(registry.aliases.champion);
    const promotedRuns = await collect(
      client.runs.search({
        experimentIds: [(await client.experiments.getByName(experiment))!.experimentId],
        filter: `tags.\`workbench.ct.promoted\` = 'true' and tags.\`workbench.gate.champion\` = 'none'`,
      }),
    );
    expect(promotedRuns.filter((r) => r.data.params["config.registry.modelName"] === raceModel).length).toBe(
      1,
    );
  });
});
