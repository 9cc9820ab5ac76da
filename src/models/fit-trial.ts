// Training one trial: the same code in the main thread (workers = 1) and in a worker thread (trial-worker.ts).
import { higherIsBetter } from "../evaluation/metrics.js";
import { ConfigError } from "../shared/errors.js";
import { deriveSeed } from "../shared/random.js";
import type { Trial } from "./candidates.js";
import { modelKind } from "./kinds/index.js";
import { type FitData, type FitResult, factsOf, type IterationRecord, type Model, shapeOf } from "./model.js";

/** The run-wide options every trial is fitted with (the config's seed, not the trial's). */
export interface TrialFitOptions {
  seed: number;
  selectionMetric: string;
  classWeight: "balanced" | "none";
  earlyStopping: { patience: number; minDelta: number };
}

export interface TrialHooks {
  /** After every iteration, with the planned number of iterations. */
  onIteration?: (record: IterationRecord, planned: number) => void;
  /** Asked after every iteration: true stops the trial (pruned); the best iteration is kept. */
  shouldStop?: (record: IterationRecord) => boolean;
}

export interface FittedTrial {
  model: Model;
  result: FitResult;
  /** Wall time of building and fitting the model. */
  seconds: number;
}

/** The seed a trial trains with: derived from the config's seed and the trial id (stable across runs). */
export function trialSeed(seed: number, trial: Trial): number {
  return deriveSeed(seed, trial.id);
}

/**
 * The kind's own checks of the trial's hyperparameters against the data (e.g. k ≤ training rows), as a
 * ConfigError CONFIG_INVALID naming `training.candidates.<candidate>.params.<param>`.
 */
export function checkTrialData(trial: Trial, data: FitData): void {
  const kind = modelKind(trial.kind);
  const facts = factsOf(data);
  const problems: [string, string][] = [];
  if (kind.input === "text" && (facts.textColumns ?? 0) === 0)
    problems.push(["(kind)", `${trial.kind} reads text, and the data has no text column`]);
  if ((kind.input ?? "tabular") === "tabular" && (facts.textColumns ?? 0) > 0)
    problems.push([
      "(kind)",
      `${trial.kind} reads numeric and categorical features only; the data's text columns (${Object.keys(data.train.texts ?? {}).join(", ")}) need a text kind`,
    ]);
  problems.push(...(kind.checkData?.(trial.params, facts) ?? []));
  if (problems.length === 0) return;
  const field = (param: string) =>
    param === "(kind)"
      ? `training.candidates.${trial.candidate}.kind`
      : `training.candidates.${trial.candidate}.params.${param}`;
  const lines = problems.map(([param, message]) => `${field(param)}: ${message}`);
  throw new ConfigError(
    `${trial.id} (${trial.kind}) cannot train on this data:\n${lines.map((l) => `  - ${l}`).join("\n")}`,
    {
      code: "CONFIG_INVALID",
      details: {
        trial: trial.id,
        fields: problems.map(([param]) => field(param)),
      },
    },
  );
}

/** Builds the trial's model and fits it with the trial's seed. The model is the caller's to dispose. */
export async function fitTrial(
  trial: Trial,
  data: FitData,
  options: TrialFitOptions,
  hooks: TrialHooks = {},
): Promise<FittedTrial> {
  checkTrialData(trial, data);
  const kind = modelKind(trial.kind);
  const started = performance.now();
  const model = await kind.create(trial.params, shapeOf(data));
  try {
    const result = await model.fit(data, {
      seed: trialSeed(options.seed, trial),
      selectionMetric: options.selectionMetric,
      classWeight: options.classWeight,
      earlyStopping: options.earlyStopping,
      ...(hooks.onIteration === undefined ? {} : { onIteration: hooks.onIteration }),
      ...(hooks.shouldStop === undefined ? {} : { shouldStop: hooks.shouldStop }),
    });
    return { model, result, seconds: (performance.now() - started) / 1000 };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/**
 * The pruning rule of a search trial, from a threshold curve computed before it starts: `curve[i - 1]` is the
 * value the trial's best validation metric up to iteration i must not be worse than (NaN: no check at i).
 * Deterministic: it depends only on the trial's own history and the curve.
 */
export function curveStopper(
  curve: readonly number[],
  selectionMetric: string,
): (record: IterationRecord) => boolean {
  const better = higherIsBetter(selectionMetric);
  let best = Number.NaN;
  return (record) => {
    const v = record.valMetric;
    if (!Number.isNaN(v) && (Number.isNaN(best) || (better ? v > best : v < best))) best = v;
    const threshold = curve[record.iteration - 1];
    if (threshold === undefined || Number.isNaN(threshold) || Number.isNaN(best)) return false;
    return better ? best < threshold : best > threshold;
  };
}
