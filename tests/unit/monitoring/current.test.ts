import { describe, expect, it } from "vitest";
import {
  CurrentAccumulator,
  OVERFLOW_CATEGORY,
  scoreName,
  scoreOf,
} from "../../../src/monitoring/current.js";
import type { ReferenceProfile } from "../../../src/monitoring/types.js";
import { ConfigError, WorkbenchError } from "../../../src/shared/errors.js";
import { thrownBy } from "../../helpers/expect-error.js";

/** A small reference: amount in [10, 20], grade in {a, b}, and binary predictions. */
function reference(): ReferenceProfile {
  return {
    formatVersion: 1,
    createdAt: "2026-01-01T00:00:00.000Z",
    source: { split: "train", rows: 4 },
    columns: [
      {
        name: "amount",
        type: "numeric",
        rows: 4,
        missing: 0,
        min: 10,
        max: 20,
        mean: 15,
        std: 4,
        distinct: 3,
        exact: true,
        distribution: { values: [10, 15, 20], counts: [1, 2, 1] },
      },
      { name: "grade", type: "categorical", rows: 4, missing: 1, counts: { a: 2, b: 1 } },
    ],
    predictions: {
      classes: ["no", "yes"],
      rows: 4,
      labels: { no: 3, yes: 1 },
      score: {
        name: "probability_yes",
        distribution: { values: [0.1, 0.7], counts: [3, 1] },
        exact: true,
        std: 0.26,
      },
    },
  };
}

describe("CurrentAccumulator on a reference", () => {
  it("given numeric fields, then missing tokens are missing, unparsable ones invalid, outside [min, max] out of range", () => {
    const acc = new CurrentAccumulator(reference());
    const amount = acc.columnIndex("amount")!;
    for (const raw of ["12", " 15 ", "NA", "", "null", "abc", "0x10", "1e400", "25", "9.5", "-Infinity"]) {
      acc.addString(amount, raw);
      acc.endRow();
    }
    const column = acc.column(amount);
    expect(acc.rows).toBe(11);
    expect(column.present, "12, 15, 25, 9.5").toBe(4);
    expect(column.invalid, "abc, 0x10, 1e400, -Infinity are refused, not dropped").toBe(4);
    expect(column.outOfRange, "25 and 9.5 lie outside [10, 20]").toBe(2);
    expect(Array.from(acc.numericSummary(amount).weighted.values)).toEqual([9.5, 12, 15, 25]);
  });

  it("given numbers, then NaN is missing and infinities are invalid", () => {
    const acc = new CurrentAccumulator(reference());
    acc.addNumber(0, Number.NaN);
    acc.addNumber(0, Number.POSITIVE_INFINITY);
    acc.addNumber(0, 20);
    acc.endRow();
    expect(acc.column(0)).toMatchObject({ present: 1, invalid: 1, outOfRange: 0 });
  });

  it("given categories, then they are keyed like the manifest's codes and unseen ones are counted per row", () => {
    const acc = new CurrentAccumulator(reference());
    const grade = acc.columnIndex("grade")!;
    for (const raw of ["a", " a ", "c", "c", "NA", "b"]) acc.addString(grade, raw);
    acc.addNumber(grade, 2);
    acc.addString(grade, "02");
    acc.addString(grade, "2.0");
    const column = acc.column(grade);
    expect(column.present).toBe(8);
    expect(column.unseen, "c twice and category 2 three times").toBe(5);
    expect(Object.fromEntries(acc.categoryCounts(grade))).toEqual({ a: 2, c: 2, b: 1, "2": 3 });
  });

  it("given the manifest's recodes, then raw codes count as the recoded category, in every input path, not as unseen", () => {
    const acc = new CurrentAccumulator(reference());
    const grade = acc.columnIndex("grade")!;
    acc.recodeCategories({ grade: { "2": "a", z: "b" }, amount: { "1": "x" }, missing: { q: "r" } });
    acc.addString(grade, "2.0");
    acc.addNumber(grade, 2);
    acc.addStrings(grade, "z", 3);
    acc.addRecord({ amount: 1, grade: "02" });
    expect(acc.column(grade)).toMatchObject({ present: 6, unseen: 0 });
    expect(Object.fromEntries(acc.categoryCounts(grade))).toEqual({ a: 3, b: 3 });
    expect(acc.column(0), "a numeric column is never recoded").toMatchObject({ present: 1, invalid: 0 });
  });

  it("given JSON records, then null and absent are missing, numeric strings parse, booleans and objects are invalid", () => {
    const acc = new CurrentAccumulator(reference());
    acc.addRecord({ amount: 11, grade: "a" });
    acc.addRecord({ amount: "13.5", grade: null });
    acc.addRecord({ grade: "b" });
    acc.addRecord({ amount: true, grade: { x: 1 } });
    acc.addRecord({ amount: [1], grade: false });
    acc.addRecord({ amount: "twelve", grade: 7 });
    expect(acc.rows).toBe(6);
    expect(acc.column(0)).toMatchObject({ present: 2, invalid: 3 });
    expect(acc.column(1)).toMatchObject({ present: 3, invalid: 2, unseen: 1 });
  });

  it("given more categories than maxCategories, then the rest are counted together, still as unseen rows", () => {
    const acc = new CurrentAccumulator(reference(), { maxCategories: 3 });
    for (const raw of ["a", "b", "c", "d", "e", "d", "a"]) acc.addString(1, raw);
    expect(Object.fromEntries(acc.categoryCounts(1))).toEqual({ a: 2, b: 1, c: 1, [OVERFLOW_CATEGORY]: 3 });
    expect(acc.column(1).unseen).toBe(4);
  });

  it("addStrings(raw, count) counts exactly as count addString calls: categories, overflow, unseen, missing", () => {
    // Runs of repeated values (as the CSV reader's tallies hand them over), past maxCategories, with missing tokens.
    const runs: [string, number][] = [
      ["a", 3],
      [" b ", 2],
      ["", 4],
      ["c", 1],
      ["NA", 2],
      ["d", 5],
      ["a", 2],
      ["e", 3],
      ["d", 1],
      ["(other categories)", 2],
      ["f", 0],
      ["b", 7],
    ];
    for (const maxCategories of [1, 2, 3, 4, 10]) {
      const one = new CurrentAccumulator(reference(), { maxCategories });
      const bulk = new CurrentAccumulator(reference(), { maxCategories });
      for (const [raw, count] of runs) {
        for (let i = 0; i < count; i++) one.addString(1, raw);
        bulk.addStrings(1, raw, count);
      }
      expect([...bulk.categoryCounts(1)]).toEqual([...one.categoryCounts(1)]);
      expect(bulk.column(1)).toEqual(one.column(1));
    }
  });

  it("given predictions, then labels and the positive class's score are counted; NaN probabilities are invalid", () => {
    const acc = new CurrentAccumulator(reference());
    acc.addPrediction([0.8, 0.2], "no");
    acc.addPrediction(Float64Array.of(0.3, 0.7), "yes");
    acc.addPrediction([Number.NaN, Number.NaN], "yes");
    const summary = acc.predictionSummary()!;
    expect(acc.predictions).toBe(3);
    expect(summary.invalid).toBe(1);
    expect(Object.fromEntries(summary.labels)).toEqual({ no: 1, yes: 1 });
    expect(Array.from(summary.score.weighted.values)).toEqual([0.2, 0.7]);
  });

  it("reset forgets rows, counts and predictions", () => {
    const acc = new CurrentAccumulator(reference());
    acc.addRecord({ amount: 99, grade: "z" });
    acc.addPrediction([0.5, 0.5], "yes");
    acc.reset();
    expect(acc.rows).toBe(0);
    expect(acc.column(0)).toMatchObject({ present: 0, outOfRange: 0 });
    expect(acc.column(1)).toMatchObject({ present: 0, unseen: 0 });
    expect(acc.predictionSummary()).toBeUndefined();
  });

  it("given a column index it does not watch, then MONITOR_COLUMN_UNKNOWN", () => {
    const acc = new CurrentAccumulator(reference());
    expect(acc.columnIndex("nope")).toBeUndefined();
    const error = thrownBy(() => acc.addString(5, "1"));
    expect(error.code).toBe("MONITOR_COLUMN_UNKNOWN");
    expect(error.message).toMatch(/index 5 is out of range: the accumulator watches 2 columns/);
    expect(thrownBy(() => acc.addMissing(-1)).code).toBe("MONITOR_COLUMN_UNKNOWN");
    expect(thrownBy(() => acc.addNumber(2, 1)).code).toBe("MONITOR_COLUMN_UNKNOWN");
  });

  it("given a column of another type, then MONITOR_COLUMN_TYPE names it", () => {
    const acc = new CurrentAccumulator(reference());
    const error = thrownBy(() => acc.categoryCounts(0));
    expect(error.code).toBe("MONITOR_COLUMN_TYPE");
    expect(error.message).toBe('Column "amount" is numeric, not categorical.');
  });

  it("given bad options, then a ConfigError naming the field", () => {
    const error = thrownBy(() => new CurrentAccumulator(reference(), { maxCategories: 0 }), ConfigError);
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toMatch(/accumulator options are invalid:\n {2}- maxCategories: /);
  });
});

describe("CurrentAccumulator.forColumns (profiles)", () => {
  it("given rows, then toProfile holds every column with rows, missing (invalid included) and its distribution", () => {
    const acc = CurrentAccumulator.forColumns(
      [
        { name: "x", type: "numeric" },
        { name: "c", type: "categorical" },
      ],
      { classes: ["n", "y"] },
    );
    acc.addRecord({ x: 1, c: "u" });
    acc.addRecord({ x: "2", c: "v" });
    acc.addRecord({ x: "oops", c: null });
    acc.addRecord({ x: 2, c: "u" });
    acc.addPrediction([0.9, 0.1], "n");
    const profile = acc.toProfile({ split: "stream", rows: 4 });
    const [x] = profile.columns;
    expect(x).toMatchObject({
      name: "x",
      type: "numeric",
      rows: 4,
      missing: 1,
      min: 1,
      max: 2,
      distinct: 2,
      exact: true,
      distribution: { values: [1, 2], counts: [1, 2] },
    });
    if (x?.type !== "numeric") throw new Error("x is numeric");
    expect(x.mean).toBeCloseTo(5 / 3, 12);
    expect(x.std, "population std").toBeCloseTo(Math.sqrt(2 / 9), 12);
    expect(profile.columns[1]).toEqual({
      name: "c",
      type: "categorical",
      rows: 4,
      missing: 1,
      counts: { u: 2, v: 1 },
    });
    expect(profile.predictions).toMatchObject({ classes: ["n", "y"], rows: 1, labels: { n: 1 } });
    expect(profile.predictions?.score.name).toBe("probability_y");
  });

  it("given no values at all, then a numeric column profiles as all missing", () => {
    const acc = CurrentAccumulator.forColumns([{ name: "x", type: "numeric" }]);
    acc.endRow();
    const [column] = acc.toProfile({ split: "s", rows: 1 }).columns;
    expect(column).toMatchObject({
      rows: 1,
      missing: 1,
      distinct: 0,
      distribution: { values: [], counts: [] },
    });
  });

  it("given a column listed twice, then PROFILE_INVALID", () => {
    const error = thrownBy(() =>
      CurrentAccumulator.forColumns([
        { name: "x", type: "numeric" },
        { name: "x", type: "categorical" },
      ]),
    );
    expect(error).toBeInstanceOf(WorkbenchError);
    expect(error.code).toBe("PROFILE_INVALID");
    expect(error.message).toBe('Column "x" is listed twice; name each column once.');
  });
});

describe("scores", () => {
  it("binary: the second class's probability; multiclass: the top one", () => {
    expect(scoreOf([0.3, 0.7])).toBe(0.7);
    expect(scoreOf([0.2, 0.5, 0.3])).toBe(0.5);
    expect(scoreName(["a", "b"])).toBe("probability_b");
    expect(scoreName(["a", "b", "c"])).toBe("top_class_probability");
  });
});

describe("CurrentAccumulator against a compressed reference column", () => {
  it("bins current values from 8,192 distinct values on (exact counts could not make the test exact)", () => {
    const profiler = CurrentAccumulator.forColumns([{ name: "x", type: "numeric" }], { maxPoints: 1000 });
    for (let i = 0; i < 5000; i++) profiler.addRecord({ x: i / 3 });
    const profile = profiler.toProfile({ split: "train", rows: 5000 });
    expect(profile.columns[0]).toMatchObject({ exact: false });
    const compressed = new CurrentAccumulator(profile);
    const exactReference = new CurrentAccumulator(
      CurrentAccumulator.forColumns([{ name: "x", type: "numeric" }]).toProfile({ split: "train", rows: 0 }),
    );
    for (let i = 0; i < 10_000; i++) {
      compressed.addNumber(0, i / 7);
      exactReference.addNumber(0, i / 7);
    }
    expect(compressed.numericSummary(0).exact).toBe(false);
    expect(compressed.numericSummary(0).weighted.values.length).toBeLessThanOrEqual(8192);
    expect(exactReference.numericSummary(0).exact, "an exact reference keeps current counts exact").toBe(
      true,
    );
  });
});
