/**
 * Fisher-z confidence intervals of the correlations over runs for the survey's verdicts (the
 * correlations themselves, means over seeds, t-intervals and sign tests are the example kit's).
 * The normal distribution function is the regularized lower incomplete gamma function
 * P(½, z²/2) by its power series, accurate to about 1e-15 for |z| < 8.
 */

/** Φ(z), the standard normal distribution function (P(½, z²/2) by its power series). */
export function normalCdf(z: number): number {
  const x = (z * z) / 2;
  if (x > 700) return z > 0 ? 1 : 0;
  // P(a, x) = x^a e^(−x)/Γ(a) · Σ_n x^n/(a(a + 1)…(a + n)), a = ½, Γ(½) = √π.
  let term = 1 / 0.5;
  let sum = term;
  for (let n = 1; n < 1000 && term > sum * 1e-17; n++) {
    term *= x / (0.5 + n);
    sum += term;
  }
  const lower = Math.min(1, Math.exp(0.5 * Math.log(x) - x - 0.5 * Math.log(Math.PI)) * sum);
  return z >= 0 ? 0.5 + 0.5 * lower : 0.5 - 0.5 * lower;
}

/** The p-quantile of the standard normal distribution (1.95996 for p = 0.975), by bisection to 1e-12. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: expected p in (0, 1), got ${p}`);
  let low = -40;
  let high = 40;
  while (high - low > 1e-12) {
    const middle = (low + high) / 2;
    if (normalCdf(middle) < p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
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
