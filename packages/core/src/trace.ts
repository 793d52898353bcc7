import { SampleMoments } from './moments.js';
import { checkedMatvec, type LinearOperator } from './operator.js';
import { checkInteger, checkOneOf } from './options.js';
import { checkSeed, createRandom, type Random } from './random.js';
import { dot, orthogonalizeAgainst, orthonormalBasis } from './vector.js';

/** The trace estimators of {@link estimateTrace}. */
export type TraceMethod = 'hutch++' | 'hutchinson';

const TRACE_METHODS: readonly TraceMethod[] = ['hutch++', 'hutchinson'];

/** Options of {@link estimateTrace}. */
export interface EstimateTraceOptions {
  /**
   * Matrix-vector products to spend, all of them (required): an integer >= 1 for
   * `'hutchinson'`, >= 3 for `'hutch++'`.
   */
  matvecs: number;
  /** Estimator (default `'hutch++'`). */
  method?: TraceMethod;
  /** Seed of the probe vectors, a safe integer (default 0). */
  seed?: number;
}

/** Result of {@link estimateTrace}. */
export interface TraceEstimate {
  /** The estimate of tr A, in the units of A's eigenvalues. */
  estimate: number;
  /**
   * Standard error of `estimate`, same units: the sample standard deviation of the Hutchinson
   * quadratic forms divided by √(their count). For `'hutch++'` these are the forms of the
   * deflated remainder, so it is the standard error given the sketch (the exact part
   * tr(QᵀAQ) carries none). NaN when fewer than two Hutchinson probes were drawn
   * (`'hutchinson'` with `matvecs: 1`; `'hutch++'` with `matvecs` 3, or 4 with a full-rank sketch).
   */
  stderr: number;
  /** Matrix-vector products used; always equal to the `matvecs` option. */
  matvecs: number;
}

const TRACE = 'estimateTrace';

/**
 * Estimates tr A from matrix-vector products only.
 *
 * - `'hutchinson'` (Hutchinson 1989): the mean of zᵀAz over `matvecs` Rademacher probes z.
 *   Unbiased, with variance 2(‖A‖²_F − Σᵢ A_ii²)/K for K probes.
 * - `'hutch++'` (Meyer, Musco, Musco & Woodruff 2021, "Hutch++: optimal stochastic trace
 *   estimation", Algorithm 1): s = ⌊matvecs/3⌋ products give the sketch A·S with Rademacher S;
 *   Q = orth(AS) has r <= s columns (fewer when AS is numerically rank deficient, which keeps
 *   the estimate unbiased); tr(QᵀAQ) is taken exactly with r products; the remaining
 *   matvecs − s − r products run Hutchinson on (I − QQᵀ)A(I − QQᵀ). Unbiased for any Q, and for
 *   spectra that decay fast (a few outliers over a small bulk, as Hessians have) its error is
 *   orders of magnitude below Hutchinson's at the same budget; exact up to rounding when Q
 *   spans A's range (rank A <= s, with a sketch in general position).
 *
 * Options are validated before the first product.
 *
 * @throws {@link OptionError} for a budget below the method's minimum, an unknown method or a
 *   seed that is not a safe integer.
 * @throws {@link MatvecError} naming the step when a product throws, has the wrong length or is
 *   not finite.
 *
 * @example
 * ```ts
 * const { estimate, stderr } = await estimateTrace(hessian, { matvecs: 60, seed: 1 });
 * console.log(`tr H = ${estimate} ± ${stderr}`);
 * ```
 */
export async function estimateTrace(
  op: LinearOperator,
  options: EstimateTraceOptions,
): Promise<TraceEstimate> {
  const { matvecs, method = 'hutch++', seed = 0 } = options;
  checkOneOf(TRACE, 'method', method, TRACE_METHODS);
  checkInteger(TRACE, 'matvecs', matvecs, method === 'hutch++' ? 3 : 1);
  checkSeed(seed, TRACE);
  const rng = createRandom(seed);
  if (method === 'hutchinson') {
    const { mean, stderr } = await hutchinson(op, matvecs, rng, [], 0);
    return { estimate: mean, stderr, matvecs };
  }
  const sketchSize = Math.floor(matvecs / 3);
  const sketch: Float64Array[] = [];
  for (let k = 0; k < sketchSize; k++) {
    sketch.push(await checkedMatvec(op, rng.rademacherVector(op.dim), TRACE, k));
  }
  const basis = orthonormalBasis(sketch);
  let exact = 0;
  for (const [i, q] of basis.entries()) {
    exact += dot(q, await checkedMatvec(op, q, TRACE, sketchSize + i));
  }
  const used = sketchSize + basis.length;
  const { mean, stderr } = await hutchinson(op, matvecs - used, rng, basis, used);
  return { estimate: exact + mean, stderr, matvecs };
}

/**
 * Mean and standard error of zᵀAz over `probes` Rademacher z projected onto the orthogonal
 * complement of `basis` (no projection for an empty basis). Steps are numbered from `firstStep`.
 */
async function hutchinson(
  op: LinearOperator,
  probes: number,
  rng: Random,
  basis: readonly Float64Array[],
  firstStep: number,
): Promise<{ mean: number; stderr: number }> {
  const moments = new SampleMoments(1);
  for (let k = 0; k < probes; k++) {
    const z = rng.rademacherVector(op.dim);
    orthogonalizeAgainst(z, basis);
    const az = await checkedMatvec(op, z, TRACE, firstStep + k);
    moments.add([dot(z, az)]);
  }
  return { mean: moments.mean()[0], stderr: moments.standardError()[0] };
}

/** Options of {@link estimateDiagonal}. */
export interface EstimateDiagonalOptions {
  /** Matrix-vector products to spend, one per probe (required, an integer >= 1). */
  matvecs: number;
  /** Seed of the probe vectors, a safe integer (default 0). */
  seed?: number;
}

/** Result of {@link estimateDiagonal}. */
export interface DiagonalEstimate {
  /** Estimate of each diagonal entry A_ii, in the units of A's entries. */
  diagonal: Float64Array;
  /**
   * Standard error of each entry, same units: sample standard deviation of zᵢ(Az)ᵢ over the
   * probes / √K. Exactly 0 for a diagonal A; NaN for every entry when `matvecs` is 1.
   */
  stderr: Float64Array;
  /** Matrix-vector products used; equal to the `matvecs` option. */
  matvecs: number;
}

const DIAGONAL = 'estimateDiagonal';

/**
 * Estimates the diagonal of A from matrix-vector products (Bekas, Kokiopoulou & Saad 2007, "An
 * estimator for the diagonal of a matrix"): diag A ≈ Σₖ zₖ ⊙ Azₖ ⊘ Σₖ zₖ ⊙ zₖ. With K Rademacher
 * probes Σₖ zₖ ⊙ zₖ = K, so this is the plain mean of z ⊙ Az: unbiased, entry i with variance
 * Σ_{j≠i} A_ij² / K, and exact when A is diagonal.
 *
 * Options are validated before the first product.
 *
 * @throws {@link OptionError} when `matvecs` is not an integer >= 1 or the seed is not a safe
 *   integer.
 * @throws {@link MatvecError} naming the step when a product is unusable.
 *
 * @example
 * ```ts
 * const { diagonal, stderr } = await estimateDiagonal(hessian, { matvecs: 100 });
 * ```
 */
export async function estimateDiagonal(
  op: LinearOperator,
  options: EstimateDiagonalOptions,
): Promise<DiagonalEstimate> {
  const { matvecs, seed = 0 } = options;
  checkInteger(DIAGONAL, 'matvecs', matvecs, 1);
  checkSeed(seed, DIAGONAL);
  const rng = createRandom(seed);
  const n = op.dim;
  const moments = new SampleMoments(n);
  const sample = new Float64Array(n);
  for (let k = 0; k < matvecs; k++) {
    const z = rng.rademacherVector(n);
    const az = await checkedMatvec(op, z, DIAGONAL, k);
    for (let i = 0; i < n; i++) sample[i] = z[i] * az[i];
    moments.add(sample);
  }
  return { diagonal: moments.mean(), stderr: moments.standardError(), matvecs };
}
