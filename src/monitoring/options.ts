import { z } from "zod";
import { formatIssues } from "../config/issues.js";
import { ConfigError } from "../shared/errors.js";
import { DEFAULT_TEXT_PROFILE } from "./text.js";
import type { PValueCorrection, StatTestName } from "./types.js";

/** Every test `stattest` can name, as Evidently spells them. */
export const STAT_TEST_NAMES = [
  "ks",
  "chi2",
  "z",
  "wasserstein",
  "jensenshannon",
  "psi",
] as const satisfies readonly StatTestName[];

/** Multiple-testing corrections applied to the tests' p-values (distances are left alone). */
export const P_VALUE_CORRECTIONS = [
  "none",
  "bonferroni",
  "holm",
  "bh",
] as const satisfies readonly PValueCorrection[];

/** Tests that only read numbers (a categorical column cannot take them). */
export const NUMERIC_ONLY_TESTS: readonly StatTestName[] = ["ks", "wasserstein"];

const statTest = z.enum(STAT_TEST_NAMES);
const threshold = z.number().gt(0).finite();

const columnOverride = z
  .object({
    /** This column's test instead of the default rule (and of the global `stattest`). */
    stattest: statTest.optional(),
    /** This column's threshold instead of the test's default (and of the global `threshold`). */
    threshold: threshold.optional(),
  })
  .strict();

/**
 * How `detectDrift` decides, with Evidently's defaults: the test per column by the reference size and the
 * column's type (KS / chi-square / z below 1,000 reference rows, Wasserstein / Jensen–Shannon above), p < 0.05
 * for tests, distance >= 0.1 for distances, dataset drift when at least half of the columns drift.
 */
export const driftOptionsSchema = z
  .object({
    /** One test for every column (Evidently's `stattest`); unset = the default rule per column. */
    stattest: statTest.optional(),
    /** One threshold for every column (Evidently's `stattest_threshold`); unset = the test's default. */
    threshold: threshold.optional(),
    /** Per-column test and threshold, by column name: wins over `stattest` / `threshold`. */
    perColumn: z.record(z.string().min(1), columnOverride).default({}),
    /** Dataset drift when drifted columns / checked columns >= driftShare. */
    driftShare: z.number().gt(0).max(1).default(0.5),
    /** Correction of the tests' p-values for testing many columns at once (Evidently has none). */
    correction: z.enum(P_VALUE_CORRECTIONS).default("none"),
    /** PSI per column beside the test, reported in bands (informative: it does not decide drift). */
    psi: z
      .object({
        enabled: z.boolean().default(true),
        /** PSI >= moderate: a moderate shift. */
        moderate: threshold.default(0.1),
        /** PSI >= significant: a significant shift. */
        significant: threshold.default(0.25),
      })
      .strict()
      .refine((p) => p.significant >= p.moderate, {
        message: "psi.significant must be at least psi.moderate",
        path: ["significant"],
      })
      .default({}),
    /** Text columns: a domain classifier tells reference from current texts (drift when ROC AUC > aucThreshold). */
    text: z
      .object({ aucThreshold: z.number().gt(0.5).lt(1).default(0.55) })
      .strict()
      .default({}),
    /** Check only these columns (default: every column of the profile). */
    columns: z.array(z.string().min(1)).min(1).optional(),
    /** Check the predictions' label and score distributions when both sides have them. */
    predictions: z.boolean().default(true),
  })
  .strict();

/** The drift options after defaults. */
export type DriftOptions = z.output<typeof driftOptionsSchema>;
/** The drift options as written (every field optional). */
export type DriftOptionsInput = z.input<typeof driftOptionsSchema>;

/** Validated drift options; a ConfigError (CONFIG_INVALID) naming each bad field otherwise. */
export function resolveDriftOptions(input: unknown = {}, source = "drift options"): DriftOptions {
  const parsed = driftOptionsSchema.safeParse(input ?? {});
  if (!parsed.success)
    throw new ConfigError(`${source} are invalid:\n${formatIssues(parsed.error.issues)}`, {
      details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) },
    });
  return parsed.data;
}

/** What a value sketch keeps: exact counts up to `maxPoints` distinct values, quantile points beyond. */
export interface SketchOptions {
  /** Distinct values kept exactly, and the most points a compressed column keeps (default 65,536). */
  maxPoints: number;
}

/** What the streaming accumulator keeps per column. */
export interface AccumulatorOptions extends SketchOptions {
  /** Categories counted one by one per column; rows of further new categories are counted together (default 10,000). */
  maxCategories: number;
  /** Text columns: reservoir sample size and its seed. */
  text: { sampleSize: number; seed: number };
  /**
   * The model's classes (in its probability order): with them, `addPrediction` also builds the predictions part of
   * a profile (`forColumns` + `toProfile`). A drift accumulator takes them from its reference profile.
   */
  classes?: readonly string[];
  /** Binary models: the decision threshold on the positive class's probability (default: the arg-max). */
  threshold?: number;
}

/** What a reference profile keeps. */
export interface ProfileOptions extends AccumulatorOptions {
  /** Text columns: words kept as the OOV reference. */
  vocabularySize: number;
}

export const DEFAULT_MAX_POINTS = 65_536;

const accumulatorSchema = z
  .object({
    maxPoints: z.number().int().min(16).max(16_777_216).default(DEFAULT_MAX_POINTS),
    maxCategories: z.number().int().min(1).max(10_000_000).default(10_000),
    text: z
      .object({
        sampleSize: z.number().int().min(0).max(1_000_000).default(DEFAULT_TEXT_PROFILE.sampleSize),
        seed: z.number().int().min(0).default(DEFAULT_TEXT_PROFILE.seed),
      })
      .strict()
      .default({}),
    classes: z.array(z.string()).min(2).optional(),
    threshold: z.number().gt(0).lt(1).optional(),
    vocabularySize: z.number().int().min(1).max(1_000_000).default(DEFAULT_TEXT_PROFILE.vocabularySize),
  })
  .strict();

/** Validated accumulator / profile options with defaults; a ConfigError (CONFIG_INVALID) naming each bad field. */
export function resolveProfileOptions(input: unknown = {}, source = "profile options"): ProfileOptions {
  const parsed = accumulatorSchema.safeParse(input ?? {});
  if (!parsed.success)
    throw new ConfigError(`${source} are invalid:\n${formatIssues(parsed.error.issues)}`, {
      details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })) },
    });
  const { classes, threshold: cut, ...rest } = parsed.data;
  return {
    ...rest,
    ...(classes === undefined ? {} : { classes }),
    ...(cut === undefined ? {} : { threshold: cut }),
  };
}
