import { describe, expect, it } from "vitest";
import {
  adjustPValues,
  binnedShares,
  DEFAULT_THRESHOLDS,
  defaultStatTest,
  jensenShannon,
  ksTest,
  psi,
  runStatTest,
  toWeighted,
  wasserstein,
  weightedStd,
  zTest,
} from "../../../src/monitoring/stats/index.js";
import type { Distribution, StatTestName } from "../../../src/monitoring/types.js";
import { WorkbenchError } from "../../../src/shared/errors.js";
import { createRng } from "../../../src/shared/random.js";
import { thrownBy } from "../../helpers/expect-error.js";

function normal(rng: () => number, n: number, loc = 0, scale = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rng(), 1e-12);
    out[i] = loc + scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  }
  return out;
}

function numeric(values: ArrayLike<number>): Distribution {
  return { kind: "numeric", weighted: toWeighted(values), exact: true };
}

function categorical(entries: Record<string, number>): Distribution {
  return { kind: "categorical", counts: new Map(Object.entries(entries)) };
}

function sampleCategories(
  rng: () => number,
  n: number,
  shares: Record<string, number>,
): Record<string, number> {
  const keys = Object.keys(shares);
  const counts: Record<string, number> = Object.fromEntries(keys.map((k) => [k, 0]));
  for (let i = 0; i < n; i++) {
    let u = rng();
    for (const k of keys) {
      u -= shares[k]!;
      if (u <= 0 || k === keys[keys.length - 1]) {
        counts[k]! += 1;
        break;
      }
    }
  }
  return counts;
}

describe("no drift on identical samples, drift on shifted ones", () => {
  const numericTests: StatTestName[] = ["ks", "wasserstein", "jensenshannon", "psi"];

  it("identical numeric samples give p = 1 / distance 0 for every test", () => {
    const values = normal(createRng(1), 800);
    for (const test of numericTests) {
      const result = runStatTest(test, numeric(values), numeric(values));
      expect(result.drift, `${test} on identical samples`).toBe(false);
      expect(result.score, `${test} score`).toBe(test === "ks" ? 1 : 0);
    }
  });

  for (const seed of [2, 3, 4]) {
    it(`seed ${seed}: same-distribution samples are not flagged, a 0.5 sd shift is flagged by every test`, () => {
      const rng = createRng(seed);
      const reference = numeric(normal(rng, 900));
      const same = numeric(normal(rng, 700));
      const shifted = numeric(normal(rng, 700, 0.5));
      for (const test of numericTests) {
        expect(runStatTest(test, reference, same).drift, `${test}: same distribution`).toBe(false);
        expect(runStatTest(test, reference, shifted).drift, `${test}: shifted by 0.5 sd`).toBe(true);
      }
    });
  }

  it("categorical: same shares not flagged, a moved share flagged by chi2, jensenshannon and psi", () => {
    const rng = createRng(7);
    const shares = { a: 0.5, b: 0.3, c: 0.2 };
    const reference = categorical(sampleCategories(rng, 3000, shares));
    const same = categorical(sampleCategories(rng, 2000, shares));
    const moved = categorical(sampleCategories(rng, 2000, { a: 0.3, b: 0.3, c: 0.4 }));
    for (const test of ["chi2", "jensenshannon", "psi"] as const) {
      expect(runStatTest(test, reference, same).drift, `${test}: same shares`).toBe(false);
      expect(runStatTest(test, reference, moved).drift, `${test}: moved shares`).toBe(true);
    }
  });

  it("binary: the Z-test flags a proportion change and not a resample", () => {
    const rng = createRng(8);
    const reference = categorical(sampleCategories(rng, 900, { yes: 0.3, no: 0.7 }));
    const same = categorical(sampleCategories(rng, 800, { yes: 0.3, no: 0.7 }));
    const moved = categorical(sampleCategories(rng, 800, { yes: 0.4, no: 0.6 }));
    expect(runStatTest("z", reference, same).drift, "z: same proportion").toBe(false);
    expect(runStatTest("z", reference, moved).drift, "z: 0.3 -> 0.4").toBe(true);
  });
});

describe("thresholds and comparisons", () => {
  it("uses Evidently's defaults: 0.05 for tests, 0.1 for distances and PSI", () => {
    expect(DEFAULT_THRESHOLDS).toEqual({
      ks: 0.05,
      chi2: 0.05,
      z: 0.05,
      wasserstein: 0.1,
      jensenshannon: 0.1,
      psi: 0.1,
    });
  });

  it("KS flags p <= threshold (Evidently's comparison), chi-square only p < threshold", () => {
    const rng = createRng(9);
    const reference = numeric(normal(rng, 200));
    const current = numeric(normal(rng, 150, 0.2));
    const ks = runStatTest("ks", reference, current);
    expect(runStatTest("ks", reference, current, ks.score).drift, "KS at p == threshold").toBe(true);
    const ref = categorical({ a: 50, b: 50, c: 40 });
    const cur = categorical({ a: 30, b: 60, c: 40 });
    const chi = runStatTest("chi2", ref, cur);
    expect(runStatTest("chi2", ref, cur, chi.score).drift, "chi2 at p == threshold").toBe(false);
  });

  it("distances flag value >= threshold", () => {
    const reference = numeric([0, 1, 2, 3, 4, 5, 6, 7]);
    const current = numeric([1, 2, 3, 4, 5, 6, 7, 8]);
    const result = runStatTest("wasserstein", reference, current);
    expect(result.statistic, "Wasserstein of a unit shift over the reference std").toBeCloseTo(
      1 / Math.sqrt(5.25),
      14,
    );
    expect(runStatTest("wasserstein", reference, current, result.score).drift, "at the threshold").toBe(true);
    expect(runStatTest("wasserstein", reference, current, result.score * 1.0001).drift, "above it").toBe(
      false,
    );
  });

  it("a constant reference is normed by 0.001 (Evidently's floor), not by 0", () => {
    const result = runStatTest("wasserstein", numeric([5, 5, 5]), numeric([5, 5, 6]));
    expect(result.score).toBeCloseTo(1 / 3 / 0.001, 9);
  });
});

describe("weighted values", () => {
  it("toWeighted sorts, counts and drops NaN and ±Infinity", () => {
    const w = toWeighted([3, Number.NaN, 1, 3, Number.POSITIVE_INFINITY, -2, 1, 3, Number.NEGATIVE_INFINITY]);
    expect(Array.from(w.values)).toEqual([-2, 1, 3]);
    expect(Array.from(w.counts)).toEqual([1, 2, 3]);
    expect(w.total).toBe(6);
  });

  it("weighted statistics equal the ones on the expanded rows", () => {
    const rows = [1, 1, 2, 2, 2, 7.5, 10];
    const w = toWeighted(rows);
    const mean = rows.reduce((a, b) => a + b, 0) / rows.length;
    const std = Math.sqrt(rows.reduce((a, b) => a + (b - mean) ** 2, 0) / rows.length);
    expect(weightedStd(w)).toBeCloseTo(std, 14);
    expect(wasserstein(w, toWeighted([1, 2, 3]))).toBeCloseTo(
      // ∫|F - G|: F steps 2/7, 5/7 (at 2), 6/7 (at 7.5), 1 (at 10); G steps 1/3, 2/3, 1.
      (1 / 3 - 2 / 7) * 1 + (5 / 7 - 2 / 3) * 1 + (1 - 5 / 7) * 4.5 + (1 - 6 / 7) * 2.5,
      14,
    );
  });

  it("KS on 100k distinct values per side uses the asymptotic p-value and the exact D", () => {
    const rng = createRng(10);
    const a = toWeighted(normal(rng, 100_000));
    const b = toWeighted(normal(rng, 100_000));
    const result = ksTest(a, b);
    expect(result.method).toBe("asymp");
    expect(result.pValue > 0.001, `p = ${result.pValue}`).toBe(true);
    expect(result.statistic < 0.01, `D = ${result.statistic}`).toBe(true);
  });
});

describe("binning and PSI", () => {
  it("feel_zeroes fills empty bins with 1e-4, or min/1e6 when the smallest share is <= 1e-4", () => {
    const reference = categorical({ a: 6, b: 4 });
    const current = categorical({ a: 5, b: 4, c: 1 });
    const shares = binnedShares(reference, current, true);
    const c = shares.keys!.indexOf("c");
    expect(shares.reference[c], "unseen category in the reference").toBe(0.0001);
    const tiny = binnedShares(categorical({ a: 99_999, b: 1 }), categorical({ a: 5, c: 5 }), true);
    expect(tiny.reference[tiny.keys!.indexOf("c")], "min share 1e-5 -> 1e-11").toBeCloseTo(1e-11, 25);
    const psiValue = psi(shares.reference, shares.current);
    expect(psiValue).toBeCloseTo(
      (0.6 - 0.5) * Math.log(0.6 / 0.5) + (0.4 - 0.4) * 0 + (0.0001 - 0.1) * Math.log(0.0001 / 0.1),
      12,
    );
  });

  it("numeric columns with more than 20 distinct reference values are binned, 20 or fewer are not", () => {
    const twentyOne = Array.from({ length: 21 }, (_, i) => i);
    expect(binnedShares(numeric(twentyOne), numeric(twentyOne), false).edges, "21 distinct").toBeDefined();
    const twenty = twentyOne.slice(0, 20);
    const shares = binnedShares(numeric(twenty), numeric(twentyOne), false);
    expect(shares.edges, "20 distinct").toBeUndefined();
    expect(shares.keys?.length, "union of distinct values").toBe(21);
  });
});

describe("multiple-testing corrections", () => {
  it("keeps NaN p-values as NaN and does not count them as tests", () => {
    expect(adjustPValues([0.01, Number.NaN, 0.02], "bonferroni")).toEqual([0.02, Number.NaN, 0.04]);
    expect(adjustPValues([], "holm")).toEqual([]);
  });
});

describe("default rule", () => {
  it("binary columns get the Z-test only with a small reference", () => {
    expect(defaultStatTest(500, "numeric", 2)).toBe("z");
    expect(defaultStatTest(500, "categorical", 2)).toBe("z");
    expect(defaultStatTest(5000, "categorical", 2)).toBe("jensenshannon");
  });
});

describe("bad inputs", () => {
  it("refuses KS and Wasserstein on a categorical column (MONITOR_TEST_UNSUPPORTED)", () => {
    for (const test of ["ks", "wasserstein"] as const) {
      const error = thrownBy(() => runStatTest(test, categorical({ a: 1 }), categorical({ a: 2 })));
      expect(error.code).toBe("MONITOR_TEST_UNSUPPORTED");
      expect(error.message).toBe(
        `Drift test ${test} needs a numeric column but got a categorical one: use chi2, z, jensenshannon or psi.`,
      );
    }
  });

  it("refuses a numeric reference against a categorical current (MONITOR_TEST_UNSUPPORTED)", () => {
    const error = thrownBy(() => runStatTest("chi2", numeric([1, 2]), categorical({ a: 2 })));
    expect(error.code).toBe("MONITOR_TEST_UNSUPPORTED");
    expect(error.message).toContain("the reference is numeric but the current data is categorical");
  });

  it("refuses an unknown test name (MONITOR_TEST_UNSUPPORTED)", () => {
    const error = thrownBy(() => runStatTest("anderson" as StatTestName, numeric([1]), numeric([2])));
    expect(error.code).toBe("MONITOR_TEST_UNSUPPORTED");
    expect(error.message).toBe(
      'Unknown drift test "anderson": use one of ks, chi2, z, wasserstein, jensenshannon, psi.',
    );
  });

  it("names the empty side (MONITOR_EMPTY_COLUMN)", () => {
    const empty = numeric([Number.NaN, Number.NaN]);
    const reference = thrownBy(() => runStatTest("ks", empty, numeric([1, 2])));
    expect(reference.code).toBe("MONITOR_EMPTY_COLUMN");
    expect(reference.message).toContain("the reference data has no non-missing values");
    const current = thrownBy(() =>
      runStatTest("jensenshannon", categorical({ a: 3 }), categorical({ a: 0 })),
    );
    expect(current.code).toBe("MONITOR_EMPTY_COLUMN");
    expect(current.message).toContain("the current data has no non-missing values");
    expect(current.details).toEqual({ test: "jensenshannon", side: "current" });
  });

  it("refuses a negative or non-finite threshold (MONITOR_THRESHOLD_INVALID)", () => {
    for (const threshold of [-0.1, Number.NaN]) {
      const error = thrownBy(() => runStatTest("psi", numeric([1, 2]), numeric([1, 2]), threshold));
      expect(error).toBeInstanceOf(WorkbenchError);
      expect(error.code).toBe("MONITOR_THRESHOLD_INVALID");
      expect(error.message).toBe(
        `Drift test psi: the threshold must be a finite number >= 0, got ${threshold}.`,
      );
    }
  });

  it("refuses shares of different lengths (MONITOR_SHARES_MISMATCH)", () => {
    const js = thrownBy(() => jensenShannon([0.5, 0.5], [1]));
    expect(js.code).toBe("MONITOR_SHARES_MISMATCH");
    expect(js.message).toBe(
      "jensenshannon: the reference has 2 shares but the current data has 1; both must be shares over the same " +
        "bins or categories (see binnedShares).",
    );
    expect(thrownBy(() => psi([1], [0.5, 0.5])).code).toBe("MONITOR_SHARES_MISMATCH");
  });

  it("zTest of one shared category is p = 1 without dividing by zero", () => {
    expect(zTest(new Map([["x", 5]]), new Map([["x", 9]]))).toEqual({ statistic: 0, pValue: 1 });
  });
});
