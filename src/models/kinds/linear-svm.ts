// Linear SVM (TypeScript): hinge loss with L2, liblinear's dual coordinate descent (the bias is a regularised
// constant feature, as in liblinear and scikit-learn's LinearSVC), one-vs-rest for more than two classes,
// probabilities by Platt scaling fitted on a held-out, stratified share of the training rows.
// One iteration = one epoch (a pass of every binary problem over its rows), early-stopped on validation.
import { z } from "zod";
import { LinearSvmModel, loadLinearSvm } from "../linear/svm-model.js";
import { defineKind } from "../model.js";

export const linearSvmParams = z
  .object({
    /** Cost of a hinge-loss violation (larger = less regularisation); per row multiplied by its class weight. */
    C: z.number().positive().default(1),
    /** Epochs at most (an upper bound when convergence or early stopping ends training sooner). */
    maxIter: z.number().int().min(1).default(100),
    /** Stop when the dual's largest projected-gradient violation gap falls below this (liblinear's ε). */
    tol: z.number().positive().default(1e-3),
    /** Share of the training rows held out (stratified, seeded) to fit the Platt sigmoids. */
    calibrationFraction: z.number().gt(0).max(0.5).default(0.2),
  })
  .strict();
export type LinearSvmParams = z.infer<typeof linearSvmParams>;

export const linearSvmKind = defineKind({
  kind: "linear-svm",
  description:
    "Linear SVM (TypeScript): hinge loss + L2 by liblinear's dual coordinate descent, one-vs-rest, Platt-calibrated probabilities on a held-out calibrationFraction of the training rows; one iteration = one epoch.",
  iterationUnit: "epoch",
  params: linearSvmParams,
  checkData: (params, facts) => {
    const held = Math.round(params.calibrationFraction * facts.rows);
    return held < facts.classes
      ? [
          [
            "calibrationFraction",
            `calibrationFraction ${params.calibrationFraction} of ${facts.rows} training rows holds out ${held}, fewer than the ${facts.classes} classes; raise it or add rows.`,
          ],
        ]
      : [];
  },
  // Per epoch and binary problem (one, or one per class), ~4 ns per training row × feature (the dual coordinate
  // step's two dot products) plus scoring the validation rows; dual coordinate descent usually converges or
  // early stopping ends it within ~20 epochs + the patience (an estimate: see ModelKind.estimateCost).
  estimateCost: (p, facts) => {
    const problems = facts.classes === 2 ? 1 : facts.classes;
    const epochs = Math.min(p.maxIter, 20 + facts.patience);
    const fitted = facts.rows * (1 - p.calibrationFraction);
    return epochs * problems * (4e-6 * fitted * facts.cols + 2e-6 * facts.validationRows * facts.cols);
  },
  plannedIterations: (p) => p.maxIter,
  withIterations: (p, maxIter) => ({ ...p, maxIter }),
  create: async (params, shape) => new LinearSvmModel(params, shape),
  load: async (dir, params, shape) => loadLinearSvm(dir, params, shape),
});
