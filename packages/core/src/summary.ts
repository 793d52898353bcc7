import { flattenQuadrature, ritzZeroTolerance, type SpectralQuadrature } from './density.js';
import { OptionError } from './errors.js';
import { checkInteger, show } from './options.js';

/**
 * Quadrature rules together with the dimension n of the operator they describe, as returned by
 * {@link @hessian-probe/core!index.spectralDensity | spectralDensity}: each rule's weights stand
 * for a share of the n eigenvalues.
 */
export interface SpectralQuadratureInput extends SpectralQuadrature {
  /** Dimension n of the operator, an integer >= 1 (the number of eigenvalues). */
  readonly dim: number;
  /**
   * Relative accuracy of the operator's products (default 2^-53), which widens the band of
   * numerically zero Ritz values (see {@link ritzZeroTolerance}); `spectralDensity` sets it.
   */
  readonly precision?: number;
}

/**
 * Summary statistics of a spectrum {λ_i}, i = 1..n (the layer-wise Hessian metrics of Bolshim &
 * Kugaevskikh 2025, "Local properties of neural networks through the lens of layer-wise
 * Hessians", arXiv 2510.17486; the set is the natural one, the paper's exact list was not
 * available). All values in eigenvalue units unless stated.
 */
export interface SpectralSummary {
  /** Number n of eigenvalues (the operator's dimension). */
  dim: number;
  /** Largest eigenvalue. */
  lambdaMax: number;
  /** Smallest eigenvalue. */
  lambdaMin: number;
  /** tr H = Σ λ_i. */
  trace: number;
  /** ‖H‖_F = √(Σ λ_i²). */
  frobeniusNorm: number;
  /** Nuclear (trace) norm ‖H‖_* = Σ |λ_i|. */
  nuclearNorm: number;
  /**
   * Fraction of eigenvalues below zero, #{λ_i < −δ}/n, in [0, 1]: eigenvalues within δ of 0
   * are numerically zero and not counted (see {@link spectralSummary} for δ), so a positive
   * semidefinite matrix has negative mass exactly 0 even when rounding makes some of its zero
   * eigenvalues come out at −1e-16.
   */
  negativeFraction: number;
  /**
   * Share of the absolute spectral mass carried by negative eigenvalues,
   * Σ_{λ_i<−δ} |λ_i| / Σ |λ_i| (δ as for `negativeFraction`), in [0, 1]; 0 when every eigenvalue
   * is 0.
   */
  negativeTraceMass: number;
  /**
   * Entropy H = −Σ p_i ln p_i (natural logarithm, in nats) of the normalised magnitudes
   * p_i = |λ_i|/Σ|λ_j| (terms with p_i = 0 contribute 0); in [0, ln n]. 0 when every
   * eigenvalue is 0.
   */
  spectralEntropy: number;
  /**
   * exp(spectralEntropy), in [1, n]: the number of equally large eigenvalues with the same
   * entropy (Roy & Vetterli 2007, "The effective rank"). 0 when every eigenvalue is 0, the rank
   * of the zero matrix (so here, and only here, it is not exp(entropy) = 1).
   */
  effectiveRank: number;
  /**
   * max|λ_i| / min{|λ_i| : λ_i ≠ 0}, >= 1: the spectral condition number of H restricted to
   * the complement of its null space. Only exact zeros are excluded, so eigenvalues that are
   * zero up to rounding (1e-16·‖H‖) make it huge; threshold them first if that is not wanted.
   * NaN when every eigenvalue is 0.
   */
  conditionEstimate: number;
  /** (Σ|λ_i|)² / Σλ_i², in [1, n]; 0 when every eigenvalue is 0. */
  participationRatio: number;
  /** Stable rank ‖H‖²_F / ‖H‖²_2 = Σλ_i² / max|λ_i|², in [1, n]; 0 when every eigenvalue is 0. */
  stableRank: number;
}

const WHERE = 'spectralSummary';

/**
 * Summary statistics of a spectrum, from either its eigenvalues (exact) or the quadrature
 * rules of {@link spectralDensity} (estimates).
 *
 * - **Eigenvalues** (`Float64Array` or `number[]`, any order): every field is exact up to
 *   rounding. Eigenvalues of magnitude at most δ = n·ε·max|λ| (ε = 2^-52) count as zero for
 *   `negativeFraction` and `negativeTraceMass`: a dense symmetric eigensolver is backward stable,
 *   its eigenvalues are exact for A + E with ‖E‖ <= p(n)·ε·‖A‖, p(n) of order n (Golub & Van
 *   Loan §8.3; `symmetricEigen` and LAPACK alike), so the sign of a smaller one is rounding.
 * - **Quadrature rules** `{ nodes, weights, dim }`: the rules define the measure
 *   Σ_l Σ_k (n·τ_k^(l)/Σ_all τ) δ_{θ_k^(l)} of total mass n, which stands for the n eigenvalues
 *   (masses n·τ/n_v when each rule's weights sum to 1, as Gauss weights do), and every statistic is
 *   computed from it: a spectral sum Σ_i f(λ_i) becomes n·(1/n_v) Σ_l Σ_k τ f(θ), the stochastic
 *   Lanczos quadrature estimate of tr f(H) (Ubaru, Chen & Saad 2017). All fields are then
 *   estimates. Nodes within δ_l = m_l·ε·max|θ| of 0 (m_l nodes in rule l) count as zero
 *   for the negative fields, as in {@link spectralDensity} with its default
 *   `negativeThreshold: 'rounding'` (see {@link ritzZeroTolerance}); a run with `'resolution'`
 *   reports a different `negativeFraction` than this summary of its rules (see `negativeCutoff`).
 *   `trace` and `frobeniusNorm`² are Hutchinson's unbiased estimators (the rule integrates
 *   polynomials of degree <= 2m − 1 exactly); `nuclearNorm` and `negativeFraction` add a
 *   quadrature error to the sampling error; the ratios (`participationRatio`,
 *   `spectralEntropy`, `effectiveRank`, `negativeTraceMass`, `stableRank`) are plug-in
 *   estimates, consistent but biased at O(1/n_v). `lambdaMax` and `lambdaMin` are the extreme
 *   Ritz values (inner bounds of the true ones), and `conditionEstimate` uses the Ritz value
 *   of smallest magnitude, a crude stand-in for the smallest |λ| when the spectrum has a bulk
 *   near zero.
 *
 * @throws {@link OptionError} for an input that is neither eigenvalues nor rules, an empty or
 *   non-finite spectrum, invalid rules, a `dim` that is not an integer >= 1 or a `precision`
 *   outside [0, 1); {@link DimensionError} when nodes and weights do not pair up.
 *
 * @example
 * ```ts
 * spectralSummary(Float64Array.of(3, 1, 0, -1));
 * // { trace: 3, negativeFraction: 0.25, participationRatio: 25 / 11, conditionEstimate: 3, … }
 * const estimated = spectralSummary(await spectralDensity(operator)); // uses its nodes and dim
 * ```
 */
export function spectralSummary(
  input: ArrayLike<number> | SpectralQuadratureInput,
): SpectralSummary {
  const {
    values,
    masses,
    dim,
    zero: zeroTolerance,
  } = isQuadrature(input) ? quadratureAtoms(input) : eigenvalueAtoms(input);
  let lambdaMin = Number.POSITIVE_INFINITY;
  let lambdaMax = Number.NEGATIVE_INFINITY;
  let maxAbs = 0;
  let minAbs = Number.POSITIVE_INFINITY;
  let trace = 0;
  let squares = 0;
  let absolute = 0;
  let negativeAbsolute = 0;
  let negative = 0;
  for (let i = 0; i < values.length; i++) {
    const lambda = values[i];
    const mass = masses[i];
    const magnitude = Math.abs(lambda);
    lambdaMin = Math.min(lambdaMin, lambda);
    lambdaMax = Math.max(lambdaMax, lambda);
    maxAbs = Math.max(maxAbs, magnitude);
    if (magnitude > 0) minAbs = Math.min(minAbs, magnitude);
    trace += mass * lambda;
    squares += mass * lambda * lambda;
    absolute += mass * magnitude;
    if (lambda < -zeroTolerance[i]) {
      negative += mass;
      negativeAbsolute += mass * magnitude;
    }
  }
  let entropy = 0;
  if (absolute > 0) {
    for (let i = 0; i < values.length; i++) {
      const p = Math.abs(values[i]) / absolute;
      if (p > 0) entropy -= masses[i] * p * Math.log(p);
    }
  }
  const zero = absolute === 0;
  return {
    dim,
    lambdaMax,
    lambdaMin,
    trace,
    frobeniusNorm: Math.sqrt(squares),
    nuclearNorm: absolute,
    negativeFraction: negative / dim,
    negativeTraceMass: zero ? 0 : negativeAbsolute / absolute,
    spectralEntropy: entropy,
    effectiveRank: zero ? 0 : Math.exp(entropy),
    conditionEstimate: zero ? Number.NaN : maxAbs / minAbs,
    participationRatio: zero ? 0 : (absolute * absolute) / squares,
    stableRank: zero ? 0 : squares / (maxAbs * maxAbs),
  };
}

function isQuadrature(
  input: ArrayLike<number> | SpectralQuadratureInput,
): input is SpectralQuadratureInput {
  if (!(Array.isArray(input) || (ArrayBuffer.isView(input) && !(input instanceof DataView)))) {
    if (typeof input !== 'object' || input === null || !('nodes' in input)) {
      throw new OptionError(
        `${WHERE}: expected eigenvalues (an array or Float64Array) or quadrature rules { nodes, weights, dim }, got ${show(input)}`,
      );
    }
    return true;
  }
  return false;
}

interface Atoms {
  values: ArrayLike<number>;
  masses: ArrayLike<number>;
  dim: number;
  /** Per atom: values in [−zero, zero] are numerically zero. */
  zero: ArrayLike<number>;
}

/** Unit roundoff of float64 arithmetic, 2^-52. */
const EPS = 2 ** -52;

function eigenvalueAtoms(values: ArrayLike<number>): Atoms {
  if (values.length === 0) {
    throw new OptionError(`${WHERE}: expected at least one eigenvalue, got 0`);
  }
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new OptionError(
        `${WHERE}: expected finite eigenvalues, got ${values[i]} at index ${i}`,
      );
    }
  }
  const n = values.length;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]));
  const zero = new Float64Array(n).fill(n * EPS * maxAbs);
  return { values, masses: new Float64Array(n).fill(1), dim: n, zero };
}

function quadratureAtoms(input: SpectralQuadratureInput): Atoms {
  const { values, weights } = flattenQuadrature(WHERE, input);
  checkInteger(WHERE, 'dim', input.dim, 1);
  const { precision } = input;
  if (
    precision !== undefined &&
    !(typeof precision === 'number' && precision >= 0 && precision < 1)
  ) {
    throw new OptionError(
      `${WHERE}: expected precision to be a number in [0, 1) or absent, got ${show(precision)}`,
    );
  }
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i];
  const masses = weights.map((w) => (input.dim * w) / total);
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]));
  const zero = new Float64Array(values.length);
  let offset = 0;
  for (const rule of input.nodes) {
    zero.fill(
      ritzZeroTolerance(rule.length, maxAbs, input.precision),
      offset,
      offset + rule.length,
    );
    offset += rule.length;
  }
  return { values, masses, dim: input.dim, zero };
}
