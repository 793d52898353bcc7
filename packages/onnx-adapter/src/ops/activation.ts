/**
 * Activations. Softmax and LogSoftmax follow the opset: before 13 they act on the input
 * coerced to 2-D at `axis` (default 1), from 13 on one axis (default −1). LogSoftmax is built
 * as z − logSumExp(z) (the project's own, second-order exact; `tf.logSoftmax` is a `customGrad`
 * that nested tapes cannot see, docs/tfjs-second-order.md).
 */
import { logSoftmax } from '@hessian-probe/core/tfjs';
import type { Tensor } from '@tensorflow/tfjs-core';
import {
  axisOf,
  floatAttr,
  intAttr,
  type OpCheck,
  type OpContext,
  type OpImpl,
  required,
  stringAttr,
  unsupportedAttribute,
} from './types.js';

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

/** ONNX Selu's default alpha and gamma: the SELU constants rounded to float32. */
const SELU_ALPHA = Math.fround(1.6732632423543772);
const SELU_GAMMA = Math.fround(1.0507009873554805);

/**
 * alpha·elu(x) + (1 − alpha)·relu(x): ONNX Elu with any alpha (x for x > 0, alpha·(eˣ − 1)
 * otherwise) from tfjs's elu, whose second derivative `withSecondOrder` makes exact.
 */
function eluAlpha(ctx: OpContext, x: Tensor, alpha: number): Tensor {
  const { tf } = ctx;
  if (alpha === 1) return tf.elu(x);
  return tf.add(tf.mul(tf.elu(x), alpha), tf.mul(tf.relu(x), 1 - alpha));
}

/**
 * Selu: tfjs's selu for ONNX's default alpha and gamma, else gamma · eluAlpha(x, alpha)
 * (any alpha, gamma).
 */
const Selu: OpImpl = (ctx, inputs) => {
  const x = required(ctx, inputs, 0);
  const alpha = floatAttr(ctx.node, 'alpha', SELU_ALPHA);
  const gamma = floatAttr(ctx.node, 'gamma', SELU_GAMMA);
  if (
    Math.fround(alpha) === Math.fround(SELU_ALPHA) &&
    Math.fround(gamma) === Math.fround(SELU_GAMMA)
  )
    return [ctx.tf.selu(x)];
  return [ctx.tf.mul(eluAlpha(ctx, x, alpha), gamma)];
};

/**
 * Gelu (opset 20): x·Φ(x) = ½x(1 + erf(x/√2)) with `approximate` 'none' (default), or
 * ½x(1 + tanh(√(2/π)(x + 0.044715x³))) with 'tanh' (Hendrycks & Gimpel 2016), from erf, tanh
 * and products (second-order exact under `withSecondOrder`).
 */
const Gelu: OpImpl = (ctx, inputs) => {
  const { tf } = ctx;
  const x = required(ctx, inputs, 0);
  const approximate = stringAttr(ctx.node, 'approximate', 'none');
  const inner =
    approximate === 'tanh'
      ? tf.tanh(
          tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI)),
        )
      : tf.erf(tf.mul(x, Math.SQRT1_2));
  return [tf.mul(tf.mul(x, 0.5), tf.add(inner, 1))];
};

/** Gelu: `approximate` 'none' or 'tanh'. */
export const ACTIVATION_CHECKS: Readonly<Record<string, OpCheck>> = {
  Gelu: (ctx) => {
    const approximate = stringAttr(ctx.node, 'approximate', 'none');
    if (approximate !== 'none' && approximate !== 'tanh') {
      throw unsupportedAttribute(ctx, "approximate 'none' or 'tanh'", approximate);
    }
  },
};

/**
 * Relu, LeakyRelu (alpha default 0.01), Tanh, Sigmoid, Softmax, LogSoftmax, Elu (any alpha,
 * default 1), Selu (any alpha, gamma; ONNX defaults), Softplus and Gelu.
 */
export const ACTIVATION_OPS: Readonly<Record<string, OpImpl>> = {
  Relu: (ctx, x) => [ctx.tf.relu(required(ctx, x, 0))],
  LeakyRelu: (ctx, x) => [
    ctx.tf.leakyRelu(required(ctx, x, 0), floatAttr(ctx.node, 'alpha', 0.01)),
  ],
  Tanh: (ctx, x) => [ctx.tf.tanh(required(ctx, x, 0))],
  Sigmoid: (ctx, x) => [ctx.tf.sigmoid(required(ctx, x, 0))],
  Softmax: (ctx, x) => [alongAxis(ctx, required(ctx, x, 0), (t) => ctx.tf.softmax(t))],
  LogSoftmax: (ctx, x) => [alongAxis(ctx, required(ctx, x, 0), (t) => logSoftmax(ctx.tf, t))],
  Elu: (ctx, x) => [eluAlpha(ctx, required(ctx, x, 0), floatAttr(ctx.node, 'alpha', 1))],
  Selu,
  Softplus: (ctx, x) => [ctx.tf.softplus(required(ctx, x, 0))],
  Gelu,
};
