// TF-IDF + linear classifier on text (src/models/text/tfidf-linear-model.ts): multinomial logistic regression by
// L-BFGS, or one-vs-rest linear SVMs (LinearSVC's problem) by dual coordinate descent, on the sparse TF-IDF rows.
import { z } from "zod";
import { defineKind } from "../model.js";
import { loadTfidfLinear, TfidfLinearModel } from "../text/tfidf-linear-model.js";
import { cellsPerRow, checkTfidf, tfidfCost, tfidfFields } from "../text/tfidf-params.js";

export const tfidfLinearParams = z
  .object({
    ...tfidfFields(50_000),
    /** softmax = multinomial logistic regression; hinge / squared-hinge = one-vs-rest linear SVM (LinearSVC's default is squared-hinge). */
    loss: z.enum(["softmax", "hinge", "squared-hinge"]).default("softmax"),
    /** Inverse L2 strength, as scikit-learn's C (larger = less regularisation); per row × its class weight. */
    C: z.number().positive().default(10),
    /** Iterations at most: L-BFGS steps (softmax) or epochs of dual coordinate descent (SVM). */
    maxIter: z.number().int().min(1).default(300),
    /** Convergence: ‖gradient‖∞ (softmax) or liblinear's projected-gradient gap (SVM) below this. */
    tol: z.number().positive().default(1e-4),
    /** Iterations without improvement before stopping; null = the run's earlyStopping.patience. */
    earlyStoppingRounds: z.number().int().min(1).nullable().default(null),
  })
  .strict();
export type TfidfLinearParams = z.infer<typeof tfidfLinearParams>;

export const tfidfLinearKind = defineKind({
  kind: "tfidf-linear",
  description:
    "TF-IDF (word 1–3-grams, optional char_wb n-grams, sublinear tf, min/max df, max features) + a linear classifier on the sparse rows: softmax regression (L-BFGS, L2 with C) or one-vs-rest linear SVM (hinge / squared-hinge, dual coordinate descent; probabilities by one softmax temperature fitted on validation). The data's numeric/categorical columns, if any, are appended after the TF-IDF columns. One iteration = one L-BFGS step or one SVM epoch.",
  iterationUnit: "iteration",
  input: "text",
  params: tfidfLinearParams,
  checkData: (p, facts) => checkTfidf(p, facts),
  // The vectorizer (tfidfCost), then per iteration ~5 ns per stored cell × output for the training rows (the
  // softmax's line search evaluates ~1.2 times per step) and the validation rows; iterations: L-BFGS typically
  // settles within ~40 on TF-IDF rows, dual coordinate descent within ~10, plus the patience (complaints,
  // 2026-12-01: softmax 41 iterations in 0.82 s, squared hinge 12 in 0.30 s and, with char n-grams, 8 in 1.02 s;
  // estimated 0.67, 0.30 and 1.56 s).
  estimateCost: (p, facts) => {
    const outputs = p.loss !== "softmax" && facts.classes === 2 ? 1 : facts.classes;
    const cells = cellsPerRow(p, facts) + facts.cols;
    const settle = p.loss === "softmax" ? 40 : 10;
    const iterations = Math.min(p.maxIter, settle + (p.earlyStoppingRounds ?? facts.patience));
    const perIteration = 5e-6 * cells * outputs * (2.4 * facts.rows + facts.validationRows);
    return tfidfCost(p, facts) + iterations * perIteration;
  },
  plannedIterations: (p) => p.maxIter,
  withIterations: (p, maxIter) => ({ ...p, maxIter }),
  create: async (params, shape) => new TfidfLinearModel(params, shape),
  load: async (dir, params, shape) => loadTfidfLinear(dir, params, shape),
});
