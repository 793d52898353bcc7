import type { LayersModel } from '@tensorflow/tfjs';
import { createRandom } from '../../random.js';
import type { tf as tfNamespace } from './backends.js';
import { float32Values } from './float64.js';

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
