import { describe, expect, it } from "vitest";
import { compressPoints } from "../../../src/monitoring/points.js";
import { ValueSketch } from "../../../src/monitoring/sketch.js";
import { ksStatistic, toWeighted, wasserstein, weightedStd } from "../../../src/monitoring/stats/index.js";
import type { WeightedValues } from "../../../src/monitoring/types.js";
import { createRng } from "../../../src/shared/random.js";

function gaussian(rng: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

function sketchOf(values: ArrayLike<number>, options: ConstructorParameters<typeof ValueSketch>[0] = {}) {
  const sketch = new ValueSketch(options);
  for (let i = 0; i < values.length; i++) sketch.add(values[i]!);
  return sketch;
}

function mean(values: Float64Array): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

describe("ValueSketch, exact counts", () => {
  it("given fewer distinct values than maxPoints, when summarised, then it holds every value with its count", () => {
    const rng = createRng(1);
    const values = Float64Array.from({ length: 20_000 }, () => Math.round(rng() * 500) / 4 - 30);
    const summary = sketchOf(values).summary();
    const expected = toWeighted(values);
    expect(summary.exact, "exact while distinct <= maxPoints").toBe(true);
    expect(Array.from(summary.weighted.values)).toEqual(Array.from(expected.values));
    expect(Array.from(summary.weighted.counts)).toEqual(Array.from(expected.counts));
    expect(summary.weighted.total).toBe(20_000);
    expect(summary.distinct).toBe(expected.values.length);
    expect(summary.min).toBe(Math.min(...values));
    expect(summary.max).toBe(Math.max(...values));
    expect(summary.mean).toBeCloseTo(mean(values), 10);
    expect(summary.std, "population std").toBeCloseTo(weightedStd(expected), 10);
  });

  it("given -0 and 0, then they are one value; given integers and fractions, then each keeps its own count", () => {
    const summary = sketchOf([0, -0, 0, 1, 1.5, 1, 2 ** 40, -(2 ** 40), 1e-300]).summary();
    expect(Array.from(summary.weighted.values)).toEqual([-(2 ** 40), 0, 1e-300, 1, 1.5, 2 ** 40]);
    expect(Array.from(summary.weighted.counts)).toEqual([1, 3, 1, 2, 1, 1]);
  });

  it("given exactly maxPoints distinct values, then it stays exact; one more and it compresses", () => {
    const values = Float64Array.from({ length: 64 }, (_, i) => i * 0.37);
    const sketch = sketchOf(values, { maxPoints: 64, maxBins: 16 });
    expect(sketch.exact).toBe(true);
    sketch.add(1000.5);
    expect(sketch.exact).toBe(false);
    const summary = sketch.summary();
    expect(summary.exact).toBe(false);
    expect(summary.weighted.values.length).toBeLessThanOrEqual(16);
    expect(summary.weighted.total).toBe(65);
    expect(summary.max, "max stays exact").toBe(1000.5);
    const expectedMean = (values.reduce((a, b) => a + b, 0) + 1000.5) / 65;
    let pointMean = 0;
    for (let i = 0; i < summary.weighted.values.length; i++)
      pointMean += summary.weighted.values[i]! * summary.weighted.counts[i]!;
    expect(pointMean / 65, "bins keep the mean").toBeCloseTo(expectedMean, 9);
    expect(summary.weighted.values.at(-1), "an outlier keeps its own bin").toBe(1000.5);
  });

  it("given an empty sketch, then its summary is empty with NaN statistics; reset forgets every value", () => {
    const sketch = new ValueSketch();
    expect(sketch.summary().weighted.total).toBe(0);
    expect(sketch.summary().mean).toBeNaN();
    for (let i = 0; i < 100_000; i++) sketch.add(i / 7);
    expect(sketch.exact).toBe(false);
    sketch.reset();
    expect(sketch.count).toBe(0);
    expect(sketch.exact).toBe(true);
    sketch.add(3);
    expect(Array.from(sketch.summary().weighted.values)).toEqual([3]);
  });

  it("rejects a maxPoints or maxBins it cannot honour", () => {
    expect(() => new ValueSketch({ maxPoints: 2 })).toThrow(/maxPoints/);
    expect(() => new ValueSketch({ maxPoints: 100, maxBins: 200 })).toThrow(/maxBins/);
    expect(() => new ValueSketch({ maxBuffer: 100 })).toThrow(/^maxBuffer must be an integer >= 512$/);
  });
});

describe("ValueSketch, compressed", () => {
  it("given 1M continuous values per side, then Wasserstein and KS move by less than 1e-3 relative / 1e-3 absolute", () => {
    const rng = createRng(7);
    const normal = gaussian(rng);
    const n = 1_000_000;
    const reference = Float64Array.from({ length: n }, () => 50 + 10 * normal());
    const current = Float64Array.from({ length: n }, () => 51 + 10.5 * normal());
    const a = sketchOf(reference).summary();
    const b = sketchOf(current).summary();
    expect(a.exact, "1M distinct values are compressed").toBe(false);
    expect(a.weighted.values.length).toBeLessThanOrEqual(65_536);
    const exactRef = toWeighted(reference);
    const exactCur = toWeighted(current);
    const w1 = wasserstein(exactRef, exactCur);
    const w1Sketch = wasserstein(a.weighted, b.weighted);
    expect(Math.abs(w1Sketch - w1) / w1, `W1 ${w1Sketch} vs exact ${w1}`).toBeLessThan(1e-3);
    const ks = ksStatistic(exactRef, exactCur);
    expect(Math.abs(ksStatistic(a.weighted, b.weighted) - ks), "KS D").toBeLessThan(1e-3);
    expect(a.mean).toBeCloseTo(mean(reference), 9);
    expect(a.std).toBeCloseTo(weightedStd(exactRef), 9);
    expect(a.min).toBe(exactRef.values[0]);
    expect(a.max).toBe(exactRef.values.at(-1));
    expect(a.count).toBe(n);
  });

  it("given a heavy tail (lognormal amounts with outliers), then the bulk keeps its resolution", () => {
    const rng = createRng(11);
    const normal = gaussian(rng);
    const values = Float64Array.from({ length: 300_000 }, (_, i) =>
      i % 10_000 === 0 ? 1e9 * rng() : Math.round(100 * Math.exp(8 + 1.5 * normal())) / 100,
    );
    const shifted = Float64Array.from(values, (v) => v * 1.05);
    const exact = wasserstein(toWeighted(values), toWeighted(shifted));
    const approx = wasserstein(sketchOf(values).summary().weighted, sketchOf(shifted).summary().weighted);
    expect(Math.abs(approx - exact) / exact).toBeLessThan(1e-3);
  });

  it("is deterministic: the same values give the same summary", () => {
    const rng = createRng(3);
    const values = Float64Array.from({ length: 200_000 }, () => rng() * 1e4);
    const x = sketchOf(values).summary().weighted;
    const y = sketchOf(values).summary().weighted;
    expect(Array.from(x.values)).toEqual(Array.from(y.values));
    expect(Array.from(x.counts)).toEqual(Array.from(y.counts));
  });

  it("gives the same summary, to the last bit, whatever its buffer size and wherever a summary is read", () => {
    const rng = createRng(11);
    // Exact, compressed, compressing early (heavy tail), compressing late (half small codes, then a spread).
    const streams: [string, Float64Array, number][] = [
      ["exact fractions", Float64Array.from({ length: 50_000 }, () => rng() * 1000 - 300), 65_536],
      ["compressed fractions", Float64Array.from({ length: 200_000 }, () => rng() * 1000 - 300), 8192],
      ["heavy tail", Float64Array.from({ length: 300_000 }, () => 1 / (rng() + 1e-9)), 8192],
      [
        "codes then spread",
        Float64Array.from({ length: 300_000 }, (_, i) =>
          i < 150_000 ? Math.floor(rng() * 50) : Math.exp(10 * rng()),
        ),
        300,
      ],
    ];
    for (const [name, values, maxPoints] of streams) {
      const summaries = [512, 4096, 131_072].map((maxBuffer) => {
        const sketch = new ValueSketch({ maxPoints, maxBuffer });
        for (let i = 0; i < values.length; i++) {
          sketch.add(values[i]!);
          if (i === 70_001) expect(sketch.min).toBe(Math.min(...values.subarray(0, i + 1)));
        }
        const s = sketch.summary();
        return {
          ...s,
          weighted: { values: Array.from(s.weighted.values), counts: Array.from(s.weighted.counts) },
        };
      });
      expect(summaries[1], name).toEqual(summaries[0]);
      expect(summaries[2], name).toEqual(summaries[0]);
    }
  });
});

describe("compressPoints", () => {
  const sorted = (n: number): WeightedValues => {
    const rng = createRng(5);
    const values = Float64Array.from({ length: n }, () => rng() ** 3 * 100).sort();
    return toWeighted(values);
  };

  it("given more points than asked, then at most that many, ascending, same total and mean", () => {
    const input = sorted(50_000);
    const out = compressPoints(input, 1000);
    expect(out.values.length).toBeLessThanOrEqual(1000);
    for (let i = 1; i < out.values.length; i++) expect(out.values[i]!).toBeGreaterThan(out.values[i - 1]!);
    expect(out.total).toBe(input.total);
    const m = (w: WeightedValues) => w.values.reduce((s, v, i) => s + v * w.counts[i]!, 0) / w.total;
    expect(m(out)).toBeCloseTo(m(input), 9);
    expect(ksStatistic(input, out), "KS error bounded by the weight cap").toBeLessThan(4 / 1000);
  });

  it("given fewer points than asked, then the input itself", () => {
    const input = sorted(100);
    expect(compressPoints(input, 1000)).toBe(input);
  });

  it("given a summary asked for fewer points, then the summary is compressed and not exact", () => {
    const values = Float64Array.from({ length: 5000 }, (_, i) => i);
    const summary = sketchOf(values).summary(100);
    expect(summary.exact).toBe(false);
    expect(summary.weighted.values.length).toBeLessThanOrEqual(100);
    expect(summary.distinct, "distinct counts the sketch's values").toBe(5000);
  });
});

describe("ValueSketch, awkward values", () => {
  const families: [string, (rng: () => number) => number][] = [
    ["huge and tiny magnitudes", (rng) => (rng() < 0.5 ? -1 : 1) * 10 ** (rng() * 600 - 300)],
    ["near 1e15 with small noise", (rng) => 1e15 + Math.floor(rng() * 1e6)],
    ["mostly zeros", (rng) => (rng() < 0.99 ? 0 : rng() * 1e-3)],
    ["two far clusters", (rng) => (rng() < 0.5 ? rng() : 1e12 + rng())],
    ["denormals", (rng) => rng() * 1e-310],
  ];
  for (const [name, draw] of families)
    it(`given ${name}, then the summary is finite, strictly ascending, within [min, max], and keeps every row`, () => {
      const rng = createRng(name.length);
      const sketch = new ValueSketch({ maxPoints: 64, maxBins: 16 });
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < 20_000; i++) {
        const x = draw(rng);
        min = Math.min(min, x);
        max = Math.max(max, x);
        sketch.add(x);
      }
      const s = sketch.summary();
      expect(s.weighted.total).toBe(20_000);
      expect(s.weighted.values.length).toBeLessThanOrEqual(64);
      expect(s.min).toBe(min);
      expect(s.max).toBe(max);
      for (let i = 0; i < s.weighted.values.length; i++) {
        const v = s.weighted.values[i]!;
        expect(Number.isFinite(v), `point ${i} finite`).toBe(true);
        expect(v).toBeGreaterThanOrEqual(min);
        expect(v).toBeLessThanOrEqual(max);
        if (i > 0) expect(v, `point ${i} ascending`).toBeGreaterThan(s.weighted.values[i - 1]!);
      }
    });
});
