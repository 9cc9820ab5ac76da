import { loadTrainConfig, type TrainConfig } from "../config/train-config.js";
import type { MonitorReport } from "../monitoring/types.js";
import { type CtResult, ctPipeline } from "../pipelines/ct.js";
import { type CtMonitorVerdict, type CtWhen, monitorBeforeRetraining } from "../pipelines/ct-monitor.js";
import { verdictWord } from "../pipelines/monitor-tracking.js";
import { gateText } from "../promotion/gate-report.js";
import { ConfigError } from "../shared/errors.js";
import { TrackingSession } from "../tracking/session.js";
import { defaultSpoolDir, trackingTarget } from "../tracking/spool.js";
import { monitorMarkdown } from "../viz/monitor-report.js";
import { parseCli } from "./args.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { appendStepSummary, imageTags, writeGithubOutputs } from "./github.js";
import { runMain } from "./run-main.js";

const USAGE = `usage: npm run ct -- (--config configs/<name>.yaml | --model <name>) [--recipe champion|config]
                    [--data current|logged] [--set key=value ...] [--force-promote] [--dry-run]
                    [--export DIR] [--exit-zero-when-kept] [--mirror DIR] [--keep-server]
                    [--current <prediction log | csv> [--labels labels.csv] [--monitor-out DIR]] [--when always|drift]
--current runs \`npm run monitor\` on the champion first (verdict in the output and the job summary);
--when drift retrains only when it finds dataset drift or a degraded metric (exit 0, decision "skipped", otherwise).
exit codes: 0 promoted (dry run: would promote), 3 champion kept, 4 promotion conflict, 5 recipe unusable,
            6 logged data changed, 7 code mismatch (--strict), 8 no champion / not found, 9 server unreachable,
            10 invalid config or data, 1 other failure, 2 usage`;

const BOOLEAN_FLAGS = ["force-promote", "dry-run", "exit-zero-when-kept", "keep-server"];

/**
 * Lets a workflow pass its inputs verbatim: `--flag=true|false` for booleans, and an empty value
 * (`--model ""`) for "not given".
 */
export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const eq = /^--([a-z-]+)=(.*)$/s.exec(token);
    if (eq !== null && BOOLEAN_FLAGS.includes(eq[1]!)) {
      const value = eq[2]!.trim().toLowerCase();
      if (["true", "1", "yes"].includes(value)) out.push(`--${eq[1]}`);
      else if (!["false", "0", "no", ""].includes(value)) out.push(token); // parseArgs reports it
      continue;
    }
    if (eq !== null && eq[2]!.trim() === "") continue;
    const next = argv[i + 1];
    if (
      /^--[a-z-]+$/.test(token) &&
      !BOOLEAN_FLAGS.includes(token.slice(2)) &&
      next !== undefined &&
      next.trim() === ""
    ) {
      i++;
      continue;
    }
    out.push(token);
  }
  return out;
}

function printResult(result: CtResult, uri: string): void {
  console.log(`\n${gateText(result.gate)}\n`);
  console.log(
    `challenger: ${result.modelName} v${result.challenger.version} (${result.challenger.source === "config" ? "trained from the config" : "the champion's recipe replayed"}) ${result.challenger.runUrl}`,
  );
  const champion =
    result.champion.after === undefined
      ? "no champion"
      : result.promoted
        ? `v${result.champion.after} is the champion${result.champion.before === undefined ? "" : ` (v${result.champion.before} kept as previous)`}`
        : `v${result.champion.after} stays champion`;
  console.log(`decision: ${result.decision} — ${champion}  (tracking ${uri})`);
  if (result.exported !== undefined) console.log(`exported the champion's package to ${result.exported}`);
}

/** `npm run ct`: one continuous-training round (train → gate → promote → export). */
export async function ctCommand(argv: readonly string[]): Promise<void> {
  const parsed = parseCli(
    normalizeArgv(argv),
    {
      config: { type: "string" },
      model: { type: "string" },
      recipe: { type: "string" },
      data: { type: "string", default: "current" },
      set: { type: "string", multiple: true, default: [] },
      "force-promote": { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      export: { type: "string" },
      "exit-zero-when-kept": { type: "boolean", default: false },
      mirror: { type: "string" },
      "keep-server": { type: "boolean", default: false },
      current: { type: "string" },
      labels: { type: "string" },
      "monitor-out": { type: "string", default: "out/monitor" },
      when: { type: "string", default: "always" },
    },
    USAGE,
  );
  if (parsed === undefined) return;
  const v = parsed.values;
  const usage = (message: string) => {
    console.error(`error [CLI_USAGE]: ${message}\n${USAGE}`);
    process.exitCode = EXIT.usage;
  };
  const configFile = v.config as string | undefined;
  const modelName = v.model as string | undefined;
  if (configFile === undefined && modelName === undefined) return usage("--config or --model is required.");
  const data = v.data as string;
  if (data !== "current" && data !== "logged")
    return usage(`--data must be current or logged, not '${data}'.`);
  const recipe = (v.recipe as string | undefined) ?? "champion";
  if (recipe !== "champion" && recipe !== "config")
    return usage(`--recipe must be champion or config, not '${recipe}'.`);
  if (recipe === "config" && configFile === undefined) return usage("--recipe config needs --config.");
  const when = v.when as string;
  if (when !== "always" && when !== "drift") return usage(`--when must be always or drift, not '${when}'.`);
  // An empty value (a workflow passing an unset log) means "not given".
  const current = ((v.current as string | undefined) ?? "").trim() || undefined;
  if (when === "drift" && current === undefined)
    return usage("--when drift needs --current (the prediction log or a CSV of current rows to monitor).");
  if (v.labels !== undefined && current === undefined) return usage("--labels needs --current.");
  let config: TrainConfig | undefined;
  if (configFile !== undefined) {
    try {
      config = await loadTrainConfig(configFile, (v.set as string[]) ?? []);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      console.error(`error [${error.code}]: ${error.message}`);
      process.exitCode = EXIT.invalid;
      return;
    }
  }
  await runMain(
    { keepServer: v["keep-server"] === true, name: "ct", exitCodeFor },
    async ({ client, logger, server }) => {
      let monitor: CtMonitorVerdict | undefined;
      if (current !== undefined) {
        const name = modelName ?? config?.registry.modelName;
        const tracking = new TrackingSession({
          client,
          spoolDir: defaultSpoolDir(),
          target: trackingTarget(),
          logger,
        });
        try {
          monitor = await monitorBeforeRetraining(
            { client, tracking, logger },
            {
              modelName: name!,
              aliases: config?.promotion.aliases ?? { champion: "champion", previous: "previous" },
              current,
              ...(v.labels === undefined ? {} : { labels: v.labels as string }),
              out: v["monitor-out"] as string,
            },
            when as CtWhen,
          );
        } finally {
          tracking.close();
        }
        printMonitor(monitor);
        await writeGithubOutputs({
          monitored: String(monitor.report !== undefined),
          drift: String(monitor.report?.verdict.drift ?? false),
          degraded: String(monitor.report?.verdict.degraded ?? false),
          retrain: String(monitor.retrain),
        });
        await appendStepSummary(monitorSummaryMarkdown(monitor));
        if (!monitor.retrain) {
          await writeGithubOutputs({
            promoted: "false",
            decision: "skipped",
            model_name: name!,
            model_version: monitor.report?.model.version ?? "",
            challenger_version: "",
            image_tags: "",
          });
          return;
        }
      }
      const result = await ctPipeline(
        { client, logger },
        {
          ...(config === undefined ? {} : { config }),
          ...(configFile === undefined ? {} : { configFile }),
          ...(modelName === undefined ? {} : { modelName }),
          recipe,
          data,
          forcePromote: v["force-promote"] === true,
          dryRun: v["dry-run"] === true,
          ...(v.export === undefined ? {} : { exportDir: v.export as string }),
          ...(v.mirror === undefined ? {} : { mirror: v.mirror as string }),
        },
      );
      printResult(result, server.uri);
      const championVersion = result.champion.after ?? "";
      await writeGithubOutputs({
        promoted: String(result.promoted),
        decision: result.decision,
        model_name: result.modelName,
        model_version: championVersion,
        challenger_version: result.challenger.version,
        image_tags: result.promoted ? imageTags(result.modelName, championVersion).join(",") : "",
      });
      await appendStepSummary(summaryMarkdown(result));
      if (!result.promoted && !(result.decision === "dry-run" && result.gate.promote))
        process.exitCode = v["exit-zero-when-kept"] === true ? EXIT.ok : EXIT.kept;
    },
  );
}

function printMonitor(monitor: CtMonitorVerdict): void {
  const report: MonitorReport | undefined = monitor.report;
  if (report === undefined) console.log(`monitor: skipped — ${monitor.skipped ?? "nothing to monitor"}`);
  else
    console.log(
      `monitor: ${report.model.name} v${report.model.version ?? "?"} on ${report.input.rowsUsed} rows of ${report.input.path}: ${verdictWord(report.verdict)} (${report.drift.drifted} of ${report.drift.columns.length} columns drifted)`,
    );
  console.log(`decision: ${monitor.retrain ? "retrain" : "skip"} — ${monitor.reason}`);
}

function monitorSummaryMarkdown(monitor: CtMonitorVerdict): string {
  const head = `## Monitor before retraining: ${monitor.retrain ? "retrain" : "retraining skipped"}\n\n${monitor.reason}.`;
  if (monitor.report === undefined)
    return `${head}\n\nMonitor skipped: ${monitor.skipped ?? "nothing to monitor"}.`;
  return `${head}\n\n${monitorMarkdown(monitor.report)}`;
}

function summaryMarkdown(result: CtResult): string {
  const metrics = Object.entries(result.metrics)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, value]) => `| ${k} | ${value.toFixed(4)} |`);
  return [
    `## Continuous training: ${result.modelName} — ${result.decision}`,
    "",
    `Challenger v${result.challenger.version} (${result.challenger.source}), [run](${result.challenger.runUrl}); champion before: ${result.champion.before === undefined ? "none" : `v${result.champion.before}`}, after: ${result.champion.after === undefined ? "none" : `v${result.champion.after}`}.`,
    "",
    "### Gate",
    "",
    result.markdown,
    "",
    "### Challenger test metrics",
    "",
    "| metric | value |",
    "|---|---:|",
    ...metrics,
  ].join("\n");
}
