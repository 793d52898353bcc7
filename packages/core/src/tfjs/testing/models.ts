import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { createRandom } from '../../random.js';
import type { tf as tfNamespace } from './backends.js';
import { float32Values } from './float64.js';
import type { Dense64 } from './hvp64.js';

type TfAll = typeof tfNamespace;

/** Seeded float32-representable data: x [n, d] ~ N(0, 1) and the matching float64 copy. */
export function gaussianData(seed: number, n: number, d: number, scale = 1): Float64Array {
  return float32Values(
    createRandom(seed)
      .gaussianVector(n * d)
      .map((v) => v * scale),
  );
}

/** One-hot labels for classes (i mod c), as float64 and as the class ids. */
export function oneHotLabels(n: number, c: number): { dense: Float64Array; ids: Int32Array } {
  const dense = new Float64Array(n * c);
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    ids[i] = (i * 7 + 3) % c;
    dense[i * c + ids[i]] = 1;
  }
  return { dense, ids };
}

/**
 * Overwrites every trainable weight of `model` with seeded N(0, scale²/fanIn) values (fanIn =
 * first dimension of kernels, 1 for biases) and returns them concatenated in
 * `model.trainableWeights` order, as float64.
 */
export function setSeededWeights(
  tf: TfAll,
  model: LayersModel,
  seed: number,
  scale = 1,
): Float64Array {
  const rng = createRandom(seed);
  const parts: Float64Array[] = [];
  for (const w of model.trainableWeights) {
    const size = w.shape.reduce((p: number, d) => p * (d ?? 1), 1);
    const fanIn =
      w.shape.length >= 2 ? w.shape.slice(0, -1).reduce((p: number, d) => p * (d ?? 1), 1) : 1;
    const values = float32Values(
      rng.gaussianVector(size).map((v) => (v * scale) / Math.sqrt(fanIn)),
    );
    w.write(tf.tensor(Float32Array.from(values), w.shape as number[]));
    parts.push(values);
  }
  const out = new Float64Array(parts.reduce((p, a) => p + a.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Relative Frobenius distance ‖a − b‖_F / ‖b‖_F. */
export function relativeError(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** A fitted classifier whose softmax saturates, with its float64 description. */
export interface SaturatedClassifier {
  /** A d-8-8-2 tanh MLP ending in softmax, compiled with sparseCategoricalCrossentropy. */
  readonly model: LayersModel;
  /** Inputs (n × d, float32 values) as float64 and as a tensor. */
  readonly x: Float64Array;
  readonly xs: Tensor;
  /** Each sample's predicted class: as numbers and as an int32 tensor [n]. */
  readonly labels: number[];
  readonly ys: Tensor;
  /** The weights (float32 values) in trainableWeights order. */
  readonly theta: Float64Array;
  /** The layers for {@link mlpHessianVectorProduct64}. */
  readonly layers: readonly Dense64[];
}

/**
 * A 4-8-8-2 tanh MLP on 12 samples, every one fitted with a logit margin of at least 10 (1 − p
 * from e^−10 down to far below float32's ulp), as training to a loss of ~1e-6 leaves a model.
 * Seeded weights (scale 1.5); of 48 Gaussian inputs the 12 with the largest margins are kept,
 * the output layer is scaled until the smallest margin is 10 (a factor of ~20: the logits'
 * own float32 rounding grows with it), and each sample is labelled with its predicted class.
 */
export function saturatedClassifier(tf: TfAll, seed: number): SaturatedClassifier {
  const [n, d, hidden] = [12, 4, 8];
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [d], units: hidden, activation: 'tanh' }),
      tf.layers.dense({ units: hidden, activation: 'tanh' }),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
  setSeededWeights(tf, model, seed, 1.5);
  const pool = gaussianData(seed + 1, 4 * n, d);
  // The head's input logits: the model without its final softmax.
  const poolLogits = tf.tidy(() => {
    const h = model.layers
      .slice(0, 2)
      .reduce<Tensor>(
        (t, layer) => layer.apply(t) as Tensor,
        tf.tensor2d(Float32Array.from(pool), [4 * n, d]),
      );
    const [kernel, bias] = model.layers[2].getWeights();
    return tf.add(tf.matMul(h, kernel), bias).arraySync() as number[][];
  });
  const kept = poolLogits
    .map(([a, b], i) => ({ i, margin: Math.abs(a - b), label: a > b ? 0 : 1 }))
    .sort((a, b) => b.margin - a.margin)
    .slice(0, n);
  const factor = 10 / kept[n - 1].margin;
  const head = tf.tidy(() => model.layers[2].getWeights().map((w) => tf.mul(w, factor)));
  model.layers[2].setWeights(head);
  tf.dispose(head);
  const x = Float64Array.from(
    kept.flatMap(({ i }) => Array.from(pool.subarray(i * d, (i + 1) * d))),
  );
  const labels = kept.map((k) => k.label);
  return {
    model,
    x,
    xs: tf.tensor2d(Float32Array.from(x), [n, d]),
    labels,
    ys: tf.tensor1d(labels, 'int32'),
    theta: Float64Array.from(
      model.trainableWeights.flatMap((w) => Array.from(w.read().dataSync())),
    ),
    layers: [
      { nIn: d, nOut: hidden, activation: 'tanh' },
      { nIn: hidden, nOut: hidden, activation: 'tanh' },
      { nIn: hidden, nOut: 2, activation: 'linear' },
    ],
  };
}
