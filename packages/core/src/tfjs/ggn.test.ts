import type { Tensor } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { denseMatrix } from '../dense.js';
import { symmetricEigen } from '../symmetric-eigen.js';
import { arithmeticTolerance, checkOperatorContract } from '../testing/operator-contract.js';
import { gaussNewtonOperator } from './ggn.js';
import { hessianOperator, trainableParams } from './hvp.js';
import { type LossName, outputLoss } from './losses.js';
import { modelCurvature } from './model.js';
import { BACKENDS, tf, useBackend } from './testing/backends.js';
import { linearModelHessian, type ReferenceLoss } from './testing/float64.js';
import { gaussNewtonMatrix, lossHessian, referenceNetwork } from './testing/forward64.js';
import { gaussianData, oneHotLabels, relativeError, setSeededWeights } from './testing/models.js';

const TOLERANCE = arithmeticTolerance.float32;
const N = 6;
const D = 3;
const HIDDEN = 4;
const C = 3;

const LOSSES: [LossName, ReferenceLoss][] = [
  ['softmaxCrossEntropy', 'softmaxCrossEntropy'],
  ['meanSquaredError', 'mse'],
  ['binaryCrossEntropy', 'binaryCrossEntropy'],
];

function targetsFor(loss: ReferenceLoss, seed: number): Float64Array {
  if (loss === 'mse') return gaussianData(seed, N, C);
  if (loss === 'binaryCrossEntropy') return gaussianData(seed, N, C).map((v) => (v > 0 ? 1 : 0));
  return oneHotLabels(N, C).dense;
}

describe.each(BACKENDS)('gaussNewtonOperator on %s', (backend) => {
  it('equals the Hessian of a linear model with MSE (E = 0) and its closed form', async () => {
    await useBackend(backend);
    const x = gaussianData(201, N, D);
    const theta = gaussianData(202, D + 1, C);
    const w = tf.tensor2d(Float32Array.from(theta.subarray(0, D * C)), [D, C]);
    const b = tf.tensor1d(Float32Array.from(theta.subarray(D * C)));
    const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(gaussianData(203, N, C)), [N, C]);
    const params = [
      { name: 'w', tensor: w },
      { name: 'b', tensor: b },
    ];
    const output = ([wt, bt]: readonly Tensor[]) => tf.add(tf.matMul(xs, wt), bt);
    const ggn = gaussNewtonOperator({ tf, params, output, targets: ys, loss: 'meanSquaredError' });
    const hessian = hessianOperator({
      tf,
      params,
      loss: (p) => outputLoss('meanSquaredError').value(tf, output(p), ys),
    });
    const g = await denseMatrix(ggn.operator);
    const h = await denseMatrix(hessian.operator);
    const gap = relativeError(g, h);
    const worst = await checkOperatorContract(ggn.operator, linearModelHessian(x, N, D, C, 'mse'), {
      tolerance: TOLERANCE,
    });
    console.info(
      `[${backend}] linear MSE: GGN vs H ${gap.toExponential(2)}, vs closed form ${worst.toExponential(2)}`,
    );
    expect(gap).toBeLessThan(TOLERANCE);
    tf.dispose([w, b, xs, ys]);
  });

  it.each(LOSSES)(
    'is positive semi-definite and equals the float64 JᵀAJ of a tanh MLP (%s)',
    async (lossName, refLoss) => {
      await useBackend(backend);
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [D], units: HIDDEN, activation: 'tanh' }),
          tf.layers.dense({ units: C }),
        ],
      });
      const theta = setSeededWeights(tf, model, 211, 1.5);
      const x = gaussianData(212, N, D);
      const targets = targetsFor(refLoss, 213);
      const net = referenceNetwork(
        [
          { type: 'dense', units: HIDDEN, activation: 'tanh' },
          { type: 'dense', units: C, activation: 'linear' },
        ],
        D,
        x,
        N,
      );
      const reference = gaussNewtonMatrix(net, targets, refLoss, theta);
      const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
      const ys = tf.tensor2d(Float32Array.from(targets), [N, C]);
      const { operator } = gaussNewtonOperator({
        tf,
        params: trainableParams(model),
        output: () => model.apply(xs) as Tensor,
        targets: ys,
        loss: lossName,
      });
      const worst = await checkOperatorContract(operator, reference, { tolerance: TOLERANCE });
      const g = await denseMatrix(operator);
      const p = theta.length;
      const symmetric = g.map((v, k) => 0.5 * (v + g[(k % p) * p + Math.floor(k / p)]));
      const { values } = symmetricEigen(symmetric, p);
      const scale = Math.max(...Array.from(values, Math.abs));
      // The Hessian differs (E ≠ 0 for a tanh hidden layer), so the comparison is meaningful.
      const hessianGap = relativeError(lossHessian(net, targets, refLoss, theta), reference);
      console.info(
        `[${backend}] GGN ${lossName}: worst ${worst.toExponential(2)}, λmin/λmax ${(values[0] / scale).toExponential(2)}, ‖H − G‖/‖G‖ ${hessianGap.toExponential(2)}`,
      );
      expect(values[0]).toBeGreaterThanOrEqual(-TOLERANCE * scale);
      expect(hessianGap).toBeGreaterThan(1e-2);
      tf.dispose([xs, ys]);
      model.dispose();
    },
  );

  it("modelCurvature kind 'ggn' takes the softmax off and matches the float64 JᵀAJ of the logits", async () => {
    await useBackend(backend);
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [D], units: HIDDEN, activation: 'tanh' }),
        tf.layers.dense({ units: C, activation: 'softmax' }),
      ],
    });
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const theta = setSeededWeights(tf, model, 221, 1.5);
    const x = gaussianData(222, N, D);
    const labels = oneHotLabels(N, C);
    const net = referenceNetwork(
      [
        { type: 'dense', units: HIDDEN, activation: 'tanh' },
        { type: 'dense', units: C, activation: 'linear' },
      ],
      D,
      x,
      N,
    );
    const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(labels.dense), [N, C]);
    const { operator } = modelCurvature(model, { tf, x: xs, y: ys, kind: 'ggn', batchSize: 4 });
    const worst = await checkOperatorContract(
      operator,
      gaussNewtonMatrix(net, labels.dense, 'softmaxCrossEntropy', theta),
      { tolerance: TOLERANCE },
    );
    console.info(`[${backend}] modelCurvature ggn (chunks 4 + 2): worst ${worst.toExponential(2)}`);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
