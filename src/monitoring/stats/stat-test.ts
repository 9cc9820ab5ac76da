/**
 * Which drift test a column gets and running it: Evidently 0.7.23's get_default_stattest rule, its default
 * thresholds and its drift comparisons (KS: p <= threshold; chi-square, Z: p < threshold; distances and PSI:
 * value >= threshold).
 */
import { WorkbenchError } from "../../shared/errors.js";
import type { CategoryCounts, Distribution, StatTestName, TestResult, WeightedValues } from "../types.js";
import { binnedShares, jensenShannon, psi } from "./binning.js";
import { chiSquareTest, zTest } from "./categorical.js";
import { ksTest } from "./ks.js";
import { wasserstein, weightedStd } from "./weighted.js";

/** Evidently switches from tests to distances above this many (non-missing) reference rows. */
export const SMALL_REFERENCE_ROWS = 1000;

/** Evidently's default thresholds: p-value level for tests, distance level for distances and PSI. */
export const DEFAULT_THRESHOLDS: Readonly<Record<StatTestName, number>> = {
  ks: 0.05,
  chi2: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1,
};

/** Tests whose score is a p-value (the others are distances). */
export const P_VALUE_TESTS: ReadonlySet<StatTestName> = new Set<StatTestName>(["ks", "chi2", "z"]);

/** Wasserstein is normed by the reference std, floored here (Evidently's max(np.std(reference), 0.001)). */
export const WASSERSTEIN_MIN_NORM = 0.001;

/**
 * Evidently's get_default_stattest. `referenceRows` = non-missing reference rows; `distinctInBoth` = distinct
 * non-missing values over reference and current together.
 * ≤ 1000 rows: numeric with > 5 distinct → ks; numeric with 3–5 or categorical with > 2 → chi2; ≤ 2 → z.
 * > 1000 rows: numeric with > 5 distinct → wasserstein; otherwise jensenshannon.
 */
export function defaultStatTest(
  referenceRows: number,
  type: "numeric" | "categorical",
  distinctInBoth: number,
): StatTestName {
  if (referenceRows <= SMALL_REFERENCE_ROWS) {
    if (type === "numeric" && distinctInBoth > 5) return "ks";
    return distinctInBoth > 2 ? "chi2" : "z";
  }
  if (type === "numeric" && distinctInBoth > 5) return "wasserstein";
  return "jensenshannon";
}

/** Distinct non-missing values over both sides (the `distinctInBoth` of defaultStatTest). */
export function distinctInBoth(reference: Distribution, current: Distribution): number {
  if (reference.kind === "numeric" && current.kind === "numeric") {
    const a = reference.weighted.values;
    const b = current.weighted.values;
    let i = 0;
    let j = 0;
    let n = 0;
    while (i < a.length || j < b.length) {
      const x = i < a.length ? (j < b.length ? Math.min(a[i]!, b[j]!) : a[i]!) : b[j]!;
      if (i < a.length && a[i] === x) i++;
      if (j < b.length && b[j] === x) j++;
      n++;
    }
    return n;
  }
  const keys = new Set<string>();
  for (const d of [reference, current]) {
    if (d.kind === "categorical") {
      for (const [key, count] of d.counts) if (count > 0) keys.add(key);
    } else {
      for (const v of d.weighted.values) keys.add(String(v));
    }
  }
  return keys.size;
}

/** Non-missing rows a distribution holds. */
export function distributionRows(d: Distribution): number {
  if (d.kind === "numeric") return d.weighted.total;
  let rows = 0;
  for (const count of d.counts.values()) if (count > 0) rows += count;
  return rows;
}

const NUMERIC_ONLY: ReadonlySet<StatTestName> = new Set<StatTestName>(["ks", "wasserstein"]);

function checkInputs(
  test: StatTestName,
  reference: Distribution,
  current: Distribution,
  threshold: number,
): void {
  if (!(test in DEFAULT_THRESHOLDS)) {
    throw new WorkbenchError(
      "MONITOR_TEST_UNSUPPORTED",
      `Unknown drift test "${String(test)}": use one of ${Object.keys(DEFAULT_THRESHOLDS).join(", ")}.`,
      { details: { test } },
    );
  }
  if (reference.kind !== current.kind) {
    throw new WorkbenchError(
      "MONITOR_TEST_UNSUPPORTED",
      `Drift test ${test}: the reference is ${reference.kind} but the current data is ${current.kind}; ` +
        "both sides of a column must have the same type.",
      { details: { test, reference: reference.kind, current: current.kind } },
    );
  }
  if (NUMERIC_ONLY.has(test) && reference.kind === "categorical") {
    throw new WorkbenchError(
      "MONITOR_TEST_UNSUPPORTED",
      `Drift test ${test} needs a numeric column but got a categorical one: use chi2, z, jensenshannon or psi.`,
      { details: { test, kind: reference.kind } },
    );
  }
  if (!Number.isFinite(threshold) || threshold < 0) {
    throw new WorkbenchError(
      "MONITOR_THRESHOLD_INVALID",
      `Drift test ${test}: the threshold must be a finite number >= 0, got ${threshold}.`,
      { details: { test, threshold } },
    );
  }
  for (const [side, d] of [
    ["reference", reference],
    ["current", current],
  ] as const) {
    if (!(distributionRows(d) > 0)) {
      throw new WorkbenchError(
        "MONITOR_EMPTY_COLUMN",
        `Drift test ${test}: the ${side} data has no non-missing values for this column, so there is nothing ` +
          "to compare; check the column's missing values or leave the column out.",
        { details: { test, side } },
      );
    }
  }
}

function countsOf(d: Distribution): CategoryCounts | WeightedValues {
  return d.kind === "categorical" ? d.counts : d.weighted;
}

function numericPair(reference: Distribution, current: Distribution): [WeightedValues, WeightedValues] {
  if (reference.kind !== "numeric" || current.kind !== "numeric") {
    throw new WorkbenchError(
      "MONITOR_TEST_UNSUPPORTED",
      "This drift test needs numeric columns on both sides.",
    );
  }
  return [reference.weighted, current.weighted];
}

/**
 * Runs one drift test as Evidently would on the same column: the score (p-value or distance), the statistic
 * and the drift flag at `threshold` (Evidently's default for the test when omitted).
 */
export function runStatTest(
  test: StatTestName,
  reference: Distribution,
  current: Distribution,
  threshold: number = DEFAULT_THRESHOLDS[test],
): TestResult {
  checkInputs(test, reference, current, threshold);
  switch (test) {
    case "ks": {
      const { statistic, pValue } = ksTest(...numericPair(reference, current));
      return { test, statistic, pValue, score: pValue, threshold, drift: pValue <= threshold };
    }
    case "chi2":
    case "z": {
      const ref = countsOf(reference);
      const cur = countsOf(current);
      const { statistic, pValue } = test === "chi2" ? chiSquareTest(ref, cur) : zTest(ref, cur);
      return { test, statistic, pValue, score: pValue, threshold, drift: pValue < threshold };
    }
    case "wasserstein": {
      const [ref, cur] = numericPair(reference, current);
      const norm = Math.max(weightedStd(ref), WASSERSTEIN_MIN_NORM);
      const distance = wasserstein(ref, cur) / norm;
      return { test, statistic: distance, score: distance, threshold, drift: distance >= threshold };
    }
    case "jensenshannon": {
      const shares = binnedShares(reference, current, false);
      const distance = jensenShannon(shares.reference, shares.current);
      return { test, statistic: distance, score: distance, threshold, drift: distance >= threshold };
    }
    case "psi": {
      const shares = binnedShares(reference, current, true);
      const value = psi(shares.reference, shares.current);
      return { test, statistic: value, score: value, threshold, drift: value >= threshold };
    }
  }
}
