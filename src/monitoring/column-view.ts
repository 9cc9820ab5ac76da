/**
 * What the drift table and the report show of a column besides its test: each side's summary (moments, top
 * categories) and the plot data (shares per shared bin or per category, reference vs current).
 */
import { distinctInBoth } from "./stats/index.js";
import type { ColumnPlot, ColumnSideSummary, Distribution, WeightedValues } from "./types.js";

/** Categories drawn per column in the report; the rest are summed as "other". */
export const PLOT_CATEGORIES = 20;
/** Categories listed in a side's summary. */
export const TOP_CATEGORIES = 5;

/** Mean and population std of weighted points. */
export function weightedMoments(w: WeightedValues): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < w.values.length; i++) sum += w.values[i]! * w.counts[i]!;
  const mean = sum / w.total;
  let squares = 0;
  for (let i = 0; i < w.values.length; i++) squares += w.counts[i]! * (w.values[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(squares / w.total) };
}

/** The most frequent categories with their shares of the rows. */
export function topCategories(counts: ReadonlyMap<string, number>): { category: string; share: number }[] {
  let total = 0;
  for (const c of counts.values()) total += c;
  return [...counts]
    .filter(([, c]) => c > 0)
    .sort((a, b) => b[1] - a[1] || byText(a[0], b[0]))
    .slice(0, TOP_CATEGORIES)
    .map(([category, c]) => ({ category, share: c / total }));
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Rows a distribution holds. */
export function rowsOf(d: Distribution): number {
  if (d.kind === "numeric") return d.weighted.total;
  let rows = 0;
  for (const c of d.counts.values()) rows += c;
  return rows;
}

/** Shares per shared equal-width bin (numeric) or per category, top categories first (the report's figure). */
export function columnPlot(reference: Distribution, current: Distribution): ColumnPlot {
  if (reference.kind === "numeric" && current.kind === "numeric") {
    const a = reference.weighted;
    const b = current.weighted;
    if (distinctInBoth(reference, current) <= PLOT_CATEGORIES) {
      const keys = [...new Set([...a.values, ...b.values])].sort((x, y) => x - y);
      const share = (w: WeightedValues) => {
        const byValue = new Map<number, number>();
        for (let i = 0; i < w.values.length; i++) byValue.set(w.values[i]!, w.counts[i]! / w.total);
        return keys.map((k) => byValue.get(k) ?? 0);
      };
      return { kind: "bars", categories: keys.map(String), reference: share(a), current: share(b) };
    }
    const lo = Math.min(a.values[0]!, b.values[0]!);
    const hi = Math.max(a.values[a.values.length - 1]!, b.values[b.values.length - 1]!);
    const bins = Math.min(40, Math.max(10, Math.ceil(Math.log2(a.total + b.total) + 1)));
    const width = (hi - lo) / bins;
    const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width));
    const shares = (w: WeightedValues) => {
      const out = new Array<number>(bins).fill(0);
      for (let i = 0; i < w.values.length; i++) {
        const bin = width > 0 ? Math.min(bins - 1, Math.floor((w.values[i]! - lo) / width)) : 0;
        out[bin]! += w.counts[i]! / w.total;
      }
      return out;
    };
    return { kind: "histogram", edges, reference: shares(a), current: shares(b) };
  }
  const ref = reference.kind === "categorical" ? reference.counts : new Map<string, number>();
  const cur = current.kind === "categorical" ? current.counts : new Map<string, number>();
  const refRows = rowsOf(reference);
  const curRows = rowsOf(current);
  const keys = [...new Set([...ref.keys(), ...cur.keys()])];
  const weight = (k: string) =>
    (refRows > 0 ? (ref.get(k) ?? 0) / refRows : 0) + (curRows > 0 ? (cur.get(k) ?? 0) / curRows : 0);
  keys.sort((x, y) => weight(y) - weight(x) || byText(x, y));
  const shown = keys.slice(0, PLOT_CATEGORIES);
  const rest = keys.slice(PLOT_CATEGORIES);
  const share = (counts: ReadonlyMap<string, number>, rows: number) => {
    const out = shown.map((k) => (rows > 0 ? (counts.get(k) ?? 0) / rows : 0));
    if (rest.length > 0) out.push(rest.reduce((s, k) => s + (rows > 0 ? (counts.get(k) ?? 0) / rows : 0), 0));
    return out;
  };
  return {
    kind: "bars",
    categories: rest.length > 0 ? [...shown, `other (${rest.length})`] : shown,
    reference: share(ref, refRows),
    current: share(cur, curRows),
  };
}

/** Moments, min and max of weighted points (nothing when empty). */
export function sideMoments(w: WeightedValues): Pick<ColumnSideSummary, "mean" | "std" | "min" | "max"> {
  if (w.total === 0) return {};
  return { ...weightedMoments(w), min: w.values[0]!, max: w.values[w.values.length - 1]! };
}
