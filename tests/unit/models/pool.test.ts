import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { planCandidates, type Trial } from "../../../src/models/candidates.js";
import { fitTrial, type TrialFitOptions } from "../../../src/models/fit-trial.js";
import type { IterationRecord } from "../../../src/models/model.js";
import { createTrialPool, poolSize, startTrialWorkers, workerEntryFor } from "../../../src/models/pool.js";
import { ConfigError, WorkbenchError } from "../../../src/shared/errors.js";
import { rejectionOf, thrownBy } from "../../helpers/expect-error.js";
import { syntheticFitData } from "../../helpers/synthetic.js";

const options: TrialFitOptions = {
  seed: 5,
  selectionMetric: "roc_auc",
  classWeight: "none",
  earlyStopping: { patience: 10, minDelta: 0 },
};
const data = syntheticFitData(2, 300);
const trials: Trial[] = planCandidates(
  [
    { kind: "logistic", params: { epochs: 3, batchSize: 64 }, grid: { l2: [0, 0.01, 0.001] } },
    { kind: "mlp", params: { epochs: 2, hiddenUnits: [4], batchSize: 64 } },
    { kind: "knn", params: { k: 100_000 } },
  ],
  options.seed,
).flatMap((p) => p.trials);
const [logistic1, logistic2, logistic3, mlp1, knnTooBig] = trials as [Trial, Trial, Trial, Trial, Trial];

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const poolDirs = () => new Set(readdirSync(os.tmpdir()).filter((d) => d.startsWith("workbench-trials-")));

afterEach(() => {
  delete process.env.WORKBENCH_TEST_CRASH_TRIAL;
});

describe("the trial pool", () => {
  it("workers must be a positive integer", () => {
    const error = thrownBy(() => poolSize(0), ConfigError);
    expect([error.code, error.message]).toEqual([
      "CONFIG_INVALID",
      "workers must be a positive integer (got 0).",
    ]);
    expect(poolSize(undefined)).toBe(os.availableParallelism());
  });

  it("finds its worker file: .js when compiled, .ts through tsx (also for tslab's virtual .js), else says why", () => {
    const models = path.resolve(fileURLToPath(import.meta.url), "../../../../src/models");
    const ts = workerEntryFor(pathToFileURL(path.join(models, "pool.ts")).href);
    const tslab = workerEntryFor(pathToFileURL(path.join(models, "pool.js")).href); // a path tslab makes up
    for (const entry of [ts, tslab]) {
      if (typeof entry === "string") throw new Error(entry);
      expect(entry.file).toBe(path.join(models, "trial-worker.ts"));
      expect(entry.code).toMatch(
        /^import\("file:\/\/.*tsx\/dist\/esm\/api\/index\.mjs"\)\.then\(\(tsx\) => \{ tsx\.register\(\);/,
      );
    }
    const dist = mkdtempSync(path.join(os.tmpdir(), "pool-entry-"));
    try {
      expect(workerEntryFor(pathToFileURL(path.join(dist, "pool.js")).href)).toBe(
        `${path.join(dist, "trial-worker.js")} does not exist`,
      );
      writeFileSync(path.join(dist, "trial-worker.js"), "");
      const compiled = workerEntryFor(pathToFileURL(path.join(dist, "pool.js")).href);
      const url = pathToFileURL(path.join(dist, "trial-worker.js")).href;
      expect(compiled).toEqual({
        file: path.join(dist, "trial-worker.js"),
        code: `import(${JSON.stringify(url)});`,
      });
    } finally {
      rmSync(dist, { recursive: true, force: true });
    }
    expect(workerEntryFor("data:text/javascript,0")).toBe(
      "the trial pool module is not a file (data:text/javascript,0)",
    );
  });

  it("one worker trains in this thread", async () => {
    const pool = await createTrialPool(data, { ...options, workers: 1 });
    expect([pool.size, pool.inProcess]).toEqual([1, true]);
    const fitted = await pool.run({ trial: logistic1 });
    expect(fitted.result.history).toHaveLength(3);
    fitted.model.dispose();
    await pool.close();
  });

  it("workers train what this thread would (bit for bit), report iterations, and leave no temp dirs", async () => {
    const before = poolDirs();
    const pool = await createTrialPool(data, { ...options, workers: 2 });
    expect([pool.size, pool.inProcess]).toEqual([2, false]);
    const created = [...poolDirs()].filter((d) => !before.has(d));
    expect(created).toHaveLength(1);
    const seen: IterationRecord[] = [];
    const [inWorker, mlpInWorker] = await Promise.all([
      pool.run({
        trial: logistic1,
        onIteration: (r, planned) => seen.push({ ...r, iteration: r.iteration * planned }),
      }),
      pool.run({ trial: mlp1 }),
    ]);
    await pool.close();
    expect(existsSync(path.join(os.tmpdir(), created[0]!))).toBe(false);
    expect(seen.map((r) => r.iteration)).toEqual([3, 6, 9]);

    const here = await fitTrial(logistic1, data, options);
    const mlpHere = await fitTrial(mlp1, data, options);
    try {
      expect(
        bytes(inWorker.model.predict(data.validation)).equals(bytes(here.model.predict(data.validation))),
      ).toBe(true);
      expect(
        bytes(mlpInWorker.model.predict(data.validation)).equals(
          bytes(mlpHere.model.predict(data.validation)),
        ),
      ).toBe(true);
      expect(inWorker.result.history.map((h) => h.valMetric)).toEqual(
        here.result.history.map((h) => h.valMetric),
      );
    } finally {
      for (const m of [inWorker, mlpInWorker, here, mlpHere]) m.model.dispose();
    }
  });

  it("workers start before the data: they load their modules, then train on what start gives them, bit for bit", async () => {
    const workers = startTrialWorkers(2);
    try {
      expect(workers.size).toBe(2);
      await workers.ready(); // every worker loaded its modules (and TensorFlow.js's backend) without any data
      const pool = workers.start(data, options);
      expect([pool.size, pool.inProcess]).toEqual([2, false]);
      const again = thrownBy(() => workers.start(data, options), Error);
      expect(again.message).toBe("these trial workers were started already");
      const [inWorker, here] = [
        await pool.run({ trial: logistic1 }),
        await fitTrial(logistic1, data, options),
      ];
      try {
        expect(
          bytes(inWorker.model.predict(data.validation)).equals(bytes(here.model.predict(data.validation))),
        ).toBe(true);
        expect(inWorker.result.history).toHaveLength(3);
      } finally {
        inWorker.model.dispose();
        here.model.dispose();
      }
      await pool.close();
    } finally {
      await workers.close(); // closing twice (pool, then workers) is fine
    }
  });

  it("workers closed before they got any data cannot start; one worker starts nothing early", async () => {
    const workers = startTrialWorkers(2);
    await workers.close();
    expect(thrownBy(() => workers.start(data, options), Error).message).toBe(
      "these trial workers were closed",
    );
    const one = startTrialWorkers(1);
    await one.ready();
    const pool = one.start(data, options);
    expect([one.size, pool.size, pool.inProcess]).toEqual([1, 1, true]);
    expect(thrownBy(() => one.start(data, options), Error).message).toBe(
      "these trial workers were started already",
    );
    await pool.close();
    const bad = thrownBy(() => startTrialWorkers(1.5), ConfigError);
    expect([bad.code, bad.message]).toEqual([
      "CONFIG_INVALID",
      "workers must be a positive integer (got 1.5).",
    ]);
  });

  it("a worker that exits fails only its trial (CANDIDATE_FAILED) and is replaced", async () => {
    process.env.WORKBENCH_TEST_CRASH_TRIAL = logistic2.id; // copied into each worker as it starts
    const exiting = await createTrialPool(data, { ...options, workers: 2 });
    try {
      const [crashed, fine] = await Promise.allSettled([
        exiting.run({ trial: logistic2 }),
        exiting.run({ trial: logistic3 }),
      ]);
      expect(crashed.status).toBe("rejected");
      const error = (crashed as PromiseRejectedResult).reason as WorkbenchError;
      expect(error).toBeInstanceOf(WorkbenchError);
      expect(error.code).toBe("CANDIDATE_FAILED");
      expect(error.message).toBe(
        "candidate logistic-2 (logistic) failed in its worker: the worker exited with code 3",
      );
      expect(fine.status).toBe("fulfilled");
      (fine as PromiseFulfilledResult<{ model: { dispose(): void } }>).value.model.dispose();
      // Both workers are busy again at once: the crashed one was replaced.
      const again = await Promise.all([exiting.run({ trial: logistic1 }), exiting.run({ trial: logistic3 })]);
      for (const f of again) f.model.dispose();
    } finally {
      await exiting.close();
    }
  });

  it("a worker that throws (uncaught) fails only its trial, with the worker's message", async () => {
    process.env.WORKBENCH_TEST_CRASH_TRIAL = `${logistic1.id}:throw`;
    const throwing = await createTrialPool(data, { ...options, workers: 2 });
    try {
      const error = await rejectionOf(throwing.run({ trial: logistic1 }));
      expect(error.code).toBe("CANDIDATE_FAILED");
      expect(error.message).toBe(
        "candidate logistic-1 (logistic) failed in its worker: test crash: logistic-1 threw in its worker",
      );
      const next = await throwing.run({ trial: logistic3 });
      next.model.dispose();
    } finally {
      await throwing.close();
    }
  });

  it("a trial that throws (validation columns that do not match) fails with CANDIDATE_FAILED, here or in a worker", async () => {
    const cols = data.validation.cols - 1;
    const values = new Float32Array(data.validation.rows * cols);
    const broken = { ...data, validation: { ...data.validation, cols, values, featureNames: [] } };
    const here = await createTrialPool(broken, { ...options, workers: 1 });
    const inProcess = await rejectionOf(here.run({ trial: logistic1 }));
    await here.close();
    expect(inProcess.code).toBe("CANDIDATE_FAILED");
    expect(inProcess.message).toMatch(/^candidate logistic-1 \(logistic\) failed: \S/);
    const workers = await createTrialPool(broken, { ...options, workers: 2 });
    try {
      const inWorker = await rejectionOf(workers.run({ trial: logistic1 }));
      expect(inWorker.code).toBe("CANDIDATE_FAILED");
      // The same TensorFlow.js message (its layer counter differs between this thread and a fresh worker).
      const unnumbered = (m: string) => m.replace(/dense_Dense\d+/g, "dense_Dense#");
      expect(unnumbered(inWorker.message)).toBe(
        unnumbered(inProcess.message).replace("failed:", "failed in its worker:"),
      );
      expect(inWorker.message).toContain("to have shape [null,6] but got array with shape [100,5]");
    } finally {
      await workers.close();
    }
  });

  it("a named error in a worker comes back as itself (the kind's data check: ConfigError naming the field)", async () => {
    const pool = await createTrialPool(data, { ...options, workers: 2 });
    try {
      const error = await rejectionOf(pool.run({ trial: knnTooBig }), ConfigError);
      expect(error.code).toBe("CONFIG_INVALID");
      expect(error.message).toContain(
        "training.candidates.2.params.k: k = 100000 is larger than the 300 training rows",
      );
    } finally {
      await pool.close();
    }
  });
});
