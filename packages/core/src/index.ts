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
  type AnalysisProgress,
  type AnalyzeOperatorOptions,
  analyzeOperator,
} from './analysis/analyze.js';
export type { ReportClassBlocks } from './analysis/class-blocks.js';
export {
  ANALYSIS_NAMES,
  type AnalysisName,
  type AnalysisOptions,
  type AnalysisOptionsInput,
  type AnalysisRequest,
  analysisDefaults,
  analysisRequestJsonSchema,
} from './analysis/registry.js';
export { type BlockNorms, type BlockNormsOptions, blockNorms } from './blocks.js';
export {
  type ClassAxis,
  type ClassBlockMass,
  type ClassBlockMassOptions,
  classAxesLength,
  classBlockMass,
  classIndex,
  type Estimate,
  type ExactClassBlockMass,
  exactClassBlockMass,
} from './class-blocks.js';
export { type DenseMatrixOptions, denseMatrix } from './dense.js';
export {
  type SmoothDensityOptions,
  type SpectralDensityOptions,
  type SpectralDensityResult,
  smoothDensity,
  spectralDensity,
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
} from './errors.js';
export {
  type LanczosOptions,
  type LanczosResult,
  lanczos,
  type Reorthogonalization,
} from './lanczos.js';
export {
  type LayerSpectraOptions,
  type LayerSpectraResult,
  type LayerSpectrum,
  layerSpectra,
  type NamedLayerSpectrum,
} from './layer-spectra.js';
export {
  type BlockSize,
  type LayoutBlock,
  layoutFromSizes,
  type ParameterLayout,
} from './layout.js';
export {
  type DenseOperatorOptions,
  denseOperator,
  FLOAT32_PRECISION,
  type LinearOperator,
  restrictOperator,
} from './operator.js';
export { type PowerIterationOptions, powerIteration } from './power-iteration.js';
export { createRandom } from './random.js';
export {
  type CurvatureKind,
  type CurvatureReport,
  type CurvatureReportInput,
  decodeReport,
  encodeReport,
  normalizeReport,
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
export { type SpectralSummary, spectralSummary } from './summary.js';
export {
  type DiagonalEstimate,
  type EstimateDiagonalOptions,
  type EstimateTraceOptions,
  estimateDiagonal,
  estimateTrace,
  type QuadraticForm,
  type QuadraticFormTrace,
  type QuadraticFormTraceOptions,
  type TraceEstimate,
  type TraceMethod,
  traceOfQuadraticForm,
} from './trace.js';
export { type DiscreteMeasure, wasserstein1 } from './wasserstein.js';
export { WORKSPACE_MAX_BYTES } from './workspace.js';
