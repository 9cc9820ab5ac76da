import { appendFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { describeSync } from "../../../src/cli/sync-command.js";
import { trainPipeline } from "../../../src/pipelines/train.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { collect } from "../../../src/tracking/paginate.js";
import { TrackingSession } from "../../../src/tracking/session.js";
import { syncSpool } from "../../../src/tracking/sync.js";
import { WORKBENCH_TAGS } from "../../../src/tracking/tracker.js";
import { cli } from "../../helpers/cli.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";
import { experimentShape, shapeCounts, smallTrainConfig } from "./run-shape.js";

const client = testClient();
const mirror = datasetMirror();
const dirs: string[] = [];
afterAll(async () => {
  client.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function temp(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "spool-sync-"));
  dirs.push(dir);
  return dir;
}

/** An offline run written in this process: params, 30 metric points in 3 batches, a tag, an artifact. */
async function offlineRun(spoolDir: string, experimentName: string): Promise<string> {
  const file = path.join(spoolDir, "..", "report.txt");
  await writeFile(file, "report\n");
  const session = new TrackingSession({ client, spoolDir, offline: true });
  return session.withRun({ experimentName, runName: "synthetic" }, async (run) => {
    await run.logParams({ lr: 0.1, layers: 2 });
    for (let batch = 0; batch < 3; batch++) {
      await run.logMetrics(
        Array.from({ length: 10 }, (_, i) => ({
          key: "loss",
          value: 1 / (batch * 10 + i + 1),
          step: batch * 10 + i,
        })),
      );
    }
    await run.setTag("team", "risk");
    await run.logArtifact(file, "reports");
    return run.clientRunId;
  });
}

describe("npm run sync", () => {
  it("given a fully offline training (--offline), when synced, then MLflow shows it as if it had been online; three replays add nothing", async () => {
    const dir = await temp();
    const spoolDir = path.join(dir, "spool");
    const config = await smallTrainConfig("offline");
    const env = { MLFLOW_TRACKING_URI: inject("mlflowUri"), WORKBENCH_SPOOL_DIR: spoolDir };
    const candidates =
      "training.candidates=[{kind: logistic, params: {epochs: 2, batchSize: 256}}, {kind: mlp, params: {epochs: 2, hiddenUnits: [8]}}]";
    const args = [
      "--config",
      "configs/credit-default.yaml",
      "--offline",
      ...[
        "data.limit=2000",
        "training.workers=1",
        `experiment=${config.experiment}`,
        `registry.modelName=${config.registry.modelName}`,
        candidates,
      ].flatMap((s) => ["--set", s]),
    ];
    const trained = await cli("train.ts", args, env);
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stdout).toContain(`${config.registry.modelName} @challenger: registration spooled`);
    expect(trained.stdout).toMatch(/offline\): 3 journal\(s\) in .*; `npm run sync` delivers them to http/);
    expect(
      await client.experiments.getByName(config.experiment),
      "offline: the server was not contacted",
    ).toBeUndefined();
    const backup = path.join(dir, "backup");
    await cp(spoolDir, backup, { recursive: true });

    const synced = await cli("sync.ts", ["--no-orphans"], env);
    console.info(`[offline] npm run sync (exit ${synced.code}):\n${synced.stdout}`);
    expect(synced.code, synced.stderr).toBe(0);
    expect(synced.stdout.match(/^ {2}synced /gm)?.length, "three journals: the parent and two children").toBe(
      3,
    );

    const reference = await smallTrainConfig("offline-ref");
    const online = await trainPipeline(
      { client, logger: silentLogger() },
      reference,
      mirror ? { mirror } : {},
    );
    const expected = await experimentShape(client, online.experimentId, reference.registry.modelName);
    const experimentId = (await client.experiments.getByName(config.experiment))!.experimentId;
    const actual = await experimentShape(client, experimentId, config.registry.modelName);
    console.info("[offline] online reference:", JSON.stringify(shapeCounts(expected)));
    console.info("[offline] offline + sync:  ", JSON.stringify(shapeCounts(actual)));
    expect(
      actual,
      "the same runs, params, tags, metric points, artifacts, inputs and version as online",
    ).toEqual(expected);
    const parent = (await collect(client.runs.search({ experimentIds: [experimentId] }))).find(
      (r) => r.data.tags["mlflow.parentRunId"] === undefined,
    )!;
    const snapshot = parent.data.tags["workbench.data.snapshot"]!;
    const [, hashDir, file] = /^mlflow-artifacts:\/workbench-data\/(sha256\/[0-9a-f]{64})\/(.+)$/.exec(
      snapshot,
    )!;
    const listed = await client.artifacts.list("mlflow-artifacts:/workbench-data", hashDir);
    expect(
      listed.map((f) => f.path),
      "the data snapshot was uploaded at sync",
    ).toContain(`${hashDir}/${file}`);
    expect((await client.runs.get(parent.data.tags["workbench.best_run_id"]!)).info.experimentId).toBe(
      experimentId,
    );

    for (const round of [2, 3]) {
      await rm(spoolDir, { recursive: true, force: true });
      await cp(backup, spoolDir, { recursive: true });
      const report = await syncSpool(client, { spoolDir, target: inject("mlflowUri"), orphans: false });
      const sent = report.journals.reduce((n, j) => n + Object.values(j.sent).reduce((a, b) => a + b, 0), 0);
      const present = report.journals.reduce(
        (n, j) => n + Object.values(j.present).reduce((a, b) => a + b, 0),
        0,
      );
      console.info(
        `[offline] replay ${round}: ${report.journals.length} journals, ${sent} items sent, ${present} already there`,
      );
      expect(report.journals.map((j) => j.outcome)).toEqual(["synced", "synced", "synced"]);
      expect(sent, `replay ${round} sends nothing`).toBe(0);
      const again = await experimentShape(client, experimentId, config.registry.modelName);
      expect(shapeCounts(again), `replay ${round}: no duplicate run, metric point or version`).toEqual(
        shapeCounts(actual),
      );
      expect(again).toEqual(actual);
    }
  });

  it("given a journal whose last line is corrupt, then sync reports it, skips only that entry and delivers the rest", async () => {
    const dir = await temp();
    const spoolDir = path.join(dir, "spool");
    const experimentName = uniqueName("corrupt");
    const id = await offlineRun(spoolDir, experimentName);
    const file = path.join(spoolDir, `${id}.jsonl`);
    const lines = (await readFile(file, "utf8")).split("\n");
    const last = lines.length - 1; // the text ends with a newline: the last line is lines[last - 1]
    lines[last - 1] = lines[last - 1]!.replace('"FINISHED"', '"FINISHEX"');
    await writeFile(file, lines.join("\n"));

    const report = await syncSpool(client, { spoolDir, target: client.trackingUri, orphans: false });
    const [journal] = report.journals;
    console.info(`[corrupt] ${describeSync(report, spoolDir).join(" | ")}`);
    expect(journal).toMatchObject({
      outcome: "quarantined",
      corrupt: [{ line: last, reason: "checksum mismatch" }],
      sent: { params: 2, metrics: 30, artifacts: 1, end: 1 },
      endStatus: "KILLED",
    });
    expect(describeSync(report, spoolDir).join("\n")).toContain(`line ${last} skipped (checksum mismatch)`);
    const run = await client.runs.get(journal!.serverRunId!);
    expect(run.info.status, "the end status was the corrupt entry: the run ends KILLED, not RUNNING").toBe(
      "KILLED",
    );
    expect(run.data.tags[WORKBENCH_TAGS.endNote]).toContain("the journal holds no end status");
    expect(run.data.params).toEqual({ lr: "0.1", layers: "2" });
    expect(run.data.tags.team).toBe("risk");
    expect((await collect(client.runs.metricHistory(run.info.runId, "loss"))).length).toBe(30);
    expect((await client.artifacts.listRecursive(run.info.artifactUri)).map((f) => f.path)).toEqual([
      "reports/report.txt",
    ]);
    expect((await readdir(spoolDir)).sort(), "kept aside for a human, with the reasons").toEqual([
      "quarantine",
    ]);
    const why = JSON.parse(await readFile(path.join(spoolDir, "quarantine", `${id}.report.json`), "utf8"));
    expect(why.corrupt).toEqual([{ line: last, reason: "checksum mismatch" }]);
  });

  it("given a torn last line (a crash mid-append), then it is dropped as never acknowledged and the journal is delivered and removed", async () => {
    const dir = await temp();
    const spoolDir = path.join(dir, "spool");
    const id = await offlineRun(spoolDir, uniqueName("torn"));
    await appendFile(path.join(spoolDir, `${id}.jsonl`), '{"seq":99,"at":1,"e":{"op":"batch","params":{"x":');
    const report = await syncSpool(client, { spoolDir, target: client.trackingUri, orphans: false });
    const [journal] = report.journals;
    console.info(`[torn] ${describeSync(report, spoolDir).join(" | ")}`);
    expect(journal).toMatchObject({
      outcome: "synced",
      tornTail: { line: 9 },
      corrupt: [],
      endStatus: "FINISHED",
    });
    expect(await readdir(spoolDir)).toEqual([]);
    expect((await client.runs.get(journal!.serverRunId!)).info.status).toBe("FINISHED");
  });

  it("given a run spooled earlier, when the next training starts with the server reachable, then it is delivered first", async () => {
    const spoolDir = path.join(await temp(), "spool");
    const experimentName = uniqueName("before-training");
    const id = await offlineRun(spoolDir, experimentName);
    const { code, stdout, stderr } = await cli(
      "train.ts",
      [
        "--config",
        "configs/credit-default.yaml",
        ...[
          "data.limit=2000",
          `experiment=${uniqueName("next")}`,
          `registry.modelName=${uniqueName("next")}`,
          "training.candidates=[{kind: logistic, params: {epochs: 1}}]",
        ].flatMap((s) => ["--set", s]),
      ],
      { MLFLOW_TRACKING_URI: inject("mlflowUri"), WORKBENCH_SPOOL_DIR: spoolDir },
    );
    expect(code, stderr).toBe(0);
    console.info(
      `[before-training] ${stdout
        .split("\n")
        .filter((l) => l.includes(id))
        .join("")}`,
    );
    expect(stdout).toMatch(new RegExp(`^ {2}synced +${id} → [0-9a-f]{32} +synthetic; sent 2 params`, "m"));
    expect(stdout.indexOf(id), "the sync comes before the training's own output").toBeLessThan(
      stdout.indexOf("best: "),
    );
    expect(await readdir(spoolDir)).toEqual([]);
    const experimentId = (await client.experiments.getByName(experimentName))!.experimentId;
    const runs = await collect(client.runs.search({ experimentIds: [experimentId] }));
    expect(runs.map((r) => [r.info.runName, r.info.status])).toEqual([["synthetic", "FINISHED"]]);
  });

  it("given a journal meant for another server, then it is left alone", async () => {
    const spoolDir = path.join(await temp(), "spool");
    await offlineRun(spoolDir, uniqueName("elsewhere"));
    const report = await syncSpool(client, { spoolDir, target: "http://prod.example:5000", orphans: false });
    expect(report.journals.map((j) => j.outcome)).toEqual(["other-target"]);
    expect((await readdir(spoolDir)).filter((f) => f.endsWith(".jsonl")).length).toBe(1);
  });
});
