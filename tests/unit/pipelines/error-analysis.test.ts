import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Table } from "../../../src/data/table.js";
import { evaluate } from "../../../src/evaluation/metrics.js";
import { analyseErrors, writeErrorAnalysis } from "../../../src/pipelines/error-analysis.js";
import { renderHtmlReport } from "../../../src/viz/html-report.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const classes = ["Credit card", "Mortgage", "Debt collection"];
// Six rows of a test split: true class, probabilities, source line, narrative.
const labels = Int32Array.from([0, 1, 2, 0, 1, 2]);
const probabilities = Float32Array.from(
  [
    [0.8, 0.1, 0.1],
    [0.1, 0.7, 0.2],
    [0.5, 0.125, 0.375], // debt collection → credit card
    [0.25, 0.125, 0.625], // credit card → debt collection
    [0.125, 0.25, 0.625], // mortgage → debt collection
    [0.1, 0.1, 0.8],
  ].flat(),
);
const narratives = [
  "charged twice",
  "escrow",
  "<b>called at work</b> again and again",
  "late fee",
  "foreclosure",
  "collector",
];

function table(text: Record<string, string[]>): Table {
  return {
    rowCount: 6,
    numeric: {},
    categorical: {},
    text,
    target: Array.from(labels, (l) => classes[l]!),
    ids: {},
    lines: Int32Array.from([2, 4, 7, 9, 10, 12]),
  };
}

describe("error analysis of the test split (the pipeline step)", () => {
  const evaluation = evaluate(labels, probabilities, classes);

  it("text data: per-class rows, pairs, misclassified rows with their text, top features; JSON artifacts", async () => {
    const analysis = analyseErrors({
      split: "test",
      evaluation,
      labels,
      probabilities,
      threshold: undefined,
      table: table({ narrative: narratives }),
      topFeatures: {
        Mortgage: [
          { feature: "escrow", weight: 2.5 },
          { feature: "foreclosure", weight: 1.25 },
        ],
        "Credit card": [{ feature: "card", weight: 3 }],
      },
    });
    expect(analysis.perClass.map((r) => [r.label, r.support, r.predicted])).toEqual([
      ["Credit card", 2, 2],
      ["Mortgage", 2, 1],
      ["Debt collection", 2, 3],
    ]);
    expect(analysis.misclassified.total).toBe(3);
    expect(analysis.misclassified.rows.map((r) => [r.line, r.actual, r.predicted, r.text.narrative])).toEqual(
      [
        [9, "Credit card", "Debt collection", "late fee"],
        [10, "Mortgage", "Debt collection", "foreclosure"],
        [7, "Debt collection", "Credit card", "<b>called at work</b> again and again"],
      ],
    );

    const dir = await mkdtemp(path.join(os.tmpdir(), "error-analysis-"));
    dirs.push(dir);
    const files = await writeErrorAnalysis(dir, "test", classes, evaluation.confusion, analysis);
    expect(files.map((f) => path.basename(f))).toEqual([
      "per_class.json",
      "confusion_matrix.json",
      "confused_pairs.json",
      "misclassified.json",
      "top_features.json",
    ]);
    const read = async (name: string) => JSON.parse(await readFile(path.join(dir, name), "utf8"));
    const misclassified = await read("misclassified.json");
    expect(misclassified.columns).toEqual([
      "line",
      "true",
      "predicted",
      "probability_true",
      "probability_predicted",
      "narrative",
    ]);
    expect(misclassified.data[0]).toEqual([9, "Credit card", "Debt collection", 0.25, 0.625, "late fee"]);
    expect(await read("confusion_matrix.json")).toEqual({
      split: "test",
      classes,
      counts: [
        [1, 0, 1],
        [0, 1, 1],
        [1, 0, 1],
      ],
      normalized: [
        [0.5, 0, 0.5],
        [0, 0.5, 0.5],
        [0.5, 0, 0.5],
      ],
    });
    expect((await read("top_features.json")).data, "classes in model order, ranks from 1").toEqual([
      ["Credit card", 1, "card", 3],
      ["Mortgage", 1, "escrow", 2.5],
      ["Mortgage", 2, "foreclosure", 1.25],
    ]);
    const perClass = await read("per_class.json");
    const weighted =
      perClass.data.reduce((a: number, r: [string, number, number, number, number]) => a + r[3] * r[4], 0) /
      6;
    expect(weighted, "the table's support-weighted F1 is the logged f1_weighted").toBeCloseTo(
      evaluation.metrics.f1_weighted!,
      12,
    );

    const html = await renderHtmlReport("t", [...analysis.sections, ...analysis.details]);
    expect(html, "texts are escaped in the report").toContain("&lt;b&gt;called at work&lt;/b&gt;");
    expect(html).not.toContain("<b>called at work</b>");
    expect(html).toContain("escrow (2.50), foreclosure (1.25)");
    expect(analysis.sections.map((s) => s.heading)).toEqual([
      "Per-class precision, recall and F1 (test)",
      "F1 per class (test)",
      "Confusion matrix (test)",
      "Most confused classes (test)",
    ]);
  });

  it("tabular data without top features: no text columns, no top_features.json", async () => {
    const analysis = analyseErrors({
      split: "test",
      evaluation,
      labels,
      probabilities,
      threshold: undefined,
      table: table({}),
      topFeatures: undefined,
    });
    expect(analysis.textColumns).toEqual([]);
    expect(analysis.details.map((s) => s.heading)).toEqual(["Misclassified examples (test)"]);
    const dir = await mkdtemp(path.join(os.tmpdir(), "error-analysis-"));
    dirs.push(dir);
    const files = await writeErrorAnalysis(dir, "test", classes, evaluation.confusion, analysis);
    expect(files.map((f) => path.basename(f))).not.toContain("top_features.json");
    const misclassified = JSON.parse(await readFile(path.join(dir, "misclassified.json"), "utf8"));
    expect(misclassified.data[0]).toEqual([9, "Credit card", "Debt collection", 0.25, 0.625]);
  });
});
