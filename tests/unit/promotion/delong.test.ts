import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { delongTest, normalSurvival } from "../../../src/promotion/delong.js";
import { thrownBy } from "../../helpers/expect-error.js";

interface DelongCase {
  name: string;
  labels: number[];
  scoresA: number[];
  scoresB: number[];
  expected: {
    aucA: number;
    aucB: number;
    difference: number;
    variance: number;
    z: number;
    pValue: number;
    pValueTwoSided: number;
    ci: [number, number];
  };
}
const fixture = JSON.parse(
  readFileSync(path.join(__dirname, "..", "..", "fixtures", "promotion", "delong.json"), "utf8"),
) as { cases: DelongCase[]; normal: { z: number[]; sf: number[] } };

/** |a − b| relative to |b|, absolute below 1. */
const relativeError = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
/** |a − b| / |b|, for p-values that span hundreds of orders of magnitude. */
const tailError = (a: number, b: number) => (b === 0 ? Math.abs(a) : Math.abs(a - b) / b);

describe("delongTest agrees with the Python reference (fast midrank and O(n²) implementations)", () => {
  for (const c of fixture.cases) {
    it(`given ${c.name}, when tested, then AUCs, variance, z, p-values and CI match`, () => {
      const result = delongTest(c.labels, c.scoresA, c.scoresB);
      const e = c.expected;
      expect(result.aucA, "aucA").toBeCloseTo(e.aucA, 12);
      expect(result.aucB, "aucB").toBeCloseTo(e.aucB, 12);
      expect(result.difference, "difference").toBeCloseTo(e.difference, 12);
      expect(relativeError(result.variance, e.variance), "variance").toBeLessThan(1e-9);
      expect(relativeError(result.z, e.z), "z").toBeLessThan(1e-9);
      expect(tailError(result.pValue, e.pValue), `one-sided p ${result.pValue} vs ${e.pValue}`).toBeLessThan(
        1e-8,
      );
      expect(tailError(result.pValueTwoSided, e.pValueTwoSided), "two-sided p").toBeLessThan(1e-8);
      expect(result.ci[0], "ci low").toBeCloseTo(e.ci[0], 9);
      expect(result.ci[1], "ci high").toBeCloseTo(e.ci[1], 9);
    });
  }

  it("given a grid of z from -8 to 37, then the normal tail matches scipy.stats.norm.sf to 1e-12 relative", () => {
    fixture.normal.z.forEach((z, i) => {
      expect(tailError(normalSurvival(z), fixture.normal.sf[i]!), `sf(${z})`).toBeLessThan(1e-12);
    });
  });
});

describe("delongTest edge cases", () => {
  it("given identical score vectors, then the difference and variance are 0 and both p-values are 1", () => {
    const result = delongTest(
      [0, 1, 0, 1, 1, 0],
      [0.1, 0.7, 0.4, 0.4, 0.9, 0.2],
      [0.1, 0.7, 0.4, 0.4, 0.9, 0.2],
    );
    expect(result).toMatchObject({
      difference: 0,
      variance: 0,
      z: 0,
      pValue: 1,
      pValueTwoSided: 1,
      ci: [0, 0],
    });
  });

  it("given a difference with zero variance, then the sign decides: p = 0 for B better, 1 for B worse", () => {
    const labels = [1, 1, 0, 0];
    const ties = [0.5, 0.5, 0.5, 0.5];
    const perfect = [1, 1, 0, 0];
    const better = delongTest(labels, ties, perfect);
    expect(better).toMatchObject({ difference: 0.5, variance: 0, z: Number.POSITIVE_INFINITY });
    expect(better.pValue, "B better").toBe(0);
    expect(better.pValueTwoSided).toBe(0);
    const worse = delongTest(labels, perfect, ties);
    expect(worse.pValue, "B worse").toBe(1);
    expect(worse.pValueTwoSided).toBe(0);
    expect(worse.z).toBe(Number.NEGATIVE_INFINITY);
  });

  it("given A and B swapped, then the difference flips sign and the one-sided p-values sum to 1", () => {
    const c = fixture.cases.find((x) => x.name.startsWith("n=2000"))!;
    const forward = delongTest(c.labels, c.scoresA, c.scoresB);
    const backward = delongTest(c.labels, c.scoresB, c.scoresA);
    expect(backward.difference).toBeCloseTo(-forward.difference, 14);
    expect(forward.pValue + backward.pValue).toBeCloseTo(1, 12);
    expect(backward.pValueTwoSided).toBeCloseTo(forward.pValueTwoSided, 12);
  });
});

describe("delongTest rejects bad input with STATS_INVALID_INPUT", () => {
  it("given lengths that differ, then it names the three lengths", () => {
    const error = thrownBy(() => delongTest([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3]));
    expect(error.code).toBe("STATS_INVALID_INPUT");
    expect(error.message).toContain("labels (4), champion scores (4) and challenger scores (3)");
  });

  it("given a label that is not 0 or 1, then it names the value and row", () => {
    const error = thrownBy(() => delongTest([0, 1, 2, 1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]));
    expect(error.code).toBe("STATS_INVALID_INPUT");
    expect(error.message).toContain("labels must be 0 or 1, got 2 at row 2");
  });

  it("given only one class, then it asks for rows of both classes", () => {
    const error = thrownBy(() => delongTest([1, 1, 1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1]));
    expect(error.code).toBe("STATS_INVALID_INPUT");
    expect(error.message).toContain("needs at least 2 rows of each class");
    expect(error.message).toContain("got 3 positive and 0 negative");
  });

  it("given a single row of one class, then the variance cannot be estimated", () => {
    const error = thrownBy(() => delongTest([1, 0, 0, 0], [0.9, 0.2, 0.3, 0.1], [0.8, 0.2, 0.3, 0.1]));
    expect(error.code).toBe("STATS_INVALID_INPUT");
    expect(error.message).toContain("got 1 positive and 3 negative");
  });

  it("given a NaN score, then it names the row", () => {
    const error = thrownBy(() => delongTest([1, 0, 1, 0], [0.9, 0.2, 0.3, 0.1], [0.8, Number.NaN, 0.3, 0.1]));
    expect(error.code).toBe("STATS_INVALID_INPUT");
    expect(error.message).toContain("scores must be finite numbers, got 0.2 / NaN at row 1");
  });
});
