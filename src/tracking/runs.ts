import { z } from "zod";
import { type BatchInput, chunkBatch, type MetricPoint, toWireBatch, toWireMetric } from "./batch.js";
import type { HttpTransport } from "./http.js";
import { paginate } from "./paginate.js";
import type { DatasetInput, Metric, Page, Run, RunInfo, RunStatus, StringMap, ViewType } from "./types.js";
import { checkMetric, checkParam, checkTag, type NonFiniteMetricPolicy } from "./validation.js";
import { emptySchema, metricSchema, pageSchema, runInfoSchema, runSchema, toKeyValues } from "./wire.js";

const API = "/api/2.0/mlflow";

export interface CreateRunOptions {
  experimentId: string;
  runName?: string;
  /** Milliseconds since the epoch; defaults to now. */
  startTime?: number;
  userId?: string;
  tags?: StringMap;
}

export interface RunSearch {
  experimentIds: readonly string[];
  /** MLflow filter syntax, e.g. "metrics.auc > 0.7 and params.model = 'mlp'". */
  filter?: string;
  orderBy?: readonly string[];
  viewType?: ViewType;
  pageSize?: number;
  limit?: number;
}

export interface RunsApiOptions {
  nonFiniteMetrics: NonFiniteMetricPolicy;
  /** Parallel log-batch requests when a batch spans several chunks. */
  batchConcurrency: number;
  now: () => number;
}

/** Runs: lifecycle, search, params/metrics/tags (single and batched), metric history, inputs and outputs. */
export class RunsApi {
  constructor(
    private readonly http: HttpTransport,
    private readonly options: RunsApiOptions,
  ) {}

  async create(options: CreateRunOptions): Promise<Run> {
    for (const [key, value] of Object.entries(options.tags ?? {})) checkTag(key, value);
    const res = await this.http.json({
      method: "POST",
      path: `${API}/runs/create`,
      body: {
        experiment_id: options.experimentId,
        run_name: options.runName,
        start_time: options.startTime ?? this.options.now(),
        user_id: options.userId,
        tags: toKeyValues(options.tags),
      },
      schema: z.object({ run: runSchema }),
    });
    return res.run;
  }

  async get(runId: string): Promise<Run> {
    const res = await this.http.json({
      method: "GET",
      path: `${API}/runs/get`,
      query: { run_id: runId },
      schema: z.object({ run: runSchema }),
    });
    return res.run;
  }

  async update(
    runId: string,
    changes: { status?: RunStatus; endTime?: number; runName?: string },
  ): Promise<RunInfo> {
    const res = await this.http.json({
      method: "POST",
      path: `${API}/runs/update`,
      body: { run_id: runId, status: changes.status, end_time: changes.endTime, run_name: changes.runName },
      schema: z.object({ run_info: runInfoSchema }),
    });
    return res.run_info;
  }

  /** Marks a run terminated with `status` at `endTime` (default now). */
  end(runId: string, status: Exclude<RunStatus, "RUNNING" | "SCHEDULED"> = "FINISHED", endTime?: number) {
    return this.update(runId, { status, endTime: endTime ?? this.options.now() });
  }

  async delete(runId: string): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/runs/delete`,
      body: { run_id: runId },
      schema: emptySchema,
    });
  }

  async restore(runId: string): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/runs/restore`,
      body: { run_id: runId },
      schema: emptySchema,
    });
  }

  async searchPage(query: RunSearch, pageToken?: string): Promise<Page<Run>> {
    return this.http.json({
      method: "POST",
      path: `${API}/runs/search`,
      body: {
        experiment_ids: query.experimentIds,
        filter: query.filter,
        order_by: query.orderBy,
        run_view_type: query.viewType,
        max_results: query.pageSize ?? 1000,
        page_token: pageToken,
      },
      schema: pageSchema("runs", runSchema),
    });
  }

  /** Every matching run, fetched page by page. */
  search(query: RunSearch): AsyncGenerator<Run, void, undefined> {
    return paginate((token) => this.searchPage(query, token), query.limit);
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    checkTag(key, value);
    await this.http.json({
      method: "POST",
      path: `${API}/runs/set-tag`,
      body: { run_id: runId, key, value },
      schema: emptySchema,
    });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/runs/delete-tag`,
      body: { run_id: runId, key },
      schema: emptySchema,
    });
  }

  async logParam(runId: string, key: string, value: string | number | boolean): Promise<void> {
    const text = String(value);
    checkParam(key, text);
    await this.http.json({
      method: "POST",
      path: `${API}/runs/log-parameter`,
      body: { run_id: runId, key, value: text },
      schema: emptySchema,
    });
  }

  /** Logs one metric point; with `modelId` (and `dataset`) it is also one of that logged model's metrics. */
  async logMetric(
    runId: string,
    key: string,
    value: number,
    options: Omit<MetricPoint, "key" | "value"> = {},
  ) {
    const step = options.step ?? 0;
    checkMetric(key, value, step, this.options.nonFiniteMetrics);
    await this.http.json({
      method: "POST",
      path: `${API}/runs/log-metric`,
      body: { run_id: runId, ...toWireMetric({ ...options, key, value, step }, this.options.now()) },
      schema: emptySchema,
    });
  }

  /**
   * Logs any number of metrics, params and tags, split into requests within the server's limits.
   * Everything is validated before the first request, so a bad value never leaves a half-logged batch.
   */
  async logBatch(runId: string, input: BatchInput): Promise<{ requests: number }> {
    for (const m of input.metrics ?? [])
      checkMetric(m.key, m.value, m.step ?? 0, this.options.nonFiniteMetrics);
    for (const [key, value] of Object.entries(input.params ?? {})) checkParam(key, String(value));
    for (const [key, value] of Object.entries(input.tags ?? {})) checkTag(key, value);
    const chunks = chunkBatch(toWireBatch(input, this.options.now()));
    const send = (chunk: (typeof chunks)[number]) =>
      this.http.json({
        method: "POST",
        path: `${API}/runs/log-batch`,
        body: { run_id: runId, ...chunk },
        schema: emptySchema,
      });
    // Chunks carrying params or tags go one by one, so that a param conflict fails before metrics pour in;
    // metric-only chunks may then go in parallel.
    const firstMetricsOnly = chunks.findIndex((c) => c.params.length === 0 && c.tags.length === 0);
    let next = 0;
    while (next < (firstMetricsOnly === -1 ? chunks.length : firstMetricsOnly)) await send(chunks[next++]!);
    const worker = async () => {
      while (next < chunks.length) await send(chunks[next++]!);
    };
    await Promise.all(Array.from({ length: Math.max(1, this.options.batchConcurrency) }, worker));
    return { requests: chunks.length };
  }

  /** Convenience over logBatch for a list of metric points. */
  logMetrics(runId: string, metrics: readonly MetricPoint[]) {
    return this.logBatch(runId, { metrics });
  }

  async metricHistoryPage(
    runId: string,
    key: string,
    pageToken?: string,
    pageSize = 25000,
  ): Promise<Page<Metric>> {
    return this.http.json({
      method: "GET",
      path: `${API}/metrics/get-history`,
      query: { run_id: runId, metric_key: key, max_results: pageSize, page_token: pageToken },
      schema: pageSchema("metrics", metricSchema),
    });
  }

  /** Every logged value of one metric, in the server's order, fetched page by page. */
  metricHistory(runId: string, key: string, pageSize?: number): AsyncGenerator<Metric, void, undefined> {
    return paginate((token) => this.metricHistoryPage(runId, key, token, pageSize));
  }

  /** Records datasets (and models) a run consumed. */
  async logInputs(
    runId: string,
    datasets: readonly DatasetInput[],
    models: readonly string[] = [],
  ): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/runs/log-inputs`,
      body: {
        run_id: runId,
        datasets: datasets.map((d) => ({
          tags: toKeyValues(d.tags),
          dataset: {
            name: d.dataset.name,
            digest: d.dataset.digest,
            source_type: d.dataset.sourceType,
            source: d.dataset.source,
            schema: d.dataset.schema,
            profile: d.dataset.profile,
          },
        })),
        models: models.map((modelId) => ({ model_id: modelId })),
      },
      schema: emptySchema,
    });
  }

  /** Records logged models a run produced (MLflow 3 run outputs). */
  async logOutputs(runId: string, models: readonly { modelId: string; step?: number }[]): Promise<void> {
    await this.http.json({
      method: "POST",
      path: `${API}/runs/outputs`,
      body: { run_id: runId, models: models.map((m) => ({ model_id: m.modelId, step: m.step ?? 0 })) },
      schema: emptySchema,
    });
  }
}
