import type { GateMetricName, PromotionConfig } from "../config/promotion-config.js";
import { higherIsBetter } from "../evaluation/metrics.js";
import { pairedBootstrap } from "./bootstrap.js";
import { delongTest } from "./delong.js";
import { weightedMetric } from "./weighted-metrics.js";

/** One model's class probabilities on the evaluation rows (rows × classes, row-major). */
export interface ScoredModel {
  version: string;
  probabilities: Float32Array | Float64Array;
  /** Decision threshold on the positive class (binary tasks). */
  threshold: number | undefined;
}

export interface GateInput {
  config: PromotionConfig;
  /** The primary metric when config.metric is unset (the training's selection metric). */
  defaultMetric: GateMetricName;
  seed: number;
  classes: string[];
  /** Class index per evaluation row. */
  labels: Int32Array;
  challenger: ScoredModel;
  champion: ScoredModel | undefined;
  /** Promote whatever the checks say (recorded as such). */
  force?: boolean;
}

export type CheckKind = "improvement" | "bootstrap" | "delong" | "guard" | "minimum" | "maximum";

/** One row of the gate table. `delta` is challenger − champion; `ci` is the bootstrap CI of that delta. */
export interface GateCheck {
  kind: CheckKind;
  metric: string;
  champion: number | undefined;
  challenger: number;
  delta: number | undefined;
  ci: [number, number] | undefined;
  pValue: number | undefined;
  /** What the check demands, in words. */
  requirement: string;
  passed: boolean;
}

export interface GateDecision {
  promote: boolean;
  forced: boolean;
  metric: GateMetricName;
  rows: number;
  classes: string[];
  champion: string | undefined;
  challenger: string;
  checks: GateCheck[];
  /** Requirements that failed, in words (empty when promoted on merit). */
  failures: string[];
  bootstrap: { resamples: number; confidence: number; seed: number };
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(4));

/**
 * The champion/challenger gate. With no champion the challenger must only meet the absolute bounds. With a
 * champion, the primary metric must improve by at least `minImprovement`, the bootstrap CI of the
 * improvement must lie above zero, DeLong's test must reject equal AUCs (binary ROC AUC), no guard metric
 * may regress beyond its tolerance, and the bounds must hold. Pure: scores in, decision out.
 */
export function runGate(input: GateInput): GateDecision {
  const { config, labels, classes, challenger, champion } = input;
  const k = classes.length;
  const metric = config.metric ?? input.defaultMetric;
  const seed = config.bootstrap.seed ?? input.seed;
  const n = labels.length;
  const all = new Float64Array(n).fill(1);
  const value = (model: ScoredModel, m: GateMetricName, weights: Float64Array) =>
    weightedMetric(m, labels, model.probabilities, k, weights, model.threshold);
  const checks: GateCheck[] = [];

  const compare = (m: GateMetricName, kind: "improvement" | "guard", tolerance: number) => {
    const sign = higherIsBetter(m) ? 1 : -1;
    const a = value(champion!, m, all);
    const b = value(challenger, m, all);
    const boot = pairedBootstrap(n, (w) => sign * (value(challenger, m, w) - value(champion!, m, w)), {
      resamples: config.bootstrap.resamples,
      confidence: config.bootstrap.confidence,
      seed,
    });
    const ci: [number, number] = sign === 1 ? boot.ci : [-boot.ci[1], -boot.ci[0]];
    const improvement = sign * (b - a);
    const requirement =
      kind === "improvement"
        ? `${sign === 1 ? "+" : "−"}${config.minImprovement} or better`
        : `no worse than ${sign === 1 ? "−" : "+"}${tolerance}`;
    checks.push({
      kind,
      metric: m,
      champion: a,
      challenger: b,
      delta: b - a,
      ci,
      pValue: boot.pValue,
      requirement,
      passed: kind === "improvement" ? improvement >= config.minImprovement : improvement >= -tolerance,
    });
    if (kind === "improvement") {
      const level = Math.round(config.bootstrap.confidence * 100);
      checks.push({
        kind: "bootstrap",
        metric: m,
        champion: a,
        challenger: b,
        delta: b - a,
        ci,
        pValue: boot.pValue,
        requirement: `${level}% CI of the improvement above 0 (${boot.valid}/${boot.resamples} resamples)`,
        passed: boot.valid > 0 && boot.ci[0] > 0,
      });
    }
  };

  if (champion !== undefined) {
    compare(metric, "improvement", 0);
    if (metric === "roc_auc" && k === 2 && config.delong.enabled) {
      const y = Int32Array.from(labels);
      const score = (p: ScoredModel) =>
        Float64Array.from({ length: n }, (_, i) => p.probabilities[i * 2 + 1]!);
      const d = delongTest(y, score(champion), score(challenger));
      checks.push({
        kind: "delong",
        metric: "roc_auc",
        champion: d.aucA,
        challenger: d.aucB,
        delta: d.difference,
        ci: d.ci,
        pValue: d.pValue,
        requirement: `DeLong one-sided p < ${config.delong.alpha}`,
        passed: d.pValue < config.delong.alpha,
      });
    }
    for (const guard of config.guards) compare(guard.metric, "guard", guard.tolerance);
  }
  for (const [m, floor] of Object.entries(config.minimums) as [GateMetricName, number][]) {
    const b = value(challenger, m, all);
    checks.push(bound("minimum", m, champion === undefined ? undefined : value(champion, m, all), b, floor));
  }
  for (const [m, ceiling] of Object.entries(config.maximums) as [GateMetricName, number][]) {
    const b = value(challenger, m, all);
    checks.push(
      bound("maximum", m, champion === undefined ? undefined : value(champion, m, all), b, ceiling),
    );
  }
  const failures = checks
    .filter((c) => !c.passed)
    .map((c) => `${c.metric} ${c.kind}: ${c.requirement}, got ${describe(c)}`);
  return {
    promote: input.force === true || failures.length === 0,
    forced: input.force === true && failures.length > 0,
    metric,
    rows: n,
    classes,
    champion: champion?.version,
    challenger: challenger.version,
    checks,
    failures,
    bootstrap: { resamples: config.bootstrap.resamples, confidence: config.bootstrap.confidence, seed },
  };
}

function bound(
  kind: "minimum" | "maximum",
  metric: string,
  champion: number | undefined,
  challenger: number,
  limit: number,
): GateCheck {
  return {
    kind,
    metric,
    champion,
    challenger,
    delta: champion === undefined ? undefined : challenger - champion,
    ci: undefined,
    pValue: undefined,
    requirement: kind === "minimum" ? `at least ${limit}` : `at most ${limit}`,
    passed: Number.isFinite(challenger) && (kind === "minimum" ? challenger >= limit : challenger <= limit),
  };
}

function describe(check: GateCheck): string {
  if (check.kind === "bootstrap" && check.ci) return `CI [${fmt(check.ci[0])}, ${fmt(check.ci[1])}]`;
  if (check.kind === "delong") return `p = ${check.pValue?.toExponential(2)}`;
  if (check.delta !== undefined && (check.kind === "improvement" || check.kind === "guard"))
    return `${check.delta >= 0 ? "+" : ""}${fmt(check.delta)}`;
  return fmt(check.challenger);
}
