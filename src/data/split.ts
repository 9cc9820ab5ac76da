import { sha256 } from "../shared/hash.js";
import { createRng, deriveSeed, shuffled } from "../shared/random.js";
import { type Table, takeRows } from "./table.js";

export type SplitName = "train" | "validation" | "test" | "holdout";

export interface SplitFractions {
  holdout: number;
  test: number;
  validation: number;
}

export interface Splits {
  train: Table;
  validation: Table;
  test: Table;
  holdout: Table;
  /** sha256 over each split's source lines and labels: equal fingerprints mean equal splits. */
  fingerprints: Record<SplitName, string>;
}

/**
 * Stratified split with a fixed seed. The holdout is carved out first and never seen by model selection;
 * test and validation follow; the rest trains. Each class is split in the same proportions.
 */
export function stratifiedSplit(table: Table, fractions: SplitFractions, seed: number): Splits {
  const rng = createRng(deriveSeed(seed, "split"));
  const byClass = new Map<string, number[]>();
  for (let i = 0; i < table.rowCount; i++) {
    const label = table.target[i] ?? "";
    const list = byClass.get(label) ?? [];
    list.push(i);
    byClass.set(label, list);
  }
  const parts: Record<SplitName, number[]> = { train: [], validation: [], test: [], holdout: [] };
  for (const label of [...byClass.keys()].sort()) {
    const rows = shuffled(byClass.get(label)!, rng);
    const n = rows.length;
    const holdout = Math.round(n * fractions.holdout);
    const test = Math.round(n * fractions.test);
    const validation = Math.round(n * fractions.validation);
    parts.holdout.push(...rows.slice(0, holdout));
    parts.test.push(...rows.slice(holdout, holdout + test));
    parts.validation.push(...rows.slice(holdout + test, holdout + test + validation));
    parts.train.push(...rows.slice(holdout + test + validation));
  }
  const fingerprints = {} as Record<SplitName, string>;
  const tables = {} as Record<SplitName, Table>;
  for (const name of ["train", "validation", "test", "holdout"] as const) {
    // Shuffle the merged classes too, so that training batches mix labels.
    const indices = shuffled(parts[name], createRng(deriveSeed(seed, `order-${name}`)));
    tables[name] = takeRows(table, indices);
    fingerprints[name] = sha256(indices.map((i) => `${table.lines[i]}:${table.target[i] ?? ""}`).join("\n"));
  }
  return { ...tables, fingerprints };
}
