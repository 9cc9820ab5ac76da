/**
 * Special functions behind the p-values: the normal distribution (cephes' ndtr/erf/erfc, as scipy.special uses
 * them), log-gamma and the regularised upper incomplete gamma function (the chi-square survival function).
 */

const MAXLOG = 709.782712893384;
const MACHEP = 1.1102230246251565e-16;

const NDTR_P = [
  2.461969814735305e-10, 0.5641895648310689, 7.463210564422699, 48.63719709856814, 196.5208329560771,
  526.4451949954773, 934.5285271719576, 1027.5518868951572, 557.5353353693994,
];
const NDTR_Q = [
  13.228195115474499, 86.70721408859897, 354.9377788878199, 975.7085017432055, 1823.9091668790973,
  2246.3376081871097, 1656.6630919416134, 557.5353408177277,
];
const NDTR_R = [
  0.5641895835477551, 1.275366707599781, 5.019050422511805, 6.160210979930536, 7.4097426995044895,
  2.9788666537210022,
];
const NDTR_S = [
  2.2605286322011726, 9.396035249380015, 12.048953980809666, 17.08144507475659, 9.608968090632859,
  3.369076451000815,
];
const NDTR_T = [
  9.604973739870516, 90.02601972038427, 2232.005345946843, 7003.325141128051, 55592.30130103949,
];
const NDTR_U = [
  33.56171416475031, 521.3579497801527, 4594.323829709801, 22629.000061389095, 49267.39426086359,
];

/** cephes polevl: coefficients from the highest degree down. */
function polevl(x: number, coef: readonly number[], degree: number): number {
  let ans = coef[0]!;
  for (let i = 1; i <= degree; i++) ans = ans * x + coef[i]!;
  return ans;
}

/** cephes p1evl: as polevl with an implicit leading coefficient 1. */
function p1evl(x: number, coef: readonly number[], degree: number): number {
  let ans = x + coef[0]!;
  for (let i = 1; i < degree; i++) ans = ans * x + coef[i]!;
  return ans;
}

/** The complementary error function (cephes erfc). */
export function erfc(a: number): number {
  if (Number.isNaN(a)) return Number.NaN;
  const x = Math.abs(a);
  if (x < 1) return 1 - erf(a);
  const z = -a * a;
  if (z < -MAXLOG) return a < 0 ? 2 : 0;
  const ez = Math.exp(z);
  let p: number;
  let q: number;
  if (x < 8) {
    p = polevl(x, NDTR_P, 8);
    q = p1evl(x, NDTR_Q, 8);
  } else {
    p = polevl(x, NDTR_R, 5);
    q = p1evl(x, NDTR_S, 6);
  }
  let y = (ez * p) / q;
  if (a < 0) y = 2 - y;
  if (y !== 0) return y;
  return a < 0 ? 2 : 0;
}

/** The error function (cephes erf). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return -erf(-x);
  if (Math.abs(x) > 1) return 1 - erfc(x);
  const z = x * x;
  return (x * polevl(z, NDTR_T, 4)) / p1evl(z, NDTR_U, 5);
}

/** The standard normal CDF (cephes ndtr, what scipy.stats.norm.cdf evaluates). */
export function normalCdf(a: number): number {
  if (Number.isNaN(a)) return Number.NaN;
  const x = a * Math.SQRT1_2;
  const z = Math.abs(x);
  if (z < 1) return 0.5 + 0.5 * erf(x);
  const y = 0.5 * erfc(z);
  return x > 0 ? 1 - y : y;
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0: Stirling's series above 15, shifted there by the recurrence below it. */
export function logGamma(x: number): number {
  if (!(x > 0)) return x === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return x;
  let shift = 0;
  let y = x;
  if (y < 15) {
    let product = 1;
    while (y < 15) {
      product *= y;
      y += 1;
    }
    shift = Math.log(product);
  }
  const inv = 1 / y;
  const inv2 = inv * inv;
  // Bernoulli terms B_2k / (2k (2k-1) y^(2k-1)), enough for double precision at y >= 15.
  const series =
    inv *
    (1 / 12 +
      inv2 *
        (-1 / 360 +
          inv2 * (1 / 1260 + inv2 * (-1 / 1680 + inv2 * (1 / 1188 + inv2 * (-691 / 360360 + inv2 / 156))))));
  return (y - 0.5) * Math.log(y) - y + HALF_LOG_2PI + series - shift;
}

/** exp(a ln x - x - ln Γ(a)): the common factor of the incomplete gamma series and continued fraction. */
function gammaFactor(a: number, x: number): number {
  const ax = a * Math.log(x) - x - logGamma(a);
  return ax < -MAXLOG ? 0 : Math.exp(ax);
}

/** P(a, x) by its power series (converges for any x; used where x < a + 1). */
function lowerGammaSeries(a: number, x: number): number {
  const fac = gammaFactor(a, x);
  if (fac === 0) return 0;
  let r = a;
  let c = 1;
  let sum = 1;
  for (let i = 0; i < 100000; i++) {
    r += 1;
    c *= x / r;
    sum += c;
    if (c <= MACHEP * sum) break;
  }
  return (sum * fac) / a;
}

/** Q(a, x) by its continued fraction (modified Lentz; used where x >= a + 1). */
function upperGammaFraction(a: number, x: number): number {
  const fac = gammaFactor(a, x);
  if (fac === 0) return 0;
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) <= MACHEP) break;
  }
  return fac * h;
}

/** The regularised upper incomplete gamma Q(a, x) (scipy.special.gammaincc), with cephes' edge cases. */
export function gammaIncUpper(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || x < 0 || a < 0) return Number.NaN;
  if (a === 0) return x > 0 ? 0 : Number.NaN;
  if (x === 0) return 1;
  if (a === Number.POSITIVE_INFINITY) return x === Number.POSITIVE_INFINITY ? Number.NaN : 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  if (x < a + 1) return 1 - lowerGammaSeries(a, x);
  return upperGammaFraction(a, x);
}

/** The chi-square survival function (scipy.special.chdtrc): P(X > x) for `df` degrees of freedom. */
export function chi2Sf(x: number, df: number): number {
  if (x < 0) return Number.NaN;
  return gammaIncUpper(df / 2, x / 2);
}

/** Python's round(): half to even, as numpy's np.round does on a scalar. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
