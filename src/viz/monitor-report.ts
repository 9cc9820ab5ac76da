import type { ColumnDrift, ColumnSideSummary, MonitorReport } from "../monitoring/types.js";
import { type ReportSection, writeHtmlReport } from "./html-report.js";
import { columnPlotFigure } from "./monitor-figures.js";
import {
  comparison,
  conceptSentence,
  datasetDriftSentence,
  driftOrder,
  formatCount,
  formatNumber,
  formatShare,
  shadowSentence,
  testLabel,
} from "./monitor-format.js";

export { monitorMarkdown } from "./monitor-markdown.js";

/** Per-column figures drawn at most (drifted columns first); the drift table always lists every column. */
export const MAX_COLUMN_FIGURES = 60;

const yesNo = (flag: boolean) => (flag ? "yes" : "no");

/** The monitor's verdict, what was compared, and the run it was logged to. */
function verdictSection(report: MonitorReport): ReportSection {
  const { verdict, drift } = report;
  const lines = [
    `Dataset drift: ${yesNo(drift.datasetDrift)}: ${datasetDriftSentence(report)}.`,
    `Degraded: ${yesNo(verdict.degraded)} (${report.concept ? conceptSentence(report.concept) : "no labels given: concept drift not checked"}).`,
  ];
  if (verdict.reasons.length > 0) lines.push(`Reasons: ${verdict.reasons.join("; ")}.`);
  const model = report.model.version ? `${report.model.name} v${report.model.version}` : report.model.name;
  const rows: (string | number)[][] = [
    ["model", `${model} (${report.model.uri})`],
    ["current data", `${report.input.path} (${report.input.format})`],
    [
      "rows",
      `${formatCount(report.input.rowsUsed)} used of ${formatCount(report.input.rowsRead)} read in ${formatNumber(report.input.seconds)} s`,
    ],
    ["reference", `${formatCount(drift.reference.rows)} rows of the ${drift.reference.split} split`],
    ["p-value correction", drift.correction],
    ["created", report.createdAt],
  ];
  if (report.run) rows.push(["monitoring run", report.run.url ?? report.run.runId]);
  return {
    heading: `Verdict: ${verdict.drift || verdict.degraded ? "action needed" : "no drift, no degradation"}`,
    tone: verdict.drift || verdict.degraded ? "bad" : "good",
    text: lines.join("\n\n"),
    table: { columns: ["checked", ""], rows, align: ["left", "left"] },
  };
}

function driftRow(c: ColumnDrift, adjusted: boolean): (string | number)[] {
  return [
    c.column,
    c.type,
    testLabel(c),
    formatNumber(c.score),
    formatNumber(c.threshold),
    c.drift ? "DRIFT" : "no",
    c.psi ? `${formatNumber(c.psi.value)} (${c.psi.band})` : "–",
    ...(adjusted ? [formatNumber(c.adjustedPValue)] : []),
    c.invalid,
    c.outOfRange,
    c.unseen,
    c.exact ? "yes" : "no",
  ];
}

function driftTable(report: MonitorReport): ReportSection {
  const d = report.drift;
  const summarised = d.columns.filter((c) => !c.exact).length;
  // Without a correction the adjusted p-value is the score: no column for it.
  const adjusted = d.correction !== "none";
  const columns = [
    "column",
    "type",
    "test",
    "score",
    "threshold",
    "drift",
    "PSI (band)",
    ...(adjusted ? [`p adjusted (${d.correction})`] : []),
    "invalid",
    "out of range",
    "unseen",
    "exact",
  ];
  const words = new Set(["column", "type", "test", "drift", "exact"]);
  return {
    heading: "Drift by column",
    text: [
      `${d.drifted} of ${d.columns.length} columns drifted, drifted first and the furthest past its threshold on top. Tests (ks, chi2, z) drift when the p-value is below the threshold; distances (wasserstein, jensenshannon, psi) and the text domain classifier's ROC AUC when the score reaches it.`,
      adjusted
        ? `p-values corrected for multiple testing (${d.correction}); the flag compares the corrected p-value.`
        : "",
      summarised > 0
        ? `${summarised} column(s) were compared on a summarised distribution (quantile points of a large reference; exact: no): their scores approximate the exact ones.`
        : "",
    ]
      .filter((p) => p !== "")
      .join("\n\n"),
    table: {
      columns,
      rows: driftOrder(d.columns).map((c) => driftRow(c, adjusted)),
      align: columns.map((name) => (words.has(name) ? "left" : "right")),
    },
  };
}

function qualitySection(report: MonitorReport): ReportSection {
  const columns = report.drift.columns;
  const issues = (c: ColumnDrift) => c.invalid + c.outOfRange + c.unseen;
  const share = (side: ColumnSideSummary) => (side.rows > 0 ? side.missing / side.rows : 0);
  const flagged = columns
    .filter((c) => issues(c) > 0 || share(c.current) > share(c.reference))
    .sort((a, b) => issues(b) - issues(a) || share(b.current) - share(a.current));
  const clean = columns.length - flagged.length;
  return {
    heading: "Data quality (current rows)",
    text:
      flagged.length === 0
        ? `No invalid, out-of-range or unseen values, and no column has more missing values than the reference (${columns.length} columns).`
        : `${flagged.length} column(s) with invalid, out-of-range or unseen values or more missing values than the reference; ${clean} column(s) without. Invalid values (the schema refuses them) are not in the drift distributions.`,
    ...(flagged.length > 0 && {
      table: {
        columns: ["column", "missing (reference)", "missing (current)", "invalid", "out of range", "unseen"],
        rows: flagged.map((c) => [
          c.column,
          formatShare(share(c.reference)),
          formatShare(share(c.current)),
          c.invalid,
          c.outOfRange,
          c.unseen,
        ]),
        align: ["left", "right", "right", "right", "right", "right"],
      },
    }),
  };
}

/** Reference and current side by side: rows, missing, and the moments or the top categories. */
function sidesTable(c: ColumnDrift): NonNullable<ReportSection["table"]> {
  const row = (name: string, f: (s: ColumnSideSummary) => string) => [name, f(c.reference), f(c.current)];
  const rows = [
    row("rows", (s) => formatCount(s.rows)),
    row("missing", (s) => `${formatCount(s.missing)} (${formatShare(s.rows > 0 ? s.missing / s.rows : 0)})`),
  ];
  if (c.reference.mean !== undefined || c.current.mean !== undefined)
    rows.push(
      row("mean", (s) => formatNumber(s.mean)),
      row("std", (s) => formatNumber(s.std)),
      row("min", (s) => formatNumber(s.min)),
      row("max", (s) => formatNumber(s.max)),
    );
  if (c.reference.top !== undefined || c.current.top !== undefined)
    rows.push(
      row("top categories", (s) =>
        (s.top ?? []).map((t) => `${t.category}: ${formatShare(t.share)}`).join(", "),
      ),
    );
  return { columns: ["", "reference", "current"], rows, align: ["left", "right", "right"] };
}

function columnSection(c: ColumnDrift): ReportSection {
  return {
    heading: `${c.column}: ${c.drift ? "drift" : "no drift"} (${comparison(c)})`,
    table: sidesTable(c),
    figure: columnPlotFigure(c.column, c.plot, c.type === "text" ? `${c.column} (characters)` : c.column),
  };
}

function textSection(c: ColumnDrift & { text: NonNullable<ColumnDrift["text"]> }): ReportSection {
  const t = c.text;
  const words = (list: string[]) => (list.length > 0 ? list.join(", ") : "–");
  return {
    heading: `Text drift — ${c.column}: ${t.drift ? "drift" : "no drift"}`,
    text: [
      `A domain classifier told reference from current texts with ROC AUC ${formatNumber(t.auc)} (drift above ${formatNumber(t.threshold)}), trained on ${formatCount(t.sampleSizes.reference)} reference and ${formatCount(t.sampleSizes.current)} current texts.`,
      `Words typical of current texts: ${words(t.typicalWords.current)}.`,
      `Words typical of reference texts: ${words(t.typicalWords.reference)}.`,
    ].join("\n\n"),
    table: {
      columns: ["", "reference", "current"],
      rows: [
        ["out-of-vocabulary tokens", formatShare(t.oov.reference), formatShare(t.oov.current)],
        [
          "mean length (characters)",
          formatNumber(t.meanLength.reference),
          formatNumber(t.meanLength.current),
        ],
        ["missing", formatCount(c.reference.missing), formatCount(c.current.missing)],
      ],
      align: ["left", "right", "right"],
    },
    figure: columnPlotFigure(`${c.column}: text length`, c.plot, "characters"),
  };
}

function predictionSections(
  predictions: NonNullable<MonitorReport["drift"]["predictions"]>,
): ReportSection[] {
  return [
    {
      heading: `Predicted labels: ${predictions.labels.drift ? "drift" : "no drift"} (${comparison(predictions.labels)})`,
      table: sidesTable(predictions.labels),
      figure: columnPlotFigure("Predicted labels", predictions.labels.plot, "predicted label"),
    },
    {
      heading: `Prediction score (${predictions.score.column}): ${predictions.score.drift ? "drift" : "no drift"} (${comparison(predictions.score)})`,
      table: sidesTable(predictions.score),
      figure: columnPlotFigure(
        `Prediction score: ${predictions.score.column}`,
        predictions.score.plot,
        predictions.score.column,
      ),
    },
  ];
}

function conceptSections(concept: NonNullable<MonitorReport["concept"]>): ReportSection[] {
  return [
    {
      heading: `Concept drift: ${concept.degraded ? "degraded" : "not degraded"}`,
      tone: concept.degraded ? "bad" : "good",
      text: `${conceptSentence(concept)}.`,
      table: {
        columns: ["metric", "current"],
        rows: Object.entries(concept.metrics).map(([name, value]) => [name, formatNumber(value)]),
        align: ["left", "right"],
      },
    },
  ];
}

function shadowSection(shadow: NonNullable<MonitorReport["shadow"]>): ReportSection {
  const m = shadow.metric;
  const rows: (string | number)[][] = [
    ["rows scored by both", formatCount(shadow.rows)],
    ["same label", formatShare(shadow.agreement)],
    ["mean |Δ probability|", formatNumber(shadow.meanAbsProbabilityDiff)],
  ];
  if (m !== undefined)
    rows.push(
      [`${m.name} (champion)`, formatNumber(m.champion)],
      [`${m.name} (challenger)`, formatNumber(m.challenger)],
      ["difference (challenger − champion)", formatNumber(m.difference)],
      ["bootstrap interval", `[${formatNumber(m.ci[0])}, ${formatNumber(m.ci[1])}]`],
      ["labelled rows", formatCount(m.labelled)],
    );
  return {
    heading: `Shadow comparison: ${shadow.challenger.name} v${shadow.challenger.version} against ${shadow.champion.name} v${shadow.champion.version}`,
    text: `${shadowSentence(shadow)}. Answers came from the champion; the challenger scored the same requests in the background.`,
    table: { columns: ["", "value"], rows, align: ["left", "right"] },
  };
}

/** The monitor's HTML report as sections: verdict, drift table, quality, predictions, concept, shadow, figures. */
export function monitorReportSections(report: MonitorReport): ReportSection[] {
  const sections: ReportSection[] = [verdictSection(report), driftTable(report), qualitySection(report)];
  if (report.drift.predictions) sections.push(...predictionSections(report.drift.predictions));
  if (report.concept) sections.push(...conceptSections(report.concept));
  if (report.shadow) sections.push(shadowSection(report.shadow));
  const ordered = driftOrder(report.drift.columns);
  for (const c of ordered)
    if (c.type === "text" && c.text !== undefined) sections.push(textSection({ ...c, text: c.text }));
  const drawn = ordered.filter((c) => c.type !== "text" || c.text === undefined);
  if (drawn.length > MAX_COLUMN_FIGURES)
    sections.push({
      heading: "Columns",
      text: `Figures for ${MAX_COLUMN_FIGURES} of ${drawn.length} columns, drifted first; the drift table lists them all.`,
    });
  sections.push(...drawn.slice(0, MAX_COLUMN_FIGURES).map(columnSection));
  return sections;
}

/** Writes the monitor's self-contained HTML report (plotly inlined, no network needed to open it). */
export async function writeMonitorReport(file: string, report: MonitorReport): Promise<void> {
  const model = report.model.version ? `${report.model.name} v${report.model.version}` : report.model.name;
  await writeHtmlReport(file, `Monitoring report: ${model}`, monitorReportSections(report));
}
