import { DimensionError, MatvecError, OptionError, SymmetryError } from './errors.js';
import { blockNamed, checkLayout, embedBlock, type ParameterLayout } from './layout.js';
import {
  checkInteger,
  checkOptions,
  checkPositive,
  checkString,
  checkVector,
  show,
} from './options.js';
import { allFinite } from './vector.js';

/**
 * A symmetric linear operator on R^dim, known only through its products. Every curvature
 * source (a dense matrix, an exact Hessian-vector product, a Gauss–Newton product) is one of
 * these, and every algorithm in hessian-probe takes one.
 *
 * Contract:
 * - `dim` is an integer >= 1;
 * - `matvec(v)` resolves to a `Float64Array` of length `dim` that belongs to the caller: a new
 *   array each call, whose memory (its `buffer`) the operator does not use again (no buffer
 *   reused from call to call, no view of a cache); the caller may modify it;
 * - `matvec` does not modify its argument, and gives bit-identical results for identical
 *   inputs.
 *
 * The algorithms of this library do not take the last two points on trust: they call operators
 * through {@link checkedMatvec}, which hands the operator a copy of the vector (an operator that
 * writes into its argument cannot corrupt a Lanczos basis or a probe; returning that copy is
 * harmless too) and refuses, with a {@link MatvecError}, a result whose buffer an earlier
 * product returned (later products would overwrite the stored one). Without these, an operator
 * that scaled its argument by 1000 in place turned a trace of 18 into a Hutch++ estimate of
 * 2·10^16, and one that reused its output buffer gave Lanczos coefficients of 4·10^19. Check an
 * operator of your own with `checkOperatorContract` from `@hessian-probe/core/testing`, which
 * refuses both, and a result that is its argument.
 *
 * @example
 * ```ts
 * const identity: LinearOperator = { dim: 3, matvec: async (v) => Float64Array.from(v) };
 * ```
 */
export interface LinearOperator {
  /** Dimension P of the space the operator acts on (number of parameters), an integer >= 1. */
  readonly dim: number;
  /**
   * Relative accuracy of the products: ‖computed A·v − A·v‖ is about `precision`·‖A‖·‖v‖
   * (default when absent: 2^-53, float64 arithmetic), a number in [0, 1). Operators computed
   * in float32, such as the tfjs Hessian-vector products, declare 2^-24, so that algorithms
   * pick tolerances that can be met (see {@link operatorPrecision}).
   */
  readonly precision?: number;
  /** The product A·v, computed in or converted to float64: a new array (see the contract). */
  matvec(v: Float64Array): Promise<Float64Array>;
}

/**
 * Checks that `op` is a {@link LinearOperator}: an object with a `matvec` function, a `dim`
 * that is an integer >= 1 (a safe integer: NaN, 0, 2.5 or 2^53 would make loops never end or
 * never start), and a `precision`, when present, in [0, 1). Throws an {@link OptionError}
 * reading "`where`: expected `name`.dim to be an integer >= 1, got 0" otherwise. Every public
 * function that takes an operator calls it before anything else reads the operator.
 */
export function checkOperator(
  where: string,
  op: unknown,
  name = 'op',
): asserts op is LinearOperator {
  if (
    typeof op !== 'object' ||
    op === null ||
    typeof (op as LinearOperator).matvec !== 'function'
  ) {
    throw new OptionError(
      `${where}: expected ${name} to be a LinearOperator (an object with dim and a matvec function), got ${show(op)}`,
    );
  }
  const { dim, precision } = op as LinearOperator;
  if (!Number.isSafeInteger(dim) || dim < 1) {
    throw new OptionError(`${where}: expected ${name}.dim to be an integer >= 1, got ${show(dim)}`);
  }
  if (
    precision !== undefined &&
    !(typeof precision === 'number' && precision >= 0 && precision < 1)
  ) {
    throw new OptionError(
      `${where}: expected ${name}.precision to be a number in [0, 1) or absent, got ${show(precision)}`,
    );
  }
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
 * const tol = Math.max(1e-8, 32 * operatorPrecision(operator)); // a tolerance that can be met
 * ```
 */
export function operatorPrecision(op: LinearOperator): number {
  checkOperator('operatorPrecision', op);
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
 * @throws {@link OptionError} when `a` is not a `Float64Array`, `n` not an integer >= 1 or an
 *   option is out of range.
 * @throws {@link DimensionError} when `a.length !== n * n` or an entry is not finite.
 * @throws {@link @hessian-probe/core!internal.SymmetryError | SymmetryError} naming the worst pair
 *   (i, j) when `a` is not symmetric.
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
  const { symmetryTolerance = 1e-12 } = checkOptions('denseOperator', options);
  checkVector('denseOperator', 'a', a);
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
  if (!(v instanceof Float64Array) || v.length !== dim) {
    const got = v instanceof Float64Array ? v.length : show(v);
    throw new DimensionError(`${where}: expected a vector of length ${dim}, got ${got}`);
  }
}

/**
 * The operator c·A.
 *
 * @example
 * ```ts
 * const negated = scaleOperator(operator, -1); // smallest eigenvalues of H = largest of −H
 * ```
 */
export function scaleOperator(op: LinearOperator, factor: number): LinearOperator {
  checkOperator('scaleOperator', op);
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
 * const shifted = shiftOperator(operator, 1e-3); // a damped Hessian
 * ```
 */
export function shiftOperator(op: LinearOperator, shift: number): LinearOperator {
  checkOperator('shiftOperator', op);
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
 * @throws {@link LayoutError} when `layout` does not tile its dimension or `blockName` is not in
 *   it; {@link DimensionError} when `layout.dim !== op.dim`; {@link OptionError} for an `op`
 *   that is not a {@link LinearOperator} or a `blockName` that is not a string.
 *
 * @example
 * ```ts
 * const layer = restrictOperator(operator, layout, 'dense_1/kernel');
 * const { values } = await topEigenpairs(layer, { k: 1 });
 * ```
 */
export function restrictOperator(
  op: LinearOperator,
  layout: ParameterLayout,
  blockName: string,
): LinearOperator {
  const where = 'restrictOperator';
  checkOperator(where, op);
  checkLayout(where, layout, op.dim, "the operator's");
  checkString(where, 'blockName', blockName);
  const block = blockNamed(where, layout, blockName);
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
 * The buffers of the results {@link checkedMatvec} has handed out, with the product that
 * returned each: an operator that returns one of them again reuses its output buffer.
 */
const returnedBuffers = new WeakMap<ArrayBufferLike, { algorithm: string; step: number }>();

/**
 * Calls `op.matvec` on behalf of an algorithm and checks the answer: a thrown error, a result
 * of the wrong type or length, a NaN/±Inf entry, or a result whose buffer an earlier product
 * returned becomes a {@link MatvecError} naming the algorithm and the step, so the algorithm
 * stops there.
 *
 * The operator is given a copy of `v`, never `v` itself: an operator that writes into its
 * argument (scales it, uses it as scratch) then cannot corrupt the algorithm's vectors (a
 * Lanczos basis vector, a probe reused after the product). The copy costs one allocation and
 * one pass over dim numbers: measured at dim = 10^6 (8 MB), 0.9–1.8 ms per product on top of
 * the 2.7–3.7 ms this function already spends checking the result for NaN: 1–2 % of a 100 ms
 * Hessian-vector product (a tfjs HVP of a 270k-parameter MLP takes 61–1500 ms, README
 * benchmark). Copying only for operators that need it would mean trusting them to say so.
 *
 * An operator that returns the same array (or another view of the same `ArrayBuffer`) twice is
 * refused at the second time, in any run: the algorithms keep results across products
 * (Lanczos vectors, the Hutch++ sketch, the products of the eigensolver's subspace) and modify
 * some in place, so a reused buffer would be overwritten silently. That check is O(1) (a
 * `WeakMap` lookup, which keeps no result alive). Returning its argument (the copy) is
 * allowed.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} or {@link DimensionError}
 *   when `op` is not a {@link LinearOperator} or `v` is not a `Float64Array` of length `op.dim`
 *   (before the product).
 * @throws {@link @hessian-probe/core!index.MatvecError | MatvecError} as above.
 *
 * @example
 * ```ts
 * const v = new Float64Array(operator.dim).fill(1);
 * const av = await checkedMatvec(operator, v, 'myAlgorithm', 0); // operator gets a copy of v
 * ```
 */
export async function checkedMatvec(
  op: LinearOperator,
  v: Float64Array,
  algorithm: string,
  step: number,
): Promise<Float64Array> {
  checkString('checkedMatvec', 'algorithm', algorithm);
  checkOperator(algorithm, op);
  checkVector(algorithm, 'the vector of a product', v, op.dim);
  checkInteger(algorithm, 'step', step, 0);
  let out: Float64Array;
  try {
    out = await op.matvec(v.slice());
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
  const earlier = returnedBuffers.get(out.buffer);
  if (earlier !== undefined) {
    throw new MatvecError(
      `${algorithm}: expected matvec at step ${step} to return a new Float64Array, got the buffer it returned at ${earlier.algorithm} step ${earlier.step} ` +
        '(an operator that reuses its output buffer has later products overwrite earlier ones: return a new array, or a copy)',
      algorithm,
      step,
    );
  }
  returnedBuffers.set(out.buffer, { algorithm, step });
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
