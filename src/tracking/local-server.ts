import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { TrackingError, WorkbenchError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { silentLogger } from "../shared/logger.js";
import { projectRoot, venvExecutable } from "../shared/project.js";

export interface LocalServerOptions {
  /** Folder holding mlflow.db (SQLite), artifacts/ and server.log; defaults to <project>/mlruns. */
  storeDir?: string;
  /**
   * Where runs and the registry live: an SQLAlchemy URI such as `postgresql://user@host:5432/db`
   * (psycopg 3 is in the venv). Defaults to SQLite, `sqlite:///<storeDir>/mlflow.db`.
   */
  backendStoreUri?: string;
  host?: string;
  /** 0 picks a free port. Defaults to 5000, MLflow's own default. */
  port?: number;
  workers?: number;
  /** How long to wait for /health, in milliseconds. */
  readyTimeoutMs?: number;
  logger?: Logger;
  /** Extra environment for the server process. */
  env?: Readonly<Record<string, string>>;
}

export interface LocalServer {
  uri: string;
  port: number;
  storeDir: string;
  /** The backend store URI the server was started with (credentials included, do not log it). */
  backendStoreUri: string;
  logFile: string;
  pid: number;
  /** Stops the server and every process it started; resolves once they are gone. */
  stop(): Promise<void>;
}

/** Resolves a free TCP port on `host`. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(),
      );
    });
  });
}

/** True when something accepts connections on host:port. */
export async function portInUse(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** GET <uri>/health answered "OK": an MLflow server is up at `uri`. */
export async function isMlflowHealthy(uri: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const response = await fetch(`${uri}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok && (await response.text()).trim() === "OK";
  } catch {
    return false;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** What `mlflow server` is started with; deploy/compose.yaml uses the same (its test compares them). */
export interface MlflowServerArgs {
  host: string;
  port: number;
  backendStoreUri: string;
  /** A folder, or an object store URI such as `s3://bucket` in a deployment. */
  artifactsDestination: string;
  workers: number;
}

/** The `mlflow server` arguments: artifacts go through the server's mlflow-artifacts proxy (--serve-artifacts). */
export function mlflowServerArgs(options: MlflowServerArgs): string[] {
  return [
    "server",
    "--host",
    options.host,
    "--port",
    String(options.port),
    "--backend-store-uri",
    options.backendStoreUri,
    "--artifacts-destination",
    options.artifactsDestination,
    "--serve-artifacts",
    "--workers",
    String(options.workers),
  ];
}

/**
 * Environment every tracking server gets. Long param/tag values are rejected rather than silently truncated;
 * the job runner (which would need a Python tracking client of its own) stays off.
 */
export const MLFLOW_SERVER_ENV: Readonly<Record<string, string>> = {
  MLFLOW_TRUNCATE_LONG_VALUES: "false",
  MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
};

/** `scheme://user:secret@host` → `scheme://user:***@host`, for logs. */
function redactUri(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, "$1:***@");
}

/**
 * Starts `mlflow server` from the project venv: SQLite store (or `backendStoreUri`) and artifact folder
 * under `storeDir`, artifacts served through the mlflow-artifacts proxy, ready once /health answers.
 */
export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const logger = options.logger ?? silentLogger();
  const host = options.host ?? "127.0.0.1";
  const storeDir = path.resolve(options.storeDir ?? path.join(projectRoot(), "mlruns"));
  const requested = options.port ?? 5000;
  const port = requested === 0 ? await freePort(host) : requested;
  if (await portInUse(port, host)) {
    throw new WorkbenchError(
      "PORT_IN_USE",
      `Port ${port} on ${host} is already in use. Stop what runs there, or choose another port (--port).`,
      { details: { port, host } },
    );
  }
  const mlflow = venvExecutable("mlflow");
  await mkdir(path.join(storeDir, "artifacts"), { recursive: true });
  const logFile = path.join(storeDir, "server.log");
  const log = createWriteStream(logFile, { flags: "a" });
  const backendStoreUri = options.backendStoreUri ?? `sqlite:///${path.join(storeDir, "mlflow.db")}`;
  const args = mlflowServerArgs({
    host,
    port,
    backendStoreUri,
    artifactsDestination: path.join(storeDir, "artifacts"),
    workers: options.workers ?? 1,
  });
  const child = spawn(mlflow, args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...MLFLOW_SERVER_ENV, ...options.env },
  });
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    tail.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 30));
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const uri = `http://${host}:${port}`;
  logger.info(
    { uri, storeDir, backend: redactUri(backendStoreUri), pid: child.pid },
    "starting mlflow server",
  );

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    // Workers may outlive the parent for a moment; make sure the whole group is gone.
    killGroup(child, "SIGKILL");
    await new Promise<void>((resolve) => log.end(resolve));
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  while (!(await isMlflowHealthy(uri, 1000))) {
    if (exitCode !== undefined) {
      await stop();
      throw new TrackingError(
        "LOCAL_SERVER_FAILED",
        `mlflow server exited with code ${exitCode} before it was ready. Last output:\n${tail.join("\n")}`,
        { trackingUri: uri, details: { logFile } },
      );
    }
    if (Date.now() > deadline) {
      await stop();
      throw new TrackingError(
        "LOCAL_SERVER_TIMEOUT",
        `mlflow server did not answer ${uri}/health within ${options.readyTimeoutMs ?? 120_000} ms. Last output:\n${tail.join("\n")}`,
        { trackingUri: uri, details: { logFile } },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  logger.info({ uri }, "mlflow server ready");
  return { uri, port, storeDir, backendStoreUri, logFile, pid: child.pid ?? -1, stop };
}
