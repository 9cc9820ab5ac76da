// training.refit (src/models/refit.ts): the winner trained again on train + validation for exactly the iterations
// its early stopping kept, with its own seed; every kind says how to set its number of iterations.
import { describe, expect, it } from "vitest";
import type { FeatureMatrix } from "../../../src/features/preprocessor.js";
import type { Trial } from "../../../src/models/candidates.js";
import { fitTrial } from "../../../src/models/fit-trial.js";
import { KIND_NAMES, modelKind } from "../../../src/models/kinds/index.js";
import { concatRows, refitTrial } from "../../../src/models/refit.js";
import { syntheticFitData } from "../../helpers/synthetic.js";

const options = {
  seed: 5,
  selectionMetric: "roc_auc",
  classWeight: "none" as const,
  earlyStopping: { patience: 3, minDelta: 0 },
};
const data = syntheticFitData(2, 600);

function matrix(rows: number[][], texts?: string[]): FeatureMatrix {
  return {
    rows: rows.length,
    cols: 2,
    values: Float32Array.from(rows.flat()),
    featureNames: ["a", "b"],
    ...(texts === undefined ? {} : { texts: { note: texts } }),
  };
}

describe("concatRows", () => {
  it("stacks the rows of both matrices, text columns included", () => {
    const stacked = concatRows(
      matrix([[1, 2]], ["x"]),
      matrix(
        [
          [3, 4],
          [5, 6],
        ],
        ["y", "z"],
      ),
    );
    expect(stacked.rows).toBe(3);
    expect(Array.from(stacked.values)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(stacked.texts).toEqual({ note: ["x", "y", "z"] });
    expect(stacked.featureNames).toEqual(["a", "b"]);
  });

  it("refuses matrices with other columns", () => {
    const other: FeatureMatrix = {
      rows: 1,
      cols: 2,
      values: Float32Array.from([1, 2]),
      featureNames: ["a", "c"],
    };
    expect(() => concatRows(matrix([[1, 2]]), other)).toThrow("cannot stack matrices with different columns");
  });
});

describe("refitTrial", () => {
  const gbdt: Trial = {
    id: "gbdt-1",
    kind: "gbdt",
    params: modelKind("gbdt").params.parse({ rounds: 200, maxLeaves: 8, minSamplesLeaf: 5 }),
    candidate: 0,
  };

  it("trains exactly the kept rounds on train + validation, with the trial's seed: deterministic", async () => {
    const candidate = await fitTrial(gbdt, data, options);
    const kept = candidate.result.bestIteration;
    expect(candidate.result.stoppedEarly, "the fixture stops early").toBe(true);
    const first = await refitTrial(gbdt, kept, data, options);
    const second = await refitTrial(gbdt, kept, data, options);
    expect(first.trial.params.rounds).toBe(kept);
    expect(first.trial.id).toBe("gbdt-1");
    expect(first.fitted.result.history.length).toBe(kept);
    expect(first.fitted.result.bestIteration).toBe(kept);
    expect(first.fitted.model.summary()).toMatchObject({ rounds: kept });
    const p1 = first.fitted.model.predict(data.validation);
    expect(Array.from(second.fitted.model.predict(data.validation))).toEqual(Array.from(p1));
    // The validation rows are now training rows: the refit fits them better than the candidate did.
    const logLoss = (p: Float32Array) => {
      let s = 0;
      data.validationLabels.forEach((y, i) => {
        s -= Math.log(Math.max(1e-7, p[i * 2 + y]!));
      });
      return s / data.validationLabels.length;
    };
    expect(logLoss(p1)).toBeLessThan(logLoss(candidate.model.predict(data.validation)));
    for (const m of [candidate.model, first.fitted.model, second.fitted.model]) m.dispose();
  });

  it("refuses a number of iterations that is not a positive integer", async () => {
    await expect(refitTrial(gbdt, 0, data, options)).rejects.toThrow(
      "refit of gbdt-1: 0 is not a number of iterations",
    );
  });
});

describe("ModelKind.withIterations", () => {
  it.each(KIND_NAMES.map((k) => [k]))("%s: the params plan that many iterations and stay valid", (name) => {
    const kind = modelKind(name);
    const defaults = kind.params.parse({});
    const set = kind.withIterations(defaults, 7);
    expect(kind.params.parse(set)).toEqual(set);
    // Kinds with one iteration (a single tree, kNN's stored rows) keep their params.
    expect(kind.plannedIterations(set)).toBe(kind.plannedIterations(defaults) === 1 ? 1 : 7);
  });
});
