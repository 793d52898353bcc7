import { DimensionError, MatvecError, SymmetryError } from './errors.js';
import { embedBlock, findBlock, type ParameterLayout } from './layout.js';
import { checkInteger, checkPositive } from './options.js';
import { allFinite } from './vector.js';

/**
 * A symmetric linear operator on R^dim, known only through its products. Every curvature
 * source (a dense matrix, an exact Hessian-vector product, a Gauss–Newton product) is one of
 * these, and every algorithm in hessian-probe takes one.
 *
 * Contract: `matvec` returns a new `Float64Array` of length `dim`, does not modify its
 * argument, and gives bit-identical results for identical inputs.
 *
 * @example
 * ```ts
 * const identity: LinearOperator = { dim: 3, matvec: async (v) => Float64Array.from(v) };
 * ```
 */
export interface LinearOperator {
  /** Dimension P of the space the operator acts on (number of parameters). */
  readonly dim: number;
  /**
   * Relative accuracy of the products: ‖computed A·v − A·v‖ is about `precision`·‖A‖·‖v‖
   * (default when absent: 2^-53, float64 arithmetic). Operators computed in float32, such as
   * the tfjs Hessian-vector products, declare 2^-24, so that algorithms pick tolerances that
   * can be met (see {@link operatorPrecision}).
   */
  readonly precision?: number;
  /** The product A·v, computed in or converted to float64. */
  matvec(v: Float64Array): Promise<Float64Array>;
}

/** Unit roundoff of float64, the default {@link LinearOperator.precision}. */
export const FLOAT64_PRECISION = 2 ** -53;

/** Unit roundoff of float32, the {@link LinearOperator.precision} of tfjs products. */
export const FLOAT32_PRECISION = 2 ** -24;

/**
 * The relative accuracy of `op`'s products: its declared `precision`, or float64's unit
 * roundoff 2^-53 when it declares none.
 *
 * @example
 * ```ts
 * const tol = Math.max(1e-8, 32 * operatorPrecision(op)); // a residual tolerance that can be met
 * ```
 */
export function operatorPrecision(op: LinearOperator): number {
  return op.precision ?? FLOAT64_PRECISION;
}

/** `{ precision }` of `op` when it declares one, to spread into a derived operator. */
function inheritPrecision(op: LinearOperator): { precision?: number } {
  return op.precision === undefined ? {} : { precision: op.precision };
}

/** Options of {@link denseOperator}. */
export interface DenseOperatorOptions {
  /**
   * Largest allowed |a_ij − a_ji|, relative to the largest |a_ij| (default 1e-12: rounding in
   * a float64 assembly; pass ~1e-6 for matrices assembled from float32 products).
   */
  symmetryTolerance?: number;
}

/**
 * The operator of a dense, row-major, symmetric n×n matrix. The matrix is copied, so later
 * changes to `a` do not affect the operator.
 *
 * @throws {@link DimensionError} when `a.length !== n * n` or an entry is not finite.
 * @throws {@link SymmetryError} naming the worst pair (i, j) when `a` is not symmetric.
 *
 * @example
 * ```ts
 * const op = denseOperator(Float64Array.of(2, 1, 1, 3), 2);
 * await op.matvec(Float64Array.of(1, 0)); // Float64Array [2, 1]
 * ```
 */
export function denseOperator(
  a: Float64Array,
  n: number,
  options: DenseOperatorOptions = {},
): LinearOperator {
  const { symmetryTolerance = 1e-12 } = options;
  checkInteger('denseOperator', 'n', n, 1);
  checkPositive('denseOperator', 'symmetryTolerance', symmetryTolerance, true);
  if (a.length !== n * n) {
    throw new DimensionError(
      `denseOperator: expected a matrix of ${n}×${n} = ${n * n} entries, got ${a.length}`,
    );
  }
  if (!allFinite(a)) {
    const index = a.findIndex((x) => !Number.isFinite(x));
    throw new DimensionError(
      `denseOperator: expected finite entries, got ${a[index]} at (${Math.floor(index / n)}, ${index % n})`,
    );
  }
  checkSymmetric(a, n, symmetryTolerance);
  const matrix = Float64Array.from(a);
  return {
    dim: n,
    async matvec(v) {
      checkLength(v, n, 'denseOperator.matvec');
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        const row = i * n;
        for (let j = 0; j < n; j++) s += matrix[row + j] * v[j];
        out[i] = s;
      }
      return out;
    },
  };
}

function checkSymmetric(a: Float64Array, n: number, tolerance: number): void {
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) maxAbs = Math.max(maxAbs, Math.abs(a[i]));
  let worst = 0;
  let worstI = 0;
  let worstJ = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const gap = Math.abs(a[i * n + j] - a[j * n + i]);
      if (gap > worst) {
        worst = gap;
        worstI = i;
        worstJ = j;
      }
    }
  }
  if (worst > tolerance * maxAbs) {
    throw new SymmetryError(
      `denseOperator: expected a symmetric matrix (|a_ij - a_ji| <= ${tolerance} * max|a| = ${tolerance * maxAbs}), ` +
        `got a_${worstI},${worstJ} = ${a[worstI * n + worstJ]} vs a_${worstJ},${worstI} = ${a[worstJ * n + worstI]}`,
      worstI,
      worstJ,
    );
  }
}

function checkLength(v: Float64Array, dim: number, where: string): void {
  if (v.length !== dim) {
    throw new DimensionError(`${where}: expected a vector of length ${dim}, got ${v.length}`);
  }
}

/**
 * The operator c·A.
 *
 * @example
 * ```ts
 * const negated = scaleOperator(hessian, -1); // smallest eigenvalues of H = largest of −H
 * ```
 */
export function scaleOperator(op: LinearOperator, factor: number): LinearOperator {
  if (!Number.isFinite(factor)) {
    throw new DimensionError(`scaleOperator: expected a finite factor, got ${factor}`);
  }
  return {
    dim: op.dim,
    ...inheritPrecision(op),
    async matvec(v) {
      const out = await op.matvec(v);
      return out.map((x) => factor * x);
    },
  };
}

/**
 * The operator A + s·I.
 *
 * @example
 * ```ts
 * const shifted = shiftOperator(hessian, 1e-3); // a damped Hessian
 * ```
 */
export function shiftOperator(op: LinearOperator, shift: number): LinearOperator {
  if (!Number.isFinite(shift)) {
    throw new DimensionError(`shiftOperator: expected a finite shift, got ${shift}`);
  }
  return {
    dim: op.dim,
    ...inheritPrecision(op),
    async matvec(v) {
      const out = await op.matvec(v);
      return out.map((x, i) => x + shift * v[i]);
    },
  };
}

/**
 * The diagonal block A_bb of `op` for one block `b` of `layout`: v ↦ (A·embed(v))_b. Its
 * dimension is the block's size. This is the "local" or layer-wise Hessian of a block
 * (Bolshim & Kugaevskikh 2025). Each product costs one product of the full operator.
 *
 * @throws {@link LayoutError} when `blockName` is not in `layout`;
 *   {@link DimensionError} when `layout.dim !== op.dim`.
 *
 * @example
 * ```ts
 * const layer = restrictOperator(hessian, layout, 'dense_1/kernel');
 * const { values } = await topEigenpairs(layer, { k: 1 });
 * ```
 */
export function restrictOperator(
  op: LinearOperator,
  layout: ParameterLayout,
  blockName: string,
): LinearOperator {
  if (layout.dim !== op.dim) {
    throw new DimensionError(
      `restrictOperator: expected a layout of dimension ${op.dim} (the operator's), got ${layout.dim}`,
    );
  }
  const block = findBlock(layout, blockName);
  return {
    dim: block.size,
    ...inheritPrecision(op),
    async matvec(v) {
      checkLength(v, block.size, `restrictOperator(${blockName}).matvec`);
      const full = await op.matvec(embedBlock(layout, blockName, v));
      return full.slice(block.offset, block.offset + block.size);
    },
  };
}

/**
 * Calls `op.matvec(v)` on behalf of an algorithm and checks the answer: a thrown error, a
 * result of the wrong length, or a NaN/±Inf entry becomes a {@link MatvecError} naming the
 * algorithm and the step, so the algorithm stops there.
 */
export async function checkedMatvec(
  op: LinearOperator,
  v: Float64Array,
  algorithm: string,
  step: number,
): Promise<Float64Array> {
  let out: Float64Array;
  try {
    out = await op.matvec(v);
  } catch (cause) {
    throw new MatvecError(
      `${algorithm}: the operator's matvec threw at step ${step}: ${String(cause)}`,
      algorithm,
      step,
      { cause },
    );
  }
  if (!(out instanceof Float64Array) || out.length !== op.dim) {
    const got = out instanceof Float64Array ? `length ${out.length}` : typeof out;
    throw new MatvecError(
      `${algorithm}: expected matvec at step ${step} to return a Float64Array of length ${op.dim}, got ${got}`,
      algorithm,
      step,
    );
  }
  if (!allFinite(out)) {
    const index = out.findIndex((x) => !Number.isFinite(x));
    throw new MatvecError(
      `${algorithm}: expected finite matvec output at step ${step}, got ${out[index]} at index ${index}`,
      algorithm,
      step,
    );
  }
  return out;
}
