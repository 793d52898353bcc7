/**
 * Curvature of an ONNX model's loss: the model is parsed, converted to a tfjs function,
 * checked against onnxruntime, and handed to the same exact curvature products as tfjs
 * models (`hessianOperator` or `gaussNewtonOperator` of `@hessian-probe/core/tfjs`), with one
 * layout block per parameter initializer, named after it.
 */
import { type CurvatureKind, OptionError } from '@hessian-probe/core';
import {
  type CurvatureOperator,
  gaussNewtonOperator,
  hessianOperator,
  meanSquaredError,
  softmaxCrossEntropy,
  type Tf,
} from '@hessian-probe/core/tfjs';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { convertGraph, type OnnxFunction } from './graph.js';
import { parseModel } from './proto.js';
import { type ConversionCheck, type HostInput, verifyConversion } from './runtime.js';

/** Labels for the loss: int32 class ids [N] (`'ce'`), or float32 targets shaped like the output. */
export interface HostLabels {
  readonly data: Int32Array | Float32Array;
  readonly shape: readonly number[];
}

/** A loss of the model output against the labels; must return a scalar (mean over samples). */
export type OnnxLoss = 'ce' | 'mse' | ((tf: Tf, output: Tensor, labels: Tensor) => Scalar);

/** Options of {@link onnxCurvature}. */
export interface OnnxCurvatureOptions {
  /** The TensorFlow.js namespace in use (any backend). */
  readonly tf: Tf;
  /** One float32 array per graph input (the probe batch). */
  readonly inputs: Readonly<Record<string, HostInput>>;
  /** Labels or targets of the probe batch. */
  readonly labels: HostLabels;
  /**
   * `'ce'`: softmax cross-entropy from logits, mean over samples; when the output is made by
   * a Softmax node, the Softmax's input is used as the logits (never log of probabilities).
   * `'mse'`: mean squared error over all entries. Or a function of (tf, output, labels).
   */
  readonly loss: OnnxLoss;
  /** The graph output the loss reads; default: the first. */
  readonly output?: string;
  /** Parameter initializers, in layout order; default {@link defaultParameters}. */
  readonly parameters?: readonly string[];
  /** Conversion tolerance of {@link verifyConversion}; default {@link DEFAULT_CONVERSION_TOLERANCE}. */
  readonly tolerance?: number;
  /**
   * Which curvature matrix (default `'hessian'`): `'hessian'` the exact loss Hessian ∇²L;
   * `'ggn'` the generalized Gauss–Newton matrix G = Jᵀ A J of the output the loss reads
   * (Schraudolph 2002; with `'ce'` and a Softmax output, J is the Jacobian of the Softmax's
   * input, the logits). `'ggn'` needs `loss` `'ce'` or `'mse'` (their Hessians A in the output
   * are known in closed form); same layout as `'hessian'`.
   */
  readonly kind?: CurvatureKind;
}

/** The result of {@link onnxCurvature}. */
export interface OnnxCurvature extends CurvatureOperator {
  /** How the converted graph compared with onnxruntime on `inputs`. */
  readonly check: ConversionCheck;
  /** The converted graph (its `params` are the point the Hessian is taken at). */
  readonly fn: OnnxFunction;
  /** Frees the tensors of the converted graph; the operator is unusable afterwards. */
  dispose(): void;
}

/**
 * The exact loss Hessian (or, with `kind: 'ggn'`, the generalized Gauss–Newton matrix) of an
 * ONNX model over its parameter initializers, as a {@link CurvatureOperator} (products in
 * float64 on the host; each costs about two gradients of the tfjs function). Everything is
 * checked before the first product: the options, the file ({@link parseModel}), the operators
 * ({@link convertGraph}) and the conversion against onnxruntime on `inputs`
 * ({@link verifyConversion}).
 *
 * @throws {@link OnnxFormatError}, {@link ConversionMismatchError} and {@link OptionError}
 *   as those functions do; {@link OptionError} for an unknown `output` or `kind`, and for
 *   `kind: 'ggn'` with a loss function (not `'ce'` or `'mse'`).
 * @example
 * ```ts
 * const { operator, layout, dispose } = await onnxCurvature(readFileSync('mlp.onnx'), {
 *   tf, inputs: { x: { data: x, shape: [64, 784] } }, labels: { data: y, shape: [64] }, loss: 'ce',
 * });
 * const top = await topEigenpairs(operator, { k: 5, seed: 0 });
 * dispose();
 * ```
 */
export async function onnxCurvature(
  modelBytes: Uint8Array,
  options: OnnxCurvatureOptions,
): Promise<OnnxCurvature> {
  const { tf, inputs, labels, loss, kind = 'hessian' } = options;
  if (kind !== 'hessian' && kind !== 'ggn') {
    throw new OptionError(`onnxCurvature: expected kind 'hessian' or 'ggn', got ${String(kind)}`);
  }
  if (kind === 'ggn' && loss !== 'ce' && loss !== 'mse') {
    throw new OptionError(
      "onnxCurvature: expected loss 'ce' or 'mse' for kind 'ggn' (the Gauss–Newton matrix needs the loss's Hessian in the output in closed form), got a function",
    );
  }
  const model = parseModel(modelBytes);
  const fn = convertGraph(
    tf,
    model,
    options.parameters === undefined ? {} : { parameters: options.parameters },
  );
  try {
    const output = options.output ?? fn.outputNames[0];
    if (!fn.outputNames.includes(output)) {
      throw new OptionError(
        `onnxCurvature: expected output to be one of ${fn.outputNames.join(', ')}, got ${output}`,
      );
    }
    const check = await verifyConversion(
      modelBytes,
      fn,
      options.tolerance === undefined
        ? { tf, inputs }
        : { tf, inputs, tolerance: options.tolerance },
    );
    const producer = (model.graph?.node ?? []).find((n) => (n.output ?? []).includes(output));
    const fetch =
      loss === 'ce' && producer?.opType === 'Softmax' ? (producer.input ?? [])[0] : output;
    const feeds = (): Record<string, Tensor> =>
      Object.fromEntries(
        fn.inputNames.map((n) => [n, tf.tensor(inputs[n].data, [...inputs[n].shape], 'float32')]),
      );
    const targets = (): Tensor =>
      tf.tensor(
        labels.data,
        [...labels.shape],
        labels.data instanceof Int32Array ? 'int32' : 'float32',
      );
    if (kind === 'ggn') {
      // Kept for the operator's lifetime: gaussNewtonOperator reads it in every product.
      const y = targets();
      const { operator, layout } = gaussNewtonOperator({
        tf,
        params: fn.params,
        output: (params) => fn.run(params, feeds(), [fetch])[0],
        targets: y,
        loss: loss === 'ce' ? 'softmaxCrossEntropy' : 'meanSquaredError',
      });
      return {
        operator,
        layout,
        check,
        fn,
        dispose: () => {
          y.dispose();
          fn.dispose();
        },
      };
    }
    const objective = (z: Tensor, y: Tensor): Scalar =>
      loss === 'ce'
        ? softmaxCrossEntropy(tf, z, y)
        : loss === 'mse'
          ? meanSquaredError(tf, z, y)
          : loss(tf, z, y);
    const { operator, layout } = hessianOperator({
      tf,
      params: fn.params,
      loss: (params) => objective(fn.run(params, feeds(), [fetch])[0], targets()),
    });
    return { operator, layout, check, fn, dispose: () => fn.dispose() };
  } catch (error) {
    fn.dispose();
    throw error;
  }
}
