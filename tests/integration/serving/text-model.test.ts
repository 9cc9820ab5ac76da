// A text model end to end: configs/complaints.yaml trained by the real pipeline (one tfidf-linear candidate) against
// the throwaway MLflow server, registered, then served from the registry over real HTTP (/predict texts,
// /invocations dataframe_split with the text column), batch-scored by `npm run predict` on the holdout the run
// logged (the CFPB CSV's quoted multi-line narratives), and loaded by MLflow's own pyfunc from the registry.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { parse } from "csv-parse/sync";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { type TrainResult, trainPipeline } from "../../../src/pipelines/train.js";
import { createApp } from "../../../src/serving/app.js";
import { ModelHolder } from "../../../src/serving/model-holder.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";
import { pyfuncPredict } from "../../helpers/pyfunc.js";
import { tempDir } from "../../helpers/temp.js";

const exec = promisify(execFile);
const client = testClient();
const mirror = datasetMirror();
const tmp = tempDir("text-model-");
const model = uniqueName("complaint-product");
const TEXT = "Consumer complaint narrative";
let trained: TrainResult;
let holder: ModelHolder;
let app: FastifyInstance;
let base: string;

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${base}${url}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  const config = await loadTrainConfig(path.join(projectRoot(), "configs", "complaints.yaml"), [
    `experiment=${model}`,
    `registry.modelName=${model}`,
    "training.candidates=[{kind: tfidf-linear, params: {loss: softmax, C: 10, maxIter: 60}}]",
  ]);
  trained = await trainPipeline({ client, logger: silentLogger() }, config, mirror ? { mirror } : {});
  holder = await ModelHolder.load(`models:/${model}@challenger`, client);
  app = (await createApp(holder)).app;
  base = await app.listen({ host: "127.0.0.1", port: 0 });
}, 300_000);

afterAll(async () => {
  await app?.close();
  holder?.current.retire();
});

describe("a text model from training to the service and batch scoring", () => {
  it("given the registered model, then its signature has the text column as a string with its rule", () => {
    const meta = holder.current.model.meta;
    expect(meta.kind).toBe("tfidf-linear");
    expect(meta.inputs).toEqual([
      { name: TEXT, type: "string", required: true, text: { maxLength: 20000, overLength: "truncate" } },
    ]);
    expect(meta.classes.length, "three products (Consumer Loan dropped as rare)").toBe(3);
  });

  it("given the package's input example, then it holds narratives and the service scores it without a warning", async () => {
    const example = JSON.parse(
      await readFile(path.join(holder.current.model.dir, "input_example.json"), "utf8"),
    ) as { columns: string[]; data: string[][] };
    expect(example.columns).toEqual([TEXT]);
    expect(example.data.every(([t]) => typeof t === "string" && t.trim().length > 0)).toBe(true);
    const response = await fetch(`${base}/invocations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ dataframe_split: example }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-schema-warnings")).toBeNull();
  });

  it("given /predict {texts} and /invocations dataframe_split with the text column, then both answer every class's probability, and agree", async () => {
    const texts = [
      "I was charged late fees on my mortgage although my escrow payment was on time; the servicer refuses to fix it.",
      "A debt collector keeps calling me at work about a debt I do not owe and threatened to sue.",
      "There are accounts on my credit report that are not mine; the bureau did not investigate my dispute.",
    ];
    const friendly = await post("/predict", { texts });
    expect(friendly.status, JSON.stringify(friendly.json)).toBe(200);
    const labels = (
      friendly.json.predictions as { label: string; probabilities: Record<string, number> }[]
    ).map((p) => {
      expect(Object.keys(p.probabilities).sort()).toEqual([...holder.current.classes].sort());
      return p.label;
    });
    expect(labels, "three clear narratives, three products").toEqual([
      "Mortgage",
      "Debt collection",
      "Credit reporting, repair, or other",
    ]);
    const mlflow = await post("/invocations", {
      dataframe_split: { columns: [TEXT], data: texts.map((t) => [t]) },
    });
    expect(mlflow.status).toBe(200);
    expect((mlflow.json.predictions as { label: string }[]).map((p) => p.label)).toEqual(labels);
    const tabular = await post("/invocations", { dataframe_records: [{ LIMIT_BAL: 20000, AGE: 24 }] });
    expect(tabular.status).toBe(422);
    expect(tabular.json.error_code).toBe("TEXT_COLUMN_MISSING");
  });

  it("given the holdout the run logged, then `npm run predict` scores its narratives and MLflow's pyfunc loads the registered model and agrees", async () => {
    const output = path.join(path.dirname(await tmp.file("keep", "")), "holdout-predictions.csv");
    const env = { ...process.env, MLFLOW_TRACKING_URI: inject("mlflowUri"), LOG_LEVEL: "warn" };
    const { stdout } = await exec(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(projectRoot(), "scripts", "predict.ts"),
        "--model",
        `models:/${model}@challenger`,
        "--input",
        `runs:/${trained.runId}/holdout/holdout.csv`,
        "--output",
        output,
      ],
      { cwd: projectRoot(), env },
    ).catch((error: { stderr: string }) => {
      throw new Error(`npm run predict failed: ${error.stderr}`);
    });
    const rows = trained.evaluationSplits.holdout.rowCount;
    expect(stdout).toMatch(new RegExp(`scored ${rows} of ${rows} rows with ${model} version 1 in [\\d.]+ s`));
    const scored = parse(await readFile(output, "utf8"), { columns: true }) as Record<string, string>[];
    expect(scored).toHaveLength(rows);
    expect(
      scored.some((r) => r[TEXT]!.includes("\n")),
      "multi-line narratives went through",
    ).toBe(true);
    const accuracy = scored.filter((r) => r.label === r.Product).length / rows;
    expect(accuracy, "the holdout is mostly classified right").toBeGreaterThan(0.7);
    // The same narratives through MLflow's own loader, from the registry.
    const sample = scored.slice(0, 40);
    const [answer] = await pyfuncPredict(
      [{ model: `models:/${model}@challenger`, columns: [TEXT], data: sample.map((r) => [r[TEXT]]) }],
      { MLFLOW_TRACKING_URI: inject("mlflowUri") },
    );
    if (answer?.error !== undefined) throw new Error(`${answer.error.type}: ${answer.error.message}`);
    expect(answer!.data.map((row) => row[0])).toEqual(sample.map((r) => r.label));
  });
});
