// Prediction of a tree ensemble: rows coded once per feature, then scored with QuickScorer's bit vectors
// (Lucchese et al., SIGIR 2015) when every tree has at most 32 leaves, else by walking each tree.
//
// Coding. Per numeric feature, `cuts` holds the distinct thresholds its nodes use, ascending; a value's code is
// the rank of the first cut it is ≤ to (the number of cuts when it is above them all; NaN → MISSING_CODE).
// Because the cuts are sorted, x ≤ cuts[k] exactly when code(x) ≤ k, so a node tests `code ≤ k` and reaches the
// same leaf as the float rule "x ≤ threshold goes left, NaN follows missingLeft", ±∞ values and thresholds
// included. A categorical feature (native categorical splits, `categories[f] = m > 0`) is coded as its
// category index 0…m−1, m for any other non-missing value and m + 1 for NaN; its nodes look the code up in a
// direction table built from the node's category bitset.
//
// QuickScorer. The classic walk (one row to its leaf, then the next tree) mispredicts about every other branch,
// since each step's direction depends on the data: ~45 ns a tree on hpc's 31-leaf trees. Instead, number each
// tree's leaves left to right (bit b = the b-th leaf) and give every split node a mask with the bits of the
// leaves of its left subtree cleared. A row's leaf in a tree is the leftmost leaf that no "false" node (a node
// that sends the row right) has ruled out: start with all bits set, AND in the mask of every false node, and
// take the lowest set bit. The false nodes of a row are found per feature without looking at any tree: a
// numeric feature's nodes sorted by rank k send code c right exactly when k < c — a prefix of the sorted list,
// whose length is tabulated per code — NaN goes right at the nodes that do not send missing values left, and a
// categorical code's list is tabulated per category. The tables hold, per code, one entry per tree: the AND of
// that tree's masks in the list (trees split on a feature several times), up to a budget beyond which only
// every stride-th code gets such a checkpoint and the rest of its prefix comes node by node. So scoring a row
// is a run of sequential AND operations and one count-trailing-zeros per tree, with no data-dependent branch.
// For gbdt that row loop runs in WebAssembly (quickscorer.wat, ~3.4× the JavaScript loop; the JavaScript one
// remains for forests of small trees and runtimes without WebAssembly). hpc, 304 trees, 100k rows: 0.16 s, vs
// 1.4 s for the walk (README "Gradient boosting and forests").
//
// Scores are summed per row tree by tree in tree order — the order training summed them in — so predictions
// are bit-identical to training's own walk (`addTreePrediction`); the Python loader sums in the same order.
import type { FeatureMatrix } from "../../features/preprocessor.js";
import { WorkbenchError } from "../../shared/errors.js";
import { type Ensemble, rawOutputs, rawToProbabilities } from "./ensemble.js";
import { QUICKSCORER_WASM_BASE64 } from "./quickscorer-wasm.js";

/** A numeric NaN's code: above every rank, so it goes right unless its node sends missing values left. */
const MISSING_CODE = 0x7fffffff;
/** k of a leaf in `nodes`: the walk stops there. */
const LEAF_K = 0x7fffffff;

/**
 * The ensemble compiled for prediction. `nodes` (the walk; its ranks also sort the bit vectors' tables): 4 Int32s per node — feature, k, left child,
 * missingLeft. A numeric node's k is its threshold's rank (−1 for a NaN threshold); a categorical node stores
 * −2 − (the offset of its direction table in `catRight`) instead, and its table holds the missing direction.
 */
interface Compiled {
  /** Features some node splits on, ascending (the only ones coded). */
  used: Int32Array;
  /** Per numeric feature its sorted distinct thresholds; per categorical feature an empty array. */
  cuts: Float64Array[];
  /** Per feature: 0 numeric, else the number of categories m. */
  categories: Int32Array;
  nodes: Int32Array;
  /** QuickScorer's tables, when every tree has at most 32 leaves. */
  scorer: Scorer | undefined;
  /** The gbdt row loop in WebAssembly over the scorer's tables (quickscorer.wat), when it applies. */
  wasm: WasmScorer | undefined;
  /** Direction tables of categorical nodes: 1 = right, indexed by the feature's code (m + 2 entries). */
  catRight: Uint8Array;
}

/**
 * QuickScorer's tables. Per feature f and code index ci (numeric: rank 0…len, len + 1 for NaN; categorical:
 * 0…m + 1), the nodes that send such a value right are entries[from[tab[f] + ci] … to[tab[f] + ci]) — pairs
 * (tree, mask). `leafNode[t·32 + b]` is tree t's b-th leaf from the left.
 */
interface Scorer {
  /** Features some node splits on, ascending. */
  used: Int32Array;
  tab: Int32Array;
  from: Int32Array;
  to: Int32Array;
  /** A second range per code: single nodes (numeric features: those past the code's checkpoint). */
  from2: Int32Array;
  to2: Int32Array;
  entryTree: Int32Array;
  entryMask: Int32Array;
  leafNode: Int32Array;
  /** gbdt (one value per leaf): `value` of leafNode[t·32 + b]. */
  leafValue: Float64Array | undefined;
}

const MAX_SCORER_LEAVES = 32;
/** Budget of the combined lists, in (tree, mask) pairs (8 MB); beyond it checkpoints are spaced out. */
const COMBINED_BUDGET = 1_048_576;

function buildScorer(
  e: Ensemble,
  nodes: Int32Array,
  cuts: Float64Array[],
  categories: Int32Array,
  catRight: Uint8Array,
  budget: number,
): Scorer | undefined {
  const n = e.feature.length;
  const trees = e.roots.length;
  // Leaves per subtree (children follow their parent: one backward pass), then each subtree's first leaf.
  const leafCount = new Int32Array(n);
  for (let i = n - 1; i >= 0; i--)
    leafCount[i] = e.feature[i]! < 0 ? 1 : leafCount[e.left[i]!]! + leafCount[e.right[i]!]!;
  for (let t = 0; t < trees; t++) if (leafCount[e.roots[t]!]! > MAX_SCORER_LEAVES) return undefined;
  const firstLeaf = new Int32Array(n);
  const treeOf = new Int32Array(n);
  const mask = new Int32Array(n);
  const leafNode = new Int32Array(trees * MAX_SCORER_LEAVES);
  for (let t = 0; t < trees; t++) {
    const root = e.roots[t]!;
    const end = t + 1 < trees ? e.roots[t + 1]! : n;
    firstLeaf[root] = 0;
    for (let i = root; i < end; i++) {
      treeOf[i] = t;
      if (e.feature[i]! < 0) {
        leafNode[t * MAX_SCORER_LEAVES + firstLeaf[i]!] = i;
        continue;
      }
      const l = e.left[i]!;
      firstLeaf[l] = firstLeaf[i]!;
      firstLeaf[e.right[i]!] = firstLeaf[i]! + leafCount[l]!;
      // The left subtree's leaves (at most 31 of them: the right subtree has one at least) are ruled out.
      mask[i] = ~(((1 << leafCount[l]!) - 1) << firstLeaf[l]!);
    }
  }
  // Split nodes per feature.
  const byFeature: number[][] = Array.from({ length: e.features }, () => []);
  for (let i = 0; i < n; i++) if (e.feature[i]! >= 0) byFeature[e.feature[i]!]!.push(i);
  // Entries of the per-tree combined tables: for each numeric feature and code, the trees touched so far.
  let combinedEntries = 0;
  for (let f = 0; f < e.features; f++) {
    if (categories[f]! > 0 || byFeature[f]!.length === 0) continue;
    const firstRank = new Map<number, number>();
    for (const i of byFeature[f]!) {
      const t = treeOf[i]!;
      firstRank.set(t, Math.min(firstRank.get(t) ?? Number.POSITIVE_INFINITY, nodes[4 * i + 1]!));
    }
    // A tree whose lowest rank is k is listed for the codes k + 1 … len.
    for (const k of firstRank.values()) combinedEntries += cuts[f]!.length - Math.max(-1, k);
  }
  const stride = Math.max(1, Math.ceil(combinedEntries / Math.max(1, budget)));
  const combinedMask = new Int32Array(trees).fill(-1);
  const used: number[] = [];
  const tab = new Int32Array(e.features);
  const from: number[] = [];
  const to: number[] = [];
  const from2: number[] = [];
  const to2: number[] = [];
  const entries: number[] = [];
  const push = (i: number) => entries.push(treeOf[i]!, mask[i]!);
  for (let f = 0; f < e.features; f++) {
    const list = byFeature[f]!;
    if (list.length === 0) continue;
    used.push(f);
    tab[f] = from.length;
    const m = categories[f]!;
    if (m > 0) {
      // Per code: one entry per tree, the AND of the masks of its nodes whose direction table sends it right.
      for (let c = 0; c < m + 2; c++) {
        from.push(entries.length / 2);
        const touched: number[] = [];
        for (const i of list) {
          if (catRight[-2 - nodes[4 * i + 1]! + c] !== 1) continue;
          const t = treeOf[i]!;
          if (combinedMask[t] === -1) touched.push(t);
          combinedMask[t] = combinedMask[t]! & mask[i]!;
        }
        touched.sort((x, y) => x - y);
        for (const t of touched) {
          entries.push(t, combinedMask[t]!);
          combinedMask[t] = -1;
        }
        to.push(entries.length / 2);
        from2.push(0);
        to2.push(0);
      }
      continue;
    }
    // Sorted by rank: code c is sent right by the nodes with k < c, a prefix of the sorted list. Trees split on
    // a feature several times (hpc's 316 trees split 1,975 times on `hour`), so the prefix is also kept
    // combined — one entry per tree, the AND of its masks — at every `stride`-th code (a checkpoint); code c
    // takes its checkpoint's combined list plus the nodes of ranks checkpoint … c − 1 from the sorted list.
    // The stride keeps the combined lists within a budget that stays in cache.
    const sorted = [...list].sort((a, b) => nodes[4 * a + 1]! - nodes[4 * b + 1]!);
    const len = cuts[f]!.length;
    const start = entries.length / 2;
    for (const i of sorted) push(i);
    const prefix = (c: number) => {
      let p = 0;
      while (p < sorted.length && nodes[4 * sorted[p]! + 1]! < c) p++;
      return p;
    };
    const touched: number[] = [];
    let p = 0;
    let checkpointFrom = 0;
    let checkpointTo = 0;
    let checkpointPrefix = 0;
    for (let c = 0; c <= len; c++) {
      if (c % stride === 0) {
        while (p < sorted.length && nodes[4 * sorted[p]! + 1]! < c) {
          const i = sorted[p]!;
          const t = treeOf[i]!;
          if (combinedMask[t] === -1) touched.push(t);
          combinedMask[t] = combinedMask[t]! & mask[i]!;
          p++;
        }
        touched.sort((x, y) => x - y);
        checkpointFrom = entries.length / 2;
        for (const t of touched) entries.push(t, combinedMask[t]!);
        checkpointTo = entries.length / 2;
        checkpointPrefix = p;
      }
      from.push(checkpointFrom);
      to.push(checkpointTo);
      from2.push(start + checkpointPrefix);
      to2.push(start + prefix(c));
    }
    for (const t of touched) combinedMask[t] = -1;
    // NaN: right wherever the node does not send missing values left.
    from.push(entries.length / 2);
    for (const i of list) if (e.missingLeft[i] !== 1) push(i);
    to.push(entries.length / 2);
    from2.push(0);
    to2.push(0);
  }
  return {
    used: Int32Array.from(used),
    tab,
    from: Int32Array.from(from),
    to: Int32Array.from(to),
    from2: Int32Array.from(from2),
    to2: Int32Array.from(to2),
    entryTree: Int32Array.from({ length: entries.length / 2 }, (_, j) => entries[2 * j]!),
    entryMask: Int32Array.from({ length: entries.length / 2 }, (_, j) => entries[2 * j + 1]!),
    leafNode,
    leafValue: e.valueStride === 1 ? Float64Array.from(leafNode, (node) => e.value[node]!) : undefined,
  };
}

/** The part of the WebAssembly JS API used here (typed here: the project's lib settings carry no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };
}

/** The compiled quickscorer.wat (null when this runtime cannot compile it: the JavaScript loop is used). */
let quickScorerModule: { api: WasmApi; module: object } | null | undefined;

function quickScorer(): { api: WasmApi; module: object } | null {
  if (quickScorerModule === undefined) {
    const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    try {
      quickScorerModule =
        api === undefined
          ? null
          : { api, module: new api.Module(Buffer.from(QUICKSCORER_WASM_BASE64, "base64")) };
    } catch {
      quickScorerModule = null;
    }
  }
  return quickScorerModule;
}

type ScoreFunction = (...args: number[]) => void;

/**
 * The scorer's tables copied into a WebAssembly memory of their own, with room for one block of codes and sums:
 * predictEnsemble codes a block straight into `codes`, sets `sums` to the base scores, calls `score` and copies
 * `sums` out. Byte offsets of every array are passed to `score` (see quickscorer.wat).
 */
interface WasmScorer {
  score: ScoreFunction;
  /** Arguments of `score` after rows (cols … sums). */
  args: number[];
  codes: Int32Array;
  sums: Float64Array;
  block: number;
}

/** Rows per block for a matrix of `cols` columns: at most PREDICT_BLOCK_CELLS codes, so they stay in cache. */
function blockRows(cols: number): number {
  return Math.max(16, Math.min(1024, Math.floor(PREDICT_BLOCK_CELLS / Math.max(1, cols))));
}

function wasmScorer(
  e: Ensemble,
  scorer: Scorer,
  cuts: Float64Array[],
  categories: Int32Array,
): WasmScorer | undefined {
  const compiledModule = quickScorer();
  if (compiledModule === null || scorer.leafValue === undefined) return undefined;
  const { api, module } = compiledModule;
  const trees = e.roots.length;
  const cols = Math.max(1, e.features);
  const width = rawOutputs(e.objective, e.classes);
  const block = blockRows(e.features);
  const nan = Int32Array.from(cuts, (c, f) => (categories[f]! > 0 ? categories[f]! + 1 : c.length + 1));
  const int32: [string, Int32Array][] = [
    ["used", scorer.used],
    ["tab", scorer.tab],
    ["nan", nan],
    ["from", scorer.from],
    ["to", scorer.to],
    ["from2", scorer.from2],
    ["to2", scorer.to2],
    ["etree", scorer.entryTree],
    ["emask", scorer.entryMask],
    ["out", e.treeOutput],
    ["bits", new Int32Array(Math.max(1, trees))],
    ["codes", new Int32Array(block * cols)],
  ];
  const at: Record<string, number> = {};
  let bytes = 0;
  for (const [name, a] of [
    ...int32,
    ["leaf", scorer.leafValue],
    ["sums", new Float64Array(block * width)],
  ] as [string, Int32Array | Float64Array][]) {
    bytes = Math.ceil(bytes / 8) * 8;
    at[name] = bytes;
    bytes += a.byteLength;
  }
  let memory: { readonly buffer: ArrayBuffer };
  let score: ScoreFunction;
  try {
    memory = new api.Memory({ initial: Math.max(1, Math.ceil(bytes / 65_536)) });
    const instance = new api.Instance(module, { env: { memory } });
    score = instance.exports.score as ScoreFunction;
  } catch {
    return undefined;
  }
  for (const [name, a] of int32) new Int32Array(memory.buffer, at[name]!, a.length).set(a);
  new Float64Array(memory.buffer, at.leaf!, scorer.leafValue.length).set(scorer.leafValue);
  return {
    score,
    args: [
      cols,
      at.codes!,
      scorer.used.length,
      at.used!,
      at.tab!,
      at.nan!,
      at.from!,
      at.to!,
      at.from2!,
      at.to2!,
      at.etree!,
      at.emask!,
      trees,
      at.bits!,
      at.out!,
      at.leaf!,
      width,
      at.sums!,
    ],
    codes: new Int32Array(memory.buffer, at.codes!, block * cols),
    sums: new Float64Array(memory.buffer, at.sums!, block * width),
    block,
  };
}

const compiledCache = new WeakMap<Ensemble, Compiled>();

/** Knobs for tests and benchmarks; predictions do not depend on them. */
export interface PredictTuning {
  /** Walk the trees even where the bit vectors apply. */
  walk?: boolean;
  /** false: the bit vectors' row loop in JavaScript even where the WebAssembly one applies. */
  wasm?: boolean;
  /** Budget of the combined lists in (tree, mask) pairs (default 1,048,576); a small one spaces checkpoints out. */
  combinedBudget?: number;
}

function compile(e: Ensemble, tuning?: PredictTuning): Compiled {
  const cached = tuning === undefined ? compiledCache.get(e) : undefined;
  if (cached !== undefined) return cached;
  const n = e.feature.length;
  const { categories, catOffset, catBits } = e;
  const isCategoricalNode = (i: number) => catOffset[i]! >= 0;

  const used: number[][] = Array.from({ length: e.features }, () => []);
  for (let i = 0; i < n; i++) {
    const f = e.feature[i]!;
    if (f >= 0 && !isCategoricalNode(i) && !Number.isNaN(e.threshold[i]!)) used[f]!.push(e.threshold[i]!);
  }
  const cuts = used.map((t, f) =>
    categories[f]! > 0 ? new Float64Array(0) : Float64Array.from(new Set(t)).sort(),
  );

  let tableSize = 0;
  for (let i = 0; i < n; i++) if (isCategoricalNode(i)) tableSize += categories[e.feature[i]!]! + 2;
  const catRight = new Uint8Array(tableSize);
  const nodes = new Int32Array(4 * n);
  let table = 0;
  for (let i = 0; i < n; i++) {
    const f = e.feature[i]!;
    if (f < 0) {
      // A leaf: feature 0 (any valid column), k = LEAF_K (where the walk stops), left = itself.
      nodes[4 * i] = 0;
      nodes[4 * i + 1] = LEAF_K;
      nodes[4 * i + 2] = i;
      continue;
    }
    if (categories[f]! > 0 && !isCategoricalNode(i))
      throw new WorkbenchError(
        "TREE_MODEL_INVALID",
        `Node ${i} splits categorical feature ${f} on a threshold; its splits must be category sets.`,
      );
    nodes[4 * i] = f;
    nodes[4 * i + 2] = e.left[i]!;
    nodes[4 * i + 3] = e.missingLeft[i] === 1 ? 1 : 0;
    if (isCategoricalNode(i)) {
      const m = categories[f]!;
      const words = Math.ceil(m / 32);
      const off = catOffset[i]!;
      if (off + words > catBits.length)
        throw new WorkbenchError("TREE_MODEL_INVALID", `Node ${i}'s category set lies outside the bitsets.`);
      for (let c = 0; c < m; c++) {
        const left = ((catBits[off + (c >>> 5)]! >>> (c & 31)) & 1) === 1;
        catRight[table + c] = left ? 0 : 1;
      }
      catRight[table + m] = 1; // a value that is no known category goes right
      catRight[table + m + 1] = e.missingLeft[i] === 1 ? 0 : 1; // NaN follows missingLeft
      nodes[4 * i + 1] = -2 - table;
      table += m + 2;
    } else {
      // A NaN threshold sends no value left (x ≤ NaN is false): rank −1.
      const t = e.threshold[i]!;
      nodes[4 * i + 1] = Number.isNaN(t) ? -1 : cuts[f]!.indexOf(t);
    }
  }

  const scorer =
    tuning?.walk === true
      ? undefined
      : buildScorer(e, nodes, cuts, categories, catRight, tuning?.combinedBudget ?? COMBINED_BUDGET);
  const usedFeatures = new Uint8Array(e.features);
  for (let i = 0; i < n; i++) if (e.feature[i]! >= 0) usedFeatures[e.feature[i]!] = 1;
  const split = Int32Array.from(usedFeatures.keys()).filter((f) => usedFeatures[f] === 1);
  const wasm =
    scorer !== undefined && tuning?.wasm !== false ? wasmScorer(e, scorer, cuts, categories) : undefined;
  const compiled: Compiled = { used: split, cuts, categories, nodes, catRight, scorer, wasm };
  if (tuning === undefined) compiledCache.set(e, compiled);
  return compiled;
}

/** Rows coded per block: at most this many cells (Int32), so a block's codes stay in L1/L2. */
const PREDICT_BLOCK_CELLS = 32_768;

/** Codes of rows [from … to) into codes[(r − from)·cols + f]. */
function codeRows(
  c: Compiled,
  values: Float32Array,
  cols: number,
  from: number,
  to: number,
  codes: Int32Array,
): void {
  const { used } = c;
  for (let u = 0; u < used.length; u++) {
    const f = used[u]!;
    const m = c.categories[f]!;
    if (m > 0) {
      for (let r = from; r < to; r++) {
        const v = values[r * cols + f]!;
        codes[(r - from) * cols + f] = Number.isNaN(v)
          ? m + 1
          : v >= 0 && v < m && v === Math.floor(v)
            ? v
            : m;
      }
      continue;
    }
    const cut = c.cuts[f]!;
    const len = cut.length;
    for (let r = from; r < to; r++) {
      const v = values[r * cols + f]!;
      let code: number;
      if (Number.isNaN(v)) code = MISSING_CODE;
      else {
        // The number of cuts below v (every node on f has a cut, so len ≥ 1), with a fixed number of halvings
        // whose steps depend on the data only through a select.
        let base = 0;
        let n = len;
        while (n > 1) {
          const half = n >>> 1;
          base = cut[base + half]! < v ? base + half : base;
          n -= half;
        }
        code = base + (cut[base]! < v ? 1 : 0);
      }
      codes[(r - from) * cols + f] = code;
    }
  }
}

/** Leaf reached from `root` by row i of the block (codes[i·cols …]): the classic walk, one branch per level. */
function leafOf(
  nodes: Int32Array,
  catRight: Uint8Array,
  codes: Int32Array,
  base: number,
  root: number,
): number {
  let p = root << 2;
  let k = nodes[p + 1]!;
  while (k !== LEAF_K) {
    const c = codes[base + nodes[p]!]!;
    const right =
      k < -1 ? catRight[-2 - k + c]! : c <= k || (c === MISSING_CODE && nodes[p + 3] === 1) ? 0 : 1;
    p = (nodes[p + 2]! + right) << 2;
    k = nodes[p + 1]!;
  }
  return p >> 2;
}

/** QuickScorer's pass over one row (codes from `base`): bits[t] = the leaves of tree t no false node rules out. */
function ruleOut(
  scorer: Scorer,
  nanIndex: Int32Array,
  codes: Int32Array,
  base: number,
  bits: Int32Array,
): void {
  const { used, tab, from, to, from2, to2, entryTree, entryMask } = scorer;
  bits.fill(-1);
  for (let u = 0; u < used.length; u++) {
    const f = used[u]!;
    const c = codes[base + f]!;
    const at = tab[f]! + (c === MISSING_CODE ? nanIndex[f]! : c);
    const end = to[at]!;
    for (let j = from[at]!; j < end; j++) {
      const t = entryTree[j]!;
      bits[t] = bits[t]! & entryMask[j]!;
    }
    const end2 = to2[at]!;
    for (let j = from2[at]!; j < end2; j++) {
      const t = entryTree[j]!;
      bits[t] = bits[t]! & entryMask[j]!;
    }
  }
}

/** Class probabilities, rows × classes, row-major. */
export function predictEnsemble(e: Ensemble, x: FeatureMatrix, tuning?: PredictTuning): Float32Array {
  if (x.cols !== e.features)
    throw new WorkbenchError(
      "MODEL_INPUT_SHAPE",
      `The tree model expects ${e.features} features per row, got ${x.cols}.`,
      { details: { expected: e.features, got: x.cols } },
    );
  const compiled = compile(e, tuning);
  const { nodes, catRight, scorer, cuts } = compiled;
  const { value, roots, treeOutput, classes } = e;
  const { values, cols, rows } = x;
  const trees = roots.length;
  const mean = e.objective === "mean";
  const width = mean ? classes : rawOutputs(e.objective, classes);
  const sums = new Float64Array(rows * width);
  if (!mean) for (let r = 0; r < rows; r++) sums.set(e.baseScores, r * width);
  const block = blockRows(cols);
  const { wasm } = compiled;
  // The WebAssembly loop codes into its own memory and sums there; its block size is the same.
  const codes = wasm !== undefined ? wasm.codes : new Int32Array(block * Math.max(1, cols));
  const leaves = new Int32Array(block * Math.max(1, trees));
  // Per feature, the code index of a NaN in the scorer's tables (numeric: after the ranks).
  const nanIndex = Int32Array.from(cuts, (c, f) =>
    compiled.categories[f]! > 0 ? compiled.categories[f]! + 1 : c.length + 1,
  );
  const bits = new Int32Array(Math.max(1, trees));
  for (let from = 0; from < rows; from += block) {
    const to = Math.min(rows, from + block);
    const m = to - from;
    codeRows(compiled, values, cols, from, to, codes);
    if (wasm !== undefined) {
      const blockSums = wasm.sums;
      for (let i = 0; i < m; i++) blockSums.set(e.baseScores, i * width);
      wasm.score(m, ...wasm.args);
      sums.set(blockSums.subarray(0, m * width), from * width);
      continue;
    }
    // leaves[i·trees + t]: row i's leaf in tree t.
    if (scorer !== undefined) {
      const { leafNode, leafValue } = scorer;
      for (let i = 0; i < m; i++) {
        ruleOut(scorer, nanIndex, codes, i * cols, bits);
        const o = i * trees;
        if (leafValue !== undefined) {
          // gbdt: the leaf's value straight from the scorer's table, summed in tree order.
          const s = (from + i) * width;
          for (let t = 0; t < trees; t++) {
            const w = bits[t]!;
            const k = s + treeOutput[t]!;
            sums[k] = sums[k]! + leafValue[t * MAX_SCORER_LEAVES + 31 - Math.clz32(w & -w)]!;
          }
        } else
          for (let t = 0; t < trees; t++) {
            const w = bits[t]!;
            leaves[o + t] = leafNode[t * MAX_SCORER_LEAVES + 31 - Math.clz32(w & -w)]!;
          }
      }
      if (leafValue !== undefined) continue;
    } else {
      for (let i = 0; i < m; i++) {
        const base = i * cols;
        const o = i * trees;
        for (let t = 0; t < trees; t++) leaves[o + t] = leafOf(nodes, catRight, codes, base, roots[t]!);
      }
    }
    for (let i = 0; i < m; i++) {
      const o = i * trees;
      const s = (from + i) * width;
      if (mean) {
        for (let t = 0; t < trees; t++) {
          const leaf = leaves[o + t]! * classes;
          for (let k = 0; k < classes; k++) sums[s + k] = sums[s + k]! + value[leaf + k]!;
        }
      } else {
        for (let t = 0; t < trees; t++) {
          const k = s + treeOutput[t]!;
          sums[k] = sums[k]! + value[leaves[o + t]!]!;
        }
      }
    }
  }
  if (!mean) return rawToProbabilities(e.objective, classes, sums);
  const out = new Float32Array(rows * classes);
  // Divided (not multiplied by 1/trees) exactly as training averaged them, so the validation metric of the
  // kept trees is reproduced to the bit.
  for (let i = 0; i < out.length; i++) out[i] = trees > 0 ? sums[i]! / trees : 0;
  return out;
}

/**
 * How predictEnsemble scores this ensemble: QuickScorer's bit vectors (every tree ≤ 32 leaves), with the gbdt row
 * loop in WebAssembly where the runtime compiles it, or tree walks.
 */
export function predictionMethod(e: Ensemble): "bit-vectors-wasm" | "bit-vectors" | "walk" {
  const compiled = compile(e);
  if (compiled.scorer === undefined) return "walk";
  return compiled.wasm === undefined ? "bit-vectors" : "bit-vectors-wasm";
}
