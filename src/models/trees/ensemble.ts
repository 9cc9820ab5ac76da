// A trained tree ensemble as flat typed arrays, the training-time prediction walks, and its files.
//
// All trees live in one set of node arrays (feature, threshold, left, right, missingLeft, value, gain, count);
// `roots[t]` is the node where tree t starts and `treeOutput[t]` the raw score it adds to (gbdt: one score for
// binary tasks, one per class for multiclass; forests: 0). Prediction uses no training bins: x goes left when
// x ≤ threshold (NaN never is, so NaN follows `missingLeft`), which is exactly the training rule because the
// thresholds are bin edges (or lie strictly between the bins' values). The compiled predictor is
// `predictEnsemble` in predict.ts; this file keeps the training-time walks (`addTreePrediction`, packed 16-byte
// nodes: threshold, feature + missing flag, left child; the right child is left + 1) and `walkEnsemble`, the
// node-by-node reference the compiled predictor reproduces to the bit.
//
// Files: `trees.json` (format, objective, sizes, base scores, where each array sits) and `trees.bin` (the
// arrays, little-endian, 8-byte aligned). Binary keeps every float exactly, ±∞ thresholds included, so a
// loaded model predicts bit-identically. The loader checks the format version, the sizes and that every child
// index points forward in its tree (so a damaged file cannot loop), and refuses anything else by name.
//
// Format version 2 adds native categorical splits (gbdt): per feature its number of categories (`categories`,
// 0 = numeric), per node the first word of its category bitset (`catOffset`, −1 = numeric split or leaf) and the
// bitsets (`catBits`), and in trees.json the one-hot groups the model turns into category columns (`groups`,
// categorical.ts). Version-1 files load as models without categorical features.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { FeatureMatrix, OneHotGroup } from "../../features/preprocessor.js";
import { WorkbenchError } from "../../shared/errors.js";
import type { GrownTree } from "./grower.js";

export const TREES_FORMAT = "workbench-trees";
export const TREES_FORMAT_VERSION = 2;
const HEADER_FILE = "trees.json";
const ARRAYS_FILE = "trees.bin";

/**
 * How raw tree outputs become probabilities: `logistic` (binary gbdt: one score, p = σ(base + Σ)), `softmax`
 * (multiclass gbdt: one score per class) or `mean` (forests: leaves hold class probabilities, averaged).
 */
export type Objective = "logistic" | "softmax" | "mean";

export interface Ensemble {
  objective: Objective;
  classes: number;
  features: number;
  /** Numbers per node in `value`: 1 (gbdt) or classes (forests). */
  valueStride: number;
  /** Raw scores before any tree (gbdt); empty for forests. */
  baseScores: Float64Array;
  roots: Int32Array;
  treeOutput: Int32Array;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  missingLeft: Uint8Array;
  value: Float64Array;
  gain: Float64Array;
  count: Float64Array;
  /** Per feature: 0 for a numeric feature, m ≥ 1 for a categorical one (values 0 … m − 1, NaN = missing). */
  categories: Int32Array;
  /** Per node: −1 for numeric splits and leaves; for a categorical split, its first word in `catBits`. */
  catOffset: Int32Array;
  /**
   * Category bitsets: a categorical node on feature f sends category c left iff c < 32·⌈categories[f]/32⌉ and
   * bit (c & 31) of catBits[catOffset + (c >>> 5)] is set; any other non-missing value goes right, NaN follows
   * `missingLeft`. Such nodes have a NaN threshold.
   */
  catBits: Uint32Array;
}

/** Whether category value v (a float) is in the bitset of `words` words at catBits[offset …). */
export function inCategorySet(catBits: Uint32Array, offset: number, words: number, v: number): boolean {
  if (!(v >= 0 && v < 32 * words) || !Number.isInteger(v)) return false;
  return ((catBits[offset + (v >>> 5)]! >>> (v & 31)) & 1) === 1;
}

/** Number of raw scores a gbdt objective sums trees into. */
export function rawOutputs(objective: Objective, classes: number): number {
  return objective === "logistic" ? 1 : classes;
}

/** Concatenates grown trees into one ensemble. */
export function buildEnsemble(
  objective: Objective,
  classes: number,
  features: number,
  baseScores: Float64Array,
  trees: readonly { tree: GrownTree; output: number }[],
  categories: Int32Array = new Int32Array(features),
): Ensemble {
  const valueStride = objective === "mean" ? classes : 1;
  let nodes = 0;
  let words = 0;
  for (const { tree } of trees) {
    nodes += tree.feature.length;
    words += tree.catBits?.length ?? 0;
  }
  const e: Ensemble = {
    objective,
    classes,
    features,
    valueStride,
    baseScores: Float64Array.from(baseScores),
    roots: new Int32Array(trees.length),
    treeOutput: new Int32Array(trees.length),
    feature: new Int32Array(nodes),
    threshold: new Float64Array(nodes),
    left: new Int32Array(nodes),
    right: new Int32Array(nodes),
    missingLeft: new Uint8Array(nodes),
    value: new Float64Array(nodes * valueStride),
    gain: new Float64Array(nodes),
    count: new Float64Array(nodes),
    categories: Int32Array.from(categories),
    catOffset: new Int32Array(nodes),
    catBits: new Uint32Array(words),
  };
  let at = 0;
  let wordsAt = 0;
  trees.forEach(({ tree, output }, t) => {
    const n = tree.feature.length;
    e.roots[t] = at;
    e.treeOutput[t] = output;
    e.feature.set(tree.feature, at);
    e.threshold.set(tree.threshold, at);
    e.missingLeft.set(tree.missingLeft, at);
    e.value.set(tree.value, at * valueStride);
    e.gain.set(tree.gain, at);
    e.count.set(tree.count, at);
    for (let i = 0; i < n; i++) {
      if (tree.feature[i]! >= 0 && tree.right[i] !== tree.left[i]! + 1)
        throw new Error(`tree ${t}: node ${i} does not have adjacent children`);
      e.left[at + i] = tree.left[i]! < 0 ? -1 : tree.left[i]! + at;
      e.right[at + i] = tree.right[i]! < 0 ? -1 : tree.right[i]! + at;
      const offset = tree.catOffset?.[i] ?? -1;
      e.catOffset[at + i] = offset < 0 ? -1 : offset + wordsAt;
    }
    if (tree.catBits !== undefined) e.catBits.set(tree.catBits, wordsAt);
    at += n;
    wordsAt += tree.catBits?.length ?? 0;
  });
  return e;
}

/**
 * Nodes packed for prediction, 16 bytes each so that a walk touches one cache line per step: a Float64 threshold
 * and, in the next 8 bytes (read through an Int32 view), feature·2 + missingLeft (−1 for a leaf) and the left
 * child (the right child is always left + 1).
 */
export interface PackedNodes {
  thresholds: Float64Array;
  ints: Int32Array;
}

export function packNodes(
  feature: Int32Array,
  threshold: Float64Array,
  left: Int32Array,
  missingLeft: Uint8Array,
): PackedNodes {
  const n = feature.length;
  const thresholds = new Float64Array(2 * n);
  const ints = new Int32Array(thresholds.buffer);
  for (let i = 0; i < n; i++) {
    thresholds[2 * i] = threshold[i]!;
    ints[4 * i + 2] = feature[i]! < 0 ? -1 : feature[i]! * 2 + (missingLeft[i] === 1 ? 1 : 0);
    ints[4 * i + 3] = left[i]!;
  }
  return { thresholds, ints };
}

/** Leaf reached by the row starting at values[base], from node `node`. */
function leafOf(packed: PackedNodes, values: Float32Array, base: number, node: number): number {
  const { thresholds, ints } = packed;
  let fm = ints[4 * node + 2]!;
  while (fm >= 0) {
    const v = values[base + (fm >> 1)]!;
    const goLeft = v <= thresholds[2 * node]! || ((fm & 1) === 1 && Number.isNaN(v));
    node = ints[4 * node + 3]! + (goLeft ? 0 : 1);
    fm = ints[4 * node + 2]!;
  }
  return node;
}

/** Categorical split nodes of a tree: per node its first bitset word (−1 if none), the bitsets, and words per feature. */
interface CategoricalNodes {
  catOffset: Int32Array;
  catBits: Uint32Array;
  words: Int32Array;
}

/** leafOf for trees with categorical split nodes (a NaN threshold marks them in the packed nodes). */
function leafOfCategorical(
  packed: PackedNodes,
  cat: CategoricalNodes,
  values: Float32Array,
  base: number,
  node: number,
): number {
  const { thresholds, ints } = packed;
  let fm = ints[4 * node + 2]!;
  while (fm >= 0) {
    const f = fm >> 1;
    const v = values[base + f]!;
    const offset = cat.catOffset[node]!;
    const goLeft = Number.isNaN(v)
      ? (fm & 1) === 1
      : offset >= 0
        ? inCategorySet(cat.catBits, offset, cat.words[f]!, v)
        : v <= thresholds[2 * node]!;
    node = ints[4 * node + 3]! + (goLeft ? 0 : 1);
    fm = ints[4 * node + 2]!;
  }
  return node;
}

/** Bitset words per feature of a node on it: ⌈categories / 32⌉. */
function categoryWords(categories: Int32Array): Int32Array {
  return Int32Array.from(categories, (m) => Math.ceil(m / 32));
}

/**
 * Adds one grown tree's values to `out` (rows × outStride, valueStride numbers per row at `offset`).
 * `categories` (per feature, 0 = numeric) is needed when the tree has categorical split nodes.
 */
export function addTreePrediction(
  tree: GrownTree,
  x: FeatureMatrix,
  out: Float64Array,
  outStride: number,
  offset: number,
  valueStride: number,
  onlyRows?: Int32Array,
  categories?: Int32Array,
): void {
  const packed = packNodes(tree.feature, tree.threshold, tree.left, tree.missingLeft);
  const categorical = tree.catBits !== undefined && tree.catBits.length > 0;
  const cat: CategoricalNodes | undefined =
    categorical && categories !== undefined
      ? { catOffset: tree.catOffset!, catBits: tree.catBits!, words: categoryWords(categories) }
      : undefined;
  if (categorical && cat === undefined)
    throw new Error("addTreePrediction: a tree with categorical splits needs the features' categories");
  const { value } = tree;
  const { values, cols } = x;
  const count = onlyRows === undefined ? x.rows : onlyRows.length;
  for (let i = 0; i < count; i++) {
    const r = onlyRows === undefined ? i : onlyRows[i]!;
    const leaf =
      cat === undefined
        ? leafOf(packed, values, r * cols, 0)
        : leafOfCategorical(packed, cat, values, r * cols, 0);
    const o = r * outStride + offset;
    for (let k = 0; k < valueStride; k++) out[o + k] = out[o + k]! + value[leaf * valueStride + k]!;
  }
}

/**
 * Class probabilities by walking every tree node by node on the floats (categorical nodes included): the
 * reference the compiled predictor must reproduce to the bit, with the same summation order.
 */
export function walkEnsemble(e: Ensemble, x: FeatureMatrix): Float32Array {
  if (x.cols !== e.features)
    throw new WorkbenchError(
      "MODEL_INPUT_SHAPE",
      `The tree model expects ${e.features} features per row, got ${x.cols}.`,
      { details: { expected: e.features, got: x.cols } },
    );
  const packed = packNodes(e.feature, e.threshold, e.left, e.missingLeft);
  const cat: CategoricalNodes = {
    catOffset: e.catOffset,
    catBits: e.catBits,
    words: categoryWords(e.categories),
  };
  const { value, roots, treeOutput, classes } = e;
  const { values, cols, rows } = x;
  const mean = e.objective === "mean";
  const width = mean ? classes : rawOutputs(e.objective, classes);
  const sums = new Float64Array(rows * width);
  if (!mean) for (let r = 0; r < rows; r++) sums.set(e.baseScores, r * width);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < roots.length; t++) {
      const leaf = leafOfCategorical(packed, cat, values, r * cols, roots[t]!);
      if (mean) {
        for (let k = 0; k < classes; k++)
          sums[r * classes + k] = sums[r * classes + k]! + value[leaf * classes + k]!;
      } else {
        const o = r * width + treeOutput[t]!;
        sums[o] = sums[o]! + value[leaf]!;
      }
    }
  }
  if (!mean) return rawToProbabilities(e.objective, classes, sums);
  const out = new Float32Array(rows * classes);
  for (let i = 0; i < out.length; i++) out[i] = roots.length > 0 ? sums[i]! / roots.length : 0;
  return out;
}

/** Raw scores → probabilities (rows × classes) for gbdt objectives, in place into a Float32Array. */
export function rawToProbabilities(objective: Objective, classes: number, raw: Float64Array): Float32Array {
  const outputs = rawOutputs(objective, classes);
  const rows = raw.length / outputs;
  const out = new Float32Array(rows * classes);
  if (objective === "logistic") {
    for (let r = 0; r < rows; r++) {
      const p = 1 / (1 + Math.exp(-raw[r]!));
      out[r * 2] = 1 - p;
      out[r * 2 + 1] = p;
    }
    return out;
  }
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < classes; k++) if (raw[o + k]! > max) max = raw[o + k]!;
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(raw[o + k]! - max);
    for (let k = 0; k < classes; k++) out[o + k] = Math.exp(raw[o + k]! - max) / sum;
  }
  return out;
}

/** Total split gain and number of splits per feature index. */
export function featureGains(e: Ensemble): { gain: Float64Array; splits: Int32Array } {
  const gain = new Float64Array(e.features);
  const splits = new Int32Array(e.features);
  for (let i = 0; i < e.feature.length; i++) {
    const f = e.feature[i]!;
    if (f < 0) continue;
    gain[f] = gain[f]! + e.gain[i]!;
    splits[f] = splits[f]! + 1;
  }
  return { gain, splits };
}

/** Size facts for Model.summary(). */
export function ensembleSummary(e: Ensemble): {
  trees: number;
  nodes: number;
  leaves: number;
  maxDepth: number;
} {
  let leaves = 0;
  for (let i = 0; i < e.feature.length; i++) if (e.feature[i]! < 0) leaves++;
  let maxDepth = 0;
  const depth = new Int32Array(e.feature.length);
  // Children always follow their parent, so one forward pass assigns every depth.
  for (let i = 0; i < e.feature.length; i++) {
    if (e.feature[i]! < 0) continue;
    const d = depth[i]! + 1;
    depth[e.left[i]!] = d;
    depth[e.right[i]!] = d;
    if (d > maxDepth) maxDepth = d;
  }
  return { trees: e.roots.length, nodes: e.feature.length, leaves, maxDepth };
}

type ArrayName =
  | "roots"
  | "treeOutput"
  | "feature"
  | "threshold"
  | "left"
  | "right"
  | "missingLeft"
  | "value"
  | "gain"
  | "count"
  | "categories"
  | "catOffset"
  | "catBits";
type DType = "int32" | "float64" | "uint8" | "uint32";
const LAYOUT: readonly [ArrayName, DType][] = [
  ["threshold", "float64"],
  ["value", "float64"],
  ["gain", "float64"],
  ["count", "float64"],
  ["roots", "int32"],
  ["treeOutput", "int32"],
  ["feature", "int32"],
  ["left", "int32"],
  ["right", "int32"],
  ["missingLeft", "uint8"],
  ["categories", "int32"],
  ["catOffset", "int32"],
  ["catBits", "uint32"],
];
/** Arrays that version 1 files do not have. */
const SINCE_V2: ReadonlySet<ArrayName> = new Set(["categories", "catOffset", "catBits"]);
const DTYPE_BYTES: Record<DType, number> = { float64: 8, int32: 4, uint32: 4, uint8: 1 };

interface Section {
  name: ArrayName;
  dtype: DType;
  offset: number;
  length: number;
}

export interface TreesHeader {
  format: typeof TREES_FORMAT;
  version: number;
  kind: string;
  objective: Objective;
  classes: number;
  features: number;
  valueStride: number;
  baseScores: number[];
  trees: number;
  nodes: number;
  littleEndian: true;
  sections: Section[];
  /** Free-form facts of the kind (e.g. the rounds kept). */
  info: Record<string, number | string | boolean>;
  /** Version 2: the one-hot groups of the input the model reads as categorical columns (categorical.ts). */
  groups?: OneHotGroup[];
}

function invalid(dir: string, problem: string): WorkbenchError {
  return new WorkbenchError("TREE_MODEL_INVALID", `The tree model in ${dir} cannot be loaded: ${problem}.`, {
    details: { dir, problem },
  });
}

/** Writes trees.json + trees.bin into `dir` (created if missing). */
export async function saveEnsemble(
  dir: string,
  kind: string,
  e: Ensemble,
  info: Record<string, number | string | boolean> = {},
  groups: readonly OneHotGroup[] = [],
): Promise<void> {
  if (os.endianness() !== "LE")
    throw new WorkbenchError("TREE_MODEL_ENDIANNESS", "Tree models are written little-endian only.");
  const sections: Section[] = [];
  let offset = 0;
  for (const [name, dtype] of LAYOUT) {
    const arr = e[name];
    sections.push({ name, dtype, offset, length: arr.length });
    offset += Math.ceil(arr.byteLength / 8) * 8;
  }
  const bytes = new Uint8Array(offset);
  for (const s of sections) {
    const arr = e[s.name];
    bytes.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), s.offset);
  }
  const header: TreesHeader = {
    format: TREES_FORMAT,
    version: TREES_FORMAT_VERSION,
    kind,
    objective: e.objective,
    classes: e.classes,
    features: e.features,
    valueStride: e.valueStride,
    baseScores: Array.from(e.baseScores),
    trees: e.roots.length,
    nodes: e.feature.length,
    littleEndian: true,
    sections,
    info,
    groups: groups.map((g) => ({ name: g.name, start: g.start, size: g.size })),
  };
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, ARRAYS_FILE), bytes);
  await writeFile(path.join(dir, HEADER_FILE), `${JSON.stringify(header, null, 1)}\n`, "utf8");
}

type AnyArray = Int32Array | Float64Array | Uint8Array | Uint32Array;

function copyOut(bytes: Uint8Array, s: Section): AnyArray {
  const raw = bytes.slice(s.offset, s.offset + s.length * DTYPE_BYTES[s.dtype]);
  if (s.dtype === "float64") return new Float64Array(raw.buffer, 0, s.length);
  if (s.dtype === "int32") return new Int32Array(raw.buffer, 0, s.length);
  if (s.dtype === "uint32") return new Uint32Array(raw.buffer, 0, s.length);
  return new Uint8Array(raw.buffer, 0, s.length);
}

/** Reads what saveEnsemble wrote, checking the format and the structure. */
export async function loadEnsemble(
  dir: string,
  kind: string,
): Promise<{ ensemble: Ensemble; header: TreesHeader }> {
  let header: TreesHeader;
  let bytes: Uint8Array;
  try {
    header = JSON.parse(await readFile(path.join(dir, HEADER_FILE), "utf8")) as TreesHeader;
    bytes = new Uint8Array(await readFile(path.join(dir, ARRAYS_FILE)));
  } catch (error) {
    throw invalid(dir, `missing or unreadable ${HEADER_FILE}/${ARRAYS_FILE} (${(error as Error).message})`);
  }
  if (header === null || typeof header !== "object" || header.format !== TREES_FORMAT)
    throw invalid(dir, `${HEADER_FILE} is not a ${TREES_FORMAT} header`);
  if (
    typeof header.version !== "number" ||
    !Number.isInteger(header.version) ||
    header.version < 1 ||
    header.version > TREES_FORMAT_VERSION
  )
    throw new WorkbenchError(
      "TREE_MODEL_VERSION",
      `The tree model in ${dir} has format version ${String(header.version)}; this build reads up to ${TREES_FORMAT_VERSION}.`,
      { details: { dir, version: header.version } },
    );
  if (header.kind !== kind) throw invalid(dir, `it holds a ${String(header.kind)} model, not ${kind}`);
  if (!["logistic", "softmax", "mean"].includes(header.objective))
    throw invalid(dir, `unknown objective ${String(header.objective)}`);
  const { classes, features, nodes, trees } = header;
  for (const [name, v] of Object.entries({ classes, features, nodes, trees }))
    if (!Number.isInteger(v) || v < 0) throw invalid(dir, `${name} is not a count`);
  const valueStride = header.objective === "mean" ? classes : 1;
  if (header.valueStride !== valueStride) throw invalid(dir, "valueStride does not match the objective");
  const outputs = header.objective === "mean" ? 0 : rawOutputs(header.objective, classes);
  if (!Array.isArray(header.baseScores) || header.baseScores.length !== outputs)
    throw invalid(dir, "wrong number of base scores");
  const v1 = header.version === 1;
  if (!Array.isArray(header.sections)) throw invalid(dir, "the header lists no arrays");
  const arrays: Partial<Record<ArrayName, AnyArray>> = {};
  for (const [name, dtype] of LAYOUT) {
    if (v1 && SINCE_V2.has(name)) continue;
    const s = header.sections.find((x) => x.name === name);
    if (s === undefined || s.dtype !== dtype)
      throw invalid(dir, `array ${name} is missing or has the wrong type`);
    const expected =
      name === "roots" || name === "treeOutput"
        ? trees
        : name === "value"
          ? nodes * valueStride
          : name === "categories"
            ? features
            : name === "catBits"
              ? s.length
              : nodes;
    if (!Number.isInteger(s.length) || s.length < 0 || s.length !== expected)
      throw invalid(dir, `array ${name} is missing or has the wrong size`);
    if (
      !Number.isInteger(s.offset) ||
      s.offset < 0 ||
      s.offset + s.length * DTYPE_BYTES[dtype] > bytes.length
    )
      throw invalid(dir, `${ARRAYS_FILE} is truncated (array ${name})`);
    arrays[name] = copyOut(bytes, s);
  }
  const e: Ensemble = {
    objective: header.objective,
    classes,
    features,
    valueStride,
    baseScores: Float64Array.from(header.baseScores),
    roots: arrays.roots as Int32Array,
    treeOutput: arrays.treeOutput as Int32Array,
    feature: arrays.feature as Int32Array,
    threshold: arrays.threshold as Float64Array,
    left: arrays.left as Int32Array,
    right: arrays.right as Int32Array,
    missingLeft: arrays.missingLeft as Uint8Array,
    value: arrays.value as Float64Array,
    gain: arrays.gain as Float64Array,
    count: arrays.count as Float64Array,
    categories: (arrays.categories as Int32Array | undefined) ?? new Int32Array(features),
    catOffset: (arrays.catOffset as Int32Array | undefined) ?? new Int32Array(nodes).fill(-1),
    catBits: (arrays.catBits as Uint32Array | undefined) ?? new Uint32Array(0),
  };
  for (let f = 0; f < features; f++)
    if (e.categories[f]! < 0) throw invalid(dir, `feature ${f} has ${e.categories[f]} categories`);
  for (let i = 0; i < nodes; i++) {
    const f = e.feature[i]!;
    if (f < -1 || f >= features) throw invalid(dir, `node ${i} splits on feature ${f}`);
    if (f >= 0 && !(e.left[i]! > i && e.left[i]! + 1 < nodes && e.right[i] === e.left[i]! + 1))
      throw invalid(dir, `node ${i} does not have two adjacent children after it`);
    const offset = e.catOffset[i]!;
    const m = f >= 0 ? e.categories[f]! : 0;
    if (m === 0) {
      if (offset !== -1)
        throw invalid(dir, `node ${i} has a category set (catOffset ${offset}) but no categorical split`);
    } else {
      const words = Math.ceil(m / 32);
      if (!(offset >= 0 && offset + words <= e.catBits.length))
        throw invalid(
          dir,
          `node ${i}: catOffset ${offset} is out of range (${words} words of ${e.catBits.length})`,
        );
      if (!Number.isNaN(e.threshold[i]!)) throw invalid(dir, `categorical node ${i} has a threshold`);
    }
  }
  const groups = header.groups ?? [];
  if (!Array.isArray(groups) || (v1 && groups.length > 0))
    throw invalid(dir, "the categorical groups are not a list");
  for (const g of groups)
    if (
      g === null ||
      typeof g !== "object" ||
      typeof g.name !== "string" ||
      !Number.isInteger(g.start) ||
      !Number.isInteger(g.size)
    )
      throw invalid(dir, `categorical group ${JSON.stringify(g)} is not {name, start, size}`);
  const firstGroupColumn = features - groups.length;
  for (let f = 0; f < features; f++) {
    const expected = f >= firstGroupColumn ? groups[f - firstGroupColumn]!.size : 0;
    if (e.categories[f] !== expected)
      throw invalid(dir, `feature ${f} has ${e.categories[f]} categories where the groups give ${expected}`);
  }
  for (let t = 0; t < trees; t++) {
    if (!(e.roots[t]! >= 0 && e.roots[t]! < nodes)) throw invalid(dir, `tree ${t} has no root`);
    if (!(e.treeOutput[t]! >= 0 && e.treeOutput[t]! < Math.max(1, outputs)))
      throw invalid(dir, `tree ${t} adds to an unknown output`);
  }
  return { ensemble: e, header };
}
