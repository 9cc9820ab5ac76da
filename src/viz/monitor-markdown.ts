import type { ColumnDrift, MonitorReport } from "../monitoring/types.js";
import {
  comparison,
  conceptSentence,
  datasetDriftSentence,
  driftOrder,
  formatCount,
  formatNumber,
  shadowSentence,
  testLabel,
} from "./monitor-format.js";

/** Drifted columns listed in the summary table; the HTML report lists every column. */
export const MARKDOWN_TOP_COLUMNS = 20;

/**
 * Free text (reasons, names outside code spans) as literal Markdown: every punctuation character Markdown or
 * GitHub's HTML could read is backslash-escaped, and line breaks become spaces.
 */
export function markdownText(text: string): string {
  return text.replace(/[\r\n]+/g, " ").replace(/[\\`*_[\]<>|~#&!]/g, (c) => `\\${c}`);
}

/**
 * A name from the data as an inline code span: nothing inside is read as Markdown or HTML. The fence is one
 * backtick longer than the longest run inside; `|` is escaped because GitHub splits table cells on it first,
 * even inside code.
 */
export function markdownCode(text: string): string {
  const flat = text.replace(/[\r\n]+/g, " ").replace(/\|/g, "\\|");
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") || flat === "" ? " " : "";
  return `${fence}${pad}${flat}${pad}${fence}`;
}

function columnRow(c: ColumnDrift): string {
  const psi = c.psi ? `${formatNumber(c.psi.value)} (${c.psi.band})` : "–";
  const quality = `${c.invalid} / ${c.outOfRange} / ${c.unseen}`;
  const cells = [
    markdownCode(c.column),
    c.type,
    testLabel(c),
    formatNumber(c.score),
    formatNumber(c.threshold),
    psi,
    quality,
  ];
  return `| ${cells.join(" | ")} |`;
}

/**
 * The monitor's verdict in Markdown, for $GITHUB_STEP_SUMMARY and the terminal: the verdict lines, the most
 * drifted columns (top 20), predictions, concept drift and the shadow comparison when present.
 */
export function monitorMarkdown(report: MonitorReport): string {
  const { verdict, drift } = report;
  const model = report.model.version ? `${report.model.name} v${report.model.version}` : report.model.name;
  const status = verdict.drift || verdict.degraded ? "action needed" : "no drift, no degradation";
  const lines = [
    `### Monitoring ${markdownCode(model)}: ${status}`,
    "",
    `- Dataset drift: **${drift.datasetDrift ? "yes" : "no"}**: ${markdownText(datasetDriftSentence(report))}`,
    `- Degraded: **${verdict.degraded ? "yes" : "no"}**${
      report.concept ? `: ${markdownText(conceptSentence(report.concept))}` : " (no labels given)"
    }`,
    `- Current: ${formatCount(report.input.rowsUsed)} rows of ${markdownCode(report.input.path)} against ${formatCount(
      drift.reference.rows,
    )} reference rows (${markdownText(drift.reference.split)} split)`,
  ];
  if (drift.predictions) {
    const { labels, score } = drift.predictions;
    lines.push(
      `- Predictions: labels ${labels.drift ? "**drift**" : "no drift"} (${markdownText(comparison(labels))}), score ${
        score.drift ? "**drift**" : "no drift"
      } (${markdownText(comparison(score))})`,
    );
  }
  if (report.shadow) lines.push(`- Shadow: ${markdownText(shadowSentence(report.shadow))}`);
  if (verdict.reasons.length > 0) lines.push(`- Reasons: ${verdict.reasons.map(markdownText).join("; ")}`);
  if (report.run) lines.push(`- Monitoring run: ${markdownCode(report.run.url ?? report.run.runId)}`);

  const drifted = driftOrder(drift.columns).filter((c) => c.drift);
  if (drifted.length > 0) {
    const shown = drifted.slice(0, MARKDOWN_TOP_COLUMNS);
    lines.push(
      "",
      "| column | type | test | score | threshold | PSI | invalid / out of range / unseen |",
      "|---|---|---|---:|---:|---:|---:|",
      ...shown.map(columnRow),
    );
    if (drifted.length > shown.length)
      lines.push(
        "",
        `Top ${shown.length} of ${drifted.length} drifted columns; the HTML report lists them all.`,
      );
  }
  return `${lines.join("\n")}\n`;
}
