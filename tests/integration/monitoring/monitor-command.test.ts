// `npm run monitor` end to end against the throwaway MLflow server: credit-default trained cheaply (one small
// logistic candidate), then the monitor on the logged holdout (no dataset drift, not degraded) and on a shifted
// copy (clients with PAY_0 >= 2 only, amounts × 1.5: drift), checking the JSON, the HTML, the logged and linked
// monitoring run, the exit code and $GITHUB_OUTPUT; a model without a profile, and an unreachable server (spooled).
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parse } from "csv-parse/sync";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { PROFILE_FILE } from "../../../src/monitoring/profile.js";
import { runMonitor } from "../../../src/pipelines/monitor.js";
import { MONITOR_VERSION_TAGS } from "../../../src/pipelines/monitor-tracking.js";
import { type TrainResult, trainPipeline } from "../../../src/pipelines/train.js";
import { loadPredictor } from "../../../src/serving/model-source.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { MlflowClient } from "../../../src/tracking/client.js";
import { TrackingSession } from "../../../src/tracking/session.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { rejectionOf } from "../../helpers/expect-error.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const exec = promisify(execFile);
const client = testClient();
const mirror = datasetMirror();
const model = uniqueName("monitor-model");
const logger = silentLogger();
let trained: TrainResult;
let dir: string;
let holdout: string;
let shifted: string;

const AMOUNTS = /^(LIMIT_BAL|BILL_AMT\d|PAY_AMT\d)$/;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "monitor-it-"));
  const config = await loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"), [
    `experiment=${model}`,
    `registry.modelName=${model}`,
    "training.candidates=[{kind: logistic, params: {epochs: 3}}]",
  ]);
  trained = await trainPipeline({ client, logger }, config, mirror ? { mirror } : {});
  const run = await client.runs.get(trained.runId);
  holdout = await client.artifacts.downloadFile(
    run.info.artifactUri,
    "holdout/holdout.csv",
    path.join(dir, "holdout.csv"),
  );
  // The shifted slice: clients two or more months behind in September, every amount × 1.5.
  const rows = parse(await readFile(holdout, "utf8"), { columns: true }) as Record<string, string>[];
  const header = Object.keys(rows[0]!);
  const kept = rows.filter((r) => Number(r.PAY_0) >= 2);
  const lines = kept.map((r) =>
    header.map((h) => (AMOUNTS.test(h) ? String(Number(r[h]) * 1.5) : r[h])).join(","),
  );
  shifted = path.join(dir, "shifted.csv");
  await writeFile(shifted, `${header.join(",")}\n${lines.join("\n")}\n`);
  return () => rm(dir, { recursive: true, force: true });
}, 240_000);

describe("npm run monitor", () => {
  it("on the logged holdout: no dataset drift, not degraded; report written, run logged and linked to the version", async () => {
    const out = path.join(dir, "holdout-report");
    const tracking = new TrackingSession({ client, logger });
    const report = await runMonitor(
      { model: `models:/${model}@challenger`, current: holdout, labels: holdout, out },
      { client, tracking, logger },
    );
    tracking.close();
    console.info(`[monitor] holdout: ${report.verdict.reasons.join(" | ")}`);
    expect(report.model).toMatchObject({ name: model, version: "1", runId: trained.runId });
    expect(report.input).toMatchObject({ format: "csv", rowsRead: 3000, rowsUsed: 3000 });
    expect(report.input.issues?.predictions, "the holdout carries no predictions: the model scored it").toBe(
      "model",
    );
    expect(report.input.issues?.extraColumns, "ID joins the labels").toEqual(["default.payment.next.month"]);
    expect(report.drift.columns).toHaveLength(23);
    expect(report.drift.datasetDrift, report.verdict.reasons.join("; ")).toBe(false);
    expect(report.drift.predictions, "the profile has the validation predictions").toBeDefined();
    expect(report.concept).toMatchObject({ metric: "roc_auc", labelled: 3000, unlabelled: 0, maxDrop: 0.05 });
    expect(report.concept!.reference).toBeCloseTo(trained.metrics.test.roc_auc!, 10);
    // Training measured the holdout after the manifest's recodes (EDUCATION 0/5/6 → 4, MARRIAGE 0 → 3); the logged
    // holdout.csv holds the raw codes, which the model sees as unknown categories: close, not equal.
    expect(
      Math.abs(report.concept!.current - trained.metrics.holdout.roc_auc!),
      "the holdout AUC as training measured it",
    ).toBeLessThan(0.005);
    expect(report.concept!.degraded).toBe(false);
    expect(report.verdict).toMatchObject({ drift: false, degraded: false });

    const json = JSON.parse(await readFile(path.join(out, "monitor.json"), "utf8"));
    expect(json.verdict).toEqual(report.verdict);
    expect(json.run.runId).toBe(report.run!.runId);
    const html = await readFile(path.join(out, "monitor.html"), "utf8");
    expect(html).toContain("<html");
    expect(html.length).toBeGreaterThan(100_000);

    const run = await client.runs.get(report.run!.runId);
    expect(run.info.runName).toBe(`monitor-${model}-v1`);
    expect(run.info.experimentId, "logged in the model's experiment").toBe(trained.experimentId);
    expect(run.data.tags).toMatchObject({
      "workbench.pipeline": "monitor",
      "workbench.monitor.model": model,
      "workbench.monitor.version": "1",
      "workbench.monitor.verdict": "ok",
    });
    const metrics = Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));
    expect(metrics.dataset_drift).toBe(0);
    expect(metrics.drift_share).toBeCloseTo(report.drift.share, 12);
    expect(metrics["drift_score.LIMIT_BAL"]).toBeCloseTo(
      report.drift.columns.find((c) => c.column === "LIMIT_BAL")!.score,
      12,
    );
    expect(metrics.current_roc_auc).toBeCloseTo(report.concept!.current, 12);
    const artifacts = (await client.artifacts.list(run.info.artifactUri)).map((f) => f.path).sort();
    expect(artifacts).toEqual(["monitor.html", "monitor.json"]);
    const version = await client.registry.getVersion(model, "1");
    expect(version.tags).toMatchObject({
      [MONITOR_VERSION_TAGS.lastRun]: report.run!.runId,
      [MONITOR_VERSION_TAGS.lastVerdict]: "ok",
    });
  });

  it("on the shifted slice through the CLI: exit code 11, drift=true in $GITHUB_OUTPUT, most columns drifted", async () => {
    const out = path.join(dir, "shifted-report");
    const githubOutput = path.join(dir, "github-output");
    const summary = path.join(dir, "step-summary");
    await writeFile(githubOutput, "");
    await writeFile(summary, "");
    const root = projectRoot();
    const result = await exec(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(root, "scripts", "monitor.ts"),
        "--model",
        `models:/${model}/1`,
        "--current",
        shifted,
        "--out",
        out,
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          MLFLOW_TRACKING_URI: inject("mlflowUri"),
          GITHUB_OUTPUT: githubOutput,
          GITHUB_STEP_SUMMARY: summary,
          LOG_LEVEL: "warn",
        },
      },
    ).then(
      () => ({ code: 0, stdout: "", stderr: "" }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    console.info(`[monitor] shifted (${shifted}):\n${result.stdout}`);
    expect(result.code, result.stderr).toBe(11);
    expect(result.stdout).toContain("dataset drift:");
    expect(result.stdout).toContain("verdict: drift (exit 11)");
    const outputs = await readFile(githubOutput, "utf8");
    expect(outputs).toContain("drift=true\n");
    expect(outputs).toContain("degraded=false\n");
    expect(outputs).toContain(`report=${path.join(out, "monitor.html")}\n`);
    const report = JSON.parse(await readFile(path.join(out, "monitor.json"), "utf8"));
    expect(report.drift.datasetDrift).toBe(true);
    const drifted = new Set(
      report.drift.columns
        .filter((c: { drift: boolean }) => c.drift)
        .map((c: { column: string }) => c.column),
    );
    for (const column of ["PAY_0", "PAY_2", "LIMIT_BAL", "BILL_AMT1"])
      expect(drifted.has(column), `${column} among ${[...drifted].join(", ")}`).toBe(true);
    expect(outputs).toMatch(new RegExp(`drift_share=${report.drift.share}\\n`));
    expect(await readFile(summary, "utf8")).not.toBe("");
    const version = await client.registry.getVersion(model, "1");
    expect(version.tags[MONITOR_VERSION_TAGS.lastVerdict], "the last check is the shifted one").toBe("drift");
  });

  it("on a prediction log with shadow answers (--compare, --labels): the log's outputs, agreement and the paired CI", async () => {
    const predictor = await loadPredictor(`models:/${model}/1`, client);
    const rows = (
      parse(await readFile(holdout, "utf8"), { columns: true }) as Record<string, string>[]
    ).slice(0, 600);
    const inputs = rows.map((r) => ({
      ID: Number(r.ID),
      ...Object.fromEntries(predictor.model.meta.inputs.map((c) => [c.name, Number(r[c.name])])),
    }));
    const checked = predictor.check(inputs, "json", { allowExtraColumns: true });
    expect(checked.problems).toEqual([]);
    const outputs = predictor.score(checked.table);
    // The same version answers in shadow, so both sides agree exactly; 100 rows per request, two files.
    const lines = Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({
        time: new Date(0).toISOString(),
        requestId: `r${i}`,
        model: { name: model, version: "1" },
        inputs: inputs.slice(i * 100, (i + 1) * 100),
        outputs: outputs.slice(i * 100, (i + 1) * 100),
        shadow: { model: { name: model, version: "1" }, outputs: outputs.slice(i * 100, (i + 1) * 100) },
      }),
    );
    const log = path.join(dir, "log");
    await cp(holdout, path.join(dir, "labels.csv"));
    await rm(log, { recursive: true, force: true });
    await mkdir(log);
    await writeFile(path.join(log, "predictions.1.jsonl"), `${lines.slice(0, 3).join("\n")}\n`);
    await writeFile(path.join(log, "predictions.jsonl"), `${lines.slice(3).join("\n")}\n`);
    const report = await runMonitor(
      {
        model: `models:/${model}@challenger`,
        current: log,
        labels: path.join(dir, "labels.csv"),
        compare: true,
        out: path.join(dir, "log-report"),
        log: false,
      },
      { client, tracking: undefined, logger },
    );
    expect(report.input).toMatchObject({ format: "jsonl", rowsRead: 600, rowsUsed: 600 });
    expect(report.input.issues?.predictions).toBe("log");
    expect(report.concept).toMatchObject({ labelled: 600, unlabelled: 0 });
    expect(report.shadow).toMatchObject({ rows: 600, agreement: 1, meanAbsProbabilityDiff: 0 });
    expect(report.shadow?.metric).toMatchObject({
      name: "roc_auc",
      difference: 0,
      ci: [0, 0],
      labelled: 600,
    });
  });

  it("MONITOR_NO_PROFILE: a package trained before profiles existed, with the way out", async () => {
    const predictor = await loadPredictor(`models:/${model}/1`, client);
    const old = path.join(dir, "old-package");
    await cp(predictor.model.dir, old, { recursive: true });
    await rm(path.join(old, PROFILE_FILE));
    const error = await rejectionOf(
      runMonitor(
        { model: old, current: holdout, out: path.join(dir, "x"), log: false },
        { client: undefined, tracking: undefined, logger },
      ),
    );
    expect(error.code).toBe("MONITOR_NO_PROFILE");
    expect(error.message).toContain(
      "has no reference profile: it was trained before models carried one. Retrain it",
    );
    expect(error.message).toContain("--reference");
  });

  it("with the tracking server unreachable, the monitoring run is spooled and the check still answers", async () => {
    const predictor = await loadPredictor(`models:/${model}/1`, client);
    const spoolDir = await mkdtemp(path.join(dir, "spool-"));
    const dead = new MlflowClient({
      trackingUri: "http://127.0.0.1:9",
      env: {},
      retry: { maxRetries: 0, backoffFactor: 0.01, backoffJitter: 0 },
      timeoutMs: 2000,
    });
    const tracking = new TrackingSession({ client: dead, spoolDir, logger });
    const report = await runMonitor(
      { model: predictor.model.dir, current: shifted, out: path.join(dir, "offline") },
      { client: undefined, tracking, logger },
    );
    tracking.close();
    dead.close();
    expect(report.verdict.drift).toBe(true);
    expect(tracking.journals.length, "the run waits in a journal").toBe(1);
    expect(report.run?.url).toContain(spoolDir);
  });
});
