/**
 * A seeded paired bootstrap over rows: both models are scored on the same resampled rows, so the
 * interval is on their difference and the correlation between them is kept.
 */
import { WorkbenchError } from "../shared/errors.js";
import { createRng } from "../shared/random.js";

export interface BootstrapOptions {
  /** default 2000 */
  resamples?: number;
  /** default 0.95 */
  confidence?: number;
  seed: number;
}

export interface BootstrapResult {
  observed: number;
  ci: [number, number];
  confidence: number;
  /** share of valid resamples whose difference <= 0 (one-sided evidence against "challenger better") */
  pValue: number;
  resamples: number;
  valid: number;
}

/**
 * Bootstraps `statistic`, the difference challenger − champion, with a percentile CI (numpy's 'linear').
 * statistic(weights) returns the difference challenger − champion on a resample given as per-row counts
 * (weights[i] = how many times row i was drawn); NaN marks an undefined resample (skipped, counted out of
 * `valid`). The weights buffer is reused between calls: read it, do not keep it.
 * @example pairedBootstrap(labels.length, (w) => metric(challenger, w) - metric(champion, w), { seed: 42 })
 */
export function pairedBootstrap(
  n: number,
  statistic: (weights: Float64Array) => number,
  options: BootstrapOptions,
): BootstrapResult {
  const resamples = options.resamples ?? 2000;
  const confidence = options.confidence ?? 0.95;
  checkOptions(n, resamples, confidence, options.seed);
  const weights = new Float64Array(n).fill(1);
  const observed = statistic(weights);
  // One generator for the whole run, resamples drawn in order: the same seed replays the same resamples.
  const rng = createRng(options.seed);
  const values = new Float64Array(resamples);
  let valid = 0;
  let atOrBelowZero = 0;
  for (let r = 0; r < resamples; r++) {
    weights.fill(0);
    for (let j = 0; j < n; j++) weights[Math.floor(rng() * n)]!++;
    const value = statistic(weights);
    if (Number.isNaN(value)) continue;
    values[valid++] = value;
    if (value <= 0) atOrBelowZero++;
  }
  const sorted = values.subarray(0, valid).sort();
  const tail = (1 - confidence) / 2;
  const ci: [number, number] = [percentile(sorted, tail), percentile(sorted, 1 - tail)];
  return {
    observed,
    ci,
    confidence,
    pValue: valid === 0 ? Number.NaN : atOrBelowZero / valid,
    resamples,
    valid,
  };
}

/**
 * numpy.percentile's default ('linear') on sorted values at quantile q in [0, 1], including numpy's
 * choice of interpolating from the nearer end, so CIs match the Python reference to the last bits.
 */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const position = (n - 1) * q;
  const below = Math.min(Math.floor(position), n - 1);
  const above = Math.min(below + 1, n - 1);
  const gamma = position - below;
  const a = sorted[below]!;
  const b = sorted[above]!;
  const span = b - a;
  return gamma >= 0.5 ? b - span * (1 - gamma) : a + span * gamma;
}

function checkOptions(n: number, resamples: number, confidence: number, seed: number): void {
  const invalid = (message: string) =>
    new WorkbenchError("STATS_INVALID_INPUT", `Paired bootstrap: ${message}`);
  if (!Number.isInteger(n) || n < 1) {
    throw invalid(`the number of rows must be a positive integer, got ${n}; is the evaluation set empty?`);
  }
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw invalid(`resamples must be a positive integer, got ${resamples}`);
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw invalid(`confidence must lie strictly between 0 and 1 (e.g. 0.95), got ${confidence}`);
  }
  if (!Number.isFinite(seed)) throw invalid(`seed must be a finite number, got ${seed}`);
}
