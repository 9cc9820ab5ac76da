// Dual coordinate descent for the L2-regularised linear SVM on sparse rows: liblinear's solve_l2r_l1l2_svc
// (Hsieh et al., ICML 2008), as src/models/linear/dcd.ts does it for dense rows, for both of LinearSVC's losses:
//
//   hinge          min ½‖w̃‖² + Σ Cᵢ max(0, 1 − yᵢ w̃·x̃ᵢ)      dual box 0 ≤ αᵢ ≤ Cᵢ
//   squared-hinge  min ½‖w̃‖² + Σ Cᵢ max(0, 1 − yᵢ w̃·x̃ᵢ)²     dual 0 ≤ αᵢ, diagonal Dᵢᵢ = 1 / (2Cᵢ)
//
// x̃ = (x, 1): the bias is a regularised constant feature (liblinear's B = 1, LinearSVC's intercept_scaling = 1).
// Shrinking and the stopping rule (max − min projected gradient ≤ tol) are liblinear's. One `epoch()` is one pass
// over the active rows in an order shuffled by the seeded generator.
import type { CsrMatrix } from "../../features/text/sparse.js";

export type SvmLoss = "hinge" | "squared-hinge";

/** One binary problem over the rows of a CSR matrix: labels ±1 and per-row costs Cᵢ > 0. */
export interface SparseBinaryProblem {
  x: CsrMatrix;
  y: Int8Array;
  cost: Float64Array;
  loss: SvmLoss;
}

export class SparseDualCoordinateDescent {
  /** Weights, cols + 1 (the last is the bias weight). */
  readonly w: Float64Array;
  private readonly alpha: Float64Array;
  private readonly qd: Float64Array;
  private readonly diag: Float64Array;
  private readonly upper: Float64Array;
  private readonly index: Int32Array;
  private activeSize: number;
  private pgMaxOld = Number.POSITIVE_INFINITY;
  private pgMinOld = Number.NEGATIVE_INFINITY;
  epochs = 0;
  converged = false;

  constructor(
    private readonly p: SparseBinaryProblem,
    private readonly tol: number,
    private readonly rng: () => number,
  ) {
    const { x, cost, loss } = p;
    const n = x.rows;
    this.w = new Float64Array(x.cols + 1);
    this.alpha = new Float64Array(n);
    this.diag = Float64Array.from(cost, (c) => (loss === "hinge" ? 0 : 1 / (2 * c)));
    this.upper = Float64Array.from(cost, (c) => (loss === "hinge" ? c : Number.POSITIVE_INFINITY));
    this.qd = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 1 + this.diag[i]!;
      for (let k = x.indptr[i]!; k < x.indptr[i + 1]!; k++) s += x.data[k]! * x.data[k]!;
      this.qd[i] = s;
    }
    this.index = Int32Array.from({ length: n }, (_, i) => i);
    this.activeSize = n;
  }

  /** One pass over the active rows (a no-op once converged). */
  epoch(): void {
    if (this.converged) return;
    const { x, y } = this.p;
    const { w, alpha, qd, diag, upper, index } = this;
    const bias = x.cols;
    let pgMaxNew = Number.NEGATIVE_INFINITY;
    let pgMinNew = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.activeSize; i++) {
      const j = i + Math.floor(this.rng() * (this.activeSize - i));
      const t = index[i]!;
      index[i] = index[j]!;
      index[j] = t;
    }
    for (let s = 0; s < this.activeSize; s++) {
      const i = index[s]!;
      const yi = y[i]!;
      const from = x.indptr[i]!;
      const to = x.indptr[i + 1]!;
      let f = w[bias]!;
      for (let k = from; k < to; k++) f += x.data[k]! * w[x.indices[k]!]!;
      const a = alpha[i]!;
      const g = yi * f - 1 + diag[i]! * a;
      const c = upper[i]!;
      let pg = 0;
      if (a === 0) {
        if (g > this.pgMaxOld) {
          this.shrink(s--);
          continue;
        }
        if (g < 0) pg = g;
      } else if (a === c) {
        if (g < this.pgMinOld) {
          this.shrink(s--);
          continue;
        }
        if (g > 0) pg = g;
      } else pg = g;
      if (pg > pgMaxNew) pgMaxNew = pg;
      if (pg < pgMinNew) pgMinNew = pg;
      if (Math.abs(pg) > 1e-12) {
        const next = Math.min(Math.max(a - g / qd[i]!, 0), c);
        alpha[i] = next;
        const d = (next - a) * yi;
        for (let k = from; k < to; k++) w[x.indices[k]!]! += d * x.data[k]!;
        w[bias]! += d;
      }
    }
    this.epochs++;
    if (pgMaxNew - pgMinNew <= this.tol) {
      if (this.activeSize === x.rows) {
        this.converged = true;
        return;
      }
      // Converged on the shrunken set: check every row again before believing it.
      this.activeSize = x.rows;
      this.pgMaxOld = Number.POSITIVE_INFINITY;
      this.pgMinOld = Number.NEGATIVE_INFINITY;
      return;
    }
    this.pgMaxOld = pgMaxNew <= 0 ? Number.POSITIVE_INFINITY : pgMaxNew;
    this.pgMinOld = pgMinNew >= 0 ? Number.NEGATIVE_INFINITY : pgMinNew;
  }

  private shrink(s: number): void {
    this.activeSize--;
    const t = this.index[s]!;
    this.index[s] = this.index[this.activeSize]!;
    this.index[this.activeSize] = t;
  }
}

/** w̃·x̃ of every row under every weight vector: rows × problems. */
export function svmDecisions(weights: readonly Float64Array[], x: CsrMatrix): Float64Array {
  const m = weights.length;
  const out = new Float64Array(x.rows * m);
  for (let r = 0; r < x.rows; r++)
    for (let p = 0; p < m; p++) {
      const w = weights[p]!;
      let s = w[x.cols]!;
      for (let k = x.indptr[r]!; k < x.indptr[r + 1]!; k++) s += x.data[k]! * w[x.indices[k]!]!;
      out[r * m + p] = s;
    }
  return out;
}
