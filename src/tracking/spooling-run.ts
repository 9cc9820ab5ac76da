import type { Logger } from "../shared/logger.js";
import type { ActiveRun } from "./active-run.js";
import type { BatchInput, MetricPoint } from "./batch.js";
import type { JournaledRun } from "./journaled-run.js";
import {
  type ChildRunOptions,
  type EndableTracker,
  type EndStatus,
  isUnreachable,
  type ModelRef,
  type ModelToLog,
  newClientId,
  type ParamValue,
  type RunStarter,
  stampModelMetrics,
  type Tracker,
} from "./tracker.js";
import type { DatasetInput, StringMap } from "./types.js";

export interface SpoolingRunOptions {
  starter: RunStarter;
  /** Opens this run's journal (the session marks itself degraded: later runs start in the spool). */
  handOver: (reason: unknown) => Promise<JournaledRun>;
  /** True once the session lost the server: calls go straight to the journal, without retry waits. */
  degraded: () => boolean;
  now: () => number;
  logger: Logger;
  baseLogger: Logger;
}

/**
 * A run that logs to MLflow and, when the server stays unreachable beyond the retry budget, carries on in
 * the local journal for the rest of its life. What the server acknowledged stays there; the failed call and
 * everything after it go to the journal, with the same metric timestamps and model client id, so that sync
 * can tell what already arrived (an in-flight call may have reached the server before the connection died).
 */
export class SpoolingRun implements EndableTracker {
  private journal: JournaledRun | undefined;
  private switching: Promise<JournaledRun> | undefined;
  private ended = false;

  constructor(
    private readonly direct: ActiveRun,
    private readonly options: SpoolingRunOptions,
  ) {}

  get runId(): string {
    return this.direct.runId;
  }

  get clientRunId(): string {
    return this.direct.clientRunId;
  }

  get serverRunId(): string {
    return this.direct.runId;
  }

  get experimentId(): string {
    return this.direct.experimentId;
  }

  get url(): string {
    return this.direct.url;
  }

  get spooled(): boolean {
    return this.journal !== undefined;
  }

  logParam(key: string, value: ParamValue): Promise<void> {
    return this.logBatch({ params: { [key]: value } });
  }

  logParams(params: Readonly<Record<string, ParamValue>>): Promise<void> {
    return this.logBatch({ params });
  }

  logMetric(key: string, value: number, step?: number): Promise<void> {
    const timestamp = this.options.now();
    return this.route(
      () => this.direct.logMetric(key, value, step, timestamp),
      (journal) => journal.logMetric(key, value, step, timestamp),
    );
  }

  logMetrics(metrics: readonly MetricPoint[]): Promise<void> {
    return this.logBatch({ metrics });
  }

  logBatch(batch: BatchInput): Promise<void> {
    const now = this.options.now();
    // Timestamps are fixed before the first attempt: sync deduplicates on (key, step, timestamp).
    const stamped: BatchInput = {
      ...batch,
      ...(batch.metrics === undefined
        ? {}
        : {
            metrics: batch.metrics.map((m) => ({ ...m, step: m.step ?? 0, timestamp: m.timestamp ?? now })),
          }),
    };
    return this.route(
      () => this.direct.logBatch(stamped),
      (journal) => journal.logBatch(stamped),
    );
  }

  setTag(key: string, value: string): Promise<void> {
    return this.logBatch({ tags: { [key]: value } });
  }

  setTags(tags: StringMap): Promise<void> {
    return this.logBatch({ tags });
  }

  logInputs(datasets: readonly DatasetInput[]): Promise<void> {
    return this.route(
      () => this.direct.logInputs(datasets),
      (journal) => journal.logInputs(datasets),
    );
  }

  logArtifact(localFile: string, artifactPath?: string): Promise<string> {
    return this.route(
      () => this.direct.logArtifact(localFile, artifactPath),
      (journal) => journal.logArtifact(localFile, artifactPath),
    );
  }

  logArtifacts(localDir: string, artifactPath?: string): Promise<string[]> {
    return this.route(
      () => this.direct.logArtifacts(localDir, artifactPath),
      (journal) => journal.logArtifacts(localDir, artifactPath),
    );
  }

  logModel(model: ModelToLog): Promise<ModelRef> {
    const clientModelId = newClientId();
    // Like logBatch: the model's metric timestamps are fixed before the first attempt.
    const stamped = stampModelMetrics(model, this.options.now());
    return this.route(
      () => this.direct.logModelAs(stamped, clientModelId),
      (journal) => journal.logModelAs(stamped, clientModelId),
    );
  }

  child<T>(options: ChildRunOptions, fn: (run: Tracker) => Promise<T>): Promise<T> {
    return this.options.starter.withRun(
      {
        logger: this.options.baseLogger,
        ...options,
        experimentId: this.experimentId,
        parentRunId: this.runId,
      },
      fn,
      this,
    );
  }

  /**
   * Ends the run once. When the server does not take the end status, for whatever reason, the status goes
   * to the journal: a run is never left RUNNING because its last call failed.
   */
  async end(status: EndStatus): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const endTime = this.options.now();
    if (this.journal === undefined && !this.options.degraded()) {
      try {
        await this.direct.end(status, endTime);
        return;
      } catch (error) {
        this.options.logger.warn(
          { err: error, status },
          "the server did not take the end status: spooling it",
        );
        await (await this.switchOver(error)).end(status, endTime);
        return;
      }
    }
    this.direct.stopHeartbeat();
    await (await this.switchOver(undefined)).end(status, endTime);
  }

  private async route<T>(
    online: () => Promise<T>,
    spooled: (journal: JournaledRun) => Promise<T>,
  ): Promise<T> {
    if (this.journal === undefined && !this.options.degraded()) {
      try {
        return await online();
      } catch (error) {
        if (!isUnreachable(error)) throw error;
        return spooled(await this.switchOver(error));
      }
    }
    return spooled(await this.switchOver(undefined));
  }

  private switchOver(reason: unknown): Promise<JournaledRun> {
    this.switching ??= this.options.handOver(reason).then(
      (journal) => {
        this.journal = journal;
        this.direct.stopHeartbeat();
        return journal;
      },
      (error: unknown) => {
        this.switching = undefined;
        throw error;
      },
    );
    return this.switching;
  }
}
