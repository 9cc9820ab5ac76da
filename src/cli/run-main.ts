import { WorkbenchError } from "../shared/errors.js";
import { createLogger, type Logger } from "../shared/logger.js";
import { MlflowClient } from "../tracking/client.js";
import { ensureTrackingServer, type TrackingServerHandle } from "../tracking/ensure-server.js";

export interface MainContext {
  client: MlflowClient;
  logger: Logger;
  server: TrackingServerHandle;
}

/**
 * Shared shell of the CLI entry points: logger, tracking server (from MLFLOW_TRACKING_URI or started
 * locally), client; then one clear line per error and a non-zero exit code instead of a stack trace.
 */
export async function runMain(
  options: { keepServer?: boolean; name?: string },
  body: (context: MainContext) => Promise<void>,
): Promise<void> {
  const logger = createLogger({ name: options.name ?? "workbench", level: process.env.LOG_LEVEL ?? "info" });
  let server: TrackingServerHandle | undefined;
  let client: MlflowClient | undefined;
  try {
    server = await ensureTrackingServer({ logger, keep: options.keepServer ?? false });
    client = new MlflowClient({ trackingUri: server.uri, logger });
    await body({ client, logger, server });
  } catch (error) {
    process.exitCode = 1;
    if (error instanceof WorkbenchError) {
      console.error(`error [${error.code}]: ${error.message}`);
    } else {
      console.error(error);
    }
  } finally {
    client?.close();
    await server?.release();
  }
}
