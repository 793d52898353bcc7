/**
 * LayerNormalization (opset 17): Y = (X − mean) / √(var + epsilon) · Scale + B over the axes
 * from `axis` (default −1) to the last, with the optional Mean and InvStdDev outputs; built
 * from mean, sub, mul, sqrt and div, whose tfjs gradients are second-order exact.
 *
 * BatchNormalization at inference: Y = (X − mean) / √(var + epsilon) · scale + B, per channel
 * (axis 1), from the stored statistics; differentiable in every input. momentum is ignored
 * (training only). Refused at conversion (typed error naming the node): training_mode 1 or
 * the running mean/var outputs (opset ≥ 14 training), spatial 0 (opset < 9 per-activation
 * statistics).
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import {
  axisOf,
  floatAttr,
  intAttr,
  type OpCheck,
  type OpImpl,
  required,
  unsupportedAttribute,
} from './types.js';

const BatchNormalization: OpImpl = (ctx, inputs) => {
  const { tf, node } = ctx;
  const x = required(ctx, inputs, 0);
  const epsilon = floatAttr(node, 'epsilon', 1e-5);
  const perChannel = (t: Tensor): Tensor =>
    x.rank <= 2 ? t : tf.reshape(t, [t.size, ...Array(x.rank - 2).fill(1)]);
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) =>
    perChannel(required(ctx, inputs, i)),
  );
  const inv = tf.div(scale, tf.sqrt(tf.add(variance, epsilon)));
  return [tf.add(tf.mul(tf.sub(x, mean), inv), bias)];
};

const LayerNormalization: OpImpl = (ctx, inputs) => {
  const { tf, node } = ctx;
  const x = required(ctx, inputs, 0);
  const scale = required(ctx, inputs, 1);
  const epsilon = floatAttr(node, 'epsilon', 1e-5);
  const first = axisOf(intAttr(node, 'axis', -1), x.rank);
  const axes = [...Array(x.rank).keys()].slice(first);
  const mean = tf.mean(x, axes, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.mul(centred, centred), axes, true);
  const std = tf.sqrt(tf.add(variance, epsilon));
  let y = tf.mul(tf.div(centred, std), scale);
  const b = inputs[2];
  if (b !== undefined) y = tf.add(y, b);
  return [y, mean, tf.div(1, std)];
};

/** BatchNormalization: inference only (training_mode 0, spatial 1, one output). */
export const NORMALIZATION_CHECKS: Readonly<Record<string, OpCheck>> = {
  BatchNormalization: (ctx) => {
    const { node } = ctx;
    const training = intAttr(node, 'training_mode', 0);
    if (training !== 0) {
      throw unsupportedAttribute(ctx, 'training_mode 0 (inference)', `${training}`);
    }
    const spatial = intAttr(node, 'spatial', 1);
    if (spatial !== 1) throw unsupportedAttribute(ctx, 'spatial 1', `spatial ${spatial}`);
    const extra = (node.output ?? []).slice(1).filter((o) => o !== '');
    if (extra.length > 0) {
      throw unsupportedAttribute(ctx, 'one output (inference)', `outputs ${extra.join(', ')}`);
    }
  },
};

/** BatchNormalization (inference) and LayerNormalization. */
export const NORMALIZATION_OPS: Readonly<Record<string, OpImpl>> = {
  BatchNormalization,
  LayerNormalization,
};
