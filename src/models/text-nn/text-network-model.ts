// A sequence network over text behind the Model seam: fits a Tokenizer on the training texts, encodes every text
// into maxLength token ids, and trains a TensorFlow.js network on the ids through NetworkModel (the same seeded
// shuffle, class weights, early stopping with the best epoch restored, and model.json + weights.bin as the mlp
// kind). save(dir) writes tokenizer.json and encoding.json beside the weights; load reads them back, so serving
// encodes exactly as training did.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type * as tfl from "@tensorflow/tfjs-layers";
import type { FeatureMatrix } from "../../features/preprocessor.js";
import { type EncodeOptions, Tokenizer } from "../../features/text/tokenizer.js";
import { WorkbenchError } from "../../shared/errors.js";
import { initTf } from "../backend.js";
import { checkFitData, checkInput, notTrained } from "../fit-checks.js";
import { loadNetwork, NetworkModel } from "../kinds/network.js";
import type { FitData, FitOptions, FitResult, Model, ModelShape } from "../model.js";
import { registerTextLayers } from "./layers.js";
import type { SequenceParams } from "./params.js";
import { modelTexts } from "./texts.js";

const TOKENIZER_JSON = "tokenizer.json";
const ENCODING_JSON = "encoding.json";
// Rows per forward pass when predicting: bounds the activations (rows × maxLength × width) of a large batch.
const PREDICT_CHUNK = 1024;

/** Builds the compiled network for a vocabulary of `vocabularySize` ids (padding and OOV included). */
export type TextNetworkBuilder = (
  vocabularySize: number,
  maxLength: number,
  classes: number,
  seed: number,
) => tfl.LayersModel;

/** How training texts were encoded, and how much of them the vocabulary covered (saved as encoding.json). */
interface EncodingRecord extends EncodeOptions {
  trainOovRate: number;
  validationOovRate: number;
  /** Share of training texts longer than maxLength tokens. */
  trainTruncatedShare: number;
}

function encodedMatrix(encoded: { ids: Int32Array; rows: number; maxLength: number }): FeatureMatrix {
  return {
    rows: encoded.rows,
    cols: encoded.maxLength,
    values: Float32Array.from(encoded.ids),
    featureNames: [],
  };
}

export class TextNetworkModel implements Model {
  private network: NetworkModel | undefined;
  private tokenizer: Tokenizer | undefined;
  private encoding: EncodingRecord | undefined;

  constructor(
    readonly kind: string,
    private readonly params: SequenceParams,
    private readonly shape: ModelShape,
    private readonly build: TextNetworkBuilder,
    loaded?: { network: tfl.LayersModel; tokenizer: Tokenizer; encoding: EncodingRecord },
  ) {
    if (loaded) {
      this.network = this.wrap(loaded.tokenizer, loaded.network);
      this.tokenizer = loaded.tokenizer;
      this.encoding = loaded.encoding;
    }
  }

  private get textColumns(): string[] {
    return this.shape.textColumns ?? [];
  }

  private wrap(tokenizer: Tokenizer, loaded?: tfl.LayersModel): NetworkModel {
    registerTextLayers();
    return new NetworkModel(
      this.kind,
      this.params,
      this.shape,
      (maxLength, classes, seed) => this.build(tokenizer.size, maxLength, classes, seed),
      loaded,
    );
  }

  private encodeOptions(): EncodeOptions {
    return (
      this.encoding ?? {
        maxLength: this.params.maxLength,
        truncation: this.params.truncation,
        padding: "end",
      }
    );
  }

  async fit(data: FitData, options: FitOptions): Promise<FitResult> {
    // The backend first (WebAssembly here): everything below may create tensors.
    await initTf();
    checkFitData(this.kind, "TEXT_TRAIN_DATA_INVALID", data, this.shape);
    if (this.textColumns.length === 0)
      throw new WorkbenchError(
        "TEXT_TRAIN_DATA_INVALID",
        `${this.kind}: the data has no text column; use a tabular kind or declare a column as type: text.`,
        { details: { kind: this.kind } },
      );
    const trainTexts = modelTexts(this.kind, data.train, this.textColumns);
    const validationTexts = modelTexts(this.kind, data.validation, this.textColumns);
    const tokenizer = Tokenizer.fit(trainTexts, {
      minFrequency: this.params.minFrequency,
      maxSize: this.params.maxVocabulary,
    });
    const encode: EncodeOptions = {
      maxLength: this.params.maxLength,
      truncation: this.params.truncation,
      padding: "end",
    };
    const train = tokenizer.encode(trainTexts, encode);
    const validation = tokenizer.encode(validationTexts, encode);
    this.dispose();
    this.tokenizer = tokenizer;
    this.encoding = {
      ...encode,
      trainOovRate: train.oovRate,
      validationOovRate: validation.oovRate,
      trainTruncatedShare: train.rows === 0 ? 0 : train.truncated / train.rows,
    };
    this.network = this.wrap(tokenizer);
    return this.network.fit(
      {
        train: encodedMatrix(train),
        trainLabels: data.trainLabels,
        validation: encodedMatrix(validation),
        validationLabels: data.validationLabels,
        classes: data.classes,
      },
      options,
    );
  }

  predict(x: FeatureMatrix): Float32Array {
    if (this.network === undefined || this.tokenizer === undefined) throw notTrained(this.kind);
    checkInput(this.kind, x, this.shape.featureNames.length);
    const texts = modelTexts(this.kind, x, this.textColumns);
    const k = this.shape.classes.length;
    const out = new Float32Array(x.rows * k);
    for (let start = 0; start < x.rows; start += PREDICT_CHUNK) {
      const chunk = texts.slice(start, start + PREDICT_CHUNK);
      const encoded = this.tokenizer.encode(chunk, this.encodeOptions());
      out.set(this.network.predict(encodedMatrix(encoded)), start * k);
    }
    return out;
  }

  async save(dir: string): Promise<void> {
    if (this.network === undefined || this.tokenizer === undefined || this.encoding === undefined)
      throw notTrained(this.kind);
    await this.network.save(dir);
    await writeFile(path.join(dir, TOKENIZER_JSON), JSON.stringify(this.tokenizer.toJSON()), "utf8");
    await writeFile(path.join(dir, ENCODING_JSON), `${JSON.stringify(this.encoding, null, 2)}\n`, "utf8");
  }

  dispose(): void {
    this.network?.dispose();
    this.network = undefined;
  }

  summary(): Record<string, number | string | boolean> {
    if (this.network === undefined || this.tokenizer === undefined || this.encoding === undefined)
      throw notTrained(this.kind);
    return {
      ...this.network.summary(),
      vocabulary: this.tokenizer.vocabulary.length,
      maxLength: this.encoding.maxLength,
      trainOovRate: this.encoding.trainOovRate,
      validationOovRate: this.encoding.validationOovRate,
      trainTruncatedShare: this.encoding.trainTruncatedShare,
    };
  }
}

async function readJson(file: string, kind: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new WorkbenchError(
      "TEXT_MODEL_FILES_MISSING",
      `${kind}: ${path.basename(file)} is missing from ${path.dirname(file)}; the model folder is incomplete (re-train or re-download the package).`,
      { cause, details: { file } },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new WorkbenchError("TOKENIZER_STATE_INVALID", `${kind}: ${file} is not valid JSON.`, {
      cause,
      details: { file },
    });
  }
}

function isEncodingRecord(value: unknown): value is EncodingRecord {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    Number.isInteger(v.maxLength) &&
    (v.maxLength as number) > 0 &&
    (v.truncation === "end" || v.truncation === "start") &&
    (v.padding === "end" || v.padding === "start") &&
    typeof v.trainOovRate === "number" &&
    typeof v.validationOovRate === "number" &&
    typeof v.trainTruncatedShare === "number"
  );
}

/** Loads what TextNetworkModel.save wrote into `dir`. */
export async function loadTextNetwork(
  kind: string,
  dir: string,
  params: SequenceParams,
  shape: ModelShape,
  build: TextNetworkBuilder,
): Promise<TextNetworkModel> {
  const tokenizer = Tokenizer.fromJSON(await readJson(path.join(dir, TOKENIZER_JSON), kind));
  const encoding = await readJson(path.join(dir, ENCODING_JSON), kind);
  if (!isEncodingRecord(encoding))
    throw new WorkbenchError(
      "TOKENIZER_STATE_INVALID",
      `${kind}: ${path.join(dir, ENCODING_JSON)} does not describe an encoding (maxLength, truncation, padding, OOV rates); the model folder is damaged.`,
      { details: { dir } },
    );
  registerTextLayers();
  const network = await loadNetwork(dir);
  return new TextNetworkModel(kind, params, shape, build, { network, tokenizer, encoding });
}
