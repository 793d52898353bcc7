/**
 * Attributes shared by the windowed operators (Conv, MaxPool, AveragePool) on 2-D NCHW
 * images: kernel size, strides, dilations and padding (`pads` or `auto_pad`), resolved to
 * explicit per-side pads.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import {
  intsAttr,
  type NodeContext,
  type OpContext,
  stringAttr,
  unsupportedAttribute,
} from './types.js';

/** The resolved window of a 2-D windowed operator. */
export interface Window2d {
  readonly kernel: [number, number];
  readonly strides: [number, number];
  /** `[[top, bottom], [left, right]]`. */
  readonly pads: [[number, number], [number, number]];
}

/** True when every pad is 0. */
export function unpadded(w: Window2d): boolean {
  return w.pads.every(([a, b]) => a === 0 && b === 0);
}

function pair(ctx: NodeContext, name: string, fallback: [number, number]): [number, number] {
  const v = intsAttr(ctx.node, name);
  if (v === undefined) return fallback;
  if (v.length !== 2) throw unsupportedAttribute(ctx, `${name} of length 2 (2-D)`, `[${v}]`);
  return [v[0], v[1]];
}

/** The `auto_pad` values {@link window2d} resolves. */
const AUTO_PADS = ['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'];

/**
 * The window attributes that need no input shape, checked at conversion: `kernel_shape`,
 * `strides` and `dilations` of length 2 (2-D windows), `dilations` ≥ 1 where `dilated` (Conv),
 * else 1 (pooling: tfjs second-order support of dilated pooling windows is not verified),
 * `auto_pad` one of NOTSET, VALID, SAME_UPPER, SAME_LOWER, and `pads` of length 4 and ≥ 0.
 */
export function checkWindow(ctx: NodeContext, dilated = false): void {
  pair(ctx, 'kernel_shape', [1, 1]);
  pair(ctx, 'strides', [1, 1]);
  const dilations = dilationsOf(ctx);
  if (dilations.some((d) => d < 1)) {
    throw unsupportedAttribute(ctx, 'dilations ≥ 1', `[${dilations}]`);
  }
  if (!dilated && dilations.some((d) => d !== 1)) {
    throw unsupportedAttribute(
      ctx,
      'dilations 1 (dilated windows are not verified for second order)',
      `[${dilations}]`,
    );
  }
  const autoPad = stringAttr(ctx.node, 'auto_pad', 'NOTSET');
  if (!AUTO_PADS.includes(autoPad)) {
    throw unsupportedAttribute(ctx, 'auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER', autoPad);
  }
  const pads = intsAttr(ctx.node, 'pads');
  if (pads !== undefined && pads.length !== 4) {
    throw unsupportedAttribute(ctx, 'pads of length 4 (2-D)', `[${pads}]`);
  }
  if (pads?.some((p) => p < 0)) throw unsupportedAttribute(ctx, 'pads ≥ 0', `[${pads}]`);
}

/** The `dilations` attribute of a 2-D window (default [1, 1]). */
export function dilationsOf(ctx: NodeContext): [number, number] {
  return pair(ctx, 'dilations', [1, 1]);
}

/**
 * Resolves the window of `ctx.node` over input `x` [N, C, H, W] (attributes checked by
 * {@link checkWindow}): `kernel` when given (Conv: the dilated extent of its weights), else
 * `kernel_shape`; `strides` (default 1); `auto_pad` NOTSET (with `pads` [top, left, bottom, right],
 * default 0, symmetric or not), VALID, SAME_UPPER or SAME_LOWER.
 */
export function window2d(ctx: OpContext, x: Tensor, kernel?: [number, number]): Window2d {
  if (x.rank !== 4) {
    throw unsupportedAttribute(ctx, 'a 4-D NCHW input (2-D windows only)', `rank ${x.rank}`);
  }
  const k = kernel ?? pair(ctx, 'kernel_shape', [0, 0]);
  if (k[0] <= 0 || k[1] <= 0) throw unsupportedAttribute(ctx, 'a kernel_shape', 'none');
  const strides = pair(ctx, 'strides', [1, 1]);
  const autoPad = stringAttr(ctx.node, 'auto_pad', 'NOTSET');
  const size = [x.shape[2] ?? 0, x.shape[3] ?? 0];
  let pads: [[number, number], [number, number]];
  switch (autoPad) {
    case 'NOTSET': {
      const p = intsAttr(ctx.node, 'pads') ?? [0, 0, 0, 0];
      pads = [
        [p[0], p[2]],
        [p[1], p[3]],
      ];
      break;
    }
    case 'VALID':
      pads = [
        [0, 0],
        [0, 0],
      ];
      break;
    default: {
      // SAME_UPPER or SAME_LOWER (checkWindow refused anything else).
      const side = (i: 0 | 1): [number, number] => {
        const out = Math.ceil(size[i] / strides[i]);
        const total = Math.max(0, (out - 1) * strides[i] + k[i] - size[i]);
        const small = Math.floor(total / 2);
        return autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
      };
      pads = [side(0), side(1)];
    }
  }
  return { kernel: k, strides, pads };
}

/** NCHW → NHWC. */
export const TO_NHWC = [0, 2, 3, 1];
/** NHWC → NCHW. */
export const TO_NCHW = [0, 3, 1, 2];
