// TF-IDF + histogram gradient-boosted trees on text (src/models/text/tfidf-gbdt-model.ts): a small vocabulary made
// dense and boosted by the gbdt kind's engine — the complaints system's LightGBM-over-TF-IDF recipe.
import { z } from "zod";
import { defineKind } from "../model.js";
import { loadTfidfGbdt, TfidfGbdtModel } from "../text/tfidf-gbdt-model.js";
import { checkTfidf, tfidfCost, tfidfFields } from "../text/tfidf-params.js";
import { gbdtCost, gbdtParams } from "./gbdt.js";

export const tfidfGbdtParams = z
  .object({
    ...tfidfFields(2000),
    charMaxFeatures: z.number().int().min(1).nullable().default(2000),
    // Every gbdt parameter but `categorical`: the columns here are TF-IDF terms (the data's own columns, if any,
    // stay one-hot).
    ...gbdtParams.omit({ categorical: true }).shape,
  })
  .strict();
export type TfidfGbdtParams = z.infer<typeof tfidfGbdtParams>;

/** The dense matrix the trees train on: training rows × columns × (4 bytes float + 1 byte bin code). */
const DENSE_BUDGET_BYTES = 2 ** 31;

function columns(p: TfidfGbdtParams, denseCols: number): number {
  return (p.maxFeatures ?? 0) + (p.charNgramRange === null ? 0 : (p.charMaxFeatures ?? 0)) + denseCols;
}

export const tfidfGbdtKind = defineKind({
  kind: "tfidf-gbdt",
  description:
    "TF-IDF (a small vocabulary: maxFeatures, default 2000) made dense + histogram gradient-boosted trees (the gbdt kind's engine and hyperparameters); the data's numeric/categorical columns, if any, are appended after the TF-IDF columns; importances are named by token. One iteration = one boosting round.",
  iterationUnit: "round",
  input: "text",
  params: tfidfGbdtParams,
  checkData: (p, facts) => {
    const problems = checkTfidf(p, facts);
    if (p.maxFeatures === null)
      problems.push(["maxFeatures", "tfidf-gbdt makes the TF-IDF matrix dense: set maxFeatures (e.g. 2000)"]);
    if (p.charNgramRange !== null && p.charMaxFeatures === null)
      problems.push(["charMaxFeatures", "tfidf-gbdt makes the TF-IDF matrix dense: set charMaxFeatures"]);
    const bytes = facts.rows * columns(p, facts.cols) * 5;
    if (bytes > DENSE_BUDGET_BYTES)
      problems.push([
        "maxFeatures",
        `${facts.rows} training rows × ${columns(p, facts.cols)} columns need ~${(bytes / 2 ** 30).toFixed(1)} GiB as a dense matrix (limit 2 GiB); lower maxFeatures or use tfidf-linear`,
      ]);
    return problems;
  },
  // The vectorizer, densifying, then the gbdt kind's estimate on rows × vocabulary columns (an upper bound: most
  // cells are zeros, which the engine's sparse histograms skip).
  estimateCost: (p, facts) =>
    tfidfCost(p, facts) + gbdtCost(p, { ...facts, cols: Math.max(1, columns(p, facts.cols)) }),
  plannedIterations: (p) => p.rounds,
  withIterations: (p, rounds) => ({ ...p, rounds }),
  create: async (params, shape) => new TfidfGbdtModel(params, shape),
  load: async (dir, params, shape) => loadTfidfGbdt(dir, params, shape),
});
