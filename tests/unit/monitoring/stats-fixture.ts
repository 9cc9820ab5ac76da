/**
 * Reads tests/fixtures/monitoring/stats.json (written by bench/peers/monitor_stats_fixtures.py from scipy and
 * Evidently 0.7.23) and regenerates its seeded inputs bit for bit.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

/** A JSON number, or "Infinity" / "-Infinity" / "NaN" for the non-finite ones. */
export type JsonNumber = number | string;

export type SampleSpec =
  | { values: JsonNumber[] }
  | { gen: "normal"; seed: number; n: number; loc: number; scale: number; decimals?: number }
  | { gen: "int"; seed: number; n: number; k: number; offset: number };

export interface EvidentlyScore {
  score: JsonNumber;
  drift: boolean;
  threshold: number;
}

export interface NumericCase {
  name: string;
  integer: boolean;
  reference: SampleSpec;
  current: SampleSpec;
  expected: {
    rows: [number, number];
    ks: { statistic: JsonNumber; pvalue: JsonNumber };
    wassersteinRaw: JsonNumber;
    referenceStd: JsonNumber;
    evidently: Record<string, EvidentlyScore>;
    default: EvidentlyScore & { test: string };
    edges?: JsonNumber[];
    binned: { reference: JsonNumber[]; current: JsonNumber[]; keys?: JsonNumber[] };
  };
}

export interface CategoricalCase {
  name: string;
  reference: Record<string, number>;
  current: Record<string, number>;
  expected: {
    evidently: Record<string, EvidentlyScore>;
    chi2Statistic: JsonNumber;
    default: EvidentlyScore & { test: string };
  };
}

export interface StatsFixture {
  versions: Record<string, string>;
  numeric: NumericCase[];
  categorical: CategoricalCase[];
  defaults: {
    referenceRows: number;
    type: "numeric" | "categorical";
    distinctInBoth: number;
    test: string;
  }[];
  special: {
    chi2: [number, number, JsonNumber][];
    ndtr: [number, JsonNumber][];
    kstwo: [number, number, JsonNumber][];
  };
  corrections: { p: number[]; bonferroni: number[]; holm: number[]; bh: number[]; bhScipy: number[] }[];
  jensenshannon: { p: number[]; q: number[]; value: JsonNumber }[];
}

export function loadStatsFixture(): StatsFixture {
  const file = path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    "../../fixtures/monitoring/stats.json",
  );
  return JSON.parse(readFileSync(file, "utf8")) as StatsFixture;
}

export function toNumber(x: JsonNumber): number {
  if (typeof x === "number") return x;
  if (x === "Infinity") return Number.POSITIVE_INFINITY;
  if (x === "-Infinity") return Number.NEGATIVE_INFINITY;
  return Number.NaN;
}

const M31 = 2147483647;

/** The fixture's inputs: stored arrays, or the Park–Miller generator the Python script uses. */
export function generate(spec: SampleSpec): Float64Array {
  if ("values" in spec) return Float64Array.from(spec.values, toNumber);
  let state = spec.seed;
  const next = (): number => {
    state = (state * 48271) % M31;
    return state / M31;
  };
  const out = new Float64Array(spec.n);
  if (spec.gen === "normal") {
    const scale = spec.decimals === undefined ? 0 : 10 ** spec.decimals;
    for (let i = 0; i < spec.n; i++) {
      let v = (next() + next() + next() + next() - 2) * spec.scale + spec.loc;
      if (spec.decimals !== undefined) v = Math.floor(v * scale) / scale;
      out[i] = v;
    }
  } else {
    for (let i = 0; i < spec.n; i++) out[i] = Math.floor(next() * spec.k) + spec.offset;
  }
  return out;
}

/** |actual - expected| <= rel · |expected| (exact equality for non-finite and zero expectations). */
export function expectClose(actual: number, expected: JsonNumber, rel: number, label: string): void {
  const e = toNumber(expected);
  if (!Number.isFinite(e) || e === 0) {
    if (Number.isNaN(e)) expect(actual, label).toBeNaN();
    else expect(Math.abs(actual - e) <= 1e-300 || actual === e, `${label}: ${actual} vs ${e}`).toBe(true);
    return;
  }
  const diff = Math.abs(actual - e) / Math.abs(e);
  expect(diff <= rel, `${label}: ${actual} vs ${e} (relative difference ${diff})`).toBe(true);
}
