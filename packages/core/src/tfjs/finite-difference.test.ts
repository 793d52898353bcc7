import type { Tensor } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { checkOperatorContract } from '../testing/operator-contract.js';
import { finiteDifferenceOperator } from './finite-difference.js';
import { trainableParams } from './hvp.js';
import { softmaxCrossEntropy } from './losses.js';
import { SELF_CHECK_TOLERANCE } from './self-check.js';
import { BACKENDS, tf, useBackend } from './testing/backends.js';
import { finiteDifferenceHessian, referenceMlp } from './testing/float64.js';
import { gaussianData, oneHotLabels, setSeededWeights } from './testing/models.js';

const N = 6;
const D = 3;
const HIDDEN = 4;
const C = 3;

function bits(model: { trainableWeights: { read(): Tensor }[] }): number[] {
  return model.trainableWeights.flatMap((w) =>
    Array.from(new Uint32Array(Float32Array.from(w.read().dataSync()).buffer)),
  );
}

function setup(seed: number) {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [D], units: HIDDEN, activation: 'tanh' }),
      tf.layers.dense({ units: C }),
    ],
  });
  const theta = setSeededWeights(tf, model, seed, 1.5);
  const x = gaussianData(seed + 1, N, D);
  const labels = oneHotLabels(N, C);
  const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
  const ys = tf.tensor2d(Float32Array.from(labels.dense), [N, C]);
  const reference = finiteDifferenceHessian(
    referenceMlp(
      [
        { nIn: D, nOut: HIDDEN, activation: 'tanh' },
        { nIn: HIDDEN, nOut: C, activation: 'linear' },
      ],
      x,
      labels.dense,
      N,
      'softmaxCrossEntropy',
    ),
    theta,
  );
  return { model, xs, ys, reference };
}

describe.each(BACKENDS)('finiteDifferenceOperator on %s', (backend) => {
  it('approximates the exact Hessian to O(ε^{2/3}) and restores the weights bit for bit', async () => {
    await useBackend(backend);
    const { model, xs, ys, reference } = setup(401);
    const before = bits(model);
    const { operator } = finiteDifferenceOperator({
      tf,
      params: trainableParams(model),
      loss: () => softmaxCrossEntropy(tf, model.apply(xs) as Tensor, ys),
    });
    const tensors = tf.memory().numTensors;
    const worst = await checkOperatorContract(operator, reference, {
      tolerance: SELF_CHECK_TOLERANCE,
    });
    console.info(
      `[${backend}] finite-difference HVP worst ${worst.toExponential(2)} (ε^{2/3} = ${(2 ** (-46 / 3)).toExponential(2)})`,
    );
    expect(tf.memory().numTensors).toBe(tensors);
    expect(bits(model)).toEqual(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('restores the weights bit for bit when the loss throws mid-product', async () => {
    await useBackend(backend);
    const { model, xs, ys } = setup(411);
    const before = bits(model);
    let calls = 0;
    const { operator } = finiteDifferenceOperator({
      tf,
      params: trainableParams(model),
      loss: () => {
        calls++;
        if (calls === 2) throw new Error('loss failed at θ − hv');
        return softmaxCrossEntropy(tf, model.apply(xs) as Tensor, ys);
      },
    });
    const tensors = tf.memory().numTensors;
    await expect(operator.matvec(new Float64Array(operator.dim).fill(1))).rejects.toThrow(
      /loss failed/,
    );
    expect(calls).toBe(2);
    expect(bits(model)).toEqual(before);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('differentiates plain tensors through the loss argument', async () => {
    await useBackend(backend);
    const w = tf.tensor1d([0.5, -1, 2]);
    const { operator } = finiteDifferenceOperator({
      tf,
      params: [{ name: 'w', tensor: w }],
      loss: ([t]) => tf.sum(tf.pow(t, 4)) as tf.Scalar,
    });
    // H = diag(12 w²) = diag(3, 12, 48).
    const hv = await operator.matvec(Float64Array.of(1, 1, 1));
    const expected = [3, 12, 48];
    for (const [i, e] of expected.entries()) {
      expect(Math.abs(hv[i] - e) / 48).toBeLessThan(SELF_CHECK_TOLERANCE);
    }
    w.dispose();
  });
});
