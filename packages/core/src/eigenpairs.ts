import { type MatvecError, OptionError } from './errors.js';
import { checkedMatvec, type LinearOperator } from './operator.js';
import { checkInteger, checkOneOf, checkPositive } from './options.js';
import type { powerIteration } from './power-iteration.js';
import { checkSeed, createRandom, type Random } from './random.js';
import { type SymmetricEigen, symmetricEigen } from './symmetric-eigen.js';
import { allFinite, axpy, dot, norm, orthonormalBasis, scaleInPlace } from './vector.js';

/** Which end of the spectrum {@link topEigenpairs} computes. */
export type EigenpairTarget = 'largest' | 'smallest' | 'both';

/** Options of {@link topEigenpairs}. */
export interface TopEigenpairsOptions {
  /**
   * Number of eigenpairs, 1 <= k <= dim; with `which: 'both'`, k from each end
   * (2k <= dim).
   */
  k: number;
  /**
   * `'largest'` (default): the k largest algebraic eigenvalues (Hessians are indefinite: this
   * is not the largest |λ|); `'smallest'`: the k smallest algebraic; `'both'`: both sets.
   */
  which?: EigenpairTarget;
  /**
   * Relative residual tolerance (default 1e-8): pair i has converged when
   * ‖A v_i − λ_i v_i‖ <= tol · ‖A‖_est, where ‖A‖_est is the largest |Rayleigh quotient| and
   * ‖A q‖ seen so far (a lower bound of ‖A‖₂ that reaches it within a few steps). Then
   * |λ_i − λ| <= tol · ‖A‖ for an eigenvalue λ of A, and the error is ~(tol · ‖A‖)² / gap for a
   * separated eigenvalue. Values below ~dim · 2⁻⁵² cannot be met in float64, nor below
   * ~1e-6 for an operator computed in float32 (a tfjs Hessian-vector product).
   */
  tol?: number;
  /**
   * Budget of matvecs, >= the number of wanted pairs (default max(1000, 10 · subspaceSize)).
   * When it runs out, the current best pairs are returned with `converged: false`.
   */
  maxMatvecs?: number;
  /** Seed of the random start vector and of any restart vector (default 0). */
  seed?: number;
  /**
   * Largest dimension m of the search subspace, capped at dim (default
   * max(20, 2w + 10) with w the number of wanted pairs: k, or 2k for `'both'`). Must exceed w
   * unless m = dim. Memory: 2m vectors of length dim (the basis and its products).
   */
  subspaceSize?: number;
  /**
   * Vectors whose span is excluded (default none), e.g. eigenvectors found by an earlier run:
   * the search runs in their orthogonal complement (projection deflation), so the next call
   * finds the next pairs, or further copies of a repeated eigenvalue. They must be linearly
   * independent; they are orthonormalised internally. Residuals are still those of A itself.
   */
  deflate?: readonly Float64Array[];
}

/**
 * Eigenpairs with their residuals: the result of {@link topEigenpairs} and
 * {@link powerIteration}.
 */
export interface EigenpairsResult {
  /** Eigenvalue estimates (Rayleigh quotients), in the order documented by the method. */
  values: Float64Array;
  /** Unit eigenvector estimates, `vectors[i]` for `values[i]`. */
  vectors: Float64Array[];
  /** ‖A v_i − λ_i v_i‖ for each returned pair, computed from actual matvec outputs. */
  residuals: Float64Array;
  /** True when every returned pair met the method's stopping criterion. */
  converged: boolean;
  /** Matvecs spent; the residuals need none beyond these. */
  matvecs: number;
}

const ALGORITHM = 'topEigenpairs';
const EPSILON = 2 ** -52;
/**
 * A Gram–Schmidt pass that keeps more than 1/√2 of the vector's norm leaves it orthogonal to
 * working precision; one that cancels more is repeated (Daniel, Gragg, Kaufman & Stewart 1976).
 */
const REORTHOGONALIZE_RATIO = Math.SQRT1_2;
/** Entries per block in {@link combine}: 1024 float64 per vector keeps a block in L1/L2 cache. */
const COMBINE_BLOCK = 1024;

/**
 * The k extreme eigenpairs of a symmetric operator by thick-restart Lanczos (Lanczos 1950, J.
 * Res. Nat. Bur. Standards 45; Wu & Simon, "Thick-restart Lanczos method for large symmetric
 * eigenvalue problems", SIAM J. Matrix Anal. Appl. 22(2), 2000; the restart is the one of
 * Stathopoulos, Saad & Wu, "Dynamic thick restarting of the Davidson, and the implicitly
 * restarted Arnoldi methods", SIAM J. Sci. Comput. 19(1), 1998).
 *
 * The method grows an orthonormal basis V of a Krylov subspace one matvec at a time, with full
 * reorthogonalisation (classical Gram–Schmidt, repeated when it cancels), and keeps the products
 * AV. Rayleigh–Ritz on T = VᵀAV gives Ritz pairs (θ, Vy). When V reaches `subspaceSize`
 * vectors it restarts thickly: V ← VY for the Ritz vectors nearest the wanted end (the wanted
 * ones plus half of the others, so converging pairs stay in the basis), T ← diag(θ), and the
 * Lanczos recurrence continues from the common residual direction, so the subspace stays a
 * Krylov subspace. Convergence is checked after every matvec (every ⌈J²/dim⌉ once the subspace
 * dimension J is large), so a run stops as soon as the wanted pairs meet `tol`.
 *
 * Residuals are honest: ‖(AV)y − θVy‖ from the stored matvec outputs, not from the recurrence,
 * and convergence is declared only when those residuals meet `tol`; no extra matvec is needed.
 *
 * Invariant subspaces and repeated eigenvalues. From one start vector a Krylov subspace holds
 * one direction per eigenspace. When the residual direction vanishes (to within `tol`), the
 * subspace is invariant: the run continues with a "chain" from a random vector orthogonal to
 * the basis, and stops only at the end of a chain that changed no wanted value. This recovers
 * every copy of a repeated eigenvalue whenever the operator has few distinct eigenvalues
 * (zero, identity, low rank, I ⊗ S Kronecker structure, each chain fitting in the subspace).
 * Otherwise (a repeated eigenvalue among many distinct ones), the extra copies enter only
 * through rounding and may be missed, as with every single-vector Krylov method; the pairs
 * returned are still eigenpairs with honest residuals. Rerunning with `deflate` set to the
 * vectors found searches their complement and finds the next copy.
 *
 * Order of the result: `'largest'`: descending (values[0] = λmax); `'smallest'`: ascending
 * (values[0] = λmin); `'both'`: the k largest descending, then the k smallest ascending, i.e.
 * the `'largest'` result followed by the `'smallest'` one.
 *
 * Memory: 2·subspaceSize vectors of length dim, plus as many again during a restart.
 * Options are validated before the first matvec; a matvec returning the wrong length or a
 * non-finite value, or throwing, ends the run with a {@link MatvecError} naming the step.
 *
 * @throws {@link OptionError} for k outside [1, dim] (2k > dim with `'both'`), tol <= 0,
 *   maxMatvecs below the number of wanted pairs, a bad `which`, `seed`, `subspaceSize` or
 *   `deflate`.
 *
 * @example
 * ```ts
 * const { values, residuals, converged, matvecs } = await topEigenpairs(hessian, {
 *   k: 5,
 *   tol: 1e-6,
 *   maxMatvecs: 300,
 * });
 * if (!converged) console.warn(`top-5 not converged after ${matvecs} HVPs`, residuals);
 * ```
 */
export async function topEigenpairs(
  op: LinearOperator,
  options: TopEigenpairsOptions,
): Promise<EigenpairsResult> {
  const { k, which = 'largest', tol = 1e-8, seed = 0, deflate = [] } = options;
  checkInteger(ALGORITHM, 'op.dim', op.dim, 1);
  const excluded = deflationBasis(deflate, op.dim);
  // The dimension of the space searched: the complement of the deflated vectors.
  const n = op.dim - excluded.length;
  checkOneOf(ALGORITHM, 'which', which, ['largest', 'smallest', 'both']);
  checkInteger(ALGORITHM, excluded.length > 0 ? 'k (at most dim − deflate.length)' : 'k', k, 1, n);
  if (which === 'both' && 2 * k > n) {
    throw new OptionError(
      `${ALGORITHM}: expected k <= ${n / 2} with which 'both' (k from each end of a ${n}-dimensional space), got ${k}`,
    );
  }
  const wanted = which === 'both' ? 2 * k : k;
  const { subspaceSize = Math.max(20, 2 * wanted + 10) } = options;
  checkInteger(ALGORITHM, 'subspaceSize', subspaceSize, Math.min(wanted + 1, n));
  const m = Math.min(subspaceSize, n);
  const { maxMatvecs = Math.max(1000, 10 * m) } = options;
  checkPositive(ALGORITHM, 'tol', tol);
  checkInteger(ALGORITHM, 'maxMatvecs', maxMatvecs, wanted);
  checkSeed(seed, ALGORITHM);

  const rng = createRandom(seed);
  const roundingFactor = Math.max(n, 10) * EPSILON;
  let basis: Float64Array[] = [];
  let products: Float64Array[] = [];
  // T = VᵀAV, row-major m×m; its leading J×J block is in use.
  const projected = new Float64Array(m * m);
  let next = randomOrthogonal(rng, excluded, op.dim);
  let matvecs = 0;
  let normEstimate = 0;
  let stepsSinceCheck = 0;
  // After an invariant subspace (breakdown), a chain from a random vector explores its
  // complement; the run may then stop only at the end of a chain that changed no wanted value.
  let verifying = false;
  let chainStart: number[] | undefined;

  for (;;) {
    const j = basis.length;
    const product = await checkedMatvec(op, next, ALGORITHM, matvecs);
    matvecs++;
    basis.push(next);
    products.push(product);
    normEstimate = Math.max(normEstimate, norm(product));
    const remainder = Float64Array.from(product);
    const { coefficients, remaining } = orthogonalize(remainder, [...excluded, ...basis], 2);
    for (let i = 0; i <= j; i++) {
      const c = coefficients[excluded.length + i];
      projected[i * m + j] = c;
      projected[j * m + i] = c;
    }
    const size = j + 1;
    // Breakdown: the subspace is invariant to within the tolerance (or to rounding), so every
    // Ritz pair in it has converged and the Krylov recurrence has nothing more to find.
    const breakdown = remaining <= Math.max(tol, roundingFactor) * normEstimate;
    const exhausted = matvecs >= maxMatvecs;
    const complete = size === n;
    const full = size === m;
    stepsSinceCheck++;
    // A Rayleigh–Ritz costs O(J³), an orthogonalisation step O(nJ): checking every
    // ⌈J²/n⌉ steps keeps the former from dominating when the subspace is large.
    const due = breakdown || stepsSinceCheck >= Math.ceil((size * size) / n);
    let wantedValues: number[] | undefined;
    if (size >= wanted && (due || exhausted || complete || full)) {
      stepsSinceCheck = 0;
      const eigen = symmetricEigen(leadingBlock(projected, m, size), size);
      normEstimate = Math.max(
        normEstimate,
        Math.abs(eigen.values[0]),
        Math.abs(eigen.values[size - 1]),
      );
      const tolerance = tol * normEstimate;
      const targets = wantedIndices(size, which, k);
      wantedValues = targets.map((t) => eigen.values[t]);
      const verified =
        complete || (breakdown ? sameValues(chainStart, wantedValues, tolerance) : !verifying);
      const last = (size - 1) * size;
      const promising = targets.every(
        (t) => remaining * Math.abs(eigen.vectors[last + t]) <= tolerance,
      );
      if ((promising && verified) || exhausted || complete) {
        const pairs = ritzPairs(basis, products, eigen, targets);
        const converged = verified && pairs.residuals.every((r) => r <= tolerance);
        if (converged || exhausted || complete) return { ...pairs, converged, matvecs };
      }
      if (full) {
        const kept = keptIndices(eigen.values, which, keepCount(m, wanted));
        basis = combine(basis, eigen.vectors, size, kept);
        products = combine(products, eigen.vectors, size, kept);
        projected.fill(0);
        for (const [i, t] of kept.entries()) projected[i * m + i] = eigen.values[t];
        // A chain that does not fit in the subspace cannot be run to its end: fall back to the
        // residual test alone (see the limitation in the doc comment).
        verifying = false;
      }
    }
    if (breakdown) {
      verifying = true;
      chainStart = wantedValues;
      next = randomOrthogonal(rng, [...excluded, ...basis], op.dim);
    } else {
      next = scaleInPlace(1 / remaining, remainder);
    }
  }
}

/** True when both lists exist and agree entry by entry within `tolerance`. */
function sameValues(
  a: readonly number[] | undefined,
  b: readonly number[],
  tolerance: number,
): boolean {
  return a?.every((x, i) => Math.abs(x - b[i]) <= tolerance) === true;
}

/** Number of Ritz vectors kept at a thick restart: the wanted ones plus half of the rest. */
function keepCount(m: number, wanted: number): number {
  return wanted + Math.floor((m - wanted) / 2);
}

/**
 * Removes from `w`, in place, its components along the orthonormal `basis` and returns the
 * removed coefficients Vᵀw and the remaining norm (0 when `w` is numerically in the span).
 * First the components along the last `recent` vectors, one at a time: in a Lanczos step these
 * carry the three-term recurrence (α, β), so most of the cancellation happens there. Then
 * classical Gram–Schmidt passes over the whole basis, repeated while a pass cancels more than
 * 1 − 1/√2 of the norm, at most three: a pass that keeps more leaves `w` orthogonal to working
 * precision (Daniel, Gragg, Kaufman & Stewart 1976), so a Lanczos step usually needs one.
 */
function orthogonalize(
  w: Float64Array,
  basis: readonly Float64Array[],
  recent = 0,
): { coefficients: Float64Array; remaining: number } {
  const coefficients = new Float64Array(basis.length);
  for (let i = basis.length - 1; i >= Math.max(0, basis.length - recent); i--) {
    const c = dot(basis[i], w);
    axpy(-c, basis[i], w);
    coefficients[i] += c;
  }
  const pass = new Float64Array(basis.length);
  let before = norm(w);
  for (let round = 0; round < 3 && before > 0; round++) {
    for (const [i, q] of basis.entries()) pass[i] = dot(q, w);
    for (const [i, q] of basis.entries()) {
      axpy(-pass[i], q, w);
      coefficients[i] += pass[i];
    }
    const after = norm(w);
    if (after > REORTHOGONALIZE_RATIO * before) return { coefficients, remaining: after };
    before = after;
  }
  return { coefficients, remaining: 0 };
}

/** A random unit vector orthogonal to `basis` (which has fewer than n vectors). */
function randomOrthogonal(rng: Random, basis: readonly Float64Array[], n: number): Float64Array {
  for (;;) {
    const z = rng.unitVector(n);
    const { remaining } = orthogonalize(z, basis);
    // A random vector is numerically in the span of fewer than dim vectors with probability 0;
    // the loop only guards against that.
    if (remaining > 0) return scaleInPlace(1 / remaining, z);
  }
}

/** An orthonormal basis of the span of the `deflate` option, checked. */
function deflationBasis(deflate: readonly Float64Array[], n: number): Float64Array[] {
  for (const [i, v] of deflate.entries()) {
    if (!(v instanceof Float64Array) || v.length !== n || !allFinite(v)) {
      const got = v instanceof Float64Array ? `length ${v.length}` : typeof v;
      throw new OptionError(
        `${ALGORITHM}: expected deflate[${i}] to be a finite Float64Array of length ${n}, got ${got}`,
      );
    }
  }
  const basis = orthonormalBasis(deflate);
  if (basis.length !== deflate.length) {
    throw new OptionError(
      `${ALGORITHM}: expected linearly independent deflate vectors, got ${deflate.length} spanning ${basis.length} dimensions`,
    );
  }
  return basis;
}

function leadingBlock(a: Float64Array, stride: number, size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++) out.set(a.subarray(i * stride, i * stride + size), i * size);
  return out;
}

/**
 * The combinations Σ_r vectors[r] · y[r, c] for each c in `columns`, y row-major size×size:
 * the product V·Y[:, columns], computed a block of entries at a time so that each input vector
 * is read from memory once rather than once per column.
 */
function combine(
  vectors: readonly Float64Array[],
  y: Float64Array,
  size: number,
  columns: readonly number[],
): Float64Array[] {
  const n = vectors[0].length;
  const out = columns.map(() => new Float64Array(n));
  for (let start = 0; start < n; start += COMBINE_BLOCK) {
    const end = Math.min(n, start + COMBINE_BLOCK);
    for (let r = 0; r < vectors.length; r++) {
      const v = vectors[r];
      for (let c = 0; c < columns.length; c++) {
        const coefficient = y[r * size + columns[c]];
        const target = out[c];
        for (let i = start; i < end; i++) target[i] += coefficient * v[i];
      }
    }
  }
  return out;
}

/** Indices (into ascending Ritz values) of the wanted pairs, in the documented output order. */
function wantedIndices(size: number, which: EigenpairTarget, k: number): number[] {
  const top = Array.from({ length: k }, (_, i) => size - 1 - i);
  const bottom = Array.from({ length: k }, (_, i) => i);
  if (which === 'largest') return top;
  if (which === 'smallest') return bottom;
  return [...top, ...bottom];
}

/** Indices of the `count` Ritz values nearest the wanted end(s), split evenly for `'both'`. */
function keptIndices(values: Float64Array, which: EigenpairTarget, count: number): number[] {
  const size = values.length;
  const fromTop = which === 'largest' ? count : which === 'smallest' ? 0 : Math.ceil(count / 2);
  const top = Array.from({ length: fromTop }, (_, i) => size - 1 - i);
  const bottom = Array.from({ length: count - fromTop }, (_, i) => i);
  return [...top, ...bottom];
}

/** Ritz pairs (θ_t, V y_t) with residuals ‖(AV) y_t − θ_t V y_t‖ from the stored products. */
function ritzPairs(
  basis: readonly Float64Array[],
  products: readonly Float64Array[],
  eigen: SymmetricEigen,
  targets: readonly number[],
): Omit<EigenpairsResult, 'converged' | 'matvecs'> {
  const size = basis.length;
  const values = new Float64Array(targets.length);
  const residuals = new Float64Array(targets.length);
  const images = combine(products, eigen.vectors, size, targets);
  const vectors = combine(basis, eigen.vectors, size, targets).map((x, i) => {
    const ax = images[i];
    const t = targets[i];
    const scale = 1 / norm(x);
    scaleInPlace(scale, x);
    scaleInPlace(scale, ax);
    values[i] = eigen.values[t];
    residuals[i] = norm(axpy(-values[i], x, ax));
    return x;
  });
  return { values, vectors, residuals };
}
