/**
 * Layer-wise ("local") Hessian spectra: the metrics of docs/methods.md section D for each diagonal
 * block H_ll = ∂²L/∂θ_l² of a curvature operator, the coupling between blocks, and the
 * Gauss–Newton gap ‖H − G‖_F/‖G‖_F. After Bolshim & Kugaevskikh 2025, "Local Properties of Neural
 * Networks Through the Lens of Layer-wise Hessians", arXiv 2510.17486 (the paper's exact metric
 * list was not available; this is the natural set docs/methods.md D names).
 */
import { blockNorms, blockNormsBytes, blockRatios, exactBlockNorms } from './blocks.js';
import { denseMatrix, denseMatrixBytes, symmetricPart } from './dense.js';
import { densityResolution, spectralDensity, spectralDensityBytes } from './density.js';
import { DimensionError, type SizeLimitError } from './errors.js';
import { checkLayout, type LayoutBlock, type ParameterLayout } from './layout.js';
import { SampleMoments, sqrtRatioOfMeans } from './moments.js';
import { checkedMatvec, checkOperator, type LinearOperator, restrictOperator } from './operator.js';
import { checkInteger, checkOptions, checkString } from './options.js';
import { checkSeed, createRandom } from './random.js';
import { spectralSummary } from './summary.js';
import { symmetricEigen } from './symmetric-eigen.js';
import { estimateTrace, estimateTraceBytes } from './trace.js';
import {
  checkMaxBytes,
  checkWorkspace,
  float64Bytes,
  type WORKSPACE_MAX_BYTES,
} from './workspace.js';

/**
 * How a metric was computed: `'exact'` from the eigenvalues of the densely assembled block (one
 * matvec per entry; exact up to the operator's rounding), `'stochastic'` from stochastic Lanczos
 * quadrature and Hutch++.
 */
export type LayerSpectrumMethod = 'exact' | 'stochastic';

/** Options of {@link layerSpectrum}. */
export interface LayerSpectrumOptions {
  /**
   * Largest block assembled densely, an integer >= 0 (default 256: 256 matvecs and a 0.5 MiB
   * matrix). Larger blocks take the stochastic route; 0 forces it.
   */
  maxExactDim?: number;
  /** Stochastic route: SLQ probes, an integer >= 1 (default 4); one Lanczos run each. */
  probes?: number;
  /**
   * Stochastic route: Lanczos steps per probe, an integer >= 2 (default 32; capped at dim): the
   * Frobenius norm is the quadrature of λ², exact only from two steps on.
   */
  steps?: number;
  /** Stochastic route: Hutch++ products for the trace, an integer >= 3 (default 30). */
  traceMatvecs?: number;
  /** Seed of the random probes, a safe integer (default 0). */
  seed?: number;
  /**
   * Largest workspace in bytes (default {@link WORKSPACE_MAX_BYTES}, 4 GiB; `Infinity`: no
   * limit), checked before the first product against an estimate of the peak (a
   * {@link SizeLimitError} above it): exact, the assembled block, its symmetric part and the
   * eigensolver's copy (3·dim² numbers); stochastic, the larger of the SLQ run and the Hutch++
   * sketch (see `spectralDensity` and `estimateTrace`).
   */
  maxBytes?: number;
}

/**
 * The local spectrum of one block H (dimension n = P_l, eigenvalues λ_i), in eigenvalue units
 * (loss per parameter unit squared) unless stated. With δ = σ_G = √(1e-5·max(1, λmax − λmin)),
 * the density's resolution ({@link densityResolution}; the `'resolution'` rule of
 * `negativeCutoff`, as the analyses count negative mass), and the magnitudes
 * p_i = |λ_i|/Σ_j|λ_j|:
 */
export interface LayerSpectrum {
  /** `'exact'` (dense eigenvalues) or `'stochastic'` (SLQ + Hutch++). */
  method: LayerSpectrumMethod;
  /** The block's dimension n = P_l. */
  dim: number;
  /** Largest eigenvalue (stochastic: the largest Ritz value, a lower bound). */
  lambdaMax: number;
  /** Smallest eigenvalue (stochastic: the smallest Ritz value, an upper bound). */
  lambdaMin: number;
  /** tr H = Σλ_i (stochastic: Hutch++). */
  trace: number;
  /** Standard error of `trace` (0 when exact; NaN when Hutch++ drew fewer than two probes). */
  traceStderr: number;
  /** tr H / n: the mean eigenvalue. */
  tracePerParameter: number;
  /** ‖H‖²_F = Σλ_i² (stochastic: Hutchinson's E‖Hz‖² from the SLQ probes, unbiased). */
  frobeniusSq: number;
  /** Standard error of `frobeniusSq` (0 when exact; NaN with a single probe). */
  frobeniusSqStderr: number;
  /** Fraction of eigenvalues below −δ, #{λ_i < −δ}/n ∈ [0, 1] (as `ReportLayer.negativeFraction`). */
  negativeFraction: number;
  /** Share of Σ|λ_i| carried by eigenvalues below −δ, Σ_{λ_i<−δ}|λ_i| / Σ|λ_i| ∈ [0, 1]; 0 for H = 0. */
  negativeTraceMass: number;
  /** −Σ p_i ln p_i in nats, ∈ [0, ln n] (0 for H = 0). */
  spectralEntropy: number;
  /** exp(spectralEntropy) ∈ [1, n] (Roy & Vetterli 2007); 0 for H = 0. */
  effectiveRank: number;
  /** (Σ|λ_i|)² / Σλ_i² ∈ [1, n]; 0 for H = 0. */
  participationRatio: number;
  /** ‖H‖²_F / max|λ_i|² ∈ [1, n] (= ‖H‖²_F/λmax² when λmax dominates); 0 for H = 0. */
  stableRank: number;
  /**
   * Bulk edge b = m + 3s, m = tr H/n and s² = ‖H‖²_F/n − m² the mean and variance of the
   * eigenvalue distribution: both come from the trace and the Frobenius norm, so the edge is
   * the same statistic in both routes. By Cantelli's inequality at most n/10 eigenvalues lie
   * above it, so a bulk cannot be counted as outliers; separated outliers (the C − 1 class
   * outliers of a classifier's Hessian) lie far above it when n ≫ their number.
   */
  bulkEdge: number;
  /**
   * Eigenvalues above `bulkEdge`. Stochastic: the largest number of one probe's Ritz values
   * above it, over the probes. By Cauchy interlacing the k-th largest Ritz value is at most λ_k,
   * so this is a lower bound, exact once Lanczos has converged to the outliers (it finds
   * isolated extreme eigenvalues first).
   */
  outlierCount: number;
  /** Matrix-vector products of the block operator spent. */
  matvecs: number;
}

const SPECTRUM = 'layerSpectrum';

/** Standard deviations above the mean eigenvalue at which the bulk ends (see `bulkEdge`). */
const BULK_EDGE_SDS = 3;

/**
 * The local spectrum of one symmetric block (build it with {@link restrictOperator}; Bolshim &
 * Kugaevskikh 2025, arXiv 2510.17486): every metric of {@link LayerSpectrum}.
 *
 * - **exact** when `dim <= maxExactDim`: the block is assembled with `dim` matvecs
 *   ({@link denseMatrix}), symmetrised (float32 products are symmetric only up to rounding;
 *   the symmetric part has the same trace and eigenvalues to that rounding) and solved by
 *   {@link symmetricEigen}. Every metric is then exact up to the operator's rounding.
 * - **stochastic** above: `probes` Lanczos runs of `steps` steps ({@link spectralDensity},
 *   partial reorthogonalisation: the outlier count reads individual nodes, which need the
 *   interlacing of an orthogonal projection) give Gauss rules whose measure stands for the eigenvalue
 *   distribution; ‖H‖²_F, entropy, effective rank and participation ratio are the plug-in
 *   estimates of {@link spectralSummary} over it (‖H‖²_F unbiased, degree 2 <= 2m − 1, the
 *   ratios consistent with O(1/probes) bias; |x| is 1-Lipschitz, so Σ|λ| errs by at most
 *   n·π(λmax − λmin)/(4m) per probe from the quadrature, see {@link spectralDensity}), the negative
 *   fraction and mass come from the nodes below −δ, and the trace is Hutch++ with
 *   `traceMatvecs` products ({@link estimateTrace}), whose error is far below Hutchinson's on
 *   blocks with a few large eigenvalues.
 *
 * Cost: `dim` matvecs (exact) or `probes·min(steps, dim) + traceMatvecs` (stochastic). Options
 * are checked before the first product.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} naming a bad option, options
 *   that are not an object, or an `op` that is not a {@link LinearOperator}.
 * @throws {@link @hessian-probe/core!index.SizeLimitError | SizeLimitError} when the workspace (see
 *   `maxBytes`) exceeds `maxBytes`.
 * @throws {@link @hessian-probe/core!index.MatvecError | MatvecError} when a product throws, has
 *   the wrong length or is not finite.
 *
 * @example
 * ```ts
 * const { operator } = modelCurvature(model, { tf, x, y });
 * const block = restrictOperator(operator, modelLayout(model, 'layer').layout, 'dense_1');
 * const s = await layerSpectrum(block, { maxExactDim: 256, probes: 4, steps: 32, seed: 1 });
 * console.log(s.method, s.lambdaMax, s.effectiveRank, s.outlierCount);
 * ```
 */
export async function layerSpectrum(
  op: LinearOperator,
  options: LayerSpectrumOptions = {},
): Promise<LayerSpectrum> {
  const checked = checkSpectrumOptions(SPECTRUM, checkOptions(SPECTRUM, options));
  checkOperator(SPECTRUM, op);
  checkWorkspace(
    SPECTRUM,
    spectrumBytes(op.dim, checked),
    checked.maxBytes,
    spectrumWhat(op.dim, checked),
    'lower maxExactDim, probes, steps or traceMatvecs',
  );
  return spectrumOf(op, checked);
}

interface CheckedSpectrumOptions {
  maxExactDim: number;
  probes: number;
  steps: number;
  traceMatvecs: number;
  seed: number;
  maxBytes: number;
}

function checkSpectrumOptions(
  where: string,
  options: LayerSpectrumOptions,
): CheckedSpectrumOptions {
  const { maxExactDim = 256, probes = 4, steps = 32, traceMatvecs = 30, seed = 0 } = options;
  checkInteger(where, 'maxExactDim', maxExactDim, 0);
  checkInteger(where, 'probes', probes, 1);
  // ‖H‖²_F comes from the Gauss rule's Σ τθ², exact for degree 2 <= 2m − 1: m >= 2.
  checkInteger(where, 'steps', steps, 2);
  checkInteger(where, 'traceMatvecs', traceMatvecs, 3);
  checkSeed(seed, where);
  const maxBytes = checkMaxBytes(where, options.maxBytes);
  return { maxExactDim, probes, steps, traceMatvecs, seed, maxBytes };
}

/**
 * Estimated peak workspace of the spectrum of a block of dimension n, in bytes: exact, the
 * assembled block, its symmetric part and the eigensolver's working copy; stochastic, the SLQ
 * run or the Hutch++ sketch, whichever is larger, plus the atoms of the SLQ rules.
 */
function spectrumBytes(n: number, options: CheckedSpectrumOptions): number {
  const { maxExactDim, probes, steps, traceMatvecs } = options;
  if (n <= maxExactDim) return denseMatrixBytes(n) + float64Bytes(2 * n * n + n);
  return (
    Math.max(
      spectralDensityBytes(n, probes, steps, 2, 'partial'),
      estimateTraceBytes(n, traceMatvecs, 'auto'),
    ) + float64Bytes(2 * probes * Math.min(steps, n))
  );
}

/** What {@link spectrumBytes} counts, for a {@link SizeLimitError}'s message. */
function spectrumWhat(n: number, options: CheckedSpectrumOptions): string {
  return n <= options.maxExactDim
    ? `the exact spectrum of a ${n}×${n} block`
    : `the SLQ and Hutch++ workspaces of a block of dimension ${n}`;
}

/** The spectrum of `op`; `dense` is its assembled matrix when the caller already has it. */
async function spectrumOf(
  op: LinearOperator,
  options: CheckedSpectrumOptions,
  dense?: Float64Array,
): Promise<LayerSpectrum> {
  const n = op.dim;
  const { maxExactDim, probes, steps, traceMatvecs, seed, maxBytes } = options;
  if (n <= maxExactDim) {
    const values = symmetricEigen(
      symmetricPart(dense ?? (await denseMatrix(op, { maxDim: n, maxBytes })), n),
      n,
      { vectors: false },
    ).values;
    const summary = spectralSummary(values);
    const edge = bulkEdge(summary.trace, summary.frobeniusNorm ** 2, n);
    return {
      method: 'exact',
      dim: n,
      lambdaMax: summary.lambdaMax,
      lambdaMin: summary.lambdaMin,
      trace: summary.trace,
      traceStderr: 0,
      tracePerParameter: summary.trace / n,
      frobeniusSq: summary.frobeniusNorm ** 2,
      frobeniusSqStderr: 0,
      ...negativeShares(values, new Float64Array(n).fill(1), summary.lambdaMin, summary.lambdaMax),
      spectralEntropy: summary.spectralEntropy,
      effectiveRank: summary.effectiveRank,
      participationRatio: summary.participationRatio,
      stableRank: summary.stableRank,
      bulkEdge: edge,
      outlierCount: values.filter((x) => x > edge).length,
      matvecs: n,
    };
  }
  const run = await spectralDensity(op, {
    probes,
    steps,
    seed,
    gridSize: 2,
    negativeThreshold: 'resolution',
    reorthogonalize: 'partial',
    maxBytes,
  });
  const trace = await estimateTrace(op, { matvecs: traceMatvecs, seed, maxBytes });
  const summary = spectralSummary(run);
  // Per probe, n·Σ_k τ_k θ_k² = n·q₁ᵀH²q₁ = ‖Hz‖² for the Rademacher z = √n·q₁ (the rule is
  // exact for degree 2): Hutchinson's estimator of ‖H‖²_F, one sample per probe.
  const squares = new SampleMoments(1);
  const values: number[] = [];
  const masses: number[] = [];
  for (let l = 0; l < probes; l++) {
    let sum = 0;
    for (let k = 0; k < run.nodes[l].length; k++) {
      const theta = run.nodes[l][k];
      sum += run.weights[l][k] * theta * theta;
      values.push(theta);
      masses.push((n * run.weights[l][k]) / probes);
    }
    squares.add([n * sum]);
  }
  const frobeniusSq = squares.mean()[0];
  const edge = bulkEdge(trace.estimate, frobeniusSq, n);
  let outliers = 0;
  for (const nodes of run.nodes)
    outliers = Math.max(outliers, nodes.filter((x) => x > edge).length);
  return {
    method: 'stochastic',
    dim: n,
    lambdaMax: run.lambdaMax,
    lambdaMin: run.lambdaMin,
    trace: trace.estimate,
    traceStderr: trace.stderr,
    tracePerParameter: trace.estimate / n,
    frobeniusSq,
    frobeniusSqStderr: squares.standardError()[0],
    negativeFraction: run.negativeFraction,
    negativeTraceMass: negativeShares(values, masses, run.lambdaMin, run.lambdaMax)
      .negativeTraceMass,
    spectralEntropy: summary.spectralEntropy,
    effectiveRank: summary.effectiveRank,
    participationRatio: summary.participationRatio,
    stableRank: summary.stableRank,
    bulkEdge: edge,
    outlierCount: outliers,
    matvecs: run.matvecs + trace.matvecs,
  };
}

/** m + 3s of the eigenvalue distribution with Σλ = `trace`, Σλ² = `frobeniusSq`. */
function bulkEdge(trace: number, frobeniusSq: number, n: number): number {
  const mean = trace / n;
  return mean + BULK_EDGE_SDS * Math.sqrt(Math.max(0, frobeniusSq / n - mean * mean));
}

/**
 * Negative fraction and negative share of Σ|λ| of atoms λ with masses (counts) summing to n,
 * counting below −σ_G over [lambdaMin, lambdaMax].
 */
function negativeShares(
  values: ArrayLike<number>,
  masses: ArrayLike<number>,
  lambdaMin: number,
  lambdaMax: number,
): { negativeFraction: number; negativeTraceMass: number } {
  const delta = densityResolution(lambdaMin, lambdaMax);
  let total = 0;
  let count = 0;
  let absolute = 0;
  let negativeAbsolute = 0;
  for (let i = 0; i < values.length; i++) {
    total += masses[i];
    absolute += masses[i] * Math.abs(values[i]);
    if (values[i] < -delta) {
      count += masses[i];
      negativeAbsolute -= masses[i] * values[i];
    }
  }
  return {
    negativeFraction: count / total,
    negativeTraceMass: absolute === 0 ? 0 : negativeAbsolute / absolute,
  };
}

/** Options of {@link gaussNewtonGap}. */
export interface GaussNewtonGapOptions {
  /** Largest dimension assembled densely (both matrices), an integer >= 0 (default 256). */
  maxExactDim?: number;
  /** Stochastic route: Rademacher probes, an integer >= 1 (default 8; >= 2 for a stderr). */
  probes?: number;
  /** Seed of the probes, a safe integer (default 0). */
  seed?: number;
  /**
   * Largest workspace in bytes (default {@link WORKSPACE_MAX_BYTES}, 4 GiB; `Infinity`: no
   * limit): exact, both assembled matrices (2·dim² numbers); stochastic, 4 vectors of length dim.
   */
  maxBytes?: number;
}

/** The Gauss–Newton gap of one block or of the whole matrix: {@link gaussNewtonGap}. */
export interface GaussNewtonGap {
  /** ‖H − G‖_F / ‖G‖_F, >= 0 (NaN when H = G = 0, Infinity when only G = 0). */
  ratio: number;
  /** Standard error of `ratio` by the delta method (0 when exact; NaN with a single probe). */
  stderr: number;
  /** ‖H − G‖²_F = ‖E‖²_F (stochastic: unbiased estimate). */
  errorFrobeniusSq: number;
  /** ‖G‖²_F (stochastic: unbiased estimate). */
  ggnFrobeniusSq: number;
  /** `'exact'` (dense assembly) or `'stochastic'` (Hutchinson). */
  method: LayerSpectrumMethod;
  /**
   * Products spent, of H and G together: 2·dim (exact), 2·probes (stochastic). In
   * {@link layerSpectra} an exact layer's gap counts only G's products (dim), H's block being
   * the spectrum's, and on its all-exact route the overall gap counts 0 (read from the matrices
   * already assembled).
   */
  matvecs: number;
}

const GAP = 'gaussNewtonGap';

/**
 * The Gauss–Newton gap ‖E‖_F/‖G‖_F = ‖H − G‖_F/‖G‖_F of a Hessian H and its generalised
 * Gauss–Newton matrix G (docs/methods.md notation: H = G + E, E the residual term, zero for the
 * last layer's block and wherever the softmax is one-hot); a measure the authors of
 * Bolshim & Kugaevskikh 2025 (arXiv 2510.17486) add in later work. Pass the full operators,
 * or one block of each from {@link restrictOperator}.
 *
 * - exact when `dim <= maxExactDim`: both matrices assembled (`dim` products each).
 * - stochastic above: for Rademacher z (E zzᵀ = I), E‖(H − G)z‖² = ‖H − G‖²_F and
 *   E‖Gz‖² = ‖G‖²_F, one product of each per probe; the ratio of the means is consistent, with
 *   a delta-method standard error from the probes' sample covariance:
 *   Var(r) ≈ (Var ē − 2r²Cov(ē, ḡ) + r⁴Var ḡ)/(4r²ḡ²) for r² = ē/ḡ.
 *
 * @throws {@link @hessian-probe/core!index.DimensionError | DimensionError} when the operators'
 *   dimensions differ; {@link @hessian-probe/core!index.OptionError | OptionError} for a bad option
 *   or an operand that is not a {@link LinearOperator}; {@link SizeLimitError} when the workspace
 *   exceeds `maxBytes`; {@link @hessian-probe/core!index.MatvecError | MatvecError} when a product
 *   is unusable.
 *
 * @example
 * ```ts
 * const { operator: h } = modelCurvature(model, { tf, x, y });
 * const { operator: g } = modelCurvature(model, { tf, x, y, kind: 'ggn' });
 * const { ratio, stderr } = await gaussNewtonGap(h, g, { probes: 16, seed: 1 });
 * ```
 */
export async function gaussNewtonGap(
  hessian: LinearOperator,
  ggn: LinearOperator,
  options: GaussNewtonGapOptions = {},
): Promise<GaussNewtonGap> {
  const checked = checkGapOptions(GAP, checkOptions(GAP, options));
  checkOperator(GAP, hessian, 'hessian');
  checkOperator(GAP, ggn, 'ggn');
  if (ggn.dim !== hessian.dim) {
    throw new DimensionError(
      `${GAP}: expected the GGN of dimension ${hessian.dim} (the Hessian's), got ${ggn.dim}`,
    );
  }
  checkWorkspace(
    GAP,
    gapBytes(hessian.dim, checked),
    checked.maxBytes,
    hessian.dim <= checked.maxExactDim
      ? `two ${hessian.dim}×${hessian.dim} matrices`
      : `4 vectors of length ${hessian.dim}`,
    'lower maxExactDim',
  );
  return gapOf(hessian, ggn, checked);
}

interface CheckedGapOptions {
  maxExactDim: number;
  probes: number;
  seed: number;
  maxBytes: number;
}

function checkGapOptions(where: string, options: GaussNewtonGapOptions): CheckedGapOptions {
  const { maxExactDim = 256, probes = 8, seed = 0 } = options;
  checkInteger(where, 'maxExactDim', maxExactDim, 0);
  checkInteger(where, 'probes', probes, 1);
  checkSeed(seed, where);
  return { maxExactDim, probes, seed, maxBytes: checkMaxBytes(where, options.maxBytes) };
}

/**
 * Workspace of the gap of two operators of dimension n, in bytes: exact, both assembled
 * matrices; stochastic, the probe, both products and the operator's copy, and the samples.
 */
function gapBytes(n: number, options: CheckedGapOptions): number {
  return n <= options.maxExactDim
    ? 2 * denseMatrixBytes(n)
    : float64Bytes(4 * n + 4 * options.probes);
}

/** The gap of H and G; `dense` is H's assembled matrix when the caller already has it. */
async function gapOf(
  hessian: LinearOperator,
  ggn: LinearOperator,
  options: CheckedGapOptions,
  dense?: Float64Array,
): Promise<GaussNewtonGap> {
  const n = hessian.dim;
  const { maxExactDim, probes, seed, maxBytes } = options;
  if (n <= maxExactDim) {
    const h = dense ?? (await denseMatrix(hessian, { maxDim: n, maxBytes }));
    const g = await denseMatrix(ggn, { maxDim: n, maxBytes });
    return denseGap(h, g, dense === undefined ? 2 * n : n);
  }
  const rng = createRandom(seed);
  const errors = new Float64Array(probes);
  const references = new Float64Array(probes);
  for (let k = 0; k < probes; k++) {
    const z = rng.rademacherVector(n);
    const hz = await checkedMatvec(hessian, z, GAP, k);
    const gz = await checkedMatvec(ggn, z, GAP, k);
    for (let i = 0; i < n; i++) {
      errors[k] += (hz[i] - gz[i]) ** 2;
      references[k] += gz[i] ** 2;
    }
  }
  const { ratio, stderr, numerator, denominator } = sqrtRatioOfMeans(errors, references);
  return {
    ratio,
    stderr,
    errorFrobeniusSq: numerator,
    ggnFrobeniusSq: denominator,
    method: 'stochastic',
    matvecs: 2 * probes,
  };
}

/** The exact gap of the assembled matrices `h` and `g`, charged `matvecs` products. */
function denseGap(h: Float64Array, g: Float64Array, matvecs: number): GaussNewtonGap {
  let error = 0;
  let reference = 0;
  for (let i = 0; i < h.length; i++) {
    error += (h[i] - g[i]) ** 2;
    reference += g[i] ** 2;
  }
  return {
    ratio: Math.sqrt(error / reference),
    stderr: 0,
    errorFrobeniusSq: error,
    ggnFrobeniusSq: reference,
    method: 'exact',
    matvecs,
  };
}

/** Options of {@link layerCoupling}. */
export interface LayerCouplingOptions {
  /** Largest operator dimension assembled densely, an integer >= 0 (default 256). */
  maxExactDim?: number;
  /** Stochastic route: Gaussian probes per layer, an integer >= 1 (default 4). */
  probes?: number;
  /** Seed of the probes, a safe integer (default 0). */
  seed?: number;
  /**
   * Largest workspace in bytes (default {@link WORKSPACE_MAX_BYTES}, 4 GiB; `Infinity`: no
   * limit): exact, the assembled dim² matrix; stochastic, that of `blockNorms`; plus a few
   * layers × layers tables.
   */
  maxBytes?: number;
}

/** Squared block norms between layers and the normalised coupling: {@link layerCoupling}. */
export interface LayerCoupling {
  /** Layer names, the row and column labels. */
  names: string[];
  /**
   * `frobeniusSq[v][w]` = F²_vw = ‖H_vw‖²_F, symmetric. Stochastic: the mean of the two
   * independent unbiased estimates of {@link blockNorms} (its [v][w] and [w][v]).
   */
  frobeniusSq: number[][];
  /** Standard errors of `frobeniusSq` (0 when exact; NaN with a single probe). */
  stderr: number[][];
  /**
   * F_vw / √(F_vv F_ww) ({@link blockRatios}), 1 on the diagonal; 0 for uncoupled layers. From
   * estimates it takes square roots, so it is biased low (less as probes grow).
   */
  normalized: number[][];
  /** `'exact'` (dense assembly, `dim` products) or `'stochastic'` (`probes × layers`). */
  method: LayerSpectrumMethod;
  /** Products spent (0 when {@link layerSpectra} read it from the matrix it had assembled). */
  matvecs: number;
}

const COUPLING = 'layerCoupling';

/**
 * The coupling between the layers of a layout, F_vw/√(F_vv F_ww) with F_vw = ‖H_vw‖_F
 * (docs/methods.md D; Bolshim & Kugaevskikh 2025, arXiv 2510.17486): how far the layer-wise view of
 * {@link layerSpectrum} leaves out the cross-layer blocks. Exact ({@link exactBlockNorms} of the
 * dense operator) when `op.dim <= maxExactDim`, else block probing ({@link blockNorms}).
 *
 * @throws {@link @hessian-probe/core!index.DimensionError | DimensionError} or
 *   {@link @hessian-probe/core!index.LayoutError | LayoutError} for a layout that does not tile
 *   `op.dim`; {@link @hessian-probe/core!index.OptionError | OptionError} for a bad option or an
 *   `op` that is not a {@link LinearOperator}; {@link SizeLimitError} when the workspace exceeds
 *   `maxBytes`; {@link @hessian-probe/core!index.MatvecError | MatvecError} from a product.
 *
 * @example
 * ```ts
 * const { names, normalized } = await layerCoupling(operator, modelLayout(model, 'layer').layout);
 * ```
 */
export async function layerCoupling(
  op: LinearOperator,
  layout: ParameterLayout,
  options: LayerCouplingOptions = {},
): Promise<LayerCoupling> {
  const checked = checkCouplingOptions(COUPLING, checkOptions(COUPLING, options));
  checkOperator(COUPLING, op);
  checkLayout(COUPLING, layout, op.dim);
  checkWorkspace(
    COUPLING,
    couplingBytes(op.dim, layout.blocks.length, checked),
    checked.maxBytes,
    op.dim <= checked.maxExactDim
      ? `a ${op.dim}×${op.dim} matrix`
      : `the block norms of ${layout.blocks.length} layers over dimension ${op.dim}`,
    'lower maxExactDim or use fewer layers',
  );
  return couplingOf(op, layout, checked);
}

interface CheckedCouplingOptions {
  maxExactDim: number;
  probes: number;
  seed: number;
  maxBytes: number;
}

function checkCouplingOptions(
  where: string,
  options: LayerCouplingOptions,
): CheckedCouplingOptions {
  const { maxExactDim = 256, probes = 4, seed = 0 } = options;
  checkInteger(where, 'maxExactDim', maxExactDim, 0);
  checkInteger(where, 'probes', probes, 1);
  checkSeed(seed, where);
  return { maxExactDim, probes, seed, maxBytes: checkMaxBytes(where, options.maxBytes) };
}

/**
 * Workspace of the coupling of `layers` layers over dimension n, in bytes: the assembled
 * matrix (exact) or {@link blockNormsBytes} (stochastic), plus five layers × layers tables and
 * the exact route's block index.
 */
function couplingBytes(n: number, layers: number, options: CheckedCouplingOptions): number {
  const tables = float64Bytes(5 * layers * layers);
  return n <= options.maxExactDim
    ? denseMatrixBytes(n) + tables + float64Bytes(n / 2)
    : blockNormsBytes(n, layers, options.probes) + tables;
}

async function couplingOf(
  op: LinearOperator,
  layout: ParameterLayout,
  options: CheckedCouplingOptions,
): Promise<LayerCoupling> {
  const n = op.dim;
  const count = layout.blocks.length;
  const { maxBytes } = options;
  if (n <= options.maxExactDim) {
    return denseCoupling(await denseMatrix(op, { maxDim: n, maxBytes }), layout, n);
  }
  const run = await blockNorms(op, layout, {
    probes: options.probes,
    seed: options.seed,
    maxBytes,
  });
  const frobeniusSq = symmetrizeNorms(run.frobeniusSq);
  const stderr = Array.from({ length: count }, (_, v) =>
    Array.from({ length: count }, (_, w) =>
      v === w ? run.stderr[v][v] : Math.hypot(run.stderr[v][w], run.stderr[w][v]) / 2,
    ),
  );
  return {
    names: run.names,
    frobeniusSq,
    stderr,
    normalized: blockRatios(frobeniusSq).normalizedCoupling,
    method: 'stochastic',
    matvecs: run.matvecs,
  };
}

/** The exact coupling of the assembled matrix `a` (dimension `layout.dim`), charged `matvecs`. */
function denseCoupling(a: Float64Array, layout: ParameterLayout, matvecs: number): LayerCoupling {
  const exact = exactBlockNorms(a, layout.dim, layout);
  // Float32 products are symmetric only up to rounding; average the two mirror blocks.
  const frobeniusSq = symmetrizeNorms(exact.frobeniusSq);
  return {
    names: exact.names,
    frobeniusSq,
    stderr: frobeniusSq.map((row) => row.map(() => 0)),
    normalized: blockRatios(frobeniusSq).normalizedCoupling,
    method: 'exact',
    matvecs,
  };
}

function symmetrizeNorms(a: readonly (readonly number[])[]): number[][] {
  return a.map((row, v) => row.map((x, w) => 0.5 * (x + a[w][v])));
}

/** Options of {@link layerSpectra}. */
export interface LayerSpectraOptions extends LayerSpectrumOptions {
  /**
   * The Gauss–Newton operator G over the same coordinates: when given, each layer gets its
   * {@link gaussNewtonGap} (H_ll vs G_ll) and the result the overall gap (H vs G), exact up to
   * `maxExactDim`, else with `gapProbes` probes (2 products each, one of H and one of G).
   */
  ggn?: LinearOperator;
  /** Probes of each stochastic Gauss–Newton gap, an integer >= 1 (default 8). */
  gapProbes?: number;
  /**
   * Probes per layer for the coupling, an integer >= 1; the coupling is computed only when
   * this is given (exact when the operator's dimension is at most `maxExactDim`).
   */
  couplingProbes?: number;
}

/** One layer of {@link layerSpectra}. */
export interface NamedLayerSpectrum extends LayerSpectrum {
  /** The layer's block name. */
  name: string;
  /** ‖H_ll − G_ll‖_F/‖G_ll‖_F, when a GGN operator was given. */
  gaussNewtonGap?: GaussNewtonGap;
}

/** Result of {@link layerSpectra}. */
export interface LayerSpectraResult {
  /** One entry per block of the layout, in layout order. */
  layers: NamedLayerSpectrum[];
  /** Coupling between the layers, when `couplingProbes` was given. */
  coupling?: LayerCoupling;
  /** ‖H − G‖_F/‖G‖_F of the whole matrices, when a GGN operator was given. */
  gaussNewtonGap?: GaussNewtonGap;
  /** Products spent, of the Hessian and the GGN together. */
  matvecs: number;
}

const SPECTRA = 'layerSpectra';

/**
 * {@link layerSpectrum} of every block of `layout` (each through {@link restrictOperator}), and
 * optionally the {@link layerCoupling} between them and the {@link gaussNewtonGap} per layer
 * and overall (docs/methods.md D; Bolshim & Kugaevskikh 2025, arXiv 2510.17486). Each layer's
 * estimators draw from a seed of their own, derived from `seed` and the layer's name
 * ({@link layerSeed}): independent probes for different layers, and numbers that do not depend
 * on which other layers are present; the coupling and the overall gap use `seed` itself.
 *
 * Per-layer traces add up to the full trace, tr H = Σ_l tr H_ll: exactly in the exact route,
 * within √(Σ_l traceStderr²) in the stochastic one.
 *
 * Cost, in products, when P = `op.dim` <= `maxExactDim` (every metric exact): P, and P more
 * with a GGN. H and G are each assembled once; every layer's block (sliced from H, then
 * symmetrised) and gap, the overall gap and the coupling are read from these two matrices, and
 * the products are charged by columns (layer l: P_l to its spectrum and P_l to its gap; the
 * overall gap and the coupling: 0). Otherwise: Σ_l (P_l if exact, else probes·min(steps, P_l)
 * + traceMatvecs); with a GGN, Σ_l (P_l if exact: G's block only, H's is assembled once for
 * both; else 2·gapProbes) + 2·gapProbes; with the coupling, couplingProbes × layers. The
 * operators, all options, the layout and the workspace of every layer (`maxBytes`, checked
 * against the largest of: the all-exact route's two matrices, each layer's spectrum and gap,
 * the overall gap and the coupling) are checked first.
 *
 * @throws {@link OptionError}, {@link DimensionError}, {@link LayoutError} or
 *   {@link SizeLimitError} before any product; {@link MatvecError} from a product.
 *
 * @example
 * ```ts
 * const { operator: h } = modelCurvature(model, { tf, x, y });
 * const { operator: g } = modelCurvature(model, { tf, x, y, kind: 'ggn' });
 * const { layout } = modelLayout(model, 'layer');
 * const result = await layerSpectra(h, layout, { ggn: g, couplingProbes: 4, seed: 1 });
 * for (const l of result.layers) console.log(l.name, l.lambdaMax, l.gaussNewtonGap?.ratio);
 * ```
 */
export async function layerSpectra(
  op: LinearOperator,
  layout: ParameterLayout,
  options: LayerSpectraOptions = {},
): Promise<LayerSpectraResult> {
  const spectrumOptions = checkSpectrumOptions(SPECTRA, checkOptions(SPECTRA, options));
  const { ggn, gapProbes = 8, couplingProbes } = options;
  checkOperator(SPECTRA, op);
  checkLayout(SPECTRA, layout, op.dim);
  checkInteger(SPECTRA, 'gapProbes', gapProbes, 1);
  if (couplingProbes !== undefined) checkInteger(SPECTRA, 'couplingProbes', couplingProbes, 1);
  if (ggn !== undefined) {
    checkOperator(SPECTRA, ggn, 'ggn');
    if (ggn.dim !== op.dim) {
      throw new DimensionError(
        `${SPECTRA}: expected ggn of dimension ${op.dim} (the operator's), got ${ggn.dim}`,
      );
    }
  }
  checkWorkspace(
    SPECTRA,
    spectraBytes(op.dim, layout, spectrumOptions, gapProbes, ggn !== undefined, couplingProbes),
    spectrumOptions.maxBytes,
    `the largest of the layers' spectra, the gaps and the coupling over dimension ${op.dim}`,
    'lower maxExactDim, probes, steps or traceMatvecs',
  );
  let matvecs = 0;
  const counted = (inner: LinearOperator): LinearOperator => ({
    dim: inner.dim,
    ...(inner.precision === undefined ? {} : { precision: inner.precision }),
    matvec(v) {
      matvecs++;
      return inner.matvec(v);
    },
  });
  const h = counted(op);
  const g = ggn === undefined ? undefined : counted(ggn);
  const { maxExactDim, seed, maxBytes } = spectrumOptions;
  const n = op.dim;
  if (n <= maxExactDim) {
    // All exact: H and G are assembled once each and every metric is read from them, with the
    // products charged by columns (each layer its own; the overall gap and the coupling 0).
    const hessian = await denseMatrix(h, { maxDim: n, maxBytes });
    const gauss = g === undefined ? undefined : await denseMatrix(g, { maxDim: n, maxBytes });
    const layers: NamedLayerSpectrum[] = [];
    for (const block of layout.blocks) {
      const local = diagonalBlock(hessian, n, block);
      const options = { ...spectrumOptions, seed: layerSeed(seed, block.name) };
      const spectrum = await spectrumOf(restrictOperator(h, layout, block.name), options, local);
      layers.push({
        name: block.name,
        ...spectrum,
        ...(gauss === undefined
          ? {}
          : { gaussNewtonGap: denseGap(local, diagonalBlock(gauss, n, block), block.size) }),
      });
    }
    const result: LayerSpectraResult = { layers, matvecs };
    if (gauss !== undefined) result.gaussNewtonGap = denseGap(hessian, gauss, 0);
    if (couplingProbes !== undefined) result.coupling = denseCoupling(hessian, layout, 0);
    return result;
  }
  const gapOptions = { maxExactDim, probes: gapProbes, seed, maxBytes };
  const layers: NamedLayerSpectrum[] = [];
  for (const block of layout.blocks) {
    const local = restrictOperator(h, layout, block.name);
    // An exact block is assembled once, for its spectrum and its gap.
    const dense =
      block.size <= maxExactDim
        ? await denseMatrix(local, { maxDim: block.size, maxBytes })
        : undefined;
    const own = layerSeed(seed, block.name);
    const spectrum = await spectrumOf(local, { ...spectrumOptions, seed: own }, dense);
    const gap =
      g === undefined
        ? undefined
        : await gapOf(
            local,
            restrictOperator(g, layout, block.name),
            { ...gapOptions, seed: own },
            dense,
          );
    layers.push({
      name: block.name,
      ...spectrum,
      ...(gap === undefined ? {} : { gaussNewtonGap: gap }),
    });
  }
  const result: LayerSpectraResult = { layers, matvecs: 0 };
  if (g !== undefined) result.gaussNewtonGap = await gapOf(h, g, gapOptions);
  if (couplingProbes !== undefined) {
    result.coupling = await couplingOf(h, layout, {
      maxExactDim,
      probes: couplingProbes,
      seed,
      maxBytes,
    });
  }
  result.matvecs = matvecs;
  return result;
}

/** The diagonal block of the row-major n×n `a` on `block`'s coordinates, row-major. */
function diagonalBlock(a: Float64Array, n: number, block: LayoutBlock): Float64Array {
  const { offset, size } = block;
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++)
    out.set(a.subarray((offset + i) * n + offset, (offset + i) * n + offset + size), i * size);
  return out;
}

/**
 * The seed of one layer in {@link layerSpectra}: `seed` shifted by a 32-bit FNV-1a hash of the
 * layer's name, a safe integer.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when `seed` is not a safe
 *   integer or `name` not a string.
 *
 * @example
 * ```ts
 * layerSeed(0, 'dense_1') !== layerSeed(0, 'dense_2'); // true
 * ```
 */
export function layerSeed(seed: number, name: string): number {
  checkSeed(seed, 'layerSeed');
  checkString('layerSeed', 'name', name);
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (seed + hash * 0x100001) % Number.MAX_SAFE_INTEGER;
}

/**
 * Estimated peak workspace of {@link layerSpectra} in bytes. All exact (dim <= maxExactDim): H
 * and G assembled, plus one layer's diagonal blocks and eigensolver copy (4·P_l² numbers) and
 * the coupling's tables. Otherwise the largest of: one layer's assembled block (when exact),
 * spectrum and gap, plus the two full-length vectors of each restricted product; the overall
 * gap; the coupling.
 */
function spectraBytes(
  n: number,
  layout: ParameterLayout,
  spectrum: CheckedSpectrumOptions,
  gapProbes: number,
  withGgn: boolean,
  couplingProbes: number | undefined,
): number {
  const { maxExactDim, maxBytes } = spectrum;
  const layers = layout.blocks.length;
  const largest = layout.blocks.reduce((most, b) => Math.max(most, b.size), 0);
  if (n <= maxExactDim) {
    return (
      (withGgn ? 2 : 1) * denseMatrixBytes(n) +
      float64Bytes(4 * largest * largest + n + 5 * layers * layers)
    );
  }
  const gap: CheckedGapOptions = { maxExactDim, probes: gapProbes, seed: 0, maxBytes };
  const perLayer = layout.blocks.reduce(
    (most, b) =>
      Math.max(
        most,
        (b.size <= maxExactDim ? float64Bytes(b.size * b.size) : 0) +
          spectrumBytes(b.size, spectrum) +
          (withGgn ? gapBytes(b.size, gap) : 0) +
          float64Bytes(2 * n),
      ),
    0,
  );
  const coupling =
    couplingProbes === undefined
      ? 0
      : couplingBytes(n, layers, { maxExactDim, probes: couplingProbes, seed: 0, maxBytes });
  return Math.max(perLayer, withGgn ? gapBytes(n, gap) : 0, coupling);
}
