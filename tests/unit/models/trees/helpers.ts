// Shared fixtures for the tree-engine tests: small synthetic matrices, fit options, and a kind's model.
import type { FeatureMatrix } from "../../../../src/features/preprocessor.js";
import type { FitData, FitOptions, Model, ModelKind } from "../../../../src/models/model.js";
import { TreeModel } from "../../../../src/models/trees/tree-model.js";
import { createRng } from "../../../../src/shared/random.js";

export function matrix(rows: number[][], names?: string[]): FeatureMatrix {
  const cols = rows[0]?.length ?? 0;
  const values = new Float32Array(rows.length * cols);
  rows.forEach((row, r) => {
    values.set(row, r * cols);
  });
  return {
    rows: rows.length,
    cols,
    values,
    featureNames: names ?? Array.from({ length: cols }, (_, j) => `f${j}`),
  };
}

/** Gaussian-ish noise from the seeded generator (sum of uniforms). */
function noise(rng: () => number): number {
  return rng() + rng() + rng() - 1.5;
}

/**
 * A synthetic classification task: `signal` informative features (a threshold effect, a monotone effect, an
 * interaction) and `noiseCols` irrelevant ones. Class from a noisy score (binary: above the 60th percentile of
 * the score's range; 3 classes: three bands).
 */
export function synthetic(
  n: number,
  seed: number,
  classes = 2,
  noiseCols = 2,
): { x: FeatureMatrix; y: Int32Array } {
  const rng = createRng(seed);
  const signal = 4;
  const cols = signal + noiseCols;
  const rows: number[][] = [];
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: cols }, () => rng() * 2 - 1);
    const score = 1.5 * row[0]! + (row[1]! > 0.2 ? 1 : -0.5) + row[2]! * row[3]! * 2 + 0.6 * noise(rng) * 1.5;
    rows.push(row);
    y[i] = classes === 2 ? (score > 0.3 ? 1 : 0) : score < -0.6 ? 0 : score < 0.8 ? 1 : 2;
  }
  return { x: matrix(rows), y };
}

export function fitData(
  train: { x: FeatureMatrix; y: Int32Array },
  validation: { x: FeatureMatrix; y: Int32Array },
  classes: number,
): FitData {
  return {
    train: train.x,
    trainLabels: train.y,
    validation: validation.x,
    validationLabels: validation.y,
    classes: Array.from({ length: classes }, (_, k) => `c${k}`),
  };
}

export function options(overrides: Partial<FitOptions> = {}): FitOptions {
  return {
    seed: 7,
    selectionMetric: "roc_auc",
    classWeight: "none",
    earlyStopping: { patience: 1000, minDelta: 0 },
    ...overrides,
  };
}

/**
 * Options under which every iteration counts as an improvement (minDelta −∞), so the model keeps all of its
 * iterations: what a comparison with a library run without early stopping needs.
 */
export function keepAll(overrides: Partial<FitOptions> = {}): FitOptions {
  return options({ earlyStopping: { patience: 1000, minDelta: Number.NEGATIVE_INFINITY }, ...overrides });
}

export async function trained(
  kind: ModelKind,
  params: Record<string, unknown>,
  data: FitData,
  fitOptions: FitOptions = options(),
): Promise<TreeModel> {
  const model: Model = await kind.create(kind.params.parse(params), {
    featureNames: data.train.featureNames,
    classes: data.classes,
  });
  if (!(model instanceof TreeModel)) throw new Error(`${kind.kind} did not build a TreeModel`);
  await model.fit(data, fitOptions);
  return model;
}

/** Rows × features with row `r` taken from `order[r]` (labels alike). */
export function reorder(
  data: { x: FeatureMatrix; y: Int32Array },
  order: ArrayLike<number>,
): { x: FeatureMatrix; y: Int32Array } {
  const { cols } = data.x;
  const values = new Float32Array(data.x.values.length);
  const y = new Int32Array(data.y.length);
  for (let r = 0; r < order.length; r++) {
    values.set(data.x.values.subarray(order[r]! * cols, (order[r]! + 1) * cols), r * cols);
    y[r] = data.y[order[r]!]!;
  }
  return { x: { ...data.x, values }, y };
}

/** Adds `extra` columns of seeded uniform noise. */
export function withNoiseColumns(
  data: { x: FeatureMatrix; y: Int32Array },
  extra: number,
  seed: number,
): { x: FeatureMatrix; y: Int32Array } {
  const rng = createRng(seed);
  const { rows, cols } = data.x;
  const out = new Float32Array(rows * (cols + extra));
  for (let r = 0; r < rows; r++) {
    out.set(data.x.values.subarray(r * cols, (r + 1) * cols), r * (cols + extra));
    for (let j = 0; j < extra; j++) out[r * (cols + extra) + cols + j] = rng();
  }
  return {
    x: {
      rows,
      cols: cols + extra,
      values: out,
      featureNames: [...data.x.featureNames, ...Array.from({ length: extra }, (_, j) => `noise${j}`)],
    },
    y: data.y,
  };
}
