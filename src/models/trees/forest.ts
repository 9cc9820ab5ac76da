// Random forests and single decision trees (classification) on the histogram engine.
//
// Each tree is a class tree (grower.ts in class mode): histograms hold the weighted class counts per bin, the
// split maximises the weighted Gini or entropy decrease (scikit-learn's criteria), thresholds sit halfway
// between the node's neighbouring values (so a feature with ≤ maxBins distinct values splits exactly where
// scikit-learn's DecisionTreeClassifier would), and a leaf holds the class probabilities of its rows
// (weighted class counts, normalised). Class weights ("balanced") multiply the row weights, as
// scikit-learn's class_weight does.
//
// Forest: every tree sees a bootstrap sample (n draws with replacement; a row drawn c times weighs c, as in
// scikit-learn) and a fresh feature sample at every split (`maxFeatures`: √p, log₂p, a fraction or all,
// rounded down, at least 1). The forest predicts the mean of its trees' probabilities. One iteration = one
// tree: the tracker sees the forest's validation probabilities after every tree, and early stopping keeps
// the trees up to the best iteration. A decision tree is the same code with one tree, no bootstrap and, by
// default, every feature at every split.

import { createRng, deriveSeed } from "../../shared/random.js";
import { classWeights, IterationTracker, logLoss } from "../iterations.js";
import type { FitData, FitOptions } from "../model.js";
import { applyBins, fitBins } from "./binning.js";
import type { TrainedTrees } from "./boosting.js";
import { addTreePrediction, buildEnsemble } from "./ensemble.js";
import { Grower, type GrownTree } from "./grower.js";

export type MaxFeatures = "sqrt" | "log2" | "all" | number;

export interface ForestTrainParams {
  trees: number;
  bootstrap: boolean;
  criterion: "gini" | "entropy";
  maxDepth: number | null;
  maxLeaves: number | null;
  minSamplesLeaf: number;
  minSamplesSplit: number;
  maxFeatures: MaxFeatures;
  maxBins: number;
}

/** Features tried per split (scikit-learn's rounding: floor, at least 1). */
export function featuresPerSplit(maxFeatures: MaxFeatures, features: number): number {
  const n =
    maxFeatures === "all"
      ? features
      : maxFeatures === "sqrt"
        ? Math.floor(Math.sqrt(features))
        : maxFeatures === "log2"
          ? Math.floor(Math.log2(features))
          : Math.floor(maxFeatures * features);
  return Math.max(1, Math.min(features, n));
}

export async function trainForest(
  data: FitData,
  options: FitOptions,
  params: ForestTrainParams,
  label: string,
): Promise<TrainedTrees> {
  const classes = data.classes.length;
  const x = data.train;
  const y = data.trainLabels;
  const n = x.rows;
  const cols = x.cols;
  const seed = options.seed;
  const binned = applyBins(fitBins(x, params.maxBins, deriveSeed(seed, `${label}-bins`)), x);
  const classWeight = classWeights(y, classes, options.classWeight);
  const perSplit = featuresPerSplit(params.maxFeatures, cols);
  const grower = new Grower(
    binned,
    classes + 1,
    {
      maxLeaves: params.maxLeaves ?? Number.POSITIVE_INFINITY,
      maxDepth: params.maxDepth ?? Number.POSITIVE_INFINITY,
      minSamplesLeaf: params.minSamplesLeaf,
      minSamplesSplit: params.minSamplesSplit,
      minHessianLeaf: 0,
      lambda: 0,
      criterion: params.criterion,
      midpoint: true,
      featuresPerSplit: perSplit < cols ? perSplit : 0,
    },
    classes,
  );
  const bootstrapRng = createRng(deriveSeed(seed, `${label}-bootstrap`));
  const splitRng = createRng(deriveSeed(seed, `${label}-splits`));
  const features = Int32Array.from({ length: cols }, (_, i) => i);
  const rows = new Int32Array(n);
  const weights = new Float64Array(n);
  const draws = new Int32Array(n);
  const outOfBag = new Int32Array(n);
  const trainSum = new Float64Array(n * classes);
  const validSum = new Float64Array(data.validation.rows * classes);
  const trainProbs = new Float32Array(n * classes);
  const validProbs = new Float32Array(data.validation.rows * classes);
  const tracker = new IterationTracker(data, options, params.trees);
  const trees: { tree: GrownTree; output: number }[] = [];
  let done = 0;
  for (let t = 1; t <= params.trees; t++) {
    const started = performance.now();
    let count = 0;
    if (params.bootstrap) {
      draws.fill(0);
      for (let i = 0; i < n; i++) {
        const r = Math.floor(bootstrapRng() * n);
        draws[r] = draws[r]! + 1;
      }
      for (let r = 0; r < n; r++) {
        weights[r] = draws[r]! * classWeight[y[r]!]!;
        if (draws[r]! > 0) rows[count++] = r;
      }
    } else {
      for (let r = 0; r < n; r++) {
        weights[r] = classWeight[y[r]!]!;
        rows[count++] = r;
      }
    }
    const tree = grower.grow(rows, count, features, cols, { kind: "class", labels: y, weights }, splitRng);
    trees.push({ tree, output: 0 });
    // Training probabilities: the tree's rows from the grower's leaf ranges, out-of-bag rows by a walk.
    const ranges = grower.leafRanges;
    for (let i = 0; i < ranges.length; i += 3) {
      const at = ranges[i]! * classes;
      for (let j = ranges[i + 1]!; j < ranges[i + 2]!; j++) {
        const o = rows[j]! * classes;
        for (let k = 0; k < classes; k++) trainSum[o + k] = trainSum[o + k]! + tree.value[at + k]!;
      }
    }
    if (count < n) {
      let m = 0;
      for (let r = 0; r < n; r++) if (draws[r] === 0) outOfBag[m++] = r;
      addTreePrediction(tree, x, trainSum, classes, 0, classes, outOfBag.subarray(0, m));
    }
    addTreePrediction(tree, data.validation, validSum, classes, 0, classes);
    for (let i = 0; i < trainSum.length; i++) trainProbs[i] = trainSum[i]! / t;
    for (let i = 0; i < validSum.length; i++) validProbs[i] = validSum[i]! / t;
    done = t;
    const outcome = tracker.step(t, {
      loss: logLoss(y, trainProbs, classes),
      validationProbabilities: validProbs,
      started,
    });
    if (outcome.stop) break;
    if (t % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const kept = tracker.bestSoFar > 0 ? tracker.bestSoFar : done;
  const ensemble = buildEnsemble("mean", classes, cols, new Float64Array(0), trees.slice(0, kept));
  return { ensemble, result: tracker.result(), kept };
}
