import { HessianProbeError, LayoutError } from './errors.js';
import { createLayout, type LayoutBlock, type ParameterLayout } from './layout.js';

/**
 * The schema version this module writes and reads. It is bumped only by a breaking change (a
 * field renamed, removed, or given a new meaning); new analyses add optional fields and keep
 * the version, so a reader of version 1 reads newer version-1 reports and passes their unknown
 * fields through untouched.
 */
export const REPORT_SCHEMA_VERSION = 1;

/** Which curvature matrix a report describes: the loss Hessian or the generalised Gauss–Newton. */
export type CurvatureKind = 'hessian' | 'ggn';

/** The model a report describes. */
export interface ReportModel {
  /** The model's name (tfjs `model.name`, or the ONNX graph name). */
  readonly name: string;
  /** Number of trainable parameters P, an integer >= 1; equals `layout.dim`. */
  readonly parameterCount: number;
  /** How the flat parameter vector splits into named tensors (or other blocks). */
  readonly layout: ParameterLayout;
}

/** The fixed data the curvature is taken on. */
export interface ReportProbe {
  /** Number of examples in the probe set, an integer >= 1. */
  readonly size: number;
  /** Seed of the analyses' random probes, a safe integer. */
  readonly seed: number;
}

/** Extreme eigenvalues with their error bars (from `topEigenpairs`). */
export interface ReportEigen {
  /** The k largest eigenvalues, in descending order, in loss units per parameter unit squared. */
  readonly values: readonly number[];
  /** Residual norms ‖A v_i − λ_i v_i‖ of the pairs, same order and units as `values`. */
  readonly residuals: readonly number[];
  /** True when every pair met the eigensolver's stopping criterion. */
  readonly converged: boolean;
  /** Matrix-vector products spent on the eigenvalues. */
  readonly matvecs: number;
}

/** The smallest eigenvalue with its error bar (from `topEigenpairs`, `which: 'smallest'`). */
export interface ReportLambdaMin {
  /** λmin, in the units of the eigenvalues. */
  readonly value: number;
  /** Residual norm ‖Av − λv‖ of the pair, same units. */
  readonly residual: number;
  /** True when the pair met the eigensolver's stopping criterion. */
  readonly converged: boolean;
  /** Matrix-vector products spent. */
  readonly matvecs: number;
}

/** A stochastic estimate of tr A (from `estimateTrace`). */
export interface ReportTrace {
  /** The estimate, in eigenvalue units. */
  readonly estimate: number;
  /** Its standard error, same units; NaN when fewer than two probes were drawn. */
  readonly stderr: number;
  /** Matrix-vector products spent on the trace (0 for `'second-difference'`). */
  readonly matvecs: number;
  /**
   * How the trace was estimated (optional): `'hutch++'` or `'hutchinson'` from matrix-vector
   * products, or `'second-difference'`, Hutchinson on quadratic forms zᵀHz from loss values
   * alone (the ONNX adapter's forward-only mode): an estimate with a rounding bound besides
   * its standard error and an O(h²) truncation error.
   */
  readonly method?: ReportTraceMethod;
  /** Bound on the rounding error of a `'second-difference'` estimate, eigenvalue units. */
  readonly roundingBound?: number;
  /** Forward passes spent by a `'second-difference'` estimate. */
  readonly forwardPasses?: number;
  /** The trace of each block's own diagonal block, when estimated per block (optional). */
  readonly blocks?: readonly ReportBlockTrace[];
}

/** How a {@link ReportTrace} was estimated. */
export type ReportTraceMethod = 'hutch++' | 'hutchinson' | 'second-difference';

/** The estimated trace of one block's diagonal block (see {@link ReportTrace.blocks}). */
export interface ReportBlockTrace {
  /** Block name, as in the model layout. */
  readonly name: string;
  readonly estimate: number;
  readonly stderr: number;
  /** As {@link ReportTrace.roundingBound} (optional). */
  readonly roundingBound?: number;
}

/** A smoothed spectral density from stochastic Lanczos quadrature (from `spectralDensity`). */
export interface ReportDensity {
  /** Evenly spaced eigenvalue grid, ascending. */
  readonly grid: readonly number[];
  /** Density on `grid` (1/eigenvalue unit), integrating to 1 over the grid. */
  readonly values: readonly number[];
  /** Standard deviation of the Gaussian smoothing kernel, in eigenvalue units. */
  readonly sigma: number;
  /**
   * Estimated fraction of eigenvalues resolvably below zero, in [0, 1] (NaN if undefined): as
   * the density analysis computes it, the quadrature weight of Ritz values below −σ_G, the density's
   * resolution (Ghorbani, Krishnan & Xiao 2019), because a cluster of eigenvalues near zero
   * sits on one quadrature node whose sign is not resolved.
   */
  readonly negativeMass: number;
  /** Smallest Ritz value over the probes: an upper bound on λmin. */
  readonly lambdaMin: number;
  /** Largest Ritz value over the probes: a lower bound on λmax. */
  readonly lambdaMax: number;
  /**
   * The threshold below which an eigenvalue counts as negative in `negativeMass` (a value <= 0;
   * −σ_G in the density analysis; optional, absent in reports written before it was recorded).
   */
  readonly negativeCutoff?: number;
  /** Matrix-vector products spent on the density (optional). */
  readonly matvecs?: number;
}

/** Squared Frobenius norms of the blocks A_ij of the curvature matrix (from `blockNorms`). */
export interface ReportBlocks {
  /** Block names: the row and column labels of the matrices below. */
  readonly names: readonly string[];
  /** `frobeniusSq[i][j]` estimates ‖A_ij‖²_F; a names.length × names.length array. */
  readonly frobeniusSq: readonly (readonly number[])[];
  /** Standard error of each entry of `frobeniusSq`, same shape; NaN with a single probe. */
  readonly stderr: readonly (readonly number[])[];
  /** Off-diagonal share of Σ‖A_ij‖²_F, in [0, 1]: 0 for a block-diagonal matrix; NaN if all zero. */
  readonly offDiagonalRatio: number;
  /** Matrix-vector products spent on the blocks (optional). */
  readonly matvecs?: number;
  /**
   * 'exact': norms from the densely assembled matrix (`stderr` all 0); 'randomized': estimates
   * from `blockNorms` (optional; absent in reports written before it existed).
   */
  readonly method?: 'exact' | 'randomized';
  /** Statistics over the block pairs within one layer (`blockStructure`; optional). */
  readonly withinLayer?: ReportPairStatistics;
  /** Statistics over the block pairs across layers: not small at initialization (optional). */
  readonly crossLayer?: ReportPairStatistics;
  /**
   * Mean |A_rc| over each block pair, the heatmap Dong et al. 2025 draw (`blockMeanAbs`);
   * present only when `method` is 'exact'.
   */
  readonly meanAbs?: readonly (readonly number[])[];
}

/**
 * Off-diagonal statistics of Dong et al. 2025 over one set of block pairs (i ≠ j), relative to
 * the diagonal blocks, with F = ‖·‖_F (see `blockStructure`).
 */
export interface ReportPairStatistics {
  /** Number of ordered pairs (i, j), i ≠ j, in the set. */
  readonly pairs: number;
  /** mean over the pairs of F_ij / mean over the diagonal blocks of F_ii (NaN without pairs). */
  readonly meanRatio: number;
  /** Σ over the pairs of F_ij² / Σ over the diagonal blocks of F_ii². */
  readonly massRatio: number;
  /** Delta-method standard error of `massRatio` (0 for exact norms). */
  readonly massRatioStderr: number;
}

/**
 * Kronecker decoupling of one layer's Hessian block H_L ≈ E[M] ⊗ E[x̃x̃ᵀ] (Wu et al. 2020–22,
 * arXiv 2010.04261; from `kroneckerDecoupling` and `kroneckerSummary`).
 */
export interface ReportKroneckerLayer {
  /** Layer name, unique within the report. */
  readonly name: string;
  /** The layer type: 'dense', or 'conv2d' (patch-unfolded input factor). */
  readonly kind: 'dense' | 'conv2d';
  /** 'dense': H_L assembled; 'randomized': matvec estimates of the error and eigenpairs. */
  readonly method: 'dense' | 'randomized';
  /** Whether E[M] is the exact output Hessian (no smooth activation downstream). */
  readonly exact: boolean;
  /** ‖H_L − K‖_F / ‖H_L‖_F (NaN when H_L = 0). */
  readonly relativeError: number;
  /** Standard error of `relativeError` (0 when assembled). */
  readonly relativeErrorStderr: number;
  /** Top-k eigenspace overlap ‖UᵀV‖²_F/k of H_L and K, in [0, 1]. */
  readonly overlap: number;
  /** λ₁/λ₂ of E[x̃x̃ᵀ] (Infinity when λ₂ = 0). */
  readonly inputDominance: number;
  /** s₁²/Σs² of H_L's top eigenvector reshaped to the weight's shape, in [0, 1]. */
  readonly rank1Energy: number;
  /** Eigenvalues of E[M] above 1e-3 × its largest (C − 1 for a last layer under CE). */
  readonly outliers: number;
  /**
   * Whether H_L's top eigenpairs, on which `overlap` and `rank1Energy` rest, converged (always
   * when assembled; optional, absent in reports written before it was recorded).
   */
  readonly converged?: boolean;
  /** Hessian-vector products spent on the layer. */
  readonly matvecs: number;
}

/** λ_k/λ_{k+1} of a spectrum at position k. */
export interface ReportEigengap {
  /** k, an integer >= 1. */
  readonly position: number;
  /** λ_k / λ_{k+1} (Infinity when λ_{k+1} = 0). */
  readonly ratio: number;
}

/**
 * Papyan's three-level class hierarchy of the Gauss–Newton matrix G (Papyan 2019, arXiv
 * 1901.08244; 2020, JMLR 21; from `classHierarchy`).
 */
export interface ReportClasses {
  /** Number of classes C. */
  readonly classes: number;
  /** tr G (exact or a Hutchinson estimate). */
  readonly trace: number;
  /** Standard error of `trace` (0 when exact). */
  readonly traceStderr: number;
  /**
   * tr(G_k)/tr(G) for G₀ (class-pair means with c′ = c), G₁ (the C class means: level 1),
   * G₂ (the C(C−1) pair deviations: level 2) and G₃ = G − G₀ − G₁ − G₂ (within-class: level 3).
   */
  readonly traceFractions: {
    readonly g0: number;
    readonly g1: number;
    readonly g2: number;
    readonly g3: number;
  };
  /** Overlap of span{δ_c} with G's top-`overlapK` eigenspace, in [0, 1] (the averaging claim). */
  readonly classMeanOverlap: number;
  /** The same with the Hessian's top eigenspace (absent when H was not analysed). */
  readonly classMeanOverlapHessian?: number;
  /** Dimension k of the compared subspaces (the numerical rank of the class means). */
  readonly overlapK: number;
  /** Non-zero eigenvalues of G₁, descending: the C outliers of level 1. */
  readonly level1Values: readonly number[];
  /** Largest eigenvalues of G₂, descending: the mini-bulk of level 2. */
  readonly level2Values: readonly number[];
  /** Top eigenvalues of G, descending. */
  readonly gaussNewtonValues: readonly number[];
  /** Top eigenvalues of H, descending (absent when H was not analysed). */
  readonly hessianValues?: readonly number[];
  /** Eigengaps of G's top eigenvalues at C − 1, C (and C² when computed). */
  readonly eigengaps: readonly ReportEigengap[];
  /** Products spent: vector-Jacobian, Gauss–Newton-vector and Hessian-vector products. */
  readonly matvecs: number;
}

/** Local spectrum of one layer's own diagonal block of the curvature matrix. */
export interface ReportLayer {
  /** Layer name, unique within a report. */
  readonly name: string;
  /** Largest eigenvalue of the layer's block. */
  readonly lambdaMax: number;
  /** Trace of the layer's block. */
  readonly trace: number;
  /** Fraction of the block's eigenvalues resolvably below zero (as `density.negativeMass`). */
  readonly negativeMass: number;
  // The fields below are the layer-spectra metrics (`layerSpectrum`, METHODS.md D; Bolshim &
  // Kugaevskikh 2025, arXiv 2510.17486), optional: older reports lack them. δ = σ_G as for
  // `negativeMass`; p_i = |λ_i|/Σ|λ_j|.
  /** `'exact'` (dense eigenvalues of the block) or `'stochastic'` (SLQ and Hutch++). */
  readonly method?: LayerMethod;
  /** Smallest eigenvalue (stochastic: the smallest Ritz value, an upper bound). */
  readonly lambdaMin?: number;
  /** Standard error of `trace`, >= 0 (0 when exact, NaN when not estimable). */
  readonly traceStderr?: number;
  /** trace / P_l, the mean eigenvalue of the block. */
  readonly tracePerParameter?: number;
  /** ‖H_ll‖²_F = Σλ_i², >= 0 (stochastic: Hutchinson's unbiased estimate). */
  readonly frobeniusSq?: number;
  /** Standard error of `frobeniusSq`, >= 0 (0 when exact). */
  readonly frobeniusSqStderr?: number;
  /** Σ_{λ_i<−δ}|λ_i| / Σ|λ_i| in [0, 1]: the share of the absolute spectrum that is negative. */
  readonly negativeTraceMass?: number;
  /** −Σ p_i ln p_i in nats, >= 0. */
  readonly spectralEntropy?: number;
  /** exp(spectralEntropy), >= 0 (0 for a zero block). */
  readonly effectiveRank?: number;
  /** (Σ|λ_i|)²/Σλ_i², >= 0. */
  readonly participationRatio?: number;
  /** ‖H_ll‖²_F / max|λ_i|², >= 0. */
  readonly stableRank?: number;
  /** Bulk edge m + 3s, m and s² the mean and variance of the block's eigenvalues. */
  readonly bulkEdge?: number;
  /** Eigenvalues above `bulkEdge`, an integer >= 0 (stochastic: a lower bound). */
  readonly outlierCount?: number;
  /** ‖H_ll − G_ll‖_F/‖G_ll‖_F, >= 0, when a Gauss–Newton operator was given. */
  readonly gaussNewtonGap?: number;
  /** Standard error of `gaussNewtonGap`, >= 0 (0 when exact). */
  readonly gaussNewtonGapStderr?: number;
  /** Matrix-vector products spent on this layer (optional). */
  readonly matvecs?: number;
}

/** How a layer metric was computed: dense eigenvalues or stochastic Lanczos quadrature. */
export type LayerMethod = 'exact' | 'stochastic';

/** Coupling between the layers' blocks (from `layerCoupling`; METHODS.md D). */
export interface ReportLayerCoupling {
  /** Layer names: the row and column labels. */
  readonly names: readonly string[];
  /** `frobeniusSq[v][w]` = ‖H_vw‖²_F (or its estimate), symmetric, names.length square. */
  readonly frobeniusSq: readonly (readonly number[])[];
  /** Standard error of each entry of `frobeniusSq` (0 when exact), same shape. */
  readonly stderr: readonly (readonly number[])[];
  /** F_vw/√(F_vv F_ww) with F = ‖·‖_F: 1 on the diagonal, 0 for uncoupled layers. */
  readonly normalized: readonly (readonly number[])[];
  /** `'exact'` or `'stochastic'` (block probing). */
  readonly method: LayerMethod;
  /** Matrix-vector products spent (optional). */
  readonly matvecs?: number;
}

/** The Gauss–Newton gap of the whole curvature matrix (from `gaussNewtonGap`). */
export interface ReportGaussNewtonGap {
  /** ‖H − G‖_F/‖G‖_F, >= 0 (NaN or Infinity when G = 0). */
  readonly ratio: number;
  /** Its standard error, >= 0 (0 when exact; NaN with a single probe). */
  readonly stderr: number;
  /** `'exact'` or `'stochastic'` (Hutchinson). */
  readonly method: LayerMethod;
  /** Products spent, of H and G together (optional). */
  readonly matvecs?: number;
}

/**
 * Everything one curvature analysis found, as plain data: the single type that the callback's
 * history, the JSONL sink, the Prometheus metrics, plots and ONNX metadata all render (DESIGN.md
 * decision 6). Optional sections are absent when their analysis did not run. Numbers may be NaN
 * or ±Infinity (an estimate that is undefined, a diverged loss); write reports with
 * {@link encodeReport}, not `JSON.stringify`, which would turn those into `null`.
 *
 * Field names are read by other tools: keep them. A new analysis adds an optional field here and
 * to the checks of {@link normalizeReport}; it does not bump {@link REPORT_SCHEMA_VERSION}.
 *
 * @example
 * ```ts
 * const report: CurvatureReport = {
 *   schemaVersion: REPORT_SCHEMA_VERSION,
 *   epoch: 3, step: 375, timestamp: new Date().toISOString(),
 *   model: { name: 'mlp', parameterCount: 8, layout },
 *   probe: { size: 256, seed: 0 },
 *   loss: 0.41,
 *   trace: { estimate: 12.5, stderr: 0.8, matvecs: 30 },
 *   seconds: 0.9, matvecs: 30,
 * };
 * ```
 */
export interface CurvatureReport {
  /** {@link REPORT_SCHEMA_VERSION} of the writer. */
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  /** Epochs completed before the analysis, an integer >= 0 (0 at train begin). */
  readonly epoch: number;
  /** Optimizer steps (batches) completed in this `fit()` before the analysis, an integer >= 0. */
  readonly step: number;
  /** Zero-based batch index within the epoch, when the analysis ran at a batch end. */
  readonly batch?: number;
  /** Wall-clock time at which the analysis started, ISO 8601 (e.g. `'2025-01-31T12:00:00.000Z'`). */
  readonly timestamp: string;
  /** Seconds of training wall time from train begin to the start of the analysis. */
  readonly wallSeconds?: number;
  /** Which curvature matrix the numbers describe; absent means the Hessian. */
  readonly kind?: CurvatureKind;
  readonly model: ReportModel;
  readonly probe: ReportProbe;
  /** Loss on the probe set at the analysed weights (NaN or ±Infinity if it diverged). */
  readonly loss: number;
  readonly eigen?: ReportEigen;
  /** The smallest eigenvalue, when asked for (`analyses.lambdaMin`). */
  readonly lambdaMin?: ReportLambdaMin;
  readonly trace?: ReportTrace;
  readonly density?: ReportDensity;
  readonly blocks?: ReportBlocks;
  /** One entry per analysed layer, names unique. */
  readonly layers?: readonly ReportLayer[];
  /** Coupling between the analysed layers, when asked for (`layers.couplingProbes`). */
  readonly layerCoupling?: ReportLayerCoupling;
  /** ‖H − G‖_F/‖G‖_F of the whole matrix, when a GGN operator was given (`layers.ggn`). */
  readonly gaussNewtonGap?: ReportGaussNewtonGap;
  /** Kronecker decoupling of each Dense/Conv2D layer's block (Wu et al. 2020–22), names unique. */
  readonly kronecker?: readonly ReportKroneckerLayer[];
  /** Papyan's class hierarchy of the Gauss–Newton matrix (cross-entropy models). */
  readonly classes?: ReportClasses;
  /** Wall-clock seconds the whole analysis took. */
  readonly seconds: number;
  /** Matrix-vector products the whole analysis spent (its sections' counts and any others). */
  readonly matvecs: number;
}

/** {@link CurvatureReport} as producers may hand it over: any number array may be a Float64Array. */
export type CurvatureReportInput = AllowFloat64<CurvatureReport>;

type AllowFloat64<T> = T extends readonly number[]
  ? readonly number[] | Float64Array
  : T extends readonly (infer U)[]
    ? readonly AllowFloat64<U>[]
    : T extends object
      ? { readonly [K in keyof T]: AllowFloat64<T[K]> }
      : T;

/**
 * A report does not have the shape of a {@link CurvatureReport}: bad JSON, an unknown schema
 * version, a missing or mistyped field, or fields that disagree (lengths, orders, ranges).
 */
export class ReportFormatError extends HessianProbeError {
  /**
   * Path of the offending field, e.g. `'eigen.values[2]'`, `'schemaVersion'`; `'(json)'` for
   * text that is not JSON and `'(report)'` for a top level that is not an object.
   */
  readonly field: string;

  constructor(message: string, field: string, options?: { cause?: unknown }) {
    super('report-format', message, options);
    this.field = field;
  }
}

/**
 * How non-finite numbers are written: as these JSON strings, which `Number()` in JavaScript and
 * `float()` in Python read back. The reader turns them back into numbers only where the schema
 * has a number, so a string field that happens to read "NaN" stays a string.
 */
const NON_FINITE = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity } as const;

type Mode = 'encode' | 'decode';
type Json = Record<string, unknown>;

/** Field-by-field checks shared by the writer (typed arrays allowed) and the reader (revival). */
class Checker {
  constructor(
    private readonly mode: Mode,
    readonly where: string,
  ) {}

  fail(field: string, expected: string, got: unknown): never {
    throw new ReportFormatError(
      `${this.where}: expected ${field} to be ${expected}, got ${describe(got)}`,
      field,
    );
  }

  /** A number, or in decode mode one of the {@link NON_FINITE} strings revived; else undefined. */
  private toNumber(value: unknown): number | undefined {
    if (typeof value === 'number') return value;
    if (this.mode === 'decode' && typeof value === 'string' && Object.hasOwn(NON_FINITE, value)) {
      return NON_FINITE[value as keyof typeof NON_FINITE];
    }
    return undefined;
  }

  number(field: string, value: unknown): number {
    const n = this.toNumber(value);
    if (n !== undefined) return n;
    const strings = this.mode === 'decode' ? ' (or "NaN", "Infinity", "-Infinity")' : '';
    return this.fail(field, `a number${strings}`, value);
  }

  /** A safe integer, >= `min` when given. */
  integer(field: string, value: unknown, min?: number): number {
    const n = this.toNumber(value);
    if (n === undefined || !Number.isSafeInteger(n) || (min !== undefined && n < min)) {
      return this.fail(
        field,
        min === undefined ? 'a safe integer' : `an integer >= ${min}`,
        n ?? value,
      );
    }
    return n;
  }

  /** A number that is >= 0 or NaN (a norm, a residual, a duration that may be undefined). */
  nonNegative(field: string, value: unknown): number {
    const n = this.number(field, value);
    if (n < 0) this.fail(field, 'a number >= 0 (or NaN)', n);
    return n;
  }

  /** A number in [0, 1] or NaN. */
  ratio(field: string, value: unknown): number {
    const n = this.number(field, value);
    if (n < 0 || n > 1) this.fail(field, 'a ratio in [0, 1] (or NaN)', n);
    return n;
  }

  string(field: string, value: unknown): string {
    return typeof value === 'string' ? value : this.fail(field, 'a string', value);
  }

  boolean(field: string, value: unknown): boolean {
    return typeof value === 'boolean' ? value : this.fail(field, 'a boolean', value);
  }

  object(field: string, value: unknown): Json {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
    return this.fail(field, 'an object', value);
  }

  array(field: string, value: unknown, length?: number): readonly unknown[] {
    const ok = Array.isArray(value) || (this.mode === 'encode' && value instanceof Float64Array);
    if (!ok)
      this.fail(field, this.mode === 'encode' ? 'an array or a Float64Array' : 'an array', value);
    const items = value as readonly unknown[];
    if (length !== undefined && items.length !== length) {
      this.fail(field, `an array of length ${length}`, value);
    }
    return items;
  }

  numbers(field: string, value: unknown, length?: number): number[] {
    return Array.from(this.array(field, value, length), (v, i) => this.number(`${field}[${i}]`, v));
  }

  matrix(field: string, value: unknown, size: number): number[][] {
    return this.array(field, value, size).map((row, i) =>
      this.numbers(`${field}[${i}]`, row, size),
    );
  }

  /** Names that are unique strings. */
  names(field: string, value: unknown): string[] {
    const names = this.array(field, value).map((v, i) => this.string(`${field}[${i}]`, v));
    const seen = new Set<string>();
    for (const [i, name] of names.entries()) {
      if (seen.has(name)) this.fail(`${field}[${i}]`, 'a name not used before', name);
      seen.add(name);
    }
    return names;
  }

  /** `build(value)` for an optional field that is present, undefined for one that is absent. */
  optional<T>(source: Json, key: string, build: (value: unknown) => T): T | undefined {
    return source[key] === undefined ? undefined : build(source[key]);
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined (missing)';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof Float64Array) return `a Float64Array of length ${value.length}`;
  if (value === null) return 'null';
  if (isPlainObject(value)) return 'an object';
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'non-plain object'}`;
  return `a ${typeof value}`;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Keys each object of the schema knows; anything else is passed through as it is. */
const KNOWN = {
  report: [
    'schemaVersion',
    'epoch',
    'step',
    'batch',
    'timestamp',
    'wallSeconds',
    'kind',
    'model',
    'probe',
    'loss',
    'eigen',
    'lambdaMin',
    'trace',
    'density',
    'blocks',
    'layers',
    'layerCoupling',
    'gaussNewtonGap',
    'kronecker',
    'classes',
    'seconds',
    'matvecs',
  ],
  model: ['name', 'parameterCount', 'layout'],
  layout: ['dim', 'blocks'],
  block: ['name', 'offset', 'size', 'shape'],
  probe: ['size', 'seed'],
  eigen: ['values', 'residuals', 'converged', 'matvecs'],
  lambdaMin: ['value', 'residual', 'converged', 'matvecs'],
  trace: ['estimate', 'stderr', 'matvecs', 'method', 'roundingBound', 'forwardPasses', 'blocks'],
  blockTrace: ['name', 'estimate', 'stderr', 'roundingBound'],
  density: [
    'grid',
    'values',
    'sigma',
    'negativeMass',
    'lambdaMin',
    'lambdaMax',
    'matvecs',
    'negativeCutoff',
  ],
  blocks: [
    'names',
    'frobeniusSq',
    'stderr',
    'offDiagonalRatio',
    'matvecs',
    'method',
    'withinLayer',
    'crossLayer',
    'meanAbs',
  ],
  pairs: ['pairs', 'meanRatio', 'massRatio', 'massRatioStderr'],
  layer: [
    'name',
    'lambdaMax',
    'trace',
    'negativeMass',
    'method',
    'lambdaMin',
    'traceStderr',
    'tracePerParameter',
    'frobeniusSq',
    'frobeniusSqStderr',
    'negativeTraceMass',
    'spectralEntropy',
    'effectiveRank',
    'participationRatio',
    'stableRank',
    'bulkEdge',
    'outlierCount',
    'gaussNewtonGap',
    'gaussNewtonGapStderr',
    'matvecs',
  ],
  layerCoupling: ['names', 'frobeniusSq', 'stderr', 'normalized', 'method', 'matvecs'],
  gaussNewtonGap: ['ratio', 'stderr', 'method', 'matvecs'],
  kroneckerLayer: [
    'name',
    'kind',
    'method',
    'exact',
    'relativeError',
    'relativeErrorStderr',
    'overlap',
    'inputDominance',
    'rank1Energy',
    'outliers',
    'converged',
    'matvecs',
  ],
  classes: [
    'classes',
    'trace',
    'traceStderr',
    'traceFractions',
    'classMeanOverlap',
    'classMeanOverlapHessian',
    'overlapK',
    'level1Values',
    'level2Values',
    'gaussNewtonValues',
    'hessianValues',
    'eigengaps',
    'matvecs',
  ],
  traceFractions: ['g0', 'g1', 'g2', 'g3'],
  eigengap: ['position', 'ratio'],
} as const;

/**
 * `known` (checked fields, absent ones dropped) followed by the source's unknown fields, copied
 * as plain JSON values (typed arrays become arrays).
 */
function assemble<T>(source: Json, known: Record<string, unknown>, keys: readonly string[]): T {
  const out: Json = {};
  for (const [key, value] of Object.entries(known)) if (value !== undefined) out[key] = value;
  for (const [key, value] of Object.entries(source)) {
    if (!keys.includes(key) && value !== undefined) out[key] = plainCopy(value);
  }
  return out as T;
}

function plainCopy(value: unknown): unknown {
  if (value instanceof Float64Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(plainCopy);
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainCopy(v)]));
  }
  // Anything else (a Date, a Map, a function) is left for the writer to refuse by name.
  return value;
}

function isPlainObject(value: unknown): value is Json {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function checkLayout(c: Checker, value: unknown, parameterCount: number): ParameterLayout {
  const field = 'model.layout';
  const layout = c.object(field, value);
  const dim = c.integer(`${field}.dim`, layout.dim, 1);
  const blocks = c.array(`${field}.blocks`, layout.blocks).map((raw, i): LayoutBlock => {
    const where = `${field}.blocks[${i}]`;
    const block = c.object(where, raw);
    const shape = c.optional(block, 'shape', (s) =>
      Array.from(c.array(`${where}.shape`, s), (d, j) => c.integer(`${where}.shape[${j}]`, d, 1)),
    );
    return assemble(
      block,
      {
        name: c.string(`${where}.name`, block.name),
        offset: c.integer(`${where}.offset`, block.offset, 0),
        size: c.integer(`${where}.size`, block.size, 1),
        shape,
      },
      KNOWN.block,
    );
  });
  let checked: ParameterLayout;
  try {
    checked = createLayout(blocks, dim);
  } catch (error) {
    if (!(error instanceof LayoutError)) throw error;
    throw new ReportFormatError(
      `${c.where}: ${field} is not a valid layout: ${error.message}`,
      field,
      {
        cause: error,
      },
    );
  }
  if (dim !== parameterCount) {
    c.fail(`${field}.dim`, `model.parameterCount (${parameterCount})`, dim);
  }
  return assemble(layout, { dim: checked.dim, blocks: checked.blocks }, KNOWN.layout);
}

function checkEigen(c: Checker, value: unknown): ReportEigen {
  const eigen = c.object('eigen', value);
  const values = c.numbers('eigen.values', eigen.values);
  for (let i = 1; i < values.length; i++) {
    if (values[i] > values[i - 1]) {
      c.fail(
        `eigen.values[${i}]`,
        `<= eigen.values[${i - 1}] (${values[i - 1]}), descending`,
        values[i],
      );
    }
  }
  const residuals = Array.from(c.array('eigen.residuals', eigen.residuals, values.length), (r, i) =>
    c.nonNegative(`eigen.residuals[${i}]`, r),
  );
  return assemble(
    eigen,
    {
      values,
      residuals,
      converged: c.boolean('eigen.converged', eigen.converged),
      matvecs: c.integer('eigen.matvecs', eigen.matvecs, 0),
    },
    KNOWN.eigen,
  );
}

function checkLambdaMin(c: Checker, value: unknown): ReportLambdaMin {
  const lambdaMin = c.object('lambdaMin', value);
  return assemble(
    lambdaMin,
    {
      value: c.number('lambdaMin.value', lambdaMin.value),
      residual: c.nonNegative('lambdaMin.residual', lambdaMin.residual),
      converged: c.boolean('lambdaMin.converged', lambdaMin.converged),
      matvecs: c.integer('lambdaMin.matvecs', lambdaMin.matvecs, 0),
    },
    KNOWN.lambdaMin,
  );
}

function checkTrace(c: Checker, value: unknown): ReportTrace {
  const trace = c.object('trace', value);
  return assemble(
    trace,
    {
      estimate: c.number('trace.estimate', trace.estimate),
      stderr: c.nonNegative('trace.stderr', trace.stderr),
      matvecs: c.integer('trace.matvecs', trace.matvecs, 0),
      method: c.optional(trace, 'method', (m) =>
        TRACE_METHODS.includes(m as ReportTraceMethod)
          ? (m as ReportTraceMethod)
          : c.fail('trace.method', TRACE_METHODS.map((t) => `'${t}'`).join(', '), m),
      ),
      roundingBound: c.optional(trace, 'roundingBound', (v) =>
        c.nonNegative('trace.roundingBound', v),
      ),
      forwardPasses: c.optional(trace, 'forwardPasses', (v) =>
        c.integer('trace.forwardPasses', v, 0),
      ),
      blocks: c.optional(trace, 'blocks', (v) =>
        c.array('trace.blocks', v).map((raw, i) => {
          const where = `trace.blocks[${i}]`;
          const block = c.object(where, raw);
          return assemble<ReportBlockTrace>(
            block,
            {
              name: c.string(`${where}.name`, block.name),
              estimate: c.number(`${where}.estimate`, block.estimate),
              stderr: c.nonNegative(`${where}.stderr`, block.stderr),
              roundingBound: c.optional(block, 'roundingBound', (r) =>
                c.nonNegative(`${where}.roundingBound`, r),
              ),
            },
            KNOWN.blockTrace,
          );
        }),
      ),
    },
    KNOWN.trace,
  );
}

const TRACE_METHODS: readonly ReportTraceMethod[] = ['hutch++', 'hutchinson', 'second-difference'];

function checkDensity(c: Checker, value: unknown): ReportDensity {
  const density = c.object('density', value);
  const grid = c.numbers('density.grid', density.grid);
  return assemble(
    density,
    {
      grid,
      values: c.numbers('density.values', density.values, grid.length),
      sigma: c.nonNegative('density.sigma', density.sigma),
      negativeMass: c.ratio('density.negativeMass', density.negativeMass),
      lambdaMin: c.number('density.lambdaMin', density.lambdaMin),
      lambdaMax: c.number('density.lambdaMax', density.lambdaMax),
      matvecs: c.optional(density, 'matvecs', (m) => c.integer('density.matvecs', m, 0)),
      negativeCutoff: c.optional(density, 'negativeCutoff', (m) =>
        c.number('density.negativeCutoff', m),
      ),
    },
    KNOWN.density,
  );
}

function checkBlocks(c: Checker, value: unknown): ReportBlocks {
  const blocks = c.object('blocks', value);
  const names = c.names('blocks.names', blocks.names);
  return assemble(
    blocks,
    {
      names,
      frobeniusSq: c.matrix('blocks.frobeniusSq', blocks.frobeniusSq, names.length),
      stderr: c.matrix('blocks.stderr', blocks.stderr, names.length),
      offDiagonalRatio: c.ratio('blocks.offDiagonalRatio', blocks.offDiagonalRatio),
      matvecs: c.optional(blocks, 'matvecs', (m) => c.integer('blocks.matvecs', m, 0)),
      method: c.optional(blocks, 'method', (m) =>
        m === 'exact' || m === 'randomized'
          ? m
          : c.fail('blocks.method', "'exact' or 'randomized'", m),
      ),
      withinLayer: c.optional(blocks, 'withinLayer', (v) => checkPairs(c, 'blocks.withinLayer', v)),
      crossLayer: c.optional(blocks, 'crossLayer', (v) => checkPairs(c, 'blocks.crossLayer', v)),
      meanAbs: c.optional(blocks, 'meanAbs', (v) => c.matrix('blocks.meanAbs', v, names.length)),
    },
    KNOWN.blocks,
  );
}

function checkPairs(c: Checker, field: string, value: unknown): ReportPairStatistics {
  const pairs = c.object(field, value);
  return assemble(
    pairs,
    {
      pairs: c.integer(`${field}.pairs`, pairs.pairs, 0),
      meanRatio: c.number(`${field}.meanRatio`, pairs.meanRatio),
      massRatio: c.number(`${field}.massRatio`, pairs.massRatio),
      massRatioStderr: c.number(`${field}.massRatioStderr`, pairs.massRatioStderr),
    },
    KNOWN.pairs,
  );
}

function checkLayers(c: Checker, value: unknown): ReportLayer[] {
  const seen = new Set<string>();
  return c.array('layers', value).map((raw, i) => {
    const where = `layers[${i}]`;
    const layer = c.object(where, raw);
    const name = c.string(`${where}.name`, layer.name);
    if (seen.has(name)) c.fail(`${where}.name`, 'a layer name not used before', name);
    seen.add(name);
    return assemble<ReportLayer>(
      layer,
      {
        name,
        lambdaMax: c.number(`${where}.lambdaMax`, layer.lambdaMax),
        trace: c.number(`${where}.trace`, layer.trace),
        negativeMass: c.ratio(`${where}.negativeMass`, layer.negativeMass),
        method: c.optional(layer, 'method', (m) => checkLayerMethod(c, `${where}.method`, m)),
        ...optionalNumbers(
          c,
          where,
          layer,
          ['lambdaMin', 'tracePerParameter', 'bulkEdge'],
          'number',
        ),
        ...optionalNumbers(
          c,
          where,
          layer,
          [
            'traceStderr',
            'frobeniusSq',
            'frobeniusSqStderr',
            'spectralEntropy',
            'effectiveRank',
            'participationRatio',
            'stableRank',
            'gaussNewtonGap',
            'gaussNewtonGapStderr',
          ],
          'nonNegative',
        ),
        negativeTraceMass: c.optional(layer, 'negativeTraceMass', (v) =>
          c.ratio(`${where}.negativeTraceMass`, v),
        ),
        outlierCount: c.optional(layer, 'outlierCount', (v) =>
          c.integer(`${where}.outlierCount`, v, 0),
        ),
        matvecs: c.optional(layer, 'matvecs', (m) => c.integer(`${where}.matvecs`, m, 0)),
      },
      KNOWN.layer,
    );
  });
}

/** The optional numeric fields `keys` of `source`, checked as numbers or as numbers >= 0. */
function optionalNumbers(
  c: Checker,
  where: string,
  source: Json,
  keys: readonly string[],
  kind: 'number' | 'nonNegative',
): Record<string, number | undefined> {
  return Object.fromEntries(
    keys.map((key) => [key, c.optional(source, key, (v) => c[kind](`${where}.${key}`, v))]),
  );
}

function checkLayerMethod(c: Checker, field: string, value: unknown): LayerMethod {
  if (value !== 'exact' && value !== 'stochastic') c.fail(field, '"exact" or "stochastic"', value);
  return value as LayerMethod;
}

function checkLayerCoupling(c: Checker, value: unknown): ReportLayerCoupling {
  const coupling = c.object('layerCoupling', value);
  const names = c.names('layerCoupling.names', coupling.names);
  return assemble(
    coupling,
    {
      names,
      frobeniusSq: c.matrix('layerCoupling.frobeniusSq', coupling.frobeniusSq, names.length),
      stderr: c.matrix('layerCoupling.stderr', coupling.stderr, names.length),
      normalized: c.matrix('layerCoupling.normalized', coupling.normalized, names.length),
      method: checkLayerMethod(c, 'layerCoupling.method', coupling.method),
      matvecs: c.optional(coupling, 'matvecs', (m) => c.integer('layerCoupling.matvecs', m, 0)),
    },
    KNOWN.layerCoupling,
  );
}

function checkGaussNewtonGap(c: Checker, value: unknown): ReportGaussNewtonGap {
  const gap = c.object('gaussNewtonGap', value);
  return assemble(
    gap,
    {
      ratio: c.nonNegative('gaussNewtonGap.ratio', gap.ratio),
      stderr: c.nonNegative('gaussNewtonGap.stderr', gap.stderr),
      method: checkLayerMethod(c, 'gaussNewtonGap.method', gap.method),
      matvecs: c.optional(gap, 'matvecs', (m) => c.integer('gaussNewtonGap.matvecs', m, 0)),
    },
    KNOWN.gaussNewtonGap,
  );
}

function check(c: Checker, value: unknown): CurvatureReport {
  const report = c.object('(report)', value);
  if (report.schemaVersion !== REPORT_SCHEMA_VERSION) {
    const hint =
      typeof report.schemaVersion === 'number' && report.schemaVersion > REPORT_SCHEMA_VERSION
        ? ' (written by a newer hessian-probe)'
        : '';
    c.fail('schemaVersion', `${REPORT_SCHEMA_VERSION}${hint}`, report.schemaVersion);
  }
  const timestamp = c.string('timestamp', report.timestamp);
  if (!ISO_8601.test(timestamp) || !Number.isFinite(Date.parse(timestamp))) {
    c.fail('timestamp', 'an ISO 8601 date-time such as "2025-01-31T12:00:00.000Z"', timestamp);
  }
  const kind = c.optional(report, 'kind', (k) => {
    if (k !== 'hessian' && k !== 'ggn') c.fail('kind', '"hessian" or "ggn"', k);
    return k as CurvatureKind;
  });
  const model = c.object('model', report.model);
  const parameterCount = c.integer('model.parameterCount', model.parameterCount, 1);
  const probe = c.object('probe', report.probe);
  const seconds = c.nonNegative('seconds', report.seconds);
  if (Number.isNaN(seconds)) c.fail('seconds', 'a number >= 0', seconds);
  return assemble(
    report,
    {
      schemaVersion: REPORT_SCHEMA_VERSION,
      epoch: c.integer('epoch', report.epoch, 0),
      step: c.integer('step', report.step, 0),
      batch: c.optional(report, 'batch', (b) => c.integer('batch', b, 0)),
      timestamp,
      wallSeconds: c.optional(report, 'wallSeconds', (w) => c.nonNegative('wallSeconds', w)),
      kind,
      model: assemble(
        model,
        {
          name: c.string('model.name', model.name),
          parameterCount,
          layout: checkLayout(c, model.layout, parameterCount),
        },
        KNOWN.model,
      ),
      probe: assemble(
        probe,
        {
          size: c.integer('probe.size', probe.size, 1),
          seed: c.integer('probe.seed', probe.seed),
        },
        KNOWN.probe,
      ),
      loss: c.number('loss', report.loss),
      eigen: c.optional(report, 'eigen', (v) => checkEigen(c, v)),
      lambdaMin: c.optional(report, 'lambdaMin', (v) => checkLambdaMin(c, v)),
      trace: c.optional(report, 'trace', (v) => checkTrace(c, v)),
      density: c.optional(report, 'density', (v) => checkDensity(c, v)),
      blocks: c.optional(report, 'blocks', (v) => checkBlocks(c, v)),
      layers: c.optional(report, 'layers', (v) => checkLayers(c, v)),
      layerCoupling: c.optional(report, 'layerCoupling', (v) => checkLayerCoupling(c, v)),
      gaussNewtonGap: c.optional(report, 'gaussNewtonGap', (v) => checkGaussNewtonGap(c, v)),
      kronecker: c.optional(report, 'kronecker', (v) => checkKronecker(c, v)),
      classes: c.optional(report, 'classes', (v) => checkClasses(c, v)),
      seconds,
      matvecs: c.integer('matvecs', report.matvecs, 0),
    },
    KNOWN.report,
  );
}

function checkKronecker(c: Checker, value: unknown): ReportKroneckerLayer[] {
  const seen = new Set<string>();
  return c.array('kronecker', value).map((raw, i) => {
    const where = `kronecker[${i}]`;
    const layer = c.object(where, raw);
    const name = c.string(`${where}.name`, layer.name);
    if (seen.has(name)) c.fail(`${where}.name`, 'a layer name not used before', name);
    seen.add(name);
    const oneOf = <T extends string>(field: string, options: readonly T[]): T => {
      const v = layer[field];
      return (options as readonly unknown[]).includes(v)
        ? (v as T)
        : c.fail(`${where}.${field}`, options.map((o) => `'${o}'`).join(' or '), v);
    };
    return assemble<ReportKroneckerLayer>(
      layer,
      {
        name,
        kind: oneOf('kind', ['dense', 'conv2d']),
        method: oneOf('method', ['dense', 'randomized']),
        exact: c.boolean(`${where}.exact`, layer.exact),
        relativeError: c.number(`${where}.relativeError`, layer.relativeError),
        relativeErrorStderr: c.nonNegative(
          `${where}.relativeErrorStderr`,
          layer.relativeErrorStderr,
        ),
        overlap: c.ratio(`${where}.overlap`, layer.overlap),
        inputDominance: c.number(`${where}.inputDominance`, layer.inputDominance),
        rank1Energy: c.ratio(`${where}.rank1Energy`, layer.rank1Energy),
        outliers: c.integer(`${where}.outliers`, layer.outliers, 0),
        converged: c.optional(layer, 'converged', (v) => c.boolean(`${where}.converged`, v)),
        matvecs: c.integer(`${where}.matvecs`, layer.matvecs, 0),
      },
      KNOWN.kroneckerLayer,
    );
  });
}

function checkClasses(c: Checker, value: unknown): ReportClasses {
  const classes = c.object('classes', value);
  const fractions = c.object('classes.traceFractions', classes.traceFractions);
  return assemble(
    classes,
    {
      classes: c.integer('classes.classes', classes.classes, 2),
      trace: c.number('classes.trace', classes.trace),
      traceStderr: c.nonNegative('classes.traceStderr', classes.traceStderr),
      traceFractions: assemble(
        fractions,
        {
          g0: c.number('classes.traceFractions.g0', fractions.g0),
          g1: c.number('classes.traceFractions.g1', fractions.g1),
          g2: c.number('classes.traceFractions.g2', fractions.g2),
          g3: c.number('classes.traceFractions.g3', fractions.g3),
        },
        KNOWN.traceFractions,
      ),
      classMeanOverlap: c.ratio('classes.classMeanOverlap', classes.classMeanOverlap),
      classMeanOverlapHessian: c.optional(classes, 'classMeanOverlapHessian', (v) =>
        c.ratio('classes.classMeanOverlapHessian', v),
      ),
      overlapK: c.integer('classes.overlapK', classes.overlapK, 0),
      level1Values: c.numbers('classes.level1Values', classes.level1Values),
      level2Values: c.numbers('classes.level2Values', classes.level2Values),
      gaussNewtonValues: c.numbers('classes.gaussNewtonValues', classes.gaussNewtonValues),
      hessianValues: c.optional(classes, 'hessianValues', (v) =>
        c.numbers('classes.hessianValues', v),
      ),
      eigengaps: c.array('classes.eigengaps', classes.eigengaps).map((raw, i) => {
        const where = `classes.eigengaps[${i}]`;
        const gap = c.object(where, raw);
        return assemble<ReportEigengap>(
          gap,
          {
            position: c.integer(`${where}.position`, gap.position, 1),
            ratio: c.number(`${where}.ratio`, gap.ratio),
          },
          KNOWN.eigengap,
        );
      }),
      matvecs: c.integer('classes.matvecs', classes.matvecs, 0),
    },
    KNOWN.classes,
  );
}

/**
 * Checks a report and returns a plain copy: Float64Arrays become number arrays, absent optional
 * fields are dropped, unknown fields are kept (deep-copied). The copy shares nothing with the
 * input, so later changes to the producer's arrays do not reach it.
 *
 * @throws {@link ReportFormatError} naming the first bad field, e.g. `eigen.values[2]` when the
 * eigenvalues are not descending.
 *
 * @example
 * ```ts
 * const report = normalizeReport({ ...fields, eigen: { values: result.values, ... } });
 * Array.isArray(report.eigen?.values); // true, even if result.values was a Float64Array
 * ```
 */
export function normalizeReport(report: CurvatureReportInput): CurvatureReport {
  return check(new Checker('encode', 'normalizeReport'), report);
}

/**
 * Encodes a report as compact JSON on one line (no raw newline), so it can be one line of a
 * JSONL file. It is checked first ({@link normalizeReport}), so the text always decodes.
 *
 * Numbers are written bit-exactly: finite values in JavaScript's shortest round-trip form,
 * −0 as `-0`, and NaN, Infinity and −Infinity as the JSON strings `"NaN"`, `"Infinity"` and
 * `"-Infinity"` (never `null`), in known and unknown fields alike. Only the NaN payload bits
 * are not kept (every NaN is read back as the canonical NaN).
 *
 * @throws {@link ReportFormatError} when the report is malformed or an unknown field holds a
 * value JSON cannot carry (a function, a bigint, a symbol).
 *
 * @example
 * ```ts
 * await appendFile('reports.jsonl', `${encodeReport(report)}\n`);
 * encodeReport({ ...report, trace: { estimate: 3, stderr: Number.NaN, matvecs: 1 } });
 * // '…"trace":{"estimate":3,"stderr":"NaN","matvecs":1}…'
 * ```
 */
export function encodeReport(report: CurvatureReportInput): string {
  const out: string[] = [];
  write(normalizeReport(report), '', out);
  return out.join('');
}

function write(value: unknown, field: string, out: string[]): void {
  switch (typeof value) {
    case 'number':
      if (Number.isFinite(value)) out.push(Object.is(value, -0) ? '-0' : JSON.stringify(value));
      else out.push(Number.isNaN(value) ? '"NaN"' : value > 0 ? '"Infinity"' : '"-Infinity"');
      return;
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'object':
      if (value === null) {
        out.push('null');
        return;
      }
      if (Array.isArray(value)) {
        out.push('[');
        value.forEach((item, i) => {
          if (i > 0) out.push(',');
          write(item, `${field}[${i}]`, out);
        });
        out.push(']');
        return;
      }
      if (isPlainObject(value)) {
        out.push('{');
        let first = true;
        for (const [key, item] of Object.entries(value)) {
          if (item === undefined) continue;
          if (!first) out.push(',');
          first = false;
          out.push(JSON.stringify(key), ':');
          write(item, field === '' ? key : `${field}.${key}`, out);
        }
        out.push('}');
        return;
      }
      break;
  }
  throw new ReportFormatError(
    `encodeReport: expected ${field} to be a JSON value (number, string, boolean, null, array or plain object), got ${describe(value)}`,
    field,
  );
}

/**
 * Decodes and checks one report written by {@link encodeReport}: the strings `"NaN"`,
 * `"Infinity"` and `"-Infinity"` become numbers again wherever the schema has a number, and only
 * there (a model called "NaN" keeps its name). Unknown fields, e.g. from a newer analysis, are
 * kept as parsed.
 *
 * @throws {@link ReportFormatError} for text that is not JSON (`field` `'(json)'`), a
 * `schemaVersion` other than {@link REPORT_SCHEMA_VERSION}, or a missing, mistyped or
 * inconsistent field (named in `field`).
 *
 * @example
 * ```ts
 * const report = decodeReport(line);
 * report.trace?.stderr; // NaN if it was written as "NaN"
 * ```
 */
export function decodeReport(text: string): CurvatureReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ReportFormatError(
      `decodeReport: expected JSON text, got ${describe(text)} (${(error as Error).message})`,
      '(json)',
      { cause: error },
    );
  }
  return check(new Checker('decode', 'decodeReport'), parsed);
}
