// Platt scaling: P(y = 1 | f) = 1 / (1 + exp(A·f + B)), fitted to decision values by Newton's method with a
// backtracking line search and Platt's smoothed targets, as in Lin, Lin & Weng, "A note on Platt's
// probabilistic outputs for support vector machines" (Machine Learning 68, 2007), algorithm 3 — the version
// libsvm uses. Row weights generalise it: every term of the likelihood and the prior counts are weighted
// (with all weights 1 it is exactly the paper's algorithm).

export interface PlattParams {
  a: number;
  b: number;
}

const MAX_ITER = 100;
const MIN_STEP = 1e-10;
const SIGMA = 1e-12;

/** −log-likelihood term of one row, computed without overflow (the paper's formula). */
function term(fApB: number, t: number): number {
  return fApB >= 0 ? t * fApB + Math.log1p(Math.exp(-fApB)) : (t - 1) * fApB + Math.log1p(Math.exp(fApB));
}

/**
 * Fits A and B on `decisions` with `positive[i]` the row's label (1 = the positive class) and optional row
 * `weights`. With no rows it returns A = 0, B = 0 (probability ½).
 */
export function fitPlatt(decisions: Float64Array, positive: Uint8Array, weights?: Float64Array): PlattParams {
  const n = decisions.length;
  let prior1 = 0;
  let prior0 = 0;
  for (let i = 0; i < n; i++) {
    const v = weights?.[i] ?? 1;
    if (positive[i] === 1) prior1 += v;
    else prior0 += v;
  }
  const hiTarget = (prior1 + 1) / (prior1 + 2);
  const loTarget = 1 / (prior0 + 2);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = positive[i] === 1 ? hiTarget : loTarget;
  let a = 0;
  let b = Math.log((prior0 + 1) / (prior1 + 1));
  const objective = (aa: number, bb: number) => {
    let f = 0;
    for (let i = 0; i < n; i++) f += (weights?.[i] ?? 1) * term(decisions[i]! * aa + bb, t[i]!);
    return f;
  };
  let fval = objective(a, b);
  for (let iter = 0; iter < MAX_ITER; iter++) {
    // Gradient and Hessian (H' = H + σI keeps it positive definite).
    let h11 = SIGMA;
    let h22 = SIGMA;
    let h21 = 0;
    let g1 = 0;
    let g2 = 0;
    for (let i = 0; i < n; i++) {
      const v = weights?.[i] ?? 1;
      const f = decisions[i]!;
      const fApB = f * a + b;
      let p: number;
      let q: number;
      if (fApB >= 0) {
        const e = Math.exp(-fApB);
        p = e / (1 + e);
        q = 1 / (1 + e);
      } else {
        const e = Math.exp(fApB);
        p = 1 / (1 + e);
        q = e / (1 + e);
      }
      const d2 = p * q * v;
      h11 += f * f * d2;
      h22 += d2;
      h21 += f * d2;
      const d1 = (t[i]! - p) * v;
      g1 += f * d1;
      g2 += d1;
    }
    if (Math.abs(g1) < 1e-5 && Math.abs(g2) < 1e-5) break;
    const det = h11 * h22 - h21 * h21;
    const dA = -(h22 * g1 - h21 * g2) / det;
    const dB = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * dA + g2 * dB;
    let step = 1;
    while (step >= MIN_STEP) {
      const newA = a + step * dA;
      const newB = b + step * dB;
      const newF = objective(newA, newB);
      if (newF < fval + 0.0001 * step * gd) {
        a = newA;
        b = newB;
        fval = newF;
        break;
      }
      step /= 2;
    }
    if (step < MIN_STEP) break;
  }
  return { a, b };
}

/** P(positive | f) = 1 / (1 + exp(A·f + B)), computed without overflow. */
export function plattProbability(f: number, p: PlattParams): number {
  const fApB = f * p.a + p.b;
  return fApB >= 0 ? Math.exp(-fApB) / (1 + Math.exp(-fApB)) : 1 / (1 + Math.exp(fApB));
}

/** log P(positive | f) = −log(1 + exp(A·f + B)), without overflow or underflow to −∞. */
export function plattLogProbability(f: number, p: PlattParams): number {
  const fApB = f * p.a + p.b;
  return fApB > 0 ? -fApB - Math.log1p(Math.exp(-fApB)) : -Math.log1p(Math.exp(fApB));
}
