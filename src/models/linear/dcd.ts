// Dual coordinate descent for the L2-regularised hinge-loss (L1-loss) linear SVM — liblinear's solver for
// `-s 3` (Hsieh, Chang, Lin, Keerthi, Sundararajan, ICML 2008), with its shrinking and its stopping rule:
//
//   min_w ½‖w‖² + Σᵢ Cᵢ max(0, 1 − yᵢ w·x̃ᵢ),   x̃ᵢ = (xᵢ, B), B = 1,
//
// solved in the dual (0 ≤ αᵢ ≤ Cᵢ) one coordinate at a time, keeping w = Σ αᵢ yᵢ x̃ᵢ. As in liblinear the bias is
// the weight of a constant feature B = 1, so it is regularised too (scikit-learn's LinearSVC with
// intercept_scaling = 1 solves the same problem). One `epoch()` is one pass over the rows still active, in an
// order shuffled by the seeded generator; per-row bounds Cᵢ carry class weights.
//
// Why dual coordinate descent and not Pegasos SGD: it solves the exact liblinear/LinearSVC problem (so it can
// be checked against scikit-learn), its steps are exact line minimisations with no learning-rate schedule to
// tune, and it converges linearly (Pegasos needs O(1/ε) epochs and only approaches the optimum on average).

/** The rows of one binary problem: n × d float32 features, labels ±1 and per-row bounds Cᵢ > 0. */
export interface BinaryProblem {
  x: Float32Array;
  rows: number;
  cols: number;
  /** +1 or −1 per row. */
  y: Int8Array;
  /** Cᵢ per row (C times the row's class weight). */
  upper: Float64Array;
}

/** The constant feature appended for the bias (liblinear's B, scikit-learn's intercept_scaling). */
export const BIAS_FEATURE = 1;

/** w·x̃ for row `r` of a row-major float32 matrix; w has cols + 1 entries, the last one the bias weight. */
export function decision(w: Float64Array, x: Float32Array, r: number, cols: number): number {
  let s = w[cols]! * BIAS_FEATURE;
  const o = r * cols;
  for (let j = 0; j < cols; j++) s += w[j]! * x[o + j]!;
  return s;
}

export class DualCoordinateDescent {
  /** Weights, cols + 1 (the last is the bias weight). */
  readonly w: Float64Array;
  readonly alpha: Float64Array;
  private readonly qd: Float64Array;
  private readonly index: Int32Array;
  private activeSize: number;
  private pgMaxOld = Number.POSITIVE_INFINITY;
  private pgMinOld = Number.NEGATIVE_INFINITY;
  /** Passes made. */
  epochs = 0;
  /** The maximal violation of the optimality conditions fell below tol over all rows. */
  converged = false;
  /** max − min projected gradient of the last pass (liblinear's stopping quantity). */
  lastGap = Number.POSITIVE_INFINITY;

  constructor(
    private readonly p: BinaryProblem,
    private readonly tol: number,
    private readonly rng: () => number,
  ) {
    const { x, rows, cols } = p;
    this.w = new Float64Array(cols + 1);
    this.alpha = new Float64Array(rows);
    this.qd = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let s = BIAS_FEATURE * BIAS_FEATURE;
      for (let j = 0; j < cols; j++) {
        const v = x[i * cols + j]!;
        s += v * v;
      }
      this.qd[i] = s;
    }
    this.index = Int32Array.from({ length: rows }, (_, i) => i);
    this.activeSize = rows;
  }

  /** One pass over the active rows (a no-op once converged). */
  epoch(): void {
    if (this.converged) return;
    const { x, cols, y, upper, rows } = this.p;
    const { w, alpha, qd, index } = this;
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
      const g = yi * decision(w, x, i, cols) - 1;
      const c = upper[i]!;
      const a = alpha[i]!;
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
        const o = i * cols;
        for (let f = 0; f < cols; f++) w[f]! += d * x[o + f]!;
        w[cols]! += d * BIAS_FEATURE;
      }
    }
    this.epochs++;
    this.lastGap = pgMaxNew - pgMinNew;
    if (this.lastGap <= this.tol) {
      if (this.activeSize === rows) {
        this.converged = true;
        return;
      }
      // Converged on the shrunken set: check every row again before believing it.
      this.activeSize = rows;
      this.pgMaxOld = Number.POSITIVE_INFINITY;
      this.pgMinOld = Number.NEGATIVE_INFINITY;
      return;
    }
    this.pgMaxOld = pgMaxNew <= 0 ? Number.POSITIVE_INFINITY : pgMaxNew;
    this.pgMinOld = pgMinNew >= 0 ? Number.NEGATIVE_INFINITY : pgMinNew;
  }

  /** Moves active position `s` out of the active set. */
  private shrink(s: number): void {
    this.activeSize--;
    const t = this.index[s]!;
    this.index[s] = this.index[this.activeSize]!;
    this.index[this.activeSize] = t;
  }

  /** Rows with αᵢ > 0 (the support vectors). */
  supportVectors(): number {
    let n = 0;
    for (const a of this.alpha) if (a > 0) n++;
    return n;
  }
}

/**
 * One-vs-rest binary problems over `labels` (class indices): for more than two classes, problem c has yᵢ = +1
 * for class c; for two classes there is one problem with yᵢ = +1 for class 1. Cᵢ = C · classWeight[labelᵢ],
 * the row's own class weight. For two classes that is liblinear's per-class C exactly; for more, liblinear
 * weights only the positive class of each one-vs-rest problem (the rest keep C), which leaves a rare class's
 * rows unweighted in every problem but its own — here a row carries its weight into every problem.
 */
export function oneVsRest(
  x: Float32Array,
  rows: number,
  cols: number,
  labels: Int32Array,
  classes: number,
  c: number,
  classWeight: Float64Array,
): BinaryProblem[] {
  const upper = Float64Array.from(labels, (l) => c * classWeight[l]!);
  const positives = classes === 2 ? [1] : Array.from({ length: classes }, (_, k) => k);
  return positives.map((k) => ({
    x,
    rows,
    cols,
    y: Int8Array.from(labels, (l) => (l === k ? 1 : -1)),
    upper,
  }));
}
