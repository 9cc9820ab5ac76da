// Probabilities from linear decision values by temperature scaling (Guo et al., "On calibration of modern neural
// networks", ICML 2017): p = softmax(T · f), one T ≥ 0 fitted to the validation rows' (class-weighted) log-loss.
// A single scalar leaves every row's arg max — the class LinearSVC predicts — unchanged, so accuracy and F1 on
// validation are the decision values' own; only the spread of the probabilities is fitted.

/** K-class scores from rows × m decision values: m = K as they are; m = 1 (binary) as [0, f]. */
export function classScores(decisions: Float64Array, rows: number, m: number, classes: number): Float64Array {
  if (m === classes) return decisions;
  const out = new Float64Array(rows * 2);
  for (let r = 0; r < rows; r++) out[r * 2 + 1] = decisions[r]!;
  return out;
}

/** softmax(T · scores) per row, as float32 probabilities (rows × classes). */
export function temperedSoftmax(scores: Float64Array, classes: number, t: number): Float32Array {
  const out = new Float32Array(scores.length);
  for (let o = 0; o < scores.length; o += classes) {
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < classes; k++) max = Math.max(max, t * scores[o + k]!);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(t * scores[o + k]! - max);
    for (let k = 0; k < classes; k++) out[o + k] = Math.exp(t * scores[o + k]! - max) / sum;
  }
  return out;
}

/** Σ wᵢ −log softmax(T · scoresᵢ)[yᵢ] / Σ wᵢ. */
function temperedLoss(
  scores: Float64Array,
  labels: Int32Array,
  weight: Float64Array,
  classes: number,
  t: number,
): number {
  let loss = 0;
  let total = 0;
  for (let r = 0; r < labels.length; r++) {
    const o = r * classes;
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < classes; k++) max = Math.max(max, t * scores[o + k]!);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(t * scores[o + k]! - max);
    const w = weight[labels[r]!]!;
    loss += w * (max + Math.log(sum) - t * scores[o + labels[r]!]!);
    total += w;
  }
  return total > 0 ? loss / total : 0;
}

/**
 * The T minimising the validation log-loss (class weights per label), by golden-section search over log T in
 * [e⁻⁶, e⁶] (the loss is convex in T, so unimodal in log T); 1 without validation rows.
 */
export function fitTemperature(
  scores: Float64Array,
  labels: Int32Array,
  classWeight: Float64Array,
  classes: number,
): number {
  if (labels.length === 0) return 1;
  const f = (u: number) => temperedLoss(scores, labels, classWeight, classes, Math.exp(u));
  const ratio = (Math.sqrt(5) - 1) / 2;
  let a = -6;
  let b = 6;
  let c = b - ratio * (b - a);
  let d = a + ratio * (b - a);
  let fc = f(c);
  let fd = f(d);
  for (let i = 0; i < 60; i++) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - ratio * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + ratio * (b - a);
      fd = f(d);
    }
  }
  return Math.exp((a + b) / 2);
}
