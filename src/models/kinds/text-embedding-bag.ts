// Embedding bag (fastText-like): token embeddings, their masked mean (and/or max) over the text, then dense layers.
// Reads the text columns only (the dense features are refused by checkData); one iteration = one epoch.
import * as tfl from "@tensorflow/tfjs-layers";
import { z } from "zod";
import { defineKind } from "../model.js";
import { denseHead, embed, MaskedPooling, seededInit } from "../text-nn/layers.js";
import { checkSequenceData, sequenceCost, sequenceParamFields } from "../text-nn/params.js";
import { loadTextNetwork, type TextNetworkBuilder, TextNetworkModel } from "../text-nn/text-network-model.js";
import { compileNetwork } from "./network.js";

export const textEmbeddingBagParams = z
  .object({
    ...sequenceParamFields({
      maxLength: 400,
      embeddingDim: 64,
      dropout: 0.2,
      learningRate: 0.005,
      epochs: 30,
      batchSize: 32,
    }),
    /** How the token vectors of a text become one vector (padding excluded). */
    pooling: z.enum(["mean", "max", "mean-max"]).default("mean"),
    /** Dense layers between the pooled vector and the output (none: a linear classifier on the pooled vector). */
    hiddenUnits: z.array(z.number().int().positive()).default([64]),
  })
  .strict();
export type TextEmbeddingBagParams = z.infer<typeof textEmbeddingBagParams>;

function build(params: TextEmbeddingBagParams): TextNetworkBuilder {
  return (vocabularySize, maxLength, classes, seed) => {
    const init = seededInit(seed + 1);
    const input = tfl.input({ shape: [maxLength] });
    const embedded = embed(input, vocabularySize, params.embeddingDim, seed);
    const pooled = new MaskedPooling({ mode: params.pooling, zeroPadded: true }).apply(
      embedded,
    ) as tfl.SymbolicTensor;
    const output = denseHead(pooled, params.hiddenUnits, params.dropout, params.l2, classes, init);
    const model = tfl.model({ inputs: input, outputs: output });
    compileNetwork(model, classes, params.learningRate);
    return model;
  };
}

export const textEmbeddingBagKind = defineKind({
  kind: "text-embedding-bag",
  description:
    "Embedding bag over text (fastText-like), TensorFlow.js: word embeddings, masked mean/max pooling, dense layers, Adam; one iteration = one epoch.",
  iterationUnit: "epoch",
  input: "text",
  params: textEmbeddingBagParams,
  checkData: (_params, facts) => checkSequenceData("text-embedding-bag", facts),
  // ~6.5 ms of kernels per batch, ~8.3e-6 ms per row × position × dimension (lookup, pooling and their
  // gradients). Measured with the wasm kernels of wasm-kernels.ts (2026-12-01, quiet machine):
  // configs/complaints.yaml's text-embedding-bag (maxLength 300, 64 dims, batch 32), 1,187 rows: 0.47 s per epoch
  // (0.50 s estimated; before those kernels ~1.8 s). Early stopping ended it after 7 epochs where sequenceCost
  // counts 15, so the trial's estimate is 7.5 s against 3.3 s measured.
  estimateCost: (p, facts) => sequenceCost(p, facts, 6.5, 8.3e-6 * p.maxLength * p.embeddingDim),
  plannedIterations: (p) => p.epochs,
  withIterations: (p, epochs) => ({ ...p, epochs }),
  create: async (params, shape) => new TextNetworkModel("text-embedding-bag", params, shape, build(params)),
  load: async (dir, params, shape) =>
    loadTextNetwork("text-embedding-bag", dir, params, shape, build(params)),
});
