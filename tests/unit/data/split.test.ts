import { describe, expect, it } from "vitest";
import { stratifiedSplit } from "../../../src/data/split.js";
import type { Table } from "../../../src/data/table.js";

function table(n: number, positiveEvery: number): Table {
  return {
    rowCount: n,
    numeric: { x: Float64Array.from({ length: n }, (_, i) => i) },
    categorical: {},
    text: {},
    target: Array.from({ length: n }, (_, i) => (i % positiveEvery === 0 ? "1" : "0")),
    ids: {},
    lines: Int32Array.from({ length: n }, (_, i) => i + 2),
  };
}

describe("stratified split", () => {
  it("keeps class proportions, covers every row exactly once, and is seeded", () => {
    const data = table(10_000, 5);
    const a = stratifiedSplit(data, { holdout: 0.1, test: 0.15, validation: 0.15 }, 42);
    const sizes = [a.train, a.validation, a.test, a.holdout].map((t) => t.rowCount);
    expect(sizes).toEqual([6000, 1500, 1500, 1000]);
    for (const part of [a.train, a.validation, a.test, a.holdout]) {
      const share = part.target.filter((t) => t === "1").length / part.rowCount;
      expect(share, "20% positives in every split").toBeCloseTo(0.2, 3);
    }
    const seen = new Set<number>();
    for (const part of [a.train, a.validation, a.test, a.holdout])
      for (const line of part.lines) seen.add(line);
    expect(seen.size, "no row in two splits (no leakage), none lost").toBe(10_000);
    const b = stratifiedSplit(data, { holdout: 0.1, test: 0.15, validation: 0.15 }, 42);
    expect(b.fingerprints).toEqual(a.fingerprints);
    const c = stratifiedSplit(data, { holdout: 0.1, test: 0.15, validation: 0.15 }, 43);
    expect(c.fingerprints.train).not.toBe(a.fingerprints.train);
  });
});
