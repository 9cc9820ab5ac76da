import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { FeatureMatrix } from "../features/preprocessor.js";

/** Class probabilities (rows × classes, row-major) from a trained network. */
export function predictProbabilities(
  model: tfl.LayersModel,
  x: FeatureMatrix,
  classes: number,
): Float32Array {
  return tf.tidy(() => {
    const input = tf.tensor2d(x.values, [x.rows, x.cols]);
    const output = model.predict(input, { batchSize: 4096 }) as tf.Tensor;
    const raw = output.dataSync() as Float32Array;
    if (classes !== 2) return Float32Array.from(raw);
    const out = new Float32Array(x.rows * 2);
    for (let i = 0; i < x.rows; i++) {
      out[i * 2] = 1 - raw[i]!;
      out[i * 2 + 1] = raw[i]!;
    }
    return out;
  });
}
