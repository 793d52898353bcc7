import type { Tensor } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createRandom } from '../random.js';
import { arithmeticTolerance, checkOperatorContract } from '../testing/operator-contract.js';
import { LossError } from './errors.js';
import { hessianOperator, trainableParams } from './hvp.js';
import { endsInSoftmax, modelLogits } from './logits.js';
import {
  binaryCrossEntropy,
  LOSS_NAMES,
  meanSquaredError,
  outputLoss,
  softmaxCrossEntropy,
} from './losses.js';
import { BACKENDS, tf, useBackend } from './testing/backends.js';
import { finiteDifferenceHessian, float32Values, referenceMlp } from './testing/float64.js';
import { gaussianData, oneHotLabels, setSeededWeights } from './testing/models.js';

const TOLERANCE = arithmeticTolerance.float32;
const N = 5;
const C = 4;

/** Float64 per-sample losses, averaged (the reference of the loss values). */
function referenceValue(name: string, z: Float64Array, y: Float64Array): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    const zs = z.subarray(n * C, (n + 1) * C);
    const ys = y.subarray(n * C, (n + 1) * C);
    if (name === 'softmaxCrossEntropy') {
      const m = Math.max(...zs);
      const lse = m + Math.log(zs.reduce((s, v) => s + Math.exp(v - m), 0));
      total += ys.reduce((s, v, c) => s + v * (lse - zs[c]), 0);
    } else if (name === 'binaryCrossEntropy') {
      total +=
        zs.reduce(
          (s, v, c) => s + (Math.log1p(Math.exp(-Math.abs(v))) + Math.max(v, 0) - ys[c] * v),
          0,
        ) / C;
    } else {
      total += zs.reduce((s, v, c) => s + (v - ys[c]) ** 2, 0) / C;
    }
  }
  return total / N;
}

describe.each(BACKENDS)('losses on %s', (backend) => {
  const z = gaussianData(71, N, C, 3);
  const targets = {
    softmaxCrossEntropy: oneHotLabels(N, C).dense,
    binaryCrossEntropy: gaussianData(72, N, C).map((v) => (v > 0 ? 1 : 0)),
    meanSquaredError: gaussianData(73, N, C),
  };

  it.each(LOSS_NAMES)('%s: value matches float64', async (name) => {
    await useBackend(backend);
    const loss = outputLoss(name);
    const value = tf.tidy(
      () =>
        loss
          .value(
            tf,
            tf.tensor2d(Float32Array.from(z), [N, C]),
            tf.tensor2d(Float32Array.from(targets[name]), [N, C]),
          )
          .dataSync()[0],
    );
    const expected = referenceValue(name, z, targets[name]);
    expect(Math.abs(value - expected)).toBeLessThan(TOLERANCE * Math.abs(expected));
  });

  it.each(LOSS_NAMES)('%s: analytic output Hessian equals its autodiff Hessian', async (name) => {
    await useBackend(backend);
    const loss = outputLoss(name);
    const zt = tf.tensor2d(Float32Array.from(z), [N, C]);
    const yt = tf.tensor2d(Float32Array.from(targets[name]), [N, C]);
    const { operator } = hessianOperator({
      tf,
      params: [{ name: 'z', tensor: zt }],
      loss: ([logits]) => loss.value(tf, logits, yt),
    });
    // The analytic product, assembled column by column in float64 from float32 products.
    const dim = N * C;
    const analytic = new Float64Array(dim * dim);
    for (let j = 0; j < dim; j++) {
      const u = new Float32Array(dim);
      u[j] = 1;
      const column = tf.tidy(() =>
        loss.hessianProduct(tf, zt, yt, tf.tensor2d(u, [N, C])).dataSync(),
      );
      for (let i = 0; i < dim; i++) analytic[i * dim + j] = column[i];
    }
    const worst = await checkOperatorContract(operator, analytic, { tolerance: TOLERANCE });
    console.info(
      `[${backend}] ${name}: autodiff vs analytic output Hessian ${worst.toExponential(2)}`,
    );
    tf.dispose([zt, yt]);
  });

  // Fitted outputs: p_r = 1 − e^{−margin} or σ(z) ≈ 1, where 1 − p is below float32's
  // resolution; the products must keep the relative accuracy of their tiny results.
  it.each(['softmaxCrossEntropy', 'binaryCrossEntropy'] as const)(
    '%s: output Hessian of saturated outputs (margins 8–30) matches float64',
    async (name) => {
      await useBackend(backend);
      const rng = createRandom(76);
      const margins = Float64Array.from({ length: N * C }, () => 8 + 22 * rng.uniform());
      // Softmax: the sample's class (n mod C) leads every other logit by its margin.
      const zs = float32Values(
        margins.map((m, i) =>
          name === 'binaryCrossEntropy' ? m : i % C === Math.floor(i / C) % C ? 0 : -m,
        ),
      );
      const u = gaussianData(77, N, C);
      const product = tf.tidy(() =>
        outputLoss(name)
          .hessianProduct(
            tf,
            tf.tensor2d(Float32Array.from(zs), [N, C]),
            tf.tensor2d(Float32Array.from(targets[name]), [N, C]),
            tf.tensor2d(Float32Array.from(u), [N, C]),
          )
          .dataSync(),
      );
      // float64, without cancellation: p_k Σ_j p_j (u_k − u_j); σ(z)σ(−z). Checked entry by
      // entry, relative to the sum of the magnitudes of its terms, p_k Σ_j p_j |u_k − u_j| (what
      // float32 rounding of those terms scales with): a norm-wise error would be blind to the
      // entries of large margins, whose products are e^{−margin} smaller.
      const expected = new Float64Array(N * C);
      const scale = new Float64Array(N * C);
      for (let n = 0; n < N; n++) {
        const row = zs.subarray(n * C, (n + 1) * C);
        const top = Math.max(...row);
        const e = row.map((v) => Math.exp(v - top));
        const p = e.map((v) => v / e.reduce((a, b) => a + b, 0));
        for (let k = 0; k < C; k++) {
          const i = n * C + k;
          if (name === 'binaryCrossEntropy') {
            expected[i] = u[i] / (1 + Math.exp(-zs[i])) / (1 + Math.exp(zs[i])) / (N * C);
            scale[i] = Math.abs(expected[i]);
            continue;
          }
          let sum = 0;
          let magnitude = 0;
          for (let j = 0; j < C; j++) {
            sum += p[j] * (u[i] - u[n * C + j]);
            magnitude += p[j] * Math.abs(u[i] - u[n * C + j]);
          }
          expected[i] = (p[k] * sum) / N;
          scale[i] = (p[k] * magnitude) / N;
        }
      }
      let error = 0;
      for (let i = 0; i < N * C; i++) {
        if (scale[i] > 0) error = Math.max(error, Math.abs(product[i] - expected[i]) / scale[i]);
      }
      console.info(
        `[${backend}] ${name}: saturated output Hessian vs float64 ${error.toExponential(2)}`,
      );
      expect(error).toBeLessThan(TOLERANCE);
    },
  );

  it('sparse and one-hot labels give the same cross-entropy', async () => {
    await useBackend(backend);
    const [dense, sparse] = tf.tidy(() => {
      const logits = tf.tensor2d(Float32Array.from(z), [N, C]);
      const labels = oneHotLabels(N, C);
      return [
        softmaxCrossEntropy(
          tf,
          logits,
          tf.tensor2d(Float32Array.from(labels.dense), [N, C]),
        ).dataSync()[0],
        softmaxCrossEntropy(tf, logits, tf.tensor1d(labels.ids, 'int32')).dataSync()[0],
      ];
    });
    expect(sparse).toBe(dense);
  });

  it('rejects labels that do not fit', async () => {
    await useBackend(backend);
    tf.tidy(() => {
      const logits = tf.zeros([N, C]);
      expect(() => softmaxCrossEntropy(tf, logits, tf.zeros([N, C + 1]))).toThrow(LossError);
      expect(() => softmaxCrossEntropy(tf, logits, tf.tensor1d([0, 1, 2, 3, C], 'int32'))).toThrow(
        /class ids in \[0, 4\), got 4/,
      );
      expect(() =>
        softmaxCrossEntropy(tf, logits, tf.tensor1d([0, 1, 2, 3, 0], 'float32')),
      ).toThrow(LossError);
      expect(() => binaryCrossEntropy(tf, logits, tf.zeros([N]))).toThrow(LossError);
      expect(() => meanSquaredError(tf, logits, tf.zeros([C, N]))).toThrow(LossError);
    });
  });

  it.each(['dense', 'activation', 'softmaxLayer'] as const)(
    'modelLogits analyses a softmax model (%s) exactly and restores it',
    async (kind) => {
      await useBackend(backend);
      const D = 3;
      const head =
        kind === 'dense'
          ? [tf.layers.dense({ units: C, activation: 'softmax' })]
          : [
              tf.layers.dense({ units: C }),
              kind === 'activation'
                ? tf.layers.activation({ activation: 'softmax' })
                : tf.layers.softmax({ axis: -1 }),
            ];
      const model = tf.sequential({
        layers: [tf.layers.dense({ inputShape: [D], units: 4, activation: 'tanh' }), ...head],
      });
      model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
      const theta = setSeededWeights(tf, model, 74, 1.5);
      const x = gaussianData(75, N, D);
      const labels = oneHotLabels(N, C).dense;
      const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
      const ys = tf.tensor2d(Float32Array.from(labels), [N, C]);
      expect(endsInSoftmax(model)).toBe(true);
      const ours = tf.tidy(() => softmaxCrossEntropy(tf, modelLogits(model, xs), ys).dataSync()[0]);
      const keras = tf.tidy(() => (model.evaluate(xs, ys) as Tensor).dataSync()[0]);
      expect(Math.abs(ours - keras)).toBeLessThan(1e-5 * keras);
      // The softmax is back in place.
      const probabilities = tf.tidy(() => tf.sum(model.predict(xs) as Tensor, -1).dataSync());
      for (const p of probabilities) expect(p).toBeCloseTo(1, 5);

      const reference = finiteDifferenceHessian(
        referenceMlp(
          [
            { nIn: D, nOut: 4, activation: 'tanh' },
            { nIn: 4, nOut: C, activation: 'linear' },
          ],
          x,
          labels,
          N,
          'softmaxCrossEntropy',
        ),
        theta,
      );
      const { operator } = hessianOperator({
        tf,
        params: trainableParams(model),
        loss: () => softmaxCrossEntropy(tf, modelLogits(model, xs), ys),
      });
      await checkOperatorContract(operator, reference, { tolerance: TOLERANCE });
      model.dispose();
      tf.dispose([xs, ys]);
    },
  );
});
