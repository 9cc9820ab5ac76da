// Helpers shared by the bench:* scripts.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../src/shared/project.js";

/** An integer flag value >= min, or an error naming the flag. */
export function integerFlag(name: string, text: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be an integer >= ${min} (got '${text}').`);
  return n;
}

/** Progress on stderr, so that stdout carries only the JSON lines. */
export function progressLogger(bench: string): (message: string) => void {
  return (message) => console.error(`[${bench}] ${message}`);
}

export const round1 = (x: number) => Number(x.toFixed(1));
export const round3 = (x: number) => Number(x.toFixed(3));
export const round5 = (x: number) => Number(x.toFixed(5));

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The data mirror: an explicit flag, else WORKBENCH_DATA_MIRROR, else ../shared/datasets beside the project. */
export function mirrorDir(explicit: string | undefined): string | undefined {
  if (explicit !== undefined) return explicit;
  const env = process.env.WORKBENCH_DATA_MIRROR;
  if (env !== undefined && env !== "") return env;
  const sibling = path.resolve(projectRoot(), "..", "shared", "datasets");
  return existsSync(sibling) ? sibling : undefined;
}

/** Collects a child's stdout and resolves with it and the exit code once the child closes. */
export async function collectStdout(child: ChildProcess): Promise<{ code: number | null; stdout: string }> {
  let stdout = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  return { code, stdout };
}

/**
 * `scripts/train.ts` once with `args`, tracking to `uri` (never offline); its output goes to our stderr. Resolves
 * with the wall time, the run id from the command's last line ("run (…): <uri>/#/experiments/<id>/runs/<run id>")
 * and the CPU seconds (user + system, every thread) the command used, read by RUSAGE_PRELOAD at its exit (its own
 * process only: child processes it runs, such as `git` for the run's source tags, are not counted).
 */
export async function runTrainCommand(
  args: readonly string[],
  uri: string,
): Promise<{ wall_s: number; runId: string; cpu_s: number | undefined }> {
  const rusageFile = path.join(os.tmpdir(), `bench-train-rusage-${process.pid}-${Date.now()}.json`);
  const env: NodeJS.ProcessEnv = { ...process.env, MLFLOW_TRACKING_URI: uri, BENCH_RUSAGE_FILE: rusageFile };
  delete env.MLFLOW_OFFLINE;
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--import", RUSAGE_PRELOAD, path.join(projectRoot(), "scripts", "train.ts"), ...args],
    { cwd: projectRoot(), stdio: ["ignore", "pipe", "inherit"], env },
  );
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => process.stderr.write(chunk));
  const { code, stdout } = await collectStdout(child);
  const wall = (performance.now() - started) / 1000;
  const usage = await readFile(rusageFile, "utf8")
    .then((text) => JSON.parse(text) as { user: number; system: number })
    .catch(() => undefined);
  await rm(rusageFile, { force: true });
  if (code !== 0) throw new Error(`the train command exited with code ${code}`);
  const runId = /\/runs\/([0-9a-f]{32})\b/.exec(stdout)?.[1];
  if (runId === undefined) throw new Error("the train command printed no run URL");
  return { wall_s: wall, runId, cpu_s: usage === undefined ? undefined : (usage.user + usage.system) / 1e6 };
}

/** Clock ticks per second of /proc's CPU times (getconf CLK_TCK; 100 where it cannot be asked). */
let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * CPU seconds (user + system) used so far by the live processes of process group `pgid` (a server started
 * detached: its group is its pid), from /proc; undefined where /proc cannot be read (not Linux).
 */
export async function processGroupCpuSeconds(pgid: number): Promise<number | undefined> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => undefined);
    if (stat === undefined) continue;
    // Fields after the command (which may hold spaces): state ppid pgrp … utime (14th field) stime cutime cstime
    // (17th): the process's own time and that of its children it has reaped (a worker process that exited).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return ticks / ticksPerSecond();
}

/** The nearest-rank percentile `p` (0..100) of sorted latencies. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Compiles the service as the Docker image does (tsconfig.build.json) into `dir`/dist, with a node_modules
 * link beside it so that the compiled files resolve the project's packages; returns the entry script.
 */
export async function buildService(dir: string): Promise<string> {
  await symlink(path.join(projectRoot(), "node_modules"), path.join(dir, "node_modules"), "dir");
  const tsc = path.join(projectRoot(), "node_modules", "typescript", "bin", "tsc");
  const outDir = path.join(dir, "dist");
  const child = spawn(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", outDir], {
    cwd: projectRoot(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  for (const stream of [child.stdout, child.stderr])
    stream.setEncoding("utf8").on("data", (c: string) => (output += c));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  if (code !== 0)
    throw new Error(`tsc -p tsconfig.build.json failed (exit ${code}); try --entry tsx:\n${output}`);
  return path.join(outDir, "scripts", "serve.js");
}

/** Share of CPU time the whole machine spent idle over `ms` (Linux /proc/stat; undefined elsewhere). */
export async function machineIdleShare(ms = 1000): Promise<number | undefined> {
  const read = async () => {
    try {
      const line = (await readFile("/proc/stat", "utf8")).split("\n", 1)[0]!;
      const fields = line.trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal …: idle + iowait count as idle.
      return { idle: fields[3]! + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0) };
    } catch {
      return undefined;
    }
  };
  const a = await read();
  if (a === undefined) return undefined;
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = await read();
  if (b === undefined || b.total === a.total) return undefined;
  return (b.idle - a.idle) / (b.total - a.total);
}

/**
 * Waits until the machine is at least `share` idle over a second (other jobs would distort timings), polling
 * for at most `timeoutMs`. Returns the last idle share measured and whether the wait timed out.
 */
export async function waitForIdle(
  share: number,
  timeoutMs: number,
  onWait: (idle: number) => void = () => {},
): Promise<{ idle: number | undefined; timedOut: boolean }> {
  const started = Date.now();
  let warned = false;
  for (;;) {
    const idle = await machineIdleShare();
    if (idle === undefined || idle >= share) return { idle, timedOut: false };
    if (Date.now() - started > timeoutMs) return { idle, timedOut: true };
    if (!warned) onWait(idle);
    warned = true;
  }
}

/** The machine's state before a measured run, after waiting for `waitIdle` (share of idle CPU, 0 = no wait) for
 * up to `waitMinutes`: the fields every bench line records. */
export function machineSettler(
  waitIdle: number,
  waitMinutes: number,
  progress: (message: string) => void,
): (
  label: string,
) => Promise<{ machine_idle_before: number | null; load_avg_1m_before: number; busy_machine?: true }> {
  return async (label) => {
    const { idle, timedOut } = await waitForIdle(waitIdle, waitMinutes * 60_000, (now) =>
      progress(
        `${label}: waiting for the machine to be ${waitIdle * 100}% idle (now ${(now * 100).toFixed(0)}%)`,
      ),
    );
    if (timedOut) progress(`${label}: still busy after ${waitMinutes} min; starting anyway`);
    return {
      machine_idle_before: idle === undefined ? null : round3(idle),
      load_avg_1m_before: round1(os.loadavg()[0]!),
      ...(timedOut ? { busy_machine: true as const } : {}),
    };
  };
}

/**
 * A module preloaded into a measured Node process (`--import RUSAGE_PRELOAD`): its getrusage at exit, as JSON
 * ({maxRSS, user, system}), into $BENCH_RUSAGE_FILE.
 */
export const RUSAGE_PRELOAD = `data:text/javascript,${encodeURIComponent(
  'import { writeFileSync } from "node:fs"; process.on("exit", () => { const u = process.resourceUsage(); writeFileSync(process.env.BENCH_RUSAGE_FILE, JSON.stringify({ maxRSS: u.maxRSS, user: u.userCPUTime, system: u.systemCPUTime })); });',
)}`;
