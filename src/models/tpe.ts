// Tree-structured Parzen Estimator (Bergstra et al. 2011), independent per parameter, following Optuna's
// TPESampler (optuna/samplers/_tpe/sampler.py, parzen_estimator.py, probability_distributions.py) with its
// defaults: prior weight 1, consider_prior, consider_magic_clip, no endpoints, Optuna's observation weights
// (older trials ramped down past 25). Bandwidths are Optuna's rule: each kernel's sigma is the larger distance
// to its sorted neighbours (the prior's mean included, the range ends as outer neighbours), the two outermost
// kernels use their inner distance, then clipped to [range / min(100, n + 2), range]. Numeric ranges are
// modelled on the log scale when `log`; integers as a discretised truncated normal (step 1), or, when `log`,
// continuously on [log(min - 0.5), log(max + 0.5)] and rounded, as Optuna does. Lists of values are
// categorical: each observation's kernel puts mass 1 + prior/(n + 1) on its own value and prior/(n + 1) on
// every value. The good set is the best ceil(gamma · n) trials (pruned trials rank after every completed one),
// `candidates` values are drawn from l(x) and the one maximising log l(x) − log g(x) is kept.
// Also here: the median pruning rule's threshold curve (Optuna's MedianPruner, on best-so-far values).

import type { SearchRange } from "../config/train-config.js";
import { roundRangeValue, type SearchSpace, sampleSpace } from "./candidates.js";

/** A finished trial as TPE sees it. */
export interface TpeObservation {
  /** 1-based trial number within the search (ties in value keep the earlier trial first). */
  number: number;
  params: Record<string, unknown>;
  /** The selection metric on validation (NaN ranks last). */
  value: number;
  /** Stopped by the pruning rule: ranks after every completed trial. */
  pruned: boolean;
}

export interface TpeSettings {
  /** Share of the trials forming the good density l(x). */
  gamma: number;
  /** Values drawn from l(x) per parameter; the best l/g ratio wins. */
  candidates: number;
  /** Direction of `value`. */
  higherIsBetter: boolean;
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const PRIOR_WEIGHT = 1;

/** Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7 everywhere). */
const ERFC_COEFFICIENTS = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
  -0.82215223, 0.17087277,
];
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  let poly = 0;
  for (let i = ERFC_COEFFICIENTS.length - 1; i >= 0; i--) poly = ERFC_COEFFICIENTS[i]! + t * poly;
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

/** Standard normal CDF. */
function ndtr(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** log(Φ(b) − Φ(a)) for a < b, computed in the tail where the mass is (no cancellation near 1). */
function logGaussMass(a: number, b: number): number {
  let mass: number;
  if (b <= 0) mass = ndtr(b) - ndtr(a);
  else if (a >= 0) mass = ndtr(-a) - ndtr(-b);
  else mass = 1 - ndtr(a) - ndtr(-b);
  if (mass > 0) return Math.log(mass);
  // Underflow far in a tail: the density at the midpoint times the width.
  const mid = 0.5 * (a + b);
  return -0.5 * mid * mid - LOG_SQRT_2PI + Math.log(b - a);
}

function logSumExp(values: number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > max) max = v;
  if (max === Number.NEGATIVE_INFINITY) return max;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

/** An index drawn with probability proportional to `weights` (which sum to 1). */
function pick(weights: readonly number[], rng: () => number): number {
  const u = rng();
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i]!;
    if (u < acc) return i;
  }
  return weights.length - 1;
}

/** A standard normal draw (Box–Muller; 1 − rng() keeps the logarithm finite). */
function gaussian(rng: () => number): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A draw of N(mu, sigma) truncated to [low, high], by rejection (acceptance ≥ 1/3 with Optuna's clipping). */
function truncatedNormal(mu: number, sigma: number, low: number, high: number, rng: () => number): number {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const x = mu + sigma * gaussian(rng);
    if (x >= low && x <= high) return x;
  }
  return Math.min(high, Math.max(low, mu));
}

/** Optuna's default observation weights: 1 each, but beyond 25 the older ones ramp down from 1/n. */
export function defaultWeights(n: number): number[] {
  if (n < 25) return new Array<number>(n).fill(1);
  const ramp = n - 25;
  const out: number[] = [];
  for (let i = 0; i < ramp; i++) out.push(ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1));
  for (let i = 0; i < 25; i++) out.push(1);
  return out;
}

function normalised(weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / sum);
}

/** A mixture of truncated normals on [low, high] (discretised to `step` when step > 0). */
export interface NumericParzen {
  weights: number[];
  mus: number[];
  sigmas: number[];
  low: number;
  high: number;
  /** 0: continuous. */
  step: number;
}

/** Optuna's univariate Parzen estimator of observations (already on the model scale). */
export function numericParzen(
  observations: readonly number[],
  low: number,
  high: number,
  step = 0,
): NumericParzen {
  const n = observations.length;
  const span = high - low + step;
  const priorMu = 0.5 * (low + high);
  const withPrior = [...observations, priorMu];
  const order = withPrior.map((_, i) => i).sort((a, b) => withPrior[a]! - withPrior[b]! || a - b);
  const ends = [low - step / 2, ...order.map((i) => withPrior[i]!), high + step / 2];
  const m = withPrior.length;
  const sorted = new Array<number>(m);
  for (let i = 0; i < m; i++) sorted[i] = Math.max(ends[i + 1]! - ends[i]!, ends[i + 2]! - ends[i + 1]!);
  if (ends.length >= 4) {
    sorted[0] = ends[2]! - ends[1]!;
    sorted[m - 1] = ends[m]! - ends[m - 1]!;
  }
  const sigmas = new Array<number>(m);
  for (let i = 0; i < m; i++) sigmas[order[i]!] = sorted[i]!;
  const minSigma = span / Math.min(100, 1 + n + 1);
  const clipped = sigmas.slice(0, n).map((s) => Math.min(span, Math.max(minSigma, s)));
  return {
    weights: normalised([...defaultWeights(n), PRIOR_WEIGHT]),
    mus: [...observations, priorMu],
    sigmas: [...clipped, span],
    low,
    high,
    step,
  };
}

export function sampleNumeric(p: NumericParzen, rng: () => number): number {
  const k = pick(p.weights, rng);
  const half = p.step / 2;
  const x = truncatedNormal(p.mus[k]!, p.sigmas[k]!, p.low - half, p.high + half, rng);
  if (p.step === 0) return x;
  return Math.min(p.high, Math.max(p.low, p.low + Math.round((x - p.low) / p.step) * p.step));
}

export function logPdfNumeric(p: NumericParzen, x: number): number {
  const half = p.step / 2;
  const terms = p.mus.map((mu, k) => {
    const sigma = p.sigmas[k]!;
    const norm = logGaussMass((p.low - half - mu) / sigma, (p.high + half - mu) / sigma);
    let log: number;
    if (p.step === 0) {
      const z = (x - mu) / sigma;
      log = -0.5 * z * z - LOG_SQRT_2PI - Math.log(sigma);
    } else log = logGaussMass((x - half - mu) / sigma, (x + half - mu) / sigma);
    return Math.log(p.weights[k]!) + log - norm;
  });
  return logSumExp(terms);
}

/** The mixture of Optuna's smoothed categorical kernels, collapsed to one distribution over the choices. */
export function categoricalParzen(observations: readonly number[], choices: number): number[] {
  const n = observations.length;
  const weights = normalised([...defaultWeights(n), PRIOR_WEIGHT]);
  const fill = PRIOR_WEIGHT / (n + 1);
  const p = new Array<number>(choices).fill(0);
  for (let k = 0; k <= n; k++) {
    const row = new Array<number>(choices).fill(fill);
    if (k < n) row[observations[k]!]! += 1;
    const sum = row.reduce((a, b) => a + b, 0);
    for (let c = 0; c < choices; c++) p[c]! += (weights[k]! * row[c]!) / sum;
  }
  return p;
}

/** Where a range lives in the model: bounds, step, and the maps to and from the config's values. */
interface NumericScale {
  low: number;
  high: number;
  step: number;
  toModel(value: number): number;
  fromModel(x: number): number;
}

function scaleOf(range: SearchRange): NumericScale {
  const lo = range.integer ? Math.ceil(range.min) : range.min;
  const hi = range.integer ? Math.floor(range.max) : range.max;
  const clampInt = (v: number) => Math.min(hi, Math.max(lo, Math.round(v)));
  if (range.log && range.integer) {
    // Optuna's log-int: continuous on [log(min − ½), log(max + ½)], rounded after exp.
    const low = lo - 0.5 > 0 ? Math.log(lo - 0.5) : Math.log(lo);
    return {
      low,
      high: Math.log(hi + 0.5),
      step: 0,
      toModel: Math.log,
      fromModel: (x) => clampInt(Math.exp(x)),
    };
  }
  if (range.log)
    return {
      low: Math.log(lo),
      high: Math.log(hi),
      step: 0,
      toModel: Math.log,
      fromModel: (x) => Math.min(hi, Math.max(lo, roundRangeValue(Math.exp(x), range))),
    };
  if (range.integer) return { low: lo, high: hi, step: 1, toModel: (v) => v, fromModel: clampInt };
  return {
    low: lo,
    high: hi,
    step: 0,
    toModel: (v) => v,
    fromModel: (x) => Math.min(hi, Math.max(lo, roundRangeValue(x, range))),
  };
}

/** Completed trials best first (NaN last), then pruned ones the same way; ties keep trial order. */
export function splitObservations(
  observations: readonly TpeObservation[],
  gamma: number,
  higherIsBetter: boolean,
): { good: TpeObservation[]; bad: TpeObservation[] } {
  const rank = (a: TpeObservation, b: TpeObservation) => {
    if (a.pruned !== b.pruned) return a.pruned ? 1 : -1;
    const an = Number.isNaN(a.value);
    const bn = Number.isNaN(b.value);
    if (an || bn) return an === bn ? a.number - b.number : an ? 1 : -1;
    const d = higherIsBetter ? b.value - a.value : a.value - b.value;
    return d !== 0 ? d : a.number - b.number;
  };
  const ordered = [...observations].sort(rank);
  const nGood = Math.min(ordered.length, Math.max(1, Math.ceil(gamma * ordered.length)));
  const byNumber = (a: TpeObservation, b: TpeObservation) => a.number - b.number;
  return { good: ordered.slice(0, nGood).sort(byNumber), bad: ordered.slice(nGood).sort(byNumber) };
}

const key = (value: unknown) => JSON.stringify(value);

/** One TPE suggestion for every parameter of `space`, independently, from the finished trials. */
export function suggestTpe(
  space: SearchSpace,
  observations: readonly TpeObservation[],
  settings: TpeSettings,
  rng: () => number,
): Record<string, unknown> {
  const { good, bad } = splitObservations(observations, settings.gamma, settings.higherIsBetter);
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(space)) {
    if (Array.isArray(spec)) {
      const keys = spec.map(key);
      const indices = (group: TpeObservation[]) =>
        group.map((o) => keys.indexOf(key(o.params[name]))).filter((i) => i >= 0);
      const l = categoricalParzen(indices(good), spec.length);
      const g = categoricalParzen(indices(bad), spec.length);
      let best = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < settings.candidates; c++) {
        const i = pick(l, rng);
        const score = Math.log(l[i]!) - Math.log(g[i]!);
        if (best < 0 || score > bestScore) {
          best = i;
          bestScore = score;
        }
      }
      out[name] = spec[best];
      continue;
    }
    const scale = scaleOf(spec);
    const values = (group: TpeObservation[]) =>
      group
        .map((o) => o.params[name])
        .filter((v): v is number => typeof v === "number" && Number.isFinite(v))
        .map((v) => Math.min(scale.high, Math.max(scale.low, scale.toModel(v))));
    const l = numericParzen(values(good), scale.low, scale.high, scale.step);
    const g = numericParzen(values(bad), scale.low, scale.high, scale.step);
    let best = Number.NaN;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < settings.candidates; c++) {
      const x = sampleNumeric(l, rng);
      const score = logPdfNumeric(l, x) - logPdfNumeric(g, x);
      if (Number.isNaN(best) || score > bestScore) {
        best = x;
        bestScore = score;
      }
    }
    out[name] = scale.fromModel(best);
  }
  return out;
}

/**
 * The suggestions of one TPE search: the first `startup` trials are random search's draws from the same seeded
 * stream (so they equal a random search of the same space), later ones model-based, each from its own stream
 * (`streamFor(n)`), so that trials suggested together from the same history still differ.
 */
export class TpeSampler {
  private readonly startupDraws: Record<string, unknown>[];

  constructor(
    private readonly space: SearchSpace,
    private readonly settings: TpeSettings & { startup: number },
    startupStream: () => number,
    private readonly streamFor: (n: number) => () => number,
  ) {
    this.startupDraws = Array.from({ length: settings.startup }, () => sampleSpace(space, startupStream));
  }

  /** The parameters of trial `n` (1-based) given the trials finished so far. */
  suggest(n: number, observations: readonly TpeObservation[]): Record<string, unknown> {
    if (n <= this.settings.startup) return { ...this.startupDraws[n - 1]! };
    const rng = this.streamFor(n);
    if (observations.length === 0) return sampleSpace(this.space, rng);
    return suggestTpe(this.space, observations, this.settings, rng);
  }
}

/**
 * The median pruning rule as a threshold curve for a trial planned for `planned` iterations: at iteration
 * i > `warmup`, the median over the completed trials of their best validation metric up to i (a trial that
 * stopped earlier keeps its final best); NaN (no check) up to `warmup`. `histories` holds each completed
 * trial's validation metric per iteration.
 */
export function medianCurve(
  histories: readonly (readonly number[])[],
  planned: number,
  warmup: number,
  higherIsBetter: boolean,
): number[] {
  const bestSoFar = histories.map((h) => {
    const out: number[] = [];
    let best = Number.NaN;
    for (const v of h) {
      if (!Number.isNaN(v) && (Number.isNaN(best) || (higherIsBetter ? v > best : v < best))) best = v;
      out.push(best);
    }
    return out;
  });
  const curve: number[] = [];
  for (let i = 1; i <= planned; i++) {
    if (i <= warmup) {
      curve.push(Number.NaN);
      continue;
    }
    const values = bestSoFar
      .filter((b) => b.length > 0)
      .map((b) => b[Math.min(i, b.length) - 1]!)
      .filter((v) => !Number.isNaN(v))
      .sort((a, b) => a - b);
    if (values.length === 0) {
      curve.push(Number.NaN);
      continue;
    }
    const mid = values.length >> 1;
    curve.push(values.length % 2 === 1 ? values[mid]! : 0.5 * (values[mid - 1]! + values[mid]!));
  }
  return curve;
}
