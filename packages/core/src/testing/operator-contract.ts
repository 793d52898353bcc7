import type { LinearOperator } from '../operator.js';
import { createRandom } from '../random.js';
import { dot, norm } from '../vector.js';

/** Options of {@link checkOperatorContract}. */
export interface OperatorContractOptions {
  /**
   * Largest allowed relative error ‖Av − A_ref v‖ / (‖A_ref‖_F ‖v‖) of a product, and of the
   * symmetry gap |uᵀAv − vᵀAu| / (‖A_ref‖_F ‖u‖ ‖v‖). Choose it from the operator's arithmetic:
   * ~1e-13 for float64, ~1e-6 for float32 (see {@link arithmeticTolerance}).
   */
  tolerance: number;
  /** Number of random probe vectors (default 4), plus every unit vector when dim <= 64. */
  probes?: number;
  /** Seed of the probe vectors (default 0). */
  seed?: number;
}

/**
 * Relative tolerances that follow from the arithmetic an operator computes in: a few hundred ulps of the working precision, which covers the rounding of dot
 * products of the lengths met in tests (error growth ~√n·u for random rounding).
 */
export const arithmeticTolerance = {
  /** float64: 256 · 2^-53 ≈ 2.8e-14. */
  float64: 256 * 2 ** -53,
  /** float32: 256 · 2^-24 ≈ 1.5e-5. */
  float32: 256 * 2 ** -24,
} as const;

/** A failed contract check: says which check, where, and by how much. */
export class OperatorContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperatorContractError';
  }
}

/**
 * The one contract every {@link LinearOperator} in hessian-probe must meet, checked against
 * its dense float64 reference matrix (row-major, dim × dim):
 * 1. `dim` matches the reference;
 * 2. products A·v match A_ref·v for random and unit vectors, within `tolerance`;
 * 3. symmetry: uᵀ(Av) = vᵀ(Au) within `tolerance`;
 * 4. determinism: the same v twice gives bit-identical results;
 * 5. the input vector is not modified (checked after each of the two calls), and each call
 *    returns a new Float64Array of length dim whose buffer is neither the input's nor that
 *    of any earlier result (an operator that reuses its output buffer has later products
 *    overwrite the results an algorithm keeps).
 *
 * Throws an {@link OperatorContractError} on the first failure; returns the worst relative
 * product error seen, so a test can print or bound it.
 *
 * @example
 * ```ts
 * declare const exactHessian: Float64Array; // the float64 reference, row-major, dim × dim
 * const worst = await checkOperatorContract(operator, exactHessian, { tolerance: 1e-6 });
 * ```
 */
export async function checkOperatorContract(
  op: LinearOperator,
  reference: Float64Array,
  options: OperatorContractOptions,
): Promise<number> {
  const { tolerance, probes = 4, seed = 0 } = options;
  const n = op.dim;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new OperatorContractError(`dim: expected an integer >= 1, got ${String(n)}`);
  }
  if (reference.length !== n * n) {
    throw new OperatorContractError(
      `dim: expected the reference to have dim² = ${n * n} entries (dim ${n}), got ${reference.length}`,
    );
  }
  const refNorm = Math.max(norm(reference), Number.MIN_VALUE);
  const rng = createRandom(seed);
  const vectors: Float64Array[] = [];
  for (let p = 0; p < probes; p++) vectors.push(rng.gaussianVector(n));
  if (n <= 64) {
    for (let j = 0; j < n; j++) {
      const e = new Float64Array(n);
      e[j] = 1;
      vectors.push(e);
    }
  }
  let worst = 0;
  const products: Float64Array[] = [];
  // The buffer of every result so far, with the product that returned it.
  const buffers = new Map<ArrayBufferLike, string>();
  const product = async (v: Float64Array, label: string): Promise<Float64Array> => {
    const before = Float64Array.from(v);
    const av = await op.matvec(v);
    if (!(av instanceof Float64Array) || av.length !== n || av.buffer === v.buffer) {
      throw new OperatorContractError(
        `${label}: expected a new Float64Array of length ${n}, got ${av === v ? 'its input' : av instanceof Float64Array ? `length ${av.length}${av.buffer === v.buffer ? ', a view of its input' : ''}` : typeof av}`,
      );
    }
    for (let i = 0; i < n; i++) {
      if (!Object.is(v[i], before[i])) {
        throw new OperatorContractError(`${label}: matvec modified its input at index ${i}`);
      }
    }
    const earlier = buffers.get(av.buffer);
    if (earlier !== undefined) {
      throw new OperatorContractError(
        `${label}: expected a new Float64Array, got the buffer of ${earlier} (the operator reuses its output buffer: later products overwrite earlier results)`,
      );
    }
    buffers.set(av.buffer, label);
    return av;
  };
  for (const [index, v] of vectors.entries()) {
    const av = await product(v, `product ${index}`);
    const again = await product(v, `product ${index} (repeated)`);
    for (let i = 0; i < n; i++) {
      if (!Object.is(av[i], again[i])) {
        throw new OperatorContractError(
          `determinism: product ${index} differs between two calls at index ${i}: ${av[i]} vs ${again[i]}`,
        );
      }
    }
    let errSq = 0;
    let worstIndex = 0;
    let worstGap = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += reference[i * n + j] * v[j];
      const gap = Math.abs(av[i] - s);
      errSq += gap * gap;
      if (gap > worstGap) {
        worstGap = gap;
        worstIndex = i;
      }
    }
    const relative = Math.sqrt(errSq) / (refNorm * norm(v));
    worst = Math.max(worst, relative);
    if (!(relative <= tolerance)) {
      throw new OperatorContractError(
        `product ${index}: relative error ${relative.toExponential(3)} > tolerance ${tolerance.toExponential(3)}; ` +
          `largest gap ${worstGap.toExponential(3)} at row ${worstIndex}`,
      );
    }
    products.push(av);
  }
  for (let a = 0; a + 1 < vectors.length; a++) {
    const u = vectors[a];
    const v = vectors[a + 1];
    const gap = Math.abs(dot(u, products[a + 1]) - dot(v, products[a]));
    const relative = gap / (refNorm * norm(u) * norm(v));
    if (!(relative <= tolerance)) {
      throw new OperatorContractError(
        `symmetry: |uᵀAv − vᵀAu| / (‖A‖_F‖u‖‖v‖) = ${relative.toExponential(3)} > ${tolerance.toExponential(3)} for products ${a} and ${a + 1}`,
      );
    }
  }
  return worst;
}
