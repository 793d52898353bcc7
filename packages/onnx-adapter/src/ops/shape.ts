/**
 * Operators that only move, select or relabel values: Flatten, Reshape, Transpose, Identity,
 * Dropout, Concat, Squeeze, Unsqueeze, Slice, Split, Expand, Gather, Cast; and the integer
 * shape arithmetic exporters emit around them (Shape, ConstantOfShape, Range), computed in
 * tfjs on int32 tensors (no gradient flows through integers). Gather's data is differentiable
 * (an embedding table), its indices are integers.
 */
import type { DataType, Tensor } from '@tensorflow/tfjs-core';
import { OnnxFormatError, onnx } from '../proto.js';
import {
  axisOf,
  constantAttr,
  intAttr,
  intsAttr,
  intValues,
  type OpCheck,
  type OpContext,
  type OpImpl,
  required,
  unsupportedAttribute,
} from './types.js';

const Flatten: OpImpl = (ctx, inputs) => {
  const x = required(ctx, inputs, 0);
  const axis = axisOf(intAttr(ctx.node, 'axis', 1), x.rank);
  const rows = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  return [ctx.tf.reshape(x, [rows, rows === 0 ? 0 : x.size / rows])];
};

/** Reshape: `0` copies the input's dimension (unless `allowzero` = 1), `-1` is inferred. */
const Reshape: OpImpl = (ctx, inputs) => {
  const x = required(ctx, inputs, 0);
  const spec = required(ctx, inputs, 1);
  if (spec.dtype !== 'int32') {
    throw new OnnxFormatError(
      'onnx-bad-graph',
      `Reshape: expected an integer shape input in node ${ctx.node.name || '(unnamed)'}, got ${spec.dtype}`,
    );
  }
  const allowZero = intAttr(ctx.node, 'allowzero', 0) === 1;
  const shape = Array.from(spec.dataSync(), (d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
  return [ctx.tf.reshape(x, shape)];
};

const Transpose: OpImpl = (ctx, inputs) => {
  const x: Tensor = required(ctx, inputs, 0);
  const perm = intsAttr(ctx.node, 'perm') ?? [...Array(x.rank).keys()].reverse();
  return [ctx.tf.transpose(x, perm)];
};

/** Dropout at inference is the identity; its optional mask output is all true. */
const Dropout: OpImpl = (ctx, inputs) => {
  const x = required(ctx, inputs, 0);
  return [x, ctx.tf.cast(ctx.tf.onesLike(x), 'bool')];
};

/** Concat along `axis` (required; negative counts from the end) of every input. */
const Concat: OpImpl = (ctx, inputs) => {
  const xs = inputs.map((_, i) => required(ctx, inputs, i));
  if (xs.length === 0) throw unsupportedAttribute(ctx, 'at least one input', 'none');
  const axis = intAttr(ctx.node, 'axis', Number.NaN);
  if (Number.isNaN(axis)) throw unsupportedAttribute(ctx, 'an axis attribute', 'none');
  return [ctx.tf.concat(xs, axisOf(axis, xs[0].rank))];
};

/**
 * The `axes` of Squeeze/Unsqueeze: the attribute before opset 13, the optional second input
 * (int64) from 13 on; `undefined` when absent.
 */
function axesOf(ctx: OpContext, inputs: readonly (Tensor | undefined)[]): number[] | undefined {
  if (ctx.opset < 13) return intsAttr(ctx.node, 'axes');
  const t = inputs[1];
  return t === undefined ? undefined : intValues(ctx, t, 'axes');
}

/** Squeeze: removes the size-1 `axes` (negative from the end), or every size-1 axis. */
const Squeeze: OpImpl = (ctx, inputs) => {
  const x = required(ctx, inputs, 0);
  const axes = axesOf(ctx, inputs)?.map((a) => axisOf(a, x.rank));
  const drop = axes ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of drop) {
    if (x.shape[a] !== 1) {
      throw new OnnxFormatError(
        'onnx-bad-graph',
        `Squeeze: expected axes of size 1 in node ${ctx.node.name || '(unnamed)'}, got axis ${a} of shape [${x.shape}]`,
      );
    }
  }
  return [
    ctx.tf.reshape(
      x,
      x.shape.filter((_, i) => !drop.includes(i)),
    ),
  ];
};

/** Unsqueeze: inserts size-1 `axes` (required; negative counts from the end of the output). */
const Unsqueeze: OpImpl = (ctx, inputs) => {
  const x = required(ctx, inputs, 0);
  const given = axesOf(ctx, inputs);
  if (given === undefined) throw unsupportedAttribute(ctx, 'axes', 'none');
  const rank = x.rank + given.length;
  const axes = new Set(given.map((a) => axisOf(a, rank)));
  const rest = [...x.shape];
  const shape = Array.from({ length: rank }, (_, i) => (axes.has(i) ? 1 : (rest.shift() ?? 1)));
  return [ctx.tf.reshape(x, shape)];
};

/** Shape: the input's dimensions (int64 in ONNX, int32 here), from `start` to `end` (opset 15). */
const Shape: OpImpl = (ctx, inputs) => {
  const x = required(ctx, inputs, 0);
  const start = axisOf(intAttr(ctx.node, 'start', 0), x.rank);
  const end = axisOf(intAttr(ctx.node, 'end', x.rank), x.rank);
  const dims = x.shape.slice(Math.max(0, start), Math.max(0, end));
  return [ctx.tf.tensor1d(dims, 'int32')];
};

/** ConstantOfShape: a tensor of the given shape filled with `value` (default float 0). */
const ConstantOfShape: OpImpl = (ctx, inputs) => {
  const shape = intValues(ctx, required(ctx, inputs, 0), 'shape');
  const value = constantAttr(ctx.node) ?? {
    dtype: 'float32' as const,
    shape: [1],
    values: Float32Array.of(0),
  };
  return [ctx.tf.fill(shape, value.values[0], value.dtype)];
};

/** Range(start, limit, delta) of scalars: int32 or float32 like `start`. */
const Range: OpImpl = (ctx, inputs) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => required(ctx, inputs, i));
  const dtype = start.dtype === 'int32' ? 'int32' : 'float32';
  const [a, b, d] = [start, limit, delta].map((t) => t.dataSync()[0]);
  return [ctx.tf.range(a, b, d, dtype)];
};

/** The NumPy broadcast of two shapes (ONNX multidirectional broadcasting). */
function broadcastShapes(ctx: OpContext, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new OnnxFormatError(
        'onnx-bad-graph',
        `${ctx.node.opType}: expected shapes that broadcast in node ${ctx.node.name || '(unnamed)'}, got [${a}] and [${b}]`,
      );
    }
    return x === 1 ? y : x;
  });
}

/** Expand: broadcasts the input against `shape` (either side may have size-1 axes). */
const Expand: OpImpl = (ctx, inputs) => {
  const x = required(ctx, inputs, 0);
  const shape = broadcastShapes(ctx, x.shape, intValues(ctx, required(ctx, inputs, 1), 'shape'));
  const sameShape = shape.length === x.rank && shape.every((d, i) => d === x.shape[i]);
  return [sameShape ? x : ctx.tf.broadcastTo(x, shape)];
};

/** The `starts`, `ends`, `axes` and `steps` of Slice: attributes before opset 10, inputs after. */
function sliceSpec(ctx: OpContext, x: Tensor, inputs: readonly (Tensor | undefined)[]) {
  const read = (i: number, what: string): number[] | undefined => {
    const t = inputs[i];
    return t === undefined ? undefined : intValues(ctx, t, what);
  };
  const starts = ctx.opset < 10 ? intsAttr(ctx.node, 'starts') : read(1, 'starts');
  const ends = ctx.opset < 10 ? intsAttr(ctx.node, 'ends') : read(2, 'ends');
  if (starts === undefined || ends === undefined || starts.length !== ends.length) {
    throw unsupportedAttribute(ctx, 'starts and ends of one length', `${starts} and ${ends}`);
  }
  const axes = (ctx.opset < 10 ? intsAttr(ctx.node, 'axes') : read(3, 'axes')) ?? [
    ...starts.keys(),
  ];
  const steps = (ctx.opset < 10 ? undefined : read(4, 'steps')) ?? starts.map(() => 1);
  return { starts, ends, axes: axes.map((a) => axisOf(a, x.rank)), steps };
}

/**
 * Slice with steps 1 (negative bounds count from the end, bounds are clamped to the axis, as
 * ONNX specifies); other steps are refused with a typed error naming the node.
 */
const Slice: OpImpl = (ctx, inputs) => {
  const x = required(ctx, inputs, 0);
  const { starts, ends, axes, steps } = sliceSpec(ctx, x, inputs);
  if (steps.some((s) => s !== 1)) throw unsupportedAttribute(ctx, 'steps 1', `steps [${steps}]`);
  const begin = x.shape.map(() => 0);
  const size = [...x.shape];
  axes.forEach((axis, i) => {
    const dim = x.shape[axis];
    const clamp = (v: number) => Math.min(dim, Math.max(0, v < 0 ? v + dim : v));
    begin[axis] = clamp(starts[i]);
    size[axis] = Math.max(0, clamp(ends[i]) - begin[axis]);
  });
  return [ctx.tf.slice(x, begin, size)];
};

/**
 * Split along `axis` (default 0) into the node's outputs: sizes from the `split` input (opset
 * ≥ 13) or attribute (before), else equal parts (the last one smaller when they do not divide,
 * as opset 18's `num_outputs`).
 */
const Split: OpImpl = (ctx, inputs) => {
  const x = required(ctx, inputs, 0);
  const axis = axisOf(intAttr(ctx.node, 'axis', 0), x.rank);
  const splitInput = inputs[1];
  const given =
    ctx.opset < 13
      ? intsAttr(ctx.node, 'split')
      : splitInput === undefined
        ? undefined
        : intValues(ctx, splitInput, 'split');
  const parts = (ctx.node.output ?? []).length;
  const dim = x.shape[axis];
  const chunk = Math.ceil(dim / parts);
  const sizes = given ?? Array.from({ length: parts }, (_, i) => Math.min(chunk, dim - i * chunk));
  return ctx.tf.split(x, sizes, axis);
};

/**
 * Gather along `axis` (default 0): `data` may be float (an embedding table, differentiable) or
 * integer (a shape); `indices` are integers, negative ones counting from the end of the axis.
 */
const Gather: OpImpl = (ctx, inputs) => {
  const { tf } = ctx;
  const data = required(ctx, inputs, 0);
  const axis = axisOf(intAttr(ctx.node, 'axis', 0), data.rank);
  const raw = required(ctx, inputs, 1);
  if (raw.dtype !== 'int32') {
    throw new OnnxFormatError(
      'onnx-bad-graph',
      `Gather: expected integer indices in node ${ctx.node.name || '(unnamed)'}, got ${raw.dtype}`,
    );
  }
  const indices = tf.where(
    tf.less(raw, 0),
    tf.add(raw, tf.scalar(data.shape[axis] ?? 0, 'int32')),
    raw,
  );
  return [tf.gather(data, indices, axis)];
};

/** The tfjs dtype of an ONNX Cast target (`to`), or undefined when not supported. */
function castTarget(to: number): DataType | undefined {
  const T = onnx.TensorProto.DataType;
  if (to === T.FLOAT) return 'float32';
  if (to === T.INT32 || to === T.INT64) return 'int32';
  if (to === T.BOOL) return 'bool';
  return undefined;
}

/** Cast to float32, int32/int64 (int32 here) or bool; a cast to the input's own type is the identity. */
const Cast: OpImpl = (ctx, inputs) => {
  const x = required(ctx, inputs, 0);
  const to = castTarget(intAttr(ctx.node, 'to', 0)) ?? 'float32';
  return [to === x.dtype ? x : ctx.tf.cast(x, to)];
};

/**
 * Cast: a target type the conversion has (float32, int32, int64, bool). Dropout: no
 * `training_mode` input (opset ≥ 12), which, when true, makes onnxruntime drop values at random.
 */
export const SHAPE_CHECKS: Readonly<Record<string, OpCheck>> = {
  Cast: (ctx) => {
    const to = intAttr(ctx.node, 'to', 0);
    if (castTarget(to) === undefined) {
      const name = onnx.TensorProto.DataType[to] ?? String(to);
      throw unsupportedAttribute(ctx, 'to FLOAT, INT32, INT64 or BOOL', `to ${name}`);
    }
  },
  Dropout: (ctx) => {
    const training = (ctx.node.input ?? [])[2];
    if (training !== undefined && training !== '') {
      throw unsupportedAttribute(
        ctx,
        'no training_mode input (inference)',
        `training_mode from ${training}`,
      );
    }
  },
};

/**
 * Flatten, Reshape, Transpose, Identity, Dropout (inference), Concat, Squeeze, Unsqueeze, Shape,
 * ConstantOfShape, Range, Expand, Slice, Split, Gather, Cast.
 */
export const SHAPE_OPS: Readonly<Record<string, OpImpl>> = {
  Flatten,
  Reshape,
  Transpose,
  Identity: (ctx, inputs) => [required(ctx, inputs, 0)],
  Dropout,
  Concat,
  Squeeze,
  Unsqueeze,
  Shape,
  ConstantOfShape,
  Range,
  Expand,
  Slice,
  Split,
  Gather,
  Cast,
};
