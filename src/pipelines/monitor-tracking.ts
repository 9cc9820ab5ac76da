/**
 * The monitoring run of `npm run monitor`: its tags, metrics and artifacts (monitor.json and monitor.html), and
 * its link to the model version (model-version tags naming the last monitoring run, verdict and time). Logged
 * through a TrackingSession, so an unreachable server spools the run (`npm run sync` delivers it) instead of
 * failing the check.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type { CurrentReadResult } from "../monitoring/read-current.js";
import type { MonitorReport } from "../monitoring/types.js";
import { verdictWord } from "../monitoring/verdict.js";
import type { Logger } from "../shared/logger.js";
import type { MetricPoint } from "../tracking/batch.js";
import type { TrackingSession } from "../tracking/session.js";

/** Model-version tags that link a version to its latest monitoring run. */
export const MONITOR_VERSION_TAGS = {
  lastRun: "workbench.monitor.last_run",
  lastVerdict: "workbench.monitor.last_verdict",
  lastTime: "workbench.monitor.last_time",
} as const;

export { verdictWord } from "../monitoring/verdict.js";

/** A metric key MLflow accepts (letters, digits, _ - . space /) for a column name. */
export function metricKey(prefix: string, name: string): string {
  return `${prefix}${name.replace(/[^A-Za-z0-9_\-. /]/g, "_")}`.slice(0, 250);
}

/** The run's metrics: drift share and counts, each column's drift score, concept and shadow numbers. */
export function monitorMetrics(report: MonitorReport): { key: string; value: number }[] {
  const { drift, concept, shadow } = report;
  const metrics: { key: string; value: number }[] = [
    { key: "drift_share", value: drift.share },
    { key: "drifted_columns", value: drift.drifted },
    { key: "dataset_drift", value: drift.datasetDrift ? 1 : 0 },
    { key: "columns_checked", value: drift.columns.length },
    { key: "rows_current", value: report.input.rowsUsed },
    ...drift.columns.map((c) => ({ key: metricKey("drift_score.", c.column), value: c.score })),
  ];
  if (drift.predictions !== undefined) {
    metrics.push({ key: "prediction_drift_score.labels", value: drift.predictions.labels.score });
    metrics.push({ key: "prediction_drift_score.score", value: drift.predictions.score.score });
  }
  if (concept !== undefined) {
    metrics.push(
      { key: "concept_degraded", value: concept.degraded ? 1 : 0 },
      { key: "concept_drop", value: concept.drop },
      { key: "concept_labelled_rows", value: concept.labelled },
      ...Object.entries(concept.metrics).map(([k, value]) => ({ key: metricKey("current_", k), value })),
    );
  }
  if (shadow !== undefined) {
    metrics.push(
      { key: "shadow_rows", value: shadow.rows },
      { key: "shadow_agreement", value: shadow.agreement },
      { key: "shadow_mean_abs_probability_diff", value: shadow.meanAbsProbabilityDiff },
    );
    if (shadow.metric !== undefined)
      metrics.push(
        { key: metricKey("shadow_difference_", shadow.metric.name), value: shadow.metric.difference },
        { key: metricKey("shadow_difference_ci_low_", shadow.metric.name), value: shadow.metric.ci[0] },
        { key: metricKey("shadow_difference_ci_high_", shadow.metric.name), value: shadow.metric.ci[1] },
      );
  }
  // MLflow refuses NaN and infinities (an AUC on one class, a test without a p-value): left out.
  return metrics.filter((m) => Number.isFinite(m.value));
}

/**
 * Logs the monitoring run: `write` (re)writes monitor.json and monitor.html once the run id is in the report,
 * then both are uploaded. Returns the run's id and page (its journal while spooled).
 */
export async function logMonitoringRun(
  tracking: TrackingSession,
  input: {
    report: MonitorReport;
    read: CurrentReadResult;
    files: { json: string; html: string };
    write: () => Promise<void>;
    experimentId: string | undefined;
    experimentName: string;
    modelId: string | undefined;
    now: Date;
    logger: Logger;
  },
): Promise<{ runId: string; url: string }> {
  const { report, read, logger } = input;
  const version = report.model.version ?? "local";
  const verdict = verdictWord(report.verdict);
  return tracking.withRun(
    {
      ...(input.experimentId === undefined
        ? { experimentName: input.experimentName }
        : { experimentId: input.experimentId }),
      runName: `monitor-${report.model.name}-v${version}`,
      description: report.verdict.reasons.map((r) => `- ${r}`).join("\n"),
      logger,
      tags: {
        "workbench.pipeline": "monitor",
        "workbench.monitor.model": report.model.name,
        "workbench.monitor.version": version,
        "workbench.monitor.verdict": verdict,
        "workbench.monitor.model_uri": report.model.uri,
        "workbench.monitor.input": report.input.path,
        ...(report.model.runId === undefined ? {} : { "workbench.monitor.model_run": report.model.runId }),
      },
    },
    async (run) => {
      const entry = { runId: run.runId, url: run.url };
      report.run = entry;
      await input.write();
      const timestamp = input.now.getTime();
      const points: MetricPoint[] = monitorMetrics(report).map((m) => ({ ...m, timestamp, step: 0 }));
      await run.logBatch({
        params: {
          "monitor.input": report.input.path,
          "monitor.format": report.input.format,
          "monitor.drift_share_threshold": String(report.drift.driftShare),
          "monitor.correction": report.drift.correction,
          ...(report.concept === undefined
            ? {}
            : {
                "monitor.concept.metric": report.concept.metric,
                "monitor.concept.max_drop": String(report.concept.maxDrop),
              }),
        },
        metrics: points,
      });
      await run.logInputs([
        {
          dataset: {
            name: `monitor-${path.basename(report.input.path)}`,
            // What identifies the data cheaply: its files, sizes and row count (hashing 100 MB would cost seconds).
            digest: createHash("sha256")
              .update(JSON.stringify({ files: read.files, bytes: read.bytes, rows: read.rowsRead }))
              .digest("hex")
              .slice(0, 8),
            sourceType: "local",
            source: JSON.stringify({ uri: path.resolve(report.input.path) }),
            profile: JSON.stringify({ num_rows: report.input.rowsUsed, format: report.input.format }),
          },
          tags: { "mlflow.data.context": "monitoring" },
        },
      ]);
      await run.logArtifact(input.files.json);
      await run.logArtifact(input.files.html);
      await linkToModel(tracking, run.serverRunId, report, verdict, input);
      return entry;
    },
  );
}

/**
 * Tags the model version with this run, its verdict and time, and records the logged model as the run's input
 * (MLflow 3). Skipped while the run is spooled (the version tags would point at a run the server does not have
 * yet) and for local packages; a failure is a warning, never the monitor's failure.
 */
async function linkToModel(
  tracking: TrackingSession,
  serverRunId: string | undefined,
  report: MonitorReport,
  verdict: string,
  input: { modelId: string | undefined; now: Date; logger: Logger },
): Promise<void> {
  const { name, version } = report.model;
  if (serverRunId === undefined || version === undefined) return;
  const client = tracking.client;
  try {
    await client.registry.setVersionTag(name, version, MONITOR_VERSION_TAGS.lastRun, serverRunId);
    await client.registry.setVersionTag(name, version, MONITOR_VERSION_TAGS.lastVerdict, verdict);
    await client.registry.setVersionTag(
      name,
      version,
      MONITOR_VERSION_TAGS.lastTime,
      input.now.toISOString(),
    );
    if (input.modelId !== undefined) await client.runs.logInputs(serverRunId, [], [input.modelId]);
  } catch (error) {
    input.logger.warn(
      { model: name, version, err: error },
      "could not tag the model version with its monitoring run (the run itself is logged)",
    );
  }
}
