// The rules of `npm run bench:monitor`'s comparison lines (no monitor, no Evidently).
import { describe, expect, it } from "vitest";
import {
  type ColumnVerdict,
  flagsLine,
  goalLine,
  medianRun,
  ratioLines,
  relativeDifference,
} from "../../../bench/monitor-report.js";

const common = { bench: "monitor", dataset: "credit-default" };
const verdict = (column: string, test: string, score: number, drift: boolean): ColumnVerdict => ({
  column,
  test,
  score,
  threshold: test === "wasserstein" || test === "jensenshannon" ? 0.1 : 0.05,
  drift,
});

describe("bench:monitor ratio lines", () => {
  it("given both sides, speed and memory are Evidently / ours (> 1: ours faster / smaller), total and compute", () => {
    const lines = ratioLines(
      common,
      { seconds: 2, peak_rss_mb: 200 },
      { seconds_compute: 30, seconds_total: 40, peak_rss_mb: 3000 },
    );
    expect(
      lines.map((l) => [l.metric, l.value]),
      "one line per metric with its ratio",
    ).toEqual([
      ["seconds", 20],
      ["seconds_compute", 15],
      ["peak_rss_mb", 15],
    ]);
    expect(String(lines[0]!.meaning), "speed says which way is better").toContain(">1 means ours is faster");
    expect(String(lines[2]!.meaning), "memory says which way is better").toContain(
      ">1 means ours is smaller",
    );
    expect(
      lines.every((l) => l.bench === "monitor"),
      "the common fields on every line",
    ).toBe(true);
  });

  it("given a zero or missing measurement, the ratio is null rather than Infinity or NaN", () => {
    const lines = ratioLines(
      common,
      { seconds: 0, peak_rss_mb: Number.NaN },
      { seconds_compute: 1, seconds_total: 2, peak_rss_mb: 10 },
    );
    expect(
      lines.map((l) => l.value),
      "no ratio without a positive denominator",
    ).toEqual([null, null, null]);
  });
});

describe("bench:monitor flags line", () => {
  const evidently = [
    verdict("AGE", "wasserstein", 0.33, true),
    verdict("SEX", "jensenshannon", 0.001, false),
    verdict("PAY_0", "jensenshannon", 0.2, true),
  ];

  it("given the same flags on the same columns, identical is true and both drifted lists agree", () => {
    const ours = [
      verdict("AGE", "wasserstein", 0.3300001, true),
      verdict("SEX", "jensenshannon", 0.001, false),
      verdict("PAY_0", "jensenshannon", 0.2, true),
    ];
    const line = flagsLine(common, ours, evidently, { ours: false, evidently: false });
    expect(line.identical, "same flags, same dataset verdict").toBe(true);
    expect(line.ours_drifted, "our drifted columns").toEqual(["AGE", "PAY_0"]);
    expect(line.evidently_drifted, "Evidently's drifted columns").toEqual(["AGE", "PAY_0"]);
    expect(line.differing, "no column differs").toEqual([]);
    const age = (line.columns as { column: string; score_relative_difference: number }[]).find(
      (c) => c.column === "AGE",
    )!;
    expect(age.score_relative_difference, "1e-7 / 0.3300001, to 3 significant digits").toBe(3.03e-7);
  });

  it("given one flag that differs, a test chosen differently and a column one side lacks, each is named", () => {
    const ours = [
      verdict("AGE", "ks", 0.01, true),
      verdict("SEX", "jensenshannon", 0.12, true),
      verdict("EXTRA", "wasserstein", 0.5, true),
    ];
    const line = flagsLine(common, ours, evidently, { ours: true, evidently: false });
    expect(line.identical, "flags differ").toBe(false);
    expect(line.differing, "SEX's flag differs, PAY_0 and EXTRA are on one side only").toEqual([
      "SEX",
      "EXTRA",
      "PAY_0",
    ]);
    expect(line.tests_differing, "AGE: ks against wasserstein").toEqual(["AGE"]);
  });

  it("given the same column flags but another dataset verdict, identical is false", () => {
    const line = flagsLine(common, evidently, evidently, { ours: true, evidently: false });
    expect(line.identical, "the dataset verdict is part of the comparison").toBe(false);
    expect(line.differing, "no column differs").toEqual([]);
  });
});

describe("bench:monitor goal line", () => {
  const full = { rows: 1_000_000, referenceRows: 1_000_000 };

  it("given ours under 3 s and 300 MB with identical flags, the goal is met; each part is reported alone", () => {
    expect(goalLine(common, { seconds: 2.9, peak_rss_mb: 299 }, true, full).met, "all three met").toBe(true);
    const slow = goalLine(common, { seconds: 3, peak_rss_mb: 120 }, true, full);
    expect([slow.seconds_met, slow.memory_met, slow.flags_met, slow.met], "3 s is not under 3 s").toEqual([
      false,
      true,
      true,
      false,
    ]);
    const failed = goalLine(common, undefined, undefined, full);
    expect(
      [failed.seconds_met, failed.memory_met, failed.flags_met, failed.met],
      "a failed run meets nothing",
    ).toEqual([null, null, null, false]);
  });

  it("given a run smaller than the goal's size, the parts are reported but the goal is not met, and the line says why", () => {
    const small = goalLine(common, { seconds: 0.5, peak_rss_mb: 90 }, true, {
      rows: 2000,
      referenceRows: 1_000_000,
    });
    expect([small.seconds_met, small.memory_met, small.flags_met, small.met], "parts met, goal not").toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(small.note, "the line names the size").toBe(
      "not the goal's size (2000 current x 1000000 reference rows)",
    );
  });

  it("the median run is the middle one by its key (the lower middle for an even count), none for no runs", () => {
    const runs = [{ s: 5 }, { s: 1 }, { s: 3 }];
    expect(
      medianRun(runs, (r) => r.s),
      "odd count",
    ).toBe(runs[2]);
    expect(
      medianRun([...runs, { s: 9 }], (r) => r.s),
      "even count: the lower middle",
    ).toBe(runs[2]);
    expect(
      medianRun([], (r: { s: number }) => r.s),
      "no runs",
    ).toBeUndefined();
  });

  it("relative difference is symmetric and 0 for equal values (both 0 included)", () => {
    expect(relativeDifference(0, 0), "0 vs 0").toBe(0);
    expect(relativeDifference(1, 2), "1 vs 2").toBe(0.5);
    expect(relativeDifference(2, 1), "2 vs 1").toBe(0.5);
    expect(relativeDifference(0, 1e-300), "0 vs tiny").toBe(1);
  });
});
