import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { trainPipeline } from "../../../src/pipelines/train.js";
import { createApp } from "../../../src/serving/app.js";
import { ModelHolder } from "../../../src/serving/model-holder.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
const mirror = datasetMirror();
const model = uniqueName("serve-model");
const servers: FastifyInstance[] = [];

const ROW = {
  LIMIT_BAL: 20000,
  SEX: 2,
  EDUCATION: 2,
  MARRIAGE: 1,
  AGE: 24,
  PAY_0: 2,
  PAY_2: 2,
  PAY_3: -1,
  PAY_4: -1,
  PAY_5: -2,
  PAY_6: -2,
  BILL_AMT1: 3913,
  BILL_AMT2: 3102,
  BILL_AMT3: 689,
  BILL_AMT4: 0,
  BILL_AMT5: 0,
  BILL_AMT6: 0,
  PAY_AMT1: 0,
  PAY_AMT2: 689,
  PAY_AMT3: 0,
  PAY_AMT4: 0,
  PAY_AMT5: 0,
  PAY_AMT6: 0,
};
const ROW2 = { ...ROW, LIMIT_BAL: 500000, PAY_0: -1, PAY_2: -1, AGE: 45 };
const COLUMNS = Object.keys(ROW);

async function train(seed: number) {
  const config = await loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"), [
    "data.limit=2000",
    `seed=${seed}`,
    `experiment=${model}`,
    `registry.modelName=${model}`,
    "training.candidates=[{kind: logistic, params: {epochs: 3}}]",
  ]);
  return trainPipeline({ client, logger: silentLogger() }, config, mirror ? { mirror } : {});
}

async function serve(options: Parameters<typeof createApp>[1] = {}) {
  const holder = await ModelHolder.load(`models:/${model}@challenger`, client);
  const { app } = await createApp(holder, options);
  servers.push(app);
  const base = await app.listen({ host: "127.0.0.1", port: 0 });
  return { base, holder, app };
}

async function post(
  base: string,
  route: string,
  body: string,
  contentType = "application/json",
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${base}${route}`, {
    method: "POST",
    headers: { "content-type": contentType, ...headers },
    body,
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: response.status, json, headers: response.headers };
}

let base: string;
beforeAll(async () => {
  await train(1);
  base = (await serve({ maxBatchRows: 50, bodyLimit: 64 * 1024 })).base;
}, 180_000);
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  client.close();
});

describe("prediction service endpoints", () => {
  it("GET /ping, /health, /version, /model, /metrics, /docs", async () => {
    expect((await fetch(`${base}/ping`)).status).toBe(200);
    expect(await (await fetch(`${base}/health`)).json()).toEqual({
      status: "ok",
      model: { name: model, version: "1" },
    });
    expect(await (await fetch(`${base}/version`)).json()).toMatchObject({
      model: { name: model, version: "1", alias: "challenger" },
    });
    const meta = (await (await fetch(`${base}/model`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      name: model,
      version: "1",
      alias: "challenger",
      kind: "logistic",
      classes: ["0", "1"],
    });
    expect(meta.runId).toMatch(/^[0-9a-f]{32}$/);
    expect(Object.keys(meta.metrics as object)).toContain("test_roc_auc");
    expect((meta.signature as { inputs: unknown[] }).inputs.length).toBe(23);
    expect((meta.trainingData as { fingerprint: string }).fingerprint).toMatch(/^[0-9a-f]{64}$/);
    await post(base, "/invocations", JSON.stringify({ dataframe_records: [ROW] }));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(
      'workbench_http_requests_total{route="/invocations",method="POST",status="200"}',
    );
    expect(metrics).toMatch(
      /workbench_http_request_duration_seconds_bucket\{le="0.005",route="\/invocations",status="200"\}/,
    );
    expect(metrics).toMatch(/workbench_predictions_total\{class="[01]",version="1"\} \d/);
    expect(metrics).toContain(`workbench_model_info{name="${model}",version="1",alias="challenger"`);
    const docs = await fetch(`${base}/docs/`);
    expect(docs.status).toBe(200);
    const openapi = (await (await fetch(`${base}/docs/json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(["/invocations", "/predict", "/health", "/model", "/metrics"]),
    );
  });

  it("POST /invocations: the four JSON layouts and CSV give the same predictions", async () => {
    const bodies: [string, string][] = [
      [
        JSON.stringify({
          dataframe_split: { columns: COLUMNS, data: [Object.values(ROW), Object.values(ROW2)] },
        }),
        "application/json",
      ],
      [JSON.stringify({ dataframe_records: [ROW, ROW2] }), "application/json"],
      [JSON.stringify({ instances: [ROW, ROW2] }), "application/json"],
      [
        JSON.stringify({
          inputs: Object.fromEntries(
            COLUMNS.map((c) => [c, [ROW[c as keyof typeof ROW], ROW2[c as keyof typeof ROW2]]]),
          ),
        }),
        "application/json; charset=utf-8",
      ],
      [
        `${COLUMNS.join(",")}\n${Object.values(ROW).join(",")}\n${Object.values(ROW2).join(",")}\n`,
        "text/csv",
      ],
    ];
    const answers = [];
    for (const [body, type] of bodies) {
      const { status, json } = await post(base, "/invocations", body, type);
      expect(status, `${type}: ${JSON.stringify(json)}`).toBe(200);
      answers.push(json.predictions);
    }
    const first = answers[0] as { label: string; probability_0: number; probability_1: number }[];
    expect(first.length).toBe(2);
    expect(first[0]!.probability_0 + first[0]!.probability_1).toBeCloseTo(1, 6);
    for (const a of answers) expect(a).toEqual(first);
  });

  it("POST /predict: label, probabilities, threshold and the model version", async () => {
    const { status, json } = await post(base, "/predict", JSON.stringify({ records: [ROW] }));
    expect(status).toBe(200);
    expect(json).toMatchObject({
      model: { name: model, version: "1", alias: "challenger" },
      threshold: expect.any(Number),
    });
    const [p] = json.predictions as { label: string; probabilities: Record<string, number> }[];
    expect(p!.label).toBe(p!.probabilities["1"]! >= (json.threshold as number) ? "1" : "0");
  });
});

describe("every kind of bad input gets a precise 4xx, never a 500", () => {
  const { AGE: _age, ...missingAge } = ROW;
  it.each([
    [
      "missing column",
      JSON.stringify({ dataframe_records: [missingAge] }),
      422,
      { row: 0, field: "AGE", problem: "missing (required)" },
    ],
    [
      "extra column",
      JSON.stringify({ dataframe_records: [{ ...ROW, bonus: 1 }] }),
      422,
      { row: 0, field: "bonus", problem: "unknown column (not in the model's signature)" },
    ],
    [
      "wrong type",
      JSON.stringify({ dataframe_records: [ROW, { ...ROW, LIMIT_BAL: "lots" }] }),
      422,
      { row: 1, field: "LIMIT_BAL", problem: 'expected a number, got the string "lots"' },
    ],
    [
      "null where not allowed",
      JSON.stringify({ dataframe_records: [{ ...ROW, SEX: null }] }),
      422,
      { row: 0, field: "SEX", problem: "null where a value is required" },
    ],
    [
      "non-finite number",
      JSON.stringify({ dataframe_records: [{ ...ROW, BILL_AMT1: "Infinity" }] }),
      422,
      { row: 0, field: "BILL_AMT1", problem: "not a finite number" },
    ],
    [
      "not an integer",
      JSON.stringify({ dataframe_records: [{ ...ROW, AGE: 24.5 }] }),
      422,
      { row: 0, field: "AGE", problem: "expected an integer, got 24.5" },
    ],
  ])("%s → 422 naming the row and field", async (_name, body, status, problem) => {
    const response = await post(base, "/invocations", body);
    expect(response.status).toBe(status);
    expect(response.json.error_code).toBe("INVALID_INPUT");
    expect(response.json.errors).toContainEqual(problem);
  });

  it.each([
    [
      "empty batch",
      JSON.stringify({ dataframe_records: [] }),
      "application/json",
      400,
      "BAD_REQUEST",
      "The batch is empty",
    ],
    [
      "batch over the maximum",
      JSON.stringify({ dataframe_records: Array.from({ length: 51 }, () => ROW) }),
      "application/json",
      413,
      "BATCH_TOO_LARGE",
      "51 rows; the limit is 50",
    ],
    [
      "body over the size limit",
      JSON.stringify({ dataframe_records: Array.from({ length: 400 }, () => ROW) }),
      "application/json",
      413,
      "PAYLOAD_TOO_LARGE",
      "exceeds the limit of 65536 bytes",
    ],
    [
      "unsupported content type",
      "LIMIT_BAL=1",
      "text/plain",
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      "use application/json or text/csv",
    ],
    ["malformed JSON", "{not json", "application/json", 400, "BAD_REQUEST", "JSON"],
    [
      "no input field",
      JSON.stringify({ rows: [ROW] }),
      "application/json",
      400,
      "BAD_REQUEST",
      "exactly one of the input fields",
    ],
    [
      "two input fields",
      JSON.stringify({ instances: [ROW], inputs: [ROW] }),
      "application/json",
      400,
      "BAD_REQUEST",
      "received fields: instances, inputs",
    ],
    [
      "ragged dataframe_split",
      JSON.stringify({ dataframe_split: { columns: COLUMNS, data: [[1, 2]] } }),
      "application/json",
      400,
      "BAD_REQUEST",
      "must be a list of 23 values",
    ],
  ])("%s → a 4xx with its error code", async (_name, body, type, status, code, message) => {
    const response = await post(base, "/invocations", body, type);
    expect(response.status, JSON.stringify(response.json)).toBe(status);
    expect(response.json.error_code).toBe(code);
    expect(String(response.json.message)).toContain(message);
  });

  it("/predict without records → 400", async () => {
    const response = await post(base, "/predict", JSON.stringify({ rows: [ROW] }));
    expect(response).toMatchObject({ status: 400, json: { error_code: "BAD_REQUEST" } });
  });
});

describe("bearer-token auth", () => {
  it("when a token is set, prediction and admin routes need it; health and metrics stay open", async () => {
    const { base: secured } = await serve({ authToken: "s3cret" });
    const body = JSON.stringify({ dataframe_records: [ROW] });
    const none = await post(secured, "/invocations", body);
    expect(none.status).toBe(401);
    expect(none.json.error_code).toBe("UNAUTHENTICATED");
    expect(none.headers.get("www-authenticate")).toBe("Bearer");
    expect(
      (
        await post(secured, "/predict", JSON.stringify({ records: [ROW] }), "application/json", {
          authorization: "Bearer wrong",
        })
      ).status,
    ).toBe(401);
    expect(
      (await post(secured, "/invocations", body, "application/json", { authorization: "Bearer s3cret" }))
        .status,
    ).toBe(200);
    expect(
      (await post(secured, "/admin/reload", "{}", "application/json", { authorization: "Bearer s3cret" }))
        .status,
    ).toBe(200);
    expect((await fetch(`${secured}/health`)).status).toBe(200);
    expect((await fetch(`${secured}/metrics`)).status).toBe(200);
  });

  it("without a token, prediction routes are open and admin routes are refused", async () => {
    const response = await post(base, "/admin/reload", "{}");
    expect(response.status).toBe(403);
    expect(response.json.error_code).toBe("ADMIN_DISABLED");
  });
});

describe("champion hot swap", () => {
  it("moving the alias under load switches versions with zero failed requests", async () => {
    const { base: live, holder } = await serve({ authToken: "t" });
    const auth = { authorization: "Bearer t" };
    const body = JSON.stringify({ records: [ROW, ROW2] });
    const seen = new Set<string>();
    let failures = 0;
    let total = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const r = await post(live, "/predict", body, "application/json", auth);
        total++;
        if (r.status !== 200) failures++;
        else seen.add(String((r.json.model as { version: string }).version));
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, worker));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await train(2); // version 2, now @challenger
    const reload = await post(live, "/admin/reload", "{}", "application/json", auth);
    expect(reload.json).toMatchObject({ swapped: true, model: { version: "2" } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop = true;
    await load;
    expect(failures, `${failures} of ${total} requests failed`).toBe(0);
    expect(total).toBeGreaterThan(20);
    expect([...seen].sort()).toEqual(["1", "2"]);
    expect(holder.current.origin.version).toBe("2");
    const again = await post(live, "/admin/reload", "{}", "application/json", auth);
    expect(again.json.swapped, "nothing to do when the alias did not move").toBe(false);
  });

  it("polling picks up a moved alias by itself", async () => {
    const { holder } = await serve();
    holder.startPolling(100);
    const before = holder.current.origin.version;
    await train(3);
    const deadline = Date.now() + 20_000;
    while (holder.current.origin.version === before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    holder.stopPolling();
    expect(Number(holder.current.origin.version)).toBeGreaterThan(Number(before));
  });
});

describe("graceful shutdown", () => {
  it("close() lets a request in flight finish, then refuses new connections", async () => {
    const holder = await ModelHolder.load(`models:/${model}@challenger`, client);
    const { app } = await createApp(holder);
    // A route that holds its request open, so the request is surely in flight when close() starts.
    app.get("/test-slow", async () => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      return { done: true };
    });
    const address = await app.listen({ host: "127.0.0.1", port: 0 });
    const inflight = fetch(`${address}/test-slow`).then(async (r) => ({
      status: r.status,
      body: await r.json(),
      // Without it the client keeps the socket and close() waits for its keep-alive timeout (72 s).
      connection: r.headers.get("connection"),
    }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = app.close();
    expect(await inflight).toEqual({ status: 200, body: { done: true }, connection: "close" });
    await closed;
    await expect(fetch(`${address}/health`)).rejects.toThrow();
  });
});
