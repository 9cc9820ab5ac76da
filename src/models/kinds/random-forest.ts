// Random forest of classification trees on the histogram tree engine (src/models/trees/): bootstrap rows, a
// feature sample per split, Gini or entropy; one iteration = one tree.
import { z } from "zod";
import { type CostFacts, defineKind } from "../model.js";
import { featuresPerSplit, type MaxFeatures, trainForest } from "../trees/forest.js";
import { loadTreeModel, TreeModel } from "../trees/tree-model.js";

/** Features tried per split: √p, log₂p, every feature, or a fraction of them (at least one). */
export const maxFeaturesSchema = z.union([z.enum(["sqrt", "log2", "all"]), z.number().gt(0).max(1)]);

export const randomForestParams = z
  .object({
    /** Trees in the forest (an upper bound when early stopping ends training sooner). */
    trees: z.number().int().min(1).default(100),
    criterion: z.enum(["gini", "entropy"]).default("gini"),
    /** Depth limit per tree; null = grow until the leaves are pure or too small. */
    maxDepth: z.number().int().min(1).nullable().default(null),
    /** Leaf budget per tree (best-first growth); null = none. */
    maxLeaves: z.number().int().min(2).nullable().default(null),
    minSamplesLeaf: z.number().int().min(1).default(1),
    minSamplesSplit: z.number().int().min(2).default(2),
    maxFeatures: maxFeaturesSchema.default("sqrt"),
    /** Each tree sees a bootstrap sample of the rows. */
    bootstrap: z.boolean().default(true),
    /** Bins per feature (missing values get one more). */
    maxBins: z.number().int().min(2).max(255).default(255),
  })
  .strict();
export type RandomForestParams = z.infer<typeof randomForestParams>;

/** Milliseconds of one core per (row × feature tried × tree level) of a class tree; see classTreeCost. */
const CLASS_TREE_MS = 2.1e-5;
/** Binning the training rows once (milliseconds per row × feature). */
export const BINNING_MS = 5e-5;

/**
 * The cost estimate of one class tree (milliseconds of one core, see ModelKind.estimateCost): every level of
 * the tree passes each row once per feature tried at its splits, and a tree has about log₂(rows / minSamplesLeaf)
 * levels (fewer under maxDepth or maxLeaves). Calibrated on credit-default: a forest tree of 18,000 rows,
 * 9 features per split and minSamplesLeaf 10 took ~37 ms (the forest: 1.43 s for 37 trees).
 */
export function classTreeCost(
  params: {
    maxFeatures: MaxFeatures;
    maxDepth: number | null;
    maxLeaves: number | null;
    minSamplesLeaf: number;
  },
  facts: CostFacts,
): number {
  const levels = Math.min(
    Math.log2(Math.max(2, facts.rows / params.minSamplesLeaf)),
    params.maxDepth ?? Number.POSITIVE_INFINITY,
    params.maxLeaves === null ? Number.POSITIVE_INFINITY : Math.log2(params.maxLeaves),
  );
  return CLASS_TREE_MS * facts.rows * featuresPerSplit(params.maxFeatures, facts.cols) * Math.max(1, levels);
}

/**
 * Trees a forest typically grows before early stopping ends it: its validation metric levels off after about
 * 30 trees (credit-default: best at 31, stopped at 37 of 200 with patience 6), then `patience` more.
 */
export function expectedTrees(trees: number, patience: number): number {
  return Math.min(trees, 30 + patience);
}

export const randomForestKind = defineKind({
  kind: "random-forest",
  description:
    "Random forest (TypeScript, histogram trees): bootstrap rows, a feature sample per split, Gini or entropy, mean of the trees' class probabilities; one iteration = one tree.",
  iterationUnit: "tree",
  params: randomForestParams,
  // Binning, then the trees it typically grows (early stopping usually ends a forest well before `trees`).
  estimateCost: (p, facts) =>
    BINNING_MS * facts.rows * facts.cols + expectedTrees(p.trees, facts.patience) * classTreeCost(p, facts),
  plannedIterations: (p) => p.trees,
  withIterations: (p, trees) => ({ ...p, trees }),
  create: async (params, shape) =>
    new TreeModel(
      "random-forest",
      shape,
      (data, options) => trainForest(data, options, params, "random-forest"),
      "trees",
    ),
  load: async (dir, params, shape) =>
    loadTreeModel(
      dir,
      "random-forest",
      shape,
      (data, options) => trainForest(data, options, params, "random-forest"),
      "trees",
    ),
});
