import * as tf from "@tensorflow/tfjs-core";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { FeatureMatrix } from "../features/preprocessor.js";

/** Class probabilities (rows × classes, row-major) from a trained network. */
export function predictProbabilities(
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
