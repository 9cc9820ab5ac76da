import type { ColumnDrift, MonitorReport } from "../../../src/monitoring/types.js";

/** Hand-built monitor results: what drift.ts, the monitor command and the shadow comparison hand the report. */

export function numericColumn(name: string, over: Partial<ColumnDrift> = {}): ColumnDrift {
  return {
    column: name,
    type: "numeric",
    test: "wasserstein",
    statistic: 0.02,
    score: 0.02,
    threshold: 0.1,
    drift: false,
    exact: true,
    psi: { value: 0.01, band: "none" },
    reference: { rows: 1000, missing: 0, mean: 10, std: 2, min: 1, max: 20 },
    current: { rows: 500, missing: 5, mean: 10.1, std: 2.1, min: 2, max: 19 },
    invalid: 0,
    outOfRange: 0,
    unseen: 0,
    plot: {
      kind: "histogram",
      edges: [0, 5, 10, 15, 20],
      reference: [0.1, 0.4, 0.4, 0.1],
      current: [0.1, 0.35, 0.45, 0.1],
    },
    ...over,
  };
}

export function categoricalColumn(name: string, over: Partial<ColumnDrift> = {}): ColumnDrift {
  return {
    column: name,
    type: "categorical",
    test: "chi2",
    statistic: 30.5,
    pValue: 1e-7,
    adjustedPValue: 1e-7,
    score: 1e-7,
    threshold: 0.05,
    drift: true,
    exact: true,
    psi: { value: 0.3, band: "significant" },
    reference: {
      rows: 1000,
      missing: 0,
      top: [
        { category: "a", share: 0.6 },
        { category: "b", share: 0.4 },
      ],
    },
    current: {
      rows: 500,
      missing: 0,
      top: [
        { category: "b", share: 0.7 },
        { category: "a", share: 0.2 },
      ],
    },
    invalid: 0,
    outOfRange: 0,
    unseen: 50,
    plot: { kind: "bars", categories: ["a", "b", "c"], reference: [0.6, 0.4, 0], current: [0.2, 0.7, 0.1] },
    ...over,
  };
}

export function textColumn(name: string): ColumnDrift {
  return {
    column: name,
    type: "text",
    test: "psi",
    statistic: 0.81,
    score: 0.81,
    threshold: 0.55,
    drift: true,
    exact: false,
    reference: { rows: 800, missing: 3 },
    current: { rows: 400, missing: 1 },
    invalid: 0,
    outOfRange: 0,
    unseen: 0,
    plot: {
      kind: "histogram",
      edges: [0, 50, 100, 200],
      reference: [0.5, 0.3, 0.2],
      current: [0.2, 0.3, 0.5],
    },
    text: {
      auc: 0.81,
      threshold: 0.55,
      drift: true,
      sampleSizes: { reference: 800, current: 400 },
      typicalWords: { current: ["refund", "crypto"], reference: ["mortgage", "escrow"] },
      oov: { reference: 0.04, current: 0.12 },
      meanLength: { reference: 61.5, current: 120.25 },
    },
  };
}

/** A report with one drifted categorical, one drifted numeric and one stable numeric column. */
export function baseReport(columns: ColumnDrift[] = defaultColumns()): MonitorReport {
  const drifted = columns.filter((c) => c.drift).length;
  return {
    createdAt: "2026-12-01T06:00:00.000Z",
    model: { uri: "models:/credit-default@champion", name: "credit-default", version: "3", runId: "r1" },
    input: { path: "/tmp/current.csv", format: "csv", rowsRead: 500, rowsUsed: 500, seconds: 0.25 },
    drift: {
      reference: { rows: 1000, split: "train" },
      current: { rows: 500 },
      columns,
      drifted,
      share: columns.length > 0 ? drifted / columns.length : 0,
      datasetDrift: columns.length > 0 && drifted / columns.length >= 0.5,
      driftShare: 0.5,
      correction: "none",
    },
    verdict: { drift: drifted / Math.max(1, columns.length) >= 0.5, degraded: false, reasons: [] },
  };
}

export function defaultColumns(): ColumnDrift[] {
  return [
    numericColumn("LIMIT_BAL"),
    numericColumn("PAY_0", {
      score: 0.52,
      statistic: 0.52,
      drift: true,
      psi: { value: 0.9, band: "significant" },
      outOfRange: 12,
      current: { rows: 500, missing: 0, mean: 2.5, std: 0.5, min: 2, max: 8 },
      plot: {
        kind: "histogram",
        edges: [-2, 0, 2, 4, 8],
        reference: [0.5, 0.4, 0.1, 0],
        current: [0, 0, 0.8, 0.2],
      },
    }),
    categoricalColumn("EDUCATION"),
  ];
}
