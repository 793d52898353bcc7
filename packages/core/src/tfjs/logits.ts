import type { Tensor } from '@tensorflow/tfjs-core';
import { LossError } from './errors.js';

/** The parts of a tfjs-layers `LayersModel` that {@link modelLogits} uses. */
export interface LogitsModel {
  readonly layers: readonly object[];
  apply(inputs: Tensor, kwargs?: { training?: boolean }): unknown;
}

interface ActivationLike {
  apply(x: Tensor): Tensor;
  getClassName(): string;
}

const identity: ActivationLike = { apply: (x) => x, getClassName: () => 'linear' };

/** A final activation that {@link modelLogits} can take off. */
export type FinalActivation = 'softmax' | 'sigmoid';

/**
 * The model's output before its final softmax (or sigmoid), in inference mode: for the common
 * `Dense(C, {activation: 'softmax'})` (or a final `Activation('softmax')` / `Softmax` layer)
 * compiled with `categoricalCrossentropy`, softmaxCrossEntropy(modelLogits(model, x), y) is the
 * same loss, computed stably and with exact second derivatives (tfjs's softmax + log +
 * clipping path is neither). When the last layer has no softmax, the output itself is
 * returned (it already is the logits). With `activation: 'sigmoid'` the same is done for a final
 * sigmoid (a `Dense`/`Activation` layer with `activation: 'sigmoid'`), so that
 * binaryCrossEntropy(modelLogits(model, x, 'sigmoid'), y) is Keras's `binaryCrossentropy`
 * computed from logits.
 *
 * The final layer's activation is swapped for the identity only for the duration of this
 * synchronous call and restored in a `finally`, so no other code can observe it.
 *
 * @throws {@link @hessian-probe/core!tfjs.LossError | LossError} when the model has several
 *   outputs.
 * @example
 * ```ts
 * const loss = () => softmaxCrossEntropy(tf, modelLogits(model, x), y);
 * ```
 */
export function modelLogits(
  model: LogitsModel,
  x: Tensor,
  activation: FinalActivation = 'softmax',
): Tensor {
  const last = model.layers[model.layers.length - 1] as {
    activation?: ActivationLike | null;
    softmax?: (x: Tensor, axis?: number) => Tensor;
    getClassName?: () => string;
  };
  const run = () => {
    const out = model.apply(x, { training: false });
    if (Array.isArray(out)) {
      throw new LossError(`modelLogits: expected a model with one output, got ${out.length}`);
    }
    return out as Tensor;
  };
  if (last.activation?.getClassName() === activation) {
    const original = last.activation;
    last.activation = identity;
    try {
      return run();
    } finally {
      last.activation = original;
    }
  }
  if (activation === 'softmax' && last.getClassName?.() === 'Softmax' && last.softmax) {
    const original = last.softmax;
    last.softmax = (t) => t;
    try {
      return run();
    } finally {
      last.softmax = original;
    }
  }
  return run();
}

/**
 * Whether `model`'s last layer ends in a softmax (so its output is probabilities).
 *
 * @example
 * ```ts
 * const layer = tf.layers.dense({ inputShape: [2], units: 3, activation: 'softmax' });
 * endsInSoftmax(tf.sequential({ layers: [layer] })); // true
 * ```
 */
export function endsInSoftmax(model: LogitsModel): boolean {
  return endsInActivation(model, 'softmax');
}

/**
 * Whether `model`'s last layer ends in `activation` (a layer's `activation` property, or a
 * final `Softmax` layer for 'softmax').
 *
 * @example
 * ```ts
 * const logits = modelLogits(model, x, endsInActivation(model, 'sigmoid') ? 'sigmoid' : 'softmax');
 * ```
 */
export function endsInActivation(model: LogitsModel, activation: FinalActivation): boolean {
  const last = model.layers[model.layers.length - 1] as {
    activation?: ActivationLike | null;
    getClassName?: () => string;
  };
  return (
    last.activation?.getClassName() === activation ||
    (activation === 'softmax' && last.getClassName?.() === 'Softmax')
  );
}
