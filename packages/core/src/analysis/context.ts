import type { Tensor } from '@tensorflow/tfjs-core';
import type { ClassAxis } from '../class-blocks.js';
import type { ParameterLayout } from '../layout.js';
import type { LinearOperator } from '../operator.js';
import type { CurvatureKind } from '../report/fields.js';
import type { LossName } from '../tfjs/losses.js';
import type { KerasLossName } from '../tfjs/model.js';
import type { Tf } from '../tfjs/types.js';

/**
 * What an analysis may ask of the model it analyses. Built by `analyzeModel` for a tfjs model
 * (`tfjsContext`) and by the ONNX adapter for an ONNX graph; the analyses see only this.
 * Optional members are capabilities a context may lack: an analysis that needs one declares it
 * and is refused, by name, before any work when the context cannot provide it.
 */
export interface AnalysisContext {
  /** The function that runs the analyses, for error messages (e.g. `'analyzeModel'`). */
  readonly where: string;
  /** Which curvature matrix `operator` multiplies by. */
  readonly kind: CurvatureKind;
  /** The curvature, over the flat parameter vector of `layout`. */
  readonly operator: LinearOperator;
  /** One block per parameter tensor, over the operator's coordinates. */
  readonly layout: ParameterLayout;
  /** One block per layer, over the same coordinates (absent when the context has no layers). */
  readonly layerLayout?: ParameterLayout;
  /** Examples in the probe set. */
  readonly probeSize: number;
  /** The loss whose curvature `operator` gives, on the probe set. */
  lossValue(): Promise<number>;
  /**
   * Products the context will spend once before its first product (the tfjs self-check while
   * it has not run for this model), counted into the cost of a plan. Default 0.
   */
  pendingCost?(): number;
  /**
   * The curvature in coordinates where each output unit's parameters (`'unit'`: of every
   * Dense/Conv2D layer; `'class'`: of the output layer, earlier layers whole) are contiguous.
   */
  unitCurvature?(layout: 'unit' | 'class'): {
    readonly operator: LinearOperator;
    readonly layout: ParameterLayout;
  };
  /**
   * The output layer's blocks of `layout` (its weight, and its bias if it has one), each with
   * the axis of its shape that runs over the output classes; undefined when the context cannot
   * tell which layer makes the output (the `classBlocks` analysis then needs its blocks named).
   */
  outputLayer?(): readonly ClassAxis[] | undefined;
  /** The generalized Gauss–Newton operator over the same coordinates as `operator`. */
  gaussNewton?(): LinearOperator;
  /** The tfjs model and probe, for the analyses that work on layers (Kronecker, classes). */
  readonly model?: TfjsModelAccess;
}

/** A tfjs model with its probe set and loss, as the model-level analyses need it. */
export interface TfjsModelAccess {
  readonly tf: Tf;
  /** The tfjs-layers model (checked by the analysis that uses it). */
  readonly model: unknown;
  readonly x: Tensor;
  readonly y: Tensor;
  /** The loss option, when it overrides the compiled loss. */
  readonly loss?: LossName | KerasLossName;
  /** The loss's name after resolution (e.g. `'softmaxCrossEntropy'`). */
  readonly lossName: LossName;
  readonly batchSize?: number;
  readonly selfCheck: boolean;
  /** Output classes C: units of the last Dense/Conv2D layer. */
  readonly outputClasses: number;
  /** The size of each Dense/Conv2D layer's block (units × fan-in), by layer name. */
  readonly factoredLayerSizes: ReadonlyMap<string, number>;
}
