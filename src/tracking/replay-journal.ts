import { stat } from "node:fs/promises";
import path from "node:path";
import type { MlflowClient } from "./client.js";
import type { EntryOf, JournalLine, LineProblem, ReadJournal } from "./journal.js";
import { logAndRegister } from "./log-model.js";
import { collect } from "./paginate.js";
import type { Spool } from "./spool.js";
import { type EndStatus, joinArtifactPath, WORKBENCH_TAGS } from "./tracker.js";
import type { Run, StringMap } from "./types.js";

/** How many items of each kind a replay sent, or found already on the server. */
export interface Counts {
  params: number;
  tags: number;
  metrics: number;
  inputs: number;
  artifacts: number;
  models: number;
  uploads: number;
  end: number;
}

export function noCounts(): Counts {
  return { params: 0, tags: 0, metrics: 0, inputs: 0, artifacts: 0, models: 0, uploads: 0, end: 0 };
}

export interface ReplayOutcome {
  sent: Counts;
  present: Counts;
  /** Entries the server cannot take (a param logged with two values, a staged copy gone). */
  rejected: LineProblem[];
  endStatus: EndStatus;
  /** False when the journal holds no end status: the run was ended KILLED (its writer is gone). */
  endFromJournal: boolean;
}

export interface ReplayContext {
  /** A client that records non-finite metrics: the journal validated them when they were logged. */
  client: MlflowClient;
  spool: Spool;
  journal: ReadJournal & { header: NonNullable<ReadJournal["header"]> };
  serverRunId: string;
  /** Client run id → server run id, for values that name other runs of the spool (e.g. the best child). */
  ids: ReadonlyMap<string, string>;
  now: () => number;
}

function entriesOf<K extends JournalLine["entry"]["op"]>(journal: ReadJournal, op: K) {
  return journal.entries.filter((e): e is JournalLine & { entry: EntryOf<K> } => e.entry.op === op);
}

const decodeDouble = (value: number | string): number => (typeof value === "number" ? value : Number(value));

/** Params, tags and metrics: only what the server does not hold yet, in one (chunked) log-batch. */
async function replayBatches(ctx: ReplayContext, run: Run, extraTags: StringMap, out: ReplayOutcome) {
  const { client, journal, serverRunId } = ctx;
  const translate = (value: string) => ctx.ids.get(value) ?? value;
  const params = new Map<string, { value: string; line: number }>();
  const tags = new Map<string, string>();
  const points: EntryOf<"batch">["metrics"] = [];
  for (const { line, entry } of entriesOf(journal, "batch")) {
    for (const [key, raw] of Object.entries(entry.params)) {
      const value = translate(raw);
      const first = params.get(key);
      if (first === undefined) params.set(key, { value, line });
      else if (first.value !== value)
        out.rejected.push({ line, reason: `param '${key}' logged again with another value (${value})` });
    }
    for (const [key, value] of Object.entries(entry.tags)) tags.set(key, translate(value));
    points.push(...entry.metrics);
  }
  for (const [key, value] of Object.entries(extraTags)) tags.set(key, value);
  const sendParams: StringMap = {};
  for (const [key, { value, line }] of params) {
    const held = run.data.params[key];
    if (held === value) out.present.params++;
    else if (held !== undefined)
      out.rejected.push({
        line,
        reason: `param '${key}' is '${held}' on the server, '${value}' in the journal`,
      });
    else sendParams[key] = value;
  }
  const sendTags: StringMap = {};
  for (const [key, value] of tags) {
    if (run.data.tags[key] === value) out.present.tags++;
    else sendTags[key] = value;
  }
  const seen = new Map<string, Set<string>>();
  for (const key of new Set(points.map((p) => p.key))) {
    const history = await collect(client.runs.metricHistory(serverRunId, key));
    seen.set(key, new Set(history.map((m) => `${m.step}|${m.timestamp}`)));
  }
  const sendMetrics = points.filter((p) => {
    const keys = seen.get(p.key)!;
    const id = `${p.step}|${p.timestamp}`;
    if (keys.has(id)) {
      out.present.metrics++;
      return false;
    }
    keys.add(id);
    return true;
  });
  out.sent.params += Object.keys(sendParams).length;
  out.sent.tags += Object.keys(sendTags).length;
  out.sent.metrics += sendMetrics.length;
  if (Object.keys(sendParams).length + Object.keys(sendTags).length + sendMetrics.length === 0) return;
  await client.runs.logBatch(serverRunId, {
    params: sendParams,
    tags: sendTags,
    metrics: sendMetrics.map((p) => ({ ...p, value: decodeDouble(p.value) })),
  });
}

async function replayInputs(ctx: ReplayContext, run: Run, out: ReplayOutcome) {
  const id = (d: { dataset: { name: string; digest: string }; tags: StringMap }) =>
    `${d.dataset.name}|${d.dataset.digest}|${d.tags["mlflow.data.context"] ?? ""}`;
  const held = new Set(run.inputs.datasetInputs.map(id));
  for (const { entry } of entriesOf(ctx.journal, "inputs")) {
    const missing = entry.datasets.filter((d) => !held.has(id(d)));
    out.present.inputs += entry.datasets.length - missing.length;
    if (missing.length === 0) continue;
    await ctx.client.runs.logInputs(ctx.serverRunId, missing);
    for (const d of missing) held.add(id(d));
    out.sent.inputs += missing.length;
  }
}

/** Uploads staged files whose path (with the same size) is not under `root` yet. */
async function uploadStaged(
  ctx: ReplayContext,
  root: string,
  held: Map<string, number | undefined>,
  entry: {
    line: number;
    dir: string;
    artifactPath?: string | undefined;
    files: { path: string; size: number }[];
  },
  count: (kind: "sent" | "present") => void,
  out: ReplayOutcome,
) {
  for (const file of entry.files) {
    const relative = joinArtifactPath(entry.artifactPath, file.path);
    if (held.get(relative) === file.size) {
      count("present");
      continue;
    }
    const local = ctx.spool.stagedPath(ctx.journal.header.clientRunId, entry.dir, file.path);
    const size = await stat(local).then(
      (s) => s.size,
      () => undefined,
    );
    if (size !== file.size) {
      out.rejected.push({ line: entry.line, reason: `staged copy of '${relative}' is missing or truncated` });
      continue;
    }
    const sub = path.posix.dirname(relative);
    await ctx.client.artifacts.uploadFile(root, local, sub === "." ? undefined : sub);
    held.set(relative, file.size);
    count("sent");
  }
}

async function replayFiles(ctx: ReplayContext, run: Run, out: ReplayOutcome) {
  const artifacts = entriesOf(ctx.journal, "artifacts");
  if (artifacts.length > 0) {
    const root = run.info.artifactUri;
    const held = new Map((await ctx.client.artifacts.listRecursive(root)).map((f) => [f.path, f.fileSize]));
    for (const { line, entry } of artifacts)
      await uploadStaged(ctx, root, held, { line, ...entry }, (k) => out[k].artifacts++, out);
  }
  for (const { line, entry } of entriesOf(ctx.journal, "upload")) {
    const listed = await ctx.client.artifacts.list(entry.root, entry.artifactPath).catch(() => []);
    const held = new Map(listed.map((f) => [f.path, f.fileSize]));
    await uploadStaged(ctx, entry.root, held, { line, ...entry }, (k) => out[k].uploads++, out);
  }
}

async function replayModels(ctx: ReplayContext, run: Run, out: ReplayOutcome) {
  for (const { entry } of entriesOf(ctx.journal, "model")) {
    const { done } = await logAndRegister(ctx.client, {
      dir: path.join(ctx.spool.filesDir(ctx.journal.header.clientRunId), entry.dir),
      modelName: entry.modelName,
      alias: entry.alias,
      modelType: entry.modelType,
      ...(entry.params === undefined ? {} : { params: entry.params }),
      ...(entry.tags === undefined ? {} : { tags: entry.tags }),
      ...(entry.description === undefined ? {} : { description: entry.description }),
      ...(entry.metrics === undefined
        ? {}
        : { metrics: entry.metrics.map((m) => ({ ...m, value: decodeDouble(m.value) })) }),
      runId: ctx.serverRunId,
      experimentId: run.info.experimentId,
      clientModelId: entry.clientModelId,
    });
    if (done.loggedModel || done.version || done.files > 0 || done.metrics > 0) out.sent.models++;
    else out.present.models++;
  }
}

/**
 * Replays one journal onto its server run, idempotently: what the server already holds is counted, not
 * sent again (params and tags by value, metrics by (key, step, timestamp), inputs by dataset, artifacts by
 * path and size, models and versions by their client id). The end status goes last; a journal without one
 * belongs to a process that is gone, so its run ends KILLED with a note.
 */
export async function replayJournal(ctx: ReplayContext): Promise<ReplayOutcome> {
  const out: ReplayOutcome = {
    sent: noCounts(),
    present: noCounts(),
    rejected: [],
    endStatus: "KILLED",
    endFromJournal: false,
  };
  const { header } = ctx.journal;
  const run = await ctx.client.runs.get(ctx.serverRunId);
  const end = entriesOf(ctx.journal, "end").at(-1);
  const lastAt = Math.max(header.startTime, ...ctx.journal.entries.map((e) => e.at));
  const extraTags: StringMap = { [WORKBENCH_TAGS.heartbeat]: new Date(lastAt).toISOString() };
  if (end === undefined) {
    extraTags[WORKBENCH_TAGS.endNote] =
      `KILLED by sync: the journal holds no end status and its process (pid ${header.pid} on ${header.host}) is gone; last entry at ${new Date(lastAt).toISOString()}.`;
  }
  await replayBatches(ctx, run, extraTags, out);
  await replayInputs(ctx, run, out);
  await replayFiles(ctx, run, out);
  await replayModels(ctx, run, out);
  out.endStatus = end?.entry.status ?? "KILLED";
  out.endFromJournal = end !== undefined;
  const endTime = end?.entry.endTime ?? lastAt;
  if (run.info.status === out.endStatus && run.info.endTime === endTime) out.present.end++;
  else {
    await ctx.client.runs.end(ctx.serverRunId, out.endStatus, endTime);
    out.sent.end++;
  }
  return out;
}
