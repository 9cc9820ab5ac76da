// The TF-IDF hyperparameters both TF-IDF kinds share (zod fields, so grid/random/TPE search them like any other),
// their checks against the data, and the work of fitting the vocabulary for cost estimates.
import { z } from "zod";
import type { TfidfOptions } from "../../features/text/tfidf.js";
import type { DataFacts } from "../model.js";

const gram = z.number().int().min(1);

/** TF-IDF fields (see src/features/text/tfidf.ts); `maxFeatures` gets its default from the kind. */
export function tfidfFields(maxFeatures: number) {
  return {
    /** Word n-gram lengths [min, max], up to trigrams; search it with a list, e.g. [[1, 1], [1, 2]]. */
    ngramRange: z.tuple([gram.max(3), gram.max(3)]).default([1, 2]),
    /** scikit-learn char_wb n-gram lengths [min, max] as a second block; null = words only. */
    charNgramRange: z
      .tuple([gram.max(8), gram.max(8)])
      .nullable()
      .default(null),
    /** tf = 1 + ln(count). */
    sublinearTf: z.boolean().default(true),
    /** Drop terms in fewer documents: a count (≥ 1, whole) or a fraction of the training texts (< 1). */
    minDf: z.number().min(0).default(2),
    /** Drop terms in more documents: a fraction (≤ 1; 1 = keep all) or a count (> 1, whole). */
    maxDf: z.number().positive().default(1),
    /** The most frequent word n-grams kept (null = all). */
    maxFeatures: z.number().int().min(1).nullable().default(maxFeatures),
    /** The most frequent char n-grams kept (null = all). */
    charMaxFeatures: z.number().int().min(1).nullable().default(20_000),
  };
}

export type TfidfParams = TfidfOptions;

/** The TfidfOptions of a kind's resolved params. */
export function tfidfOptions(p: TfidfParams): TfidfOptions {
  return {
    ngramRange: [p.ngramRange[0], p.ngramRange[1]],
    charNgramRange: p.charNgramRange === null ? null : [p.charNgramRange[0], p.charNgramRange[1]],
    sublinearTf: p.sublinearTf,
    minDf: p.minDf,
    maxDf: p.maxDf,
    maxFeatures: p.maxFeatures,
    charMaxFeatures: p.charMaxFeatures,
  };
}

/** Problems of the TF-IDF params on this data, as [param, message] (ModelKind.checkData). */
export function checkTfidf(p: TfidfParams, facts: DataFacts): [string, string][] {
  const problems: [string, string][] = [];
  // (No text column at all is refused for every text kind by the pipeline: checkTrialData.)
  if ((facts.textColumns ?? 0) > 0 && (facts.avgTextLength ?? 0) === 0)
    problems.push(["(kind)", "every training text is empty: TF-IDF has nothing to count"]);
  const [lo, hi] = p.ngramRange;
  if (lo > hi) problems.push(["ngramRange", `ngramRange [${lo}, ${hi}] has min > max`]);
  if (p.charNgramRange !== null && p.charNgramRange[0] > p.charNgramRange[1])
    problems.push([
      "charNgramRange",
      `charNgramRange [${p.charNgramRange[0]}, ${p.charNgramRange[1]}] has min > max`,
    ]);
  if (p.minDf >= 1 && !Number.isInteger(p.minDf))
    problems.push(["minDf", `minDf ${p.minDf} is neither a fraction (< 1) nor a whole number of documents`]);
  if (p.maxDf > 1 && !Number.isInteger(p.maxDf))
    problems.push(["maxDf", `maxDf ${p.maxDf} is neither a fraction (≤ 1) nor a whole number of documents`]);
  const min = p.minDf >= 1 ? p.minDf : p.minDf * facts.rows;
  const max = p.maxDf > 1 ? p.maxDf : p.maxDf * facts.rows;
  if (min > facts.rows)
    problems.push([
      "minDf",
      `minDf ${p.minDf} asks for terms in at least ${min} documents, and there are ${facts.rows} training texts`,
    ]);
  else if (max < min)
    problems.push([
      "maxDf",
      `maxDf ${p.maxDf} allows terms in at most ${max} of the ${facts.rows} training texts, fewer than minDf ${p.minDf} requires (${min})`,
    ]);
  return problems;
}

/**
 * Approximate stored cells per TF-IDF row: distinct n-grams of a text that the vocabulary kept. Measured on the
 * complaints sample (943 characters per text): 176 per row for words 1–2, 1,233 with char_wb 2–5 added.
 */
export function cellsPerRow(p: TfidfParams, facts: DataFacts): number {
  // ~6 characters per word; about 56 % of a text's word n-grams (28 % of its char n-grams) are distinct within it
  // and frequent enough to be kept.
  const chars = facts.avgTextLength ?? 0;
  const words = chars / 6;
  const n = p.ngramRange[1] - p.ngramRange[0] + 1;
  let cells = 0.56 * words * n;
  if (p.charNgramRange !== null) cells += 0.28 * chars * (p.charNgramRange[1] - p.charNgramRange[0] + 1);
  return Math.max(1, cells);
}

/**
 * Milliseconds (one core) to fit the vocabulary and transform the training and validation texts: ~34 ns per
 * character per n-gram length, twice (fit counts, transform weighs); char n-grams cost ~1.5× per length.
 * Measured on the complaints sample (1,187 + 298 texts of 943 characters, 2026-12-01): 170 ms for words 1–2,
 * 690 ms with char_wb 2–5 added.
 */
export function tfidfCost(p: TfidfParams, facts: DataFacts & { validationRows: number }): number {
  const chars = (facts.rows * 2 + facts.validationRows) * (facts.avgTextLength ?? 0);
  const lengths =
    p.ngramRange[1] -
    p.ngramRange[0] +
    1 +
    (p.charNgramRange === null ? 0 : 1.5 * (p.charNgramRange[1] - p.charNgramRange[0] + 1));
  return 3.4e-5 * chars * lengths;
}
