/**
 * `@hessian-probe/core`: curvature numerics on any symmetric linear operator, in float64.
 *
 * The vocabulary ({@link LinearOperator}, {@link ParameterLayout}, a seeded generator, typed
 * errors), the Krylov methods (Lanczos, restarted Lanczos eigenpairs, the tridiagonal solver),
 * and the estimators built on them (spectral density by stochastic Lanczos quadrature, trace,
 * diagonal and block norms, spectral summaries). Tensor-level code lives in the subpath
 * `@hessian-probe/core/tfjs`; test helpers in `@hessian-probe/core/testing`.
 *
 * @packageDocumentation
 */
export {
  type AnalysesResult,
  type AnalysisPlan,
  type AnalysisProgress,
  type AnalyzeOperatorOptions,
  type AnalyzeOptions,
  analyze,
  analyzeOperator,
  assembleReport,
  checkNeeds,
  type KnownModel,
  type PreparedAnalyses,
  parseAnalysisRequest,
  prepareAnalyses,
  type ReportBody,
  type ReportMeta,
  reportOf,
} from './analysis/analyze.js';
export type { AnalysisContext, TfjsModelAccess } from './analysis/context.js';
export {
  ANALYSES,
  ANALYSIS_NAMES,
  type AnalysisName,
  type AnalysisOptions,
  type AnalysisOptionsInput,
  type AnalysisRequest,
  analysisDefaults,
  analysisRequestJsonSchema,
} from './analysis/registry.js';
export { analysisSeeds } from './analysis/seeds.js';
export type { Analysis, AnalysisNeeds, AnalysisOutput } from './analysis/types.js';
export {
  type BlockFrobenius,
  type BlockStructure,
  type BlockStructureOptions,
  blockMeanAbs,
  blockStructure,
  type LayerBlockStatistics,
  layerOfBlock,
  type PairStatistics,
} from './block-structure.js';
export {
  type BlockNorms,
  type BlockNormsOptions,
  type BlockRatios,
  blockNorms,
  blockRatios,
  type ExactBlockNorms,
  exactBlockNorms,
} from './blocks.js';
export { type DenseMatrixOptions, denseMatrix } from './dense.js';
export {
  densityResolution,
  type NegativeThreshold,
  negativeCutoff,
  ritzZeroTolerance,
  type SmoothDensityOptions,
  type SpectralDensityOptions,
  type SpectralDensityResult,
  type SpectralQuadrature,
  smoothDensity,
  spectralDensity,
  spectralMeasure,
} from './density.js';
export {
  type EigenpairsResult,
  type EigenpairTarget,
  type TopEigenpairsOptions,
  topEigenpairs,
} from './eigenpairs.js';
export {
  DimensionError,
  HessianProbeError,
  LayoutError,
  MatvecError,
  NonFiniteLossError,
  OptionError,
  SizeLimitError,
  SymmetryError,
} from './errors.js';
export {
  type LanczosOptions,
  type LanczosResult,
  lanczos,
  REORTHOGONALIZATIONS,
  type Reorthogonalization,
} from './lanczos.js';
export {
  type GaussNewtonGap,
  type GaussNewtonGapOptions,
  gaussNewtonGap,
  type LayerCoupling,
  type LayerCouplingOptions,
  type LayerSpectraOptions,
  type LayerSpectraResult,
  type LayerSpectrum,
  type LayerSpectrumMethod,
  type LayerSpectrumOptions,
  layerCoupling,
  layerSeed,
  layerSpectra,
  layerSpectrum,
  type NamedLayerSpectrum,
} from './layer-spectra.js';
export {
  type BlockSize,
  createLayout,
  embedBlock,
  findBlock,
  type LayoutBlock,
  layoutFromSizes,
  type ParameterLayout,
  sliceBlock,
  sliceBlocks,
} from './layout.js';
export {
  checkedMatvec,
  type DenseOperatorOptions,
  denseOperator,
  FLOAT32_PRECISION,
  FLOAT64_PRECISION,
  type LinearOperator,
  operatorPrecision,
  restrictOperator,
  scaleOperator,
  shiftOperator,
} from './operator.js';
export { type PowerIterationOptions, powerIteration } from './power-iteration.js';
export { createRandom, Random } from './random.js';
export {
  type CurvatureKind,
  type CurvatureReport,
  type CurvatureReportInput,
  decodeReport,
  encodeReport,
  normalizeReport,
  REPORT_SCHEMA,
  REPORT_SCHEMA_VERSION,
  type ReportBlocks,
  type ReportClasses,
  type ReportDensity,
  type ReportEigen,
  ReportFormatError,
  type ReportGaussNewtonGap,
  type ReportKroneckerLayer,
  type ReportLambdaMin,
  type ReportLayer,
  type ReportLayerCoupling,
  type ReportSection,
  type ReportTrace,
  type ReportTraceMethod,
  reportJsonSchema,
} from './report.js';
export {
  type SpectralQuadratureInput,
  type SpectralSummary,
  spectralSummary,
} from './summary.js';
export {
  type DiagonalEstimate,
  type EstimateDiagonalOptions,
  type EstimateTraceOptions,
  estimateDiagonal,
  estimateTrace,
  type TraceEstimate,
  type TraceMethod,
} from './trace.js';
export {
  TridiagonalConvergenceError,
  type TridiagonalEigen,
  type TridiagonalEigenOptions,
  tridiagonalEigen,
} from './tridiagonal.js';
export { type DiscreteMeasure, wasserstein1 } from './wasserstein.js';
