// Input checks shared by the kNN and linear SVM kinds: named errors for training data a model cannot use and
// for prediction inputs of the wrong width.
import type { FeatureMatrix } from "../../features/preprocessor.js";
import { WorkbenchError } from "../../shared/errors.js";
import type { FitData, ModelShape } from "../model.js";

/** Throws `code` (e.g. KNN_TRAIN_DATA_INVALID) when `data` does not fit `shape` or is unusable. */
export function checkFitData(kind: string, code: string, data: FitData, shape: ModelShape): void {
  const classes = data.classes.length;
  const fail = (problem: string, details: Record<string, unknown> = {}) =>
    new WorkbenchError(code, `${kind}: ${problem}.`, { details: { kind, ...details } });
  if (classes < 2) throw fail(`needs at least two classes (got ${classes})`, { classes });
  if (classes !== shape.classes.length)
    throw fail(`the data has ${classes} classes, the model was built for ${shape.classes.length}`);
  if (data.train.rows < 1) throw fail("the training set is empty");
  if (data.train.cols !== shape.featureNames.length || data.validation.cols !== data.train.cols)
    throw fail(
      `expected ${shape.featureNames.length} features (train has ${data.train.cols}, validation ${data.validation.cols})`,
    );
  for (const m of [data.train, data.validation])
    if (m.values.length < m.rows * m.cols)
      throw fail(`a matrix of ${m.rows} × ${m.cols} holds only ${m.values.length} values`);
  if (data.trainLabels.length !== data.train.rows || data.validationLabels.length !== data.validation.rows)
    throw fail("labels and rows differ in number");
  for (const labels of [data.trainLabels, data.validationLabels])
    for (const label of labels)
      if (!(label >= 0 && label < classes))
        throw fail(`label ${label} is not a class index 0..${classes - 1}`);
}

/** Throws MODEL_INPUT_SHAPE when `x` does not have `cols` features per row. */
export function checkInput(kind: string, x: FeatureMatrix, cols: number): void {
  if (x.cols !== cols || x.values.length < x.rows * x.cols)
    throw new WorkbenchError(
      "MODEL_INPUT_SHAPE",
      `The ${kind} model expects ${cols} features per row, got ${x.cols}${x.cols === cols ? ` (and ${x.values.length} values for ${x.rows} rows)` : ""}.`,
      { details: { expected: cols, got: x.cols } },
    );
}

/** MODEL_NOT_TRAINED, for a model used before fit/load or after dispose. */
export function notTrained(kind: string): WorkbenchError {
  return new WorkbenchError("MODEL_NOT_TRAINED", `${kind}: the model is not trained (or was disposed).`);
}

/**
 * A seeded, stratified choice of about `fraction` × n rows (per class: its share rounded, at least one row of
 * every class with two or more rows, never all of a class), returned as sorted row indices, plus the rest.
 */
export function stratifiedSplit(
  labels: Int32Array,
  classes: number,
  fraction: number,
  rng: () => number,
): { chosen: Int32Array; rest: Int32Array } {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  const chosen: number[] = [];
  for (const rows of byClass) {
    if (rows.length < 2) continue;
    const take = Math.min(rows.length - 1, Math.max(1, Math.round(fraction * rows.length)));
    shuffleInPlace(rows, rng);
    chosen.push(...rows.slice(0, take));
  }
  return complement(chosen, labels.length);
}

/**
 * A seeded, stratified sample of exactly `size` rows (size < n): class quotas by largest remainder, every
 * class present keeps at least one row while `size` allows. Sorted row indices, plus the rest.
 */
export function stratifiedSample(
  labels: Int32Array,
  classes: number,
  size: number,
  rng: () => number,
): { chosen: Int32Array; rest: Int32Array } {
  const n = labels.length;
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  const exact = byClass.map((rows) => (size * rows.length) / n);
  const quota = exact.map(Math.floor);
  let left = size - quota.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((e, c) => [e - Math.floor(e), c] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, c] of byRemainder) {
    if (left === 0) break;
    if (quota[c]! < byClass[c]!.length) {
      quota[c]!++;
      left--;
    }
  }
  // A class that rounded to nothing takes a row from the largest quota.
  for (let c = 0; c < classes; c++) {
    if (quota[c] !== 0 || byClass[c]!.length === 0) continue;
    let donor = -1;
    for (let d = 0; d < classes; d++)
      if (quota[d]! > 1 && (donor < 0 || quota[d]! > quota[donor]!)) donor = d;
    if (donor < 0) break;
    quota[donor]!--;
    quota[c] = 1;
  }
  const chosen: number[] = [];
  byClass.forEach((rows, c) => {
    shuffleInPlace(rows, rng);
    chosen.push(...rows.slice(0, quota[c]!));
  });
  return complement(chosen, n);
}

function shuffleInPlace(items: number[], rng: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
}

function complement(chosen: number[], n: number): { chosen: Int32Array; rest: Int32Array } {
  const mark = new Uint8Array(n);
  for (const i of chosen) mark[i] = 1;
  const picked = new Int32Array(chosen.length);
  const rest = new Int32Array(n - chosen.length);
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    if (mark[i] === 1) picked[a++] = i;
    else rest[b++] = i;
  }
  return { chosen: picked, rest };
}

/** The rows `rows` of `x` (in that order) as a new matrix. */
export function takeRows(x: FeatureMatrix, rows: Int32Array): FeatureMatrix {
  const values = new Float32Array(rows.length * x.cols);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    values.set(x.values.subarray(r * x.cols, (r + 1) * x.cols), i * x.cols);
  }
  return { rows: rows.length, cols: x.cols, values, featureNames: x.featureNames };
}
