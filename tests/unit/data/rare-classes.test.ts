import { describe, expect, it } from "vitest";
import { parseTrainConfig } from "../../../src/config/train-config.js";
import { applyRareClassRule, classCounts } from "../../../src/data/rare-classes.js";
import type { Table } from "../../../src/data/table.js";
import { ConfigError, DataValidationError } from "../../../src/shared/errors.js";
import { thrownBy } from "../../helpers/expect-error.js";

const CLASSES = ["Credit reporting", "Debt collection", "Mortgage", "Consumer Loan", "Student loan"];

/** A labelled table: `counts` rows per class, interleaved, each with its label as its text. */
function table(counts: Record<string, number>): Table {
  const target: string[] = [];
  const remaining = { ...counts };
  while (Object.values(remaining).some((n) => n > 0))
    for (const c of Object.keys(remaining))
      if (remaining[c]! > 0) {
        target.push(c);
        remaining[c]!--;
      }
  return {
    rowCount: target.length,
    numeric: { x: Float64Array.from(target, (_, i) => i) },
    categorical: {},
    text: { narrative: target.map((t, i) => `${t} ${i}`) },
    target,
    ids: {},
    lines: Int32Array.from(target, (_, i) => i + 2),
  };
}

const COUNTS = { "Credit reporting": 120, "Debt collection": 80, Mortgage: 60, "Consumer Loan": 18 };

describe("applyRareClassRule", () => {
  it("given action drop, then the rows of classes under minCount leave the table and the classes list; counts before and after are reported", () => {
    const {
      table: out,
      classes,
      report,
    } = applyRareClassRule(table(COUNTS), CLASSES, { minCount: 50, action: "drop" });
    expect(classes).toEqual(["Credit reporting", "Debt collection", "Mortgage"]);
    expect(out.rowCount).toBe(260);
    expect(new Set(out.target)).toEqual(new Set(classes));
    expect(report).toEqual({
      minCount: 50,
      action: "drop",
      before: {
        "Credit reporting": 120,
        "Debt collection": 80,
        Mortgage: 60,
        "Consumer Loan": 18,
        "Student loan": 0,
      },
      after: { "Credit reporting": 120, "Debt collection": 80, Mortgage: 60 },
      rare: ["Consumer Loan", "Student loan"],
      rowsDropped: 18,
      rowsMerged: 0,
    });
    // Every column follows the kept rows: the text and line of each row still match its label.
    const mismatched = out.target.filter((label, i) => !out.text.narrative![i]!.startsWith(label));
    expect(mismatched, "rows whose text is not their label's").toEqual([]);
    expect(out.lines.length).toBe(260);
  });

  it("given action merge, then rare classes become 'Other' (added last), and a class without rows adds nothing", () => {
    const {
      table: out,
      classes,
      report,
    } = applyRareClassRule(table(COUNTS), CLASSES, { minCount: 70, action: "merge" });
    expect(classes).toEqual(["Credit reporting", "Debt collection", "Other"]);
    expect(out.rowCount, "no row is lost").toBe(278);
    expect(report.after).toEqual({ "Credit reporting": 120, "Debt collection": 80, Other: 78 });
    expect(report.rowsMerged).toBe(78);
    expect(report.into).toBe("Other");
    expect(classCounts(out, classes)).toEqual(report.after);
  });

  it("given merge into an existing class, then that class absorbs the rare rows in its place", () => {
    const { classes, report } = applyRareClassRule(table(COUNTS), CLASSES, {
      minCount: 50,
      action: "merge",
      into: "Debt collection",
    });
    expect(classes).toEqual(["Credit reporting", "Debt collection", "Mortgage"]);
    expect(report.after["Debt collection"]).toBe(98);
  });

  it("given only classes without rows are rare, then merge adds no empty 'Other' class", () => {
    const { classes, report } = applyRareClassRule(table(COUNTS), CLASSES, { minCount: 1, action: "merge" });
    expect(classes).toEqual(["Credit reporting", "Debt collection", "Mortgage", "Consumer Loan"]);
    expect(report.rare).toEqual(["Student loan"]);
  });

  it("given a rule that leaves one class, then DATA_TOO_FEW_CLASSES gives the counts and what to change", () => {
    const error = thrownBy(
      () => applyRareClassRule(table(COUNTS), CLASSES, { minCount: 100, action: "drop" }),
      DataValidationError,
    );
    expect(error.code).toBe("DATA_TOO_FEW_CLASSES");
    expect(error.message).toBe(
      "data.rareClasses (minCount 100, drop) leaves one class (Credit reporting) to train on: rows per class Credit reporting 120, Debt collection 80, Mortgage 60, Consumer Loan 18, Student loan 0. Lower minCount, or merge the rare classes (action: merge).",
    );
  });
});

describe("train config data.rareClasses", () => {
  const base = {
    name: "c",
    dataset: "complaints",
    experiment: "e",
    training: { candidates: [{ kind: "logistic" }] },
    registry: { modelName: "m" },
  };

  it("given no rule, then every class is kept (null)", () => {
    expect(parseTrainConfig(base).data.rareClasses).toBeNull();
  });

  it("given a merge rule, then it is parsed as written", () => {
    const config = parseTrainConfig({
      ...base,
      data: { rareClasses: { minCount: 50, action: "merge", into: "Other" } },
    });
    expect(config.data.rareClasses).toEqual({ minCount: 50, action: "merge", into: "Other" });
  });

  it("given `into` with action drop, or an unknown action, then CONFIG_INVALID names the field", () => {
    const into = thrownBy(
      () =>
        parseTrainConfig({ ...base, data: { rareClasses: { minCount: 50, action: "drop", into: "Other" } } }),
      ConfigError,
    );
    expect(into.code).toBe("CONFIG_INVALID");
    expect(into.message).toContain(
      "data.rareClasses.into: only with action: merge (dropped rows go nowhere)",
    );
    const action = thrownBy(
      () => parseTrainConfig({ ...base, data: { rareClasses: { minCount: 50, action: "keep" } } }),
      ConfigError,
    );
    expect(action.message).toContain("data.rareClasses.action");
  });
});
