import { OptionError, type SizeLimitError } from './errors.js';
import { SampleMoments } from './moments.js';
import { checkedMatvec, checkOperator, type LinearOperator } from './operator.js';
import { checkInteger, checkOneOf, checkOptions, checkPositive } from './options.js';
import { checkSeed, createRandom, type Random } from './random.js';
import { dot, norm, projectOut, scaleInPlace } from './vector.js';
import {
  checkMaxBytes,
  checkWorkspace,
  float64Bytes,
  type WORKSPACE_MAX_BYTES,
} from './workspace.js';

/**
 * The trace estimators of {@link estimateTrace}: `'auto'` chooses between the two others from
 * what its first probes show.
 */
export type TraceMethod = 'auto' | 'hutch++' | 'hutchinson';

const TRACE_METHODS: readonly TraceMethod[] = ['auto', 'hutch++', 'hutchinson'];

/** Options of {@link estimateTrace}: a budget (`matvecs`) or a precision (`relativeStderr`). */
export interface EstimateTraceOptions {
  /**
   * Matrix-vector products to spend, all of them: an integer >= 1 (>= 3 for `'hutch++'`).
   * Required unless `relativeStderr` is given; not allowed with it.
   */
  matvecs?: number;
  /**
   * Target relative standard error, in (0, 1): products are spent until stderr <=
   * relativeStderr · |estimate| or `maxMatvecs` runs out (then `converged` is false). The
   * number of products is decided in stages from the probes already drawn (Stein's two-stage
   * rule, repeated at most three times), never by watching the running estimate, which
   * would bias the error bar low.
   */
  relativeStderr?: number;
  /** Budget cap with `relativeStderr` (default 2000), an integer >= 6. */
  maxMatvecs?: number;
  /**
   * Estimator (default `'auto'`): `'hutchinson'`, `'hutch++'`, or `'auto'`, which draws a
   * pilot of Hutchinson probes, predicts the variance of both estimators from it, and continues
   * with the better one (see {@link estimateTrace}).
   */
  method?: TraceMethod;
  /** Seed of the probe vectors, a safe integer (default 0). */
  seed?: number;
  /**
   * Largest workspace in bytes (default {@link WORKSPACE_MAX_BYTES}, 4 GiB; `Infinity`: no
   * limit), checked before the first product (a {@link SizeLimitError} above it): Hutch++ and
   * `'auto'` keep their sketch, s = ⌊matvecs/3⌋ vectors of length dim (10 at most with
   * `relativeStderr`) plus its 2s² triangular factors; Hutchinson keeps 3 vectors.
   */
  maxBytes?: number;
}

/** Result of {@link estimateTrace}. */
export interface TraceEstimate {
  /** The estimate of tr A, in the units of A's eigenvalues. */
  estimate: number;
  /**
   * Standard error of `estimate`, same units: the sample standard deviation of the Hutchinson
   * quadratic forms divided by √(their count). For `'hutch++'` these are the forms of the
   * deflated remainder, so it is the standard error given the sketch (the exact part
   * tr(QᵀAQ) carries none). NaN when fewer than two Hutchinson probes were drawn.
   */
  stderr: number;
  /** Matrix-vector products used (equal to the `matvecs` option when one was given). */
  matvecs: number;
  /** The estimator that produced `estimate` (`'auto'` resolves to one of the other two). */
  method: 'hutch++' | 'hutchinson';
  /** With `relativeStderr`: whether stderr <= relativeStderr · |estimate| was reached. */
  converged?: boolean;
}

const TRACE = 'estimateTrace';
/** Pilot probes of `'auto'` with `relativeStderr`. */
const PILOT_PROBES = 10;
/** Stages of the sample-size rule with `relativeStderr` (the pilot's included). */
const STAGES = 3;

/**
 * Estimates tr A from matrix-vector products only.
 *
 * - `'hutchinson'` (Hutchinson 1989): the mean of zᵀAz over Rademacher probes z. Unbiased,
 *   with variance 2(‖A‖²_F − Σᵢ A_ii²)/K for K probes.
 * - `'hutch++'` (Meyer, Musco, Musco & Woodruff 2021, "Hutch++: optimal stochastic trace
 *   estimation", Algorithm 1): s products give the sketch A·S with Rademacher S;
 *   Q = orth(AS) has r <= s columns (fewer when AS is numerically rank deficient, which keeps
 *   the estimate unbiased); tr(QᵀAQ) is taken exactly with r products; the remaining products
 *   run Hutchinson on (I − QQᵀ)A(I − QQᵀ). Unbiased for any Q; for spectra that decay fast its
 *   error is far below Hutchinson's at the same budget, but when the top s eigenvalues hold
 *   little of ‖A‖²_F it loses (two thirds of the products go to the sketch).
 * - `'auto'` (default): the first s products (s = ⌊matvecs/3⌋, or 10 with `relativeStderr`)
 *   are Hutchinson probes z_i with y_i = Az_i. They predict both estimators' variances: for
 *   Hutchinson the sample variance of z_iᵀy_i; for Hutch++ with Q = orth(Y) the remainder's
 *   variance 2‖(I−P)A(I−P)‖²_F <= 2‖(I−P)A‖²_F, estimated by leave-one-out (the exchangeability
 *   idea of Epperly, Tropp & Webber 2024, "XTrace"): y_i is independent of the span of the
 *   other columns, so ‖(I − P₋ᵢ)y_i‖², which is 1/‖row i of R⁻¹‖² for Y = QR, is an unbiased
 *   estimate of ‖(I − P₋ᵢ)A‖²_F. The method whose predicted error is smaller at the budget left
 *   goes on: Hutchinson keeps the pilot's samples; Hutch++ uses the pilot's products as its
 *   sketch. Measured on Hessian-like spectra: it picks Hutch++ when a few outliers hold most of
 *   ‖A‖²_F and Hutchinson when they do not (tests).
 *
 * With `relativeStderr` the number of probes is decided from the pilot's variance and mean
 * (Stein's two-stage rule, Stein 1945, at most three stages); the estimate carries `converged`.
 *
 * The operator, the options and the workspace (see `maxBytes`) are validated before the first
 * product. A budget costs time only with Hutchinson (3 vectors whatever `matvecs`); with
 * Hutch++ a third of it is kept as vectors, so `{ matvecs: 1e9, method: 'hutch++' }` is refused.
 *
 * @throws {@link OptionError} for an `op` that is not a {@link LinearOperator}, options that
 *   are not an object, a budget below the method's minimum, both or neither of `matvecs` and
 *   `relativeStderr`, an unknown method or a seed that is not a safe integer.
 * @throws {@link SizeLimitError} when the sketch exceeds `maxBytes`.
 * @throws {@link MatvecError} naming the step when a product throws, has the wrong length or is
 *   not finite.
 *
 * @example
 * ```ts
 * const { estimate, stderr } = await estimateTrace(operator, { matvecs: 60, seed: 1 });
 * const precise = await estimateTrace(operator, { relativeStderr: 0.01, maxMatvecs: 5000 });
 * console.log(`tr H = ${precise.estimate} ± ${precise.stderr} (${precise.method})`);
 * ```
 */
export async function estimateTrace(
  op: LinearOperator,
  options: EstimateTraceOptions,
): Promise<TraceEstimate> {
  const checked = checkOptions(TRACE, options, true);
  const { matvecs, relativeStderr, method = 'auto', seed = 0 } = checked;
  checkOperator(TRACE, op);
  const limit = checkMaxBytes(TRACE, checked.maxBytes);
  checkOneOf(TRACE, 'method', method, TRACE_METHODS);
  checkSeed(seed, TRACE);
  if ((matvecs === undefined) === (relativeStderr === undefined)) {
    throw new OptionError(
      `${TRACE}: expected exactly one of matvecs (a budget) and relativeStderr (a target), got ${matvecs === undefined ? 'neither' : 'both'}`,
    );
  }
  const rng = createRandom(seed);
  const counter = { used: 0 };
  if (relativeStderr !== undefined) {
    checkPositive(TRACE, 'relativeStderr', relativeStderr);
    if (!(relativeStderr < 1)) {
      throw new OptionError(`${TRACE}: expected relativeStderr below 1, got ${relativeStderr}`);
    }
    const { maxMatvecs = 2000 } = checked;
    checkInteger(TRACE, 'maxMatvecs', maxMatvecs, 6);
    checkSketch(op.dim, Math.min(PILOT_PROBES, Math.floor(maxMatvecs / 3)), limit);
    return toPrecision(op, relativeStderr, maxMatvecs, method, rng, counter);
  }
  const budget = matvecs as number;
  checkInteger(TRACE, 'matvecs', budget, method === 'hutch++' ? 3 : 1);
  checkSketch(op.dim, sketchColumns(budget, method), limit);
  if (sketchColumns(budget, method) === 0) {
    const samples = new SampleMoments(1);
    await hutchinsonProbes(op, budget, rng, [], samples, counter);
    return finish('hutchinson', 0, samples, counter.used);
  }
  const pilot = await pilotProbes(op, Math.floor(budget / 3), rng, counter);
  if (method === 'auto' && choose(pilot, budget - counter.used) === 'hutchinson') {
    await hutchinsonProbes(op, budget - counter.used, rng, [], pilot.samples, counter);
    return finish('hutchinson', 0, pilot.samples, counter.used);
  }
  const exact = await exactPart(op, pilot.basis, counter);
  const samples = new SampleMoments(1);
  await hutchinsonProbes(op, budget - counter.used, rng, pilot.basis, samples, counter);
  return finish('hutch++', exact, samples, counter.used);
}

/**
 * Peak workspace of {@link estimateTrace} in bytes with a budget of `matvecs` products: with
 * Hutch++ (and `'auto'` from 9 products on) the sketch of s = ⌊matvecs/3⌋ vectors of length
 * dim and its two s × s triangular factors, plus the probe, its product and the operator's
 * copy; with Hutchinson those three vectors only.
 */
export function estimateTraceBytes(dim: number, matvecs: number, method: TraceMethod): number {
  return sketchBytes(dim, sketchColumns(matvecs, method));
}

/** Columns of the sketch {@link estimateTrace} keeps with a budget of `matvecs` (0: none). */
function sketchColumns(matvecs: number, method: TraceMethod): number {
  return method === 'hutchinson' || (method === 'auto' && matvecs < 9)
    ? 0
    : Math.floor(matvecs / 3);
}

function sketchBytes(dim: number, columns: number): number {
  return float64Bytes((columns + 3) * dim + 2 * columns * columns);
}

/** Refuses, before any product, a sketch of `columns` vectors larger than `maxBytes`. */
function checkSketch(dim: number, columns: number, maxBytes: number): void {
  checkWorkspace(
    TRACE,
    sketchBytes(dim, columns),
    maxBytes,
    `a sketch of ${columns} vectors of length ${dim} and 3 probe vectors`,
    "lower matvecs, use method: 'hutchinson'",
  );
}

/** What the first probes show: Hutchinson samples, Q = orth(AZ), leave-one-out residuals. */
interface Pilot {
  samples: SampleMoments;
  basis: Float64Array[];
  /** Mean of ‖(I − P₋ᵢ)Az_i‖² over the pilot: the Frobenius norm Hutch++ cannot remove. */
  leftover: number;
}

async function pilotProbes(
  op: LinearOperator,
  count: number,
  rng: Random,
  counter: { used: number },
): Promise<Pilot> {
  const samples = new SampleMoments(1);
  const columns: Float64Array[] = [];
  for (let k = 0; k < count; k++) {
    const z = rng.rademacherVector(op.dim);
    const az = await checkedMatvec(op, z, TRACE, counter.used++);
    samples.add([dot(z, az)]);
    columns.push(az);
  }
  const { basis, r } = thinQr(columns);
  return { samples, basis, leftover: leaveOneOutResiduals(r, basis.length < columns.length) };
}

/**
 * Q (orthonormal, columns in the span dropped) and R (column-major, count × count) of
 * Y = [columns] by classical Gram–Schmidt with reorthogonalisation; the columns are consumed.
 */
function thinQr(columns: Float64Array[]): { basis: Float64Array[]; r: Float64Array } {
  const count = columns.length;
  const r = new Float64Array(count * count);
  const basis: Float64Array[] = [];
  for (const [j, w] of columns.entries()) {
    const before = norm(w);
    if (before === 0) continue;
    const coefficients = new Float64Array(basis.length);
    const after = projectOut(w, basis, coefficients, before);
    for (let i = 0; i < basis.length; i++) r[j * count + i] = coefficients[i];
    if (after > 1e-10 * before) {
      r[j * count + basis.length] = after;
      basis.push(scaleInPlace(1 / after, w));
    }
  }
  return { basis, r };
}

/**
 * Mean over i of the squared distance of column i of Y = QR from the span of the others,
 * 1/‖row i of R⁻¹‖², for a full-rank upper-triangular R (count × count, column-major); 0 when
 * Y was rank deficient (a sketch of the whole range: Hutch++ is then exact up to rounding).
 */
function leaveOneOutResiduals(r: Float64Array, rankDeficient: boolean): number {
  const count = Math.round(Math.sqrt(r.length));
  if (rankDeficient || count < 2) return rankDeficient ? 0 : Number.POSITIVE_INFINITY;
  // X = R⁻¹ by back substitution, column by column (X is upper triangular too).
  const x = new Float64Array(count * count);
  for (let c = 0; c < count; c++) {
    for (let i = c; i >= 0; i--) {
      let s = i === c ? 1 : 0;
      for (let k = i + 1; k <= c; k++) s -= r[k * count + i] * x[c * count + k];
      x[c * count + i] = s / r[i * count + i];
    }
  }
  let sum = 0;
  for (let i = 0; i < count; i++) {
    let rowSquares = 0;
    for (let c = i; c < count; c++) rowSquares += x[c * count + i] ** 2;
    sum += 1 / rowSquares;
  }
  return sum / count;
}

/**
 * The estimator with the smaller predicted variance when `remaining` products are left after
 * the pilot: Hutchinson's sample variance over (pilot + remaining) probes against Hutch++'s
 * remainder bound 2·leftover over the probes left after the r products of tr(QᵀAQ).
 */
function choose(pilot: Pilot, remaining: number): 'hutch++' | 'hutchinson' {
  const k = pilot.samples.count;
  const hutchinson = pilot.samples.standardError()[0] ** 2 * k;
  const probesAfterSketch = remaining - pilot.basis.length;
  if (probesAfterSketch < 2) return 'hutchinson';
  return (2 * pilot.leftover) / probesAfterSketch < hutchinson / (k + remaining)
    ? 'hutch++'
    : 'hutchinson';
}

/** tr(QᵀAQ) with one product per column of Q. */
async function exactPart(
  op: LinearOperator,
  basis: readonly Float64Array[],
  counter: { used: number },
): Promise<number> {
  let exact = 0;
  for (const q of basis) exact += dot(q, await checkedMatvec(op, q, TRACE, counter.used++));
  return exact;
}

/** Runs `toPrecision`'s staged sample-size rule (see {@link estimateTrace}). */
async function toPrecision(
  op: LinearOperator,
  target: number,
  maxMatvecs: number,
  method: TraceMethod,
  rng: Random,
  counter: { used: number },
): Promise<TraceEstimate> {
  const pilotSize = Math.min(PILOT_PROBES, Math.floor(maxMatvecs / 3));
  const pilot = await pilotProbes(op, pilotSize, rng, counter);
  const scale = Math.abs(pilot.samples.mean()[0]);
  // Probes each method needs for the target, from the pilot's variance and mean.
  const needed = (variance: number) => Math.ceil(variance / (target * scale) ** 2);
  const k = pilot.samples.count;
  const hutchinsonProbesNeeded = needed(pilot.samples.standardError()[0] ** 2 * k);
  const hutchPlusPlusProducts = pilot.basis.length + needed(2 * pilot.leftover);
  const chosen =
    method === 'auto'
      ? hutchPlusPlusProducts < hutchinsonProbesNeeded - k
        ? 'hutch++'
        : 'hutchinson'
      : method;
  let exact = 0;
  let samples = pilot.samples;
  let basis: readonly Float64Array[] = [];
  if (chosen === 'hutch++') {
    basis = pilot.basis;
    exact = await exactPart(op, basis, counter);
    samples = new SampleMoments(1);
  }
  for (let stage = 1; stage < STAGES; stage++) {
    const result = finish(chosen, exact, samples, counter.used);
    if (samples.count >= 2 && result.stderr <= target * Math.abs(result.estimate)) break;
    const variance = samples.count >= 2 ? samples.standardError()[0] ** 2 * samples.count : NaN;
    const want = Number.isFinite(variance)
      ? needed(variance)
      : chosen === 'hutch++'
        ? needed(2 * pilot.leftover)
        : hutchinsonProbesNeeded;
    const more = Math.min(Math.max(want - samples.count, 2), maxMatvecs - counter.used);
    if (more <= 0) break;
    await hutchinsonProbes(op, more, rng, basis, samples, counter);
  }
  const result = finish(chosen, exact, samples, counter.used);
  result.converged = result.stderr <= target * Math.abs(result.estimate);
  return result;
}

function finish(
  method: 'hutch++' | 'hutchinson',
  exact: number,
  samples: SampleMoments,
  matvecs: number,
): TraceEstimate {
  return {
    estimate: exact + (samples.count > 0 ? samples.mean()[0] : 0),
    stderr: samples.standardError()[0],
    matvecs,
    method,
  };
}

/**
 * Adds to `samples` zᵀAz over `probes` Rademacher z projected onto the orthogonal complement of
 * `basis` (no projection for an empty basis).
 */
async function hutchinsonProbes(
  op: LinearOperator,
  probes: number,
  rng: Random,
  basis: readonly Float64Array[],
  samples: SampleMoments,
  counter: { used: number },
): Promise<void> {
  const form: QuadraticForm = async (z) => {
    projectOut(z, basis);
    return dot(z, await checkedMatvec(op, z, TRACE, counter.used++));
  };
  await sampleForms(form, op.dim, probes, rng, samples);
}

/**
 * A quadratic form z ↦ zᵀAz of a symmetric A that is evaluated without A's products, e.g. by
 * second differences of a loss, (L(θ + hz) − 2L(θ) + L(θ − hz)) / h². It receives a fresh
 * Rademacher vector it may modify, and the probe's index (0-based).
 */
export type QuadraticForm = (z: Float64Array, probe: number) => Promise<number>;

/** Options of {@link traceOfQuadraticForm}. */
export interface QuadraticFormTraceOptions {
  /** Length of the probe vectors, the dimension of A (an integer >= 1). */
  dim: number;
  /** Probes, one form each (an integer >= 1). */
  probes: number;
  /**
   * Source of the probes (default a generator seeded with 0): pass one generator to several
   * calls to give them independent probes from one seed.
   */
  random?: Random;
}

/** Result of {@link traceOfQuadraticForm}. */
export interface QuadraticFormTrace {
  /** The mean of the forms: an unbiased estimate of tr A when the forms are exact. */
  estimate: number;
  /** Sample standard deviation of the forms / √probes; NaN for one probe. */
  stderr: number;
  /** Forms evaluated. */
  probes: number;
}

/**
 * Hutchinson's trace estimator on a quadratic form: the mean of zᵀAz over Rademacher z
 * (Hutchinson 1990), the estimator {@link estimateTrace} uses with products, for operators
 * known only through their forms (the ONNX adapter's forward-only trace). Its error is the
 * sampling error (`stderr`) plus whatever error the form itself carries, which the caller
 * bounds.
 *
 * @throws {@link OptionError} for a `dim` or `probes` that is not an integer >= 1.
 * @example
 * ```ts
 * const a = [2, 3, 5]; // diagonal A: zᵀAz = Σ a_i z_i² = 10 for every Rademacher z
 * const { estimate } = await traceOfQuadraticForm(async (z) => z.reduce((s, zi, i) => s + a[i] * zi * zi, 0), { dim: 3, probes: 4 });
 * ```
 */
export async function traceOfQuadraticForm(
  form: QuadraticForm,
  options: QuadraticFormTraceOptions,
): Promise<QuadraticFormTrace> {
  const where = 'traceOfQuadraticForm';
  const { dim, probes, random = createRandom(0) } = checkOptions(where, options, true);
  if (typeof form !== 'function') {
    throw new OptionError(`${where}: expected form to be a function, got ${typeof form}`);
  }
  checkInteger(where, 'dim', dim, 1);
  checkInteger(where, 'probes', probes, 1);
  if (typeof (random as Partial<Random> | null)?.rademacherVector !== 'function') {
    throw new OptionError(`${where}: expected random to be a Random from createRandom(seed)`);
  }
  const samples = new SampleMoments(1);
  await sampleForms(form, dim, probes, random, samples);
  return { estimate: samples.mean()[0], stderr: samples.standardError()[0], probes };
}

/** Adds to `samples` the forms of `probes` Rademacher vectors of length `dim`. */
async function sampleForms(
  form: QuadraticForm,
  dim: number,
  probes: number,
  rng: Random,
  samples: SampleMoments,
): Promise<void> {
  for (let k = 0; k < probes; k++) {
    const index = samples.count;
    samples.add([await form(rng.rademacherVector(dim), index)]);
  }
}

/** Options of {@link estimateDiagonal}. */
export interface EstimateDiagonalOptions {
  /** Matrix-vector products to spend, one per probe (required, an integer >= 1). */
  matvecs: number;
  /** Seed of the probe vectors, a safe integer (default 0). */
  seed?: number;
  /**
   * Largest workspace in bytes (default {@link WORKSPACE_MAX_BYTES}, 4 GiB; `Infinity`: no
   * limit): 6 vectors of length dim (running mean and variance, a sample, the probe, its
   * product and the operator's copy), whatever `matvecs`.
   */
  maxBytes?: number;
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
 * The operator, the options and the workspace are validated before the first product.
 *
 * @throws {@link OptionError} for an `op` that is not a {@link LinearOperator}, options that are
 *   not an object, `matvecs` that is not an integer >= 1 or a seed that is not a safe integer.
 * @throws {@link SizeLimitError} when 6 vectors of length dim exceed `maxBytes`.
 * @throws {@link MatvecError} naming the step when a product is unusable.
 *
 * @example
 * ```ts
 * const { diagonal, stderr } = await estimateDiagonal(operator, { matvecs: 100 });
 * ```
 */
export async function estimateDiagonal(
  op: LinearOperator,
  options: EstimateDiagonalOptions,
): Promise<DiagonalEstimate> {
  const { matvecs, seed = 0, maxBytes } = checkOptions(DIAGONAL, options, true);
  checkOperator(DIAGONAL, op);
  checkInteger(DIAGONAL, 'matvecs', matvecs, 1);
  checkSeed(seed, DIAGONAL);
  const n = op.dim;
  checkWorkspace(
    DIAGONAL,
    float64Bytes(6 * n),
    checkMaxBytes(DIAGONAL, maxBytes),
    `6 vectors of length ${n}`,
    'restrict the operator to fewer parameters (restrictOperator)',
  );
  const rng = createRandom(seed);
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
