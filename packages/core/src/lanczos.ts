import { DimensionError, OptionError } from './errors.js';
import { checkedMatvec, type LinearOperator } from './operator.js';
import { checkInteger, checkOneOf } from './options.js';
import { checkSeed, createRandom } from './random.js';
import { allFinite, axpy, dot, norm, orthogonalizeAgainst, scaleInPlace } from './vector.js';

/** Options of {@link lanczos}. */
export interface LanczosOptions {
  /** Number of Lanczos steps m (matvecs); capped at the operator's dimension. */
  steps: number;
  /** Seed of the random unit start vector (default 0); ignored when `startVector` is given. */
  seed?: number;
  /**
   * `'full'` (default): reorthogonalise every new vector against all previous ones (classical
   * Gram–Schmidt twice), keeping m vectors; `'none'`: the three-term recurrence only, keeping
   * three vectors (Ritz values then show "ghost" copies, harmless for SLQ densities).
   */
  reorthogonalize?: 'full' | 'none';
  /** Start vector q₁ (normalised internally, not modified). */
  startVector?: Float64Array;
}

/** Result of {@link lanczos}: T = tridiag(beta, alpha, beta), QᵀAQ = T. */
export interface LanczosResult {
  /** Diagonal α₁..α_m of T. */
  alpha: Float64Array;
  /** Off-diagonal β₁..β_{m−1} of T. */
  beta: Float64Array;
  /**
   * ‖r_m‖ = β_m, the norm of the residual after the last step (0 up to rounding at breakdown):
   * ‖A Q − Q T‖ = β_m, so Ritz pair k has residual β_m · |last component of T's k-th eigenvector|.
   */
  residualNorm: number;
  /** Matvecs spent (= alpha.length). */
  matvecs: number;
  /**
   * True when the Krylov space became invariant before `steps` (β below n·ε·‖T‖): the Ritz
   * values are then exact eigenvalues of A.
   */
  breakdown: boolean;
  /** With full reorthogonalisation: the orthonormal Lanczos vectors q₁..q_m. */
  basis?: Float64Array[];
}

/**
 * The Lanczos process (Lanczos 1950; Golub & Van Loan, Matrix Computations §10.1): builds an
 * orthonormal basis Q of the Krylov space span{q₁, Aq₁, …, A^{m−1}q₁} and the tridiagonal
 * T = QᵀAQ, all in float64. T's eigenvalues (Ritz values) approximate A's extreme eigenvalues,
 * and its eigenvectors' first components give the Gauss quadrature rule of the spectral measure
 * of A seen from q₁: q₁ᵀ f(A) q₁ ≈ Σ τ_k f(θ_k), exact for polynomials of degree ≤ 2m − 1.
 *
 * Options are checked before the first matvec; a matvec returning the wrong length or a
 * non-finite value stops the process with a {@link MatvecError} naming the step.
 *
 * @example
 * ```ts
 * const { alpha, beta } = await lanczos(op, { steps: 30, seed: 1 });
 * const { values, weights } = tridiagonalEigen(alpha, beta);
 * ```
 */
export async function lanczos(op: LinearOperator, options: LanczosOptions): Promise<LanczosResult> {
  const { steps, seed = 0, reorthogonalize = 'full', startVector } = options;
  checkInteger('lanczos', 'steps', steps, 1);
  checkSeed(seed, 'lanczos');
  checkOneOf('lanczos', 'reorthogonalize', reorthogonalize, ['full', 'none']);
  const n = op.dim;
  let q: Float64Array;
  if (startVector !== undefined) {
    if (startVector.length !== n) {
      throw new DimensionError(
        `lanczos: expected startVector of length ${n}, got ${startVector.length}`,
      );
    }
    const size = norm(startVector);
    if (!allFinite(startVector) || size === 0) {
      throw new OptionError('lanczos: expected a finite, non-zero startVector');
    }
    q = scaleInPlace(1 / size, Float64Array.from(startVector));
  } else {
    q = createRandom(seed).unitVector(n);
  }

  const m = Math.min(steps, n);
  const full = reorthogonalize === 'full';
  const alpha: number[] = [];
  const beta: number[] = [];
  const basis: Float64Array[] = [q];
  let previous: Float64Array | undefined;
  let previousBeta = 0;
  let normEstimate = 0;
  let residualNorm = 0;
  let breakdown = false;
  const breakdownFactor = Math.max(n, 10) * 2 ** -52;

  for (let j = 0; j < m; j++) {
    const w = await checkedMatvec(op, q, 'lanczos', j);
    if (previous) axpy(-previousBeta, previous, w);
    const a = dot(q, w);
    axpy(-a, q, w);
    if (full) orthogonalizeAgainst(w, basis);
    alpha.push(a);
    const b = norm(w);
    normEstimate = Math.max(normEstimate, Math.abs(a) + b + previousBeta);
    residualNorm = b;
    if (b <= breakdownFactor * normEstimate) {
      breakdown = true;
      break;
    }
    if (j === m - 1) break;
    beta.push(b);
    previous = q;
    previousBeta = b;
    q = scaleInPlace(1 / b, w);
    if (full) basis.push(q);
  }
  const result: LanczosResult = {
    alpha: Float64Array.from(alpha),
    beta: Float64Array.from(beta),
    residualNorm,
    matvecs: alpha.length,
    breakdown,
  };
  if (full) result.basis = basis.slice(0, alpha.length);
  return result;
}
