// Issue 13, item 10: a model trained and registered here is loaded by MLflow's Python side from the registry
// (`mlflow.pyfunc.load_model("models:/<name>@challenger")`), served by `mlflow models serve` and scored by
// `mlflow models predict`, all three answering what the TypeScript model answers on the holdout.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { type TrainResult, trainPipeline } from "../../../src/pipelines/train.js";
import type { SignatureColumn } from "../../../src/registry/model-package.js";
import { loadPredictor } from "../../../src/serving/model-source.js";
import type { Prediction } from "../../../src/serving/predictor.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot, venvExecutable } from "../../../src/shared/project.js";
import { freePort } from "../../../src/tracking/local-server.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";
import { expectParity, pyfuncPredict, signatureRows, splitCase } from "../../helpers/pyfunc.js";

const exec = promisify(execFile);
const client = testClient();
const mirror = datasetMirror();
const name = uniqueName("pyfunc");
const uri = `models:/${name}@challenger`;
/** MLflow's CLI runs `uvicorn` by name: the venv's bin/ goes first on PATH, as an activated venv has it. */
const env = () => ({
  MLFLOW_TRACKING_URI: inject("mlflowUri"),
  PATH: `${path.dirname(venvExecutable("mlflow"))}${path.delimiter}${process.env.PATH ?? ""}`,
});
let trained: TrainResult;
let inputs: SignatureColumn[];
let rows: Record<string, unknown>[];
let expected: Prediction[];
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "pyfunc-mlflow-"));
  const config = await loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"), [
    "data.limit=2000",
    `experiment=${name}`,
    `registry.modelName=${name}`,
    "training.candidates=[{kind: gbdt, params: {rounds: 20, maxLeaves: 7}}]",
  ]);
  trained = await trainPipeline({ client, logger: silentLogger() }, config, mirror ? { mirror } : {});
  const predictor = await loadPredictor(uri, client);
  try {
    inputs = predictor.model.meta.inputs;
    rows = signatureRows(trained.evaluationSplits.holdout, inputs);
    expected = predictor.predict(rows);
  } finally {
    predictor.retire();
  }
});

afterAll(async () => {
  client.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** `mlflow models serve` in its own process group (it starts uvicorn below it), stopped as a whole. */
async function startMlflowServe(): Promise<{ base: string; child: ChildProcess; output: () => string }> {
  const port = await freePort();
  const child = spawn(
    venvExecutable("mlflow"),
    [
      "models",
      "serve",
      "-m",
      uri,
      "--env-manager",
      "local",
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-w",
      "1",
    ],
    { env: { ...process.env, ...env() }, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  const chunks: string[] = [];
  child.stdout?.on("data", (c: Buffer) => chunks.push(c.toString("utf8")));
  child.stderr?.on("data", (c: Buffer) => chunks.push(c.toString("utf8")));
  let exited: number | null | undefined;
  child.once("exit", (code) => {
    exited = code;
  });
  const base = `http://127.0.0.1:${port}`;
  const output = () => chunks.join("");
  for (;;) {
    const ready = await fetch(`${base}/ping`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ready) return { base, child, output };
    if (exited !== undefined) throw new Error(`mlflow models serve exited with ${exited}:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function stopGroup(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.pid === undefined) return resolve();
    child.once("exit", () => resolve());
    process.kill(-child.pid, "SIGTERM");
  });
}

describe("MLflow's Python side loads, serves and scores a registered model", () => {
  it("mlflow.pyfunc.load_model('models:/<name>@challenger') predicts the holdout like the TypeScript model", async () => {
    expect(rows.length, "holdout rows").toBeGreaterThan(100);
    const [result] = await pyfuncPredict([splitCase(uri, rows, inputs)], env());
    expectParity("pyfunc from the registry", result, expected, ["0", "1"], trained.threshold);
  });

  it("`mlflow models serve --env-manager local` answers /invocations (dataframe_split) like our service", async () => {
    const server = await startMlflowServe();
    try {
      const columns = inputs.map((c) => c.name);
      const answer = await fetch(`${server.base}/invocations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          dataframe_split: { columns, data: rows.map((r) => columns.map((c) => r[c])) },
        }),
      });
      expect(answer.status, server.output()).toBe(200);
      const body = (await answer.json()) as { predictions: Record<string, string | number>[] };
      expectParity(
        "mlflow models serve",
        {
          columns: Object.keys(body.predictions[0]!),
          data: body.predictions.map((p) => Object.values(p)),
        },
        expected,
        ["0", "1"],
        trained.threshold,
      );

      // A payload without a required column: MLflow's schema enforcement answers 400, naming it.
      const partial = columns.filter((c) => c !== "AGE");
      const refused = await fetch(`${server.base}/invocations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          dataframe_split: { columns: partial, data: rows.slice(0, 2).map((r) => partial.map((c) => r[c])) },
        }),
      });
      expect(refused.status).toBe(400);
      const error = (await refused.json()) as { error_code: string; message: string };
      expect(error.error_code).toBe("INVALID_PARAMETER_VALUE");
      expect(error.message).toContain("Model is missing inputs ['AGE']");
    } finally {
      await stopGroup(server.child);
    }
  });

  it("`mlflow models predict --env-manager local` scores a JSON file like the TypeScript model", async () => {
    const columns = inputs.map((c) => c.name);
    const some = rows.slice(0, 20);
    const input = path.join(work, "input.json");
    const output = path.join(work, "output.json");
    await writeFile(
      input,
      JSON.stringify({ dataframe_split: { columns, data: some.map((r) => columns.map((c) => r[c])) } }),
    );
    await exec(
      venvExecutable("mlflow"),
      ["models", "predict", "-m", uri, "-i", input, "-o", output, "-t", "json", "--env-manager", "local"],
      { env: { ...process.env, ...env() } },
    );
    const body = JSON.parse(await readFile(output, "utf8")) as {
      predictions: Record<string, string | number>[];
    };
    expectParity(
      "mlflow models predict",
      { columns: Object.keys(body.predictions[0]!), data: body.predictions.map((p) => Object.values(p)) },
      expected.slice(0, 20),
      ["0", "1"],
      trained.threshold,
    );
  });
});
