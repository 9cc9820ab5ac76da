import { higherIsBetter } from "../evaluation/metrics.js";
import type { ColumnDrift, MonitorReport } from "../monitoring/types.js";

/**
 * Wording and number formats shared by the monitor's HTML report and its Markdown summary, so that both say
 * the same thing in the same words.
 */

/**
 * A number for people: 4 significant digits below 1,000, whole numbers with separators from there, an exponent
 * for tiny p-values, "–" for absent or not finite.
 */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return "–";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "-∞";
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1e15) return value.toExponential(3);
  // Amounts and counts: whole, with thousands separators (163,312 rather than 1.633e5).
  if (Number.isInteger(value) || abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs < 1e-4) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

/** A share (0..1) as a percentage with one decimal. */
export function formatShare(share: number | undefined): string {
  if (share === undefined || !Number.isFinite(share)) return "–";
  return `${(share * 100).toFixed(1)} %`;
}

/** A row count with thousands separators (en-US, independent of the machine's locale). */
export function formatCount(count: number): string {
  return count.toLocaleString("en-US");
}

/** True for tests (the score is a p-value: drift below the threshold), false for distances. */
export function isTest(column: ColumnDrift): boolean {
  return column.pValue !== undefined;
}

/** The test's name as the table shows it; a text column's drift is a domain classifier's ROC AUC. */
export function testLabel(column: ColumnDrift): string {
  if (column.type === "text" && column.text !== undefined) return "domain classifier AUC";
  return column.test;
}

/**
 * How far past its threshold a column is: > 1 drifted, < 1 not. Tests: threshold / p-value; distances:
 * distance / threshold. Orders the drift table and the summary's top columns.
 */
export function severity(column: ColumnDrift): number {
  if (!(column.threshold > 0)) return column.drift ? Number.POSITIVE_INFINITY : 0;
  if (isTest(column)) return column.score > 0 ? column.threshold / column.score : Number.POSITIVE_INFINITY;
  return column.score / column.threshold;
}

/** Drifted columns first, most severe first within each group; ties keep the profile's order. */
export function driftOrder(columns: readonly ColumnDrift[]): ColumnDrift[] {
  return columns
    .map((column, index) => ({ column, index, severity: severity(column) }))
    .sort(
      (a, b) =>
        Number(b.column.drift) - Number(a.column.drift) ||
        (b.severity === a.severity ? 0 : b.severity > a.severity ? 1 : -1) ||
        a.index - b.index,
    )
    .map((entry) => entry.column);
}

/** "ks p = 0.0012 < 0.05" / "wasserstein 0.31 ≥ 0.1": the comparison the flag came from. */
export function comparison(column: ColumnDrift): string {
  const name = testLabel(column);
  if (isTest(column)) {
    const p = column.adjustedPValue ?? column.score;
    return `${name} p = ${formatNumber(p)} ${column.drift ? "<" : "≥"} ${formatNumber(column.threshold)}`;
  }
  return `${name} ${formatNumber(column.score)} ${column.drift ? "≥" : "<"} ${formatNumber(column.threshold)}`;
}

/** The dataset drift figures: "4 of 6 columns drifted (66.7 %; dataset drift from 50.0 %)". */
export function datasetDriftSentence(report: MonitorReport): string {
  const d = report.drift;
  return `${d.drifted} of ${d.columns.length} columns drifted (${formatShare(d.share)}; dataset drift from ${formatShare(d.driftShare)})`;
}

/** The concept drift sentence: "roc_auc 0.71 against 0.78 at test: drop 0.07 > 0.05 allowed (degraded)". */
export function conceptSentence(concept: NonNullable<MonitorReport["concept"]>): string {
  return `${concept.metric} ${formatNumber(concept.current)} against ${formatNumber(
    concept.reference,
  )} at test: drop ${formatNumber(concept.drop)} ${concept.degraded ? ">" : "≤"} ${formatNumber(
    concept.maxDrop,
  )} allowed, on ${formatCount(concept.labelled)} labelled rows (${formatCount(concept.unlabelled)} without a label)`;
}

/** The shadow comparison sentence: agreement, and the metric difference with its interval when labelled. */
export function shadowSentence(shadow: NonNullable<MonitorReport["shadow"]>): string {
  const who = `${shadow.challenger.name} v${shadow.challenger.version} (challenger) against ${shadow.champion.name} v${shadow.champion.version} (champion)`;
  const parts = [
    `${who}: same label on ${formatShare(shadow.agreement)} of ${formatCount(shadow.rows)} rows`,
    `mean |Δ probability| ${formatNumber(shadow.meanAbsProbabilityDiff)}`,
  ];
  const m = shadow.metric;
  if (m !== undefined) {
    const sign = m.difference > 0 ? "+" : "";
    // The difference is challenger − champion; for a lower-is-better metric (log_loss, brier) above 0 is worse.
    const up = higherIsBetter(m.name);
    const verdict =
      m.ci[0] > 0
        ? up
          ? "challenger better"
          : "challenger worse"
        : m.ci[1] < 0
          ? up
            ? "challenger worse"
            : "challenger better"
          : "no significant difference";
    parts.push(
      `${m.name} ${formatNumber(m.challenger)} vs ${formatNumber(m.champion)}, difference ${sign}${formatNumber(
        m.difference,
      )} [${formatNumber(m.ci[0])}, ${formatNumber(m.ci[1])}] on ${formatCount(m.labelled)} labelled rows: ${verdict}`,
    );
  }
  return parts.join("; ");
}
