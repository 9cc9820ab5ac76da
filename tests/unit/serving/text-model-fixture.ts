// A real text model package for the serving and batch-scoring tests: tfidf-linear fitted on part of the
// complaints sample (the datasets mirror), written with writeModelPackage and read back with loadModelPackage,
// as serving loads a registered one. Not a test file: imported by the *text* tests.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import type { FeatureMatrix, PreprocessorState } from "../../../src/features/preprocessor.js";
import { DEFAULT_TEXT_NORMALIZE, normalizeText } from "../../../src/features/text/normalize.js";
import { modelKind } from "../../../src/models/kinds/index.js";
import {
  loadModelPackage,
  type ModelMeta,
  PACKAGE_FORMAT_VERSION,
  writeModelPackage,
} from "../../../src/registry/model-package.js";
import type { SignatureColumn, TextInputRule } from "../../../src/registry/signature.js";
import { Predictor } from "../../../src/serving/predictor.js";
import { datasetMirror } from "../../helpers/datasets.js";

export const TEXT = "Consumer complaint narrative";

/** The complaints sample's rows (raw narratives, products), in file order. */
export function complaintRows(): { text: string; product: string }[] {
  const mirror = datasetMirror();
  if (mirror === undefined) throw new Error("no datasets mirror: set WORKBENCH_DATA_MIRROR");
  const rows = parse(readFileSync(path.join(mirror, "complaints", "complaints_sample.csv"), "utf8"), {
    columns: true,
    skip_empty_lines: true,
  }) as Record<string, string>[];
  return rows.map((r) => ({ text: r[TEXT] ?? "", product: r.Product ?? "" }));
}

/** What the package's model was fitted on, and the package loaded as the service loads one. */
export interface TextPackage {
  dir: string;
  predictor: Predictor;
  classes: string[];
  /** Raw narratives not used for fitting (every 3rd row of the sample). */
  heldOut: string[];
}

/**
 * Fits tfidf-linear (softmax) on two thirds of the complaints sample and writes its package to `dir`, whose only
 * input is the text column with `rule`.
 */
export async function textPackage(
  dir: string,
  rule: TextInputRule = { maxLength: 20_000, overLength: "truncate" },
  options: { nullable?: boolean; params?: Record<string, unknown> } = {},
): Promise<TextPackage> {
  const rows = complaintRows().filter((r) => r.text.trim() !== "");
  const fit = rows.filter((_, i) => i % 3 !== 0);
  const heldOut = rows.filter((_, i) => i % 3 === 0).map((r) => r.text);
  const classes = [...new Set(rows.map((r) => r.product))].sort();
  const matrix = (texts: string[]): FeatureMatrix => ({
    rows: texts.length,
    cols: 0,
    values: new Float32Array(0),
    featureNames: [],
    texts: { [TEXT]: texts.map((t) => normalizeText(t.slice(0, rule.maxLength), DEFAULT_TEXT_NORMALIZE)) },
  });
  const train = fit.filter((_, i) => i % 5 !== 0);
  const validation = fit.filter((_, i) => i % 5 === 0);
  const shape = { featureNames: [], classes, textColumns: [TEXT] };
  const kind = modelKind("tfidf-linear");
  const params = kind.params.parse({ maxIter: 60, ...options.params }) as Record<string, unknown>;
  const model = await kind.create(params, shape);
  await model.fit(
    {
      train: matrix(train.map((r) => r.text)),
      trainLabels: Int32Array.from(train, (r) => classes.indexOf(r.product)),
      validation: matrix(validation.map((r) => r.text)),
      validationLabels: Int32Array.from(validation, (r) => classes.indexOf(r.product)),
      classes,
    },
    {
      seed: 7,
      selectionMetric: "f1_macro",
      classWeight: "none",
      earlyStopping: { patience: 5, minDelta: 0 },
    },
  );
  const preprocessor = {
    version: 1,
    engineered: [],
    numeric: [],
    categorical: [],
    text: [{ name: TEXT, normalize: DEFAULT_TEXT_NORMALIZE }],
    clip: 8,
    featureNames: [],
  } as PreprocessorState;
  const input: SignatureColumn = { name: TEXT, type: "string", required: !options.nullable, text: rule };
  const meta: ModelMeta = {
    formatVersion: PACKAGE_FORMAT_VERSION,
    name: "complaints-text",
    kind: "tfidf-linear",
    params,
    target: "Product",
    classes,
    positiveClass: undefined,
    threshold: undefined,
    inputs: [input],
    featureNames: [],
    metrics: {},
    backend: "cpu",
    dataFingerprint: "",
    trainedAt: new Date(0).toISOString(),
  };
  await writeModelPackage(dir, {
    model,
    preprocessor,
    meta,
    example: heldOut.slice(0, 2).map((t) => ({ [TEXT]: t })),
  });
  model.dispose();
  const packaged = await loadModelPackage(dir);
  const predictor = new Predictor(packaged, {
    uri: dir,
    name: meta.name,
    version: "1",
    alias: undefined,
    runId: undefined,
    modelId: undefined,
  });
  return { dir, predictor, classes, heldOut };
}
