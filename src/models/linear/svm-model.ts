// Linear SVM behind the Model seam: hinge loss, L2, dual coordinate descent (dcd.ts), one-vs-rest for more
// than two classes, probabilities by Platt scaling (platt.ts) fitted on rows the weights never saw.
//
// Calibration: a seeded, stratified `calibrationFraction` of the training rows is held out; the SVM is fitted
// on the rest and, after every epoch, each binary problem's sigmoid is fitted on the held-out rows' decision
// values. (The alternative, k-fold cross-fitting as libsvm's -b 1 does, would let the weights see every row but
// costs k + 1 trainings per epoch; a linear model on thousands of rows gains little from the extra 20 %.)
// For more than two classes the one-vs-rest probabilities are normalised to sum to 1. Class weights set each
// row's Cᵢ = C · weight(class of the row) and weight the rows of the Platt fit, so probabilities move with the
// weighting as the other kinds' do.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { FeatureMatrix } from "../../features/preprocessor.js";
import { WorkbenchError } from "../../shared/errors.js";
import { createRng, deriveSeed } from "../../shared/random.js";
import { checkFitData, checkInput, notTrained } from "../fit-checks.js";
import { classWeights, IterationTracker } from "../iterations.js";
import type { FitData, FitOptions, FitResult, Model, ModelShape } from "../model.js";
import { type BinaryProblem, DualCoordinateDescent, decision, oneVsRest } from "./dcd.js";
import { stratifiedSplit, takeRows } from "./fit-data.js";
import { fitPlatt, type PlattParams, plattLogProbability, plattProbability } from "./platt.js";

export interface SvmSettings {
  C: number;
  maxIter: number;
  tol: number;
  calibrationFraction: number;
}

interface SvmState {
  classes: number;
  cols: number;
  /** One weight vector (cols + 1, the bias last) per binary problem: 1 for two classes, else one per class. */
  weights: Float64Array[];
  platt: PlattParams[];
  /** Summary facts of the kept epoch. */
  epoch: number;
  supportVectors: number;
  fitRows: number;
  calibrationRows: number;
  converged: boolean;
}

const FORMAT = "workbench-linear-svm";
const FORMAT_VERSION = 1;
const MODEL_FILE = "linear-svm.json";

/** `x` with every non-finite value replaced by 0 (the preprocessor's centre); `x` itself when it has none. */
function finite(x: FeatureMatrix): FeatureMatrix {
  const n = x.rows * x.cols;
  let clean = true;
  for (let i = 0; i < n; i++)
    if (!Number.isFinite(x.values[i]!)) {
      clean = false;
      break;
    }
  if (clean) return x;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = x.values[i]!;
    values[i] = Number.isFinite(v) ? v : 0;
  }
  return { ...x, values };
}

/** Decision values of every row under every weight vector: rows × problems. */
function decisions(weights: Float64Array[], x: FeatureMatrix): Float64Array {
  const m = weights.length;
  const out = new Float64Array(x.rows * m);
  for (let r = 0; r < x.rows; r++)
    for (let p = 0; p < m; p++) out[r * m + p] = decision(weights[p]!, x.values, r, x.cols);
  return out;
}

/** Class probabilities (rows × classes) from decision values and the fitted sigmoids. */
function probabilities(f: Float64Array, rows: number, platt: PlattParams[], classes: number): Float32Array {
  const out = new Float32Array(rows * classes);
  if (classes === 2) {
    for (let r = 0; r < rows; r++) {
      const p1 = plattProbability(f[r]!, platt[0]!);
      out[r * 2] = 1 - p1;
      out[r * 2 + 1] = p1;
    }
    return out;
  }
  const logs = new Float64Array(classes);
  for (let r = 0; r < rows; r++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) {
      logs[c] = plattLogProbability(f[r * classes + c]!, platt[c]!);
      if (logs[c]! > max) max = logs[c]!;
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logs[c]! - max);
    for (let c = 0; c < classes; c++) out[r * classes + c] = Math.exp(logs[c]! - max) / sum;
  }
  return out;
}

/** Σ weightᵢ max(0, 1 − yᵢ fᵢ) / Σ weightᵢ, averaged over the binary problems. */
function hingeLoss(f: Float64Array, problems: BinaryProblem[], rowWeight: Float64Array): number {
  const m = problems.length;
  let total = 0;
  for (let p = 0; p < m; p++) {
    const y = problems[p]!.y;
    let loss = 0;
    let weight = 0;
    for (let i = 0; i < y.length; i++) {
      loss += rowWeight[i]! * Math.max(0, 1 - y[i]! * f[i * m + p]!);
      weight += rowWeight[i]!;
    }
    total += weight > 0 ? loss / weight : 0;
  }
  return total / m;
}

export class LinearSvmModel implements Model {
  readonly kind = "linear-svm";
  private state: SvmState | undefined;

  constructor(
    private readonly settings: SvmSettings,
    private readonly shape: ModelShape,
    loaded?: SvmState,
  ) {
    this.state = loaded;
  }

  private get trained(): SvmState {
    if (this.state === undefined) throw notTrained(this.kind);
    return this.state;
  }

  async fit(data: FitData, options: FitOptions): Promise<FitResult> {
    checkFitData(this.kind, "SVM_TRAIN_DATA_INVALID", data, this.shape);
    const { C, maxIter, tol, calibrationFraction } = this.settings;
    const classes = this.shape.classes.length;
    const weightOf = classWeights(data.trainLabels, classes, options.classWeight);
    const split = stratifiedSplit(
      data.trainLabels,
      classes,
      calibrationFraction,
      createRng(deriveSeed(options.seed, "svm-calibration")),
    );
    if (split.chosen.length === 0)
      throw new WorkbenchError(
        "SVM_TRAIN_DATA_INVALID",
        `linear-svm: no class has the 2 training rows needed to hold out calibration rows (${data.train.rows} rows).`,
        { details: { kind: this.kind, rows: data.train.rows } },
      );
    const fitX = finite(takeRows(data.train, split.rest));
    const fitY = Int32Array.from(split.rest, (r) => data.trainLabels[r]!);
    const calX = finite(takeRows(data.train, split.chosen));
    const calY = Int32Array.from(split.chosen, (r) => data.trainLabels[r]!);
    const validation = finite(data.validation);
    const problems = oneVsRest(fitX.values, fitX.rows, fitX.cols, fitY, classes, C, weightOf);
    const solvers = problems.map(
      (p, i) => new DualCoordinateDescent(p, tol, createRng(deriveSeed(options.seed, `svm-order-${i}`))),
    );
    const calWeight = Float64Array.from(calY, (l) => weightOf[l]!);
    const fitWeight = Float64Array.from(fitY, (l) => weightOf[l]!);
    const calPositive = problems.map((_, p) =>
      Uint8Array.from(calY, (l) => (l === (classes === 2 ? 1 : p) ? 1 : 0)),
    );
    const tracker = new IterationTracker(data, options, maxIter);
    let kept: SvmState | undefined;
    let current: SvmState | undefined;
    for (let epoch = 1; epoch <= maxIter; epoch++) {
      const started = performance.now();
      for (const s of solvers) s.epoch();
      const weights = solvers.map((s) => s.w);
      const calF = decisions(weights, calX);
      const m = weights.length;
      const platt = problems.map((_, p) =>
        fitPlatt(
          Float64Array.from({ length: calX.rows }, (_, r) => calF[r * m + p]!),
          calPositive[p]!,
          calWeight,
        ),
      );
      const validationProbabilities = probabilities(
        decisions(weights, validation),
        validation.rows,
        platt,
        classes,
      );
      const loss = hingeLoss(decisions(weights, fitX), problems, fitWeight);
      const converged = solvers.every((s) => s.converged);
      current = {
        classes,
        cols: fitX.cols,
        weights,
        platt,
        epoch,
        supportVectors: solvers.reduce((n, s) => n + s.supportVectors(), 0),
        fitRows: fitX.rows,
        calibrationRows: calX.rows,
        converged,
      };
      const outcome = tracker.step(epoch, { loss, validationProbabilities, started });
      if (outcome.improved) kept = { ...current, weights: weights.map((w) => Float64Array.from(w)) };
      if (outcome.stop || converged) break;
    }
    // No epoch improved only when the metric is undefined (e.g. an empty validation set): keep the last.
    this.state = kept ?? { ...current!, weights: current!.weights.map((w) => Float64Array.from(w)) };
    return tracker.result();
  }

  predict(x: FeatureMatrix): Float32Array {
    const s = this.trained;
    checkInput(this.kind, x, s.cols);
    const clean = finite(x);
    return probabilities(decisions(s.weights, clean), clean.rows, s.platt, s.classes);
  }

  /** Raw decision values w·x + b (rows × binary problems), for tests and tools. */
  decisionFunction(x: FeatureMatrix): Float64Array {
    const s = this.trained;
    checkInput(this.kind, x, s.cols);
    return decisions(s.weights, finite(x));
  }

  /** The fitted sigmoids, one per binary problem. */
  calibration(): PlattParams[] {
    return this.trained.platt.map((p) => ({ ...p }));
  }

  async save(dir: string): Promise<void> {
    const s = this.trained;
    const file: SvmFile = {
      format: FORMAT,
      version: FORMAT_VERSION,
      kind: this.kind,
      settings: this.settings,
      classes: s.classes,
      cols: s.cols,
      // JSON numbers round-trip float64 exactly (shortest round-trip printing).
      weights: s.weights.map((w) => Array.from(w)),
      platt: s.platt,
      epoch: s.epoch,
      supportVectors: s.supportVectors,
      fitRows: s.fitRows,
      calibrationRows: s.calibrationRows,
      converged: s.converged,
    };
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, MODEL_FILE), `${JSON.stringify(file)}\n`, "utf8");
  }

  dispose(): void {
    this.state = undefined;
  }

  summary(): Record<string, number | string | boolean> {
    const s = this.trained;
    return {
      classifiers: s.weights.length,
      parameters: s.weights.length * (s.cols + 1),
      epochs: s.epoch,
      converged: s.converged,
      supportVectors: s.supportVectors,
      fitRows: s.fitRows,
      calibrationRows: s.calibrationRows,
    };
  }
}

interface SvmFile {
  format: string;
  version: number;
  kind: string;
  settings: SvmSettings;
  classes: number;
  cols: number;
  weights: number[][];
  platt: PlattParams[];
  epoch: number;
  supportVectors: number;
  fitRows: number;
  calibrationRows: number;
  converged: boolean;
}

function invalid(dir: string, problem: string): WorkbenchError {
  return new WorkbenchError("SVM_MODEL_INVALID", `The linear SVM in ${dir} cannot be loaded: ${problem}.`, {
    details: { dir },
  });
}

const finiteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** Reads what LinearSvmModel.save wrote; the saved settings must be the ones the package declares. */
export async function loadLinearSvm(
  dir: string,
  settings: SvmSettings,
  shape: ModelShape,
): Promise<LinearSvmModel> {
  let file: SvmFile;
  try {
    file = JSON.parse(await readFile(path.join(dir, MODEL_FILE), "utf8")) as SvmFile;
  } catch (error) {
    throw invalid(dir, `missing or unreadable ${MODEL_FILE} (${(error as Error).message})`);
  }
  if (file === null || typeof file !== "object" || file.format !== FORMAT)
    throw invalid(dir, `${MODEL_FILE} is not a ${FORMAT} file`);
  if (typeof file.version !== "number" || file.version > FORMAT_VERSION)
    throw new WorkbenchError(
      "SVM_MODEL_VERSION",
      `The linear SVM in ${dir} has format version ${String(file.version)}; this build reads up to ${FORMAT_VERSION}.`,
      { details: { dir, version: file.version } },
    );
  if (file.kind !== "linear-svm") throw invalid(dir, `it holds a ${String(file.kind)} model`);
  const { classes, cols } = file;
  if (!isCount(classes) || !isCount(cols)) throw invalid(dir, "classes or cols is not a count");
  if (cols !== shape.featureNames.length || classes !== shape.classes.length)
    throw invalid(
      dir,
      `it takes ${cols} features and ${classes} classes; the package declares ${shape.featureNames.length} and ${shape.classes.length}`,
    );
  for (const key of ["C", "maxIter", "tol", "calibrationFraction"] as const)
    if (file.settings?.[key] !== settings[key])
      throw invalid(
        dir,
        `it was trained with ${key} = ${String(file.settings?.[key])}, the package declares ${settings[key]}`,
      );
  const problems = classes === 2 ? 1 : classes;
  if (
    !Array.isArray(file.weights) ||
    file.weights.length !== problems ||
    !file.weights.every((w) => Array.isArray(w) && w.length === cols + 1 && w.every(finiteNumber))
  )
    throw invalid(dir, `expected ${problems} weight vectors of ${cols + 1} numbers`);
  if (
    !Array.isArray(file.platt) ||
    file.platt.length !== problems ||
    !file.platt.every((p) => finiteNumber(p?.a) && finiteNumber(p?.b))
  )
    throw invalid(dir, `expected ${problems} sigmoids {a, b}`);
  return new LinearSvmModel(settings, shape, {
    classes,
    cols,
    weights: file.weights.map((w) => Float64Array.from(w)),
    platt: file.platt.map((p) => ({ a: p.a, b: p.b })),
    epoch: isCount(file.epoch) ? file.epoch : 0,
    supportVectors: isCount(file.supportVectors) ? file.supportVectors : 0,
    fitRows: isCount(file.fitRows) ? file.fitRows : 0,
    calibrationRows: isCount(file.calibrationRows) ? file.calibrationRows : 0,
    converged: file.converged === true,
  });
}
