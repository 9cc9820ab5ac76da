// The Model seam: every model family (networks, boosted trees, forests, kNN, SVM) behind one interface.
// A kind lives in one file under src/models/kinds/ and is listed in the kinds table (kinds/index.ts);
// nothing outside src/models/kinds/ knows which kind it is holding.
import type { z } from "zod";
import { type FeatureMatrix, textColumnNames } from "../features/preprocessor.js";

/** One step of training: an epoch for networks, a boosting round for gbdt, a tree for forests. */
export interface IterationRecord {
  /** 1-based. */
  iteration: number;
  /** Training loss after this iteration (NaN when the kind has none). */
  loss: number;
  /** Validation loss (log-loss for probabilistic kinds). */
  valLoss: number;
  /** The selection metric on validation. */
  valMetric: number;
  /** Wall time of this iteration, validation scoring included. */
  seconds: number;
}

/** Training data: preprocessed, dense, row-major; labels are class indices into `classes`. */
export interface FitData {
  train: FeatureMatrix;
  trainLabels: Int32Array;
  validation: FeatureMatrix;
  validationLabels: Int32Array;
  classes: string[];
}

export interface FitOptions {
  /** The trial's own seed (already derived from the config seed and the trial id). */
  seed: number;
  selectionMetric: string;
  classWeight: "balanced" | "none";
  /** Stop after `patience` iterations without an improvement of `minDelta`; the best iteration is kept. */
  earlyStopping: { patience: number; minDelta: number };
  /** Called after every iteration with the planned number of iterations. */
  onIteration?: (record: IterationRecord, planned: number) => void;
  /** Asked after every iteration: true stops training (a hopeless search trial); the best iteration is kept. */
  shouldStop?: (record: IterationRecord) => boolean;
}

export interface FitResult {
  history: IterationRecord[];
  /** The iteration whose state the model keeps (early stopping restores it). */
  bestIteration: number;
  /** Training ended before the planned iterations because validation stopped improving. */
  stoppedEarly: boolean;
  /** Training was stopped by `shouldStop`. */
  pruned: boolean;
}

/** Gain-based importance of one input feature (tree kinds). */
export interface FeatureImportance {
  feature: string;
  /** Total loss reduction of the splits on this feature. */
  gain: number;
  /** Number of splits on this feature. */
  splits: number;
}

/** What a model is built for: the preprocessed feature columns, the text columns and the classes. */
export interface ModelShape {
  featureNames: string[];
  classes: string[];
  /** Text columns the model reads from `FeatureMatrix.texts`, in order (absent or empty for tabular data). */
  textColumns?: string[];
}

/** The shape of the data a model is fitted on. */
export function shapeOf(data: FitData): ModelShape {
  return {
    featureNames: data.train.featureNames,
    classes: data.classes,
    textColumns: textColumnNames(data.train),
  };
}

/** A trained (or to-be-trained) model of one kind. */
export interface Model {
  readonly kind: string;
  /** Trains in place. Called once per model. */
  fit(data: FitData, options: FitOptions): Promise<FitResult>;
  /** Class probabilities, rows × classes, row-major (binary tasks too: [p(class 0), p(class 1)] per row). */
  predict(x: FeatureMatrix): Float32Array;
  /** Writes everything `load` needs into `dir` (created if missing). */
  save(dir: string): Promise<void>;
  /** Frees native or WebAssembly memory; the model is unusable afterwards. */
  dispose(): void;
  /** A JSON-safe summary: the size of what was learned (trees, leaves, parameters, support rows …). */
  summary(): Record<string, number | string | boolean>;
  /** Gain-based feature importance, for kinds that have one. */
  importance?(): FeatureImportance[];
  /** Per class label, its most informative features (tokens for text models), highest weight first: linear kinds. */
  topFeatures?(perClass: number): Record<string, { feature: string; weight: number }[]>;
}

/** The data a kind checks its hyperparameters against before training (e.g. k ≤ training rows). */
export interface DataFacts {
  rows: number;
  /** Dense (numeric and one-hot) feature columns. */
  cols: number;
  classes: number;
  /** Text columns (FeatureMatrix.texts); absent = 0. */
  textColumns?: number;
  /** Mean length of the training texts in characters, all text columns together (absent or 0 without text). */
  avgTextLength?: number;
}

/** The facts a kind checks its hyperparameters against. */
export function factsOf(data: FitData): DataFacts {
  const texts = Object.values(data.train.texts ?? {});
  let chars = 0;
  for (const column of texts) for (const t of column) chars += t.length;
  return {
    rows: data.train.rows,
    cols: data.train.cols,
    classes: data.classes.length,
    textColumns: texts.length,
    avgTextLength: data.train.rows === 0 ? 0 : chars / data.train.rows,
  };
}

/**
 * What a cost estimate sees: the data's shape and the run's early-stopping patience (kinds that usually stop
 * early are estimated at the iterations they typically run, not at their planned maximum).
 */
export interface CostFacts extends DataFacts {
  validationRows: number;
  /** Iterations without improvement before training stops (the run's earlyStopping.patience). */
  patience: number;
}

/** One model family: its hyperparameters, how to build, train and load it. */
export interface ModelKind<S extends z.AnyZodObject = z.AnyZodObject> {
  readonly kind: string;
  /** One line for `--schema` and the README. */
  readonly description: string;
  /** What one iteration is called in progress output and charts ("epoch", "round", "tree"). */
  readonly iterationUnit: string;
  /**
   * What the kind reads: `tabular` (the dense features; default) or `text` (FeatureMatrix.texts, plus the dense
   * part where the kind says so). The pipeline refuses a text kind on data without text, and a tabular kind on data
   * with text columns (the text would be silently ignored).
   */
  readonly input?: "tabular" | "text";
  /** Hyperparameters with defaults; `.strict()`, so a parameter of another kind is refused by name. */
  readonly params: S;
  /**
   * Problems of these hyperparameters on this data, as `[param, message]` pairs (empty when fine), e.g.
   * k larger than the training set. Checked before any training starts.
   */
  checkData?(params: z.output<S>, facts: DataFacts): [string, string][];
  /**
   * A rough estimate of the work of training with these hyperparameters on data of this shape, in milliseconds
   * of one core of the development machine (calibrated, within a factor of ~1.5, on the credit-default trials).
   * The trial pool starts the most expensive waiting trial first, so that the long trials do not end up last
   * (longest-processing-time-first); only the order of the estimates matters, never their value, and nothing a
   * trial computes depends on it. Each kind documents its formula.
   */
  estimateCost(params: z.output<S>, facts: CostFacts): number;
  /** The planned number of iterations (epochs, rounds, trees) for progress output. */
  plannedIterations(params: z.output<S>): number;
  /**
   * These hyperparameters set to train `iterations` iterations (epochs, rounds, trees): `training.refit` trains
   * the winner again on train + validation for the iterations its early stopping kept.
   */
  withIterations(params: z.output<S>, iterations: number): z.output<S>;
  create(params: z.output<S>, shape: ModelShape): Promise<Model>;
  /** Loads what `Model.save` wrote. */
  load(dir: string, params: z.output<S>, shape: ModelShape): Promise<Model>;
}

/** Identity helper that keeps a kind's parameter type while listing it in the table. */
export function defineKind<S extends z.AnyZodObject>(kind: ModelKind<S>): ModelKind<S> {
  return kind;
}
