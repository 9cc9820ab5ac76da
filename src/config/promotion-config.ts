import { z } from "zod";

/** Metrics the gate can compare (computed with per-row weights, so a bootstrap never copies rows). */
export const GATE_METRIC_NAMES = [
  "roc_auc",
  "pr_auc",
  "f1",
  "precision",
  "recall",
  "f1_macro",
  "f1_weighted",
  "accuracy",
  "balanced_accuracy",
  "log_loss",
  "brier",
] as const;
export type GateMetricName = (typeof GATE_METRIC_NAMES)[number];

const gateMetric = z.enum(GATE_METRIC_NAMES);

/**
 * The champion/challenger gate: a challenger replaces the champion only when the primary metric improves
 * by at least `minImprovement` with statistical confidence, no guard metric regresses beyond its
 * tolerance, and the absolute bounds hold. Both models are scored on the new run's test split and holdout.
 */
export const promotionSchema = z
  .object({
    /** The metric that decides; defaults to training.selectionMetric. */
    metric: gateMetric.optional(),
    /** Smallest improvement worth a promotion, in the metric's units (sign handled for lower-is-better metrics). */
    minImprovement: z.number().min(0).default(0.002),
    /** Seeded paired bootstrap over the evaluation rows: the CI of the improvement must lie above zero. */
    bootstrap: z
      .object({
        resamples: z.number().int().min(100).max(100_000).default(2000),
        confidence: z.number().gt(0.5).lt(1).default(0.95),
        /** Defaults to the config's seed. */
        seed: z.number().int().min(0).optional(),
      })
      .strict()
      .default({}),
    /** DeLong's test for two correlated ROC AUCs (binary tasks, primary metric roc_auc). */
    delong: z
      .object({ enabled: z.boolean().default(true), alpha: z.number().gt(0).lt(0.5).default(0.05) })
      .strict()
      .default({}),
    /** Metrics that must not get worse than `tolerance` (in the metric's units). */
    guards: z.array(z.object({ metric: gateMetric, tolerance: z.number().min(0) }).strict()).default([]),
    /** Absolute floors (higher-is-better metrics) the challenger must reach, champion or not. */
    minimums: z.record(gateMetric, z.number()).default({}),
    /** Absolute ceilings (lower-is-better metrics such as log_loss). */
    maximums: z.record(gateMetric, z.number()).default({}),
    /** Splits of the new run both models are scored on. */
    evaluateOn: z
      .array(z.enum(["test", "holdout"]))
      .min(1)
      .default(["test", "holdout"]),
    /** Aliases the promotion moves. */
    aliases: z
      .object({
        champion: z
          .string()
          .regex(/^[a-z][a-z0-9_-]*$/)
          .default("champion"),
        previous: z
          .string()
          .regex(/^[a-z][a-z0-9_-]*$/)
          .default("previous"),
      })
      .strict()
      .default({}),
  })
  .strict();

export type PromotionConfig = z.infer<typeof promotionSchema>;
