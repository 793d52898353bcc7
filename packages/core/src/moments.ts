/**
 * Running mean and standard error of the mean of i.i.d. vector samples, entry by entry, by
 * Welford's update (no cancellation of Σx² − (Σx)²/K). Shared by the trace, diagonal and block-norm
 * estimators; internal, not part of the package's public API.
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
