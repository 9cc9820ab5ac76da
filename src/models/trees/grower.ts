// Grows one tree on binned data: the engine shared by gbdt, random forest and decision tree.
//
// Rows: the tree's rows are one Int32Array of row indices; a node owns the range [start, end) of it. Splitting
// a node partitions its range in place (LightGBM's data partition): left rows are compacted forward, right
// rows go through a scratch buffer and are copied back behind them. The partition is stable (a node's rows
// stay in ascending order, so reads of per-row arrays move forward). The child totals (Σg, Σh or class
// weights, row counts) are summed during the partition, exactly, not derived from the histogram. Class trees
// also keep their rows' codes, labels and weights in node order and move them with the partition (see
// binning.ts): a node's data is then contiguous for the sampled histograms and sorted small nodes.
//
// Order: with a leaf budget (`maxLeaves`, gbdt's default 31) growth is best-first, as in LightGBM and
// scikit-learn HGB: the open node with the largest gain is split next (ties: the older node). Without a
// budget the result does not depend on the order, so the open nodes are a stack (depth-first) and at most
// one open node per level holds a histogram.
//
// Histograms: with every split looking at the same features (all of the tree's, i.e. gbdt's per-tree column
// sample or a tree with maxFeatures "all"), nodes get full histograms from the sparse rows (every feature:
// cheaper than selecting columns, and the split search simply skips the features outside the tree's
// sample); the smaller child is built from its rows and the larger one is the parent's histogram minus it,
// in the parent's buffer. With a feature sample per split (random forests), a child's features are not its
// parent's, so each node builds the histogram of its own sample directly: the sample is usually small (√p),
// which is cheaper than full histograms with subtraction. As in scikit-learn, features found constant in the
// node do not count towards the sample: drawing continues until `featuresPerSplit` non-constant features were
// tried or none are left.
//
// Small class-tree nodes (≤ 32 rows, most nodes of a fully grown tree) skip histograms: their codes are
// sorted per feature and swept (scikit-learn's way), which finds the same split — same candidates, same order,
// same scores — at a cost that depends on the node's rows rather than on the number of bins.
import { type BinnedData, rowMajorCodes, rowStride } from "./binning.js";
import {
  buildClassHistogram,
  buildClassHistogramSparse,
  buildGradientHistogram,
  buildGradientHistogramSparse,
  clearHistogram,
  subtractHistogram,
} from "./histogram.js";
import {
  type ClassSplitParams,
  findClassSplit,
  findClassSplitSorted,
  findGradientSplit,
  type GradientSplitParams,
  SortScratch,
  Split,
  splitThreshold,
} from "./split.js";

export interface GrowParams {
  /** Leaf budget (best-first growth); Infinity for none. */
  maxLeaves: number;
  /** Depth limit (the root has depth 0); Infinity for none. */
  maxDepth: number;
  minSamplesLeaf: number;
  /** A node with fewer rows is not split. */
  minSamplesSplit: number;
  /** Gradient trees: minimum Σ hessian in a leaf. */
  minHessianLeaf: number;
  /** Gradient trees: L2 penalty on leaf values. */
  lambda: number;
  /** Class trees: impurity criterion. */
  criterion: "gini" | "entropy";
  /** Thresholds halfway between the node's values (true) or at the global bin edge (false). */
  midpoint: boolean;
  /** Features drawn per split; 0 (or ≥ the tree's features) = every feature of the tree at every split. */
  featuresPerSplit: number;
}

/** Per-row statistics the tree is fitted to. */
export type RowStats =
  | {
      kind: "gradient";
      gradients: Float64Array;
      hessians: Float64Array /** Leaf values are scaled by it. */;
      shrinkage: number;
    }
  | { kind: "class"; labels: Int32Array; weights: Float64Array };

/** One grown tree, nodes in creation order (root = 0); leaves have feature −1. */
export interface GrownTree {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  missingLeft: Uint8Array;
  /** `stride` numbers per node: the leaf value (gradient trees) or class probabilities (class trees). */
  value: Float64Array;
  /** Gain of each split node (0 for leaves). */
  gain: Float64Array;
  /** Training rows in each node. */
  count: Float64Array;
  /**
   * Categorical split nodes (gbdt's native groups): the index in `catBits` of the node's first word, −1 for
   * numeric splits and leaves. A node on a feature with m categories owns ⌈m/32⌉ words; category c goes left
   * when bit (c & 31) of word c >>> 5 is set (NaN follows missingLeft; their threshold is NaN). The grower
   * always fills both; trees built by hand without them have no categorical splits.
   */
  catOffset?: Int32Array;
  catBits?: Uint32Array;
  leaves: number;
  depth: number;
}

/** Class-tree nodes of at most this many rows are split by sorting their codes, without a histogram. */
export const SORTED_NODE_ROWS = 32;

class GrowNode {
  split = new Split();
  hist: Float64Array | null = null;
  constructor(
    readonly id: number,
    readonly start: number,
    readonly end: number,
    readonly depth: number,
    readonly totals: Float64Array,
  ) {}
  get count(): number {
    return this.end - this.start;
  }
}

/** Max-heap of open nodes by gain; equal gains pop the older node first. */
class NodeHeap {
  private readonly items: GrowNode[] = [];
  get size(): number {
    return this.items.length;
  }
  private before(a: GrowNode, b: GrowNode): boolean {
    return a.split.gain > b.split.gain || (a.split.gain === b.split.gain && a.id < b.id);
  }
  push(node: GrowNode): void {
    const items = this.items;
    items.push(node);
    let i = items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(items[i]!, items[p]!)) break;
      [items[i], items[p]] = [items[p]!, items[i]!];
      i = p;
    }
  }
  pop(): GrowNode | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.before(items[l]!, items[m]!)) m = l;
        if (r < items.length && this.before(items[r]!, items[m]!)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top;
  }
  drain(): GrowNode[] {
    return this.items.splice(0);
  }
}

/** Node-ordered copies of a class tree's rows and their scratch space for partitions. */
class OrderedRows {
  readonly codes: Uint8Array;
  readonly words: Int32Array;
  readonly labels: Int32Array;
  readonly weights: Float64Array;
  readonly scratchWords: Int32Array;
  readonly scratchLabels: Int32Array;
  readonly scratchWeights: Float64Array;
  constructor(
    rows: number,
    readonly rowBytes: number,
  ) {
    this.codes = new Uint8Array(rows * rowBytes);
    this.words = new Int32Array(this.codes.buffer);
    this.labels = new Int32Array(rows);
    this.weights = new Float64Array(rows);
    this.scratchWords = new Int32Array((rows * rowBytes) / 4);
    this.scratchLabels = new Int32Array(rows);
    this.scratchWeights = new Float64Array(rows);
  }

  /** Position i ← row rows[i], for i < count. */
  load(
    rowCodes: Uint8Array,
    rows: Int32Array,
    count: number,
    labels: Int32Array,
    weights: Float64Array,
  ): void {
    const source = new Int32Array(rowCodes.buffer, rowCodes.byteOffset, rowCodes.byteLength / 4);
    const w = this.rowBytes / 4;
    for (let i = 0; i < count; i++) {
      const r = rows[i]!;
      this.words.set(source.subarray(r * w, r * w + w), i * w);
      this.labels[i] = labels[r]!;
      this.weights[i] = weights[r]!;
    }
  }
}

/** Reusable tree grower over one binned training set (buffers are kept between trees). */
export class Grower {
  private readonly pool: Float64Array[] = [];
  private readonly scratchRows: Int32Array;
  /** Per code of the split feature (≤ 255 bins + missing): 1 when its rows go left (gradient trees). */
  private readonly goesLeft = new Uint8Array(257);
  private readonly splitScratch: Float64Array;
  private readonly candidate = new Split();
  private readonly sortScratch: SortScratch;
  private readonly sampleBuffer: Int32Array;
  private readonly allFeatures: Int32Array;
  /** Bytes per row of the row-major codes. */
  private readonly rowBytes: number;
  /** Row-major dense codes by row id (class trees, or gradient trees sampling features per split). */
  private rowCodes: Uint8Array | undefined;
  /** Class trees: the tree's rows in node order (codes, labels, weights), moved by every partition. */
  private ordered: OrderedRows | undefined;
  /** After grow(): [node, start, end] of every leaf, ranges into the rows array that was passed. */
  leafRanges: number[] = [];

  constructor(
    readonly data: BinnedData,
    /** Numbers per histogram slot: 3 for gradient trees, classes + 1 for class trees. */
    readonly stride: number,
    readonly params: GrowParams,
    /** Class trees: the number of classes (0 for gradient trees). */
    readonly classes: number,
  ) {
    this.scratchRows = new Int32Array(data.rows);
    this.splitScratch = new Float64Array(3 * (classes + 1));
    this.sampleBuffer = new Int32Array(data.cols);
    this.sortScratch = new SortScratch(SORTED_NODE_ROWS, Math.max(1, classes));
    this.allFeatures = Int32Array.from({ length: data.cols }, (_, i) => i);
    this.rowBytes = rowStride(data.cols);
  }

  private takeHistogram(): Float64Array {
    return this.pool.pop() ?? new Float64Array(this.data.totalSlots * this.stride);
  }

  private release(node: GrowNode): void {
    if (node.hist !== null) this.pool.push(node.hist);
    node.hist = null;
  }

  /**
   * Grows a tree on rows[0 … count) (partitioned in place) using the tree's features
   * `features[0 … nFeatures)`. `rng` draws the per-split feature samples.
   */
  grow(
    rows: Int32Array,
    count: number,
    features: Int32Array,
    nFeatures: number,
    stats: RowStats,
    rng: () => number,
  ): GrownTree {
    const p = this.params;
    const data = this.data;
    const stride = this.stride;
    const classes = this.classes;
    const gradient = stats.kind === "gradient";
    const countAt = gradient ? 2 : classes;
    const perSplit = p.featuresPerSplit > 0 && p.featuresPerSplit < nFeatures;
    if ((perSplit || stats.kind === "class") && this.rowCodes === undefined)
      this.rowCodes = rowMajorCodes(data);
    const rowCodes = this.rowCodes ?? new Uint8Array(0);
    const rowBytes = this.rowBytes;
    let ordered: OrderedRows | undefined;
    if (stats.kind === "class") {
      this.ordered ??= new OrderedRows(data.rows, rowBytes);
      ordered = this.ordered;
      ordered.load(rowCodes, rows, count, stats.labels, stats.weights);
    }
    const gradientParams: GradientSplitParams = {
      lambda: p.lambda,
      minSamplesLeaf: p.minSamplesLeaf,
      minHessianLeaf: p.minHessianLeaf,
    };
    const classParams: ClassSplitParams = {
      criterion: p.criterion,
      minSamplesLeaf: p.minSamplesLeaf,
      classes,
    };

    // Output, grown as nodes are created.
    const feature: number[] = [];
    const threshold: number[] = [];
    const left: number[] = [];
    const right: number[] = [];
    const missingLeft: number[] = [];
    const value: number[] = [];
    const gain: number[] = [];
    const nodeCount: number[] = [];
    const catOffset: number[] = [];
    const catBits: number[] = [];
    let maxDepth = 0;
    this.leafRanges = [];

    const newNode = (start: number, end: number, depth: number, totals: Float64Array): GrowNode => {
      const id = feature.length;
      feature.push(-1);
      threshold.push(0);
      left.push(-1);
      right.push(-1);
      missingLeft.push(0);
      gain.push(0);
      nodeCount.push(end - start);
      catOffset.push(-1);
      if (gradient) {
        const h = totals[1]! + p.lambda;
        value.push(h > 0 ? (-totals[0]! / h) * stats.shrinkage : 0);
      } else {
        let w = 0;
        for (let k = 0; k < classes; k++) w += totals[k]!;
        for (let k = 0; k < classes; k++) value.push(w > 0 ? totals[k]! / w : 1 / classes);
      }
      if (depth > maxDepth) maxDepth = depth;
      return new GrowNode(id, start, end, depth, totals);
    };

    const splittable = (node: GrowNode): boolean => {
      const n = node.count;
      if (node.depth >= p.maxDepth || n < p.minSamplesSplit || n < 2 * p.minSamplesLeaf) return false;
      const t = node.totals;
      if (gradient) return t[1]! >= 2 * p.minHessianLeaf;
      let present = 0;
      for (let k = 0; k < classes; k++) if (t[k]! > 0) present++;
      return present > 1;
    };

    /** Full histogram of every feature (sparse rows; split search then looks at the tree's features). */
    const buildFull = (node: GrowNode, hist: Float64Array): void => {
      if (stats.kind === "gradient")
        buildGradientHistogramSparse(
          data,
          rows,
          node.start,
          node.end,
          stats.gradients,
          stats.hessians,
          node.totals,
          hist,
        );
      else
        buildClassHistogramSparse(
          data,
          rows,
          node.start,
          node.end,
          stats.labels,
          stats.weights,
          classes,
          node.totals,
          hist,
        );
    };

    /** Histogram of a few features (dense codes). */
    const build = (node: GrowNode, hist: Float64Array, feats: Int32Array, nf: number): void => {
      clearHistogram(data, feats, nf, stride, hist);
      if (stats.kind === "gradient")
        buildGradientHistogram(
          data,
          rowCodes,
          rowBytes,
          rows,
          node.start,
          node.end,
          feats,
          nf,
          stats.gradients,
          stats.hessians,
          hist,
        );
      else
        buildClassHistogram(
          data,
          ordered!.codes,
          rowBytes,
          node.start,
          node.end,
          feats,
          nf,
          ordered!.labels,
          ordered!.weights,
          classes,
          hist,
        );
    };

    const find = (node: GrowNode, hist: Float64Array, feats: Int32Array, nf: number, into: Split): void => {
      if (gradient) findGradientSplit(data, hist, feats, nf, node.totals, gradientParams, into);
      else findClassSplit(data, hist, feats, nf, node.totals, classParams, this.splitScratch, into);
      if (into.found)
        into.threshold = into.categorical
          ? Number.NaN
          : splitThreshold(data, hist, stride, countAt, into, p.midpoint);
    };

    /** Class trees: the split of a small node by sorting, over `feats` or a per-split sample of them. */
    const sorted = (node: GrowNode, sample: boolean): void => {
      const best = node.split;
      best.reset();
      if (!sample) {
        for (let j = 0; j < nFeatures; j++)
          findClassSplitSorted(
            data,
            ordered!.codes,
            rowBytes,
            node.start,
            node.end,
            features[j]!,
            ordered!.labels,
            ordered!.weights,
            node.totals,
            classParams,
            this.sortScratch,
            best,
          );
        return;
      }
      // One feature at a time, drawn exactly as the batches below draw them.
      const perm = this.sampleBuffer;
      perm.set(features.subarray(0, nFeatures));
      let tried = 0;
      for (let i = 0; i < nFeatures && tried < p.featuresPerSplit; i++) {
        const j = i + Math.floor(rng() * (nFeatures - i));
        const t = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = t;
        const nonConstant = findClassSplitSorted(
          data,
          ordered!.codes,
          rowBytes,
          node.start,
          node.end,
          perm[i]!,
          ordered!.labels,
          ordered!.weights,
          node.totals,
          classParams,
          this.sortScratch,
          best,
        );
        if (nonConstant) tried++;
      }
    };

    /** Per-split feature sample: batches of features until enough non-constant ones were tried. */
    const findSampled = (node: GrowNode): void => {
      if (stats.kind === "class" && node.count <= SORTED_NODE_ROWS) {
        sorted(node, true);
        return;
      }
      const hist = this.takeHistogram();
      const perm = this.sampleBuffer;
      perm.set(features.subarray(0, nFeatures));
      const best = node.split;
      best.reset();
      let drawn = 0;
      let tried = 0;
      while (tried < p.featuresPerSplit && drawn < nFeatures) {
        const batch = Math.min(p.featuresPerSplit - tried, nFeatures - drawn);
        for (let i = drawn; i < drawn + batch; i++) {
          const j = i + Math.floor(rng() * (nFeatures - i));
          const t = perm[i]!;
          perm[i] = perm[j]!;
          perm[j] = t;
        }
        const feats = perm.subarray(drawn, drawn + batch);
        build(node, hist, feats, batch);
        for (let i = 0; i < batch; i++) {
          const f = feats[i]!;
          const from = data.offsets[f]!;
          const to = from + data.mapper.nBins[f]! + 1;
          let nonEmpty = 0;
          for (let s = from; s < to && nonEmpty < 2; s++) if (hist[s * stride + countAt]! > 0) nonEmpty++;
          if (nonEmpty > 1) tried++;
        }
        find(node, hist, feats, batch, this.candidate);
        if (this.candidate.found && this.candidate.gain > best.gain) best.copyFrom(this.candidate);
        drawn += batch;
      }
      this.pool.push(hist);
    };

    /** Partitions the node's rows by its split and creates both children. */
    const apply = (node: GrowNode): [GrowNode, GrowNode] => {
      const s = node.split;
      const f = s.feature;
      const bin = s.bin;
      const miss = data.mapper.nBins[f]!;
      const ml = s.missingLeft;
      const column = gradient ? data.codes.subarray(f * data.rows, (f + 1) * data.rows) : data.codes;
      const scratch = this.scratchRows;
      const lt = new Float64Array(stride);
      const rt = new Float64Array(stride);
      let l = node.start;
      let rc = 0;
      let sawMissing = false;
      // One loop per kind of statistics, so that each stays monomorphic and branch-light.
      if (stats.kind === "gradient") {
        // Where each code goes (the missing bin included), numeric or categorical split alike.
        const goesLeft = this.goesLeft;
        const bits = s.leftCategories;
        for (let c = 0; c < miss; c++)
          goesLeft[c] = (s.categorical ? ((bits[c >>> 5]! >>> (c & 31)) & 1) === 1 : c <= bin) ? 1 : 0;
        goesLeft[miss] = ml ? 1 : 0;
        const { gradients, hessians } = stats;
        let gl = 0;
        let hl = 0;
        let gr = 0;
        let hr = 0;
        for (let i = node.start; i < node.end; i++) {
          const r = rows[i]!;
          const c = column[r]!;
          if (c === miss) sawMissing = true;
          if (goesLeft[c] === 1) {
            gl += gradients[r]!;
            hl += hessians[r]!;
            rows[l++] = r;
          } else {
            gr += gradients[r]!;
            hr += hessians[r]!;
            scratch[rc++] = r;
          }
        }
        lt[0] = gl;
        lt[1] = hl;
        rt[0] = gr;
        rt[1] = hr;
      } else {
        // Node-ordered rows move with their codes, labels and weights (whole 4-byte words).
        const o = ordered!;
        const { codes, words, labels, weights, scratchWords, scratchLabels, scratchWeights } = o;
        const w = rowBytes / 4;
        for (let i = node.start; i < node.end; i++) {
          const c = codes[i * rowBytes + f]!;
          if (c === miss) sawMissing = true;
          const y = labels[i]!;
          const wt = weights[i]!;
          if (c === miss ? ml : c <= bin) {
            lt[y] = lt[y]! + wt;
            if (l !== i) {
              for (let k = 0; k < w; k++) words[l * w + k] = words[i * w + k]!;
              labels[l] = y;
              weights[l] = wt;
              rows[l] = rows[i]!;
            }
            l++;
          } else {
            rt[y] = rt[y]! + wt;
            for (let k = 0; k < w; k++) scratchWords[rc * w + k] = words[i * w + k]!;
            scratchLabels[rc] = y;
            scratchWeights[rc] = wt;
            scratch[rc++] = rows[i]!;
          }
        }
        words.set(scratchWords.subarray(0, rc * w), l * w);
        labels.set(scratchLabels.subarray(0, rc), l);
        weights.set(scratchWeights.subarray(0, rc), l);
      }
      rows.set(scratch.subarray(0, rc), l);
      lt[countAt] = l - node.start;
      rt[countAt] = rc;
      const id = node.id;
      feature[id] = f;
      threshold[id] = s.threshold;
      // No missing value reached this node: unseen ones follow the majority (scikit-learn's rule); a categorical
      // split sends missing values where its set sends the missing bin (right when not in it), as scikit-learn's.
      missingLeft[id] = (sawMissing || s.categorical ? ml : l - node.start >= rc) ? 1 : 0;
      gain[id] = s.gain;
      if (s.categorical) {
        catOffset[id] = catBits.length;
        const words = Math.ceil(data.mapper.categories[f]! / 32);
        for (let k = 0; k < words; k++) catBits.push(s.leftCategories[k]!);
      }
      const a = newNode(node.start, l, node.depth + 1, lt);
      const b = newNode(l, node.end, node.depth + 1, rt);
      left[id] = a.id;
      right[id] = b.id;
      return [a, b];
    };

    const leaf = (node: GrowNode): void => {
      this.release(node);
      this.leafRanges.push(node.id, node.start, node.end);
    };

    // Root.
    const rootTotals = new Float64Array(stride);
    for (let i = 0; i < count; i++) {
      const r = rows[i]!;
      if (stats.kind === "gradient") {
        rootTotals[0] = rootTotals[0]! + stats.gradients[r]!;
        rootTotals[1] = rootTotals[1]! + stats.hessians[r]!;
      } else {
        const y = stats.labels[r]!;
        rootTotals[y] = rootTotals[y]! + stats.weights[r]!;
      }
    }
    rootTotals[countAt] = count;
    const root = newNode(0, count, 0, rootTotals);
    const bestFirst = Number.isFinite(p.maxLeaves);
    const heap = new NodeHeap();
    const stack: GrowNode[] = [];
    const open = (node: GrowNode): void => {
      if (node.split.found) {
        if (bestFirst) heap.push(node);
        else stack.push(node);
      } else leaf(node);
    };
    if (splittable(root)) {
      if (perSplit) findSampled(root);
      else if (stats.kind === "class" && count <= SORTED_NODE_ROWS) sorted(root, false);
      else {
        root.hist = this.takeHistogram();
        buildFull(root, root.hist);
        find(root, root.hist, features, nFeatures, root.split);
      }
    }
    open(root);

    let leaves = 1;
    while (leaves < p.maxLeaves) {
      const node = bestFirst ? heap.pop() : stack.pop();
      if (node === undefined) break;
      const [a, b] = apply(node);
      leaves++;
      const needA = splittable(a);
      const needB = splittable(b);
      if (perSplit) {
        this.release(node);
        if (needA) findSampled(a);
        if (needB) findSampled(b);
      } else if (!needA && !needB) {
        this.release(node);
      } else if (stats.kind === "class" && Math.max(a.count, b.count) <= SORTED_NODE_ROWS) {
        // Small nodes from here down: no more histograms.
        this.release(node);
        if (needA) sorted(a, false);
        if (needB) sorted(b, false);
      } else {
        const [small, large] = a.count <= b.count ? [a, b] : [b, a];
        const needLarge = small === a ? needB : needA;
        const needSmall = small === a ? needA : needB;
        const parentHist = node.hist!;
        node.hist = null;
        if (needLarge) {
          small.hist = this.takeHistogram();
          buildFull(small, small.hist);
          subtractHistogram(data, this.allFeatures, data.cols, stride, parentHist, small.hist);
          large.hist = parentHist;
          find(large, large.hist, features, nFeatures, large.split);
          if (needSmall) find(small, small.hist, features, nFeatures, small.split);
        } else {
          small.hist = parentHist;
          buildFull(small, small.hist);
          find(small, small.hist, features, nFeatures, small.split);
        }
      }
      // Left child opened last so that depth-first growth continues on the left.
      open(b);
      open(a);
    }
    for (const node of bestFirst ? heap.drain() : stack.splice(0)) leaf(node);

    return {
      feature: Int32Array.from(feature),
      threshold: Float64Array.from(threshold),
      left: Int32Array.from(left),
      right: Int32Array.from(right),
      missingLeft: Uint8Array.from(missingLeft),
      value: Float64Array.from(value),
      gain: Float64Array.from(gain),
      count: Float64Array.from(nodeCount),
      catOffset: Int32Array.from(catOffset),
      catBits: Uint32Array.from(catBits),
      leaves,
      depth: maxDepth,
    };
  }
}
