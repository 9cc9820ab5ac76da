import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { MonitorReport } from "../monitoring/types.js";
import { type AliasNames, readChampion } from "../promotion/aliases.js";
import { WorkbenchError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { MlflowClient } from "../tracking/client.js";
import type { TrackingSession } from "../tracking/session.js";
import { runMonitor } from "./monitor.js";

/** When a CT round retrains: every time, or only when the monitor found drift or degradation. */
export type CtWhen = "always" | "drift";

export interface CtMonitorOptions {
  modelName: string;
  aliases: AliasNames;
  /** The prediction log (file or directory) or a CSV of current rows. */
  current: string;
  /** Labels for concept drift (joined by the dataset's id column). */
  labels?: string;
  out: string;
}

/** What the monitor said before retraining, and whether the round goes on to retrain. */
export interface CtMonitorVerdict {
  /** Undefined when there was nothing to monitor (no champion yet, or a champion without a reference profile). */
  report: MonitorReport | undefined;
  /** Why the monitor did not run, when it did not. */
  skipped?: string;
  /** True when `when` is "always", or drift/degradation was found, or the champion could not be monitored. */
  retrain: boolean;
  reason: string;
}

/**
 * The CT round's first step: the monitor on the champion against current data. With `when: "drift"` the round
 * retrains only when the monitor finds dataset drift or a degraded metric; a model with no champion yet, or a
 * champion trained before reference profiles existed, is retrained (nothing to compare against — the new model
 * will have a profile).
 */
export async function monitorBeforeRetraining(
  context: { client: MlflowClient; tracking: TrackingSession | undefined; logger: Logger },
  options: CtMonitorOptions,
  when: CtWhen,
): Promise<CtMonitorVerdict> {
  const champion = await readChampion(context.client, options.modelName, options.aliases);
  if (champion === undefined)
    return {
      report: undefined,
      skipped: `models:/${options.modelName} has no @${options.aliases.champion} yet`,
      retrain: true,
      reason: "no champion to monitor: training the first one",
    };
  const current = /^https?:\/\//i.test(options.current)
    ? await downloadCurrent(options.current, options.out)
    : options.current;
  let report: MonitorReport;
  try {
    report = await runMonitor(
      {
        model: `models:/${options.modelName}@${options.aliases.champion}`,
        current,
        ...(options.labels === undefined ? {} : { labels: options.labels }),
        out: options.out,
        log: context.tracking !== undefined,
      },
      { client: context.client, tracking: context.tracking, logger: context.logger },
    );
  } catch (error) {
    if (!(error instanceof WorkbenchError && error.code === "MONITOR_NO_PROFILE")) throw error;
    context.logger.warn({ err: error }, "the champion has no reference profile");
    return {
      report: undefined,
      skipped: `champion v${champion.version} has no reference profile (trained before monitoring existed)`,
      retrain: true,
      reason: "the champion cannot be monitored (no reference profile): retraining gives it one",
    };
  }
  const { drift, degraded } = report.verdict;
  const found = [
    ...(drift ? [`dataset drift (${report.drift.drifted} of ${report.drift.columns.length} columns)`] : []),
    ...(degraded ? ["a degraded metric"] : []),
  ];
  if (when === "always")
    return {
      report,
      retrain: true,
      reason:
        found.length === 0
          ? "scheduled retraining (no drift found)"
          : `scheduled retraining; ${found.join(" and ")} found`,
    };
  return found.length === 0
    ? { report, retrain: false, reason: "no drift and no degradation: retraining skipped (--when drift)" }
    : { report, retrain: true, reason: `${found.join(" and ")} found: retraining (--when drift)` };
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Fetches current data given as an http(s) URL (a prediction log published by the serving side, as a CI job
 * sees it) into `dir`, streaming; `WORKBENCH_PREDICTION_LOG_TOKEN`, when set, goes as a bearer token.
 * Returns the local file.
 */
export async function downloadCurrent(url: string, dir: string, env: Env = process.env): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new WorkbenchError("MONITOR_INPUT_INVALID", `--current '${url}' is not a valid URL.`, {
      cause: error,
    });
  }
  const name = path.basename(parsed.pathname) || "current";
  const file = path.join(dir, `downloaded-${/\.(csv|jsonl)$/i.test(name) ? name : `${name}.jsonl`}`);
  const token = env.WORKBENCH_PREDICTION_LOG_TOKEN;
  let response: Response;
  try {
    response = await fetch(parsed, {
      headers: token === undefined || token === "" ? {} : { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(600_000),
    });
  } catch (error) {
    throw new WorkbenchError(
      "MONITOR_INPUT_UNREADABLE",
      `Could not download the current data from ${parsed.origin}${parsed.pathname}: ${error instanceof Error ? error.message : String(error)}.`,
      { cause: error },
    );
  }
  if (!response.ok || response.body === null)
    throw new WorkbenchError(
      "MONITOR_INPUT_UNREADABLE",
      `Downloading the current data from ${parsed.origin}${parsed.pathname} answered HTTP ${response.status}${response.status === 401 || response.status === 403 ? " (set WORKBENCH_PREDICTION_LOG_TOKEN?)" : ""}.`,
      { details: { status: response.status } },
    );
  await mkdir(dir, { recursive: true });
  await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(file));
  return file;
}
