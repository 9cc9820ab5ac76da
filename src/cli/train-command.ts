import { parseArgs } from "node:util";
import { loadTrainConfig, type TrainConfig, trainConfigJsonSchema } from "../config/train-config.js";
import { checkDataset, type DatasetCheck } from "../data/load.js";
import { manifestJsonSchema } from "../data/manifest.js";
import { checkFeatureConfig } from "../features/preprocessor.js";
import { planCandidates } from "../models/candidates.js";
import type { TrainResult } from "../pipelines/train.js";
import { trainPipeline } from "../pipelines/train.js";
import { ConfigError, WorkbenchError } from "../shared/errors.js";
import { createLogger, type Logger } from "../shared/logger.js";
import { MlflowClient } from "../tracking/client.js";
import { TrackingSession } from "../tracking/session.js";
import { defaultSpoolDir, trackingTarget } from "../tracking/spool.js";
import { progressReporter } from "./progress.js";
import { runMain } from "./run-main.js";
import { syncBeforeTraining } from "./sync-command.js";

const USAGE = `usage: npm run train -- --config configs/<name>.yaml [--set key=value ...] [--dry-run] [--mirror DIR]
                       [--keep-server] [--work-dir DIR] [--offline] [--workers N]
       npm run -s train -- --schema | --manifest-schema     (-s: no npm banner in the output)
  --dry-run: check the config, the dataset manifest and the data file's header (when the file is on this
  machine), print the plan; exit 1 on any problem. Nothing is trained, no server is contacted.
  --schema / --manifest-schema: the JSON Schema of the training config / of a dataset manifest (data/<name>.yaml).
  --workers N: candidates trained at once, each in a worker thread (default training.workers, else one per
  core; 1 trains in-process).
  --offline (or MLFLOW_OFFLINE=true): record the runs in the local spool without contacting the tracking
  server; \`npm run sync\` delivers them later.`;

/** MLFLOW_OFFLINE: true/1/yes or false/0/no (unset: false). */
function offlineFromEnv(value: string | undefined): boolean {
  const v = value?.trim().toLowerCase() ?? "";
  if (v === "" || ["0", "false", "no"].includes(v)) return false;
  if (["1", "true", "yes"].includes(v)) return true;
  throw new ConfigError(`MLFLOW_OFFLINE='${value}' must be true or false.`, { code: "CONFIG_ENV_INVALID" });
}

/** The table printed after training: one row per candidate, the winner marked. */
export function candidateTable(result: TrainResult, metric: string): string {
  const header = ["", "candidate", "kind", `val ${metric}`, "best iteration", "seconds", "run"];
  const rows = result.candidates.map((c) => [
    c.id === result.best.id ? "*" : "",
    c.id,
    c.kind,
    (c.validation[metric] ?? Number.NaN).toFixed(4),
    `${c.bestIteration}/${c.iterations} ${c.unit}s${c.pruned ? " (pruned)" : ""}`,
    c.seconds.toFixed(1),
    c.runId,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function describeData(data: DatasetCheck): string {
  const m = data.manifest;
  const head = `dataset ${m.name}: manifest ${data.manifestFile} is valid (${Object.keys(m.columns).length} columns, target ${m.target.column}: ${m.target.classes.join(", ")})`;
  if (data.source === undefined || data.header === undefined)
    return `${head}\ndata: not on this machine yet (\`npm run data -- ${m.name}\` fetches it); its header was not checked`;
  return `${head}\ndata: ${data.source.path} (${data.source.origin}, sha256 ${data.source.sha256.slice(0, 12)}…): the header has the ${data.header.length} declared columns`;
}

function describePlan(config: TrainConfig): string {
  const plans = planCandidates(config.training.candidates, config.seed);
  const total = plans.reduce((a, p) => a + p.ids.length, 0);
  return [
    `config ${config.name}: dataset ${config.dataset}, experiment ${config.experiment}, seed ${config.seed}`,
    `split: holdout ${config.split.holdout}, test ${config.split.test}, validation ${config.split.validation}; selection on validation ${config.training.selectionMetric}`,
    `${total} trials, ${config.training.workers ?? "one per core"} at once:`,
    ...plans.flatMap((plan) =>
      plan.method === "tpe"
        ? [
            `  ${`${plan.ids[0]}…${plan.ids.at(-1)}`.padEnd(16)} TPE search of ${plan.spec.kind} over ${JSON.stringify(plan.spec.tpe?.space)} (fixed ${JSON.stringify(plan.spec.params)})`,
          ]
        : plan.trials.map((t) => `  ${t.id.padEnd(16)} ${JSON.stringify(t.params)}`),
    ),
    ...(config.training.refit
      ? ["then the winner trained again on train + validation for the iterations it kept (training.refit)"]
      : []),
    `register as ${config.registry.modelName} with alias @${config.registry.alias}`,
    "",
    "resolved config:",
    JSON.stringify(config, null, 2),
  ].join("\n");
}

/** `npm run train`: parse flags, then the dry run, the schema, or the training pipeline. */
export async function trainCommand(
  argv: readonly string[],
  defaults: { config?: string; entryPoint?: string } = {},
): Promise<void> {
  let values: ReturnType<typeof parse>["values"];
  function parse() {
    return parseArgs({
      args: [...argv],
      options: {
        config: { type: "string" },
        set: { type: "string", multiple: true, default: [] },
        "dry-run": { type: "boolean", default: false },
        schema: { type: "boolean", default: false },
        "manifest-schema": { type: "boolean", default: false },
        mirror: { type: "string" },
        "keep-server": { type: "boolean", default: false },
        "work-dir": { type: "string" },
        offline: { type: "boolean", default: false },
        workers: { type: "string" },
        help: { type: "boolean", default: false },
      },
      strict: true,
    });
  }
  try {
    values = parse().values;
  } catch (error) {
    console.error(`error [CLI_USAGE]: ${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.schema) {
    console.log(JSON.stringify(trainConfigJsonSchema(), null, 2));
    return;
  }
  if (values["manifest-schema"]) {
    console.log(JSON.stringify(manifestJsonSchema(), null, 2));
    return;
  }
  const configFile = values.config ?? defaults.config;
  if (configFile === undefined) {
    console.error(`error [CLI_USAGE]: --config is required.\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  let config: TrainConfig;
  let offline: boolean;
  try {
    offline = values.offline === true || offlineFromEnv(process.env.MLFLOW_OFFLINE);
    config = await loadTrainConfig(configFile, values.set ?? []);
    if (values["dry-run"]) {
      const data = await checkDataset(config.dataset, {
        ...(values.mirror === undefined ? {} : { mirror: values.mirror }),
      });
      checkFeatureConfig(config.features, data.manifest);
      console.log(`${describeData(data)}\n${describePlan(config)}`);
      return;
    }
  } catch (error) {
    // A dry run also reports data problems (checksum, header); training reports them from its own run.
    if (!(error instanceof ConfigError || (values["dry-run"] && error instanceof WorkbenchError)))
      throw error;
    console.error(`error [${error.code}]: ${error.message}`);
    process.exitCode = 1;
    return;
  }
  let workers: number | undefined;
  if (values.workers !== undefined) {
    workers = Number(values.workers);
    if (!Number.isInteger(workers) || workers < 1) {
      console.error(
        `error [CLI_USAGE]: --workers must be a positive integer (got '${values.workers}').\n${USAGE}`,
      );
      process.exitCode = 2;
      return;
    }
  }
  const trainOptions = {
    configFile,
    ...(workers === undefined ? {} : { workers }),
    entryPoint: defaults.entryPoint ?? "npm run train",
    ...(values.mirror === undefined ? {} : { mirror: values.mirror }),
    ...(values["work-dir"] === undefined ? {} : { workDir: values["work-dir"] }),
  };
  const spoolDir = defaultSpoolDir();
  const train = async (client: MlflowClient, tracking: TrackingSession, logger: Logger) => {
    const progress = progressReporter();
    try {
      const result = await trainPipeline(
        { client, tracking, logger, onEvent: progress.onEvent },
        config,
        trainOptions,
      );
      printResult(result, config.training.selectionMetric, tracking);
    } finally {
      progress.stop();
      tracking.close();
    }
  };
  if (offline) {
    await trainOffline(spoolDir, train);
    return;
  }
  await runMain({ keepServer: values["keep-server"] ?? false, name: "train" }, async ({ client, logger }) => {
    const target = trackingTarget();
    await syncBeforeTraining(client, { spoolDir, target, logger });
    await train(client, new TrackingSession({ client, spoolDir, target, logger }), logger);
  });
}

function printResult(result: TrainResult, metric: string, tracking: TrackingSession): void {
  console.log(`\n${candidateTable(result, metric)}\n`);
  console.log(
    `best: ${result.best.id}  validation ${metric} ${(result.metrics.validation[metric] ?? Number.NaN).toFixed(4)}  test ${(result.metrics.test[metric] ?? Number.NaN).toFixed(4)}  holdout ${(result.metrics.holdout[metric] ?? Number.NaN).toFixed(4)}`,
  );
  if (result.refit !== undefined)
    console.log(
      `refit: ${result.best.id} trained again on train + validation (${result.refit.rows} rows, ${result.refit.iterations} ${result.best.unit}${result.refit.iterations === 1 ? "" : "s"}); test and holdout are the refitted model's`,
    );
  if (result.threshold !== undefined)
    console.log(`decision threshold (chosen on validation): ${result.threshold.toFixed(4)}`);
  console.log(
    `data: ${result.data.rows} rows read, ${result.data.quarantined} quarantined (${(result.data.badFraction * 100).toFixed(2)}%)`,
  );
  if (tracking.journals.length === 0) {
    console.log(
      `registered ${result.model.name} version ${result.model.version} as @${result.model.alias}: ${result.model.url}`,
    );
    console.log(`run (${result.backend} backend, tracking ${tracking.client.trackingUri}): ${result.runUrl}`);
    return;
  }
  const why = tracking.offline ? "offline" : "the tracking server was lost";
  console.log(
    `${result.model.name} @${result.model.alias}: ${result.model.version === "pending" ? "registration spooled" : `registered version ${result.model.version}`}`,
  );
  console.log(
    `run ${result.runId} (${result.backend} backend, ${why}): ${tracking.journals.length} journal(s) in ${tracking.spool?.dir}; \`npm run sync\` delivers them to ${tracking.target === "local" ? "the local store" : tracking.target}`,
  );
}

/** Training without a tracking server: no server is started or contacted; every run goes to the spool. */
async function trainOffline(
  spoolDir: string,
  train: (client: MlflowClient, tracking: TrackingSession, logger: Logger) => Promise<void>,
): Promise<void> {
  const logger = createLogger({ name: "train", level: process.env.LOG_LEVEL ?? "info" });
  let client: MlflowClient | undefined;
  try {
    const target = trackingTarget();
    // Never contacted: the session is offline. It names the server the journals are meant for.
    client = new MlflowClient({ trackingUri: target === "local" ? "http://127.0.0.1:5000" : target, logger });
    await train(client, new TrackingSession({ client, spoolDir, offline: true, target, logger }), logger);
  } catch (error) {
    process.exitCode = 1;
    console.error(error instanceof WorkbenchError ? `error [${error.code}]: ${error.message}` : error);
  } finally {
    client?.close();
  }
}
