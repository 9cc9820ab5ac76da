import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { trainPipeline } from "../../../src/pipelines/train.js";
import { TrackingError } from "../../../src/shared/errors.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { MlflowClient } from "../../../src/tracking/client.js";
import {
  freePort,
  isMlflowHealthy,
  type LocalServer,
  startLocalServer,
} from "../../../src/tracking/local-server.js";
import { collect } from "../../../src/tracking/paginate.js";
import { TrackingSession } from "../../../src/tracking/session.js";
import { syncSpool } from "../../../src/tracking/sync.js";
import { PENDING, type Tracker, WORKBENCH_TAGS } from "../../../src/tracking/tracker.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { rejectionOf } from "../../helpers/expect-error.js";
import { uniqueName } from "../../helpers/mlflow.js";
import { experimentShape, shapeCounts, smallTrainConfig } from "./run-shape.js";

// A server of this file's own, on a fixed port and store, so that it can be killed and restarted.
let root = "";
let storeDir = "";
let port = 0;
let server: LocalServer;
let client: MlflowClient;
const mirror = datasetMirror();

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "spool-outage-"));
  storeDir = path.join(root, "store");
  port = await freePort();
  server = await startLocalServer({ storeDir, port, workers: 1, readyTimeoutMs: 180_000 });
  client = new MlflowClient({
    trackingUri: server.uri,
    env: {},
    retry: { maxRetries: 2, backoffFactor: 0.05, backoffJitter: 0 },
    timeoutMs: 30_000,
  });
});

// A test that failed half-way must not leave the next one without a server.
beforeEach(async () => {
  if (!(await isMlflowHealthy(server.uri))) await restartServer();
});

afterAll(async () => {
  client?.close();
  await server?.stop();
  await rm(root, { recursive: true, force: true });
});

/** SIGKILL to the whole server group, synchronously: the next request finds nobody. */
function killServer(): void {
  process.kill(-server.pid, "SIGKILL");
}

async function restartServer(): Promise<void> {
  await server.stop();
  server = await startLocalServer({ storeDir, port, workers: 1, readyTimeoutMs: 180_000 });
}

async function freshSpool(): Promise<string> {
  return mkdtemp(path.join(root, "spool-"));
}

describe("the tracking server lost mid-training and restarted", () => {
  it("given the server killed during the second candidate, when it is back and sync runs, then every point, param, tag, artifact and the version are there exactly once", async () => {
    const reference = await smallTrainConfig("outage-ref");
    const online = await trainPipeline(
      { client, logger: silentLogger() },
      reference,
      mirror ? { mirror } : {},
    );
    const expected = await experimentShape(client, online.experimentId, reference.registry.modelName);

    const config = await smallTrainConfig("outage");
    const spoolDir = await freshSpool();
    const tracking = new TrackingSession({ client, spoolDir, logger: silentLogger() });
    let trial = -1;
    let killedAt: string | undefined;
    const result = await trainPipeline(
      {
        client,
        tracking,
        logger: silentLogger(),
        onEvent: (event) => {
          if (event.type === "trial-start") trial = event.index;
          if (event.type === "iteration" && trial === 1 && killedAt === undefined) {
            killedAt = `${event.trial.id} epoch ${event.record.iteration}`;
            killServer();
          }
        },
      },
      config,
      mirror ? { mirror } : {},
    );
    expect(killedAt, "the server died while the second candidate trained").toBe("mlp-1 epoch 1");
    expect(result.model.version, "the registration waits in the spool").toBe(PENDING);
    expect(tracking.journals.length, "the parent and the second child carried on in journals").toBe(2);
    tracking.close();

    await restartServer();
    const report = await syncSpool(client, { spoolDir, orphans: { experimentIds: [result.experimentId] } });
    console.info(
      "[outage] sync:",
      JSON.stringify(
        report.journals.map((j) => ({
          run: j.runName,
          outcome: j.outcome,
          sent: j.sent,
          present: j.present,
        })),
      ),
    );
    expect(report.journals.map((j) => j.outcome)).toEqual(["synced", "synced"]);
    expect(await readdir(spoolDir)).toEqual([]);

    const actual = await experimentShape(client, result.experimentId, config.registry.modelName);
    console.info("[outage] online reference:", JSON.stringify(shapeCounts(expected)));
    console.info("[outage] after outage+sync:", JSON.stringify(shapeCounts(actual)));
    expect(shapeCounts(actual).duplicates, "no point twice").toBe(0);
    expect(
      actual,
      "the same runs, params, tags, metric points, artifacts, inputs and version as online",
    ).toEqual(expected);
    expect(actual.versions).toEqual([{ aliases: ["challenger"], status: "READY", runIsParent: true }]);
    const parent = await client.runs.get(result.runId);
    const best = await client.runs.get(parent.data.tags["workbench.best_run_id"]!);
    expect(best.info.runName, "the best child's id points at the server run").toBe(result.best.id);
  });

  it("given a child whose body fails while the server is down, then FAILED and the error are spooled and arrive, never lost", async () => {
    const spoolDir = await freshSpool();
    const experimentName = uniqueName("outage-failed");
    const tracking = new TrackingSession({ client, spoolDir, logger: silentLogger() });
    let parentRun: Tracker | undefined;
    let childRun: Tracker | undefined;
    const error = await rejectionOf(
      tracking.withRun({ experimentName, runName: "parent" }, async (parent) => {
        parentRun = parent;
        await parent.child({ runName: "child" }, async (child) => {
          childRun = child;
          await child.logMetric("loss", 0.5, 0);
          killServer();
          await child.logMetric("loss", 0.25, 1);
          throw new TrackingError("TRAINING_DIVERGED", "loss became NaN at epoch 2");
        });
      }),
    );
    expect(error.code).toBe("TRAINING_DIVERGED");
    expect(childRun?.spooled && parentRun?.spooled, "both carried on in the spool").toBe(true);
    tracking.close();

    await restartServer();
    const before = await client.runs.get(childRun!.runId);
    expect(before.info.status, "left RUNNING until the spool is delivered").toBe("RUNNING");
    const report = await syncSpool(client, { spoolDir, orphans: false });
    console.info(
      "[outage-failed] sync:",
      JSON.stringify(report.journals.map((j) => [j.runName, j.outcome, j.endStatus])),
    );
    for (const run of [childRun!, parentRun!]) {
      const after = await client.runs.get(run.runId);
      expect(after.info.status, after.info.runName).toBe("FAILED");
      expect(after.data.tags[WORKBENCH_TAGS.error]).toBe("loss became NaN at epoch 2");
    }
    expect((await collect(client.runs.metricHistory(childRun!.runId, "loss"))).map((m) => m.value)).toEqual([
      0.5, 0.25,
    ]);
  });

  it("given a trainer that lost the server and was then SIGKILLed, then sync delivers its spooled part and the runs end KILLED", async () => {
    const spoolDir = await freshSpool();
    const experimentName = uniqueName("outage-kill");
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(projectRoot(), "tests/integration/tracking/fixtures/spool-writer.ts"),
        "outage",
        experimentName,
        "5",
        "3",
      ],
      {
        cwd: projectRoot(),
        env: { ...process.env, MLFLOW_TRACKING_URI: server.uri, WORKBENCH_SPOOL_DIR: spoolDir },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    const line = (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(out);
          if (match) resolve(match);
        };
        child.stdout.on("data", (chunk) => {
          out += chunk;
          check();
        });
        child.once("exit", (code) => reject(new Error(`writer exited (${code}): ${err}`)));
        check();
      });
    const [, , , , childRunId] = await line(/READY (\w+) (\w+) (\w+) (\w+)\n/);
    killServer();
    child.stdin.write("go\n");
    expect((await line(/SPOOLED (\w+)\n/))[1], "the last steps went to the journal").toBe("true");
    const exited = new Promise((resolve) => child.once("exit", (_c, signal) => resolve(signal)));
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    await restartServer();
    const experimentId = (await client.experiments.getByName(experimentName))!.experimentId;
    const report = await syncSpool(client, { spoolDir, orphans: { experimentIds: [experimentId] } });
    const history = await collect(client.runs.metricHistory(childRunId!, "loss"));
    console.info(
      `[outage-kill] loss points: ${history.length} (5 online + 3 spooled); journals: ${report.journals.map((j) => `${j.runName} ${j.outcome} sent ${j.sent.metrics} metrics`).join(", ")}; orphans: ${report.orphans.map((o) => o.runName).join(", ")}`,
    );
    expect(history.map((m) => m.step).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(report.journals.map((j) => [j.runName, j.outcome, j.sent.metrics])).toEqual([
      ["epochs", "synced", 3],
    ]);
    expect(
      report.orphans.map((o) => o.runName),
      "the parent, silent since the outage, is an orphan",
    ).toEqual(["trainer"]);
    const runs = await collect(client.runs.search({ experimentIds: [experimentId] }));
    expect(
      runs.map((r) => r.info.status),
      "never RUNNING",
    ).toEqual(["KILLED", "KILLED"]);
  });
});
