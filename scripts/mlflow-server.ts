// `npm run mlflow [-- --port 5000 --store mlruns --workers 2]`: the local tracking server, in the foreground.
// SQLite store and artifacts under mlruns/, artifacts served through the mlflow-artifacts proxy.
import { parseArgs } from "node:util";
import { WorkbenchError } from "../src/shared/errors.js";
import { createLogger } from "../src/shared/logger.js";
import { startLocalServer } from "../src/tracking/local-server.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "5000" },
    store: { type: "string" },
    // One worker: with several, uvicorn leaves TCP_NODELAY off and every keep-alive request waits ~40 ms
    // for a delayed ACK (Kludex/uvicorn#3149).
    workers: { type: "string", default: "1" },
  },
});

const logger = createLogger({ name: "mlflow-server" });
try {
  const server = await startLocalServer({
    port: Number(values.port),
    workers: Number(values.workers),
    logger,
    ...(values.store === undefined ? {} : { storeDir: values.store }),
  });
  console.log(`MLflow tracking server: ${server.uri}  (store ${server.storeDir}, log ${server.logFile})`);
  console.log(`Use it from another shell with: export MLFLOW_TRACKING_URI=${server.uri}`);
  console.log("Press Ctrl-C to stop.");
  const shutdown = async () => {
    await server.stop();
    process.exit(0);
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
} catch (error) {
  console.error(error instanceof WorkbenchError ? `error [${error.code}]: ${error.message}` : error);
  process.exit(1);
}
