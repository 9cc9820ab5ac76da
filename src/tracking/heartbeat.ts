import { readFileSync } from "node:fs";
import os from "node:os";
import type { Logger } from "../shared/logger.js";
import { MlflowClient } from "./client.js";
import { WORKBENCH_TAGS } from "./tracker.js";
import type { StringMap } from "./types.js";

/** Who writes a run: enough to tell later whether that process is still alive. */
export interface ProcessIdentity {
  host: string;
  pid: number;
  /** Start time of the process in clock ticks since boot (Linux), so that a reused pid is not taken for it. */
  pidStart: string | undefined;
}

/** Field 22 of /proc/<pid>/stat; undefined where there is no /proc. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19];
  } catch {
    return undefined;
  }
}

export function thisProcess(): ProcessIdentity {
  return { host: os.hostname(), pid: process.pid, pidStart: processStartTime(process.pid) };
}

/** True when `pid` runs on this host and, when its start time was recorded, is the same process. */
export function isProcessAlive(pid: number, pidStart?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (pidStart === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined || now === pidStart;
}

/** The liveness tags every workbench run carries from its creation on. */
export function livenessTags(identity: ProcessIdentity, now: number): StringMap {
  return {
    [WORKBENCH_TAGS.host]: identity.host,
    [WORKBENCH_TAGS.pid]: String(identity.pid),
    ...(identity.pidStart === undefined ? {} : { [WORKBENCH_TAGS.pidStart]: identity.pidStart }),
    [WORKBENCH_TAGS.heartbeat]: new Date(now).toISOString(),
  };
}

export const DEFAULT_HEARTBEAT_MS = 30_000;

/**
 * Refreshes a run's `workbench.heartbeat` tag every `intervalMs` while it runs, so that a sync on another
 * host can tell a live run from an orphan. One attempt per beat (no retries, short timeout): a missed beat
 * costs nothing, and a beat never holds the process open.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;

  constructor(
    private readonly client: MlflowClient,
    private readonly runId: string,
    private readonly intervalMs: number,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  start(): this {
    if (this.intervalMs <= 0 || this.timer !== undefined) return this;
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async beat(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      await this.client.runs.setTag(this.runId, WORKBENCH_TAGS.heartbeat, new Date(this.now()).toISOString());
    } catch (error) {
      this.logger.debug({ err: error, runId: this.runId }, "heartbeat missed");
    } finally {
      this.inFlight = false;
    }
  }
}

/** A client for heartbeats: same server and credentials, one attempt, at most 10 s. */
export function heartbeatClient(client: MlflowClient): MlflowClient {
  const connection = client.connection;
  return new MlflowClient({
    connection: {
      ...connection,
      retry: { ...connection.retry, maxRetries: 0 },
      timeoutMs: Math.min(connection.timeoutMs, 10_000),
    },
  });
}
