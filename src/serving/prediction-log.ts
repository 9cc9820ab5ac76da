import { appendFile, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";

export interface PredictionLogOptions {
  dir: string;
  /** Share of requests logged, 0..1. */
  sampleRate: number;
  /** Rotate the current file past this size. */
  maxBytes: number;
  /** Rotated files kept (oldest deleted). */
  maxFiles: number;
  random?: () => number;
}

export interface PredictionRecord {
  time: string;
  requestId: string;
  model: { name: string; version: string | undefined };
  inputs: Record<string, unknown>[];
  outputs: { label: string; probabilities: Record<string, number> }[];
  /**
   * Shadow (A/B) mode: the challenger's outputs for the same rows, scored after the answer (which always comes
   * from the champion, `outputs`) was sent. Absent when the request was not shadowed or the challenger failed.
   */
  shadow?: {
    model: { name: string; version: string | undefined };
    outputs: { label: string; probabilities: Record<string, number> }[];
  };
}

/**
 * A sampled, size-bounded JSONL log of inputs and outputs: the raw material of drift monitoring.
 * `predictions.jsonl` rotates to `predictions.<n>.jsonl`; writes are serialised so no line interleaves.
 */
export class PredictionLog {
  private queue: Promise<void> = Promise.resolve();
  private size: number | undefined;
  private readonly file: string;

  constructor(private readonly options: PredictionLogOptions) {
    this.file = path.join(options.dir, "predictions.jsonl");
  }

  /** Logs the record when sampled; never throws into the request path (failures are counted). */
  write(record: PredictionRecord): boolean {
    if (!this.sample()) return false;
    this.append(record);
    return true;
  }

  /** Draws whether a request is in the sample (the service decides once, then appends later). */
  sample(): boolean {
    return (this.options.random ?? Math.random)() < this.options.sampleRate;
  }

  /** Logs the record, sampled or not (a shadowed request's record is always kept); never throws. */
  append(record: PredictionRecord): void {
    const line = `${JSON.stringify(record)}\n`;
    this.queue = this.queue
      .then(() => this.appendLine(line))
      .catch(() => {
        this.failures++;
      });
  }

  failures = 0;

  /** Resolves once every accepted record is on disk. */
  flush(): Promise<void> {
    return this.queue;
  }

  private async appendLine(line: string): Promise<void> {
    if (this.size === undefined) {
      await mkdir(this.options.dir, { recursive: true });
      this.size = await stat(this.file).then(
        (s) => s.size,
        () => 0,
      );
    }
    if (this.size + Buffer.byteLength(line) > this.options.maxBytes && this.size > 0) await this.rotate();
    await appendFile(this.file, line);
    this.size += Buffer.byteLength(line);
  }

  private async rotate(): Promise<void> {
    const rotated = (await readdir(this.options.dir))
      .map((f) => /^predictions\.(\d+)\.jsonl$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => b - a);
    for (const n of rotated) {
      const from = path.join(this.options.dir, `predictions.${n}.jsonl`);
      if (n + 1 > this.options.maxFiles) await rm(from, { force: true });
      else await rename(from, path.join(this.options.dir, `predictions.${n + 1}.jsonl`));
    }
    await rename(this.file, path.join(this.options.dir, "predictions.1.jsonl"));
    this.size = 0;
  }
}
