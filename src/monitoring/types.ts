/**
 * The shared vocabulary of monitoring: distributions, reference profiles, drift results and the monitor report.
 * Statistics (stats/), the profile and the streaming accumulator (profile.ts, current.ts, drift.ts), text drift
 * (text.ts), the monitor command, its HTML report and the service's drift gauge all speak these types.
 */

/**
 * A weighted empirical distribution of one numeric column: distinct values in ascending order and how many rows
 * hold each. Exact when built from every value; a compressed summary otherwise (see `exact` on the holder).
 */
export interface WeightedValues {
  values: Float64Array;
  counts: Float64Array;
  /** Sum of `counts`. */
  total: number;
}

/** Rows per category (a categorical column, or a numeric column treated as categorical by its key). */
export type CategoryCounts = ReadonlyMap<string, number>;

/** The tests and distances of Evidently's data drift, plus PSI. */
export type StatTestName = "ks" | "chi2" | "z" | "wasserstein" | "jensenshannon" | "psi";

/** What a drift check compares: a numeric column's values or a categorical column's counts. */
export type Distribution =
  | {
      kind: "numeric";
      weighted: WeightedValues;
      exact: boolean;
      /**
       * Optional: every value was an integer literal and none was missing, so pandas would hold the column as
       * int64. numpy's Sturges bins (Jensen–Shannon / PSI binning) are then at least 1 wide. Default false.
       */
      integer?: boolean;
    }
  | { kind: "categorical"; counts: CategoryCounts };

export interface TestResult {
  test: StatTestName;
  /** The test statistic (KS D, chi-square, z) or the distance itself. */
  statistic: number;
  /** Tests only (ks, chi2, z). */
  pValue?: number;
  /** What is compared with the threshold: the p-value for tests, the distance for distances. */
  score: number;
  threshold: number;
  /** Tests: score < threshold (KS: score <= threshold, as Evidently). Distances: score >= threshold. */
  drift: boolean;
}

export type PValueCorrection = "none" | "bonferroni" | "holm" | "bh";

/** A WeightedValues as JSON (profiles are JSON files). */
export interface SerializedWeightedValues {
  values: number[];
  counts: number[];
}

export interface NumericColumnProfile {
  name: string;
  type: "numeric";
  /** Rows profiled, missing included. */
  rows: number;
  missing: number;
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation (numpy's default), the Wasserstein norm. */
  std: number;
  /** Distinct non-missing values (a lower bound when `exact` is false). */
  distinct: number;
  /** True when `distribution` holds every distinct value; false when it was compressed to quantile points. */
  exact: boolean;
  distribution: SerializedWeightedValues;
}

export interface CategoricalColumnProfile {
  name: string;
  type: "categorical";
  rows: number;
  missing: number;
  /** Category → rows, every category seen. */
  counts: Record<string, number>;
}

export interface TextColumnProfile {
  name: string;
  type: "text";
  rows: number;
  missing: number;
  /** Characters per non-missing text. */
  length: SerializedWeightedValues;
  /** Word tokens per non-missing text. */
  tokens: SerializedWeightedValues;
  /** The most frequent words with their document frequencies (the OOV reference). */
  vocabulary: { word: string; df: number }[];
  /** A seeded reservoir sample of the texts: what the domain classifier trains on. Empty when disabled. */
  sample: string[];
  /**
   * Share of the reference tokens outside the vocabulary, leave-one-out (a token counts when its word is not in
   * the vocabulary or only its own text has it): the held-out reference for TextDrift.oov. Optional: added by H5.
   */
  oov?: number;
}

export type ColumnProfile = NumericColumnProfile | CategoricalColumnProfile | TextColumnProfile;

/** The model's answers on the validation split: the reference for prediction drift. */
export interface PredictionProfile {
  classes: string[];
  rows: number;
  /** Predicted label → rows (threshold applied for binary models). */
  labels: Record<string, number>;
  /**
   * The score whose distribution is watched: the positive class's probability for binary models, the top
   * class's probability for multiclass ones.
   */
  score: { name: string; distribution: SerializedWeightedValues; exact: boolean; std: number };
}

export interface ReferenceProfile {
  formatVersion: 1;
  createdAt: string;
  /** What was profiled: the training split of the run that produced the model. */
  source: { split: string; rows: number; dataFingerprint?: string };
  columns: ColumnProfile[];
  predictions?: PredictionProfile;
}

/** Text drift: a domain classifier told reference from current texts (Evidently's rule: drift when ROC AUC > threshold). */
export interface TextDrift {
  auc: number;
  threshold: number;
  drift: boolean;
  /**
   * Which of Evidently's rules set the threshold: "absolute" (a fixed AUC, 0.55 by default; references above 1,000
   * texts) or "percentile" (the 95th percentile of random scores' AUCs on the same held-out labels). Optional: added by H5.
   */
  rule?: "absolute" | "percentile";
  /** Texts per side the classifier saw. */
  sampleSizes: { reference: number; current: number };
  /** Words that most mark a text as current / as reference. */
  typicalWords: { current: string[]; reference: string[] };
  /** Share of current tokens outside the reference vocabulary, and the same for reference texts (held out). */
  oov: { reference: number; current: number };
  meanLength: { reference: number; current: number };
}

/** Counts that summarise one side of a column for the drift table. */
export interface ColumnSideSummary {
  rows: number;
  missing: number;
  /** Numeric: mean, std, min, max; categorical: the top categories' shares. */
  mean?: number;
  std?: number;
  min?: number;
  max?: number;
  top?: { category: string; share: number }[];
}

/** What the report draws for a column: shares per bin or per category, reference vs current. */
export type ColumnPlot =
  | { kind: "histogram"; edges: number[]; reference: number[]; current: number[] }
  | { kind: "bars"; categories: string[]; reference: number[]; current: number[] };

export interface ColumnDrift extends TestResult {
  column: string;
  type: "numeric" | "categorical" | "text";
  /** False when either side's distribution was a compressed summary. */
  exact: boolean;
  /** p-value after the multiple-testing correction (tests only; equals pValue when correction is "none"). */
  adjustedPValue?: number;
  psi?: { value: number; band: "none" | "moderate" | "significant" };
  reference: ColumnSideSummary;
  current: ColumnSideSummary;
  /** Current values that the schema refuses (not a number in a numeric column, ...). Not in the distribution. */
  invalid: number;
  /** Current numeric values outside the reference [min, max]. */
  outOfRange: number;
  /** Current categories never seen in the reference (rows). */
  unseen: number;
  plot: ColumnPlot;
  text?: TextDrift;
  /**
   * Why the column was not checked (a side had no non-missing values): its test fields are NaN and it does not
   * count in the drifted share. Optional: added by H2.
   */
  skipped?: string;
  /** How the check differed from the usual one (a text column compared by lengths, ...). Optional: added by H2. */
  note?: string;
}

export interface DriftSummary {
  reference: { rows: number; split: string };
  current: { rows: number };
  columns: ColumnDrift[];
  drifted: number;
  /** drifted / columns checked. */
  share: number;
  /** share >= driftShare (Evidently's dataset drift rule). */
  datasetDrift: boolean;
  driftShare: number;
  correction: PValueCorrection;
  /** Present when the reference profile has predictions and the current data carried (or was given) scores. */
  predictions?: { labels: ColumnDrift; score: ColumnDrift };
}

/** Concept drift: the model's metrics on labelled current rows against its own test metrics. */
export interface ConceptDrift {
  metric: string;
  /** The model's test value (from its package). */
  reference: number;
  current: number;
  /** reference - current for higher-is-better metrics (positive = worse). */
  drop: number;
  maxDrop: number;
  degraded: boolean;
  /** Rows whose id found a label. */
  labelled: number;
  /** Rows with no label (not scored into the metric). */
  unlabelled: number;
  metrics: Record<string, number>;
  /**
   * The labels file: its data rows, labels whose id no current row had (`unmatched`), labels that are not one of
   * the model's classes and rows without an id or label (both left out).
   */
  labels?: { file: string; rows: number; unmatched: number; unknownClass: number; incomplete: number };
}

/** Shadow comparison: champion and challenger scored the same requests. */
export interface ShadowComparison {
  champion: { name: string; version: string };
  challenger: { name: string; version: string };
  rows: number;
  /** Share of rows where both models gave the same label. */
  agreement: number;
  /** Mean absolute difference of the probabilities, over rows and classes. */
  meanAbsProbabilityDiff: number;
  /** With labels: challenger minus champion on the gate's metric, with its bootstrap interval. */
  metric?: {
    name: string;
    champion: number;
    challenger: number;
    difference: number;
    ci: [number, number];
    labelled: number;
  };
}

/** Everything `npm run monitor` found: the JSON summary, the HTML report's content, the run's metrics. */
export interface MonitorReport {
  createdAt: string;
  model: { uri: string; name: string; version?: string; runId?: string };
  input: {
    path: string;
    format: "csv" | "jsonl";
    rowsRead: number;
    rowsUsed: number;
    seconds: number;
    /**
     * What the read left out or ignored: bad rows (CSV) or lines (JSONL) with the first few, header columns the
     * profile does not have, where predictions came from and rows left unscored, rows without an id.
     */
    issues?: {
      bad: number;
      examples: { file: string; line: number; reason: string }[];
      extraColumns: string[];
      predictions: "file" | "model" | "log" | "none";
      unscored: number;
      unscoredExamples: { file: string; line: number; reason: string }[];
      missingIds: number;
    };
  };
  drift: DriftSummary;
  concept?: ConceptDrift;
  shadow?: ShadowComparison;
  /** The verdict the exit code and $GITHUB_OUTPUT carry. */
  verdict: { drift: boolean; degraded: boolean; reasons: string[] };
  /** The monitoring run logged for it, when tracking was on. */
  run?: { runId: string; url?: string };
}
