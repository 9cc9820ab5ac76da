import type { Figure } from "../viz/figure.js";
import { barFigure, heatmapFigure, histogramsByClassFigure } from "../viz/figure.js";
import type { ReportSection } from "../viz/html-report.js";
import type { RareClassReport } from "./rare-classes.js";
import type { Table } from "./table.js";
import type { ValidationReport } from "./validate.js";

export interface ColumnProfile {
  name: string;
  kind: "number" | "category" | "text";
  missing: number;
  /** number columns */
  min?: number;
  max?: number;
  mean?: number;
  std?: number;
  p50?: number;
  /** category columns: counts per value */
  counts?: Record<string, number>;
  /** text columns: length in characters (min, median, p95, max, mean) and words (median, mean) of the present texts */
  length?: { min: number; p50: number; p95: number; max: number; mean: number };
  words?: { p50: number; mean: number };
}

export interface QaReport {
  dataset: string;
  rows: number;
  validation: Omit<ValidationReport, "file">;
  classBalance: Record<string, number>;
  columns: ColumnProfile[];
  /** Pearson correlations between numeric columns (and the positive-class indicator, for binary targets). */
  correlation: { names: string[]; matrix: number[][] };
  /** What the train config's data.rareClasses rule did (rows per class before and after), when it is set. */
  rareClasses?: RareClassReport;
}

function stats(
  values: Float64Array,
): Pick<ColumnProfile, "min" | "max" | "mean" | "std" | "p50" | "missing"> {
  const present = [...values].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const n = present.length;
  const mean = present.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const std = Math.sqrt(present.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
  return {
    missing: values.length - n,
    min: present[0] ?? Number.NaN,
    max: present[n - 1] ?? Number.NaN,
    mean,
    std,
    p50: present[Math.floor(n / 2)] ?? Number.NaN,
  };
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]!) || Number.isNaN(b[i]!)) continue;
    n++;
    sa += a[i]!;
    sb += b[i]!;
  }
  const ma = sa / n;
  const mb = sb / n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]!) || Number.isNaN(b[i]!)) continue;
    cov += (a[i]! - ma) * (b[i]! - mb);
    va += (a[i]! - ma) ** 2;
    vb += (b[i]! - mb) ** 2;
  }
  return va === 0 || vb === 0 ? 0 : cov / Math.sqrt(va * vb);
}

/** Profiles a validated table: missingness, distributions, class balance, correlations. */
export function profileTable(
  dataset: string,
  table: Table,
  validation: ValidationReport,
  classes: readonly string[],
): QaReport {
  const { file: _file, ...rest } = validation;
  const classBalance = Object.fromEntries(classes.map((c) => [c, 0]));
  for (const label of table.target) classBalance[label] = (classBalance[label] ?? 0) + 1;
  const columns: ColumnProfile[] = [
    ...Object.entries(table.numeric).map(([name, values]) => ({
      name,
      kind: "number" as const,
      ...stats(values),
    })),
    ...Object.entries(table.categorical).map(([name, values]) => {
      const counts: Record<string, number> = {};
      let missing = 0;
      for (const v of values) {
        if (v === "") missing++;
        else counts[v] = (counts[v] ?? 0) + 1;
      }
      return { name, kind: "category" as const, missing, counts };
    }),
    ...Object.entries(table.text).map(([name, values]) => {
      const present = values.filter((v) => v !== "");
      const lengths = present.map((v) => v.length).sort((a, b) => a - b);
      const words = present.map((v) => v.split(/\s+/).filter((w) => w !== "").length).sort((a, b) => a - b);
      const at = (sorted: number[], q: number) =>
        sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      return {
        name,
        kind: "text" as const,
        missing: values.length - present.length,
        length: {
          min: lengths[0] ?? 0,
          p50: at(lengths, 0.5),
          p95: at(lengths, 0.95),
          max: lengths[lengths.length - 1] ?? 0,
          mean: Number(mean(lengths).toFixed(1)),
        },
        words: { p50: at(words, 0.5), mean: Number(mean(words).toFixed(1)) },
      };
    }),
  ];
  const names = Object.keys(table.numeric);
  const series = names.map((n) => table.numeric[n]!);
  if (classes.length === 2) {
    names.push(`target=${classes[1]}`);
    series.push(Float64Array.from(table.target, (t) => (t === classes[1] ? 1 : 0)));
  }
  const matrix = series.map((a) => series.map((b) => Number(pearson(a, b).toFixed(4))));
  return {
    dataset,
    rows: table.rowCount,
    validation: rest,
    classBalance,
    columns,
    correlation: { names, matrix },
  };
}

/** The QA report's sections: the same figures a notebook shows. */
export function qaSections(report: QaReport, table: Table, maxDistributions = 8): ReportSection[] {
  const figures: { heading: string; figure: Figure; text?: string }[] = [];
  figures.push({
    heading: "Class balance",
    figure: barFigure(
      "Rows per class",
      Object.keys(report.classBalance),
      Object.values(report.classBalance),
      "rows",
    ),
  });
  figures.push({
    heading: "Missing values",
    figure: barFigure(
      "Missing values per column",
      report.columns.map((c) => c.name),
      report.columns.map((c) => c.missing),
      "rows",
    ),
  });
  const numeric = Object.keys(table.numeric).slice(0, maxDistributions);
  for (const column of numeric) {
    const byClass: Record<string, number[]> = {};
    const values = table.numeric[column]!;
    table.target.forEach((label, i) => {
      const list = byClass[label] ?? [];
      list.push(values[i]!);
      byClass[label] = list;
    });
    figures.push({ heading: `Distribution of ${column}`, figure: histogramsByClassFigure(column, byClass) });
  }
  figures.push({
    heading: "Correlations",
    figure: heatmapFigure("Pearson correlation", report.correlation.names, report.correlation.matrix),
  });
  const v = report.validation;
  return [
    {
      heading: "Summary",
      text: `${report.dataset}: ${v.rowsRead} rows read, ${v.rowsAccepted} accepted, ${v.rowsQuarantined} quarantined (${(v.badFraction * 100).toFixed(2)}%).`,
      table: {
        columns: ["column", "kind", "missing", "min", "median", "max", "categories"],
        rows: report.columns.map((c) => [
          c.name,
          c.kind,
          c.missing,
          c.min ?? "",
          c.p50 ?? "",
          c.max ?? "",
          c.counts ? Object.keys(c.counts).length : "",
        ]),
      },
    },
    ...figures,
  ];
}
