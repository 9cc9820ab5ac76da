import type { GateCheck, GateDecision } from "./gate.js";

const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(4));
const signed = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? "–" : `${v >= 0 ? "+" : ""}${v.toFixed(4)}`;
const pValue = (p: number | undefined) =>
  p === undefined ? "–" : p < 1e-4 ? p.toExponential(1) : p.toFixed(4);

function label(check: GateCheck): string {
  switch (check.kind) {
    case "improvement":
      return `${check.metric} (primary)`;
    case "bootstrap":
      return `${check.metric} (paired bootstrap)`;
    case "delong":
      return `${check.metric} (DeLong)`;
    case "guard":
      return `${check.metric} (guard)`;
    default:
      return `${check.metric} (${check.kind})`;
  }
}

/** The verdict in one line. */
export function verdictLine(decision: GateDecision): string {
  const versions =
    decision.champion === undefined
      ? `challenger v${decision.challenger} (no champion yet)`
      : `challenger v${decision.challenger} vs champion v${decision.champion}`;
  if (decision.forced)
    return `FORCED PROMOTION of ${versions}: the gate failed (${decision.failures.join("; ")})`;
  if (decision.promote) return `PROMOTE ${versions}: every check passed on ${decision.rows} rows`;
  if (decision.champion === undefined)
    return `NO PROMOTION: ${versions} failed ${decision.failures.length} check(s): ${decision.failures.join("; ")}`;
  return `KEEP the champion: ${versions} failed ${decision.failures.length} check(s): ${decision.failures.join("; ")}`;
}

/** The gate table as Markdown: metric, champion, challenger, delta, CI, p-value, verdict. */
export function gateMarkdown(decision: GateDecision): string {
  const level = Math.round(decision.bootstrap.confidence * 100);
  const lines = [
    `| check | champion${decision.champion === undefined ? "" : ` v${decision.champion}`} | challenger v${decision.challenger} | delta | CI | p-value | verdict |`,
    "|---|---:|---:|---:|---|---:|---|",
    ...decision.checks.map(
      (c) =>
        `| ${label(c)} | ${num(c.champion)} | ${num(c.challenger)} | ${signed(c.delta)} | ${c.ci ? `[${signed(c.ci[0])}, ${signed(c.ci[1])}]` : "–"} | ${pValue(c.pValue)} | ${c.passed ? "✅" : "❌"} ${c.requirement} |`,
    ),
  ];
  if (decision.checks.length === 0) lines.push("| (no checks configured) | – | – | – | – | – | ✅ |");
  return [
    lines.join("\n"),
    "",
    `**${verdictLine(decision)}**`,
    "",
    `Scored on ${decision.rows} rows of the new run's evaluation splits. CI: ${level}% percentile interval of ${decision.bootstrap.resamples} paired bootstrap resamples (seed ${decision.bootstrap.seed}); the DeLong row shows its 95% normal interval.`,
  ].join("\n");
}

/** The same table as plain text for the terminal. */
export function gateText(decision: GateDecision): string {
  const header = ["check", "champion", "challenger", "delta", "CI", "p-value", "verdict"];
  const rows = decision.checks.map((c) => [
    label(c),
    num(c.champion),
    num(c.challenger),
    signed(c.delta),
    c.ci ? `[${signed(c.ci[0])}, ${signed(c.ci[1])}]` : "–",
    pValue(c.pValue),
    `${c.passed ? "pass" : "FAIL"}: ${c.requirement}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return [
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
    verdictLine(decision),
  ].join("\n");
}
