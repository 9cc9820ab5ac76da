import path from "node:path";
import cliProgress from "cli-progress";
import { parseNumberField } from "../data/csv-value.js";
import { DEFAULT_MAX_DROP } from "../monitoring/concept.js";
import { P_VALUE_CORRECTIONS, STAT_TEST_NAMES } from "../monitoring/options.js";
import { type CurrentFormat, DEFAULT_MAX_BAD_FRACTION } from "../monitoring/read-current.js";
import type { MonitorReport, PValueCorrection, StatTestName } from "../monitoring/types.js";
import { MONITOR_HTML, MONITOR_JSON, type MonitorOptions, runMonitor } from "../pipelines/monitor.js";
import { verdictWord } from "../pipelines/monitor-tracking.js";
import { WorkbenchError } from "../shared/errors.js";
import { createLogger } from "../shared/logger.js";
import type { MlflowClient } from "../tracking/client.js";
import type { TrackingServerHandle } from "../tracking/ensure-server.js";
import type { TrackingSession } from "../tracking/session.js";
import { monitorMarkdown } from "../viz/monitor-report.js";
import { parseCli } from "./args.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { appendStepSummary, writeGithubOutputs } from "./github.js";

export const DEFAULT_MONITOR_OUT = "out/monitor";

const USAGE = `usage: npm run monitor -- (--model <models:/name@alias | models:/name/version | package dir> | --reference <profile.json>)
         --current <file.csv | predictions.jsonl | prediction log dir> [--format csv|jsonl]
         [--labels labels.csv [--id <column>] [--label-column <column>] [--metric <name>] [--max-drop ${DEFAULT_MAX_DROP}]]
         [--compare] [--config monitoring.yaml] [--threshold X] [--drift-share 0.5] [--stattest <test>]
         [--correction none|bonferroni|holm|bh] [--out ${DEFAULT_MONITOR_OUT}] [--no-log] [--no-score]
         [--experiment NAME] [--max-bad-fraction ${DEFAULT_MAX_BAD_FRACTION}] [--max-bad-lines N] [--chunk-rows 4096]
Checks the current data against the model's reference profile (data and prediction drift), with --labels the
model's metric on labelled rows (concept drift), with --compare the shadow challenger's answers. Writes
<out>/${MONITOR_JSON} and <out>/${MONITOR_HTML}; logs a monitoring run linked to the model version (not with --no-log,
nor for --reference without --experiment).
exit codes: 0 no drift, ${EXIT.drift} dataset drift, ${EXIT.degraded} degraded (metric dropped past --max-drop), ${EXIT.usage} usage,
            ${EXIT.notFound} model / profile / shadow answers not found, ${EXIT.unreachable} server unreachable, ${EXIT.invalid} invalid input, ${EXIT.failed} other failure
--stattest: ${STAT_TEST_NAMES.join(", ")} (default: Evidently's rule per column)`;

const PROFILE_USAGE = `usage: npm run monitor:profile -- --data <file.csv> --manifest <data/name.yaml | name> --out <profile.json>
Streams the CSV through the manifest's feature columns into a reference profile for npm run monitor -- --reference.`;

function usageError(message: string, usage = USAGE): undefined {
  console.error(`error [CLI_USAGE]: ${message}\n${usage}`);
  process.exitCode = EXIT.usage;
  return undefined;
}

/** A number flag within [min, max], or undefined after a usage error. */
function numberFlag(
  name: string,
  raw: string,
  min: number,
  max: number,
  integer = false,
): number | undefined {
  const value = parseNumberField(raw);
  if (value !== undefined && value >= min && value <= max && (!integer || Number.isInteger(value)))
    return value;
  const kind = integer ? "an integer" : "a number";
  const range =
    min === Number.MIN_VALUE
      ? `a positive number${max === Number.MAX_SAFE_INTEGER ? "" : ` up to ${max}`}`
      : `${kind} from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}`;
  return usageError(`--${name} must be ${range}, got '${raw}'.`);
}

/** The flags as MonitorOptions, or undefined after printing a usage error (exit code 2). */
export function monitorOptions(
  argv: readonly string[],
): (MonitorOptions & { keepServer: boolean }) | undefined {
  const parsed = parseCli(
    argv,
    {
      model: { type: "string" },
      reference: { type: "string" },
      current: { type: "string" },
      format: { type: "string" },
      labels: { type: "string" },
      id: { type: "string" },
      "label-column": { type: "string" },
      metric: { type: "string" },
      "max-drop": { type: "string" },
      config: { type: "string" },
      threshold: { type: "string" },
      "drift-share": { type: "string" },
      stattest: { type: "string" },
      correction: { type: "string" },
      out: { type: "string", default: DEFAULT_MONITOR_OUT },
      compare: { type: "boolean", default: false },
      "no-log": { type: "boolean", default: false },
      "no-score": { type: "boolean", default: false },
      experiment: { type: "string" },
      "max-bad-fraction": { type: "string" },
      "max-bad-lines": { type: "string" },
      "chunk-rows": { type: "string" },
      "keep-server": { type: "boolean", default: false },
    },
    USAGE,
    ["current"],
  );
  if (parsed === undefined) return undefined;
  const v = parsed.values;
  const str = (k: string) => v[k] as string | undefined;
  if (parsed.positionals.length > 0) return usageError(`unexpected argument '${parsed.positionals[0]}'.`);
  if (str("model") === undefined && str("reference") === undefined)
    return usageError("--model or --reference is required.");
  const format = str("format");
  if (format !== undefined && format !== "csv" && format !== "jsonl")
    return usageError(`--format must be csv or jsonl, not '${format}'.`);
  if (str("labels") !== undefined && str("model") === undefined)
    return usageError(
      "--labels needs --model (concept drift compares the model's metric with its test value).",
    );
  for (const flag of ["id", "label-column", "metric", "max-drop"])
    if (str(flag) !== undefined && str("labels") === undefined)
      return usageError(`--${flag} needs --labels.`);
  const stattest = str("stattest");
  if (stattest !== undefined && !(STAT_TEST_NAMES as readonly string[]).includes(stattest))
    return usageError(`--stattest must be one of ${STAT_TEST_NAMES.join(", ")}, not '${stattest}'.`);
  const correction = str("correction");
  if (correction !== undefined && !(P_VALUE_CORRECTIONS as readonly string[]).includes(correction))
    return usageError(`--correction must be one of ${P_VALUE_CORRECTIONS.join(", ")}, not '${correction}'.`);
  const options: MonitorOptions & { keepServer: boolean } = {
    current: str("current")!,
    out: str("out")!,
    compare: v.compare === true,
    log: v["no-log"] !== true,
    score: v["no-score"] !== true,
    keepServer: v["keep-server"] === true,
    drift: {
      ...(stattest === undefined ? {} : { stattest: stattest as StatTestName }),
      ...(correction === undefined ? {} : { correction: correction as PValueCorrection }),
    },
  };
  for (const [flag, key] of [
    ["model", "model"],
    ["reference", "reference"],
    ["labels", "labels"],
    ["id", "idColumn"],
    ["label-column", "labelColumn"],
    ["metric", "metric"],
    ["config", "config"],
    ["experiment", "experiment"],
  ] as const)
    if (str(flag) !== undefined) options[key] = str(flag)!;
  if (format !== undefined) options.format = format as CurrentFormat;
  const numbers: [string, (x: number) => void, number, number, boolean][] = [
    ["max-drop", (x) => (options.maxDrop = x), 0, Number.MAX_SAFE_INTEGER, false],
    ["threshold", (x) => (options.drift!.threshold = x), Number.MIN_VALUE, Number.MAX_SAFE_INTEGER, false],
    ["drift-share", (x) => (options.drift!.driftShare = x), Number.MIN_VALUE, 1, false],
    ["max-bad-fraction", (x) => (options.maxBadFraction = x), 0, 1, false],
    ["max-bad-lines", (x) => (options.maxBadLines = x), 0, Number.MAX_SAFE_INTEGER, true],
    ["chunk-rows", (x) => (options.chunkRows = x), 1, Number.MAX_SAFE_INTEGER, true],
  ];
  for (const [flag, set, min, max, integer] of numbers) {
    const raw = str(flag);
    if (raw === undefined) continue;
    const value = numberFlag(flag, raw, min, max, integer);
    if (value === undefined) return undefined;
    set(value);
  }
  return options;
}

/** The exit code of a finished monitor: degraded wins over drift. */
export function verdictExitCode(report: MonitorReport): number {
  if (report.verdict.degraded) return EXIT.degraded;
  return report.verdict.drift ? EXIT.drift : EXIT.ok;
}

/** The short terminal summary: the verdict, the drifted columns, where the report is. */
export function monitorSummary(report: MonitorReport, out: string): string {
  const { model, input, drift } = report;
  const lines = [
    `monitor: ${model.name}${model.version === undefined ? "" : ` v${model.version}`} (${model.uri}) vs ${input.rowsUsed} rows of ${input.path} (${input.format}, read in ${input.seconds.toFixed(1)} s)`,
    ...report.verdict.reasons.map((r) => `  ${r}`),
  ];
  const drifted = drift.columns.filter((c) => c.drift).sort((a, b) => a.column.localeCompare(b.column));
  if (drifted.length > 0)
    lines.push(
      `  drifted: ${drifted
        .slice(0, 12)
        .map((c) => `${c.column} (${c.test} ${c.score.toPrecision(3)})`)
        .join(", ")}${drifted.length > 12 ? `, … ${drifted.length - 12} more` : ""}`,
    );
  const issues = input.issues;
  if (issues !== undefined) {
    if (issues.extraColumns.length > 0)
      lines.push(`  ignored columns (not in the profile): ${issues.extraColumns.join(", ")}`);
    for (const e of issues.examples) lines.push(`  bad: ${e.file}:${e.line}: ${e.reason}`);
    if (issues.unscored > 0)
      lines.push(
        `  ${issues.unscored} rows without a prediction${issues.unscoredExamples[0] === undefined ? "" : ` (e.g. line ${issues.unscoredExamples[0].line}: ${issues.unscoredExamples[0].reason})`}`,
      );
  }
  lines.push(`report: ${path.join(out, MONITOR_HTML)} (summary ${path.join(out, MONITOR_JSON)})`);
  if (report.run !== undefined) lines.push(`run: ${report.run.url}`);
  lines.push(`verdict: ${verdictWord(report.verdict)} (exit ${verdictExitCode(report)})`);
  return lines.join("\n");
}

/** `npm run monitor`: drift, degradation and shadow comparison of a model on current data. */
export async function monitorCommand(argv: readonly string[]): Promise<void> {
  const options = monitorOptions(argv);
  if (options === undefined) return;
  const logger = createLogger({ name: "monitor", level: process.env.LOG_LEVEL ?? "warn" });
  const remote = options.model !== undefined && /^(models|runs):\//.test(options.model);
  const log = options.log !== false && (options.model !== undefined || options.experiment !== undefined);
  let server: TrackingServerHandle | undefined;
  let client: MlflowClient | undefined;
  let tracking: TrackingSession | undefined;
  let bar: cliProgress.SingleBar | undefined;
  try {
    if (remote || log) {
      // Loaded on demand: a check of a profile without tracking starts faster without the tracking client.
      const [
        { ensureTrackingServer },
        { MlflowClient },
        { TrackingSession },
        { defaultSpoolDir, trackingTarget },
      ] = await Promise.all([
        import("../tracking/ensure-server.js"),
        import("../tracking/client.js"),
        import("../tracking/session.js"),
        import("../tracking/spool.js"),
      ]);
      server = await ensureTrackingServer({ logger, keep: options.keepServer });
      client = new MlflowClient({ trackingUri: server.uri, logger });
      if (log)
        tracking = new TrackingSession({
          client,
          spoolDir: defaultSpoolDir(),
          target: trackingTarget(),
          logger,
        });
    }
    if (process.stderr.isTTY) {
      bar = new cliProgress.SingleBar(
        { format: "reading {bar} {percentage}% | {rows} rows", stream: process.stderr },
        cliProgress.Presets.shades_classic,
      );
      bar.start(100, 0, { rows: 0 });
    }
    const progress = bar;
    const report = await runMonitor(
      { ...options, log },
      {
        client,
        tracking,
        logger,
        ...(progress === undefined
          ? {}
          : {
              onProgress: (p) =>
                progress.update(Math.round((100 * p.bytesRead) / Math.max(1, p.totalBytes)), {
                  rows: p.rows,
                }),
            }),
      },
    );
    bar?.stop();
    bar = undefined;
    console.log(monitorSummary(report, options.out));
    await writeGithubOutputs({
      drift: String(report.verdict.drift),
      degraded: String(report.verdict.degraded),
      drift_share: String(report.drift.share),
      drifted_columns: String(report.drift.drifted),
      verdict: verdictWord(report.verdict),
      report: path.join(options.out, MONITOR_HTML),
      summary_json: path.join(options.out, MONITOR_JSON),
    });
    await appendStepSummary(monitorMarkdown(report));
    process.exitCode = verdictExitCode(report);
  } catch (error) {
    bar?.stop();
    process.exitCode = exitCodeFor(error);
    console.error(error instanceof WorkbenchError ? `error [${error.code}]: ${error.message}` : error);
  } finally {
    tracking?.close();
    client?.close();
    await server?.release();
  }
}

/** `npm run monitor:profile`: a reference profile from a CSV file and its dataset manifest. */
export async function monitorProfileCommand(argv: readonly string[]): Promise<void> {
  const parsed = parseCli(
    argv,
    { data: { type: "string" }, manifest: { type: "string" }, out: { type: "string" } },
    PROFILE_USAGE,
    ["data", "manifest", "out"],
  );
  if (parsed === undefined) return;
  const v = parsed.values;
  try {
    // Loaded here: the dataset manifest's schema code is not needed by `npm run monitor`.
    const { buildProfileFromCsv } = await import("../pipelines/monitor-profile.js");
    const result = await buildProfileFromCsv({
      data: v.data as string,
      manifest: v.manifest as string,
      out: v.out as string,
    });
    console.log(
      `profiled ${result.rows} rows × ${result.columns} columns of ${v.data} in ${result.seconds.toFixed(1)} s → ${result.out}${result.bad > 0 ? ` (${result.bad} bad rows left out)` : ""}`,
    );
  } catch (error) {
    process.exitCode = exitCodeFor(error);
    console.error(error instanceof WorkbenchError ? `error [${error.code}]: ${error.message}` : error);
  }
}
