import type { Tensor } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { arithmeticTolerance, checkOperatorContract } from '../testing/operator-contract.js';
import { UnsupportedLayerError } from './errors.js';
import { hessianOperator, trainableParams } from './hvp.js';
import { meanSquaredError, softmaxCrossEntropy } from './losses.js';
import { modelCurvature } from './model.js';
import { withSecondOrder } from './second-order.js';
import { BACKENDS, tf, useBackend } from './testing/backends.js';
import {
  finiteDifferenceHessian,
  type ReferenceLayer,
  referenceSequential,
} from './testing/float64.js';
import { gaussianData, oneHotLabels, relativeError, setSeededWeights } from './testing/models.js';

const TOLERANCE = arithmeticTolerance.float32;
const N = 4;
const C = 3;
const INPUT: [number, number, number] = [5, 5, 2];

function tfLayer(layer: ReferenceLayer, first: boolean) {
  const input = first ? { inputShape: INPUT } : {};
  switch (layer.type) {
    case 'conv2d':
      return tf.layers.conv2d({
        ...input,
        kernelSize: layer.kernel,
        filters: layer.filters,
        strides: layer.strides,
        activation: layer.activation,
        padding: layer.padding ?? 'valid',
      });
    case 'maxPool':
      return tf.layers.maxPooling2d({
        ...input,
        poolSize: layer.pool,
        strides: layer.strides,
        padding: layer.padding ?? 'valid',
      });
    case 'avgPool':
      return tf.layers.averagePooling2d({
        ...input,
        poolSize: layer.pool,
        strides: layer.strides,
        padding: layer.padding ?? 'valid',
      });
    case 'globalAvgPool':
      return tf.layers.globalAveragePooling2d({ ...input });
    case 'flatten':
      return tf.layers.flatten({ ...input });
    case 'dense':
      return tf.layers.dense({ ...input, units: layer.units, activation: layer.activation });
  }
}

const CASES: [string, ReferenceLayer[], 'ce' | 'mse'][] = [
  [
    'Conv2D(tanh) + MaxPooling2D + Flatten + Dense, CE',
    [
      { type: 'conv2d', kernel: 2, filters: 3, strides: 1, activation: 'tanh' },
      { type: 'maxPool', pool: 2, strides: 2 },
      { type: 'flatten' },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    'ce',
  ],
  [
    'Conv2D(relu, stride 2) + Flatten + Dense, MSE',
    [
      { type: 'conv2d', kernel: 3, filters: 2, strides: 2, activation: 'relu' },
      { type: 'flatten' },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    'mse',
  ],
  [
    'Conv2D(sigmoid) + AveragePooling2D + Flatten + Dense, CE',
    [
      { type: 'conv2d', kernel: 2, filters: 2, strides: 1, activation: 'sigmoid' },
      { type: 'avgPool', pool: 2, strides: 2 },
      { type: 'flatten' },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    'ce',
  ],
  [
    "Conv2D(tanh, 'same', stride 2) + MaxPooling2D('same') + Flatten + Dense, CE",
    [
      { type: 'conv2d', kernel: 3, filters: 2, strides: 2, activation: 'tanh', padding: 'same' },
      { type: 'maxPool', pool: 2, strides: 2, padding: 'same' },
      { type: 'flatten' },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    'ce',
  ],
  [
    "Conv2D(softplus, 'same') + Flatten + Dense, MSE",
    [
      {
        type: 'conv2d',
        kernel: 2,
        filters: 2,
        strides: 1,
        activation: 'softplus',
        padding: 'same',
      },
      { type: 'flatten' },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    'mse',
  ],
  [
    'Conv2D(elu) + GlobalAveragePooling2D + Dense, CE',
    [
      { type: 'conv2d', kernel: 3, filters: 3, strides: 1, activation: 'elu' },
      { type: 'globalAvgPool' },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    'ce',
  ],
];

describe.each(BACKENDS)('hessianOperator for tiny CNNs on %s', (backend) => {
  it.each(CASES)('is exact for %s', async (_name, layers, loss) => {
    await useBackend(backend);
    const model = tf.sequential({ layers: layers.map((l, i) => tfLayer(l, i === 0)) });
    const theta = setSeededWeights(tf, model, 51, 1.5);
    const x = gaussianData(52, N, INPUT[0] * INPUT[1] * INPUT[2]);
    const targets = loss === 'ce' ? oneHotLabels(N, C).dense : gaussianData(53, N, C);
    const reference = finiteDifferenceHessian(
      referenceSequential(
        layers,
        INPUT,
        x,
        targets,
        N,
        loss === 'ce' ? 'softmaxCrossEntropy' : 'mse',
      ),
      theta,
    );
    const xs = tf.tensor4d(Float32Array.from(x), [N, ...INPUT]);
    const ys = tf.tensor2d(Float32Array.from(targets), [N, C]);
    const lossFn = loss === 'ce' ? softmaxCrossEntropy : meanSquaredError;
    const { operator } = hessianOperator({
      tf,
      params: trainableParams(model),
      loss: () => lossFn(tf, model.apply(xs) as Tensor, ys),
    });
    expect(operator.dim).toBe(theta.length);
    const worst = await checkOperatorContract(operator, reference, {
      tolerance: TOLERANCE,
      probes: 3,
    });
    console.info(`[${backend}] ${_name}: worst ${worst.toExponential(2)}`);
    model.dispose();
    tf.dispose([xs, ys]);
  });
});

describe('the wasm Conv2DBackpropFilter kernel', () => {
  it.each([
    ['valid', 1],
    ['same', 2],
    ['valid', 2],
  ] as const)('matches cpu (padding %s, stride %d)', async (pad, stride) => {
    const x = Float32Array.from(gaussianData(61, 2 * 7 * 6 * 3, 1));
    const w = Float32Array.from(gaussianData(62, 3 * 2 * 3 * 4, 1));
    const filterGradient = () =>
      withSecondOrder(tf, () => {
        const grad = tf.tidy(() => {
          const xs = tf.tensor4d(x, [2, 7, 6, 3]);
          const ws = tf.tensor4d(w, [3, 2, 3, 4]);
          const g = tf.grad((f: Tensor) =>
            tf.sum(tf.square(tf.conv2d(xs, f as tf.Tensor4D, stride, pad))),
          );
          return g(ws);
        });
        const values = Float64Array.from(grad.dataSync());
        grad.dispose();
        return values;
      });
    await useBackend('cpu');
    const cpu = filterGradient();
    await useBackend('wasm');
    const wasm = filterGradient();
    const error = relativeError(wasm, cpu);
    console.info(`wasm vs cpu Conv2DBackpropFilter (${pad}, ${stride}): ${error.toExponential(2)}`);
    expect(error).toBeLessThan(TOLERANCE);
  });
});

describe.each(BACKENDS)("AveragePooling2D with 'same' padding on %s", (backend) => {
  // x 3×3, pool 2, stride 2, 'same': windows of 4, 2, 2 and 1 valid entries; the forward pass
  // divides by those counts, so d Σ avgPool(x) / dx is 1/4, 1/2, 1/2 and 1 at the corners.
  const exact = [0.25, 0.25, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 1];
  const native = backend === 'tensorflow';

  it(
    native
      ? "has TensorFlow's exact AvgPoolGrad"
      : 'has an AvgPoolGrad that divides border windows by the full pool size (why it is refused)',
    async () => {
      await useBackend(backend);
      const x = tf.zeros([1, 3, 3, 1]) as tf.Tensor4D;
      const g = tf.grad((t: Tensor) => tf.sum(tf.avgPool(t as tf.Tensor4D, 2, 2, 'same')))(x);
      const tfjs = Array.from(g.dataSync());
      console.info(`[${backend}] avgPool 'same' gradient: tfjs [${tfjs}] exact [${exact}]`);
      if (native) {
        expect(tfjs).toEqual(exact);
      } else {
        expect(tfjs).not.toEqual(exact);
        expect(tfjs[8]).toBe(0.25);
      }
      tf.dispose([x, g]);
    },
  );

  it(
    native
      ? 'is exact in a Hessian (float64 reference)'
      : 'is refused by modelCurvature, naming the layer and backend',
    async () => {
      await useBackend(backend);
      const layers: ReferenceLayer[] = [
        { type: 'conv2d', kernel: 2, filters: 2, strides: 1, activation: 'tanh' },
        { type: 'avgPool', pool: 3, strides: 2, padding: 'same' },
        { type: 'flatten' },
        { type: 'dense', units: C, activation: 'linear' },
      ];
      const model = tf.sequential({ layers: layers.map((l, i) => tfLayer(l, i === 0)) });
      const theta = setSeededWeights(tf, model, 54, 1.5);
      const x = gaussianData(55, N, INPUT[0] * INPUT[1] * INPUT[2]);
      const targets = oneHotLabels(N, C).dense;
      const xs = tf.tensor4d(Float32Array.from(x), [N, ...INPUT]);
      const ys = tf.tensor2d(Float32Array.from(targets), [N, C]);
      if (!native) {
        const curvature = () =>
          modelCurvature(model, { tf, x: xs, y: ys, loss: 'softmaxCrossEntropy' });
        expect(curvature).toThrow(UnsupportedLayerError);
        expect(curvature).toThrow(
          new RegExp(`${model.layers[1]?.name}.*'same' on the ${backend} backend`),
        );
      } else {
        const reference = finiteDifferenceHessian(
          referenceSequential(layers, INPUT, x, targets, N, 'softmaxCrossEntropy'),
          theta,
        );
        const { operator } = modelCurvature(model, {
          tf,
          x: xs,
          y: ys,
          loss: 'softmaxCrossEntropy',
        });
        const worst = await checkOperatorContract(operator, reference, {
          tolerance: TOLERANCE,
          probes: 3,
        });
        console.info(`[${backend}] AveragePooling2D('same'): worst ${worst.toExponential(2)}`);
      }
      model.dispose();
      tf.dispose([xs, ys]);
    },
  );
});
