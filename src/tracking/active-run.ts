import type { Logger } from "../shared/logger.js";
import type { BatchInput, MetricPoint } from "./batch.js";
import type { MlflowClient } from "./client.js";
import type { Heartbeat } from "./heartbeat.js";
import { logAndRegister } from "./log-model.js";
import {
  type ChildRunOptions,
  type EndableTracker,
  type EndStatus,
  type ModelRef,
  type ModelToLog,
  newClientId,
  type ParamValue,
  type RunStarter,
  type Tracker,
} from "./tracker.js";
import type { DatasetInput, RunInfo, StringMap } from "./types.js";

/** A run in progress on the MLflow server: the direct Tracker. Obtained from withRun. */
export class ActiveRun implements EndableTracker {
  private ended = false;
  readonly clientRunId: string;

  constructor(
    readonly client: MlflowClient,
    readonly info: RunInfo,
    private readonly logger: Logger,
    private readonly options: {
      starter: RunStarter;
      clientRunId?: string;
      heartbeat?: Heartbeat;
      /** The unbound logger that child runs derive theirs from. */
      baseLogger?: Logger;
    },
  ) {
    this.clientRunId = options.clientRunId ?? newClientId();
  }

  get runId(): string {
    return this.info.runId;
  }

  get serverRunId(): string {
    return this.info.runId;
  }

  get experimentId(): string {
    return this.info.experimentId;
  }

  get spooled(): boolean {
    return false;
  }

  /** The run's page in the MLflow UI. */
  get url(): string {
    return this.client.runUrl(this.info.experimentId, this.info.runId);
  }

  async logParam(key: string, value: ParamValue): Promise<void> {
    await this.client.runs.logParam(this.runId, key, value);
  }

  async logParams(params: Readonly<Record<string, ParamValue>>): Promise<void> {
    await this.client.runs.logBatch(this.runId, { params });
  }

  async logMetric(key: string, value: number, step?: number, timestamp?: number): Promise<void> {
    await this.client.runs.logMetric(this.runId, key, value, {
      ...(step === undefined ? {} : { step }),
      ...(timestamp === undefined ? {} : { timestamp }),
    });
  }

  async logMetrics(metrics: readonly MetricPoint[]): Promise<void> {
    await this.client.runs.logBatch(this.runId, { metrics });
  }

  async logBatch(batch: BatchInput): Promise<void> {
    await this.client.runs.logBatch(this.runId, batch);
  }

  async setTag(key: string, value: string): Promise<void> {
    await this.client.runs.setTag(this.runId, key, value);
  }

  async setTags(tags: StringMap): Promise<void> {
    await this.client.runs.logBatch(this.runId, { tags });
  }

  async logInputs(datasets: readonly DatasetInput[]): Promise<void> {
    await this.client.runs.logInputs(this.runId, datasets);
  }

  logArtifact(localFile: string, artifactPath?: string): Promise<string> {
    return this.client.artifacts.uploadFile(this.info.artifactUri, localFile, artifactPath);
  }

  logArtifacts(localDir: string, artifactPath?: string): Promise<string[]> {
    return this.client.artifacts.uploadDirectory(this.info.artifactUri, localDir, artifactPath);
  }

  logModel(model: ModelToLog): Promise<ModelRef> {
    return this.logModelAs(model, newClientId());
  }

  /** logModel with a given client id, so that a retry from the spool completes the same registration. */
  async logModelAs(model: ModelToLog, clientModelId: string): Promise<ModelRef> {
    const registration = await logAndRegister(this.client, {
      ...model,
      runId: this.runId,
      experimentId: this.experimentId,
      clientModelId,
    });
    return {
      clientModelId,
      modelId: registration.modelId,
      version: registration.version.version,
      url: this.client.modelVersionUrl(model.modelName, registration.version.version),
      spooled: false,
    };
  }

  child<T>(options: ChildRunOptions, fn: (run: Tracker) => Promise<T>): Promise<T> {
    return this.options.starter.withRun(
      {
        logger: this.options.baseLogger ?? this.logger,
        ...options,
        experimentId: this.experimentId,
        parentRunId: this.runId,
      },
      fn,
      this,
    );
  }

  /** Stops the heartbeat (the run is handed over to the spool, or ends). */
  stopHeartbeat(): void {
    this.options.heartbeat?.stop();
  }

  /** Ends the run once; later calls are no-ops. */
  async end(status: EndStatus, endTime?: number): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.stopHeartbeat();
    await this.client.runs.end(this.runId, status, endTime);
    this.logger.info({ status }, "run ended");
  }
}
