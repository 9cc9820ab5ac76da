// The kinds table: every model family the config, the pipeline, serving and the package loader know about.
// Adding a kind = one file in this folder exporting a ModelKind, and one line here.
import { ConfigError } from "../../shared/errors.js";
import type { ModelKind } from "../model.js";
import { decisionTreeKind } from "./decision-tree.js";
import { gbdtKind } from "./gbdt.js";
import { knnKind } from "./knn.js";
import { linearSvmKind } from "./linear-svm.js";
import { logisticKind } from "./logistic.js";
import { mlpKind } from "./mlp.js";
import { randomForestKind } from "./random-forest.js";
import { textCnnKind } from "./text-cnn.js";
import { textEmbeddingBagKind } from "./text-embedding-bag.js";
import { textGruKind } from "./text-gru.js";
import { tfidfGbdtKind } from "./tfidf-gbdt.js";
import { tfidfLinearKind } from "./tfidf-linear.js";

export const KINDS = {
  logistic: logisticKind,
  mlp: mlpKind,
  gbdt: gbdtKind,
  "random-forest": randomForestKind,
  "decision-tree": decisionTreeKind,
  knn: knnKind,
  "linear-svm": linearSvmKind,
  "tfidf-linear": tfidfLinearKind,
  "tfidf-gbdt": tfidfGbdtKind,
  "text-embedding-bag": textEmbeddingBagKind,
  "text-cnn": textCnnKind,
  "text-gru": textGruKind,
} as const;

export type KindName = keyof typeof KINDS;
export const KIND_NAMES = Object.keys(KINDS) as [KindName, ...KindName[]];

/** The kind named `name`, or a MODEL_KIND_UNKNOWN error listing the known ones. */
export function modelKind(name: string): ModelKind {
  if (!Object.hasOwn(KINDS, name))
    throw new ConfigError(`Unknown model kind '${name}' (known: ${KIND_NAMES.join(", ")}).`, {
      code: "MODEL_KIND_UNKNOWN",
      details: { kind: name },
    });
  return KINDS[name as KindName] as unknown as ModelKind;
}
