/**
 * Conv (2-D, NCHW as ONNX lays it out). tfjs's conv2d is NHWC, so the input is transposed to
 * NHWC, zero-padded explicitly (any `pads`, symmetric or not, or `auto_pad`), convolved with
 * 'valid' padding and transposed back; the weights [M, C, kH, kW] become [kH, kW, C, M].
 * Supported: strides, pads, auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER), kernel_shape,
 * optional bias; group must be 1 and dilations 1 (tfjs second order of dilated and grouped
 * convolutions is not verified), otherwise a typed error naming the node, at conversion
 * ({@link CONV_CHECKS}).
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { intAttr, type OpCheck, type OpImpl, required, unsupportedAttribute } from './types.js';
import { checkWindow, TO_NCHW, TO_NHWC, unpadded, window2d } from './window.js';

const Conv: OpImpl = (ctx, inputs) => {
  const { tf } = ctx;
  const x = required(ctx, inputs, 0);
  const w = required(ctx, inputs, 1);
  if (w.rank !== 4)
    throw unsupportedAttribute(ctx, '4-D weights (2-D convolution)', `rank ${w.rank}`);
  const win = window2d(ctx, x, [w.shape[2] ?? 0, w.shape[3] ?? 0]);
  if (win.kernel[0] !== w.shape[2] || win.kernel[1] !== w.shape[3]) {
    throw unsupportedAttribute(
      ctx,
      `kernel_shape equal to the weights' [${w.shape.slice(2)}]`,
      `[${win.kernel}]`,
    );
  }
  let xn = tf.transpose(x, TO_NHWC);
  if (!unpadded(win)) xn = tf.pad(xn, [[0, 0], ...win.pads, [0, 0]]);
  const filter = tf.transpose(w, [2, 3, 1, 0]);
  let y: Tensor = tf.conv2d(xn as Tensor4D, filter as Tensor4D, win.strides, 'valid');
  const b = inputs[2];
  if (b !== undefined) y = tf.add(y, b);
  return [tf.transpose(y, TO_NCHW)];
};

/** Conv: group 1, and the window attributes of {@link checkWindow}. */
export const CONV_CHECKS: Readonly<Record<string, OpCheck>> = {
  Conv: (ctx) => {
    const group = intAttr(ctx.node, 'group', 1);
    if (group !== 1) throw unsupportedAttribute(ctx, 'group 1', `group ${group}`);
    checkWindow(ctx);
  },
};

/** Conv. */
export const CONV_OPS: Readonly<Record<string, OpImpl>> = { Conv };
