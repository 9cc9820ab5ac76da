import type { Logger } from "../shared/logger.js";
import type { MlflowClient } from "../tracking/client.js";
import { isMlflowHealthy } from "../tracking/local-server.js";
import type { Counts } from "../tracking/replay-journal.js";
import { defaultSpoolDir, trackingTarget } from "../tracking/spool.js";
import { type JournalReport, type SyncReport, syncSpool } from "../tracking/sync.js";
import { parseCli } from "./args.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { runMain } from "./run-main.js";

const USAGE = `usage: npm run sync [-- --spool DIR] [--all-targets] [--stale-after MINUTES] [--no-orphans] [--json] [--keep-server]
  Delivers runs recorded offline (or while the tracking server was unreachable) from the local spool
  (WORKBENCH_SPOOL_DIR, default mlruns/.spool) to the tracking server, exactly once, then marks runs whose
  process is gone as KILLED. Journals meant for another server are left alone unless --all-targets.`;

function counts(label: string, c: Counts): string {
  const parts = (Object.entries(c) as [keyof Counts, number][])
    .filter(([kind, n]) => n > 0 && kind !== "end")
    .map(([kind, n]) => `${n} ${kind}`);
  return parts.length === 0 ? "" : `${label} ${parts.join(", ")}`;
}

function journalLine(j: JournalReport): string {
  const run = `${j.clientRunId ?? "?"}${j.serverRunId === undefined ? "" : ` → ${j.serverRunId}`}`;
  const details = [
    j.runName,
    counts("sent", j.sent),
    counts("already there", j.present),
    j.endStatus === undefined ? "" : `end ${j.endStatus}`,
    ...j.corrupt.map((p) => `line ${p.line} skipped (${p.reason})`),
    ...(j.tornTail === undefined ? [] : [`line ${j.tornTail.line} torn (never acknowledged), dropped`]),
    ...j.rejected.map((p) => `line ${p.line} rejected (${p.reason})`),
    j.note,
  ].filter((d) => d !== undefined && d !== "");
  return `  ${j.outcome.padEnd(12)} ${run}${details.length === 0 ? "" : `  ${details.join("; ")}`}`;
}

/** The human summary of a sync: one line per journal, one per orphan. */
export function describeSync(report: SyncReport, spoolDir: string): string[] {
  const lines = [
    `spool ${spoolDir}: ${report.journals.length} journal(s)`,
    ...report.journals.map(journalLine),
  ];
  for (const o of report.orphans) lines.push(`  orphan KILLED  ${o.runId} (${o.runName})  ${o.note}`);
  if (report.unreachable)
    lines.push("the tracking server could not be reached: the journals left are kept for the next sync");
  return lines;
}

/**
 * The sync a training does before it starts (when the server answers): delivers what earlier runs spooled
 * and ends orphaned runs. Never stops the training: a failure is logged and the journals stay.
 */
export async function syncBeforeTraining(
  client: MlflowClient,
  options: { spoolDir: string; target: string; logger: Logger },
): Promise<SyncReport | undefined> {
  if (!(await isMlflowHealthy(client.trackingUri, 2000))) return undefined;
  try {
    const report = await syncSpool(client, { ...options, logger: options.logger });
    const delivered = report.journals.filter((j) => j.outcome === "synced" || j.outcome === "quarantined");
    if (delivered.length > 0 || report.orphans.length > 0) {
      console.log(describeSync(report, options.spoolDir).join("\n"));
    }
    return report;
  } catch (error) {
    options.logger.warn(
      { err: error, spool: options.spoolDir },
      "sync before training failed; run `npm run sync`",
    );
    return undefined;
  }
}

/** `npm run sync`: replay the spool's journals onto the tracking server and end orphaned runs. */
export async function syncCommand(argv: readonly string[]): Promise<void> {
  const parsed = parseCli(
    argv,
    {
      spool: { type: "string" },
      "all-targets": { type: "boolean", default: false },
      "stale-after": { type: "string", default: "15" },
      "no-orphans": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      "keep-server": { type: "boolean", default: false },
    },
    USAGE,
  );
  if (parsed === undefined) return;
  const v = parsed.values;
  const staleMinutes = Number(v["stale-after"]);
  if (!Number.isFinite(staleMinutes) || staleMinutes <= 0) {
    console.error(
      `error [CLI_USAGE]: --stale-after must be a number of minutes > 0, not '${v["stale-after"]}'.\n${USAGE}`,
    );
    process.exitCode = EXIT.usage;
    return;
  }
  const spoolDir = (v.spool as string | undefined) ?? defaultSpoolDir();
  await runMain(
    { name: "sync", keepServer: v["keep-server"] === true, exitCodeFor },
    async ({ client, logger }) => {
      const report = await syncSpool(client, {
        spoolDir,
        target: v["all-targets"] === true ? "*" : trackingTarget(),
        staleAfterMs: staleMinutes * 60_000,
        orphans: v["no-orphans"] === true ? false : { staleAfterMs: staleMinutes * 60_000 },
        logger,
      });
      console.log(
        v.json === true ? JSON.stringify(report, null, 2) : describeSync(report, spoolDir).join("\n"),
      );
      if (report.unreachable) process.exitCode = EXIT.unreachable;
      else if (report.journals.some((j) => j.outcome === "failed" || j.outcome === "quarantined"))
        process.exitCode = EXIT.failed;
    },
  );
}
