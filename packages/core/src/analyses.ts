/**
 * The analyses of a curvature report, in one place: from an operator, its layout and a set of
 * options to the analysis sections of a {@link CurvatureReport}. The fit() callback and the ONNX
 * adapter both call {@link runAnalyses}, so no adapter reimplements numerics (DESIGN.md).
 */

import { blockMeanAbs, blockStructure } from './block-structure.js';
import { blockNorms, exactBlockNorms } from './blocks.js';
import { denseMatrix, symmetricPart } from './dense.js';
import { negativeCutoff, spectralDensity } from './density.js';
import { topEigenpairs } from './eigenpairs.js';
import { DimensionError, OptionError } from './errors.js';
import { layerSpectra, type NamedLayerSpectrum } from './layer-spectra.js';
import { createLayout, type ParameterLayout } from './layout.js';
import { type LinearOperator, operatorPrecision } from './operator.js';
import { checkInteger, checkOneOf, checkPositive } from './options.js';
import { checkSeed, createRandom } from './random.js';
import type {
  ReportBlocks,
  ReportDensity,
  ReportEigen,
  ReportGaussNewtonGap,
  ReportLayer,
  ReportLayerCoupling,
  ReportTrace,
} from './report.js';
import { estimateTrace, type TraceMethod } from './trace.js';

/** Options of the top-eigenvalue section of {@link runAnalyses} ({@link topEigenpairs}). */
export interface EigenAnalysisOptions {
  /** Number of largest eigenvalues, an integer in [1, dim]. */
  k: number;
  /**
   * Relative residual tolerance of {@link topEigenpairs} (default 1e-4). Not the eigensolver's
   * own 1e-8: operators computed in float32 (every tfjs or ONNX model) cannot meet tolerances
   * below ~1e-6, and at 1e-4 a separated eigenvalue is already accurate to ~(1e-4)²·‖A‖/gap.
   */
  tol?: number;
  /** Matvec budget of the eigensolver (default {@link topEigenpairs}'s: max(1000, 10·subspace)). */
  maxMatvecs?: number;
}

/** Options of the trace section of {@link runAnalyses} ({@link estimateTrace}). */
export interface TraceAnalysisOptions {
  /** Matrix-vector products to spend: >= 3 for `'hutch++'`, >= 1 otherwise. */
  matvecs: number;
  /** Estimator (default `'auto'`: the better of the two for the operator, see estimateTrace). */
  method?: TraceMethod;
}

/** Options of the spectral-density section of {@link runAnalyses} ({@link spectralDensity}). */
export interface DensityAnalysisOptions {
  /** Random probe vectors, an integer >= 1; one Lanczos run each. */
  probes: number;
  /** Lanczos steps per probe, an integer >= 1 (capped at dim); one matvec each. */
  steps: number;
  /** Points of the density grid, an integer >= 2 (default 256: the report carries the curve). */
  gridSize?: number;
}

/** Options of the block-norm section of {@link runAnalyses} ({@link blockNorms}). */
export interface BlocksAnalysisOptions {
  /**
   * The blocks, a layout over the same coordinates as the operator (e.g. one block per layer
   * where the operator's own layout has one per tensor). Default: the operator's layout.
   */
  layout?: ParameterLayout;
  /**
   * Gaussian probes per block, an integer >= 1 (>= 2 for finite standard errors). When the
   * operator's dimension is at most `probes` × the number of blocks, the matrix is assembled
   * instead (dim products, no more than the probes would cost) and the norms are exact.
   */
  probes: number;
}

/** Options of the per-layer section of {@link runAnalyses}. */
export interface LayersAnalysisOptions {
  /**
   * The layers, a layout over the same coordinates as the operator; each block's own diagonal
   * block of the operator is analysed. Default: the operator's layout.
   */
  layout?: ParameterLayout;
  /** Lanczos probes per stochastic layer (every metric but `trace`), an integer >= 1 (default 1). */
  probes?: number;
  /** Lanczos steps per probe, an integer >= 2 (default 16; capped at the layer's size). */
  steps?: number;
  /** Hutch++ products per layer for `trace`, an integer >= 3 (default 12). */
  traceMatvecs?: number;
  /**
   * Largest layer assembled densely (exact metrics, one matvec per entry), an integer >= 0.
   * Default `probes · steps + traceMatvecs`: no more products than the stochastic route.
   */
  maxExactDim?: number;
  /**
   * The Gauss–Newton operator over the same coordinates as the operator (e.g.
   * `modelCurvature(model, { …, kind: 'ggn' })`): when given, each layer gets
   * `gaussNewtonGap` = ‖H_ll − G_ll‖_F/‖G_ll‖_F and the result the overall
   * {@link AnalysesResult.gaussNewtonGap} (`gaussNewtonGap`). Its products count in
   * `matvecs`.
   */
  ggn?: LinearOperator;
  /**
   * Probes of each stochastic Gauss–Newton gap (layers above `maxExactDim`, and the whole
   * matrix when its dimension is above it), an integer >= 1 (default 8); one product of H
   * and one of G each.
   */
  gapProbes?: number;
  /**
   * Gaussian probes per layer for the coupling {@link AnalysesResult.layerCoupling}, an
   * integer >= 1: one product each (`layerCoupling`). When the operator's dimension is at most
   * `maxExactDim` the coupling is exact and costs no product: it is read from the matrix
   * assembled once for all the layers (as are the Gauss–Newton gaps, from G's, `dim`
   * products). Absent (default): no coupling.
   */
  couplingProbes?: number;
}

/** Options of {@link runAnalyses}: each section present runs, each absent one does not. */
export interface RunAnalysesOptions {
  eigen?: EigenAnalysisOptions;
  trace?: TraceAnalysisOptions;
  density?: DensityAnalysisOptions;
  blocks?: BlocksAnalysisOptions;
  layers?: LayersAnalysisOptions;
  /**
   * Seed of every random vector, a safe integer (default 0). Each section gets its own seed,
   * drawn from `createRandom(seed)` in the fixed order eigen, trace, density, blocks, layers
   * whether or not the section runs ({@link analysisSeeds}), so switching one section on or off
   * never changes another's numbers.
   */
  seed?: number;
  /** Clock in seconds for `seconds` (default `performance.now() / 1000`); injectable for tests. */
  now?: () => number;
}

/** The analysis sections of a {@link CurvatureReport}, with what they cost. */
export interface AnalysesResult {
  eigen?: ReportEigen;
  trace?: ReportTrace;
  density?: ReportDensity;
  blocks?: ReportBlocks;
  layers?: ReportLayer[];
  /** Coupling between the layers, when `layers.couplingProbes` is given. */
  layerCoupling?: ReportLayerCoupling;
  /** ‖H − G‖_F/‖G‖_F of the whole matrices, when `layers.ggn` is given. */
  gaussNewtonGap?: ReportGaussNewtonGap;
  /** Matrix-vector products of the whole run (the sum over sections). */
  matvecs: number;
  /** Wall-clock seconds of the whole run. */
  seconds: number;
}

/** The seed each section of {@link runAnalyses} uses, derived from one seed. */
export interface AnalysisSeeds {
  eigen: number;
  trace: number;
  density: number;
  blocks: number;
  layers: number;
}

const WHERE = 'runAnalyses';
const SECTIONS = ['eigen', 'trace', 'density', 'blocks', 'layers'] as const;

/**
 * The per-section seeds of {@link runAnalyses}: safe integers drawn in the order eigen, trace,
 * density, blocks, layers from `createRandom(seed)` (53 random bits each).
 *
 * @throws {@link OptionError} when `seed` is not a safe integer.
 *
 * @example
 * ```ts
 * const { trace } = analysisSeeds(7);
 * await estimateTrace(op, { matvecs: 30, seed: trace }); // the numbers runAnalyses reports
 * ```
 */
export function analysisSeeds(seed: number): AnalysisSeeds {
  checkSeed(seed, WHERE);
  const rng = createRandom(seed);
  const draw = () => Math.floor(rng.uniform() * 2 ** 53);
  const [eigen, trace, density, blocks, layers] = SECTIONS.map(draw);
  return { eigen, trace, density, blocks, layers };
}

/**
 * Runs the requested curvature analyses on one operator and returns them as the analysis
 * sections of a {@link CurvatureReport}, plain JSON-ready numbers:
 *
 * - `eigen`: the k largest eigenvalues, descending, with residual norms and `converged`, by
 *   thick-restart Lanczos ({@link topEigenpairs}).
 * - `trace`: Hutch++ (Meyer, Musco, Musco & Woodruff 2021) or Hutchinson ({@link estimateTrace}),
 *   with its standard error.
 * - `density`: the smoothed spectral density by stochastic Lanczos quadrature (Ubaru, Chen &
 *   Saad 2017; Ghorbani, Krishnan & Xiao 2019; {@link spectralDensity}), with the negative mass
 *   (see below) and the extreme Ritz values.
 * - `blocks`: the squared Frobenius norm of every block pair of a layout and the off-diagonal
 *   ratio (block probing, Dong et al. 2025; {@link blockNorms}), with the within-layer and
 *   cross-layer statistics of {@link blockStructure}; exact norms and the block-mean |A|
 *   heatmap ({@link blockMeanAbs}) when assembling the matrix costs no more than probing.
 * - `layers`: for each block of a layout, the local spectrum of its own diagonal block
 *   (`restrictOperator`; Bolshim & Kugaevskikh 2025): `lambdaMax`, `trace` and
 *   `negativeMass`, and the rest of the metric set of METHODS.md D at no extra product
 *   (`layerSpectrum`: `lambdaMin`, `tracePerParameter`, `frobeniusSq`,
 *   `negativeTraceMass`, `spectralEntropy`, `effectiveRank`, `participationRatio`,
 *   `stableRank`, `bulkEdge`, `outlierCount`, with `method` and their standard errors). A
 *   block of at most `maxExactDim` entries (default `probes · steps + traceMatvecs`) is
 *   assembled densely (one matvec per entry, no more than the stochastic route would spend)
 *   and its eigenvalues are exact up to the operator's rounding. A larger block gets `probes`
 *   Lanczos runs of `steps` steps ({@link spectralDensity}): `lambdaMax` is the largest Ritz
 *   value (a lower bound, which Lanczos approaches first) and `negativeMass` comes from the
 *   quadrature; `trace` is a Hutch++ estimate with `traceMatvecs` products (far below
 *   Hutchinson's error on blocks with a few large eigenvalues). With `ggn`, each layer's
 *   Gauss–Newton gap and the overall one (`gaussNewtonGap`); with `couplingProbes`, the
 *   normalised coupling between the layers, in `layerCoupling`.
 *
 * Negative mass, in both sections, is the fraction of eigenvalues below −σ_G, where
 * σ_G = √(1e-5 · max(1, λmax − λmin)) is the kernel width of Ghorbani, Krishnan & Xiao (2019)
 * over the span of the (Ritz or exact) eigenvalues: the resolution at which the density is
 * drawn. Eigenvalues closer to 0 are not counted as negative. This is the `'resolution'` rule
 * of {@link negativeCutoff}, the library's one definition: the quadrature routes take
 * {@link spectralDensity}'s `negativeMass` with `negativeThreshold: 'resolution'`, the dense
 * route applies the same cutoff to its exact eigenvalues. A network's Hessian has most of
 * its eigenvalues in a cluster near 0, which the quadrature puts on one node whose sign it
 * cannot resolve (measured on the MNIST demo's MLP after two epochs: weight 0.975 at 5e-5,
 * with λmax ≈ 5.6); counting below 0 instead swung between 0.009 and 0.97 from one epoch to
 * the next on the sign of that node.
 *
 * Every option of every section is checked before the first matvec. Matvecs are counted on the
 * operator itself, so `matvecs` is what the run cost.
 *
 * @throws {@link OptionError} for a bad option (naming the section), e.g. k > dim or a trace
 *   budget below the method's minimum; {@link DimensionError} or {@link LayoutError} for a
 *   layout that does not tile the operator's dimension.
 * @throws {@link MatvecError} (from the section that met it) when a product throws, has the
 *   wrong length or is not finite; the results of earlier sections are lost with it.
 *
 * @example
 * ```ts
 * const { operator, layout } = modelCurvature(model, { tf, x, y });
 * const result = await runAnalyses(operator, layout, {
 *   eigen: { k: 3 },
 *   trace: { matvecs: 30 },
 *   layers: { layout: modelLayout(model, 'layer').layout },
 *   seed: 1,
 * });
 * console.log(result.eigen?.values, result.trace?.estimate, result.matvecs);
 * ```
 */
export async function runAnalyses(
  operator: LinearOperator,
  layout: ParameterLayout,
  options: RunAnalysesOptions = {},
): Promise<AnalysesResult> {
  const checked = checkOptions(operator, layout, options);
  const { now = defaultNow } = options;
  const started = now();
  const seeds = analysisSeeds(options.seed ?? 0);
  let matvecs = 0;
  const count = (inner: LinearOperator): LinearOperator => ({
    dim: inner.dim,
    // The declared precision is kept: Lanczos and the negative-mass bands depend on it.
    ...(inner.precision === undefined ? {} : { precision: inner.precision }),
    matvec(v) {
      matvecs++;
      return inner.matvec(v);
    },
  });
  const op = count(operator);
  const result: Omit<AnalysesResult, 'matvecs' | 'seconds'> = {};

  if (checked.eigen) {
    const { k, tol, maxMatvecs } = checked.eigen;
    const run = await topEigenpairs(op, {
      k,
      tol,
      seed: seeds.eigen,
      ...(maxMatvecs === undefined ? {} : { maxMatvecs }),
    });
    result.eigen = {
      values: Array.from(run.values),
      residuals: Array.from(run.residuals),
      converged: run.converged,
      matvecs: run.matvecs,
    };
  }
  if (checked.trace) {
    const run = await estimateTrace(op, { ...checked.trace, seed: seeds.trace });
    result.trace = {
      estimate: run.estimate,
      stderr: run.stderr,
      matvecs: run.matvecs,
      method: run.method,
    };
  }
  if (checked.density) {
    const { probes, steps, gridSize } = checked.density;
    const run = await spectralDensity(op, {
      probes,
      steps,
      gridSize,
      seed: seeds.density,
      negativeThreshold: NEGATIVE_THRESHOLD,
    });
    result.density = {
      grid: Array.from(run.grid),
      values: Array.from(run.density),
      sigma: run.sigma,
      negativeMass: run.negativeMass,
      lambdaMin: run.lambdaMin,
      lambdaMax: run.lambdaMax,
      negativeCutoff: -negativeCutoff(NEGATIVE_THRESHOLD, {
        lambdaMin: run.lambdaMin,
        lambdaMax: run.lambdaMax,
        steps,
        precision: operatorPrecision(op),
      }),
      matvecs: run.matvecs,
    };
  }
  if (checked.blocks) {
    result.blocks = await blockSection(op, checked.blocks, seeds.blocks);
  }
  if (checked.layers) {
    const { layout: layerLayout, ggn, couplingProbes, ...budget } = checked.layers;
    const run = await layerSpectra(op, layerLayout, {
      ...budget,
      seed: seeds.layers,
      ...(ggn === undefined ? {} : { ggn: count(ggn) }),
      ...(couplingProbes === undefined ? {} : { couplingProbes }),
    });
    result.layers = run.layers.map(reportLayer);
    if (run.coupling) {
      const { names, frobeniusSq, stderr, normalized, method } = run.coupling;
      result.layerCoupling = {
        names,
        frobeniusSq,
        stderr,
        normalized,
        method,
        matvecs: run.coupling.matvecs,
      };
    }
    if (run.gaussNewtonGap) {
      const { ratio, stderr, method } = run.gaussNewtonGap;
      result.gaussNewtonGap = { ratio, stderr, method, matvecs: run.gaussNewtonGap.matvecs };
    }
  }
  return { ...result, matvecs, seconds: Math.max(0, now() - started) };
}

/**
 * The blocks section: exact norms from the assembled matrix when that costs no more products
 * than the randomized route (dim <= probes · blocks), else {@link blockNorms}; then the
 * within- and cross-layer statistics of {@link blockStructure}.
 */
async function blockSection(
  op: LinearOperator,
  options: { layout: ParameterLayout; probes: number },
  seed: number,
): Promise<ReportBlocks> {
  const { layout, probes } = options;
  if (layout.dim <= probes * layout.blocks.length) {
    const n = layout.dim;
    const a = symmetricPart(await denseMatrix(op, { maxDim: n }), n);
    const exact = exactBlockNorms(a, n, layout);
    const structure = blockStructure(exact);
    return {
      names: exact.names,
      frobeniusSq: exact.frobeniusSq,
      stderr: exact.frobeniusSq.map((row) => row.map(() => 0)),
      offDiagonalRatio: exact.offDiagonalRatio,
      matvecs: n,
      method: 'exact',
      withinLayer: structure.withinLayer,
      crossLayer: structure.crossLayer,
      meanAbs: blockMeanAbs(a, n, layout),
    };
  }
  const run = await blockNorms(op, layout, { probes, seed });
  const structure = blockStructure(run);
  return {
    names: run.names,
    frobeniusSq: run.frobeniusSq,
    stderr: run.stderr,
    offDiagonalRatio: run.offDiagonalRatio,
    matvecs: run.matvecs,
    method: 'randomized',
    withinLayer: structure.withinLayer,
    crossLayer: structure.crossLayer,
  };
}

function defaultNow(): number {
  return performance.now() / 1000;
}

/** One layer of {@link layerSpectra} as a report entry (the gap as its ratio and stderr). */
function reportLayer(layer: NamedLayerSpectrum): ReportLayer {
  const { dim: _dim, gaussNewtonGap: gap, ...metrics } = layer;
  return {
    ...metrics,
    ...(gap === undefined ? {} : { gaussNewtonGap: gap.ratio, gaussNewtonGapStderr: gap.stderr }),
  };
}

/**
 * The negative-mass rule of every section of {@link runAnalyses}: eigenvalues resolvably below
 * zero, below −σ_G (see {@link negativeCutoff}), as report.ts documents.
 */
const NEGATIVE_THRESHOLD = 'resolution';

interface CheckedOptions {
  eigen?: { k: number; tol: number; maxMatvecs?: number };
  trace?: { matvecs: number; method: TraceMethod };
  density?: { probes: number; steps: number; gridSize: number };
  blocks?: { layout: ParameterLayout; probes: number };
  layers?: {
    layout: ParameterLayout;
    probes: number;
    steps: number;
    traceMatvecs: number;
    maxExactDim: number;
    gapProbes: number;
    ggn?: LinearOperator;
    couplingProbes?: number;
  };
}

const KNOWN = [...SECTIONS, 'seed', 'now'];

function checkOptions(
  operator: LinearOperator,
  layout: ParameterLayout,
  options: RunAnalysesOptions,
): CheckedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError(`${WHERE}: expected an options object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) {
      throw new OptionError(
        `${WHERE}: expected options among ${KNOWN.map((k) => `'${k}'`).join(', ')}, got '${key}'`,
      );
    }
  }
  checkInteger(WHERE, 'operator.dim', operator?.dim, 1);
  const dim = operator.dim;
  const base = checkLayout(layout, dim, 'layout');
  checkSeed(options.seed ?? 0, WHERE);
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new OptionError(`${WHERE}: expected now to be a function, got ${typeof options.now}`);
  }
  const checked: CheckedOptions = {};
  const { eigen, trace, density, blocks, layers } = options;
  if (eigen !== undefined) {
    section('eigen', eigen);
    const { k, tol = 1e-4, maxMatvecs } = eigen;
    checkInteger(WHERE, 'eigen.k', k, 1, dim);
    checkPositive(WHERE, 'eigen.tol', tol);
    if (maxMatvecs !== undefined) checkInteger(WHERE, 'eigen.maxMatvecs', maxMatvecs, k);
    checked.eigen = { k, tol, ...(maxMatvecs === undefined ? {} : { maxMatvecs }) };
  }
  if (trace !== undefined) {
    section('trace', trace);
    const { matvecs, method = 'auto' } = trace;
    checkOneOf(WHERE, 'trace.method', method, ['auto', 'hutch++', 'hutchinson']);
    checkInteger(WHERE, 'trace.matvecs', matvecs, method === 'hutch++' ? 3 : 1);
    checked.trace = { matvecs, method };
  }
  if (density !== undefined) {
    section('density', density);
    const { probes, steps, gridSize = 256 } = density;
    checkInteger(WHERE, 'density.probes', probes, 1);
    checkInteger(WHERE, 'density.steps', steps, 1);
    checkInteger(WHERE, 'density.gridSize', gridSize, 2);
    checked.density = { probes, steps, gridSize };
  }
  if (blocks !== undefined) {
    section('blocks', blocks);
    checkInteger(WHERE, 'blocks.probes', blocks.probes, 1);
    const blockLayout =
      blocks.layout === undefined ? base : checkLayout(blocks.layout, dim, 'blocks.layout');
    checked.blocks = { layout: blockLayout, probes: blocks.probes };
  }
  if (layers !== undefined) {
    section('layers', layers);
    const { probes = 1, steps = 16, traceMatvecs = 12 } = layers;
    checkInteger(WHERE, 'layers.probes', probes, 1);
    checkInteger(WHERE, 'layers.steps', steps, 2);
    checkInteger(WHERE, 'layers.traceMatvecs', traceMatvecs, 3);
    const {
      maxExactDim = probes * steps + traceMatvecs,
      gapProbes = 8,
      ggn,
      couplingProbes,
    } = layers;
    checkInteger(WHERE, 'layers.maxExactDim', maxExactDim, 0);
    checkInteger(WHERE, 'layers.gapProbes', gapProbes, 1);
    if (couplingProbes !== undefined) {
      checkInteger(WHERE, 'layers.couplingProbes', couplingProbes, 1);
    }
    if (ggn !== undefined && (typeof ggn !== 'object' || ggn === null || ggn.dim !== dim)) {
      throw new DimensionError(
        `${WHERE}: expected layers.ggn to be an operator of dimension ${dim} (the operator's), got ${ggn?.dim}`,
      );
    }
    const layerLayout =
      layers.layout === undefined ? base : checkLayout(layers.layout, dim, 'layers.layout');
    checked.layers = {
      layout: layerLayout,
      probes,
      steps,
      traceMatvecs,
      maxExactDim,
      gapProbes,
      ...(ggn === undefined ? {} : { ggn }),
      ...(couplingProbes === undefined ? {} : { couplingProbes }),
    };
  }
  return checked;
}

function section(name: string, value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OptionError(
      `${WHERE}: expected ${name} to be an options object, got ${String(value)}`,
    );
  }
}

/** Checks that `layout` tiles [0, dim) and returns it. */
function checkLayout(layout: ParameterLayout, dim: number, name: string): ParameterLayout {
  if (typeof layout !== 'object' || layout === null || !Array.isArray(layout.blocks)) {
    throw new OptionError(
      `${WHERE}: expected ${name} to be a ParameterLayout, got ${String(layout)}`,
    );
  }
  if (layout.dim !== dim) {
    throw new DimensionError(
      `${WHERE}: expected ${name} of dimension ${dim} (the operator's), got ${layout.dim}`,
    );
  }
  createLayout(layout.blocks, layout.dim);
  return layout;
}
