/**
 * Concept drift: labels that arrive later (a CSV of id → true class) joined by id to the current rows' predictions,
 * the model's metrics on them set against its own test metrics, and a degradation threshold on the drop.
 */
import { stat } from "node:fs/promises";
import { categoryKey } from "../data/csv-value.js";
import { evaluate, higherIsBetter } from "../evaluation/metrics.js";
import { DataValidationError, WorkbenchError } from "../shared/errors.js";
import { readCsvFile } from "./csv-records.js";
import type { ScoredRow } from "./read-current.js";
import type { ConceptDrift } from "./types.js";

/** The largest acceptable drop of the watched metric, in its units, unless told otherwise. */
export const DEFAULT_MAX_DROP = 0.05;

/** Labels by id, read from a CSV file. */
export interface Labels {
  file: string;
  idColumn: string;
  labelColumn: string;
  /** Id → position in `classIndex`. */
  byId: Map<string, number>;
  /** The class index of each labelled id, in `byId` order. */
  classIndex: Int32Array;
  /** Data rows in the file. */
  rows: number;
  /** Rows whose label is not one of the model's classes (left out). */
  unknownClass: number;
  /** Rows without an id or a label (left out). */
  incomplete: number;
}

/** Reads `file`'s id and label columns; labels are matched to `classes` as category codes ("1.0" is "1"). */
export async function readLabels(options: {
  file: string;
  idColumn: string;
  labelColumn: string;
  classes: readonly string[];
}): Promise<Labels> {
  const { file, idColumn, labelColumn, classes } = options;
  await stat(file).catch((cause: NodeJS.ErrnoException) => {
    throw new DataValidationError(
      "MONITOR_LABELS_UNREADABLE",
      cause.code === "ENOENT"
        ? `The labels file ${file} does not exist.`
        : `The labels file ${file} cannot be read (${cause.code ?? cause.message}).`,
      { cause },
    );
  });
  const classOf = new Map(classes.map((c, i) => [categoryKey(c), i]));
  const byId = new Map<string, number>();
  let classIndex = new Int32Array(1024);
  let idField = -1;
  let labelField = -1;
  let width = 0;
  let rows = 0;
  let unknownClass = 0;
  let incomplete = 0;
  const unknownExamples = new Set<string>();
  const conflicts: string[] = [];
  await readCsvFile(file, (record) => {
    if (width === 0) {
      const names = record.fields().map((n) => n.trim());
      width = names.length;
      idField = names.indexOf(idColumn);
      labelField = names.indexOf(labelColumn);
      const absent = [
        idField < 0 ? `id column '${idColumn}' (--id)` : "",
        labelField < 0 ? `label column '${labelColumn}' (--label-column)` : "",
      ].filter(Boolean);
      if (absent.length > 0)
        throw new DataValidationError(
          "MONITOR_LABELS_INVALID",
          `The labels file ${file} has no ${absent.join(" and no ")}; its header has: ${names.join(", ")}.`,
          { details: { header: names, idColumn, labelColumn } },
        );
      return;
    }
    rows++;
    if (record.length !== width) {
      incomplete++;
      return;
    }
    const id = record.field(idField).trim();
    const raw = record.field(labelField).trim();
    if (id === "" || raw === "") {
      incomplete++;
      return;
    }
    const c = classOf.get(categoryKey(raw));
    if (c === undefined) {
      unknownClass++;
      if (unknownExamples.size < 5) unknownExamples.add(raw);
      return;
    }
    const known = byId.get(id);
    if (known !== undefined) {
      if (classIndex[known] !== c && conflicts.length < 5) conflicts.push(id);
      return;
    }
    if (byId.size === classIndex.length) {
      const grown = new Int32Array(classIndex.length * 2);
      grown.set(classIndex);
      classIndex = grown;
    }
    classIndex[byId.size] = c;
    byId.set(id, byId.size);
  }).catch((error: unknown) => {
    if (error instanceof WorkbenchError) {
      if (error.code.startsWith("MONITOR_")) throw error;
      throw new DataValidationError("MONITOR_LABELS_INVALID", `The labels file ${file}: ${error.message}`, {
        cause: error,
      });
    }
    throw new DataValidationError("MONITOR_LABELS_UNREADABLE", `The labels file ${file} cannot be read.`, {
      cause: error,
    });
  });
  if (width === 0)
    throw new DataValidationError("MONITOR_LABELS_INVALID", `The labels file ${file} is empty (no header).`);
  if (conflicts.length > 0)
    throw new DataValidationError(
      "MONITOR_LABELS_INVALID",
      `The labels file ${file} gives different labels to the same id: ${conflicts.join(", ")}. Keep one label per id.`,
      { details: { conflicts } },
    );
  if (byId.size === 0)
    throw new DataValidationError(
      "MONITOR_LABELS_INVALID",
      rows === 0
        ? `The labels file ${file} has a header but no rows.`
        : `The labels file ${file} has no usable label: ${unknownClass} of ${rows} rows hold a label that is not one of the model's classes (${classes.join(", ")})${unknownExamples.size > 0 ? `, e.g. ${[...unknownExamples].map((u) => `'${u}'`).join(", ")}` : ""}, ${incomplete} lack an id or a label.`,
      { details: { rows, unknownClass, incomplete } },
    );
  return {
    file,
    idColumn,
    labelColumn,
    byId,
    classIndex: classIndex.subarray(0, byId.size),
    rows,
    unknownClass,
    incomplete,
  };
}

/**
 * Collects the predictions of current rows whose id has a label: their class indices and probabilities, in
 * memory proportional to the labelled rows only (a metric such as ROC AUC needs every one of them).
 */
export class LabelJoin {
  private labels: Int32Array = new Int32Array(1024);
  private probabilities: Float64Array;
  private readonly matched: Uint8Array;
  /** Rows joined to a label. */
  labelled = 0;
  /** Scored rows without a label (no id, or an id the labels file lacks). */
  unlabelled = 0;

  constructor(
    readonly source: Labels,
    readonly k: number,
  ) {
    this.probabilities = new Float64Array(1024 * k);
    this.matched = new Uint8Array(source.byId.size);
  }

  /** The class index of the row's label, or undefined (counted as unlabelled). */
  lookup(id: string | undefined): number | undefined {
    const at = id === undefined ? undefined : this.source.byId.get(id);
    if (at === undefined) return undefined;
    this.matched[at] = 1;
    return this.source.classIndex[at];
  }

  /** Adds one scored row: joined when its id has a label. Returns the label's class index (undefined: none). */
  add(row: ScoredRow): number | undefined {
    const label = this.lookup(row.id);
    if (label === undefined) {
      this.unlabelled++;
      return undefined;
    }
    if (this.labelled === this.labels.length) {
      const labels = new Int32Array(this.labels.length * 2);
      labels.set(this.labels);
      this.labels = labels;
      const probabilities = new Float64Array(this.probabilities.length * 2);
      probabilities.set(this.probabilities);
      this.probabilities = probabilities;
    }
    this.labels[this.labelled] = label;
    this.probabilities.set(row.probabilities.subarray(0, this.k), this.labelled * this.k);
    this.labelled++;
    return label;
  }

  /** Labels whose id no current row had. */
  get unmatchedLabels(): number {
    let n = 0;
    for (const m of this.matched) if (m === 0) n++;
    return n;
  }

  /** The joined rows: class indices and probabilities (rows × k). */
  rows(): { labels: Int32Array; probabilities: Float64Array } {
    return {
      labels: this.labels.subarray(0, this.labelled),
      probabilities: this.probabilities.subarray(0, this.labelled * this.k),
    };
  }
}

/**
 * The metric concept drift watches: `requested`, else the training's selection metric, else ROC AUC for binary
 * and macro F1 for multiclass models. It must be among the model's test metrics (`test_<metric>` in its package).
 */
export function conceptMetric(
  reference: Readonly<Record<string, number>>,
  classes: readonly string[],
  requested?: string,
  selectionMetric?: string,
): string {
  const metric = requested ?? selectionMetric ?? (classes.length === 2 ? "roc_auc" : "f1_macro");
  if (reference[`test_${metric}`] === undefined) {
    const known = Object.keys(reference)
      .filter((k) => k.startsWith("test_"))
      .map((k) => k.slice(5));
    throw new WorkbenchError(
      "MONITOR_METRIC_UNKNOWN",
      `The model has no test value of '${metric}' to compare with${requested === undefined ? "" : " (--metric)"}; its test metrics: ${known.join(", ") || "none"}.`,
      { details: { metric, known } },
    );
  }
  return metric;
}

/**
 * The model's metrics on the labelled current rows against its test metrics: degraded when `metric` is worse
 * than its test value by more than `maxDrop`.
 */
export function conceptDrift(
  join: LabelJoin,
  options: {
    classes: string[];
    threshold: number | undefined;
    metric: string;
    /** The model's metrics as its package records them (`test_<metric>`). */
    reference: Readonly<Record<string, number>>;
    maxDrop: number;
  },
): ConceptDrift {
  if (join.labelled === 0)
    throw new DataValidationError(
      "MONITOR_LABELS_UNMATCHED",
      `None of the ${join.unlabelled} scored current rows has a label in ${join.source.file} (${join.source.byId.size} labelled ids, joined on '${join.source.idColumn}'): check that --id names the column both files share and that the labels belong to these rows.`,
      { details: { unlabelled: join.unlabelled, labels: join.source.byId.size } },
    );
  const { labels, probabilities } = join.rows();
  const metrics = evaluate(labels, probabilities, options.classes, options.threshold ?? 0.5).metrics;
  const reference = options.reference[`test_${options.metric}`]!;
  const current = metrics[options.metric] ?? Number.NaN;
  const drop = higherIsBetter(options.metric) ? reference - current : current - reference;
  return {
    metric: options.metric,
    reference,
    current,
    drop,
    maxDrop: options.maxDrop,
    degraded: Number.isFinite(drop) && drop > options.maxDrop,
    labelled: join.labelled,
    unlabelled: join.unlabelled,
    metrics,
    labels: {
      file: join.source.file,
      rows: join.source.rows,
      unmatched: join.unmatchedLabels,
      unknownClass: join.source.unknownClass,
      incomplete: join.source.incomplete,
    },
  };
}
