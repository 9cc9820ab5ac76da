import { describe, expect, it } from "vitest";
import type { IterationRecord } from "../../../src/models/model.js";
import { iterationMetrics } from "../../../src/pipelines/train.js";

const history: IterationRecord[] = [
  { iteration: 1, loss: 0.9, valLoss: 0.8, valMetric: 0.6, seconds: 1 },
  { iteration: 2, loss: 0.7, valLoss: 0.5, valMetric: 0.75, seconds: 1 },
  { iteration: 3, loss: 0.6, valLoss: 0.55, valMetric: 0.7, seconds: 1 },
];

/** The value MLflow shows for a key: the point with the highest step (the latest). */
function latest(points: ReturnType<typeof iterationMetrics>, key: string): number | undefined {
  const mine = points.filter((p) => p.key === key).sort((a, b) => (a.step ?? 0) - (b.step ?? 0));
  return mine.at(-1)?.value;
}

describe("a candidate's per-iteration metrics", () => {
  it("given early stopping kept iteration 2 of 3, then its values are logged again at step 4 and as val_loss", () => {
    const points = iterationMetrics(history, 2, "roc_auc");
    expect(points.filter((p) => p.step === 4)).toEqual([
      { key: "train_loss", value: 0.7, step: 4 },
      { key: "val_loss_by_iteration", value: 0.5, step: 4 },
      { key: "val_roc_auc_by_iteration", value: 0.75, step: 4 },
    ]);
    expect(latest(points, "val_loss_by_iteration"), "what MLflow shows: the kept iteration's").toBe(0.5);
    expect(latest(points, "val_roc_auc_by_iteration")).toBe(0.75);
    expect(points.find((p) => p.key === "val_loss")).toEqual({ key: "val_loss", value: 0.5 });
    expect(points.filter((p) => (p.step ?? 0) <= 3 && p.key !== "val_loss").length, "the curve itself").toBe(
      9,
    );
  });

  it("given the last iteration is the kept one, then nothing is repeated", () => {
    const points = iterationMetrics(history, 3, "f1");
    expect(points.some((p) => p.step === 4)).toBe(false);
    expect(points.find((p) => p.key === "val_loss")?.value).toBe(0.55);
  });
});
