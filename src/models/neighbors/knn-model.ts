// k-nearest neighbours behind the Model seam: features standardised with the training matrix's mean and
// standard deviation, a seeded stratified sample of at most maxRows training rows kept as the reference set,
// exact brute-force search (search.ts), probabilities = (distance- and class-weighted) neighbour class shares.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { FeatureMatrix } from "../../features/preprocessor.js";
import { WorkbenchError } from "../../shared/errors.js";
import { createRng, deriveSeed } from "../../shared/random.js";
import { checkFitData, checkInput, notTrained } from "../fit-checks.js";
import { classWeights, IterationTracker } from "../iterations.js";
import { stratifiedSample, takeRows } from "../linear/fit-data.js";
import type { FitData, FitOptions, FitResult, Model, ModelShape } from "../model.js";
import {
  buildIndex,
  indexFromPadded,
  kNearest,
  type Metric,
  type NeighborIndex,
  type Neighbors,
  paddedRows,
  releaseKernelMemory,
  strideFor,
} from "./search.js";

export interface KnnSettings {
  k: number;
  weights: "uniform" | "distance";
  metric: Metric;
  maxRows: number;
  /** Pseudo-neighbours per class added to the votes (0 = the plain vote shares). */
  smoothing: number;
}

/** Per-feature standardisation: z = (x − mean) · scale, scale = 1/std, or 0 for a constant feature. */
export interface Standardizer {
  mean: Float64Array;
  scale: Float64Array;
}

interface KnnState {
  settings: KnnSettings;
  standardizer: Standardizer;
  index: NeighborIndex;
  /** Class index of every stored row. */
  labels: Int32Array;
  /** Vote multiplier per class (1s, or balanced weights of the full training set). */
  classWeights: Float64Array;
  /** Rows of the training set (the stored rows are a sample of them when there were more than maxRows). */
  trainingRows: number;
}

const FORMAT = "workbench-knn";
const FORMAT_VERSION = 1;
const HEADER_FILE = "knn.json";
const ARRAYS_FILE = "knn.bin";
/** Query rows standardised and searched at a time (bounds predict's scratch memory). */
const PREDICT_CHUNK = 4096;
const EPS = 2 ** -52;

/**
 * Mean and population standard deviation of every column over its finite values (two passes, float64). A
 * column is constant — scale 0, so it standardises to 0 for every row — when its variance is within
 * rounding of zero (scikit-learn's StandardScaler test: var ≤ n·ε·var + (n·mean·ε)²), or has no finite value.
 */
export function fitStandardizer(x: FeatureMatrix): Standardizer {
  const { rows, cols, values } = x;
  const sum = new Float64Array(cols);
  const count = new Float64Array(cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const v = values[i * cols + j]!;
      if (Number.isFinite(v)) {
        sum[j]! += v;
        count[j]!++;
      }
    }
  const mean = Float64Array.from(sum, (s, j) => (count[j]! > 0 ? s / count[j]! : 0));
  const squares = new Float64Array(cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const v = values[i * cols + j]!;
      if (Number.isFinite(v)) {
        const dv = v - mean[j]!;
        squares[j]! += dv * dv;
      }
    }
  const scale = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    const n = count[j]!;
    if (n === 0) continue;
    const variance = squares[j]! / n;
    const constant = variance <= n * EPS * variance + (n * mean[j]! * EPS) ** 2;
    scale[j] = constant ? 0 : 1 / Math.sqrt(variance);
  }
  return { mean, scale };
}

/**
 * Standardised rows [from, to) of `x`, padded to the search stride, written into `out`. A missing
 * (non-finite) value becomes 0 — the training mean — so it neither attracts nor repels neighbours.
 */
export function standardize(
  x: FeatureMatrix,
  s: Standardizer,
  from: number,
  to: number,
  out: Float32Array,
): Float32Array {
  const { cols, values } = x;
  const stride = strideFor(cols);
  const target = out.subarray(0, (to - from) * stride);
  target.fill(0);
  for (let i = from; i < to; i++) {
    const o = (i - from) * stride;
    const a = i * cols;
    for (let j = 0; j < cols; j++) {
      const v = values[a + j]!;
      target[o + j] = Number.isFinite(v) ? (v - s.mean[j]!) * s.scale[j]! : 0;
    }
  }
  return target;
}

/**
 * Class probabilities from neighbours: each neighbour votes for its class with weight w(d) · classWeight,
 * w = 1 (uniform) or 1/d (distance; when some neighbours are at distance 0, they alone vote, with weight 1 —
 * scikit-learn's rule). With smoothing α = 0 the probabilities are the vote shares sᶜ (scikit-learn's
 * predict_proba). With α > 0 they are (k·sᶜ + α) / (k + K·α): α pseudo-neighbours per class (Laplace's rule
 * for uniform votes), a floor that keeps a class no neighbour voted for above 0 — log-loss (a selection
 * metric, and the validation loss) is otherwise dominated by confident misses at probability 0. The floor
 * is monotone in the shares, so rankings (ROC AUC) and arg-max decisions do not change.
 */
export function voteShares(
  labels: Int32Array,
  classWeight: Float64Array,
  neighbors: Neighbors,
  rows: number,
  settings: Pick<KnnSettings, "weights" | "smoothing">,
  out: Float32Array,
  outOffset: number,
): void {
  const { k, indices, distances } = neighbors;
  const { weights, smoothing } = settings;
  const classes = classWeight.length;
  const votes = new Float64Array(classes);
  for (let r = 0; r < rows; r++) {
    votes.fill(0);
    const b = r * k;
    let exact = false;
    if (weights === "distance") for (let j = 0; j < k; j++) if (distances[b + j] === 0) exact = true;
    for (let j = 0; j < k; j++) {
      const d = distances[b + j]!;
      const w = weights === "uniform" ? 1 : exact ? (d === 0 ? 1 : 0) : 1 / d;
      const c = labels[indices[b + j]!]!;
      votes[c]! += w * classWeight[c]!;
    }
    let total = 0;
    for (let c = 0; c < classes; c++) total += votes[c]!;
    const o = outOffset + r * classes;
    for (let c = 0; c < classes; c++) {
      const share = total > 0 ? votes[c]! / total : 1 / classes;
      out[o + c] = smoothing === 0 ? share : (k * share + smoothing) / (k + classes * smoothing);
    }
  }
}

export class KnnModel implements Model {
  readonly kind = "knn";
  private state: KnnState | undefined;

  constructor(
    private readonly settings: KnnSettings,
    private readonly shape: ModelShape,
    loaded?: KnnState,
  ) {
    this.state = loaded;
  }

  private get trained(): KnnState {
    if (this.state === undefined) throw notTrained(this.kind);
    return this.state;
  }

  /** Stores the (sampled) standardised training rows; one iteration, scored on validation. */
  async fit(data: FitData, options: FitOptions): Promise<FitResult> {
    checkFitData(this.kind, "KNN_TRAIN_DATA_INVALID", data, this.shape);
    const { k, maxRows } = this.settings;
    const stored = Math.min(data.train.rows, maxRows);
    if (k > stored)
      throw new WorkbenchError(
        "KNN_K_TOO_LARGE",
        `knn: k = ${k} is larger than the ${stored} reference rows (${data.train.rows} training rows, maxRows ${maxRows}).`,
        { details: { param: "k", k, rows: data.train.rows, maxRows } },
      );
    const started = performance.now();
    const classes = this.shape.classes.length;
    const standardizer = fitStandardizer(data.train);
    let x = data.train;
    let labels = data.trainLabels;
    if (data.train.rows > maxRows) {
      const { chosen } = stratifiedSample(
        data.trainLabels,
        classes,
        maxRows,
        createRng(deriveSeed(options.seed, "knn-sample")),
      );
      x = takeRows(data.train, chosen);
      labels = Int32Array.from(chosen, (r) => data.trainLabels[r]!);
    }
    const z = new Float32Array(paddedRows(x.rows) * strideFor(x.cols));
    standardize(x, standardizer, 0, x.rows, z);
    this.state = {
      settings: this.settings,
      standardizer,
      index: indexFromPadded(z, x.rows, x.cols),
      labels,
      classWeights: classWeights(data.trainLabels, classes, options.classWeight),
      trainingRows: data.train.rows,
    };
    const tracker = new IterationTracker(data, options, 1);
    tracker.step(1, { loss: Number.NaN, validationProbabilities: this.predict(data.validation), started });
    return tracker.result();
  }

  predict(x: FeatureMatrix): Float32Array {
    const s = this.trained;
    checkInput(this.kind, x, s.index.cols);
    const classes = s.classWeights.length;
    const out = new Float32Array(x.rows * classes);
    const { k, metric } = s.settings;
    const scratch = new Float32Array(Math.min(x.rows, PREDICT_CHUNK) * s.index.stride);
    for (let from = 0; from < x.rows; from += PREDICT_CHUNK) {
      const to = Math.min(x.rows, from + PREDICT_CHUNK);
      const queries = standardize(x, s.standardizer, from, to, scratch);
      const nb = kNearest(s.index, queries, to - from, k, metric);
      voteShares(s.labels, s.classWeights, nb, to - from, s.settings, out, from * classes);
    }
    return out;
  }

  async save(dir: string): Promise<void> {
    const s = this.trained;
    if (os.endianness() !== "LE")
      throw new WorkbenchError("KNN_MODEL_ENDIANNESS", "kNN models are written little-endian only.");
    const { rows, cols, stride } = s.index;
    const values = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++)
      values.set(s.index.values.subarray(i * stride, i * stride + cols), i * cols);
    const header: KnnHeader = {
      format: FORMAT,
      version: FORMAT_VERSION,
      kind: this.kind,
      settings: s.settings,
      rows,
      cols,
      classes: s.classWeights.length,
      trainingRows: s.trainingRows,
      mean: Array.from(s.standardizer.mean),
      scale: Array.from(s.standardizer.scale),
      classWeights: Array.from(s.classWeights),
      littleEndian: true,
    };
    await mkdir(dir, { recursive: true });
    const bytes = new Uint8Array(rows * cols * 4 + rows * 4);
    bytes.set(new Uint8Array(values.buffer, 0, values.byteLength), 0);
    bytes.set(new Uint8Array(s.labels.buffer, s.labels.byteOffset, s.labels.byteLength), values.byteLength);
    await writeFile(path.join(dir, ARRAYS_FILE), bytes);
    await writeFile(path.join(dir, HEADER_FILE), `${JSON.stringify(header, null, 1)}\n`, "utf8");
  }

  dispose(): void {
    if (this.state !== undefined) releaseKernelMemory(this.state.index);
    this.state = undefined;
  }

  summary(): Record<string, number | string | boolean> {
    const s = this.trained;
    return {
      k: s.settings.k,
      weights: s.settings.weights,
      metric: s.settings.metric,
      smoothing: s.settings.smoothing,
      storedRows: s.index.rows,
      trainingRows: s.trainingRows,
      sampled: s.index.rows < s.trainingRows,
      features: s.index.cols,
    };
  }
}

interface KnnHeader {
  format: string;
  version: number;
  kind: string;
  settings: KnnSettings;
  rows: number;
  cols: number;
  classes: number;
  trainingRows: number;
  mean: number[];
  scale: number[];
  classWeights: number[];
  littleEndian: boolean;
}

function invalid(dir: string, problem: string): WorkbenchError {
  return new WorkbenchError("KNN_MODEL_INVALID", `The kNN model in ${dir} cannot be loaded: ${problem}.`, {
    details: { dir },
  });
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;
const numbers = (v: unknown, n: number): v is number[] =>
  Array.isArray(v) && v.length === n && v.every((e) => typeof e === "number" && Number.isFinite(e));

/** Reads what KnnModel.save wrote; the saved settings must be the ones the package declares. */
export async function loadKnnModel(dir: string, settings: KnnSettings, shape: ModelShape): Promise<KnnModel> {
  let header: KnnHeader;
  let bytes: Uint8Array;
  try {
    header = JSON.parse(await readFile(path.join(dir, HEADER_FILE), "utf8")) as KnnHeader;
    bytes = new Uint8Array(await readFile(path.join(dir, ARRAYS_FILE)));
  } catch (error) {
    throw invalid(dir, `missing or unreadable ${HEADER_FILE}/${ARRAYS_FILE} (${(error as Error).message})`);
  }
  if (header === null || typeof header !== "object" || header.format !== FORMAT)
    throw invalid(dir, `${HEADER_FILE} is not a ${FORMAT} header`);
  if (typeof header.version !== "number" || header.version > FORMAT_VERSION)
    throw new WorkbenchError(
      "KNN_MODEL_VERSION",
      `The kNN model in ${dir} has format version ${String(header.version)}; this build reads up to ${FORMAT_VERSION}.`,
      { details: { dir, version: header.version } },
    );
  if (header.kind !== "knn") throw invalid(dir, `it holds a ${String(header.kind)} model`);
  if (header.littleEndian !== true || os.endianness() !== "LE") throw invalid(dir, "byte order");
  const { rows, cols, classes, trainingRows } = header;
  for (const [name, v] of Object.entries({ rows, cols, classes, trainingRows }))
    if (!isCount(v)) throw invalid(dir, `${name} is not a count`);
  if (cols !== shape.featureNames.length || classes !== shape.classes.length)
    throw invalid(
      dir,
      `it takes ${cols} features and ${classes} classes; the package declares ${shape.featureNames.length} and ${shape.classes.length}`,
    );
  const saved = header.settings;
  for (const key of ["k", "weights", "metric", "maxRows", "smoothing"] as const)
    if (saved?.[key] !== settings[key])
      throw invalid(
        dir,
        `it was trained with ${key} = ${String(saved?.[key])}, the package declares ${settings[key]}`,
      );
  if (!(rows >= settings.k && rows <= trainingRows))
    throw invalid(dir, `${rows} stored rows do not fit k and the training rows`);
  if (!numbers(header.mean, cols) || !numbers(header.scale, cols) || !numbers(header.classWeights, classes))
    throw invalid(dir, "mean, scale or class weights are missing or of the wrong length");
  if (bytes.length !== rows * cols * 4 + rows * 4) throw invalid(dir, `${ARRAYS_FILE} has the wrong size`);
  const values = new Float32Array(bytes.slice(0, rows * cols * 4).buffer);
  const labels = new Int32Array(bytes.slice(rows * cols * 4).buffer);
  for (const l of labels)
    if (!(l >= 0 && l < classes)) throw invalid(dir, `stored label ${l} is not a class index`);
  return new KnnModel(settings, shape, {
    settings,
    standardizer: { mean: Float64Array.from(header.mean), scale: Float64Array.from(header.scale) },
    index: buildIndex(values, rows, cols),
    labels,
    classWeights: Float64Array.from(header.classWeights),
    trainingRows,
  });
}
