import { ConfigError, WorkbenchError } from "../shared/errors.js";
import { createLogger, type Logger } from "../shared/logger.js";
import { MlflowClient } from "../tracking/client.js";
import { ensureTrackingServer, type TrackingServerHandle } from "../tracking/ensure-server.js";

export interface MainContext {
  client: MlflowClient;
  logger: Logger;
  server: TrackingServerHandle;
}

/** WORKBENCH_MLFLOW_PORT: the port of the local server started when MLFLOW_TRACKING_URI is unset (0: any free port). */
function localServerPort(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(
      `WORKBENCH_MLFLOW_PORT must be a port number (0 for any free port), not '${value}'.`,
      {
        code: "CONFIG_ENV_INVALID",
      },
    );
  return port;
}

/**
 * Shared shell of the CLI entry points: logger, tracking server (from MLFLOW_TRACKING_URI or started
 * locally), client; then one clear line per error and a non-zero exit code instead of a stack trace.
 */
export async function runMain(
  options: { keepServer?: boolean; name?: string; exitCodeFor?: (error: unknown) => number },
  body: (context: MainContext) => Promise<void>,
): Promise<void> {
  const logger = createLogger({ name: options.name ?? "workbench", level: process.env.LOG_LEVEL ?? "info" });
  let server: TrackingServerHandle | undefined;
  let client: MlflowClient | undefined;
  try {
    const port = localServerPort(process.env.WORKBENCH_MLFLOW_PORT);
    server = await ensureTrackingServer({
      logger,
      keep: options.keepServer ?? false,
      ...(port === undefined ? {} : { port }),
    });
    client = new MlflowClient({ trackingUri: server.uri, logger });
    await body({ client, logger, server });
  } catch (error) {
    process.exitCode = options.exitCodeFor?.(error) ?? 1;
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
