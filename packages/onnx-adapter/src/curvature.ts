/**
 * Curvature of an ONNX model's loss: the model is parsed, converted to a tfjs function,
 * checked against onnxruntime, and handed to the same exact curvature products as tfjs
 * models (`hessianOperator` or `gaussNewtonOperator` of `@hessian-probe/core/tfjs`), with one
 * layout block per parameter initializer, named after it.
 */
import { type CurvatureKind, HessianProbeError, OptionError } from '@hessian-probe/core';
import {
  type CurvatureOperator,
  gaussNewtonOperator,
  hessianOperator,
  meanSquaredError,
  softmaxCrossEntropy,
  type Tf,
} from '@hessian-probe/core/tfjs';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { convertGraph, lossInput, type OnnxFunction, parseAnalysableModel } from './graph.js';
import { type ConversionCheck, type HostInput, inputTensors, verifyConversion } from './runtime.js';

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
  /** One array per graph input (the probe batch): float32, or integers for token ids. */
  readonly inputs: Readonly<Record<string, HostInput>>;
  /** Labels or targets of the probe batch. */
  readonly labels: HostLabels;
  /**
   * `'ce'`: softmax cross-entropy from logits, mean over samples; when the output is made by
   * a Softmax node, the Softmax's input is used as the logits (never log of probabilities).
   * `'mse'`: mean squared error over all entries. Or a function of (tf, output, labels).
   */
  readonly loss: OnnxLoss;
  /** The analysed output the loss reads ({@link analysedOutputs}); default: the first. */
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
  /** The loss whose curvature the operator gives, on the probe batch (float32, by tfjs). */
  lossValue(): Promise<number>;
  /**
   * The generalized Gauss–Newton operator over the same initializers (built on first call);
   * absent with a loss function (its Hessian in the output is not known in closed form).
   */
  gaussNewton?(): CurvatureOperator['operator'];
  /** Frees the tensors of the converted graph; the operator is unusable afterwards. */
  dispose(): void;
}

/**
 * The exact loss Hessian (or, with `kind: 'ggn'`, the generalized Gauss–Newton matrix) of an ONNX
 * model over its parameter initializers, as a
 * {@link @hessian-probe/core!tfjs.CurvatureOperator | CurvatureOperator} (products in float64 on
 * the host; each costs about two gradients of the tfjs function). Everything is checked before the
 * first product: the options, the file ({@link parseModel}), the operators ({@link convertGraph})
 * and the conversion against onnxruntime on `inputs` ({@link verifyConversion}).
 *
 * @throws {@link OnnxFormatError}, {@link ConversionMismatchError} and
 *   {@link @hessian-probe/core!index.OptionError | OptionError} as those functions do;
 *   {@link @hessian-probe/core!index.OptionError | OptionError} for an unknown `output` or `kind`,
 *   and for `kind: 'ggn'` with a loss function (not `'ce'` or `'mse'`).
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * declare const images: Float32Array; // [64, 784], row-major
 * declare const classes: Int32Array; // [64]
 * const { operator, layout, dispose } = await onnxCurvature(readFileSync('mlp.onnx'), {
 *   tf,
 *   inputs: { x: { data: images, shape: [64, 784] } }, // keyed by the graph's input names
 *   labels: { data: classes, shape: [64] },
 *   loss: 'ce',
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
  const model = parseAnalysableModel(modelBytes);
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
    const fetch = lossInput(model, output, typeof loss === 'string' ? loss : 'other');
    const feeds = (): Record<string, Tensor> => inputTensors(tf, fn, inputs);
    const targets = (): Tensor =>
      tf.tensor(
        labels.data,
        [...labels.shape],
        labels.data instanceof Int32Array ? 'int32' : 'float32',
      );
    checkLabels(
      tf.tidy(
        () =>
          fn.run(
            fn.params.map((p) => p.tensor),
            feeds(),
            [fetch],
          )[0].shape,
      ),
      labels,
      loss,
    );
    const objective = (z: Tensor, y: Tensor): Scalar =>
      loss === 'ce'
        ? softmaxCrossEntropy(tf, z, y)
        : loss === 'mse'
          ? meanSquaredError(tf, z, y)
          : loss(tf, z, y);
    const lossValue = async (): Promise<number> => {
      const value = tf.tidy(() =>
        objective(
          fn.run(
            fn.params.map((p) => p.tensor),
            feeds(),
            [fetch],
          )[0],
          targets(),
        ),
      );
      try {
        return (await value.data())[0];
      } finally {
        value.dispose();
      }
    };
    // Kept for the operators' lifetime: gaussNewtonOperator reads them in every product.
    const kept: Tensor[] = [];
    const gaussNewton = () => {
      const y = targets();
      kept.push(y);
      return gaussNewtonOperator({
        tf,
        params: fn.params,
        output: (params) => fn.run(params, feeds(), [fetch])[0],
        targets: y,
        loss: loss === 'ce' ? 'softmaxCrossEntropy' : 'meanSquaredError',
      });
    };
    const dispose = () => {
      tf.dispose(kept);
      fn.dispose();
    };
    const closedForm = loss === 'ce' || loss === 'mse';
    let ggn: CurvatureOperator['operator'] | undefined;
    const capabilities = {
      check,
      fn,
      lossValue,
      dispose,
      ...(closedForm
        ? {
            gaussNewton: () => {
              ggn ??= gaussNewton().operator;
              return ggn;
            },
          }
        : {}),
    };
    if (kind === 'ggn') return { ...gaussNewton(), ...capabilities };
    const { operator, layout } = hessianOperator({
      tf,
      params: fn.params,
      loss: (params) => objective(fn.run(params, feeds(), [fetch])[0], targets()),
    });
    return { operator, layout, ...capabilities };
  } catch (error) {
    fn.dispose();
    throw error;
  }
}

/** The labels do not fit the model output (shape, classes). */
export class LabelError extends HessianProbeError {
  constructor(message: string) {
    super('labels', message);
  }
}

/**
 * Checks the labels against the shape of the output the loss reads, before any product: MSE
 * targets shaped like it; cross-entropy one-hot rows of its C classes or class ids in [0, C).
 *
 * @throws {@link LabelError} saying what the labels should have been.
 */
function checkLabels(output: readonly number[], labels: HostLabels, loss: OnnxLoss): void {
  if (loss === 'mse') {
    if (output.length !== labels.shape.length || output.some((d, i) => d !== labels.shape[i])) {
      throw new LabelError(
        `onnxCurvature: expected targets shaped like the model output [${output}], got [${labels.shape}]`,
      );
    }
    return;
  }
  if (loss !== 'ce') return;
  if (output.length !== 2) {
    throw new LabelError(
      `onnxCurvature: expected a model output of shape [N, C] for loss 'ce', got [${output}] (use loss 'mse'?)`,
    );
  }
  const classes = output[1];
  if (labels.shape.length === 2 && labels.shape[1] !== classes) {
    throw new LabelError(
      `onnxCurvature: expected one-hot labels of shape [${output}] (${classes} classes), got [${labels.shape}]`,
    );
  }
  if (labels.shape.length === 1) {
    const bad = labels.data.findIndex((v) => v >= classes);
    if (bad >= 0) {
      throw new LabelError(
        `onnxCurvature: expected class ids in [0, ${classes}) (the model has ${classes} outputs), got ${labels.data[bad]} at index ${bad}`,
      );
    }
  }
}
