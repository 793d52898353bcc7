import type { LayersModel } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { denseMatrix } from '../dense.js';
import { arithmeticTolerance, checkOperatorContract } from '../testing/operator-contract.js';
import { modelCurvature } from './model.js';
import { BACKENDS, tf, useBackend } from './testing/backends.js';
import type { ReferenceLoss } from './testing/float64.js';
import { type ForwardLayer, lossHessian, referenceNetwork } from './testing/forward64.js';
import { gaussianData, oneHotLabels, setSeededWeights } from './testing/models.js';

const TOLERANCE = arithmeticTolerance.float32;
const N = 6;
const D = 3;
const C = 3;
const MOVING_MEAN = [0.7, -0.4, 1.1, 0.2];
const MOVING_VARIANCE = [2.5, 0.6, 1.7, 0.9];

interface LayerCase {
  readonly build: () => LayersModel;
  readonly reference: readonly ForwardLayer[];
  /** Width of one input row; 'ids' inputs are integer token ids in [0, 5). */
  readonly input: number;
  readonly ids?: boolean;
  readonly loss: ReferenceLoss;
}

const CASES: Record<string, LayerCase> = {
  'Reshape (+ Flatten)': {
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [D], units: 6, activation: 'tanh' }),
          tf.layers.reshape({ targetShape: [2, 3] }),
          tf.layers.flatten(),
          tf.layers.dense({ units: C }),
        ],
      }),
    reference: [
      { type: 'dense', units: 6, activation: 'tanh' },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    input: D,
    loss: 'softmaxCrossEntropy',
  },
  'BatchNormalization (inference: moving statistics) + Activation': {
    build: () => {
      const model = tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [D], units: 4 }),
          tf.layers.batchNormalization(),
          tf.layers.activation({ activation: 'tanh' }),
          tf.layers.dense({ units: C }),
        ],
      });
      const [mean, variance] = model.layers[1].nonTrainableWeights;
      mean.write(tf.tensor1d(MOVING_MEAN));
      variance.write(tf.tensor1d(MOVING_VARIANCE));
      return model;
    },
    reference: [
      { type: 'dense', units: 4, activation: 'linear' },
      { type: 'batchNorm', mean: MOVING_MEAN, variance: MOVING_VARIANCE, epsilon: 1e-3 },
      { type: 'activation', activation: 'tanh' },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    input: D,
    loss: 'softmaxCrossEntropy',
  },
  LayerNormalization: {
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [D], units: 4 }),
          tf.layers.layerNormalization(),
          tf.layers.dense({ units: C }),
        ],
      }),
    reference: [
      { type: 'dense', units: 4, activation: 'linear' },
      { type: 'layerNorm', epsilon: 1e-3 },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    input: D,
    loss: 'mse',
  },
  'Embedding (+ Flatten)': {
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.embedding({ inputDim: 5, outputDim: 2, inputLength: 3 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, activation: 'tanh' }),
          tf.layers.dense({ units: C }),
        ],
      }),
    reference: [
      { type: 'embedding', vocab: 5, dim: 2 },
      { type: 'dense', units: 3, activation: 'tanh' },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    input: 3,
    ids: true,
    loss: 'softmaxCrossEntropy',
  },
  LeakyReLU: {
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [D], units: 4 }),
          tf.layers.leakyReLU(),
          tf.layers.dense({ units: C }),
        ],
      }),
    reference: [
      { type: 'dense', units: 4, activation: 'linear' },
      { type: 'activation', activation: 'leakyRelu' },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    input: D,
    loss: 'softmaxCrossEntropy',
  },
  'Dense(gelu)': {
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [D], units: 4, activation: 'gelu' }),
          tf.layers.dense({ units: C }),
        ],
      }),
    reference: [
      { type: 'dense', units: 4, activation: 'gelu' },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    input: D,
    loss: 'softmaxCrossEntropy',
  },
};

function inputs(c: LayerCase, seed: number): Float64Array {
  const x = gaussianData(seed, N, c.input);
  return c.ids ? x.map((v, i) => (Math.floor(Math.abs(v) * 3) + i) % 5) : x;
}

describe.each(BACKENDS)('modelCurvature layers on %s', (backend) => {
  it.each(Object.keys(CASES))('is exact for %s', async (name) => {
    await useBackend(backend);
    const c = CASES[name];
    const model = c.build();
    const theta = setSeededWeights(tf, model, 601, 1.5);
    const x = inputs(c, 602);
    const targets = c.loss === 'mse' ? gaussianData(603, N, C) : oneHotLabels(N, C).dense;
    const reference = lossHessian(
      referenceNetwork(c.reference, c.input, x, N),
      targets,
      c.loss,
      theta,
    );
    const xs = c.ids
      ? tf.tensor2d(Int32Array.from(x), [N, c.input], 'int32')
      : tf.tensor2d(Float32Array.from(x), [N, c.input]);
    const ys = tf.tensor2d(Float32Array.from(targets), [N, C]);
    const { operator } = modelCurvature(model, {
      tf,
      x: xs,
      y: ys,
      loss: c.loss === 'mse' ? 'meanSquaredError' : 'softmaxCrossEntropy',
    });
    const worst = await checkOperatorContract(operator, reference, { tolerance: TOLERANCE });
    console.info(`[${backend}] ${name}: worst ${worst.toExponential(2)}`);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('Dropout is the identity: the Hessian equals the same model without it, bit for bit', async () => {
    await useBackend(backend);
    const layers = (dropout: boolean) =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [D], units: 4, activation: 'tanh' }),
          ...(dropout ? [tf.layers.dropout({ rate: 0.5 })] : []),
          tf.layers.dense({ units: C }),
        ],
      });
    const withDropout = layers(true);
    const without = layers(false);
    setSeededWeights(tf, withDropout, 611, 1.5);
    setSeededWeights(tf, without, 611, 1.5);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(612, N, D)), [N, D]);
    const ys = tf.tensor1d(oneHotLabels(N, C).ids, 'int32');
    const options = { tf, x: xs, y: ys, loss: 'softmaxCrossEntropy' } as const;
    const a = await denseMatrix(modelCurvature(withDropout, options).operator);
    const b = await denseMatrix(modelCurvature(without, options).operator);
    expect(a).toEqual(b);
    tf.dispose([xs, ys]);
    withDropout.dispose();
    without.dispose();
  });
});
