import { errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { silentLogger } from "../shared/logger.js";
import type { BatchInput, MetricPoint } from "./batch.js";
import type { MlflowClient } from "./client.js";
import { MLFLOW_TAGS, type SourceType, standardRunTags } from "./source-tags.js";
import type { DatasetInput, RunInfo, RunStatus, StringMap } from "./types.js";
import { LIMITS } from "./validation.js";

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

type EndStatus = Extract<RunStatus, "FINISHED" | "FAILED" | "KILLED">;

/** A run in progress: a handle that logs to it. Obtained from withRun. */
export class ActiveRun {
  private ended = false;

  constructor(
    readonly client: MlflowClient,
    readonly info: RunInfo,
    private readonly logger: Logger,
  ) {}

  get runId(): string {
    return this.info.runId;
  }

  get experimentId(): string {
    return this.info.experimentId;
  }

  /** The run's page in the MLflow UI. */
  get url(): string {
    return this.client.runUrl(this.info.experimentId, this.info.runId);
  }

  logParam(key: string, value: string | number | boolean) {
    return this.client.runs.logParam(this.runId, key, value);
  }

  logParams(params: Readonly<Record<string, string | number | boolean>>) {
    return this.client.runs.logBatch(this.runId, { params });
  }

  logMetric(key: string, value: number, step?: number) {
    return this.client.runs.logMetric(this.runId, key, value, step === undefined ? {} : { step });
  }

  logMetrics(metrics: readonly MetricPoint[]) {
    return this.client.runs.logBatch(this.runId, { metrics });
  }

  logBatch(batch: BatchInput) {
    return this.client.runs.logBatch(this.runId, batch);
  }

  setTag(key: string, value: string) {
    return this.client.runs.setTag(this.runId, key, value);
  }

  setTags(tags: StringMap) {
    return this.client.runs.logBatch(this.runId, { tags });
  }

  logInputs(datasets: readonly DatasetInput[]) {
    return this.client.runs.logInputs(this.runId, datasets);
  }

  /** Uploads a file under `artifactPath`; returns its path relative to the run's artifact root. */
  logArtifact(localFile: string, artifactPath?: string) {
    return this.client.artifacts.uploadFile(this.info.artifactUri, localFile, artifactPath);
  }

  /** Uploads a directory tree under `artifactPath`. */
  logArtifacts(localDir: string, artifactPath?: string) {
    return this.client.artifacts.uploadDirectory(this.info.artifactUri, localDir, artifactPath);
  }

  /** Runs `fn` inside a child run of this one. */
  child<T>(
    options: Omit<WithRunOptions, "experimentId" | "experimentName" | "parentRunId">,
    fn: (run: ActiveRun) => Promise<T>,
  ) {
    return withRun(this.client, { ...options, experimentId: this.experimentId, parentRunId: this.runId }, fn);
  }

  /** Ends the run once; later calls are no-ops. */
  async end(status: EndStatus): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    activeRuns.delete(this);
    if (activeRuns.size === 0) uninstallSignalHandlers();
    await this.client.runs.end(this.runId, status);
    this.logger.info({ status }, "run ended");
  }
}

// Runs in flight in this process: a signal marks each KILLED before the process goes down.
const activeRuns = new Set<ActiveRun>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;
let handlersInstalled = false;

function onSignal(signal: NodeJS.Signals): void {
  uninstallSignalHandlers();
  const runs = [...activeRuns];
  const deadline = new Promise((resolve) => setTimeout(resolve, 10_000).unref());
  void Promise.race([Promise.allSettled(runs.map((run) => run.end("KILLED"))), deadline]).finally(() => {
    // With our handler gone, the signal's default action (or the app's own handler) takes over.
    process.kill(process.pid, signal);
  });
}

function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of SIGNALS) process.once(signal, onSignal);
}

function uninstallSignalHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  for (const signal of SIGNALS) process.removeListener(signal, onSignal);
}

/**
 * Runs `fn` inside an MLflow run that always ends: FINISHED when `fn` resolves, FAILED when it throws
 * (the error is re-thrown), KILLED on SIGINT or SIGTERM. Records MLflow's standard source tags.
 *
 * @example
 * await withRun(client, { experimentName: "credit-default", runName: "baseline" }, async (run) => {
 *   await run.logParams({ lr: 0.01 });
 *   await run.logMetric("auc", 0.77);
 * });
 */
export async function withRun<T>(
  client: MlflowClient,
  options: WithRunOptions,
  fn: (run: ActiveRun) => Promise<T>,
): Promise<T> {
  const logger = options.logger ?? silentLogger();
  const experimentId =
    options.experimentId ?? (await client.experiments.getOrCreate(options.experimentName ?? "Default"));
  const tags: StringMap = {
    ...standardRunTags({
      ...(options.runName === undefined ? {} : { runName: options.runName }),
      ...(options.sourceName === undefined ? {} : { sourceName: options.sourceName }),
      ...(options.sourceType === undefined ? {} : { sourceType: options.sourceType }),
      ...(options.parentRunId === undefined ? {} : { parentRunId: options.parentRunId }),
    }),
    ...(options.description === undefined ? {} : { [MLFLOW_TAGS.note]: options.description }),
    ...options.tags,
  };
  const created = await client.runs.create({
    experimentId,
    tags,
    ...(options.runName === undefined ? {} : { runName: options.runName }),
    ...(tags[MLFLOW_TAGS.user] === undefined ? {} : { userId: tags[MLFLOW_TAGS.user] }),
  });
  const run = new ActiveRun(client, created.info, logger.child({ runId: created.info.runId }));
  activeRuns.add(run);
  installSignalHandlers();
  let result: T;
  try {
    result = await fn(run);
  } catch (error) {
    try {
      await run.setTag("workbench.error", errorMessage(error).slice(0, LIMITS.tagValueLength));
      await run.end("FAILED");
    } catch (endError) {
      logger.error({ runId: run.runId, err: endError }, "could not mark the run FAILED");
    }
    throw error;
  }
  await run.end("FINISHED");
  return result;
}
