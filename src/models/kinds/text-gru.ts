// Recurrent network over text (the title classifier's model): word embeddings, a bidirectional GRU or LSTM that
// skips the padding (SequenceRecurrent: tfl.layers.gru is ~10× slower on the WebAssembly backend), its last states
// (or its states pooled over the text), dense layers. Reads the text columns
// only (the dense features are refused by checkData); one iteration = one epoch.
import * as tfl from "@tensorflow/tfjs-layers";
import { z } from "zod";
import { defineKind } from "../model.js";
import { denseHead, embed, MaskedPooling, seededInit } from "../text-nn/layers.js";
import { checkSequenceData, sequenceCost, sequenceParamFields } from "../text-nn/params.js";
import { SequenceRecurrent } from "../text-nn/recurrent.js";
import { loadTextNetwork, type TextNetworkBuilder, TextNetworkModel } from "../text-nn/text-network-model.js";
import { compileNetwork } from "./network.js";

const positiveInt = z.number().int().positive();

export const textGruParams = z
  .object({
    ...sequenceParamFields({
      maxLength: 200,
      embeddingDim: 64,
      dropout: 0.2,
      learningRate: 0.005,
      epochs: 15,
      // Larger batches than the other kinds: a recurrent step costs ~80 small kernels whatever the batch size.
      batchSize: 64,
    }),
    cell: z.enum(["gru", "lstm"]).default("gru"),
    /** Units of the recurrent layer (per direction). */
    units: positiveInt.default(48),
    /** Read the text in both directions and concatenate the two. */
    bidirectional: z.boolean().default(true),
    /** What the dense layers read: the last state(s), or the mean / max of the states over the real tokens. */
    pooling: z.enum(["last", "mean", "max", "mean-max"]).default("last"),
    hiddenUnits: z.array(positiveInt).default([]),
  })
  .strict();
export type TextGruParams = z.infer<typeof textGruParams>;

function build(params: TextGruParams): TextNetworkBuilder {
  return (vocabularySize, maxLength, classes, seed) => {
    const input = tfl.input({ shape: [maxLength] });
    const embedded = embed(input, vocabularySize, params.embeddingDim, seed);
    const recurrent = new SequenceRecurrent({
      cell: params.cell,
      units: params.units,
      bidirectional: params.bidirectional,
      returnSequences: params.pooling !== "last",
      l2: params.l2,
      seed: seed + 1,
    }).apply(embedded) as tfl.SymbolicTensor;
    const features =
      params.pooling === "last"
        ? recurrent
        : (new MaskedPooling({ mode: params.pooling }).apply(recurrent) as tfl.SymbolicTensor);
    const output = denseHead(
      features,
      params.hiddenUnits,
      params.dropout,
      params.l2,
      classes,
      seededInit(seed + 10),
    );
    const model = tfl.model({ inputs: input, outputs: output });
    compileNetwork(model, classes, params.learningRate);
    return model;
  };
}

export const textGruKind = defineKind({
  kind: "text-gru",
  description:
    "Recurrent network over text, TensorFlow.js: word embeddings, a (bidirectional) GRU or LSTM over the real tokens, last state or pooled states, dense layers, Adam; one iteration = one epoch.",
  iterationUnit: "epoch",
  input: "text",
  params: textGruParams,
  checkData: (_params, facts) => checkSequenceData("text-gru", facts),
  // Overhead-bound: ~80 small kernels per step (forward and backward) whatever the batch size, ~2.1 ms per step
  // and batch for both directions (×0.55 for one), steps = maxLength (the batch's longest text, which the long
  // complaints usually reach). Measured with the wasm kernels of wasm-kernels.ts (2026-12-01, quiet machine):
  // configs/complaints.yaml's text-gru (maxLength 100, 24 units, one direction, batch 64), 17.3 s for 8 epochs of
  // 19 batches; 17.6 s estimated (before those kernels: ~6.5 ms per step).
  estimateCost: (p, facts) =>
    sequenceCost(
      p,
      facts,
      2.1 * p.maxLength * (p.bidirectional ? 1 : 0.55) * (p.cell === "lstm" ? 1.2 : 1),
      0,
    ),
  plannedIterations: (p) => p.epochs,
  withIterations: (p, epochs) => ({ ...p, epochs }),
  create: async (params, shape) => new TextNetworkModel("text-gru", params, shape, build(params)),
  load: async (dir, params, shape) => loadTextNetwork("text-gru", dir, params, shape, build(params)),
});
