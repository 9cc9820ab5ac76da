/**
 * Data and prediction drift of current data (a CurrentAccumulator) against a reference profile, column by
 * column as Evidently's DataDriftPreset decides it: the default test by reference size and column type unless
 * overridden, the test's threshold, an optional multiple-testing correction of the p-values, PSI in bands beside
 * it, text columns by a domain classifier, and dataset drift when the drifted share reaches driftShare.
 */
import { ConfigError, WorkbenchError } from "../shared/errors.js";
import { columnPlot, rowsOf, sideMoments, topCategories, weightedMoments } from "./column-view.js";
import type { CurrentAccumulator } from "./current.js";
import {
  type DriftOptions,
  type DriftOptionsInput,
  NUMERIC_ONLY_TESTS,
  resolveDriftOptions,
} from "./options.js";
import type { SketchSummary } from "./sketch.js";
import { adjustPValues, defaultStatTest, distinctInBoth, runStatTest } from "./stats/index.js";
import { deserializeWeighted, textDrift, textLengths } from "./text.js";
import type {
  CategoricalColumnProfile,
  ColumnDrift,
  ColumnProfile,
  ColumnSideSummary,
  Distribution,
  DriftSummary,
  NumericColumnProfile,
  ReferenceProfile,
  StatTestName,
  TestResult,
  TextColumnProfile,
  WeightedValues,
} from "./types.js";

/** The drift table's name of the predicted labels. */
export const PREDICTION_COLUMN = "prediction";

/** A side of a column as a test sees it, with what its summary shows. */
interface Side {
  distribution: Distribution;
  summary: ColumnSideSummary;
}

// Deserialised reference distributions, once per profile object (the service checks the same profile often).
const referenceCache = new WeakMap<ReferenceProfile, Map<string, Distribution>>();

function referenceDistribution(
  profile: ReferenceProfile,
  column: NumericColumnProfile | CategoricalColumnProfile,
): Distribution {
  let cache = referenceCache.get(profile);
  if (cache === undefined) {
    cache = new Map();
    referenceCache.set(profile, cache);
  }
  let d = cache.get(column.name);
  if (d === undefined) {
    d =
      column.type === "numeric"
        ? numericDistribution(deserializeWeighted(column.distribution), column.exact, column.missing === 0)
        : { kind: "categorical", counts: new Map(Object.entries(column.counts)) };
    cache.set(column.name, d);
  }
  return d;
}

function numericDistribution(weighted: WeightedValues, exact: boolean, complete: boolean): Distribution {
  let integer = exact && complete && weighted.total > 0;
  for (let i = 0; integer && i < weighted.values.length; i++) integer = Number.isInteger(weighted.values[i]!);
  return { kind: "numeric", weighted, exact, integer };
}

function numericSummary(
  rows: number,
  missing: number,
  s: { mean: number; std: number; min: number; max: number },
): ColumnSideSummary {
  return { rows, missing, mean: s.mean, std: s.std, min: s.min, max: s.max };
}

/** The test a column gets: its override, the global one, or Evidently's default rule. */
function chooseTest(
  name: string,
  type: "numeric" | "categorical",
  reference: Distribution,
  current: Distribution,
  options: DriftOptions,
): { test: StatTestName; threshold: number | undefined } {
  const override = options.perColumn[name];
  const test =
    override?.stattest ??
    options.stattest ??
    defaultStatTest(rowsOf(reference), type, distinctInBoth(reference, current));
  if (type === "categorical" && NUMERIC_ONLY_TESTS.includes(test)) {
    const field = override?.stattest !== undefined ? `perColumn.${name}.stattest` : "stattest";
    throw new ConfigError(
      `Drift options: ${field} is ${test}, which needs numbers, but column "${name}" is categorical; use chi2, z, jensenshannon or psi for it (perColumn.${name}.stattest).`,
      { details: { field, column: name, test } },
    );
  }
  return { test, threshold: override?.threshold ?? options.threshold };
}

function psiOf(reference: Distribution, current: Distribution, options: DriftOptions): ColumnDrift["psi"] {
  if (!options.psi.enabled) return undefined;
  const value = runStatTest("psi", reference, current).statistic;
  const band =
    value >= options.psi.significant ? "significant" : value >= options.psi.moderate ? "moderate" : "none";
  return { value, band };
}

function skippedResult(test: StatTestName, threshold: number | undefined): TestResult {
  return { test, statistic: Number.NaN, score: Number.NaN, threshold: threshold ?? Number.NaN, drift: false };
}

/** One tabular column (or the predictions' label / score) compared. */
function compareColumn(
  column: string,
  type: "numeric" | "categorical",
  reference: Side,
  current: Side,
  counts: { invalid: number; outOfRange: number; unseen: number },
  options: DriftOptions,
): ColumnDrift {
  const exact =
    (reference.distribution.kind === "categorical" || reference.distribution.exact) &&
    (current.distribution.kind === "categorical" || current.distribution.exact);
  const base = { column, type, exact, reference: reference.summary, current: current.summary, ...counts };
  const empty =
    rowsOf(reference.distribution) === 0
      ? "reference"
      : rowsOf(current.distribution) === 0
        ? "current"
        : undefined;
  if (empty !== undefined) {
    const override = options.perColumn[column];
    return {
      ...skippedResult(
        override?.stattest ?? options.stattest ?? (type === "numeric" ? "wasserstein" : "jensenshannon"),
        override?.threshold ?? options.threshold,
      ),
      ...base,
      plot: columnPlot(reference.distribution, current.distribution),
      skipped: `no non-missing ${empty} values`,
    };
  }
  const { test, threshold } = chooseTest(column, type, reference.distribution, current.distribution, options);
  const result = runStatTest(test, reference.distribution, current.distribution, threshold);
  const psi = psiOf(reference.distribution, current.distribution, options);
  return {
    ...result,
    ...base,
    ...(result.pValue === undefined ? {} : { adjustedPValue: result.pValue }),
    ...(psi === undefined ? {} : { psi }),
    plot: columnPlot(reference.distribution, current.distribution),
  };
}

function currentNumeric(s: SketchSummary, complete: boolean): Distribution {
  return numericDistribution(s.weighted, s.exact, complete);
}

function compareText(
  profile: TextColumnProfile,
  current: CurrentAccumulator,
  index: number,
  options: DriftOptions,
): ColumnDrift {
  const accumulator = current.textAccumulator(index);
  const counts = current.column(index);
  const lengths = textLengths(profile, accumulator);
  const reference: Side = {
    distribution: { kind: "numeric", weighted: lengths.reference, exact: true },
    summary: { rows: profile.rows, missing: profile.missing, ...sideMoments(lengths.reference) },
  };
  const cur: Side = {
    distribution: { kind: "numeric", weighted: lengths.current, exact: true },
    summary: { rows: accumulator.rows, missing: accumulator.missing, ...sideMoments(lengths.current) },
  };
  const plain = { invalid: counts.invalid, outOfRange: 0, unseen: 0 };
  try {
    const { drift } = textDrift(profile, accumulator, { aucThreshold: options.text.aucThreshold });
    return {
      // A text column's verdict is the domain classifier's; `test` names the lengths' test of the figure.
      test: defaultStatTest(
        lengths.reference.total,
        "numeric",
        distinctInBoth(reference.distribution, cur.distribution),
      ),
      statistic: drift.auc,
      score: drift.auc,
      threshold: drift.threshold,
      drift: drift.drift,
      column: profile.name,
      type: "text",
      exact: true,
      reference: reference.summary,
      current: cur.summary,
      ...plain,
      plot: columnPlot(reference.distribution, cur.distribution),
      text: drift,
    };
  } catch (error) {
    if (!(error instanceof WorkbenchError) || !error.code.startsWith("TEXT_DRIFT_")) throw error;
    // No classifier (no reference sample, or too few texts): the lengths decide, as for a numeric column.
    const checked = compareColumn(profile.name, "numeric", reference, cur, plain, options);
    return { ...checked, type: "text", note: `${error.message} Compared text lengths instead.` };
  }
}

function checkNames(profile: ReferenceProfile, options: DriftOptions): void {
  const known = new Set(profile.columns.map((c) => c.name));
  if (profile.predictions !== undefined) {
    known.add(PREDICTION_COLUMN);
    known.add(profile.predictions.score.name);
  }
  const unknown = (names: readonly string[]) => names.filter((n) => !known.has(n));
  const listed = [...known].join(", ");
  const badColumns = unknown(options.columns ?? []);
  if (badColumns.length > 0)
    throw new ConfigError(
      `Drift options: columns names ${badColumns.map((n) => `"${n}"`).join(", ")}, which the reference profile does not have (it has ${listed}).`,
      { details: { field: "columns", unknown: badColumns } },
    );
  const badOverrides = unknown(Object.keys(options.perColumn));
  if (badOverrides.length > 0)
    throw new ConfigError(
      `Drift options: perColumn.${badOverrides[0]} names a column the reference profile does not have (it has ${listed}).`,
      { details: { field: `perColumn.${badOverrides[0]}`, unknown: badOverrides } },
    );
}

/**
 * Drift of `current` against `profile`. Throws ConfigError (CONFIG_INVALID) for bad options, naming the field,
 * and MONITOR_PROFILE_MISMATCH when the accumulator was built for another profile's columns.
 */
export function detectDrift(
  profile: ReferenceProfile,
  current: CurrentAccumulator,
  input: DriftOptionsInput = {},
): DriftSummary {
  const options = resolveDriftOptions(input);
  checkNames(profile, options);
  const mismatch = profile.columns.findIndex(
    (c, i) => current.columns[i]?.name !== c.name || current.columns[i]?.type !== c.type,
  );
  if (mismatch >= 0 || current.columns.length !== profile.columns.length)
    throw new WorkbenchError(
      "MONITOR_PROFILE_MISMATCH",
      "The current data was accumulated for other columns than the reference profile's; build the accumulator with new CurrentAccumulator(profile).",
      {
        details: { profile: profile.columns.map((c) => c.name), current: current.columns.map((c) => c.name) },
      },
    );
  const wanted = options.columns === undefined ? undefined : new Set(options.columns);
  const columns: ColumnDrift[] = [];
  profile.columns.forEach((column: ColumnProfile, i) => {
    if (wanted !== undefined && !wanted.has(column.name)) return;
    if (column.type === "text") {
      columns.push(compareText(column, current, i, options));
      return;
    }
    const counts = current.column(i);
    const rows = current.rows;
    const missing = Math.max(0, rows - counts.present - counts.invalid);
    const reference = referenceDistribution(profile, column);
    if (column.type === "numeric") {
      const s = current.numericSummary(i);
      columns.push(
        compareColumn(
          column.name,
          "numeric",
          { distribution: reference, summary: numericSummary(column.rows, column.missing, column) },
          {
            distribution: currentNumeric(s, missing === 0 && counts.invalid === 0),
            summary: numericSummary(rows, missing, s),
          },
          { invalid: counts.invalid, outOfRange: counts.outOfRange, unseen: 0 },
          options,
        ),
      );
    } else {
      const cur = current.categoryCounts(i);
      columns.push(
        compareColumn(
          column.name,
          "categorical",
          {
            distribution: reference,
            summary: {
              rows: column.rows,
              missing: column.missing,
              top: topCategories(reference.kind === "categorical" ? reference.counts : new Map()),
            },
          },
          {
            distribution: { kind: "categorical", counts: cur },
            summary: { rows, missing, top: topCategories(cur) },
          },
          { invalid: counts.invalid, outOfRange: 0, unseen: counts.unseen },
          options,
        ),
      );
    }
  });
  correct(columns, options);
  const checked = columns.filter((c) => c.skipped === undefined);
  const drifted = checked.filter((c) => c.drift).length;
  const share = checked.length === 0 ? 0 : drifted / checked.length;
  const predictions = options.predictions ? predictionDrift(profile, current, options) : undefined;
  return {
    reference: { rows: profile.source.rows, split: profile.source.split },
    current: { rows: current.rows },
    columns,
    drifted,
    share,
    datasetDrift: checked.length > 0 && share >= options.driftShare,
    driftShare: options.driftShare,
    correction: options.correction,
    ...(predictions === undefined ? {} : { predictions }),
  };
}

/** The correction over the columns' p-values (tests only); their verdicts then read the adjusted p-value. */
function correct(columns: ColumnDrift[], options: DriftOptions): void {
  const tested = columns.filter((c) => c.skipped === undefined && c.pValue !== undefined);
  if (tested.length === 0) return;
  const adjusted = adjustPValues(
    tested.map((c) => c.pValue!),
    options.correction,
  );
  tested.forEach((c, k) => {
    const p = adjusted[k]!;
    c.adjustedPValue = p;
    c.score = p;
    // KS drifts at p <= threshold (scipy's rule in Evidently), chi-square and z at p < threshold.
    c.drift = c.test === "ks" ? p <= c.threshold : p < c.threshold;
  });
}

function predictionDrift(
  profile: ReferenceProfile,
  current: CurrentAccumulator,
  options: DriftOptions,
): DriftSummary["predictions"] {
  const reference = profile.predictions;
  const summary = current.predictionSummary();
  if (reference === undefined || summary === undefined) return undefined;
  const classes = new Set(reference.classes);
  let unseen = 0;
  for (const [label, c] of summary.labels) if (!classes.has(label)) unseen += c;
  const refLabels = new Map(Object.entries(reference.labels));
  const rows = current.predictions;
  const labels = compareColumn(
    PREDICTION_COLUMN,
    "categorical",
    {
      distribution: { kind: "categorical", counts: refLabels },
      summary: { rows: reference.rows, missing: 0, top: topCategories(refLabels) },
    },
    {
      distribution: { kind: "categorical", counts: summary.labels },
      summary: { rows, missing: 0, top: topCategories(summary.labels) },
    },
    { invalid: summary.invalid, outOfRange: 0, unseen },
    options,
  );
  const refScore = deserializeWeighted(reference.score.distribution);
  const refMoments = weightedMoments(refScore);
  let outOfRange = 0;
  const lo = refScore.values[0] ?? Number.NEGATIVE_INFINITY;
  const hi = refScore.values[refScore.values.length - 1] ?? Number.POSITIVE_INFINITY;
  const cur = summary.score.weighted;
  for (let i = 0; i < cur.values.length; i++)
    if (cur.values[i]! < lo || cur.values[i]! > hi) outOfRange += cur.counts[i]!;
  const score = compareColumn(
    reference.score.name,
    "numeric",
    {
      distribution: { kind: "numeric", weighted: refScore, exact: reference.score.exact },
      summary: {
        rows: reference.rows,
        missing: 0,
        mean: refMoments.mean,
        std: reference.score.std,
        min: lo,
        max: hi,
      },
    },
    {
      distribution: { kind: "numeric", weighted: cur, exact: summary.score.exact },
      summary: numericSummary(rows, 0, summary.score),
    },
    { invalid: summary.invalid, outOfRange, unseen: 0 },
    options,
  );
  return { labels, score };
}
