import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evaluate, predictClasses } from "../../../src/evaluation/metrics.js";
import {
  classReport,
  clipText,
  misclassifiedRows,
  normalizeRows,
  topConfusedPairs,
} from "../../../src/evaluation/multiclass.js";
import { thrownBy } from "../../helpers/expect-error.js";

/** `fn` throws a WorkbenchError with `code` and a message starting with `message`. */
function expectWorkbenchError(fn: () => unknown, code: string, message: string): void {
  const error = thrownBy(fn);
  expect(error.code).toBe(code);
  expect(error.message.startsWith(message), `message: ${error.message}`).toBe(true);
}

const fixtures = path.join(__dirname, "..", "..", "fixtures", "metrics");

/** Made by tests/fixtures/metrics/make_class_report.py with scikit-learn. */
interface ReportCase {
  name: string;
  y_true: number[];
  probabilities: number[][];
  threshold: number | null;
  predicted: number[];
  expected: {
    precision: number[];
    recall: number[];
    f1: number[];
    support: number[];
    report_weighted_f1: number;
    f1_weighted: number;
    f1_macro_present: number;
    confusion: number[][];
    confusion_normalized: number[][];
  };
}

const cases = JSON.parse(readFileSync(path.join(fixtures, "class_report.json"), "utf8")) as ReportCase[];
const byName = (name: string) => cases.find((c) => c.name === name)!;
const classesOf = (c: ReportCase) => c.probabilities[0]!.map((_, i) => `c${i}`);
const evaluated = (c: ReportCase) =>
  evaluate(c.y_true, Float64Array.from(c.probabilities.flat()), classesOf(c), c.threshold ?? undefined);

describe("per-class evaluation agrees with scikit-learn (zero_division=0) on stored fixtures", () => {
  it("the fixtures cover the cases named below", () => {
    expect(cases.map((c) => c.name)).toEqual([
      "four-classes",
      "never-predicted",
      "absent-classes",
      "binary-threshold",
    ]);
  });

  for (const c of cases) {
    it(`${c.name}: predictions, confusion (counts and row shares), per-class P/R/F1/support, weighted F1`, () => {
      const classes = classesOf(c);
      const predicted = predictClasses(
        Float64Array.from(c.probabilities.flat()),
        classes.length,
        c.threshold ?? undefined,
      );
      expect(Array.from(predicted), "predicted classes vs numpy").toEqual(c.predicted);
      const evaluation = evaluated(c);
      expect(evaluation.confusion, "confusion_matrix").toEqual(c.expected.confusion);
      const normalized = normalizeRows(evaluation.confusion);
      for (const [t, row] of normalized.entries())
        for (const [p, v] of row.entries())
          expect(v, `normalized[${t}][${p}]`).toBeCloseTo(c.expected.confusion_normalized[t]![p]!, 12);
      const report = classReport(evaluation.confusion, classes);
      report.forEach((row, i) => {
        expect(row.label).toBe(classes[i]);
        expect(row.precision, `${c.name} precision of ${row.label}`).toBeCloseTo(
          c.expected.precision[i]!,
          12,
        );
        expect(row.recall, `${c.name} recall of ${row.label}`).toBeCloseTo(c.expected.recall[i]!, 12);
        expect(row.f1, `${c.name} f1 of ${row.label}`).toBeCloseTo(c.expected.f1[i]!, 12);
        expect(row.support, `${c.name} support of ${row.label}`).toBe(c.expected.support[i]);
        expect(row.predicted, `${c.name} predicted count of ${row.label}`).toBe(
          c.predicted.filter((p) => p === i).length,
        );
      });
      expect(evaluation.metrics.f1_weighted, "f1_score(average='weighted')").toBeCloseTo(
        c.expected.f1_weighted,
        12,
      );
      expect(c.expected.report_weighted_f1).toBeCloseTo(c.expected.f1_weighted, 12);
      expect(evaluation.metrics.f1_macro, "f1_score(average='macro', labels=classes in y_true)").toBeCloseTo(
        c.expected.f1_macro_present,
        12,
      );
    });
  }

  it("a class never predicted: precision 0 (not NaN), recall 0, F1 0, its support kept", () => {
    const c = byName("never-predicted");
    const row = classReport(evaluated(c).confusion, classesOf(c))[3]!;
    expect(row).toMatchObject({ precision: 0, recall: 0, f1: 0, predicted: 0 });
    expect(row.support).toBeGreaterThan(0);
  });

  it("a class absent from y_true: support 0, all zeros, and a row of zeros in the normalised matrix", () => {
    const c = byName("absent-classes");
    const evaluation = evaluated(c);
    const report = classReport(evaluation.confusion, classesOf(c));
    expect(report[2], "absent but predicted").toMatchObject({ support: 0, precision: 0, recall: 0, f1: 0 });
    expect(report[2]!.predicted, "class 2 is predicted for some rows").toBeGreaterThan(0);
    expect(report[4], "absent and never predicted").toMatchObject({ support: 0, predicted: 0, f1: 0 });
    expect(normalizeRows(evaluation.confusion)[2]).toEqual([0, 0, 0, 0, 0]);
  });
});

describe("top confused pairs", () => {
  it("off-diagonal cells, most rows first, with the share of the true class", () => {
    const c = byName("four-classes");
    const confusion = c.expected.confusion;
    const pairs = topConfusedPairs(confusion, ["a", "b", "c", "d"], 5);
    const cells = confusion
      .flatMap((row, t) => row.map((count, p) => ({ t, p, count })))
      .filter((x) => x.t !== x.p && x.count > 0)
      .sort((x, y) => y.count - x.count);
    expect(pairs.length).toBe(5);
    expect(pairs.map((p) => p.count)).toEqual(cells.slice(0, 5).map((x) => x.count));
    for (const p of pairs) {
      const t = ["a", "b", "c", "d"].indexOf(p.actual);
      const q = ["a", "b", "c", "d"].indexOf(p.predicted);
      expect(p.actual).not.toBe(p.predicted);
      expect(p.count).toBe(confusion[t]![q]);
      expect(p.share, `${p.actual} → ${p.predicted}`).toBeCloseTo(
        c.expected.confusion_normalized[t]![q]!,
        12,
      );
    }
  });

  it("equal counts: the larger share of its true class first; zero cells and the diagonal never appear", () => {
    const pairs = topConfusedPairs(
      [
        [90, 5, 0],
        [5, 10, 0],
        [0, 0, 7],
      ],
      ["x", "y", "z"],
    );
    expect(pairs).toEqual([
      { actual: "y", predicted: "x", count: 5, share: 5 / 15 },
      { actual: "x", predicted: "y", count: 5, share: 5 / 95 },
    ]);
    expect(
      topConfusedPairs(
        [
          [4, 0],
          [0, 6],
        ],
        ["x", "y"],
      ),
      "a perfect model has none",
    ).toEqual([]);
  });

  it("a confusion matrix of the wrong size is refused by name", () => {
    expectWorkbenchError(
      () => topConfusedPairs([[1, 2]], ["a", "b"]),
      "EVALUATION_INVALID_INPUT",
      "The confusion matrix must be 2 × 2 (one row and column per class: a, b), got 1 × 2.",
    );
    expectWorkbenchError(
      () =>
        classReport(
          [
            [1, 2, 3],
            [1, 2, 3],
            [1, 2, 3],
          ],
          ["a", "b"],
        ),
      "EVALUATION_INVALID_INPUT",
      "The confusion matrix must be 2 × 2",
    );
  });
});

describe("misclassified rows", () => {
  const classes = ["billing", "fraud", "loan"];
  // Rows: true class, then probabilities; lines are source-file lines (header on line 1).
  const labels = Int32Array.from([0, 1, 2, 0, 1]);
  const probabilities = Float64Array.from(
    [
      [0.7, 0.2, 0.1], // right
      [0.6, 0.3, 0.1], // fraud → billing at 0.6
      [0.05, 0.9, 0.05], // loan → fraud at 0.9
      [0.2, 0.2, 0.6], // billing → loan at 0.6
      [0.1, 0.8, 0.1], // right
    ].flat(),
  );
  const lines = Int32Array.from([2, 3, 5, 8, 9]);

  it("lists every wrong row, most confident mistake first (ties by line), with both probabilities", () => {
    const result = misclassifiedRows({ labels, probabilities, classes, lines });
    expect(result.total).toBe(3);
    expect(result.rows).toEqual([
      {
        line: 5,
        actual: "loan",
        predicted: "fraud",
        probabilityActual: 0.05,
        probabilityPredicted: 0.9,
        text: {},
      },
      {
        line: 3,
        actual: "fraud",
        predicted: "billing",
        probabilityActual: 0.3,
        probabilityPredicted: 0.6,
        text: {},
      },
      {
        line: 8,
        actual: "billing",
        predicted: "loan",
        probabilityActual: 0.2,
        probabilityPredicted: 0.6,
        text: {},
      },
    ]);
    const agreed = evaluate(labels, probabilities, classes);
    const wrong = agreed.confusion.flatMap((row, t) => row.filter((_, p) => p !== t)).reduce((a, b) => a + b);
    expect(result.total, "the same rows evaluate() counts off the diagonal").toBe(wrong);
  });

  it("carries each text column clipped to `clip` characters, and stops at `limit` rows", () => {
    const long = "x".repeat(30);
    const texts = {
      narrative: ["ok", "charged twice", long, "my loan", "stolen card"],
      title: ["a", "b", "c", "d", "e"],
    };
    const result = misclassifiedRows(
      { labels, probabilities, classes, lines, texts },
      { limit: 2, clip: 10 },
    );
    expect(result.total, "the total counts every mistake").toBe(3);
    expect(result.rows.map((r) => r.text)).toEqual([
      { narrative: `${"x".repeat(10)}…`, title: "c" },
      { narrative: "charged tw…", title: "b" },
    ]);
  });

  it("binary tasks decide at the threshold, as evaluate() does", () => {
    const y = Int32Array.from([0, 1, 0]);
    const p = Float64Array.from([0.7, 0.3, 0.6, 0.4, 0.9, 0.1]);
    const at = (threshold: number) =>
      misclassifiedRows({ labels: y, probabilities: p, classes: ["no", "yes"], lines: [2, 3, 4], threshold });
    expect(
      at(0.5).rows.map((r) => r.line),
      "0.4 < 0.5: row 3 is predicted 'no'",
    ).toEqual([3]);
    expect(at(0.35).rows, "0.3 < 0.35 ≤ 0.4: every row is right").toEqual([]);
    expect(at(0.25).rows.map((r) => [r.line, r.predicted, r.probabilityPredicted])).toEqual([
      [2, "yes", 0.3],
    ]);
  });

  it("mismatched inputs are refused by name", () => {
    expectWorkbenchError(
      () => misclassifiedRows({ labels, probabilities, classes, lines: [1, 2] }),
      "EVALUATION_INVALID_INPUT",
      "Misclassified rows: expected 5 rows × 3 probabilities and 5 line numbers, got 15 probabilities and 2 line numbers.",
    );
    expectWorkbenchError(
      () => misclassifiedRows({ labels, probabilities, classes, lines, texts: { narrative: ["a"] } }),
      "EVALUATION_INVALID_INPUT",
      "Misclassified rows: text column 'narrative' has 1 values for 5 rows.",
    );
  });

  it("clipping never splits a surrogate pair", () => {
    expect(clipText("ab😀cd", 3), "the emoji's two code units are kept or dropped together").toBe("ab…");
    expect(clipText("ab😀cd", 4)).toBe("ab😀…");
    expect(clipText("short", 10)).toBe("short");
  });
});
