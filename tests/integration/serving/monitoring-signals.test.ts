import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { trainPipeline } from "../../../src/pipelines/train.js";
import type { PredictionRecord } from "../../../src/serving/prediction-log.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";
import { type ServeProcess, startServeProcess } from "../../helpers/serve-process.js";
import { parseExposition, samplesOf, sampleValue } from "../../unit/serving/prom-text.js";

// The service's monitoring signals end to end: two credit-default versions trained into the registry (each package
// carrying its reference profile), `npm run serve` on @champion with @challenger as its shadow, a prediction log
// and a 1-second drift interval; real rows of the dataset (past the 2,000 trained on), then the same rows with their
// amounts multiplied by 10. /metrics is read with the exposition parser and checked by promtool.
const client = testClient();
const mirror = datasetMirror();
const model = uniqueName("monitor-serve");
const dirs: string[] = [];
let service: ServeProcess;
let logDir: string;

async function train(seed: number): Promise<string> {
  const config = await loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"), [
    "data.limit=2000",
    `seed=${seed}`,
    `experiment=${model}`,
    `registry.modelName=${model}`,
    "training.candidates=[{kind: logistic, params: {epochs: 3}}]",
  ]);
  await trainPipeline({ client, logger: silentLogger() }, config, mirror ? { mirror } : {});
  return (await client.registry.getVersionByAlias(model, "challenger")).version;
}

/** Rows 20,000–20,299 of the dataset, as a CSV body of the model's input columns. */
function csvBody(columns: string[], scale: (column: string, value: string) => string = (_, v) => v): string {
  const file = path.join(mirror ?? "", "credit-default", "UCI_Credit_Card.csv");
  const rows = (parse(readFileSync(file, "utf8"), { columns: true }) as Record<string, string>[]).slice(
    20_000,
    20_300,
  );
  return `${columns.join(",")}\n${rows.map((r) => columns.map((c) => scale(c, r[c]!)).join(",")).join("\n")}\n`;
}

async function metrics() {
  return parseExposition(await (await fetch(`${service.base}/metrics`)).text());
}

/** Polls /metrics until a drift check later than `after` (seconds) has run. */
async function nextCheck(after: number) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const m = await metrics();
    if (sampleValue(m, "workbench_drift_last_check_timestamp_seconds") > after) return m;
    if (Date.now() > deadline) throw new Error(`no drift check within 60 s:\n${service.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function post(body: string, contentType = "text/csv") {
  const response = await fetch(`${service.base}/invocations`, {
    method: "POST",
    headers: { "content-type": contentType },
    body,
  });
  return { status: response.status, text: await response.text() };
}

beforeAll(async () => {
  const v1 = await train(1);
  await client.registry.setAlias(model, "champion", v1);
  const v2 = await train(2);
  expect([v1, v2]).toEqual(["1", "2"]);
  const cache = await mkdtemp(path.join(os.tmpdir(), "monitor-serve-cache-"));
  logDir = await mkdtemp(path.join(os.tmpdir(), "monitor-serve-log-"));
  dirs.push(cache, logDir);
  service = await startServeProcess(
    [
      ...["--model", `models:/${model}@champion`, "--shadow", `models:/${model}@challenger`],
      ...["--shadow-share", "1", "--prediction-log", logDir, "--sample-rate", "1"],
      ...["--drift-interval", "1", "--drift-min-rows", "100", "--poll-seconds", "0"],
    ],
    { MLFLOW_TRACKING_URI: inject("mlflowUri"), WORKBENCH_MODEL_CACHE: cache },
  );
}, 300_000);

afterAll(async () => {
  const code = await service?.stop();
  client.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  expect(code, "the service drains and exits 0").toBe(0);
});

describe("service signals, drift gauge and shadow through a registered model", () => {
  it("counts, checks drift, shadows the challenger and logs both models' outputs", async () => {
    const health = (await (await fetch(`${service.base}/health`)).json()) as Record<string, unknown>;
    expect(health.shadow).toEqual({ name: model, version: "2", share: 1, status: "active" });
    const meta = (await (await fetch(`${service.base}/model`)).json()) as {
      signature: { inputs: { name: string }[] };
      monitoring: { referenceProfile: boolean; rangeChecked: string[] };
    };
    expect(meta.monitoring.referenceProfile, "the trained package carries its profile").toBe(true);
    const columns = meta.signature.inputs.map((c) => c.name);
    expect(meta.monitoring.rangeChecked.length).toBe(columns.length);
    expect(service.output()).toContain("drift gauge: every 1 s once 100 rows are in");

    // Out-of-sample rows of the same dataset: no dataset drift.
    expect((await post(csvBody(columns))).status).toBe(200);
    const first = await nextCheck(0);
    expect(sampleValue(first, "workbench_drift_window_rows")).toBe(300);
    expect(sampleValue(first, "workbench_dataset_drift")).toBe(0);
    expect(samplesOf(first, "workbench_feature_drift").length).toBe(columns.length);

    // Amounts ×10 (13 of the 23 features): dataset drift, and values past the reference maxima.
    const amounts = /^(LIMIT_BAL|BILL_AMT\d|PAY_AMT\d)$/;
    const shifted = csvBody(columns, (c, v) => (amounts.test(c) ? String(Number(v) * 10) : v));
    expect((await post(shifted)).status).toBe(200);
    const second = await nextCheck(sampleValue(first, "workbench_drift_last_check_timestamp_seconds"));
    expect(sampleValue(second, "workbench_dataset_drift")).toBe(1);
    expect(sampleValue(second, "workbench_feature_drift", { feature: "LIMIT_BAL" })).toBe(1);
    expect(sampleValue(second, "workbench_drift_share")).toBeGreaterThanOrEqual(0.5);
    expect(
      sampleValue(second, "workbench_feature_out_of_range_total", { feature: "LIMIT_BAL" }),
    ).toBeGreaterThan(0);

    // A refused field, an adjusted one, an unseen category.
    const row = Object.fromEntries(columns.map((c) => [c, 1]));
    expect(
      (
        await post(
          JSON.stringify({ dataframe_records: [{ ...row, LIMIT_BAL: "a lot" }] }),
          "application/json",
        )
      ).status,
    ).toBe(422);
    const adjusted = await post(
      JSON.stringify({ dataframe_records: [{ ...row, AGE: "30", SEX: 3 }] }),
      "application/json",
    );
    expect(adjusted.status).toBe(200);

    const m = await metrics();
    expect(
      sampleValue(m, "workbench_feature_violations_total", { feature: "LIMIT_BAL", reason: "type" }),
    ).toBe(1);
    expect(
      sampleValue(m, "workbench_feature_violations_total", { feature: "AGE", reason: "converted" }),
    ).toBe(1);
    expect(sampleValue(m, "workbench_feature_unseen_category_total", { feature: "SEX" })).toBe(1);
    expect(sampleValue(m, "workbench_rows_scored_total", { version: "1" })).toBe(601);
    expect(sampleValue(m, "workbench_prediction_score_count", { version: "1" })).toBe(601);
    expect(m.types.get("workbench_prediction_score")).toBe("histogram");
    expect(sampleValue(m, "workbench_shadow_requests_total", { version: "2" })).toBe(3);
    expect(sampleValue(m, "workbench_shadow_rows_total", { version: "2" })).toBe(601);
    expect(samplesOf(m, "workbench_shadow_disagreements_total", { version: "2" }).length).toBeLessThanOrEqual(
      1,
    );
    expect(sampleValue(m, "workbench_shadow_errors_total")).toBe(0);

    // promtool reads the exposition and lints it (names, types, help).
    const exposition = await (await fetch(`${service.base}/metrics`)).text();
    const promtool = spawnSync("promtool", ["check", "metrics"], { input: exposition, encoding: "utf8" });
    expect(promtool.error, "promtool is installed (Debian package prometheus)").toBeUndefined();
    expect(promtool.status, `promtool check metrics:\n${promtool.stdout}${promtool.stderr}`).toBe(0);

    // The prediction log: every request (sample rate 1), each with the challenger's outputs.
    // The records are appended after the answers (a shadowed request once the challenger scored it): poll.
    const deadline = Date.now() + 30_000;
    let records: PredictionRecord[] = [];
    while (Date.now() < deadline) {
      const files = await readdir(logDir);
      const text = files.includes("predictions.jsonl")
        ? await readFile(path.join(logDir, "predictions.jsonl"), "utf8")
        : "";
      records = text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as PredictionRecord);
      if (records.length >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(records.length).toBe(3);
    for (const r of records) {
      expect(r.model.version).toBe("1");
      expect(r.shadow?.model).toEqual({ name: model, version: "2" });
      expect(r.shadow?.outputs.length).toBe(r.outputs.length);
    }
  });
});
