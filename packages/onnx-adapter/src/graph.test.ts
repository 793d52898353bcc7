import { OptionError } from '@hessian-probe/core';
import { describe, expect, it } from 'vitest';
import { convertGraph, defaultParameters, parseAnalysableModel, SUPPORTED_OPS } from './graph.js';
import { OnnxFormatError, parseModel } from './proto.js';
import { verifyConversion } from './runtime.js';
import { BACKENDS, useBackend } from './testing/backends.js';
import {
  type AttrSpec,
  buildModel,
  mlpModel,
  type NodeSpec,
  normals,
  type TensorSpec,
} from './testing/models.js';

// Single operators against onnxruntime: both sides compute in float32, so the outputs agree to
// a few float32 roundings (ε = 2⁻²³ ≈ 1.2e-7) of values of order 1; 1e-6 (≈ 8 ε) bounds the
// largest difference with room, and a wrong semantics (axis, transpose, alpha) is off by O(1).
const OP_TOLERANCE = 1e-6;
// Convolutions sum up to 48 products into outputs of magnitude up to ~10, where one float32
// ulp is ~1e-6; a different summation order (onnxruntime's im2col GEMM against tfjs's loops)
// costs a few ulps there. A wrong layout or padding is off by O(1).
const CONV_TOLERANCE = 4e-6;

interface OpCase {
  readonly title: string;
  readonly op: string;
  /** Graph inputs (float32, seeded normal values) with their shapes. */
  readonly inputs: Readonly<Record<string, readonly number[]>>;
  /** Node inputs: graph input names, initializer names, or '' for omitted ones. */
  readonly nodeInputs: readonly string[];
  readonly initializers?: readonly (TensorSpec & { readonly name: string })[];
  readonly attrs?: Readonly<Record<string, AttrSpec>>;
  readonly opset?: number;
  /** Node outputs (the first is the graph output `y`); default 1. */
  readonly outputs?: number;
  /** Default {@link OP_TOLERANCE}. */
  readonly tolerance?: number;
  /**
   * Nodes after the tested one, which then writes `h` instead of `y`: they turn an integer or
   * boolean result into the float32 output `y` that onnxruntime and tfjs are compared on.
   */
  readonly after?: readonly NodeSpec[];
  /** Inputs drawn as |normal| + 0.1 (for Sqrt, Log, Reciprocal); default false. */
  readonly positive?: boolean;
}

/** The int64 scalar initializer `name`. */
const scalar = (name: string, value: number): TensorSpec & { name: string } => ({
  name,
  dims: [],
  data: [value],
  dtype: 'int64',
});

/** Casts `h` to float32 `y`. */
const toFloat: readonly NodeSpec[] = [
  { op: 'Cast', inputs: ['h'], outputs: ['y'], attrs: { to: { i: 1 } } },
];

/** Selects x where `h` holds, u elsewhere, into `y`. */
const select: readonly NodeSpec[] = [{ op: 'Where', inputs: ['h', 'x', 'u'], outputs: ['y'] }];

const ints = (name: string, data: number[]): TensorSpec & { name: string } => ({
  name,
  dims: [data.length],
  data,
  dtype: 'int64',
});

const init = (
  name: string,
  dims: number[],
  seed: number,
  shift = 0,
  scale = 1,
): TensorSpec & { name: string } => ({
  name,
  dims,
  data: normals(
    seed,
    dims.reduce((a, b) => a * b, 1),
    scale,
  ).map((v) => v + shift),
});

const CASES: readonly OpCase[] = [
  {
    title: 'Gemm transB, alpha, beta',
    op: 'Gemm',
    inputs: { x: [3, 4] },
    nodeInputs: ['x', 'w', 'c'],
    initializers: [init('w', [5, 4], 1), init('c', [5], 2)],
    attrs: { transB: { i: 1 }, alpha: { f: 0.5 }, beta: { f: 2 } },
  },
  {
    title: 'Gemm transA, 2-D C',
    op: 'Gemm',
    inputs: { x: [4, 3] },
    nodeInputs: ['x', 'w', 'c'],
    initializers: [init('w', [4, 5], 3), init('c', [1, 5], 4)],
    attrs: { transA: { i: 1 } },
  },
  {
    title: 'Gemm without C',
    op: 'Gemm',
    inputs: { x: [3, 4] },
    nodeInputs: ['x', 'w'],
    initializers: [init('w', [4, 2], 5)],
  },
  {
    title: 'MatMul 2-D',
    op: 'MatMul',
    inputs: { x: [3, 4] },
    nodeInputs: ['x', 'w'],
    initializers: [init('w', [4, 5], 6)],
  },
  {
    title: 'MatMul batched 3-D × 2-D',
    op: 'MatMul',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x', 'w'],
    initializers: [init('w', [4, 5], 7)],
  },
  {
    title: 'MatMul 2-D × 1-D',
    op: 'MatMul',
    inputs: { x: [3, 4] },
    nodeInputs: ['x', 'w'],
    initializers: [init('w', [4], 8)],
  },
  {
    title: 'Add broadcast',
    op: 'Add',
    inputs: { x: [3, 4] },
    nodeInputs: ['x', 'b'],
    initializers: [init('b', [4], 9)],
  },
  { title: 'Sub two inputs', op: 'Sub', inputs: { x: [3, 4], u: [3, 1] }, nodeInputs: ['x', 'u'] },
  {
    title: 'Mul broadcast',
    op: 'Mul',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x', 'b'],
    initializers: [init('b', [3, 1], 10)],
  },
  {
    title: 'Div',
    op: 'Div',
    inputs: { x: [3, 4] },
    nodeInputs: ['x', 'b'],
    initializers: [init('b', [4], 11, 4)],
  },
  { title: 'Relu', op: 'Relu', inputs: { x: [3, 4] }, nodeInputs: ['x'] },
  {
    title: 'LeakyRelu alpha 0.2',
    op: 'LeakyRelu',
    inputs: { x: [3, 4] },
    nodeInputs: ['x'],
    attrs: { alpha: { f: 0.2 } },
  },
  { title: 'LeakyRelu default alpha', op: 'LeakyRelu', inputs: { x: [3, 4] }, nodeInputs: ['x'] },
  { title: 'Tanh', op: 'Tanh', inputs: { x: [3, 4] }, nodeInputs: ['x'] },
  { title: 'Sigmoid', op: 'Sigmoid', inputs: { x: [3, 4] }, nodeInputs: ['x'] },
  {
    title: 'Softmax opset 13, default axis',
    op: 'Softmax',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x'],
  },
  {
    title: 'Softmax opset 13, axis 1',
    op: 'Softmax',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x'],
    attrs: { axis: { i: 1 } },
  },
  {
    title: 'Softmax opset 11, coerced to 2-D at axis 1',
    op: 'Softmax',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x'],
    opset: 11,
  },
  { title: 'LogSoftmax opset 13', op: 'LogSoftmax', inputs: { x: [3, 4] }, nodeInputs: ['x'] },
  {
    title: 'LogSoftmax opset 11, axis 2',
    op: 'LogSoftmax',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x'],
    attrs: { axis: { i: 2 } },
    opset: 11,
  },
  {
    title: 'Flatten axis 2',
    op: 'Flatten',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x'],
    attrs: { axis: { i: 2 } },
  },
  { title: 'Flatten default axis', op: 'Flatten', inputs: { x: [2, 3, 4] }, nodeInputs: ['x'] },
  {
    title: 'Reshape with 0 and -1',
    op: 'Reshape',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x', 's'],
    initializers: [{ name: 's', dims: [2], data: [0, -1], dtype: 'int64' }],
  },
  {
    title: 'Transpose perm',
    op: 'Transpose',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x'],
    attrs: { perm: { ints: [1, 2, 0] } },
  },
  {
    title: 'Transpose default (reverse)',
    op: 'Transpose',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x'],
  },
  { title: 'Identity', op: 'Identity', inputs: { x: [3, 4] }, nodeInputs: ['x'] },
  { title: 'Dropout (inference)', op: 'Dropout', inputs: { x: [3, 4] }, nodeInputs: ['x'] },
  { title: 'Elu default alpha', op: 'Elu', inputs: { x: [3, 4] }, nodeInputs: ['x'] },
  {
    title: 'Elu alpha 0.5',
    op: 'Elu',
    inputs: { x: [3, 4] },
    nodeInputs: ['x'],
    attrs: { alpha: { f: 0.5 } },
  },
  { title: 'Selu defaults', op: 'Selu', inputs: { x: [3, 4] }, nodeInputs: ['x'] },
  {
    title: 'Selu alpha 1.5, gamma 2',
    op: 'Selu',
    inputs: { x: [3, 4] },
    nodeInputs: ['x'],
    attrs: { alpha: { f: 1.5 }, gamma: { f: 2 } },
  },
  { title: 'Softplus', op: 'Softplus', inputs: { x: [3, 4] }, nodeInputs: ['x'] },
  {
    title: 'Conv 3×3 with bias',
    op: 'Conv',
    tolerance: CONV_TOLERANCE,
    inputs: { x: [2, 3, 6, 7] },
    nodeInputs: ['x', 'w', 'b'],
    initializers: [init('w', [4, 3, 3, 3], 12, 0, 0.2), init('b', [4], 13)],
  },
  {
    title: 'Conv symmetric pads, strides 2',
    op: 'Conv',
    tolerance: CONV_TOLERANCE,
    inputs: { x: [2, 3, 6, 7] },
    nodeInputs: ['x', 'w', 'b'],
    initializers: [init('w', [4, 3, 3, 3], 14, 0, 0.2), init('b', [4], 15)],
    attrs: { pads: { ints: [1, 1, 1, 1] }, strides: { ints: [2, 2] } },
  },
  {
    title: 'Conv asymmetric pads, strides [1, 2], no bias',
    op: 'Conv',
    tolerance: CONV_TOLERANCE,
    inputs: { x: [1, 2, 5, 6] },
    nodeInputs: ['x', 'w'],
    initializers: [init('w', [3, 2, 3, 2], 16, 0, 0.2)],
    attrs: { pads: { ints: [0, 1, 2, 1] }, strides: { ints: [1, 2] } },
  },
  {
    title: 'Conv auto_pad SAME_UPPER, strides 2',
    op: 'Conv',
    tolerance: CONV_TOLERANCE,
    inputs: { x: [2, 3, 6, 7] },
    nodeInputs: ['x', 'w', 'b'],
    initializers: [init('w', [4, 3, 4, 4], 17, 0, 0.2), init('b', [4], 18)],
    attrs: { auto_pad: { s: 'SAME_UPPER' }, strides: { ints: [2, 2] } },
  },
  {
    title: 'Conv auto_pad SAME_LOWER',
    op: 'Conv',
    tolerance: CONV_TOLERANCE,
    inputs: { x: [1, 2, 5, 5] },
    nodeInputs: ['x', 'w'],
    initializers: [init('w', [2, 2, 2, 2], 19, 0, 0.2)],
    attrs: { auto_pad: { s: 'SAME_LOWER' } },
  },
  {
    title: 'Conv auto_pad VALID with kernel_shape, dilations 1, group 1',
    op: 'Conv',
    tolerance: CONV_TOLERANCE,
    inputs: { x: [1, 2, 5, 5] },
    nodeInputs: ['x', 'w'],
    initializers: [init('w', [3, 2, 2, 3], 20, 0, 0.2)],
    attrs: {
      auto_pad: { s: 'VALID' },
      kernel_shape: { ints: [2, 3] },
      dilations: { ints: [1, 1] },
      group: { i: 1 },
    },
  },
  {
    title: 'MaxPool 2×2, strides 2',
    op: 'MaxPool',
    inputs: { x: [2, 3, 6, 7] },
    nodeInputs: ['x'],
    attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } },
  },
  {
    title: 'MaxPool 3×3, asymmetric pads',
    op: 'MaxPool',
    inputs: { x: [2, 3, 6, 7] },
    nodeInputs: ['x'],
    attrs: { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 0, 2, 2] } },
  },
  {
    title: 'MaxPool 3×3, auto_pad SAME_UPPER, strides 2',
    op: 'MaxPool',
    inputs: { x: [1, 2, 7, 6] },
    nodeInputs: ['x'],
    attrs: {
      kernel_shape: { ints: [3, 3] },
      strides: { ints: [2, 2] },
      pads: { ints: [1, 2, 2, 1] },
    },
  },
  {
    title: 'AveragePool 2×2, strides 2',
    op: 'AveragePool',
    inputs: { x: [2, 3, 6, 7] },
    nodeInputs: ['x'],
    attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } },
  },
  {
    title: 'AveragePool 3×2, count_include_pad 1, unpadded',
    op: 'AveragePool',
    inputs: { x: [1, 2, 5, 6] },
    nodeInputs: ['x'],
    attrs: {
      kernel_shape: { ints: [3, 2] },
      count_include_pad: { i: 1 },
      pads: { ints: [0, 0, 0, 0] },
    },
  },
  {
    title: 'GlobalAveragePool',
    op: 'GlobalAveragePool',
    inputs: { x: [2, 3, 4, 5] },
    nodeInputs: ['x'],
  },
  {
    title: 'BatchNormalization 4-D, epsilon 1e-3',
    op: 'BatchNormalization',
    inputs: { x: [2, 3, 4, 5] },
    nodeInputs: ['x', 'scale', 'bias', 'mean', 'var'],
    initializers: [
      init('scale', [3], 21),
      init('bias', [3], 22),
      init('mean', [3], 23),
      { name: 'var', dims: [3], data: [0.5, 1.5, 2.25] },
    ],
    attrs: { epsilon: { f: 1e-3 } },
  },
  {
    title: 'BatchNormalization 2-D, opset 9',
    op: 'BatchNormalization',
    inputs: { x: [4, 3] },
    nodeInputs: ['x', 'scale', 'bias', 'mean', 'var'],
    initializers: [
      init('scale', [3], 24),
      init('bias', [3], 25),
      init('mean', [3], 26),
      { name: 'var', dims: [3], data: [0.75, 1, 3] },
    ],
    opset: 9,
  },
  {
    title: 'Concat axis 1',
    op: 'Concat',
    inputs: { x: [2, 3, 4], u: [2, 1, 4] },
    nodeInputs: ['x', 'u'],
    attrs: { axis: { i: 1 } },
  },
  {
    title: 'Concat axis -1 with an initializer',
    op: 'Concat',
    inputs: { x: [2, 3] },
    nodeInputs: ['x', 'c', 'x'],
    initializers: [init('c', [2, 2], 27)],
    attrs: { axis: { i: -1 } },
  },
  {
    title: 'Squeeze opset 11, axes attribute',
    op: 'Squeeze',
    inputs: { x: [2, 1, 3, 1] },
    nodeInputs: ['x'],
    attrs: { axes: { ints: [1, -1] } },
    opset: 11,
  },
  {
    title: 'Squeeze opset 13, axes input',
    op: 'Squeeze',
    inputs: { x: [2, 1, 3, 1] },
    nodeInputs: ['x', 'axes'],
    initializers: [ints('axes', [-1])],
  },
  {
    title: 'Squeeze opset 13, every size-1 axis',
    op: 'Squeeze',
    inputs: { x: [2, 1, 3, 1] },
    nodeInputs: ['x'],
  },
  {
    title: 'Unsqueeze opset 11, axes attribute',
    op: 'Unsqueeze',
    inputs: { x: [2, 3] },
    nodeInputs: ['x'],
    attrs: { axes: { ints: [0, 3] } },
    opset: 11,
  },
  {
    title: 'Unsqueeze opset 13, axes input with a negative axis',
    op: 'Unsqueeze',
    inputs: { x: [2, 3] },
    nodeInputs: ['x', 'axes'],
    initializers: [ints('axes', [-1, 1])],
  },
  {
    title: 'Pow by a constant 3 (GELU tanh form)',
    op: 'Pow',
    inputs: { x: [3, 4] },
    nodeInputs: ['x', 'p'],
    initializers: [{ name: 'p', dims: [], data: [3] }],
    tolerance: 4e-6,
  },
  {
    title: 'Pow by an int64 exponent',
    op: 'Pow',
    inputs: { x: [3, 4] },
    nodeInputs: ['x', 'p'],
    initializers: [scalar('p', 2)],
  },
  { title: 'Sqrt', op: 'Sqrt', inputs: { x: [3, 4] }, nodeInputs: ['x'], positive: true },
  { title: 'Erf', op: 'Erf', inputs: { x: [3, 4] }, nodeInputs: ['x'] },
  { title: 'Neg', op: 'Neg', inputs: { x: [3, 4] }, nodeInputs: ['x'] },
  { title: 'Exp', op: 'Exp', inputs: { x: [3, 4] }, nodeInputs: ['x'], tolerance: 4e-6 },
  { title: 'Log', op: 'Log', inputs: { x: [3, 4] }, nodeInputs: ['x'], positive: true },
  {
    title: 'Reciprocal',
    op: 'Reciprocal',
    inputs: { x: [3, 4] },
    nodeInputs: ['x'],
    positive: true,
    tolerance: 4e-6,
  },
  {
    title: 'Less → Where (a mask selects between branches)',
    op: 'Less',
    inputs: { x: [3, 4], u: [3, 4] },
    nodeInputs: ['x', 'u'],
    after: select,
  },
  {
    title: 'Greater, LessOrEqual, And, Or, Not → Where',
    op: 'Greater',
    inputs: { x: [3, 4], u: [3, 4] },
    nodeInputs: ['x', 'u'],
    initializers: [{ name: 'c', dims: [4], data: [0, 0.5, -0.5, 1] }],
    after: [
      { op: 'LessOrEqual', inputs: ['x', 'c'], outputs: ['le'] },
      { op: 'And', inputs: ['h', 'le'], outputs: ['both'] },
      { op: 'Or', inputs: ['both', 'le'], outputs: ['either'] },
      { op: 'Not', inputs: ['either'], outputs: ['m'] },
      { op: 'Where', inputs: ['m', 'x', 'u'], outputs: ['y'] },
    ],
  },
  {
    title: 'Equal, GreaterOrEqual on int64 → Where with a -inf branch → Softmax',
    op: 'Equal',
    inputs: { x: [3, 4], u: [3, 4] },
    nodeInputs: ['i', 'j'],
    initializers: [
      { name: 'i', dims: [4], data: [0, 1, 2, 3], dtype: 'int64' },
      { name: 'j', dims: [4], data: [0, 2, 2, 1], dtype: 'int64' },
      { name: 'ninf', dims: [], data: [Number.NEGATIVE_INFINITY] },
    ],
    after: [
      { op: 'GreaterOrEqual', inputs: ['i', 'j'], outputs: ['ge'] },
      { op: 'Or', inputs: ['h', 'ge'], outputs: ['keep'] },
      { op: 'Where', inputs: ['keep', 'x', 'ninf'], outputs: ['masked'] },
      { op: 'Softmax', inputs: ['masked'], outputs: ['y'] },
    ],
  },
  {
    title: 'ReduceMean opset 13, axes attribute, keepdims 0',
    op: 'ReduceMean',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x'],
    attrs: { axes: { ints: [-1] }, keepdims: { i: 0 } },
  },
  {
    title: 'ReduceMean opset 18, axes input',
    op: 'ReduceMean',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x', 'axes'],
    initializers: [ints('axes', [0, 2])],
    opset: 18,
  },
  {
    title: 'ReduceSum opset 13, no axes (all)',
    op: 'ReduceSum',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x'],
    tolerance: 4e-6,
  },
  {
    title: 'LayerNormalization opset 17, last axis',
    op: 'LayerNormalization',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x', 'scale', 'bias'],
    initializers: [init('scale', [4], 31, 1), init('bias', [4], 32)],
    attrs: { epsilon: { f: 1e-3 } },
    opset: 17,
    tolerance: 2e-6,
  },
  {
    title: 'LayerNormalization opset 17, axis 1, no bias, Mean and InvStdDev outputs',
    op: 'LayerNormalization',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x', 'scale'],
    initializers: [init('scale', [3, 4], 33, 1)],
    attrs: { axis: { i: 1 } },
    outputs: 3,
    opset: 17,
    tolerance: 2e-6,
  },
  {
    title: 'Gelu opset 20 (erf)',
    op: 'Gelu',
    inputs: { x: [3, 4] },
    nodeInputs: ['x'],
    opset: 20,
  },
  {
    title: 'Gelu opset 20 (tanh)',
    op: 'Gelu',
    inputs: { x: [3, 4] },
    nodeInputs: ['x'],
    attrs: { approximate: { s: 'tanh' } },
    opset: 20,
  },
  {
    title: 'Shape (start 1, opset 15) → Cast to float',
    op: 'Shape',
    inputs: { x: [2, 3, 4] },
    nodeInputs: ['x'],
    attrs: { start: { i: 1 } },
    opset: 15,
    after: toFloat,
  },
  {
    title: 'Shape → ConstantOfShape (0.5) → Add',
    op: 'Shape',
    inputs: { x: [2, 3] },
    nodeInputs: ['x'],
    after: [
      {
        op: 'ConstantOfShape',
        inputs: ['h'],
        outputs: ['half'],
        attrs: { value: { t: { dims: [1], data: [0.5] } } },
      },
      { op: 'Add', inputs: ['half', 'x'], outputs: ['y'] },
    ],
  },
  {
    title: 'Range (int64) → Cast → Add',
    op: 'Range',
    inputs: { x: [2, 4] },
    nodeInputs: ['start', 'limit', 'delta'],
    initializers: [scalar('start', 1), scalar('limit', 9), scalar('delta', 2)],
    after: [
      { op: 'Cast', inputs: ['h'], outputs: ['r'], attrs: { to: { i: 1 } } },
      { op: 'Add', inputs: ['x', 'r'], outputs: ['y'] },
    ],
  },
  {
    title: 'Expand [3, 1] to [2, 3, 4]',
    op: 'Expand',
    inputs: { x: [3, 1] },
    nodeInputs: ['x', 'shape'],
    initializers: [ints('shape', [2, 1, 4])],
  },
  {
    title: 'Slice opset 13: negative start, end past the axis, axes',
    op: 'Slice',
    inputs: { x: [3, 5, 4] },
    nodeInputs: ['x', 'starts', 'ends', 'axes'],
    initializers: [ints('starts', [-4, 1]), ints('ends', [2 ** 53 - 1, 3]), ints('axes', [1, -1])],
  },
  {
    title: 'Slice opset 9, attributes',
    op: 'Slice',
    inputs: { x: [3, 5] },
    nodeInputs: ['x'],
    attrs: { starts: { ints: [1] }, ends: { ints: [-1] }, axes: { ints: [1] } },
    opset: 9,
  },
  {
    title: 'Split opset 13, split input',
    op: 'Split',
    inputs: { x: [2, 5] },
    nodeInputs: ['x', 'split'],
    initializers: [ints('split', [3, 2])],
    attrs: { axis: { i: 1 } },
    outputs: 2,
  },
  {
    title: 'Split opset 11, equal parts',
    op: 'Split',
    inputs: { x: [4, 3] },
    nodeInputs: ['x'],
    outputs: 2,
    opset: 11,
  },
  {
    title: 'Gather rows of a float table (embedding), int64 indices',
    op: 'Gather',
    inputs: { x: [3, 3] },
    nodeInputs: ['table', 'ids'],
    initializers: [
      init('table', [5, 3], 34),
      { name: 'ids', dims: [2, 3], data: [4, 0, 1, 1, 3, -1], dtype: 'int64' },
    ],
    after: [{ op: 'Add', inputs: ['h', 'x'], outputs: ['y'] }],
  },
  {
    title: 'Gather axis 1, a scalar index',
    op: 'Gather',
    inputs: { x: [3, 4] },
    nodeInputs: ['x', 'k'],
    initializers: [scalar('k', -2)],
    attrs: { axis: { i: 1 } },
  },
  {
    title: 'Cast float32 to float32',
    op: 'Cast',
    inputs: { x: [3, 4] },
    nodeInputs: ['x'],
    attrs: { to: { i: 1 } },
  },
  {
    title: 'Conv groups 2, dilations [2, 1]',
    op: 'Conv',
    inputs: { x: [2, 4, 7, 6] },
    nodeInputs: ['x', 'w', 'b'],
    initializers: [init('w', [6, 2, 3, 2], 35, 0, 0.3), init('b', [6], 36)],
    attrs: { group: { i: 2 }, dilations: { ints: [2, 1] }, pads: { ints: [2, 0, 1, 1] } },
    tolerance: CONV_TOLERANCE,
  },
  {
    title: 'Conv depthwise (group = channels), dilations 2, strides 2',
    op: 'Conv',
    inputs: { x: [1, 3, 7, 7] },
    nodeInputs: ['x', 'w'],
    initializers: [init('w', [3, 1, 3, 3], 37, 0, 0.3)],
    attrs: {
      group: { i: 3 },
      dilations: { ints: [2, 2] },
      strides: { ints: [2, 2] },
      pads: { ints: [1, 2, 2, 1] },
    },
    tolerance: CONV_TOLERANCE,
  },
];

function caseModel(c: OpCase): Uint8Array {
  return buildModel({
    nodes: [
      {
        op: c.op,
        name: 'node',
        inputs: c.nodeInputs,
        outputs: [
          c.after ? 'h' : 'y',
          ...Array.from({ length: (c.outputs ?? 1) - 1 }, (_, i) => `y${i + 1}`),
        ],
        ...(c.attrs ? { attrs: c.attrs } : {}),
      },
      ...(c.after ?? []),
    ],
    initializers: c.initializers ?? [],
    inputs: Object.entries(c.inputs).map(([name, shape]) => ({ name, shape })),
    outputs: ['y'],
    opset: c.opset ?? 13,
  });
}

function caseInputs(c: OpCase): Record<string, { data: Float32Array; shape: number[] }> {
  return Object.fromEntries(
    Object.entries(c.inputs).map(([name, shape], k) => [
      name,
      {
        data: normals(
          1000 + k,
          shape.reduce((a, b) => a * b, 1),
          2,
        ).map((v) => (c.positive ? Math.abs(v) + 0.1 : v)),
        shape: [...shape],
      },
    ]),
  );
}

describe.each(BACKENDS)('convertGraph on %s', (backend) => {
  it.each(CASES)('$title matches onnxruntime', async (c) => {
    const tf = await useBackend(backend);
    const bytes = caseModel(c);
    const before = tf.memory().numTensors;
    const fn = convertGraph(tf, parseModel(bytes), { parameters: [] });
    const check = await verifyConversion(bytes, fn, { tf, inputs: caseInputs(c) });
    fn.dispose();
    expect(tf.memory().numTensors).toBe(before);
    if (process.env.HP_PRINT_DIFFS)
      console.log(`DIFF ${backend} | ${c.title} | ${check.maxAbsDifference}`);
    expect(check.maxAbsDifference).toBeLessThanOrEqual(c.tolerance ?? OP_TOLERANCE);
  });

  it('evaluates Constant nodes (float value and int64 Reshape shape) like onnxruntime', async () => {
    const tf = await useBackend(backend);
    const bytes = buildModel({
      nodes: [
        {
          op: 'Constant',
          name: 'k',
          inputs: [],
          outputs: ['k'],
          attrs: { value: { t: { dims: [4], data: [1, -2, 0.5, 3] } } },
        },
        {
          op: 'Constant',
          name: 's',
          inputs: [],
          outputs: ['s'],
          attrs: { value_ints: { ints: [4, 3] } },
        },
        {
          op: 'Constant',
          name: 'h',
          inputs: [],
          outputs: ['h'],
          attrs: { value_float: { f: 0.25 } },
        },
        { op: 'Mul', name: 'scale', inputs: ['x', 'k'], outputs: ['m'] },
        { op: 'Add', name: 'shift', inputs: ['m', 'h'], outputs: ['a'] },
        { op: 'Reshape', name: 'reshape', inputs: ['a', 's'], outputs: ['y'] },
      ],
      inputs: [{ name: 'x', shape: [3, 4] }],
      outputs: ['y'],
    });
    const fn = convertGraph(tf, parseModel(bytes));
    const check = await verifyConversion(bytes, fn, {
      tf,
      inputs: { x: { data: normals(5, 12), shape: [3, 4] } },
    });
    fn.dispose();
    expect(check.maxAbsDifference).toBeLessThanOrEqual(OP_TOLERANCE);
  });
});

describe('convertGraph checks', () => {
  /** A LinearClassifier (3 classes, 2 features) with `post_transform`, then `after` nodes. */
  const classifier = (postTransform: string, after: NodeSpec[] = []) =>
    parseAnalysableModel(
      buildModel({
        nodes: [
          {
            op: 'LinearClassifier',
            domain: 'ai.onnx.ml',
            name: 'lc',
            inputs: ['x'],
            outputs: ['label', after.length > 0 ? 'scores' : 'y'],
            attrs: {
              coefficients: { floats: [1, 2, 3, 4, 5, 6] },
              intercepts: { floats: [0.1, 0.2, 0.3] },
              post_transform: { s: postTransform },
            },
          },
          ...after,
        ],
        inputs: [{ name: 'x', shape: [4, 2] }],
        outputs: ['y'],
      }),
    );

  it('lowers an ai.onnx.ml LinearClassifier, its attributes becoming the parameters', async () => {
    const tf = await useBackend('cpu');
    const model = classifier('NONE');
    expect(defaultParameters(model)).toEqual(['lc.coefficients', 'lc.intercepts']);
    const fn = convertGraph(tf, model);
    const [y] = tf.tidy(() =>
      fn.run(
        fn.params.map((p) => p.tensor),
        { x: tf.tensor2d([[1, -1]]) },
      ),
    );
    // scores = x·Wᵀ + b with W = [[1, 2], [3, 4], [5, 6]].
    expect(Array.from(y.dataSync())).toEqual(
      [1 - 2 + 0.1, 3 - 4 + 0.2, 5 - 6 + 0.3].map(Math.fround),
    );
    y.dispose();
    fn.dispose();
  });

  it('refuses a LinearClassifier post_transform it does not lower, and an ML op left on the path', async () => {
    const tf = await useBackend('cpu');
    expect(() => convertGraph(tf, classifier('PROBIT'))).toThrow(
      /LinearClassifier: expected post_transform NONE, SOFTMAX or LOGISTIC in node lc, got PROBIT/,
    );
    const l2 = classifier('SOFTMAX', [
      {
        op: 'Normalizer',
        domain: 'ai.onnx.ml',
        name: 'norm',
        inputs: ['scores'],
        outputs: ['y'],
        attrs: { norm: { s: 'L2' } },
      },
    ]);
    expect(() => convertGraph(tf, l2)).toThrow(/ai\.onnx\.ml::Normalizer \(node norm\)/);
  });

  it('covers every supported operator in the table above', () => {
    const tested = new Set([
      ...CASES.flatMap((c) => [c.op, ...(c.after ?? []).map((n) => n.op)]),
      'Constant',
    ]);
    expect(SUPPORTED_OPS.filter((op) => !tested.has(op))).toEqual([]);
  });

  it('lists every unsupported operator with its node name in one error', async () => {
    const tf = await useBackend('cpu');
    const bytes = buildModel({
      nodes: [
        { op: 'ConvTranspose', name: 'deconv1', inputs: ['x', 'w'], outputs: ['c'] },
        { op: 'Relu', name: 'relu1', inputs: ['c'], outputs: ['r'] },
        { op: 'LpPool', name: 'pool1', inputs: ['r'], outputs: ['y'] },
      ],
      initializers: [init('w', [1, 2, 3, 3], 1)],
      inputs: [{ name: 'x', shape: [1, 1, 5, 5] }],
      outputs: ['y'],
    });
    const before = tf.memory().numTensors;
    let error: unknown;
    try {
      convertGraph(tf, parseModel(bytes));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OnnxFormatError);
    const e = error as OnnxFormatError;
    expect(e.code).toBe('onnx-unsupported-op');
    expect(e.nodes).toEqual([
      { node: 'deconv1', opType: 'ConvTranspose' },
      { node: 'pool1', opType: 'LpPool' },
    ]);
    expect(e.message).toContain('ConvTranspose (node deconv1), LpPool (node pool1)');
    expect(tf.memory().numTensors).toBe(before);
  });

  const bn = {
    op: 'BatchNormalization',
    inputs: { x: [2, 3] },
    nodeInputs: ['x', 's', 'b', 'm', 'v'],
    initializers: [init('s', [3], 4), init('b', [3], 5), init('m', [3], 6), init('v', [3], 7, 5)],
  };
  const image = { inputs: { x: [1, 2, 5, 5] }, nodeInputs: ['x'] };
  const conv = {
    op: 'Conv',
    inputs: { x: [1, 2, 5, 5] },
    nodeInputs: ['x', 'w'],
    initializers: [init('w', [2, 2, 2, 2], 2)],
  };
  it.each([
    {
      title: 'Conv with group 0',
      ...conv,
      attrs: { group: { i: 0 } },
      message: /Conv: expected group ≥ 1 in node node, got group 0/,
    },
    {
      title: 'Cast to DOUBLE',
      op: 'Cast',
      ...image,
      attrs: { to: { i: 11 } },
      message: /Cast: expected to FLOAT, INT32, INT64 or BOOL in node node, got to DOUBLE/,
    },
    {
      title: 'Gelu with an unknown approximation',
      op: 'Gelu',
      ...image,
      attrs: { approximate: { s: 'sigmoid' } },
      opset: 20,
      message: /Gelu: expected approximate 'none' or 'tanh' in node node, got sigmoid/,
    },
    {
      title: 'Conv with an unknown auto_pad',
      ...conv,
      attrs: { auto_pad: { s: 'SAME' } },
      message: /auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER in node node, got SAME/,
    },
    {
      title: 'Conv with 3-D pads',
      ...conv,
      attrs: { pads: { ints: [1, 1, 1, 1, 1, 1] } },
      message: /pads of length 4 \(2-D\) in node node, got \[1,1,1,1,1,1\]/,
    },
    {
      title: 'Conv with negative pads',
      ...conv,
      attrs: { pads: { ints: [0, -1, 0, 0] } },
      message: /pads ≥ 0 in node node, got \[0,-1,0,0\]/,
    },
    {
      title: 'Conv with 1-D strides',
      ...conv,
      attrs: { strides: { ints: [2] } },
      message: /strides of length 2 \(2-D\) in node node, got \[2\]/,
    },
    {
      title: 'padded AveragePool (count_include_pad would matter)',
      op: 'AveragePool',
      ...image,
      attrs: {
        kernel_shape: { ints: [3, 3] },
        pads: { ints: [1, 1, 1, 1] },
        count_include_pad: { i: 1 },
      },
      message: /AveragePool: expected no padding .*AvgPoolGrad.*got pads \[1,1,1,1\]/,
    },
    {
      title: 'AveragePool ceil_mode 1',
      op: 'AveragePool',
      ...image,
      attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] }, ceil_mode: { i: 1 } },
      message: /AveragePool: expected ceil_mode 0 in node node, got ceil_mode 1/,
    },
    {
      title: 'dilated AveragePool (opset 19)',
      op: 'AveragePool',
      ...image,
      attrs: { kernel_shape: { ints: [2, 2] }, dilations: { ints: [1, 2] } },
      opset: 19,
      message: /dilations 1 .* got \[1,2\]/,
    },
    {
      title: 'MaxPool ceil_mode 1',
      op: 'MaxPool',
      ...image,
      attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] }, ceil_mode: { i: 1 } },
      message: /ceil_mode 0/,
    },
    {
      title: 'dilated MaxPool',
      op: 'MaxPool',
      ...image,
      attrs: { kernel_shape: { ints: [2, 2] }, dilations: { ints: [2, 2] } },
      message: /MaxPool: expected dilations 1 .* got \[2,2\]/,
    },
    {
      title: 'MaxPool with its Indices output (storage_order 1)',
      op: 'MaxPool',
      ...image,
      attrs: { kernel_shape: { ints: [2, 2] }, storage_order: { i: 1 } },
      outputs: 2,
      message: /MaxPool: expected one output \(no Indices\) in node node, got outputs y1/,
    },
    {
      title: 'MaxPool with an unknown auto_pad',
      op: 'MaxPool',
      ...image,
      attrs: { kernel_shape: { ints: [2, 2] }, auto_pad: { s: 'SAME_MIDDLE' } },
      message: /auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER in node node, got SAME_MIDDLE/,
    },
    {
      title: 'BatchNormalization in training mode',
      ...bn,
      attrs: { training_mode: { i: 1 } },
      opset: 15,
      message: /training_mode 0/,
    },
    {
      title: 'BatchNormalization with running-statistics outputs',
      ...bn,
      outputs: 3,
      opset: 15,
      message:
        /BatchNormalization: expected one output \(inference\) in node node, got outputs y1, y2/,
    },
    {
      title: 'BatchNormalization spatial 0 (opset 7)',
      ...bn,
      attrs: { spatial: { i: 0 } },
      opset: 7,
      message: /BatchNormalization: expected spatial 1 in node node, got spatial 0/,
    },
    {
      title: 'Dropout with a training_mode input',
      op: 'Dropout',
      inputs: { x: [2, 3], ratio: [], training: [] },
      nodeInputs: ['x', 'ratio', 'training'],
      message:
        /Dropout: expected no training_mode input \(inference\) in node node, got training_mode from training/,
    },
  ] satisfies (OpCase & { message: RegExp })[])(
    'refuses $title at conversion, before building anything, naming the node',
    async (c) => {
      const tf = await useBackend('cpu');
      const before = tf.memory().numTensors;
      let error: unknown;
      try {
        convertGraph(tf, parseModel(caseModel(c)), { parameters: [] });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(OnnxFormatError);
      const e = error as OnnxFormatError;
      expect(e.code).toBe('onnx-unsupported-op');
      expect(e.nodes).toEqual([{ node: 'node', opType: c.op }]);
      expect(e.message).toMatch(c.message);
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it.each([
    {
      title: '1-D Conv',
      op: 'Conv',
      inputs: { x: [1, 2, 5] },
      nodeInputs: ['x', 'w'],
      initializers: [init('w', [2, 2, 2], 3)],
      message: /4-D/,
    },
    {
      title: 'AveragePool with auto_pad SAME_UPPER (padding depends on the input size)',
      op: 'AveragePool',
      inputs: { x: [1, 2, 5, 5] },
      nodeInputs: ['x'],
      attrs: { kernel_shape: { ints: [2, 2] }, auto_pad: { s: 'SAME_UPPER' } },
      message: /expected no padding/,
    },
  ] satisfies (OpCase & { message: RegExp })[])(
    'refuses $title (a shape-dependent check) when run, with a typed error naming the node',
    async (c) => {
      const tf = await useBackend('cpu');
      const bytes = caseModel(c);
      const before = tf.memory().numTensors;
      const fn = convertGraph(tf, parseModel(bytes), { parameters: [] });
      const inputs = caseInputs(c);
      const feeds = Object.fromEntries(
        Object.entries(inputs).map(([name, h]) => [name, tf.tensor(h.data, h.shape)]),
      );
      let error: unknown;
      try {
        tf.tidy(() => fn.run([], feeds));
      } catch (e) {
        error = e;
      }
      tf.dispose(Object.values(feeds));
      fn.dispose();
      expect(error).toBeInstanceOf(OnnxFormatError);
      const e = error as OnnxFormatError;
      expect(e.code).toBe('onnx-unsupported-op');
      expect(e.nodes).toEqual([{ node: 'node', opType: c.op }]);
      expect(e.message).toMatch(c.message);
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('chooses weights and biases of linear layers as the default parameters', () => {
    const gemm = parseModel(mlpModel({ sizes: [4, 5, 3], linear: 'gemm' }).bytes);
    const matmul = parseModel(mlpModel({ sizes: [4, 5, 3], linear: 'matmul' }).bytes);
    expect(defaultParameters(gemm)).toEqual(['w1', 'b1', 'w2', 'b2']);
    expect(defaultParameters(matmul)).toEqual(['w1', 'b1', 'w2', 'b2']);
    const other = parseModel(
      buildModel({
        nodes: [
          { op: 'Add', name: 'pre', inputs: ['x', 'shift'], outputs: ['a'] },
          { op: 'MatMul', name: 'mm', inputs: ['a', 'w'], outputs: ['m'] },
          { op: 'Mul', name: 'scale', inputs: ['m', 'one'], outputs: ['s'] },
          { op: 'Add', name: 'bias', inputs: ['s', 'b'], outputs: ['y'] },
        ],
        initializers: [
          init('shift', [4], 1),
          init('w', [4, 3], 2),
          init('one', [1], 3),
          init('b', [3], 4),
        ],
        inputs: [{ name: 'x', shape: [2, 4] }],
        outputs: ['y'],
      }),
    );
    // `shift` precedes the MatMul, `one` has a single element, `b` follows a Mul, not a linear op.
    expect(defaultParameters(other)).toEqual(['w']);
  });

  it('refuses parameters that are not float32 initializers, naming the valid ones', async () => {
    const tf = await useBackend('cpu');
    const model = parseModel(mlpModel({ sizes: [4, 3] }).bytes);
    expect(() => convertGraph(tf, model, { parameters: ['w1', 'nope'] })).toThrow(OptionError);
    expect(() => convertGraph(tf, model, { parameters: ['w1', 'nope'] })).toThrow(
      /float32 initializers: w1, b1/,
    );
    expect(() => convertGraph(tf, model, { parameters: ['w1', 'w1'] })).toThrow(/unique/);
  });

  it('refuses initializers of unsupported types and graphs out of topological order', async () => {
    const tf = await useBackend('cpu');
    const model = parseModel(mlpModel({ sizes: [4, 3] }).bytes);
    const w = model.graph!.initializer![0];
    w.dataType = 11; // DOUBLE
    expect(() => convertGraph(tf, model)).toThrow(
      /w1 to be float32, int32, int64 or bool, got ONNX data type DOUBLE/,
    );
    const swapped = parseModel(
      buildModel({
        nodes: [
          { op: 'Relu', name: 'second', inputs: ['h'], outputs: ['y'] },
          { op: 'Tanh', name: 'first', inputs: ['x'], outputs: ['h'] },
        ],
        inputs: [{ name: 'x', shape: [2, 2] }],
        outputs: ['y'],
      }),
    );
    const before = tf.memory().numTensors;
    expect(() => convertGraph(tf, swapped)).toThrow(/expected h to be computed before node second/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
