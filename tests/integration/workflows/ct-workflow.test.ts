// .github/workflows/ct.yml, run job by job on the local runner (tests/helpers/workflow-runner.ts) in clean
// checkouts of the current tree: the scheduled loop in zero-infrastructure mode (store carried over by the
// Actions cache), the publish job, and a dispatched dry run against a tracking server given as a secret.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: no JS templates with ${{ }} here, only GitHub refs
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";
import {
  artifactDir,
  cacheEntries,
  createRunnerHost,
  describeJob,
  findStep,
  type JobResult,
  prepareWorkspace,
  type RunnerHost,
  startWorkflowRun,
} from "../../helpers/workflow-runner.js";

const WORKFLOW = ".github/workflows/ct.yml";
const CONFIG = "configs/credit-default.yaml";
/** The gate table's header row (the first column names the check, the challenger's carries its version). */
const GATE_HEADER = /^\| check \| champion[^|]*\| challenger[^|]*\| delta \| CI \| p-value \| verdict \|$/m;
const mirror = datasetMirror();
/** The runner machine's environment: a fresh local MLflow server per run (never a developer's on 5000). */
const machineEnv = {
  WORKBENCH_MLFLOW_PORT: "0",
  LOG_LEVEL: "warn",
  ...(mirror ? { WORKBENCH_DATA_MIRROR: mirror } : {}),
};

let host: RunnerHost & { dispose(): Promise<void> };
const workspaces: string[] = [];
beforeAll(async () => {
  host = await createRunnerHost();
});
afterAll(async () => {
  await host?.dispose();
  for (const w of workspaces) await rm(w, { recursive: true, force: true });
});

/**
 * A clean checkout whose credit-default config trains a unique model quickly: the workflow reads the
 * config file named by its input, so the copy is edited (3,000 rows, one logistic candidate, a
 * model and experiment name no other test uses on the shared server). The committed config is untouched.
 */
async function checkout(model: string): Promise<string> {
  const workspace = await prepareWorkspace();
  workspaces.push(workspace);
  const file = path.join(workspace, CONFIG);
  const config = parse(await readFile(file, "utf8")) as Record<string, Record<string, unknown>>;
  config.experiment = `ct-workflow-${model}` as never;
  config.data = { ...config.data, limit: 3000 };
  config.training = {
    ...config.training,
    candidates: [{ kind: "logistic", params: { epochs: 30, batchSize: 128, learningRate: 0.01 } }],
  };
  config.registry = { ...config.registry, modelName: model };
  await writeFile(file, stringify(config));
  return workspace;
}

function expectSuccess(job: JobResult): void {
  expect(job.result, `job ${job.job}:\n${describeJob(job)}`).toBe("success");
}

describe("ct.yml on the local runner", () => {
  it("scheduled, zero-infrastructure: promotes v1, saves and uploads the store, publishes; the next week restores it and keeps v1", async () => {
    const model = uniqueName("ct-wf");
    const options = { event: "schedule" as const, machineEnv, github: { repository: "Acme/Workbench-Demo" } };
    const image = "ghcr.io/acme/workbench-demo";

    // Week 1: no store yet, no champion: the challenger trained from the config becomes champion v1.
    const week1 = startWorkflowRun(host, WORKFLOW, options);
    const ws1 = await checkout(model);
    const ct1 = await week1.runJob("ct", ws1);
    expectSuccess(ct1);
    expect(ct1.outputs).toEqual({
      // No prediction log configured: the monitor did not run, so its outputs are empty.
      drift: "",
      retrain: "",
      promoted: "true",
      decision: "promoted",
      model_name: model,
      model_version: "1",
      image_tags: `${image}:${model}-v1,${image}:latest`,
    });
    expect(findStep(ct1, "Restore the MLflow store").outputs["cache-hit"]).toBe("false");
    expect(findStep(ct1, "ct").outputs.challenger_version).toBe("1");
    expect(ct1.summary).toContain(`## Continuous training: ${model} — promoted`);
    expect(ct1.summary).toContain("champion before: none, after: v1");
    expect(ct1.summary).toMatch(GATE_HEADER);
    expect(ct1.summary, "a local server of its own, not the shared test server").not.toContain(
      inject("mlflowUri"),
    );
    expect(existsSync(path.join(ws1, "mlruns/mlflow.db")), "the store is the checkout's mlruns/").toBe(true);
    const storeKey = `mlruns/${CONFIG}/run-${week1.runId}-1`;
    const saved = (await cacheEntries(host)).find((e) => e.key === storeKey);
    expect(saved, `cache keys: ${(await cacheEntries(host)).map((e) => e.key)}`).toBeDefined();
    expect(
      existsSync(path.join(saved!.dir, "data", "0", "mlflow.db")),
      "the SQLite store is in the cache",
    ).toBe(true);
    expect(existsSync(path.join(artifactDir(host, week1, "mlruns"), "mlflow.db")), "and uploaded").toBe(true);
    expect(existsSync(path.join(ws1, "docker/model/model-meta.json")), "--export docker/model").toBe(true);
    expect(existsSync(path.join(artifactDir(host, week1, "champion-model"), "model-meta.json"))).toBe(true);

    // The publish job of the same run, on a fresh machine: the package comes from the artifact.
    const ws2 = await prepareWorkspace();
    workspaces.push(ws2);
    const publish = await week1.runJob("publish", ws2);
    expectSuccess(publish);
    expect(findStep(publish, "Check the champion's package").stdoutTail).toContain(`exported ${model}`);
    expect(existsSync(path.join(ws2, "docker/model/model-meta.json")), "staged for the image").toBe(true);
    expect(findStep(publish, "docker/login-action").with).toEqual({
      registry: "ghcr.io",
      username: "octocat",
      password: "ghs_local-runner-token",
    });
    const build = findStep(publish, "Build and push the serving image").with;
    expect(build.context, "the working tree, with docker/model staged").toBe(".");
    expect(build.push).toBe("true");
    expect(build.tags).toBe(`${image}:${model}-v1,${image}:latest`);
    expect(build["build-args"]).toBe(`MODEL_NAME=${model}\nMODEL_VERSION=1\n`);
    const labels = build.labels!.trim().split("\n");
    expect(labels).toContain(`org.opencontainers.image.version=${model}-v1`);
    expect(labels).toContain("org.opencontainers.image.source=https://github.com/Acme/Workbench-Demo");
    expect(labels.find((l) => l.startsWith("org.opencontainers.image.revision="))).toMatch(/=[0-9a-f]{40}$/);
    expect(labels).toContain(`org.opencontainers.image.title=${model} prediction service`);

    // Week 2: a new machine; the store comes back from the cache, so the registry (and champion v1) did too.
    const week2 = startWorkflowRun(host, WORKFLOW, options);
    const ws3 = await checkout(model);
    const ct2 = await week2.runJob("ct", ws3);
    expectSuccess(ct2);
    expect(findStep(ct2, "Restore the MLflow store").outputs["cache-matched-key"]).toBe(storeKey);
    expect(findStep(ct2, "ct").outputs.challenger_version, "version 2: the registry persisted").toBe("2");
    expect(ct2.outputs).toEqual({
      drift: "",
      retrain: "",
      promoted: "false",
      decision: "kept",
      model_name: model,
      model_version: "1",
      image_tags: "",
    });
    expect(ct2.summary).toContain("champion before: v1, after: v1");
    expect(ct2.summary).toMatch(GATE_HEADER);
    expect(ct2.summary, "the gate compared the challenger with champion v1").toMatch(
      /\| champion v1 \| challenger v2 \|/,
    );
    expect(findStep(ct2, "Upload the new champion's model package").skipped).toBe(true);
    expect((await cacheEntries(host)).map((e) => e.key)).toContain(`mlruns/${CONFIG}/run-${week2.runId}-1`);
    expect((await week2.runJob("publish", ws3)).result, "nothing to publish").toBe("skipped");
  }, 900_000);

  it("dispatched with the tracking server as a secret, dry run: trains and gates, promotes and publishes nothing", async () => {
    const model = uniqueName("ct-wf-dry");
    const run = startWorkflowRun(host, WORKFLOW, {
      event: "workflow_dispatch",
      inputs: { config: CONFIG, model, recipe: "config", data: "current", "dry-run": true },
      secrets: { MLFLOW_TRACKING_URI: inject("mlflowUri") },
      machineEnv,
    });
    const workspace = await checkout(model);
    const ct = await run.runJob("ct", workspace);
    expectSuccess(ct);
    expect(ct.outputs).toMatchObject({
      promoted: "false",
      decision: "dry-run",
      model_name: model,
      image_tags: "",
    });
    expect(ct.summary).toContain(`## Continuous training: ${model} — dry-run`);
    expect(ct.summary).toContain("champion before: none, after: none");
    expect(ct.summary, "tracked on the server given as a secret").toContain(inject("mlflowUri"));
    expect(ct.summary).toMatch(GATE_HEADER);
    for (const step of ["Restore the MLflow store", "Save the MLflow store", "Upload the MLflow store"]) {
      expect(findStep(ct, step).skipped, `${step}: a tracking server is configured`).toBe(true);
    }
    expect(findStep(ct, "Upload the new champion's model package").skipped).toBe(true);
    expect(existsSync(path.join(workspace, "mlruns/mlflow.db")), "no local store in secrets mode").toBe(
      false,
    );
    expect((await run.runJob("publish", workspace)).result).toBe("skipped");

    const client = testClient();
    try {
      const versions = await client.registry.searchVersionsPage({ filter: `name='${model}'` });
      expect(
        versions.items.flatMap((v) => v.aliases),
        "a dry run moves no alias",
      ).not.toContain("champion");
    } finally {
      client.close();
    }
  }, 600_000);
  it("the daily drift schedule with no prediction log configured skips its steps (a green, empty run)", async () => {
    const model = uniqueName("ct-wf-daily");
    const run = startWorkflowRun(host, WORKFLOW, { event: "schedule", schedule: "30 6 * * *", machineEnv });
    const workspace = await checkout(model);
    const ct = await run.runJob("ct", workspace);
    expectSuccess(ct);
    for (const step of [
      "Restore the MLflow store",
      "Set-up",
      "ct",
      "Save the MLflow store",
      "Upload the MLflow store",
      "Upload the monitor report",
    ])
      expect(findStep(ct, step).skipped, `${step}: nothing to monitor`).toBe(true);
    expect((await run.runJob("publish", workspace)).result).toBe("skipped");
  }, 300_000);
});
