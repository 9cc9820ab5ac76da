import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect } from "../../../src/tracking/paginate.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
let experimentId: string;

beforeAll(async () => {
  experimentId = await client.experiments.create(uniqueName("runs"));
});
afterAll(() => client.close());

describe("runs against a real MLflow server", () => {
  it("creates, gets, renames, ends, deletes and restores a run", async () => {
    const run = await client.runs.create({
      experimentId,
      runName: "first",
      tags: { kind: "unit" },
      startTime: 1_000,
    });
    expect(run.info).toMatchObject({ experimentId, runName: "first", status: "RUNNING", startTime: 1_000 });
    expect(run.data.tags.kind).toBe("unit");
    const renamed = await client.runs.update(run.info.runId, { runName: "renamed" });
    expect(renamed.runName).toBe("renamed");
    const ended = await client.runs.end(run.info.runId, "FINISHED", 2_000);
    expect(ended).toMatchObject({ status: "FINISHED", endTime: 2_000 });
    await client.runs.delete(run.info.runId);
    expect((await client.runs.get(run.info.runId)).info.lifecycleStage).toBe("deleted");
    await client.runs.restore(run.info.runId);
    expect((await client.runs.get(run.info.runId)).info.lifecycleStage).toBe("active");
  });

  it("logs params, metrics and tags one by one, and deletes a tag", async () => {
    const { info } = await client.runs.create({ experimentId });
    await client.runs.logParam(info.runId, "lr", 0.01);
    await client.runs.logMetric(info.runId, "loss", 0.5, { step: 3, timestamp: 42 });
    await client.runs.setTag(info.runId, "a", "1");
    await client.runs.setTag(info.runId, "b", "2");
    await client.runs.deleteTag(info.runId, "a");
    const run = await client.runs.get(info.runId);
    expect(run.data.params).toEqual({ lr: "0.01" });
    expect(run.data.metrics).toEqual([
      expect.objectContaining({ key: "loss", value: 0.5, step: 3, timestamp: 42 }),
    ]);
    expect(run.data.tags.b).toBe("2");
    expect(run.data.tags.a, "deleted tag").toBeUndefined();
  });

  it("log-batch beyond every server limit is chunked and nothing is lost", async () => {
    const { info } = await client.runs.create({ experimentId });
    const metrics = Array.from({ length: 2_500 }, (_, i) => ({
      key: `m${i % 5}`,
      value: i / 7,
      step: Math.floor(i / 5),
      timestamp: 1_000 + i,
    }));
    const params = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, `v${i}`]));
    const tags = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`t${i}`, `x${i}`]));
    const { requests } = await client.runs.logBatch(info.runId, { metrics, params, tags });
    expect(requests, "2,500 metrics + 150 params + 120 tags need several requests").toBeGreaterThanOrEqual(4);
    const run = await client.runs.get(info.runId);
    expect(Object.keys(run.data.params).length).toBe(150);
    expect(Object.keys(run.data.tags).filter((k) => k.startsWith("t")).length).toBe(120);
    const history = await collect(client.runs.metricHistory(info.runId, "m3", 100));
    expect(history.length, "500 points of m3 across 5 pages of 100").toBe(500);
    expect(history.map((m) => m.step).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 500 }, (_, i) => i),
    );
    expect(history.find((m) => m.step === 10)?.value).toBeCloseTo((10 * 5 + 3) / 7, 12);
  });

  it("searches runs with a filter, order and pagination", async () => {
    const exp = await client.experiments.create(uniqueName("search"));
    for (let i = 0; i < 5; i++) {
      const { info } = await client.runs.create({ experimentId: exp, runName: `r${i}` });
      await client.runs.logBatch(info.runId, {
        metrics: [{ key: "auc", value: 0.5 + i / 10 }],
        params: { model: i % 2 ? "mlp" : "logreg" },
      });
    }
    const best = await collect(
      client.runs.search({
        experimentIds: [exp],
        filter: "params.model = 'logreg'",
        orderBy: ["metrics.auc DESC"],
        pageSize: 1,
      }),
    );
    expect(best.map((r) => r.info.runName)).toEqual(["r4", "r2", "r0"]);
    const page = await client.runs.searchPage({ experimentIds: [exp], pageSize: 2 });
    expect(page.items.length).toBe(2);
    expect(page.nextPageToken).toBeTypeOf("string");
  });

  it("logs dataset inputs with schema, profile and context, and reads them back", async () => {
    const { info } = await client.runs.create({ experimentId });
    const schema = JSON.stringify({ mlflow_colspec: [{ type: "double", name: "LIMIT_BAL" }] });
    await client.runs.logInputs(info.runId, [
      {
        dataset: {
          name: "credit-train",
          digest: "abc123",
          sourceType: "local",
          source: '{"uri":"data/x.csv"}',
          schema,
          profile: '{"num_rows": 10}',
        },
        tags: { "mlflow.data.context": "train" },
      },
    ]);
    const run = await client.runs.get(info.runId);
    expect(run.inputs.datasetInputs).toEqual([
      {
        dataset: {
          name: "credit-train",
          digest: "abc123",
          sourceType: "local",
          source: '{"uri":"data/x.csv"}',
          schema,
          profile: '{"num_rows": 10}',
        },
        tags: { "mlflow.data.context": "train" },
      },
    ]);
  });

  it("links child runs to their parent", async () => {
    const parent = await client.runs.create({ experimentId, runName: "parent" });
    const child = await client.runs.create({
      experimentId,
      runName: "child",
      tags: { "mlflow.parentRunId": parent.info.runId },
    });
    const children = await collect(
      client.runs.search({
        experimentIds: [experimentId],
        filter: `tags.mlflow.parentRunId = '${parent.info.runId}'`,
      }),
    );
    expect(children.map((r) => r.info.runId)).toEqual([child.info.runId]);
  });
});

describe("bad values surface as typed errors, never a crash or a silent drop", () => {
  it("given a param re-logged with a different value, then the server's INVALID_PARAMETER_VALUE surfaces", async () => {
    const { info } = await client.runs.create({ experimentId });
    await client.runs.logParam(info.runId, "lr", "0.1");
    await expect(client.runs.logParam(info.runId, "lr", "0.2")).rejects.toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
      status: 400,
      message: expect.stringContaining("Changing param values is not allowed"),
    });
    await expect(client.runs.logBatch(info.runId, { params: { lr: "0.3" } })).rejects.toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
      status: 400,
    });
    expect((await client.runs.get(info.runId)).data.params.lr, "the first value stays").toBe("0.1");
  });

  it("given a NaN metric, then it is refused before sending; with nonFiniteMetrics 'record' it is stored as NaN", async () => {
    const { info } = await client.runs.create({ experimentId });
    await expect(client.runs.logMetric(info.runId, "loss", Number.NaN, { step: 2 })).rejects.toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
      message: expect.stringContaining("'loss' at step 2 is NaN"),
    });
    await expect(
      client.runs.logBatch(info.runId, {
        metrics: [
          { key: "ok", value: 1 },
          { key: "bad", value: Number.POSITIVE_INFINITY },
        ],
      }),
    ).rejects.toMatchObject({ code: "INVALID_PARAMETER_VALUE" });
    expect((await client.runs.get(info.runId)).data.metrics, "a rejected batch logs nothing").toEqual([]);

    const recording = testClient({ nonFiniteMetrics: "record" });
    await recording.runs.logMetric(info.runId, "loss", Number.NaN, { step: 2 });
    const history = await collect(recording.runs.metricHistory(info.runId, "loss"));
    expect(Number.isNaN(history[0]?.value)).toBe(true);
    recording.close();
  });

  it("given an over-long param value, then the client refuses it and the server (truncation off) refuses it too", async () => {
    const { info } = await client.runs.create({ experimentId });
    const long = "x".repeat(6001);
    await expect(client.runs.logParam(info.runId, "blob", long)).rejects.toMatchObject({
      code: "INVALID_PARAMETER_VALUE",
      message: expect.stringContaining("6001 characters; MLflow allows 6000"),
    });
    // Bypass the client-side check to prove the local server rejects rather than truncates.
    const { z } = await import("zod");
    await expect(
      client.http.json({
        method: "POST",
        path: "/api/2.0/mlflow/runs/log-parameter",
        body: { run_id: info.runId, key: "blob", value: long },
        schema: z.unknown(),
      }),
    ).rejects.toMatchObject({ code: "INVALID_PARAMETER_VALUE", status: 400 });
    expect((await client.runs.get(info.runId)).data.params.blob).toBeUndefined();
  });

  it("given an unknown run id, then RESOURCE_DOES_NOT_EXIST surfaces", async () => {
    await expect(client.runs.get("0".repeat(32))).rejects.toMatchObject({
      code: "RESOURCE_DOES_NOT_EXIST",
      status: 404,
    });
  });
});
