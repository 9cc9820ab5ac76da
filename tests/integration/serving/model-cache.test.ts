import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { headRows } from "../../../src/data/table.js";
import { type TrainResult, trainPipeline } from "../../../src/pipelines/train.js";
import { loadPredictor } from "../../../src/serving/model-source.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { MlflowClient } from "../../../src/tracking/client.js";
import { type LocalServer, startLocalServer } from "../../../src/tracking/local-server.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { uniqueName } from "../../helpers/mlflow.js";

// Defect 1 of issue 9: the served-model cache was keyed by name and version only, so version 1 of a
// name on a second tracking server was answered with the first server's weights.

const mirror = datasetMirror();
const name = uniqueName("cache-model");
const clientFor = (uri: string) =>
  new MlflowClient({
    trackingUri: uri,
    env: {},
    retry: { maxRetries: 2, backoffFactor: 0.05, backoffJitter: 0.01 },
    timeoutMs: 60_000,
  });

let storeB: string;
let serverB: LocalServer;
let clientA: MlflowClient;
let clientB: MlflowClient;
let trainedA: TrainResult;
let trainedB: TrainResult;

/** Trains a tiny model on a 2,000-row slice and registers it as `name` on the client's server. */
async function trainTiny(client: MlflowClient, seed: number, epochs: number): Promise<TrainResult> {
  const config = await loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"), [
    "data.limit=2000",
    `seed=${seed}`,
    `experiment=${name}`,
    `registry.modelName=${name}`,
    `training.candidates=[{kind: logistic, params: {epochs: ${epochs}, batchSize: 256}}]`,
  ]);
  return trainPipeline({ client, logger: silentLogger() }, config, mirror ? { mirror } : {});
}

beforeAll(async () => {
  storeB = await mkdtemp(path.join(os.tmpdir(), "workbench-mlflow-b-"));
  serverB = await startLocalServer({ storeDir: storeB, port: 0, workers: 1, readyTimeoutMs: 180_000 });
  clientA = clientFor(inject("mlflowUri"));
  clientB = clientFor(serverB.uri);
  trainedA = await trainTiny(clientA, 1, 2);
  trainedB = await trainTiny(clientB, 7, 8);
}, 300_000);

afterAll(async () => {
  clientA?.close();
  clientB?.close();
  await serverB?.stop();
  if (storeB) await rm(storeB, { recursive: true, force: true });
});

describe("the served-model cache across tracking servers", () => {
  it("given version 1 of the same name on servers A and B, when A's then B's is loaded, then B's weights answer", async () => {
    expect(trainedA.model.version, "a fresh name on A").toBe("1");
    expect(trainedB.model.version, "a fresh name on B").toBe("1");
    const rows = headRows(trainedA.evaluationSplits.test, 20);

    const fromA = await loadPredictor(`models:/${name}/1`, clientA);
    const fromB = await loadPredictor(`models:/${name}/1`, clientB);
    expect(fromB.origin.modelId, "the origin names B's logged model").toBe(trainedB.model.modelId);
    const probabilitiesA = fromA.score(rows).map((p) => p.probabilities);
    const probabilitiesB = fromB.score(rows).map((p) => p.probabilities);

    // B's package straight from B into an empty cache: what the second load must answer.
    const direct = await mkdtemp(path.join(os.tmpdir(), "workbench-direct-"));
    const previous = process.env.WORKBENCH_MODEL_CACHE;
    process.env.WORKBENCH_MODEL_CACHE = direct;
    let expectedB: Record<string, number>[];
    try {
      expectedB = (await loadPredictor(`models:/${name}/1`, clientB)).score(rows).map((p) => p.probabilities);
    } finally {
      if (previous === undefined) delete process.env.WORKBENCH_MODEL_CACHE;
      else process.env.WORKBENCH_MODEL_CACHE = previous;
      await rm(direct, { recursive: true, force: true });
    }
    expect(expectedB, "A and B hold different weights, so their answers differ").not.toEqual(probabilitiesA);
    expect(probabilitiesB, "the second load answers with server B's weights, not A's").toEqual(expectedB);
  });
});

describe("the served-model cache's integrity check", () => {
  it("given a cached entry whose weights were tampered with or lost, when loaded again, then it is downloaded afresh", async () => {
    const rows = headRows(trainedB.evaluationSplits.test, 20);
    const first = await loadPredictor(`models:/${name}/1`, clientB);
    const expected = first.score(rows).map((p) => p.probabilities);
    const weights = path.join(first.model.dir, "estimator", "weights.bin");

    const bytes = await readFile(weights);
    await writeFile(
      weights,
      bytes.map((b) => b ^ 0x5a),
    );
    const afterTamper = await loadPredictor(`models:/${name}/1`, clientB);
    expect(
      afterTamper.score(rows).map((p) => p.probabilities),
      "tampered weights are not served",
    ).toEqual(expected);

    await rm(weights);
    const afterLoss = await loadPredictor(`models:/${name}/1`, clientB);
    expect(
      afterLoss.score(rows).map((p) => p.probabilities),
      "a partial entry is completed",
    ).toEqual(expected);
    expect((await readFile(weights)).equals(bytes), "the cached weights are the server's again").toBe(true);
  });
});
