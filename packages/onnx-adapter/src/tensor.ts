/**
 * ONNX tensors (initializers and `Constant` values) decoded into host arrays that tfjs accepts:
 * float32 stays float32; int64 and int32 become int32 (tfjs has no int64; shapes, axes and
 * token ids fit), int64 values outside the int32 range saturate to it (exporters write
 * INT64_MAX / INT64_MIN as "to the end" in Slice bounds, which saturation keeps meaning the
 * same; wrapping would turn INT64_MAX into −1); bool becomes tfjs's bool (bytes 0 or 1).
 */
import { int64, OnnxFormatError, onnx, type TensorProto } from './proto.js';

/** A decoded tensor: row-major values and their shape. */
export type HostTensor =
  | { readonly dtype: 'float32'; readonly shape: number[]; readonly values: Float32Array }
  | { readonly dtype: 'int32'; readonly shape: number[]; readonly values: Int32Array }
  | { readonly dtype: 'bool'; readonly shape: number[]; readonly values: Uint8Array };

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** An int64 value as an int32, saturated to the int32 range (see the module doc). */
function saturate(value: number): number {
  return Math.min(INT32_MAX, Math.max(INT32_MIN, value));
}

const DataType = onnx.TensorProto.DataType;

/**
 * Decodes a tensor from its typed field (`float_data`, `int32_data`, `int64_data`) or, when that
 * is empty, from `raw_data` (little-endian, as the ONNX IR specifies).
 *
 * @throws {@link OnnxFormatError} `'onnx-unsupported-dtype'` for other element types, and
 *   `'onnx-bad-graph'` when the number of values does not match the dimensions.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const model = parseModel(readFileSync('mlp.onnx'));
 * const w = decodeTensor(model.graph!.initializer![0]);
 * // { dtype: 'float32', shape: [5, 4], values: Float32Array(20) }
 * ```
 */
export function decodeTensor(t: TensorProto): HostTensor {
  const shape = (t.dims ?? []).map(int64);
  const size = shape.reduce((a, b) => a * b, 1);
  const raw = t.rawData ?? new Uint8Array();
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let result: HostTensor;
  switch (t.dataType) {
    case DataType.FLOAT: {
      const values =
        raw.length > 0
          ? Float32Array.from({ length: raw.length / 4 }, (_, i) => view.getFloat32(4 * i, true))
          : Float32Array.from(t.floatData ?? []);
      result = { dtype: 'float32', shape, values };
      break;
    }
    case DataType.INT32: {
      const values =
        raw.length > 0
          ? Int32Array.from({ length: raw.length / 4 }, (_, i) => view.getInt32(4 * i, true))
          : Int32Array.from(t.int32Data ?? []);
      result = { dtype: 'int32', shape, values };
      break;
    }
    case DataType.INT64: {
      const values =
        raw.length > 0
          ? Int32Array.from({ length: raw.length / 8 }, (_, i) =>
              saturate(Number(view.getBigInt64(8 * i, true))),
            )
          : Int32Array.from((t.int64Data ?? []).map((v) => saturate(int64(v))));
      result = { dtype: 'int32', shape, values };
      break;
    }
    case DataType.BOOL: {
      // Stored one byte per value in raw_data, else one int32 per value.
      const values =
        raw.length > 0
          ? Uint8Array.from(raw, (b) => (b === 0 ? 0 : 1))
          : Uint8Array.from(t.int32Data ?? [], (v) => (v === 0 ? 0 : 1));
      result = { dtype: 'bool', shape, values };
      break;
    }
    default:
      throw new OnnxFormatError(
        'onnx-unsupported-dtype',
        `decodeTensor: expected tensor ${t.name || '(unnamed)'} to be float32, int32, int64 or bool, got ONNX data type ${
          DataType[t.dataType ?? 0] ?? t.dataType
        }`,
      );
  }
  if (result.values.length !== size) {
    throw new OnnxFormatError(
      'onnx-bad-graph',
      `decodeTensor: expected tensor ${t.name || '(unnamed)'} of shape [${shape}] to hold ${size} values, got ${result.values.length}`,
    );
  }
  return result;
}
