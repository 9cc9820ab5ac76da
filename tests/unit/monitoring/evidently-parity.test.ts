// Issue 12: "flags agree with Evidently on the fixture". Two synthetic cases written with Evidently 0.7.23's
// verdicts by bench/peers/monitor_parity_fixtures.py (its DataDriftPreset with the defaults): reference 800 x
// current 600 (the test path: KS, chi-square, Z) and 5,000 x 4,000 (the distance path: Wasserstein, Jensen-Shannon).
// The reference CSV is streamed into a profile, the current CSV into an accumulator, and detectDrift must choose
// the same test, reach the same flag and the same score (exact distributions at this size) for every column, and
// the same dataset verdict.
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CurrentAccumulator } from "../../../src/monitoring/current.js";
import { detectDrift } from "../../../src/monitoring/drift.js";
import type { ReferenceProfile } from "../../../src/monitoring/types.js";

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/monitoring");

interface ParityColumn {
  name: string;
  type: "numeric" | "categorical";
  test: string;
  evidently_method: string;
  score: number;
  threshold: number;
  drift: boolean;
}

interface ParityCase {
  name: string;
  reference: string;
  current: string;
  reference_rows: number;
  current_rows: number;
  columns: ParityColumn[];
  drifted: number;
  share: number;
  drift_share: number;
  dataset_drift: boolean;
}

const parity = JSON.parse(await readFile(path.join(fixtures, "evidently-parity.json"), "utf8")) as {
  versions: { evidently: string };
  cases: ParityCase[];
};

/** Streams a fixture CSV (plain, unquoted; an empty cell is missing) into the accumulator, one row at a time. */
async function stream(file: string, into: CurrentAccumulator): Promise<number> {
  const lines = createInterface({
    input: createReadStream(path.join(fixtures, file), "utf8"),
    crlfDelay: Infinity,
  });
  let columns: (number | undefined)[] | undefined;
  let rows = 0;
  for await (const line of lines) {
    if (line === "") continue;
    const cells = line.split(",");
    if (columns === undefined) {
      columns = cells.map((name) => into.columnIndex(name));
      continue;
    }
    for (let j = 0; j < cells.length; j++) {
      const column = columns[j];
      if (column === undefined) continue;
      if (cells[j] === "") into.addMissing(column);
      else into.addString(column, cells[j]!);
    }
    into.endRow();
    rows++;
  }
  return rows;
}

async function profileOf(c: ParityCase): Promise<ReferenceProfile> {
  const builder = CurrentAccumulator.forColumns(c.columns.map((col) => ({ name: col.name, type: col.type })));
  const rows = await stream(c.reference, builder);
  return builder.toProfile({ split: `evidently-parity-${c.name}`, rows });
}

/** |actual - expected| <= 1e-6 x |expected| (an expected 0 must be 0). */
function closeRelative(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= 1e-6 * Math.abs(expected);
}

describe(`drift flags agree with Evidently ${parity.versions.evidently} (DataDriftPreset defaults)`, () => {
  for (const c of parity.cases) {
    it(`case ${c.name}: reference ${c.reference_rows} x current ${c.current_rows} — same test, flag and score per column, same dataset verdict`, async () => {
      // Given the reference profile streamed from the reference CSV and the current CSV in an accumulator
      const profile = await profileOf(c);
      expect(profile.source.rows, "reference rows streamed").toBe(c.reference_rows);
      const current = new CurrentAccumulator(profile);
      expect(await stream(c.current, current), "current rows streamed").toBe(c.current_rows);
      // When drift is detected with the default options
      const summary = detectDrift(profile, current);
      // Then every column matches Evidently's verdict
      expect(
        summary.columns.map((col) => col.column),
        "the columns checked",
      ).toEqual(c.columns.map((col) => col.name));
      for (const expected of c.columns) {
        const actual = summary.columns.find((col) => col.column === expected.name)!;
        const where = `case ${c.name}, column ${expected.name} (Evidently: ${expected.evidently_method} ${expected.score}, drift ${expected.drift})`;
        expect(actual.exact, `${where}: exact distributions at this size`).toBe(true);
        expect(actual.test, `${where}: the test chosen`).toBe(expected.test);
        expect(actual.threshold, `${where}: the threshold`).toBe(expected.threshold);
        expect(
          closeRelative(actual.score, expected.score),
          `${where}: score ${actual.score} within 1e-6 relative of ${expected.score}`,
        ).toBe(true);
        expect(actual.drift, `${where}: the flag`).toBe(expected.drift);
      }
      expect(summary.drifted, `case ${c.name}: drifted columns`).toBe(c.drifted);
      expect(summary.share, `case ${c.name}: drift share`).toBeCloseTo(c.share, 12);
      expect(summary.driftShare, `case ${c.name}: the dataset rule's share`).toBe(c.drift_share);
      expect(summary.datasetDrift, `case ${c.name}: dataset drift`).toBe(c.dataset_drift);
    });
  }

  it("the fixture covers both verdicts and every default test (so the comparison cannot pass vacuously)", () => {
    const tests = new Set(parity.cases.flatMap((c) => c.columns.map((col) => col.test)));
    expect([...tests].sort(), "tests Evidently chose across the cases").toEqual([
      "chi2",
      "jensenshannon",
      "ks",
      "wasserstein",
      "z",
    ]);
    const flags = new Set(parity.cases.flatMap((c) => c.columns.map((col) => col.drift)));
    expect([...flags].sort(), "drifted and undrifted columns").toEqual([false, true]);
    expect(
      parity.cases.map((c) => c.dataset_drift).sort(),
      "one case with dataset drift, one without",
    ).toEqual([false, true]);
  });
});
