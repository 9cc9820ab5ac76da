import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pairedBootstrap, percentile } from "../../../src/promotion/bootstrap.js";
import { weightedMetric } from "../../../src/promotion/weighted-metrics.js";
import { createRng } from "../../../src/shared/random.js";
import { thrownBy } from "../../helpers/expect-error.js";

interface BootstrapCase {
  name: string;
  statistic: "roc_auc" | "accuracy";
  threshold: number;
  seed: number;
  resamples: number;
  confidence: number;
  labels: number[];
  scoresA: number[];
  scoresB: number[];
  expected: { observed: number; ci: [number, number]; pValue: number; valid: number };
}
const fixture = JSON.parse(
  readFileSync(path.join(__dirname, "..", "..", "fixtures", "promotion", "bootstrap.json"), "utf8"),
) as { rng: Record<string, number[]>; cases: BootstrapCase[] };

/** challenger − champion of a binary metric on the weighted rows of a fixture case. */
function difference(c: BootstrapCase): (weights: Float64Array) => number {
  const labels = Int32Array.from(c.labels);
  const twoColumns = (scores: number[]) => Float64Array.from(scores.flatMap((s) => [1 - s, s]));
  const champion = twoColumns(c.scoresA);
  const challenger = twoColumns(c.scoresB);
  return (w) =>
    weightedMetric(c.statistic, labels, challenger, 2, w, c.threshold) -
    weightedMetric(c.statistic, labels, champion, 2, w, c.threshold);
}

describe("pairedBootstrap agrees with the Python reference", () => {
  it("given the Python port of createRng, then both generators give the same first draws", () => {
    for (const [seed, draws] of Object.entries(fixture.rng)) {
      const rng = createRng(Number(seed));
      expect(
        draws.map(() => rng()),
        `seed ${seed}`,
      ).toEqual(draws);
    }
  });

  for (const c of fixture.cases) {
    it(`given ${c.name}, when bootstrapped, then observed, CI, p-value and valid count match`, () => {
      const result = pairedBootstrap(c.labels.length, difference(c), {
        seed: c.seed,
        resamples: c.resamples,
        confidence: c.confidence,
      });
      expect(result.observed, "observed").toBeCloseTo(c.expected.observed, 12);
      expect(result.ci[0], "ci low").toBeCloseTo(c.expected.ci[0], 9);
      expect(result.ci[1], "ci high").toBeCloseTo(c.expected.ci[1], 9);
      expect(result.pValue, "share of resamples <= 0").toBe(c.expected.pValue);
      expect(result.valid, "valid resamples").toBe(c.expected.valid);
      expect(result).toMatchObject({ resamples: c.resamples, confidence: c.confidence });
    });
  }
});

describe("pairedBootstrap behaviour", () => {
  const c = fixture.cases[0]!;

  it("given the same seed twice, then the results are identical; another seed gives another CI", () => {
    const options = { seed: 11, resamples: 300 };
    const first = pairedBootstrap(c.labels.length, difference(c), options);
    expect(pairedBootstrap(c.labels.length, difference(c), options)).toEqual(first);
    expect(pairedBootstrap(c.labels.length, difference(c), { ...options, seed: 12 }).ci).not.toEqual(
      first.ci,
    );
  });

  it("given no options but the seed, then 2,000 resamples at 95%; each resample draws n rows", () => {
    const totals = new Set<number>();
    const result = pairedBootstrap(
      50,
      (w) => {
        totals.add(w.reduce((a, b) => a + b, 0));
        return 1;
      },
      { seed: 3 },
    );
    expect(result).toMatchObject({ resamples: 2000, confidence: 0.95, valid: 2000, pValue: 0, ci: [1, 1] });
    expect([...totals], "every weight vector sums to n").toEqual([50]);
  });

  it("given a statistic that is always undefined, then no valid resample and NaN p-value and CI", () => {
    const result = pairedBootstrap(10, () => Number.NaN, { seed: 1, resamples: 20 });
    expect(result.valid).toBe(0);
    expect(result.pValue).toBeNaN();
    expect(result.ci[0]).toBeNaN();
    expect(result.ci[1]).toBeNaN();
  });

  it("given sorted values, then percentile interpolates like numpy.percentile's default", () => {
    // np.percentile([1, 2, 3, 4], [2.5, 50, 97.5]) == [1.075, 2.5, 3.925]
    expect(percentile([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 15);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 0.975)).toBeCloseTo(3.925, 15);
    expect(percentile([7], 0.025)).toBe(7);
  });
});

describe("pairedBootstrap rejects bad options with STATS_INVALID_INPUT", () => {
  const cases: [string, () => unknown, string][] = [
    ["zero rows", () => pairedBootstrap(0, () => 0, { seed: 1 }), "positive integer, got 0"],
    ["fractional resamples", () => pairedBootstrap(5, () => 0, { seed: 1, resamples: 1.5 }), "got 1.5"],
    [
      "confidence 1",
      () => pairedBootstrap(5, () => 0, { seed: 1, confidence: 1 }),
      "strictly between 0 and 1",
    ],
    ["a NaN seed", () => pairedBootstrap(5, () => 0, { seed: Number.NaN }), "seed must be a finite number"],
  ];
  for (const [name, run, message] of cases) {
    it(`given ${name}, then it throws and says what to fix`, () => {
      const error = thrownBy(run);
      expect(error.code).toBe("STATS_INVALID_INPUT");
      expect(error.message).toContain("Paired bootstrap:");
      expect(error.message).toContain(message);
    });
  }
});
