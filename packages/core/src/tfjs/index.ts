/**
 * `@hessian-probe/core/tfjs`: exact curvature operators for TensorFlow.js. Second-order-correct
 * autodiff switched on only while an analysis runs, stable losses with exact second
 * derivatives, and the exact Hessian-vector product (Pearlmutter 1994) of any scalar loss
 * as a core `LinearOperator`; {@link modelCurvature} gives the Hessian or the generalized
 * Gauss–Newton matrix (Schraudolph 2002) of a tfjs-layers model with named layouts by tensor,
 * layer or output unit, self-checked against finite differences on first use. Depends on
 * `@tensorflow/tfjs-core` types only: pass your `tf`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { topEigenpairs } from '@hessian-probe/core';
 * import { modelCurvature } from '@hessian-probe/core/tfjs';
 * const { operator } = modelCurvature(model, { tf, x, y }); // loss from model.compile()
 * const { values } = await topEigenpairs(operator, { k: 5, tol: 1e-6 }); // float32 HVPs: tol >= 1e-6
 * ```
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { hessianOperator, softmaxCrossEntropy, trainableParams } from '@hessian-probe/core/tfjs';
 * const { operator, layout } = hessianOperator({
 *   tf,
 *   params: trainableParams(model),
 *   loss: () => softmaxCrossEntropy(tf, model.apply(x) as tf.Tensor, y), // model outputs logits
 * });
 * ```
 *
 * @packageDocumentation
 */

export {
  type AnalyzableModel,
  type AnalyzeModelOptions,
  analyzeModel,
  type TfjsContextOptions,
} from './analyze-model.js';
export {
  type ClassHierarchyModel,
  type ClassHierarchyOptions,
  type ClassHierarchyResult,
  classHierarchy,
  type Eigengap,
  type HierarchyLevel,
  type HierarchyTrace,
  type LevelSpectrum,
  type TopSpectrum,
} from './class-hierarchy.js';
export { LossError, SelfCheckError, UnsupportedLayerError } from './errors.js';
export { type FiniteDifferenceOptions, finiteDifferenceOperator } from './finite-difference.js';
export { type GaussNewtonOperatorOptions, gaussNewtonOperator } from './ggn.js';
export {
  type CurvatureOperator,
  type HessianOperatorOptions,
  hessianOperator,
  type Param,
  type TrainableWeightsHolder,
  trainableParams,
} from './hvp.js';
export {
  type KroneckerDecouplingOptions,
  type KroneckerFactorsOptions,
  type KroneckerLayerFactors,
  type KroneckerLayerReport,
  type KroneckerModel,
  kroneckerDecoupling,
  kroneckerFactors,
} from './kronecker.js';
export {
  type KroneckerSummary,
  type KroneckerSummaryOptions,
  kroneckerSummary,
} from './kronecker-summary.js';
export { LAYOUT_KINDS, type LayoutKind, type ModelLayout, modelLayout } from './layouts.js';
export {
  binaryCrossEntropy,
  LOSS_NAMES,
  type LossName,
  logSoftmax,
  meanSquaredError,
  softmaxCrossEntropy,
} from './losses.js';
export {
  type CurvatureKind,
  type CurvatureModel,
  KERAS_LOSSES,
  type KerasLossName,
  type ModelCurvature,
  type ModelCurvatureOptions,
  modelCurvature,
  SUPPORTED_ACTIVATIONS,
  SUPPORTED_LAYERS,
} from './model.js';
export { withSecondOrder } from './second-order.js';
export { type SelfCheckOptions, type SelfCheckResult, selfCheck } from './self-check.js';
export type { NamedTensor, Tf } from './types.js';
