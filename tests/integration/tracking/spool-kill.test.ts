import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { projectRoot } from "../../../src/shared/project.js";
import { collect } from "../../../src/tracking/paginate.js";
import { syncSpool } from "../../../src/tracking/sync.js";
import { WORKBENCH_TAGS } from "../../../src/tracking/tracker.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
const dirs: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  client.close();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function spoolDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "spool-kill-"));
  dirs.push(dir);
  return dir;
}

/** Starts the fixture trainer; resolves with the words of its READY line. */
function startWriter(args: string[], spool: string) {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(projectRoot(), "tests/integration/tracking/fixtures/spool-writer.ts"),
      ...args,
    ],
    {
      cwd: projectRoot(),
      env: {
        ...process.env,
        MLFLOW_TRACKING_URI: inject("mlflowUri"),
        WORKBENCH_SPOOL_DIR: spool,
        WORKBENCH_HEARTBEAT_MS: "300",
      },
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  children.push(child);
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const ready = new Promise<string[]>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const line = /READY ([^\n]+)\n/.exec(out);
      if (line) resolve(line[1]!.split(" "));
    });
    child.once("exit", (code) => reject(new Error(`the writer exited early (${code}): ${stderr}`)));
  });
  const killed = () =>
    new Promise<NodeJS.Signals | null>((resolve) => {
      child.once("exit", (_code, signal) => resolve(signal));
      child.kill("SIGKILL");
    });
  return { ready, killed };
}

async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("SIGKILL of a trainer: no run is left RUNNING", () => {
  it("given runs on the server, when the trainer is SIGKILLed and sync runs, then parent and child end KILLED with a note", async () => {
    const experimentName = uniqueName("kill-online");
    const spool = await spoolDir();
    const writer = startWriter(["online", experimentName, "5"], spool);
    const [, , parentId, childId] = await writer.ready;
    const experimentId = (await client.experiments.getByName(experimentName))!.experimentId;
    const first = (await client.runs.get(parentId!)).data.tags;
    expect(first).toMatchObject({
      [WORKBENCH_TAGS.host]: os.hostname(),
      [WORKBENCH_TAGS.pid]: expect.stringMatching(/^\d+$/),
    });
    await waitFor(
      async () =>
        (await client.runs.get(parentId!)).data.tags[WORKBENCH_TAGS.heartbeat] !==
        first[WORKBENCH_TAGS.heartbeat],
      10_000,
      "the heartbeat tag to move",
    );

    const whileAlive = await syncSpool(client, {
      spoolDir: spool,
      orphans: { experimentIds: [experimentId] },
    });
    expect(whileAlive.orphans, "runs of a live process are never touched").toEqual([]);
    expect((await client.runs.get(parentId!)).info.status).toBe("RUNNING");

    expect(await writer.killed()).toBe("SIGKILL");
    const before = await collect(client.runs.search({ experimentIds: [experimentId] }));
    expect(
      before.map((r) => r.info.status),
      "SIGKILL leaves both RUNNING (defect 4)",
    ).toEqual(["RUNNING", "RUNNING"]);

    const report = await syncSpool(client, { spoolDir: spool, orphans: { experimentIds: [experimentId] } });
    const after = await collect(client.runs.search({ experimentIds: [experimentId] }));
    console.info("[kill-online] orphans marked KILLED:", report.orphans.length, "of", after.length, "runs");
    expect(report.orphans.map((o) => o.runId).sort()).toEqual([parentId, childId].sort());
    for (const run of after) {
      expect(run.info.status, run.info.runName).toBe("KILLED");
      expect(run.info.endTime).toBeGreaterThanOrEqual(run.info.startTime!);
      expect(run.data.tags[WORKBENCH_TAGS.endNote]).toMatch(
        /^KILLED by sync on .*: its process \(pid \d+ on .*\) is gone; last heartbeat /,
      );
    }
    expect((await collect(client.runs.metricHistory(childId!, "loss"))).length).toBe(5);
  });

  it("given an offline trainer, when it is SIGKILLed and sync runs, then exactly the spooled part is delivered and both runs end KILLED", async () => {
    const experimentName = uniqueName("kill-offline");
    const spool = await spoolDir();
    const writer = startWriter(["offline", experimentName, "7"], spool);
    const [parentClientId, childClientId] = await writer.ready;

    const whileAlive = await syncSpool(client, { spoolDir: spool, orphans: false });
    expect(
      whileAlive.journals.map((j) => j.outcome),
      "a journal being written is left alone",
    ).toEqual(["in-progress", "in-progress"]);
    expect(await client.experiments.getByName(experimentName), "nothing reached the server").toBeUndefined();

    expect(await writer.killed()).toBe("SIGKILL");
    const report = await syncSpool(client, { spoolDir: spool, orphans: false });
    const sent = report.journals.map((j) => ({ run: j.runName, outcome: j.outcome, ...j.sent }));
    console.info("[kill-offline] sync sent:", JSON.stringify(sent));
    expect(report.journals.map((j) => j.outcome)).toEqual(["synced", "synced"]);
    expect(report.journals.find((j) => j.clientRunId === childClientId)?.sent.metrics).toBe(7);
    expect(await readdir(spool), "journals, their files and the lock removed once confirmed").toEqual([]);

    const experimentId = (await client.experiments.getByName(experimentName))!.experimentId;
    const runs = await collect(client.runs.search({ experimentIds: [experimentId] }));
    const parent = runs.find((r) => r.data.tags[WORKBENCH_TAGS.clientRunId] === parentClientId)!;
    const child = runs.find((r) => r.data.tags[WORKBENCH_TAGS.clientRunId] === childClientId)!;
    expect(child.data.tags["mlflow.parentRunId"]).toBe(parent.info.runId);
    expect(parent.data.params).toEqual({ mode: "offline" });
    const history = await collect(client.runs.metricHistory(child.info.runId, "loss"));
    console.info(
      "[kill-offline] loss points on the server:",
      history.length,
      "(7 acknowledged before SIGKILL)",
    );
    expect(history.map((m) => m.step).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const run of [parent, child]) {
      expect(run.info.status).toBe("KILLED");
      expect(run.data.tags[WORKBENCH_TAGS.endNote]).toContain(
        "the journal holds no end status and its process",
      );
    }

    const again = await syncSpool(client, { spoolDir: spool, orphans: false });
    expect(again.journals, "nothing left to replay").toEqual([]);
    expect((await collect(client.runs.search({ experimentIds: [experimentId] }))).length).toBe(2);
  });

  it("given RUNNING runs of another host, then only one whose heartbeat is older than the timeout is marked KILLED", async () => {
    const experimentId = await client.experiments.getOrCreate(uniqueName("kill-remote"));
    const now = Date.now();
    const tags = (heartbeatAgo: number) => ({
      [WORKBENCH_TAGS.host]: "another-host",
      [WORKBENCH_TAGS.pid]: String(process.pid),
      [WORKBENCH_TAGS.heartbeat]: new Date(now - heartbeatAgo).toISOString(),
    });
    const startTime = now - 30 * 60_000;
    const fresh = await client.runs.create({ experimentId, runName: "fresh", startTime, tags: tags(60_000) });
    const stale = await client.runs.create({
      experimentId,
      runName: "stale",
      startTime,
      tags: tags(20 * 60_000),
    });
    const foreign = await client.runs.create({ experimentId, runName: "no-workbench-tags" });
    const report = await syncSpool(client, {
      spoolDir: await spoolDir(),
      orphans: { experimentIds: [experimentId], staleAfterMs: 15 * 60_000 },
    });
    console.info(
      "[kill-remote] orphans:",
      report.orphans.map((o) => `${o.runName}: ${o.note}`),
    );
    expect(report.orphans.map((o) => o.runName)).toEqual(["stale"]);
    expect((await client.runs.get(stale.info.runId)).info).toMatchObject({
      status: "KILLED",
      endTime: now - 20 * 60_000,
    });
    expect((await client.runs.get(fresh.info.runId)).info.status).toBe("RUNNING");
    expect(
      (await client.runs.get(foreign.info.runId)).info.status,
      "runs without liveness tags are not ours",
    ).toBe("RUNNING");
  });
});
