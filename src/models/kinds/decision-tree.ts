// A single classification tree on the histogram tree engine (src/models/trees/): Gini or entropy, depth and
// leaf limits; thresholds halfway between neighbouring values as in scikit-learn. One iteration.
import { z } from "zod";
import { defineKind } from "../model.js";
import { trainForest } from "../trees/forest.js";
import { loadTreeModel, TreeModel } from "../trees/tree-model.js";
import { BINNING_MS, classTreeCost, maxFeaturesSchema } from "./random-forest.js";

export const decisionTreeParams = z
  .object({
    criterion: z.enum(["gini", "entropy"]).default("gini"),
    /** Depth limit; null = grow until the leaves are pure or too small. */
    maxDepth: z.number().int().min(1).nullable().default(null),
    /** Leaf budget (best-first growth); null = none. */
    maxLeaves: z.number().int().min(2).nullable().default(null),
    minSamplesLeaf: z.number().int().min(1).default(1),
    minSamplesSplit: z.number().int().min(2).default(2),
    /** Features tried per split ("all" = the classic CART tree). */
    maxFeatures: maxFeaturesSchema.default("all"),
    /** Bins per feature (missing values get one more); features with fewer distinct values split exactly. */
    maxBins: z.number().int().min(2).max(255).default(255),
  })
  .strict();
export type DecisionTreeParams = z.infer<typeof decisionTreeParams>;

function trainer(params: DecisionTreeParams) {
  return (data: Parameters<typeof trainForest>[0], options: Parameters<typeof trainForest>[1]) =>
    trainForest(data, options, { ...params, trees: 1, bootstrap: false }, "decision-tree");
}

export const decisionTreeKind = defineKind({
  kind: "decision-tree",
  description:
    "Decision tree (TypeScript, histogram CART): Gini or entropy, depth/leaf limits, class probabilities in the leaves; one iteration.",
  iterationUnit: "tree",
  params: decisionTreeParams,
  estimateCost: (p, facts) => BINNING_MS * facts.rows * facts.cols + classTreeCost(p, facts),
  plannedIterations: () => 1,
  withIterations: (p) => p,
  create: async (params, shape) => new TreeModel("decision-tree", shape, trainer(params), "trees"),
  load: async (dir, params, shape) => loadTreeModel(dir, "decision-tree", shape, trainer(params), "trees"),
});
