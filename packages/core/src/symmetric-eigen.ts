import { DimensionError } from './errors.js';
import { checkOptions, checkVector } from './options.js';
import { tridiagonalEigen } from './tridiagonal.js';

/** Result of {@link symmetricEigen}. */
export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /**
   * Orthonormal eigenvectors, column k for values[k], stored row-major n×n (entry (i, k) at
   * i * n + k).
   */
  vectors: Float64Array;
}

/** Options of {@link symmetricEigen}. */
export interface SymmetricEigenOptions {
  /**
   * Also compute the eigenvectors (default true). With `false` the QL rotations are not
   * accumulated and the Householder reflectors are neither kept nor applied: only the (4/3)n³
   * flops of the reduction remain of the O(n³) work, and the eigenvalues are the same, bit for
   * bit (the QL iteration does not read the vectors it accumulates).
   */
  readonly vectors?: boolean;
}

/**
 * Eigen-decomposition of a small dense symmetric matrix: Householder reduction to tridiagonal form
 * (Golub & Van Loan, Matrix Computations, 4th ed., Algorithm 8.3.1), the implicit QL iteration of
 * {@link tridiagonalEigen}, and back-transformation of the eigenvectors. O(n³), backward stable:
 * eigenvalues exact to a few ulps of ‖A‖, eigenvectors orthonormal to working precision. It solves
 * the projected (Rayleigh–Ritz) matrices of
 * {@link @hessian-probe/core!index.topEigenpairs | topEigenpairs}, which after a thick restart are
 * arrowhead-plus-tridiagonal rather than tridiagonal.
 *
 * Only the lower triangle of `a` is read.
 *
 * @param a - row-major n×n symmetric matrix (not modified).
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when `a` is not a
 *   `Float64Array` or `options` not an object; {@link DimensionError} when `a` is not n×n or its
 *   lower triangle has a NaN or ±Inf.
 * @param options - `{ vectors: false }` for the eigenvalues alone.
 *
 * @example
 * ```ts
 * const { values, vectors } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2);
 * // values = [1, 3]; column 1 of vectors is ±[1, 1]/√2
 * const { values: only } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2, { vectors: false });
 * // only = [1, 3]
 * ```
 */
export function symmetricEigen(
  a: Float64Array,
  n: number,
  options?: SymmetricEigenOptions & { readonly vectors?: true },
): SymmetricEigen;
export function symmetricEigen(
  a: Float64Array,
  n: number,
  options: SymmetricEigenOptions & { readonly vectors: false },
): Pick<SymmetricEigen, 'values'>;
export function symmetricEigen(
  a: Float64Array,
  n: number,
  options: SymmetricEigenOptions = {},
): Pick<SymmetricEigen, 'values'> & Partial<SymmetricEigen> {
  const where = 'symmetricEigen';
  const { vectors: wanted } = checkOptions(where, options);
  checkVector(where, 'a', a);
  if (!Number.isSafeInteger(n) || n < 1 || a.length !== n * n) {
    throw new DimensionError(
      `${where}: expected an n×n matrix with n >= 1 (${n}×${n} = ${n * n} entries), got ${a.length} entries`,
    );
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      if (!Number.isFinite(a[i * n + j])) {
        throw new DimensionError(
          `${where}: expected finite entries, got ${a[i * n + j]} at (${i}, ${j})`,
        );
      }
    }
  }
  const wantVectors = wanted !== false;
  // Working copy of the lower triangle, mirrored so that row slices can be used throughout.
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      m[i * n + j] = a[i * n + j];
      m[j * n + i] = a[i * n + j];
    }
  }
  const diagonal = new Float64Array(n);
  const offDiagonal = new Float64Array(n - 1);
  // Reflector k acts on indices k+1..n−1: H_k = I − beta_k v_k v_kᵀ.
  const reflectors: ({ v: Float64Array; beta: number } | undefined)[] = new Array(n).fill(
    undefined,
  );
  const p = new Float64Array(n);
  for (let k = 0; k + 2 < n; k++) {
    const len = n - k - 1;
    const v = new Float64Array(len);
    // The column is scaled by its largest entry before any square is taken (as LAPACK's
    // dlarfg does): squares of entries below ~1e-154 would underflow to subnormals or 0 and
    // make β = 2/‖v‖² infinite (seen on ReLU Hessian blocks with dead units). The reflector
    // I − β v vᵀ does not depend on the scale of v.
    let scale = 0;
    for (let i = 0; i < len; i++) {
      v[i] = m[(k + 1 + i) * n + k];
      scale = Math.max(scale, Math.abs(v[i]));
    }
    let tailSq = 0;
    if (scale > 0) {
      for (let i = 0; i < len; i++) v[i] /= scale;
      for (let i = 1; i < len; i++) tailSq += v[i] * v[i];
    }
    if (tailSq === 0) {
      // Nothing to eliminate: the tail is 0, or below 2^-537 of the column's largest entry.
      offDiagonal[k] = v[0] * scale;
      continue;
    }
    // (I − β v vᵀ) x = σ e₁ with σ = −sign(x₀)‖x‖, so that v₀ = x₀ − σ does not cancel.
    const x0 = v[0];
    const xNorm = Math.hypot(x0, Math.sqrt(tailSq));
    const sigma = x0 >= 0 ? -xNorm : xNorm;
    v[0] = x0 - sigma;
    const beta = 2 / (v[0] * v[0] + tailSq);
    offDiagonal[k] = sigma * scale;
    // Two-sided update of the trailing block B: B ← B − v wᵀ − w vᵀ with p = βBv,
    // w = p − (β pᵀv / 2) v.
    const base = k + 1;
    let pv = 0;
    for (let i = 0; i < len; i++) {
      let s = 0;
      const row = (base + i) * n + base;
      for (let j = 0; j < len; j++) s += m[row + j] * v[j];
      p[i] = beta * s;
      pv += p[i] * v[i];
    }
    const half = 0.5 * beta * pv;
    for (let i = 0; i < len; i++) p[i] -= half * v[i];
    for (let i = 0; i < len; i++) {
      const row = (base + i) * n + base;
      for (let j = 0; j < len; j++) m[row + j] -= v[i] * p[j] + p[i] * v[j];
    }
    if (wantVectors) reflectors[k] = { v, beta };
  }
  for (let k = 0; k < n; k++) diagonal[k] = m[k * n + k];
  if (n >= 2) offDiagonal[n - 2] = m[(n - 1) * n + n - 2];
  if (!wantVectors) return { values: tridiagonalEigen(diagonal, offDiagonal).values };

  const { values, vectors } = tridiagonalEigen(diagonal, offDiagonal, { vectors: true });
  const z = vectors!;
  // Eigenvectors of A are Q z with Q = H₀H₁⋯H_{n−3}: apply the reflectors last to first.
  const column = new Float64Array(n);
  for (let k = n - 3; k >= 0; k--) {
    const reflector = reflectors[k];
    if (reflector === undefined) continue;
    const { v, beta } = reflector;
    const base = k + 1;
    column.fill(0);
    for (let i = 0; i < v.length; i++) {
      const row = (base + i) * n;
      for (let c = 0; c < n; c++) column[c] += v[i] * z[row + c];
    }
    for (let i = 0; i < v.length; i++) {
      const row = (base + i) * n;
      const scaled = beta * v[i];
      for (let c = 0; c < n; c++) z[row + c] -= scaled * column[c];
    }
  }
  return { values, vectors: z };
}
