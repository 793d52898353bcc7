import { type MatvecError, OptionError, type SizeLimitError } from './errors.js';
import {
  checkedMatvec,
  checkOperator,
  type LinearOperator,
  operatorPrecision,
} from './operator.js';
import {
  checkArray,
  checkInteger,
  checkOneOf,
  checkOptions,
  checkPositive,
  show,
} from './options.js';
import type { powerIteration } from './power-iteration.js';
import { checkSeed, createRandom, type Random } from './random.js';
import { type SymmetricEigen, symmetricEigen } from './symmetric-eigen.js';
import {
  allFinite,
  norm,
  normFromSquares,
  orthonormalBasis,
  projectOut,
  scaleInPlace,
} from './vector.js';
import {
  checkMaxBytes,
  checkWorkspace,
  float64Bytes,
  type WORKSPACE_MAX_BYTES,
} from './workspace.js';

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
   * Repeated eigenvalues count with their multiplicity.
   */
  which?: EigenpairTarget;
  /**
   * Relative residual tolerance (default max(1e-8, 32 · precision), with precision the
   * operator's declared {@link LinearOperator.precision}: 1e-8 for float64 operators, ≈ 1.9e-6
   * for float32 ones such as tfjs Hessian-vector products, whose products carry errors of a few
   * float32 ulps of ‖A‖ that no residual can go below): pair i has converged when
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
  /** Seed of the random start vectors (default 0). */
  seed?: number;
  /**
   * Largest dimension m of the search subspace, capped at dim (default
   * max(20, 2w + 10) with w the number of wanted pairs: k, or 2k for `'both'`). Must exceed w
   * unless m = dim. Memory: 2m vectors of length dim (the basis and its products), plus the
   * converged vectors during the verification (see {@link topEigenpairs}).
   */
  subspaceSize?: number;
  /**
   * Vectors whose span is excluded (default none), e.g. eigenvectors found by an earlier run:
   * the search runs in their orthogonal complement (projection deflation), so the next call
   * finds the next pairs. They must be linearly independent; they are orthonormalised
   * internally. Residuals are still those of A itself.
   */
  deflate?: readonly Float64Array[];
  /**
   * δ, in (0, 1) (default 1e-6): the probability, over the random start of a verification
   * chain, that the chain certifies `converged: true` although an eigenvalue beyond the k-th
   * returned value was missed (the guarantee in {@link topEigenpairs}). Each factor of 10
   * costs about one matvec when the spectrum beyond the k-th value is separated from it.
   */
  failureProbability?: number;
  /**
   * Whether to run the verification chains (default true): after the search has converged the
   * wanted pairs, chains from random starts in their complement look for eigenvalues the search
   * missed (copies of repeated eigenvalues, which a single Krylov chain cannot see) and certify
   * with probability 1 − `failureProbability` that none is left (the guarantee in
   * {@link topEigenpairs}). `false` returns as soon as the search's pairs meet `tol`, as ARPACK
   * does: fewer matvecs (the `verificationMatvecs` of a verified run), no certificate, and a
   * repeated eigenvalue may be returned fewer times than its multiplicity.
   */
  verify?: boolean;
  /**
   * Largest workspace in bytes (default {@link WORKSPACE_MAX_BYTES}, 4 GiB; `Infinity`: no
   * limit), checked before the first matvec against the peak memory: about
   * 2m + max(kept, 3w) + deflate.length + 3 vectors of length dim plus 7m² numbers for the
   * projected matrices, m = `subspaceSize`, w the number of wanted pairs and kept the vectors a
   * thick restart keeps (a {@link SizeLimitError} above it). With the defaults and k <= 5,
   * 53 to 58 vectors: 0.46 GB at 10^6 parameters, the limit reached at about 9·10^6.
   */
  maxBytes?: number;
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
  /**
   * Of `matvecs`, those spent by {@link topEigenpairs}'s verification chains after the search
   * converged (0 with `verify: false`; absent from {@link powerIteration}).
   */
  verificationMatvecs?: number;
}

const ALGORITHM = 'topEigenpairs';
const EPSILON = 2 ** -52;
/**
 * A Gram–Schmidt pass that keeps more than 1/√2 of the vector's norm leaves it orthogonal to
 * working precision; one that cancels more is repeated (Daniel, Gragg, Kaufman & Stewart 1976).
 */

/**
 * The k extreme eigenpairs of a symmetric operator by thick-restart Lanczos (Lanczos 1950, J.
 * Res. Nat. Bur. Standards 45; Wu & Simon, "Thick-restart Lanczos method for large symmetric
 * eigenvalue problems", SIAM J. Matrix Anal. Appl. 22(2), 2000; the restart is the one of
 * Stathopoulos, Saad & Wu, "Dynamic thick restarting of the Davidson, and the implicitly
 * restarted Arnoldi methods", SIAM J. Sci. Comput. 19(1), 1998), with locking and a randomised
 * verification that no eigenvalue beyond the k-th was missed.
 *
 * **Search.** The method grows an orthonormal basis V of a Krylov subspace one matvec at a
 * time, with full reorthogonalisation (the three-term recurrence, then one classical
 * Gram–Schmidt pass over the basis, repeated when it cancels: Daniel, Gragg, Kaufman & Stewart
 * 1976), and keeps the products AV. Rayleigh–Ritz on T = VᵀAV gives Ritz pairs (θ, Vy). When V
 * reaches `subspaceSize` vectors it restarts thickly: V ← VY for the Ritz vectors nearest the
 * wanted end (the wanted ones plus half of the others), T ← diag(θ), and the recurrence
 * continues from the common residual direction f, so that AV = VT + f e_lastᵀ and the subspace
 * stays a Krylov subspace. The residual of a Ritz pair is then ‖f‖·|y_last| (Parlett, "The
 * Symmetric Eigenvalue Problem", ch. 13): this estimate, free, decides when the wanted pairs
 * have converged; only then are their vectors assembled and their residuals ‖(AV)y − θVy‖
 * computed honestly, from the stored matvec outputs (the returned residuals are those). The
 * estimate is checked after every matvec (every ⌈J²/dim⌉ once the subspace dimension J is
 * large). An invariant subspace (f vanishes to within `tol`) is continued by a new chain from a
 * random vector orthogonal to the basis.
 *
 * **Verification.** From one start vector a Krylov subspace holds one direction per
 * eigenspace: the other copies of a repeated eigenvalue are orthogonal to it and enter only
 * through rounding. Hessians have exact multiplicities (softmax regression at W = 0:
 * (I/C − 11ᵀ/C²) ⊗ S, each eigenvalue of S/C repeated C − 1 times), so converged pairs are not
 * the end: the wanted ones are locked (set aside; later runs work in their orthogonal
 * complement), and a verification chain, Lanczos from a random start in that complement, looks
 * for what they missed. A Ritz value of the chain beyond the k-th locked value reveals a missed
 * eigenvalue: the chain converges it, it is locked too (the answer is the k extreme locked
 * pairs), and a new chain starts. Otherwise the chain runs until it certifies that nothing lies
 * beyond. (A block Lanczos start, Golub & Underwood 1977, finds up to b copies but needs b at
 * least the multiplicity, unknown and up to C − 1, costs b matvecs a step on every operator,
 * and certifies nothing either.)
 *
 * **Guarantee.** Let W be the p >= k locked orthonormal vectors (the returned ones are the k
 * largest among them), Θ their values, R = AW − WΘ, τ = tol · ‖A‖_est, and B the operator A
 * compressed to the orthogonal complement of W (and of `deflate`), of dimension n'. The
 * eigenvalues of A are within ‖R‖₂ <= √p · τ of those of diag(Θ, B) (Weyl), so if
 * λmax(B) <= θ_k + τ, the returned θ_1 >= … >= θ_k satisfy |λ_i − θ_i| <= ‖R‖₂ + τ for the k
 * largest eigenvalues λ_1 >= … >= λ_k of A (restricted to the complement of `deflate`),
 * repeated ones counted with their multiplicity. The last chain bounds λmax(B) (the approach
 * of van Dorsselaer, Hochstenbach & van der Vorst, "Computing probabilistic bounds for extreme
 * eigenvalues of symmetric matrices with the Lanczos method", SIAM J. Matrix Anal. Appl. 22(3),
 * 2000): from q, uniform on the unit sphere of that complement, j Lanczos steps give Ritz
 * values ρ_i and residual norms β_i with ‖χ(B)q‖ = β_1⋯β_j for χ(t) = Π(t − ρ_i), so
 * |χ(λmax(B))| · |cos∠(q, u)| <= β_1⋯β_j for an eigenvector u of λmax(B), while
 * P(|cos∠(q, u)| < c) <= c·√(2n'/π). The chain stops when Π(θ_k + τ − ρ_i) >=
 * β_1⋯β_j · √(2n'/π)/δ with every ρ_i below θ_k + τ, δ = `failureProbability`: then
 * λmax(B) <= θ_k + τ except with probability at most δ over q. A thick restart is an implicit
 * restart with the discarded Ritz values as exact shifts (Sorensen 1992; Morgan, Math. Comp.
 * 65, 1996), so the bound carries over, those values joining the ρ_i. The same holds mirrored
 * for `'smallest'`, and at each end of `'both'` with δ/2. So, in exact arithmetic and with
 * ‖A‖_est = ‖A‖, `converged: true` means every residual is <= τ and each verification chain,
 * given the ones before it, certified wrongly with probability at most δ (a call runs one
 * chain more than the number of missed eigenvalues it finds). The probability is over the
 * random starts, for any operator; no deterministic guarantee exists with matvecs alone
 * (Kuczyński & Woźniakowski, SIAM J. Matrix Anal. Appl. 13(4), 1992). For k = 1 the search
 * chain itself bounds λmax(A) in the same way until its first restart, and then needs no
 * verification chain. One exception: when rounding holds the bound back (a cluster of
 * eigenvalues at θ_k, so that B has θ_k itself at its top, with tol near rounding: 1e-13 in
 * the tests, while 1e-12 still certifies), a chain that has been restarted also stops once its
 * extreme Ritz pair has converged to τ within θ_k + τ: Lanczos's own test, which misses an
 * eigenvalue beyond only for a start vector nearly orthogonal to its eigenvector.
 *
 * **Cost.** The verification costs the steps the bound needs: about log(√(2n'/π)/δ) divided by
 * the log of the growth of |χ(θ_k)|/‖χ(B)q‖ per step, which is large when the spectrum of B is
 * far below θ_k relative to its width. On the 20,000-dimensional spectrum of `pnpm bench:core`
 * (10 outliers in [1, 10], bulk N(0, 0.05²)) at tol 1e-6 it adds 8 matvecs for k = 10 (22 → 30)
 * and 4 for k = 1 (11 → 15), about 3 fewer at δ = 1e-3; with the bulk edge at 0.92 θ_k
 * (bulk N(0, 0.3²)) it adds 41 (69 → 110). Each missed copy of a repeated eigenvalue costs a
 * chain that converges it, as many matvecs as converging one eigenvalue from a random start
 * (15 to 25 on the 200-dimensional softmax Hessians of `pnpm demo` and the tests, whose top 10,
 * nine copies then one, take 150 to 200 matvecs). Numerics per matvec, with J the
 * subspace dimension and p the locked and deflated vectors: two passes for the recurrence and
 * one Gram–Schmidt pass over J + p vectors, O((J + p)·dim); a thick restart, O(J·kept·dim);
 * locking k pairs (their vectors and honest residuals), O(J·k·dim); a check, O(J³).
 * Memory: 2·subspaceSize vectors of length dim plus the locked vectors, plus as many as are
 * kept during a restart.
 *
 * Order of the result: `'largest'`: descending (values[0] = λmax); `'smallest'`: ascending
 * (values[0] = λmin); `'both'`: the k largest descending, then the k smallest ascending, i.e.
 * the `'largest'` result followed by the `'smallest'` one.
 *
 * Options are validated before the first matvec; a matvec returning the wrong length or a
 * non-finite value, or throwing, ends the run with a {@link MatvecError} naming the step.
 *
 * @throws {@link OptionError} for an `op` that is not a {@link LinearOperator}, options that are
 *   not an object, k outside [1, dim] (2k > dim with `'both'`), tol <= 0, maxMatvecs below
 *   the number of wanted pairs, a bad `which`, `seed`, `subspaceSize`, `deflate`,
 *   `failureProbability`, `verify` or `maxBytes`.
 * @throws {@link SizeLimitError} when the workspace (see `maxBytes`) exceeds `maxBytes`.
 *
 * @example
 * ```ts
 * const { values, residuals, converged, matvecs } = await topEigenpairs(operator, {
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
  const checked = checkOptions(ALGORITHM, options, true);
  checkOperator(ALGORITHM, op);
  const {
    k,
    which = 'largest',
    tol = Math.max(1e-8, 32 * operatorPrecision(op)),
    seed = 0,
    deflate = [],
    failureProbability = 1e-6,
    verify = true,
  } = checked;
  checkDeflate(deflate, op.dim);
  // The dimension of the space searched: the complement of the deflated vectors.
  const n = op.dim - deflate.length;
  checkOneOf(ALGORITHM, 'which', which, ['largest', 'smallest', 'both']);
  checkInteger(ALGORITHM, deflate.length > 0 ? 'k (at most dim − deflate.length)' : 'k', k, 1, n);
  if (which === 'both' && 2 * k > n) {
    throw new OptionError(
      `${ALGORITHM}: expected k <= ${n / 2} with which 'both' (k from each end of a ${n}-dimensional space), got ${k}`,
    );
  }
  const wanted = which === 'both' ? 2 * k : k;
  const { subspaceSize = Math.max(20, 2 * wanted + 10) } = checked;
  checkInteger(ALGORITHM, 'subspaceSize', subspaceSize, Math.min(wanted + 1, n));
  const m = Math.min(subspaceSize, n);
  const { maxMatvecs = Math.max(1000, 10 * m) } = checked;
  checkPositive(ALGORITHM, 'tol', tol);
  checkInteger(ALGORITHM, 'maxMatvecs', maxMatvecs, wanted);
  checkSeed(seed, ALGORITHM);
  if (
    typeof failureProbability !== 'number' ||
    !(failureProbability > 0 && failureProbability < 1)
  ) {
    throw new OptionError(
      `${ALGORITHM}: expected failureProbability to be a number in (0, 1), got ${show(failureProbability)}`,
    );
  }

  if (typeof verify !== 'boolean') {
    throw new OptionError(`${ALGORITHM}: expected verify to be a boolean, got ${show(verify)}`);
  }
  const vectors = topEigenpairsVectors(m, wanted, deflate.length);
  checkWorkspace(
    ALGORITHM,
    float64Bytes(vectors * op.dim + 7 * m * m),
    checkMaxBytes(ALGORITHM, checked.maxBytes),
    `${vectors} vectors of length ${op.dim} and ${m}×${m} projected matrices`,
    'lower k or subspaceSize',
  );
  const excluded = deflationBasis(deflate);
  const search: Search = {
    op,
    which,
    k,
    tol,
    maxMatvecs,
    m,
    n,
    excluded,
    failureProbability,
    rng: createRandom(seed),
    verify,
    matvecs: 0,
    normEstimate: 0,
  };
  const locked: LockedPair[] = [];
  let searchMatvecs: number | undefined;
  for (;;) {
    const outcome = await run(search, locked);
    searchMatvecs ??= search.matvecs;
    if (!('lock' in outcome)) {
      return { ...outcome, verificationMatvecs: outcome.matvecs - searchMatvecs };
    }
    locked.push(...outcome.lock);
  }
}

/** The state shared by the runs of one {@link topEigenpairs} call. */
interface Search {
  readonly op: LinearOperator;
  readonly which: EigenpairTarget;
  readonly k: number;
  readonly tol: number;
  readonly maxMatvecs: number;
  /** Largest subspace dimension. */
  readonly m: number;
  /** Dimension of the complement of the deflated vectors. */
  readonly n: number;
  /** Orthonormal basis of the `deflate` option. */
  readonly excluded: readonly Float64Array[];
  readonly failureProbability: number;
  readonly rng: Random;
  /** Whether verification chains follow the search (the `verify` option). */
  readonly verify: boolean;
  matvecs: number;
  normEstimate: number;
}

/** A converged pair set aside: later runs search the complement of the locked vectors. */
interface LockedPair {
  vector: Float64Array;
  value: number;
  residual: number;
}

/** Thresholds beyond which a Ritz value of a verification chain is a missed eigenvalue. */
interface Thresholds {
  top?: number;
  bottom?: number;
}

/**
 * One thick-restart Lanczos run from a random start in the complement of the deflated and
 * locked vectors. The first run (nothing locked) searches for the wanted pairs and returns them
 * to be locked, or, for k = 1, certifies them itself; later runs are verification chains that
 * either certify the locked answer or return the missed pairs they found to be locked.
 */
async function run(
  search: Search,
  locked: readonly LockedPair[],
): Promise<EigenpairsResult | { lock: LockedPair[] }> {
  const { op, which, k, tol, maxMatvecs, rng } = search;
  const first = locked.length === 0;
  const deflation = [...search.excluded, ...locked.map((p) => p.vector)];
  const dim = search.n - locked.length;
  if (!first && (dim === 0 || search.matvecs >= maxMatvecs)) {
    // Nothing left to verify (the locked pairs span the space), or no budget to verify it.
    const result = answer(locked, which, k);
    const accurate = result.residuals.every((r) => r <= tol * search.normEstimate);
    return { ...result, converged: dim === 0 && accurate, matvecs: search.matvecs };
  }
  const m = Math.min(search.m, dim);
  const wanted = which === 'both' ? 2 * k : k;
  const roundingFactor = Math.max(search.n, 10) * EPSILON;
  const logConstant = Math.log(
    (Math.sqrt((2 * dim) / Math.PI) * (which === 'both' ? 2 : 1)) / search.failureProbability,
  );
  let basis: Float64Array[] = [];
  let products: Float64Array[] = [];
  // T = VᵀAV, row-major m×m; its leading J×J block is in use.
  const projected = new Float64Array(m * m);
  let next = randomOrthogonal(rng, deflation, op.dim);
  // While the basis comes from one random start (thick restarts allowed, new chains after a
  // breakdown not), the polynomial bound of the doc comment applies: see {@link Certificate}.
  let certificate: Certificate | undefined = newCertificate(m);
  let restarts = 0;
  // T[j−1, j] = β_{j−1} when the newest vector came from the plain recurrence.
  let coupling: number | undefined;
  let stepsSinceCheck = 0;

  for (;;) {
    const j = basis.length;
    const product = await checkedMatvec(op, next, ALGORITHM, search.matvecs);
    search.matvecs++;
    basis.push(next);
    products.push(product);
    const coefficients = new Float64Array(deflation.length + j + 1);
    const step = lanczosStep(product, basis, deflation, coupling, coefficients);
    const { remainder, remaining } = step;
    search.normEstimate = Math.max(search.normEstimate, step.productNorm);
    for (let i = 0; i <= j; i++) {
      const c = coefficients[deflation.length + i];
      projected[i * m + j] = c;
      projected[j * m + i] = c;
    }
    const size = j + 1;
    // Breakdown: the subspace is invariant (to within the tolerance in the search, exactly in
    // a verification chain, whose bound then holds with β = 0).
    const breakdown = first
      ? remaining <= Math.max(tol, roundingFactor) * search.normEstimate
      : remaining === 0;
    const exhausted = search.matvecs >= maxMatvecs;
    const complete = size === dim;
    const full = size === m;
    stepsSinceCheck++;
    // A Rayleigh–Ritz costs O(J³), an orthogonalisation step O(nJ): checking every
    // ⌈J²/n⌉ steps keeps the former from dominating when the subspace is large.
    const due = breakdown || stepsSinceCheck >= Math.ceil((size * size) / dim);
    let keep = wanted;
    let restarted = false;
    if ((!first || size >= wanted) && (due || exhausted || complete || full)) {
      stepsSinceCheck = 0;
      const eigen = symmetricEigen(leadingBlock(projected, m, size), size);
      search.normEstimate = Math.max(
        search.normEstimate,
        Math.abs(eigen.values[0]),
        Math.abs(eigen.values[size - 1]),
      );
      const tolerance = tol * search.normEstimate;
      const last = (size - 1) * size;
      const settled = (targets: readonly number[]) =>
        targets.every((t) => remaining * Math.abs(eigen.vectors[last + t]) <= tolerance);
      const certifies = (thresholds: Thresholds) =>
        certificate !== undefined &&
        certified(certificate, projected, m, eigen.values, remaining, logConstant, thresholds);
      if (first) {
        const targets = wantedIndices(size, which, k);
        if (settled(targets) || exhausted || complete) {
          const values = targets.map((t) => eigen.values[t]);
          const own = k === 1 && certifies(thresholdsOf(values, which, k, tolerance));
          // k = 1: extend the chain while its bound may still certify before a restart.
          const extend = k === 1 && certificate !== undefined && restarts === 0 && !full && !own;
          if (complete || exhausted || !extend) {
            const pairs = ritzPairs(basis, products, eigen, targets);
            const accurate = pairs.residuals.every((r) => r <= tolerance);
            if (complete || exhausted || (accurate && own)) {
              const converged = accurate && (complete || own);
              return { ...pairs, converged, matvecs: search.matvecs };
            }
            if (accurate && !search.verify) {
              return { ...pairs, converged: true, matvecs: search.matvecs };
            }
            if (accurate) return { lock: lockedPairs(pairs) };
          }
        }
      } else {
        const thresholds = thresholdsOf(
          locked.map((p) => p.value),
          which,
          k,
          tolerance,
        );
        const missed = beyond(eigen.values, which, k, thresholds);
        if (missed.length > 0) {
          keep = which === 'both' ? Math.max(2, missed.length) : missed.length;
          // In an invariant subspace (β = 0, or the whole complement) the Ritz pairs are
          // eigenpairs to rounding: they are locked even if tol is below rounding.
          const exact = complete || remaining === 0;
          if (settled(missed) || exact) {
            const pairs = ritzPairs(basis, products, eigen, missed);
            if (exact || pairs.residuals.every((r) => r <= tolerance)) {
              return { lock: lockedPairs(pairs) };
            }
          }
        } else {
          keep = which === 'both' ? 2 : 1;
          const extremes =
            which === 'largest' ? [size - 1] : which === 'smallest' ? [0] : [size - 1, 0];
          // The bound, or once the chain has filled the subspace, the convergence of its extreme
          // Ritz pair(s) (when the bound is held back by rounding: see the doc comment).
          if (complete || certifies(thresholds) || (restarts > 0 && settled(extremes))) {
            const result = answer(locked, which, k);
            const converged = result.residuals.every((r) => r <= tolerance);
            return { ...result, converged, matvecs: search.matvecs };
          }
        }
        if (exhausted) {
          return { ...answer(locked, which, k), converged: false, matvecs: search.matvecs };
        }
      }
      if (full && !complete) {
        const kept = keptIndices(eigen.values, which, keepCount(m, keep));
        basis = combine(basis, eigen.vectors, size, kept);
        products = combine(products, eigen.vectors, size, kept);
        projected.fill(0);
        if (certificate !== undefined) certificate = restartCertificate(certificate, eigen, kept);
        for (const [i, t] of kept.entries()) projected[i * m + i] = eigen.values[t];
        restarts++;
        restarted = true;
      }
    }
    if (breakdown || remaining === 0) {
      certificate = undefined;
      coupling = undefined;
      next = randomOrthogonal(rng, [...deflation, ...basis], op.dim);
    } else {
      // After a restart the new vector couples to every kept one (the arrowhead of T).
      coupling = restarted ? undefined : remaining;
      next = scaleInPlace(1 / remaining, remainder);
    }
  }
}

/**
 * The thresholds of the wanted end(s): the k-th largest of `values` plus `tolerance`, and the
 * k-th smallest minus it.
 */
function thresholdsOf(
  values: readonly number[],
  which: EigenpairTarget,
  k: number,
  tolerance: number,
): Thresholds {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    ...(which !== 'smallest' && { top: sorted[sorted.length - k] + tolerance }),
    ...(which !== 'largest' && { bottom: sorted[k - 1] - tolerance }),
  };
}

/** Indices (into ascending Ritz values) beyond the thresholds, at most k per end. */
function beyond(
  values: Float64Array,
  which: EigenpairTarget,
  k: number,
  { top, bottom }: Thresholds,
): number[] {
  const size = values.length;
  const out: number[] = [];
  if (top !== undefined) {
    for (let i = size - 1; i >= Math.max(0, size - k) && values[i] > top; i--) out.push(i);
  }
  if (bottom !== undefined) {
    for (let i = 0; i < Math.min(size, k) && values[i] < bottom && !out.includes(i); i++) {
      out.push(i);
    }
  }
  return which === 'smallest' ? out.sort((a, b) => a - b) : out;
}

/**
 * What the polynomial bound of the doc comment needs to know of the current basis V. After
 * thick restarts c = 1..r, V spans the Krylov subspace of x_r, where x_0 = q is the random
 * start and x_c = ψ_c(B)x_{c−1}/‖ψ_c(B)x_{c−1}‖ with ψ_c(t) = Π(t − θ_d) over the Ritz values
 * discarded at restart c: a thick restart is an implicit restart with these exact shifts
 * (Sorensen, SIAM J. Matrix Anal. Appl. 13(1), 1992; Morgan, Math. Comp. 65, 1996).
 */
interface Certificate {
  /** Coordinates of x in the basis (unit norm; entries past the basis size are 0). */
  start: Float64Array;
  /** Σ_c log‖ψ_c(B) x_c‖ over the restarts c. */
  logScale: number;
  /** The roots of ψ: every discarded Ritz value. */
  discarded: number[];
}

function newCertificate(m: number): Certificate {
  const start = new Float64Array(m);
  start[0] = 1;
  return { start, logScale: 0, discarded: [] };
}

/**
 * The certificate after a thick restart that keeps the Ritz vectors `kept` (in that order):
 * with x = Σ_i c_i y_i over all Ritz vectors y_i, ψ(B)x = Σ_{kept} ψ(θ_i) c_i y_i, since ψ has
 * degree below the basis size and vanishes at the discarded θ. Undefined when x has no
 * component left (a degenerate start: the bound is then given up).
 */
function restartCertificate(
  certificate: Certificate,
  eigen: SymmetricEigen,
  kept: readonly number[],
): Certificate | undefined {
  const size = eigen.values.length;
  const keptSet = new Set(kept);
  const roots = Array.from(eigen.values).filter((_, i) => !keptSet.has(i));
  const logs = kept.map((t) => {
    let c = 0;
    for (let r = 0; r < size; r++) c += eigen.vectors[r * size + t] * certificate.start[r];
    let log = Math.log(Math.abs(c));
    let sign = Math.sign(c);
    for (const root of roots) {
      log += Math.log(Math.abs(eigen.values[t] - root));
      sign *= Math.sign(eigen.values[t] - root);
    }
    return { log, sign };
  });
  const largest = Math.max(...logs.map((l) => l.log));
  if (!Number.isFinite(largest)) return undefined;
  const logNorm =
    largest + 0.5 * Math.log(logs.reduce((s, l) => s + Math.exp(2 * (l.log - largest)), 0));
  const start = new Float64Array(certificate.start.length);
  for (const [i, { log, sign }] of logs.entries()) start[i] = sign * Math.exp(log - logNorm);
  return {
    start,
    logScale: certificate.logScale + logNorm,
    discarded: [...certificate.discarded, ...roots],
  };
}

/**
 * The polynomial bound of the doc comment. For the extreme eigenpair (λ, u) of B and
 * χ(t) = Π(t − ρ_i) over the current Ritz values, |χ(λ)| · |uᵀx_r| <= ‖χ(B)x_r‖; with
 * uᵀx_r = ψ(λ)·uᵀq / Π_c‖ψ_c(B)x_{c−1}‖ and ψ = Π_c ψ_c, |χ(λ)ψ(λ)| · |uᵀq| <= R :=
 * ‖χ(B)x_r‖ · Π_c‖ψ_c(B)x_{c−1}‖. Unless |uᵀq| < 1/C, an event of probability at most δ for
 * C = √(2n'/π)/δ (`logConstant` = log C, with δ/2 for two ends), |χψ(λ)| <= R·C; as |χψ|
 * increases beyond its largest root, λ <= top when every root lies below top and
 * |χψ(top)| >= R·C. Mirrored at `bottom`. ‖χ(B)x_r‖ comes from {@link logKrylovNorm}; it is 0
 * for an invariant subspace (`residual` = 0), where the test reduces to: every root <= top.
 */
function certified(
  certificate: Certificate,
  projected: Float64Array,
  stride: number,
  ritz: Float64Array,
  residual: number,
  logConstant: number,
  { top, bottom }: Thresholds,
): boolean {
  const logNorm = logKrylovNorm(projected, stride, ritz.length, certificate.start, residual);
  if (logNorm === undefined) return false;
  const logRight = logNorm + certificate.logScale + logConstant;
  const holds = (gap: (root: number) => number) => {
    let sum = 0;
    for (const roots of [ritz, certificate.discarded]) {
      for (const root of roots) {
        const g = gap(root);
        if (g < 0 || (g === 0 && logRight > Number.NEGATIVE_INFINITY)) return false;
        sum += Math.log(g);
      }
    }
    return sum >= logRight;
  };
  return (
    (top === undefined || holds((root) => top - root)) &&
    (bottom === undefined || holds((root) => root - bottom))
  );
}

/**
 * log ‖χ(B)x‖ for x = V·start in a Krylov decomposition BV = VT + f e_lastᵀ (T the leading
 * size×size block of `projected`, ‖f‖ = `residual`), χ the characteristic polynomial of T, so
 * that V spans the Krylov subspace of x and χ(B)x is the next Lanczos direction of x times
 * β'_1⋯β'_J. The Lanczos process of T from `start` (full reorthogonalisation) gives
 * β'_1..β'_{J−1}, and β'_J = ‖f‖ · |last entry of its last vector|. For a plain chain (T
 * tridiagonal, start e₁) this is the product of its β's. Undefined when that small process
 * breaks down, x then spanning less than V.
 */
function logKrylovNorm(
  projected: Float64Array,
  stride: number,
  size: number,
  start: Float64Array,
  residual: number,
): number | undefined {
  if (residual === 0) return Number.NEGATIVE_INFINITY;
  let scale = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) scale = Math.max(scale, Math.abs(projected[i * stride + j]));
  }
  const vectors: Float64Array[] = [start.slice(0, size)];
  let log = 0;
  for (let step = 1; step < size; step++) {
    const q = vectors[step - 1];
    const w = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      let sum = 0;
      for (let j = 0; j < size; j++) sum += projected[i * stride + j] * q[j];
      w[i] = sum;
    }
    for (let pass = 0; pass < 2; pass++) {
      for (const v of vectors) {
        let c = 0;
        for (let i = 0; i < size; i++) c += v[i] * w[i];
        for (let i = 0; i < size; i++) w[i] -= c * v[i];
      }
    }
    const beta = norm(w);
    if (!(beta > size * EPSILON * scale)) return undefined;
    log += Math.log(beta);
    vectors.push(scaleInPlace(1 / beta, w));
  }
  return log + Math.log(residual) + Math.log(Math.abs(vectors[size - 1][size - 1]));
}

/** The answer from the locked pairs: the k extreme ones, in the documented order. */
function answer(
  locked: readonly LockedPair[],
  which: EigenpairTarget,
  k: number,
): Omit<EigenpairsResult, 'converged' | 'matvecs'> {
  const ascending = locked.map((_, i) => i).sort((a, b) => locked[a].value - locked[b].value);
  const top = ascending.slice(-k).reverse();
  const bottom = ascending.slice(0, k);
  const order = which === 'largest' ? top : which === 'smallest' ? bottom : [...top, ...bottom];
  return {
    values: Float64Array.from(order, (i) => locked[i].value),
    vectors: order.map((i) => locked[i].vector),
    residuals: Float64Array.from(order, (i) => locked[i].residual),
  };
}

function lockedPairs(pairs: Omit<EigenpairsResult, 'converged' | 'matvecs'>): LockedPair[] {
  return pairs.vectors.map((vector, i) => ({
    vector,
    value: pairs.values[i],
    residual: pairs.residuals[i],
  }));
}

/** Number of Ritz vectors kept at a thick restart: the wanted ones plus half of the rest. */
function keepCount(m: number, wanted: number): number {
  return wanted + Math.floor((m - wanted) / 2);
}

/**
 * One Lanczos step with full reorthogonalisation for the newest basis vector q (the last of
 * `basis`) and its product Aq: the recurrence w = Aq − αq − β_{j−1}q_{j−1} in one pass (α = qᵀAq
 * from a first pass that also gives ‖Aq‖; β_{j−1} = `coupling` when the previous step was a
 * plain one), then Gram–Schmidt against the deflated vectors and the whole basis. Adds the
 * coefficients along the basis (α, β and the corrections) into `coefficients`, whose first
 * `deflation.length` entries are the (discarded) components along the deflated vectors.
 */
function lanczosStep(
  product: Float64Array,
  basis: readonly Float64Array[],
  deflation: readonly Float64Array[],
  coupling: number | undefined,
  coefficients: Float64Array,
): { remainder: Float64Array; remaining: number; productNorm: number } {
  const j = basis.length - 1;
  const q = basis[j];
  const size = product.length;
  let alpha = 0;
  let alpha1 = 0;
  let squares = 0;
  let squares1 = 0;
  let i = 0;
  for (; i + 1 < size; i += 2) {
    const p = product[i];
    const p1 = product[i + 1];
    alpha += q[i] * p;
    alpha1 += q[i + 1] * p1;
    squares += p * p;
    squares1 += p1 * p1;
  }
  if (i < size) {
    alpha += q[i] * product[i];
    squares += product[i] * product[i];
  }
  alpha += alpha1;
  squares += squares1;
  const w = new Float64Array(size);
  let remainderSquares = 0;
  if (coupling === undefined) {
    for (let i = 0; i < size; i++) {
      const x = product[i] - alpha * q[i];
      w[i] = x;
      remainderSquares += x * x;
    }
  } else {
    const previous = basis[j - 1];
    for (let i = 0; i < size; i++) {
      const x = product[i] - alpha * q[i] - coupling * previous[i];
      w[i] = x;
      remainderSquares += x * x;
    }
    coefficients[deflation.length + j - 1] = coupling;
  }
  coefficients[deflation.length + j] = alpha;
  const productNorm = normFromSquares(product, squares);
  const before = normFromSquares(w, remainderSquares);
  // A remainder within the rounding error of the recurrence, 2ε(‖Aq‖ + |α| + |β|) <= 6ε‖Aq‖
  // entrywise in norm, is zero: Aq is in the span, and Gram–Schmidt would only add noise to T.
  const remaining =
    before <= 8 * EPSILON * productNorm
      ? 0
      : projectOut(w, [...deflation, ...basis], coefficients, before);
  return { remainder: w, remaining, productNorm };
}

/** A random unit vector orthogonal to `basis` (which has fewer than n vectors). */
function randomOrthogonal(rng: Random, basis: readonly Float64Array[], n: number): Float64Array {
  for (;;) {
    const z = rng.unitVector(n);
    // A random vector is numerically in the span of fewer than dim vectors with probability 0;
    // the loop only guards against that. A start vector is normalised with the scaled norm.
    if (projectOut(z, basis, undefined, 1) > 0) {
      return scaleInPlace(1 / norm(z), z);
    }
  }
}

/**
 * Checks the `deflate` option: an array of fewer than `dim` finite `Float64Array`s of length
 * `dim` (their independence is checked by {@link deflationBasis}).
 */
function checkDeflate(deflate: readonly Float64Array[], dim: number): void {
  checkArray(ALGORITHM, 'deflate', deflate);
  if (deflate.length >= dim) {
    throw new OptionError(
      `${ALGORITHM}: expected fewer than dim = ${dim} deflate vectors, got ${deflate.length}`,
    );
  }
  for (const [i, v] of deflate.entries()) {
    if (!(v instanceof Float64Array) || v.length !== dim || !allFinite(v)) {
      const got = v instanceof Float64Array ? `length ${v.length}` : show(v);
      throw new OptionError(
        `${ALGORITHM}: expected deflate[${i}] to be a finite Float64Array of length ${dim}, got ${got}`,
      );
    }
  }
}

/** An orthonormal basis of the span of the (checked) `deflate` option. */
function deflationBasis(deflate: readonly Float64Array[]): Float64Array[] {
  const basis = orthonormalBasis(deflate);
  if (basis.length !== deflate.length) {
    throw new OptionError(
      `${ALGORITHM}: expected linearly independent deflate vectors, got ${deflate.length} spanning ${basis.length} dimensions`,
    );
  }
  return basis;
}

/**
 * Vectors of length dim {@link topEigenpairs} keeps at its peak, for a subspace of m vectors,
 * `wanted` pairs and `deflated` deflation vectors: the basis and its products (2m) and the
 * orthonormalised deflation vectors throughout; at a thick restart, the kept vectors while the
 * old basis is still held, or, when pairs converge, the locked pairs and a Ritz pair set with
 * its images (3·wanted), whichever is more; and the newest vector, its remainder and the copy
 * handed to the operator (3). More are locked only when a verification chain finds eigenvalues
 * the search missed.
 */
function topEigenpairsVectors(m: number, wanted: number, deflated: number): number {
  return 2 * m + Math.max(keepCount(m, wanted), 3 * wanted) + deflated + 3;
}

function leadingBlock(a: Float64Array, stride: number, size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++) out.set(a.subarray(i * stride, i * stride + size), i * size);
  return out;
}

/**
 * The combinations Σ_r vectors[r] · y[r, c] for each c in `columns`, y row-major size×size:
 * the product V·Y[:, columns], two output columns from four input vectors per pass (each
 * entry read feeds two outputs).
 */
function combine(
  vectors: readonly Float64Array[],
  y: Float64Array,
  size: number,
  columns: readonly number[],
): Float64Array[] {
  const n = vectors[0].length;
  const rows = vectors.length;
  const out = columns.map(() => new Float64Array(n));
  // y[r, column], 0 past the last row, so that a group of fewer than four rows can repeat
  // its first vector.
  const weight = (r: number, column: number) => (r < rows ? y[r * size + column] : 0);
  for (let c = 0; c < columns.length; c += 2) {
    const first = columns[c];
    // An odd last column is paired with itself and written to a scratch array.
    const second = c + 1 < columns.length ? columns[c + 1] : first;
    const t0 = out[c];
    const t1 = c + 1 < columns.length ? out[c + 1] : new Float64Array(n);
    for (let r = 0; r < rows; r += 4) {
      const v0 = vectors[r];
      const v1 = r + 1 < rows ? vectors[r + 1] : v0;
      const v2 = r + 2 < rows ? vectors[r + 2] : v0;
      const v3 = r + 3 < rows ? vectors[r + 3] : v0;
      const a0 = weight(r, first);
      const a1 = weight(r + 1, first);
      const a2 = weight(r + 2, first);
      const a3 = weight(r + 3, first);
      const b0 = weight(r, second);
      const b1 = weight(r + 1, second);
      const b2 = weight(r + 2, second);
      const b3 = weight(r + 3, second);
      for (let i = 0; i < n; i++) {
        const x0 = v0[i];
        const x1 = v1[i];
        const x2 = v2[i];
        const x3 = v3[i];
        t0[i] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
        t1[i] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3;
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
    const theta = eigen.values[targets[i]];
    let squares = 0;
    for (let e = 0; e < x.length; e++) squares += x[e] * x[e];
    // ‖x‖ = 1 up to rounding: normalise x and Ax, and overwrite Ax with Ax − θx.
    const scale = 1 / normFromSquares(x, squares);
    squares = 0;
    for (let e = 0; e < x.length; e++) {
      const unit = scale * x[e];
      const r = scale * ax[e] - theta * unit;
      x[e] = unit;
      ax[e] = r;
      squares += r * r;
    }
    values[i] = theta;
    residuals[i] = normFromSquares(ax, squares);
    return x;
  });
  return { values, vectors, residuals };
}
