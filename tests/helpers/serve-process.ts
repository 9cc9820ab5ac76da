import { spawn } from "node:child_process";
import path from "node:path";
import { projectRoot } from "../../src/shared/project.js";
import { freePort } from "../../src/tracking/local-server.js";

/** One `npm run serve` process (a service replica) on a free loopback port. */
export interface ServeProcess {
  base: string;
  pid: number;
  /** Its stdout and stderr so far (for assertion messages). */
  output(): string;
  /** SIGTERM (the service drains in-flight requests), then waits for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `scripts/serve.ts` the way its npm task does (tsx) with `args` after `--host 127.0.0.1 --port <free>`,
 * and resolves once GET /health answers 200 (the service is ready only when its model is loaded).
 */
export async function startServeProcess(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  readyTimeoutMs = 90_000,
): Promise<ServeProcess> {
  const root = projectRoot();
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(root, "scripts", "serve.ts"),
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      ...args,
    ],
    { cwd: root, env: { ...process.env, LOG_LEVEL: "warn", ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const chunks: string[] = [];
  child.stdout.on("data", (c: Buffer) => chunks.push(c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => chunks.push(c.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  const output = () => chunks.join("");
  const stop = async () => {
    if (exitCode === undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    return exitCode ?? null;
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const ready = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ready) break;
    if (exitCode !== undefined || Date.now() > deadline) {
      await stop();
      throw new Error(
        `serve on port ${port} ${exitCode === undefined ? `was not ready within ${readyTimeoutMs} ms` : `exited with code ${exitCode}`}:\n${output()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { base, pid: child.pid ?? -1, output, stop };
}
