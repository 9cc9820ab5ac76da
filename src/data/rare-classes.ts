import { DataValidationError } from "../shared/errors.js";
import { type Table, takeRows } from "./table.js";

/** The train config's `data.rareClasses`: classes with fewer rows than `minCount` are dropped, or merged into one. */
export interface RareClassRule {
  minCount: number;
  action: "drop" | "merge";
  /** The class merged rows take (action merge); an existing class absorbs them, a new one is added last. */
  into?: string | undefined;
}

/** What the rule did, logged with the run (QA artifact and params). */
export interface RareClassReport {
  minCount: number;
  action: "drop" | "merge";
  into?: string;
  /** Rows per class before the rule, in the manifest's class order. */
  before: Record<string, number>;
  /** Rows per class the model trains on, in the final class order. */
  after: Record<string, number>;
  /** The classes with fewer than minCount rows (classes without rows included). */
  rare: string[];
  rowsDropped: number;
  rowsMerged: number;
}

/** Rows per class of a labelled table, in `classes` order (0 for a class without rows). */
export function classCounts(table: Table, classes: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
  for (const label of table.target) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

/**
 * Applies the rare-class rule to a validated table (before the split): `drop` removes the rows of every class
 * with fewer than `minCount` rows; `merge` relabels them as `into` (default "Other"). The returned classes are
 * the ones the model trains on: the kept classes in their order, then `into` when it is new and took rows.
 * Throws DATA_TOO_FEW_CLASSES when fewer than two classes would remain.
 */
export function applyRareClassRule(
  table: Table,
  classes: readonly string[],
  rule: RareClassRule,
): { table: Table; classes: string[]; report: RareClassReport } {
  const before = classCounts(table, classes);
  const rare = classes.filter((c) => before[c]! < rule.minCount);
  const into = rule.action === "merge" ? (rule.into ?? "Other") : undefined;
  const isRare = new Set(rare);
  let out = table;
  let rowsDropped = 0;
  let rowsMerged = 0;
  if (rule.action === "drop") {
    const kept: number[] = [];
    table.target.forEach((label, i) => {
      if (isRare.has(label)) rowsDropped++;
      else kept.push(i);
    });
    if (rowsDropped > 0) out = takeRows(table, kept);
  } else {
    const target = table.target.map((label) => {
      if (!isRare.has(label)) return label;
      rowsMerged++;
      return into!;
    });
    out = { ...table, target };
  }
  const remaining = classes.filter((c) => !isRare.has(c));
  if (into !== undefined && rowsMerged > 0 && !remaining.includes(into)) remaining.push(into);
  const after = classCounts(out, remaining);
  if (remaining.length < 2) {
    const counts = classes.map((c) => `${c} ${before[c]}`).join(", ");
    throw new DataValidationError(
      "DATA_TOO_FEW_CLASSES",
      `data.rareClasses (minCount ${rule.minCount}, ${rule.action}) leaves ${remaining.length === 0 ? "no class" : `one class (${remaining[0]})`} to train on: rows per class ${counts}. Lower minCount${rule.action === "drop" ? ", or merge the rare classes (action: merge)" : ""}.`,
      { details: { before, rare, minCount: rule.minCount, action: rule.action } },
    );
  }
  return {
    table: out,
    classes: remaining,
    report: {
      minCount: rule.minCount,
      action: rule.action,
      ...(into === undefined ? {} : { into }),
      before,
      after,
      rare,
      rowsDropped,
      rowsMerged,
    },
  };
}
