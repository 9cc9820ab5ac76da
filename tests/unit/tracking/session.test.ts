import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TrackingError } from "../../../src/shared/errors.js";
import { MlflowClient } from "../../../src/tracking/client.js";
import { isProcessAlive, processStartTime } from "../../../src/tracking/heartbeat.js";
import { readJournal } from "../../../src/tracking/journal.js";
import { freePort } from "../../../src/tracking/local-server.js";
import { TrackingSession } from "../../../src/tracking/session.js";
import { Spool } from "../../../src/tracking/spool.js";
import { PENDING, type Tracker } from "../../../src/tracking/tracker.js";
import { rejectionOf } from "../../helpers/expect-error.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function temp(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "session-"));
  dirs.push(dir);
  return dir;
}

/** A client of a port nothing listens on: every request fails at once with ECONNREFUSED. */
async function deadClient(): Promise<MlflowClient> {
  return new MlflowClient({
    trackingUri: `http://127.0.0.1:${await freePort()}`,
    env: {},
    retry: { maxRetries: 0, backoffFactor: 0, backoffJitter: 0 },
  });
}

describe("an offline TrackingSession (no server contacted)", () => {
  it("given a run with params, metrics, inputs, an artifact, a child and a model, then one fsynced journal per run records it all", async () => {
    const dir = await temp();
    const spoolDir = path.join(dir, "spool");
    const file = path.join(dir, "notes.txt");
    await writeFile(file, "hello");
    const model = path.join(dir, "model");
    await mkdir(path.join(model, "weights"), { recursive: true });
    await writeFile(path.join(model, "MLmodel"), "flavors: {}\n");
    await writeFile(path.join(model, "weights", "w.bin"), Buffer.alloc(10));
    const session = new TrackingSession({ client: await deadClient(), spoolDir, offline: true, target: "t" });
    let child: Tracker | undefined;
    const out = await session.withRun({ experimentName: "exp", runName: "parent" }, async (run) => {
      await run.logParams({ lr: 0.1, layers: 2 });
      await run.logMetrics([0, 1, 2].map((step) => ({ key: "loss", value: 1 / (step + 1), step })));
      await run.logInputs([
        {
          dataset: { name: "d", digest: "x", sourceType: "local", source: "{}" },
          tags: { "mlflow.data.context": "train" },
        },
      ]);
      expect(await run.logArtifact(file, "docs")).toBe("docs/notes.txt");
      await run.child({ runName: "kid" }, async (c) => {
        child = c;
        await c.logMetric("auc", 0.7, 1);
      });
      return {
        runId: run.runId,
        model: await run.logModel({ dir: model, modelName: "m", alias: "challenger", modelType: "mlp" }),
      };
    });
    expect(out.runId, "offline, the run id is the client id").toMatch(/^[0-9a-f]{32}$/);
    expect(out.model).toMatchObject({ modelId: PENDING, version: PENDING, spooled: true });
    const parent = await readJournal(path.join(spoolDir, `${out.runId}.jsonl`));
    expect(parent.header).toMatchObject({
      clientRunId: out.runId,
      target: "t",
      experimentName: "exp",
      reason: "offline",
      pid: process.pid,
    });
    expect(parent.header?.tags["workbench.client_run_id"]).toBe(out.runId);
    expect(parent.entries.map((e) => e.entry.op)).toEqual([
      "batch",
      "batch",
      "inputs",
      "artifacts",
      "model",
      "end",
    ]);
    expect(parent.entries.at(-1)?.entry).toMatchObject({ op: "end", status: "FINISHED" });
    const staged = await readdir(path.join(spoolDir, `${out.runId}.files`), { recursive: true });
    expect(staged.sort(), "the artifact and the model package are copied into the spool").toEqual(
      ["0000", "0000/notes.txt", "0001", "0001/MLmodel", "0001/weights", "0001/weights/w.bin"].sort(),
    );
    const kid = await readJournal(path.join(spoolDir, `${child!.clientRunId}.jsonl`));
    expect(kid.header, "the child names its parent by client id").toMatchObject({
      parentClientRunId: out.runId,
      experimentName: "exp",
      runName: "kid",
    });
    expect(session.journals.length).toBe(2);
  });

  it("given a body that throws, then the error and FAILED are journaled and the error re-thrown", async () => {
    const spoolDir = path.join(await temp(), "spool");
    const session = new TrackingSession({ client: await deadClient(), spoolDir, offline: true });
    let id = "";
    const error = await rejectionOf(
      session.withRun({ experimentName: "e" }, async (run) => {
        id = run.clientRunId;
        throw new TrackingError("BOOM", "bad data");
      }),
    );
    expect(error.code).toBe("BOOM");
    const journal = await readJournal(path.join(spoolDir, `${id}.jsonl`));
    expect(journal.entries.map((e) => e.entry)).toEqual([
      { op: "batch", metrics: [], params: {}, tags: { "workbench.error": "bad data" } },
      expect.objectContaining({ op: "end", status: "FAILED" }),
    ]);
  });

  it("given an invalid value, then it is refused with the client's error before anything is journaled", async () => {
    const spoolDir = path.join(await temp(), "spool");
    const session = new TrackingSession({ client: await deadClient(), spoolDir, offline: true });
    let id = "";
    await session.withRun({ experimentName: "e" }, async (run) => {
      id = run.clientRunId;
      const error = await rejectionOf(run.logMetric("loss", Number.NaN, 3), TrackingError);
      expect(error.code).toBe("INVALID_PARAMETER_VALUE");
      expect(error.message).toContain("Metric 'loss' at step 3 is NaN");
    });
    const journal = await readJournal(path.join(spoolDir, `${id}.jsonl`));
    expect(
      journal.entries.map((e) => e.entry.op),
      "only the end",
    ).toEqual(["end"]);
  });
});

describe("a TrackingSession whose server is unreachable", () => {
  it("given a spool, when the run cannot be created, then it starts in the journal and later runs skip the server", async () => {
    const spoolDir = path.join(await temp(), "spool");
    const session = new TrackingSession({ client: await deadClient(), spoolDir });
    const first = await session.withRun({ experimentName: "e", runName: "a" }, async (run) => {
      await run.logParam("p", 1);
      return run;
    });
    expect(first.spooled).toBe(true);
    expect(session.degraded, "the session remembers the server is gone").toBe(true);
    const journal = await readJournal(path.join(spoolDir, `${first.clientRunId}.jsonl`));
    expect(journal.header?.reason).toBe("unreachable");
    expect(journal.header?.note).toContain("Could not reach the MLflow tracking server");
    const started = Date.now();
    await session.withRun({ experimentName: "e", runName: "b" }, async (run) => run.logParam("p", 2));
    expect(Date.now() - started, "no retry wait for the second run").toBeLessThan(2_000);
    expect(session.journals.length).toBe(2);
  });

  it("given no spool, then the unreachable error reaches the caller as before", async () => {
    const session = new TrackingSession({ client: await deadClient() });
    const error = await rejectionOf(
      session.withRun({ experimentName: "e" }, async () => 1),
      TrackingError,
    );
    expect(error.code).toBe("TRACKING_UNREACHABLE");
  });

  it("given offline without a spool, then the session refuses to start", async () => {
    const client = await deadClient();
    expect(() => new TrackingSession({ client, offline: true })).toThrow(
      "An offline TrackingSession needs a spoolDir.",
    );
  });
});

describe("process liveness and the sync lock", () => {
  it("given this process, a finished one and a reused pid, then only this one is alive", () => {
    expect(isProcessAlive(process.pid, processStartTime(process.pid))).toBe(true);
    const gone = spawnSync(process.execPath, ["-e", ""]).pid!;
    expect(isProcessAlive(gone), "an exited process").toBe(false);
    expect(isProcessAlive(process.pid, "1"), "same pid, other start time: not the same process").toBe(false);
  });

  it("given a lock held by a live process, then a second sync is refused; a dead holder's lock is taken over", async () => {
    const spool = new Spool(path.join(await temp(), "spool"));
    const release = await spool.lock();
    const error = await rejectionOf(spool.lock(), TrackingError);
    expect(error.code).toBe("SPOOL_LOCKED");
    expect(error.message).toContain(`Another sync (pid ${process.pid}`);
    await release();
    const gone = spawnSync(process.execPath, ["-e", ""]).pid!;
    await writeFile(path.join(spool.dir, ".sync.lock"), JSON.stringify({ host: os.hostname(), pid: gone }));
    const again = await spool.lock();
    expect(JSON.parse(await readFile(path.join(spool.dir, ".sync.lock"), "utf8")).pid).toBe(process.pid);
    await again();
  });
});
