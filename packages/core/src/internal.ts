/**
 * `@hessian-probe/core/internal`: the building blocks the workspace's own packages and
 * experiments use (the analysis pipeline's pieces for adapters, block statistics, layouts,
 * density cutoffs, kernels). Internal: no stability promise between versions; users want the
 * main entry, `@hessian-probe/core`.
 *
 * @packageDocumentation
 */
export {
  type AnalysisPlan,
  type AnalyzeOptions,
  analyze,
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
export { ANALYSES } from './analysis/registry.js';
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
export { type BlockRatios, blockRatios, type ExactBlockNorms, exactBlockNorms } from './blocks.js';
export {
  densityResolution,
  type NegativeThreshold,
  negativeCutoff,
  ritzZeroTolerance,
  type SpectralQuadrature,
  spectralMeasure,
} from './density.js';
export { SymmetryError } from './errors.js';
export { REORTHOGONALIZATIONS } from './lanczos.js';
export {
  type GaussNewtonGap,
  type GaussNewtonGapOptions,
  gaussNewtonGap,
  type LayerCoupling,
  type LayerCouplingOptions,
  type LayerSpectrumMethod,
  type LayerSpectrumOptions,
  layerCoupling,
  layerSeed,
  layerSpectrum,
} from './layer-spectra.js';
export { createLayout, embedBlock, findBlock, sliceBlock, sliceBlocks } from './layout.js';
export {
  type RatioEstimate,
  ratioOfMeans,
  SampleMoments,
  sqrtRatioOfMeans,
} from './moments.js';
export {
  checkedMatvec,
  FLOAT64_PRECISION,
  operatorPrecision,
  scaleOperator,
  shiftOperator,
} from './operator.js';
export { Random } from './random.js';
export { REPORT_SCHEMA } from './report.js';
export type { SpectralQuadratureInput } from './summary.js';
export { type SymmetricEigen, symmetricEigen } from './symmetric-eigen.js';
export { tfjsContext } from './tfjs/analyze-model.js';
export {
  CLASS_HIERARCHY_MAX_BYTES,
  CLASS_MEAN_RANK_TOLERANCE,
  type ClassLevelSpectra,
  classLevelSpectra,
} from './tfjs/class-hierarchy.js';
export {
  type CentralDifference,
  centralDifference,
  FINITE_DIFFERENCE_RELATIVE_STEP,
} from './tfjs/finite-difference.js';
export { gaussNewtonVectorProduct } from './tfjs/ggn.js';
export { KRONECKER_OUTLIER_THRESHOLD } from './tfjs/kronecker-summary.js';
export {
  flattenLayers,
  type LayerLike,
  type LayersModelLike,
  permuteOperator,
  type WeightLike,
} from './tfjs/layouts.js';
export {
  endsInActivation,
  endsInSoftmax,
  type FinalActivation,
  type LogitsModel,
  modelLogits,
} from './tfjs/logits.js';
export { type OutputLoss, outputLoss } from './tfjs/losses.js';
export { checkSupportedLayers } from './tfjs/model.js';
export { classesSection, kroneckerSection, REPORT_LEVEL2_VALUES } from './tfjs/report-sections.js';
export { isSecondOrderActive, SECOND_ORDER_KERNELS } from './tfjs/second-order.js';
export {
  SELF_CHECK_MAX_UNCERTAINTY,
  SELF_CHECK_TOLERANCE,
  selfCheckOnce,
  selfCheckResult,
} from './tfjs/self-check.js';
export {
  TridiagonalConvergenceError,
  type TridiagonalEigen,
  type TridiagonalEigenOptions,
  tridiagonalEigen,
} from './tridiagonal.js';
