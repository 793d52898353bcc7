import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { denseMatrix } from '../dense.js';
import { arithmeticTolerance, checkOperatorContract } from '../testing/operator-contract.js';
import { gradients, hessianOperator, hessianVectorProduct, trainableParams } from './hvp.js';
import { binaryCrossEntropy, meanSquaredError, softmaxCrossEntropy } from './losses.js';
import { BACKENDS, useBackend } from './testing/backends.js';
import {
  finiteDifferenceHessian,
  type LayerActivation,
  linearModelHessian,
  type ReferenceLoss,
  referenceMlp,
} from './testing/float64.js';
import { gaussianData, oneHotLabels, relativeError, setSeededWeights } from './testing/models.js';

// float32 model arithmetic against a float64 reference (tolerances come from the arithmetic): a few hundred ulps
// of float32, relative to ‖H‖_F‖v‖ (the contract's measure).
const TOLERANCE = arithmeticTolerance.float32;

const N = 6;
const D = 3;
const C = 3;

describe.each(BACKENDS)('hessianOperator on %s', (backend) => {
  it('matches the closed-form Hessian of a linear model with MSE: (2/C) I ⊗ XᵀX/N', async () => {
    const tf = await useBackend(backend);
    const x = gaussianData(1, N, D);
    const theta = gaussianData(2, D + 1, C);
    const w = tf.variable(tf.tensor2d(Float32Array.from(theta.subarray(0, D * C)), [D, C]));
    const b = tf.variable(tf.tensor1d(Float32Array.from(theta.subarray(D * C))));
    const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(gaussianData(3, N, C)), [N, C]);
    const { operator, layout } = hessianOperator({
      tf,
      params: [
        { name: 'kernel', tensor: w },
        { name: 'bias', tensor: b },
      ],
      loss: () => meanSquaredError(tf, tf.add(tf.matMul(xs, w), b), ys),
    });
    expect(layout.blocks.map((blk) => [blk.name, blk.size])).toEqual([
      ['kernel', D * C],
      ['bias', C],
    ]);
    const worst = await checkOperatorContract(operator, linearModelHessian(x, N, D, C, 'mse'), {
      tolerance: TOLERANCE,
    });
    console.info(`[${backend}] linear+MSE worst relative product error ${worst.toExponential(2)}`);
    tf.dispose([w, b, xs, ys]);
  });

  it.each([
    ['one-hot', false],
    ['sparse', true],
  ])(
    'matches the closed-form Hessian of a linear model with softmax CE (%s labels)',
    async (_label, sparse) => {
      const tf = await useBackend(backend);
      const x = gaussianData(4, N, D);
      const theta = gaussianData(5, D + 1, C);
      const labels = oneHotLabels(N, C);
      const w = tf.tensor2d(Float32Array.from(theta.subarray(0, D * C)), [D, C]);
      const b = tf.tensor1d(Float32Array.from(theta.subarray(D * C)));
      const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
      const ys = sparse
        ? tf.tensor1d(labels.ids, 'int32')
        : tf.tensor2d(Float32Array.from(labels.dense), [N, C]);
      const { operator } = hessianOperator({
        tf,
        params: [
          { name: 'w', tensor: w },
          { name: 'b', tensor: b },
        ],
        loss: ([wt, bt]) => softmaxCrossEntropy(tf, tf.add(tf.matMul(xs, wt), bt), ys),
      });
      const reference = linearModelHessian(x, N, D, C, 'softmaxCrossEntropy', theta);
      const worst = await checkOperatorContract(operator, reference, { tolerance: TOLERANCE });
      console.info(`[${backend}] linear+CE worst relative product error ${worst.toExponential(2)}`);
      tf.dispose([w, b, xs, ys]);
    },
  );

  const activations: LayerActivation[] = [
    'linear',
    'relu',
    'tanh',
    'sigmoid',
    'elu',
    'selu',
    'softplus',
    'softsign',
    'swish',
    'mish',
    'gelu_new',
  ];
  const losses: ReferenceLoss[] = ['softmaxCrossEntropy', 'mse', 'binaryCrossEntropy'];

  it.each(activations.flatMap((a) => losses.map((l) => [a, l] as const)))(
    'is exact for a Dense(%s) MLP with %s',
    async (activation, loss) => {
      const tf = await useBackend(backend);
      const hidden = 4;
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [D], units: hidden, activation }),
          tf.layers.dense({ units: C }),
        ],
      });
      const theta = setSeededWeights(tf, model, 11, 1.5);
      const x = gaussianData(12, N, D);
      const targets =
        loss === 'mse'
          ? gaussianData(13, N, C)
          : loss === 'softmaxCrossEntropy'
            ? oneHotLabels(N, C).dense
            : gaussianData(14, N, C).map((v) => (v > 0 ? 1 : 0));
      const reference = finiteDifferenceHessian(
        referenceMlp(
          [
            { nIn: D, nOut: hidden, activation },
            { nIn: hidden, nOut: C, activation: 'linear' },
          ],
          x,
          targets,
          N,
          loss,
        ),
        theta,
      );
      const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
      const ys = tf.tensor2d(Float32Array.from(targets), [N, C]);
      const lossFn = { mse: meanSquaredError, softmaxCrossEntropy, binaryCrossEntropy }[loss];
      const { operator } = hessianOperator({
        tf,
        params: trainableParams(model),
        loss: () => lossFn(tf, model.apply(xs) as Tensor, ys),
      });
      const worst = await checkOperatorContract(operator, reference, { tolerance: TOLERANCE });
      console.info(`[${backend}] ${activation}/${loss} worst ${worst.toExponential(2)}`);
      tf.dispose([xs, ys]);
      model.dispose();
    },
  );

  it('is exact for a two-hidden-layer tanh MLP and differs from tfjs out of the box', async () => {
    const tf = await useBackend(backend);
    const model: LayersModel = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [D], units: 4, activation: 'tanh' }),
        tf.layers.dense({ units: 4, activation: 'tanh' }),
        tf.layers.dense({ units: C }),
      ],
    });
    const theta = setSeededWeights(tf, model, 21, 1.5);
    const x = gaussianData(22, N, D);
    const targets = gaussianData(23, N, C);
    const reference = finiteDifferenceHessian(
      referenceMlp(
        [
          { nIn: D, nOut: 4, activation: 'tanh' },
          { nIn: 4, nOut: 4, activation: 'tanh' },
          { nIn: 4, nOut: C, activation: 'linear' },
        ],
        x,
        targets,
        N,
        'mse',
      ),
      theta,
    );
    const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(targets), [N, C]);
    const named = trainableParams(model);
    const params = named.map((p) => p.tensor);
    const loss = () => meanSquaredError(tf, model.apply(xs) as Tensor, ys);
    const { operator } = hessianOperator({ tf, params: named, loss });
    const assembled = await denseMatrix(operator);
    const exactError = relativeError(assembled, reference);
    expect(exactError).toBeLessThan(TOLERANCE);

    // The same double backprop without withSecondOrder: tfjs's saved-output gradients.
    const plain = await denseMatrix({
      dim: operator.dim,
      async matvec(v) {
        const out = tf.tidy(() => {
          let offset = 0;
          const vs = params.map((p) => {
            const part = tf.tensor(Float32Array.from(v.subarray(offset, offset + p.size)), p.shape);
            offset += p.size;
            return part;
          });
          return tf.concat(hessianVectorProduct(tf, params, loss, vs).map((t) => t.reshape([-1])));
        });
        const data = Float64Array.from(await out.data());
        out.dispose();
        return data;
      },
    });
    const plainError = relativeError(plain, reference);
    console.info(
      `[${backend}] tanh MLP: exact ${exactError.toExponential(2)}, tfjs out of the box ${plainError.toExponential(2)}`,
    );
    expect(plainError).toBeGreaterThan(0.1);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('leaks no tensors over 100 products and leaves the weights unchanged', async () => {
    const tf = await useBackend(backend);
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [D], units: 5, activation: 'tanh' }),
        tf.layers.dense({ units: C }),
      ],
    });
    const theta = setSeededWeights(tf, model, 31);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(32, N, D)), [N, D]);
    const ys = tf.tensor1d(oneHotLabels(N, C).ids, 'int32');
    const { operator } = hessianOperator({
      tf,
      params: trainableParams(model),
      loss: () => softmaxCrossEntropy(tf, model.apply(xs) as Tensor, ys),
    });
    const v = new Float64Array(operator.dim).fill(0.5);
    await operator.matvec(v);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) await operator.matvec(v);
    expect(tf.memory().numTensors).toBe(before);
    const after = Float64Array.from(
      model.trainableWeights.flatMap((w) => Array.from(w.read().dataSync())),
    );
    expect(after).toEqual(theta);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('gradients() gives zeros for a parameter the loss does not use', async () => {
    const tf = await useBackend(backend);
    const a = tf.tensor1d([1, 2]);
    const unused = tf.tensor1d([3]);
    const [ga, gu] = gradients(tf, () => tf.sum(tf.square(a)), [a, unused]);
    expect(Array.from(ga.dataSync())).toEqual([2, 4]);
    expect(Array.from(gu.dataSync())).toEqual([0]);
    tf.dispose([a, unused, ga, gu]);
  });
});
