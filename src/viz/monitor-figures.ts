import type { ColumnPlot } from "../monitoring/types.js";
import { WorkbenchError } from "../shared/errors.js";
import type { Figure } from "./figure.js";

/** Reference and current in every monitoring figure. */
const REFERENCE = { name: "reference", color: "#4c78a8" };
const CURRENT = { name: "current", color: "#f58518" };
/** Bars drawn per categorical figure; the rest are summed into one "other" bar. */
export const MAX_CATEGORY_BARS = 30;

/**
 * Text for plotly labels, titles and hovers, shown literally. Plotly reads a small HTML subset (<b>, <a
 * href>, <br>) in these strings and decodes entities, so a category named `<b>x</b>` would render bold:
 * entity-encoding &, < and > makes plotly print the characters themselves.
 */
export function plotlyText(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

function invalidPlot(what: string, detail: string): never {
  throw new WorkbenchError("MONITOR_REPORT_INVALID", `Cannot draw ${what}: ${detail}.`, {
    details: { what },
  });
}

/** Finite edges: an open first or last edge takes its neighbour's width (a plot cannot draw to infinity). */
function finiteEdges(edges: readonly number[]): number[] {
  const out = [...edges];
  const finite = out.filter(Number.isFinite);
  const step = finite.length >= 2 ? (finite.at(-1)! - finite[0]!) / (finite.length - 1) || 1 : 1;
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i]!)) out[i] = Number.NaN;
  if (Number.isNaN(out[0]!) && out.length > 1) out[0] = (Number.isNaN(out[1]!) ? 0 : out[1]!) - step;
  for (let i = 1; i < out.length; i++) if (Number.isNaN(out[i]!)) out[i] = out[i - 1]! + step;
  return out;
}

function histogram(title: string, plot: Extract<ColumnPlot, { kind: "histogram" }>, axis: string): Figure {
  const bins = plot.reference.length;
  if (plot.edges.length !== bins + 1 || plot.current.length !== bins)
    invalidPlot(
      title,
      `a histogram needs one edge more than shares per side, got ${plot.edges.length} edges, ${bins} reference and ${plot.current.length} current shares`,
    );
  const edges = finiteEdges(plot.edges);
  const left = edges.slice(0, bins);
  const width = left.map((x, i) => edges[i + 1]! - x || 1);
  const bin = plot.edges
    .slice(0, bins)
    .map((x, i) => `[${formatEdge(x)}, ${formatEdge(plot.edges[i + 1]!)}${i === bins - 1 ? "]" : ")"}`);
  const trace = (side: typeof REFERENCE, shares: number[]) => ({
    type: "bar",
    name: side.name,
    x: left,
    y: shares,
    width,
    offset: 0,
    text: bin,
    textposition: "none",
    marker: { color: side.color, line: { width: 0 } },
    opacity: 0.6,
    hovertemplate: `${side.name} %{text}: %{y:.1%}<extra></extra>`,
  });
  return {
    data: [trace(REFERENCE, plot.reference), trace(CURRENT, plot.current)],
    layout: layout(title, {
      barmode: "overlay",
      bargap: 0,
      xaxis: { title: { text: plotlyText(axis) } },
    }),
  };
}

function formatEdge(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "-∞";
  return String(Number(x.toPrecision(4)));
}

function bars(title: string, plot: Extract<ColumnPlot, { kind: "bars" }>, axis: string): Figure {
  const n = plot.categories.length;
  if (plot.reference.length !== n || plot.current.length !== n)
    invalidPlot(
      title,
      `bars need one share per category on each side, got ${n} categories, ${plot.reference.length} reference and ${plot.current.length} current shares`,
    );
  // Past MAX_CATEGORY_BARS, the largest categories on either side stay (in the plot's order) and the tail is
  // summed, so the shares still add up.
  const share = (i: number) => Math.max(plot.reference[i]!, plot.current[i]!);
  const largest = plot.categories.map((_, i) => i).sort((a, b) => share(b) - share(a) || a - b);
  const shown = largest.slice(0, MAX_CATEGORY_BARS).sort((a, b) => a - b);
  const rest = largest.slice(MAX_CATEGORY_BARS);
  const labels = shown.map((i) => plotlyText(plot.categories[i]!));
  const sum = (shares: number[]) => rest.reduce((a, i) => a + shares[i]!, 0);
  if (rest.length > 0) labels.push(`(${rest.length} other categories)`);
  const side = (s: typeof REFERENCE, shares: number[]) => ({
    type: "bar",
    name: s.name,
    x: labels,
    y: [...shown.map((i) => shares[i]!), ...(rest.length > 0 ? [sum(shares)] : [])],
    marker: { color: s.color },
    hovertemplate: `${s.name} %{x}: %{y:.1%}<extra></extra>`,
  });
  return {
    data: [side(REFERENCE, plot.reference), side(CURRENT, plot.current)],
    layout: layout(title, {
      barmode: "group",
      xaxis: { type: "category", title: { text: plotlyText(axis) }, automargin: true },
    }),
  };
}

function layout(title: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    title: { text: plotlyText(title) },
    margin: { l: 60, r: 20, t: 50, b: 50 },
    template: "plotly_white",
    height: 400,
    yaxis: { title: { text: "share of rows" }, tickformat: ".0%", rangemode: "tozero" },
    legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom" },
    ...extra,
  };
}

/**
 * Reference against current for one column (or the predictions): shares per shared bin for numbers, per
 * category for categories. `title` and `axis` are data (column names) and are shown literally.
 */
export function columnPlotFigure(title: string, plot: ColumnPlot, axis: string): Figure {
  return plot.kind === "histogram" ? histogram(title, plot, axis) : bars(title, plot, axis);
}
