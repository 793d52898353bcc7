/**
 * Activations. Softmax and LogSoftmax follow the opset: before 13 they act on the input
 * coerced to 2-D at `axis` (default 1), from 13 on one axis (default −1). LogSoftmax is built
 * as z − logSumExp(z) (the project's own, second-order exact; `tf.logSoftmax` is a `customGrad`
 * that nested tapes cannot see, TFJS-SECOND-ORDER.md).
 */
import { logSoftmax } from '@hessian-probe/core/tfjs';
import type { Tensor } from '@tensorflow/tfjs-core';
import { axisOf, floatAttr, intAttr, type OpContext, type OpImpl, required } from './types.js';

function alongAxis(ctx: OpContext, x: Tensor, f: (t: Tensor) => Tensor): Tensor {
  const { tf, node, opset } = ctx;
  if (opset < 13) {
    const axis = axisOf(intAttr(node, 'axis', 1), x.rank);
    const rows = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    return tf.reshape(f(tf.reshape(x, [rows, x.size / rows])), x.shape);
  }
  const axis = axisOf(intAttr(node, 'axis', -1), x.rank);
  if (axis === x.rank - 1) return f(x);
  const perm = [...Array(x.rank).keys()];
  perm[axis] = x.rank - 1;
  perm[x.rank - 1] = axis;
  return tf.transpose(f(tf.transpose(x, perm)), perm);
}

/** Relu, LeakyRelu (alpha default 0.01), Tanh, Sigmoid, Softmax, LogSoftmax. */
export const ACTIVATION_OPS: Readonly<Record<string, OpImpl>> = {
  Relu: (ctx, x) => [ctx.tf.relu(required(ctx, x, 0))],
  LeakyRelu: (ctx, x) => [
    ctx.tf.leakyRelu(required(ctx, x, 0), floatAttr(ctx.node, 'alpha', 0.01)),
  ],
  Tanh: (ctx, x) => [ctx.tf.tanh(required(ctx, x, 0))],
  Sigmoid: (ctx, x) => [ctx.tf.sigmoid(required(ctx, x, 0))],
  Softmax: (ctx, x) => [alongAxis(ctx, required(ctx, x, 0), (t) => ctx.tf.softmax(t))],
  LogSoftmax: (ctx, x) => [alongAxis(ctx, required(ctx, x, 0), (t) => logSoftmax(ctx.tf, t))],
};
