import { SizeLimitError } from './errors.js';
import { checkedMatvec, checkOperator, type LinearOperator } from './operator.js';
import { checkInteger, checkOptions, checkVector } from './options.js';
import {
  checkMaxBytes,
  checkWorkspace,
  float64Bytes,
  type WORKSPACE_MAX_BYTES,
} from './workspace.js';

/** Options of {@link denseMatrix}. */
export interface DenseMatrixOptions {
  /** Largest dimension to assemble (default 4096: a 128 MiB float64 matrix). */
  maxDim?: number;
  /**
   * Largest workspace in bytes (default {@link WORKSPACE_MAX_BYTES}, 4 GiB; `Infinity`: no
   * limit): the dim² matrix and three vectors (8·(dim² + 3·dim) bytes), a second guard when
   * `maxDim` is raised.
   */
  maxBytes?: number;
}

/** Workspace of {@link denseMatrix} in bytes: the n² matrix, a unit vector, a column, a copy. */
export function denseMatrixBytes(n: number): number {
  return float64Bytes(n * n + 3 * n);
}

/**
 * Assembles the dense row-major matrix of `op` from its products with the unit vectors e_j
 * (column j = A·e_j; `op.dim` matvecs). For references in tests and for small blocks.
 *
 * @throws {@link SizeLimitError} when `op.dim > maxDim` or the matrix exceeds `maxBytes`, before
 *   any matvec; {@link OptionError} for an `op` that is not a {@link LinearOperator} or a bad
 *   option.
 *
 * @example
 * ```ts
 * const h = await denseMatrix(operator, { maxDim: 500 }); // h[i * dim + j] = H_ij
 * ```
 */
export async function denseMatrix(
  op: LinearOperator,
  options: DenseMatrixOptions = {},
): Promise<Float64Array> {
  const where = 'denseMatrix';
  const { maxDim = 4096, maxBytes } = checkOptions(where, options);
  checkOperator(where, op);
  checkInteger(where, 'maxDim', maxDim, 1);
  const n = op.dim;
  if (n > maxDim) {
    throw new SizeLimitError(`${where}: expected dim <= maxDim = ${maxDim}, got dim ${n}`);
  }
  checkWorkspace(
    where,
    denseMatrixBytes(n),
    checkMaxBytes(where, maxBytes),
    `a ${n}×${n} matrix`,
    'lower maxDim',
  );
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
 * const h = symmetricPart(await denseMatrix(operator), operator.dim);
 * ```
 */
export function symmetricPart(a: Float64Array, n: number): Float64Array {
  checkVector('symmetricPart', 'a', a, n * n);
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
