import { randomUUID } from "node:crypto";
import { TrackingError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { BatchInput, MetricPoint } from "./batch.js";
import type { SourceType } from "./source-tags.js";
import type { DatasetInput, RunStatus, StringMap } from "./types.js";

/**
 * The Tracker seam: what a pipeline may do with a run, whoever records it. ActiveRun writes to MLflow,
 * JournaledRun to the local write-ahead spool, SpoolingRun to MLflow until the server is lost, then to the
 * spool. Pipelines see only this interface.
 */

export type EndStatus = Extract<RunStatus, "FINISHED" | "FAILED" | "KILLED">;
export type ParamValue = string | number | boolean;

export interface WithRunOptions {
  /** Experiment to log into: by id, or by name (created when missing). */
  experimentId?: string;
  experimentName?: string;
  runName?: string;
  tags?: StringMap;
  /** Makes this a child run (nested runs in the MLflow UI). */
  parentRunId?: string;
  sourceName?: string;
  sourceType?: SourceType;
  /** Markdown shown as the run's description. */
  description?: string;
  logger?: Logger;
}

export type ChildRunOptions = Omit<WithRunOptions, "experimentId" | "experimentName" | "parentRunId">;

/** A model package to log as an MLflow 3 logged model of the run and register as a new version. */
export interface ModelToLog {
  /** Local model package directory. */
  dir: string;
  modelName: string;
  alias: string;
  modelType: string;
  params?: StringMap;
  tags?: StringMap;
  description?: string;
  /**
   * The model's metrics (e.g. test_roc_auc on the test split's dataset): logged to the run with the logged
   * model's id, so that they are the model's metrics in MLflow 3 (`search_logged_models` filters on them).
   * Give them the timestamps of the same points logged to the run, and the run keeps one point each.
   */
  metrics?: readonly ModelMetric[];
}

/** A metric of a logged model: the model id is filled in once the logged model exists. */
export type ModelMetric = Omit<MetricPoint, "modelId">;

/** Fixes the timestamps of a model's metrics (now when unset): a replay must send the same points. */
export function stampModelMetrics(model: ModelToLog, now: number): ModelToLog {
  if (model.metrics === undefined) return model;
  return {
    ...model,
    metrics: model.metrics.map((m) => ({ ...m, step: m.step ?? 0, timestamp: m.timestamp ?? now })),
  };
}

/** What was registered; while the registration waits in the spool, modelId and version are PENDING. */
export interface ModelRef {
  clientModelId: string;
  modelId: string;
  version: string;
  url: string;
  spooled: boolean;
}

export const PENDING = "pending";

/** A run in progress, as the pipelines see it. */
export interface Tracker {
  /** The server's run id, or the client id while the run exists only in the spool. */
  readonly runId: string;
  /** Generated here (uuid hex), recorded as the `workbench.client_run_id` tag: the key that sync matches on. */
  readonly clientRunId: string;
  /** The server's run id once known. */
  readonly serverRunId: string | undefined;
  /** Empty while the experiment is known only by name (offline). */
  readonly experimentId: string;
  /** The run's page in the MLflow UI, or its journal file while spooled. */
  readonly url: string;
  /** True once this run's calls go to the local journal. */
  readonly spooled: boolean;
  logParam(key: string, value: ParamValue): Promise<void>;
  logParams(params: Readonly<Record<string, ParamValue>>): Promise<void>;
  logMetric(key: string, value: number, step?: number): Promise<void>;
  logMetrics(metrics: readonly MetricPoint[]): Promise<void>;
  logBatch(batch: BatchInput): Promise<void>;
  setTag(key: string, value: string): Promise<void>;
  setTags(tags: StringMap): Promise<void>;
  logInputs(datasets: readonly DatasetInput[]): Promise<void>;
  /** Uploads a file under `artifactPath`; returns its path relative to the run's artifact root. */
  logArtifact(localFile: string, artifactPath?: string): Promise<string>;
  /** Uploads a directory tree under `artifactPath`; returns the relative paths. */
  logArtifacts(localDir: string, artifactPath?: string): Promise<string[]>;
  /** Logs a model package as a logged model of this run and registers it with an alias. */
  logModel(model: ModelToLog): Promise<ModelRef>;
  /** Runs `fn` inside a child run of this one. */
  child<T>(options: ChildRunOptions, fn: (run: Tracker) => Promise<T>): Promise<T>;
}

/** A tracker its owner can end (withRun and the signal handlers do; pipelines never do). */
export interface EndableTracker extends Tracker {
  /** Ends the run once; later calls are no-ops. */
  end(status: EndStatus): Promise<void>;
}

/** Starts child runs: implemented by the TrackingSession, so that runs need not import it. */
export interface RunStarter {
  withRun<T>(options: WithRunOptions, fn: (run: Tracker) => Promise<T>, parent?: Tracker): Promise<T>;
}

/** Tags the workbench records on its runs (MLflow's own stay in source-tags.ts). */
export const WORKBENCH_TAGS = {
  clientRunId: "workbench.client_run_id",
  clientModelId: "workbench.client_model_id",
  heartbeat: "workbench.heartbeat",
  host: "workbench.host",
  pid: "workbench.pid",
  pidStart: "workbench.pid_start",
  endNote: "workbench.end_note",
  error: "workbench.error",
} as const;

/** A fresh client id: 32 hex characters, like MLflow's own run ids. */
export function newClientId(): string {
  return randomUUID().replace(/-/g, "");
}

/** The server could not be reached within the retry budget: what sends a run to the spool. */
export function isUnreachable(error: unknown): error is TrackingError {
  return (
    error instanceof TrackingError &&
    (error.code === "TRACKING_UNREACHABLE" || error.code === "TRACKING_TIMEOUT")
  );
}

/** Joins artifact path segments the way the artifacts API does (no empty or `.` segments). */
export function joinArtifactPath(...parts: (string | undefined)[]): string {
  return parts
    .filter((p): p is string => p !== undefined && p !== "")
    .flatMap((p) => p.split("/"))
    .filter((segment) => segment !== "" && segment !== ".")
    .join("/");
}
