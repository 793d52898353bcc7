/** Operators that only move or relabel values: Flatten, Reshape, Transpose, Identity, Dropout. */
import type { Tensor } from '@tensorflow/tfjs-core';
import { OnnxFormatError } from '../proto.js';
import { axisOf, intAttr, intsAttr, type OpImpl, required } from './types.js';

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

/** Flatten, Reshape, Transpose, Identity and Dropout (inference). */
export const SHAPE_OPS: Readonly<Record<string, OpImpl>> = {
  Flatten,
  Reshape,
  Transpose,
  Identity: (ctx, inputs) => [required(ctx, inputs, 0)],
  Dropout,
};
