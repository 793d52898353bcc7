/**
 * `@hessian-probe/onnx-adapter`: curvature analyses of exported ONNX models.
 *
 * Here now: {@link readNpy} and {@link writeNpy}, a NumPy `.npy` reader and writer (format
 * versions 1.0 to 3.0; little-endian, C-order float32, float64, int32, int64, uint8 and bool),
 * with {@link int64ToNumbers} for int64 labels and {@link NpyFormatError} for files it refuses.
 * They are how the command line takes inputs and labels.
 *
 * Planned (issue 6): parsing and writing `.onnx` bytes; converting an ONNX graph into a
 * differentiable tfjs function, checked against onnxruntime-node; the forward-only estimate
 * for graphs outside the supported operator set; annotating a model's `metadata_props` with a
 * `CurvatureReport` and reading it back; `toOnnx()` export of tfjs Sequential models; and the
 * `hessian-probe onnx analyze|show` command.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { int64ToNumbers, readNpy } from '@hessian-probe/onnx-adapter';
 * const y = readNpy(readFileSync('labels.npy'));
 * const labels = y.dtype === 'int64' ? int64ToNumbers(y.data) : undefined;
 * ```
 *
 * @packageDocumentation
 */
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
