import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { OptionError } from '../errors.js';
import { FLOAT32_PRECISION, type LinearOperator } from '../operator.js';
import { checkInteger, checkOneOf } from '../options.js';
import { DENSE_CHAIN_ACTIVATIONS, denseChainPlan, denseChainProducts } from './dense-chain-hvp.js';
import { LossError, UnsupportedLayerError } from './errors.js';
import { gaussNewtonVectorProduct } from './ggn.js';
import {
  type CurvatureOperator,
  flatProduct,
  hessianOperator,
  hessianVectorProduct,
  splitVector,
} from './hvp.js';
import {
  flattenLayers,
  LAYOUT_KINDS,
  type LayerLike,
  type LayersModelLike,
  type LayoutKind,
  modelLayout,
  permuteOperator,
} from './layouts.js';
import { endsInActivation, type FinalActivation, modelLogits } from './logits.js';
import { LOSS_NAMES, type LossName, type OutputLoss, outputLoss } from './losses.js';
import { selfCheck, selfCheckOnce } from './self-check.js';
import type { Tf } from './types.js';

/** Keras loss names (camelCase as tfjs accepts them, and Python's snake_case) that map to a {@link LossName}. */
export const KERAS_LOSSES = {
  categoricalCrossentropy: 'softmaxCrossEntropy',
  categorical_crossentropy: 'softmaxCrossEntropy',
  sparseCategoricalCrossentropy: 'softmaxCrossEntropy',
  sparse_categorical_crossentropy: 'softmaxCrossEntropy',
  binaryCrossentropy: 'binaryCrossEntropy',
  binary_crossentropy: 'binaryCrossEntropy',
  meanSquaredError: 'meanSquaredError',
  mean_squared_error: 'meanSquaredError',
  mse: 'meanSquaredError',
} as const satisfies Record<string, LossName>;

/** A Keras loss name {@link modelCurvature} understands. */
export type KerasLossName = keyof typeof KERAS_LOSSES;

/** Which curvature matrix {@link modelCurvature} multiplies by. */
export type CurvatureKind = 'hessian' | 'ggn';

/** The parts of a tfjs-layers `LayersModel` that {@link modelCurvature} uses. */
export interface CurvatureModel extends LayersModelLike {
  apply(inputs: Tensor, kwargs?: { training?: boolean }): unknown;
  /** The loss given to `compile()`, if compiled. */
  readonly loss?: unknown;
}

/** Options of {@link modelCurvature}. */
export interface ModelCurvatureOptions {
  /** The TensorFlow.js namespace in use (any backend). */
  readonly tf: Tf;
  /** Probe inputs, [N, …] (int32 ids for an Embedding model). */
  readonly x: Tensor;
  /**
   * Probe targets, [N, …]: one-hot [N, C] or class ids ([N] or [N, 1]) for the
   * cross-entropies, values for MSE.
   */
  readonly y: Tensor;
  /**
   * The loss: a {@link LossName} or a Keras name ({@link KERAS_LOSSES}). Default: the model's
   * compiled loss. Keras's cross-entropies need the matching final activation (softmax,
   * sigmoid), which is taken off so that the loss is computed stably from logits; with a
   * {@link LossName} the model's output is the logits (a final softmax/sigmoid, if any, is
   * taken off too).
   */
  readonly loss?: LossName | KerasLossName;
  /**
   * Samples per chunk (default: all N in one). Products are computed chunk by chunk and summed
   * in float64 with weights n_k/N (every loss is a mean over samples), so memory is bounded by
   * one chunk's activations.
   */
  readonly batchSize?: number;
  /** 'hessian' (default): ∇²L; 'ggn': the generalized Gauss–Newton matrix JᵀAJ. */
  readonly kind?: CurvatureKind;
  /** Block layout of the result (default 'tensor'); see {@link LayoutKind}. */
  readonly layout?: LayoutKind;
  /**
   * Check the exact Hessian against finite differences before the first product, once per
   * model ({@link selfCheck} on the first chunk; cached in a WeakMap keyed by the model).
   * Default true.
   */
  readonly selfCheck?: boolean;
  /**
   * How products are computed: 'auto' (default) uses the cached R-operator products of
   * `denseChainProducts` when the model is a chain of Dense layers (`denseChainPlan`:
   * 6 matrix products per layer instead of about 9), autodiff otherwise; 'autodiff' always
   * differentiates twice through tfjs. Both are exact to float32 rounding;
   * {@link ModelCurvature.productMethod} says which one runs, and the self-check checks it.
   */
  readonly hvp?: 'auto' | 'autodiff';
}

/** Layer classes {@link modelCurvature} supports, each tested against a float64 reference. */
export const SUPPORTED_LAYERS: readonly string[] = [
  'InputLayer',
  'Dense',
  'Conv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Reshape',
  'Dropout',
  'BatchNormalization',
  'Embedding',
  'LayerNormalization',
  'Activation',
  'LeakyReLU',
  'Softmax',
];

/**
 * Activations (a layer's `activation`) {@link modelCurvature} supports: every elementwise one,
 * which the Dense-chain fast path differentiates too, and softmax, only last.
 */
export const SUPPORTED_ACTIVATIONS: readonly string[] = [...DENSE_CHAIN_ACTIVATIONS, 'softmax'];

/**
 * Exact curvature of a tfjs-layers model (Sequential or functional, one output) on a probe set,
 * over `model.trainableWeights` in order: the Hessian of the loss (Pearlmutter 1994, through
 * {@link hessianOperator}'s machinery) or the generalized Gauss–Newton matrix (Schraudolph 2002;
 * Martens 2020; {@link gaussNewtonOperator}), as a core {@link LinearOperator} with a named
 * {@link @hessian-probe/core!index.ParameterLayout | ParameterLayout}.
 *
 * The model runs in inference mode (`training: false`): Dropout is the identity and
 * BatchNormalization normalizes with its moving mean and variance (an affine map), so the
 * curvature is that of the function the model computes at prediction time, and no layer
 * state (moving statistics, random streams) changes. Weights are read at each product, so
 * the operator follows later training steps.
 *
 * Every layer is checked against {@link SUPPORTED_LAYERS} and {@link SUPPORTED_ACTIVATIONS}
 * before any tensor work; all offending layers are listed in one {@link UnsupportedLayerError}.
 *
 * @throws {@link UnsupportedLayerError}, {@link LossError} (no usable loss, labels that do not
 *   fit, a Keras cross-entropy without its final activation), {@link OptionError}; at the
 *   first product, a {@link SelfCheckError} when the self-check fails.
 *
 * @example
 * ```ts
 * model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
 * const { operator, layout } = modelCurvature(model, { tf, x, y, batchSize: 128 });
 * const { values } = await topEigenpairs(operator, { k: 5, tol: 1e-6 }); // float32 HVPs: tol >= 1e-6
 * ```
 */
export function modelCurvature(
  model: CurvatureModel,
  options: ModelCurvatureOptions,
): ModelCurvature {
  const where = 'modelCurvature';
  const { tf, x, y, kind = 'hessian', layout: layoutKind = 'tensor' } = options;
  checkOneOf(where, 'kind', kind, ['hessian', 'ggn']);
  checkOneOf(where, 'layout', layoutKind, LAYOUT_KINDS);
  checkOneOf(where, 'hvp', options.hvp ?? 'auto', ['auto', 'autodiff']);
  checkSupportedLayers(model, tf.getBackend());
  const n = x.shape[0];
  if (x.rank < 1 || n === undefined || n < 1 || y.rank < 1 || y.shape[0] !== n) {
    throw new OptionError(
      `${where}: expected x and y with the same number N >= 1 of samples, got x [${x.shape}] and y [${y.shape}]`,
    );
  }
  const batchSize = options.batchSize ?? n;
  checkInteger(where, 'batchSize', batchSize, 1);
  const resolved = resolveModelLoss(model, options.loss, where);
  const sparse = resolved.loss.name === 'softmaxCrossEntropy' && isSparse(y);
  if (sparse) checkClassIds(y, where);
  const { layout, order } = modelLayout(model, layoutKind);
  const weights = model.trainableWeights.map((w) => w.read());
  const chain = denseChainPlan(model, resolved.strip, x).plan;
  const fast =
    chain && options.hvp !== 'autodiff' ? denseChainProducts(tf, chain, resolved.loss) : undefined;
  const chunks: { start: number; size: number }[] = [];
  for (let start = 0; start < n; start += batchSize) {
    chunks.push({ start, size: Math.min(batchSize, n - start) });
  }
  const slice = (t: Tensor, { start, size }: { start: number; size: number }) =>
    chunks.length === 1
      ? t
      : tf.slice(
          t,
          [start, ...t.shape.slice(1).map(() => 0)],
          [size, ...t.shape.slice(1).map(() => -1)],
        );
  const targets = (t: Tensor) => (sparse ? tf.cast(tf.reshape(t, [-1]), 'int32') : t);
  const output = (xc: Tensor) =>
    resolved.strip ? modelLogits(model, xc, resolved.strip) : inference(model, xc);
  const lossOf = (chunk: { start: number; size: number }) => (): Scalar =>
    resolved.loss.value(tf, output(slice(x, chunk)), targets(slice(y, chunk)));
  const product = (
    chunk: { start: number; size: number },
    v: Float64Array,
    productKind: CurvatureKind = kind,
  ) =>
    flatProduct(tf, v, layout.dim, `${where}.matvec`, () => {
      const vs = splitVector(tf, v, weights);
      if (fast) {
        const [xc, yc] = [slice(x, chunk), targets(slice(y, chunk))];
        return fast.product(productKind, chunk, xc, yc, weights, vs);
      }
      if (productKind === 'hessian') return hessianVectorProduct(tf, weights, lossOf(chunk), vs);
      const xc = slice(x, chunk);
      const yc = targets(slice(y, chunk));
      return gaussNewtonVectorProduct(
        tf,
        weights,
        () => output(xc),
        (z, u) => resolved.loss.hessianProduct(tf, z, yc, u),
        vs,
      );
    });
  const check = () =>
    // Checks the products in use: a model forced onto autodiff has its own verdict.
    selfCheckOnce(chain && !fast ? autodiffCheckKey(model) : model, () => {
      const loss = lossOf(chunks[0]);
      const exact = fast
        ? {
            operator: {
              dim: layout.dim,
              matvec: (v: Float64Array) => product(chunks[0], v, 'hessian'),
            },
          }
        : hessianOperator({
            tf,
            params: model.trainableWeights.map((w) => ({ name: w.name, tensor: w.read() })),
            loss,
          });
      return selfCheck({
        tf,
        operator: exact.operator,
        params: weights,
        loss,
        layout,
        ...(order ? { order } : {}),
      });
    });
  const inTfjsOrder: LinearOperator = {
    dim: layout.dim,
    precision: FLOAT32_PRECISION,
    async matvec(v) {
      if (options.selfCheck !== false) await check();
      if (chunks.length === 1) return product(chunks[0], v);
      const sum = new Float64Array(layout.dim);
      for (const chunk of chunks) {
        const part = await product(chunk, v);
        const weight = chunk.size / n;
        for (let i = 0; i < sum.length; i++) sum[i] += weight * part[i];
      }
      return sum;
    },
  };
  const lossValue = async (): Promise<number> => {
    let sum = 0;
    for (const chunk of chunks) {
      const value = tf.tidy(lossOf(chunk));
      const [mean] = await value.data();
      value.dispose();
      sum += (chunk.size / n) * mean;
    }
    return sum;
  };
  return {
    layout,
    operator: order ? permuteOperator(inTfjsOrder, order) : inTfjsOrder,
    lossValue,
    productMethod: fast ? 'dense-chain' : 'autodiff',
  };
}

const autodiffCheckKeys = new WeakMap<object, object>();

/** The self-check key of a Dense-chain model forced onto autodiff (its default is the fast path). */
function autodiffCheckKey(model: object): object {
  let key = autodiffCheckKeys.get(model);
  if (key === undefined) {
    key = {};
    autodiffCheckKeys.set(model, key);
  }
  return key;
}

/** The result of {@link modelCurvature}: the operator, its layout, and the loss it differentiates. */
export interface ModelCurvature extends CurvatureOperator {
  /**
   * The value of the loss whose curvature the operator gives (the mean over the N samples of
   * the loss on the network output, without regularizers), computed in float32 by tfjs.
   */
  lossValue(): Promise<number>;
  /**
   * Which products the operator computes: 'dense-chain', the cached R-operator of a chain of
   * Dense layers (`denseChainProducts`), or 'autodiff', double backpropagation (Hessian)
   * and the double-VJP trick (Gauss–Newton) through tfjs; see {@link ModelCurvatureOptions.hvp}.
   */
  readonly productMethod: 'dense-chain' | 'autodiff';
}

/** The result of {@link resolveModelLoss}. */
export interface ResolvedLoss {
  readonly loss: OutputLoss;
  readonly strip?: FinalActivation;
}

function inference(model: CurvatureModel, x: Tensor): Tensor {
  const out = model.apply(x, { training: false });
  if (Array.isArray(out)) {
    throw new LossError(`modelCurvature: expected a model with one output, got ${out.length}`);
  }
  return out as Tensor;
}

/**
 * The loss of a model's curvature, from `explicit` or the compiled loss, and the final
 * activation to take off so that the loss is computed from logits (shared by
 * {@link modelCurvature} and the Kronecker factors, which must differentiate the same loss).
 *
 * @throws {@link LossError} for a missing or unknown loss, or a Keras cross-entropy on a model
 *   without its final activation; messages start with `where`.
 */
export function resolveModelLoss(
  model: CurvatureModel,
  explicit: LossName | KerasLossName | undefined,
  where: string,
): ResolvedLoss {
  let name: unknown = explicit;
  if (name === undefined) {
    const compiled =
      Array.isArray(model.loss) && model.loss.length === 1 ? model.loss[0] : model.loss;
    if (typeof compiled !== 'string') {
      const got =
        compiled === undefined
          ? 'an uncompiled model'
          : `a compiled loss of type ${typeof compiled}`;
      throw new LossError(
        `${where}: expected options.loss or a model compiled with a named loss (${Object.keys(KERAS_LOSSES).join(', ')}), got ${got}`,
      );
    }
    name = compiled;
  }
  if ((LOSS_NAMES as readonly unknown[]).includes(name)) {
    const loss = outputLoss(name as LossName);
    const strip: FinalActivation | undefined =
      name === 'softmaxCrossEntropy'
        ? 'softmax'
        : name === 'binaryCrossEntropy'
          ? 'sigmoid'
          : undefined;
    return strip && endsInActivation(model, strip) ? { loss, strip } : { loss };
  }
  if (typeof name !== 'string' || !(name in KERAS_LOSSES)) {
    throw new LossError(
      `${where}: expected a loss in ${[...LOSS_NAMES, ...Object.keys(KERAS_LOSSES)].join(', ')}, got ${JSON.stringify(name)}`,
    );
  }
  const mapped = KERAS_LOSSES[name as KerasLossName];
  const loss = outputLoss(mapped);
  if (mapped === 'meanSquaredError') return { loss };
  const strip: FinalActivation = mapped === 'softmaxCrossEntropy' ? 'softmax' : 'sigmoid';
  if (!endsInActivation(model, strip)) {
    throw new LossError(
      `${where}: expected a model ending in ${strip} for the Keras loss '${name}' (it takes probabilities), ` +
        `got a last layer without it; pass loss: '${mapped}' to treat the output as logits`,
    );
  }
  return { loss, strip };
}

function isSparse(y: Tensor): boolean {
  return y.rank === 1 || (y.rank === 2 && y.shape[1] === 1);
}

/** Sparse labels must be whole numbers (they are cast to int32 class ids). */
function checkClassIds(y: Tensor, where: string): void {
  const values = y.dataSync();
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0);
  if (bad >= 0) {
    throw new LossError(
      `${where}: expected sparse labels to be class ids (integers >= 0), got ${values[bad]} at ${bad}`,
    );
  }
}

interface LayerConfig {
  readonly activation?: { getClassName(): string } | null;
  readonly dataFormat?: string;
  readonly dilationRate?: number | readonly number[];
  readonly padding?: string;
  /** BatchNormalization: whether it has an offset β and a scale γ. */
  readonly center?: boolean;
  readonly scale?: boolean;
}

/**
 * Throws an {@link UnsupportedLayerError} listing every layer of `model` (nested models
 * expanded) whose class, activation or configuration hessian-probe has not verified against a
 * float64 reference on `backend`, with the reason for each.
 *
 * @param backend - the tfjs backend the analysis runs on (`tf.getBackend()`): AveragePooling2D
 *   with padding 'same' is exact on 'tensorflow' and refused on the others.
 *
 * @example
 * ```ts
 * checkSupportedLayers(model, tf.getBackend()); // before any tensor work
 * ```
 */
export function checkSupportedLayers(
  model: { readonly layers: readonly LayerLike[] },
  backend: string,
): void {
  const layers = flattenLayers(model);
  const problems: { label: string; reason: string }[] = [];
  for (const [index, layer] of layers.entries()) {
    const cls = layer.getClassName();
    const config = layer as LayerLike & LayerConfig;
    const activation = config.activation?.getClassName();
    const label = `${layer.name} (${cls}${activation ? `, ${activation}` : ''})`;
    const last = index === layers.length - 1;
    if (!SUPPORTED_LAYERS.includes(cls)) {
      problems.push({ label, reason: `layer class ${cls} is not supported` });
    } else if (activation !== undefined && !SUPPORTED_ACTIVATIONS.includes(activation)) {
      problems.push({ label, reason: `activation ${activation} is not supported` });
    } else if ((activation === 'softmax' || cls === 'Softmax') && !last) {
      problems.push({ label, reason: 'softmax is supported only as the final layer' });
    } else if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') {
      problems.push({ label, reason: `dataFormat ${config.dataFormat} (only channelsLast)` });
    } else if (
      config.dilationRate !== undefined &&
      [config.dilationRate].flat().some((d) => d !== 1)
    ) {
      problems.push({ label, reason: 'dilated convolutions are not supported' });
    } else if (
      cls === 'BatchNormalization' &&
      (config.center === false || config.scale === false)
    ) {
      problems.push({
        label,
        reason:
          "center or scale false: tfjs's batchNorm gradient needs both the offset and the scale tensor (even the first-order gradient throws without them)",
      });
    } else if (
      cls === 'AveragePooling2D' &&
      config.padding === 'same' &&
      backend !== 'tensorflow'
    ) {
      problems.push({
        label,
        reason: `padding 'same' on the ${backend} backend: its AvgPoolGrad divides border windows by the full pool size while the forward pass divides by the valid count, so even the first-order gradient is wrong (the 'tensorflow' backend of tfjs-node is exact)`,
      });
    }
  }
  if (problems.length > 0) {
    throw new UnsupportedLayerError(
      `modelCurvature: expected only supported layers (${SUPPORTED_LAYERS.join(', ')}), got ${problems.length} unsupported: ` +
        problems.map((p) => `${p.label}: ${p.reason}`).join('; '),
      problems.map((p) => p.label),
    );
  }
}
