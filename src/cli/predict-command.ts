import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import cliProgress from "cli-progress";
import { parseNumberField } from "../data/csv-value.js";
import { batchPredict, DEFAULT_CHUNK_ROWS, DEFAULT_MAX_BAD_FRACTION } from "../pipelines/predict.js";
import { loadPredictor } from "../serving/model-source.js";
import { WorkbenchError } from "../shared/errors.js";
import { createLogger } from "../shared/logger.js";
import type { MlflowClient } from "../tracking/client.js";
import { parseCli } from "./args.js";
import { registryClient } from "./registry-client.js";

const USAGE = `usage: npm run predict -- --model <models:/name@alias | models:/name/version | runs:/id/path | dir>
       --input <file.csv | runs:/<run id>/<artifact path>> --output <file.csv | file.jsonl>
       [--quarantine FILE] [--max-bad-fraction ${DEFAULT_MAX_BAD_FRACTION}] [--chunk-rows ${DEFAULT_CHUNK_ROWS}]
       [--workers N]

Rows that fail validation are quarantined (default <output>.quarantine.jsonl, with line and reasons). When more
than --max-bad-fraction of the rows (0..1, default ${DEFAULT_MAX_BAD_FRACTION}) fail, or none could be scored,
the command exits 1 and writes nothing to --output.
--workers: threads that read, check and score chunks of --chunk-rows lines in parallel, each with its own copy
of the model (default: one per core; 1 scores in this thread). The output is the same whatever the number.`;

/** The value of a fraction flag, or undefined after printing a usage error (exit code 2). */
function fractionFlag(name: string, raw: string): number | undefined {
  const value = parseNumberField(raw);
  if (value !== undefined && value >= 0 && value <= 1) return value;
  console.error(`error [CLI_USAGE]: --${name} must be a number from 0 to 1, got '${raw}'.\n${USAGE}`);
  process.exitCode = 2;
  return undefined;
}

/** The value of a positive integer flag, or undefined after printing a usage error (exit code 2). */
function positiveIntegerFlag(name: string, raw: string): number | undefined {
  const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isSafeInteger(value) && value >= 1) return value;
  console.error(`error [CLI_USAGE]: --${name} must be a positive integer, got '${raw}'.\n${USAGE}`);
  process.exitCode = 2;
  return undefined;
}

/** `npm run predict`: batch scoring of a CSV file, streamed. */
export async function predictCommand(argv: readonly string[]): Promise<void> {
  const parsed = parseCli(
    argv,
    {
      model: { type: "string" },
      input: { type: "string" },
      output: { type: "string" },
      quarantine: { type: "string" },
      "max-bad-fraction": { type: "string", default: String(DEFAULT_MAX_BAD_FRACTION) },
      "chunk-rows": { type: "string", default: String(DEFAULT_CHUNK_ROWS) },
      workers: { type: "string", default: String(os.availableParallelism()) },
    },
    USAGE,
    ["model", "input", "output"],
  );
  if (parsed === undefined) return;
  const values = parsed.values;
  const maxBadFraction = fractionFlag("max-bad-fraction", String(values["max-bad-fraction"]));
  if (maxBadFraction === undefined) return;
  const chunkRows = positiveIntegerFlag("chunk-rows", String(values["chunk-rows"]));
  if (chunkRows === undefined) return;
  const workers = positiveIntegerFlag("workers", String(values.workers));
  if (workers === undefined) return;
  const logger = createLogger({ name: "predict", level: process.env.LOG_LEVEL ?? "warn" });
  let scratch: string | undefined;
  let client: MlflowClient | undefined;
  let bar: cliProgress.SingleBar | undefined;
  try {
    // No TensorFlow.js set-up here: a network model's loader initialises it, other kinds do not need it.
    client = await registryClient(logger);
    const predictor = await loadPredictor(String(values.model), client);
    let input = String(values.input);
    const artifact = /^runs:\/([0-9a-f]{32})\/(.+)$/.exec(input);
    if (artifact) {
      if (client === undefined)
        throw new WorkbenchError("TRACKING_URI_MISSING", `Reading ${input} needs MLFLOW_TRACKING_URI.`);
      scratch = await mkdtemp(path.join(os.tmpdir(), "predict-input-"));
      const run = await client.runs.get(artifact[1]!);
      input = await client.artifacts.downloadFile(
        run.info.artifactUri,
        artifact[2]!,
        path.join(scratch, path.basename(artifact[2]!)),
      );
    }
    const progress = process.stderr.isTTY
      ? new cliProgress.SingleBar(
          { format: "scoring {bar} {percentage}% | {rows} rows", stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    bar = progress;
    progress?.start(100, 0, { rows: 0 });
    const result = await batchPredict(predictor, {
      input,
      output: String(values.output),
      maxBadFraction,
      chunkRows,
      workers,
      ...(typeof values.quarantine === "string" ? { quarantine: values.quarantine } : {}),
      ...(progress
        ? {
            onProgress: (p) =>
              progress.update(Math.round((100 * p.bytesRead) / Math.max(1, p.totalBytes)), { rows: p.rows }),
          }
        : {}),
    });
    progress?.stop();
    console.log(
      `scored ${result.rowsScored} of ${result.rowsRead} rows with ${result.model.name}${result.model.version ? ` version ${result.model.version}` : ""} in ${result.seconds.toFixed(1)} s (${Math.round(result.rowsRead / result.seconds)} rows/s, ${result.workers === 1 ? "in this thread" : `${result.workers} threads: this one and ${result.workers - 1} worker thread${result.workers === 2 ? "" : "s"}`}) → ${result.output}`,
    );
    const cut = Object.entries(result.textsTruncated);
    if (cut.length > 0)
      console.log(`texts truncated to their maxLength: ${cut.map(([c, n]) => `${c} ${n}`).join(", ")}`);
    if (result.rowsQuarantined > 0) {
      const kinds = Object.entries(result.problemCounts)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(", ");
      console.log(
        `quarantined ${result.rowsQuarantined} rows with reasons → ${result.quarantine} (${kinds}; ${(result.badFraction * 100).toFixed(2)}% of rows, limit ${(result.maxBadFraction * 100).toFixed(2)}%)`,
      );
    }
  } catch (error) {
    // The error must not print over a running progress bar.
    bar?.stop();
    process.exitCode = 1;
    console.error(error instanceof WorkbenchError ? `error [${error.code}]: ${error.message}` : error);
  } finally {
    client?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
