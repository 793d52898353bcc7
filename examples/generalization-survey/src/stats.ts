/**
 * Statistics over seeds for the experiments' verdicts: Student t-intervals of a mean, the exact
 * two-sided sign test, rank and linear correlations with Fisher-z confidence intervals. Plain
 * float64 arithmetic on small samples (a few seeds, a few hundred runs), no dependencies.
 *
 * The distribution functions are the textbook ones: the t distribution through the regularized
 * incomplete beta function I_x(a, b) (continued fraction evaluated by the modified Lentz method,
 * Lentz 1976; Thompson & Barnett 1986), the normal one through the regularized lower incomplete
 * gamma function P(½, z²/2) (its power series), ln Γ by Lanczos's approximation (g = 7, 9
 * terms; Lanczos 1964), all accurate to about 1e-13 in the ranges used here.
 */

/** Mean of a non-empty sample. */
export function mean(values: readonly number[]): number {
  checkSample('mean', values, 1);
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Sample standard deviation (divisor n − 1) of at least two values. */
export function standardDeviation(values: readonly number[]): number {
  checkSample('standardDeviation', values, 2);
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

function checkSample(where: string, values: readonly number[], min: number): void {
  if (values.length < min) {
    throw new RangeError(`${where}: expected at least ${min} values, got ${values.length}`);
  }
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new RangeError(`${where}: expected finite values, got ${values[bad]} at index ${bad}`);
  }
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos's approximation, relative error ~1e-15). */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The continued fraction of I_x(a, b), for x < (a + 1)/(a + b + 2), by modified Lentz. */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 500; m++) {
    for (const term of [
      (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)),
      -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1)),
    ]) {
      d = 1 + term * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + term / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b), x in [0, 1], a, b > 0. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x),
  );
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(x, a, b)) / a
    : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** P(T <= t) for Student's t with `df` > 0 degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Φ(z), the standard normal distribution function (P(½, z²/2) by its power series). */
export function normalCdf(z: number): number {
  const x = (z * z) / 2;
  if (x > 700) return z > 0 ? 1 : 0;
  let term = 1 / 0.5;
  let sum = term;
  for (let n = 1; n < 1000 && term > sum * 1e-17; n++) {
    term *= x / (0.5 + n);
    sum += term;
  }
  const lower = Math.min(1, Math.exp(0.5 * Math.log(x) - x - logGamma(0.5)) * sum);
  return z >= 0 ? 0.5 + 0.5 * lower : 0.5 - 0.5 * lower;
}

/** The p-quantile of a continuous increasing distribution function, by bisection to 1e-12. */
function quantile(cdf: (t: number) => number, p: number, where: string): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`${where}: expected p in (0, 1), got ${p}`);
  let low = -1;
  let high = 1;
  while (cdf(low) > p) low *= 2;
  while (cdf(high) < p) high *= 2;
  while (high - low > 1e-12 * Math.max(1, Math.abs(low))) {
    const middle = (low + high) / 2;
    if (cdf(middle) < p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

/** The p-quantile of Student's t with `df` degrees of freedom (e.g. 4.303 for p = 0.975, df = 2). */
export function studentTQuantile(p: number, df: number): number {
  return quantile((t) => studentTCdf(t, df), p, 'studentTQuantile');
}

/** The p-quantile of the standard normal distribution (1.95996 for p = 0.975). */
export function normalQuantile(p: number): number {
  return quantile(normalCdf, p, 'normalQuantile');
}

/** A mean over seeds with its spread and a two-sided Student t confidence interval. */
export interface MeanInterval {
  /** Number of values n. */
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1). */
  readonly sd: number;
  /** Confidence level of [low, high] (default 0.95). */
  readonly level: number;
  /** mean ∓ t_{(1+level)/2, n−1} · sd/√n. */
  readonly low: number;
  readonly high: number;
}

/**
 * The mean of at least two values with the two-sided Student t interval at `level`.
 *
 * @throws RangeError for fewer than two values, a non-finite value or a level outside (0, 1).
 * @example
 * ```ts
 * const { mean, low, high } = meanInterval([0.81, 0.84, 0.79]);
 * ```
 */
export function meanInterval(values: readonly number[], level = 0.95): MeanInterval {
  const sd = standardDeviation(values);
  const n = values.length;
  const m = mean(values);
  const half = studentTQuantile((1 + level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean: m, sd, level, low: m - half, high: m + half };
}

/** Where a t-interval lies relative to a reference value. */
export type Comparison = 'above' | 'below' | 'includes';

/**
 * Whether the interval lies entirely above `reference`, below it, or includes it.
 *
 * @example
 * ```ts
 * compareInterval(meanInterval(overlaps), k / P); // 'above'
 * ```
 */
export function compareInterval(interval: MeanInterval, reference: number): Comparison {
  if (interval.low > reference) return 'above';
  if (interval.high < reference) return 'below';
  return 'includes';
}

/** Result of {@link signTest}. */
export interface SignTest {
  /** Differences > 0, < 0 (zeros are dropped, as the test prescribes). */
  readonly positive: number;
  readonly negative: number;
  /** Exact two-sided p-value: 2·P(Binomial(n, ½) <= min(positive, negative)), capped at 1. */
  readonly pValue: number;
}

/**
 * The exact two-sided sign test of paired differences (e.g. end − start per seed): do they
 * fall on one side of 0 more often than chance? With n nonzero differences the smallest
 * p-value is 2^(1−n): 0.25 for 3 seeds, 0.0625 for 5, below 0.05 from 6 on.
 *
 * @example
 * ```ts
 * signTest([0.2, 0.1, 0.3, 0.05, 0.2, 0.4]).pValue; // 0.03125
 * ```
 */
export function signTest(differences: readonly number[]): SignTest {
  checkSample('signTest', differences, 0);
  const positive = differences.filter((d) => d > 0).length;
  const negative = differences.filter((d) => d < 0).length;
  const n = positive + negative;
  // Σ_{k <= min} C(n, k), each C(n, k) = C(n, k − 1)·(n − k + 1)/k exact in float64 for n < 50.
  let choose = 1;
  let tail = 1;
  for (let k = 1; k <= Math.min(positive, negative); k++) {
    choose = (choose * (n - k + 1)) / k;
    tail += choose;
  }
  return { positive, negative, pValue: Math.min(1, 2 * tail * 2 ** -n) };
}

/** Ranks 1..n of the values, ties given their mean rank. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const out = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1].v === order[start].v) end++;
    for (let j = start; j <= end; j++) out[order[j].i] = (start + end) / 2 + 1;
    start = end + 1;
  }
  return out;
}

/** Pearson's correlation of two equally long samples (NaN when one is constant). */
export function pearson(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) {
    throw new RangeError(`pearson: expected equal lengths, got ${a.length} and ${b.length}`);
  }
  checkSample('pearson', a, 2);
  checkSample('pearson', b, 2);
  const ma = mean(a);
  const mb = mean(b);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Spearman's rank correlation (Pearson's on the ranks, ties at their mean rank). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  return pearson(ranks(a), ranks(b));
}

/** A correlation with its Fisher-z confidence interval. */
export interface CorrelationInterval {
  /** The correlation r. */
  readonly r: number;
  /** Number of pairs n. */
  readonly n: number;
  readonly level: number;
  /** tanh(atanh r ∓ z_{(1+level)/2} · se). */
  readonly low: number;
  readonly high: number;
}

/**
 * The Fisher-z interval of a correlation from n pairs: se = 1/√(n − 3) for Pearson's r, and
 * √(1.06/(n − 3)) for Spearman's ρ (Fieller, Hartley & Pearson, Biometrika 44, 1957), valid for
 * |ρ| up to about 0.8 and n >= 10.
 *
 * @throws RangeError for n < 4 (the interval is undefined) or a level outside (0, 1).
 * @example
 * ```ts
 * correlationInterval(spearman(trace, gap), trace.length, 'spearman');
 * ```
 */
export function correlationInterval(
  r: number,
  n: number,
  kind: 'pearson' | 'spearman',
  level = 0.95,
): CorrelationInterval {
  if (!Number.isSafeInteger(n) || n < 4) {
    throw new RangeError(`correlationInterval: expected n >= 4 pairs, got ${n}`);
  }
  const se = Math.sqrt((kind === 'spearman' ? 1.06 : 1) / (n - 3));
  const z = Math.atanh(Math.max(-1 + 1e-15, Math.min(1 - 1e-15, r)));
  const half = normalQuantile((1 + level) / 2) * se;
  return { r, n, level, low: Math.tanh(z - half), high: Math.tanh(z + half) };
}
