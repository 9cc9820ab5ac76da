// The model's own input example (input_example.json, MLflow's dataframe "split" layout) must be scored by its
// own service, in the default MLflow-compatible mode and in --strict mode alike, with no schema warnings: it
// is what MLflow's UI and `mlflow models predict` hand to users as the request to copy.
import { readFile } from "node:fs/promises";
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
const servers: FastifyInstance[] = [];

interface Served {
  holder: ModelHolder;
  lenient: string;
  strict: string;
}
const served: Record<string, Served> = {};

async function trainAndServe(config: string, limit: number): Promise<Served> {
  const name = uniqueName(`example-${config}`);
  const loaded = await loadTrainConfig(path.join(projectRoot(), "configs", `${config}.yaml`), [
    `data.limit=${limit}`,
    `experiment=${name}`,
    `registry.modelName=${name}`,
    "training.candidates=[{kind: logistic, params: {epochs: 2}}]",
  ]);
  await trainPipeline({ client, logger: silentLogger() }, loaded, mirror ? { mirror } : {});
  const holder = await ModelHolder.load(`models:/${name}@challenger`, client);
  const listen = async (strict: boolean) => {
    const { app } = await createApp(holder, { strict });
    servers.push(app);
    return app.listen({ host: "127.0.0.1", port: 0 });
  };
  return { holder, lenient: await listen(false), strict: await listen(true) };
}

beforeAll(async () => {
  served["credit-default"] = await trainAndServe("credit-default", 2000);
  served.hpc = await trainAndServe("hpc", 1500);
}, 300_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  client.close();
});

async function post(base: string, body: string, contentType = "application/json") {
  const response = await fetch(`${base}/invocations`, {
    method: "POST",
    headers: { "content-type": contentType },
    body,
  });
  return {
    status: response.status,
    warnings: response.headers.get("x-schema-warnings"),
    json: (await response.json()) as Record<string, unknown>,
  };
}

describe("the package's input_example.json", () => {
  it.each(["credit-default", "hpc"])(
    "%s: POSTed as dataframe_split to /invocations → 200 in the default and the strict mode, no warnings",
    async (config) => {
      const { holder, lenient, strict } = served[config]!;
      const example = JSON.parse(
        await readFile(path.join(holder.current.model.dir, "input_example.json"), "utf8"),
      ) as { columns: string[]; data: unknown[][] };
      const inputs = holder.current.model.meta.inputs;
      expect(example.columns, "the example has the signature's columns").toEqual(inputs.map((c) => c.name));
      // Each value has the JSON type its column's signature type says (a long is a JSON integer).
      for (const row of example.data)
        row.forEach((value, j) => {
          const column = inputs[j]!;
          if (value === null) return;
          const expected = column.type === "string" ? "string" : "number";
          expect(typeof value, `${column.name} (${column.type}) = ${JSON.stringify(value)}`).toBe(expected);
          if (column.type === "long") expect(Number.isInteger(value), column.name).toBe(true);
        });
      for (const [mode, base] of [
        ["default", lenient],
        ["strict", strict],
      ] as const) {
        const answer = await post(base, JSON.stringify({ dataframe_split: example }));
        expect(answer.status, `${mode}: ${JSON.stringify(answer.json).slice(0, 600)}`).toBe(200);
        expect(answer.json.predictions, mode).toHaveLength(example.data.length);
        expect(answer.warnings, `${mode}: no schema warnings`).toBeNull();
      }
    },
  );

  it("credit-default: raw rows of the training file (ID and target columns too) → 200 with the extra columns named in x-schema-warnings; --strict → 422", async () => {
    const source = mirror
      ? path.join(mirror, "credit-default", "UCI_Credit_Card.csv")
      : path.join(projectRoot(), "data", "raw", "credit-default", "UCI_Credit_Card.csv");
    const lines = (await readFile(source, "utf8")).split(/\r?\n/).slice(0, 4).join("\n");
    const { lenient, strict } = served["credit-default"]!;
    const answer = await post(lenient, `${lines}\n`, "text/csv");
    expect(answer.status, JSON.stringify(answer.json).slice(0, 600)).toBe(200);
    expect(answer.json.predictions).toHaveLength(3);
    expect(answer.warnings).toBe("extra columns ignored: ID, default.payment.next.month");
    const refused = await post(strict, `${lines}\n`, "text/csv");
    expect(refused.status).toBe(422);
    expect(refused.json.errors).toContainEqual({
      row: 0,
      field: "ID",
      problem: "unknown column (not in the model's signature)",
    });
  });
});
