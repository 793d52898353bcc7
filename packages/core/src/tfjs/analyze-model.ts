import type { Tensor } from '@tensorflow/tfjs-core';
import { type AnalyzeOptions, analyze, type ReportMeta } from '../analysis/analyze.js';
import type { AnalysisContext, TfjsModelAccess } from '../analysis/context.js';
import { OptionError } from '../errors.js';
import type { ParameterLayout } from '../layout.js';
import type { LinearOperator } from '../operator.js';
import type { CurvatureReport } from '../report.js';
import { type ClassHierarchyModel, outputClasses } from './class-hierarchy.js';
import { flattenLayers, modelLayout } from './layouts.js';
import type { LossName } from './losses.js';
import {
  type CurvatureKind,
  type CurvatureModel,
  type KerasLossName,
  modelCurvature,
  resolveModelLoss,
} from './model.js';
import { SELF_CHECK_PRODUCTS, selfCheckResult } from './self-check.js';
import type { Tf } from './types.js';

/** A tfjs-layers model as {@link analyzeModel} reads it. */
export type AnalyzableModel = CurvatureModel & {
  readonly name?: string;
  readonly outputShape: ClassHierarchyModel['outputShape'];
};

/** How {@link tfjsContext} takes the curvature of a model (see `modelCurvature`). */
export interface TfjsContextOptions {
  /** The TensorFlow.js namespace in use (any backend). */
  readonly tf: Tf;
  /** Probe inputs [N, …]. */
  readonly x: Tensor;
  /** Probe targets [N, …] (one-hot or class ids for cross-entropy, values for MSE). */
  readonly y: Tensor;
  /** 'hessian' (default) or 'ggn'. */
  readonly kind?: CurvatureKind;
  /** The loss (default: the model's compiled loss; see `modelCurvature`). */
  readonly loss?: LossName | KerasLossName;
  /** Samples per chunk of each product (default all N). */
  readonly batchSize?: number;
  /** Self-check the exact Hessian once per model before its first product (default true). */
  readonly selfCheck?: boolean;
  /** Name of the calling function in error messages (default `'analyzeModel'`). */
  readonly where?: string;
}

/**
 * The analysis context of a tfjs-layers model on a probe set: its curvature in tensor blocks,
 * layer blocks over the same coordinates, unit and class blocks (in permuted coordinates), the
 * Gauss–Newton operator, the loss, and the model itself for the layer-level analyses. Operators
 * are built on first use; nothing runs until an analysis asks.
 *
 * @example
 * ```ts
 * const context = tfjsContext(model, { tf, x, y });
 * const prepared = prepareAnalyses(context, { analyses: { density: true } });
 * ```
 */
export function tfjsContext(model: AnalyzableModel, options: TfjsContextOptions): AnalysisContext {
  const { tf, x, y, kind = 'hessian', selfCheck = true, where = 'analyzeModel' } = options;
  const curvatureOf = (layout: 'tensor' | 'unit' | 'class', curvatureKind: CurvatureKind) =>
    modelCurvature(model, {
      tf,
      x,
      y,
      kind: curvatureKind,
      layout,
      selfCheck,
      ...(options.loss === undefined ? {} : { loss: options.loss }),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    });
  const main = curvatureOf('tensor', kind);
  let layers: ParameterLayout | undefined;
  const units = new Map<string, ReturnType<typeof curvatureOf>>();
  let ggn: LinearOperator | undefined;
  let access: TfjsModelAccess | undefined;
  return {
    where,
    kind,
    operator: main.operator,
    layout: main.layout,
    get layerLayout() {
      if (layers === undefined) {
        const byLayer = modelLayout(model, 'layer');
        if (byLayer.order !== undefined) {
          throw new OptionError(
            `${where}: expected the model's layer blocks to be contiguous in its weight order, got a permuted layout`,
          );
        }
        layers = byLayer.layout;
      }
      return layers;
    },
    probeSize: x.shape[0] as number,
    lossValue: main.lossValue,
    pendingCost: () =>
      selfCheck && selfCheckResult(model) === undefined ? SELF_CHECK_PRODUCTS : 0,
    unitCurvature(layout) {
      let curvature = units.get(layout);
      if (curvature === undefined) {
        curvature = curvatureOf(layout, kind);
        units.set(layout, curvature);
      }
      return curvature;
    },
    ...(kind === 'hessian'
      ? {
          gaussNewton() {
            ggn ??= curvatureOf('tensor', 'ggn').operator;
            return ggn;
          },
        }
      : {}),
    get model() {
      access ??= modelAccess(model, options, where);
      return access;
    },
  };
}

/** The model with what the layer-level analyses read of it, resolved once. */
function modelAccess(
  model: AnalyzableModel,
  options: TfjsContextOptions,
  where: string,
): TfjsModelAccess {
  const factoredLayerSizes = new Map<string, number>();
  for (const layer of flattenLayers(model)) {
    const cls = layer.getClassName();
    if (cls !== 'Dense' && cls !== 'Conv2D') continue;
    let size = 0;
    for (const w of layer.trainableWeights)
      size += w.shape.reduce<number>((p, d) => p * (d ?? 1), 1);
    if (size > 0) factoredLayerSizes.set(layer.name, size);
  }
  let classes: number | undefined;
  return {
    tf: options.tf,
    model,
    x: options.x,
    y: options.y,
    ...(options.loss === undefined ? {} : { loss: options.loss }),
    lossName: resolveModelLoss(model, options.loss, where).loss.name,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    selfCheck: options.selfCheck ?? true,
    get outputClasses() {
      classes ??= outputClasses(model, where);
      return classes;
    },
    factoredLayerSizes,
  };
}

/** Options of {@link analyzeModel}: the curvature, the analyses and the report's metadata. */
export interface AnalyzeModelOptions
  extends Omit<TfjsContextOptions, 'where'>,
    AnalyzeOptions,
    Partial<ReportMeta> {}

/**
 * The curvature report of a tfjs-layers model on a probe set: the one door to the analysis
 * registry for tfjs models, used by the fit() callback at each scheduled step. Every option
 * is checked before any tensor work; the same model, data, seed and options give the same
 * report as the callback's analysis and (to float32 conversion error) as the `hessian-probe`
 * command on the model exported with `toOnnx`.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} naming a bad option;
 *   {@link UnsupportedLayerError} / {@link LossError} from `modelCurvature`;
 *   {@link @hessian-probe/core!index.NonFiniteLossError | NonFiniteLossError} when the loss on the
 *   probe set is not finite.
 *
 * @example
 * ```ts
 * const report = await analyzeModel(model, {
 *   tf, x, y,
 *   analyses: { eigen: { k: 5 }, density: true, blocks: { layout: 'class' } },
 *   seed: 1,
 * });
 * console.log(report.eigen?.values, report.density?.negativeFraction);
 * ```
 */
export async function analyzeModel(
  model: AnalyzableModel,
  options: AnalyzeModelOptions,
): Promise<CurvatureReport> {
  const context = tfjsContext(model, options);
  const name =
    options.name ?? (typeof model.name === 'string' && model.name !== '' ? model.name : 'model');
  return analyze(context, options, { ...options, name });
}
