import { type Confusion, precisionRecallF1, thresholdCounts } from "./binary.js";

export type ThresholdStrategy =
  | { strategy: "max_f1" }
  | { strategy: "fixed"; value: number }
  | { strategy: "cost"; falsePositiveCost: number; falseNegativeCost: number };

/**
 * Chooses the decision threshold on validation scores: the one maximising F1, the one minimising
 * FP·cost + FN·cost, or a fixed value. A row is positive when its score is ≥ the threshold.
 */
export function chooseThreshold(
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
  rule: ThresholdStrategy,
): number {
  if (rule.strategy === "fixed") return rule.value;
  const points = thresholdCounts(yTrue, scores);
  const positives = points.at(-1)?.tp ?? 0;
  const negatives = points.at(-1)?.fp ?? 0;
  let best = 0.5;
  let bestValue = rule.strategy === "max_f1" ? -1 : Number.POSITIVE_INFINITY;
  for (const p of points) {
    const c: Confusion = { tp: p.tp, fp: p.fp, fn: positives - p.tp, tn: negatives - p.fp };
    if (rule.strategy === "max_f1") {
      const { f1 } = precisionRecallF1(c);
      if (f1 > bestValue) [bestValue, best] = [f1, p.threshold];
    } else {
      const cost = c.fp * rule.falsePositiveCost + c.fn * rule.falseNegativeCost;
      if (cost < bestValue) [bestValue, best] = [cost, p.threshold];
    }
  }
  return best;
}
