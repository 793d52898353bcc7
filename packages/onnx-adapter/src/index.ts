/**
 * `@hessian-probe/onnx-adapter`: curvature analyses of exported ONNX models.
 *
 * - {@link parseModel} reads `.onnx` bytes (with `onnx-proto`) and refuses, with a typed
 *   {@link OnnxFormatError}, empty, truncated or non-ONNX bytes, unsupported opsets
 *   ({@link MIN_OPSET}..{@link MAX_OPSET}), custom-domain operators and external data.
 * - {@link convertGraph} turns the graph into a differentiable tfjs function of its parameter
 *   initializers (operators: {@link SUPPORTED_OPS}); {@link verifyConversion} checks it against
 *   onnxruntime-node on the user's inputs.
 * - {@link onnxCurvature} gives the exact loss Hessian (or, `kind: 'ggn'`, the generalized
 *   Gauss–Newton matrix) over the initializers as a `CurvatureOperator` of
 *   `@hessian-probe/core`, layout blocks named after the initializers.
 * - {@link forwardOnlyTrace} estimates the Hessian trace and per-initializer block traces from
 *   onnxruntime forward passes alone (second differences), for graphs outside the operator set.
 * - {@link annotateModel} / {@link annotateFile} attach a `CurvatureReport` to the model's
 *   `metadata_props` (every other byte kept); {@link readAnnotation} reads it back.
 * - {@link toOnnx} / {@link writeOnnx} export a tfjs layers model (a chain of
 *   {@link EXPORTABLE_LAYERS}) to ONNX, optionally carrying a report; {@link OnnxExportError}
 *   lists every layer it cannot export.
 * - {@link readNpy} and {@link writeNpy}: NumPy `.npy` files (format versions 1.0 to 3.0;
 *   little-endian, C-order float32, float64, int32, int64, uint8 and bool), with
 *   {@link int64ToNumbers} for int64 labels and {@link NpyFormatError} for files it refuses.
 *
 * The command line `hessian-probe onnx analyze MODEL.onnx --inputs X.npy --labels Y.npy …` and
 * `hessian-probe onnx show MODEL.onnx` (bin `hessian-probe`; `src/cli.ts`) is not exported
 * here: it loads `@tensorflow/tfjs`, which the library itself leaves to the caller.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import * as tf from '@tensorflow/tfjs';
 * import { topEigenpairs } from '@hessian-probe/core';
 * import { onnxCurvature, readNpy } from '@hessian-probe/onnx-adapter';
 * const x = readNpy(readFileSync('x.npy')); // float32 [N, D]
 * const y = readNpy(readFileSync('y.npy')); // int32 [N]
 * if (x.dtype !== 'float32' || y.dtype !== 'int32') throw new Error('unexpected dtypes');
 * const curvature = await onnxCurvature(readFileSync('mlp.onnx'), {
 *   tf,
 *   inputs: { x: { data: x.data, shape: x.shape } },
 *   labels: { data: y.data, shape: y.shape },
 *   loss: 'ce',
 * });
 * const top = await topEigenpairs(curvature.operator, { k: 3, seed: 0 });
 * curvature.dispose();
 * ```
 *
 * @packageDocumentation
 */

// Defined in @hessian-probe/core (the classBlocks analysis runs it); also exported here, next
// to the corpus language model it was written for.
export {
  type ClassBlockMass,
  type ClassBlockMassOptions,
  classBlockMass,
  type Estimate,
} from '@hessian-probe/core';
export {
  type AnnotateFileOptions,
  annotateFile,
  annotateModel,
  KEY_PREFIX,
  REPORT_KEY,
  readAnnotation,
  writeFileAtomic,
} from './annotate.js';
export {
  type HostLabels,
  type OnnxCurvature,
  type OnnxCurvatureOptions,
  type OnnxLoss,
  onnxCurvature,
} from './curvature.js';
export {
  EXPORT_IR_VERSION,
  EXPORT_OPSET,
  EXPORTABLE_ACTIVATIONS,
  EXPORTABLE_LAYERS,
  OnnxExportError,
  type ToOnnxOptions,
  toOnnx,
  type UnsupportedLayer,
  writeOnnx,
} from './export.js';
export {
  DEFAULT_RELATIVE_STEP,
  FLOAT32_UNIT_ROUNDOFF,
  type ForwardOnlyOptions,
  type ForwardOnlyResult,
  forwardOnlyTrace,
  NOISE_POINTS,
  noiseLevel,
  type SecondDifferenceEstimate,
} from './forward-only.js';
export {
  analysedOutputs,
  type ConvertGraphOptions,
  convertGraph,
  defaultParameters,
  type OnnxFunction,
  parseAnalysableModel,
  SUPPORTED_OPS,
} from './graph.js';
export {
  int64ToNumbers,
  type NpyArray,
  type NpyDataTypes,
  type NpyDtype,
  type NpyErrorCode,
  NpyFormatError,
  readNpy,
  writeNpy,
} from './npy.js';
export {
  type AttributeProto,
  decodeModel,
  encodeModel,
  MAX_OPSET,
  MIN_OPSET,
  type ModelProto,
  type NodeProto,
  type OnnxErrorCode,
  OnnxFormatError,
  type OnnxNodeRef,
  onnx,
  parseModel,
  type TensorProto,
} from './proto.js';
export {
  type ConversionCheck,
  ConversionMismatchError,
  DEFAULT_CONVERSION_TOLERANCE,
  type HostInput,
  type OutputDifference,
  type VerifyConversionOptions,
  verifyConversion,
} from './runtime.js';
