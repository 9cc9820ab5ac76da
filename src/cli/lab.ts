import { spawn } from "node:child_process";
import path from "node:path";
import { createLogger } from "../shared/logger.js";
import { projectRoot, venvExecutable } from "../shared/project.js";
import { ensureTrackingServer } from "../tracking/ensure-server.js";

/** The environment that makes Jupyter find the project's tslab kernel (a project-local prefix). */
export function jupyterEnv(root: string = projectRoot()): Record<string, string> {
  const prefix = path.join(root, ".jupyter");
  return {
    JUPYTER_PATH: prefix,
    JUPYTER_DATA_DIR: prefix,
    JUPYTER_CONFIG_DIR: path.join(prefix, "config"),
    JUPYTER_RUNTIME_DIR: path.join(prefix, "runtime"),
  };
}

/**
 * `npm run lab`: JupyterLab on the project's notebooks with the tslab kernel, MLFLOW_TRACKING_URI pointing at
 * the tracking server (MLFLOW_TRACKING_URI, the local one already running, or one started for the session).
 */
export async function labCommand(argv: readonly string[]): Promise<void> {
  const logger = createLogger({ name: "lab", level: process.env.LOG_LEVEL ?? "info" });
  const server = await ensureTrackingServer({ logger });
  const root = projectRoot();
  const args = [
    "lab",
    `--notebook-dir=${root}`,
    "notebooks/",
    ...(process.getuid?.() === 0 ? ["--allow-root"] : []),
    ...argv,
  ];
  console.log(`MLflow: ${server.uri} (${server.origin}); notebooks use MLFLOW_TRACKING_URI=${server.uri}`);
  const child = spawn(venvExecutable("jupyter"), args, {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, ...jupyterEnv(root), MLFLOW_TRACKING_URI: server.uri },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  const code = await new Promise<number>((resolve) => child.once("exit", (c) => resolve(c ?? 0)));
  process.off("SIGINT", forward);
  process.off("SIGTERM", forward);
  await server.release();
  process.exitCode = code;
}
