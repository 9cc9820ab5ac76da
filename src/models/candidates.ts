// Candidates → trials. A candidate is a kind with fixed params and at most one search: a grid (every
// combination is a trial), a seeded random search, or a TPE search whose trials are suggested while the
// search runs (src/models/search.ts). Every trial's hyperparameters are resolved through its kind's schema
// (defaults applied) and its id is `<kind>-<n>`, numbered per kind across all candidates in config order.
import { formatIssues } from "../config/issues.js";
import type { CandidateSpec, SearchRange } from "../config/train-config.js";
import { ConfigError } from "../shared/errors.js";
import { createRng, deriveSeed } from "../shared/random.js";
import { type KindName, modelKind } from "./kinds/index.js";

/** One model to train: a kind and its fully resolved hyperparameters. */
export interface Trial {
  /** `<kind>-<n>`, n counting this kind's trials across every candidate, in config order. */
  id: string;
  kind: KindName;
  /** Every hyperparameter of the kind, defaults applied. */
  params: Record<string, unknown>;
  /** Index of the candidate (in `training.candidates`) this trial comes from. */
  candidate: number;
}

/** What a search draws from: per hyperparameter, a list of values or a numeric range. */
export type SearchSpace = Record<string, unknown[] | SearchRange>;

/** How a candidate's trials are made. */
export type SearchMethod = "fixed" | "grid" | "random" | "tpe";

/** A candidate's place in the run: its trial ids (reserved up front, TPE included) and its known trials. */
export interface CandidatePlan {
  /** Index in `training.candidates`. */
  candidate: number;
  spec: CandidateSpec;
  method: SearchMethod;
  /** The ids of this candidate's trials, in order (a TPE candidate reserves `tpe.trials` ids). */
  ids: string[];
  /** The trials, for fixed, grid and random candidates; empty for TPE (suggested while the search runs). */
  trials: Trial[];
}

function product(grid: Record<string, unknown[]>): Record<string, unknown>[] {
  return Object.entries(grid).reduce<Record<string, unknown>[]>(
    (combos, [key, values]) => combos.flatMap((combo) => values.map((value) => ({ ...combo, [key]: value }))),
    [{}],
  );
}

/** A range value as random search and TPE report it: rounded to an integer, or to 4 significant digits. */
export function roundRangeValue(value: number, range: SearchRange): number {
  return range.integer ? Math.round(value) : Number(value.toPrecision(4));
}

/**
 * One random draw from `space`, in key order: a uniform choice from a list, a uniform (log-uniform when
 * `log`) value from a range. One `rng()` call per key, so a seeded stream gives the same trials every time.
 */
export function sampleSpace(space: SearchSpace, rng: () => number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(space)) {
    if (Array.isArray(spec)) {
      out[key] = spec[Math.floor(rng() * spec.length)];
      continue;
    }
    const u = rng();
    const value = spec.log
      ? Math.exp(Math.log(spec.min) + u * (Math.log(spec.max) - Math.log(spec.min)))
      : spec.min + u * (spec.max - spec.min);
    out[key] = roundRangeValue(value, spec);
  }
  return out;
}

/** The random stream of candidate `index` (random search, and TPE's startup trials). */
export function candidateRng(seed: number, index: number): () => number {
  return createRng(deriveSeed(seed, `candidate-${index}`));
}

/**
 * Trial `n` (1-based within its candidate) of candidate `index`: the candidate's params merged with `variant`
 * and resolved through the kind's schema. Invalid values → ConfigError CONFIG_INVALID naming the candidate,
 * the trial and the field.
 */
export function resolveTrial(
  spec: CandidateSpec,
  index: number,
  variant: Record<string, unknown>,
  n: number,
  id: string,
): Trial {
  const parsed = modelKind(spec.kind).params.safeParse({ ...spec.params, ...variant });
  if (!parsed.success) {
    throw new ConfigError(
      `training.candidates.${index} (${spec.kind}), trial ${n}: invalid hyperparameters:\n${formatIssues(parsed.error.issues)}`,
      { code: "CONFIG_INVALID", details: { index, trial: n, variant } },
    );
  }
  return { id, kind: spec.kind, params: parsed.data as Record<string, unknown>, candidate: index };
}

function methodOf(spec: CandidateSpec): SearchMethod {
  if (spec.grid !== undefined) return "grid";
  if (spec.random !== undefined) return "random";
  if (spec.tpe !== undefined) return "tpe";
  return "fixed";
}

/**
 * Every candidate's trial ids and (except for TPE) its trials, validated. Ids number each kind's trials across
 * candidates in config order; a TPE candidate reserves its `tpe.trials` numbers where it stands.
 */
export function planCandidates(candidates: readonly CandidateSpec[], seed: number): CandidatePlan[] {
  const counts = new Map<string, number>();
  const nextId = (kind: string) => {
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    return `${kind}-${n}`;
  };
  return candidates.map((spec, index) => {
    const method = methodOf(spec);
    if (method === "tpe") {
      const ids = Array.from({ length: spec.tpe!.trials }, () => nextId(spec.kind));
      return { candidate: index, spec, method, ids, trials: [] };
    }
    let variants: Record<string, unknown>[];
    if (method === "grid") variants = product(spec.grid!);
    else if (method === "random") {
      const rng = candidateRng(seed, index);
      variants = Array.from({ length: spec.random!.samples }, () => sampleSpace(spec.random!.space, rng));
    } else variants = [{}];
    const trials = variants.map((variant, v) => resolveTrial(spec, index, variant, v + 1, nextId(spec.kind)));
    return { candidate: index, spec, method, ids: trials.map((t) => t.id), trials };
  });
}

/**
 * The trials of every fixed, grid and random candidate, validated, in config order. A TPE candidate's trials
 * are suggested while the search runs: they are not here (planCandidates lists their ids).
 */
export function expandCandidates(candidates: readonly CandidateSpec[], seed: number): Trial[] {
  return planCandidates(candidates, seed).flatMap((plan) => plan.trials);
}
