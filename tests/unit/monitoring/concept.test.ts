// Concept drift: labels joined by id to scored rows, metrics against the model's test metrics, and every bad
// labels file with its code and message.
import { describe, expect, it } from "vitest";
import { evaluate } from "../../../src/evaluation/metrics.js";
import { conceptDrift, conceptMetric, LabelJoin, readLabels } from "../../../src/monitoring/concept.js";
import type { ScoredRow } from "../../../src/monitoring/read-current.js";
import { rejectionOf, thrownBy } from "../../helpers/expect-error.js";
import { tempDir } from "../../helpers/temp.js";

const tmp = tempDir("concept-");
const CLASSES = ["0", "1"];

const row = (id: string | undefined, p1: number): ScoredRow => ({
  id,
  probabilities: Float64Array.of(1 - p1, p1),
  label: p1 >= 0.5 ? "1" : "0",
});

describe("readLabels + LabelJoin", () => {
  it("joins labels by id (codes such as 1.0 read as class 1), counting unlabelled rows and unmatched labels", async () => {
    const file = await tmp.file(
      "labels.csv",
      "ID,default.payment.next.month,extra\n1,1.0,x\n2,0,x\n3,1,x\n9,0,x\n4,7,x\n,1,x\n2,0,x\n",
    );
    const labels = await readLabels({
      file,
      idColumn: "ID",
      labelColumn: "default.payment.next.month",
      classes: CLASSES,
    });
    expect(labels.byId.size).toBe(4);
    expect(labels.unknownClass, "label 7 is no class").toBe(1);
    expect(labels.incomplete, "a row without an id").toBe(1);
    const join = new LabelJoin(labels, 2);
    expect(join.add(row("1", 0.8))).toBe(1);
    expect(join.add(row("2", 0.3))).toBe(0);
    expect(join.add(row("3", 0.4))).toBe(1);
    expect(join.add(row("5", 0.9)), "no label for id 5").toBeUndefined();
    expect(join.add(row(undefined, 0.9))).toBeUndefined();
    expect(join.labelled).toBe(3);
    expect(join.unlabelled).toBe(2);
    expect(join.unmatchedLabels, "id 9 never came").toBe(1);
    const { labels: y, probabilities } = join.rows();
    expect(Array.from(y)).toEqual([1, 0, 1]);
    expect(Array.from(probabilities)).toEqual([1 - 0.8, 0.8, 1 - 0.3, 0.3, 1 - 0.4, 0.4]);
  });

  it("MONITOR_LABELS_UNREADABLE: the labels file does not exist", async () => {
    const error = await rejectionOf(
      readLabels({ file: "/nonexistent/labels.csv", idColumn: "ID", labelColumn: "y", classes: CLASSES }),
    );
    expect(error.code).toBe("MONITOR_LABELS_UNREADABLE");
    expect(error.message).toBe("The labels file /nonexistent/labels.csv does not exist.");
  });

  it("MONITOR_LABELS_INVALID: no id or label column, naming the flags", async () => {
    const file = await tmp.file("nocols.csv", "key,target\n1,0\n");
    const error = await rejectionOf(readLabels({ file, idColumn: "ID", labelColumn: "y", classes: CLASSES }));
    expect(error.code).toBe("MONITOR_LABELS_INVALID");
    expect(error.message).toContain(
      "has no id column 'ID' (--id) and no label column 'y' (--label-column); its header has: key, target.",
    );
  });

  it("MONITOR_LABELS_INVALID: an empty file, a header only, labels that are no class, conflicting labels", async () => {
    const cases: [string, string, string][] = [
      ["empty.csv", "", "is empty (no header)"],
      ["header.csv", "ID,y\n", "has a header but no rows"],
      [
        "unknown.csv",
        "ID,y\n1,yes\n2,no\n",
        "2 of 2 rows hold a label that is not one of the model's classes (0, 1), e.g. 'yes', 'no'",
      ],
      ["conflict.csv", "ID,y\n1,0\n1,1\n", "gives different labels to the same id: 1"],
    ];
    for (const [name, text, message] of cases) {
      const file = await tmp.file(name, text);
      const error = await rejectionOf(
        readLabels({ file, idColumn: "ID", labelColumn: "y", classes: CLASSES }),
      );
      expect(error.code, name).toBe("MONITOR_LABELS_INVALID");
      expect(error.message, name).toContain(message);
    }
  });
});

describe("conceptDrift", () => {
  it("sets the labelled rows' metrics against the test value: degraded past maxDrop, not before", async () => {
    const file = await tmp.file(
      "l.csv",
      `ID,y\n${Array.from({ length: 8 }, (_, i) => `${i},${i % 2}`).join("\n")}\n`,
    );
    const labels = await readLabels({ file, idColumn: "ID", labelColumn: "y", classes: CLASSES });
    const join = new LabelJoin(labels, 2);
    // Positives (odd ids) mostly scored above negatives: 14 of 16 pairs in order, AUC 0.875.
    const p1 = [0.1, 0.9, 0.2, 0.8, 0.6, 0.3, 0.4, 0.7];
    for (const [i, p] of p1.entries()) join.add(row(String(i), p));
    const expected = evaluate(
      Int32Array.from(p1, (_, i) => i % 2),
      Float64Array.from(p1.flatMap((p) => [1 - p, p])),
      CLASSES,
      0.5,
    );
    const fine = conceptDrift(join, {
      classes: CLASSES,
      threshold: 0.5,
      metric: "roc_auc",
      reference: { test_roc_auc: 0.9 },
      maxDrop: 0.05,
    });
    expect(fine.current).toBeCloseTo(expected.metrics.roc_auc!, 12);
    expect(fine.current).toBeCloseTo(0.875, 12);
    expect(fine.drop).toBeCloseTo(0.025, 12);
    expect(fine.degraded).toBe(false);
    expect(fine.labelled).toBe(8);
    expect(fine.metrics.accuracy).toBeCloseTo(expected.metrics.accuracy!, 12);
    const worse = conceptDrift(join, {
      classes: CLASSES,
      threshold: 0.5,
      metric: "roc_auc",
      reference: { test_roc_auc: 0.95 },
      maxDrop: 0.05,
    });
    expect(worse.degraded, "0.95 → 0.875 drops 0.075 > 0.05").toBe(true);
    // Lower is better for log_loss: the drop is current − reference.
    const loss = conceptDrift(join, {
      classes: CLASSES,
      threshold: 0.5,
      metric: "log_loss",
      reference: { test_log_loss: 0.2 },
      maxDrop: 0.05,
    });
    expect(loss.drop).toBeCloseTo(expected.metrics.log_loss! - 0.2, 12);
    expect(loss.degraded).toBe(true);
  });

  it("MONITOR_LABELS_UNMATCHED: no scored row has a label, naming the id column", async () => {
    const file = await tmp.file("nomatch.csv", "ID,y\n100,1\n101,0\n");
    const labels = await readLabels({ file, idColumn: "ID", labelColumn: "y", classes: CLASSES });
    const join = new LabelJoin(labels, 2);
    join.add(row("1", 0.5));
    const error = thrownBy(() =>
      conceptDrift(join, {
        classes: CLASSES,
        threshold: 0.5,
        metric: "roc_auc",
        reference: { test_roc_auc: 0.8 },
        maxDrop: 0.05,
      }),
    );
    expect(error.code).toBe("MONITOR_LABELS_UNMATCHED");
    expect(error.message).toContain("None of the 1 scored current rows has a label");
    expect(error.message).toContain("joined on 'ID'");
  });

  it("conceptMetric: the asked metric, else the selection metric, else ROC AUC / macro F1; MONITOR_METRIC_UNKNOWN otherwise", () => {
    const reference = { test_roc_auc: 0.8, test_f1_macro: 0.6, test_pr_auc: 0.5 };
    expect(conceptMetric(reference, CLASSES)).toBe("roc_auc");
    expect(conceptMetric(reference, ["a", "b", "c"])).toBe("f1_macro");
    expect(conceptMetric(reference, CLASSES, undefined, "pr_auc")).toBe("pr_auc");
    expect(conceptMetric(reference, CLASSES, "f1_macro", "pr_auc")).toBe("f1_macro");
    const error = thrownBy(() => conceptMetric(reference, CLASSES, "accuracy"));
    expect(error.code).toBe("MONITOR_METRIC_UNKNOWN");
    expect(error.message).toBe(
      "The model has no test value of 'accuracy' to compare with (--metric); its test metrics: roc_auc, f1_macro, pr_auc.",
    );
  });
});
