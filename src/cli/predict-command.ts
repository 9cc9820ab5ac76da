import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import cliProgress from "cli-progress";
import { initTf } from "../models/backend.js";
import { batchPredict } from "../pipelines/predict.js";
import { loadPredictor } from "../serving/model-source.js";
import { WorkbenchError } from "../shared/errors.js";
import { createLogger } from "../shared/logger.js";
import type { MlflowClient } from "../tracking/client.js";
import { parseCli } from "./args.js";
import { registryClient } from "./registry-client.js";

const USAGE = `usage: npm run predict -- --model <models:/name@alias | models:/name/version | runs:/id/path | dir>
       --input <file.csv | runs:/<run id>/<artifact path>> --output <file.csv | file.jsonl>
       [--quarantine FILE] [--max-bad-fraction 1] [--chunk-rows 4096]`;

/** `npm run predict`: batch scoring of a CSV file, streamed. */
export async function predictCommand(argv: readonly string[]): Promise<void> {
  const parsed = parseCli(
    argv,
    {
      model: { type: "string" },
      input: { type: "string" },
      output: { type: "string" },
      quarantine: { type: "string" },
      "max-bad-fraction": { type: "string", default: "1" },
      "chunk-rows": { type: "string", default: "4096" },
    },
    USAGE,
    ["model", "input", "output"],
  );
  if (parsed === undefined) return;
  const values = parsed.values;
  const logger = createLogger({ name: "predict", level: process.env.LOG_LEVEL ?? "warn" });
  let scratch: string | undefined;
  let client: MlflowClient | undefined;
  try {
    await initTf();
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
    const bar = process.stderr.isTTY
      ? new cliProgress.SingleBar(
          { format: "scoring {bar} {percentage}% | {rows} rows", stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    bar?.start(100, 0, { rows: 0 });
    const result = await batchPredict(predictor, {
      input,
      output: String(values.output),
      maxBadFraction: Number(values["max-bad-fraction"]),
      chunkRows: Number(values["chunk-rows"]),
      ...(typeof values.quarantine === "string" ? { quarantine: values.quarantine } : {}),
      ...(bar
        ? {
            onProgress: (p) =>
              bar.update(Math.round((100 * p.bytesRead) / Math.max(1, p.totalBytes)), { rows: p.rows }),
          }
        : {}),
    });
    bar?.stop();
    console.log(
      `scored ${result.rowsScored} of ${result.rowsRead} rows with ${result.model.name}${result.model.version ? ` version ${result.model.version}` : ""} in ${result.seconds.toFixed(1)} s (${Math.round(result.rowsRead / result.seconds)} rows/s) → ${result.output}`,
    );
    if (result.rowsQuarantined > 0)
      console.log(`quarantined ${result.rowsQuarantined} rows with reasons → ${result.quarantine}`);
  } catch (error) {
    process.exitCode = 1;
    console.error(error instanceof WorkbenchError ? `error [${error.code}]: ${error.message}` : error);
  } finally {
    client?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
