import { LIMITS } from "./validation.js";
import { encodeDouble } from "./wire.js";

/** The dataset a metric was computed on (MLflow 3 links model metrics to a dataset by name and digest). */
export interface MetricDataset {
  name: string;
  digest: string;
}

export interface MetricPoint {
  key: string;
  value: number;
  step?: number;
  /** Milliseconds since the epoch; defaults to the time of logging. */
  timestamp?: number;
  /** The MLflow 3 logged model the value describes: it then also appears in the model's metrics. */
  modelId?: string;
  dataset?: MetricDataset;
}

export interface BatchInput {
  metrics?: readonly MetricPoint[];
  params?: Readonly<Record<string, string | number | boolean>>;
  tags?: Readonly<Record<string, string>>;
}

/** One metric of runs/log-batch (and runs/log-metric), in wire form. */
export interface WireMetric {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
  model_id?: string;
  dataset_name?: string;
  dataset_digest?: string;
}

/** One request body of runs/log-batch, in wire form. */
export interface WireBatch {
  metrics: WireMetric[];
  params: { key: string; value: string }[];
  tags: { key: string; value: string }[];
}

export interface ChunkLimits {
  metrics: number;
  params: number;
  tags: number;
  entities: number;
  bytes: number;
}

export const SERVER_LIMITS: ChunkLimits = {
  metrics: LIMITS.metricsPerBatch,
  params: LIMITS.paramsPerBatch,
  tags: LIMITS.tagsPerBatch,
  entities: LIMITS.entitiesPerBatch,
  bytes: LIMITS.batchBytes,
};

/** Room left for the envelope `{"run_id":"…","metrics":[],"params":[],"tags":[]}`. */
const ENVELOPE_BYTES = 200;

/**
 * Splits a batch into request bodies that respect every server limit: counts per kind, total entities,
 * and the ~1 MB body size. Params and tags go first (as MLflow's client sends them), metrics fill the rest.
 */
export function chunkBatch(batch: WireBatch, limits: ChunkLimits = SERVER_LIMITS): WireBatch[] {
  const chunks: WireBatch[] = [];
  let current: WireBatch = { metrics: [], params: [], tags: [] };
  let bytes = ENVELOPE_BYTES;
  const flush = () => {
    if (current.metrics.length + current.params.length + current.tags.length > 0) chunks.push(current);
    current = { metrics: [], params: [], tags: [] };
    bytes = ENVELOPE_BYTES;
  };
  const add = <K extends keyof WireBatch>(kind: K, item: WireBatch[K][number], cap: number) => {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    const total = current.metrics.length + current.params.length + current.tags.length;
    if (current[kind].length >= cap || total >= limits.entities || bytes + size > limits.bytes) flush();
    (current[kind] as WireBatch[K][number][]).push(item);
    bytes += size;
  };
  for (const param of batch.params) add("params", param, limits.params);
  for (const tag of batch.tags) add("tags", tag, limits.tags);
  for (const metric of batch.metrics) add("metrics", metric, limits.metrics);
  flush();
  return chunks;
}

/** One metric point in wire form; the timestamp defaults to `now`, the step to 0. */
export function toWireMetric(m: MetricPoint, now: number): WireMetric {
  return {
    key: m.key,
    value: encodeDouble(m.value),
    timestamp: m.timestamp ?? now,
    step: m.step ?? 0,
    ...(m.modelId === undefined ? {} : { model_id: m.modelId }),
    ...(m.dataset === undefined ? {} : { dataset_name: m.dataset.name, dataset_digest: m.dataset.digest }),
  };
}

/** Converts user input to wire form; timestamps default to `now`, steps to 0. */
export function toWireBatch(input: BatchInput, now: number): WireBatch {
  return {
    metrics: (input.metrics ?? []).map((m) => toWireMetric(m, now)),
    params: Object.entries(input.params ?? {}).map(([key, value]) => ({ key, value: String(value) })),
    tags: Object.entries(input.tags ?? {}).map(([key, value]) => ({ key, value })),
  };
}
