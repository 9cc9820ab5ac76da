import path from "node:path";
import { pathToFileURL } from "node:url";
import { TrackingError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { BatchInput, MetricPoint } from "./batch.js";
import { type EntryOf, JournalWriter, type OpenEntry } from "./journal.js";
import type { Spool } from "./spool.js";
import {
  type ChildRunOptions,
  type EndableTracker,
  type EndStatus,
  joinArtifactPath,
  type ModelRef,
  type ModelToLog,
  newClientId,
  type ParamValue,
  PENDING,
  type RunStarter,
  type Tracker,
} from "./tracker.js";
import type { DatasetInput, StringMap } from "./types.js";
import { checkMetric, checkParam, checkTag, type NonFiniteMetricPolicy } from "./validation.js";
import { encodeDouble } from "./wire.js";

// Journals this process is writing: sync leaves them alone until their run ends.
const openJournals = new Set<string>();

/** True while this process holds the journal of `clientRunId` open. */
export function isJournalOpen(clientRunId: string): boolean {
  return openJournals.has(clientRunId);
}

export interface JournaledRunInit {
  spool: Spool;
  header: Omit<OpenEntry, "op" | "version">;
  starter: RunStarter;
  logger: Logger;
  baseLogger: Logger;
  now: () => number;
  nonFiniteMetrics: NonFiniteMetricPolicy;
}

/**
 * A run recorded in the local write-ahead journal instead of the server: every call is validated like the
 * direct client does, then appended (fsynced) as one entry; artifacts are copied into the spool first.
 * `npm run sync` replays it. Offline runs start here; SpoolingRun hands over here when the server is lost.
 */
export class JournaledRun implements EndableTracker {
  private ended = false;
  private staged = 0;

  private constructor(
    private readonly init: JournaledRunInit,
    private readonly writer: JournalWriter,
  ) {}

  static async open(init: JournaledRunInit): Promise<JournaledRun> {
    await init.spool.ensure();
    const file = init.spool.journalFile(init.header.clientRunId);
    const writer = await JournalWriter.create(file, { op: "open", version: 1, ...init.header }, init.now);
    openJournals.add(init.header.clientRunId);
    init.logger.warn({ journal: file, reason: init.header.reason }, "tracking to the local spool");
    return new JournaledRun(init, writer);
  }

  get clientRunId(): string {
    return this.init.header.clientRunId;
  }

  get serverRunId(): string | undefined {
    return this.init.header.serverRunId;
  }

  get runId(): string {
    return this.serverRunId ?? this.clientRunId;
  }

  get experimentId(): string {
    return this.init.header.experimentId ?? "";
  }

  get experimentName(): string | undefined {
    return this.init.header.experimentName;
  }

  get journal(): string {
    return this.writer.file;
  }

  get url(): string {
    return pathToFileURL(this.writer.file).href;
  }

  get spooled(): boolean {
    return true;
  }

  logParam(key: string, value: ParamValue): Promise<void> {
    return this.logBatch({ params: { [key]: value } });
  }

  logParams(params: Readonly<Record<string, ParamValue>>): Promise<void> {
    return this.logBatch({ params });
  }

  logMetric(key: string, value: number, step?: number, timestamp?: number): Promise<void> {
    return this.logBatch({
      metrics: [
        {
          key,
          value,
          ...(step === undefined ? {} : { step }),
          ...(timestamp === undefined ? {} : { timestamp }),
        },
      ],
    });
  }

  logMetrics(metrics: readonly MetricPoint[]): Promise<void> {
    return this.logBatch({ metrics });
  }

  async logBatch(batch: BatchInput): Promise<void> {
    const now = this.init.now();
    const metrics = (batch.metrics ?? []).map((m) => {
      checkMetric(m.key, m.value, m.step ?? 0, this.init.nonFiniteMetrics);
      const value = encodeDouble(m.value) as EntryOf<"batch">["metrics"][number]["value"];
      return {
        key: m.key,
        value,
        timestamp: m.timestamp ?? now,
        step: m.step ?? 0,
        ...(m.modelId === undefined ? {} : { modelId: m.modelId }),
        ...(m.dataset === undefined ? {} : { dataset: { ...m.dataset } }),
      };
    });
    const params: StringMap = {};
    for (const [key, value] of Object.entries(batch.params ?? {})) {
      checkParam(key, String(value));
      params[key] = String(value);
    }
    for (const [key, value] of Object.entries(batch.tags ?? {})) checkTag(key, value);
    await this.append({ op: "batch", metrics, params, tags: { ...batch.tags } });
  }

  setTag(key: string, value: string): Promise<void> {
    return this.logBatch({ tags: { [key]: value } });
  }

  setTags(tags: StringMap): Promise<void> {
    return this.logBatch({ tags });
  }

  async logInputs(datasets: readonly DatasetInput[]): Promise<void> {
    await this.append({
      op: "inputs",
      datasets: datasets.map((d) => ({ dataset: { ...d.dataset }, tags: d.tags })),
    });
  }

  async logArtifact(localFile: string, artifactPath?: string): Promise<string> {
    const { dir, files } = await this.stage(localFile, "file");
    await this.append({
      op: "artifacts",
      dir,
      files,
      ...(artifactPath === undefined ? {} : { artifactPath }),
    });
    return joinArtifactPath(artifactPath, path.basename(localFile));
  }

  async logArtifacts(localDir: string, artifactPath?: string): Promise<string[]> {
    const { dir, files } = await this.stage(localDir, "dir");
    await this.append({
      op: "artifacts",
      dir,
      files,
      ...(artifactPath === undefined ? {} : { artifactPath }),
    });
    return files.map((f) => joinArtifactPath(artifactPath, f.path)).sort();
  }

  logModel(model: ModelToLog): Promise<ModelRef> {
    return this.logModelAs(model, newClientId());
  }

  async logModelAs(model: ModelToLog, clientModelId: string): Promise<ModelRef> {
    const now = this.init.now();
    const metrics = (model.metrics ?? []).map((m) => {
      checkMetric(m.key, m.value, m.step ?? 0, this.init.nonFiniteMetrics);
      return {
        key: m.key,
        value: encodeDouble(m.value) as EntryOf<"batch">["metrics"][number]["value"],
        timestamp: m.timestamp ?? now,
        step: m.step ?? 0,
        ...(m.dataset === undefined ? {} : { dataset: { ...m.dataset } }),
      };
    });
    const { dir, files } = await this.stage(model.dir, "dir");
    await this.append({
      op: "model",
      clientModelId,
      dir,
      files,
      modelName: model.modelName,
      alias: model.alias,
      modelType: model.modelType,
      ...(model.params === undefined ? {} : { params: model.params }),
      ...(model.tags === undefined ? {} : { tags: model.tags }),
      ...(model.description === undefined ? {} : { description: model.description }),
      ...(model.metrics === undefined ? {} : { metrics }),
    });
    return { clientModelId, modelId: PENDING, version: PENDING, url: this.url, spooled: true };
  }

  /** Journals an upload to an artifact root outside the run (e.g. a content-addressed data snapshot). */
  async upload(root: string, artifactPath: string, localFile: string): Promise<void> {
    const { dir, files } = await this.stage(localFile, "file");
    await this.append({ op: "upload", root, artifactPath, dir, files });
  }

  child<T>(options: ChildRunOptions, fn: (run: Tracker) => Promise<T>): Promise<T> {
    return this.init.starter.withRun(
      {
        logger: this.init.baseLogger,
        ...options,
        ...(this.init.header.experimentId === undefined
          ? {}
          : { experimentId: this.init.header.experimentId }),
        ...(this.init.header.experimentName === undefined
          ? {}
          : { experimentName: this.init.header.experimentName }),
        ...(this.serverRunId === undefined ? {} : { parentRunId: this.serverRunId }),
      },
      fn,
      this,
    );
  }

  async end(status: EndStatus, endTime?: number): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      await this.writer.append({ op: "end", status, endTime: endTime ?? this.init.now() });
    } finally {
      await this.writer.close();
      openJournals.delete(this.clientRunId);
    }
    this.init.logger.info({ status, journal: this.writer.file }, "run ended in the spool");
  }

  private async stage(
    source: string,
    kind: "file" | "dir",
  ): Promise<{ dir: string; files: EntryOf<"artifacts">["files"] }> {
    return this.init.spool.stage(this.clientRunId, String(this.staged++).padStart(4, "0"), source, kind);
  }

  private async append(entry: Parameters<JournalWriter["append"]>[0]): Promise<void> {
    if (this.ended) {
      throw new TrackingError("RUN_ENDED", `Run ${this.runId} has ended; nothing more can be logged to it.`);
    }
    await this.writer.append(entry);
  }
}
