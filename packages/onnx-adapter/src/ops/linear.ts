/** Linear operators: Gemm and MatMul. */
import type { Tensor } from '@tensorflow/tfjs-core';
import { floatAttr, intAttr, type OpContext, type OpImpl, required } from './types.js';

/** Gemm: Y = alpha · A′B′ + beta · C, A′ = transA ? Aᵀ : A, B′ likewise; C broadcast (optional from opset 11). */
const Gemm: OpImpl = (ctx, inputs) => {
  const { tf, node } = ctx;
  const alpha = floatAttr(node, 'alpha', 1);
  const beta = floatAttr(node, 'beta', 1);
  let y = tf.matMul(
    required(ctx, inputs, 0),
    required(ctx, inputs, 1),
    intAttr(node, 'transA', 0) === 1,
    intAttr(node, 'transB', 0) === 1,
  );
  if (alpha !== 1) y = tf.mul(y, alpha);
  const c = inputs[2];
  if (c !== undefined && beta !== 0) y = tf.add(y, beta === 1 ? c : tf.mul(c, beta));
  return [y];
};

/**
 * a·b with NumPy batch broadcasting in a form whose gradient has the operands' shapes (tfjs's
 * BatchMatMul gradient does not sum over broadcast batch axes): a batched a times a matrix b
 * is one 2-D product of a's rows; otherwise each operand is broadcast to the common batch
 * shape first (the broadcast's gradient sums back).
 */
function batchMatMul(ctx: OpContext, a: Tensor, b: Tensor): Tensor {
  const { tf } = ctx;
  if (a.rank === b.rank) return tf.matMul(a, b);
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.rank - 1];
  if (b.rank === 2) {
    const y = tf.matMul(tf.reshape(a, [-1, k]), b);
    return tf.reshape(y, [...a.shape.slice(0, -1), n]);
  }
  const rank = Math.max(a.rank, b.rank);
  const batch = Array.from({ length: rank - 2 }, (_, i) => {
    const da = a.shape[a.rank - rank + i] ?? 1;
    const db = b.shape[b.rank - rank + i] ?? 1;
    return da === 1 ? db : da;
  });
  return tf.matMul(tf.broadcastTo(a, [...batch, m, k]), tf.broadcastTo(b, [...batch, k, n]));
}

/** MatMul with NumPy semantics: 1-D operands are promoted and the added axis removed; batch axes broadcast. */
const MatMul: OpImpl = (ctx, inputs) => {
  const { tf } = ctx;
  let a: Tensor = required(ctx, inputs, 0);
  let b: Tensor = required(ctx, inputs, 1);
  const vecA = a.rank === 1;
  const vecB = b.rank === 1;
  if (vecA) a = tf.expandDims(a, 0);
  if (vecB) b = tf.expandDims(b, 1);
  let y: Tensor = batchMatMul(ctx, a, b);
  if (vecB) y = tf.squeeze(y, [y.rank - 1]);
  if (vecA) y = tf.squeeze(y, [y.rank - (vecB ? 1 : 2)]);
  return [y];
};

/** Gemm and MatMul. */
export const LINEAR_OPS: Readonly<Record<string, OpImpl>> = { Gemm, MatMul };
