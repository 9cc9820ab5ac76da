import {
  averagePrecision,
  binaryLogLoss,
  brierScore,
  confusionAt,
  precisionRecallF1,
  rocAuc,
} from "./binary.js";

/** Metrics of one split, keyed the way they are logged (snake_case metric names are MLflow keys). */
export type MetricSet = Record<string, number>;

export interface Evaluation {
  metrics: MetricSet;
  /** Rows: true class, columns: predicted class, in `classes` order. */
  confusion: number[][];
  classes: string[];
}

/**
 * The predicted class of each row of class probabilities (rows × k, row-major): binary tasks compare the
 * positive class (index 1) with `threshold`, multiclass tasks take the arg-max (the first on ties).
 */
export function predictClasses(
  probabilities: Float32Array | Float64Array,
  k: number,
  threshold = 0.5,
): Int32Array {
  const n = Math.floor(probabilities.length / k);
  const predicted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (k === 2) predicted[i] = probabilities[i * 2 + 1]! >= threshold ? 1 : 0;
    else {
      let best = 0;
      for (let c = 1; c < k; c++) if (probabilities[i * k + c]! > probabilities[i * k + best]!) best = c;
      predicted[i] = best;
    }
  }
  return predicted;
}

/**
 * Evaluates class probabilities (rows × classes, row-major) against integer labels.
 * Binary tasks use `threshold` on the positive class (index 1); multiclass tasks take the arg-max.
 */
export function evaluate(
  labels: ArrayLike<number>,
  probabilities: Float32Array | Float64Array,
  classes: string[],
  threshold = 0.5,
): Evaluation {
  const k = classes.length;
  const n = labels.length;
  const predicted = predictClasses(probabilities, k, threshold);
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < n; i++) confusion[labels[i]!]![predicted[i]!]!++;
  const support = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const perClass = classes.map((_, c) => {
    const tp = confusion[c]![c]!;
    const predictedC = confusion.reduce((a, row) => a + row[c]!, 0);
    const precision = predictedC === 0 ? 0 : tp / predictedC;
    const recall = support[c] === 0 ? 0 : tp / support[c]!;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { precision, recall, f1 };
  });
  const correct = confusion.reduce((a, row, c) => a + row[c]!, 0);
  const present = classes.map((_, c) => c).filter((c) => support[c]! > 0);
  const macro = (key: "precision" | "recall" | "f1") =>
    present.reduce((a, c) => a + perClass[c]![key], 0) / present.length;
  const weighted = (key: "precision" | "recall" | "f1") =>
    classes.reduce((a, _, c) => a + perClass[c]![key] * support[c]!, 0) / n;
  const metrics: MetricSet = {
    accuracy: correct / n,
    balanced_accuracy: macro("recall"),
    precision_macro: macro("precision"),
    recall_macro: macro("recall"),
    f1_macro: macro("f1"),
    f1_weighted: weighted("f1"),
    precision_weighted: weighted("precision"),
    recall_weighted: weighted("recall"),
  };
  const column = (c: number) => Float64Array.from({ length: n }, (_, i) => probabilities[i * k + c]!);
  const onehot = (c: number) => Int8Array.from({ length: n }, (_, i) => (labels[i] === c ? 1 : 0));
  if (k === 2) {
    const y = onehot(1);
    const scores = column(1);
    const binary = precisionRecallF1(confusionAt(y, scores, threshold));
    Object.assign(metrics, {
      precision: binary.precision,
      recall: binary.recall,
      f1: binary.f1,
      roc_auc: rocAuc(y, scores),
      pr_auc: averagePrecision(y, scores),
      log_loss: binaryLogLoss(y, scores),
      brier: brierScore(y, scores),
    });
  } else {
    const aucs = present.map((c) => rocAuc(onehot(c), column(c)));
    const aps = present.map((c) => averagePrecision(onehot(c), column(c)));
    let logLoss = 0;
    let brier = 0;
    for (let i = 0; i < n; i++) {
      let rowSum = 0;
      for (let c = 0; c < k; c++) rowSum += probabilities[i * k + c]!;
      const p = Math.min(1 - 1e-15, Math.max(1e-15, probabilities[i * k + labels[i]!]! / rowSum));
      logLoss -= Math.log(p);
      for (let c = 0; c < k; c++)
        brier += (probabilities[i * k + c]! / rowSum - (labels[i] === c ? 1 : 0)) ** 2;
    }
    Object.assign(metrics, {
      roc_auc: aucs.reduce((a, b) => a + b, 0) / aucs.length,
      pr_auc: aps.reduce((a, b) => a + b, 0) / aps.length,
      log_loss: logLoss / n,
      brier: brier / n,
    });
  }
  return { metrics, confusion, classes };
}

/** True when a larger value of `metric` is better. */
export function higherIsBetter(metric: string): boolean {
  return !["log_loss", "brier"].includes(metric);
}
