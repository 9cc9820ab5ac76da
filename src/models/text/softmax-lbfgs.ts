// Multinomial logistic regression (softmax) with L2 on sparse rows, by L-BFGS — scikit-learn's
// LogisticRegression(solver="lbfgs") problem:
//
//   min_{W, b}  Σᵢ sᵢ · −log softmax(W xᵢ + b)[yᵢ]  +  ‖W‖² / (2C)          (the intercepts b are not penalised)
//
// with sᵢ the row's class weight. It is minimised divided by Σ sᵢ (same optimum, gradients of order 1). L-BFGS
// (two-loop recursion, 10 pairs) with a backtracking line search on the Armijo condition; a pair with sᵀy ≤ 0 is
// skipped, which keeps the inverse-Hessian approximation positive definite. Deterministic: no random choice.
// Converged when ‖∇f‖∞ ≤ tol or f decreased by less than 1e-13 relative.
// One `step()` is one L-BFGS iteration: one gradient pass over the rows, plus one per backtracking halving.
import type { CsrMatrix } from "../../features/text/sparse.js";

const MEMORY = 10;
/** Relative decrease of f below which it counts as converged. */
const FTOL = 1e-13;

/** Parameters as one vector: class k's weights at k·(d + 1) … k·(d + 1) + d − 1, its intercept at k·(d + 1) + d. */
export function softmaxScores(
  theta: Float64Array,
  x: CsrMatrix,
  classes: number,
  out?: Float64Array,
): Float64Array {
  const d1 = x.cols + 1;
  const z = out ?? new Float64Array(x.rows * classes);
  for (let r = 0; r < x.rows; r++) {
    const from = x.indptr[r]!;
    const to = x.indptr[r + 1]!;
    for (let k = 0; k < classes; k++) {
      const o = k * d1;
      let s = theta[o + x.cols]!;
      for (let j = from; j < to; j++) s += x.data[j]! * theta[o + x.indices[j]!]!;
      z[r * classes + k] = s;
    }
  }
  return z;
}

/** Row-wise softmax of scores in place (rows × classes). */
export function softmaxInPlace(z: Float64Array, classes: number): Float64Array {
  for (let o = 0; o < z.length; o += classes) {
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < classes; k++) if (z[o + k]! > max) max = z[o + k]!;
    let sum = 0;
    for (let k = 0; k < classes; k++) {
      z[o + k] = Math.exp(z[o + k]! - max);
      sum += z[o + k]!;
    }
    for (let k = 0; k < classes; k++) z[o + k] = z[o + k]! / sum;
  }
  return z;
}

export interface SoftmaxProblem {
  x: CsrMatrix;
  labels: Int32Array;
  classes: number;
  /** sᵢ per row. */
  rowWeight: Float64Array;
  C: number;
}

export class SoftmaxLbfgs {
  readonly theta: Float64Array;
  /** f(θ) at theta, and its gradient. */
  value: number;
  private gradient: Float64Array;
  private readonly scores: Float64Array;
  private readonly pairs: { s: Float64Array; y: Float64Array; rho: number }[] = [];
  private readonly totalWeight: number;
  /** L-BFGS iterations made. */
  iterations = 0;
  /** ‖∇f‖∞ fell below tol, or the line search could not decrease f any more. */
  converged = false;
  /** Weighted mean cross-entropy of the training rows at theta (the objective without its L2 term). */
  crossEntropy = Number.NaN;

  constructor(
    private readonly p: SoftmaxProblem,
    private readonly tol: number,
  ) {
    const size = p.classes * (p.x.cols + 1);
    this.theta = new Float64Array(size);
    this.gradient = new Float64Array(size);
    this.scores = new Float64Array(p.x.rows * p.classes);
    let total = 0;
    for (const w of p.rowWeight) total += w;
    this.totalWeight = total > 0 ? total : 1;
    this.value = this.evaluate(this.theta, this.gradient);
  }

  /** f(θ) / Σs and its gradient into `g`. */
  private evaluate(theta: Float64Array, g: Float64Array): number {
    const { x, labels, classes, rowWeight, C } = this.p;
    const d1 = x.cols + 1;
    const z = softmaxScores(theta, x, classes, this.scores);
    g.fill(0);
    let loss = 0;
    for (let r = 0; r < x.rows; r++) {
      const o = r * classes;
      let max = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < classes; k++) if (z[o + k]! > max) max = z[o + k]!;
      let sum = 0;
      for (let k = 0; k < classes; k++) sum += Math.exp(z[o + k]! - max);
      const logSum = max + Math.log(sum);
      const w = rowWeight[r]!;
      const label = labels[r]!;
      loss += w * (logSum - z[o + label]!);
      const from = x.indptr[r]!;
      const to = x.indptr[r + 1]!;
      for (let k = 0; k < classes; k++) {
        const residual = w * (Math.exp(z[o + k]! - logSum) - (k === label ? 1 : 0));
        if (residual === 0) continue;
        const base = k * d1;
        for (let j = from; j < to; j++) g[base + x.indices[j]!]! += residual * x.data[j]!;
        g[base + x.cols]! += residual;
      }
    }
    this.crossEntropy = loss / this.totalWeight;
    let penalty = 0;
    const inv = 1 / (C * this.totalWeight);
    for (let k = 0; k < classes; k++) {
      const base = k * d1;
      for (let j = 0; j < x.cols; j++) {
        const t = theta[base + j]!;
        penalty += t * t;
        g[base + j] = g[base + j]! / this.totalWeight + inv * t;
      }
      g[base + x.cols] = g[base + x.cols]! / this.totalWeight;
    }
    return this.crossEntropy + 0.5 * inv * penalty;
  }

  /** One L-BFGS iteration (a no-op once converged). */
  step(): void {
    if (this.converged) return;
    const g = this.gradient;
    const n = g.length;
    // Two-loop recursion: direction = −H·g.
    const q = Float64Array.from(g);
    const alphas = new Float64Array(this.pairs.length);
    for (let i = this.pairs.length - 1; i >= 0; i--) {
      const { s, y, rho } = this.pairs[i]!;
      const a = rho * dot(s, q);
      alphas[i] = a;
      for (let j = 0; j < n; j++) q[j]! -= a * y[j]!;
    }
    let gamma: number;
    if (this.pairs.length > 0) {
      const last = this.pairs[this.pairs.length - 1]!;
      gamma = dot(last.s, last.y) / dot(last.y, last.y);
    } else gamma = 1 / Math.max(1e-12, Math.sqrt(dot(g, g)));
    for (let j = 0; j < n; j++) q[j]! *= gamma;
    for (let i = 0; i < this.pairs.length; i++) {
      const { s, y, rho } = this.pairs[i]!;
      const b = rho * dot(y, q);
      for (let j = 0; j < n; j++) q[j]! += (alphas[i]! - b) * s[j]!;
    }
    let slope = 0;
    for (let j = 0; j < n; j++) {
      q[j] = -q[j]!;
      slope += q[j]! * g[j]!;
    }
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      this.pairs.length = 0;
      for (let j = 0; j < n; j++) q[j] = -g[j]! * gamma;
      slope = -gamma * dot(g, g);
    }
    const candidate = new Float64Array(n);
    const nextGradient = new Float64Array(n);
    let step = 1;
    let value = Number.NaN;
    for (let tries = 0; tries < 40; tries++) {
      for (let j = 0; j < n; j++) candidate[j] = this.theta[j]! + step * q[j]!;
      value = this.evaluate(candidate, nextGradient);
      if (value <= this.value + 1e-4 * step * slope) break;
      step /= 2;
      value = Number.NaN;
    }
    this.iterations++;
    if (Number.isNaN(value)) {
      // No decrease along the direction: the optimum to working precision (restore the cached cross-entropy).
      this.evaluate(this.theta, this.gradient);
      this.converged = true;
      return;
    }
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      s[j] = candidate[j]! - this.theta[j]!;
      y[j] = nextGradient[j]! - g[j]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      this.pairs.push({ s, y, rho: 1 / sy });
      if (this.pairs.length > MEMORY) this.pairs.shift();
    }
    const decrease = this.value - value;
    this.theta.set(candidate);
    this.gradient = nextGradient;
    this.value = value;
    let maxAbs = 0;
    for (let j = 0; j < n; j++) maxAbs = Math.max(maxAbs, Math.abs(nextGradient[j]!));
    // Also stop when f no longer moves beyond rounding (scipy's ftol test): a tol below what float64 can resolve
    // would otherwise grind on through ever-shorter line searches.
    if (maxAbs <= this.tol || decrease <= FTOL * Math.max(Math.abs(value), 1)) this.converged = true;
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
