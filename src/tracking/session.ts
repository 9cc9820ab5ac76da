import { errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { silentLogger } from "../shared/logger.js";
import { ActiveRun } from "./active-run.js";
import type { MlflowClient } from "./client.js";
import { DEFAULT_HEARTBEAT_MS, Heartbeat, heartbeatClient, livenessTags, thisProcess } from "./heartbeat.js";
import type { OpenEntry } from "./journal.js";
import { JournaledRun } from "./journaled-run.js";
import { forgetRun, watchRun } from "./run-signals.js";
import { MLFLOW_TAGS, standardRunTags } from "./source-tags.js";
import { Spool } from "./spool.js";
import { SpoolingRun } from "./spooling-run.js";
import {
  type EndableTracker,
  isUnreachable,
  newClientId,
  type RunStarter,
  type Tracker,
  type WithRunOptions,
  WORKBENCH_TAGS,
} from "./tracker.js";
import type { StringMap } from "./types.js";
import { LIMITS, type NonFiniteMetricPolicy } from "./validation.js";

export interface TrackingSessionOptions {
  client: MlflowClient;
  /** Enables the write-ahead spool: runs carry on in journals here when the server is lost. */
  spoolDir?: string;
  /** Every run starts in the spool; the server is not contacted (`--offline`, MLFLOW_OFFLINE=true). Needs spoolDir. */
  offline?: boolean;
  /** The server journals are meant for (default: the client's tracking URI); sync replays only its own. */
  target?: string;
  /** Client id, host, pid and heartbeat tags on every run (default true). */
  liveness?: boolean;
  heartbeatMs?: number;
  logger?: Logger;
  now?: () => number;
  nonFiniteMetrics?: NonFiniteMetricPolicy;
}

interface DeferredUpload {
  root: string;
  artifactPath: string;
  file: string;
}

/**
 * Where runs come from: starts trackers (direct, spooling or journaled, as the options and the server's
 * state decide) and runs them through withRun's lifecycle. One per command; pipelines receive it in their
 * context and never pick an implementation themselves.
 */
export class TrackingSession implements RunStarter {
  readonly client: MlflowClient;
  readonly spool: Spool | undefined;
  readonly target: string;
  readonly offline: boolean;
  /** Journals this session opened. */
  readonly journals: string[] = [];
  private lostServer: string | undefined;
  private readonly deferred: DeferredUpload[] = [];
  private heartbeats: MlflowClient | undefined;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly options: TrackingSessionOptions) {
    this.client = options.client;
    this.spool = options.spoolDir === undefined ? undefined : new Spool(options.spoolDir);
    this.target = options.target ?? options.client.trackingUri;
    this.offline = options.offline ?? false;
    this.logger = options.logger ?? silentLogger();
    this.now = options.now ?? Date.now;
    if (this.offline && this.spool === undefined)
      throw new Error("An offline TrackingSession needs a spoolDir.");
  }

  /** True when new calls go to the spool without trying the server (offline, or the server was lost). */
  get degraded(): boolean {
    return this.offline || this.lostServer !== undefined;
  }

  /**
   * Runs `fn` inside a run that always ends: FINISHED when `fn` resolves, FAILED when it throws (the error
   * is re-thrown), KILLED on SIGINT or SIGTERM. With a spool, an end status the server does not take is
   * journaled rather than lost.
   */
  async withRun<T>(options: WithRunOptions, fn: (run: Tracker) => Promise<T>, parent?: Tracker): Promise<T> {
    const logger = options.logger ?? this.logger;
    const run = await this.start(options, parent);
    watchRun(run);
    try {
      let result: T;
      try {
        result = await fn(run);
      } catch (error) {
        await this.markFailed(run, error, logger);
        throw error;
      }
      await run.end("FINISHED");
      return result;
    } finally {
      forgetRun(run);
    }
  }

  /**
   * Uploads through `upload` when the server is there; offline or once it is lost, the file waits in the
   * spool instead, inside the next journal this session opens. Returns false when the upload was deferred.
   */
  async uploadOrDefer(upload: () => Promise<void>, deferred: DeferredUpload): Promise<boolean> {
    if (this.spool !== undefined && this.degraded) {
      this.deferred.push(deferred);
      return false;
    }
    try {
      await upload();
      return true;
    } catch (error) {
      if (this.spool === undefined || !isUnreachable(error)) throw error;
      this.serverLost(error);
      this.deferred.push(deferred);
      return false;
    }
  }

  /** Releases the heartbeat connection. */
  close(): void {
    this.heartbeats?.close();
    this.heartbeats = undefined;
  }

  private async markFailed(run: EndableTracker, error: unknown, logger: Logger): Promise<void> {
    try {
      await run.setTag(WORKBENCH_TAGS.error, errorMessage(error).slice(0, LIMITS.tagValueLength));
    } catch (tagError) {
      logger.warn({ runId: run.runId, err: tagError }, "could not record the error on the run");
    }
    try {
      await run.end("FAILED");
    } catch (endError) {
      // Only without a spool (or with a broken one): the orphan sweep of `npm run sync` ends it later.
      logger.error({ runId: run.runId, err: endError }, "could not mark the run FAILED");
    }
  }

  private async start(options: WithRunOptions, parent: Tracker | undefined): Promise<EndableTracker> {
    const logger = options.logger ?? this.logger;
    const startTime = this.now();
    const clientRunId = newClientId();
    const identity = thisProcess();
    const liveness = this.options.liveness ?? true;
    const parentRunId = options.parentRunId ?? parent?.serverRunId;
    const tags: StringMap = {
      ...standardRunTags({
        ...(options.runName === undefined ? {} : { runName: options.runName }),
        ...(options.sourceName === undefined ? {} : { sourceName: options.sourceName }),
        ...(options.sourceType === undefined ? {} : { sourceType: options.sourceType }),
        ...(parentRunId === undefined ? {} : { parentRunId }),
      }),
      ...(options.description === undefined ? {} : { [MLFLOW_TAGS.note]: options.description }),
      ...options.tags,
      ...(liveness ? livenessTags(identity, startTime) : {}),
      // With a spool, a create whose answer is lost must be findable by sync: the client id goes on every run.
      ...(liveness || this.spool !== undefined ? { [WORKBENCH_TAGS.clientRunId]: clientRunId } : {}),
    };
    const userId = tags[MLFLOW_TAGS.user];
    const journalHeader = (known: {
      experimentId?: string | undefined;
    }): Omit<OpenEntry, "op" | "version"> => {
      const experimentId = known.experimentId || options.experimentId || undefined;
      return {
        clientRunId,
        target: this.target,
        ...(experimentId === undefined
          ? { experimentName: options.experimentName ?? "Default" }
          : { experimentId }),
        ...(parentRunId === undefined ? {} : { parentRunId }),
        ...(parent !== undefined && parent.serverRunId === undefined
          ? { parentClientRunId: parent.clientRunId }
          : {}),
        ...(options.runName === undefined ? {} : { runName: options.runName }),
        ...(userId === undefined ? {} : { userId }),
        startTime,
        tags: { ...tags, [WORKBENCH_TAGS.clientRunId]: clientRunId, ...livenessTags(identity, startTime) },
        ...identity,
        reason: this.offline ? "offline" : "unreachable",
        ...(this.lostServer === undefined ? {} : { note: this.lostServer }),
      };
    };
    if (this.spool !== undefined && (this.degraded || parent?.spooled === true)) {
      return this.openJournal(journalHeader({}), logger);
    }
    let experimentId: string | undefined = options.experimentId;
    try {
      experimentId ??= await this.client.experiments.getOrCreate(options.experimentName ?? "Default");
      const created = await this.client.runs.create({
        experimentId,
        tags,
        startTime,
        ...(options.runName === undefined ? {} : { runName: options.runName }),
        ...(userId === undefined ? {} : { userId }),
      });
      return this.wrap(created.info, clientRunId, logger, liveness);
    } catch (error) {
      if (this.spool === undefined || !isUnreachable(error)) throw error;
      // The create may have reached the server before the connection died: sync finds it by its client id.
      this.serverLost(error);
      return this.openJournal(journalHeader({ experimentId }), logger);
    }
  }

  private wrap(
    info: ActiveRun["info"],
    clientRunId: string,
    logger: Logger,
    liveness: boolean,
  ): EndableTracker {
    const runLogger = logger.child({ runId: info.runId });
    const heartbeat = liveness
      ? new Heartbeat(
          this.heartbeatClient(),
          info.runId,
          this.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
          this.now,
          runLogger,
        ).start()
      : undefined;
    const active = new ActiveRun(this.client, info, runLogger, {
      starter: this,
      clientRunId,
      baseLogger: logger,
      ...(heartbeat === undefined ? {} : { heartbeat }),
    });
    if (this.spool === undefined) return active;
    return new SpoolingRun(active, {
      starter: this,
      degraded: () => this.degraded,
      now: this.now,
      logger: runLogger,
      baseLogger: logger,
      handOver: (reason) => {
        if (reason !== undefined && isUnreachable(reason)) this.serverLost(reason);
        const identity = thisProcess();
        return this.openJournal(
          {
            clientRunId,
            target: this.target,
            serverRunId: info.runId,
            artifactUri: info.artifactUri,
            experimentId: info.experimentId,
            ...(info.runName === "" ? {} : { runName: info.runName }),
            startTime: info.startTime ?? this.now(),
            tags: {},
            ...identity,
            reason: "unreachable",
            note: reason === undefined ? (this.lostServer ?? "server lost") : errorMessage(reason),
          },
          runLogger,
        );
      },
    });
  }

  private async openJournal(
    header: Omit<OpenEntry, "op" | "version">,
    logger: Logger,
  ): Promise<JournaledRun> {
    const run = await JournaledRun.open({
      spool: this.spool!,
      header,
      starter: this,
      logger: logger.child({ clientRunId: header.clientRunId }),
      baseLogger: logger,
      now: this.now,
      nonFiniteMetrics: this.options.nonFiniteMetrics ?? "reject",
    });
    this.journals.push(run.journal);
    for (const upload of this.deferred.splice(0))
      await run.upload(upload.root, upload.artifactPath, upload.file);
    return run;
  }

  private serverLost(error: unknown): void {
    if (this.lostServer !== undefined) return;
    this.lostServer = errorMessage(error);
    this.logger.warn(
      { err: error, spool: this.spool?.dir },
      "tracking server lost: runs carry on in the local spool; `npm run sync` delivers them",
    );
  }

  private heartbeatClient(): MlflowClient {
    this.heartbeats ??= heartbeatClient(this.client);
    return this.heartbeats;
  }
}
