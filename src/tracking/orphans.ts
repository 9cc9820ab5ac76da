import os from "node:os";
import type { MlflowClient } from "./client.js";
import { isProcessAlive } from "./heartbeat.js";
import { collect } from "./paginate.js";
import { WORKBENCH_TAGS } from "./tracker.js";
import type { Run } from "./types.js";

export const DEFAULT_STALE_AFTER_MS = 15 * 60_000;

export interface OrphanOptions {
  /** Experiments to look in (default: every active one). */
  experimentIds?: readonly string[];
  /** A run of another host counts as dead after this long without a heartbeat (default 15 min). */
  staleAfterMs?: number;
  now?: () => number;
  /** This host's name (default os.hostname()). */
  host?: string;
  isAlive?: (pid: number, pidStart?: string) => boolean;
  /** Client run ids whose journal still waits in the spool: that journal ends them, with their real status. */
  pending?: ReadonlySet<string>;
}

export interface OrphanReport {
  runId: string;
  runName: string;
  experimentId: string;
  host: string;
  pid: number;
  lastHeartbeat: string | undefined;
  note: string;
}

function lastSign(run: Run): number {
  const beat = Date.parse(run.data.tags[WORKBENCH_TAGS.heartbeat] ?? "");
  return Number.isNaN(beat) ? (run.info.startTime ?? 0) : beat;
}

/** Why `run` is an orphan, or undefined when it may still be alive (or is not the workbench's to judge). */
function orphanNote(run: Run, options: Required<Omit<OrphanOptions, "experimentIds">>): string | undefined {
  if (options.pending.has(run.data.tags[WORKBENCH_TAGS.clientRunId] ?? "")) return undefined;
  const host = run.data.tags[WORKBENCH_TAGS.host];
  const pid = Number(run.data.tags[WORKBENCH_TAGS.pid]);
  if (host === undefined || !Number.isInteger(pid)) return undefined;
  const seen = new Date(lastSign(run)).toISOString();
  const at = new Date(options.now()).toISOString();
  if (host === options.host) {
    if (pid === process.pid || options.isAlive(pid, run.data.tags[WORKBENCH_TAGS.pidStart])) return undefined;
    return `KILLED by sync on ${at}: its process (pid ${pid} on ${host}) is gone; last heartbeat ${seen}.`;
  }
  const silentMs = options.now() - lastSign(run);
  if (silentMs <= options.staleAfterMs) return undefined;
  return `KILLED by sync from ${options.host} on ${at}: no heartbeat from ${host} (pid ${pid}) for ${Math.round(silentMs / 60_000)} min; last heartbeat ${seen}.`;
}

/**
 * Ends runs left RUNNING by a process that died without a word (SIGKILL, power loss): a run of this host
 * whose process is gone, or of another host whose heartbeat is older than `staleAfterMs`, is marked KILLED
 * at its last heartbeat, with a `workbench.end_note`. Runs without the workbench's liveness tags, and runs
 * of live processes, are never touched.
 */
export async function markOrphans(
  client: MlflowClient,
  options: OrphanOptions = {},
): Promise<OrphanReport[]> {
  const settings = {
    staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
    now: options.now ?? Date.now,
    host: options.host ?? os.hostname(),
    isAlive: options.isAlive ?? isProcessAlive,
    pending: options.pending ?? new Set<string>(),
  };
  const experimentIds =
    options.experimentIds ??
    (await collect(client.experiments.search({ viewType: "ACTIVE_ONLY" }))).map((e) => e.experimentId);
  const reports: OrphanReport[] = [];
  for (let i = 0; i < experimentIds.length; i += 100) {
    const running = await collect(
      client.runs.search({
        experimentIds: experimentIds.slice(i, i + 100),
        filter: "attributes.status = 'RUNNING'",
      }),
    );
    for (const run of running) {
      const note = orphanNote(run, settings);
      if (note === undefined) continue;
      await client.runs.setTag(run.info.runId, WORKBENCH_TAGS.endNote, note);
      await client.runs.end(run.info.runId, "KILLED", Math.max(lastSign(run), run.info.startTime ?? 0));
      reports.push({
        runId: run.info.runId,
        runName: run.info.runName,
        experimentId: run.info.experimentId,
        host: run.data.tags[WORKBENCH_TAGS.host]!,
        pid: Number(run.data.tags[WORKBENCH_TAGS.pid]),
        lastHeartbeat: run.data.tags[WORKBENCH_TAGS.heartbeat],
        note,
      });
    }
  }
  return reports;
}
