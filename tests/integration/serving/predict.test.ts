import { execFile } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { batchPredict } from "../../../src/pipelines/predict.js";
import { type TrainResult, trainPipeline } from "../../../src/pipelines/train.js";
import { loadPredictor } from "../../../src/serving/model-source.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";
import { tempDir } from "../../helpers/temp.js";

const exec = promisify(execFile);
const client = testClient();
const mirror = datasetMirror();
const tmp = tempDir("predict-");
const model = uniqueName("batch-model");
let trained: TrainResult;

beforeAll(async () => {
  const config = await loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"), [
    `experiment=${model}`,
    `registry.modelName=${model}`,
    "training.candidates=[{kind: logistic, params: {epochs: 3}}]",
  ]);
  trained = await trainPipeline({ client, logger: silentLogger() }, config, mirror ? { mirror } : {});
}, 180_000);

describe("batch scoring (npm run predict)", () => {
  it("scores the credit-default holdout logged by training into a CSV with probabilities and the model version", async () => {
    const output = path.join(await tmp.file(".keep", ""), "..", "holdout-predictions.csv");
    const root = projectRoot();
    const { stdout } = await exec(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(root, "scripts", "predict.ts"),
        "--model",
        `models:/${model}@challenger`,
        "--input",
        `runs:/${trained.runId}/holdout/holdout.csv`,
        "--output",
        output,
      ],
      { cwd: root, env: { ...process.env, MLFLOW_TRACKING_URI: inject("mlflowUri"), LOG_LEVEL: "warn" } },
    ).catch((error: { stderr: string }) => {
      throw new Error(`npm run predict failed: ${error.stderr}`);
    });
    expect(stdout).toMatch(new RegExp(`scored 3000 of 3000 rows with ${model} version 1 in [\\d.]+ s`));
    const lines = (await readFile(output, "utf8")).trim().split("\n");
    expect(lines.length).toBe(3001);
    expect(lines[0]).toBe(
      `"ID",LIMIT_BAL,SEX,EDUCATION,MARRIAGE,AGE,PAY_0,PAY_2,PAY_3,PAY_4,PAY_5,PAY_6,BILL_AMT1,BILL_AMT2,BILL_AMT3,BILL_AMT4,BILL_AMT5,BILL_AMT6,PAY_AMT1,PAY_AMT2,PAY_AMT3,PAY_AMT4,PAY_AMT5,PAY_AMT6,default.payment.next.month,label,probability_0,probability_1,model_version`.replace(
        '"ID"',
        "ID",
      ),
    );
    const cells = lines[1]!.split(",");
    expect(cells.at(-1)).toBe("1");
    expect(Number(cells.at(-2)) + Number(cells.at(-3))).toBeCloseTo(1, 5);
  });

  it("streams a large file in constant memory (under a 96 MB heap cap) and quarantines bad rows with reasons", async () => {
    const predictor = await loadPredictor(`models:/${model}@challenger`, client);
    const input = path.join(await tmp.file(".keep2", ""), "..", "big.csv");
    const header = predictor.model.meta.inputs.map((c) => c.name);
    const stream = createWriteStream(input);
    stream.write(`${header.join(",")}\n`);
    const n = 300_000;
    for (let i = 0; i < n; i++) {
      const row = header.map((h) =>
        h === "AGE"
          ? i === 7
            ? "old"
            : 30 + (i % 40)
          : h.startsWith("PAY_") && !h.startsWith("PAY_AMT")
            ? (i % 3) - 1
            : h === "SEX"
              ? 1 + (i % 2)
              : h === "EDUCATION" || h === "MARRIAGE"
                ? 1
                : (i * 37) % 50000,
      );
      if (!stream.write(`${row.join(",")}\n`)) await once(stream, "drain");
    }
    stream.end();
    await once(stream, "finish");
    // Held whole, 300,000 parsed rows of 23 fields would need far more than 96 MB of JS heap.
    const output = path.join(path.dirname(input), "big-out.jsonl");
    const root = projectRoot();
    const { stdout } = await exec(
      process.execPath,
      [
        "--max-old-space-size=96",
        "--import",
        "tsx",
        path.join(root, "scripts", "predict.ts"),
        "--model",
        `models:/${model}@challenger`,
        "--input",
        input,
        "--output",
        output,
      ],
      {
        cwd: root,
        env: { ...process.env, MLFLOW_TRACKING_URI: inject("mlflowUri"), LOG_LEVEL: "warn" },
      },
    );
    expect(stdout).toContain(`scored ${n - 1} of ${n} rows`);
    expect(stdout).toContain("quarantined 1 rows with reasons");
    const quarantined = JSON.parse((await readFile(`${output}.quarantine.jsonl`, "utf8")).trim());
    expect(quarantined).toMatchObject({ line: 9, reasons: ['AGE: not a number: the string "old"'] });
    const first = JSON.parse((await readFile(output, "utf8")).slice(0, 2000).split("\n")[0]!);
    expect(first).toMatchObject({ model_version: "1", label: expect.any(String) });
  });

  it("given a missing input or too many bad rows, then a named error", async () => {
    const predictor = await loadPredictor(`models:/${model}@challenger`, client);
    const bad = await tmp.file("bad.csv", "LIMIT_BAL,AGE\nx,y\n");
    await expect(
      batchPredict(predictor, { input: "/no/such.csv", output: path.join(tmp.path(), "x.csv") }),
    ).rejects.toMatchObject({ code: "DATA_FILE_MISSING" });
    await expect(
      batchPredict(predictor, { input: bad, output: path.join(tmp.path(), "y.csv"), maxBadFraction: 0.5 }),
    ).rejects.toMatchObject({
      code: "DATA_TOO_MANY_BAD_ROWS",
      message: expect.stringContaining("1 of 1 rows failed validation"),
    });
  });
});
