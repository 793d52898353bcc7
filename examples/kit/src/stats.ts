/**
 * Statistics over seeds: every verdict of the experiments rests on several independent runs
 * (seeds), judged against their spread with a named test. Two tests are used: Student's
 * t-interval for a mean (or a mean paired difference) over seeds, and the exact two-sided sign
 * test for paired differences. With 3 seeds the sign test can never reach p < 0.05 (its smallest
 * p is 2/2³ = 0.25), so direction verdicts use the t-interval and report the sign test beside it.
 */

/** Mean, sample standard deviation (n − 1 in the denominator) and count of some values. */
export interface MeanSd {
  /** Number of values n. */
  readonly n: number;
  /** Arithmetic mean (NaN when n = 0). */
  readonly mean: number;
  /** Sample standard deviation √(Σ(x − mean)²/(n − 1)); NaN when n < 2. */
  readonly sd: number;
}

/**
 * The mean and sample standard deviation of `values`.
 *
 * @example
 * ```ts
 * meanSd([1, 2, 3]); // { n: 3, mean: 2, sd: 1 }
 * ```
 */
export function meanSd(values: readonly number[]): MeanSd {
  const n = values.length;
  if (n === 0) return { n, mean: Number.NaN, sd: Number.NaN };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n < 2) return { n, mean, sd: Number.NaN };
  const ss = values.reduce((s, v) => s + (v - mean) ** 2, 0);
  return { n, mean, sd: Math.sqrt(ss / (n - 1)) };
}

/**
 * `'0.0384 ± 0.0021'`: the mean over seeds to `digits` significant digits (default 3) ± the
 * sample standard deviation to 2; the mean alone when there is one value or the sd is 0; '—'
 * when there is no value. Non-finite values are left out (an 'NaN' when none is finite).
 *
 * @example
 * ```ts
 * formatMeanSd([0.1, 0.2, 0.3]); // '0.200 ± 0.10'
 * ```
 */
export function formatMeanSd(values: readonly number[], digits = 3): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return values.length === 0 ? '—' : 'NaN';
  const { mean, sd } = meanSd(finite);
  const text = mean === 0 ? '0' : mean.toPrecision(digits);
  return Number.isNaN(sd) || sd === 0 ? text : `${text} ± ${sd.toPrecision(2)}`;
}

/**
 * ln Γ(x) for x > 0: shifted up to z = x + k >= 15 by Γ(x) = Γ(z)/(x(x + 1)…(z − 1)), then
 * Stirling's series to the z⁻⁷ term (Abramowitz & Stegun 6.1.41), whose next term is below
 * 1/(1188·15⁹) < 3e-14.
 */
function logGamma(x: number): number {
  let z = x;
  let shift = 0;
  while (z < 15) {
    shift += Math.log(z);
    z += 1;
  }
  const w = 1 / (z * z);
  const series = (1 / z) * (1 / 12 - w * (1 / 360 - w * (1 / 1260 - w / 1680)));
  return (z - 0.5) * Math.log(z) - z + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

/**
 * The continued fraction of the regularized incomplete beta function (modified Lentz method,
 * Lentz 1976; the expansion of Abramowitz & Stegun 26.5.8), converging for x < (a + 1)/(a + b + 2).
 */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    for (const numerator of [
      (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
      -((a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
    ]) {
      d = 1 + numerator * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + numerator / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 4 * Number.EPSILON) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b), 0 <= x <= 1. */
function incompleteBeta(a: number, b: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(a, b, x)) / a
    : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/**
 * The cumulative distribution function of Student's t with `df` degrees of freedom:
 * P(T <= t) = 1 − I_{df/(df + t²)}(df/2, 1/2)/2 for t >= 0 (Abramowitz & Stegun 26.7.1).
 *
 * @throws RangeError when df is not > 0.
 * @example
 * ```ts
 * studentTCdf(0, 3); // 0.5
 * ```
 */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`studentTCdf: expected df > 0, got ${df}`);
  const tail = 0.5 * incompleteBeta(df / 2, 0.5, df / (df + t * t));
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The p-quantile of Student's t with `df` degrees of freedom, by bisection on
 * {@link studentTCdf} to 1e-12 (e.g. the 0.975-quantile with 2 degrees of freedom is 4.3027).
 *
 * @throws RangeError when p is not in (0, 1) or df is not > 0.
 * @example
 * ```ts
 * studentTQuantile(0.975, 2); // 4.302652729…
 * ```
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`studentTQuantile: expected 0 < p < 1, got ${p}`);
  if (!(df > 0)) throw new RangeError(`studentTQuantile: expected df > 0, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let low = 0;
  let high = 1;
  while (studentTCdf(high, df) < p) high *= 2;
  while (high - low > 1e-12 * Math.max(1, high)) {
    const mid = (low + high) / 2;
    if (studentTCdf(mid, df) < p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/** A two-sided confidence interval for a mean: {@link tInterval}. */
export interface TInterval extends MeanSd {
  /** Confidence level, e.g. 0.95. */
  readonly level: number;
  /** Lower end mean − t·sd/√n (NaN with fewer than 2 values). */
  readonly low: number;
  /** Upper end mean + t·sd/√n. */
  readonly high: number;
}

/**
 * Student's t confidence interval for the mean of `values` (independent runs, e.g. one value
 * per seed): mean ± t_{(1+level)/2, n−1}·sd/√n. With n < 2 the ends are NaN.
 *
 * @throws RangeError when level is not in (0, 1).
 * @example
 * ```ts
 * tInterval([1, 2, 3]); // mean 2, sd 1: low = 2 − 4.3027/√3 = −0.484, high = 4.484
 * ```
 */
export function tInterval(values: readonly number[], level = 0.95): TInterval {
  if (!(level > 0 && level < 1)) {
    throw new RangeError(`tInterval: expected 0 < level < 1, got ${level}`);
  }
  const stats = meanSd(values);
  if (stats.n < 2) return { ...stats, level, low: Number.NaN, high: Number.NaN };
  const half = (studentTQuantile((1 + level) / 2, stats.n - 1) * stats.sd) / Math.sqrt(stats.n);
  return { ...stats, level, low: stats.mean - half, high: stats.mean + half };
}

/** Result of {@link signTest}. */
export interface SignTest {
  /** Positive differences. */
  readonly positive: number;
  /** Negative differences. */
  readonly negative: number;
  /** Zero differences (left out of the test). */
  readonly ties: number;
  /** Exact two-sided p-value: min(1, 2·P(Binomial(n, ½) <= min(positive, negative))), n = positive + negative; 1 when n = 0. */
  readonly p: number;
}

/**
 * The exact two-sided sign test of paired differences (e.g. end − init per seed): under the
 * null hypothesis each non-zero difference is positive with probability ½.
 *
 * @example
 * ```ts
 * signTest([0.1, 0.2, 0.3]).p; // 0.25 = 2/2³: three seeds can never reach p < 0.05
 * ```
 */
export function signTest(differences: readonly number[]): SignTest {
  const positive = differences.filter((d) => d > 0).length;
  const negative = differences.filter((d) => d < 0).length;
  const ties = differences.length - positive - negative;
  const n = positive + negative;
  const k = Math.min(positive, negative);
  let tail = 0;
  let binomial = 1;
  for (let i = 0; i <= k; i++) {
    tail += binomial;
    binomial = (binomial * (n - i)) / (i + 1);
  }
  return { positive, negative, ties, p: n === 0 ? 1 : Math.min(1, (2 * tail) / 2 ** n) };
}

/**
 * Where a confidence interval lies against a threshold: 'above' when its lower end exceeds it,
 * 'below' when its upper end is under it, 'straddles' otherwise (also when the ends are NaN).
 */
export type IntervalSide = 'above' | 'below' | 'straddles';

/**
 * {@link IntervalSide} of `interval` against `threshold`.
 *
 * @example
 * ```ts
 * sideOf(tInterval([0.5, 0.6, 0.55]), 1); // 'below'
 * ```
 */
export function sideOf(interval: { low: number; high: number }, threshold: number): IntervalSide {
  if (interval.low > threshold) return 'above';
  if (interval.high < threshold) return 'below';
  return 'straddles';
}

/**
 * A verdict on "the value is above (or below) `threshold`" from the 95 % t-interval over seeds:
 * 'agrees' when the whole interval is on the wanted side, 'does not agree' when it is on the
 * other side, 'not clear' when it contains the threshold, 'not judged: one seed' with fewer than
 * two values; the interval is quoted.
 *
 * @example
 * ```ts
 * thresholdVerdict([0.02, 0.03, 0.025], 0.1, 'below'); // 'agrees (t-interval 0.0126 … 0.0374 below 0.1)'
 * ```
 */
export function thresholdVerdict(
  values: readonly number[],
  threshold: number,
  want: 'above' | 'below',
): string {
  if (values.length < 2) return 'not judged: one seed';
  const interval = tInterval(values);
  const side = sideOf(interval, threshold);
  const range = `t-interval ${interval.low.toPrecision(3)} … ${interval.high.toPrecision(3)}`;
  if (side === want) return `agrees (${range} ${want} ${threshold})`;
  return side === 'straddles'
    ? `not clear (${range} contains ${threshold})`
    : `does not agree (${range} ${side} ${threshold})`;
}

/** A paired change over seeds, from `before` to `after`: {@link pairedChange}. */
export interface PairedChange {
  /** 'fell', 'rose', 'no change' (every pair equal, e.g. exactly 0 throughout) or 'not clear' (the interval straddles 0). */
  readonly direction: 'fell' | 'rose' | 'no change' | 'not clear';
  /** t-interval of ln(after/before) over seeds (of after − before when a value is <= 0). */
  readonly interval: TInterval;
  /** Whether the interval is of the log ratio (true) or the difference. */
  readonly logRatio: boolean;
  /** The sign test of the same differences. */
  readonly sign: SignTest;
  /** One line naming the test: e.g. 'fell: 95 % t-interval of ln(end/init) over 3 seeds −1.2 … −0.8 (sign test 0+/3−, p = 0.25)'. */
  readonly text: string;
}

/**
 * Whether a quantity moved between two paired measurements per seed (e.g. initialization and end
 * of training of the same seed), judged by the t-interval of the per-seed log ratio ln(after /
 * before) (the difference when some value is not positive): 'fell' when the whole interval is
 * below 0, 'rose' when above, 'not clear' when it straddles 0. Never judged on one seed: one
 * pair gives 'not clear'.
 *
 * @throws RangeError when the two lists differ in length.
 * @example
 * ```ts
 * pairedChange([1, 1.1, 0.9], [0.5, 0.52, 0.47]).direction; // 'fell'
 * ```
 */
export function pairedChange(
  before: readonly number[],
  after: readonly number[],
  level = 0.95,
): PairedChange {
  if (before.length !== after.length) {
    throw new RangeError(
      `pairedChange: expected as many values after as before, got ${after.length} and ${before.length}`,
    );
  }
  const logRatio = [...before, ...after].every((v) => v > 0);
  const differences = before.map((b, i) => (logRatio ? Math.log(after[i] / b) : after[i] - b));
  const interval = tInterval(differences, level);
  const sign = signTest(differences);
  const side = sideOf(interval, 0);
  const direction = differences.every((d) => d === 0)
    ? 'no change'
    : side === 'above'
      ? 'rose'
      : side === 'below'
        ? 'fell'
        : 'not clear';
  const what = logRatio ? 'ln(after/before)' : 'after − before';
  const text = `${direction}: ${Math.round(level * 100)} % t-interval of ${what} over ${differences.length} seeds ${formatEnd(interval.low)} … ${formatEnd(interval.high)} (sign test ${sign.positive}+/${sign.negative}−, p = ${sign.p.toPrecision(2)})`;
  return { direction, interval, logRatio, sign, text };
}

function formatEnd(value: number): string {
  return Number.isFinite(value) ? value.toPrecision(2) : String(value);
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
  if (a.length < 2) throw new RangeError(`pearson: expected at least 2 pairs, got ${a.length}`);
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
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
