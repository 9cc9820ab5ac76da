// A `run:` step's process: bash with errexit and pipefail, its own process group (so a timeout, or processes
// the step leaves behind, can be ended as the runner ends them), output kept as a tail and in a log file.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";

export interface ScriptRun {
  exitCode: number | null;
  timedOut: boolean;
  /** Processes of the step's group still alive after it exited (ended by the runner, as GitHub does). */
  orphans: string[];
  stdoutTail: string;
  stderrTail: string;
}

const TAIL = 20_000;

/** Runs `script` with `bash --noprofile --norc -e -o pipefail`, as GitHub's `shell: bash` does. */
export async function runScript(options: {
  script: string;
  scriptFile: string;
  logFile: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  echo?: (chunk: string) => void;
}): Promise<ScriptRun> {
  await writeFile(options.scriptFile, options.script);
  const log = createWriteStream(options.logFile);
  const child = spawn("bash", ["--noprofile", "--norc", "-e", "-o", "pipefail", options.scriptFile], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tails = { stdout: "", stderr: "" };
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream].setEncoding("utf8");
    child[stream].on("data", (chunk: string) => {
      tails[stream] = (tails[stream] + chunk).slice(-TAIL);
      log.write(chunk);
      options.echo?.(chunk);
    });
  }
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
      return true;
    } catch {
      return false;
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup("SIGTERM");
    setTimeout(() => killGroup("SIGKILL"), 10_000).unref();
  }, options.timeoutMs);
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => resolve(code));
  });
  clearTimeout(timer);
  // The step is over when bash exits; what it started in the background still holds the output pipes.
  const settle = (ms: number) => Promise.race([closed.then(() => true), delay(ms).then(() => false)]);
  const members = () =>
    (spawnSync("pgrep", ["-a", "-g", String(child.pid)], { encoding: "utf8" }).stdout ?? "")
      .split("\n")
      .filter((l) => l.trim() !== "" && !l.endsWith("<defunct>"));
  let orphans: string[] = [];
  if (!(await settle(500))) {
    orphans = members();
    killGroup("SIGKILL");
    if (!(await settle(2_000))) {
      // Held by a process outside the step's group (started detached): stop reading, leave it be.
      child.stdout.destroy();
      child.stderr.destroy();
    }
  }
  await new Promise<void>((resolve) => log.end(resolve));
  const late = members();
  if (late.length > 0) {
    orphans = [...orphans, ...late];
    killGroup("SIGKILL");
  }
  return { exitCode, timedOut, orphans, stdoutTail: tails.stdout, stderrTail: tails.stderr };
}
