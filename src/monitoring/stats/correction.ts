/**
 * Multiple-testing corrections of the per-column p-values, as statsmodels' multipletests computes them
 * (bonferroni, holm, fdr_bh; scipy.stats.false_discovery_control for BH gives the same values).
 */
import type { PValueCorrection } from "../types.js";

/**
 * Adjusted p-values in the input order. NaN p-values stay NaN and do not count as tests; the others are
 * capped at 1.
 */
export function adjustPValues(p: readonly number[], method: PValueCorrection): number[] {
  const out = p.slice();
  if (method === "none") return out;
  const order: number[] = [];
  for (let i = 0; i < p.length; i++) if (!Number.isNaN(p[i]!)) order.push(i);
  const m = order.length;
  if (m === 0) return out;
  if (method === "bonferroni") {
    for (const i of order) out[i] = Math.min(p[i]! * m, 1);
    return out;
  }
  order.sort((a, b) => p[a]! - p[b]!);
  if (method === "holm") {
    // p_(k) × (m - k), running maximum from the smallest p-value up.
    let running = 0;
    for (let k = 0; k < m; k++) {
      const i = order[k]!;
      running = Math.max(running, p[i]! * (m - k));
      out[i] = Math.min(running, 1);
    }
    return out;
  }
  // Benjamini–Hochberg: p_(k) × m / (k + 1), running minimum from the largest p-value down.
  let running = Number.POSITIVE_INFINITY;
  for (let k = m - 1; k >= 0; k--) {
    const i = order[k]!;
    running = Math.min(running, p[i]! / ((k + 1) / m));
    out[i] = Math.min(running, 1);
  }
  return out;
}
