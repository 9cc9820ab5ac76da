// A (bidirectional) GRU or LSTM over token vectors that skips the padding, written for TensorFlow.js's eager
// execution: tfl.layers.gru inside tfl.layers.bidirectional runs ~60 small kernels per time step (each with tens of
// microseconds of engine overhead) and took 160 s of CPU per epoch on the complaints sample. Here the input
// projections of all steps are one matrix product, both directions advance together in one batched product per step
// (~14 kernels per step for both), and steps after the batch's longest text are not run at all (exact: padding
// leaves a masked state unchanged).
//
// GRU: z, r = σ(x·Wzr + b + h·Uzr); n = tanh(x·Wn + b + r ⊙ (h·Un)); h' = n + z ⊙ (h − n) ("reset after", as cuDNN).
// LSTM: i, f, g, o from x·W + b + h·U; c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c'). A masked step keeps h (and c).
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { fastMatMul } from "./fast-matmul.js";

type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

export type RecurrentCell = "gru" | "lstm";

export interface SequenceRecurrentArgs {
  cell: RecurrentCell;
  units: number;
  bidirectional: boolean;
  /** true: the states of every step [batch, length, directions × units] (mask passed on); false: the last ones. */
  returnSequences: boolean;
  l2?: number;
  seed?: number;
}

function gatesOf(cell: RecurrentCell): number {
  return cell === "gru" ? 3 : 4;
}

/** Uniform Glorot initialiser for a [directions, fanIn, fanOut] weight (fans of one direction's matrix). */
function glorot(fanIn: number, fanOut: number, seed: number | undefined) {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return tfl.initializers.randomUniform({
    minval: -limit,
    maxval: limit,
    ...(seed === undefined ? {} : { seed }),
  });
}

/**
 * The per-step tensors of a time-major [steps, …] tensor. The WebAssembly backend's unstack copies the whole input
 * once per step (its slice reads the full tensor): split in ~√steps chunks first, then unstack each chunk.
 */
function unstackSteps(x: tf.Tensor): tf.Tensor[] {
  const steps = x.shape[0]!;
  const chunk = Math.ceil(Math.sqrt(steps));
  if (steps <= chunk + 1) return tf.unstack(x);
  const sizes = Array.from({ length: Math.ceil(steps / chunk) }, (_, i) =>
    Math.min(chunk, steps - i * chunk),
  );
  return tf.split(x, sizes, 0).flatMap((part) => tf.unstack(part));
}

/**
 * The mask of loop step t as [batch, dirs × units] (the forward units see position t, the backward ones position
 * steps − 1 − t), or undefined when every row is real there for both directions (the step needs no masking).
 */
function stepMask(
  real: Float32Array,
  batch: number,
  length: number,
  steps: number,
  t: number,
  units: number,
  dirs: number,
): tf.Tensor | undefined {
  const positions = dirs === 2 ? [t, steps - 1 - t] : [t];
  let all = true;
  for (let r = 0; r < batch && all; r++)
    for (const p of positions) if (real[r * length + p] === 0) all = false;
  if (all) return undefined;
  const values = new Float32Array(batch * dirs * units);
  for (let r = 0; r < batch; r++)
    positions.forEach((p, d) => {
      values.fill(real[r * length + p]!, (r * dirs + d) * units, (r * dirs + d + 1) * units);
    });
  return tf.tensor2d(values, [batch, dirs * units]);
}

export class SequenceRecurrent extends tfl.layers.Layer {
  static className = "WorkbenchSequenceRecurrent";
  readonly cell: RecurrentCell;
  readonly units: number;
  readonly bidirectional: boolean;
  readonly returnSequences: boolean;
  readonly l2: number;
  readonly seed: number | undefined;
  private kernel: tfl.LayerVariable | undefined;
  private recurrentKernel: tfl.LayerVariable | undefined;
  private bias: tfl.LayerVariable | undefined;

  constructor(args: LayerArgs & SequenceRecurrentArgs) {
    super(args);
    this.cell = args.cell;
    this.units = args.units;
    this.bidirectional = args.bidirectional;
    this.returnSequences = args.returnSequences;
    this.l2 = args.l2 ?? 0;
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  private get directions(): number {
    return this.bidirectional ? 2 : 1;
  }

  private shapeOf(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const dim = this.shapeOf(inputShape)[2];
    if (typeof dim !== "number") throw new Error("SequenceRecurrent: the vector size must be known");
    const gates = gatesOf(this.cell);
    const state = this.directions * this.units;
    const seed = (offset: number) => (this.seed === undefined ? undefined : this.seed + offset);
    // Columns gate-major, each gate's block holding the forward then the backward units ([z_f z_b r_f r_b …]):
    // one product projects every step for both directions, and each gate is one contiguous slice of [h_f h_b].
    this.kernel = this.addWeight(
      "kernel",
      [dim, gates * state],
      "float32",
      glorot(dim, gates * this.units, seed(0)),
      this.l2 > 0 ? tfl.regularizers.l2({ l2: this.l2 }) : undefined,
      true,
    );
    // [h_f h_b] × recurrent kernel; the blocks that would mix the directions are masked to 0 in call().
    this.recurrentKernel = this.addWeight(
      "recurrent_kernel",
      [state, gates * state],
      "float32",
      glorot(this.units, gates * this.units, seed(1)),
      undefined,
      true,
    );
    this.bias = this.addWeight("bias", [gates * state], "float32", tfl.initializers.zeros(), undefined, true);
    if (this.cell === "lstm") {
      // LSTM forget-gate bias starts at 1 (Jozefowicz et al. 2015), as Keras's unitForgetBias. Gates: i f g o.
      const initial = tf.tensor1d(
        Float32Array.from({ length: gates * state }, (_, i) => (i >= state && i < 2 * state ? 1 : 0)),
      );
      this.bias.write(initial);
      initial.dispose();
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const [batch, length] = this.shapeOf(inputShape);
    const width = this.directions * this.units;
    return this.returnSequences ? [batch ?? null, length ?? null, width] : [batch ?? null, width];
  }

  override computeMask(_inputs: tf.Tensor | tf.Tensor[], mask?: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const m = Array.isArray(mask) ? mask[0] : mask;
    return (this.returnSequences && m !== undefined ? m : null) as unknown as tf.Tensor;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const full = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const [batch, length, dim] = full.shape;
      const maskIn = kwargs.mask as tf.Tensor | null | undefined;
      const real =
        maskIn === undefined || maskIn === null
          ? new Float32Array(batch * length).fill(1)
          : (tf.cast(maskIn, "float32").dataSync() as Float32Array);
      // Steps after the last real token of the batch change no state: run only up to it.
      let steps = 1;
      for (let r = 0; r < batch; r++)
        for (let t = length - 1; t >= steps; t--)
          if (real[r * length + t] !== 0) {
            steps = t + 1;
            break;
          }
      const x = steps === length ? full : tf.slice(full, [0, 0, 0], [-1, steps, -1]);
      const u = this.units;
      const dirs = this.directions;
      const state = dirs * u;
      const gates = gatesOf(this.cell);
      // Time-major projections of every step, both directions: [steps, batch, gates × state].
      const projected = tf.transpose(
        tf.reshape(
          tf.add(
            fastMatMul(tf.reshape(x, [batch * steps, dim]), this.kernel!.read() as tf.Tensor2D),
            this.bias!.read(),
          ),
          [batch, steps, gates * state],
        ),
        [1, 0, 2],
      );
      const perStep = unstackSteps(projected);
      // Column masks of the forward and backward units ([1, width]), and the recurrent kernel without the blocks
      // that would feed one direction's state into the other's gates.
      const direction = (column: number) => (column % state < u ? 0 : 1);
      const columns = (width: number, d: number) =>
        tf.tensor2d(
          Float32Array.from({ length: width }, (_, c) => (direction(c) === d ? 1 : 0)),
          [1, width],
        );
      let U = this.recurrentKernel!.read();
      let inputAt = (t: number) => perStep[t]!;
      let stateAt = (t: number, states: tf.Tensor[]) => states[t]!;
      if (dirs === 2) {
        const blocks = Float32Array.from({ length: state * gates * state }, (_, i) =>
          direction(Math.floor(i / (gates * state))) === direction(i % (gates * state)) ? 1 : 0,
        );
        U = tf.mul(U, tf.tensor2d(blocks, [state, gates * state]));
        const [inF, inB] = [columns(gates * state, 0), columns(gates * state, 1)];
        // The backward direction reads the text from its end: at step t, the input of position steps − 1 − t.
        inputAt = (t) => tf.add(tf.mul(perStep[t]!, inF), tf.mul(perStep[steps - 1 - t]!, inB));
        const [outF, outB] = [columns(state, 0), columns(state, 1)];
        stateAt = (t, states) => tf.add(tf.mul(states[t]!, outF), tf.mul(states[steps - 1 - t]!, outB));
      }
      let h: tf.Tensor = tf.zeros([batch, state]);
      let c: tf.Tensor = tf.zeros([batch, state]);
      const states: tf.Tensor[] = [];
      for (let t = 0; t < steps; t++) {
        // Which rows are real at this step, per direction ([batch, state]); undefined when all of them are.
        const m = stepMask(real, batch, length, steps, t, u, dirs);
        const xt = inputAt(t);
        const hu = fastMatMul(h as tf.Tensor2D, U as tf.Tensor2D);
        const keep = (next: tf.Tensor, previous: tf.Tensor) =>
          m === undefined ? next : tf.add(previous, tf.mul(m, tf.sub(next, previous)));
        if (this.cell === "gru") {
          const [xzr, xn] = tf.split(xt, [2 * state, state], 1);
          const [hzr, hn] = tf.split(hu, [2 * state, state], 1);
          const [z, r] = tf.split(tf.sigmoid(tf.add(xzr!, hzr!)), 2, 1);
          const n = tf.tanh(tf.add(xn!, tf.mul(r!, hn!)));
          h = keep(tf.add(n, tf.mul(z!, tf.sub(h, n))), h);
        } else {
          const [ifo, g] = tf.split(tf.add(xt, hu), [3 * state, state], 1);
          const [i, f, o] = tf.split(tf.sigmoid(ifo!), 3, 1);
          const nextC = tf.add(tf.mul(f!, c), tf.mul(i!, tf.tanh(g!)));
          const nextH = tf.mul(o!, tf.tanh(nextC));
          c = keep(nextC, c);
          h = keep(nextH, h);
        }
        if (this.returnSequences) states.push(h);
      }
      if (!this.returnSequences) return h;
      // [batch, steps, state] in text order (the backward states of position t were computed at step steps − 1 − t).
      const sequences = tf.stack(
        states.map((_, t) => stateAt(t, states)),
        1,
      );
      return steps === length
        ? sequences
        : tf.pad(sequences, [
            [0, 0],
            [0, length - steps],
            [0, 0],
          ]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      cell: this.cell,
      units: this.units,
      bidirectional: this.bidirectional,
      returnSequences: this.returnSequences,
      l2: this.l2,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
