import { formatIssues } from "../config/issues.js";
import {
  type CandidateSpec,
  hyperparameterSchemas,
  type LogisticParams,
  type MlpParams,
} from "../config/train-config.js";
import { ConfigError } from "../shared/errors.js";
import { createRng, deriveSeed } from "../shared/random.js";

/** One model to train: a kind and its fully resolved hyperparameters. */
export type Trial =
  | { id: string; kind: "logistic"; params: LogisticParams }
  | { id: string; kind: "mlp"; params: MlpParams };

function product(grid: Record<string, unknown[]>): Record<string, unknown>[] {
  return Object.entries(grid).reduce<Record<string, unknown>[]>(
    (combos, [key, values]) => combos.flatMap((combo) => values.map((value) => ({ ...combo, [key]: value }))),
    [{}],
  );
}

function sample(
  space: NonNullable<CandidateSpec["random"]>["space"],
  rng: () => number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(space)) {
    if (Array.isArray(spec)) {
      out[key] = spec[Math.floor(rng() * spec.length)];
      continue;
    }
    const u = rng();
    let value = spec.log
      ? Math.exp(Math.log(spec.min) + u * (Math.log(spec.max) - Math.log(spec.min)))
      : spec.min + u * (spec.max - spec.min);
    if (spec.integer) value = Math.round(value);
    else value = Number(value.toPrecision(4));
    out[key] = value;
  }
  return out;
}

/** Expands every candidate's grid or random search into trials, validating each trial's hyperparameters. */
export function expandCandidates(candidates: readonly CandidateSpec[], seed: number): Trial[] {
  const trials: Trial[] = [];
  candidates.forEach((candidate, index) => {
    let variants: Record<string, unknown>[];
    if (candidate.grid !== undefined) variants = product(candidate.grid);
    else if (candidate.random !== undefined) {
      const rng = createRng(deriveSeed(seed, `candidate-${index}`));
      variants = Array.from({ length: candidate.random.samples }, () => sample(candidate.random!.space, rng));
    } else variants = [{}];
    variants.forEach((variant, v) => {
      const schema = hyperparameterSchemas[candidate.kind];
      const parsed = schema.safeParse({ ...candidate.params, ...variant });
      if (!parsed.success) {
        throw new ConfigError(
          `training.candidates.${index} (${candidate.kind}), trial ${v + 1}: invalid hyperparameters:\n${formatIssues(parsed.error.issues)}`,
          { code: "CONFIG_INVALID", details: { index, variant } },
        );
      }
      const id = `${candidate.kind}-${trials.filter((t) => t.kind === candidate.kind).length + 1}`;
      trials.push({ id, kind: candidate.kind, params: parsed.data } as Trial);
    });
  });
  return trials;
}
