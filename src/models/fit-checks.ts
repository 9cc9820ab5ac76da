// Input checks shared by the TypeScript kinds (trees, kNN, linear SVM): named errors for training data a model
// cannot use, for prediction inputs of the wrong width, and for a model used before it was trained.
import type { FeatureMatrix } from "../features/preprocessor.js";
import { WorkbenchError } from "../shared/errors.js";
import type { FitData, ModelShape } from "./model.js";

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
