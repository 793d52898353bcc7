import { DimensionError, HessianProbeError } from './errors.js';
import { checkOptions, checkVector } from './options.js';

/** Result of {@link tridiagonalEigen}. */
export interface TridiagonalEigen {
  /** Eigenvalues θ_k of T, ascending. */
  values: Float64Array;
  /** First component of each unit eigenvector of T (sign normalised to be >= 0). */
  firstComponents: Float64Array;
  /** Gauss quadrature weights τ_k = firstComponents[k]²; they sum to 1. */
  weights: Float64Array;
  /**
   * With `{ vectors: true }`: the unit eigenvectors, column k for values[k], stored
   * row-major m×m (entry (i, k) at i * m + k).
   */
  vectors?: Float64Array;
}

/** Options of {@link tridiagonalEigen}. */
export interface TridiagonalEigenOptions {
  /** Also return every eigenvector (default false: only their first components, O(m²) work). */
  vectors?: boolean;
}

/** The QL iteration failed to deflate: does not happen for finite input, but is reported. */
export class TridiagonalConvergenceError extends HessianProbeError {
  constructor(message: string) {
    super('tridiagonal-convergence', message);
  }
}

const EPSILON = 2 ** -52;

/**
 * Eigen-decomposition of the symmetric tridiagonal matrix T = tridiag(beta, alpha, beta) by the
 * implicit QL method with Wilkinson-type shifts (Bowdler, Martin, Reinsch & Wilkinson 1968, the
 * EISPACK `tql2` algorithm). Without `vectors` only the first row of the eigenvector matrix is
 * accumulated: the Golub & Welsch (1969) way to get Gauss quadrature weights in O(m²).
 * Backward stable: eigenvalues are exact to a few ulps of ‖T‖ (~1e-13 relative).
 *
 * @param alpha - the diagonal, length m >= 1.
 * @param beta - the off-diagonal, length m − 1.
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when `alpha` or `beta` is not
 *   a `Float64Array` or `options` not an object; {@link DimensionError} for lengths that do not fit
 *   or a NaN or ±Inf entry.
 *
 * @example
 * ```ts
 * const { values, weights } = tridiagonalEigen(Float64Array.of(2, 2), Float64Array.of(1));
 * // values = [1, 3], weights = [0.5, 0.5]
 * ```
 */
export function tridiagonalEigen(
  alpha: Float64Array,
  beta: Float64Array,
  options: TridiagonalEigenOptions = {},
): TridiagonalEigen {
  const where = 'tridiagonalEigen';
  const { vectors: wanted } = checkOptions(where, options);
  checkVector(where, 'alpha', alpha);
  checkVector(where, 'beta', beta);
  const n = alpha.length;
  if (n < 1 || beta.length !== n - 1) {
    throw new DimensionError(
      `tridiagonalEigen: expected alpha of length m >= 1 and beta of length m - 1, got ${n} and ${beta.length}`,
    );
  }
  for (const [name, array] of [
    ['alpha', alpha],
    ['beta', beta],
  ] as const) {
    const bad = array.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      throw new DimensionError(
        `tridiagonalEigen: expected finite ${name}, got ${array[bad]} at ${bad}`,
      );
    }
  }
  const wantVectors = wanted === true;
  const rows = wantVectors ? n : 1;
  const d = Float64Array.from(alpha);
  const e = new Float64Array(n);
  e.set(beta);
  // z holds the first `rows` rows of the eigenvector matrix, row-major rows × n.
  const z = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) z[i * n + i] = 1;

  let shiftSum = 0;
  let tst1 = 0;
  const maxIterations = 30 * n + 30;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > EPSILON * tst1) m++;
    if (m > l) {
      let iteration = 0;
      do {
        if (++iteration > maxIterations) {
          throw new TridiagonalConvergenceError(
            `tridiagonalEigen: expected convergence within ${maxIterations} QL iterations at index ${l}, got none`,
          );
        }
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        shiftSum += h;

        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; k < rows; k++) {
            const row = k * n;
            const zi1 = z[row + i + 1];
            z[row + i + 1] = s * z[row + i] + c * zi1;
            z[row + i] = c * z[row + i] - s * zi1;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > EPSILON * tst1);
    }
    d[l] += shiftSum;
    e[l] = 0;
  }

  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[a] - d[b]);
  const values = new Float64Array(n);
  const firstComponents = new Float64Array(n);
  const weights = new Float64Array(n);
  const vectors = wantVectors ? new Float64Array(n * n) : undefined;
  for (const [k, source] of order.entries()) {
    values[k] = d[source];
    const sign = z[source] < 0 ? -1 : 1;
    firstComponents[k] = sign * z[source];
    weights[k] = z[source] * z[source];
    if (vectors) {
      for (let i = 0; i < n; i++) vectors[i * n + k] = sign * z[i * n + source];
    }
  }
  return vectors
    ? { values, firstComponents, weights, vectors }
    : { values, firstComponents, weights };
}
