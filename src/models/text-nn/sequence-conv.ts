// A 1-D convolution over token vectors as a sum of shifted matrix products: TensorFlow.js's WebAssembly backend
// has no kernel for the filter gradient of its conv1d (Conv2DBackpropFilter), so tfl.layers.conv1d cannot be
// trained there; slices, matMuls and adds train with the backend's fast kernels.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { fastMatMul } from "./fast-matmul.js";

type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

/**
 * [batch, length, dim] → [batch, max(length, kernelSize), filters] with ReLU. Output t is the window starting at
 * token t; the mask passed on marks the windows that start at a real token and end inside the sequence ("valid"
 * windows; a text shorter than the kernel gets one, zero-padded: the padding vectors of a TokenEmbedding are 0).
 */
export class SequenceConv extends tfl.layers.Layer {
  static className = "WorkbenchSequenceConv";
  readonly filters: number;
  readonly kernelSize: number;
  readonly l2: number;
  readonly seed: number | undefined;
  private kernel: tfl.LayerVariable | undefined;
  private bias: tfl.LayerVariable | undefined;

  constructor(args: LayerArgs & { filters: number; kernelSize: number; l2?: number; seed?: number }) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.l2 = args.l2 ?? 0;
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  private shapeOf(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const dim = this.shapeOf(inputShape)[2];
    if (typeof dim !== "number") throw new Error("SequenceConv: the vector size must be known");
    this.kernel = this.addWeight(
      "kernel",
      [this.kernelSize * dim, this.filters],
      "float32",
      tfl.initializers.glorotUniform(this.seed === undefined ? {} : { seed: this.seed }),
      this.l2 > 0 ? tfl.regularizers.l2({ l2: this.l2 }) : undefined,
      true,
    );
    this.bias = this.addWeight("bias", [this.filters], "float32", tfl.initializers.zeros(), undefined, true);
    this.built = true;
  }

  /** Output positions: one per input position (at least kernelSize); the last kernelSize − 1 are never valid. */
  private positions(length: number): number {
    return Math.max(length, this.kernelSize);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const [batch, length] = this.shapeOf(inputShape);
    return [batch ?? null, typeof length === "number" ? this.positions(length) : null, this.filters];
  }

  /** Window t is real when it starts at a real token and lies inside the (padded) sequence. */
  override computeMask(inputs: tf.Tensor | tf.Tensor[], mask?: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const m = Array.isArray(mask) ? mask[0] : mask;
    const [batch, length] = x.shape as [number, number];
    const positions = this.positions(length);
    return tf.tidy(() => {
      const inside = tf.tensor2d(
        Float32Array.from({ length: positions }, (_, t) => (t <= positions - this.kernelSize ? 1 : 0)),
        [1, positions],
      );
      const real =
        m === undefined || m === null
          ? tf.ones([batch, positions])
          : tf.pad(tf.cast(m, "float32"), [
              [0, 0],
              [0, positions - length],
            ]);
      return tf.cast(tf.mul(real, inside), "bool");
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const [batch, length, dim] = x.shape;
      const positions = this.positions(length);
      // Rows of every text one after the other, kernelSize − 1 zero rows after them: shift i of the windows is the
      // contiguous block of rows starting at row i (windows near a text's end run into the next text; the mask
      // drops them). Σ_i shift_i × kernel_i is the convolution; no concatenation along the vectors (its gradient,
      // a strided split, is slow on the WebAssembly backend).
      const flat =
        positions === length
          ? tf.reshape(x, [batch * length, dim])
          : tf.reshape(
              tf.pad(x, [
                [0, 0],
                [0, positions - length],
                [0, 0],
              ]),
              [batch * positions, dim],
            );
      const padded = tf.pad(flat, [
        [0, this.kernelSize - 1],
        [0, 0],
      ]);
      const kernel = this.kernel!.read() as tf.Tensor2D;
      let y: tf.Tensor | undefined;
      for (let i = 0; i < this.kernelSize; i++) {
        const term = fastMatMul(
          tf.slice(padded, [i, 0], [batch * positions, dim]) as tf.Tensor2D,
          tf.slice(kernel, [i * dim, 0], [dim, this.filters]) as tf.Tensor2D,
        );
        y = y === undefined ? term : tf.add(y, term);
      }
      return tf.reshape(tf.relu(tf.add(y!, this.bias!.read())), [batch, positions, this.filters]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      l2: this.l2,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
