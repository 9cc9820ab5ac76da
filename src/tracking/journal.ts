import { createHash } from "node:crypto";
import { type FileHandle, open, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { TrackingError } from "../shared/errors.js";

/**
 * The write-ahead journal of one run: a JSONL file, one entry per tracking call, each line fsynced before
 * the call returns. A line is `{"seq":n,"at":ms,"e":{...},"sum":"…"}` where `sum` is the first 16 hex
 * characters of the SHA-256 of `{"seq":n,"at":ms,"e":{...}}`: a torn or altered line is detected, never
 * replayed. Line 1 (`op: "open"`) says which run the entries belong to.
 */

const stringMap = z.record(z.string());
const double = z.union([z.number(), z.enum(["NaN", "Infinity", "-Infinity"])]);
const clientId = z.string().regex(/^[0-9a-f]{32}$/);

export const openEntrySchema = z.object({
  op: z.literal("open"),
  version: z.literal(1),
  clientRunId: clientId,
  /** The tracking server the run is meant for: sync replays a journal only to its own target. */
  target: z.string(),
  /** Known when the run started online and lost the server later. */
  serverRunId: z.string().optional(),
  artifactUri: z.string().optional(),
  experimentId: z.string().optional(),
  experimentName: z.string().optional(),
  parentRunId: z.string().optional(),
  parentClientRunId: clientId.optional(),
  runName: z.string().optional(),
  userId: z.string().optional(),
  startTime: z.number(),
  /** Tags of the run's creation (MLflow's standard tags, the caller's, liveness). */
  tags: stringMap,
  host: z.string(),
  pid: z.number().int(),
  pidStart: z.string().optional(),
  reason: z.enum(["offline", "unreachable"]),
  note: z.string().optional(),
});

const wireMetric = z.object({
  key: z.string(),
  value: double,
  timestamp: z.number(),
  step: z.number().int(),
  modelId: z.string().optional(),
  dataset: z.object({ name: z.string(), digest: z.string() }).optional(),
});
const datasetInput = z.object({
  dataset: z.object({
    name: z.string(),
    digest: z.string(),
    sourceType: z.string(),
    source: z.string(),
    schema: z.string().optional(),
    profile: z.string().optional(),
  }),
  tags: stringMap,
});
/** Files below are relative to the journal's files folder (`<clientRunId>.files/`). */
const stagedFile = z.object({ path: z.string(), size: z.number().int().nonnegative() });

export const entrySchema = z.discriminatedUnion("op", [
  z.object({
    op: z.literal("batch"),
    metrics: z.array(wireMetric).default([]),
    params: stringMap.default({}),
    tags: stringMap.default({}),
  }),
  z.object({ op: z.literal("inputs"), datasets: z.array(datasetInput) }),
  z.object({
    op: z.literal("artifacts"),
    artifactPath: z.string().optional(),
    /** Folder holding the copies; each file lands at `<artifactPath>/<path inside the folder>`. */
    dir: z.string(),
    files: z.array(stagedFile),
  }),
  z.object({
    op: z.literal("model"),
    clientModelId: clientId,
    dir: z.string(),
    files: z.array(stagedFile),
    modelName: z.string(),
    alias: z.string(),
    modelType: z.string(),
    params: stringMap.optional(),
    tags: stringMap.optional(),
    description: z.string().optional(),
    /** The model's metrics (timestamps fixed at logging time); the model id is known only at replay. */
    metrics: z.array(wireMetric.omit({ modelId: true })).optional(),
  }),
  z.object({
    op: z.literal("upload"),
    /** An artifact root outside the run, such as the content-addressed data snapshots. */
    root: z.string(),
    artifactPath: z.string(),
    dir: z.string(),
    files: z.array(stagedFile),
  }),
  z.object({
    op: z.literal("end"),
    status: z.enum(["FINISHED", "FAILED", "KILLED"]),
    endTime: z.number(),
  }),
]);

export type OpenEntry = z.infer<typeof openEntrySchema>;
export type JournalEntry = z.infer<typeof entrySchema>;
export type EntryOf<K extends JournalEntry["op"]> = Extract<JournalEntry, { op: K }>;

export interface JournalLine {
  /** 1-based line number in the file. */
  line: number;
  seq: number;
  at: number;
  entry: JournalEntry;
}

export interface LineProblem {
  line: number;
  reason: string;
}

export interface ReadJournal {
  file: string;
  /** Undefined when line 1 is missing or unreadable: the entries then belong to no known run. */
  header: OpenEntry | undefined;
  entries: JournalLine[];
  /** Complete lines that fail their checksum or schema. */
  corrupt: LineProblem[];
  /** The file ends in an unterminated line: an append cut short, never acknowledged to the caller. */
  tornTail: LineProblem | undefined;
}

function checksum(body: string): string {
  return createHash("sha256").update(body).digest("hex").slice(0, 16);
}

/** One journal line, newline included. */
export function encodeLine(seq: number, at: number, entry: OpenEntry | JournalEntry): string {
  const body = JSON.stringify({ seq, at, e: entry });
  return `${body.slice(0, -1)},"sum":"${checksum(body)}"}\n`;
}

type Decoded = { seq: number; at: number; e: unknown } | { problem: string };

export function decodeLine(text: string): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { problem: "not JSON" };
  }
  const shape = z
    .object({ seq: z.number().int(), at: z.number(), e: z.unknown(), sum: z.string() })
    .strict()
    .safeParse(parsed);
  if (!shape.success) return { problem: "not a journal line" };
  const { seq, at, e, sum } = shape.data;
  if (checksum(JSON.stringify({ seq, at, e })) !== sum) return { problem: "checksum mismatch" };
  return { seq, at, e };
}

/** Reads a journal, keeping every sound entry and naming every line that is not. */
export async function readJournal(file: string): Promise<ReadJournal> {
  const text = await readFile(file, "utf8");
  const pieces = text.split("\n");
  const last = pieces.pop() ?? "";
  const result: ReadJournal = { file, header: undefined, entries: [], corrupt: [], tornTail: undefined };
  if (last !== "") result.tornTail = { line: pieces.length + 1, reason: "unterminated last line" };
  pieces.forEach((piece, index) => {
    const line = index + 1;
    const decoded = decodeLine(piece);
    if ("problem" in decoded) {
      result.corrupt.push({ line, reason: decoded.problem });
      return;
    }
    if (line === 1) {
      const header = openEntrySchema.safeParse(decoded.e);
      if (header.success) result.header = header.data;
      else result.corrupt.push({ line, reason: `bad header: ${header.error.issues[0]?.message}` });
      return;
    }
    const entry = entrySchema.safeParse(decoded.e);
    if (entry.success) result.entries.push({ line, seq: decoded.seq, at: decoded.at, entry: entry.data });
    else result.corrupt.push({ line, reason: `unknown entry: ${entry.error.issues[0]?.message}` });
  });
  return result;
}

/**
 * Appends entries to a journal, one fsynced line at a time, in call order: when `append` resolves, the
 * entry survives a crash of the process or the machine.
 */
export class JournalWriter {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly handle: FileHandle,
    private seq: number,
    private readonly now: () => number,
  ) {}

  /** Creates the journal (never over an existing one) with its header as line 1. */
  static async create(file: string, header: OpenEntry, now: () => number): Promise<JournalWriter> {
    const handle = await open(file, "wx");
    const writer = new JournalWriter(file, handle, 0, now);
    await writer.write(header);
    // The new name must survive a crash as well as the bytes.
    const dir = await open(path.dirname(file), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return writer;
  }

  append(entry: JournalEntry): Promise<number> {
    if (this.closed) {
      return Promise.reject(
        new TrackingError("JOURNAL_CLOSED", `The journal ${this.file} is closed; the run has ended.`),
      );
    }
    const next = this.tail.catch(() => undefined).then(() => this.write(entry));
    this.tail = next;
    return next;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
    await this.handle.close();
  }

  private async write(entry: OpenEntry | JournalEntry): Promise<number> {
    const seq = this.seq++;
    await this.handle.appendFile(encodeLine(seq, this.now(), entry));
    await this.handle.datasync();
    return seq;
  }
}
