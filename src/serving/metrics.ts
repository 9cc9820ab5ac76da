import { monitorEventLoopDelay } from "node:perf_hooks";
import {
  Counter,
  Gauge,
  Histogram,
  type HistogramConfiguration,
  type LabelValues,
  Registry,
} from "prom-client";

/** workbench_prediction_score's upper bounds: 0.05, 0.10, …, 1. */
export const SCORE_BUCKETS: readonly number[] = Array.from({ length: 20 }, (_, i) => (i + 1) / 20);

/**
 * A histogram fed a whole request at once: the caller counts its rows per bucket into a scratch array (no
 * allocation per row) and adds the array. prom-client's `observe` builds a label object and a hash per value,
 * which a 10,000-row batch would pay 10,000 times. Exposed exactly as a prom-client histogram.
 */
/** What prom-client's histogram `get()` resolves to (its types do not export the name). */
type HistogramData<T extends string> = Awaited<ReturnType<Histogram<T>["get"]>>;

export class BulkHistogram<T extends string> extends Histogram<T> {
  private series: Map<string, { labels: LabelValues<T>; counts: Float64Array; sum: number; count: number }> =
    new Map();
  readonly bounds: readonly number[];
  private readonly config: { name: string; help: string };

  constructor(config: Omit<HistogramConfiguration<T>, "buckets"> & { buckets: readonly number[] }) {
    super({ ...config, buckets: [...config.buckets] });
    this.bounds = [...config.buckets];
    this.config = { name: config.name, help: config.help };
  }

  /** The bucket a value falls in (`le` semantics: the first bound >= value; `bounds.length` = +Inf). */
  bucketOf(value: number): number {
    let lo = 0;
    let hi = this.bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (value <= this.bounds[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * Adds per-bucket counts (not cumulative; `counts.length` = bounds + 1, the last one +Inf), their sum and
   * their number, under `key` (the label values joined: the caller's cached key, no hashing here).
   */
  addCounts(key: string, labels: LabelValues<T>, counts: Float64Array, sum: number, count: number): void {
    let series = this.series.get(key);
    if (series === undefined) {
      series = { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    for (let b = 0; b <= this.bounds.length; b++) series.counts[b]! += counts[b]!;
    series.sum += sum;
    series.count += count;
  }

  override reset(): void {
    // Called by prom-client's constructor, before this class's fields exist.
    this.series?.clear();
  }

  override async get(): Promise<HistogramData<T>> {
    const { name, help } = this.config;
    const values: HistogramData<T>["values"] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let b = 0; b <= this.bounds.length; b++) {
        cumulative += s.counts[b]!;
        // `le` first, as prom-client prints its own histograms.
        const le = b < this.bounds.length ? this.bounds[b]! : "+Inf";
        values.push({
          metricName: `${name}_bucket`,
          labels: { le, ...s.labels } as LabelValues<T>,
          value: cumulative,
        });
      }
      values.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${name}_count`, labels: s.labels, value: s.count });
    }
    // prom-client's types declare `type` as a numeric enum; at run time (and in its own histograms) it is the string.
    const type = "histogram" as unknown as HistogramData<T>["type"];
    return { name, help, type, values, aggregator: "sum", collect: () => {} };
  }

  /** What the registry prints (prom-client prefers it to `get`). */
  getForPromString(): Promise<HistogramData<T>> {
    return this.get();
  }
}

/**
 * The service's Prometheus metrics, on a registry of its own (no global state). `close()` stops the
 * event-loop monitor.
 */
export function createMetrics() {
  const registry = new Registry();
  const requests = new Counter({
    name: "workbench_http_requests_total",
    help: "HTTP requests by route, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "workbench_http_request_duration_seconds",
    help: "HTTP request latency by route and status",
    labelNames: ["route", "status"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const predictions = new Counter({
    name: "workbench_predictions_total",
    help: "Predicted rows by class and model version",
    labelNames: ["class", "version"] as const,
    registers: [registry],
  });
  const rows = new Histogram({
    name: "workbench_batch_rows",
    help: "Rows per scoring request",
    buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000],
    registers: [registry],
  });
  const modelInfo = new Gauge({
    name: "workbench_model_info",
    help: "The model being served (value 1)",
    labelNames: ["name", "version", "alias", "run_id"] as const,
    registers: [registry],
  });
  const swaps = new Counter({
    name: "workbench_model_swaps_total",
    help: "Model hot swaps",
    registers: [registry],
  });
  const errors = new Counter({
    name: "workbench_http_errors_total",
    help: "Error answers by route and error code (BATCH_TOO_LARGE, INVALID_INPUT, ...)",
    labelNames: ["route", "error_code"] as const,
    registers: [registry],
  });
  const schemaWarnings = new Counter({
    name: "workbench_schema_warnings_total",
    help: "Input adjusted to the signature as MLflow does (default mode): extra columns ignored, values converted, non-integers for long columns, missing values in required columns",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  // Input quality. `feature` is a signature column (or _unknown / _row, see serving/input-signals.ts): bounded.
  const featureViolations = new Counter({
    name: "workbench_feature_violations_total",
    help: "Input values the checks refused (422) or adjusted (schema warnings), by feature and reason",
    labelNames: ["feature", "reason"] as const,
    registers: [registry],
  });
  const outOfRange = new Counter({
    name: "workbench_feature_out_of_range_total",
    help: "Scored numeric values outside the served model's reference profile [min, max], by feature",
    labelNames: ["feature"] as const,
    registers: [registry],
  });
  const unseenCategory = new Counter({
    name: "workbench_feature_unseen_category_total",
    help: "Scored categories absent from the served model's reference profile, by feature",
    labelNames: ["feature"] as const,
    registers: [registry],
  });
  const rowsScored = new Counter({
    name: "workbench_rows_scored_total",
    help: "Rows scored, by model version (the denominator of the data-quality rates)",
    labelNames: ["version"] as const,
    registers: [registry],
  });
  const predictionScore = new BulkHistogram({
    name: "workbench_prediction_score",
    help: "Scores of the rows scored: the positive class's probability (binary), the top class's (multiclass)",
    labelNames: ["version"] as const,
    buckets: SCORE_BUCKETS,
    registers: [registry],
  });
  // Drift of the scored inputs against the reference profile (serving/drift-gauge.ts), set at each check.
  const driftShare = new Gauge({
    name: "workbench_drift_share",
    help: "Share of the checked features that drifted in the last drift window",
    registers: [registry],
  });
  const datasetDrift = new Gauge({
    name: "workbench_dataset_drift",
    help: "1 when the last drift window drifted as a whole (drift share >= the dataset drift share), else 0",
    registers: [registry],
  });
  const featureDriftScore = new Gauge({
    name: "workbench_feature_drift_score",
    help: "Last drift window: the test's p-value (ks, chi2, z) or the distance (wasserstein, jensenshannon, psi), by feature",
    labelNames: ["feature", "test"] as const,
    registers: [registry],
  });
  const featureDrift = new Gauge({
    name: "workbench_feature_drift",
    help: "Last drift window: 1 when the feature drifted, else 0",
    labelNames: ["feature"] as const,
    registers: [registry],
  });
  const predictionDrift = new Gauge({
    name: "workbench_prediction_drift",
    help: "Last drift window: 1 when the model's outputs drifted against its validation predictions, by output (label, score)",
    labelNames: ["output"] as const,
    registers: [registry],
  });
  const predictionDriftScore = new Gauge({
    name: "workbench_prediction_drift_score",
    help: "Last drift window: the test's p-value or the distance of the model's outputs, by output (label, score)",
    labelNames: ["output", "test"] as const,
    registers: [registry],
  });
  const driftWindowRows = new Gauge({
    name: "workbench_drift_window_rows",
    help: "Rows in the last drift window checked",
    registers: [registry],
  });
  const driftLastCheck = new Gauge({
    name: "workbench_drift_last_check_timestamp_seconds",
    help: "When the last drift check ran (Unix seconds)",
    registers: [registry],
  });
  // Shadow (A/B): the challenger scores a share of the requests after the champion answered.
  const shadowRequests = new Counter({
    name: "workbench_shadow_requests_total",
    help: "Requests the shadow (challenger) model scored, by its version",
    labelNames: ["version"] as const,
    registers: [registry],
  });
  const shadowRows = new Counter({
    name: "workbench_shadow_rows_total",
    help: "Rows the shadow (challenger) model scored, by its version (the disagreement rate's denominator)",
    labelNames: ["version"] as const,
    registers: [registry],
  });
  const shadowDisagreements = new Counter({
    name: "workbench_shadow_disagreements_total",
    help: "Rows whose shadow (challenger) label differs from the champion's, by the challenger's version",
    labelNames: ["version"] as const,
    registers: [registry],
  });
  const shadowErrors = new Counter({
    name: "workbench_shadow_errors_total",
    help: "Shadow scorings that failed (the answer, from the champion, was not affected)",
    registers: [registry],
  });
  // What a client sees as a stall: the longest time the event loop was blocked between two scrapes.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  new Gauge({
    name: "workbench_event_loop_delay_max_seconds",
    help: "Longest event-loop delay since the previous scrape",
    registers: [registry],
    collect() {
      this.set(loop.max / 1e9);
      loop.reset();
    },
  });
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory of the service process",
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  const close = () => loop.disable();
  return {
    registry,
    requests,
    latency,
    predictions,
    rows,
    modelInfo,
    swaps,
    errors,
    schemaWarnings,
    featureViolations,
    outOfRange,
    unseenCategory,
    rowsScored,
    predictionScore,
    driftShare,
    datasetDrift,
    featureDriftScore,
    featureDrift,
    predictionDrift,
    predictionDriftScore,
    driftWindowRows,
    driftLastCheck,
    shadowRequests,
    shadowRows,
    shadowDisagreements,
    shadowErrors,
    close,
  };
}

export type ServiceMetrics = ReturnType<typeof createMetrics>;
