import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { LinearOperator } from '../operator.js';
import { SelfCheckError } from './errors.js';
import { hessianOperator, hessianVectorProduct, splitVector, trainableParams } from './hvp.js';
import { modelLayout } from './layouts.js';
import { modelLogits } from './logits.js';
import { meanSquaredError, softmaxCrossEntropy } from './losses.js';
import { SELF_CHECK_TOLERANCE, selfCheck, selfCheckOnce } from './self-check.js';
import { BACKENDS, tf, useBackend } from './testing/backends.js';
import {
  gaussianData,
  oneHotLabels,
  saturatedClassifier,
  setSeededWeights,
} from './testing/models.js';

const N = 6;
const D = 3;
const C = 3;

function tanhMlp(): LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [D], units: 4, activation: 'tanh' }),
      tf.layers.dense({ units: 4, activation: 'tanh' }),
      tf.layers.dense({ units: C }),
    ],
  });
}

const MODELS: [string, () => LayersModel, number[]][] = [
  ['tanh MLP', tanhMlp, [N, D]],
  [
    'relu MLP',
    () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [D], units: 5, activation: 'relu' }),
          tf.layers.dense({ units: C }),
        ],
      }),
    [N, D],
  ],
  [
    'Conv2D(tanh) + MaxPooling2D CNN',
    () =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({
            inputShape: [4, 4, 1],
            kernelSize: 2,
            filters: 2,
            activation: 'tanh',
          }),
          tf.layers.maxPooling2d({ poolSize: 2, strides: 1 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: C }),
        ],
      }),
    [N, 4, 4, 1],
  ],
];

describe.each(BACKENDS)('selfCheck on %s', (backend) => {
  it.each(MODELS)('passes on a %s', async (_name, build, shape) => {
    await useBackend(backend);
    const model = build();
    setSeededWeights(tf, model, 501, 1.5);
    const size = shape.reduce((p, d) => p * d, 1);
    const xs = tf.tensor(Float32Array.from(gaussianData(502, size, 1)), shape);
    const ys = tf.tensor1d(oneHotLabels(N, C).ids, 'int32');
    const params = trainableParams(model);
    const loss = () => softmaxCrossEntropy(tf, model.apply(xs) as Tensor, ys);
    const { operator } = hessianOperator({ tf, params, loss });
    const { layout } = modelLayout(model, 'tensor');
    const before = tf.memory().numTensors;
    const result = await selfCheck({
      tf,
      operator,
      params: params.map((p) => p.tensor),
      loss,
      layout,
    });
    console.info(
      `[${backend}] self-check ${_name}: checked ${result.checked}, inconclusive ${result.inconclusive}, error ${result.relativeError.toExponential(2)} (allowed ${result.allowed.toExponential(2)}; base ${SELF_CHECK_TOLERANCE.toExponential(2)})`,
    );
    expect(result.checked).toBeGreaterThanOrEqual(1);
    expect(result.relativeError).toBeLessThanOrEqual(result.allowed);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('fails, naming the blocks, when the second-order gradients are broken (no withSecondOrder)', async () => {
    await useBackend(backend);
    const model = tanhMlp();
    setSeededWeights(tf, model, 511, 1.5);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(512, N, D)), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(gaussianData(513, N, C)), [N, C]);
    const params = trainableParams(model).map((p) => p.tensor);
    const loss = () => meanSquaredError(tf, model.apply(xs) as Tensor, ys);
    const { layout } = modelLayout(model, 'layer');
    // tfjs's own double backprop: the saved-output gradient of Tanh drops a second-order path.
    const broken: LinearOperator = {
      dim: layout.dim,
      async matvec(v) {
        const out = tf.tidy(() =>
          tf.concat(
            hessianVectorProduct(tf, params, loss, splitVector(tf, v, params)).map((t) =>
              tf.reshape(t, [-1]),
            ),
          ),
        );
        const data = Float64Array.from(await out.data());
        out.dispose();
        return data;
      },
    };
    const check = () => selfCheck({ tf, operator: broken, params, loss, layout });
    const error = await check().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SelfCheckError);
    const { relativeError, blocks, message } = error as SelfCheckError;
    console.info(`[${backend}] broken tanh MLP: ${message}`);
    expect(relativeError).toBeGreaterThan(0.1);
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    for (const b of blocks) expect(layout.blocks.map((l) => l.name)).toContain(b);
    // The cache keeps the first verdict per model, failures included.
    const first = selfCheckOnce(model, check);
    const second = selfCheckOnce(model, () => Promise.reject(new Error('not called')));
    expect(second).toBe(first);
    await expect(second).rejects.toBeInstanceOf(SelfCheckError);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  // Logit margins >= 10: at the default step the central difference's truncation error is
  // 0.9–2.7 relative (the curvature scales like e^{−margin}); halving the step makes it usable.
  it('checks a saturated softmax by halving the step, and still fails a 10 % error there', async () => {
    await useBackend(backend);
    const { model, xs, ys } = saturatedClassifier(tf, 7100);
    const params = trainableParams(model);
    const tensors = params.map((p) => p.tensor);
    const loss = () => softmaxCrossEntropy(tf, modelLogits(model, xs, 'softmax'), ys);
    const { operator } = hessianOperator({ tf, params, loss });
    const { layout } = modelLayout(model, 'layer');
    const result = await selfCheck({ tf, operator, params: tensors, loss, layout });
    console.info(
      `[${backend}] saturated softmax: checked ${result.checked}, inconclusive ${result.inconclusive}, error ${result.relativeError.toExponential(2)} (allowed ${result.allowed.toExponential(2)})`,
    );
    expect(result.checked).toBeGreaterThanOrEqual(1);
    expect(result.relativeError).toBeLessThanOrEqual(result.allowed);
    const scaled: LinearOperator = {
      dim: operator.dim,
      matvec: async (v) => (await operator.matvec(v)).map((x) => 1.1 * x),
    };
    const error = await selfCheck({ tf, operator: scaled, params: tensors, loss, layout }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SelfCheckError);
    console.info(`[${backend}] saturated softmax, Hv × 1.1: ${(error as SelfCheckError).message}`);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
