// What the three sequence kinds (text-embedding-bag, text-cnn, text-gru) share: the tokenizer and encoding
// hyperparameters, the training ones, the data check and the cost estimate.
import { z } from "zod";
import type { CostFacts, DataFacts } from "../model.js";

const positiveInt = z.number().int().positive();

/** Hyperparameter fields every sequence kind has (each kind sets its own defaults where they differ). */
export function sequenceParamFields(defaults: {
  maxLength: number;
  embeddingDim: number;
  dropout: number;
  learningRate: number;
  epochs: number;
  batchSize: number;
}) {
  return {
    /** Tokens per text: longer texts are truncated, shorter ones padded. */
    maxLength: positiveInt.default(defaults.maxLength),
    /** Which tokens a long text loses: `end` keeps its beginning, `start` keeps its end. */
    truncation: z.enum(["end", "start"]).default("end"),
    /** A word enters the vocabulary when it occurs at least this often in the training texts. */
    minFrequency: positiveInt.default(2),
    /** At most this many words (most frequent first); the others share the OOV id. */
    maxVocabulary: positiveInt.default(20_000),
    embeddingDim: positiveInt.default(defaults.embeddingDim),
    dropout: z.number().min(0).lt(1).default(defaults.dropout),
    /** L2 on the dense (and convolution / recurrent input) kernels. */
    l2: z.number().min(0).default(0),
    learningRate: z.number().positive().default(defaults.learningRate),
    epochs: positiveInt.default(defaults.epochs),
    batchSize: positiveInt.default(defaults.batchSize),
  };
}

/** The shared part of a sequence kind's parameters. */
export interface SequenceParams {
  maxLength: number;
  truncation: "end" | "start";
  minFrequency: number;
  maxVocabulary: number;
  embeddingDim: number;
  dropout: number;
  l2: number;
  learningRate: number;
  epochs: number;
  batchSize: number;
}

/**
 * checkData of the sequence kinds: they read the text columns only, so numeric or categorical features beside them
 * would be silently ignored. ("(kind)" names the candidate's kind field; data without text is refused by the
 * pipeline for every text kind.)
 */
export function checkSequenceData(kind: string, facts: DataFacts): [string, string][] {
  if (facts.cols === 0) return [];
  return [
    [
      "(kind)",
      `${kind} reads only the text columns, and the data also has ${facts.cols} numeric/categorical feature columns it would ignore; drop them (features.drop) or use a TF-IDF kind (tfidf-linear, tfidf-gbdt), which appends them`,
    ],
  ];
}

/**
 * Words a vocabulary of this data will hold: ~3·√(training tokens) (Heaps' law, fitted on the complaints sample:
 * 1,459 texts of ~170 tokens → 4,484 words at minFrequency 2), at most maxVocabulary.
 */
export function expectedVocabulary(params: SequenceParams, facts: CostFacts): number {
  const tokensPerText = Math.min(params.maxLength, (facts.avgTextLength ?? 0) / 5.4);
  return Math.min(params.maxVocabulary, 3 * Math.sqrt(facts.rows * Math.max(1, tokensPerText)));
}

/**
 * The cost estimate of a sequence kind (milliseconds of one core, see ModelKind.estimateCost): per epoch,
 * ⌈rows / batchSize⌉ batches at `perBatch` ms plus `perRow` ms per training row, and a validation pass at a third
 * of `perRow` per validation row; every batch also pays the dense Adam update of the embedding (~1.5e-5 ms per
 * vocabulary word × dimension). Epochs as networkCost counts them: those early stopping typically leaves
 * (~10 + patience), at most `epochs`. Each kind documents its `perBatch` and `perRow`, measured on the complaints
 * sample (wasm backend, SIMD, one thread, the kernels of wasm-kernels.ts).
 */
export function sequenceCost(
  params: SequenceParams,
  facts: CostFacts,
  perBatch: number,
  perRow: number,
): number {
  const epochs = Math.min(params.epochs, 10 + facts.patience);
  const batches = Math.ceil(facts.rows / params.batchSize);
  const embedding = expectedVocabulary(params, facts) * params.embeddingDim * 1.5e-5;
  return (
    epochs * (batches * (perBatch + embedding) + facts.rows * perRow + (facts.validationRows * perRow) / 3)
  );
}
