/**
 * onnxruntime-node as the forward reference: the converted tfjs function must reproduce what
 * onnxruntime computes from the same file on the user's inputs before any curvature is
 * computed from it.
 */
import { HessianProbeError, OptionError } from '@hessian-probe/core';
import type { Tf } from '@hessian-probe/core/tfjs';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { OnnxFunction } from './graph.js';

/**
 * Default of {@link VerifyConversionOptions.tolerance}: 1e-4, relative to max(1, max |output|).
 * onnxruntime and tfjs both compute in float32 but sum in different orders (and onnxruntime
 * fuses Gemm and activations), so outputs differ by a few float32 roundings (ε = 2⁻²³ ≈ 1.2e-7)
 * times the depth and the square root of the inner dimensions; 1e-4 leaves room for networks
 * with thousands of units per layer and tens of layers, and still catches every wrong
 * operator semantics (a wrong axis, transpose or constant is off by O(1)).
 */
export const DEFAULT_CONVERSION_TOLERANCE = 1e-4;

/** A float32 array with its shape (row-major), e.g. from {@link readNpy}. */
export interface HostInput {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Options of {@link verifyConversion}. */
export interface VerifyConversionOptions {
  /** The TensorFlow.js namespace in use. */
  readonly tf: Tf;
  /** One float32 array for every name of {@link OnnxFunction.inputNames}. */
  readonly inputs: Readonly<Record<string, HostInput>>;
  /**
   * Largest accepted max |onnxruntime − tfjs| per output, relative to max(1, max |onnxruntime
   * output|); default {@link DEFAULT_CONVERSION_TOLERANCE}.
   */
  readonly tolerance?: number;
}

/** How one output compares. */
export interface OutputDifference {
  readonly name: string;
  /** max |onnxruntime − tfjs| over the output's entries. */
  readonly maxAbsDifference: number;
  /** max |onnxruntime| over the output's entries. */
  readonly maxAbsValue: number;
  /** maxAbsDifference / max(1, maxAbsValue): what the tolerance bounds. */
  readonly relativeDifference: number;
}

/** The result of {@link verifyConversion}. */
export interface ConversionCheck {
  readonly outputs: readonly OutputDifference[];
  /** The largest {@link OutputDifference.maxAbsDifference}. */
  readonly maxAbsDifference: number;
  /** The largest {@link OutputDifference.relativeDifference}. */
  readonly relativeDifference: number;
  /** The tolerance it was held to. */
  readonly tolerance: number;
}

/**
 * The converted graph reproduces onnxruntime beyond the tolerance; `check` holds the numbers.
 */
export class ConversionMismatchError extends HessianProbeError {
  /** The comparison that failed. */
  readonly check: ConversionCheck;

  constructor(message: string, check: ConversionCheck) {
    super('onnx-mismatch', message);
    this.check = check;
  }
}

/**
 * Runs the model in onnxruntime-node (CPU) and the converted function in tfjs on the same
 * inputs, and compares every output. Resolves with the differences when each output is within
 * `tolerance` (relative to max(1, max |output|)); rejects otherwise.
 *
 * @param modelBytes - the `.onnx` file the function was converted from.
 * @param fn - from {@link convertGraph}, with its initial parameters.
 * @throws {@link OptionError} for a missing input, a wrong data length or a bad tolerance;
 *   {@link ConversionMismatchError} (code `'onnx-mismatch'`) above the tolerance.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const bytes = readFileSync('mlp.onnx');
 * const fn = convertGraph(tf, parseModel(bytes));
 * const data = new Float32Array(8 * 4).fill(0.5); // input 'x', [8, 4]
 * const check = await verifyConversion(bytes, fn, { tf, inputs: { x: { data, shape: [8, 4] } } });
 * console.log(check.maxAbsDifference); // ~1e-7
 * ```
 */
export async function verifyConversion(
  modelBytes: Uint8Array,
  fn: OnnxFunction,
  options: VerifyConversionOptions,
): Promise<ConversionCheck> {
  const { tf, inputs, tolerance = DEFAULT_CONVERSION_TOLERANCE } = options;
  if (!(tolerance > 0)) {
    throw new OptionError(`verifyConversion: expected tolerance > 0, got ${tolerance}`);
  }
  for (const name of fn.inputNames) {
    const input = inputs[name];
    const size = input?.shape.reduce((a, b) => a * b, 1);
    if (input === undefined || size !== input.data.length) {
      throw new OptionError(
        `verifyConversion: expected input ${name} as float32 data matching its shape, got ${
          input === undefined ? 'none' : `${input.data.length} values for shape [${input.shape}]`
        }`,
      );
    }
  }
  const session = await InferenceSession.create(modelBytes);
  let reference: Float32Array[];
  try {
    const feeds = Object.fromEntries(
      fn.inputNames.map((n) => [n, new OrtTensor('float32', inputs[n].data, [...inputs[n].shape])]),
    );
    const results = await session.run(feeds);
    reference = fn.outputNames.map((n) => results[n].data as Float32Array);
  } finally {
    await session.release();
  }
  const ours = tf.tidy(() => {
    const feeds = Object.fromEntries(
      fn.inputNames.map((n) => [n, tf.tensor(inputs[n].data, [...inputs[n].shape], 'float32')]),
    );
    return fn.run(
      fn.params.map((p) => p.tensor),
      feeds,
    );
  });
  const values = ours.map((t) => t.dataSync());
  tf.dispose(ours);
  const outputs = fn.outputNames.map((name, k) => {
    let maxAbsDifference = 0;
    let maxAbsValue = 0;
    const ref = reference[k];
    const got = values[k];
    if (ref.length !== got.length) maxAbsDifference = Number.POSITIVE_INFINITY;
    for (let i = 0; i < Math.min(ref.length, got.length); i++) {
      const d = Math.abs(ref[i] - got[i]);
      // NaN on either side counts as an infinite difference.
      maxAbsDifference = Math.max(maxAbsDifference, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d);
      maxAbsValue = Math.max(maxAbsValue, Math.abs(ref[i]));
    }
    return {
      name,
      maxAbsDifference,
      maxAbsValue,
      relativeDifference: maxAbsDifference / Math.max(1, maxAbsValue),
    };
  });
  const check: ConversionCheck = {
    outputs,
    maxAbsDifference: Math.max(...outputs.map((o) => o.maxAbsDifference)),
    relativeDifference: Math.max(...outputs.map((o) => o.relativeDifference)),
    tolerance,
  };
  if (!(check.relativeDifference <= tolerance)) {
    const worst = outputs.reduce((a, b) => (b.relativeDifference > a.relativeDifference ? b : a));
    throw new ConversionMismatchError(
      `verifyConversion: expected the tfjs conversion to match onnxruntime within ${tolerance} (relative to max(1, |output|)), got ${worst.relativeDifference} on output ${worst.name} (max |difference| ${worst.maxAbsDifference})`,
      check,
    );
  }
  return check;
}
