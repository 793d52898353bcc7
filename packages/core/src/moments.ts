/**
 * Running mean and standard error of the mean of i.i.d. vector samples, entry by entry, by
 * Welford's update (no cancellation of Σx² − (Σx)²/K). Shared by every estimator that reports a
 * standard error; exported from `@hessian-probe/core/internal` for adapters that add their own.
 */
export class SampleMoments {
  readonly #mean: Float64Array;
  readonly #m2: Float64Array;
  #count = 0;

  constructor(length: number) {
    this.#mean = new Float64Array(length);
    this.#m2 = new Float64Array(length);
  }

  /** Number of samples added. */
  get count(): number {
    return this.#count;
  }

  /** Adds one sample (a vector of the length given to the constructor). */
  add(sample: ArrayLike<number>): void {
    this.#count++;
    for (let i = 0; i < this.#mean.length; i++) {
      const delta = sample[i] - this.#mean[i];
      this.#mean[i] += delta / this.#count;
      this.#m2[i] += delta * (sample[i] - this.#mean[i]);
    }
  }

  /** The sample mean of each entry. */
  mean(): Float64Array {
    return Float64Array.from(this.#mean);
  }

  /**
   * The standard error of each entry's mean: sample standard deviation (divisor K − 1) / √K.
   * NaN for every entry while fewer than two samples have been added: one sample says nothing
   * about the spread.
   */
  standardError(): Float64Array {
    const k = this.#count;
    if (k < 2) return new Float64Array(this.#mean.length).fill(Number.NaN);
    return this.#m2.map((m2) => Math.sqrt(m2 / (k - 1) / k));
  }
}

/** A ratio of two sample means with its delta-method standard error: {@link ratioOfMeans}. */
export interface RatioEstimate {
  /** ā / b̄ ({@link sqrtRatioOfMeans}: its square root). */
  readonly ratio: number;
  /** ā, the mean of the numerator samples. */
  readonly numerator: number;
  /** b̄, the mean of the denominator samples. */
  readonly denominator: number;
  /**
   * First-order (delta-method) standard error of `ratio`:
   * √((s²_a − 2R s_ab + R² s²_b) / K) / |b̄| with sample (co)variances of divisor K − 1.
   * NaN for fewer than two pairs; 0 when every pair is exactly proportional to (ā, b̄).
   */
  readonly stderr: number;
}

/**
 * The ratio of means ā / b̄ of K paired samples (a_k, b_k) drawn together (the same probe for
 * both), with the delta-method standard error that accounts for their covariance. Consistent,
 * biased by O(1/K); the error bar is first order, so it is trustworthy when the relative error
 * of b̄ is small (say below 0.3). Used for relative Frobenius errors ‖A − B‖/‖B‖ estimated from
 * the same probes: see {@link sqrtRatioOfMeans}.
 *
 * @example
 * ```ts
 * // a_k = ‖(H − G)z_k‖², b_k = ‖G z_k‖² for Rademacher z_k
 * const { ratio, stderr } = ratioOfMeans([1.1, 0.9, 1.3], [10.2, 9.7, 10.4]);
 * ```
 */
export function ratioOfMeans(a: ArrayLike<number>, b: ArrayLike<number>): RatioEstimate {
  const k = a.length;
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < k; i++) {
    meanA += a[i] / k;
    meanB += b[i] / k;
  }
  const ratio = meanA / meanB;
  if (k < 2) return { ratio, numerator: meanA, denominator: meanB, stderr: Number.NaN };
  // Variance of the linearised residual a − R b: s²_a − 2R s_ab + R² s²_b in one pass.
  let residualSq = 0;
  for (let i = 0; i < k; i++) {
    const residual = a[i] - meanA - ratio * (b[i] - meanB);
    residualSq += residual * residual;
  }
  const stderr = Math.sqrt(residualSq / (k - 1) / k) / Math.abs(meanB);
  return { ratio, numerator: meanA, denominator: meanB, stderr };
}

/**
 * √(ā / b̄) of paired samples with its delta-method standard error (that of the ratio over
 * 2√ratio; 0 when the ratio is 0): the relative Frobenius error ‖A − B‖_F/‖B‖_F when
 * a_k = ‖(A − B)z_k‖² and b_k = ‖B z_k‖² for probes with E[zzᵀ] = I.
 */
export function sqrtRatioOfMeans(a: ArrayLike<number>, b: ArrayLike<number>): RatioEstimate {
  const squared = ratioOfMeans(a, b);
  const { ratio, stderr } = squared;
  const root = Math.sqrt(ratio);
  const rootStderr = ratio > 0 ? stderr / (2 * root) : ratio === 0 ? 0 : Number.NaN;
  return { ...squared, ratio: root, stderr: rootStderr };
}
