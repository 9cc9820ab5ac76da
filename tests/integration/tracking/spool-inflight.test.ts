import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { MlflowClient } from "../../../src/tracking/client.js";
import { collect } from "../../../src/tracking/paginate.js";
import { TrackingSession } from "../../../src/tracking/session.js";
import { syncSpool } from "../../../src/tracking/sync.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

// A proxy in front of the test server that, once `dropping`, lets every request reach the server and then cuts
// the connection before the answer: the server applied the call, the client never learns it did.
let dropping = false;
let proxy: http.Server;
let proxyUri = "";
const client = testClient();
let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "spool-inflight-"));
  const upstream = new URL(inject("mlflowUri"));
  proxy = http.createServer((req, res) => {
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        if (dropping) {
          answer.resume();
          answer.on("end", () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUri = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  client.close();
  await new Promise((resolve) => proxy.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe("a call the server applied but whose answer was lost", () => {
  it("given the batch journaled after the connection died, when synced, then nothing it holds is sent again", async () => {
    const spoolDir = path.join(dir, "spool");
    const viaProxy = new MlflowClient({
      trackingUri: proxyUri,
      env: {},
      retry: { maxRetries: 1, backoffFactor: 0.05, backoffJitter: 0 },
    });
    const tracking = new TrackingSession({ client: viaProxy, spoolDir, target: client.trackingUri });
    const experimentName = uniqueName("inflight");
    const points = (from: number) =>
      Array.from({ length: 5 }, (_, i) => ({ key: "loss", value: 1 / (from + i + 1), step: from + i }));
    const runId = await tracking.withRun({ experimentName, runName: "inflight" }, async (run) => {
      await run.logParams({ lr: 0.1 });
      await run.logMetrics(points(0));
      dropping = true;
      await run.logBatch({ metrics: points(5), params: { late: "x" }, tags: { phase: "after" } });
      expect(run.spooled, "the batch went to the journal").toBe(true);
      return run.runId;
    });
    dropping = false;
    tracking.close();
    viaProxy.close();

    const before = await client.runs.get(runId);
    expect(before.data.params.late, "the server applied the call whose answer was lost").toBe("x");
    expect(before.info.status).toBe("RUNNING");

    const report = await syncSpool(client, { spoolDir, orphans: false });
    const [journal] = report.journals;
    console.info(
      "[inflight] sent:",
      JSON.stringify(journal?.sent),
      "already there:",
      JSON.stringify(journal?.present),
    );
    expect(journal).toMatchObject({
      outcome: "synced",
      sent: { metrics: 0, params: 0, end: 1 },
      present: { metrics: 5, params: 1 },
    });
    const history = await collect(client.runs.metricHistory(runId, "loss"));
    expect(history.map((m) => m.step).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const after = await client.runs.get(runId);
    expect(after.info.status).toBe("FINISHED");
    expect(after.data.tags.phase).toBe("after");
  });
});
