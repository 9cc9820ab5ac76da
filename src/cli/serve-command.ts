import { initTf } from "../models/backend.js";
import { createApp } from "../serving/app.js";
import { ModelHolder } from "../serving/model-holder.js";
import { PredictionLog } from "../serving/prediction-log.js";
import { ConfigError, WorkbenchError } from "../shared/errors.js";
import { createLogger } from "../shared/logger.js";
import { parseCli } from "./args.js";
import { registryClient } from "./registry-client.js";

const USAGE = `usage: npm run serve -- --model <models:/name@alias | models:/name/version | runs:/id/path | dir>
       [--host 127.0.0.1] [--port 8080] [--poll-seconds 30] [--max-batch 10000] [--body-limit-mb 10]
       [--prediction-log DIR] [--sample-rate 0.1] [--strict]
  --strict (or WORKBENCH_SERVE_STRICT=true): refuse (422) what MLflow's scoring server adjusts and accepts
  (extra columns, numbers written as strings, 24.5 for a long column, nulls in required columns); by default
  the service matches MLflow and names each adjustment in the x-schema-warnings response header.
  env: MLFLOW_TRACKING_URI (registry), WORKBENCH_SERVE_TOKEN (bearer auth on prediction and admin routes)`;

/** WORKBENCH_SERVE_STRICT: true/1/yes or false/0/no (unset: false). */
export function strictFromEnv(value: string | undefined): boolean {
  const v = value?.trim().toLowerCase() ?? "";
  if (v === "" || ["0", "false", "no"].includes(v)) return false;
  if (["1", "true", "yes"].includes(v)) return true;
  throw new ConfigError(`WORKBENCH_SERVE_STRICT='${value}' must be true or false.`, {
    code: "CONFIG_ENV_INVALID",
  });
}

/** `npm run serve`: loads the model (ready only once it is loaded), serves it, drains on SIGTERM/SIGINT. */
export async function serveCommand(argv: readonly string[]): Promise<void> {
  const parsed = parseCli(
    argv,
    {
      model: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8080" },
      "poll-seconds": { type: "string", default: "30" },
      "max-batch": { type: "string", default: "10000" },
      "body-limit-mb": { type: "string", default: "10" },
      "prediction-log": { type: "string" },
      "sample-rate": { type: "string", default: "0.1" },
      strict: { type: "boolean", default: false },
    },
    USAGE,
    ["model"],
  );
  if (parsed === undefined) return;
  const values = parsed.values;
  const numbers = Object.fromEntries(
    ["port", "poll-seconds", "max-batch", "body-limit-mb", "sample-rate"].map((k) => {
      const n = Number(values[k]);
      if (!Number.isFinite(n) || n < 0) {
        console.error(`error [CLI_USAGE]: --${k} must be a non-negative number.`);
        process.exit(2);
      }
      return [k, n];
    }),
  ) as Record<string, number>;
  const logger = createLogger({ name: "serve", level: process.env.LOG_LEVEL ?? "info" });
  try {
    const strict = values.strict === true || strictFromEnv(process.env.WORKBENCH_SERVE_STRICT);
    const backend = await initTf();
    const client = await registryClient(logger);
    const holder = await ModelHolder.load(String(values.model), client, logger);
    const predictionLog =
      typeof values["prediction-log"] === "string"
        ? new PredictionLog({
            dir: values["prediction-log"],
            sampleRate: numbers["sample-rate"]!,
            maxBytes: 50 * 1024 * 1024,
            maxFiles: 10,
          })
        : undefined;
    const token = process.env.WORKBENCH_SERVE_TOKEN;
    const { app } = await createApp(holder, {
      ...(token ? { authToken: token } : {}),
      strict,
      maxBatchRows: numbers["max-batch"]!,
      bodyLimit: Math.round(numbers["body-limit-mb"]! * 1024 * 1024),
      logger,
      ...(predictionLog ? { predictionLog } : {}),
    });
    if (numbers["poll-seconds"]! > 0 && client !== undefined)
      holder.startPolling(numbers["poll-seconds"]! * 1000);
    const address = await app.listen({ host: String(values.host), port: numbers.port! });
    const o = holder.current.origin;
    console.log(
      `serving ${o.name}${o.version ? ` version ${o.version}` : ""}${o.alias ? ` (@${o.alias})` : ""} on ${address} — backend ${backend.backend}; schema enforcement ${strict ? "strict" : "as MLflow's"}; docs at ${address}/docs`,
    );
    const shutdown = async (signal: string) => {
      logger.info({ signal }, "draining in-flight requests");
      holder.stopPolling();
      await app.close();
      await predictionLog?.flush();
      client?.close();
      process.exit(0);
    };
    process.once("SIGTERM", () => void shutdown("SIGTERM"));
    process.once("SIGINT", () => void shutdown("SIGINT"));
  } catch (error) {
    console.error(error instanceof WorkbenchError ? `error [${error.code}]: ${error.message}` : error);
    process.exitCode = 1;
  }
}
