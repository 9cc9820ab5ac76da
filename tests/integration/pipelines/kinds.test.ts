// Issue 10, "Done when" 1: every kind trains through the pipeline, registers, serves (/invocations, /predict),
// batch-scores and exports, with no kind-specific code outside src/models/kinds/.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { KIND_NAMES, modelKind } from "../../../src/models/kinds/index.js";
import { batchPredict } from "../../../src/pipelines/predict.js";
import { trainPipeline } from "../../../src/pipelines/train.js";
import { exportModel } from "../../../src/registry/export-model.js";
import { createApp } from "../../../src/serving/app.js";
import { ModelHolder } from "../../../src/serving/model-holder.js";
import { loadPredictor } from "../../../src/serving/model-source.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { CREDIT_ROW } from "../../helpers/credit-row.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";

const client = testClient();
const mirror = datasetMirror();
const ROW2 = { ...CREDIT_ROW, LIMIT_BAL: 500000, PAY_0: -1, PAY_2: -1, AGE: 45 };
const scratch: string[] = [];
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

/** Small, quick settings per kind (a 3,000-row slice); every other parameter is the kind's default. */
const QUICK: Record<string, string> = {
  logistic: "{epochs: 40, batchSize: 128, learningRate: 0.02}",
  mlp: "{epochs: 20, hiddenUnits: [16], batchSize: 128}",
  gbdt: "{rounds: 60}",
  "random-forest": "{trees: 30}",
  "decision-tree": "{maxDepth: 6}",
  knn: "{k: 25}",
  "linear-svm": "{}",
};

// The tabular kinds on credit-default; the text kinds read text (tests/integration/serving/text-model.test.ts and
// notebook 03 take them end to end on the complaints data).
const TABULAR = KIND_NAMES.filter((k) => modelKind(k).input !== "text");

describe.each(TABULAR.map((k) => [k]))("kind %s end to end", (kind) => {
  it("trains and registers; the service answers /invocations and /predict; batch scoring and export agree", async () => {
    const name = uniqueName(`kind-${kind}`);
    const config = await loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"), [
      "data.limit=3000",
      `experiment=${name}`,
      `registry.modelName=${name}`,
      `training.candidates=[{kind: ${kind}, params: ${QUICK[kind] ?? "{}"}}]`,
    ]);
    const trained = await trainPipeline({ client, logger: silentLogger() }, config, mirror ? { mirror } : {});
    expect(trained.best.kind).toBe(kind);
    expect(trained.metrics.test.roc_auc, `${kind} learns something (chance 0.5)`).toBeGreaterThan(0.62);
    expect(trained.model.version).toBe("1");

    const holder = await ModelHolder.load(`models:/${name}@challenger`, client);
    const { app } = await createApp(holder);
    try {
      const base = await app.listen({ host: "127.0.0.1", port: 0 });
      const columns = Object.keys(CREDIT_ROW);
      const invocations = await fetch(`${base}/invocations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          dataframe_split: { columns, data: [Object.values(CREDIT_ROW), Object.values(ROW2)] },
        }),
      });
      expect(invocations.status).toBe(200);
      const served = ((await invocations.json()) as { predictions: Record<string, number | string>[] })
        .predictions;
      expect(served.length).toBe(2);
      const predict = await fetch(`${base}/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ records: [CREDIT_ROW, ROW2] }),
      });
      expect(predict.status).toBe(200);
      const answers = ((await predict.json()) as { predictions: { probabilities: Record<string, number> }[] })
        .predictions;
      expect(answers.map((a) => a.probabilities["1"])).toEqual(served.map((s) => s.probability_1));
      expect(Number(served[0]!.probability_0) + Number(served[0]!.probability_1)).toBeCloseTo(1, 5);
    } finally {
      await app.close();
      holder.current.retire();
    }

    // Batch scoring of the same two rows, and the exported package, give the service's probabilities.
    const dir = await mkdtemp(path.join(os.tmpdir(), `kind-${kind}-`));
    scratch.push(dir);
    const columns = Object.keys(CREDIT_ROW);
    await writeFile(
      path.join(dir, "in.csv"),
      `${columns.join(",")}\n${[CREDIT_ROW, ROW2].map((r) => Object.values(r).join(",")).join("\n")}\n`,
    );
    const predictor = await loadPredictor(`models:/${name}@challenger`, client);
    const expected = predictor.predict([CREDIT_ROW, ROW2]).map((p) => p.probabilities["1"]);
    const batch = await batchPredict(predictor, {
      input: path.join(dir, "in.csv"),
      output: path.join(dir, "out.csv"),
    });
    predictor.retire();
    expect(batch.rowsScored).toBe(2);
    const out = (await readFile(path.join(dir, "out.csv"), "utf8")).trim().split("\n");
    const header = out[0]!.split(",");
    const p1 = header.indexOf("probability_1");
    expect(out.slice(1).map((line) => Number(line.split(",")[p1]))).toEqual(
      expected.map((p) => Number(String(p))),
    );

    const exported = await exportModel(client, `models:/${name}@challenger`, path.join(dir, "export"));
    const local = await loadPredictor(exported.dir, undefined);
    try {
      expect(local.model.meta.kind).toBe(kind);
      expect(local.predict([CREDIT_ROW, ROW2]).map((p) => p.probabilities["1"])).toEqual(expected);
    } finally {
      local.retire();
    }
  });
});
