import type { DatasetManifest } from "../data/manifest.js";
import { ConfigError } from "../shared/errors.js";
import type { TrainConfig } from "./train-config.js";

/** Metrics computed for binary targets only (on the positive class); a multiclass run would log NaN. */
export const BINARY_ONLY_METRICS: readonly string[] = ["f1", "precision", "recall"];

/** What to use instead of a binary-only metric on a multiclass target. */
const MULTICLASS_ALTERNATIVE: Record<string, string> = {
  f1: "f1_macro",
  precision: "precision_macro (gate: f1_macro, balanced_accuracy)",
  recall: "balanced_accuracy (the macro recall)",
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value at `path` in the config as written (before defaults), or undefined. */
function written(raw: unknown, path: readonly string[]): unknown {
  let at: unknown = raw;
  for (const key of path) {
    if (!isRecord(at) || !Object.hasOwn(at, key)) return undefined;
    at = at[key];
  }
  return at;
}

/**
 * Binary-only settings against the dataset's class count, when the config is loaded: a positive class, a
 * decision threshold, DeLong's test and the binary metrics (f1, precision, recall) mean nothing for three
 * classes or more, and would be ignored silently or fail hours later (`val_f1_by_epoch` is NaN). Throws a
 * CONFIG_BINARY_ONLY ConfigError listing each offending field by its path in its file.
 * `raw` is the config as written (with --set overrides): settings left to their defaults are not reported.
 */
export function checkClassCount(
  config: TrainConfig,
  raw: unknown,
  manifest: DatasetManifest,
  sources: { config: string; manifest: string },
): void {
  const classes = manifest.target.classes;
  if (classes.length === 2) return;
  const task = `${classes.length} classes (${classes.slice(0, 8).join(", ")}${classes.length > 8 ? ", …" : ""})`;
  const problems: string[] = [];
  const metricProblem = (where: string, metric: string) =>
    `  - ${where}: '${metric}' is a binary metric (of the positive class); with ${classes.length} classes use ${MULTICLASS_ALTERNATIVE[metric]}`;
  if (manifest.target.positive !== undefined)
    problems.push(
      `  - ${sources.manifest}: target.positive: '${manifest.target.positive}' names the positive class of a binary target; remove it`,
    );
  const prefix = `${sources.config}: `;
  if (BINARY_ONLY_METRICS.includes(config.training.selectionMetric))
    problems.push(metricProblem(`${prefix}training.selectionMetric`, config.training.selectionMetric));
  if (written(raw, ["training", "threshold"]) !== undefined)
    problems.push(
      `  - ${prefix}training.threshold: a decision threshold (strategy ${config.training.threshold.strategy}) applies to binary targets; a multiclass model predicts its most probable class: remove it`,
    );
  const promotion = config.promotion;
  if (promotion.metric !== undefined && BINARY_ONLY_METRICS.includes(promotion.metric))
    problems.push(metricProblem(`${prefix}promotion.metric`, promotion.metric));
  promotion.guards.forEach((guard, i) => {
    if (BINARY_ONLY_METRICS.includes(guard.metric))
      problems.push(metricProblem(`${prefix}promotion.guards.${i}.metric`, guard.metric));
  });
  for (const bound of ["minimums", "maximums"] as const)
    for (const metric of Object.keys(promotion[bound]))
      if (BINARY_ONLY_METRICS.includes(metric))
        problems.push(metricProblem(`${prefix}promotion.${bound}.${metric}`, metric));
  if (written(raw, ["promotion", "delong", "enabled"]) === true)
    problems.push(
      `  - ${prefix}promotion.delong.enabled: DeLong's test compares two binary ROC AUCs; remove it`,
    );
  if (problems.length === 0) return;
  throw new ConfigError(
    `Binary-only settings for dataset '${manifest.name}', which has ${task}:\n${problems.join("\n")}`,
    {
      code: "CONFIG_BINARY_ONLY",
      details: { config: sources.config, manifest: sources.manifest, classes },
    },
  );
}
