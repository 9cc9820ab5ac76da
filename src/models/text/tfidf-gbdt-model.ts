// TF-IDF + gradient-boosted trees behind the Model seam (the tfidf-gbdt kind): the complaints system's
// LightGBM-over-TF-IDF recipe. The vectorizer (a small vocabulary, maxFeatures) is fitted on the training texts;
// its rows are made dense, the data's numeric/categorical columns appended as they are (missing values stay NaN,
// so the trees learn where they go), and the existing histogram engine (src/models/trees, as the gbdt kind drives
// it) boosts on that matrix. Feature importances are named by token. Files: tfidf.json beside the trees' files.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { FeatureMatrix } from "../../features/preprocessor.js";
import type { CsrMatrix } from "../../features/text/sparse.js";
import { TfidfVectorizer, tfidfFromJson } from "../../features/text/tfidf.js";
import { WorkbenchError } from "../../shared/errors.js";
import { checkFitData, notTrained } from "../fit-checks.js";
import type { FeatureImportance, FitData, FitOptions, FitResult, Model, ModelShape } from "../model.js";
import { type GbdtTrainParams, trainGbdt } from "../trees/boosting.js";
import { loadTreeModel, TreeModel } from "../trees/tree-model.js";
import { checkDense, rowTexts } from "./text-input.js";
import { type TfidfParams, tfidfOptions } from "./tfidf-params.js";

export interface TfidfGbdtSettings extends TfidfParams, GbdtTrainParams {}

const KIND = "tfidf-gbdt";
const VOCABULARY_FILE = "tfidf.json";

/** TF-IDF rows (dense) followed by the dense part of `x`, as the tree engine's feature matrix. */
function denseFeatures(tfidf: CsrMatrix, x: FeatureMatrix, featureNames: string[]): FeatureMatrix {
  const cols = tfidf.cols + x.cols;
  const values = new Float32Array(tfidf.rows * cols);
  for (let r = 0; r < tfidf.rows; r++) {
    const o = r * cols;
    for (let k = tfidf.indptr[r]!; k < tfidf.indptr[r + 1]!; k++)
      values[o + tfidf.indices[k]!] = tfidf.data[k]!;
    if (x.cols > 0) values.set(x.values.subarray(r * x.cols, (r + 1) * x.cols), o + tfidf.cols);
  }
  return { rows: tfidf.rows, cols, values, featureNames };
}

export class TfidfGbdtModel implements Model {
  readonly kind = KIND;
  private fitted: { vectorizer: TfidfVectorizer; trees: TreeModel } | undefined;

  constructor(
    private readonly settings: TfidfGbdtSettings,
    private readonly shape: ModelShape,
    loaded?: { vectorizer: TfidfVectorizer; trees: TreeModel },
  ) {
    this.fitted = loaded;
  }

  private get trained(): { vectorizer: TfidfVectorizer; trees: TreeModel } {
    if (this.fitted === undefined) throw notTrained(KIND);
    return this.fitted;
  }

  private treeShape(vectorizer: TfidfVectorizer): ModelShape {
    return {
      featureNames: [...vectorizer.featureNames(), ...this.shape.featureNames],
      classes: this.shape.classes,
      textColumns: [],
    };
  }

  private features(x: FeatureMatrix, vectorizer: TfidfVectorizer): FeatureMatrix {
    checkDense(KIND, x, this.shape);
    const texts = rowTexts(KIND, x, this.shape.textColumns ?? []);
    return denseFeatures(vectorizer.transform(texts), x, this.treeShape(vectorizer).featureNames);
  }

  async fit(data: FitData, options: FitOptions): Promise<FitResult> {
    checkFitData(KIND, "TEXT_TRAIN_DATA_INVALID", data, this.shape);
    const texts = rowTexts(KIND, data.train, this.shape.textColumns ?? []);
    const vectorizer = TfidfVectorizer.fit(texts, tfidfOptions(this.settings));
    const trees = new TreeModel(
      KIND,
      this.treeShape(vectorizer),
      (d, o) => trainGbdt(d, o, this.settings),
      "rounds",
    );
    const result = await trees.fit(
      {
        ...data,
        train: this.features(data.train, vectorizer),
        validation: this.features(data.validation, vectorizer),
      },
      options,
    );
    this.fitted = { vectorizer, trees };
    return result;
  }

  predict(x: FeatureMatrix): Float32Array {
    const { vectorizer, trees } = this.trained;
    return trees.predict(this.features(x, vectorizer));
  }

  /** The fitted vectorizer (for tests and tools). */
  get vectorizer(): TfidfVectorizer {
    return this.trained.vectorizer;
  }

  async save(dir: string): Promise<void> {
    const { vectorizer, trees } = this.trained;
    await trees.save(dir);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, VOCABULARY_FILE), `${JSON.stringify(vectorizer.state)}\n`, "utf8");
  }

  dispose(): void {
    this.fitted?.trees.dispose();
    this.fitted = undefined;
  }

  summary(): Record<string, number | string | boolean> {
    const { vectorizer, trees } = this.trained;
    return { vocabulary: vectorizer.size, denseFeatures: this.shape.featureNames.length, ...trees.summary() };
  }

  /** Split gain per token (and dense feature), largest first. */
  importance(): FeatureImportance[] {
    return this.trained.trees.importance();
  }
}

/** Reads what TfidfGbdtModel.save wrote. */
export async function loadTfidfGbdt(
  dir: string,
  settings: TfidfGbdtSettings,
  shape: ModelShape,
): Promise<TfidfGbdtModel> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path.join(dir, VOCABULARY_FILE), "utf8")) as unknown;
  } catch (error) {
    throw new WorkbenchError(
      "TEXT_MODEL_INVALID",
      `The ${KIND} model in ${dir} cannot be loaded: missing or unreadable ${VOCABULARY_FILE} (${(error as Error).message}).`,
      { details: { dir } },
    );
  }
  const vectorizer = tfidfFromJson(json, path.join(dir, VOCABULARY_FILE));
  const treeShape: ModelShape = {
    featureNames: [...vectorizer.featureNames(), ...shape.featureNames],
    classes: shape.classes,
    textColumns: [],
  };
  const trees = await loadTreeModel(dir, KIND, treeShape, (d, o) => trainGbdt(d, o, settings), "rounds");
  return new TfidfGbdtModel(settings, shape, { vectorizer, trees });
}
