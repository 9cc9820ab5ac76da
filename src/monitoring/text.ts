// Text drift of a text column: the domain classifier of text-classifier.ts on the reference profile's sample and the
// current accumulator's sample (text-profile.ts), Evidently's rule on its ROC AUC, with typical words, OOV shares and
// mean lengths beside it; and the two length distributions, which the numeric test compares.
//
// The profile API (profileText, TextProfiler, TextAccumulator) lives in text-profile.ts and is re-exported here:
// monitoring code imports text columns' everything from this file.
import { WorkbenchError } from "../shared/errors.js";
import { createRng, deriveSeed } from "../shared/random.js";
import { domainClassifier, randomAucPercentile } from "./text-classifier.js";
import {
  checkCount,
  deserializeWeighted,
  optionsError,
  type TextAccumulator,
  textWords,
} from "./text-profile.js";
import type { TextColumnProfile, TextDrift, WeightedValues } from "./types.js";

export {
  characters,
  DEFAULT_TEXT_PROFILE,
  deserializeWeighted,
  MAX_SAMPLED_CHARS,
  profileText,
  serializeWeighted,
  TextAccumulator,
  type TextProfileOptions,
  TextProfiler,
  textWords,
} from "./text-profile.js";

export interface TextDriftOptions {
  /** AUC above which the absolute rule calls drift (Evidently's 0.55). */
  aucThreshold: number;
  /** Quantile of random AUCs the percentile rule compares with (Evidently's 0.95). */
  percentile: number;
  /** "auto": absolute when the reference has more than 1,000 texts, percentile otherwise (Evidently's choice). */
  rule: "auto" | "absolute" | "percentile";
  /** Texts per side below which the classifier does not run (TEXT_DRIFT_TOO_FEW_TEXTS). */
  minTexts: number;
  seed: number;
  /** Typical words listed per side. */
  typicalWords: number;
  /** Texts per side the classifier uses at most (a seeded subsample of each side's sample); undefined = all. */
  sampleSize?: number;
}

export const DEFAULT_TEXT_DRIFT: TextDriftOptions = {
  aucThreshold: 0.55,
  percentile: 0.95,
  rule: "auto",
  minTexts: 10,
  seed: 42,
  typicalWords: 25,
};

/** References with more texts than this get the absolute AUC rule under rule "auto" (Evidently's cut). */
export const ABSOLUTE_RULE_ABOVE = 1000;

function meanOf(w: WeightedValues): number {
  let s = 0;
  for (let i = 0; i < w.values.length; i++) s += w.values[i]! * w.counts[i]!;
  return w.total === 0 ? 0 : s / w.total;
}

/** Reference and current length distributions (characters per non-missing text): what the numeric test compares. */
export function textLengths(
  profile: TextColumnProfile,
  current: TextAccumulator,
): { reference: WeightedValues; current: WeightedValues } {
  return { reference: deserializeWeighted(profile.length), current: current.lengthDistribution() };
}

/**
 * Text drift of a column: the domain classifier on the reference sample and the current sample, Evidently's rule
 * on its AUC, typical words, OOV shares and mean lengths; plus the length distributions for the numeric test.
 * Throws TEXT_DRIFT_DISABLED when the profile holds no sample (sampleSize 0) and TEXT_DRIFT_TOO_FEW_TEXTS when a
 * side has fewer than minTexts non-missing texts — `textLengths` still gives the lengths then.
 */
export function textDrift(
  profile: TextColumnProfile,
  current: TextAccumulator,
  options: Partial<TextDriftOptions> = {},
): { drift: TextDrift; length: { reference: WeightedValues; current: WeightedValues } } {
  const o = { ...DEFAULT_TEXT_DRIFT, ...options };
  checkCount("minTexts", o.minTexts, 2);
  if (!(o.aucThreshold >= 0.5 && o.aucThreshold < 1))
    throw optionsError(`aucThreshold must be in [0.5, 1), got ${o.aucThreshold}.`, {
      aucThreshold: o.aucThreshold,
    });
  if (!(o.percentile > 0 && o.percentile < 1))
    throw optionsError(`percentile must be in (0, 1), got ${o.percentile}.`, { percentile: o.percentile });
  if (profile.sample.length === 0 && profile.rows > profile.missing)
    throw new WorkbenchError(
      "TEXT_DRIFT_DISABLED",
      `Text drift of "${profile.name}": the reference profile holds no sample of texts (${profile.rows - profile.missing} non-missing texts, sample size 0), so the domain classifier cannot run; profile with a sample size above 0 to check text content (lengths and OOV are still compared).`,
      { details: { column: profile.name } },
    );
  if (o.sampleSize !== undefined) checkCount("sampleSize", o.sampleSize, o.minTexts);
  const reference = subsample(profile.sample, o.sampleSize, deriveSeed(o.seed, "text-drift-reference"));
  const cur = subsample(current.sample, o.sampleSize, deriveSeed(o.seed, "text-drift-current"));
  if (reference.length < o.minTexts || cur.length < o.minTexts)
    throw new WorkbenchError(
      "TEXT_DRIFT_TOO_FEW_TEXTS",
      `Text drift of "${profile.name}": the domain classifier needs at least ${o.minTexts} non-missing texts per side, got ${reference.length} reference and ${cur.length} current; collect more current data (or lower minTexts).`,
      {
        details: {
          column: profile.name,
          reference: reference.length,
          current: cur.length,
          minTexts: o.minTexts,
        },
      },
    );
  const result = domainClassifier(reference, cur, { seed: o.seed, typicalWords: o.typicalWords });
  const referenceTexts = profile.rows - profile.missing;
  const rule =
    o.rule === "auto" ? (referenceTexts > ABSOLUTE_RULE_ABOVE ? "absolute" : "percentile") : o.rule;
  const threshold =
    rule === "absolute"
      ? o.aucThreshold
      : randomAucPercentile(result.test.reference, result.test.current, o.percentile, o.seed);
  const length = textLengths(profile, current);
  return {
    drift: {
      auc: result.auc,
      threshold,
      drift: result.auc > threshold,
      rule,
      sampleSizes: { reference: reference.length, current: cur.length },
      typicalWords: result.typicalWords,
      oov: {
        reference: profile.oov ?? sampleOov(profile),
        current: current.tokens === 0 ? 0 : current.oovTokens / current.tokens,
      },
      meanLength: { reference: meanOf(length.reference), current: meanOf(length.current) },
    },
    length,
  };
}

/** At most `size` of `texts`, chosen at random (seeded), in their order; all of them when size is undefined. */
function subsample(texts: readonly string[], size: number | undefined, seed: number): readonly string[] {
  if (size === undefined || texts.length <= size) return texts;
  const rng = createRng(seed);
  const order = Array.from({ length: texts.length }, (_, i) => i);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rng() * (order.length - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order
    .slice(0, size)
    .sort((a, b) => a - b)
    .map((i) => texts[i]!);
}

/** OOV share of the reference sample against its own vocabulary (in-sample: a low estimate), for old profiles. */
function sampleOov(profile: TextColumnProfile): number {
  const vocabulary = new Set(profile.vocabulary.map((v) => v.word));
  let tokens = 0;
  let oov = 0;
  for (const t of profile.sample)
    for (const w of textWords(t)) {
      tokens++;
      if (!vocabulary.has(w)) oov++;
    }
  return tokens === 0 ? 0 : oov / tokens;
}
