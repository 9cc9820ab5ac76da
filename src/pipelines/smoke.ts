import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Logger } from "../shared/logger.js";
import type { MlflowClient } from "../tracking/client.js";
import { withRun } from "../tracking/with-run.js";

export interface SmokeOptions {
  experimentName: string;
  runName?: string;
}

export interface SmokeResult {
  experimentId: string;
  runId: string;
  url: string;
  params: number;
  metricPoints: number;
  artifacts: string[];
}

/**
 * End-to-end check of the tracking path: one run with params, a stepped metric series and an artifact.
 * The main job until the training pipeline lands.
 */
export async function runSmoke(
  context: { client: MlflowClient; logger: Logger },
  options: SmokeOptions,
): Promise<SmokeResult> {
  const { client, logger } = context;
  const dir = await mkdtemp(path.join(os.tmpdir(), "workbench-smoke-"));
  try {
    return await withRun(
      client,
      {
        experimentName: options.experimentName,
        runName: options.runName ?? "smoke",
        logger,
        description: "Smoke run: checks that params, metrics and artifacts reach the tracking server.",
      },
      async (run) => {
        const params = {
          node: process.version,
          platform: `${process.platform}-${process.arch}`,
          purpose: "smoke",
        };
        await run.logParams(params);
        const metrics = Array.from({ length: 20 }, (_, step) => [
          { key: "loss", value: Math.exp(-step / 5), step },
          { key: "accuracy", value: 1 - 0.5 * Math.exp(-step / 4), step },
        ]).flat();
        await run.logMetrics(metrics);
        const summary = path.join(dir, "summary.json");
        await writeFile(
          summary,
          `${JSON.stringify({ runId: run.runId, params, finalLoss: metrics.at(-2)?.value }, null, 2)}\n`,
        );
        const artifacts = [await run.logArtifact(summary, "smoke")];
        logger.info({ runId: run.runId }, "smoke run logged");
        return {
          experimentId: run.experimentId,
          runId: run.runId,
          url: run.url,
          params: Object.keys(params).length,
          metricPoints: metrics.length,
          artifacts,
        };
      },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
