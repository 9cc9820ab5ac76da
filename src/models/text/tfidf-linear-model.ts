// TF-IDF + a linear classifier behind the Model seam (the tfidf-linear kind). The vectorizer is fitted on the
// training texts; the dense columns of the data, when there are any, follow the vocabulary's columns.
//
//   loss "softmax": multinomial logistic regression, L2 (C as in scikit-learn), L-BFGS (softmax-lbfgs.ts); one
//                   iteration = one L-BFGS step; probabilities are the softmax itself.
//   loss "hinge" / "squared-hinge": one-vs-rest linear SVMs (LinearSVC's problem, squared-hinge its default) by
//                   dual coordinate descent on the sparse rows (sparse-dcd.ts); one iteration = one epoch of every
//                   binary problem. Probabilities: softmax(T · decision values) with one temperature T fitted on the
//                   validation rows (temperature.ts) — not Platt scaling per class, which would need rows held out
//                   of training (linear-svm's calibrationFraction) or would fit K × 2 parameters on the very rows
//                   early stopping selects on. A single T leaves the predicted class (LinearSVC's arg max) as is.
//
// Class weights ("balanced") weigh each row's loss (softmax) or its cost Cᵢ = C · weight (SVM). Early stopping keeps
// the iteration with the best validation metric. Files: tfidf.json (the vectorizer) and tfidf-linear.json.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { FeatureMatrix } from "../../features/preprocessor.js";
import {
  csrDecisions,
  hstackDense,
  type InterleavedWeights,
  interleaveWeights,
} from "../../features/text/sparse.js";
import { TfidfVectorizer, tfidfFromJson } from "../../features/text/tfidf.js";
import { WorkbenchError } from "../../shared/errors.js";
import { createRng, deriveSeed } from "../../shared/random.js";
import { checkFitData, notTrained } from "../fit-checks.js";
import { classWeights, IterationTracker } from "../iterations.js";
import type { FitData, FitOptions, FitResult, Model, ModelShape } from "../model.js";
import { SoftmaxLbfgs, softmaxInPlace, softmaxScores } from "./softmax-lbfgs.js";
import { SparseDualCoordinateDescent, svmDecisions } from "./sparse-dcd.js";
import { classScores, fitTemperature, temperedSoftmax } from "./temperature.js";
import { rowTexts, textFeatures } from "./text-input.js";
import { type TfidfParams, tfidfOptions } from "./tfidf-params.js";

export interface TfidfLinearSettings extends TfidfParams {
  loss: "softmax" | "hinge" | "squared-hinge";
  C: number;
  maxIter: number;
  tol: number;
  earlyStoppingRounds: number | null;
}

interface LinearState {
  vectorizer: TfidfVectorizer;
  classes: number;
  /** Columns: vocabulary + dense features. */
  cols: number;
  /** One weight vector of cols + 1 (bias last) per output: classes for softmax, 1 or classes for the SVM. */
  weights: Float64Array[];
  /** Softmax temperature of the decision values (1 for loss softmax). */
  temperature: number;
  iteration: number;
  converged: boolean;
  /** The weights laid out for scoring, made on first use (predict, decisionFunction). */
  scoring?: InterleavedWeights;
}

const KIND = "tfidf-linear";
const FORMAT = "workbench-tfidf-linear";
const FORMAT_VERSION = 1;
const MODEL_FILE = "tfidf-linear.json";
const VOCABULARY_FILE = "tfidf.json";

/** Decision values (rows × outputs) of a state on a sparse matrix: svmDecisions' values, read cache-friendly. */
function decisionsOf(s: LinearState, x: ReturnType<typeof hstackDense>): Float64Array {
  s.scoring ??= interleaveWeights(s.weights, s.cols);
  return csrDecisions(x, s.scoring);
}

/** Class probabilities (rows × classes) of a state on a sparse matrix. */
function probabilitiesOf(
  s: LinearState,
  loss: TfidfLinearSettings["loss"],
  x: ReturnType<typeof hstackDense>,
) {
  const m = s.weights.length;
  const decisions = decisionsOf(s, x);
  if (loss === "softmax") return Float32Array.from(softmaxInPlace(decisions, s.classes));
  return temperedSoftmax(classScores(decisions, x.rows, m, s.classes), s.classes, s.temperature);
}

export class TfidfLinearModel implements Model {
  readonly kind = KIND;
  private state: LinearState | undefined;

  constructor(
    private readonly settings: TfidfLinearSettings,
    private readonly shape: ModelShape,
    loaded?: LinearState,
  ) {
    this.state = loaded;
  }

  private get trained(): LinearState {
    if (this.state === undefined) throw notTrained(KIND);
    return this.state;
  }

  async fit(data: FitData, options: FitOptions): Promise<FitResult> {
    checkFitData(KIND, "TEXT_TRAIN_DATA_INVALID", data, this.shape);
    const s = this.settings;
    const classes = this.shape.classes.length;
    const trainTexts = rowTexts(KIND, data.train, this.shape.textColumns ?? []);
    const vectorizer = TfidfVectorizer.fit(trainTexts, tfidfOptions(s));
    const x = hstackDense(vectorizer.transform(trainTexts), data.train);
    const v = textFeatures(KIND, data.validation, this.shape, vectorizer);
    const weightOf = classWeights(data.trainLabels, classes, options.classWeight);
    const rowWeight = Float64Array.from(data.trainLabels, (l) => weightOf[l]!);
    const patience = s.earlyStoppingRounds ?? options.earlyStopping.patience;
    const tracker = new IterationTracker(
      data,
      { ...options, earlyStopping: { ...options.earlyStopping, patience } },
      s.maxIter,
    );
    const snapshot = (
      weights: Float64Array[],
      temperature: number,
      iteration: number,
      converged: boolean,
    ) => ({
      vectorizer,
      classes,
      cols: x.cols,
      weights: weights.map((w) => Float64Array.from(w)),
      temperature,
      iteration,
      converged,
    });
    let kept: LinearState | undefined;
    let last: LinearState | undefined;
    if (s.loss === "softmax") {
      const solver = new SoftmaxLbfgs({ x, labels: data.trainLabels, classes, rowWeight, C: s.C }, s.tol);
      const d1 = x.cols + 1;
      for (let iteration = 1; iteration <= s.maxIter; iteration++) {
        const started = performance.now();
        solver.step();
        const weights = Array.from({ length: classes }, (_, k) =>
          solver.theta.subarray(k * d1, (k + 1) * d1),
        );
        const probabilities = Float32Array.from(
          softmaxInPlace(softmaxScores(solver.theta, v, classes), classes),
        );
        const outcome = tracker.step(iteration, {
          loss: solver.crossEntropy,
          validationProbabilities: probabilities,
          started,
        });
        last = snapshot(weights, 1, iteration, solver.converged);
        if (outcome.improved) kept = last;
        if (outcome.stop || solver.converged) break;
        if (iteration % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } else {
      const positives = classes === 2 ? [1] : Array.from({ length: classes }, (_, k) => k);
      const cost = Float64Array.from(rowWeight, (w) => s.C * w);
      const solvers = positives.map(
        (k, i) =>
          new SparseDualCoordinateDescent(
            {
              x,
              y: Int8Array.from(data.trainLabels, (l) => (l === k ? 1 : -1)),
              cost,
              loss: s.loss as "hinge",
            },
            s.tol,
            createRng(deriveSeed(options.seed, `tfidf-svm-order-${i}`)),
          ),
      );
      const m = solvers.length;
      for (let epoch = 1; epoch <= s.maxIter; epoch++) {
        const started = performance.now();
        for (const solver of solvers) solver.epoch();
        const weights = solvers.map((solver) => solver.w);
        const scores = classScores(svmDecisions(weights, v), v.rows, m, classes);
        const temperature = fitTemperature(scores, data.validationLabels, weightOf, classes);
        const trainDecisions = svmDecisions(weights, x);
        let loss = 0;
        let total = 0;
        for (let r = 0; r < x.rows; r++)
          for (let p = 0; p < m; p++) {
            const y = data.trainLabels[r] === positives[p] ? 1 : -1;
            const margin = Math.max(0, 1 - y * trainDecisions[r * m + p]!);
            loss += rowWeight[r]! * (s.loss === "hinge" ? margin : margin * margin);
            total += rowWeight[r]!;
          }
        const converged = solvers.every((solver) => solver.converged);
        const outcome = tracker.step(epoch, {
          loss: loss / total,
          validationProbabilities: temperedSoftmax(scores, classes, temperature),
          started,
        });
        last = snapshot(weights, temperature, epoch, converged);
        if (outcome.improved) kept = last;
        if (outcome.stop || converged) break;
        if (epoch % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    // No iteration improved only when the metric is undefined (e.g. an empty validation set): keep the last.
    this.state = kept ?? last!;
    return tracker.result();
  }

  predict(x: FeatureMatrix): Float32Array {
    const s = this.trained;
    return probabilitiesOf(s, this.settings.loss, textFeatures(KIND, x, this.shape, s.vectorizer));
  }

  /** Raw decision values (rows × outputs): class scores for softmax, w̃·x̃ per binary problem for the SVM. */
  decisionFunction(x: FeatureMatrix): Float64Array {
    const s = this.trained;
    return decisionsOf(s, textFeatures(KIND, x, this.shape, s.vectorizer));
  }

  /** The fitted vectorizer (for tests and tools). */
  get vectorizer(): TfidfVectorizer {
    return this.trained.vectorizer;
  }

  topFeatures(perClass: number): Record<string, { feature: string; weight: number }[]> {
    const s = this.trained;
    const names = [...s.vectorizer.featureNames(), ...this.shape.featureNames];
    const ranked = (w: Float64Array, sign: number) =>
      names
        .map((feature, j) => ({ feature, weight: sign * w[j]! }))
        .sort((a, b) => b.weight - a.weight || (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0))
        .slice(0, perClass);
    const out: Record<string, { feature: string; weight: number }[]> = {};
    this.shape.classes.forEach((label, k) => {
      out[label] =
        s.weights.length === 1 ? ranked(s.weights[0]!, k === 1 ? 1 : -1) : ranked(s.weights[k]!, 1);
    });
    return out;
  }

  async save(dir: string): Promise<void> {
    const s = this.trained;
    const file: LinearFile = {
      format: FORMAT,
      version: FORMAT_VERSION,
      kind: KIND,
      settings: this.settings,
      classes: s.classes,
      cols: s.cols,
      // JSON numbers round-trip float64 exactly (shortest round-trip printing).
      weights: s.weights.map((w) => Array.from(w)),
      temperature: s.temperature,
      iteration: s.iteration,
      converged: s.converged,
    };
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, VOCABULARY_FILE), `${JSON.stringify(s.vectorizer.state)}\n`, "utf8");
    await writeFile(path.join(dir, MODEL_FILE), `${JSON.stringify(file)}\n`, "utf8");
  }

  dispose(): void {
    this.state = undefined;
  }

  summary(): Record<string, number | string | boolean> {
    const s = this.trained;
    return {
      loss: this.settings.loss,
      vocabulary: s.vectorizer.size,
      denseFeatures: this.shape.featureNames.length,
      classifiers: s.weights.length,
      parameters: s.weights.length * (s.cols + 1),
      iterations: s.iteration,
      converged: s.converged,
      temperature: s.temperature,
    };
  }
}

interface LinearFile {
  format: string;
  version: number;
  kind: string;
  settings: TfidfLinearSettings;
  classes: number;
  cols: number;
  weights: number[][];
  temperature: number;
  iteration: number;
  converged: boolean;
}

function invalid(dir: string, problem: string): WorkbenchError {
  return new WorkbenchError(
    "TEXT_MODEL_INVALID",
    `The ${KIND} model in ${dir} cannot be loaded: ${problem}.`,
    {
      details: { dir },
    },
  );
}

const finiteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

async function readJson(dir: string, file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path.join(dir, file), "utf8")) as unknown;
  } catch (error) {
    throw invalid(dir, `missing or unreadable ${file} (${(error as Error).message})`);
  }
}

/** Reads what TfidfLinearModel.save wrote; the saved settings must be the ones the package declares. */
export async function loadTfidfLinear(
  dir: string,
  settings: TfidfLinearSettings,
  shape: ModelShape,
): Promise<TfidfLinearModel> {
  const file = (await readJson(dir, MODEL_FILE)) as LinearFile;
  if (file === null || typeof file !== "object" || file.format !== FORMAT)
    throw invalid(dir, `${MODEL_FILE} is not a ${FORMAT} file`);
  if (typeof file.version !== "number" || file.version > FORMAT_VERSION)
    throw new WorkbenchError(
      "TEXT_MODEL_VERSION",
      `The ${KIND} model in ${dir} has format version ${String(file.version)}; this build reads up to ${FORMAT_VERSION}.`,
      { details: { dir, version: file.version } },
    );
  if (JSON.stringify(file.settings) !== JSON.stringify(settings))
    throw invalid(
      dir,
      `it was trained with ${JSON.stringify(file.settings)}, the package declares ${JSON.stringify(settings)}`,
    );
  const vectorizer = tfidfFromJson(await readJson(dir, VOCABULARY_FILE), path.join(dir, VOCABULARY_FILE));
  const cols = vectorizer.size + shape.featureNames.length;
  if (file.classes !== shape.classes.length || file.cols !== cols)
    throw invalid(
      dir,
      `it takes ${String(file.cols)} columns and ${String(file.classes)} classes; the vocabulary and package declare ${cols} and ${shape.classes.length}`,
    );
  const outputs = settings.loss !== "softmax" && file.classes === 2 ? 1 : file.classes;
  if (
    !Array.isArray(file.weights) ||
    file.weights.length !== outputs ||
    !file.weights.every((w) => Array.isArray(w) && w.length === cols + 1 && w.every(finiteNumber))
  )
    throw invalid(dir, `expected ${outputs} weight vectors of ${cols + 1} numbers`);
  if (!finiteNumber(file.temperature) || file.temperature < 0)
    throw invalid(dir, "temperature is not a number ≥ 0");
  return new TfidfLinearModel(settings, shape, {
    vectorizer,
    classes: file.classes,
    cols,
    weights: file.weights.map((w) => Float64Array.from(w)),
    temperature: file.temperature,
    iteration: Number.isInteger(file.iteration) ? file.iteration : 0,
    converged: file.converged === true,
  });
}
