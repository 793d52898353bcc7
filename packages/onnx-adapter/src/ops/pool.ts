/**
 * Pooling on 2-D NCHW images: MaxPool, AveragePool, GlobalAveragePool. tfjs pools NHWC, so
 * the input is transposed to NHWC and back.
 *
 * - MaxPool: kernel_shape, strides, pads (any, symmetric or not) and auto_pad (NOTSET, VALID,
 *   SAME_UPPER, SAME_LOWER). Padding is explicit, with a value below every input entry (ONNX
 *   pads with −∞, but tfjs's wasm MaxPool gradient fix shifts by the minimum, which −∞ would
 *   turn into NaN), then a 'valid' pool. dilations must be 1, ceil_mode 0, and the optional
 *   Indices output unused.
 * - AveragePool: kernel_shape, strides, count_include_pad (either value: it only matters with
 *   padding), unpadded only. Padded average pooling (non-zero pads, SAME_UPPER/SAME_LOWER) is
 *   refused: tfjs's AvgPoolGrad divides border windows by the full pool size while the forward
 *   pass divides by the valid count, so even first-order gradients are wrong
 *   (packages/core/README.md). ceil_mode must be 0, dilations 1.
 * - GlobalAveragePool: the mean over every spatial axis (any rank ≥ 3), kept as size-1 axes.
 */
import type { Tensor4D } from '@tensorflow/tfjs-core';
import {
  intAttr,
  intsAttr,
  type NodeContext,
  type OpCheck,
  type OpImpl,
  required,
  unsupportedAttribute,
} from './types.js';
import { checkWindow, TO_NCHW, TO_NHWC, unpadded, window2d } from './window.js';

/**
 * At conversion: ceil_mode 0, no Indices output (so MaxPool's `storage_order`, which only
 * orders the Indices, never matters), and the window attributes of {@link checkWindow}.
 */
function checkPool(ctx: NodeContext): void {
  const ceil = intAttr(ctx.node, 'ceil_mode', 0);
  if (ceil !== 0) throw unsupportedAttribute(ctx, 'ceil_mode 0', `ceil_mode ${ceil}`);
  const extra = (ctx.node.output ?? []).slice(1).filter((o) => o !== '');
  if (extra.length > 0) {
    throw unsupportedAttribute(ctx, 'one output (no Indices)', `outputs ${extra.join(', ')}`);
  }
  checkWindow(ctx);
}

const NO_PADDING =
  "no padding (tfjs's AvgPoolGrad is wrong at padded borders, even at first order)";

const MaxPool: OpImpl = (ctx, inputs) => {
  const { tf } = ctx;
  const x = required(ctx, inputs, 0);
  const win = window2d(ctx, x);
  let xn = tf.transpose(x, TO_NHWC);
  if (!unpadded(win)) {
    // A finite value below every entry: never a window's maximum (no window is all padding).
    const low = tf.min(x).dataSync()[0];
    const fill = low - 1 - Math.abs(low);
    xn = tf.pad(xn, [[0, 0], ...win.pads, [0, 0]], fill);
  }
  const y = tf.maxPool(xn as Tensor4D, win.kernel, win.strides, 'valid');
  return [tf.transpose(y, TO_NCHW)];
};

const AveragePool: OpImpl = (ctx, inputs) => {
  const { tf } = ctx;
  const x = required(ctx, inputs, 0);
  const win = window2d(ctx, x);
  // SAME_UPPER/SAME_LOWER pad depending on the input size: checked here, not at conversion.
  if (!unpadded(win))
    throw unsupportedAttribute(ctx, NO_PADDING, `pads ${JSON.stringify(win.pads)}`);
  const y = tf.avgPool(tf.transpose(x, TO_NHWC) as Tensor4D, win.kernel, win.strides, 'valid');
  return [tf.transpose(y, TO_NCHW)];
};

const GlobalAveragePool: OpImpl = (ctx, inputs) => {
  const x = required(ctx, inputs, 0);
  if (x.rank < 3) throw unsupportedAttribute(ctx, 'an input of rank ≥ 3', `rank ${x.rank}`);
  const axes = [...Array(x.rank).keys()].slice(2);
  return [ctx.tf.mean(x, axes, true)];
};

/**
 * Conversion-time checks of MaxPool and AveragePool ({@link checkPool}); AveragePool also
 * refuses explicit non-zero `pads` there (with them, `count_include_pad` would matter).
 */
export const POOL_CHECKS: Readonly<Record<string, OpCheck>> = {
  MaxPool: checkPool,
  AveragePool: (ctx) => {
    checkPool(ctx);
    const pads = intsAttr(ctx.node, 'pads') ?? [];
    if (pads.some((p) => p !== 0)) throw unsupportedAttribute(ctx, NO_PADDING, `pads [${pads}]`);
  },
};

/** MaxPool, AveragePool and GlobalAveragePool. */
export const POOL_OPS: Readonly<Record<string, OpImpl>> = {
  MaxPool,
  AveragePool,
  GlobalAveragePool,
};
