import { parseArgs } from "node:util";
import { loadTrainConfig, type TrainConfig, trainConfigJsonSchema } from "../config/train-config.js";
import { expandCandidates } from "../models/candidates.js";
import type { TrainResult } from "../pipelines/train.js";
import { trainPipeline } from "../pipelines/train.js";
import { ConfigError } from "../shared/errors.js";
import { progressReporter } from "./progress.js";
import { runMain } from "./run-main.js";

const USAGE = `usage: npm run train -- --config configs/<name>.yaml [--set key=value ...] [--dry-run] [--schema]
                       [--mirror DIR] [--keep-server] [--work-dir DIR]`;

/** The table printed after training: one row per candidate, the winner marked. */
export function candidateTable(result: TrainResult, metric: string): string {
  const header = ["", "candidate", "kind", `val ${metric}`, "best epoch", "seconds", "run"];
  const rows = result.candidates.map((c) => [
    c.id === result.best.id ? "*" : "",
    c.id,
    c.kind,
    (c.validation[metric] ?? Number.NaN).toFixed(4),
    `${c.bestEpoch}/${c.epochs}`,
    c.seconds.toFixed(1),
    c.runId,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function describePlan(config: TrainConfig): string {
  const trials = expandCandidates(config.training.candidates, config.seed);
  return [
    `config ${config.name}: dataset ${config.dataset}, experiment ${config.experiment}, seed ${config.seed}`,
    `split: holdout ${config.split.holdout}, test ${config.split.test}, validation ${config.split.validation}; selection on validation ${config.training.selectionMetric}`,
    `${trials.length} trials:`,
    ...trials.map((t) => `  ${t.id.padEnd(12)} ${JSON.stringify(t.params)}`),
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
        mirror: { type: "string" },
        "keep-server": { type: "boolean", default: false },
        "work-dir": { type: "string" },
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
  const configFile = values.config ?? defaults.config;
  if (configFile === undefined) {
    console.error(`error [CLI_USAGE]: --config is required.\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  let config: TrainConfig;
  try {
    config = await loadTrainConfig(configFile, values.set ?? []);
    if (values["dry-run"]) {
      console.log(describePlan(config));
      return;
    }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`error [${error.code}]: ${error.message}`);
    process.exitCode = 1;
    return;
  }
  await runMain(
    { keepServer: values["keep-server"] ?? false, name: "train" },
    async ({ client, logger, server }) => {
      const progress = progressReporter();
      try {
        const result = await trainPipeline({ client, logger, onEvent: progress.onEvent }, config, {
          configFile,
          entryPoint: defaults.entryPoint ?? "npm run train",
          ...(values.mirror === undefined ? {} : { mirror: values.mirror }),
          ...(values["work-dir"] === undefined ? {} : { workDir: values["work-dir"] }),
        });
        const metric = config.training.selectionMetric;
        console.log(`\n${candidateTable(result, metric)}\n`);
        console.log(
          `best: ${result.best.id}  validation ${metric} ${(result.metrics.validation[metric] ?? Number.NaN).toFixed(4)}  test ${(result.metrics.test[metric] ?? Number.NaN).toFixed(4)}  holdout ${(result.metrics.holdout[metric] ?? Number.NaN).toFixed(4)}`,
        );
        if (result.threshold !== undefined)
          console.log(`decision threshold (chosen on validation): ${result.threshold.toFixed(4)}`);
        console.log(
          `data: ${result.data.rows} rows read, ${result.data.quarantined} quarantined (${(result.data.badFraction * 100).toFixed(2)}%)`,
        );
        console.log(
          `registered ${result.model.name} version ${result.model.version} as @${result.model.alias}: ${result.model.url}`,
        );
        console.log(`run (${result.backend} backend, tracking ${server.uri}): ${result.runUrl}`);
      } finally {
        progress.stop();
      }
    },
  );
}
