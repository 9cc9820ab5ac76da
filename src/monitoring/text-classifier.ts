// The domain classifier of text drift, Evidently's text content drift (legacy/utils/data_drift_utils.py) with the
// project's own pieces: reference texts are labelled 0, current texts 1; half of each side trains a TF-IDF +
// logistic regression model, the other half measures how well it tells them apart (ROC AUC). An AUC near 0.5 means
// the two sides read alike; Evidently calls it drift when the AUC is above 0.55 (reference > 1,000 texts) or above
// the 95th percentile of the AUCs that random scores get on the same held-out labels (smaller references).
//
// What Evidently does, and what this does instead:
//   vectorizer  TfidfVectorizer(sublinear_tf=True, max_df=0.5, stop_words="english"): the same here (tfidf.ts equals
//               scikit-learn's; stop-words.ts is scikit-learn's list), on the project's normalised text
//               (normalize.ts: lower case, CFPB masks dropped, numbers as one __num__ token).
//   classifier  SGDClassifier(loss="modified_huber", penalty="l1", alpha=1e-4, max_iter=50, random_state=42):
//               here L2 logistic regression by the deterministic L-BFGS of softmax-lbfgs.ts (C = 10) — a
//               different solver, so AUCs agree closely, not to the last digit.
//   split       train_test_split(test_size=0.5, shuffle, random_state=42) over both sides pooled: here each side is
//               split in half on its own (seeded), so the held-out half always holds both labels, however small.
//   words       the 25 largest positive / negative coefficients: the same (the weight of "current" minus "reference").

import { rocAuc } from "../evaluation/binary.js";
import { DEFAULT_TEXT_NORMALIZE, normalizeText, wordTokens } from "../features/text/normalize.js";
import { TfidfVectorizer } from "../features/text/tfidf.js";
import { SoftmaxLbfgs, softmaxScores } from "../models/text/softmax-lbfgs.js";
import { percentile } from "../promotion/bootstrap.js";
import { WorkbenchError } from "../shared/errors.js";
import { createRng, deriveSeed } from "../shared/random.js";
import { ENGLISH_STOP_WORDS } from "./stop-words.js";

export interface DomainClassifierOptions {
  seed: number;
  /** Typical words listed per side. */
  typicalWords: number;
  /** Inverse L2 strength of the logistic regression (scikit-learn's C). */
  C: number;
  /** L-BFGS iterations at most. */
  maxIter: number;
}

export const DEFAULT_DOMAIN_CLASSIFIER: DomainClassifierOptions = {
  seed: 42,
  typicalWords: 25,
  C: 10,
  maxIter: 200,
};

export interface DomainClassifierResult {
  /** ROC AUC of P(current) on the held-out halves. */
  auc: number;
  /** Texts per side in the training and the held-out halves. */
  train: { reference: number; current: number };
  test: { reference: number; current: number };
  /** Words with the largest weights towards current / towards reference (empty when no word was kept). */
  typicalWords: { current: string[]; reference: string[] };
  /** Vocabulary the classifier used. */
  vocabulary: number;
}

/** A text as the classifier reads it: normalised word tokens without English stop words, joined by spaces. */
export function classifierText(text: string): string {
  return wordTokens(normalizeText(text, DEFAULT_TEXT_NORMALIZE))
    .filter((w) => !ENGLISH_STOP_WORDS.has(w))
    .join(" ");
}

/** The indices 0 … n − 1 shuffled (Fisher–Yates, seeded), cut into a training part and a held-out part of ⌈n/2⌉. */
function halves(n: number, rng: () => number): { train: number[]; test: number[] } {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const testSize = Math.ceil(n / 2);
  return { test: order.slice(0, testSize), train: order.slice(testSize) };
}

/**
 * Trains the domain classifier on half of each side and scores the other half. Both sides need at least 2 texts
 * (one to train on, one to test); the caller enforces a larger minimum.
 */
export function domainClassifier(
  reference: readonly string[],
  current: readonly string[],
  options: Partial<DomainClassifierOptions> = {},
): DomainClassifierResult {
  const o = { ...DEFAULT_DOMAIN_CLASSIFIER, ...options };
  if (reference.length < 2 || current.length < 2)
    throw new WorkbenchError(
      "TEXT_DRIFT_TOO_FEW_TEXTS",
      `Text drift: the domain classifier needs at least 2 texts per side, got ${reference.length} reference and ${current.length} current.`,
      { details: { reference: reference.length, current: current.length } },
    );
  const ref = halves(reference.length, createRng(deriveSeed(o.seed, "text-drift-split-reference")));
  const cur = halves(current.length, createRng(deriveSeed(o.seed, "text-drift-split-current")));
  const texts = (side: readonly string[], rows: number[]) => rows.map((i) => classifierText(side[i]!));
  const trainTexts = [...texts(reference, ref.train), ...texts(current, cur.train)];
  const testTexts = [...texts(reference, ref.test), ...texts(current, cur.test)];
  const trainLabels = Int32Array.from(trainTexts, (_, i) => (i < ref.train.length ? 0 : 1));
  const testLabels = Int8Array.from(testTexts, (_, i) => (i < ref.test.length ? 0 : 1));
  const sizes = {
    train: { reference: ref.train.length, current: cur.train.length },
    test: { reference: ref.test.length, current: cur.test.length },
  };

  let vectorizer: TfidfVectorizer;
  try {
    vectorizer = TfidfVectorizer.fit(trainTexts, {
      ngramRange: [1, 1],
      charNgramRange: null,
      sublinearTf: true,
      minDf: 1,
      maxDf: 0.5,
      maxFeatures: null,
      charMaxFeatures: null,
    });
  } catch (error) {
    // No word in at most half of the training texts (all texts alike, or only stop words): nothing tells the
    // sides apart, and a classifier that scores every text the same has an AUC of exactly 0.5.
    if (error instanceof WorkbenchError && error.code === "TFIDF_EMPTY_VOCABULARY")
      return { auc: 0.5, ...sizes, typicalWords: { current: [], reference: [] }, vocabulary: 0 };
    throw error;
  }
  const x = vectorizer.transform(trainTexts);
  const solver = new SoftmaxLbfgs(
    { x, labels: trainLabels, classes: 2, rowWeight: new Float64Array(x.rows).fill(1), C: o.C },
    1e-5,
  );
  for (let i = 0; i < o.maxIter && !solver.converged; i++) solver.step();

  // The log-odds of "current" (monotone in its probability, and free of the ties a saturated softmax makes).
  const z = softmaxScores(solver.theta, vectorizer.transform(testTexts), 2);
  const logOdds = Float64Array.from({ length: testTexts.length }, (_, r) => z[2 * r + 1]! - z[2 * r]!);
  const auc = rocAuc(testLabels, logOdds);

  const d1 = x.cols + 1;
  const terms = vectorizer.state.blocks[0]!.terms;
  const weights = terms.map((word, j) => ({ word, w: solver.theta[d1 + j]! - solver.theta[j]! }));
  const ranked = (sign: number) =>
    weights
      .filter((t) => sign * t.w > 0)
      .sort((a, b) => sign * (b.w - a.w) || (a.word < b.word ? -1 : a.word > b.word ? 1 : 0))
      .slice(0, o.typicalWords)
      .map((t) => t.word);
  return {
    auc,
    ...sizes,
    typicalWords: { current: ranked(1), reference: ranked(-1) },
    vocabulary: terms.length,
  };
}

/**
 * The q-quantile (numpy's linear percentile) of the ROC AUCs that `iterations` draws of uniform random scores get
 * on held-out labels with `negatives` reference and `positives` current texts: Evidently's
 * roc_auc_random_classifier_percentile (1,000 draws, q = 0.95), seeded.
 */
export function randomAucPercentile(
  negatives: number,
  positives: number,
  q: number,
  seed: number,
  iterations = 1000,
): number {
  const n = negatives + positives;
  const labels = Int8Array.from({ length: n }, (_, i) => (i < negatives ? 0 : 1));
  const scores = new Float64Array(n);
  const rng = createRng(deriveSeed(seed, "text-drift-random-auc"));
  const aucs = new Float64Array(iterations);
  for (let k = 0; k < iterations; k++) {
    for (let i = 0; i < n; i++) scores[i] = rng();
    aucs[k] = rocAuc(labels, scores);
  }
  aucs.sort();
  return percentile(aucs, q);
}
