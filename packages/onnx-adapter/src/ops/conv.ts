/**
 * Conv (2-D, NCHW as ONNX lays it out). tfjs's conv2d is NHWC, so the input is transposed to
 * NHWC, zero-padded explicitly (any `pads`, symmetric or not, or `auto_pad`), convolved with
 * 'valid' padding and transposed back; the weights [M, C/group, kH, kW] become
 * [kH, kW, C/group, M]. Supported: strides, pads, auto_pad (NOTSET, VALID, SAME_UPPER,
 * SAME_LOWER), kernel_shape, optional bias, `group` (the channels split into groups, each
 * convolved with its slice of the filters, concatenated) and `dilations` (the filter spread
 * out with zeros between its taps, then an undilated convolution: tfjs has no gradient of
 * dilated conv2d, and pad, reshape and slice are exact to any order).
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import {
  intAttr,
  intsAttr,
  type OpCheck,
  type OpContext,
  type OpImpl,
  required,
  unsupportedAttribute,
} from './types.js';
import { checkWindow, dilationsOf, TO_NCHW, TO_NHWC, unpadded, window2d } from './window.js';

/**
 * A filter [kH, kW, C, M] dilated by [dH, dW]: [(kH − 1)·dH + 1, (kW − 1)·dW + 1, C, M] with
 * dH − 1 (dW − 1) zero rows (columns) between taps.
 */
function dilate(ctx: OpContext, filter: Tensor, [dh, dw]: [number, number]): Tensor {
  if (dh === 1 && dw === 1) return filter;
  const { tf } = ctx;
  const [kh, kw, c, m] = filter.shape;
  const spread = tf.pad(tf.reshape(filter, [kh, 1, kw, 1, c * m]), [
    [0, 0],
    [0, dh - 1],
    [0, 0],
    [0, dw - 1],
    [0, 0],
  ]);
  const full = tf.reshape(spread, [kh * dh, kw * dw, c, m]);
  return tf.slice(full, [0, 0, 0, 0], [(kh - 1) * dh + 1, (kw - 1) * dw + 1, c, m]);
}

const Conv: OpImpl = (ctx, inputs) => {
  const { tf } = ctx;
  const x = required(ctx, inputs, 0);
  const w = required(ctx, inputs, 1);
  if (w.rank !== 4)
    throw unsupportedAttribute(ctx, '4-D weights (2-D convolution)', `rank ${w.rank}`);
  const given = intsAttr(ctx.node, 'kernel_shape');
  if (given !== undefined && (given[0] !== w.shape[2] || given[1] !== w.shape[3])) {
    throw unsupportedAttribute(
      ctx,
      `kernel_shape equal to the weights' [${w.shape.slice(2)}]`,
      `[${given}]`,
    );
  }
  const group = intAttr(ctx.node, 'group', 1);
  const channels = x.shape[1] ?? 0;
  if (channels !== group * (w.shape[1] ?? 0) || (w.shape[0] ?? 0) % group !== 0) {
    throw unsupportedAttribute(
      ctx,
      `input channels = group × weight channels and filters divisible by group ${group}`,
      `input [${x.shape}], weights [${w.shape}]`,
    );
  }
  const filter = dilate(ctx, tf.transpose(w, [2, 3, 1, 0]), dilationsOf(ctx));
  const win = window2d(ctx, x, [filter.shape[0] ?? 0, filter.shape[1] ?? 0]);
  let xn = tf.transpose(x, TO_NHWC);
  if (!unpadded(win)) xn = tf.pad(xn, [[0, 0], ...win.pads, [0, 0]]);
  const conv = (input: Tensor, f: Tensor) =>
    tf.conv2d(input as Tensor4D, f as Tensor4D, win.strides, 'valid');
  let y: Tensor;
  if (group === 1) y = conv(xn, filter);
  else {
    const filters = tf.split(filter, group, 3);
    y = tf.concat(
      tf.split(xn, group, 3).map((part, g) => conv(part, filters[g])),
      3,
    );
  }
  const b = inputs[2];
  if (b !== undefined) y = tf.add(y, b);
  return [tf.transpose(y, TO_NCHW)];
};

/** Conv: group ≥ 1, and the window attributes of {@link checkWindow} (dilations allowed). */
export const CONV_CHECKS: Readonly<Record<string, OpCheck>> = {
  Conv: (ctx) => {
    const group = intAttr(ctx.node, 'group', 1);
    if (group < 1) throw unsupportedAttribute(ctx, 'group ≥ 1', `group ${group}`);
    checkWindow(ctx, true);
  },
};

/** Conv. */
export const CONV_OPS: Readonly<Record<string, OpImpl>> = { Conv };
