import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { trainPipeline } from "../../../src/pipelines/train.js";
import { createApp } from "../../../src/serving/app.js";
import { ModelHolder } from "../../../src/serving/model-holder.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { CREDIT_ROW } from "../../helpers/credit-row.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
const mirror = datasetMirror();
const model = uniqueName("serve-model");
const servers: FastifyInstance[] = [];

const ROW = CREDIT_ROW;
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
let strictBase: string; // --strict: what MLflow's scoring server adjusts is refused
beforeAll(async () => {
  await train(1);
  base = (await serve({ maxBatchRows: 50, bodyLimit: 64 * 1024 })).base;
  strictBase = (await serve({ maxBatchRows: 50, bodyLimit: 64 * 1024, strict: true })).base;
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
      { row: 0, field: "AGE", problem: "missing (required)" },
    ],
    [
      "wrong type",
      JSON.stringify({ dataframe_records: [ROW, { ...ROW, LIMIT_BAL: "lots" }] }),
      { row: 1, field: "LIMIT_BAL", problem: 'not a number: the string "lots"' },
    ],
    [
      "null in a required long (SEX, a long-coded category)",
      JSON.stringify({ dataframe_records: [{ ...ROW, SEX: null }] }),
      { row: 0, field: "SEX", problem: "null where a value is required" },
    ],
    [
      "non-finite number",
      JSON.stringify({ dataframe_records: [{ ...ROW, BILL_AMT1: "Infinity" }] }),
      { row: 0, field: "BILL_AMT1", problem: "not a finite number" },
    ],
    [
      "decimal text for a long",
      JSON.stringify({ dataframe_records: [{ ...ROW, AGE: "24.0" }] }),
      {
        row: 0,
        field: "AGE",
        problem: 'not an integer: the string "24.0" (a long column takes integer text only)',
      },
    ],
  ])("%s → 422 naming the row and field", async (_name, body, problem) => {
    const response = await post(base, "/invocations", body);
    expect(response.status).toBe(422);
    expect(response.json.error_code).toBe("INVALID_INPUT");
    expect(response.json.errors).toContainEqual(problem);
  });

  it.each([
    [
      "extra column",
      { ...ROW, bonus: 1 },
      "extra columns ignored: bonus",
      { row: 0, field: "bonus", problem: "unknown column (not in the model's signature)" },
    ],
    [
      "not an integer",
      { ...ROW, AGE: 24.5 },
      "AGE: 1 value not an integer for a long column, scored as sent (24.5)",
      { row: 0, field: "AGE", problem: "expected an integer, got 24.5" },
    ],
    [
      "an integer string",
      { ...ROW, AGE: "24" },
      'AGE: 1 value converted (the string "24" -> 24)',
      { row: 0, field: "AGE", problem: 'expected a number, got the string "24"' },
    ],
    [
      "null in a required double",
      { ...ROW, LIMIT_BAL: null },
      "LIMIT_BAL: 1 value missing in a required column, scored as missing (null)",
      { row: 0, field: "LIMIT_BAL", problem: "null where a value is required" },
    ],
  ])(
    "%s: 200 with an x-schema-warnings header, as MLflow answers; --strict → 422 naming the field",
    async (_name, row, warning, problem) => {
      const body = JSON.stringify({ dataframe_records: [row] });
      const lenient = await post(base, "/invocations", body);
      expect(lenient.status, JSON.stringify(lenient.json)).toBe(200);
      expect(lenient.json.predictions).toHaveLength(1);
      expect(lenient.headers.get("x-schema-warnings")).toBe(warning);
      const strict = await post(strictBase, "/invocations", body);
      expect(strict.status).toBe(422);
      expect(strict.json.error_code).toBe("INVALID_INPUT");
      expect(strict.json.errors).toEqual([problem]);
      expect(strict.headers.get("x-schema-warnings")).toBeNull();
    },
  );

  it("the adjustments are counted on /metrics by kind; /model says which enforcement is on", async () => {
    await post(base, "/invocations", JSON.stringify({ dataframe_records: [{ ...ROW, ID: 1 }] }));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/workbench_schema_warnings_total\{kind="extra_column"\} [1-9]/);
    expect(metrics).toMatch(/workbench_schema_warnings_total\{kind="converted"\} [1-9]/);
    expect(await (await fetch(`${base}/model`)).json()).toMatchObject({ schemaEnforcement: "mlflow" });
    expect(await (await fetch(`${strictBase}/model`)).json()).toMatchObject({ schemaEnforcement: "strict" });
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
      "more than 50 rows; the limit is 50",
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

describe("hostile input (regressions of the reliability probe)", () => {
  let roomy: string; // the defaults of `npm run serve`: 10 MB bodies, 10,000 rows per batch
  let roomyStrict: string;
  beforeAll(async () => {
    roomy = (await serve()).base;
    roomyStrict = (await serve({ strict: true })).base;
  });
  const csv = (rows: Record<string, unknown>[], columns = COLUMNS) =>
    `${columns.join(",")}\n${rows.map((r) => columns.map((c) => String(r[c])).join(",")).join("\n")}\n`;

  it.each([
    ["0x31", "0x31"],
    ["0b1", "0b1"],
    ["0o7", "0o7"],
    ["a digit separator", "20_000"],
  ])("a CSV number written %s → 422 naming the row and field, no predictions", async (_name, raw) => {
    const body = csv([ROW, { ...ROW, LIMIT_BAL: raw }]);
    const response = await post(base, "/invocations", body, "text/csv");
    expect(response.status, JSON.stringify(response.json)).toBe(422);
    expect(response.json.predictions).toBeUndefined();
    expect(response.json.error_code).toBe("INVALID_INPUT");
    expect(response.json.errors).toEqual([
      {
        row: 1,
        field: "LIMIT_BAL",
        problem: `not a number: the string "${raw}"`,
      },
    ]);
  });

  it("a CSV body naming a column twice (the last one would win) → 400 naming the column", async () => {
    const columns = [...COLUMNS, "AGE"];
    const body = `${columns.join(",")}\n${columns.map((c) => (c === "AGE" ? "24" : String(ROW[c as keyof typeof ROW]))).join(",")}\n`;
    const response = await post(base, "/invocations", body, "text/csv");
    expect(response.status, JSON.stringify(response.json)).toBe(400);
    expect(response.json).toEqual({
      error_code: "BAD_REQUEST",
      message: "The CSV header names the column 'AGE' twice (fields 5 and 24): name each column once.",
    });
  });

  it("dataframe_split naming a column twice → 400 naming the column", async () => {
    const body = JSON.stringify({
      dataframe_split: { columns: [...COLUMNS, "AGE"], data: [[...Object.values(ROW), 99]] },
    });
    const response = await post(base, "/invocations", body);
    expect(response.status, JSON.stringify(response.json)).toBe(400);
    expect(response.json.message).toBe(
      "'dataframe_split.columns' names the column 'AGE' twice (columns[4] and columns[23]): name each column once.",
    );
  });

  it("numbers written as strings in JSON are read as Python's int() reads them: '0x18' is refused", async () => {
    const response = await post(
      base,
      "/invocations",
      JSON.stringify({ dataframe_records: [{ ...ROW, AGE: "0x18" }] }),
    );
    expect(response.status).toBe(422);
    expect(response.json.errors).toEqual([
      {
        row: 0,
        field: "AGE",
        problem: 'not an integer: the string "0x18" (a long column takes integer text only)',
      },
    ]);
  });

  it.each([
    ['{"__proto__": {"x": 1}, "dataframe_records": []}', "'__proto__' (at the top level)"],
    ['{"dataframe_records": [{"__proto__": {"polluted": true}}]}', "'__proto__' (at dataframe_records[0])"],
    [
      '{"inputs": {"constructor": {"prototype": {"x": 1}}}}',
      "'constructor.prototype' (at inputs.constructor)",
    ],
  ])("%s → 400 naming the forbidden key, not 'not valid JSON'", async (body, where) => {
    const response = await post(base, "/invocations", body);
    expect(response.status, JSON.stringify(response.json)).toBe(400);
    expect(response.json.error_code).toBe("BAD_REQUEST");
    expect(response.json.message).toBe(
      `The body contains the key ${where}, which could change an object's prototype: remove it (no model has such a column).`,
    );
  });

  it("a 1 MB unknown column name is echoed back truncated, in every error and warning that names it", async () => {
    const name = "x".repeat(1024 * 1024);
    const clipped = `${"x".repeat(64)}…(1048576 chars)`;
    const unknown = { row: 0, field: clipped, problem: "unknown column (not in the model's signature)" };
    const ignored = await post(
      roomy,
      "/invocations",
      JSON.stringify({ dataframe_records: [{ ...ROW, [name]: 1 }] }),
    );
    expect(ignored.status).toBe(200);
    expect(ignored.headers.get("x-schema-warnings")).toBe(
      `extra columns ignored: ${"x".repeat(64)}\\u2026(1048576 chars)`,
    );
    const answers = {
      record: await post(
        roomyStrict,
        "/invocations",
        JSON.stringify({ dataframe_records: [{ ...ROW, [name]: 1 }] }),
      ),
      fields: await post(roomy, "/invocations", JSON.stringify({ [name]: [ROW] })),
      header: await post(
        roomyStrict,
        "/invocations",
        `${[...COLUMNS, name].join(",")}\n${[...Object.values(ROW), 1].join(",")}\n`,
        "text/csv",
      ),
      split: await post(
        roomy,
        "/invocations",
        JSON.stringify({ dataframe_split: { columns: [name, name], data: [[1, 2]] } }),
      ),
    };
    // Sizes first, so that a failure does not print a megabyte.
    for (const [kind, answer] of Object.entries(answers))
      expect(JSON.stringify(answer.json).length, `${kind}: the answer stays small`).toBeLessThan(1000);
    expect(answers.record).toMatchObject({ status: 422, json: { errors: [unknown] } });
    expect(answers.header).toMatchObject({ status: 422, json: { errors: [unknown] } });
    expect(answers.fields.status).toBe(400);
    expect(String(answers.fields.json.message)).toContain(`received fields: ${clipped}.`);
    expect(answers.split.status).toBe(400);
    expect(String(answers.split.json.message)).toContain(`'${clipped}' twice`);
  });

  it.each([
    ["GET", "/nope"],
    ["POST", "/invocation"],
    ["GET", "/invocations"],
    ["DELETE", `/${"y".repeat(5000)}`],
  ])("%s %s → 404 in the service's JSON error format", async (method, route) => {
    const response = await fetch(`${base}${route}`, { method });
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const json = (await response.json()) as Record<string, unknown>;
    expect(json.error_code).toBe("ENDPOINT_NOT_FOUND");
    expect(String(json.message)).toContain(`No route ${method} `);
    expect(String(json.message).length).toBeLessThan(300);
  });

  it("error answers are counted by route and code; memory and event-loop delay are on /metrics", async () => {
    await post(roomy, "/invocations", JSON.stringify({ dataframe_records: [{ ...ROW, AGE: "x" }] }));
    await post(roomy, "/invocations", "{not json");
    const metrics = await (await fetch(`${roomy}/metrics`)).text();
    expect(metrics).toMatch(
      /workbench_http_errors_total\{route="\/invocations",error_code="INVALID_INPUT"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /workbench_http_errors_total\{route="\/invocations",error_code="BAD_REQUEST"\} [1-9]/,
    );
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(metrics).toMatch(/^workbench_event_loop_delay_max_seconds [\d.e-]+$/m);
  });
});

describe("large bodies do not stall the service", () => {
  it("millions of tiny rows just under the body limit: 413 with the max-batch message, /ping answered meanwhile", async () => {
    const { base: live } = await serve(); // the defaults: 10 MB bodies, 10,000 rows per batch
    const rows = 3_300_000; // 3 bytes a row: just under 10 MB
    const records = Buffer.from(`{"dataframe_records":[${"{},".repeat(rows - 1)}{}]}`);
    const split = Buffer.from(`{"dataframe_split":{"columns":[],"data":[${"[],".repeat(rows - 1)}[]]}}`);
    expect(records.length).toBeLessThan(10 * 1024 * 1024);
    // Each body is sent in 10 parts 100 ms apart, so that all four are surely in flight together and the
    // pings run throughout (sent at once, they would be read by the server in a few milliseconds).
    const paced = (body: Buffer) =>
      new ReadableStream<Uint8Array>({
        async start(controller) {
          const part = Math.ceil(body.length / 10);
          for (let offset = 0; offset < body.length; offset += part) {
            controller.enqueue(body.subarray(offset, offset + part));
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          controller.close();
        },
      });
    const started = performance.now();
    const big = [records, split, records, split].map(async (body) => {
      const response = await fetch(`${live}/invocations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: paced(body),
        duplex: "half",
      } as RequestInit);
      const json = (await response.json()) as Record<string, unknown>;
      return { status: response.status, json, ms: performance.now() - started };
    });
    let inFlight = true;
    const all = Promise.all(big).finally(() => {
      inFlight = false;
    });
    const pings: number[] = [];
    while (inFlight) {
      const t = performance.now();
      expect((await fetch(`${live}/ping`)).status).toBe(200);
      pings.push(performance.now() - t);
    }
    const answers = await all;
    for (const answer of answers)
      expect(answer).toMatchObject({
        status: 413,
        json: {
          error_code: "BATCH_TOO_LARGE",
          message: "The batch has more than 10000 rows; the limit is 10000: send it in smaller batches.",
        },
      });
    // Before the fix each body blocked the event loop for seconds once it had arrived (JSON.parse, then
    // millions of rows built), so some ping waited about as long as a whole big request took.
    const slowestPing = Math.max(...pings);
    const fastestBig = Math.min(...answers.map((a) => a.ms));
    expect(
      slowestPing,
      `the slowest of ${pings.length} pings took ${slowestPing.toFixed(0)} ms; the first big body was answered after ${fastestBig.toFixed(0)} ms`,
    ).toBeLessThan(fastestBig / 4);
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
