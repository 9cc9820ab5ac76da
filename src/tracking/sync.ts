import { stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { errorMessage } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { silentLogger } from "../shared/logger.js";
import { MlflowClient } from "./client.js";
import { isProcessAlive } from "./heartbeat.js";
import { type LineProblem, type OpenEntry, type ReadJournal, readJournal } from "./journal.js";
import { isJournalOpen } from "./journaled-run.js";
import { DEFAULT_STALE_AFTER_MS, markOrphans, type OrphanReport } from "./orphans.js";
import { collect } from "./paginate.js";
import { type Counts, noCounts, replayJournal } from "./replay-journal.js";
import { MLFLOW_TAGS } from "./source-tags.js";
import { Spool } from "./spool.js";
import { type EndStatus, isUnreachable, WORKBENCH_TAGS } from "./tracker.js";

export interface SyncOptions {
  spoolDir: string;
  /** Replay only journals meant for this server (default: the client's tracking URI); "*": every journal. */
  target?: string;
  /** The orphan sweep after the replay (default on; false skips it). */
  orphans?: false | { staleAfterMs?: number; experimentIds?: readonly string[] };
  /** A journal of another host (a shared spool) counts as abandoned after this long unchanged. */
  staleAfterMs?: number;
  logger?: Logger;
  now?: () => number;
}

export type JournalOutcome =
  /** Every entry confirmed by the server; the journal is removed. */
  | "synced"
  /** Delivered except for entries that can never be (corrupt or rejected); moved to quarantine/ with a report. */
  | "quarantined"
  /** Its process is still writing it. */
  | "in-progress"
  /** Its parent run has not reached the server yet. */
  | "waiting"
  /** Meant for another tracking server. */
  | "other-target"
  /** The server failed or went away during the replay; kept for the next sync. */
  | "failed";

export interface JournalReport {
  journal: string;
  clientRunId: string | undefined;
  serverRunId: string | undefined;
  runName: string | undefined;
  outcome: JournalOutcome;
  /** Sound entries read (the header not counted). */
  entries: number;
  sent: Counts;
  present: Counts;
  corrupt: LineProblem[];
  tornTail: LineProblem | undefined;
  rejected: LineProblem[];
  endStatus: EndStatus | undefined;
  note: string | undefined;
}

export interface SyncReport {
  journals: JournalReport[];
  orphans: OrphanReport[];
  /** The server could not be reached: the sync stopped and kept every journal it had not finished. */
  unreachable: boolean;
}

type Ready = { journal: ReadJournal & { header: OpenEntry }; report: JournalReport };

function newReport(journal: ReadJournal): JournalReport {
  return {
    journal: journal.file,
    clientRunId: journal.header?.clientRunId,
    serverRunId: journal.header?.serverRunId,
    runName: journal.header?.runName,
    outcome: "failed",
    entries: journal.entries.length,
    sent: noCounts(),
    present: noCounts(),
    corrupt: journal.corrupt,
    tornTail: journal.tornTail,
    rejected: [],
    endStatus: undefined,
    note: undefined,
  };
}

async function writerAlive(journal: ReadJournal & { header: OpenEntry }, staleAfterMs: number, now: number) {
  if (journal.entries.some((e) => e.entry.op === "end")) return false;
  const { header } = journal;
  if (header.host !== os.hostname()) {
    const changed = (await stat(journal.file)).mtimeMs;
    return now - changed <= staleAfterMs;
  }
  if (header.pid === process.pid) return isJournalOpen(header.clientRunId);
  return isProcessAlive(header.pid, header.pidStart);
}

async function findByClientId(client: MlflowClient, experimentId: string, clientRunId: string) {
  const found = await collect(
    client.runs.search({
      experimentIds: [experimentId],
      filter: `tags.\`${WORKBENCH_TAGS.clientRunId}\` = '${clientRunId}'`,
      limit: 1,
    }),
  );
  return found[0]?.info.runId;
}

/**
 * The server run of a journal: known (it started online), found by its client id (an earlier sync, or a
 * create whose answer was lost), or created now. Undefined while its parent is not on the server yet.
 */
async function resolveRun(client: MlflowClient, header: OpenEntry, ids: Map<string, string>) {
  if (header.serverRunId !== undefined) return header.serverRunId;
  const experimentId =
    header.experimentId ?? (await client.experiments.getOrCreate(header.experimentName ?? "Default"));
  const existing = await findByClientId(client, experimentId, header.clientRunId);
  if (existing !== undefined) return existing;
  let parent = header.parentRunId;
  if (parent === undefined && header.parentClientRunId !== undefined) {
    parent =
      ids.get(header.parentClientRunId) ??
      (await findByClientId(client, experimentId, header.parentClientRunId));
    if (parent === undefined) return undefined;
  }
  const created = await client.runs.create({
    experimentId,
    startTime: header.startTime,
    tags: { ...header.tags, ...(parent === undefined ? {} : { [MLFLOW_TAGS.parentRunId]: parent }) },
    ...(header.runName === undefined ? {} : { runName: header.runName }),
    ...(header.userId === undefined ? {} : { userId: header.userId }),
  });
  return created.info.runId;
}

/**
 * Replays the spool's journals onto the tracking server, then ends orphaned runs. Idempotent: replaying a
 * journal again (after a crash of the sync, or three times in a row) creates no second run, metric point,
 * artifact or model version. A journal is removed only once every entry is confirmed; one with entries that
 * can never be delivered is quarantined with a report after the rest was delivered.
 */
export async function syncSpool(client: MlflowClient, options: SyncOptions): Promise<SyncReport> {
  const logger = options.logger ?? silentLogger();
  const now = options.now ?? Date.now;
  const target = options.target ?? client.trackingUri;
  const spool = new Spool(options.spoolDir);
  const report: SyncReport = { journals: [], orphans: [], unreachable: false };
  // Non-finite values were validated when they were logged; the replay records them as they are.
  const replayClient = new MlflowClient({
    connection: client.connection,
    logger,
    nonFiniteMetrics: "record",
  });
  // Journals of other servers are only reported: no lock, nothing written for them.
  const ours: string[] = [];
  for (const file of await spool.journals()) {
    const journal = await readJournal(file);
    if (journal.header === undefined || target === "*" || journal.header.target === target) ours.push(file);
    else report.journals.push({ ...newReport(journal), outcome: "other-target" });
  }
  const release = ours.length > 0 ? await spool.lock() : async () => {};
  try {
    const ready: Ready[] = [];
    for (const file of ours) {
      // Read again under the lock: a sync that held it may have delivered the journal meanwhile.
      const journal = await readJournal(file).catch(() => undefined);
      if (journal === undefined) continue;
      const entry = newReport(journal);
      report.journals.push(entry);
      if (journal.header === undefined) {
        entry.outcome = "quarantined";
        entry.note = "line 1 (the run header) is unreadable: the entries belong to no known run";
        entry.journal = await spool.quarantine(path.basename(file, ".jsonl"), entry);
        continue;
      }
      const sound = journal as Ready["journal"];
      if (await writerAlive(sound, options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS, now()))
        entry.outcome = "in-progress";
      else ready.push({ journal: sound, report: entry });
    }
    ready.sort((a, b) => a.journal.header.startTime - b.journal.header.startTime);

    const ids = new Map<string, string>();
    for (const { journal } of ready)
      if (journal.header.serverRunId !== undefined)
        ids.set(journal.header.clientRunId, journal.header.serverRunId);
    const resolved: (Ready & { serverRunId: string })[] = [];
    let pending = ready;
    // Parents first: a child waits for the pass after its parent's run exists.
    while (pending.length > 0 && !report.unreachable) {
      const next: Ready[] = [];
      for (const item of pending) {
        try {
          const serverRunId = await resolveRun(replayClient, item.journal.header, ids);
          if (serverRunId === undefined) next.push(item);
          else {
            ids.set(item.journal.header.clientRunId, serverRunId);
            item.report.serverRunId = serverRunId;
            resolved.push({ ...item, serverRunId });
          }
        } catch (error) {
          item.report.note = errorMessage(error);
          if (isUnreachable(error)) report.unreachable = true;
          if (report.unreachable) break;
        }
      }
      if (next.length === pending.length) {
        for (const item of next) item.report.outcome = "waiting";
        break;
      }
      pending = next;
    }

    for (const item of resolved) {
      if (report.unreachable) break;
      const { journal, report: entry } = item;
      try {
        const outcome = await replayJournal({
          client: replayClient,
          spool,
          journal,
          serverRunId: item.serverRunId,
          ids,
          now,
        });
        Object.assign(entry, { sent: outcome.sent, present: outcome.present, rejected: outcome.rejected });
        entry.endStatus = outcome.endStatus;
        if (!outcome.endFromJournal) entry.note = "no end status in the journal: ended KILLED";
        if (journal.corrupt.length > 0 || outcome.rejected.length > 0) {
          entry.outcome = "quarantined";
          entry.journal = await spool.quarantine(journal.header.clientRunId, entry);
        } else {
          entry.outcome = "synced";
          await spool.remove(journal.header.clientRunId);
        }
        logger.info({ journal: journal.file, outcome: entry.outcome, sent: entry.sent }, "journal replayed");
      } catch (error) {
        entry.outcome = "failed";
        entry.note = errorMessage(error);
        if (isUnreachable(error)) report.unreachable = true;
      }
    }
    if (options.orphans !== false && !report.unreachable) {
      try {
        const pending = report.journals
          .filter((j) => j.outcome !== "synced" && j.outcome !== "quarantined")
          .flatMap((j) => (j.clientRunId === undefined ? [] : [j.clientRunId]));
        report.orphans = await markOrphans(replayClient, {
          now,
          pending: new Set(pending),
          ...(options.orphans?.staleAfterMs === undefined
            ? {}
            : { staleAfterMs: options.orphans.staleAfterMs }),
          ...(options.orphans?.experimentIds === undefined
            ? {}
            : { experimentIds: options.orphans.experimentIds }),
        });
      } catch (error) {
        if (!isUnreachable(error)) throw error;
        report.unreachable = true;
      }
    }
    for (const entry of report.journals)
      if (entry.outcome === "failed" && entry.note === undefined)
        entry.note = "not replayed: the tracking server could not be reached";
    return report;
  } finally {
    await release();
    replayClient.close();
  }
}
