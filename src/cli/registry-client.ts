import type { Logger } from "../shared/logger.js";
import { MlflowClient } from "../tracking/client.js";
import { isMlflowHealthy } from "../tracking/local-server.js";

/**
 * A client for commands that read the registry but never start a server (serve, predict, model:export):
 * MLFLOW_TRACKING_URI, else the local server on port 5000 when one answers, else none (local model dirs only).
 */
export async function registryClient(logger?: Logger): Promise<MlflowClient | undefined> {
  let uri = process.env.MLFLOW_TRACKING_URI;
  if (uri === undefined && (await isMlflowHealthy("http://127.0.0.1:5000"))) uri = "http://127.0.0.1:5000";
  return uri === undefined
    ? undefined
    : new MlflowClient({ trackingUri: uri, ...(logger ? { logger } : {}) });
}
