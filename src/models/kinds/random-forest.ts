// Random forest of classification trees on the histogram tree engine (src/models/trees/): bootstrap rows, a
// feature sample per split, Gini or entropy; one iteration = one tree.
import { z } from "zod";
import { defineKind } from "../model.js";
import { trainForest } from "../trees/forest.js";
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

export const randomForestKind = defineKind({
  kind: "random-forest",
  description:
    "Random forest (TypeScript, histogram trees): bootstrap rows, a feature sample per split, Gini or entropy, mean of the trees' class probabilities; one iteration = one tree.",
  iterationUnit: "tree",
  params: randomForestParams,
  plannedIterations: (p) => p.trees,
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
