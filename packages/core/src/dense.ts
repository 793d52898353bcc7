import { SizeLimitError } from './errors.js';
import { checkedMatvec, type LinearOperator } from './operator.js';
import { checkInteger } from './options.js';

/** Options of {@link denseMatrix}. */
export interface DenseMatrixOptions {
  /** Largest dimension to assemble (default 4096: a 128 MiB float64 matrix). */
  maxDim?: number;
}

/**
 * Assembles the dense row-major matrix of `op` from its products with the unit vectors e_j
 * (column j = A·e_j; `op.dim` matvecs). For references in tests and for small blocks.
 *
 * @throws {@link SizeLimitError} when `op.dim > maxDim`, before any matvec.
 *
 * @example
 * ```ts
 * const h = await denseMatrix(hessian, { maxDim: 500 }); // h[i * dim + j] = H_ij
 * ```
 */
export async function denseMatrix(
  op: LinearOperator,
  options: DenseMatrixOptions = {},
): Promise<Float64Array> {
  const { maxDim = 4096 } = options;
  checkInteger('denseMatrix', 'maxDim', maxDim, 1);
  const n = op.dim;
  if (n > maxDim) {
    throw new SizeLimitError(`denseMatrix: expected dim <= maxDim = ${maxDim}, got dim ${n}`);
  }
  const a = new Float64Array(n * n);
  const unit = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    unit[j] = 1;
    const column = await checkedMatvec(op, unit, 'denseMatrix', j);
    unit[j] = 0;
    for (let i = 0; i < n; i++) a[i * n + j] = column[i];
  }
  return a;
}

/**
 * The symmetric part (A + Aᵀ)/2 of a row-major n×n matrix, as a new matrix. A matrix assembled
 * from float32 products is symmetric only up to their rounding; its symmetric part has the same
 * trace, and eigenvalues and block norms within that rounding.
 *
 * @example
 * ```ts
 * const h = symmetricPart(await denseMatrix(hessian), hessian.dim);
 * ```
 */
export function symmetricPart(a: Float64Array, n: number): Float64Array {
  const out = Float64Array.from(a);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const mean = 0.5 * (a[i * n + j] + a[j * n + i]);
      out[i * n + j] = mean;
      out[j * n + i] = mean;
    }
  }
  return out;
}
