/**
 * Evidently's get_binned_data and the two distances built on it: numeric columns with more than 20 distinct
 * reference values are cut into Sturges bins over both sides' range (numpy's histogram_bin_edges("sturges") +
 * np.histogram, last bin closed), everything else is shared per category; then the Jensen–Shannon distance
 * (scipy.spatial.distance.jensenshannon, natural log) and the PSI.
 */
import { WorkbenchError } from "../../shared/errors.js";
import type { Distribution, WeightedValues } from "../types.js";
import { alignCounts } from "./categorical.js";

/** Evidently bins a numeric column only when its reference has more distinct values than this. */
export const BIN_MIN_DISTINCT = 20;

export interface BinnedShares {
  /** Numeric bins: the edges (bins + 1 of them). */
  edges?: number[];
  /** Categories (or a numeric column's distinct values as strings) when not binned. */
  keys?: string[];
  /** Share of each side's rows per bin / key. */
  reference: Float64Array;
  current: Float64Array;
}

/**
 * numpy's histogram_bin_edges(values, bins="sturges") for the rows of both distributions. `integer` mirrors an
 * int64 column: numpy then keeps bins at least 1 wide.
 */
export function sturgesEdges(a: WeightedValues, b: WeightedValues, integer = false): Float64Array {
  const min = Math.min(a.values[0]!, b.values[0]!);
  const max = Math.max(a.values[a.values.length - 1]!, b.values[b.values.length - 1]!);
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const size = a.total + b.total;
  let width = (max - min) / (Math.log2(size) + 1);
  let bins = 1;
  if (width) {
    if (integer && width < 1) width = 1;
    bins = Math.ceil((last - first) / width);
  }
  return linspace(first, last, bins + 1);
}

/** np.linspace(start, stop, num) (endpoint included), with numpy's rounding. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const div = num - 1;
  const delta = stop - start;
  if (div > 0) {
    const step = delta / div;
    for (let i = 0; i < num; i++) out[i] = (step === 0 ? (i / div) * delta : i * step) + start;
    out[num - 1] = stop;
  } else if (num === 1) {
    out[0] = start;
  }
  return out;
}

/** np.histogram(rows, edges)[0] / rows: bins [e_j, e_j+1), the last one closed. */
export function histogramShares(w: WeightedValues, edges: Float64Array): Float64Array {
  const bins = edges.length - 1;
  const shares = new Float64Array(bins);
  let j = 0;
  for (let i = 0; i < w.values.length; i++) {
    const v = w.values[i]!;
    if (v < edges[0]! || v > edges[bins]!) continue;
    while (j < bins - 1 && v >= edges[j + 1]!) j++;
    shares[j]! += w.counts[i]!;
  }
  for (let k = 0; k < bins; k++) shares[k]! /= w.total;
  return shares;
}

/** Evidently's feel_zeroes: empty bins get min(non-zero share) / 1e6 when that is <= 1e-4, else 1e-4. */
export function fillZeroes(shares: Float64Array): Float64Array {
  let min = Number.POSITIVE_INFINITY;
  for (const s of shares) if (s !== 0 && s < min) min = s;
  if (min === Number.POSITIVE_INFINITY) return shares;
  const fill = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  for (let k = 0; k < shares.length; k++) if (shares[k] === 0) shares[k] = fill;
  return shares;
}

/**
 * Evidently's get_binned_data(reference, current, feature_type, n, feel_zeroes): shares per Sturges bin for a
 * numeric column with more than 20 distinct reference values, per category (or distinct value) otherwise.
 * Both distributions must be of the same kind and non-empty.
 */
export function binnedShares(
  reference: Distribution,
  current: Distribution,
  fillZeroesFlag: boolean,
): BinnedShares {
  let result: BinnedShares;
  if (
    reference.kind === "numeric" &&
    current.kind === "numeric" &&
    reference.weighted.values.length > BIN_MIN_DISTINCT
  ) {
    const integer = reference.integer === true && current.integer === true;
    const edges = sturgesEdges(reference.weighted, current.weighted, integer);
    result = {
      edges: Array.from(edges),
      reference: histogramShares(reference.weighted, edges),
      current: histogramShares(current.weighted, edges),
    };
  } else {
    const aligned = alignCounts(
      reference.kind === "numeric" ? reference.weighted : reference.counts,
      current.kind === "numeric" ? current.weighted : current.counts,
    );
    const ref = aligned.reference;
    const cur = aligned.current;
    for (let k = 0; k < ref.length; k++) {
      ref[k]! /= aligned.referenceTotal;
      cur[k]! /= aligned.currentTotal;
    }
    result = { keys: aligned.keys, reference: ref, current: cur };
  }
  if (fillZeroesFlag) {
    fillZeroes(result.reference);
    fillZeroes(result.current);
  }
  return result;
}

function checkSameLength(test: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) {
    throw new WorkbenchError(
      "MONITOR_SHARES_MISMATCH",
      `${test}: the reference has ${a.length} shares but the current data has ${b.length}; both must be ` +
        "shares over the same bins or categories (see binnedShares).",
      { details: { test, reference: a.length, current: b.length } },
    );
  }
}

function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Number.POSITIVE_INFINITY;
}

/** scipy.spatial.distance.jensenshannon(p, q) with the natural log: p and q are normalised to sum to 1. */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>): number {
  checkSameLength("jensenshannon", p, q);
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) sp += p[i]!;
  for (let i = 0; i < q.length; i++) sq += q[i]!;
  let left = 0;
  let right = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    const qi = q[i]! / sq;
    const m = (pi + qi) / 2;
    left += relEntr(pi, m);
    right += relEntr(qi, m);
  }
  return Math.sqrt((left + right) / 2);
}

/** Evidently's PSI: Σ (ref - cur) · ln(ref / cur) over shares whose zeros were filled. */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  checkSameLength("psi", reference, current);
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const c = current[i]!;
    sum += (r - c) * Math.log(r / c);
  }
  return sum;
}
