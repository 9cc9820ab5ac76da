// A matrix product whose gradient multiplies explicitly transposed matrices. TensorFlow.js's gradient of matMul
// asks for transposed products (transposeA / transposeB), which the WebAssembly backend computes on a slow path:
// ~6× slower than transposing first (measured: [32, 96] × [96, 288]: 1.5–1.7 ms against 0.13–0.6 ms). The
// recurrent layer runs three such products per step and per batch, so this is most of its training time.
import * as tf from "@tensorflow/tfjs-core";

/** a [m, k] × b [k, n], with a gradient of plain (untransposed-flag) products. */
export const fastMatMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const a = args[0] as tf.Tensor2D;
  const b = args[1] as tf.Tensor2D;
  const save = args[2] as tf.GradSaveFunc;
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;
