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
       [--drift-interval 300] [--drift-min-rows 200] [--shadow <model URI> [--shadow-share 0.1]]
  --strict (or WORKBENCH_SERVE_STRICT=true): refuse (422) what MLflow's scoring server adjusts and accepts
  (extra columns, numbers written as strings, 24.5 for a long column, nulls in required columns); by default
  the service matches MLflow and names each adjustment in the x-schema-warnings response header.
  --drift-interval: seconds between drift checks of the scored rows against the model's reference profile
  (workbench_drift_* in /metrics; 0 = off); a check waits for --drift-min-rows rows. With --prediction-log the
  requests it keeps feed the check, else --sample-rate of the requests.
  --shadow: a challenger (e.g. models:/<name>@challenger) scores --shadow-share of the requests after the
  champion answered; both outputs go to the prediction log (workbench_shadow_* in /metrics).
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
      "drift-interval": { type: "string", default: "300" },
      "drift-min-rows": { type: "string", default: "200" },
      shadow: { type: "string" },
      "shadow-share": { type: "string", default: "0.1" },
    },
    USAGE,
    ["model"],
  );
  if (parsed === undefined) return;
  const values = parsed.values;
  const numbers = Object.fromEntries(
    [
      "port",
      "poll-seconds",
      "max-batch",
      "body-limit-mb",
      "sample-rate",
      "drift-interval",
      "drift-min-rows",
      "shadow-share",
    ].map((k) => {
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
    const shadowHolder =
      typeof values.shadow === "string" ? await ModelHolder.load(values.shadow, client, logger) : undefined;
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
    const { app, drift, shadow } = await createApp(holder, {
      ...(token ? { authToken: token } : {}),
      strict,
      maxBatchRows: numbers["max-batch"]!,
      bodyLimit: Math.round(numbers["body-limit-mb"]! * 1024 * 1024),
      logger,
      ...(predictionLog ? { predictionLog } : {}),
      drift: {
        intervalSeconds: numbers["drift-interval"]!,
        minRows: numbers["drift-min-rows"]!,
        // Without a log, the window takes the share of requests a log would keep: feeding it costs ~3 µs per
        // row of 23 columns, about what scoring the row with a logistic model costs.
        sampleRate: numbers["sample-rate"]!,
      },
      ...(shadowHolder ? { shadow: { holder: shadowHolder, share: numbers["shadow-share"]! } } : {}),
    });
    if (numbers["poll-seconds"]! > 0 && client !== undefined) {
      holder.startPolling(numbers["poll-seconds"]! * 1000);
      shadowHolder?.startPolling(numbers["poll-seconds"]! * 1000);
    }
    const address = await app.listen({ host: String(values.host), port: numbers.port! });
    const o = holder.current.origin;
    console.log(
      `serving ${o.name}${o.version ? ` version ${o.version}` : ""}${o.alias ? ` (@${o.alias})` : ""} on ${address} — backend ${backend.backend}; schema enforcement ${strict ? "strict" : "as MLflow's"}; docs at ${address}/docs`,
    );
    if (!drift.enabled) console.log("drift gauge off (--drift-interval 0)");
    else if (!drift.active)
      console.log("drift gauge off: the model package has no reference profile (trained before profiles)");
    else
      console.log(
        `drift gauge: every ${numbers["drift-interval"]} s once ${numbers["drift-min-rows"]} rows are in (the rows of ${predictionLog ? "the requests the prediction log keeps" : `${numbers["sample-rate"]! * 100}% of the requests`})`,
      );
    if (shadow !== undefined) {
      const s = shadow.info;
      console.log(
        `shadow: ${s.name}${s.version ? ` version ${s.version}` : ""}${s.alias ? ` (@${s.alias})` : ""} scores ${s.share * 100}% of the requests after the answer — ${s.status}`,
      );
    }
    const shutdown = async (signal: string) => {
      logger.info({ signal }, "draining in-flight requests");
      holder.stopPolling();
      shadowHolder?.stopPolling();
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
