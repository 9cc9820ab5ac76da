// Layers the text networks share: a token embedding whose lookup is a row copy (TensorFlow.js's WebAssembly
// backend gathers element by element, ~100 ms for one batch of 32 × 400 tokens, and has no kernel for the
// gather's gradient at all), a masked pooling layer (TensorFlow.js's global pooling layers ignore the padding
// mask), and the dense head.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { PAD_ID } from "../../features/text/tokenizer.js";
import { SequenceRecurrent } from "./recurrent.js";
import { SequenceConv } from "./sequence-conv.js";

type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;
type Initializer = ReturnType<typeof tfl.initializers.glorotUniform>;

/**
 * Rows of `table` for `ids` (one id per output row): the padding id gives a zero vector and no gradient, and so
 * does an id outside the table. Forward and backward are plain copies / scatter-adds in JavaScript, on any backend.
 */
const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const table = args[0] as tf.Tensor2D;
  const ids = args[1] as tf.Tensor1D;
  const save = args[2] as tf.GradSaveFunc;
  const [rows, dim] = table.shape;
  const idValues = ids.dataSync();
  const values = table.dataSync();
  const out = new Float32Array(idValues.length * dim);
  for (let i = 0; i < idValues.length; i++) {
    const id = idValues[i]!;
    if (id === PAD_ID || !(id > 0 && id < rows)) continue;
    const from = id * dim;
    const to = i * dim;
    for (let j = 0; j < dim; j++) out[to + j] = values[from + j]!;
  }
  save([ids]);
  return {
    value: tf.tensor2d(out, [idValues.length, dim]),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const savedIds = saved[0]!.dataSync();
      const upstream = dy.dataSync();
      const grad = new Float32Array(rows * dim);
      for (let i = 0; i < savedIds.length; i++) {
        const id = savedIds[i]!;
        if (id === PAD_ID || !(id > 0 && id < rows)) continue;
        const from = i * dim;
        const to = id * dim;
        for (let j = 0; j < dim; j++) grad[to + j]! += upstream[from + j]!;
      }
      return [tf.tensor2d(grad, [rows, dim]), tf.zerosLike(saved[0]!)];
    },
  };
});

/**
 * Token ids [batch, length] → vectors [batch, length, dim]. The padding id is a fixed zero vector (padding adds
 * nothing to a sum or a convolution), and the layer passes a padding mask (id ≠ 0) to the layers after it.
 */
export class TokenEmbedding extends tfl.layers.Layer {
  static className = "WorkbenchTokenEmbedding";
  readonly inputDim: number;
  readonly outputDim: number;
  readonly seed: number | undefined;
  private embeddings: tfl.LayerVariable | undefined;

  constructor(args: LayerArgs & { inputDim: number; outputDim: number; seed?: number }) {
    super(args);
    this.inputDim = args.inputDim;
    this.outputDim = args.outputDim;
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  override build(): void {
    this.embeddings = this.addWeight(
      "embeddings",
      [this.inputDim, this.outputDim],
      "float32",
      tfl.initializers.randomUniform({
        minval: -0.05,
        maxval: 0.05,
        ...(this.seed === undefined ? {} : { seed: this.seed }),
      }),
      undefined,
      true,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [...shape, this.outputDim];
  }

  override computeMask(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.notEqual(Array.isArray(inputs) ? inputs[0]! : inputs, PAD_ID));
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const ids = tf.reshape(x.dtype === "int32" ? x : tf.cast(x, "int32"), [x.size]);
      const table = this.embeddings!.read() as tf.Tensor2D;
      return tf.reshape(lookup(table, ids), [...x.shape, this.outputDim]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      inputDim: this.inputDim,
      outputDim: this.outputDim,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

/**
 * Max over the time axis of x [batch, time, features] at the positions where mask [batch, time] is 1 (0 for a row
 * without any), in JavaScript with the arg-max kept for the gradient: the gradient of tf.max compares the input
 * with the broadcast maximum, which the WebAssembly backend does slowly (~200 ms for a batch of 32 × 300 × 64).
 */
const maskedMax = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor3D;
  const mask = args[1] as tf.Tensor;
  const [batch, time, features] = x.shape;
  const values = x.dataSync();
  const real = mask.dataSync();
  const out = new Float32Array(batch * features);
  const at = new Int32Array(batch * features).fill(-1);
  for (let b = 0; b < batch; b++)
    for (let t = 0; t < time; t++) {
      if (real[b * time + t] === 0) continue;
      const row = (b * time + t) * features;
      for (let f = 0; f < features; f++) {
        const o = b * features + f;
        if (at[o] === -1 || values[row + f]! > out[o]!) {
          out[o] = values[row + f]!;
          at[o] = t;
        }
      }
    }
  return {
    value: tf.tensor2d(out, [batch, features]),
    gradFunc: (dy: tf.Tensor) => {
      const upstream = dy.dataSync();
      const grad = new Float32Array(batch * time * features);
      for (let b = 0; b < batch; b++)
        for (let f = 0; f < features; f++) {
          const t = at[b * features + f]!;
          if (t >= 0) grad[(b * time + t) * features + f] = upstream[b * features + f]!;
        }
      return [tf.tensor3d(grad, [batch, time, features]), tf.zerosLike(mask)];
    },
  };
}) as (x: tf.Tensor3D, mask: tf.Tensor) => tf.Tensor2D;

/** How a sequence of vectors becomes one: the mean or the maximum over the real (unpadded) positions, or both. */
export type Pooling = "mean" | "max" | "mean-max";

/**
 * Mean and/or max over the time axis of [batch, time, features], counting only the positions the incoming mask marks
 * as real (a TokenEmbedding's tokens, a SequenceConv's windows, a recurrent layer's steps). A text with no token
 * pools to zeros.
 */
export class MaskedPooling extends tfl.layers.Layer {
  static className = "WorkbenchMaskedPooling";
  readonly mode: Pooling;
  /** The input is 0 at masked positions (a TokenEmbedding's output): the mean needs no multiplication by the mask. */
  readonly zeroPadded: boolean;

  constructor(args: LayerArgs & { mode: Pooling; zeroPadded?: boolean }) {
    super(args);
    this.mode = args.mode;
    this.zeroPadded = args.zeroPadded ?? false;
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const features = shape[2] ?? null;
    return [shape[0] ?? null, features === null ? null : features * (this.mode === "mean-max" ? 2 : 1)];
  }

  // The pooled vector has no time axis left to mask (the layers after it must not receive the padding mask).
  override computeMask(_inputs: tf.Tensor | tf.Tensor[], _mask?: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return null as unknown as tf.Tensor;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const mask = kwargs.mask as tf.Tensor | null | undefined;
      const [, steps] = x.shape;
      // [batch, 1]: the real positions of each row (all of them without a mask).
      const count =
        mask === undefined || mask === null
          ? tf.fill([x.shape[0], 1], steps)
          : tf.sum(tf.cast(mask, "float32"), 1, true);
      const parts: tf.Tensor[] = [];
      const m = mask === undefined || mask === null ? undefined : tf.expandDims(tf.cast(mask, "float32"), -1);
      if (this.mode !== "max") {
        const sum = tf.sum(m === undefined || this.zeroPadded ? x : tf.mul(x, m), 1);
        parts.push(tf.div(sum, tf.maximum(count, 1)));
      }
      if (this.mode !== "mean")
        parts.push(maskedMax(x, m === undefined ? tf.ones([x.shape[0], steps]) : tf.squeeze(m, [2])));
      return parts.length === 1 ? parts[0]! : tf.concat(parts, 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode, zeroPadded: this.zeroPadded };
  }
}

let registered = false;

/**
 * Makes the custom layers known to the model loader (idempotent; called before building or loading a text network).
 */
export function registerTextLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(TokenEmbedding);
  tf.serialization.registerClass(MaskedPooling);
  tf.serialization.registerClass(SequenceConv);
  tf.serialization.registerClass(SequenceRecurrent);
  registered = true;
}

/** Seeded initialisers, one new seed per layer (the first is `seed`). */
export function seededInit(seed: number): () => Initializer {
  let next = seed;
  return () => tfl.initializers.glorotUniform({ seed: next++ });
}

/** L2 on kernels, or nothing. */
export function kernelL2(l2: number): { kernelRegularizer?: ReturnType<typeof tfl.regularizers.l2> } {
  return l2 > 0 ? { kernelRegularizer: tfl.regularizers.l2({ l2 }) } : {};
}

/** The token embedding of `input` ids (see TokenEmbedding). */
export function embed(
  input: tfl.SymbolicTensor,
  vocabularySize: number,
  dim: number,
  seed: number,
): tfl.SymbolicTensor {
  return new TokenEmbedding({ inputDim: vocabularySize, outputDim: dim, seed }).apply(
    input,
  ) as tfl.SymbolicTensor;
}

/** Hidden dense layers with dropout, then the output layer (sigmoid for two classes, else softmax). */
export function denseHead(
  features: tfl.SymbolicTensor,
  hiddenUnits: readonly number[],
  dropout: number,
  l2: number,
  classes: number,
  init: () => Initializer,
): tfl.SymbolicTensor {
  // No seeded dropout layer on purpose (a seeded one reuses one mask for every batch): training runs under a
  // seeded Math.random instead (see withSeededRandom), as the mlp kind does.
  const drop = (x: tfl.SymbolicTensor) =>
    dropout > 0 ? (tfl.layers.dropout({ rate: dropout }).apply(x) as tfl.SymbolicTensor) : x;
  let x = drop(features);
  for (const units of hiddenUnits)
    x = drop(
      tfl.layers
        .dense({
          units,
          activation: "relu",
          kernelInitializer: init(),
          biasInitializer: "zeros",
          ...kernelL2(l2),
        })
        .apply(x) as tfl.SymbolicTensor,
    );
  return tfl.layers
    .dense({
      units: classes === 2 ? 1 : classes,
      activation: classes === 2 ? "sigmoid" : "softmax",
      kernelInitializer: init(),
      biasInitializer: "zeros",
    })
    .apply(x) as tfl.SymbolicTensor;
}
