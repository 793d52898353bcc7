import type { EigenpairsResult, topEigenpairs } from './eigenpairs.js';
import type { MatvecError, SizeLimitError } from './errors.js';
import { checkedMatvec, checkOperator, type LinearOperator } from './operator.js';
import { checkInteger, checkOptions, checkPositive } from './options.js';
import { checkSeed, createRandom, type Random } from './random.js';
import { axpy, dot, norm, orthogonalizeAgainst, scaleInPlace } from './vector.js';
import {
  checkMaxBytes,
  checkWorkspace,
  float64Bytes,
  type WORKSPACE_MAX_BYTES,
} from './workspace.js';

/** Options of {@link powerIteration}. */
export interface PowerIterationOptions {
  /** Number of eigenpairs, 1 <= k <= dim (default 1, PyHessian's `top_n`). */
  k?: number;
  /**
   * Stopping tolerance on the relative change of the Rayleigh quotient between two iterations,
   * |λ_t − λ_{t−1}| < tol · (|λ_{t−1}| + 1e-6), PyHessian's test (default 1e-3, PyHessian's
   * default). It bounds the last change of the eigenvalue, not its error (about
   * tol · ρ/(1 − ρ) relative, ρ = (λ_{i+1}/λ_i)²) nor the residual.
   */
  tol?: number;
  /** Largest number of iterations (= matvecs) per eigenpair (default 100, PyHessian's). */
  maxIter?: number;
  /** Seed of the random start vectors (default 0). */
  seed?: number;
  /**
   * Largest workspace in bytes (default {@link WORKSPACE_MAX_BYTES}, 4 GiB; `Infinity`: no
   * limit): k + 4 vectors of length dim (the pairs found, the iterate, its product, a residual
   * and the copy handed to the operator), checked before the first matvec (a
   * {@link SizeLimitError} above it).
   */
  maxBytes?: number;
}

const ALGORITHM = 'powerIteration';

/**
 * Power iteration with deflation, as PyHessian computes top Hessian eigenpairs (Yao, Gholami,
 * Keutzer & Mahoney, "PyHessian: Neural networks through the lens of the Hessian", IEEE
 * BigData 2020, `hessian.eigenvalues()`), kept as the baseline that {@link topEigenpairs} is
 * benchmarked against. For each pair in turn: from a random unit vector, repeat
 * v ← v − Σ_i (u_iᵀv) u_i over the pairs already found (Gram–Schmidt), λ ← vᵀAv,
 * v ← Av / ‖Av‖, until the relative change of λ is below `tol` or `maxIter` matvecs are spent.
 *
 * It converges to the eigenvalues of largest magnitude |λ|, not the largest algebraic ones
 * (a Hessian's most negative eigenvalue wins when it is the largest in magnitude). Per matvec
 * the eigenvector error shrinks by |λ_{i+1}/λ_i| and the eigenvalue error by its square; two
 * eigenvalues ±λ of equal magnitude make it oscillate.
 *
 * Each returned pair is the last iterate v before the final product and its Rayleigh quotient
 * λ = vᵀAv (PyHessian returns the next iterate Av/‖Av‖ with the previous λ); its
 * residual ‖Av − λv‖ comes from that product, so no extra matvec is spent. Values are in the
 * order found (by decreasing |λ| once converged). `converged` is true when every pair met `tol`
 * within `maxIter`. An iterate with Av = 0 is an exact eigenvector and stops its pair at once.
 *
 * Options are validated before the first matvec; a matvec returning the wrong length or a
 * non-finite value, or throwing, ends the run with a {@link MatvecError} naming the step.
 *
 * @throws {@link OptionError} for an `op` that is not a {@link LinearOperator}, options that are
 *   not an object, k outside [1, dim], tol <= 0, maxIter < 1, a bad seed or `maxBytes`.
 * @throws {@link SizeLimitError} when k + 4 vectors of length dim exceed `maxBytes`.
 *
 * @example
 * ```ts
 * const { values, matvecs } = await powerIteration(operator, { k: 3, tol: 1e-6, maxIter: 200 });
 * ```
 */
export async function powerIteration(
  op: LinearOperator,
  options: PowerIterationOptions = {},
): Promise<EigenpairsResult> {
  const { k = 1, tol = 1e-3, maxIter = 100, seed = 0, maxBytes } = checkOptions(ALGORITHM, options);
  checkOperator(ALGORITHM, op);
  const n = op.dim;
  checkInteger(ALGORITHM, 'k', k, 1, n);
  checkPositive(ALGORITHM, 'tol', tol);
  checkInteger(ALGORITHM, 'maxIter', maxIter, 1);
  checkSeed(seed, ALGORITHM);
  checkWorkspace(
    ALGORITHM,
    float64Bytes((k + 4) * n),
    checkMaxBytes(ALGORITHM, maxBytes),
    `${k + 4} vectors of length ${n}`,
    'lower k',
  );

  const rng = createRandom(seed);
  const values = new Float64Array(k);
  const residuals = new Float64Array(k);
  const vectors: Float64Array[] = [];
  let matvecs = 0;
  let converged = true;
  for (let pair = 0; pair < k; pair++) {
    let next = rng.unitVector(n);
    let current = next;
    let value = Number.NaN;
    let residual = Number.NaN;
    let stopped = false;
    for (let iteration = 0; iteration < maxIter && !stopped; iteration++) {
      current = deflatedUnit(next, vectors, rng);
      const product = await checkedMatvec(op, current, ALGORITHM, matvecs);
      matvecs++;
      const previous = value;
      value = dot(current, product);
      const size = norm(product);
      residual = norm(axpy(-value, current, Float64Array.from(product)));
      // Av = 0 makes v an exact eigenvector (PyHessian would divide by zero next).
      stopped = size === 0 || Math.abs(value - previous) < tol * (Math.abs(previous) + 1e-6);
      if (!stopped) next = scaleInPlace(1 / size, product);
    }
    converged &&= stopped;
    values[pair] = value;
    residuals[pair] = residual;
    vectors.push(current);
  }
  return { values, vectors, residuals, converged, matvecs };
}

/**
 * v with its components along the orthonormal `found` vectors removed (Gram–Schmidt twice),
 * normalised, in place. Should nothing remain, a random vector takes its place.
 */
function deflatedUnit(v: Float64Array, found: readonly Float64Array[], rng: Random): Float64Array {
  for (;;) {
    orthogonalizeAgainst(v, found);
    const size = norm(v);
    if (size > 0) return scaleInPlace(1 / size, v);
    v.set(rng.unitVector(v.length));
  }
}
