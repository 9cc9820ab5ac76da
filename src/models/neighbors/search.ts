// Exact brute-force k-nearest-neighbour search over dense Float32 rows. The distances are computed tile by
// tile (a tile of queries against a tile of stored rows that stays in cache) by the WebAssembly SIMD kernel
// (simd-kernel.ts; where WebAssembly SIMD is missing, a plain TypeScript kernel — float64 sums, ~10× slower),
// and each query keeps only its k best candidates in a bounded max-heap: no full distance matrix, no sort of
// all distances. The k chosen rows are then re-measured in float64 and ordered by (distance, stored index).
//
// Selection uses float32 distances (each a sum of float32 terms in four lanes: relative error ≲ 2·10⁻⁶); a
// stored row whose distance ties the k-th nearest within that margin may be chosen either way. Exact ties are
// broken by the stored row's index (the earlier row wins), whatever the tiling.
import { KERNEL_QUERIES, KERNEL_STORED, type SimdKernel, simdKernel } from "./simd-kernel.js";

export type Metric = "euclidean" | "manhattan";

/** The stored (reference) rows of a search, padded for the kernel. */
export interface NeighborIndex {
  rows: number;
  cols: number;
  /** Floats per stored row: cols rounded up to a multiple of 4 (the padding is zero). */
  stride: number;
  /** rowsPadded × stride, row-major; rowsPadded = rows rounded up to a multiple of the kernel's stored rows. */
  values: Float32Array;
}

/** The k nearest stored rows of every query, nearest first. */
export interface Neighbors {
  k: number;
  /** queries × k stored-row indices. */
  indices: Int32Array;
  /** queries × k distances (Euclidean or Manhattan, not squared), in float64. */
  distances: Float64Array;
}

/** Queries per tile. */
const QUERY_TILE = 64;
/** Stored rows per tile (a multiple of the kernel's stored rows). */
const STORED_TILE = 1024;

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** Floats per padded row for `cols` features. */
export function strideFor(cols: number): number {
  return Math.max(4, Math.ceil(cols / 4) * 4);
}

/** Rows a padded index holds for `rows` stored rows. */
export function paddedRows(rows: number): number {
  return roundUp(rows, KERNEL_STORED);
}

/** An index over values already laid out padded (paddedRows(rows) × strideFor(cols), zero padding). */
export function indexFromPadded(values: Float32Array, rows: number, cols: number): NeighborIndex {
  const stride = strideFor(cols);
  if (values.length !== paddedRows(rows) * stride)
    throw new RangeError(
      `indexFromPadded: expected ${paddedRows(rows) * stride} values, got ${values.length}`,
    );
  return { rows, cols, stride, values };
}

/** Copies `rows` × `cols` row-major values into a padded NeighborIndex. */
export function buildIndex(values: Float32Array, rows: number, cols: number): NeighborIndex {
  const stride = strideFor(cols);
  const padded = new Float32Array(roundUp(rows, KERNEL_STORED) * stride);
  for (let i = 0; i < rows; i++) padded.set(values.subarray(i * cols, (i + 1) * cols), i * stride);
  return { rows, cols, stride, values: padded };
}

/** The TypeScript twin of the SIMD kernel (same tile layout, float64 arithmetic rounded to float32 on store). */
export function distanceTileTs(
  queries: Float32Array,
  nq: number,
  stored: Float32Array,
  s0: number,
  ns: number,
  stride: number,
  metric: Metric,
  out: Float32Array,
): void {
  for (let q = 0; q < nq; q++) {
    const a = q * stride;
    for (let j = 0; j < ns; j++) {
      const b = (s0 + j) * stride;
      let acc = 0;
      if (metric === "euclidean")
        for (let t = 0; t < stride; t++) {
          const diff = queries[a + t]! - stored[b + t]!;
          acc += diff * diff;
        }
      else for (let t = 0; t < stride; t++) acc += Math.abs(queries[a + t]! - stored[b + t]!);
      out[q * ns + j] = acc;
    }
  }
}

/** Keeps, for every query of a tile, the best k of its distances in a (key, index) max-heap. */
class Heaps {
  readonly keys: Float64Array;
  readonly ids: Int32Array;

  constructor(
    queries: number,
    private readonly k: number,
  ) {
    this.keys = new Float64Array(queries * k).fill(Number.POSITIVE_INFINITY);
    this.ids = new Int32Array(queries * k).fill(-1);
  }

  /**
   * Offers stored rows s0 … s0+n−1 (in increasing index order, after every row offered before) with their
   * keys `out[o … o+n−1]` to query q's heap.
   */
  offer(q: number, out: Float32Array, o: number, n: number, s0: number): void {
    const keys = this.keys;
    const base = q * this.k;
    let root = keys[base]!;
    for (let j = 0; j < n; j++) {
      const key = out[o + j]!;
      // Equal keys never enter: the row already held has the smaller index.
      if (key < root) {
        this.replaceRoot(base, key, s0 + j);
        root = keys[base]!;
      }
    }
  }

  private replaceRoot(base: number, key: number, id: number): void {
    const k = this.k;
    const keys = this.keys;
    const ids = this.ids;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= k) break;
      let c = l;
      const r = l + 1;
      if (r < k) {
        const kr = keys[base + r]!;
        const kl = keys[base + l]!;
        if (kr > kl || (kr === kl && ids[base + r]! > ids[base + l]!)) c = r;
      }
      const kc = keys[base + c]!;
      if (kc > key || (kc === key && ids[base + c]! > id)) {
        keys[base + i] = kc;
        ids[base + i] = ids[base + c]!;
        i = c;
      } else break;
    }
    keys[base + i] = key;
    ids[base + i] = id;
  }
}

/** Where the SIMD kernel's operands live in its memory for one search. */
interface Layout {
  kernel: SimdKernel;
  storedPtr: number;
  queryPtr: number;
  outPtr: number;
}

/** The index most recently copied into the kernel's memory (serving reuses it call after call). */
let resident: NeighborIndex | undefined;

function prepareKernel(index: NeighborIndex): Layout | undefined {
  const kernel = simdKernel();
  if (kernel === null) return undefined;
  const storedBytes = index.values.byteLength;
  const queryPtr = storedBytes;
  const outPtr = queryPtr + roundUp(QUERY_TILE, KERNEL_QUERIES) * index.stride * 4;
  const needed = outPtr + QUERY_TILE * STORED_TILE * 4;
  const pages = Math.ceil(needed / 65536);
  const have = kernel.memory.buffer.byteLength / 65536;
  if (pages > have) {
    // wasm32 addresses at most 4 GiB (65,536 pages): larger stores take the TypeScript kernel.
    if (pages > 65536) return undefined;
    try {
      kernel.memory.grow(pages - have);
    } catch {
      return undefined;
    }
  }
  if (resident !== index) {
    new Float32Array(kernel.memory.buffer, 0, index.values.length).set(index.values);
    resident = index;
  }
  return { kernel, storedPtr: 0, queryPtr, outPtr };
}

/** Forgets which index sits in the kernel's memory (tests switch kernels; a disposed model calls it too). */
export function releaseKernelMemory(index?: NeighborIndex): void {
  if (index === undefined || resident === index) resident = undefined;
}

/**
 * The `k` nearest stored rows of each of `count` query rows (`queries`: count × index.stride, padded like the
 * index), nearest first. Needs 1 ≤ k ≤ index.rows. `useSimd: false` forces the TypeScript kernel.
 */
export function kNearest(
  index: NeighborIndex,
  queries: Float32Array,
  count: number,
  k: number,
  metric: Metric,
  useSimd = true,
): Neighbors {
  if (!(Number.isInteger(k) && k >= 1 && k <= index.rows))
    throw new RangeError(`kNearest: k = ${k} must be an integer in 1..${index.rows}`);
  if (queries.length < count * index.stride)
    throw new RangeError(`kNearest: ${count} queries need ${count * index.stride} values`);
  const stride = index.stride;
  const indices = new Int32Array(count * k);
  const distances = new Float64Array(count * k);
  const layout = useSimd ? prepareKernel(index) : undefined;
  const tsOut = layout === undefined ? new Float32Array(QUERY_TILE * STORED_TILE) : undefined;
  const order = Array.from({ length: k }, (_, i) => i);
  const exact = new Float64Array(k);
  for (let q0 = 0; q0 < count; q0 += QUERY_TILE) {
    const nq = Math.min(count, q0 + QUERY_TILE) - q0;
    const tile = queries.subarray(q0 * stride, (q0 + nq) * stride);
    const heaps = new Heaps(nq, k);
    let memory: Float32Array | undefined;
    if (layout !== undefined) {
      memory = new Float32Array(layout.kernel.memory.buffer);
      const qf = layout.queryPtr / 4;
      memory.set(tile, qf);
      // A tile is padded with zero rows to the kernel's step (their distances are computed and ignored).
      memory.fill(0, qf + nq * stride, qf + roundUp(nq, KERNEL_QUERIES) * stride);
    }
    for (let s0 = 0; s0 < index.rows; s0 += STORED_TILE) {
      const ns = Math.min(index.rows, s0 + STORED_TILE) - s0;
      const nsPadded = roundUp(ns, KERNEL_STORED);
      let out: Float32Array;
      let base: number;
      if (layout !== undefined && memory !== undefined) {
        const call = metric === "euclidean" ? layout.kernel.squared : layout.kernel.manhattan;
        call(
          layout.queryPtr,
          roundUp(nq, KERNEL_QUERIES),
          layout.storedPtr + s0 * stride * 4,
          nsPadded,
          stride * 4,
          layout.outPtr,
        );
        out = memory;
        base = layout.outPtr / 4;
      } else {
        out = tsOut!;
        base = 0;
        distanceTileTs(tile, nq, index.values, s0, nsPadded, stride, metric, out);
      }
      for (let q = 0; q < nq; q++) heaps.offer(q, out, base + q * nsPadded, ns, s0);
    }
    // Re-measure the k chosen rows in float64 and order them by (distance, index).
    for (let q = 0; q < nq; q++) {
      const hb = q * k;
      const a = q * stride;
      for (let j = 0; j < k; j++) {
        const b = heaps.ids[hb + j]! * stride;
        let acc = 0;
        if (metric === "euclidean")
          for (let t = 0; t < stride; t++) {
            const diff = tile[a + t]! - index.values[b + t]!;
            acc += diff * diff;
          }
        else for (let t = 0; t < stride; t++) acc += Math.abs(tile[a + t]! - index.values[b + t]!);
        exact[j] = metric === "euclidean" ? Math.sqrt(acc) : acc;
      }
      order.sort((x, y) => exact[x]! - exact[y]! || heaps.ids[hb + x]! - heaps.ids[hb + y]!);
      const o = (q0 + q) * k;
      for (let j = 0; j < k; j++) {
        indices[o + j] = heaps.ids[hb + order[j]!]!;
        distances[o + j] = exact[order[j]!]!;
      }
    }
  }
  return { k, indices, distances };
}
