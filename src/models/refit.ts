// `training.refit`: once the candidates have been compared on validation, the winner is trained again on train +
// validation — the rows a library fitting on "all but the test data" would use — for exactly the iterations its
// early stopping kept (gbdt rounds, forest trees, network epochs; ModelKind.withIterations), with the same
// hyperparameters otherwise and the same seed (its trial id's). Nothing is early-stopped any more (validation is
// now training data), so every iteration is kept. The preprocessor stays the one fitted on train.
import type { FeatureMatrix } from "../features/preprocessor.js";
import type { Trial } from "./candidates.js";
import { type FittedTrial, fitTrial, type TrialFitOptions } from "./fit-trial.js";
import { modelKind } from "./kinds/index.js";
import type { FitData } from "./model.js";

/** The rows of `a`, then those of `b` (same columns): dense values and text columns. */
export function concatRows(a: FeatureMatrix, b: FeatureMatrix): FeatureMatrix {
  if (a.cols !== b.cols || a.featureNames.join("\u0000") !== b.featureNames.join("\u0000"))
    throw new Error(`cannot stack matrices with different columns (${a.cols} vs ${b.cols})`);
  const values = new Float32Array(a.values.length + b.values.length);
  values.set(a.values);
  values.set(b.values, a.values.length);
  const matrix: FeatureMatrix = { rows: a.rows + b.rows, cols: a.cols, values, featureNames: a.featureNames };
  if (a.texts !== undefined || b.texts !== undefined) {
    const names = Object.keys(a.texts ?? b.texts ?? {});
    matrix.texts = Object.fromEntries(
      names.map((name) => [name, [...(a.texts?.[name] ?? []), ...(b.texts?.[name] ?? [])]]),
    );
  }
  return matrix;
}

/** The trial trained for `iterations` iterations on train + validation (validation still scored, in-sample). */
export interface RefitTrial {
  trial: Trial;
  iterations: number;
  fitted: FittedTrial;
}

export async function refitTrial(
  trial: Trial,
  iterations: number,
  data: FitData,
  options: TrialFitOptions,
): Promise<RefitTrial> {
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new Error(`refit of ${trial.id}: ${iterations} is not a number of iterations`);
  const kind = modelKind(trial.kind);
  const refit: Trial = { ...trial, params: kind.withIterations(trial.params, iterations) };
  const labels = new Int32Array(data.trainLabels.length + data.validationLabels.length);
  labels.set(data.trainLabels);
  labels.set(data.validationLabels, data.trainLabels.length);
  const fitted = await fitTrial(
    refit,
    {
      train: concatRows(data.train, data.validation),
      trainLabels: labels,
      validation: data.validation,
      validationLabels: data.validationLabels,
      classes: data.classes,
    },
    // Every iteration counts as an improvement: no early stop, the last iteration is kept.
    { ...options, earlyStopping: { patience: Number.MAX_SAFE_INTEGER, minDelta: Number.NEGATIVE_INFINITY } },
  );
  return { trial: refit, iterations, fitted };
}
