// Per-iteration bookkeeping shared by every kind: validation metric and loss, the progress callback, early
// stopping on the selection metric (the best iteration is what the model keeps) and pruning.
import { rocAuc } from "../evaluation/binary.js";
import { evaluate, higherIsBetter } from "../evaluation/metrics.js";
import type { FitData, FitOptions, FitResult, IterationRecord } from "./model.js";

export interface StepOutcome {
  /** This iteration is the new best: the kind keeps (a copy of) its state. */
  improved: boolean;
  /** Stop training now (patience exhausted, or pruned). */
  stop: boolean;
}

/** Validation log-loss of class probabilities (rows × classes). */
export function logLoss(labels: Int32Array, probabilities: Float32Array, classes: number): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, probabilities[i * classes + labels[i]!]!));
    sum -= Math.log(p);
  }
  return labels.length === 0 ? Number.NaN : sum / labels.length;
}

/** Balanced class weights (n / (k · count)), as scikit-learn's class_weight="balanced"; 1s for "none". */
export function classWeights(labels: Int32Array, classes: number, mode: "balanced" | "none"): Float64Array {
  const weights = new Float64Array(classes).fill(1);
  if (mode === "none") return weights;
  const counts = new Float64Array(classes);
  for (const l of labels) counts[l]!++;
  for (let c = 0; c < classes; c++) weights[c] = counts[c] === 0 ? 0 : labels.length / (classes * counts[c]!);
  return weights;
}

/**
 * The selection metric of validation probabilities, exactly as evaluate() computes it. Binary ROC AUC (the
 * common case, asked after every boosting round or tree) is computed alone; other metrics go through evaluate().
 */
export function selectionMetric(
  labels: Int32Array,
  probabilities: Float32Array,
  classes: string[],
  metric: string,
): number {
  if (metric === "roc_auc" && classes.length === 2) {
    const n = labels.length;
    return rocAuc(
      Int8Array.from(labels, (l) => (l === 1 ? 1 : 0)),
      Float64Array.from({ length: n }, (_, i) => probabilities[i * 2 + 1]!),
    );
  }
  return evaluate(labels, probabilities, classes).metrics[metric] ?? Number.NaN;
}

export class IterationTracker {
  readonly history: IterationRecord[] = [];
  private readonly better: boolean;
  private best: number;
  private bestIteration = 0;
  private sinceBest = 0;
  private stoppedEarly = false;
  private pruned = false;

  constructor(
    private readonly data: FitData,
    private readonly options: FitOptions,
    private readonly planned: number,
  ) {
    this.better = higherIsBetter(options.selectionMetric);
    this.best = this.better ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }

  /**
   * Records iteration `iteration` from its validation probabilities. `valLoss` defaults to the log-loss of
   * those probabilities (networks pass their own, regularisation included).
   */
  step(
    iteration: number,
    values: { loss: number; validationProbabilities: Float32Array; valLoss?: number; started: number },
  ): StepOutcome {
    const k = this.data.classes.length;
    const valMetric = selectionMetric(
      this.data.validationLabels,
      values.validationProbabilities,
      this.data.classes,
      this.options.selectionMetric,
    );
    const record: IterationRecord = {
      iteration,
      loss: values.loss,
      valLoss: values.valLoss ?? logLoss(this.data.validationLabels, values.validationProbabilities, k),
      valMetric,
      seconds: (performance.now() - values.started) / 1000,
    };
    this.history.push(record);
    this.options.onIteration?.(record, this.planned);
    const { minDelta, patience } = this.options.earlyStopping;
    const improved = this.better ? valMetric > this.best + minDelta : valMetric < this.best - minDelta;
    let stop = false;
    if (improved) {
      this.best = valMetric;
      this.bestIteration = iteration;
      this.sinceBest = 0;
    } else if (++this.sinceBest >= patience) {
      this.stoppedEarly = iteration < this.planned;
      stop = true;
    }
    if (!stop && this.options.shouldStop?.(record) === true) {
      this.pruned = true;
      stop = true;
    }
    return { improved, stop };
  }

  /** The best iteration so far (0 before any improvement). */
  get bestSoFar(): number {
    return this.bestIteration;
  }

  result(): FitResult {
    return {
      history: this.history,
      bestIteration: this.bestIteration,
      stoppedEarly: this.stoppedEarly,
      pruned: this.pruned,
    };
  }
}
