/**
 * Subspace overlap ‖UᵀV‖²_F / k of two k-dimensional subspaces given by orthonormal bases (the
 * measure of Wu et al. 2020, arXiv 2010.04261, and of Gur-Ari, Roberts & Dyer 2018), and its
 * distribution when one of the subspaces is uniformly random: the chance level a measured
 * overlap is judged against.
 */

/**
 * ‖UᵀV‖²_F / k for the first k vectors of `a` and of `b` (each assumed orthonormal, such as
 * `topEigenpairs`' vectors): 1 when the spans coincide, 0 when orthogonal.
 *
 * @throws RangeError when k exceeds either basis or the vectors differ in length.
 * @example
 * ```ts
 * subspaceOverlap(first.vectors, second.vectors, 10);
 * ```
 */
export function subspaceOverlap(
  a: readonly Float64Array[],
  b: readonly Float64Array[],
  k: number,
): number {
  if (!Number.isSafeInteger(k) || k < 1 || k > a.length || k > b.length) {
    throw new RangeError(
      `subspaceOverlap: expected 1 <= k <= ${Math.min(a.length, b.length)} (the basis sizes), got ${k}`,
    );
  }
  const dim = a[0].length;
  let sum = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      if (a[i].length !== dim || b[j].length !== dim) {
        throw new RangeError(
          `subspaceOverlap: expected vectors of one length ${dim}, got ${a[i].length} and ${b[j].length}`,
        );
      }
      let dot = 0;
      for (let p = 0; p < dim; p++) dot += a[i][p] * b[j][p];
      sum += dot * dot;
    }
  }
  return sum / k;
}

/** Mean and standard deviation of an overlap at chance. */
export interface ChanceOverlap {
  /** k/P. */
  readonly mean: number;
  /** √2·(P − k)/(P·√((P − 1)(P + 2))) ≈ √2/P. */
  readonly sd: number;
}

/**
 * The overlap of a fixed k-dimensional subspace of ℝ^P with a uniformly random one: mean k/P
 * and variance 2(P − k)²/(P²(P − 1)(P + 2)). (tr(P_U P_V) for a Haar-random rank-k projection
 * P_V has variance 2k(P − k)/((P − 1)P(P + 2)) · (tr P_U² − (tr P_U)²/P) by the second-moment
 * Weingarten formula of the orthogonal group; with tr P_U = tr P_U² = k and the division by k.)
 * For k = 1 this is the Beta(½, (P−1)/2) variance of a squared cosine.
 *
 * @example
 * ```ts
 * const { mean, sd } = chanceOverlap(10, 1000); // 0.01 ± 0.0014
 * ```
 */
export function chanceOverlap(k: number, P: number): ChanceOverlap {
  if (!Number.isSafeInteger(k) || !Number.isSafeInteger(P) || k < 1 || P < 2 || k > P) {
    throw new RangeError(
      `chanceOverlap: expected integers 1 <= k <= P, P >= 2, got k ${k}, P ${P}`,
    );
  }
  return {
    mean: k / P,
    sd: (Math.SQRT2 * (P - k)) / (P * Math.sqrt((P - 1) * (P + 2))),
  };
}
