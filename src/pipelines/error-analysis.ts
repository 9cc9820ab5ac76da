import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Table } from "../data/table.js";
import type { Evaluation } from "../evaluation/metrics.js";
import {
  type ClassReportRow,
  type ConfusedPair,
  classReport,
  type MisclassifiedRow,
  misclassifiedRows,
  normalizeRows,
  topConfusedPairs,
} from "../evaluation/multiclass.js";
import { confusionMatrixFigure, perClassF1Figure } from "../viz/class-figures.js";
import type { ReportSection } from "../viz/html-report.js";

/** What the error analysis of one split is computed from. */
export interface ErrorAnalysisInput {
  /** The split's name in headings ("test"). */
  split: string;
  evaluation: Evaluation;
  labels: Int32Array;
  probabilities: Float32Array;
  threshold: number | undefined;
  /** The split's rows as read: source lines and raw text columns. */
  table: Table;
  /** The winning model's most informative features per class (`Model.topFeatures`), when its kind has them. */
  topFeatures: Record<string, { feature: string; weight: number }[]> | undefined;
}

export interface ErrorAnalysis {
  perClass: ClassReportRow[];
  normalized: number[][];
  confusedPairs: ConfusedPair[];
  misclassified: { total: number; rows: MisclassifiedRow[] };
  topFeatures: Record<string, { feature: string; weight: number }[]> | undefined;
  /** The split's text columns (the misclassified rows carry their text). */
  textColumns: string[];
  /** Report sections for the top of the evaluation report (tables and charts). */
  sections: ReportSection[];
  /** Long sections for the end of the report (informative features, misclassified rows). */
  details: ReportSection[];
}

/** Informative features kept per class. */
export const TOP_FEATURES_PER_CLASS = 20;
/** Misclassified rows shown in the HTML report (the JSON artifact keeps up to 1000). */
const MISCLASSIFIED_IN_REPORT = 50;

const percent = (v: number) => `${(v * 100).toFixed(1)}%`;

/** Per-class table, confusion matrix (counts and shares), confused pairs, misclassified rows, top features. */
export function analyseErrors(input: ErrorAnalysisInput): ErrorAnalysis {
  const { evaluation, split } = input;
  const { classes, confusion, metrics } = evaluation;
  const perClass = classReport(confusion, classes);
  const normalized = normalizeRows(confusion);
  const confusedPairs = topConfusedPairs(confusion, classes, 10);
  const texts = input.table.text;
  const misclassified = misclassifiedRows(
    {
      labels: input.labels,
      probabilities: input.probabilities,
      classes,
      ...(input.threshold === undefined ? {} : { threshold: input.threshold }),
      lines: input.table.lines,
      texts,
    },
    { limit: 1000, clip: 500 },
  );
  const { topFeatures } = input;
  const textColumns = Object.keys(texts);
  const n = input.labels.length;
  const sections: ReportSection[] = [
    {
      heading: `Per-class precision, recall and F1 (${split})`,
      table: {
        columns: ["class", "precision", "recall", "f1", "support", "predicted"],
        rows: [
          ...perClass.map((r) => [r.label, r.precision, r.recall, r.f1, r.support, r.predicted]),
          // The logged metrics (macro over the classes present in the split), so the table and the run agree.
          ["macro avg", metrics.precision_macro!, metrics.recall_macro!, metrics.f1_macro!, n, n],
          ["weighted avg", metrics.precision_weighted!, metrics.recall_weighted!, metrics.f1_weighted!, n, n],
        ],
      },
    },
    {
      heading: `F1 per class (${split})`,
      figure: perClassF1Figure(perClass, metrics.f1_macro ?? Number.NaN, `F1 per class (${split})`),
    },
    {
      heading: `Confusion matrix (${split})`,
      figure: confusionMatrixFigure(confusion, normalized, classes, `Confusion matrix (${split})`),
    },
  ];
  if (confusedPairs.length > 0)
    sections.push({
      heading: `Most confused classes (${split})`,
      table: {
        columns: ["true class", "predicted as", "rows", "share of the true class"],
        rows: confusedPairs.map((p) => [p.actual, p.predicted, p.count, percent(p.share)]),
      },
    });
  const details: ReportSection[] = [];
  if (topFeatures !== undefined)
    details.push({
      heading: "Most informative features per class",
      text: "The model's largest weights for each class, highest first (all of them in evaluation/top_features.json).",
      table: {
        columns: ["class", "features, highest weight first"],
        rows: orderedClasses(topFeatures, classes).map((c) => [
          c,
          topFeatures[c]!.map((f) => `${f.feature} (${f.weight.toFixed(2)})`).join(", "),
        ]),
      },
    });
  details.push({
    heading: `Misclassified examples (${split})`,
    text:
      misclassified.total === 0
        ? `No row of the ${split} split is misclassified.`
        : `${misclassified.total} of ${n} rows misclassified; the ${Math.min(MISCLASSIFIED_IN_REPORT, misclassified.total)} most confident mistakes below, up to ${misclassified.rows.length} in evaluation/misclassified.json.`,
    ...(misclassified.total === 0
      ? {}
      : {
          table: {
            columns: ["line", "true class", "predicted", "p(true)", "p(predicted)", ...textColumns],
            rows: misclassified.rows
              .slice(0, MISCLASSIFIED_IN_REPORT)
              .map((r) => [
                r.line,
                r.actual,
                r.predicted,
                r.probabilityActual,
                r.probabilityPredicted,
                ...textColumns.map((c) => r.text[c]!),
              ]),
          },
        }),
  });
  return { perClass, normalized, confusedPairs, misclassified, topFeatures, textColumns, sections, details };
}

/** The classes in model order, then any other key the model returned. */
function orderedClasses(record: Record<string, unknown>, classes: string[]): string[] {
  const known = classes.filter((c) => Object.hasOwn(record, c));
  return [...known, ...Object.keys(record).filter((c) => !classes.includes(c))];
}

/**
 * Writes the analysis as JSON artifacts into `dir` (logged as the run's `evaluation/` folder): tables in
 * MLflow's table layout (`columns` + `data`). Returns the files written.
 */
export async function writeErrorAnalysis(
  dir: string,
  split: string,
  classes: string[],
  counts: number[][],
  analysis: ErrorAnalysis,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, unknown][] = [
    [
      "per_class.json",
      {
        split,
        columns: ["class", "precision", "recall", "f1", "support", "predicted"],
        data: analysis.perClass.map((r) => [r.label, r.precision, r.recall, r.f1, r.support, r.predicted]),
      },
    ],
    ["confusion_matrix.json", { split, classes, counts, normalized: analysis.normalized }],
    [
      "confused_pairs.json",
      {
        split,
        columns: ["true", "predicted", "count", "share"],
        data: analysis.confusedPairs.map((p) => [p.actual, p.predicted, p.count, p.share]),
      },
    ],
    [
      "misclassified.json",
      {
        split,
        total: analysis.misclassified.total,
        columns: [
          "line",
          "true",
          "predicted",
          "probability_true",
          "probability_predicted",
          ...analysis.textColumns,
        ],
        data: analysis.misclassified.rows.map((r) => [
          r.line,
          r.actual,
          r.predicted,
          r.probabilityActual,
          r.probabilityPredicted,
          ...analysis.textColumns.map((c) => r.text[c]!),
        ]),
      },
    ],
  ];
  const top = analysis.topFeatures;
  if (top !== undefined)
    files.push([
      "top_features.json",
      {
        columns: ["class", "rank", "feature", "weight"],
        data: orderedClasses(top, classes).flatMap((c) =>
          top[c]!.map((f, i) => [c, i + 1, f.feature, f.weight]),
        ),
      },
    ]);
  const written: string[] = [];
  for (const [name, content] of files) {
    const file = path.join(dir, name);
    await writeFile(file, `${JSON.stringify(content)}\n`);
    written.push(file);
  }
  return written;
}
