import { describe, expect, it } from "vitest";
import { type SearchSpace, sampleSpace } from "../../../src/models/candidates.js";
import {
  categoricalParzen,
  defaultWeights,
  logPdfNumeric,
  medianCurve,
  numericParzen,
  sampleNumeric,
  splitObservations,
  type TpeObservation,
  TpeSampler,
} from "../../../src/models/tpe.js";
import { createRng, deriveSeed } from "../../../src/shared/random.js";

const range = (min: number, max: number, log = false, integer = false) => ({ min, max, log, integer });

/** A TPE search of `budget` sequential trials on `objective` (maximised); the best value found and every trial. */
function runTpe(
  space: SearchSpace,
  objective: (p: Record<string, unknown>) => number,
  budget: number,
  seed: number,
  startup = 10,
): { best: number; trials: TpeObservation[] } {
  const sampler = new TpeSampler(
    space,
    { gamma: 0.25, candidates: 24, startup, higherIsBetter: true },
    createRng(deriveSeed(seed, "candidate-0")),
    (n) => createRng(deriveSeed(seed, `candidate-0-tpe-${n}`)),
  );
  const trials: TpeObservation[] = [];
  for (let n = 1; n <= budget; n++) {
    const params = sampler.suggest(n, trials);
    trials.push({ number: n, params, value: objective(params), pruned: false });
  }
  return { best: Math.max(...trials.map((t) => t.value)), trials };
}

/** Random search with the same budget and the same seeded stream (what TPE's startup trials are). */
function runRandom(
  space: SearchSpace,
  objective: (p: Record<string, unknown>) => number,
  budget: number,
  seed: number,
) {
  const rng = createRng(deriveSeed(seed, "candidate-0"));
  let best = Number.NEGATIVE_INFINITY;
  for (let n = 0; n < budget; n++) best = Math.max(best, objective(sampleSpace(space, rng)));
  return best;
}

describe("TPE (Optuna's independent TPE)", () => {
  it("bandwidths follow Optuna's neighbour rule with the prior, clipped to [range/min(100, n+2), range]", () => {
    // Observations 0.1, 0.12, 0.9 on [0, 1]; prior at 0.5. Sorted with the ends: 0, .1, .12, .5, .9, 1.
    // Raw: 0.1 → .02 (outermost: inner gap), 0.12 → max(.02, .38), 0.9 → .4 (outermost: inner gap);
    // min sigma 1 / (1 + 3 + 1) = 0.2 lifts the first.
    const p = numericParzen([0.1, 0.12, 0.9], 0, 1);
    expect(p.mus).toEqual([0.1, 0.12, 0.9, 0.5]);
    expect(p.sigmas.map((s) => Number(s.toFixed(10)))).toEqual([0.2, 0.38, 0.4, 1]);
    expect(p.weights).toEqual([0.25, 0.25, 0.25, 0.25]);
    // No observations: the prior alone.
    const prior = numericParzen([], 2, 6);
    expect([prior.mus, prior.sigmas, prior.weights]).toEqual([[4], [4], [1]]);
    // Integers: the range and the sigmas count the step (Optuna's low − ½ … high + ½).
    const ints = numericParzen([3], 1, 5, 1);
    expect(ints.sigmas[1]).toBe(5);
  });

  it("observation weights: 1 each up to 25, then the older ones ramp from 1/n (Optuna's default_weights)", () => {
    expect(defaultWeights(3)).toEqual([1, 1, 1]);
    const w = defaultWeights(30);
    expect(w).toHaveLength(30);
    expect(w[0]).toBeCloseTo(1 / 30, 12);
    expect(w[4]).toBeCloseTo(1, 12);
    expect(w.slice(5)).toEqual(new Array(25).fill(1));
  });

  it("densities are normalised: continuous integrates to 1, discrete sums to 1 over the integers", () => {
    const p = numericParzen([0.2, 0.25, 0.7], 0, 1);
    let integral = 0;
    const steps = 20_000;
    for (let i = 0; i < steps; i++) integral += Math.exp(logPdfNumeric(p, (i + 0.5) / steps)) / steps;
    expect(integral).toBeCloseTo(1, 4);
    const d = numericParzen([2, 3, 9], 1, 10, 1);
    let mass = 0;
    for (let x = 1; x <= 10; x++) mass += Math.exp(logPdfNumeric(d, x));
    expect(mass).toBeCloseTo(1, 5);
    const rng = createRng(3);
    for (let i = 0; i < 200; i++) {
      const x = sampleNumeric(d, rng);
      expect(Number.isInteger(x) && x >= 1 && x <= 10).toBe(true);
    }
  });

  it("categorical kernels: mass 1 + 1/(n+1) on the observed value, 1/(n+1) everywhere, mixed with the prior", () => {
    // n = 1 on 3 choices: the observation's row (1.5, .5, .5)/2.5, the prior's (1/3 each), weights ½ each.
    const p = categoricalParzen([0], 3);
    expect(p[0]).toBeCloseTo(0.5 * 0.6 + 0.5 / 3, 12);
    expect(p[1]).toBeCloseTo(0.5 * 0.2 + 0.5 / 3, 12);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it("the good set: the best ceil(gamma·n) completed trials; pruned and NaN trials rank last", () => {
    const obs = (number: number, value: number, pruned = false): TpeObservation => ({
      number,
      params: {},
      value,
      pruned,
    });
    const all = [obs(1, 0.5), obs(2, 0.9, true), obs(3, Number.NaN), obs(4, 0.7), obs(5, 0.6), obs(6, 0.1)];
    const up = splitObservations(all, 0.25, true);
    expect(up.good.map((o) => o.number)).toEqual([4, 5]);
    expect(up.bad.map((o) => o.number)).toEqual([1, 2, 3, 6]);
    const down = splitObservations(all, 0.25, false);
    expect(down.good.map((o) => o.number)).toEqual([1, 6]);
  });

  it("the same seed gives the same suggestions; another seed others", () => {
    const space: SearchSpace = {
      lr: range(1e-4, 1, true),
      depth: range(1, 12, false, true),
      width: range(8, 512, true, true),
      act: ["relu", "tanh", "elu"],
      units: [[8], [16, 8]],
    };
    const objective = (p: Record<string, unknown>) =>
      -Math.abs(Math.log10(p.lr as number) + 2) -
      Math.abs((p.depth as number) - 6) / 6 +
      (p.act === "tanh" ? 0.3 : 0);
    const a = runTpe(space, objective, 25, 5, 6);
    const b = runTpe(space, objective, 25, 5, 6);
    const c = runTpe(space, objective, 25, 6, 6);
    expect(a.trials).toEqual(b.trials);
    expect(a.trials.map((t) => t.params)).not.toEqual(c.trials.map((t) => t.params));
    for (const t of a.trials) {
      expect(Number.isInteger(t.params.depth) && Number.isInteger(t.params.width)).toBe(true);
      expect(t.params.width as number).toBeGreaterThanOrEqual(8);
      expect(t.params.width as number).toBeLessThanOrEqual(512);
      expect(Number((t.params.lr as number).toPrecision(4))).toBe(t.params.lr);
      expect([["relu"], ["tanh"], ["elu"]].map((x) => x[0])).toContain(t.params.act);
    }
    // The startup trials are random search's draws from the same stream.
    const rng = createRng(deriveSeed(5, "candidate-0"));
    expect(a.trials.slice(0, 6).map((t) => t.params)).toEqual(
      Array.from({ length: 6 }, () => sampleSpace(space, rng)),
    );
  });

  it("finds better optima than random search with the same budget and seed, across 20 seeds (2-D, log scale)", () => {
    const space: SearchSpace = { lr: range(1e-5, 1, true), y: range(0, 1) };
    const objective = (p: Record<string, unknown>) =>
      -((Math.log10(p.lr as number) + 3) ** 2) / 4 - ((p.y as number) - 0.8) ** 2 * 4;
    let tpeRegret = 0;
    let randomRegret = 0;
    let wins = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const tpe = runTpe(space, objective, 40, seed).best;
      const random = runRandom(space, objective, 40, seed);
      tpeRegret -= tpe;
      randomRegret -= random;
      if (tpe > random) wins++;
    }
    // Measured: mean regret 0.0079 (TPE) vs 0.0384 (random), 17 of 20 seeds won.
    expect(tpeRegret).toBeLessThan(0.5 * randomRegret);
    expect(wins).toBeGreaterThanOrEqual(14);
  });

  it("finds better optima with integers and a categorical too (4 parameters)", () => {
    const space: SearchSpace = {
      lr: range(1e-5, 1, true),
      y: range(0, 1),
      k: range(1, 50, false, true),
      act: ["a", "b", "c", "d"],
    };
    const objective = (p: Record<string, unknown>) =>
      -((Math.log10(p.lr as number) + 3) ** 2) / 4 -
      ((p.y as number) - 0.8) ** 2 * 4 -
      (((p.k as number) - 37) / 10) ** 2 -
      (p.act === "c" ? 0 : 0.5);
    let tpeRegret = 0;
    let randomRegret = 0;
    let wins = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const tpe = runTpe(space, objective, 30, seed, 8).best;
      const random = runRandom(space, objective, 30, seed);
      tpeRegret -= tpe;
      randomRegret -= random;
      if (tpe > random) wins++;
    }
    // Measured: mean regret 0.30 (TPE) vs 0.58 (random), 16 of 20 seeds won.
    expect(tpeRegret).toBeLessThan(0.75 * randomRegret);
    expect(wins).toBeGreaterThanOrEqual(13);
  });

  it("median pruning curve: NaN through warmup, then the median of best-so-far (an ended trial keeps its best)", () => {
    const histories = [
      [0.5, 0.6, 0.55, 0.7],
      [0.4, 0.45, 0.5],
      [0.3, 0.8, 0.6, 0.6, 0.65],
    ];
    const up = medianCurve(histories, 6, 1, true);
    expect(up[0]).toBeNaN();
    // Best so far per iteration: [.5,.6,.6,.7,.7,.7], [.4,.45,.5,.5,.5,.5], [.3,.8,.8,.8,.8,.8].
    expect(up.slice(1)).toEqual([0.6, 0.6, 0.7, 0.7, 0.7]);
    const down = medianCurve(
      [
        [0.5, 0.4],
        [0.6, 0.7],
      ],
      3,
      0,
      false,
    );
    // Lower is better: best so far [.5, .4, .4] and [.6, .6, .6]; medians of two average.
    expect(down.map((v) => Number(v.toFixed(10)))).toEqual([0.55, 0.5, 0.5]);
  });
});
