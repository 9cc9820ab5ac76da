// 1-D CNN over text (Kim 2014): word embeddings, convolutions of one or more widths, global max pooling over the
// text, dense layers. Reads the text columns only (the dense features are refused by checkData); one iteration =
// one epoch.
import * as tfl from "@tensorflow/tfjs-layers";
import { z } from "zod";
import { defineKind } from "../model.js";
import { denseHead, embed, MaskedPooling, seededInit } from "../text-nn/layers.js";
import { checkSequenceData, sequenceCost, sequenceParamFields } from "../text-nn/params.js";
import { SequenceConv } from "../text-nn/sequence-conv.js";
import { loadTextNetwork, type TextNetworkBuilder, TextNetworkModel } from "../text-nn/text-network-model.js";
import { compileNetwork } from "./network.js";

const positiveInt = z.number().int().positive();

export const textCnnParams = z
  .object({
    ...sequenceParamFields({
      maxLength: 300,
      embeddingDim: 64,
      dropout: 0.3,
      learningRate: 0.002,
      epochs: 20,
      batchSize: 32,
    }),
    /** Convolution widths in tokens, one convolution (and one pooled vector) per width. */
    kernelSizes: z.array(positiveInt).min(1).default([3, 4, 5]),
    /** Filters per width. */
    filters: positiveInt.default(64),
    /** Dense layers after the pooled vectors (none: the output layer reads them directly). */
    hiddenUnits: z.array(positiveInt).default([]),
  })
  .strict();
export type TextCnnParams = z.infer<typeof textCnnParams>;

function build(params: TextCnnParams): TextNetworkBuilder {
  return (vocabularySize, maxLength, classes, seed) => {
    const init = seededInit(seed + 1);
    const input = tfl.input({ shape: [maxLength] });
    const embedded = embed(input, vocabularySize, params.embeddingDim, seed);
    const pooled = params.kernelSizes.map((kernelSize, i) => {
      const conv = new SequenceConv({
        filters: params.filters,
        kernelSize,
        l2: params.l2,
        seed: seed + 100 + i,
      }).apply(embedded) as tfl.SymbolicTensor;
      return new MaskedPooling({ mode: "max" }).apply(conv) as tfl.SymbolicTensor;
    });
    const features =
      pooled.length === 1 ? pooled[0]! : (tfl.layers.concatenate().apply(pooled) as tfl.SymbolicTensor);
    const output = denseHead(features, params.hiddenUnits, params.dropout, params.l2, classes, init);
    const model = tfl.model({ inputs: input, outputs: output });
    compileNetwork(model, classes, params.learningRate);
    return model;
  };
}

export const textCnnKind = defineKind({
  kind: "text-cnn",
  description:
    "1-D CNN over text, TensorFlow.js: word embeddings, convolutions of several widths, global max pooling, dense layers, Adam; one iteration = one epoch.",
  iterationUnit: "epoch",
  input: "text",
  params: textCnnParams,
  checkData: (_params, facts) => checkSequenceData("text-cnn", facts),
  // ~11 ms per batch, ~4.8e-7 ms per multiply-add of the convolutions (positions × Σ widths × dimension ×
  // filters per row, forward and backward). Measured with the wasm kernels of wasm-kernels.ts (2026-12-01, quiet
  // machine): configs/complaints.yaml's text-cnn (maxLength 150, widths 3 and 5, 32 filters, 32 dims, batch 32),
  // 14.2 s for 12 epochs; 14.3 s estimated (before those kernels: 0.54 s of CPU per batch at the defaults).
  estimateCost: (p, facts) => {
    const widths = p.kernelSizes.reduce((a, b) => a + b, 0);
    return sequenceCost(p, facts, 11, 4.8e-7 * p.maxLength * widths * p.embeddingDim * p.filters);
  },
  plannedIterations: (p) => p.epochs,
  withIterations: (p, epochs) => ({ ...p, epochs }),
  create: async (params, shape) => new TextNetworkModel("text-cnn", params, shape, build(params)),
  load: async (dir, params, shape) => loadTextNetwork("text-cnn", dir, params, shape, build(params)),
});
