import { createLogger, type Logger } from "../shared/logger.js";
import { MlflowClient } from "../tracking/client.js";
import { blankTrackingUriWarning, trackingUriFromEnv } from "../tracking/connection.js";
import { isMlflowHealthy } from "../tracking/local-server.js";

const LOCAL = "http://127.0.0.1:5000";

/**
 * A client for commands that read the registry but never start a server (serve, predict, model:export):
 * MLFLOW_TRACKING_URI, else the local server on port 5000 when one answers, else none (local model dirs only).
 * A blank MLFLOW_TRACKING_URI counts as unset, with a warning naming the fallback.
 */
export async function registryClient(logger?: Logger): Promise<MlflowClient | undefined> {
  const configured = trackingUriFromEnv(process.env);
  let uri = configured.uri;
  if (uri === undefined && (await isMlflowHealthy(LOCAL))) uri = LOCAL;
  if (configured.blank) {
    const fallback =
      uri === undefined
        ? `no tracking server is used (none answers at ${LOCAL}): only local model directories can be loaded`
        : `the local MLflow server at ${uri} is used`;
    (logger ?? createLogger({ level: "warn" })).warn({ uri }, blankTrackingUriWarning(fallback));
  }
  return uri === undefined
    ? undefined
    : new MlflowClient({ trackingUri: uri, ...(logger ? { logger } : {}) });
}
