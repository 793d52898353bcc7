/**
 * Reductions: ReduceMean and ReduceSum. Their axes are an attribute up to an opset (ReduceSum
 * before 13, ReduceMean before 18) and an optional int64 input from it on; `keepdims` (default
 * 1) keeps reduced axes as size 1; without axes every axis is reduced, unless
 * `noop_with_empty_axes` is 1 (then the input passes through).
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import {
  axisOf,
  intAttr,
  intsAttr,
  intValues,
  type OpContext,
  type OpImpl,
  required,
} from './types.js';

function reduction(
  inputFrom: number,
  f: (ctx: OpContext, x: Tensor, axes: number[], keep: boolean) => Tensor,
): OpImpl {
  return (ctx, inputs) => {
    const x = required(ctx, inputs, 0);
    const axesInput = inputs[1];
    const given =
      ctx.opset < inputFrom
        ? intsAttr(ctx.node, 'axes')
        : axesInput === undefined
          ? undefined
          : intValues(ctx, axesInput, 'axes');
    const keep = intAttr(ctx.node, 'keepdims', 1) === 1;
    if ((given === undefined || given.length === 0) && ctx.opset >= inputFrom) {
      if (intAttr(ctx.node, 'noop_with_empty_axes', 0) === 1) return [x];
    }
    const axes =
      given === undefined || given.length === 0
        ? [...Array(x.rank).keys()]
        : given.map((a) => axisOf(a, x.rank));
    return [f(ctx, x, axes, keep)];
  };
}

/** ReduceMean and ReduceSum. */
export const REDUCE_OPS: Readonly<Record<string, OpImpl>> = {
  ReduceMean: reduction(18, (ctx, x, axes, keep) => ctx.tf.mean(x, axes, keep)),
  ReduceSum: reduction(13, (ctx, x, axes, keep) => ctx.tf.sum(x, axes, keep)),
};
