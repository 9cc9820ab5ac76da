// Compressed sparse rows (CSR), the layout of TF-IDF matrices: a narrative uses a few hundred of tens of thousands
// of terms, so rows hold only their non-zero cells. Row r's cells are indices[indptr[r] .. indptr[r + 1]) (column
// numbers, ascending) with their values in `data` at the same positions — scipy.sparse.csr_matrix's layout.
import type { FeatureMatrix } from "../preprocessor.js";

/** A rows × cols sparse matrix in CSR form (column indices ascending within a row). */
export interface CsrMatrix {
  rows: number;
  cols: number;
  /** rows + 1 offsets into indices/data; indptr[0] = 0, indptr[rows] = number of stored cells. */
  indptr: Int32Array;
  indices: Int32Array;
  data: Float32Array;
}

/** Builds a CSR matrix row by row (cells of a row in ascending column order). */
export class CsrBuilder {
  private indices: Int32Array;
  private data: Float32Array;
  private readonly indptr: number[] = [0];
  private size = 0;

  constructor(
    private readonly cols: number,
    capacity = 1024,
  ) {
    this.indices = new Int32Array(Math.max(16, capacity));
    this.data = new Float32Array(Math.max(16, capacity));
  }

  /** Appends one cell to the current row. */
  push(col: number, value: number): void {
    if (this.size === this.indices.length) {
      const grown = new Int32Array(this.indices.length * 2);
      grown.set(this.indices);
      this.indices = grown;
      const grownData = new Float32Array(this.data.length * 2);
      grownData.set(this.data);
      this.data = grownData;
    }
    this.indices[this.size] = col;
    this.data[this.size] = value;
    this.size++;
  }

  /** Closes the current row. */
  endRow(): void {
    this.indptr.push(this.size);
  }

  build(): CsrMatrix {
    return {
      rows: this.indptr.length - 1,
      cols: this.cols,
      indptr: Int32Array.from(this.indptr),
      indices: this.indices.slice(0, this.size),
      data: this.data.slice(0, this.size),
    };
  }
}

/** The rows `rows` of `m` (in that order) as a new matrix. */
export function csrRows(m: CsrMatrix, rows: Int32Array): CsrMatrix {
  let nnz = 0;
  for (const r of rows) nnz += m.indptr[r + 1]! - m.indptr[r]!;
  const indptr = new Int32Array(rows.length + 1);
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  let at = 0;
  rows.forEach((r, i) => {
    const from = m.indptr[r]!;
    const to = m.indptr[r + 1]!;
    indices.set(m.indices.subarray(from, to), at);
    data.set(m.data.subarray(from, to), at);
    at += to - from;
    indptr[i + 1] = at;
  });
  return { rows: rows.length, cols: m.cols, indptr, indices, data };
}

/**
 * The columns of `a` followed by those of `b` (same rows), like scipy.sparse.hstack: b's column j becomes
 * column a.cols + j.
 */
export function hstackCsr(a: CsrMatrix, b: CsrMatrix): CsrMatrix {
  if (a.rows !== b.rows) throw new RangeError(`hstack: ${a.rows} rows beside ${b.rows} rows`);
  const nnz = a.indices.length + b.indices.length;
  const indptr = new Int32Array(a.rows + 1);
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  let at = 0;
  for (let r = 0; r < a.rows; r++) {
    for (let k = a.indptr[r]!; k < a.indptr[r + 1]!; k++) {
      indices[at] = a.indices[k]!;
      data[at++] = a.data[k]!;
    }
    for (let k = b.indptr[r]!; k < b.indptr[r + 1]!; k++) {
      indices[at] = a.cols + b.indices[k]!;
      data[at++] = b.data[k]!;
    }
    indptr[r + 1] = at;
  }
  return { rows: a.rows, cols: a.cols + b.cols, indptr, indices, data };
}

/**
 * The dense part of a feature matrix (numeric and one-hot columns) appended after the columns of `m`. Zeros are
 * not stored; a non-finite value (a missing numeric the preprocessor left NaN) becomes 0, the preprocessor's
 * centre, as the linear kinds treat it.
 */
export function hstackDense(m: CsrMatrix, dense: FeatureMatrix): CsrMatrix {
  if (dense.cols === 0) return m;
  if (dense.rows !== m.rows) throw new RangeError(`hstack: ${m.rows} rows beside ${dense.rows} rows`);
  const out = new CsrBuilder(m.cols + dense.cols, m.indices.length + m.rows * dense.cols);
  for (let r = 0; r < m.rows; r++) {
    for (let k = m.indptr[r]!; k < m.indptr[r + 1]!; k++) out.push(m.indices[k]!, m.data[k]!);
    const o = r * dense.cols;
    for (let j = 0; j < dense.cols; j++) {
      const v = dense.values[o + j]!;
      if (v !== 0 && Number.isFinite(v)) out.push(m.cols + j, v);
    }
    out.endRow();
  }
  return out.build();
}

/** `m` as a dense row-major float32 array (rows × cols): for the tree engine, which reads dense features. */
export function toDense(m: CsrMatrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) {
    const o = r * m.cols;
    for (let k = m.indptr[r]!; k < m.indptr[r + 1]!; k++) out[o + m.indices[k]!] = m.data[k]!;
  }
  return out;
}

/** Σ_k data[k] · w[offset + indices[k]] over row r's cells. */
export function rowDot(m: CsrMatrix, r: number, w: Float64Array, offset = 0): number {
  let s = 0;
  for (let k = m.indptr[r]!; k < m.indptr[r + 1]!; k++) s += m.data[k]! * w[offset + m.indices[k]!]!;
  return s;
}

/**
 * Linear weights laid out for scoring sparse rows: weights[p] (cols + 1 numbers, the bias last) become one array
 * with the m outputs of a column side by side, so a row's cell reads every output's weight from one place instead
 * of m arrays far apart (the serving cost of a wide vocabulary is those cache misses).
 */
export interface InterleavedWeights {
  outputs: number;
  cols: number;
  /** cols × outputs: weight of column j for output p at j · outputs + p. */
  w: Float64Array;
  bias: Float64Array;
}

export function interleaveWeights(weights: readonly Float64Array[], cols: number): InterleavedWeights {
  const m = weights.length;
  const w = new Float64Array(cols * m);
  const bias = new Float64Array(m);
  weights.forEach((wp, p) => {
    for (let j = 0; j < cols; j++) w[j * m + p] = wp[j]!;
    bias[p] = wp[cols]!;
  });
  return { outputs: m, cols, w, bias };
}

/**
 * rows × outputs decision values bias_p + Σ_k data[k] · w_p[indices[k]], each summed in the row's cell order —
 * the same float64 operations as one dot product per output, so the same values bit for bit.
 */
export function csrDecisions(x: CsrMatrix, weights: InterleavedWeights): Float64Array {
  const { outputs: m, w, bias } = weights;
  if (x.cols !== weights.cols)
    throw new RangeError(`decisions: ${x.cols} columns for weights of ${weights.cols}`);
  const out = new Float64Array(x.rows * m);
  const { indptr, indices, data } = x;
  for (let r = 0; r < x.rows; r++) {
    const o = r * m;
    const from = indptr[r]!;
    const to = indptr[r + 1]!;
    // Four outputs at a time in locals: no read-modify-write through memory per cell, one line of weights read.
    let p = 0;
    for (; p + 4 <= m; p += 4) {
      let s0 = bias[p]!;
      let s1 = bias[p + 1]!;
      let s2 = bias[p + 2]!;
      let s3 = bias[p + 3]!;
      for (let k = from; k < to; k++) {
        const v = data[k]!;
        const at = indices[k]! * m + p;
        s0 += v * w[at]!;
        s1 += v * w[at + 1]!;
        s2 += v * w[at + 2]!;
        s3 += v * w[at + 3]!;
      }
      out[o + p] = s0;
      out[o + p + 1] = s1;
      out[o + p + 2] = s2;
      out[o + p + 3] = s3;
    }
    for (; p < m; p++) {
      let sum = bias[p]!;
      for (let k = from; k < to; k++) sum += data[k]! * w[indices[k]! * m + p]!;
      out[o + p] = sum;
    }
  }
  return out;
}
