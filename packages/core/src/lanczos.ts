import type { DimensionError, MatvecError, SizeLimitError } from './errors.js';
import { OptionError } from './errors.js';
import {
  checkedMatvec,
  checkOperator,
  type LinearOperator,
  operatorPrecision,
} from './operator.js';
import { checkInteger, checkOneOf, checkOptions, checkVector } from './options.js';
import { checkSeed, createRandom } from './random.js';
import { allFinite, norm, normFromSquares, orthogonalizeAgainst, scaleInPlace } from './vector.js';
import {
  checkMaxBytes,
  checkWorkspace,
  float64Bytes,
  type WORKSPACE_MAX_BYTES,
} from './workspace.js';

/**
 * How {@link lanczos} keeps its vectors orthogonal:
 * - `'partial'`: Simon's partial reorthogonalisation, the basis kept semi-orthogonal
 *   (|q_iᵀq_k| <= √max(ε, u), u the operator's precision), m vectors kept;
 * - `'full'`: every new vector orthogonalised against all previous ones, m vectors kept;
 * - `'none'`: the three-term recurrence only, three vectors kept.
 */
export type Reorthogonalization = 'full' | 'partial' | 'none';

/** The values of {@link Reorthogonalization}, for option checks. */
export const REORTHOGONALIZATIONS: readonly Reorthogonalization[] = ['partial', 'full', 'none'];

/** Options of {@link lanczos}. */
export interface LanczosOptions {
  /** Number of Lanczos steps m (matvecs); capped at the operator's dimension. */
  steps: number;
  /** Seed of the random unit start vector (default 0); ignored when `startVector` is given. */
  seed?: number;
  /**
   * `'partial'` (default): Simon's partial reorthogonalisation (Simon 1984). A recurrence
   * estimates the loss of orthogonality ω_jk ≈ q_jᵀq_k of every new vector for O(j) scalar
   * work; when an estimate exceeds √max(ε, u)/10 the new vector and the next one are
   * orthogonalised against all stored vectors (ε = 2^-52; u = {@link operatorPrecision} of
   * the operator, 2^-53 unless it declares one; the factor 10 is a margin for the estimate's
   * error). For float64 products the level is √ε ≈ 1.5e-8 and the basis stays semi-orthogonal,
   * |q_jᵀq_k| <= √ε (j ≠ k), which keeps T equal to the projection of A on an orthonormal
   * basis of the same space up to O(ε‖A‖) (Simon 1984, Theorem 4; Parlett, The Symmetric
   * Eigenvalue Problem, §13.8): Ritz values and the Gauss quadrature rule are as accurate as
   * with `'full'` (they agree to ~1e-15 relative in this project's tests), for less work: the
   * Gram–Schmidt passes run only at the `reorthogonalizations` (e.g. 34 of 80 steps on a
   * Hessian-like spectrum of dimension 2000 whose outliers are 1000 times its bulk, 12 of 30
   * and 46 of 100 on a 120 × 120 one).
   *
   * Products of precision u > ε (float32 tfjs HVPs declare u = 2^-24) lose orthogonality ~u/ε
   * times faster, and the level becomes √u ≈ 2.4e-4: Simon's argument with ε replaced by u,
   * since T then only represents A + E, ‖E‖ = O(u‖A‖), and semi-orthogonality at √u keeps T
   * the projection of that operator to O(u‖A‖), the products' own noise; holding the basis to
   * √ε would buy nothing but Gram–Schmidt passes (nearly every step). Measured: Ritz values
   * and moments agree with `'full'` to a few u·‖A‖, at a fraction of its passes (see the
   * tests). An operator that rounds in float32 but declares no precision is treated as
   * float64: correct, at about the cost of `'full'`. Keeps m vectors.
   *
   * `'full'`: orthogonalise every new vector against all previous ones (Gram–Schmidt with the
   * DGKS correction): orthogonality to working precision, O(n·j) work at step j, m vectors.
   *
   * `'none'`: the three-term recurrence only, keeping three vectors (Ritz values then show
   * "ghost" copies of converged ones; harmless for SLQ densities).
   */
  reorthogonalize?: Reorthogonalization;
  /** Start vector q₁ (normalised internally, not modified). */
  startVector?: Float64Array;
  /**
   * Largest workspace in bytes (default {@link WORKSPACE_MAX_BYTES}, 4 GiB; `Infinity`: no
   * limit): the vectors of length dim kept at once (4 with `'none'`, m + 2 with `'partial'` or
   * `'full'`, m = min(steps, dim)) and 5m numbers of coefficients and ω estimates. Checked
   * before the first matvec.
   */
  maxBytes?: number;
}

/** Result of {@link lanczos}: T = tridiag(beta, alpha, beta), QᵀAQ = T. */
export interface LanczosResult {
  /** Diagonal α₁..α_m of T. */
  alpha: Float64Array;
  /** Off-diagonal β₁..β_{m−1} of T. */
  beta: Float64Array;
  /**
   * ‖r_m‖ = β_m, the norm of the residual after the last step (0 up to rounding at breakdown):
   * ‖A Q − Q T‖ = β_m, so Ritz pair k has residual β_m · |last component of T's k-th eigenvector|.
   */
  residualNorm: number;
  /** Matvecs spent (= alpha.length). */
  matvecs: number;
  /**
   * True when the Krylov space became invariant before `steps` (β below n·ε·‖T‖): the Ritz
   * values are then exact eigenvalues of A.
   */
  breakdown: boolean;
  /**
   * Number of steps at which the new vector was orthogonalised against all stored vectors:
   * one per step with `'full'`, 0 with `'none'`, and with `'partial'` two per loss of
   * semi-orthogonality the recurrence predicted (each costs about as much as a step of
   * `'full'`).
   */
  reorthogonalizations: number;
  /**
   * The Lanczos vectors q₁..q_m: orthonormal to working precision with `'full'`,
   * semi-orthogonal (|q_iᵀq_k| <= √max(ε, u), ≈ 1.5e-8 for float64 products, for i ≠ k) with
   * `'partial'`; absent with
   * `'none'`.
   */
  basis?: Float64Array[];
}

/** Unit roundoff of float64 arithmetic, 2^-52. */
const EPS = 2 ** -52;

/**
 * Simon's semi-orthogonality level for products of relative precision u: |q_jᵀq_k| <= √ε
 * keeps T accurate to O(ε‖A‖) (Simon 1984, Theorem 4), and with u > ε in place of ε,
 * |q_jᵀq_k| <= √u keeps it accurate to O(u‖A‖), the accuracy of the products themselves.
 */
function semiOrthogonalLevel(precision: number): number {
  return Math.sqrt(Math.max(EPS, precision));
}

/**
 * A new vector is reorthogonalised once an ω estimate exceeds √max(ε, u)/10, not the level
 * itself (measured at u = ε below; the same margin is kept for u > ε): the recurrence
 * gives estimates, not bounds. While the ω are at rounding level their signs are random, and
 * the growth the estimate then settles on can fall short of the true loss of orthogonality by
 * a factor up to ≈ 10 (measured in this project's sweeps: up to 11; a larger rounding term d
 * makes it worse, not better, as it feeds the estimate's own signs). With the margin the true
 * |q_jᵀq_k| stayed below 0.71·√ε in every run of 7 test spectra × 6–16 seeds × 5 seed sets
 * (at √ε: up to 5.9·√ε), for
 * 0–20 % more reorthogonalisations (none more on Hessian-like spectra, whose loss of
 * orthogonality grows by ×100–1000 a step).
 */
const REORTHOGONALIZE_MARGIN = 10;

/**
 * The Lanczos process (Lanczos 1950; Golub & Van Loan, Matrix Computations §10.1): builds an
 * orthonormal basis Q of the Krylov space span{q₁, Aq₁, …, A^{m−1}q₁} and the tridiagonal
 * T = QᵀAQ, all in float64. T's eigenvalues (Ritz values) approximate A's extreme eigenvalues,
 * and its eigenvectors' first components give the Gauss quadrature rule of the spectral measure
 * of A seen from q₁: q₁ᵀ f(A) q₁ ≈ Σ τ_k f(θ_k), exact for polynomials of degree ≤ 2m − 1.
 *
 * Orthogonality is kept by partial reorthogonalisation by default (H. D. Simon, "The Lanczos
 * algorithm with partial reorthogonalization", Math. Comp. 42 (1984) 115–142): Simon's
 * recurrence
 *   β_j ω_{j+1,k} = β_k ω_{j,k+1} + (α_k − α_j) ω_{j,k} + β_{k−1} ω_{j,k−1} − β_{j−1} ω_{j−1,k} ± d
 * propagates estimates of q_{j+1}ᵀq_k from the coefficients of T alone. The two newest,
 * q_{j+1}ᵀq_j and q_{j+1}ᵀq_{j−1}, are measured (two inner products fused into the step's
 * own loops), and the size d of the local rounding term is measured from the latter too: its
 * difference from the recurrence's prediction is exactly that term. So the estimates follow
 * the operator's real rounding level: a product computed in float32 (an HVP of a float32
 * model: errors ≈ 1e-7·‖A‖, not symmetric) loses orthogonality about 1e8 times sooner than an
 * exact float64 one, and is reorthogonalised sooner accordingly. Once max_k |ω_{j+1,k}|
 * exceeds √max(ε, u)/10 (u the operator's declared precision, see {@link operatorPrecision};
 * the 10 is a margin for the estimate's own error, see `REORTHOGONALIZE_MARGIN`), q_{j+1} and
 * q_{j+2} are orthogonalised against all stored vectors and their estimates reset. With
 * u > ε (float32 products) the level is √u: Simon's semi-orthogonality argument with ε replaced
 * by the products' own accuracy, so T is as accurate as the products allow.
 *
 * The operator, the options and the workspace (its size as {@link LanczosOptions.maxBytes} gives
 * it, against `maxBytes`, a {@link SizeLimitError} above it) are checked before the first matvec; a
 * matvec returning the wrong length or a non-finite value stops the process with a
 * {@link MatvecError} naming the step.
 *
 * @throws {@link OptionError} for an `op` that is not a {@link LinearOperator} (`dim` not an
 *   integer >= 1, no `matvec`), options that are not an object, or an option out of range;
 *   {@link DimensionError} for a `startVector` of the wrong length.
 * @throws {@link SizeLimitError} when the workspace exceeds `maxBytes`.
 * @throws {@link MatvecError} naming the step when a product is unusable.
 *
 * Cost per step: one matvec, three passes over n-vectors, plus (`'full'`: every step;
 * `'partial'`: at the reorthogonalisations only) one Gram–Schmidt pass over the j stored
 * vectors, which dominates at large n (memory-bound: ≈ 0.2 ms per stored vector at n = 100k).
 *
 * @example
 * ```ts
 * import { tridiagonalEigen } from '@hessian-probe/core/internal';
 * const { alpha, beta, reorthogonalizations } = await lanczos(operator, { steps: 30, seed: 1 });
 * const { values, weights } = tridiagonalEigen(alpha, beta);
 * ```
 */
export async function lanczos(op: LinearOperator, options: LanczosOptions): Promise<LanczosResult> {
  const where = 'lanczos';
  const {
    steps,
    seed = 0,
    reorthogonalize = 'partial',
    startVector,
    maxBytes,
  } = checkOptions(where, options, true);
  checkOperator(where, op);
  checkInteger(where, 'steps', steps, 1);
  checkSeed(seed, where);
  checkOneOf(where, 'reorthogonalize', reorthogonalize, REORTHOGONALIZATIONS);
  const n = op.dim;
  if (startVector !== undefined) checkVector(where, 'startVector', startVector, n);
  const limit = checkMaxBytes(where, maxBytes);
  const bytes = lanczosBytes(n, steps, reorthogonalize);
  checkWorkspace(
    where,
    bytes,
    limit,
    `${lanczosVectors(n, steps, reorthogonalize)} vectors of length ${n}`,
    reorthogonalize === 'none' ? 'lower steps' : "lower steps, use reorthogonalize: 'none'",
  );
  let q: Float64Array;
  if (startVector !== undefined) {
    const size = norm(startVector);
    if (!allFinite(startVector) || size === 0) {
      throw new OptionError('lanczos: expected a finite, non-zero startVector');
    }
    q = scaleInPlace(1 / size, Float64Array.from(startVector));
  } else {
    q = createRandom(seed).unitVector(n);
  }

  const m = Math.min(steps, n);
  const full = reorthogonalize === 'full';
  const partial = reorthogonalize === 'partial';
  const keep = full || partial;
  const alpha: number[] = [];
  const beta: number[] = [];
  const basis: Float64Array[] = [q];
  const omega = partial
    ? new OmegaEstimates(m, semiOrthogonalLevel(operatorPrecision(op)) / REORTHOGONALIZE_MARGIN)
    : undefined;
  const measured = new Float64Array(2);
  let previous: Float64Array | undefined;
  let previousBeta = 0;
  let normEstimate = 0;
  let residualNorm = 0;
  let breakdown = false;
  let reorthogonalizations = 0;
  const breakdownFactor = Math.max(n, 10) * EPS;

  for (let j = 0; j < m; j++) {
    const w = await checkedMatvec(op, q, 'lanczos', j);
    const a = subtractAndDot(previousBeta, previous, w, q);
    // With 'partial', the same pass measures q_jᵀw and q_{j−1}ᵀw for the ω estimates.
    const squares = subtractAndSquare(a, q, w, partial ? measured : undefined, previous);
    let b: number;
    if (full) {
      b = orthogonalizeAgainst(w, basis);
      reorthogonalizations++;
    } else {
      b = normFromSquares(w, squares);
    }
    alpha.push(a);
    normEstimate = Math.max(normEstimate, Math.abs(a) + b + previousBeta);
    if (b <= breakdownFactor * normEstimate) {
      residualNorm = b;
      breakdown = true;
      break;
    }
    // The last vector is not stored: its orthogonality does not matter.
    if (omega && j < m - 1 && omega.next(j, alpha, beta, b, measured, normEstimate)) {
      b = orthogonalizeAgainst(w, basis);
      reorthogonalizations++;
      omega.reset(j);
      normEstimate = Math.max(normEstimate, Math.abs(a) + b + previousBeta);
      if (b <= breakdownFactor * normEstimate) {
        residualNorm = b;
        breakdown = true;
        break;
      }
    }
    residualNorm = b;
    if (j === m - 1) break;
    beta.push(b);
    previous = q;
    previousBeta = b;
    q = scaleInPlace(1 / b, w);
    if (keep) basis.push(q);
  }
  const result: LanczosResult = {
    alpha: Float64Array.from(alpha),
    beta: Float64Array.from(beta),
    residualNorm,
    matvecs: alpha.length,
    breakdown,
    reorthogonalizations,
  };
  if (keep) result.basis = basis.slice(0, alpha.length);
  return result;
}

/**
 * Vectors of length dim {@link lanczos} keeps at once: with `'full'` or `'partial'` the basis
 * of m = min(steps, dim) vectors, the new one and the copy handed to the operator
 * ({@link checkedMatvec}); with `'none'` the current, previous and new vectors and the copy.
 */
function lanczosVectors(dim: number, steps: number, reorthogonalize: Reorthogonalization): number {
  return reorthogonalize === 'none' ? 4 : Math.min(steps, dim) + 2;
}

/**
 * Peak workspace of {@link lanczos} in bytes: its vectors ({@link lanczosVectors}), plus the
 * coefficients and ω estimates, 5m numbers. The figure `maxBytes` is checked against; other
 * algorithms that run Lanczos add it to theirs.
 *
 * @example
 * ```ts
 * lanczosBytes(1e6, 80, 'partial'); // 82 vectors of 8 MB: 656 MB
 * ```
 */
export function lanczosBytes(
  dim: number,
  steps: number,
  reorthogonalize: Reorthogonalization,
): number {
  return float64Bytes(lanczosVectors(dim, steps, reorthogonalize) * dim + 5 * Math.min(steps, dim));
}

/**
 * Simon's ω estimates of the loss of orthogonality: rows j − 1, j and j + 1 of the symmetric
 * matrix ω_{ik} ≈ q_iᵀq_k (ω_ii = 1), indices from 0 as in {@link lanczos}'s loop, where
 * β_k couples q_k and q_{k+1}.
 */
class OmegaEstimates {
  #older: Float64Array;
  #current: Float64Array;
  #next: Float64Array;
  /** Largest local rounding term measured so far, in units of A (the d of the recurrence). */
  #noise = 0;
  /** True when the previous step was reorthogonalised because of the estimates. */
  #forceNext = false;
  /** Reorthogonalise once an estimate exceeds this: √max(ε, u)/10. */
  readonly #threshold: number;

  constructor(m: number, threshold: number) {
    this.#threshold = threshold;
    this.#older = new Float64Array(m + 1);
    this.#current = new Float64Array(m + 1);
    this.#next = new Float64Array(m + 1);
    this.#current[0] = 1;
  }

  /**
   * Computes row j + 1 for the new vector w = β_j q_{j+1} (before normalisation) from rows j
   * and j − 1, α₀..α_j, β₀..β_{j−1} and β_j = `b`; `measured` holds q_jᵀw and q_{j−1}ᵀw.
   * Returns true when q_{j+1} must be reorthogonalised: an estimate exceeds the threshold
   * √max(ε, u)/10, or the
   * previous vector was reorthogonalised because of one (Simon reorthogonalises two
   * consecutive vectors: q_{j+2} is built from q_{j+1} and q_j, so both must be clean).
   * Then the caller reorthogonalises and calls {@link OmegaEstimates.reset}; otherwise the
   * rows shift by one.
   */
  next(
    j: number,
    alpha: readonly number[],
    beta: readonly number[],
    b: number,
    measured: Float64Array,
    normEstimate: number,
  ): boolean {
    const older = this.#older;
    const current = this.#current;
    const next = this.#next;
    const alphaJ = alpha[j];
    const betaPrevious = j > 0 ? beta[j - 1] : 0;
    // Row j + 1 at k = j − 1 is measured: q_{j−1}ᵀw. Its prediction without the rounding term
    // uses ω_{j,j−1} and ω_{j,j−2}, themselves measured (or reset) at the previous steps, so
    // the difference is the local rounding term of this step, β_j·θ_{j,j−1}.
    if (j > 0) {
      const k = j - 1;
      const predicted =
        (alpha[k] - alphaJ) * current[k] + (k > 0 ? beta[k - 1] * current[k - 1] : 0);
      this.#noise = Math.max(this.#noise, Math.abs(measured[1] - predicted));
    }
    // The rounding term of the other k: as large as the largest measured so far, and at least
    // ε·‖A‖; added with the sign of the propagated part, so that estimates never cancel.
    const d = Math.max(this.#noise, EPS * normEstimate);
    let worst = 0;
    for (let k = 0; k < j - 1; k++) {
      const t =
        beta[k] * current[k + 1] +
        (alpha[k] - alphaJ) * current[k] +
        (k > 0 ? beta[k - 1] * current[k - 1] : 0) -
        betaPrevious * older[k];
      const estimate = (t + (t < 0 ? -d : d)) / b;
      next[k] = estimate;
      worst = Math.max(worst, Math.abs(estimate));
    }
    if (j > 0) next[j - 1] = measured[1] / b;
    next[j] = measured[0] / b;
    next[j + 1] = 1;
    for (let k = Math.max(0, j - 1); k <= j; k++) worst = Math.max(worst, Math.abs(next[k]));
    const reorthogonalize = this.#forceNext || worst > this.#threshold;
    if (reorthogonalize) {
      this.#forceNext = !this.#forceNext;
    } else {
      this.#shift();
    }
    return reorthogonalize;
  }

  /**
   * After the new vector was orthogonalised against q₀..q_j (Gram–Schmidt leaves it
   * orthogonal to O(ε)): row j + 1 becomes ε, and the rows shift by one.
   */
  reset(j: number): void {
    const next = this.#next;
    for (let k = 0; k <= j; k++) next[k] = EPS;
    next[j + 1] = 1;
    this.#shift();
  }

  #shift(): void {
    const older = this.#older;
    this.#older = this.#current;
    this.#current = this.#next;
    this.#next = older;
  }
}

/**
 * w ← w − β·p (skipped when p is undefined), fused with the inner product qᵀw of the updated
 * w, in one pass; returns qᵀw.
 */
function subtractAndDot(
  b: number,
  p: Float64Array | undefined,
  w: Float64Array,
  q: Float64Array,
): number {
  const n = w.length;
  let s0 = 0;
  let s1 = 0;
  let i = 0;
  if (p === undefined || b === 0) {
    for (; i + 1 < n; i += 2) {
      s0 += q[i] * w[i];
      s1 += q[i + 1] * w[i + 1];
    }
    if (i < n) s0 += q[i] * w[i];
    return s0 + s1;
  }
  for (; i + 1 < n; i += 2) {
    const x = w[i] - b * p[i];
    const y = w[i + 1] - b * p[i + 1];
    w[i] = x;
    w[i + 1] = y;
    s0 += q[i] * x;
    s1 += q[i + 1] * y;
  }
  if (i < n) {
    const x = w[i] - b * p[i];
    w[i] = x;
    s0 += q[i] * x;
  }
  return s0 + s1;
}

/**
 * w ← w − a·q, fused in one pass with Σ w_i² of the updated w (returned) and, when `measured`
 * is given, with measured ← [qᵀw, pᵀw] (pᵀw = 0 when p is undefined).
 */
function subtractAndSquare(
  a: number,
  q: Float64Array,
  w: Float64Array,
  measured: Float64Array | undefined,
  p: Float64Array | undefined,
): number {
  const n = w.length;
  let s0 = 0;
  let s1 = 0;
  let i = 0;
  if (measured === undefined) {
    for (; i + 1 < n; i += 2) {
      const x = w[i] - a * q[i];
      const y = w[i + 1] - a * q[i + 1];
      w[i] = x;
      w[i + 1] = y;
      s0 += x * x;
      s1 += y * y;
    }
    if (i < n) {
      const x = w[i] - a * q[i];
      w[i] = x;
      s0 += x * x;
    }
    return s0 + s1;
  }
  // Without p, q stands in for it (and its product is discarded): one loop for both cases.
  const r = p ?? q;
  let c0 = 0;
  let c1 = 0;
  let d0 = 0;
  let d1 = 0;
  for (; i + 1 < n; i += 2) {
    const x = w[i] - a * q[i];
    const y = w[i + 1] - a * q[i + 1];
    w[i] = x;
    w[i + 1] = y;
    s0 += x * x;
    s1 += y * y;
    c0 += q[i] * x;
    c1 += q[i + 1] * y;
    d0 += r[i] * x;
    d1 += r[i + 1] * y;
  }
  if (i < n) {
    const x = w[i] - a * q[i];
    w[i] = x;
    s0 += x * x;
    c0 += q[i] * x;
    d0 += r[i] * x;
  }
  measured[0] = c0 + c1;
  measured[1] = p === undefined ? 0 : d0 + d1;
  return s0 + s1;
}
