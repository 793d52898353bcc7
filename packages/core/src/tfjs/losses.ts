import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { checkOneOf } from '../options.js';
import { LossError } from './errors.js';
import type { Tf } from './types.js';

/**
 * hessian-probe's own losses, written with ops whose second derivatives are exact under
 * {@link withSecondOrder} (tfjs's `tf.losses.softmaxCrossEntropy` and `tf.logSoftmax` are
 * `customGrad`s whose internals an outer gradient tape cannot see, and `tf.logSigmoid` throws
 * on intermediate tensors: docs/tfjs-second-order.md). Every loss is a mean over samples, so a
 * probe set split into chunks is recombined with weights proportional to chunk size.
 *
 * - `softmaxCrossEntropy`: ℓ = −Σ_c y_c log softmax(z)_c, from logits; labels one-hot (or any
 *   probabilities) of shape [N, C], or sparse integer class ids of shape [N]. Loss Hessian in
 *   the logits A = (Σ_c y_c)(diag(p) − ppᵀ), multiplied as p ⊙ (u − u_r − Σ_j p_j(u_j − u_r))
 *   with r the largest logit, so that a saturated softmax (p_r ≈ 1) keeps its relative
 *   accuracy (1 − p_r is never formed).
 * - `binaryCrossEntropy`: ℓ = mean_c [softplus(z_c) − y_c z_c] (= −y log σ(z) − (1−y) log(1−σ(z))),
 *   from logits, mean over the outputs as Keras does; A = diag(σ(z)σ(−z))/C.
 * - `meanSquaredError`: ℓ = (1/C) Σ_c (z_c − y_c)², the mean over the C outputs as Keras
 *   (and PyTorch) define it, so A = (2/C) I (docs/methods.md states both conventions).
 */
export type LossName = 'softmaxCrossEntropy' | 'binaryCrossEntropy' | 'meanSquaredError';

/** All {@link LossName}s. */
export const LOSS_NAMES: readonly LossName[] = [
  'softmaxCrossEntropy',
  'binaryCrossEntropy',
  'meanSquaredError',
];

/**
 * log softmax(z) along the last axis, as z − logSumExp(z) with the maximum subtracted for
 * stability (the maximum cancels exactly in the derivatives).
 *
 * @example
 * ```ts
 * const logp = logSoftmax(tf, tf.tensor2d([[1, 2, 3]])); // [[-2.41, -1.41, -0.41]]
 * ```
 */
export function logSoftmax(tf: Tf, logits: Tensor): Tensor {
  const m = tf.max(logits, -1, true);
  const shifted = tf.sub(logits, m);
  return tf.sub(shifted, tf.log(tf.sum(tf.exp(shifted), -1, true)));
}

/**
 * Softmax cross-entropy from logits, averaged over the N samples.
 *
 * @param logits - [N, C] float32.
 * @param labels - [N, C] one-hot (or probabilities), or [N] int32 class ids (sparse).
 * @throws {@link LossError} when the shapes do not fit or a sparse label is not in [0, C).
 *
 * @example
 * ```ts
 * const loss = softmaxCrossEntropy(tf, model.apply(x) as tf.Tensor, tf.tensor1d([0, 2], 'int32'));
 * ```
 */
export function softmaxCrossEntropy(tf: Tf, logits: Tensor, labels: Tensor): Scalar {
  const targets = denseLabels(tf, logits, labels, 'softmaxCrossEntropy');
  const perSample = tf.neg(tf.sum(tf.mul(targets, logSoftmax(tf, logits)), -1));
  return tf.mean(perSample) as Scalar;
}

/**
 * Binary cross-entropy from logits, mean over all entries (samples and outputs), as
 * softplus(z) − y·z (= y·softplus(−z) + (1 − y)·softplus(z), never log(σ)).
 *
 * @param logits - [N, C] (or any shape) float32.
 * @param labels - same shape, values in [0, 1].
 * @example
 * ```ts
 * const logits = tf.tensor2d([[2.3], [-0.7]]); // [N, 1]
 * const loss = binaryCrossEntropy(tf, logits, tf.tensor2d([[1], [0]]));
 * ```
 */
export function binaryCrossEntropy(tf: Tf, logits: Tensor, labels: Tensor): Scalar {
  checkSameShape(logits, labels, 'binaryCrossEntropy');
  return tf.mean(tf.sub(tf.softplus(logits), tf.mul(tf.cast(labels, 'float32'), logits))) as Scalar;
}

/**
 * Mean squared error, mean over all entries: (1/(N·C)) Σ (z − y)², Keras's convention
 * (A = (2/C) I per sample).
 *
 * @example
 * ```ts
 * const loss = meanSquaredError(tf, model.apply(x) as tf.Tensor, y);
 * ```
 */
export function meanSquaredError(tf: Tf, predictions: Tensor, targets: Tensor): Scalar {
  checkSameShape(predictions, targets, 'meanSquaredError');
  return tf.mean(tf.square(tf.sub(predictions, tf.cast(targets, 'float32')))) as Scalar;
}

/**
 * A loss on the network output z with its analytic Hessian in z: what the generalized
 * Gauss–Newton product JᵀAJv needs (Schraudolph 2002).
 */
export interface OutputLoss {
  readonly name: LossName;
  /** The loss (mean over samples) of outputs `z` [N, …] against `targets`. */
  value(tf: Tf, z: Tensor, targets: Tensor): Scalar;
  /**
   * ∇²_z L · u for the whole batch: (1/N) A_n u_n for each sample n, shaped like z; u is a
   * tangent of z. Exact: A is the analytic Hessian of the loss in its input.
   */
  hessianProduct(tf: Tf, z: Tensor, targets: Tensor, u: Tensor): Tensor;
}

/**
 * The {@link OutputLoss} called `name`.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for an unknown name.
 * @example
 * ```ts
 * const ce = outputLoss('softmaxCrossEntropy');
 * const z = tf.tensor2d([[1, 2, 3]]); // logits [N, C]
 * const u = tf.tensor2d([[1, 0, 0]]); // a tangent of z
 * const au = ce.hessianProduct(tf, z, tf.tensor1d([2], 'int32'), u); // (1/N)·A·u
 * ```
 */
export function outputLoss(name: LossName): OutputLoss {
  checkOneOf('outputLoss', 'name', name, LOSS_NAMES);
  switch (name) {
    case 'softmaxCrossEntropy':
      return {
        name,
        value: softmaxCrossEntropy,
        hessianProduct(tf, z, targets, u) {
          const n = z.shape[0] ?? 1;
          const p = tf.softmax(z);
          const mass = tf.sum(denseLabels(tf, z, targets, 'softmaxCrossEntropy'), -1, true);
          // u − p·u = (u − u_r) + Σ_j p_j (u_r − u_j) with r the largest logit (Σ p = 1): no
          // 1 − p_r, which float32 cannot resolve when p_r ≈ 1 (a fitted sample's softmax).
          const top = tf.cast(tf.oneHot(tf.argMax(z, -1), z.shape[1] as number), 'float32');
          const fromTop = tf.sub(u, tf.sum(tf.mul(top, u), -1, true));
          const centred = tf.sub(fromTop, tf.sum(tf.mul(p, fromTop), -1, true));
          return tf.div(tf.mul(mass, tf.mul(p, centred)), n);
        },
      };
    case 'binaryCrossEntropy':
      return {
        name,
        value: binaryCrossEntropy,
        hessianProduct(tf, z, _targets, u) {
          // σ(z)σ(−z), not σ(1 − σ): 1 − σ cancels in float32 when σ ≈ 1.
          const curvature = tf.mul(tf.sigmoid(z), tf.sigmoid(tf.neg(z)));
          return tf.div(tf.mul(curvature, u), z.size);
        },
      };
    case 'meanSquaredError':
      return {
        name,
        value: meanSquaredError,
        hessianProduct(tf, z, _targets, u) {
          return tf.mul(u, 2 / z.size);
        },
      };
  }
}

function checkSameShape(a: Tensor, b: Tensor, where: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new LossError(
      `${where}: expected labels of the output's shape [${a.shape}], got [${b.shape}]`,
    );
  }
}

/** One-hot float32 labels from one-hot or sparse ones. */
function denseLabels(tf: Tf, logits: Tensor, labels: Tensor, where: string): Tensor {
  if (logits.rank !== 2) {
    throw new LossError(`${where}: expected logits of rank 2 [N, C], got shape [${logits.shape}]`);
  }
  const [n, c] = logits.shape as [number, number];
  if (labels.rank === 1) {
    if (labels.shape[0] !== n || labels.dtype !== 'int32') {
      throw new LossError(
        `${where}: expected sparse labels to be int32 of shape [${n}], got ${labels.dtype} [${labels.shape}]`,
      );
    }
    const ids = labels.dataSync();
    const bad = ids.findIndex((id) => id < 0 || id >= c);
    if (bad >= 0) {
      throw new LossError(`${where}: expected class ids in [0, ${c}), got ${ids[bad]} at ${bad}`);
    }
    // int32 then cast: tfjs-backend-wasm 4.22's OneHot returns all zeros for dtype 'float32'.
    return tf.cast(tf.oneHot(labels, c), 'float32');
  }
  checkSameShape(logits, labels, where);
  return tf.cast(labels, 'float32');
}
