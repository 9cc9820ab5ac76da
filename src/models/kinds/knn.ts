// k-nearest neighbours (TypeScript, exact brute-force search on a WebAssembly SIMD kernel): standardised
// features, uniform or 1/distance votes, Euclidean or Manhattan distance, a seeded stratified sample of at most
// maxRows training rows as the reference set. One iteration: fit stores the rows.
//
// Why a row cap and not an index: the inputs are ~90 dense standardised features, where tree indexes
// (k-d, ball) prune little and approximate indexes change the answer. Exact search costs rows × stored × d, so
// the stored set is capped: 10,000 rows keep a 1,000-row batch at ~0.2 s on one core and a single-row request
// at ~1 ms, and a stratified sample of 10,000 keeps every class's share, so the vote shares move little.
import { z } from "zod";
import { defineKind } from "../model.js";
import { KnnModel, loadKnnModel } from "../neighbors/knn-model.js";

export const knnParams = z
  .object({
    /** Neighbours that vote. */
    k: z.number().int().min(1).default(15),
    /** "uniform": one vote each; "distance": votes weighted by 1/distance. */
    weights: z.enum(["uniform", "distance"]).default("uniform"),
    metric: z.enum(["euclidean", "manhattan"]).default("euclidean"),
    /** Reference rows kept; a larger training set is sampled down (seeded, stratified by class). */
    maxRows: z.number().int().min(1).default(10_000),
    /**
     * Pseudo-neighbours per class: probabilities (k·share + smoothing) / (k + classes · smoothing). 0 gives the
     * plain vote shares (scikit-learn's); 1 is Laplace's rule, which keeps log-loss finite where no neighbour
     * voted for the true class. Rankings and arg-max decisions are the same either way.
     */
    smoothing: z.number().min(0).default(0),
  })
  .strict();
export type KnnParams = z.infer<typeof knnParams>;

export const knnKind = defineKind({
  kind: "knn",
  description:
    "k-nearest neighbours (TypeScript + WebAssembly SIMD, exact search): standardised features, uniform or 1/distance votes, Euclidean or Manhattan, at most maxRows reference rows (a seeded stratified sample); one iteration = storing the rows.",
  iterationUnit: "fit",
  params: knnParams,
  checkData: (params, facts) => {
    const problems: [string, string][] = [];
    if (params.k > facts.rows)
      problems.push([
        "k",
        `k = ${params.k} is larger than the ${facts.rows} training rows; use k ≤ ${facts.rows}.`,
      ]);
    else if (params.k > params.maxRows)
      problems.push([
        "k",
        `k = ${params.k} is larger than maxRows = ${params.maxRows}, the rows kept to vote.`,
      ]);
    return problems;
  },
  // Scoring the validation rows against the stored ones, ~0.22 ns per row pair × feature (the SIMD kernel: a
  // 1,000-row batch against 10,000 rows of 90 features takes ~0.2 s), plus standardising the training rows.
  estimateCost: (p, facts) =>
    2.2e-7 * facts.validationRows * Math.min(facts.rows, p.maxRows) * facts.cols +
    1e-5 * facts.rows * facts.cols,
  plannedIterations: () => 1,
  withIterations: (p) => p,
  create: async (params, shape) => new KnnModel(params, shape),
  load: async (dir, params, shape) => loadKnnModel(dir, params, shape),
});
