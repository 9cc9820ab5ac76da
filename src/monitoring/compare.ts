/**
 * Shadow comparison (A/B): the service scored some requests with the challenger beside the champion and logged
 * both answers. How often they agree, how far their probabilities are apart, and, with labels, the difference of
 * the gate's metric with the paired bootstrap interval the promotion gate computes (src/promotion/gate.ts).
 */
import { GATE_METRIC_NAMES, type GateMetricName } from "../config/promotion-config.js";
import { pairedBootstrap } from "../promotion/bootstrap.js";
import { weightedMetric } from "../promotion/weighted-metrics.js";
import { WorkbenchError } from "../shared/errors.js";
import type { ScoredRow } from "./read-current.js";
import type { ShadowComparison } from "./types.js";

/** The gate's bootstrap settings (promotion.bootstrap of the training config, with its defaults). */
export interface BootstrapSettings {
  resamples: number;
  confidence: number;
  seed: number;
}

type ModelId = { name: string; version: string | undefined };

/** One champion → challenger pair's running sums, and its labelled rows. */
class PairStats {
  rows = 0;
  agree = 0;
  absDiff = 0;
  labelled = 0;
  /** Binary: the smallest positive-class probability each side labelled positive (its threshold, as applied). */
  minPositive = { champion: Number.POSITIVE_INFINITY, challenger: Number.POSITIVE_INFINITY };
  labels = new Int32Array(256);
  champion: Float64Array;
  challenger: Float64Array;

  constructor(
    readonly championModel: ModelId,
    readonly challengerModel: ModelId,
    readonly k: number,
    private readonly positive: string | undefined,
  ) {
    this.champion = new Float64Array(256 * k);
    this.challenger = new Float64Array(256 * k);
  }

  add(row: ScoredRow & { shadow: NonNullable<ScoredRow["shadow"]> }, label: number | undefined): void {
    this.rows++;
    if (row.label === row.shadow.label) this.agree++;
    if (this.positive !== undefined) {
      if (row.label === this.positive)
        this.minPositive.champion = Math.min(this.minPositive.champion, row.probabilities[1]!);
      if (row.shadow.label === this.positive)
        this.minPositive.challenger = Math.min(this.minPositive.challenger, row.shadow.probabilities[1]!);
    }
    for (let c = 0; c < this.k; c++)
      this.absDiff += Math.abs(row.probabilities[c]! - row.shadow.probabilities[c]!);
    if (label === undefined) return;
    if (this.labelled === this.labels.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      const labels = new Int32Array(this.labels.length * 2);
      labels.set(this.labels);
      this.labels = labels;
      this.champion = grow(this.champion);
      this.challenger = grow(this.challenger);
    }
    this.labels[this.labelled] = label;
    this.champion.set(row.probabilities.subarray(0, this.k), this.labelled * this.k);
    this.challenger.set(row.shadow.probabilities.subarray(0, this.k), this.labelled * this.k);
    this.labelled++;
  }
}

const key = (m: ModelId) => `${m.name}\u0000${m.version ?? ""}`;

/**
 * Collects the rows the challenger scored in shadow, per champion → challenger pair (a log may span a
 * deployment); the comparison reports the pair with the most rows.
 */
export class ShadowCollector {
  private readonly pairs = new Map<string, PairStats>();
  /** Scored rows without a shadow answer. */
  withoutShadow = 0;

  constructor(readonly classes: readonly string[]) {}

  /** Adds one scored row; `label` is the class index of its true label, when known. */
  add(row: ScoredRow, label?: number): void {
    if (row.shadow === undefined) {
      this.withoutShadow++;
      return;
    }
    const champion = row.model ?? { name: "unknown", version: undefined };
    const id = `${key(champion)}\u0001${key(row.shadow.model)}`;
    let pair = this.pairs.get(id);
    if (pair === undefined) {
      const positive = this.classes.length === 2 ? this.classes[1] : undefined;
      pair = new PairStats(champion, row.shadow.model, this.classes.length, positive);
      this.pairs.set(id, pair);
    }
    pair.add(row as ScoredRow & { shadow: NonNullable<ScoredRow["shadow"]> }, label);
  }

  /** Rows that had a shadow answer, over every pair. */
  get shadowRows(): number {
    let n = 0;
    for (const p of this.pairs.values()) n += p.rows;
    return n;
  }

  /**
   * The comparison of the pair with the most rows. With labelled rows, `metric` (a gate metric) is compared
   * with the gate's paired bootstrap: the interval is on challenger − champion.
   */
  compare(options: {
    metric: string;
    bootstrap: BootstrapSettings;
    /** The champion's decision threshold (binary), when known; else inferred from its logged labels. */
    championThreshold?: number | undefined;
  }): ShadowComparison {
    const best = [...this.pairs.values()].sort((a, b) => b.rows - a.rows)[0];
    if (best === undefined)
      throw new WorkbenchError(
        "MONITOR_NO_SHADOW",
        `--compare found no shadow answers in the prediction log (${this.withoutShadow} rows scored by the champion only). Start the service with a shadow challenger (see "Shadow comparison" in the README) and let it log requests first.`,
        { details: { rows: this.withoutShadow } },
      );
    const k = this.classes.length;
    const version = (m: ModelId) => ({ name: m.name, version: m.version ?? "local" });
    const comparison: ShadowComparison = {
      champion: version(best.championModel),
      challenger: version(best.challengerModel),
      rows: best.rows,
      agreement: best.agree / best.rows,
      meanAbsProbabilityDiff: best.absDiff / (best.rows * k),
    };
    if (best.labelled === 0) return comparison;
    const metric = gateMetric(options.metric, k);
    const labels = best.labels.subarray(0, best.labelled);
    const champion = best.champion.subarray(0, best.labelled * k);
    const challenger = best.challenger.subarray(0, best.labelled * k);
    // Binary: the threshold each model applied, as its logged labels show it (0.5 when it never said positive).
    const implied = (v: number) => (k === 2 && Number.isFinite(v) ? v : undefined);
    const championThreshold = options.championThreshold ?? implied(best.minPositive.champion);
    const challengerThreshold = implied(best.minPositive.challenger);
    const value = (p: Float64Array, t: number | undefined, w: Float64Array) =>
      weightedMetric(metric, labels, p, k, w, t);
    const all = new Float64Array(best.labelled).fill(1);
    const a = value(champion, championThreshold, all);
    const b = value(challenger, challengerThreshold, all);
    const boot = pairedBootstrap(
      best.labelled,
      (w) => value(challenger, challengerThreshold, w) - value(champion, championThreshold, w),
      options.bootstrap,
    );
    comparison.metric = {
      name: metric,
      champion: a,
      challenger: b,
      difference: b - a,
      ci: boot.ci,
      labelled: best.labelled,
    };
    return comparison;
  }
}

/** `metric` when the gate can compute it for this task, else the gate's default (ROC AUC). */
function gateMetric(metric: string, k: number): GateMetricName {
  const known = (GATE_METRIC_NAMES as readonly string[]).includes(metric);
  if (known && !(k > 2 && ["f1", "precision", "recall"].includes(metric))) return metric as GateMetricName;
  return k === 2 ? "roc_auc" : "f1_macro";
}
