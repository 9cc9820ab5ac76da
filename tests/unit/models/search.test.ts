import { afterEach, describe, expect, it } from "vitest";
import type { CandidateSpec } from "../../../src/config/train-config.js";
import { planCandidates, type Trial } from "../../../src/models/candidates.js";
import { fitTrial } from "../../../src/models/fit-trial.js";
import { modelKind } from "../../../src/models/kinds/index.js";
import { startTrialWorkers } from "../../../src/models/pool.js";
import {
  type SearchOptions,
  Slots,
  type TrialOutcome,
  trainCandidates,
  trialCost,
} from "../../../src/models/search.js";
import { medianCurve } from "../../../src/models/tpe.js";
import { ConfigError, WorkbenchError } from "../../../src/shared/errors.js";
import { rejectionOf, thrownBy } from "../../helpers/expect-error.js";
import { syntheticFitData } from "../../helpers/synthetic.js";

const options: SearchOptions = {
  seed: 21,
  selectionMetric: "f1_macro",
  classWeight: "none",
  earlyStopping: { patience: 10, minDelta: 0 },
};
const data = syntheticFitData(3, 300);
const range = (min: number, max: number, log = false) => ({ min, max, log, integer: false });
const fourTrials: CandidateSpec[] = [
  { kind: "logistic", params: { epochs: 3, batchSize: 64 }, grid: { l2: [0, 0.01] } },
  {
    kind: "mlp",
    params: { epochs: 2, hiddenUnits: [6], batchSize: 64 },
    random: { samples: 2, space: { dropout: range(0, 0.4), learningRate: range(1e-3, 1e-1, true) } },
  },
];

// The equivalence test adds a gbdt candidate (the TypeScript tree engine: no TensorFlow.js in its worker).
const withGbdt: CandidateSpec[] = [
  ...fourTrials,
  { kind: "gbdt", params: { rounds: 12, maxLeaves: 6, minSamplesLeaf: 5, subsample: 0.8, colsample: 0.8 } },
];

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const disposeAll = (outcomes: TrialOutcome[]) => {
  for (const o of outcomes) o.model.dispose();
};

afterEach(() => {
  delete process.env.WORKBENCH_TEST_CRASH_TRIAL;
});

describe("fitTrial", () => {
  it("the kind's data check fails before training: ConfigError naming training.candidates.<i>.params.<param>", async () => {
    const [trial] = planCandidates(
      [
        { kind: "logistic", params: {} },
        { kind: "knn", params: { k: 5000 } },
      ],
      1,
    )[1]!.trials as [Trial];
    const error = await rejectionOf(fitTrial(trial, data, options), ConfigError);
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toBe(
      "knn-1 (knn) cannot train on this data:\n  - training.candidates.1.params.k: k = 5000 is larger than the 300 training rows; use k ≤ 300.",
    );
    expect(error.details).toMatchObject({ fields: ["training.candidates.1.params.k"] });
  });

  it("trainCandidates runs the data checks before any trial starts", async () => {
    const started: string[] = [];
    const error = await rejectionOf(
      trainCandidates(
        [...fourTrials, { kind: "knn", params: { k: 5000 } }],
        data,
        { ...options, workers: 2 },
        { onTrialStart: (t) => started.push(t.id) },
      ),
      ConfigError,
    );
    expect(error.message).toContain("training.candidates.2.params.k");
    expect(started).toEqual([]);
  });
});

describe("Slots", () => {
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it("grant the costliest waiting request first (ties and equal costs in trial order), later ones competing too", async () => {
    const slots = new Slots(2);
    const granted: number[] = [];
    const request = (index: number, cost: number) =>
      void slots.acquire(index, cost).then(() => granted.push(index));
    request(0, 1);
    request(1, 5);
    request(2, 3);
    request(3, 5);
    request(4, 1);
    await settle();
    expect(granted).toEqual([1, 3]); // requested together: compared, not first come first served
    slots.release();
    await settle();
    expect(granted).toEqual([1, 3, 2]);
    request(5, 9); // arrives while 0 and 4 still wait
    slots.release();
    await settle();
    expect(granted).toEqual([1, 3, 2, 5]);
    slots.release();
    slots.release();
    await settle();
    expect(granted).toEqual([1, 3, 2, 5, 0, 4]);
  });
});

describe("trainCandidates", () => {
  it("with two workers the costliest trial starts first; with one, trial order; outcomes in trial order either way", async () => {
    const specs: CandidateSpec[] = [
      { kind: "logistic", params: { epochs: 2, batchSize: 64 }, grid: { l2: [0, 0.01] } },
      { kind: "mlp", params: { epochs: 8, hiddenUnits: [8], batchSize: 64 } },
    ];
    const run = async (workers: number) => {
      const starts: [string, number][] = [];
      const outcomes = await trainCandidates(
        specs,
        data,
        { ...options, workers },
        {
          onTrialStart: (t, index) => starts.push([t.id, index]),
        },
      );
      disposeAll(outcomes);
      return {
        starts,
        ids: outcomes.map((o) => o.trial.id),
        costs: outcomes.map((o) => trialCost(o.trial, data, 10)),
      };
    };
    const two = await run(2);
    expect(two.costs[2]).toBeGreaterThan(Math.max(two.costs[0]!, two.costs[1]!));
    expect(two.starts).toEqual([
      ["mlp-1", 2],
      ["logistic-1", 0],
      ["logistic-2", 1],
    ]);
    expect(two.ids).toEqual(["logistic-1", "logistic-2", "mlp-1"]);
    const one = await run(1);
    expect(one.starts).toEqual([
      ["logistic-1", 0],
      ["logistic-2", 1],
      ["mlp-1", 2],
    ]);
    expect(one.ids).toEqual(two.ids);
  });

  it("with worker threads a freed worker takes the next trial while `around` still logs the last one; in this thread, not", async () => {
    const specs: CandidateSpec[] = [
      {
        kind: "gbdt",
        params: { rounds: 3, maxLeaves: 4, minSamplesLeaf: 5 },
        grid: { learningRate: [0.1, 0.2, 0.3] },
      },
    ];
    const run = async (workers: number) => {
      const events: string[] = [];
      let started: () => void = () => {};
      const thirdStarted = new Promise<void>((resolve) => {
        started = resolve;
      });
      const outcomes = await trainCandidates(
        specs,
        data,
        { ...options, workers },
        {
          onTrialStart: (t, index) => {
            events.push(`start ${t.id}`);
            if (index === 2) started();
          },
          around: async (trial, train) => {
            const outcome = await train();
            events.push(`trained ${trial.id}`);
            // The first two trials' logging lasts until the third trial has started (or 5 s: no deadlock when it
            // cannot start — as with the slots held through `around`).
            if (trial.id !== "gbdt-3" && workers > 1)
              await Promise.race([thirdStarted, new Promise((r) => setTimeout(r, 5000))]);
            events.push(`end ${trial.id}`);
            return outcome;
          },
        },
      );
      disposeAll(outcomes);
      return events;
    };
    const two = await run(2);
    expect(two.indexOf("start gbdt-3")).toBeLessThan(two.indexOf("end gbdt-1"));
    const one = await run(1);
    expect(one).toEqual([
      "start gbdt-1",
      "trained gbdt-1",
      "end gbdt-1",
      "start gbdt-2",
      "trained gbdt-2",
      "end gbdt-2",
      "start gbdt-3",
      "trained gbdt-3",
      "end gbdt-3",
    ]);
  });

  it("takes workers started earlier, trains on them and closes them (also when a data check fails first)", async () => {
    const early = startTrialWorkers(2);
    const outcomes = await trainCandidates(fourTrials.slice(0, 1), data, { ...options, workers: early });
    disposeAll(outcomes);
    expect(outcomes.map((o) => o.trial.id)).toEqual(["logistic-1", "logistic-2"]);
    expect(thrownBy(() => early.start(data, options), Error).message).toBe("these trial workers were closed");

    const refused = startTrialWorkers(2);
    const error = await rejectionOf(
      trainCandidates([{ kind: "knn", params: { k: 5000 } }], data, { ...options, workers: refused }),
      ConfigError,
    );
    expect(error.code).toBe("CONFIG_INVALID");
    expect(thrownBy(() => refused.start(data, options), Error).message).toBe(
      "these trial workers were closed",
    );
  });

  it("two workers give what one does, bit for bit (logistic, mlp, gbdt), every trial through `around`", async () => {
    const run = async (workers: number) => {
      const calls: string[] = [];
      const notices: string[] = [];
      const starts: [string, number, number][] = [];
      const iterations = new Map<string, number>();
      const outcomes = await trainCandidates(
        withGbdt,
        data,
        { ...options, workers },
        {
          onTrialStart: (t, index, total) => starts.push([t.id, index, total]),
          onIteration: (t, record, planned) => {
            expect(planned).toBe(modelKind(t.kind).plannedIterations(t.params));
            iterations.set(t.id, record.iteration);
          },
          around: async (trial, train) => {
            calls.push(trial.id);
            return train();
          },
          onNotice: (m) => notices.push(m),
        },
      );
      return { outcomes, calls, notices, starts, iterations };
    };
    const one = await run(1);
    const two = await run(2);
    try {
      expect(two.notices).toEqual([]); // a worker pool, not the in-process fallback
      const ids = ["logistic-1", "logistic-2", "mlp-1", "mlp-2", "gbdt-1"];
      for (const r of [one, two]) {
        expect(r.outcomes.map((o) => o.trial.id)).toEqual(ids);
        expect([...r.calls].sort()).toEqual([...ids].sort());
        expect([...r.starts].sort((a, b) => a[1] - b[1])).toEqual(ids.map((id, i) => [id, i, 5]));
        expect(Object.fromEntries(r.iterations)).toEqual({
          "logistic-1": 3,
          "logistic-2": 3,
          "mlp-1": 2,
          "mlp-2": 2,
          "gbdt-1": r.outcomes[4]!.result.history.length,
        });
      }
      for (let i = 0; i < 5; i++) {
        const a = one.outcomes[i]!;
        const b = two.outcomes[i]!;
        expect(bytes(b.model.predict(data.validation)).equals(bytes(a.model.predict(data.validation)))).toBe(
          true,
        );
        expect(b.validation).toEqual(a.validation);
        expect(b.result.history.map((h) => h.valMetric)).toEqual(a.result.history.map((h) => h.valMetric));
        expect(b.trial).toEqual(a.trial);
      }
    } finally {
      disposeAll(one.outcomes);
      disposeAll(two.outcomes);
    }
  });

  it("returns outcomes in trial order when they complete in another order", async () => {
    const completed: string[] = [];
    let secondDone: () => void = () => {};
    const second = new Promise<void>((resolve) => {
      secondDone = resolve;
    });
    const outcomes = await trainCandidates(
      [{ kind: "logistic", params: { epochs: 2, batchSize: 64 }, grid: { l2: [0, 0.01] } }],
      data,
      { ...options, workers: 2 },
      {
        around: async (trial, train) => {
          const outcome = await train();
          if (trial.id === "logistic-1") await second; // the first trial finishes last
          completed.push(trial.id);
          if (trial.id === "logistic-2") secondDone();
          return outcome;
        },
      },
    );
    disposeAll(outcomes);
    expect(completed).toEqual(["logistic-2", "logistic-1"]);
    expect(outcomes.map((o) => o.trial.id)).toEqual(["logistic-1", "logistic-2"]);
  });

  it("a crashing worker fails the run with CANDIDATE_FAILED; the other trials still go through `around`", async () => {
    process.env.WORKBENCH_TEST_CRASH_TRIAL = "logistic-2";
    const delivered: TrialOutcome[] = [];
    const called: string[] = [];
    const error = await rejectionOf(
      trainCandidates(
        fourTrials,
        data,
        { ...options, workers: 2 },
        {
          around: async (trial, train) => {
            called.push(trial.id);
            const outcome = await train();
            delivered.push(outcome);
            return outcome;
          },
        },
      ),
      WorkbenchError,
    );
    expect(error.code).toBe("CANDIDATE_FAILED");
    expect(error.message).toBe(
      "candidate logistic-2 (logistic) failed in its worker: the worker exited with code 3",
    );
    expect([...called].sort()).toEqual(["logistic-1", "logistic-2", "mlp-1", "mlp-2"]);
    expect(delivered.map((o) => o.trial.id).sort()).toEqual(["logistic-1", "mlp-1", "mlp-2"]);
    for (const o of delivered) expect(o.result.history.length).toBeGreaterThan(0);
    // The run failed, so nobody gets these models: they were disposed.
    expect(() => delivered[0]!.model.predict(data.validation)).toThrow(/disposed/);
  });

  it("TPE with pruning: trailing trials are pruned (still an outcome), identically with one or two workers", async () => {
    const binary = syntheticFitData(2, 300);
    const tpe: CandidateSpec = {
      kind: "logistic",
      params: { epochs: 6, batchSize: 32 },
      tpe: {
        trials: 6,
        startup: 4,
        batch: 2,
        gamma: 0.25,
        candidates: 24,
        prune: { warmup: 2, minTrials: 2 },
        space: { learningRate: range(1e-5, 0.3, true) },
      },
    };
    const tpeOptions: SearchOptions = { ...options, seed: 4, selectionMetric: "log_loss" };
    const one = await trainCandidates([tpe], binary, { ...tpeOptions, workers: 1 });
    const two = await trainCandidates([tpe], binary, { ...tpeOptions, workers: 2 });
    try {
      const summary = (outcomes: TrialOutcome[]) =>
        outcomes.map((o) => ({
          id: o.trial.id,
          params: o.trial.params,
          pruned: o.result.pruned,
          history: o.result.history.map((h) => h.valMetric),
        }));
      expect(summary(two)).toEqual(summary(one));
      expect(one.map((o) => o.trial.id)).toEqual(Array.from({ length: 6 }, (_, i) => `logistic-${i + 1}`));
      const pruned = one.filter((o) => o.result.pruned);
      expect(pruned.length).toBeGreaterThan(0);
      expect(one.filter((o) => !o.result.pruned).length).toBeGreaterThan(2);
      for (const o of pruned) {
        const n = Number(o.trial.id.split("-")[1]);
        const stoppedAt = o.result.history.length;
        expect(stoppedAt).toBeGreaterThan(2); // not before the warmup
        expect(stoppedAt).toBeLessThan(6);
        // It trailed the median of the completed trials of the earlier batches at that iteration.
        const batchStart = Math.floor((n - 1) / 2) * 2;
        const earlier = one.slice(0, batchStart).filter((e) => !e.result.pruned);
        expect(earlier.length).toBeGreaterThanOrEqual(2);
        const curve = medianCurve(
          earlier.map((e) => e.result.history.map((h) => h.valMetric)),
          6,
          2,
          false,
        );
        const best = Math.min(...o.result.history.map((h) => h.valMetric));
        expect(best).toBeGreaterThan(curve[stoppedAt - 1]!);
        expect(Number.isFinite(o.validation.log_loss)).toBe(true);
      }
      // Suggestions move towards what worked: the model-based trials' best beats the random startup's best.
      const best = (os: TrialOutcome[]) => Math.min(...os.map((o) => o.validation.log_loss!));
      expect(best(one.slice(4))).toBeLessThan(best(one.slice(0, 4)));
    } finally {
      disposeAll(one);
      disposeAll(two);
    }
  });
});
