import type { Figure } from "./figure.js";

/** Long class names (CFPB products run to 80 characters) cut for axis ticks; the hover shows them whole. */
function tick(label: string, max = 32): string {
  return label.length <= max ? label : `${label.slice(0, max - 1)}…`;
}

/** Axis ticks for `labels`, kept distinct when two names share their first characters. */
function ticks(labels: string[]): string[] {
  const cut = labels.map((l) => tick(l));
  return cut.map((t, i) => (cut.indexOf(t) === i && cut.lastIndexOf(t) === i ? t : `${t} (${i + 1})`));
}

/**
 * The confusion matrix as a heatmap coloured by the share of each true class (rows sum to 1, so a rare class
 * reads as clearly as a common one), each cell labelled with its count and share.
 */
export function confusionMatrixFigure(
  counts: number[][],
  normalized: number[][],
  classes: string[],
  title = "Confusion matrix",
): Figure {
  const names = ticks(classes);
  const k = classes.length;
  const size = Math.max(420, Math.min(1100, 70 * k + 220));
  return {
    data: [
      {
        type: "heatmap",
        z: normalized,
        x: names,
        y: names,
        zmin: 0,
        zmax: 1,
        // ColorBrewer Blues from white: plotly's named "Blues" runs dark to light.
        colorscale: [
          [0, "#f7fbff"],
          [0.25, "#c6dbef"],
          [0.5, "#6baed6"],
          [0.75, "#2171b5"],
          [1, "#08306b"],
        ],
        colorbar: { title: { text: "share of true class" }, tickformat: ".0%" },
        // Empty cells stay blank, so the eye finds the mistakes.
        text: counts.map((row, t) =>
          row.map((c, p) => (c === 0 ? "" : `${c}<br>${(normalized[t]![p]! * 100).toFixed(1)}%`)),
        ),
        texttemplate: k <= 12 ? "%{text}" : "",
        customdata: counts.map((row, t) => row.map((_, p) => [classes[t], classes[p], row[p]])),
        hovertemplate:
          "true %{customdata[0]}<br>predicted %{customdata[1]}<br>%{customdata[2]} rows (%{z:.1%} of the true class)<extra></extra>",
      },
    ],
    layout: {
      title: { text: title },
      template: "plotly_white",
      height: size,
      margin: { l: 60, r: 20, t: 50, b: 60 },
      xaxis: {
        title: { text: "predicted class" },
        type: "category",
        automargin: true,
        tickangle: k > 4 ? -30 : 0,
      },
      yaxis: { title: { text: "true class" }, type: "category", automargin: true, autorange: "reversed" },
    },
  };
}

/**
 * F1 per class as horizontal bars, best on top, each labelled with its F1 and support; a dashed line marks
 * the macro F1 (the mean over the classes).
 */
export function perClassF1Figure(
  rows: { label: string; f1: number; precision: number; recall: number; support: number }[],
  macroF1: number,
  title = "F1 per class",
): Figure {
  const names = ticks(rows.map((r) => r.label));
  // Plotly draws the first category at the bottom: ascending F1 puts the best class on top.
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.f1 - rows[b]!.f1);
  const at = (i: number) => rows[i]!;
  return {
    data: [
      {
        type: "bar",
        orientation: "h",
        x: order.map((i) => at(i).f1),
        y: order.map((i) => names[i]!),
        text: order.map((i) => `${at(i).f1.toFixed(3)} (n=${at(i).support})`),
        textposition: "auto",
        customdata: order.map((i) => [at(i).label, at(i).precision, at(i).recall, at(i).support]),
        hovertemplate:
          "%{customdata[0]}<br>F1 %{x:.3f}<br>precision %{customdata[1]:.3f}<br>recall %{customdata[2]:.3f}<br>support %{customdata[3]}<extra></extra>",
        marker: { color: "#3b75af" },
      },
    ],
    layout: {
      title: { text: title },
      template: "plotly_white",
      height: Math.max(360, 34 * rows.length + 140),
      margin: { l: 60, r: 20, t: 50, b: 50 },
      xaxis: { title: { text: "F1" }, range: [0, 1.05] },
      yaxis: { type: "category", automargin: true },
      shapes: Number.isFinite(macroF1)
        ? [
            {
              type: "line",
              x0: macroF1,
              x1: macroF1,
              yref: "paper",
              y0: 0,
              y1: 1,
              line: { dash: "dash", color: "#c0392b" },
            },
          ]
        : [],
      annotations: Number.isFinite(macroF1)
        ? [
            {
              x: macroF1,
              yref: "paper",
              y: 1,
              yanchor: "bottom",
              text: `macro F1 ${macroF1.toFixed(3)}`,
              showarrow: false,
              font: { color: "#c0392b" },
            },
          ]
        : [],
    },
  };
}
