/**
 * Small ONNX models built in code with `onnx-proto`, for this package's tests: a generic graph
 * builder and a multilayer perceptron with seeded weights.
 */
import { createRandom } from '@hessian-probe/core';
import type onnxProto from 'onnx-proto';
import { encodeModel, onnx } from '../proto.js';

/** An initializer or `Constant` value: float32 unless `dtype` says `'int64'`. */
export interface TensorSpec {
  readonly name?: string;
  readonly dims: readonly number[];
  readonly data: readonly number[] | Float32Array;
  readonly dtype?: 'float32' | 'int64';
}

/**
 * A node attribute value: `{ f }` float, `{ i }` int, `{ ints }`, `{ floats }`, `{ s }` string
 * or `{ t }` tensor.
 */
export type AttrSpec =
  | { readonly f: number }
  | { readonly s: string }
  | { readonly i: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly t: TensorSpec };

/** One node of {@link buildModel}. */
export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly domain?: string;
  readonly attrs?: Readonly<Record<string, AttrSpec>>;
}

/** Options of {@link buildModel}. */
export interface ModelSpec {
  readonly nodes: readonly NodeSpec[];
  readonly initializers?: readonly (TensorSpec & { readonly name: string })[];
  /**
   * Graph inputs (float32 unless `dtype` says `'int64'`), with their shapes (`-1` or a string
   * for a dynamic dimension).
   */
  readonly inputs: readonly {
    readonly name: string;
    readonly shape: readonly (number | string)[];
    readonly dtype?: 'float32' | 'int64';
  }[];
  readonly outputs: readonly string[];
  /** Default-domain opset; default 13. */
  readonly opset?: number;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A TensorProto from a {@link TensorSpec}. */
export function tensorProto(spec: TensorSpec): onnxProto.onnx.ITensorProto {
  const base = { name: spec.name ?? '', dims: [...spec.dims] };
  return spec.dtype === 'int64'
    ? { ...base, dataType: onnx.TensorProto.DataType.INT64, int64Data: [...spec.data] }
    : {
        ...base,
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(Float32Array.from(spec.data).buffer),
      };
}

function attribute(name: string, a: AttrSpec): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('f' in a) return { name, type: T.FLOAT, f: a.f };
  if ('i' in a) return { name, type: T.INT, i: a.i };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  if ('floats' in a) return { name, type: T.FLOATS, floats: [...a.floats] };
  if ('s' in a) return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
  return { name, type: T.TENSOR, t: tensorProto(a.t) };
}

function valueInfo(
  name: string,
  shape?: readonly (number | string)[],
  dtype: 'float32' | 'int64' = 'float32',
): onnxProto.onnx.IValueInfoProto {
  const dim = shape?.map((d) =>
    typeof d === 'number' && d >= 0 ? { dimValue: d } : { dimParam: String(d) },
  );
  return {
    name,
    type: {
      tensorType: {
        elemType:
          dtype === 'int64' ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.FLOAT,
        ...(dim === undefined ? {} : { shape: { dim } }),
      },
    },
  };
}

/** The `.onnx` bytes of a model built from `spec` (IR version 8, producer `hessian-probe-tests`). */
export function buildModel(spec: ModelSpec): Uint8Array {
  return encodeModel({
    irVersion: 8,
    producerName: 'hessian-probe-tests',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    metadataProps: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'test',
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.op.toLowerCase()}_${i}`,
        opType: n.op,
        domain: n.domain ?? '',
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs ?? {}).map(([k, a]) => attribute(k, a)),
      })),
      initializer: (spec.initializers ?? []).map(tensorProto),
      input: spec.inputs.map((i) => valueInfo(i.name, i.shape, i.dtype)),
      output: spec.outputs.map((o) => valueInfo(o)),
    },
  });
}

/** Seeded normal values scaled by `scale`. */
export function normals(seed: number, n: number, scale = 1): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: n }, () => scale * random.gaussian());
}

/** Options of {@link mlpModel}. */
export interface MlpSpec {
  /** Layer widths, input first: `[4, 5, 3]` is 4 → 5 → 3. */
  readonly sizes: readonly number[];
  /** Hidden activation; default `'Relu'`. */
  readonly activation?: 'Relu' | 'Tanh' | 'Sigmoid';
  /** `'gemm'` (Gemm with transB = 1, weights stored [out, in]) or `'matmul'` (MatMul + Add). */
  readonly linear?: 'gemm' | 'matmul';
  /** Append a Softmax to the logits; default false. */
  readonly softmax?: boolean;
  readonly seed?: number;
  readonly opset?: number;
}

/**
 * A multilayer perceptron: input `x` [batch, sizes[0]], output `y`; layer `l` has weights
 * `w{l}` and bias `b{l}` (1-based).
 */
export function mlpModel(spec: MlpSpec): {
  bytes: Uint8Array;
  weights: Record<string, Float32Array>;
} {
  const { sizes, activation = 'Relu', linear = 'gemm', softmax = false, seed = 1 } = spec;
  const nodes: NodeSpec[] = [];
  const initializers: (TensorSpec & { name: string })[] = [];
  const weights: Record<string, Float32Array> = {};
  let current = 'x';
  for (let l = 1; l < sizes.length; l++) {
    const [nIn, nOut] = [sizes[l - 1], sizes[l]];
    const w = normals(seed * 100 + l, nIn * nOut, 1 / Math.sqrt(nIn));
    const b = normals(seed * 100 + 50 + l, nOut, 0.1);
    weights[`w${l}`] = w;
    weights[`b${l}`] = b;
    initializers.push({
      name: `w${l}`,
      dims: linear === 'gemm' ? [nOut, nIn] : [nIn, nOut],
      data: w,
    });
    initializers.push({ name: `b${l}`, dims: [nOut], data: b });
    const last = l === sizes.length - 1;
    const z = last && !softmax ? 'y' : `z${l}`;
    if (linear === 'gemm') {
      nodes.push({
        op: 'Gemm',
        name: `dense${l}`,
        inputs: [current, `w${l}`, `b${l}`],
        outputs: [z],
        attrs: { transB: { i: 1 } },
      });
    } else {
      nodes.push({
        op: 'MatMul',
        name: `matmul${l}`,
        inputs: [current, `w${l}`],
        outputs: [`m${l}`],
      });
      nodes.push({ op: 'Add', name: `bias${l}`, inputs: [`m${l}`, `b${l}`], outputs: [z] });
    }
    if (!last) {
      nodes.push({ op: activation, name: `act${l}`, inputs: [z], outputs: [`h${l}`] });
      current = `h${l}`;
    } else if (softmax) {
      nodes.push({
        op: 'Softmax',
        name: 'softmax',
        inputs: [z],
        outputs: ['y'],
        attrs: { axis: { i: 1 } },
      });
    }
  }
  const bytes = buildModel({
    nodes,
    initializers,
    inputs: [{ name: 'x', shape: ['batch', sizes[0]] }],
    outputs: ['y'],
    ...(spec.opset === undefined ? {} : { opset: spec.opset }),
  });
  return { bytes, weights };
}
