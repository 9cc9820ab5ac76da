import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { TrainConfig } from "../config/train-config.js";
import { evaluate, higherIsBetter } from "../evaluation/metrics.js";
import type { FeatureMatrix } from "../features/preprocessor.js";
import { createRng, deriveSeed } from "../shared/random.js";
import type { Trial } from "./candidates.js";
import { predictProbabilities } from "./classifier.js";
import { buildNetwork } from "./network.js";
import { withSeededRandom } from "./seeded-random.js";

export interface EpochRecord {
  epoch: number;
  loss: number;
  valLoss: number;
  /** The selection metric on validation. */
  valMetric: number;
  seconds: number;
}

export interface TrainInput {
  train: FeatureMatrix;
  trainLabels: Int32Array;
  validation: FeatureMatrix;
  validationLabels: Int32Array;
  classes: string[];
}

export interface TrainOptions {
  seed: number;
  selectionMetric: string;
  classWeight: "balanced" | "none";
  earlyStopping: { patience: number; minDelta: number };
  onEpoch?: (record: EpochRecord, epochs: number) => void;
}

/** The training options a config implies (selection metric, class weights, early stopping, seed). */
export function trainOptionsFor(config: TrainConfig): TrainOptions {
  return {
    seed: config.seed,
    selectionMetric: config.training.selectionMetric,
    classWeight: config.training.classWeight,
    earlyStopping: config.training.earlyStopping,
  };
}

export interface TrainedNetwork {
  model: tfl.LayersModel;
  history: EpochRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
}

function labelsTensor(labels: Int32Array, order: ArrayLike<number>, classes: number): tf.Tensor2D {
  if (classes === 2)
    return tf.tensor2d(
      Float32Array.from(order, (i) => labels[i]!),
      [order.length, 1],
    );
  const onehot = new Float32Array(order.length * classes);
  for (let r = 0; r < order.length; r++) onehot[r * classes + labels[order[r]!]!] = 1;
  return tf.tensor2d(onehot, [order.length, classes]);
}

function rowsTensor(x: FeatureMatrix, order: ArrayLike<number>): tf.Tensor2D {
  const out = new Float32Array(order.length * x.cols);
  for (let r = 0; r < order.length; r++)
    out.set(x.values.subarray(order[r]! * x.cols, (order[r]! + 1) * x.cols), r * x.cols);
  return tf.tensor2d(out, [order.length, x.cols]);
}

function balancedWeights(labels: Int32Array, classes: number): Record<number, number> {
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) counts[l]!++;
  return Object.fromEntries(counts.map((c, k) => [k, c === 0 ? 0 : labels.length / (classes * c)]));
}

/**
 * Trains one network: a seeded shuffle per epoch, class weights, and early stopping on the validation
 * selection metric that restores the best epoch's weights.
 */
export async function trainNetwork(
  trial: Trial,
  input: TrainInput,
  options: TrainOptions,
): Promise<TrainedNetwork> {
  const k = input.classes.length;
  const seed = deriveSeed(options.seed, trial.id);
  return withSeededRandom(seed, async () => {
    const model = buildNetwork(trial, input.train.cols, k, seed);
    const rng = createRng(deriveSeed(seed, "shuffle"));
    const validationX = tf.tensor2d(input.validation.values, [input.validation.rows, input.validation.cols]);
    const validationY = labelsTensor(
      input.validationLabels,
      Int32Array.from({ length: input.validationLabels.length }, (_, i) => i),
      k,
    );
    const classWeight =
      options.classWeight === "balanced" ? balancedWeights(input.trainLabels, k) : undefined;
    const better = higherIsBetter(options.selectionMetric);
    const history: EpochRecord[] = [];
    let best = better ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    let bestEpoch = 0;
    let bestWeights: tf.Tensor[] | undefined;
    let sinceBest = 0;
    let stoppedEarly = false;
    const order = Int32Array.from({ length: input.train.rows }, (_, i) => i);
    try {
      for (let epoch = 1; epoch <= trial.params.epochs; epoch++) {
        const started = performance.now();
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rng() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        const xs = rowsTensor(input.train, order);
        const ys = labelsTensor(input.trainLabels, order, k);
        let loss: number;
        try {
          const fit = await model.fit(xs, ys, {
            epochs: 1,
            batchSize: trial.params.batchSize,
            shuffle: false,
            verbose: 0,
            ...(classWeight ? { classWeight } : {}),
          });
          loss = Number(fit.history.loss?.[0] ?? Number.NaN);
        } finally {
          xs.dispose();
          ys.dispose();
        }
        const probabilities = predictProbabilities(model, input.validation, k);
        const metrics = evaluate(input.validationLabels, probabilities, input.classes).metrics;
        const valLoss = tf.tidy(
          () => (model.evaluate(validationX, validationY, { batchSize: 4096 }) as tf.Scalar).dataSync()[0]!,
        );
        const valMetric = metrics[options.selectionMetric] ?? Number.NaN;
        const record = { epoch, loss, valLoss, valMetric, seconds: (performance.now() - started) / 1000 };
        history.push(record);
        options.onEpoch?.(record, trial.params.epochs);
        const improved = better
          ? valMetric > best + options.earlyStopping.minDelta
          : valMetric < best - options.earlyStopping.minDelta;
        if (improved) {
          best = valMetric;
          bestEpoch = epoch;
          sinceBest = 0;
          for (const w of bestWeights ?? []) w.dispose();
          bestWeights = model.getWeights().map((w) => w.clone());
        } else if (++sinceBest >= options.earlyStopping.patience) {
          stoppedEarly = epoch < trial.params.epochs;
          break;
        }
      }
      if (bestWeights) model.setWeights(bestWeights);
    } finally {
      for (const w of bestWeights ?? []) w.dispose();
      validationX.dispose();
      validationY.dispose();
    }
    return { model, history, bestEpoch, stoppedEarly };
  });
}
