/**
 * onnxruntime-node as the forward reference: the converted tfjs function must reproduce what
 * onnxruntime computes from the same file on the user's inputs before any curvature is
 * computed from it.
 */
import { HessianProbeError, OptionError } from '@hessian-probe/core';
import type { Tf } from '@hessian-probe/core/tfjs';
import type { Tensor } from '@tensorflow/tfjs-core';
import type onnxProto from 'onnx-proto';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { type InputType, type OnnxFunction, parseAnalysableModel } from './graph.js';
import { encodeModel, onnx } from './proto.js';

/**
 * Default of {@link VerifyConversionOptions.tolerance}: 1e-4, relative to max(1, max |output|).
 * onnxruntime and tfjs both compute in float32 but sum in different orders (and onnxruntime
 * fuses Gemm and activations), so outputs differ by a few float32 roundings (ε = 2⁻²³ ≈ 1.2e-7)
 * times the depth and the square root of the inner dimensions; 1e-4 leaves room for networks
 * with thousands of units per layer and tens of layers, and still catches every wrong
 * operator semantics (a wrong axis, transpose or constant is off by O(1)).
 */
export const DEFAULT_CONVERSION_TOLERANCE = 1e-4;

/**
 * An array with its shape (row-major), e.g. from {@link readNpy}: float32 for float inputs;
 * for integer (int32/int64) graph inputs such as token ids, int32 data, or float32 data holding
 * integers.
 */
export interface HostInput {
  readonly data: Float32Array | Int32Array;
  readonly shape: readonly number[];
}

/**
 * Checks that `inputs` holds every graph input of `fn` with data matching its shape, and
 * integers (within the int32 range) for integer inputs.
 *
 * @throws {@link OptionError} naming the input and what was wrong, prefixed with `where`.
 */
export function checkInputs(
  where: string,
  fn: Pick<OnnxFunction, 'inputNames' | 'inputTypes'>,
  inputs: Readonly<Record<string, HostInput>>,
): void {
  fn.inputNames.forEach((name, k) => {
    const input = inputs[name];
    const size = input?.shape.reduce((a, b) => a * b, 1);
    if (input === undefined || size !== input.data.length) {
      throw new OptionError(
        `${where}: expected input ${name} as data matching its shape, got ${
          input === undefined ? 'none' : `${input.data.length} values for shape [${input.shape}]`
        }`,
      );
    }
    const type = fn.inputTypes[k];
    if (type === 'float32' && !(input.data instanceof Float32Array)) {
      throw new OptionError(`${where}: expected float32 data for input ${name}, got int32`);
    }
    if (type !== 'float32') {
      const bad = input.data.findIndex((v) => !Number.isInteger(v) || Math.abs(v) >= 2 ** 31);
      if (bad >= 0) {
        throw new OptionError(
          `${where}: expected integers for the ${type} input ${name}, got ${input.data[bad]} at index ${bad}`,
        );
      }
    }
  });
}

/** The tfjs tensors of `inputs` for `fn` (float32, or int32 for integer inputs). */
export function inputTensors(
  tf: Tf,
  fn: Pick<OnnxFunction, 'inputNames' | 'inputTypes'>,
  inputs: Readonly<Record<string, HostInput>>,
): Record<string, Tensor> {
  return Object.fromEntries(
    fn.inputNames.map((n, k) => {
      const { data, shape } = inputs[n];
      const float = fn.inputTypes[k] === 'float32';
      return [
        n,
        tf.tensor(float ? data : Int32Array.from(data), [...shape], float ? 'float32' : 'int32'),
      ];
    }),
  );
}

function ortTensor(type: InputType, input: HostInput): OrtTensor {
  const shape = [...input.shape];
  if (type === 'int64')
    return new OrtTensor('int64', BigInt64Array.from(input.data, BigInt), shape);
  if (type === 'int32') return new OrtTensor('int32', Int32Array.from(input.data), shape);
  return new OrtTensor('float32', input.data as Float32Array, shape);
}

/**
 * onnxruntime feeds of `inputs` for the graph inputs `names` of element types `types` (int64
 * as BigInt64Array).
 */
export function ortFeeds(
  names: readonly string[],
  types: readonly InputType[],
  inputs: Readonly<Record<string, HostInput>>,
): Record<string, OrtTensor> {
  return Object.fromEntries(names.map((n, k) => [n, ortTensor(types[k], inputs[n])]));
}

/**
 * The model with `names` added as float32 graph outputs where they are not outputs already
 * (onnxruntime only returns graph outputs; the analysed tensors may be intermediate, such as
 * the probabilities a ZipMap reads or the logits before a Softmax). Everything else untouched.
 */
export function withGraphOutputs(
  model: onnxProto.onnx.IModelProto,
  names: readonly string[],
): onnxProto.onnx.IModelProto {
  const graph = model.graph ?? {};
  const outputs = graph.output ?? [];
  const present = new Set(outputs.map((o) => o.name ?? ''));
  const added = names
    .filter((n) => !present.has(n))
    .map((name) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  return added.length === 0
    ? model
    : { ...model, graph: { ...graph, output: [...outputs, ...added] } };
}

/** Options of {@link verifyConversion}. */
export interface VerifyConversionOptions {
  /** The TensorFlow.js namespace in use. */
  readonly tf: Tf;
  /** One array for every name of {@link OnnxFunction.inputNames} (see {@link HostInput}). */
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
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for a missing input, a wrong
 *   data length or a bad tolerance; {@link ConversionMismatchError} (code `'onnx-mismatch'`) above
 *   the tolerance.
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
  checkInputs('verifyConversion', fn, inputs);
  const model = parseAnalysableModel(modelBytes);
  const fetched = withGraphOutputs(model, fn.outputNames);
  const session = await InferenceSession.create(
    fetched === model ? modelBytes : encodeModel(fetched),
  );
  let reference: Float32Array[];
  try {
    const results = await session.run(ortFeeds(fn.inputNames, fn.inputTypes, inputs), [
      ...fn.outputNames,
    ]);
    reference = fn.outputNames.map((n) => results[n].data as Float32Array);
  } finally {
    await session.release();
  }
  const ours = tf.tidy(() =>
    fn.run(
      fn.params.map((p) => p.tensor),
      inputTensors(tf, fn, inputs),
    ),
  );
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
