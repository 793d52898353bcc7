/**
 * `toOnnx`: a TensorFlow.js layers model (a `tf.Sequential`, or a functional `tf.model` that
 * is a chain of single-input layers) as an ONNX model (opset {@link EXPORT_OPSET}), so that
 * onnxruntime, Netron and this package's `hessian-probe onnx` command can read it, optionally
 * with a `CurvatureReport` attached.
 *
 * The ONNX model takes exactly what `model.predict` takes: one float32 input named like the
 * tfjs input, shaped [batch, …tfjs input shape] (NHWC images), and computes the same output.
 * Inside, convolutions and pooling run in ONNX's NCHW with `Transpose` nodes at the layout
 * boundaries (see `export-layers.ts`); weights are float32 initializers named as tfjs names
 * them (`dense_1/kernel`, `conv2d_1/bias`, `batch_normalization_1/moving_mean`).
 */
import { type CurvatureReportInput, HessianProbeError, normalizeReport } from '@hessian-probe/core';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type onnxProto from 'onnx-proto';
import { annotateModel, writeFileAtomic } from './annotate.js';
import {
  EXPORTABLE_LAYERS,
  type ExportLayer,
  emitLayer,
  GraphBuilder,
  layerProblems,
  type Value,
} from './export-layers.js';
import { encodeModel, onnx } from './proto.js';

export { EXPORTABLE_ACTIVATIONS, EXPORTABLE_LAYERS } from './export-layers.js';

/**
 * The default-domain opset of exported models: 13, the first where Softmax acts on one axis
 * (tfjs's semantics) and where every operator used has its current definition.
 */
export const EXPORT_OPSET = 13;
/** The IR version of exported models: 7, the one released with opset 13 (ONNX 1.8). */
export const EXPORT_IR_VERSION = 7;

/** Options of {@link toOnnx} and {@link writeOnnx}. */
export interface ToOnnxOptions {
  /**
   * A curvature report to attach in `metadata_props` (through {@link annotateModel}); default
   * none. To carry the last report of a training run with the fit() callback of
   * `@hessian-probe/tfjs-callback`, pass `callback.history.at(-1)` (`history` keeps every
   * report in the order made unless its `history` option says otherwise); `undefined` (an
   * empty history) attaches nothing.
   */
  readonly report?: CurvatureReportInput | undefined;
}

/** One layer {@link toOnnx} cannot export, and why. */
export interface UnsupportedLayer {
  /** The layer's name (the model's name for problems of the model as a whole). */
  readonly layer: string;
  /** Its tfjs-layers class, e.g. `'Conv2D'`. */
  readonly className: string;
  /** Every reason, joined by `'; '`. */
  readonly reason: string;
}

/**
 * A model {@link toOnnx} cannot export: an unsupported layer class, activation or
 * configuration (dilation, channelsFirst, …), a model that is not a chain of single-input
 * layers, or weights that are not finite (NaN, ±Infinity). `layers` lists every offending layer (all of them, not just the first); nothing is
 * encoded or written before it is raised. Code `'onnx-export-unsupported'`.
 *
 * @example
 * ```ts
 * try { toOnnx(model); }
 * catch (e) { if (e instanceof OnnxExportError) console.error(e.layers.map((l) => l.layer)); }
 * ```
 */
export class OnnxExportError extends HessianProbeError {
  /** The layers at fault. */
  readonly layers: readonly UnsupportedLayer[];

  constructor(message: string, layers: readonly UnsupportedLayer[]) {
    super('onnx-export-unsupported', message);
    this.layers = [...layers];
  }
}

/** The model's layers as a chain, and every problem found on the way. */
function plan(model: LayersModel): { steps: ExportLayer[]; problems: UnsupportedLayer[] } {
  const problems: UnsupportedLayer[] = [];
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    problems.push({
      layer: model.name,
      className: model.getClassName(),
      reason: `${model.inputs.length} inputs and ${model.outputs.length} outputs (expected one of each)`,
    });
    return { steps: [], problems };
  }
  const steps: ExportLayer[] = [];
  let previous: SymbolicTensor | undefined = model.inputs[0];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const reasons: string[] = [];
    let input: SymbolicTensor | SymbolicTensor[] | undefined;
    try {
      input = layer.input;
    } catch {
      reasons.push(
        layer.inboundNodes.length === 0
          ? 'it is not connected (no input)'
          : 'it is applied more than once (shared layers are not exported)',
      );
    }
    if (Array.isArray(input)) {
      reasons.push(
        `it takes ${input.length} inputs (only chains of single-input layers are exported)`,
      );
    } else if (input !== undefined && input !== previous) {
      reasons.push(
        `it reads ${input.name}, not the output of the layer before it (only chains are exported)`,
      );
    }
    if (input !== undefined) {
      const first = Array.isArray(input) ? input[0] : input;
      reasons.push(...layerProblems(layer, first.shape));
      steps.push(layer);
    }
    if (reasons.length > 0) {
      problems.push({
        layer: layer.name,
        className: layer.getClassName(),
        reason: reasons.join('; '),
      });
    }
    const output: SymbolicTensor | SymbolicTensor[] | undefined =
      input === undefined ? undefined : layer.output;
    previous = Array.isArray(output) ? undefined : output;
  }
  return { steps, problems };
}

/** Every exported layer's weights that hold NaN or ±Infinity, one entry per layer. */
function nonFiniteWeights(steps: readonly ExportLayer[]): UnsupportedLayer[] {
  const problems: UnsupportedLayer[] = [];
  for (const layer of steps) {
    const reasons: string[] = [];
    for (const weight of layer.weights) {
      const values = weight.read().dataSync();
      let count = 0;
      let first = -1;
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i])) {
          count++;
          if (first < 0) first = i;
        }
      }
      if (count > 0) {
        reasons.push(
          `weight ${weight.originalName ?? weight.name} has ${count} non-finite values (first: ${values[first]} at flat index ${first})`,
        );
      }
    }
    if (reasons.length > 0) {
      problems.push({
        layer: layer.name,
        className: layer.getClassName(),
        reason: reasons.join('; '),
      });
    }
  }
  return problems;
}

function valueInfo(
  name: string,
  shape: readonly (number | null)[],
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: shape.map((d, i) =>
            d === null ? { dimParam: i === 0 ? 'batch' : `dim_${i}` } : { dimValue: d },
          ),
        },
      },
    },
  };
}

/**
 * Converts a TensorFlow.js layers model to ONNX bytes (opset {@link EXPORT_OPSET}, IR version
 * {@link EXPORT_IR_VERSION}), at the model's current weights and in inference mode (Dropout is
 * the identity, BatchNormalization uses its moving statistics).
 *
 * - The ONNX input has the tfjs input's name and shape ([batch, …], images NHWC), so
 *   onnxruntime and `model.predict` take identical arrays; the output (one, named after the
 *   last node) matches `model.predict` to float32 rounding.
 * - Layers ({@link EXPORTABLE_LAYERS}): Dense → Gemm (kernel [in, out] kept as B); Conv2D →
 *   Conv (kernel transposed from [kH, kW, C, M] to [M, C, kH, kW], same name; strides;
 *   padding 'same' → auto_pad SAME_UPPER, 'valid' → VALID); MaxPooling2D / AveragePooling2D
 *   → MaxPool / AveragePool (count_include_pad 0, as tfjs); GlobalAveragePooling2D →
 *   GlobalAveragePool + Flatten; Flatten → Flatten (after a Transpose back to NHWC, so the
 *   order is tfjs's); Dropout → Identity; BatchNormalization (channel axis) →
 *   BatchNormalization with epsilon, moving mean and variance, gamma and beta (ones / zeros
 *   named `<layer>/unit_scale`, `<layer>/zero_offset` when `scale` / `center` is false);
 *   Activation and fused activations ({@link EXPORTABLE_ACTIVATIONS}) → Relu, Sigmoid, Tanh,
 *   Elu, Selu, Softplus, Softmax (last axis); LeakyReLU → LeakyRelu with its alpha.
 * - Layout: NCHW between convolution and pooling operators, with a Transpose at each boundary.
 *
 * This package's own analyses read the result: with the default parameter choice of
 * {@link convertGraph}, the Dense and Conv2D kernels and biases are the parameters.
 *
 * @param model - a `tf.Sequential` or a functional `tf.LayersModel` that is a chain.
 * @throws `ReportFormatError` (core) for a malformed `options.report`, then
 *   {@link OnnxExportError} listing every layer that cannot be exported, then
 *   {@link OnnxExportError} listing every layer whose weights hold NaN or ±Infinity (named as
 *   the initializers would be); all before anything is encoded.
 * @example
 * ```ts
 * import { InferenceSession } from 'onnxruntime-node';
 * const probe = { x: x.slice(0, 256), y: y.slice(0, 256) }; // a fixed batch
 * const callback = hessianCallback({ tf, probe });
 * await model.fit(x, y, { epochs: 5, callbacks: [callback] });
 * const report = callback.history.at(-1); // the last report, if any analysis ran
 * const bytes = toOnnx(model, report === undefined ? {} : { report }); // metadata if a report
 * const session = await InferenceSession.create(bytes); // feed it what model.predict takes
 * ```
 */
export function toOnnx(model: LayersModel, options: ToOnnxOptions = {}): Uint8Array {
  const report = options.report === undefined ? undefined : normalizeReport(options.report);
  const { steps, problems } = plan(model);
  if (problems.length > 0) {
    throw new OnnxExportError(
      `toOnnx: expected a chain of exportable layers (${EXPORTABLE_LAYERS.join(', ')}), got ${problems.length} unsupported: ${problems
        .map((p) => `${p.layer} (${p.className}): ${p.reason}`)
        .join('; ')}`,
      problems,
    );
  }
  const corrupt = nonFiniteWeights(steps);
  if (corrupt.length > 0) {
    throw new OnnxExportError(
      `toOnnx: expected finite weights, got NaN or Infinity in ${corrupt.length} layers: ${corrupt
        .map((p) => `${p.layer} (${p.className}): ${p.reason}`)
        .join('; ')}`,
      corrupt,
    );
  }
  const input = model.inputs[0];
  const b = new GraphBuilder();
  let x: Value = { name: input.name, rank: input.shape.length, nchw: false };
  for (const layer of steps) x = emitLayer(b, layer, x);
  const last = steps.at(-1)?.name ?? model.name;
  x = b.toTfjs(last, x);
  const bytes = encodeModel({
    irVersion: EXPORT_IR_VERSION,
    opsetImport: [{ domain: '', version: EXPORT_OPSET }],
    producerName: '@hessian-probe/onnx-adapter',
    graph: {
      name: model.name,
      docString: `Exported from the TensorFlow.js model ${model.name} by hessian-probe's toOnnx: input ${input.name} as model.predict takes it (images NHWC); weights named as tfjs names them, Conv kernels transposed to [M, C, kH, kW].`,
      node: b.nodes,
      initializer: b.initializers,
      input: [valueInfo(input.name, input.shape)],
      output: [valueInfo(x.name, model.outputs[0].shape)],
    },
  });
  return report === undefined ? bytes : annotateModel(bytes, report);
}

/**
 * {@link toOnnx}, then writes the bytes to `path` atomically ({@link writeFileAtomic}): a
 * reader sees the old file or the new one, and nothing is written when the export fails.
 *
 * @throws as {@link toOnnx}; the file system's error when `path` cannot be written.
 * @example
 * ```ts
 * await writeOnnx(model, 'runs/r1/model.onnx', { report }); // e.g. callback.history.at(-1)
 * // then: hessian-probe onnx show runs/r1/model.onnx
 * ```
 */
export async function writeOnnx(
  model: LayersModel,
  path: string,
  options: ToOnnxOptions = {},
): Promise<void> {
  await writeFileAtomic(path, toOnnx(model, options));
}
