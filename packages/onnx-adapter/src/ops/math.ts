/**
 * Element-wise mathematics beyond the four binary operations: Pow, Sqrt, Erf, Neg, Exp, Log,
 * Reciprocal (differentiable), the comparisons and logic that build masks (Equal, Less,
 * Greater, Not, And, Or: boolean, no gradient) and Where, which selects between its float
 * branches with a boolean mask (differentiable in the branches). NumPy broadcasting throughout.
 * Every differentiable gradient here is computed from saved inputs by tfjs, or replaced by
 * `withSecondOrder` (Pow), so nested tapes see the whole second-order path.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { type OpContext, type OpImpl, required } from './types.js';

/** Pow: an integer exponent is cast to the base's float type (tfjs needs one dtype). */
const Pow: OpImpl = (ctx, inputs) => {
  const { tf } = ctx;
  const x = required(ctx, inputs, 0);
  const p = required(ctx, inputs, 1);
  return [tf.pow(x, p.dtype === x.dtype ? p : tf.cast(p, x.dtype))];
};

/**
 * The two operands of a comparison or logical op in one dtype: int32 when either is int32 and
 * the other bool or int32, float32 otherwise (ONNX requires equal types; tfjs's int64 stand-in
 * is int32).
 */
function sameType(ctx: OpContext, a: Tensor, b: Tensor): [Tensor, Tensor] {
  if (a.dtype === b.dtype) return [a, b];
  const to = a.dtype === 'float32' || b.dtype === 'float32' ? 'float32' : 'int32';
  return [ctx.tf.cast(a, to), ctx.tf.cast(b, to)];
}

function compare(f: (ctx: OpContext, a: Tensor, b: Tensor) => Tensor): OpImpl {
  return (ctx, inputs) => {
    const [a, b] = sameType(ctx, required(ctx, inputs, 0), required(ctx, inputs, 1));
    return [f(ctx, a, b)];
  };
}

/** Where(condition, x, y): x where the condition holds, y elsewhere, broadcast together. */
const Where: OpImpl = (ctx, inputs) => {
  const { tf } = ctx;
  const condition = required(ctx, inputs, 0);
  const mask = condition.dtype === 'bool' ? condition : tf.cast(condition, 'bool');
  const [x, y] = sameType(ctx, required(ctx, inputs, 1), required(ctx, inputs, 2));
  return [tf.where(mask, x, y)];
};

/**
 * Pow, Sqrt, Erf, Neg, Exp, Log, Reciprocal; Equal, Less, LessOrEqual, Greater,
 * GreaterOrEqual, Not, And, Or; Where.
 */
export const MATH_OPS: Readonly<Record<string, OpImpl>> = {
  Pow,
  Sqrt: (ctx, x) => [ctx.tf.sqrt(required(ctx, x, 0))],
  Erf: (ctx, x) => [ctx.tf.erf(required(ctx, x, 0))],
  Neg: (ctx, x) => [ctx.tf.neg(required(ctx, x, 0))],
  Exp: (ctx, x) => [ctx.tf.exp(required(ctx, x, 0))],
  Log: (ctx, x) => [ctx.tf.log(required(ctx, x, 0))],
  Reciprocal: (ctx, x) => [ctx.tf.div(1, required(ctx, x, 0))],
  Equal: compare((ctx, a, b) => ctx.tf.equal(a, b)),
  Less: compare((ctx, a, b) => ctx.tf.less(a, b)),
  LessOrEqual: compare((ctx, a, b) => ctx.tf.lessEqual(a, b)),
  Greater: compare((ctx, a, b) => ctx.tf.greater(a, b)),
  GreaterOrEqual: compare((ctx, a, b) => ctx.tf.greaterEqual(a, b)),
  Not: (ctx, x) => [ctx.tf.logicalNot(required(ctx, x, 0))],
  And: compare((ctx, a, b) => ctx.tf.logicalAnd(a, b)),
  Or: compare((ctx, a, b) => ctx.tf.logicalOr(a, b)),
  Where,
};
