// Shared by the two TensorFlow.js kinds (logistic, mlp): a layers model trained epoch by epoch with a seeded
// shuffle, class weights, early stopping that restores the best epoch's weights, saved as model.json +
// weights.bin (the format tfjs-node's file:// handler writes, and format-1 packages hold in tfjs/).
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import type { FeatureMatrix } from "../../features/preprocessor.js";
import { createRng, deriveSeed } from "../../shared/random.js";
import { initTf } from "../backend.js";
import { fileIO } from "../file-io.js";
import { IterationTracker } from "../iterations.js";
import type { CostFacts, FitData, FitOptions, FitResult, Model, ModelShape } from "../model.js";
import { withSeededRandom } from "../seeded-random.js";

/** What both network kinds share in their hyperparameters. */
export interface NetworkParams {
  learningRate: number;
  l2: number;
  epochs: number;
  batchSize: number;
}

/** Output units of a network's last layer: one sigmoid for two classes, else a softmax over the classes. */
export function outputUnits(classes: number): number {
  return classes === 2 ? 1 : classes;
}

/**
 * The cost estimate of a network (milliseconds of one core, see ModelKind.estimateCost), from its dense layers
 * and their multiply-adds per row (the layers' inputs × units). Per epoch: ⌈rows / batchSize⌉ batches at
 * ~0.5 ms of TensorFlow.js overhead per dense layer plus ~0.35 ns per row × multiply-add (forward, backward and
 * Adam on the WebAssembly backend with the kernels of wasm-kernels.ts), ~42 ms of per-epoch overhead (model.fit's
 * set-up, the shuffled copy, validation loss and metric), and two forward passes over the validation rows
 * (~0.12 ns per row × multiply-add). Epochs: those early stopping typically leaves, ~10 before validation levels
 * off and then the patience, at most `epochs` (credit-default, patience 6: 14–17 of 40). Fitted to
 * credit-default's trials (18,000 × 88; per epoch 58–64 ms logistic, 206 ms mlp [64, 32], 293 ms mlp [128, 64]):
 * 0.97, 3.3 and 4.7 s estimated, 0.81–1.03, 3.5 and 4.4 s measured.
 */
export function networkCost(
  params: NetworkParams,
  denseLayers: number,
  macsPerRow: number,
  facts: CostFacts,
): number {
  const epochs = Math.min(params.epochs, 10 + facts.patience);
  const batches = Math.ceil(facts.rows / params.batchSize);
  const perBatch = 0.5 * denseLayers + 3.5e-7 * params.batchSize * macsPerRow;
  const validation = 2 * 1.2e-7 * facts.validationRows * macsPerRow;
  return epochs * (batches * perBatch + 42 + validation);
}

/** Builds the (compiled) layers model; weights are initialised from `seed`. */
export type NetworkBuilder = (inputs: number, classes: number, seed: number) => tfl.LayersModel;

/** Compiles a layers model with the loss its class count implies. */
export function compileNetwork(model: tfl.LayersModel, classes: number, learningRate: number): void {
  model.compile({
    optimizer: tf.train.adam(learningRate),
    loss: classes === 2 ? "binaryCrossentropy" : "categoricalCrossentropy",
  });
}

/** Class probabilities (rows × classes, row-major) from a trained network. */
export function networkProbabilities(
  model: tfl.LayersModel,
  x: FeatureMatrix,
  classes: number,
): Float32Array {
  // The output tensor leaves tidy() and is read outside it: returning the array from inside would make tidy
  // walk every tensor it tracked (measurable on the serving hot path).
  const output = tf.tidy(
    () => model.predict(tf.tensor2d(x.values, [x.rows, x.cols]), { batchSize: 4096 }) as tf.Tensor,
  );
  let raw: Float32Array;
  try {
    raw = output.dataSync() as Float32Array;
  } finally {
    output.dispose();
  }
  if (classes !== 2) return Float32Array.from(raw);
  const out = new Float32Array(x.rows * 2);
  for (let i = 0; i < x.rows; i++) {
    out[i * 2] = 1 - raw[i]!;
    out[i * 2 + 1] = raw[i]!;
  }
  return out;
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

/** A TensorFlow.js network behind the Model seam. */
export class NetworkModel implements Model {
  private network: tfl.LayersModel | undefined;

  constructor(
    readonly kind: string,
    private readonly params: NetworkParams,
    private readonly shape: ModelShape,
    private readonly build: NetworkBuilder,
    loaded?: tfl.LayersModel,
  ) {
    this.network = loaded;
  }

  private get trained(): tfl.LayersModel {
    if (this.network === undefined)
      throw new Error(`${this.kind}: the model is not trained (or was disposed)`);
    return this.network;
  }

  /** Trains with a seeded shuffle per epoch; the best epoch's weights are restored at the end. */
  async fit(data: FitData, options: FitOptions): Promise<FitResult> {
    await initTf();
    const k = this.shape.classes.length;
    const seed = options.seed;
    return withSeededRandom(seed, async () => {
      const model = this.build(data.train.cols, k, seed);
      this.network = model;
      const rng = createRng(deriveSeed(seed, "shuffle"));
      const validationX = tf.tensor2d(data.validation.values, [data.validation.rows, data.validation.cols]);
      const validationY = labelsTensor(
        data.validationLabels,
        Int32Array.from({ length: data.validationLabels.length }, (_, i) => i),
        k,
      );
      const classWeight =
        options.classWeight === "balanced" ? balancedWeights(data.trainLabels, k) : undefined;
      const tracker = new IterationTracker(data, options, this.params.epochs);
      let bestWeights: tf.Tensor[] | undefined;
      const order = Int32Array.from({ length: data.train.rows }, (_, i) => i);
      try {
        for (let epoch = 1; epoch <= this.params.epochs; epoch++) {
          const started = performance.now();
          for (let i = order.length - 1; i > 0; i--) {
            const j = Math.floor(rng() * (i + 1));
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          const xs = rowsTensor(data.train, order);
          const ys = labelsTensor(data.trainLabels, order, k);
          let loss: number;
          try {
            const fit = await model.fit(xs, ys, {
              epochs: 1,
              batchSize: this.params.batchSize,
              shuffle: false,
              verbose: 0,
              ...(classWeight ? { classWeight } : {}),
            });
            loss = Number(fit.history.loss?.[0] ?? Number.NaN);
          } finally {
            xs.dispose();
            ys.dispose();
          }
          const validationProbabilities = networkProbabilities(model, data.validation, k);
          const valLoss = tf.tidy(
            () => (model.evaluate(validationX, validationY, { batchSize: 4096 }) as tf.Scalar).dataSync()[0]!,
          );
          const outcome = tracker.step(epoch, { loss, valLoss, validationProbabilities, started });
          if (outcome.improved) {
            for (const w of bestWeights ?? []) w.dispose();
            bestWeights = model.getWeights().map((w) => w.clone());
          }
          if (outcome.stop) break;
        }
        if (bestWeights) model.setWeights(bestWeights);
      } finally {
        for (const w of bestWeights ?? []) w.dispose();
        validationX.dispose();
        validationY.dispose();
      }
      return tracker.result();
    });
  }

  predict(x: FeatureMatrix): Float32Array {
    return networkProbabilities(this.trained, x, this.shape.classes.length);
  }

  async save(dir: string): Promise<void> {
    await this.trained.save(fileIO(dir));
  }

  dispose(): void {
    this.network?.dispose();
    this.network = undefined;
  }

  summary(): Record<string, number | string | boolean> {
    const model = this.trained;
    return { layers: model.layers.length, parameters: model.countParams(), backend: tf.getBackend() };
  }
}

/** Loads a network saved by NetworkModel.save (or a format-1 package's tfjs/ folder). */
export async function loadNetwork(dir: string): Promise<tfl.LayersModel> {
  await initTf();
  return tfl.loadLayersModel(fileIO(dir));
}
