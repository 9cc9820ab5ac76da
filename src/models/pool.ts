// A pool of worker threads that train trials (trial-worker.ts). The workers can start before the training data
// exists (startTrialWorkers): they load their modules and TensorFlow.js's backend while this thread prepares the
// data. Each worker then gets the data once, as typed arrays over SharedArrayBuffers (one copy for the whole
// pool), then one trial at a time; the model it trained comes back through a temporary directory (Model.save in
// the worker, ModelKind.load here). A worker that throws or exits fails only its trial (CANDIDATE_FAILED with
// the worker's message) and is replaced. With one worker the pool trains in this thread instead, one trial at a
// time.
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { FeatureMatrix } from "../features/preprocessor.js";
import { ConfigError, errorMessage, WorkbenchError } from "../shared/errors.js";
import type { Trial } from "./candidates.js";
import { curveStopper, type FittedTrial, fitTrial, type TrialFitOptions } from "./fit-trial.js";
import { modelKind } from "./kinds/index.js";
import { type FitData, type IterationRecord, shapeOf } from "./model.js";
import type { InitMessage, SerializedError, TrialMessage, WorkerMessage } from "./trial-worker.js";

export interface PoolTask {
  trial: Trial;
  /** The pruning threshold per iteration (see curveStopper), for search trials. */
  pruneCurve?: readonly number[] | undefined;
  onIteration?: ((record: IterationRecord, planned: number) => void) | undefined;
}

export interface TrialPool {
  /** Trials trained at once. */
  readonly size: number;
  /** True when trials train in this thread (one worker, or no worker file to start). */
  readonly inProcess: boolean;
  /** Trains one trial (queued until a worker is free); the model is the caller's to dispose. */
  run(task: PoolTask): Promise<FittedTrial>;
  /** Stops every worker and removes the temporary directory. */
  close(): Promise<void>;
}

/**
 * Worker threads started before the training data exists: they load their modules (TensorFlow.js and its
 * backend included) while the caller prepares the data, then `start` hands it to them.
 */
export interface TrialWorkers {
  /** Trials trained at once. */
  readonly size: number;
  /** Resolves once every worker has loaded its modules or exited (at once when training in this thread). */
  ready(): Promise<void>;
  /**
   * Gives the workers the training data and the run's fit options: the pool that trains on them. Once per
   * TrialWorkers; closing the pool closes the workers. `onNotice` hears why training happens in this thread,
   * when it does (default: a line on stderr).
   */
  start(data: FitData, options: TrialFitOptions, onNotice?: (message: string) => void): TrialPool;
  /** Stops the workers (started or not); closing twice is fine. */
  close(): Promise<void>;
}

export interface PoolOptions extends TrialFitOptions {
  /** Worker threads (default: os.availableParallelism()); 1 trains in this thread. */
  workers?: number | undefined;
  /** One-line notices (e.g. why the pool trains in-process); default: a line on stderr. */
  onNotice?: ((message: string) => void) | undefined;
}

/** A failed trial: CANDIDATE_FAILED naming the candidate, unless the error already has a code of ours. */
function candidateFailed(
  trial: Trial,
  message: string,
  where: string,
  details: Record<string, unknown> = {},
) {
  return new WorkbenchError(
    "CANDIDATE_FAILED",
    `candidate ${trial.id} (${trial.kind}) failed${where}: ${message}`,
    {
      details: { trial: trial.id, kind: trial.kind, ...details },
    },
  );
}

function failureOf(trial: Trial, error: unknown): WorkbenchError {
  if (error instanceof WorkbenchError) return error;
  const failure = candidateFailed(trial, errorMessage(error), "");
  return Object.assign(failure, { cause: error });
}

function fromWorker(trial: Trial, error: SerializedError): WorkbenchError {
  if (error.code !== undefined) {
    const options = { details: error.details ?? {} };
    return error.name === "ConfigError"
      ? new ConfigError(error.message, { ...options, code: error.code })
      : new WorkbenchError(error.code, error.message, options);
  }
  return candidateFailed(
    trial,
    error.message,
    " in its worker",
    error.stack === undefined ? {} : { stack: error.stack },
  );
}

/** Trains in this thread, one trial at a time (Math.random is seeded per fit, so fits must not overlap). */
class InProcessPool implements TrialPool {
  readonly size = 1;
  readonly inProcess = true;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly data: FitData,
    private readonly options: TrialFitOptions,
  ) {}

  run(task: PoolTask): Promise<FittedTrial> {
    const run = async () => {
      try {
        return await fitTrial(task.trial, this.data, this.options, {
          ...(task.onIteration === undefined ? {} : { onIteration: task.onIteration }),
          ...(task.pruneCurve === undefined
            ? {}
            : { shouldStop: curveStopper(task.pruneCurve, this.options.selectionMetric) }),
        });
      } catch (error) {
        throw failureOf(task.trial, error);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    await this.queue;
  }
}

/** Training in this thread: nothing to start early; `why` (if any) is the notice `start` gives. */
class InProcessWorkers implements TrialWorkers {
  readonly size = 1;
  private started = false;
  private closed = false;

  constructor(private readonly why: string | undefined) {}

  async ready(): Promise<void> {}

  start(data: FitData, options: TrialFitOptions, onNotice?: (message: string) => void): TrialPool {
    if (this.closed) throw new Error("these trial workers were closed");
    if (this.started) throw new Error("these trial workers were started already");
    this.started = true;
    if (this.why !== undefined)
      (onNotice ?? ((m: string) => process.stderr.write(`${m}\n`)))(
        `training candidates in-process, one at a time: no worker thread (${this.why})`,
      );
    return new InProcessPool(data, options);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** How to start a worker: code for an eval'd bootstrap that imports trial-worker (through tsx for .ts). */
export interface WorkerEntry {
  /** The worker file. */
  file: string;
  code: string;
}

/** The import-condition target of `tsx/esm/api`, read from tsx's package.json exports. */
function tsxEsmApi(from: string): string | undefined {
  try {
    const manifest = createRequire(from).resolve("tsx/package.json");
    const exports = JSON.parse(readFileSync(manifest, "utf8")).exports?.["./esm/api"];
    const target = typeof exports === "string" ? exports : (exports?.import?.default ?? exports?.import);
    if (typeof target !== "string") return undefined;
    const file = path.resolve(path.dirname(manifest), target);
    return existsSync(file) ? pathToFileURL(file).href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The worker file next to the module at `moduleUrl`: trial-worker.js when compiled (dist/), trial-worker.ts
 * under tsx, vitest, or a notebook kernel (tslab runs its CommonJS output as if it were <name>.js next to the
 * .ts, a file that does not exist: then the .ts is used). A .ts worker registers tsx's loader before importing
 * the file (`--import tsx` in a worker's execArgv does not apply to the worker's entry on Node 20). A string
 * says why there is no worker to start.
 */
export function workerEntryFor(moduleUrl: string): WorkerEntry | string {
  if (!moduleUrl.startsWith("file:")) return `the trial pool module is not a file (${moduleUrl})`;
  const here = fileURLToPath(moduleUrl);
  const ext = path.extname(here);
  const sibling = (e: string) => path.join(path.dirname(here), `trial-worker${e}`);
  const file = [sibling(ext), sibling(".ts")].find((f) => existsSync(f));
  if (file === undefined) return `${sibling(ext)} does not exist`;
  const entry = JSON.stringify(pathToFileURL(file).href);
  if (!file.endsWith(".ts")) return { file, code: `import(${entry});` };
  const tsx = tsxEsmApi(here);
  if (tsx === undefined) return `the worker file is TypeScript (${file}) and tsx's loader was not found`;
  return {
    file,
    code: `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${entry}); });`,
  };
}

/** A copy of a typed array in shared memory (one copy for every worker). */
function shared<T extends Float32Array | Int32Array>(array: T, make: (buffer: SharedArrayBuffer) => T): T {
  const copy = make(new SharedArrayBuffer(array.byteLength));
  copy.set(array);
  return copy;
}

function sharedMatrix(x: FeatureMatrix): FeatureMatrix {
  return { ...x, values: shared(x.values, (b) => new Float32Array(b)) };
}

function sharedData(data: FitData): FitData {
  return {
    train: sharedMatrix(data.train),
    trainLabels: shared(data.trainLabels, (b) => new Int32Array(b)),
    validation: sharedMatrix(data.validation),
    validationLabels: shared(data.validationLabels, (b) => new Int32Array(b)),
    classes: [...data.classes],
  };
}

interface Job {
  task: PoolTask;
  resolve: (fitted: FittedTrial) => void;
  reject: (error: unknown) => void;
  /** Where the worker saves the model (set when the job is assigned). */
  dir?: string;
  /** An exception of the caller's onIteration: the trial fails with it. */
  hookError?: unknown;
}

interface Slot {
  worker: Worker;
  /** Resolves when the worker has loaded its modules (or exited). */
  loaded: Promise<void>;
  markLoaded: () => void;
  job: Job | undefined;
  /** Set once the worker is going away (failed, crashed or closing): it takes no more trials. */
  retired: boolean;
  /** The end of what the worker wrote to stderr (forwarded to ours as it comes). */
  stderrTail: string;
  stderrEnded: Promise<void>;
}

const STDERR_TAIL = 2000;

/** The data and options every worker trains with, and where they save models (set by `start`). */
interface PoolInit {
  message: InitMessage;
  root: string;
}

class WorkerPool implements TrialPool, TrialWorkers {
  readonly inProcess = false;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private closed = false;
  private dirs = 0;
  private init: PoolInit | undefined;
  /** Models being loaded from what the workers saved (close waits for them). */
  private readonly loading = new Set<Promise<void>>();

  /** Starts `size` workers at once; they wait for the data (`start`). */
  constructor(
    readonly size: number,
    private readonly entry: WorkerEntry,
  ) {
    for (let i = 0; i < size; i++) this.spawn();
  }

  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.loaded));
  }

  start(data: FitData, options: TrialFitOptions): TrialPool {
    if (this.closed) throw new Error("these trial workers were closed");
    if (this.init !== undefined) throw new Error("these trial workers were started already");
    this.init = {
      message: { type: "init", data: sharedData(data), options },
      root: mkdtempSync(path.join(os.tmpdir(), "workbench-trials-")),
    };
    for (const slot of this.slots) slot.worker.postMessage(this.init.message);
    return this;
  }

  run(task: PoolTask): Promise<FittedTrial> {
    if (this.closed) return Promise.reject(new Error("the trial pool is closed"));
    if (this.init === undefined)
      return Promise.reject(new Error("the trial pool has no data yet (TrialWorkers.start)"));
    return new Promise<FittedTrial>((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (!this.closed && this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.retired && s.job === undefined);
      if (slot === undefined) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      this.assign(slot, this.queue.shift()!);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.entry.code, { eval: true, execArgv: [], stderr: true });
    // A replacement worker gets the data at once (messages wait until the worker listens).
    if (this.init !== undefined) worker.postMessage(this.init.message);
    let markLoaded = () => {};
    const loaded = new Promise<void>((resolve) => {
      markLoaded = resolve;
    });
    const slot: Slot = {
      worker,
      loaded,
      markLoaded,
      job: undefined,
      retired: false,
      stderrTail: "",
      stderrEnded: Promise.resolve(),
    };
    slot.stderrEnded = new Promise<void>((resolve) => {
      worker.stderr.on("data", (chunk: Buffer) => {
        process.stderr.write(chunk);
        slot.stderrTail = (slot.stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL);
      });
      worker.stderr.on("end", resolve);
      worker.stderr.on("close", resolve);
    });
    worker.on("message", (message: WorkerMessage) => this.onMessage(slot, message));
    worker.on("error", (error: unknown) => {
      this.fail(
        slot,
        errorMessage(error),
        error instanceof Error && error.stack ? { stack: error.stack } : {},
      );
    });
    worker.on("messageerror", (error: unknown) =>
      this.fail(slot, `a message could not be read: ${errorMessage(error)}`),
    );
    worker.on("exit", (code) => {
      void this.onExit(slot, code);
    });
    this.slots.push(slot);
    return slot;
  }

  private assign(slot: Slot, job: Job): void {
    slot.job = job;
    const dir = path.join(this.init!.root, `${++this.dirs}-${job.task.trial.id}`);
    job.dir = dir;
    const message: TrialMessage = {
      type: "trial",
      trial: job.task.trial,
      dir,
      pruneCurve: job.task.pruneCurve === undefined ? null : [...job.task.pruneCurve],
    };
    slot.worker.postMessage(message);
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    if (message.type === "ready") {
      slot.markLoaded();
      return;
    }
    const job = slot.job;
    if (job === undefined || message.id !== job.task.trial.id) return;
    if (message.type === "iteration") {
      try {
        job.task.onIteration?.(message.record, message.planned);
      } catch (error) {
        job.hookError ??= error;
      }
      return;
    }
    slot.job = undefined;
    if (message.type === "failed") {
      // A trial that failed may leave the worker's state (e.g. TensorFlow.js memory) behind: start afresh.
      this.retire(slot);
      job.reject(fromWorker(job.task.trial, message.error));
    } else {
      const loaded = this.finish(job, message.result, message.seconds);
      this.loading.add(loaded);
      void loaded.finally(() => this.loading.delete(loaded));
    }
    this.pump();
  }

  /** Loads the model the worker saved, then removes its directory. */
  private async finish(job: Job, result: FittedTrial["result"], seconds: number): Promise<void> {
    const { trial } = job.task;
    const dir = job.dir!;
    try {
      if (job.hookError !== undefined) throw job.hookError;
      const { data } = this.init!.message;
      const model = await modelKind(trial.kind).load(dir, trial.params, shapeOf(data));
      job.resolve({ model, result, seconds });
    } catch (error) {
      job.reject(
        error === job.hookError
          ? error
          : candidateFailed(trial, `the model its worker saved did not load: ${errorMessage(error)}`, ""),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The worker threw (or a message broke): its trial fails, the worker is replaced. */
  private fail(slot: Slot, message: string, details: Record<string, unknown> = {}): void {
    const job = slot.job;
    slot.job = undefined;
    this.retire(slot);
    if (job !== undefined) job.reject(candidateFailed(job.task.trial, message, " in its worker", details));
  }

  private retire(slot: Slot): void {
    if (slot.retired) return;
    slot.retired = true;
    void slot.worker.terminate();
  }

  private async onExit(slot: Slot, code: number): Promise<void> {
    slot.retired = true;
    slot.markLoaded();
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    const job = slot.job;
    slot.job = undefined;
    if (job !== undefined) {
      // Wait (briefly) for the rest of its stderr, so that the error can quote it.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        slot.stderrEnded,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 500);
        }),
      ]);
      clearTimeout(timer);
      const last = slot.stderrTail.trim().split("\n").pop()?.trim() ?? "";
      const said = last === "" ? "" : ` (its last stderr line: ${last.slice(0, 300)})`;
      job.reject(
        candidateFailed(job.task.trial, `the worker exited with code ${code}${said}`, " in its worker"),
      );
    }
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error("the trial pool was closed"));
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map((s) => {
        s.retired = true;
        s.markLoaded();
        return s.worker.terminate();
      }),
    );
    await Promise.all(this.loading);
    if (this.init !== undefined) await rm(this.init.root, { recursive: true, force: true });
  }
}

/** Worker threads to use: `workers`, else one per core. */
export function poolSize(workers: number | undefined): number {
  const size = workers ?? os.availableParallelism();
  if (!Number.isInteger(size) || size < 1)
    throw new ConfigError(`workers must be a positive integer (got ${size}).`, {
      code: "CONFIG_INVALID",
      details: { workers: size },
    });
  return size;
}

/**
 * Starts the worker threads of a trial pool now, before the training data exists, so that they load their
 * modules (TensorFlow.js included) while the caller prepares it; `start` then hands them the data. `workers`:
 * threads (default one per core); 1, or no worker file to start, trains in this thread instead.
 */
export function startTrialWorkers(workers: number | undefined): TrialWorkers {
  const size = poolSize(workers);
  if (size === 1) return new InProcessWorkers(undefined);
  const url: unknown = import.meta.url;
  const entry = typeof url === "string" ? workerEntryFor(url) : "import.meta.url is not available";
  if (typeof entry === "string") return new InProcessWorkers(entry);
  return new WorkerPool(size, entry);
}

/** A pool of `workers` threads for these data and options (in-process when 1, or when no worker can start). */
export async function createTrialPool(data: FitData, options: PoolOptions): Promise<TrialPool> {
  const { workers, onNotice, seed, selectionMetric, classWeight, earlyStopping } = options;
  // Only these cross into the workers (structured clone).
  const fitOptions: TrialFitOptions = { seed, selectionMetric, classWeight, earlyStopping };
  return startTrialWorkers(workers).start(data, fitOptions, onNotice);
}
