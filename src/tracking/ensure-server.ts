import type { Logger } from "../shared/logger.js";
import { silentLogger } from "../shared/logger.js";
import { blankTrackingUriWarning, parseTrackingUri, trackingUriFromEnv } from "./connection.js";
import { isMlflowHealthy, type LocalServer, portInUse, startLocalServer } from "./local-server.js";

export interface TrackingServerHandle {
  /** The tracking URI to use. */
  uri: string;
  /** "env": MLFLOW_TRACKING_URI; "running": a local server already up; "started": started here. */
  origin: "env" | "running" | "started";
  /** Stops the server when it was started here (unless kept); a no-op otherwise. */
  release(): Promise<void>;
}

export interface EnsureServerOptions {
  env?: Readonly<Record<string, string | undefined>>;
  /** Leave a server started here running after release(). */
  keep?: boolean;
  storeDir?: string;
  port?: number;
  logger?: Logger;
}

/**
 * Uses MLFLOW_TRACKING_URI when it is set (a blank value counts as unset, with a warning naming the
 * fallback); otherwise reuses the local server on port 5000 if one answers,
 * or starts one (on 5000 when free, else on a free port) that release() stops again. `port: 0` always
 * starts a fresh server on a free port.
 */
export async function ensureTrackingServer(options: EnsureServerOptions = {}): Promise<TrackingServerHandle> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? silentLogger();
  const configured = trackingUriFromEnv(env);
  if (configured.uri !== undefined) {
    return { uri: parseTrackingUri(configured.uri), origin: "env", release: async () => {} };
  }
  const port = options.port ?? 5000;
  const local = `http://127.0.0.1:${port}`;
  // Port 0 asks for a fresh server on a free port: never someone else's server that happens to answer.
  if (port !== 0 && (await isMlflowHealthy(local))) {
    if (configured.blank)
      logger.warn(
        { uri: local },
        blankTrackingUriWarning(`runs go to the local MLflow server already running at ${local}`),
      );
    logger.info({ uri: local }, "using the local mlflow server already running");
    return { uri: local, origin: "running", release: async () => {} };
  }
  const server: LocalServer = await startLocalServer({
    port: port !== 0 && (await portInUse(port)) ? 0 : port,
    logger,
    ...(options.storeDir === undefined ? {} : { storeDir: options.storeDir }),
  });
  if (configured.blank)
    logger.warn(
      { uri: server.uri, storeDir: server.storeDir },
      blankTrackingUriWarning(
        `runs go to a local MLflow server started at ${server.uri} (store: ${server.storeDir})`,
      ),
    );
  return {
    uri: server.uri,
    origin: "started",
    release: async () => {
      if (options.keep) {
        logger.info({ uri: server.uri, pid: server.pid }, "leaving the mlflow server running");
        return;
      }
      await server.stop();
    },
  };
}
