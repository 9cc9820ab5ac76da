import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { TrackingError } from "../shared/errors.js";
import { projectRoot } from "../shared/project.js";
import { parseTrackingUri } from "./connection.js";
import { isProcessAlive } from "./heartbeat.js";

/** WORKBENCH_SPOOL_DIR overrides where journals are kept (default: mlruns/.spool in the project). */
export function defaultSpoolDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const configured = env.WORKBENCH_SPOOL_DIR;
  return configured !== undefined && configured.trim() !== ""
    ? path.resolve(configured)
    : path.join(projectRoot(), "mlruns", ".spool");
}

/**
 * The server journals are meant for: MLFLOW_TRACKING_URI, or "local" for the project's own store (the
 * local server started on demand, whatever its port). Sync replays a journal only to its own target.
 */
export function trackingTarget(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const uri = env.MLFLOW_TRACKING_URI;
  return uri !== undefined && uri.trim() !== "" ? parseTrackingUri(uri) : "local";
}

export interface StagedFile {
  /** Relative to the staged folder, `/`-separated. */
  path: string;
  size: number;
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, "r+");
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

function parseHolder(text: string): { host?: string; pid?: number } {
  try {
    return JSON.parse(text) as { host?: string; pid?: number };
  } catch {
    return {};
  }
}

/**
 * The spool folder: `<id>.jsonl` journals, `<id>.files/` with the copies of their artifacts, `quarantine/`
 * for journals that had entries sync could not deliver, and `.sync.lock` while a sync runs.
 */
export class Spool {
  constructor(readonly dir: string) {}

  journalFile(clientRunId: string): string {
    return path.join(this.dir, `${clientRunId}.jsonl`);
  }

  filesDir(clientRunId: string): string {
    return path.join(this.dir, `${clientRunId}.files`);
  }

  async ensure(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /**
   * Copies a file or a folder tree into the journal's files folder (fsynced), before the entry naming it is
   * written: the artifact then survives whatever happens to the original. Returns the folder (relative to
   * the files folder) and the files in it.
   */
  async stage(
    clientRunId: string,
    dir: string,
    source: string,
    kind: "file" | "dir",
  ): Promise<{ dir: string; files: StagedFile[] }> {
    const info = await stat(source).catch((cause: unknown) => {
      throw new TrackingError("ARTIFACT_SOURCE_MISSING", `Cannot log '${source}': it does not exist.`, {
        cause,
      });
    });
    const target = path.join(this.filesDir(clientRunId), dir);
    await mkdir(target, { recursive: true });
    const sources: { from: string; rel: string }[] = [];
    if (kind === "file" && info.isFile()) sources.push({ from: source, rel: path.basename(source) });
    else if (kind === "dir" && info.isDirectory()) {
      const entries = await readdir(source, { recursive: true, withFileTypes: true });
      for (const entry of entries.filter((e) => e.isFile())) {
        const from = path.join(entry.parentPath, entry.name);
        sources.push({ from, rel: path.relative(source, from).split(path.sep).join("/") });
      }
    } else {
      throw new TrackingError(
        "ARTIFACT_SOURCE_MISSING",
        `Cannot upload '${source}': it is not a ${kind === "file" ? "file" : "directory"}.`,
      );
    }
    const files: StagedFile[] = [];
    for (const { from, rel } of sources.sort((a, b) => a.rel.localeCompare(b.rel))) {
      const to = path.join(target, ...rel.split("/"));
      await mkdir(path.dirname(to), { recursive: true });
      await copyFile(from, to);
      await fsyncFile(to);
      files.push({ path: rel, size: (await stat(to)).size });
    }
    return { dir, files };
  }

  /** Absolute path of a staged file. */
  stagedPath(clientRunId: string, dir: string, file: string): string {
    return path.join(this.filesDir(clientRunId), dir, ...file.split("/"));
  }

  /** The journals waiting here, oldest name first. */
  async journals(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names
      .filter((n) => /^[0-9a-f]{32}\.jsonl$/.test(n))
      .sort()
      .map((n) => path.join(this.dir, n));
  }

  /** Removes a journal and its files once the server confirmed every entry. */
  async remove(clientRunId: string): Promise<void> {
    await rm(this.filesDir(clientRunId), { recursive: true, force: true });
    await rm(this.journalFile(clientRunId), { force: true });
  }

  /** Moves a journal that cannot be fully delivered aside, with the reasons, for a human to look at. */
  async quarantine(clientRunId: string, report: unknown): Promise<string> {
    const dir = path.join(this.dir, "quarantine");
    await mkdir(dir, { recursive: true });
    const files = this.filesDir(clientRunId);
    // A journal quarantined before (then restored and synced again) is replaced by this copy.
    await rm(path.join(dir, path.basename(files)), { recursive: true, force: true });
    await rename(files, path.join(dir, path.basename(files))).catch(() => undefined);
    const target = path.join(dir, `${clientRunId}.jsonl`);
    await rename(this.journalFile(clientRunId), target);
    await writeFile(path.join(dir, `${clientRunId}.report.json`), `${JSON.stringify(report, null, 2)}\n`);
    return target;
  }

  /**
   * Takes the spool's sync lock, so that two syncs never replay the same journal at once (which could
   * create a run twice). A lock left by a process that is gone is taken over.
   */
  async lock(): Promise<() => Promise<void>> {
    await this.ensure();
    const file = path.join(this.dir, ".sync.lock");
    const mine = JSON.stringify({ host: os.hostname(), pid: process.pid });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(file, mine, { flag: "wx" });
        return async () => {
          if ((await readFile(file, "utf8").catch(() => "")) === mine) await rm(file, { force: true });
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const holder = await readFile(file, "utf8").catch(() => "{}");
        const { host, pid } = parseHolder(holder);
        if (host === os.hostname() && pid !== undefined && !isProcessAlive(pid)) {
          await rm(file, { force: true });
          continue;
        }
        throw new TrackingError(
          "SPOOL_LOCKED",
          `Another sync (pid ${pid ?? "?"} on ${host ?? "?"}) is replaying ${this.dir}. Wait for it, or remove ${file} if that process is gone.`,
          { details: { file, holder } },
        );
      }
    }
    throw new TrackingError("SPOOL_LOCKED", `Could not take the sync lock ${file}.`);
  }
}
