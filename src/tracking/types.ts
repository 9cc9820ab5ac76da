/**
 * Domain types of the tracking client: camelCase, tags and params as records, no protobuf quirks.
 * The wire (snake_case) shapes live in wire.ts and never leave src/tracking.
 */

export type RunStatus = "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED";
export type LifecycleStage = "active" | "deleted";
export type ViewType = "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";
export type LoggedModelStatus = "PENDING" | "READY" | "FAILED" | "UNSPECIFIED";
export type ModelVersionStatus = "PENDING_REGISTRATION" | "FAILED_REGISTRATION" | "READY";

/** Tags and params are string maps on every entity. */
export type StringMap = Record<string, string>;

export interface Experiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime: number | undefined;
  lastUpdateTime: number | undefined;
  tags: StringMap;
}

export interface Metric {
  key: string;
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  step: number;
  datasetName?: string | undefined;
  datasetDigest?: string | undefined;
  modelId?: string | undefined;
  runId?: string | undefined;
}

export interface RunInfo {
  runId: string;
  runName: string;
  experimentId: string;
  userId: string;
  status: RunStatus;
  startTime: number | undefined;
  endTime: number | undefined;
  artifactUri: string;
  lifecycleStage: LifecycleStage;
}

export interface RunData {
  /** Latest value of each metric. */
  metrics: Metric[];
  params: StringMap;
  tags: StringMap;
}

/** An MLflow dataset reference, as logged with a run's inputs. */
export interface Dataset {
  name: string;
  digest: string;
  /** e.g. "local", "http", "code". */
  sourceType: string;
  /** JSON describing where the data came from. */
  source: string;
  /** JSON (MLflow uses {"mlflow_colspec": [...]}) */
  schema?: string | undefined;
  /** JSON summary such as row counts. */
  profile?: string | undefined;
}

export interface DatasetInput {
  dataset: Dataset;
  /** Conventionally { "mlflow.data.context": "train" | "validation" | "test" | ... } */
  tags: StringMap;
}

export interface RunInputs {
  datasetInputs: DatasetInput[];
  modelInputs: { modelId: string }[];
}

export interface RunOutputs {
  modelOutputs: { modelId: string; step: number }[];
}

export interface Run {
  info: RunInfo;
  data: RunData;
  inputs: RunInputs;
  outputs: RunOutputs;
}

export interface FileInfo {
  /** Relative to the listed root (the run's or logged model's artifact root). */
  path: string;
  isDir: boolean;
  fileSize: number | undefined;
}

export interface LoggedModel {
  modelId: string;
  experimentId: string;
  name: string;
  artifactUri: string;
  status: LoggedModelStatus;
  statusMessage: string | undefined;
  creationTimestampMs: number | undefined;
  lastUpdatedTimestampMs: number | undefined;
  modelType: string | undefined;
  sourceRunId: string | undefined;
  tags: StringMap;
  params: StringMap;
  metrics: Metric[];
  registrations: { name: string; version: string }[];
}

export interface ModelVersion {
  name: string;
  version: string;
  creationTimestamp: number | undefined;
  lastUpdatedTimestamp: number | undefined;
  userId: string | undefined;
  description: string | undefined;
  source: string;
  runId: string | undefined;
  runLink: string | undefined;
  modelId: string | undefined;
  status: ModelVersionStatus;
  statusMessage: string | undefined;
  tags: StringMap;
  aliases: string[];
}

export interface RegisteredModel {
  name: string;
  creationTimestamp: number | undefined;
  lastUpdatedTimestamp: number | undefined;
  description: string | undefined;
  latestVersions: ModelVersion[];
  tags: StringMap;
  /** alias → version */
  aliases: StringMap;
}

/** One page of a paginated listing. */
export interface Page<T> {
  items: T[];
  nextPageToken: string | undefined;
}
