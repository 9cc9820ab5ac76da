/** A plotly figure as plain JSON: the same object renders in a notebook and in an HTML report. */
export interface Figure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
}

const base = (title: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  title: { text: title },
  margin: { l: 60, r: 20, t: 50, b: 50 },
  template: "plotly_white",
  ...extra,
});

export function rocFigure(curves: { name: string; fpr: number[]; tpr: number[]; auc: number }[]): Figure {
  return {
    data: [
      ...curves.map((c) => ({
        type: "scatter",
        mode: "lines",
        name: `${c.name} (AUC ${c.auc.toFixed(3)})`,
        x: c.fpr,
        y: c.tpr,
      })),
      {
        type: "scatter",
        mode: "lines",
        name: "chance",
        x: [0, 1],
        y: [0, 1],
        line: { dash: "dash", color: "#999" },
      },
    ],
    layout: base("ROC curve", {
      xaxis: { title: { text: "false positive rate" } },
      yaxis: { title: { text: "true positive rate" } },
    }),
  };
}

export function prFigure(
  curves: { name: string; recall: number[]; precision: number[]; ap: number }[],
  baseline: number,
): Figure {
  return {
    data: [
      ...curves.map((c) => ({
        type: "scatter",
        mode: "lines",
        name: `${c.name} (AP ${c.ap.toFixed(3)})`,
        x: c.recall,
        y: c.precision,
      })),
      {
        type: "scatter",
        mode: "lines",
        name: "base rate",
        x: [0, 1],
        y: [baseline, baseline],
        line: { dash: "dash", color: "#999" },
      },
    ],
    layout: base("Precision–recall curve", {
      xaxis: { title: { text: "recall" } },
      yaxis: { title: { text: "precision" } },
    }),
  };
}

export function confusionFigure(
  confusion: number[][],
  classes: string[],
  title = "Confusion matrix",
): Figure {
  return {
    data: [
      {
        type: "heatmap",
        z: confusion,
        x: classes.map((c) => `pred ${c}`),
        y: classes.map((c) => `true ${c}`),
        colorscale: "Blues",
        text: confusion.map((row) => row.map(String)),
        texttemplate: "%{text}",
        hovertemplate: "%{y} / %{x}: %{z}<extra></extra>",
      },
    ],
    layout: base(title, { yaxis: { autorange: "reversed" } }),
  };
}

export function calibrationFigure(curve: {
  predicted: number[];
  observed: number[];
  counts: number[];
}): Figure {
  return {
    data: [
      {
        type: "scatter",
        mode: "lines+markers",
        name: "model",
        x: curve.predicted,
        y: curve.observed,
        text: curve.counts.map((c) => `${c} rows`),
      },
      {
        type: "scatter",
        mode: "lines",
        name: "perfectly calibrated",
        x: [0, 1],
        y: [0, 1],
        line: { dash: "dash", color: "#999" },
      },
    ],
    layout: base("Calibration", {
      xaxis: { title: { text: "mean predicted probability" } },
      yaxis: { title: { text: "observed frequency" } },
    }),
  };
}

/** Loss and the validation metric per iteration (epochs, boosting rounds or trees: `unit`). */
export function trainingCurvesFigure(
  history: { iteration: number; loss: number; valLoss: number; valMetric: number }[],
  metric: string,
  unit = "epoch",
): Figure {
  const epochs = history.map((h) => h.iteration);
  return {
    data: [
      { type: "scatter", mode: "lines", name: "train loss", x: epochs, y: history.map((h) => h.loss) },
      {
        type: "scatter",
        mode: "lines",
        name: "validation loss",
        x: epochs,
        y: history.map((h) => h.valLoss),
      },
      {
        type: "scatter",
        mode: "lines",
        name: `validation ${metric}`,
        x: epochs,
        y: history.map((h) => h.valMetric),
        yaxis: "y2",
      },
    ],
    layout: base("Training curves", {
      xaxis: { title: { text: unit } },
      yaxis: { title: { text: "loss" } },
      yaxis2: { title: { text: metric }, overlaying: "y", side: "right" },
    }),
  };
}

/** The `top` features by total split gain, as horizontal bars (largest on top). */
export function importanceFigure(importance: { feature: string; gain: number }[], top = 30): Figure {
  const total = importance.reduce((a, f) => a + f.gain, 0);
  const rows = [...importance]
    .sort((a, b) => b.gain - a.gain)
    .slice(0, top)
    .reverse();
  return {
    data: [
      {
        type: "bar",
        orientation: "h",
        x: rows.map((r) => (total > 0 ? r.gain / total : 0)),
        y: rows.map((r) => r.feature),
      },
    ],
    layout: base(`Feature importance (share of total gain, top ${rows.length})`, {
      xaxis: { title: { text: "share of gain" }, tickformat: ".0%" },
      yaxis: { type: "category", automargin: true },
      height: Math.max(320, 22 * rows.length + 120),
    }),
  };
}

export function barFigure(title: string, labels: string[], values: number[], axisTitle = ""): Figure {
  return {
    data: [{ type: "bar", x: labels, y: values }],
    layout: base(title, { xaxis: { type: "category" }, yaxis: { title: { text: axisTitle } } }),
  };
}

export function histogramsByClassFigure(column: string, byClass: Record<string, number[]>): Figure {
  return {
    data: Object.entries(byClass).map(([label, values]) => ({
      type: "histogram",
      name: `class ${label}`,
      x: values,
      opacity: 0.6,
      histnorm: "probability",
    })),
    layout: base(`${column} by class`, {
      barmode: "overlay",
      xaxis: { title: { text: column } },
      yaxis: { title: { text: "share of class" } },
    }),
  };
}

export function heatmapFigure(title: string, names: string[], matrix: number[][]): Figure {
  return {
    data: [
      {
        type: "heatmap",
        z: matrix,
        x: names,
        y: names,
        zmin: -1,
        zmax: 1,
        colorscale: "RdBu",
        reversescale: true,
      },
    ],
    layout: base(title, { height: 700, yaxis: { autorange: "reversed" } }),
  };
}
