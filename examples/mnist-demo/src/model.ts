/**
 * The demo's model and training setup, shared with `pnpm bench:callback`, which measures the
 * callback's overhead on exactly this model.
 */

import { CLASSES, PIXELS } from '@hessian-probe/example-kit';
import type * as tfjs from '@tensorflow/tfjs';

/** Probe examples: the first of the (shuffled) training set, the same at every analysis. */
export const PROBE_SIZE = 512;
/** Training batch size. */
export const BATCH_SIZE = 64;
/** Hidden units of the MLP. */
export const HIDDEN = 64;

/**
 * A 784-64-10 MLP (relu, softmax; 50,890 parameters) with seeded initializers, compiled with
 * Adam (learning rate 0.002) and cross-entropy: the same initial weights on every call.
 *
 * @example
 * ```ts
 * const model = demoModel(tf);
 * await model.fit(x, y, { epochs: 5, batchSize: BATCH_SIZE });
 * ```
 */
export function demoModel(tf: typeof tfjs): tfjs.Sequential {
  const model = tf.sequential({
    name: 'mnist_mlp',
    layers: [
      tf.layers.dense({
        inputShape: [PIXELS],
        units: HIDDEN,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.dense({
        units: CLASSES,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
  model.compile({
    optimizer: tf.train.adam(0.002),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return model;
}
