import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toWireBatch } from "../../../src/tracking/batch.js";
import { resolveConnection } from "../../../src/tracking/connection.js";
import { HttpTransport } from "../../../src/tracking/http.js";
import { RunsApi } from "../../../src/tracking/runs.js";

// MLflow 3 links a metric to a logged model and a dataset by three fields of its Metric message
// (mlflow/protos/service.proto: model_id, dataset_name, dataset_digest), in runs/log-metric and runs/log-batch.

const bodies: { path: string; body: Record<string, unknown> }[] = [];
let server: http.Server;
let runs: RunsApi;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      bodies.push({ path: req.url ?? "", body: JSON.parse(body || "{}") });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const connection = resolveConnection({ env: { MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}` } });
  runs = new RunsApi(new HttpTransport(connection), {
    nonFiniteMetrics: "reject",
    batchConcurrency: 1,
    now: () => 1_700_000_000_000,
  });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("metric wire form", () => {
  it("given a point with a model id and a dataset, then the wire metric carries model_id, dataset_name and dataset_digest", () => {
    const wire = toWireBatch(
      {
        metrics: [
          {
            key: "test_roc_auc",
            value: 0.8,
            modelId: "m-1",
            dataset: { name: "credit-test", digest: "1a2b3c4d" },
          },
          { key: "loss", value: 0.5, step: 3 },
        ],
      },
      42,
    );
    expect(wire.metrics).toEqual([
      {
        key: "test_roc_auc",
        value: 0.8,
        timestamp: 42,
        step: 0,
        model_id: "m-1",
        dataset_name: "credit-test",
        dataset_digest: "1a2b3c4d",
      },
      { key: "loss", value: 0.5, timestamp: 42, step: 3 },
    ]);
  });

  it("given logMetric with a model id and a dataset, then runs/log-metric sends them (and nothing extra without)", async () => {
    bodies.length = 0;
    await runs.logMetric("r1", "test_f1", 0.5, {
      modelId: "m-2",
      dataset: { name: "d", digest: "00ff00ff" },
      timestamp: 7,
    });
    await runs.logMetric("r1", "plain", 1);
    expect(bodies).toEqual([
      {
        path: "/api/2.0/mlflow/runs/log-metric",
        body: {
          run_id: "r1",
          key: "test_f1",
          value: 0.5,
          timestamp: 7,
          step: 0,
          model_id: "m-2",
          dataset_name: "d",
          dataset_digest: "00ff00ff",
        },
      },
      {
        path: "/api/2.0/mlflow/runs/log-metric",
        body: { run_id: "r1", key: "plain", value: 1, timestamp: 1_700_000_000_000, step: 0 },
      },
    ]);
  });

  it("given logBatch with model metrics, then runs/log-batch sends the fields per metric", async () => {
    bodies.length = 0;
    await runs.logBatch("r2", {
      metrics: [
        { key: "val_roc_auc", value: 0.7, modelId: "m-3", dataset: { name: "v", digest: "abcd0123" } },
      ],
    });
    expect(bodies).toEqual([
      {
        path: "/api/2.0/mlflow/runs/log-batch",
        body: {
          run_id: "r2",
          metrics: [
            {
              key: "val_roc_auc",
              value: 0.7,
              timestamp: 1_700_000_000_000,
              step: 0,
              model_id: "m-3",
              dataset_name: "v",
              dataset_digest: "abcd0123",
            },
          ],
          params: [],
          tags: [],
        },
      },
    ]);
  });
});
