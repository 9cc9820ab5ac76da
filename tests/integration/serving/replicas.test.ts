import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadTrainConfig } from "../../../src/config/train-config.js";
import { trainPipeline } from "../../../src/pipelines/train.js";
import { promote, readChampion } from "../../../src/promotion/aliases.js";
import { silentLogger } from "../../../src/shared/logger.js";
import { projectRoot } from "../../../src/shared/project.js";
import { CREDIT_ROW } from "../../helpers/credit-row.js";
import { datasetMirror } from "../../helpers/datasets.js";
import { testClient, uniqueName } from "../../helpers/mlflow.js";
import { type ServeProcess, startServeProcess } from "../../helpers/serve-process.js";

// Two replicas of the service are two `npm run serve` processes following models:/<m>@champion, each with
// its own model cache, as two containers of deploy/compose.yaml would be. They share nothing but the registry.
const client = testClient();
const mirror = datasetMirror();
const model = uniqueName("replica-model");
const aliases = { champion: "champion", previous: "previous" };
const POLL_SECONDS = 0.25;
const CLIENTS = 8;
const replicas: ServeProcess[] = [];
const caches: string[] = [];

const ROW = CREDIT_ROW;

/** Trains a small model into the registry (a new version, @challenger) and returns its version. */
async function train(seed: number): Promise<string> {
  const config = await loadTrainConfig(path.join(projectRoot(), "configs", "credit-default.yaml"), [
    "data.limit=2000",
    `seed=${seed}`,
    `experiment=${model}`,
    `registry.modelName=${model}`,
    "training.candidates=[{kind: logistic, params: {epochs: 3}}]",
  ]);
  await trainPipeline({ client, logger: silentLogger() }, config, mirror ? { mirror } : {});
  return (await client.registry.getVersionByAlias(model, "challenger")).version;
}

async function servedVersion(replica: ServeProcess): Promise<string | undefined> {
  const health = (await (await fetch(`${replica.base}/health`)).json()) as { model: { version?: string } };
  return health.model.version;
}

beforeAll(async () => {
  const v1 = await train(1);
  await promote(client, { modelName: model, version: v1, expectedChampion: undefined, aliases });
  for (let i = 0; i < 2; i++) {
    const cache = await mkdtemp(path.join(os.tmpdir(), "replica-cache-"));
    caches.push(cache);
    replicas.push(
      await startServeProcess(
        ["--model", `models:/${model}@champion`, "--poll-seconds", String(POLL_SECONDS)],
        {
          MLFLOW_TRACKING_URI: inject("mlflowUri"),
          WORKBENCH_MODEL_CACHE: cache,
        },
      ),
    );
  }
}, 240_000);

afterAll(async () => {
  const codes = await Promise.all(replicas.map((r) => r.stop()));
  client.close();
  await Promise.all(caches.map((c) => rm(c, { recursive: true, force: true })));
  expect(codes, "replicas drain and exit 0 on SIGTERM").toEqual(codes.map(() => 0));
});

describe("two service replicas on one champion", () => {
  it("a promotion reaches both replicas by alias polling, and a soak across both sees zero failed requests", async () => {
    expect(await Promise.all(replicas.map(servedVersion))).toEqual(["1", "1"]);
    const v2 = await train(2);
    expect(v2).toBe("2");
    expect(await Promise.all(replicas.map(servedVersion)), "training alone moves no champion").toEqual([
      "1",
      "1",
    ]);

    const body = JSON.stringify({ records: [ROW] });
    const seen = replicas.map(() => new Set<string>());
    const failures: string[] = [];
    let total = 0;
    let stop = false;
    // Each client alternates between the replicas, as a load balancer would spread them.
    const worker = async (w: number) => {
      for (let n = w; !stop; n++) {
        const i = n % replicas.length;
        try {
          const response = await fetch(`${replicas[i]!.base}/predict`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
          });
          const json = (await response.json()) as { model?: { version?: string } };
          if (response.status !== 200)
            failures.push(`replica ${i}: ${response.status} ${JSON.stringify(json)}`);
          else seen[i]!.add(String(json.model?.version));
        } catch (error) {
          failures.push(`replica ${i}: ${(error as Error).message}`);
        }
        total++;
      }
    };
    const started = Date.now();
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, w) => worker(w)));
    await new Promise((resolve) => setTimeout(resolve, 1000));

    // The promotion: champion 1 → 2 under the promotion lock, as `npm run ct` does after the gate.
    const promotedAt = Date.now();
    expect(await promote(client, { modelName: model, version: v2, expectedChampion: "1", aliases })).toEqual({
      champion: "2",
      previous: "1",
    });
    const reachedAfterMs: number[] = [];
    await Promise.all(
      replicas.map(async (replica, i) => {
        const deadline = Date.now() + 30_000;
        while ((await servedVersion(replica)) !== "2") {
          if (Date.now() > deadline)
            throw new Error(`replica ${i} still serves version 1 after 30 s:\n${replica.output()}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        reachedAfterMs[i] = Date.now() - promotedAt;
      }),
    );
    // Keep the load on a little after both switched, then stop.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    stop = true;
    await load;
    const seconds = (Date.now() - started) / 1000;

    console.info(
      JSON.stringify({
        test: "replicas",
        replicas: replicas.length,
        clients: CLIENTS,
        pollSeconds: POLL_SECONDS,
        seconds: Number(seconds.toFixed(1)),
        requests: total,
        failed: failures.length,
        reqPerSecond: Math.round(total / seconds),
        promotionReachedReplicaAfterMs: reachedAfterMs,
      }),
    );
    expect(
      failures,
      `${failures.length} of ${total} requests failed: ${failures.slice(0, 3).join("; ")}`,
    ).toEqual([]);
    expect(total, "the soak really ran").toBeGreaterThan(50);
    for (const [i, versions] of seen.entries())
      expect([...versions].sort(), `replica ${i} answered with both versions`).toEqual(["1", "2"]);
    expect((await readChampion(client, model, aliases))?.version).toBe("2");
    for (const replica of replicas) {
      const metrics = await (await fetch(`${replica.base}/metrics`)).text();
      expect(metrics).toContain(`workbench_model_info{name="${model}",version="2",alias="champion"`);
    }
  });
});
