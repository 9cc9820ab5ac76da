/**
 * The monitor's verdict: dataset drift (Evidently's rule: at least `driftShare` of the columns drifted) and
 * degradation (the model's metric on labelled rows dropped past the limit), with the reasons in words for the
 * terminal, the run's description and the JSON summary.
 */
import type { CurrentReadResult } from "./read-current.js";
import type { ConceptDrift, MonitorReport, ShadowComparison } from "./types.js";

/** The verdict in one word: ok, drift, degraded, or drift+degraded. */
export function verdictWord(verdict: MonitorReport["verdict"]): string {
  if (verdict.drift && verdict.degraded) return "drift+degraded";
  if (verdict.degraded) return "degraded";
  return verdict.drift ? "drift" : "ok";
}

/** The verdict the exit code carries, with its reasons in words. */
export function verdictOf(
  drift: MonitorReport["drift"],
  concept: ConceptDrift | undefined,
  shadow: ShadowComparison | undefined,
  read: CurrentReadResult,
): MonitorReport["verdict"] {
  const reasons: string[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const checked = drift.columns.length;
  reasons.push(
    `${drift.datasetDrift ? "dataset drift" : "no dataset drift"}: ${drift.drifted} of ${checked} columns drifted (${pct(drift.share)}; dataset drift at ${pct(drift.driftShare)})`,
  );
  const predictions = drift.predictions;
  if (predictions !== undefined)
    for (const [what, d] of [
      ["predicted labels", predictions.labels],
      ["prediction scores", predictions.score],
    ] as const)
      if (d.drift)
        reasons.push(`${what} drifted (${d.test} ${d.score.toPrecision(3)}, threshold ${d.threshold})`);
  if (concept !== undefined) {
    if (!Number.isFinite(concept.current))
      reasons.push(
        `${concept.metric} is undefined on the ${concept.labelled} labelled rows (one class only?): no degradation check`,
      );
    else
      reasons.push(
        `${concept.degraded ? "degraded" : "not degraded"}: ${concept.metric} ${concept.current.toFixed(4)} on ${concept.labelled} labelled rows vs ${concept.reference.toFixed(4)} on the test split (drop ${concept.drop.toFixed(4)}, limit ${concept.maxDrop})`,
      );
  }
  if (shadow !== undefined)
    reasons.push(
      `shadow: ${shadow.challenger.name} v${shadow.challenger.version} agrees with ${shadow.champion.name} v${shadow.champion.version} on ${pct(shadow.agreement)} of ${shadow.rows} rows`,
    );
  if (read.bad > 0) reasons.push(`${read.bad} bad ${read.format === "csv" ? "rows" : "lines"} left out`);
  return { drift: drift.datasetDrift, degraded: concept?.degraded ?? false, reasons };
}
