import type * as tfc from '@tensorflow/tfjs-core';

/**
 * The TensorFlow.js namespace the caller passes in: `@tensorflow/tfjs`, `@tensorflow/tfjs-core`
 * with a backend, or `@tensorflow/tfjs-node`. hessian-probe never imports tfjs at run time, so
 * it works with whichever copy and backend the user has.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * const { operator } = hessianOperator({
 *   tf, // any: @tensorflow/tfjs, tfjs-core with a backend, or tfjs-node
 *   params: trainableParams(model),
 *   loss: () => meanSquaredError(tf, model.apply(x) as tf.Tensor, y),
 * });
 * ```
 */
// Without `default`: from this ES module, the namespace of CommonJS tfjs-core carries a `default`
// (its module.exports) that a CommonJS caller's `import * as tf` does not have.
export type Tf = Omit<typeof tfc, 'default'>;

/** A tensor with a name: how {@link hessianOperator} identifies plain (non-variable) tensors. */
export interface NamedTensor {
  /** Block name in the resulting layout, e.g. `'w'` or `'dense_1/kernel'`. */
  readonly name: string;
  /** A float32 tensor the loss depends on. */
  readonly tensor: tfc.Tensor;
}
