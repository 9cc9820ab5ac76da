import type { FeatureMatrix } from "../../src/features/preprocessor.js";
import type { FitData } from "../../src/models/model.js";
import { createRng } from "../../src/shared/random.js";

/** n rows of 6 uniform features in [-1, 1]; the label is a noisy linear function of them (k classes). */
export function synthetic(n: number, seed: number, classes = 2): { x: FeatureMatrix; y: Int32Array } {
  const rng = createRng(seed);
  const cols = 6;
  const values = new Float32Array(n * cols);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const v = rng() * 2 - 1;
      values[i * cols + j] = v;
      s += (j < 3 ? 1 : -0.3) * v;
    }
    const noisy = s + (rng() - 0.5) * 0.6;
    y[i] =
      classes === 2
        ? noisy > 0
          ? 1
          : 0
        : Math.min(classes - 1, Math.max(0, Math.floor((noisy + 2) / (4 / classes))));
  }
  return { x: { rows: n, cols, values, featureNames: Array.from({ length: cols }, (_, j) => `f${j}`) }, y };
}

/** Train and validation sets from `synthetic`, as a kind's fit() takes them. */
export function syntheticFitData(classes = 2, rows = 1500): FitData {
  const train = synthetic(rows, 1, classes);
  const validation = synthetic(Math.round(rows / 3), 2, classes);
  return {
    train: train.x,
    trainLabels: train.y,
    validation: validation.x,
    validationLabels: validation.y,
    classes: Array.from({ length: classes }, (_, c) =>
      classes === 2 ? String(c) : String.fromCharCode(97 + c),
    ),
  };
}

/** Accuracy of always predicting the most frequent class. */
export function majorityAccuracy(labels: Int32Array): number {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return Math.max(...counts.values()) / labels.length;
}
