import { describe, expect, it } from "vitest";
import {
  adjustPValues,
  binnedShares,
  chi2Sf,
  chiSquareTest,
  defaultStatTest,
  distinctInBoth,
  jensenShannon,
  kolmogorovSf,
  ksTest,
  normalCdf,
  runStatTest,
  toWeighted,
  wasserstein,
  weightedStd,
} from "../../../src/monitoring/stats/index.js";
import type { Distribution, StatTestName } from "../../../src/monitoring/types.js";
import { expectClose, generate, loadStatsFixture, type NumericCase, toNumber } from "./stats-fixture.js";

// Expected values: scipy 1.17 and Evidently 0.7.23's own stattests, written by bench/peers/monitor_stats_fixtures.py.
const fixture = loadStatsFixture();
const EXACT = 1e-9;

function numericPair(c: NumericCase): [Distribution, Distribution] {
  const ref = toWeighted(generate(c.reference));
  const cur = toWeighted(generate(c.current));
  return [
    { kind: "numeric", weighted: ref, exact: true, integer: c.integer },
    { kind: "numeric", weighted: cur, exact: true, integer: c.integer },
  ];
}

function categoricalPair(
  ref: Record<string, number>,
  cur: Record<string, number>,
): [Distribution, Distribution] {
  return [
    { kind: "categorical", counts: new Map(Object.entries(ref)) },
    { kind: "categorical", counts: new Map(Object.entries(cur)) },
  ];
}

const EVIDENTLY_TESTS: Record<string, StatTestName> = {
  ks: "ks",
  wasserstein: "wasserstein",
  jensenshannon: "jensenshannon",
  psi: "psi",
  chi2: "chi2",
  z: "z",
};

describe("statistics against scipy and Evidently on numeric fixtures", () => {
  for (const c of fixture.numeric) {
    it(`${c.name}: KS, Wasserstein, binning, every Evidently test and the default rule`, () => {
      // Given the fixture's samples (NaN / inf dropped, as Evidently drops them)
      const [ref, cur] = numericPair(c);
      if (ref.kind !== "numeric" || cur.kind !== "numeric") throw new Error("numeric fixture");
      expect([ref.weighted.total, cur.weighted.total], "rows after dropping missing").toEqual(
        c.expected.rows,
      );

      // Then scipy's ks_2samp, wasserstein_distance and np.std agree
      const ks = ksTest(ref.weighted, cur.weighted);
      expectClose(ks.statistic, c.expected.ks.statistic, 1e-12, "KS D");
      expectClose(
        ks.pValue,
        c.expected.ks.pvalue,
        ks.method === "exact" ? 1e-12 : EXACT,
        `KS p (${ks.method})`,
      );
      expectClose(wasserstein(ref.weighted, cur.weighted), c.expected.wassersteinRaw, EXACT, "Wasserstein");
      expectClose(weightedStd(ref.weighted), c.expected.referenceStd, EXACT, "reference std");

      // And Evidently's get_binned_data (Sturges edges or per value)
      const shares = binnedShares(ref, cur, false);
      if (c.expected.edges) {
        expect(shares.edges?.length, "Sturges edges").toBe(c.expected.edges.length);
        for (const [i, e] of Array.from(shares.edges!).entries())
          expectClose(e, c.expected.edges![i]!, 1e-15, `edge ${i}`);
        for (const [i, s] of Array.from(shares.reference).entries())
          expectClose(s, c.expected.binned.reference[i]!, 1e-15, `ref bin ${i}`);
        for (const [i, s] of Array.from(shares.current).entries())
          expectClose(s, c.expected.binned.current[i]!, 1e-15, `cur bin ${i}`);
      } else {
        const keys = c.expected.binned.keys!.map((k) => String(toNumber(k)));
        expect([...shares.keys!].sort(), "binned keys").toEqual([...keys].sort());
        keys.forEach((k, i) => {
          const at = shares.keys!.indexOf(k);
          expectClose(shares.reference[at]!, c.expected.binned.reference[i]!, 1e-15, `ref share ${k}`);
          expectClose(shares.current[at]!, c.expected.binned.current[i]!, 1e-15, `cur share ${k}`);
        });
      }

      // And every Evidently stattest gives the same score and the same drift flag at its default threshold
      for (const [name, expected] of Object.entries(c.expected.evidently)) {
        const result = runStatTest(EVIDENTLY_TESTS[name]!, ref, cur);
        expectClose(result.score, expected.score, EXACT, `Evidently ${name} score`);
        expect(result.drift, `Evidently ${name} drift flag`).toBe(expected.drift);
        expect(result.threshold, `Evidently ${name} threshold`).toBe(expected.threshold);
      }

      // And the default rule picks Evidently's test
      const chosen = defaultStatTest(ref.weighted.total, "numeric", distinctInBoth(ref, cur));
      expect(chosen, "default test").toBe(c.expected.default.test);
      expect(runStatTest(chosen, ref, cur).drift, "default drift flag").toBe(c.expected.default.drift);
    });
  }
});

describe("statistics against Evidently on categorical fixtures", () => {
  for (const c of fixture.categorical) {
    it(`${c.name}: chi-square, Z, Jensen–Shannon, PSI and the default rule`, () => {
      const [ref, cur] = categoricalPair(c.reference, c.current);
      if (ref.kind !== "categorical" || cur.kind !== "categorical") throw new Error("categorical fixture");
      expectClose(
        chiSquareTest(ref.counts, cur.counts).statistic,
        c.expected.chi2Statistic,
        EXACT,
        "chi2 statistic",
      );
      for (const [name, expected] of Object.entries(c.expected.evidently)) {
        const result = runStatTest(EVIDENTLY_TESTS[name]!, ref, cur);
        expectClose(result.score, expected.score, EXACT, `Evidently ${name} score`);
        expect(result.drift, `Evidently ${name} drift flag`).toBe(expected.drift);
      }
      const chosen = defaultStatTest(
        distributionRowsOf(c.reference),
        "categorical",
        distinctInBoth(ref, cur),
      );
      expect(chosen, "default test").toBe(c.expected.default.test);
    });
  }
});

function distributionRowsOf(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe("Evidently's default-test rule on its boundaries", () => {
  it("agrees with get_default_stattest at 1000/1001 reference rows and 1, 2, 3, 5, 6 distinct values", () => {
    expect(fixture.defaults.length).toBe(20);
    for (const d of fixture.defaults) {
      expect(
        defaultStatTest(d.referenceRows, d.type, d.distinctInBoth),
        `${d.type}, ${d.referenceRows} rows, ${d.distinctInBoth} distinct`,
      ).toBe(d.test);
    }
  });
});

describe("distribution functions against scipy.special / scipy.stats", () => {
  it("chi-square survival function (chdtrc) over df 1–999, the far tails and 200 random points", () => {
    for (const [x, df, p] of fixture.special.chi2)
      expectClose(chi2Sf(x, df), p, EXACT, `chdtrc(${df}, ${x})`);
  });
  it("normal CDF (ndtr)", () => {
    for (const [x, p] of fixture.special.ndtr) expectClose(normalCdf(x), p, 1e-14, `ndtr(${x})`);
  });
  it("Kolmogorov two-sided survival function kstwo.sf over every branch (n = 1 … 1.2e6) and 300 random points", () => {
    for (const [x, n, p] of fixture.special.kstwo)
      expectClose(kolmogorovSf(x, n), p, EXACT, `kstwo.sf(${x}, ${n})`);
  });
  it("Jensen–Shannon distance (scipy.spatial.distance.jensenshannon, unnormalised inputs)", () => {
    for (const c of fixture.jensenshannon)
      expectClose(jensenShannon(c.p, c.q), c.value, EXACT, `JS ${c.p} ${c.q}`);
  });
});

describe("multiple-testing corrections against statsmodels' multipletests", () => {
  for (const [i, c] of fixture.corrections.entries()) {
    it(`vector ${i} (${c.p.length} p-values)`, () => {
      for (const method of ["bonferroni", "holm", "bh"] as const) {
        const adjusted = adjustPValues(c.p, method);
        for (const [k, v] of Array.from(adjusted).entries())
          expectClose(v, c[method][k]!, 1e-12, `${method}[${k}]`);
      }
      for (const [k, v] of Array.from(adjustPValues(c.p, "bh")).entries())
        expectClose(v, c.bhScipy[k]!, 1e-12, `scipy BH[${k}]`);
      expect(adjustPValues(c.p, "none"), "none leaves them").toEqual(c.p);
    });
  }
});
