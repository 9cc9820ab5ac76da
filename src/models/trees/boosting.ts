// Histogram gradient boosting (the gbdt kind): LightGBM / scikit-learn HistGradientBoosting style.
//
// Loss: binary log-loss on one raw score (p = σ(F)) or, for K > 2 classes, softmax cross-entropy with one tree
// per class per round, all K fitted to the gradients of the round's start (scikit-learn's scheme). Gradients
// and hessians per row: g = w·(p − y), h = w·p·(1 − p), with w the row's class weight ("balanced" weights
// multiply both, as sample weights do in scikit-learn). The raw scores start at the log-odds of the weighted
// class prior (log p_k for softmax). A leaf's value is −G/(H + λ), times the learning rate.
//
// Each round: an optional row sample (`subsample`, drawn without replacement per round, seeded), a column
// sample per tree (`colsample`, seeded), one best-first tree per raw score (grower.ts). The training scores of
// the sampled rows are updated from the grower's leaf ranges (no traversal); the validation scores by walking
// the new tree only, so a round's validation cost is one tree, not the ensemble.
//
// Early stopping: the IterationTracker sees the validation probabilities after every round (one iteration =
// one round); `earlyStoppingRounds` overrides the run's patience for this kind (trees usually want a longer
// one than networks). At the end the rounds after the best one are dropped, so the model is the best round's.

import type { OneHotGroup } from "../../features/preprocessor.js";
import { createRng, deriveSeed } from "../../shared/random.js";
import { classWeights, IterationTracker } from "../iterations.js";
import type { FitData, FitOptions, FitResult } from "../model.js";
import { applyBins, fitBins } from "./binning.js";
import { categoricalLayout, nativeGroups, toCategorical } from "./categorical.js";
import {
  addTreePrediction,
  buildEnsemble,
  type Ensemble,
  type Objective,
  rawOutputs,
  rawToProbabilities,
} from "./ensemble.js";
import { Grower, type GrownTree } from "./grower.js";

export interface GbdtTrainParams {
  rounds: number;
  learningRate: number;
  maxLeaves: number;
  maxDepth: number | null;
  minSamplesLeaf: number;
  minHessianLeaf: number;
  l2: number;
  maxBins: number;
  subsample: number;
  colsample: number;
  earlyStoppingRounds: number | null;
  /**
   * "native": the one-hot groups of the input (by their names) are split as categorical features, on sets of
   * categories; "onehot" (or absent): every one-hot column is a numeric feature.
   */
  categorical?: "native" | "onehot";
}

export interface TrainedTrees {
  ensemble: Ensemble;
  result: FitResult;
  /** Iterations (rounds or trees) the model keeps. */
  kept: number;
  /** The one-hot groups the trees read as categorical columns (absent or empty: none). */
  groups?: OneHotGroup[];
}

/** Draws `m` of `items` without replacement into the front of `items` (partial Fisher–Yates). */
export function sampleInPlace(items: Int32Array, m: number, rng: () => number): void {
  const n = items.length;
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rng() * (n - i));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
}

export async function trainGbdt(
  data: FitData,
  options: FitOptions,
  params: GbdtTrainParams,
): Promise<TrainedTrees> {
  const classes = data.classes.length;
  const objective: Objective = classes === 2 ? "logistic" : "softmax";
  const outputs = rawOutputs(objective, classes);
  const groups = params.categorical === "native" ? nativeGroups(data.train.featureNames) : [];
  const layout = groups.length > 0 ? categoricalLayout(data.train.featureNames, groups) : undefined;
  const x = layout === undefined ? data.train : toCategorical(layout, data.train);
  const validation = layout === undefined ? data.validation : toCategorical(layout, data.validation);
  const categories = layout?.categories ?? new Int32Array(x.cols);
  const y = data.trainLabels;
  const n = x.rows;
  const cols = x.cols;
  const seed = options.seed;

  const binned = applyBins(fitBins(x, params.maxBins, deriveSeed(seed, "gbdt-bins"), categories), x);
  const classWeight = classWeights(y, classes, options.classWeight);
  const w = Float64Array.from(y, (c) => classWeight[c]!);

  // Base scores: log-odds (softmax: log) of the weighted class prior.
  const prior = new Float64Array(classes);
  let total = 0;
  for (let r = 0; r < n; r++) {
    prior[y[r]!] = prior[y[r]!]! + w[r]!;
    total += w[r]!;
  }
  const clamp = (p: number) => Math.min(1 - 1e-15, Math.max(1e-15, p));
  const baseScores = new Float64Array(outputs);
  if (objective === "logistic") {
    const p = clamp(prior[1]! / total);
    baseScores[0] = Math.log(p / (1 - p));
  } else for (let k = 0; k < classes; k++) baseScores[k] = Math.log(clamp(prior[k]! / total));

  const rawTrain = new Float64Array(n * outputs);
  const rawValid = new Float64Array(validation.rows * outputs);
  for (let r = 0; r < n; r++) for (let k = 0; k < outputs; k++) rawTrain[r * outputs + k] = baseScores[k]!;
  for (let r = 0; r < validation.rows; r++)
    for (let k = 0; k < outputs; k++) rawValid[r * outputs + k] = baseScores[k]!;

  const grower = new Grower(
    binned,
    3,
    {
      maxLeaves: params.maxLeaves,
      maxDepth: params.maxDepth ?? Number.POSITIVE_INFINITY,
      minSamplesLeaf: params.minSamplesLeaf,
      minSamplesSplit: 2 * params.minSamplesLeaf,
      minHessianLeaf: params.minHessianLeaf,
      lambda: params.l2,
      criterion: "gini",
      midpoint: false,
      featuresPerSplit: 0,
    },
    0,
  );
  const gradients = Array.from({ length: outputs }, () => new Float64Array(n));
  const hessians = Array.from({ length: outputs }, () => new Float64Array(n));
  const rowRng = createRng(deriveSeed(seed, "gbdt-rows"));
  const columnRng = createRng(deriveSeed(seed, "gbdt-columns"));
  const splitRng = createRng(deriveSeed(seed, "gbdt-splits"));
  const rowPool = Int32Array.from({ length: n }, (_, i) => i);
  const columnPool = Int32Array.from({ length: cols }, (_, i) => i);
  const sampleSize = Math.max(1, Math.min(n, Math.round(params.subsample * n)));
  const columnCount = Math.max(1, Math.min(cols, Math.round(params.colsample * cols)));
  const sample = new Int32Array(sampleSize);
  const rows = new Int32Array(n);
  const features = new Int32Array(cols);
  const probs = new Float64Array(classes);

  const patience = params.earlyStoppingRounds ?? options.earlyStopping.patience;
  const tracker = new IterationTracker(
    data,
    { ...options, earlyStopping: { ...options.earlyStopping, patience } },
    params.rounds,
  );
  const trees: { tree: GrownTree; output: number }[] = [];
  let done = 0;
  /**
   * Gradients and hessians of every raw score at the current scores; returns the mean (unweighted) training
   * log-loss at those scores, so each round's loss comes with the next round's gradients.
   */
  const computeGradients = (): number => {
    let loss = 0;
    for (let r = 0; r < n; r++) {
      const wr = w[r]!;
      const label = y[r]!;
      if (objective === "logistic") {
        const p = 1 / (1 + Math.exp(-rawTrain[r]!));
        gradients[0]![r] = wr * (p - label);
        hessians[0]![r] = wr * p * (1 - p);
        loss -= Math.log(Math.max(1e-15, label === 1 ? p : 1 - p));
      } else {
        const o = r * outputs;
        let max = Number.NEGATIVE_INFINITY;
        for (let k = 0; k < classes; k++) if (rawTrain[o + k]! > max) max = rawTrain[o + k]!;
        let z = 0;
        for (let k = 0; k < classes; k++) {
          probs[k] = Math.exp(rawTrain[o + k]! - max);
          z += probs[k]!;
        }
        for (let k = 0; k < classes; k++) {
          const p = probs[k]! / z;
          gradients[k]![r] = wr * (p - (label === k ? 1 : 0));
          hessians[k]![r] = wr * p * (1 - p);
        }
        loss -= Math.log(Math.max(1e-15, probs[label]! / z));
      }
    }
    return loss / n;
  };
  computeGradients();
  for (let round = 1; round <= params.rounds; round++) {
    const started = performance.now();
    if (sampleSize < n) {
      sampleInPlace(rowPool, sampleSize, rowRng);
      sample.set(rowPool.subarray(0, sampleSize));
      sample.sort();
    } else for (let i = 0; i < n; i++) sample[i] = i;
    for (let k = 0; k < outputs; k++) {
      if (columnCount < cols) {
        sampleInPlace(columnPool, columnCount, columnRng);
        features.set(columnPool.subarray(0, columnCount));
        features.subarray(0, columnCount).sort();
      } else for (let f = 0; f < cols; f++) features[f] = f;
      rows.set(sample);
      const tree = grower.grow(
        rows,
        sampleSize,
        features,
        columnCount,
        {
          kind: "gradient",
          gradients: gradients[k]!,
          hessians: hessians[k]!,
          shrinkage: params.learningRate,
        },
        splitRng,
      );
      trees.push({ tree, output: k });
      if (sampleSize === n) {
        const ranges = grower.leafRanges;
        for (let i = 0; i < ranges.length; i += 3) {
          const v = tree.value[ranges[i]!]!;
          for (let j = ranges[i + 1]!; j < ranges[i + 2]!; j++) {
            const at = rows[j]! * outputs + k;
            rawTrain[at] = rawTrain[at]! + v;
          }
        }
      } else addTreePrediction(tree, x, rawTrain, outputs, k, 1, undefined, categories);
      addTreePrediction(tree, validation, rawValid, outputs, k, 1, undefined, categories);
    }
    done = round;
    const outcome = tracker.step(round, {
      loss: computeGradients(),
      validationProbabilities: rawToProbabilities(objective, classes, rawValid),
      started,
    });
    if (outcome.stop) break;
    // Let the event loop breathe between rounds (progress output, worker messages).
    if (round % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const kept = tracker.bestSoFar > 0 ? tracker.bestSoFar : done;
  const ensemble = buildEnsemble(
    objective,
    classes,
    cols,
    baseScores,
    trees.slice(0, kept * outputs),
    categories,
  );
  return { ensemble, result: tracker.result(), kept, groups };
}
