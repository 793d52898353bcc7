/**
 * Operators that only move or relabel values: Flatten, Reshape, Transpose, Identity, Dropout,
 * Concat, Squeeze, Unsqueeze.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { OnnxFormatError } from '../proto.js';
import {
  axisOf,
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

/**
 * Dropout: no `training_mode` input (opset ≥ 12), which, when true, makes onnxruntime drop
 * values at random (a bool, a type the conversion does not read anyway).
 */
export const SHAPE_CHECKS: Readonly<Record<string, OpCheck>> = {
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

/** Flatten, Reshape, Transpose, Identity, Dropout (inference), Concat, Squeeze, Unsqueeze. */
export const SHAPE_OPS: Readonly<Record<string, OpImpl>> = {
  Flatten,
  Reshape,
  Transpose,
  Identity: (ctx, inputs) => [required(ctx, inputs, 0)],
  Dropout,
  Concat,
  Squeeze,
  Unsqueeze,
};
