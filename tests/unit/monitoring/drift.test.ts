import { describe, expect, it } from "vitest";
import type { Table } from "../../../src/data/table.js";
import { CurrentAccumulator } from "../../../src/monitoring/current.js";
import { detectDrift, PREDICTION_COLUMN } from "../../../src/monitoring/drift.js";
import { buildReferenceProfile } from "../../../src/monitoring/profile.js";
import type { ReferenceProfile } from "../../../src/monitoring/types.js";
import { ConfigError } from "../../../src/shared/errors.js";
import { createRng } from "../../../src/shared/random.js";
import { thrownBy } from "../../helpers/expect-error.js";

interface Shift {
  /** Added to income, in units of its std (10). */
  income?: number;
  /** Share of "c" among the grades (0.2 in the reference). */
  gradeC?: number;
}

/** Rows of a small credit-like table: income ~ N(50, 10), age uniform 20–69, grade a/b/c, a yes/no flag. */
function rows(n: number, seed: number, shift: Shift = {}): Record<string, number | string | null>[] {
  const rng = createRng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const c = shift.gradeC ?? 0.2;
  return Array.from({ length: n }, () => {
    const u = rng();
    return {
      income: Math.round((50 + 10 * (normal() + (shift.income ?? 0))) * 100) / 100,
      age: 20 + Math.floor(rng() * 50),
      grade: u < c ? "c" : u < c + (1 - c) / 2 ? "a" : "b",
      flag: rng() < 0.3 ? "yes" : "no",
    };
  });
}

function tableOf(records: Record<string, number | string | null>[]): Table {
  return {
    rowCount: records.length,
    numeric: {
      income: Float64Array.from(records, (r) => Number(r.income)),
      age: Float64Array.from(records, (r) => Number(r.age)),
    },
    categorical: { grade: records.map((r) => String(r.grade)), flag: records.map((r) => String(r.flag)) },
    text: {},
    target: [],
    ids: {},
    lines: Int32Array.from(records, (_, i) => i + 2),
  };
}

function current(profile: ReferenceProfile, records: Record<string, unknown>[]): CurrentAccumulator {
  const acc = new CurrentAccumulator(profile);
  for (const r of records) acc.addRecord(r);
  return acc;
}

const big = buildReferenceProfile({ table: tableOf(rows(5000, 1)) });
const small = buildReferenceProfile({ table: tableOf(rows(800, 2)) });

function byColumn(summary: ReturnType<typeof detectDrift>) {
  return Object.fromEntries(summary.columns.map((c) => [c.column, c]));
}

describe("detectDrift, Evidently's defaults", () => {
  it("given a large reference and a sample of the same distribution, then no column drifts (distances)", () => {
    const summary = detectDrift(big, current(big, rows(3000, 99)));
    const columns = byColumn(summary);
    expect(columns.income?.test).toBe("wasserstein");
    expect(columns.age?.test).toBe("wasserstein");
    expect(columns.grade?.test).toBe("jensenshannon");
    expect(columns.flag?.test).toBe("jensenshannon");
    expect(summary.drifted, JSON.stringify(summary.columns.map((c) => [c.column, c.score]))).toBe(0);
    expect(summary.datasetDrift).toBe(false);
    expect(summary.share).toBe(0);
    expect(summary.reference).toEqual({ rows: 5000, split: "train" });
    expect(summary.current).toEqual({ rows: 3000 });
    for (const c of summary.columns) {
      expect(c.psi?.band, `${c.column} PSI`).toBe("none");
      expect(c.exact).toBe(true);
    }
  });

  it("given a small reference and a resample of it, then the tests (ks, chi2, z) find no drift at p < 0.05", () => {
    const rng = createRng(5);
    const source = rows(800, 2);
    const resample = Array.from({ length: 600 }, () => source[Math.floor(rng() * source.length)]!);
    const summary = detectDrift(small, current(small, resample));
    const columns = byColumn(summary);
    expect([columns.income?.test, columns.age?.test, columns.grade?.test, columns.flag?.test]).toEqual([
      "ks",
      "ks",
      "chi2",
      "z",
    ]);
    for (const c of summary.columns) {
      expect(c.pValue, `${c.column} p`).toBeGreaterThan(0.05);
      expect(c.adjustedPValue).toBe(c.pValue);
    }
    expect(summary.datasetDrift).toBe(false);
  });

  it("given shifted income and grades, then those columns drift, the others do not, and the dataset drifts at 0.5", () => {
    const summary = detectDrift(big, current(big, rows(3000, 7, { income: 0.8, gradeC: 0.5 })));
    const columns = byColumn(summary);
    expect(columns.income?.drift).toBe(true);
    expect(columns.income?.score, "normed W1 ≈ 0.8").toBeGreaterThan(0.7);
    expect(columns.grade?.drift).toBe(true);
    expect(columns.age?.drift).toBe(false);
    expect(columns.flag?.drift).toBe(false);
    expect(summary.drifted).toBe(2);
    expect(summary.share).toBe(0.5);
    expect(summary.datasetDrift, "share 0.5 >= driftShare 0.5").toBe(true);
    expect(columns.income?.psi?.band).toBe("significant");
    expect(columns.income?.current.mean).toBeGreaterThan(columns.income!.reference.mean! + 4);
  });

  it("given a small shift, then PSI bands follow the configured cut-offs", () => {
    const shifted = current(big, rows(3000, 8, { income: 0.35 }));
    const income = (o: Parameters<typeof detectDrift>[2]) => byColumn(detectDrift(big, shifted, o)).income!;
    const value = income({}).psi!.value;
    expect(value).toBeGreaterThan(0.05);
    expect(income({ psi: { moderate: value / 2, significant: value * 2 } }).psi?.band).toBe("moderate");
    expect(income({ psi: { moderate: value / 4, significant: value / 2 } }).psi?.band).toBe("significant");
    expect(income({ psi: { moderate: value * 2, significant: value * 3 } }).psi?.band).toBe("none");
    expect(income({ psi: { enabled: false } }).psi).toBeUndefined();
  });

  it("applies the dataset drift rule with the configured driftShare", () => {
    const acc = current(big, rows(3000, 9, { income: 0.6 }));
    expect(detectDrift(big, acc).drifted).toBe(1);
    expect(detectDrift(big, acc).datasetDrift, "1 of 4 < 0.5").toBe(false);
    expect(detectDrift(big, acc, { driftShare: 0.25 }).datasetDrift, "1 of 4 >= 0.25").toBe(true);
    const subset = detectDrift(big, acc, { columns: ["income", "age"] });
    expect(subset.columns.map((c) => c.column)).toEqual(["income", "age"]);
    expect(subset.share).toBe(0.5);
    expect(subset.datasetDrift).toBe(true);
  });
});

describe("detectDrift, options", () => {
  const acc = current(big, rows(2000, 11, { income: 0.05 }));

  it("given a global stattest and per-column overrides, then each column uses its own, with its threshold", () => {
    const summary = detectDrift(big, acc, {
      stattest: "psi",
      threshold: 0.2,
      perColumn: { income: { stattest: "ks", threshold: 0.01 }, grade: { stattest: "chi2" } },
    });
    const columns = byColumn(summary);
    expect([columns.income?.test, columns.income?.threshold]).toEqual(["ks", 0.01]);
    expect([columns.grade?.test, columns.grade?.threshold]).toEqual(["chi2", 0.2]);
    expect([columns.age?.test, columns.age?.threshold]).toEqual(["psi", 0.2]);
    expect(columns.age?.pValue).toBeUndefined();
    expect(columns.income?.pValue).toBeGreaterThan(0);
  });

  it("given a correction, then p-values are adjusted over the tested columns and the verdict reads the adjusted value", () => {
    const drifting = current(small, rows(600, 12, { income: 0.2 }));
    const plain = detectDrift(small, drifting);
    const bonferroni = detectDrift(small, drifting, { correction: "bonferroni" });
    expect(bonferroni.correction).toBe("bonferroni");
    const m = plain.columns.length;
    for (const [i, c] of bonferroni.columns.entries()) {
      const raw = plain.columns[i]!.pValue!;
      expect(c.pValue).toBe(raw);
      expect(c.adjustedPValue).toBeCloseTo(Math.min(1, raw * m), 12);
      expect(c.score).toBe(c.adjustedPValue);
      const p = c.adjustedPValue!;
      expect(c.drift, "KS drifts at p <= 0.05, chi-square and z at p < 0.05").toBe(
        c.test === "ks" ? p <= 0.05 : p < 0.05,
      );
    }
    const holm = detectDrift(small, drifting, { correction: "holm" });
    const bh = detectDrift(small, drifting, { correction: "bh" });
    for (const [i, c] of holm.columns.entries()) {
      expect(c.adjustedPValue!).toBeLessThanOrEqual(bonferroni.columns[i]!.adjustedPValue! + 1e-15);
      expect(bh.columns[i]!.adjustedPValue!).toBeLessThanOrEqual(c.adjustedPValue! + 1e-15);
    }
    expect(byColumn(plain).income?.drift, "income drifts uncorrected").toBe(true);
  });

  it("given a numbers-only test for a categorical column, then a ConfigError naming the field", () => {
    const error = thrownBy(
      () => detectDrift(big, acc, { perColumn: { grade: { stattest: "wasserstein" } } }),
      ConfigError,
    );
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toMatch(
      /^Drift options: perColumn\.grade\.stattest is wasserstein, which needs numbers, but column "grade" is categorical/,
    );
    const global = thrownBy(() => detectDrift(big, acc, { stattest: "ks" }), ConfigError);
    expect(global.message).toMatch(
      /^Drift options: stattest is ks, which needs numbers, but column "grade" is categorical/,
    );
  });

  it("given unknown columns, then a ConfigError listing the profile's columns", () => {
    const columns = thrownBy(() => detectDrift(big, acc, { columns: ["income", "salary"] }), ConfigError);
    expect(columns.message).toBe(
      'Drift options: columns names "salary", which the reference profile does not have (it has income, age, grade, flag).',
    );
    const override = thrownBy(
      () => detectDrift(big, acc, { perColumn: { salary: { threshold: 0.2 } } }),
      ConfigError,
    );
    expect(override.message).toMatch(
      /^Drift options: perColumn\.salary names a column the reference profile does not have/,
    );
  });

  it("given invalid option values, then a ConfigError with each field's path", () => {
    const error = thrownBy(
      () =>
        detectDrift(big, acc, {
          driftShare: 1.5,
          correction: "sidak" as "bh",
          psi: { moderate: 0.3, significant: 0.2 },
          perColumn: { income: { stattest: "t-test" as "ks" } },
          unknown: true,
        } as Parameters<typeof detectDrift>[2]),
      ConfigError,
    );
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toMatch(/^drift options are invalid:\n/);
    expect(error.message).toMatch(/ {2}- driftShare: Number must be less than or equal to 1/);
    expect(error.message).toMatch(/ {2}- correction: Invalid enum value/);
    expect(error.message).toMatch(/ {2}- psi\.significant: psi\.significant must be at least psi\.moderate/);
    expect(error.message).toMatch(/ {2}- perColumn\.income\.stattest: Invalid enum value/);
    expect(error.message).toMatch(/ {2}- \(root\): Unrecognized key\(s\) in object: 'unknown'/);
  });

  it("given an accumulator of another profile, then MONITOR_PROFILE_MISMATCH", () => {
    const other = CurrentAccumulator.forColumns([{ name: "income", type: "numeric" }]);
    const error = thrownBy(() => detectDrift(big, other));
    expect(error.code).toBe("MONITOR_PROFILE_MISMATCH");
    expect(error.message).toMatch(/accumulated for other columns than the reference profile's/);
  });
});

describe("detectDrift, data quality and empty columns", () => {
  it("counts invalid, out-of-range and unseen values per column beside the test", () => {
    const records: Record<string, unknown>[] = rows(1500, 21);
    records.push(
      { income: "n/a?", age: 250, grade: "z", flag: true },
      { income: -1000, age: "", grade: "z", flag: "maybe" },
    );
    const columns = byColumn(detectDrift(big, current(big, records)));
    expect(columns.income).toMatchObject({ invalid: 1, outOfRange: 1 });
    expect(columns.age).toMatchObject({ invalid: 0, outOfRange: 1 });
    expect(columns.age?.current.missing).toBe(1);
    expect(columns.grade).toMatchObject({ unseen: 2, invalid: 0 });
    expect(columns.flag).toMatchObject({ unseen: 1, invalid: 1 });
  });

  it("given a column with no current values, then it is skipped and left out of the share", () => {
    const records = rows(1500, 22).map((r) => ({ ...r, age: null }));
    const summary = detectDrift(big, current(big, records));
    const age = byColumn(summary).age!;
    expect(age.skipped).toBe("no non-missing current values");
    expect(age.drift).toBe(false);
    expect(age.score).toBeNaN();
    expect(summary.columns.length).toBe(4);
    expect(summary.share).toBe(0);
  });

  it("draws histograms on shared edges for continuous columns and bars (top categories + other) otherwise", () => {
    const columns = byColumn(detectDrift(big, current(big, rows(1000, 23))));
    const plot = columns.income!.plot;
    if (plot.kind !== "histogram") throw new Error("income is a histogram");
    expect(plot.edges.length).toBe(plot.reference.length + 1);
    expect(plot.reference.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(plot.current.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const grade = columns.grade!.plot;
    expect(grade).toMatchObject({ kind: "bars", categories: ["a", "b", "c"] });
    expect(columns.grade?.reference.top?.[0]?.category).toBe("a");
  });

  it("gives more than 20 categories as the top 20 and 'other'", () => {
    const names = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    const profile = CurrentAccumulator.forColumns([{ name: "k", type: "categorical" }]);
    for (let i = 0; i < 3000; i++) profile.addRecord({ k: names[i % (i % 2 === 0 ? 30 : 5)] });
    const reference = profile.toProfile({ split: "train", rows: 3000 });
    const acc = new CurrentAccumulator(reference);
    for (let i = 0; i < 300; i++) acc.addRecord({ k: names[i % 30] });
    const plot = detectDrift(reference, acc).columns[0]!.plot;
    if (plot.kind !== "bars") throw new Error("bars");
    expect(plot.categories.length).toBe(21);
    expect(plot.categories.at(-1)).toBe("other (10)");
    // k00, k02, k04: 350 reference rows each; k01, k03: 300; the other even ones 50.
    expect(plot.categories.slice(0, 5)).toEqual(["k00", "k02", "k04", "k01", "k03"]);
    expect(plot.reference.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});

describe("detectDrift, predictions", () => {
  const scored = (n: number, seed: number, shift: number) => {
    const rng = createRng(seed);
    const probabilities = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const p = Math.min(0.999, Math.max(0.001, rng() ** (2 - shift)));
      probabilities[2 * i] = 1 - p;
      probabilities[2 * i + 1] = p;
    }
    return probabilities;
  };
  const table = tableOf(rows(2000, 31));
  const profile = buildReferenceProfile({
    table,
    predictions: { probabilities: scored(2000, 32, 0), classes: ["no", "yes"], threshold: 0.5 },
  });

  function withPredictions(probabilities: Float32Array): CurrentAccumulator {
    const acc = current(profile, rows(probabilities.length / 2, 33));
    for (let i = 0; i < probabilities.length / 2; i++) {
      const p = probabilities[2 * i + 1]!;
      acc.addPrediction([1 - p, p], p >= 0.5 ? "yes" : "no");
    }
    return acc;
  }

  it("given scores of the same distribution, then neither labels nor score drift", () => {
    const predictions = detectDrift(profile, withPredictions(scored(1500, 34, 0))).predictions!;
    expect(predictions.labels.column).toBe(PREDICTION_COLUMN);
    expect(predictions.score.column).toBe("probability_yes");
    expect(predictions.labels.drift).toBe(false);
    expect(predictions.score.drift).toBe(false);
    expect(predictions.score.test).toBe("wasserstein");
  });

  it("given higher scores, then the score and the labels drift, and they do not count in the feature share", () => {
    const summary = detectDrift(profile, withPredictions(scored(1500, 35, 1)));
    expect(summary.predictions?.score.drift).toBe(true);
    expect(summary.predictions?.labels.drift).toBe(true);
    expect(summary.drifted).toBe(0);
  });

  it("given no predictions on the current side, or predictions turned off, then no predictions part", () => {
    expect(detectDrift(profile, current(profile, rows(100, 36))).predictions).toBeUndefined();
    expect(
      detectDrift(profile, withPredictions(scored(100, 37, 0)), { predictions: false }).predictions,
    ).toBeUndefined();
  });
});

describe("detectDrift, text columns", () => {
  const topics = {
    cards: ["card", "fee", "charge", "statement", "interest", "limit", "payment", "late"],
    mortgages: ["mortgage", "escrow", "house", "foreclosure", "servicer", "loan", "appraisal", "closing"],
  };
  function texts(n: number, seed: number, words: readonly string[]): string[] {
    const rng = createRng(seed);
    return Array.from({ length: n }, () =>
      Array.from({ length: 6 + Math.floor(rng() * 6) }, () => words[Math.floor(rng() * words.length)]).join(
        " ",
      ),
    );
  }
  function textTable(values: string[]): Table {
    return { ...tableOf(rows(values.length, 41)), text: { note: values } };
  }
  const profile = buildReferenceProfile({ table: textTable(texts(400, 42, topics.cards)) });

  function withTexts(values: string[]): CurrentAccumulator {
    const acc = new CurrentAccumulator(profile);
    const base = rows(values.length, 43);
    for (const [i, note] of values.entries()) acc.addRecord({ ...base[i], note });
    return acc;
  }

  it("given texts of the same topic, then the domain classifier finds no drift; of another topic, it does", () => {
    const same = byColumn(detectDrift(profile, withTexts(texts(300, 44, topics.cards)))).note!;
    expect(same.type).toBe("text");
    expect(same.text?.drift, `AUC ${same.text?.auc}`).toBe(false);
    expect(same.score).toBe(same.text?.auc);
    const other = byColumn(detectDrift(profile, withTexts(texts(300, 45, topics.mortgages)))).note!;
    expect(other.drift).toBe(true);
    expect(other.text?.auc).toBeGreaterThan(0.9);
    expect(other.text?.oov.current).toBeGreaterThan(0.5);
    expect(other.plot.kind, "the report draws text lengths").toBe("histogram");
  });

  it("given too few current texts for the classifier, then the lengths decide and a note says why", () => {
    const column = byColumn(detectDrift(profile, withTexts(texts(5, 46, topics.cards)))).note!;
    expect(column.text).toBeUndefined();
    expect(column.test).toBe("ks");
    expect(column.note).toMatch(
      /needs at least 10 non-missing texts per side.*Compared text lengths instead\.$/,
    );
  });

  it("given a number for a text column, then it is invalid", () => {
    const acc = new CurrentAccumulator(profile);
    acc.addRecord({ note: 42 });
    acc.addRecord({ note: "card fee" });
    expect(acc.column(acc.columnIndex("note")!).invalid).toBe(1);
  });
});
