import { DimensionError, MatvecError, OptionError, type SizeLimitError } from './errors.js';
import {
  type LanczosResult,
  lanczos,
  lanczosBytes,
  REORTHOGONALIZATIONS,
  type Reorthogonalization,
} from './lanczos.js';
import { SampleMoments } from './moments.js';
import {
  checkOperator,
  FLOAT64_PRECISION,
  type LinearOperator,
  operatorPrecision,
} from './operator.js';
import {
  checkFinite,
  checkInteger,
  checkOneOf,
  checkOptions,
  checkPositive,
  show,
} from './options.js';
import { checkSeed, createRandom } from './random.js';
import { tridiagonalEigen } from './tridiagonal.js';
import {
  checkMaxBytes,
  checkWorkspace,
  float64Bytes,
  type WORKSPACE_MAX_BYTES,
} from './workspace.js';

/**
 * Gauss quadrature rules of the spectral measure of an operator, one per random probe: probe l
 * has nodes θ_k^(l) (Ritz values, in eigenvalue units) and weights τ_k^(l) >= 0 summing to 1, so
 * that q_lᵀ f(A) q_l ≈ Σ_k τ_k^(l) f(θ_k^(l)) for its unit start vector q_l.
 */
export interface SpectralQuadrature {
  /** Nodes of each probe's rule, ascending. */
  readonly nodes: readonly Float64Array[];
  /** Weights of each probe's rule, one per node. */
  readonly weights: readonly Float64Array[];
}

/** Options of {@link spectralDensity}. */
export interface SpectralDensityOptions {
  /** Number n_v of random probe vectors, an integer >= 1 (default 10); one Lanczos run each. */
  probes?: number;
  /**
   * Lanczos steps m per probe, an integer >= 1 (default 80); one matvec each, capped at the
   * operator's dimension. The rule of each probe is exact for polynomials of degree <= 2m − 1.
   */
  steps?: number;
  /** Seed of the probe vectors, a safe integer (default 0). */
  seed?: number;
  /**
   * Standard deviation σ of the Gaussian kernel, in eigenvalue units, > 0. Default:
   * max(σ_G, h) with σ_G = √(1e−5 · max(1, λmax − λmin)) and h the grid spacing.
   *
   * σ_G is the kernel of Ghorbani, Krishnan & Xiao (2019) and PyHessian: their
   * `sigma_squared = 1e-5`, scaled by max(1, span), is the kernel's *variance*, so the standard
   * deviation is its square root. Keeping it makes curves comparable with theirs. It is widened
   * to one grid spacing when the grid is coarser than the kernel (spans above ≈ 10 at the
   * default `gridSize`): a narrower kernel falls between grid points, the curve then depends on
   * where the nodes happen to sit and the trapezoid rule no longer integrates each bump. At
   * σ >= h the trapezoid rule integrates every bump to within 2·e^(−2π²) ≈ 5e-9.
   */
  sigma?: number;
  /** Number of grid points, an integer >= 2 (default 1024). */
  gridSize?: number;
  /**
   * Interval [lo, hi] of the grid, finite with lo < hi. Default: [λmin − pad, λmax + pad] with
   * pad = 5σ_G + (λmax − λmin)/50 around the extreme Ritz values, so that the kernels of the
   * extreme nodes fit on the grid. A narrower window gives the density conditional on it (see
   * {@link smoothDensity}); `negativeFraction`, `trace` and the extremes never depend on the grid.
   */
  range?: readonly [number, number];
  /**
   * Which Ritz values count as negative in `negativeFraction`: those below −δ, with
   * - `'rounding'` (default): δ_l = {@link ritzZeroTolerance} of probe l, the width of the
   *   rounding band around 0 (a few m·ε·‖A‖, more for operators of lower `precision`). The
   *   estimate of #{λ_i < 0}/n: eigenvalues exactly 0 (a null space) are not counted, every
   *   other negative eigenvalue is, up to the quadrature and sampling errors;
   * - `'resolution'`: δ = σ_G = √(1e-5 · max(1, λmax − λmin)) over the extreme Ritz values,
   *   the kernel width of Ghorbani, Krishnan & Xiao (2019) at which the density is drawn (not
   *   widened to the grid spacing, so it does not depend on `gridSize` or `range`). The
   *   fraction of eigenvalues *resolvably* below zero: a neural network's Hessian has most of
   *   its eigenvalues in a cluster near 0 that the quadrature puts on one node, whose sign it
   *   cannot resolve; this threshold keeps that node out. What the density analysis reports;
   * - a number δ >= 0, in eigenvalue units (0: every Ritz value below 0).
   *
   * The default is `'rounding'` because it estimates a property of A alone, #{λ_i < 0}/n,
   * which is what the estimator's documented error bounds refer to and what
   * {@link spectralSummary} computes from the same rules; `'resolution'` is a reporting
   * convention that trades that for stability across a training run. Both rules come from
   * {@link negativeCutoff}, also for exact eigenvalues.
   */
  negativeThreshold?: NegativeThreshold;
  /**
   * Reorthogonalisation of the Lanczos vectors, as in {@link lanczos}. Default `'none'`, or
   * `'full'` when `steps` >= the operator's dimension (the rule is then exact). `'none'`: the
   * three-term recurrence only, three vectors kept and no Gram–Schmidt. Its Ritz values then
   * include spurious copies ("ghosts") of converged ones, whose weights share the mass of the
   * true one: the rule is the Gauss rule of a measure close to the spectral measure seen from
   * the probe (Greenbaum 1989), so moments, the smoothed density, the negative mass and the
   * extreme nodes are as accurate as with reorthogonalisation (Knizhnerman 1996; Chen, Trogdon
   * & Ubaru 2021 discuss SLQ in finite precision), while individual nodes other than the
   * extremes are less meaningful. Measured here: the densities agree with `'full'` within the
   * W₁ bound of the tests, and at a million parameters the vector work per step is ~4 ms
   * instead of tens (`pnpm bench:core`). `'partial'` (Simon 1984) keeps the basis
   * semi-orthogonal: the same nodes and weights as `'full'` up to O(m·max(ε, u)·‖A‖), u the
   * operator's `precision`, O(n·m) memory per probe. `'full'` orthogonalises every vector
   * against all previous ones.
   */
  reorthogonalize?: Reorthogonalization;
  /**
   * Largest workspace in bytes (default {@link WORKSPACE_MAX_BYTES}, 4 GiB; `Infinity`: no limit),
   * checked before the first matvec (a {@link SizeLimitError} above it): one probe's Lanczos run
   * (as in {@link LanczosOptions.maxBytes}: 4 vectors of length dim with `'none'`, m + 2 with
   * `'partial'` or `'full'`) and its start vector, the rules of all probes (2·probes·m numbers) and
   * the grid and density (2·gridSize numbers).
   */
  maxBytes?: number;
}

/** Result of {@link spectralDensity}. */
export interface SpectralDensityResult extends SpectralQuadrature {
  /** Ritz values of each probe, ascending: m nodes, fewer when the Krylov space broke down. */
  nodes: Float64Array[];
  /** Gauss weights τ_k^(l) of each probe, summing to 1 per probe. */
  weights: Float64Array[];
  /** Dimension n of the operator (the number of eigenvalues the spectral measure stands for). */
  dim: number;
  /** The operator's declared {@link LinearOperator.precision} (2^-53 when it declared none). */
  precision: number;
  /** Evenly spaced grid points, in eigenvalue units. */
  grid: Float64Array;
  /**
   * The smoothed density φ on `grid`, in 1/(eigenvalue unit), normalised so that its
   * trapezoid integral over the grid is exactly 1 (see {@link smoothDensity}).
   */
  density: Float64Array;
  /** Standard deviation of the Gaussian kernel that was used. */
  sigma: number;
  /** Smallest Ritz value over all probes: an upper bound on λmin(A) (Cauchy interlacing). */
  lambdaMin: number;
  /** Largest Ritz value over all probes: a lower bound on λmax(A) (Cauchy interlacing). */
  lambdaMax: number;
  /**
   * Fraction of the spectral mass below zero, (1/n_v) Σ_l Σ_k τ_k^(l) 1[θ_k^(l) < −δ_l], taken
   * from the quadrature nodes, not from the smoothed curve (whose kernels leak mass across
   * zero); δ_l as chosen by the `negativeThreshold` option. With the default `'rounding'`,
   * nodes within δ_l = (m_l·ε + 32·(u − 2^-53))·‖A‖ of zero are numerically zero and not
   * counted (see {@link ritzZeroTolerance}: m_l nodes of probe l, ε = 2^-52, u the operator's
   * declared `precision`, ‖A‖ estimated by the largest
   * |θ| of all probes), so a positive semidefinite operator with a null space has negative mass
   * exactly 0. It then estimates #{λ_i < 0}/n; per probe the quadrature part of the error is
   * at most the larger weight of the two nodes around 0 (Chebyshev–Markov–Stieltjes
   * inequalities). With `'resolution'` it estimates #{λ_i < −σ_G}/n.
   */
  negativeFraction: number;
  /**
   * Hutchinson's estimate of tr A: the mean over probes of n·Σ_k τ_k θ_k = n·q₁ᵀAq₁ = zᵀAz for
   * the Rademacher vector z = √n·q₁, with its standard error (sample standard deviation / √n_v;
   * NaN for a single probe). Variance 2(‖A‖²_F − Σ A_ii²)/n_v.
   */
  trace: { estimate: number; stderr: number };
  /** Matvecs spent in total, Σ_l (number of nodes of probe l). */
  matvecs: number;
}

const WHERE = 'spectralDensity';

/** Unit roundoff of float64 arithmetic, 2^-52. */
const EPS = 2 ** -52;

/**
 * Ghorbani, Krishnan & Xiao's kernel variance factor: σ_G² = GHORBANI_VARIANCE · max(1, span).
 */
const GHORBANI_VARIANCE = 1e-5;

/**
 * Kernels are evaluated within ±KERNEL_CUTOFF·σ of their node; the Gaussian mass beyond is
 * erfc(10/√2) ≈ 1.5e-23 of the total.
 */
const KERNEL_CUTOFF = 10;

/**
 * The spectral density of a symmetric operator by stochastic Lanczos quadrature (Ubaru, Chen &
 * Saad 2017, "Fast estimation of tr(f(A)) via stochastic Lanczos quadrature", SIAM J. Matrix
 * Anal. Appl. 38(4); applied to neural-network Hessians by Ghorbani, Krishnan & Xiao 2019, "An
 * investigation into neural net optimization via Hessian eigenvalue density", ICML).
 *
 * For each probe l = 0..n_v−1 a Rademacher vector z_l (from the l-th `split()` of
 * `createRandom(seed)`, so probe l does not depend on the number of probes) is normalised to
 * q_l = z_l/√n and m steps of {@link lanczos} give T_l; its eigenvalues θ_k^(l) and squared
 * first eigenvector components τ_k^(l) form the Gauss quadrature rule of the spectral measure
 * Σ_i (u_iᵀq_l)² δ_{λ_i}, whose expectation is the eigenvalue distribution (1/n) Σ_i δ_{λ_i}.
 * The density is φ(t) = (1/n_v) Σ_l Σ_k τ_k^(l) g_σ(t − θ_k^(l)) with a Gaussian kernel g_σ.
 *
 * Accuracy in the 1-Wasserstein distance W₁ between the SLQ measure (every node with weight
 * τ/n_v, see {@link spectralMeasure}) and the eigenvalue distribution, derived for this
 * project: per probe the quadrature part is at most π(λmax − λmin)/(4m) (the rule integrates
 * polynomials of degree <= 2m − 1 exactly, and by Jackson's theorem a 1-Lipschitz function is
 * that close to one), and the sampling part has expectation at most
 * ∫ √(2F(1 − F)) dt / √(n·n_v) <= (λmax − λmin)/√(2n·n_v), F the eigenvalue CDF. Chen, Trogdon
 * & Ubaru (2021), "Analysis of stochastic Lanczos quadrature for spectrum approximation", ICML,
 * prove a high-probability bound of the same shape: W₁ <= t(λmax − λmin) with probability
 * 1 − η after ⌈12/t + 1/2⌉ steps on ⌈4 ln(2n/η)/((n + 2)t²)⌉ probes.
 *
 * Cost: n_v·m matvecs and O(n_v·m·n) vector work, plus O(j·n) for every step j that is
 * reorthogonalised: all m steps with `'full'` (O(n_v·m²·n) in total); with `'partial'` two
 * steps each time orthogonality is about to be lost (34 of 80 steps on a Hessian-like spectrum
 * whose outliers are 1000 times its bulk; with float32 products that declare their
 * `precision` the basis is held to √u instead of √ε, 47 of 80 on the same spectrum, and nearly
 * all when they do not declare it, see {@link lanczos}); none with `'none'`. The operator, all
 * options and the workspace (see `maxBytes`) are validated before the first matvec.
 *
 * @throws {@link OptionError} naming the option when one is out of range, options that are not
 *   an object, or an `op` that is not a {@link LinearOperator}.
 * @throws {@link SizeLimitError} when the workspace exceeds `maxBytes`.
 * @throws {@link MatvecError} (algorithm `'spectralDensity'`, `step` = the zero-based matvec
 *   index of the run) when a product throws, has the wrong length or is not finite; the message
 *   names the probe.
 *
 * @example
 * ```ts
 * const slq = await spectralDensity(operator, { probes: 10, steps: 80, seed: 1 });
 * console.log(slq.lambdaMax, slq.negativeFraction, `${slq.trace.estimate} ± ${slq.trace.stderr}`);
 * // Re-smooth the same nodes with a wider kernel, without new matvecs:
 * const wide = smoothDensity(slq, { sigma: 10 * slq.sigma, grid: slq.grid });
 * ```
 */
export async function spectralDensity(
  op: LinearOperator,
  options: SpectralDensityOptions = {},
): Promise<SpectralDensityResult> {
  const {
    probes = 10,
    steps = 80,
    seed = 0,
    sigma,
    gridSize = 1024,
    range,
    negativeThreshold = 'rounding',
  } = checkOptions(WHERE, options);
  checkOperator(WHERE, op);
  checkInteger(WHERE, 'probes', probes, 1);
  checkInteger(WHERE, 'steps', steps, 1);
  checkSeed(seed, WHERE);
  if (sigma !== undefined) checkPositive(WHERE, 'sigma', sigma);
  checkInteger(WHERE, 'gridSize', gridSize, 2);
  if (range !== undefined) checkRange(range);
  const n = op.dim;
  // With steps >= n the Krylov space can be the whole space, and only an orthogonal basis makes
  // the rule exact there; full reorthogonalisation then costs at most n² entries per step.
  const { reorthogonalize = steps >= n ? 'full' : 'none' } = options;
  checkOneOf(WHERE, 'reorthogonalize', reorthogonalize, REORTHOGONALIZATIONS);
  checkNegativeThreshold(WHERE, negativeThreshold);
  const maxBytes = checkMaxBytes(WHERE, options.maxBytes);
  const m = Math.min(steps, n);
  checkWorkspace(
    WHERE,
    spectralDensityBytes(n, probes, steps, gridSize, reorthogonalize),
    maxBytes,
    `a Lanczos run of ${m} steps on vectors of length ${n}, ${probes} × ${m} nodes and a grid of ${gridSize}`,
    reorthogonalize === 'none'
      ? 'lower probes, steps or gridSize'
      : "lower probes, steps or gridSize, use reorthogonalize: 'none'",
  );

  const root = createRandom(seed);
  const nodes: Float64Array[] = [];
  const weights: Float64Array[] = [];
  const traces = new SampleMoments(1);
  let matvecs = 0;
  for (let l = 0; l < probes; l++) {
    const startVector = root.split().rademacherVector(n);
    let run: LanczosResult;
    try {
      run = await lanczos(op, { steps, startVector, reorthogonalize, maxBytes });
    } catch (error) {
      if (!(error instanceof MatvecError)) throw error;
      const detail = error.message.replace(/^lanczos: /, '');
      throw new MatvecError(
        `${WHERE}: probe ${l} (matvec ${matvecs + error.step} of the run): ${detail}`,
        WHERE,
        matvecs + error.step,
        { cause: error },
      );
    }
    matvecs += run.matvecs;
    const rule = tridiagonalEigen(run.alpha, run.beta);
    let mean = 0;
    for (let k = 0; k < rule.values.length; k++) mean += rule.weights[k] * rule.values[k];
    traces.add([n * mean]);
    nodes.push(rule.values);
    weights.push(rule.weights);
  }

  let lambdaMin = Number.POSITIVE_INFINITY;
  let lambdaMax = Number.NEGATIVE_INFINITY;
  for (const values of nodes) {
    lambdaMin = Math.min(lambdaMin, values[0]);
    lambdaMax = Math.max(lambdaMax, values[values.length - 1]);
  }
  let negative = 0;
  for (let l = 0; l < probes; l++) {
    const zero = negativeCutoff(negativeThreshold, {
      lambdaMin,
      lambdaMax,
      steps: nodes[l].length,
      precision: operatorPrecision(op),
    });
    for (let k = 0; k < nodes[l].length; k++) if (nodes[l][k] < -zero) negative += weights[l][k];
  }
  const span = lambdaMax - lambdaMin;
  const ghorbaniSigma = densityResolution(lambdaMin, lambdaMax);
  const pad = 5 * ghorbaniSigma + span / 50;
  const [lo, hi] = range ?? [lambdaMin - pad, lambdaMax + pad];
  const grid = uniformGrid(lo, hi, gridSize);
  const kernelSigma = sigma ?? Math.max(ghorbaniSigma, (hi - lo) / (gridSize - 1));
  const quadrature = { nodes, weights };
  return {
    nodes,
    weights,
    dim: n,
    precision: operatorPrecision(op),
    grid,
    density: smoothDensity(quadrature, { sigma: kernelSigma, grid }),
    sigma: kernelSigma,
    lambdaMin,
    lambdaMax,
    negativeFraction: negative / probes,
    trace: { estimate: traces.mean()[0], stderr: traces.standardError()[0] },
    matvecs,
  };
}

/**
 * Peak workspace of {@link spectralDensity} in bytes: one probe's Lanczos run
 * ({@link lanczosBytes}) and its start vector, the nodes and weights of every probe
 * (2·probes·min(steps, dim) numbers), and the grid and density (2·gridSize numbers).
 */
export function spectralDensityBytes(
  dim: number,
  probes: number,
  steps: number,
  gridSize: number,
  reorthogonalize: Reorthogonalization,
): number {
  const m = Math.min(steps, dim);
  return (
    lanczosBytes(dim, steps, reorthogonalize) + float64Bytes(dim + 2 * probes * m + 2 * gridSize)
  );
}

/**
 * Which eigenvalues or Ritz values count as negative: those below −δ, δ from
 * {@link negativeCutoff}. `'rounding'`: δ is the rounding band {@link ritzZeroTolerance};
 * `'resolution'`: δ = σ_G, the density's resolution ({@link densityResolution}); a number:
 * δ itself, in eigenvalue units, >= 0. See {@link SpectralDensityOptions.negativeThreshold}.
 */
export type NegativeThreshold = 'rounding' | 'resolution' | number;

/**
 * Ghorbani, Krishnan & Xiao's (2019) kernel width for a spectrum spanning [lo, hi],
 * σ_G = √(1e-5 · max(1, hi − lo)) (their `sigma_squared = 1e-5` is the kernel's variance): the
 * resolution at which {@link spectralDensity} draws the density by default, and below which
 * the `'resolution'` rule of {@link negativeCutoff} does not tell a negative eigenvalue from 0.
 */
export function densityResolution(lo: number, hi: number): number {
  checkFinite('densityResolution', 'lo', lo);
  checkFinite('densityResolution', 'hi', hi);
  return Math.sqrt(GHORBANI_VARIANCE * Math.max(1, hi - lo));
}

/**
 * The half-width δ >= 0 of the band around 0 whose values are not counted as negative (a value
 * θ counts when θ < −δ), for a spectrum or rule with extreme values `lambdaMin` <= `lambdaMax`:
 * - `'rounding'`: {@link ritzZeroTolerance}(steps, max(|lambdaMin|, |lambdaMax|), precision),
 *   with `steps` the number of nodes of the rule (for the exact eigenvalues of an n × n matrix
 *   from a backward-stable dense solver, n: its error is p(n)·ε·‖A‖ with p(n) of order n);
 * - `'resolution'`: {@link densityResolution}(lambdaMin, lambdaMax);
 * - a number: that number.
 *
 * The one definition of negative mass in this library: {@link spectralDensity} and
 * the analyses (their density and layer sections, Ritz values and exact eigenvalues
 * alike) both count below −δ from here.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for a threshold that is
 *   neither rule nor a finite number >= 0, or a `spectrum` that is not an object with finite
 *   extremes (and, for `'rounding'`, an integer `steps` >= 0 and a `precision` in [0, 1)).
 *
 * @example
 * ```ts
 * const eigenvalues = [-0.2, -1e-3, 0.5, 5]; // e.g. exact ones, of a small model
 * const delta = negativeCutoff('resolution', { lambdaMin: -0.2, lambdaMax: 5, steps: 80 });
 * const fraction = eigenvalues.filter((x) => x < -delta).length / eigenvalues.length;
 * ```
 */
export function negativeCutoff(
  threshold: NegativeThreshold,
  spectrum: { lambdaMin: number; lambdaMax: number; steps: number; precision?: number },
): number {
  const where = 'negativeCutoff';
  checkNegativeThreshold(where, threshold);
  const { lambdaMin, lambdaMax, steps, precision } = checkOptions(
    where,
    spectrum,
    true,
    'spectrum',
  );
  checkFinite(where, 'spectrum.lambdaMin', lambdaMin);
  checkFinite(where, 'spectrum.lambdaMax', lambdaMax);
  if (threshold === 'rounding') {
    checkInteger(where, 'spectrum.steps', steps, 0);
    if (precision !== undefined) checkPrecision(where, 'spectrum.precision', precision);
  }
  if (threshold === 'resolution') return densityResolution(lambdaMin, lambdaMax);
  if (threshold === 'rounding') {
    const normEstimate = Math.max(Math.abs(lambdaMin), Math.abs(lambdaMax));
    return ritzZeroTolerance(steps, normEstimate, precision);
  }
  return threshold;
}

function checkNegativeThreshold(where: string, threshold: NegativeThreshold): void {
  if (typeof threshold === 'number') {
    checkPositive(where, 'negativeThreshold', threshold, true);
  } else {
    checkOneOf(where, 'negativeThreshold', threshold, ['rounding', 'resolution']);
  }
}

/**
 * Half-width δ = m·ε·‖A‖ of the interval around 0 whose Ritz values are numerically zero, for
 * a rule of m nodes (m Lanczos steps) and ‖A‖ ≈ `normEstimate`; ε = 2^-52.
 *
 * Lanczos in floating point, with full or partial reorthogonalisation, computes T equal to
 * the projection WᵀAW of A on an orthonormal basis W up to an error E with ‖E‖ <= c·m·ε·‖A‖,
 * c a modest constant (Paige 1976; Simon 1984, Theorem 4; without reorthogonalisation the
 * rule is the Gauss rule of a nearby measure within the same order, Greenbaum 1989). The Ritz
 * values are eigenvalues of WᵀAW + E and so, by Cauchy interlacing and Weyl's inequality, lie
 * in [λmin(A) − ‖E‖, λmax(A) + ‖E‖]: for a positive semidefinite A a Ritz value in [−δ, 0) is
 * rounding, not evidence of a negative eigenvalue. Measured (this project): the Ritz values of
 * exact null-space directions lie within 5·ε·‖A‖ of 0 (softmax regression at W = 0, 60 steps;
 * PSD test operators of rank 30–40 and dimension 300–4000, 40–80 steps), well inside δ. The
 * same width hides only true eigenvalues that are zero to working precision.
 *
 * An operator whose products are less accurate than float64 (`precision` u > 2^-53, e.g. a
 * float32 tfjs HVP with u = 2^-24) computes A + E_v with ‖E_v‖ of a few u·‖A‖ (measured: up to
 * 13u in this project's operator contracts), so its rounding-level Ritz values reach ≈ 1e-7·‖A‖:
 * the band then widens by 32·(u − 2^-53)·‖A‖ (zero for float64 operators).
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for `steps` that is not an
 *   integer >= 0, a `normEstimate` that is not a finite number >= 0, or a `precision` outside
 *   [0, 1).
 */
export function ritzZeroTolerance(
  steps: number,
  normEstimate: number,
  precision = FLOAT64_PRECISION,
): number {
  const where = 'ritzZeroTolerance';
  checkInteger(where, 'steps', steps, 0);
  checkPositive(where, 'normEstimate', normEstimate, true);
  checkPrecision(where, 'precision', precision);
  return (steps * EPS + 32 * (precision - FLOAT64_PRECISION)) * normEstimate;
}

/** Checks a relative precision: a number in [0, 1), as {@link LinearOperator.precision}. */
function checkPrecision(where: string, name: string, precision: number): void {
  if (typeof precision !== 'number' || !(precision >= 0 && precision < 1)) {
    throw new OptionError(
      `${where}: expected ${name} to be a number in [0, 1), got ${show(precision)}`,
    );
  }
}

function checkRange(range: readonly [number, number]): void {
  const ok =
    Array.isArray(range) &&
    range.length === 2 &&
    Number.isFinite(range[0]) &&
    Number.isFinite(range[1]) &&
    range[0] < range[1];
  if (!ok) {
    const got = Array.isArray(range) ? `[${range.map(String).join(', ')}]` : String(range);
    throw new OptionError(
      `${WHERE}: expected range to be [lo, hi] with finite lo < hi, got ${got}`,
    );
  }
}

/** `size` evenly spaced points from lo to hi, both included. */
function uniformGrid(lo: number, hi: number, size: number): Float64Array {
  const step = (hi - lo) / (size - 1);
  const grid = Float64Array.from({ length: size }, (_, i) => lo + i * step);
  grid[size - 1] = hi;
  return grid;
}

/** Options of {@link smoothDensity}. */
export interface SmoothDensityOptions {
  /** Standard deviation of the Gaussian kernel, in eigenvalue units, finite and > 0. */
  sigma: number;
  /** Points at which to evaluate the density: finite, strictly increasing, at least 2. */
  grid: Float64Array;
}

/**
 * The Gaussian-smoothed density of a set of quadrature rules (no matvecs):
 * φ(t) = (1/n_v) Σ_l Σ_k τ_k^(l) g_σ(t − θ_k^(l)), g_σ(x) = exp(−x²/2σ²)/(σ√(2π)), evaluated at
 * each grid point and then divided by its trapezoid integral over the grid, so that the result
 * integrates to exactly 1 there (as PyHessian's `density_generate` does; Ghorbani, Krishnan &
 * Xiao 2019). The renormalisation puts back the kernel mass that falls outside the grid: with a
 * `grid` that covers only part of the spectrum, the result is the density *conditional* on that
 * window. All zeros when no node lies within 10σ of the grid.
 *
 * @throws {@link OptionError} for options that are not an object, a bad `sigma` or `grid`, or
 *   for empty or non-finite rules.
 * @throws {@link DimensionError} when nodes and weights do not pair up.
 *
 * @example
 * ```ts
 * const slq = await spectralDensity(operator);
 * const sharper = smoothDensity(slq, { sigma: slq.sigma / 4, grid: slq.grid });
 * ```
 */
export function smoothDensity(
  quadrature: SpectralQuadrature,
  options: SmoothDensityOptions,
): Float64Array {
  const where = 'smoothDensity';
  checkQuadrature(where, quadrature);
  const { sigma, grid } = checkOptions(where, options, true);
  checkPositive(where, 'sigma', sigma);
  if (!(grid instanceof Float64Array) || grid.length < 2) {
    throw new OptionError(
      `${where}: expected grid to be a Float64Array of at least 2 points, got ${show(grid)}`,
    );
  }
  for (let i = 0; i < grid.length; i++) {
    if (!Number.isFinite(grid[i]) || (i > 0 && !(grid[i] > grid[i - 1]))) {
      throw new OptionError(
        `${where}: expected a finite, strictly increasing grid, got grid[${i}] = ${grid[i]}` +
          (i > 0 ? ` after grid[${i - 1}] = ${grid[i - 1]}` : ''),
      );
    }
  }
  const { nodes, weights } = quadrature;
  const density = new Float64Array(grid.length);
  const scale = 1 / (nodes.length * sigma * Math.sqrt(2 * Math.PI));
  for (let l = 0; l < nodes.length; l++) {
    for (let k = 0; k < nodes[l].length; k++) {
      const theta = nodes[l][k];
      const mass = weights[l][k] * scale;
      const first = lowerBound(grid, theta - KERNEL_CUTOFF * sigma);
      for (let i = first; i < grid.length && grid[i] <= theta + KERNEL_CUTOFF * sigma; i++) {
        const x = (grid[i] - theta) / sigma;
        density[i] += mass * Math.exp(-0.5 * x * x);
      }
    }
  }
  let integral = 0;
  for (let i = 1; i < grid.length; i++) {
    integral += 0.5 * (density[i] + density[i - 1]) * (grid[i] - grid[i - 1]);
  }
  if (integral > 0) for (let i = 0; i < density.length; i++) density[i] /= integral;
  return density;
}

/** Index of the first grid point >= t (grid ascending); grid.length if none. */
function lowerBound(grid: Float64Array, t: number): number {
  let lo = 0;
  let hi = grid.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (grid[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The SLQ spectral measure as one discrete measure: every node of every probe, with weight
 * τ_k^(l)/n_v (total 1 when each rule's weights sum to 1). This is the measure whose distance
 * to the eigenvalue distribution Chen, Trogdon & Ubaru (2021) bound; pass it to
 * {@link @hessian-probe/core!index.wasserstein1 | wasserstein1}.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for empty or non-finite
 *   rules; {@link DimensionError} when nodes and weights do not pair up.
 *
 * @example
 * ```ts
 * const operator = denseOperator(Float64Array.of(1, 0, 0, 3), 2); // eigenvalues 1 and 3
 * const error = wasserstein1(spectralMeasure(await spectralDensity(operator)), { values: [1, 3] });
 * ```
 */
export function spectralMeasure(quadrature: SpectralQuadrature): {
  values: Float64Array;
  weights: Float64Array;
} {
  return flattenQuadrature('spectralMeasure', quadrature);
}

/**
 * Validates the rules (see {@link checkQuadrature}) and concatenates them: all nodes, with
 * weights τ_k^(l)/n_v. Internal: shared with summary.ts.
 */
export function flattenQuadrature(
  where: string,
  quadrature: SpectralQuadrature,
): { values: Float64Array; weights: Float64Array } {
  checkQuadrature(where, quadrature);
  const { nodes, weights } = quadrature;
  const total = nodes.reduce((sum, rule) => sum + rule.length, 0);
  const values = new Float64Array(total);
  const masses = new Float64Array(total);
  let offset = 0;
  for (let l = 0; l < nodes.length; l++) {
    values.set(nodes[l], offset);
    for (let k = 0; k < nodes[l].length; k++) masses[offset + k] = weights[l][k] / nodes.length;
    offset += nodes[l].length;
  }
  return { values, weights: masses };
}

/**
 * Checks a set of quadrature rules: at least one rule, each with at least one node, as many
 * weights as nodes, finite nodes and finite weights >= 0 with a positive sum.
 */
function checkQuadrature(where: string, quadrature: SpectralQuadrature): void {
  const { nodes, weights } = checkOptions(where, quadrature, true, 'the quadrature');
  if (!Array.isArray(nodes) || !Array.isArray(weights) || nodes.length === 0) {
    throw new OptionError(
      `${where}: expected nodes and weights to be non-empty arrays of rules, got ${show(nodes)} and ${show(weights)}`,
    );
  }
  if (weights.length !== nodes.length) {
    throw new DimensionError(
      `${where}: expected one weight array per node array (${nodes.length}), got ${weights.length}`,
    );
  }
  for (let l = 0; l < nodes.length; l++) {
    if (!isNumbers(nodes[l]) || !isNumbers(weights[l])) {
      throw new OptionError(
        `${where}: expected rule ${l}'s nodes and weights to be arrays of numbers, got ${show(nodes[l])} and ${show(weights[l])}`,
      );
    }
    if (nodes[l].length === 0 || weights[l].length !== nodes[l].length) {
      throw new DimensionError(
        `${where}: expected rule ${l} to have as many weights as nodes (>= 1), got ${weights[l].length} and ${nodes[l].length}`,
      );
    }
    let sum = 0;
    for (let k = 0; k < nodes[l].length; k++) {
      const w = weights[l][k];
      if (!Number.isFinite(nodes[l][k]) || !(Number.isFinite(w) && w >= 0)) {
        throw new OptionError(
          `${where}: expected finite nodes and finite weights >= 0, got node ${nodes[l][k]} with weight ${w} (rule ${l}, index ${k})`,
        );
      }
      sum += w;
    }
    if (!(sum > 0)) {
      throw new OptionError(
        `${where}: expected rule ${l}'s weights to have a positive sum, got ${sum}`,
      );
    }
  }
}

/** True for a `Float64Array` or an array (of anything: the entries are checked by the caller). */
function isNumbers(value: unknown): value is ArrayLike<number> {
  return value instanceof Float64Array || Array.isArray(value);
}
