// Shadow comparison: agreement and probability differences of champion and challenger on the same rows, and with
// labels the gate's metric difference with the gate's paired bootstrap interval.
import { describe, expect, it } from "vitest";
import { ShadowCollector } from "../../../src/monitoring/compare.js";
import type { ScoredRow } from "../../../src/monitoring/read-current.js";
import { pairedBootstrap } from "../../../src/promotion/bootstrap.js";
import { weightedMetric } from "../../../src/promotion/weighted-metrics.js";
import { createRng } from "../../../src/shared/random.js";
import { thrownBy } from "../../helpers/expect-error.js";

const CLASSES = ["0", "1"];
const champion = { name: "credit", version: "1" };
const challenger = { name: "credit", version: "2" };

function shadowRow(
  p1: number,
  q1: number,
  threshold = 0.5,
  model = champion,
  shadowModel = challenger,
): ScoredRow {
  return {
    id: undefined,
    model,
    probabilities: Float64Array.of(1 - p1, p1),
    label: p1 >= threshold ? "1" : "0",
    shadow: { model: shadowModel, probabilities: Float64Array.of(1 - q1, q1), label: q1 >= 0.5 ? "1" : "0" },
  };
}

describe("ShadowCollector", () => {
  it("reports agreement and the mean absolute probability difference over rows and classes", () => {
    const c = new ShadowCollector(CLASSES);
    c.add(shadowRow(0.2, 0.3)); // agree, |diff| 0.1 per class
    c.add(shadowRow(0.6, 0.4)); // disagree, 0.2
    c.add(shadowRow(0.9, 0.9)); // agree, 0
    c.add({ id: undefined, probabilities: Float64Array.of(0.5, 0.5), label: "1" }); // no shadow answer
    const result = c.compare({ metric: "roc_auc", bootstrap: { resamples: 200, confidence: 0.95, seed: 1 } });
    expect(result.champion).toEqual({ name: "credit", version: "1" });
    expect(result.challenger).toEqual({ name: "credit", version: "2" });
    expect(result.rows).toBe(3);
    expect(result.agreement).toBeCloseTo(2 / 3, 12);
    expect(result.meanAbsProbabilityDiff).toBeCloseTo((0.2 + 0.4 + 0) / 6, 12);
    expect(result.metric, "no labels: no metric").toBeUndefined();
    expect(c.withoutShadow).toBe(1);
  });

  it("compares the pair with the most rows when the log spans a deployment", () => {
    const c = new ShadowCollector(CLASSES);
    c.add(shadowRow(0.2, 0.3, 0.5, champion, { name: "credit", version: "3" }));
    c.add(shadowRow(0.2, 0.3));
    c.add(shadowRow(0.7, 0.3));
    const result = c.compare({ metric: "roc_auc", bootstrap: { resamples: 200, confidence: 0.95, seed: 1 } });
    expect(result.challenger.version).toBe("2");
    expect(result.rows).toBe(2);
  });

  it("with labels: the metric difference challenger − champion and the gate's paired bootstrap CI", () => {
    const rng = createRng(7);
    const c = new ShadowCollector(CLASSES);
    const n = 300;
    const labels = new Int32Array(n);
    const a = new Float64Array(2 * n);
    const b = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const y = rng() < 0.3 ? 1 : 0;
      // The challenger separates the classes better than the champion.
      const p = Math.min(0.99, Math.max(0.01, 0.35 + (y ? 0.15 : 0) + (rng() - 0.5) * 0.6));
      const q = Math.min(0.99, Math.max(0.01, 0.3 + (y ? 0.35 : 0) + (rng() - 0.5) * 0.5));
      labels[i] = y;
      a.set([1 - p, p], 2 * i);
      b.set([1 - q, q], 2 * i);
      c.add(shadowRow(p, q, 0.4), y);
    }
    const bootstrap = { resamples: 500, confidence: 0.9, seed: 11 };
    const result = c.compare({ metric: "roc_auc", bootstrap, championThreshold: 0.4 });
    const all = new Float64Array(n).fill(1);
    const champ = weightedMetric("roc_auc", labels, a, 2, all);
    const chal = weightedMetric("roc_auc", labels, b, 2, all);
    const boot = pairedBootstrap(
      n,
      (w) => weightedMetric("roc_auc", labels, b, 2, w) - weightedMetric("roc_auc", labels, a, 2, w),
      bootstrap,
    );
    expect(result.metric).toEqual({
      name: "roc_auc",
      champion: champ,
      challenger: chal,
      difference: chal - champ,
      ci: boot.ci,
      labelled: n,
    });
    expect(result.metric!.difference, "the better challenger wins").toBeGreaterThan(0);
    expect(result.metric!.ci[0]).toBeGreaterThan(0);
  });

  it("threshold metrics use each model's threshold as its logged labels show it", () => {
    const c = new ShadowCollector(CLASSES);
    // The champion labels positive from 0.3 on: rows at 0.35 are its positives.
    const rows: [number, number, number][] = [
      [0.35, 0.6, 1],
      [0.2, 0.4, 0],
      [0.32, 0.7, 1],
      [0.1, 0.2, 0],
    ];
    for (const [p, q, y] of rows) c.add(shadowRow(p, q, 0.3), y);
    const result = c.compare({ metric: "f1", bootstrap: { resamples: 100, confidence: 0.95, seed: 3 } });
    expect(result.metric?.champion, "at its own threshold (0.32) the champion is perfect").toBe(1);
    expect(result.metric?.challenger).toBe(1);
  });

  it("MONITOR_NO_SHADOW: no row carries a shadow answer", () => {
    const c = new ShadowCollector(CLASSES);
    c.add({ id: undefined, probabilities: Float64Array.of(0.5, 0.5), label: "1" });
    const error = thrownBy(() =>
      c.compare({ metric: "roc_auc", bootstrap: { resamples: 100, confidence: 0.95, seed: 1 } }),
    );
    expect(error.code).toBe("MONITOR_NO_SHADOW");
    expect(error.message).toContain(
      "--compare found no shadow answers in the prediction log (1 rows scored by the champion only)",
    );
  });
});
