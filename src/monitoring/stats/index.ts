/**
 * Drift statistics with Evidently 0.7.23's legacy stattests (and the scipy functions under them) as the reference
 * behaviour: KS, chi-square, Z, normed Wasserstein, Jensen–Shannon, PSI, Evidently's default-test rule and
 * multiple-testing corrections. Every function works on weighted distinct values or counts, in O(distinct).
 */
export { type BinnedShares, binnedShares, jensenShannon, psi, sturgesEdges } from "./binning.js";
export { type AlignedCounts, alignCounts, type CountsInput, chiSquareTest, zTest } from "./categorical.js";
export { adjustPValues } from "./correction.js";
export { kolmogorovSf } from "./kolmogorov.js";
export { KS_MAX_EXACT_N, type KsResult, ksAsymptoticPValue, ksStatistic, ksTest } from "./ks.js";
export { smirnovSf } from "./smirnov.js";
export { chi2Sf, normalCdf } from "./special.js";
export {
  DEFAULT_THRESHOLDS,
  defaultStatTest,
  distinctInBoth,
  distributionRows,
  P_VALUE_TESTS,
  runStatTest,
  SMALL_REFERENCE_ROWS,
  WASSERSTEIN_MIN_NORM,
} from "./stat-test.js";
export { toWeighted, wasserstein, weightedMean, weightedStd } from "./weighted.js";
