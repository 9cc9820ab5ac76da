import { categoryKey, isMissingField } from "../data/csv-value.js";
import type { Table } from "../data/table.js";
import type { ReferenceProfile } from "../monitoring/types.js";
import type { FieldProblem } from "./input.js";
import type { ServiceMetrics } from "./metrics.js";
import type { Prediction, Predictor } from "./predictor.js";
import type { SchemaWarning } from "./schema-warnings.js";

/** The `feature` label of a field outside the model's signature (an extra column): request keys never become labels. */
export const UNKNOWN_FEATURE = "_unknown";
/** The `feature` label of a problem of a whole row (a row that is not an object). */
export const ROW_FEATURE = "_row";

/**
 * The `reason` label of a refused field: its code in lower case when it has one (text_empty, text_too_long,
 * text_not_string), else what its wording (serving/input.ts) says: missing, not_integer, not_finite, extra_column,
 * not_object, or type (a value of the wrong type: not a number, not a string).
 */
export function problemReason(problem: FieldProblem): string {
  if (problem.code !== undefined) return problem.code.toLowerCase();
  if (problem.field === "") return "not_object";
  const text = problem.problem;
  if (text.startsWith("unknown column")) return "extra_column";
  if (text.endsWith("where a value is required") || text === "missing (required)") return "missing";
  if (text.startsWith("not an integer") || text.startsWith("expected an integer")) return "not_integer";
  if (text === "not a finite number") return "not_finite";
  return "type";
}

/** How one profiled column is checked against the reference on the hot path. */
type RangeCheck =
  | { kind: "numeric"; feature: string; min: number; max: number }
  /** A numeric column that the model's preprocessor one-hot encodes: its values arrive as text. */
  | { kind: "numeric-text"; feature: string; min: number; max: number }
  | { kind: "categorical"; feature: string; known: ReadonlySet<string> };

/**
 * The data-quality signals of the served model, counted into /metrics: refused and adjusted values per feature
 * and reason, numeric values outside the reference profile's [min, max], categories it never saw, rows scored
 * and the score histogram. Built once per model (load or hot swap): the range checks and category sets come
 * from its reference profile; a model without one has no range signals. Counting a request allocates nothing
 * per row.
 */
export class InputSignals {
  private readonly features: ReadonlySet<string>;
  private readonly checks: RangeCheck[] = [];
  private readonly version: string;
  private readonly classes: readonly string[];
  /** Per-bucket counts of one request (reused). */
  private readonly buckets: Float64Array;

  constructor(
    predictor: Predictor,
    profile: ReferenceProfile | undefined,
    private readonly metrics: ServiceMetrics,
  ) {
    const { inputs } = predictor.model.meta;
    this.features = new Set(inputs.map((c) => c.name));
    this.version = predictor.origin.version ?? "local";
    this.classes = predictor.classes;
    this.buckets = new Float64Array(metrics.predictionScore.bounds.length + 1);
    const categorical = new Set(predictor.model.preprocessor.categorical.map((s) => s.name));
    const text = new Set((predictor.model.preprocessor.text ?? []).map((s) => s.name));
    for (const column of profile?.columns ?? []) {
      if (!this.features.has(column.name) || text.has(column.name)) continue;
      if (column.type === "numeric") {
        if (!Number.isFinite(column.min) || !Number.isFinite(column.max)) continue; // no value profiled
        const kind = categorical.has(column.name) ? "numeric-text" : "numeric";
        this.checks.push({ kind, feature: column.name, min: column.min, max: column.max });
      } else if (column.type === "categorical" && categorical.has(column.name))
        this.checks.push({
          kind: "categorical",
          feature: column.name,
          known: new Set(Object.keys(column.counts)),
        });
    }
  }

  /** The features whose values are checked against the reference (none without a profile). */
  get checkedFeatures(): string[] {
    return this.checks.map((c) => c.feature);
  }

  /** Counts a refused request's problems (the listed ones) per feature and reason. */
  countProblems(problems: readonly FieldProblem[]): void {
    const counts = new Map<string, { feature: string; reason: string; n: number }>();
    for (const p of problems) {
      const feature = p.field === "" ? ROW_FEATURE : this.features.has(p.field) ? p.field : UNKNOWN_FEATURE;
      const reason = problemReason(p);
      const key = `${feature}\u0000${reason}`;
      const known = counts.get(key);
      if (known !== undefined) known.n++;
      else counts.set(key, { feature, reason, n: 1 });
    }
    for (const { feature, reason, n } of counts.values())
      this.metrics.featureViolations.inc({ feature, reason }, n);
  }

  /** Counts what the MLflow-compatible enforcement adjusted, per feature and warning kind. */
  countWarnings(warnings: readonly SchemaWarning[]): void {
    for (const w of warnings) {
      const feature = w.kind !== "extra_column" && this.features.has(w.field) ? w.field : UNKNOWN_FEATURE;
      this.metrics.featureViolations.inc({ feature, reason: w.kind }, w.count);
    }
  }

  /** Counts a scored request: rows, score histogram, out-of-range values and unseen categories. */
  countScored(table: Table, predictions: readonly Prediction[]): void {
    const n = table.rowCount;
    this.metrics.rowsScored.inc({ version: this.version }, n);
    this.countScores(predictions);
    for (const check of this.checks) {
      let hits = 0;
      if (check.kind === "numeric") {
        const values = table.numeric[check.feature];
        if (values === undefined) continue;
        // NaN (missing) fails both comparisons.
        for (let r = 0; r < n; r++) if (values[r]! < check.min || values[r]! > check.max) hits++;
      } else {
        const values = table.categorical[check.feature];
        if (values === undefined) continue;
        if (check.kind === "categorical") {
          // Known values pass on one lookup; only the rest pay for the missing tokens and the key rule ("2.0" is "2"),
          // as the drift accumulator reads them.
          for (let r = 0; r < n; r++) {
            const v = values[r]!;
            if (v === "" || check.known.has(v)) continue;
            if (!isMissingField(v) && !check.known.has(categoryKey(v))) hits++;
          }
        } else {
          for (let r = 0; r < n; r++) {
            if (values[r] === "") continue;
            const v = Number(values[r]);
            if (v < check.min || v > check.max) hits++;
          }
        }
      }
      if (hits === 0) continue;
      if (check.kind === "categorical") this.metrics.unseenCategory.inc({ feature: check.feature }, hits);
      else this.metrics.outOfRange.inc({ feature: check.feature }, hits);
    }
  }

  /** The positive class's probability (binary: the class the threshold applies to), else the top class's. */
  private countScores(predictions: readonly Prediction[]): void {
    const histogram = this.metrics.predictionScore;
    const buckets = this.buckets;
    buckets.fill(0);
    const classes = this.classes;
    const positive = classes.length === 2 ? classes[1]! : undefined;
    let sum = 0;
    let count = 0;
    for (const p of predictions) {
      let score: number;
      if (positive !== undefined) score = p.probabilities[positive]!;
      else {
        score = Number.NEGATIVE_INFINITY;
        for (const c of classes) if (p.probabilities[c]! > score) score = p.probabilities[c]!;
      }
      if (!Number.isFinite(score)) continue;
      buckets[histogram.bucketOf(score)]!++;
      sum += score;
      count++;
    }
    if (count > 0) histogram.addCounts(this.version, { version: this.version }, buckets, sum, count);
  }
}
