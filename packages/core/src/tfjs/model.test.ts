import type { LayersModel } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { denseMatrix } from '../dense.js';
import { arithmeticTolerance, checkOperatorContract } from '../testing/operator-contract.js';
import { LossError, UnsupportedLayerError } from './errors.js';
import { type KerasLossName, modelCurvature } from './model.js';
import { selfCheckResult } from './self-check.js';
import { BACKENDS, tf, useBackend } from './testing/backends.js';
import { finiteDifferenceHessian, type ReferenceLoss, referenceMlp } from './testing/float64.js';
import { gaussianData, oneHotLabels, relativeError, setSeededWeights } from './testing/models.js';

const TOLERANCE = arithmeticTolerance.float32;
const N = 8;
const D = 3;
const HIDDEN = 4;
const C = 3;

function mlp(final?: 'softmax' | 'sigmoid'): LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [D], units: HIDDEN, activation: 'tanh' }),
      tf.layers.dense({ units: C, ...(final ? { activation: final } : {}) }),
    ],
  });
}

function reference(
  theta: Float64Array,
  x: Float64Array,
  y: Float64Array,
  loss: ReferenceLoss,
  n = N,
) {
  return finiteDifferenceHessian(
    referenceMlp(
      [
        { nIn: D, nOut: HIDDEN, activation: 'tanh' },
        { nIn: HIDDEN, nOut: C, activation: 'linear' },
      ],
      x,
      y,
      n,
      loss,
    ),
    theta,
  );
}

const COMPILED: [KerasLossName, 'softmax' | 'sigmoid' | 'none', ReferenceLoss][] = [
  ['categoricalCrossentropy', 'softmax', 'softmaxCrossEntropy'],
  ['sparseCategoricalCrossentropy', 'softmax', 'softmaxCrossEntropy'],
  ['binaryCrossentropy', 'sigmoid', 'binaryCrossEntropy'],
  ['meanSquaredError', 'none', 'mse'],
];

describe.each(BACKENDS)('modelCurvature on %s', (backend) => {
  it.each(COMPILED)(
    "uses the compiled loss '%s' (final activation %s taken off) and matches float64",
    async (lossName, final, refLoss) => {
      await useBackend(backend);
      const model = mlp(final === 'none' ? undefined : final);
      model.compile({ optimizer: 'sgd', loss: lossName });
      const theta = setSeededWeights(tf, model, 101, 1.5);
      const x = gaussianData(102, N, D);
      const labels = oneHotLabels(N, C);
      const targets =
        refLoss === 'mse'
          ? gaussianData(103, N, C)
          : refLoss === 'binaryCrossEntropy'
            ? gaussianData(104, N, C).map((v) => (v > 0 ? 1 : 0))
            : labels.dense;
      const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
      const ys =
        lossName === 'sparseCategoricalCrossentropy'
          ? tf.tensor1d(Float32Array.from(labels.ids))
          : tf.tensor2d(Float32Array.from(targets), [N, C]);
      const { operator, layout } = modelCurvature(model, { tf, x: xs, y: ys });
      expect(layout.blocks.map((b) => b.name)).toEqual(model.trainableWeights.map((w) => w.name));
      const worst = await checkOperatorContract(operator, reference(theta, x, targets, refLoss), {
        tolerance: TOLERANCE,
      });
      console.info(`[${backend}] modelCurvature ${lossName}: worst ${worst.toExponential(2)}`);
      tf.dispose([xs, ys]);
      model.dispose();
    },
  );

  it('sums chunk products with weights n_k/N: chunked equals unchunked to float32 rounding', async () => {
    await useBackend(backend);
    const n = 10;
    const model = mlp('softmax');
    const theta = setSeededWeights(tf, model, 111, 1.5);
    const x = gaussianData(112, n, D);
    const labels = oneHotLabels(n, C);
    const xs = tf.tensor2d(Float32Array.from(x), [n, D]);
    const ys = tf.tensor1d(labels.ids, 'int32');
    const options = { tf, x: xs, y: ys, loss: 'categoricalCrossentropy' } as const;
    const whole = await denseMatrix(modelCurvature(model, options).operator);
    const chunked = await denseMatrix(modelCurvature(model, { ...options, batchSize: 3 }).operator);
    const exact = reference(theta, x, labels.dense, 'softmaxCrossEntropy', n);
    const gap = relativeError(chunked, whole);
    console.info(
      `[${backend}] chunked vs unchunked ${gap.toExponential(2)}; vs float64 ${relativeError(chunked, exact).toExponential(2)}`,
    );
    expect(gap).toBeLessThan(TOLERANCE);
    expect(relativeError(chunked, exact)).toBeLessThan(TOLERANCE);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('self-checks each model once, at its first product (unless selfCheck: false)', async () => {
    await useBackend(backend);
    const model = mlp();
    setSeededWeights(tf, model, 141, 1.5);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(142, N, D)), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(gaussianData(143, N, C)), [N, C]);
    const options = { tf, x: xs, y: ys, loss: 'meanSquaredError' } as const;
    const v = new Float64Array(model.countParams()).fill(1);
    await modelCurvature(model, { ...options, selfCheck: false }).operator.matvec(v);
    expect(selfCheckResult(model)).toBeUndefined();
    const { operator } = modelCurvature(model, options);
    expect(selfCheckResult(model)).toBeUndefined();
    await operator.matvec(v);
    const first = selfCheckResult(model);
    const result = await first!;
    expect(result.checked).toBeGreaterThanOrEqual(1);
    expect(result.relativeError).toBeLessThanOrEqual(result.allowed);
    await modelCurvature(model, { ...options, kind: 'ggn' }).operator.matvec(v);
    expect(selfCheckResult(model)).toBe(first);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('supports functional models', async () => {
    await useBackend(backend);
    const input = tf.input({ shape: [D] });
    const hidden = tf.layers.dense({ units: HIDDEN, activation: 'tanh' }).apply(input);
    const output = tf.layers.dense({ units: C }).apply(hidden) as ReturnType<typeof tf.input>;
    const model = tf.model({ inputs: input, outputs: output });
    const theta = setSeededWeights(tf, model, 121, 1.5);
    const x = gaussianData(122, N, D);
    const targets = gaussianData(123, N, C);
    const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(targets), [N, C]);
    const { operator } = modelCurvature(model, { tf, x: xs, y: ys, loss: 'mean_squared_error' });
    const worst = await checkOperatorContract(operator, reference(theta, x, targets, 'mse'), {
      tolerance: TOLERANCE,
    });
    console.info(`[${backend}] functional model: worst ${worst.toExponential(2)}`);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('leaks no tensors over 50 + 50 chunked Hessian and GGN products and leaves the weights unchanged', async () => {
    await useBackend(backend);
    const model = mlp('softmax');
    const theta = setSeededWeights(tf, model, 131);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(132, N, D)), [N, D]);
    const ys = tf.tensor1d(oneHotLabels(N, C).ids, 'int32');
    const v = new Float64Array(theta.length).fill(0.5);
    for (const kind of ['hessian', 'ggn'] as const) {
      const { operator } = modelCurvature(model, {
        tf,
        x: xs,
        y: ys,
        loss: 'softmaxCrossEntropy',
        kind,
        layout: 'unit',
        batchSize: 3,
      });
      await operator.matvec(v);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 50; i++) await operator.matvec(v);
      expect(tf.memory().numTensors).toBe(before);
    }
    const after = Float64Array.from(
      model.trainableWeights.flatMap((w) => Array.from(w.read().dataSync())),
    );
    expect(after).toEqual(theta);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});

describe('modelCurvature: errors before any work', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('lists every unsupported layer with its class, activation and reason', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [D], units: 4, activation: 'hardSigmoid', name: 'hard' }),
        tf.layers.gaussianNoise({ stddev: 0.1, name: 'noise' }),
        tf.layers.dense({ units: 4, activation: 'softmax', name: 'early_softmax' }),
        tf.layers.batchNormalization({ center: false, name: 'no_offset' }),
        tf.layers.dense({ units: C, name: 'out' }),
      ],
    });
    const xs = tf.zeros([2, D]);
    const ys = tf.zeros([2, C]);
    const before = tf.memory().numTensors;
    let caught: unknown;
    try {
      modelCurvature(model, { tf, x: xs, y: ys, loss: 'meanSquaredError' });
    } catch (error) {
      caught = error;
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(caught).toBeInstanceOf(UnsupportedLayerError);
    const error = caught as UnsupportedLayerError;
    expect(error.layers).toEqual([
      'hard (Dense, hardSigmoid)',
      'noise (GaussianNoise)',
      'early_softmax (Dense, softmax)',
      'no_offset (BatchNormalization)',
    ]);
    expect(error.message).toMatch(/center or scale false/);
    expect(error.message).toMatch(/activation hardSigmoid is not supported/);
    expect(error.message).toMatch(/layer class GaussianNoise is not supported/);
    expect(error.message).toMatch(/softmax is supported only as the final layer/);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('rejects a missing loss, and a Keras cross-entropy on a model without its final activation', () => {
    const model = mlp();
    const xs = tf.zeros([2, D]);
    const ys = tf.zeros([2, C]);
    expect(() => modelCurvature(model, { tf, x: xs, y: ys })).toThrow(LossError);
    expect(() => modelCurvature(model, { tf, x: xs, y: ys })).toThrow(/uncompiled model/);
    expect(() =>
      modelCurvature(model, { tf, x: xs, y: ys, loss: 'categoricalCrossentropy' }),
    ).toThrow(/expected a model ending in softmax/);
    expect(() =>
      modelCurvature(model, { tf, x: xs, y: tf.zeros([3, C]), loss: 'meanSquaredError' }),
    ).toThrow(/same number N/);
    expect(() =>
      modelCurvature(model, { tf, x: xs, y: ys, loss: 'meanSquaredError', batchSize: 0 }),
    ).toThrow(/batchSize/);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
