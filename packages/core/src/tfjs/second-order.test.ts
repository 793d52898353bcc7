import type { Tensor } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { arithmeticTolerance } from '../testing/operator-contract.js';
import { hessianOperator, trainableParams } from './hvp.js';
import { softmaxCrossEntropy } from './losses.js';
import {
  detached,
  isSecondOrderActive,
  SECOND_ORDER_KERNELS,
  withExplicitTransposes,
  withSecondOrder,
} from './second-order.js';
import { BACKENDS, tf, useBackend } from './testing/backends.js';
import { gaussianData, oneHotLabels, relativeError, setSeededWeights } from './testing/models.js';

const KERNELS = Object.values(SECOND_ORDER_KERNELS).flat();
const snapshot = () => new Map(KERNELS.map((k) => [k, tf.getGradient(k)]));
const wasmKernel = () => tf.getKernel('Conv2DBackpropFilter', 'wasm');

function expectRestored(before: Map<string, unknown>, wasmBefore: unknown): void {
  for (const [name, config] of before) expect(tf.getGradient(name), name).toBe(config);
  expect(wasmKernel()).toBe(wasmBefore);
  expect(isSecondOrderActive()).toBe(false);
}

describe('withSecondOrder: scoping', () => {
  it('registers its gradients only inside the scope and restores the exact configs', () => {
    const before = snapshot();
    const wasmBefore = wasmKernel();
    expect(before.get('Tanh')).toBeDefined();
    expect(before.get('Greater')).toBeUndefined();
    const inside = withSecondOrder(tf, () => {
      expect(isSecondOrderActive()).toBe(true);
      expect(wasmKernel()).toBeDefined();
      return KERNELS.filter((k) => tf.getGradient(k) !== before.get(k));
    });
    expect(inside).toEqual(KERNELS);
    expectRestored(before, wasmBefore);
  });

  it('restores after a synchronous throw and after an async rejection', async () => {
    const before = snapshot();
    const wasmBefore = wasmKernel();
    expect(() =>
      withSecondOrder(tf, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expectRestored(before, wasmBefore);
    await expect(
      withSecondOrder(tf, async () => {
        await Promise.resolve();
        throw new Error('later');
      }),
    ).rejects.toThrow('later');
    expectRestored(before, wasmBefore);
  });

  it('is reentrant: nested and interleaved async scopes restore only at the last exit', async () => {
    const before = snapshot();
    const wasmBefore = wasmKernel();
    withSecondOrder(tf, () => {
      const outer = tf.getGradient('Tanh');
      expect(outer).not.toBe(before.get('Tanh'));
      withSecondOrder(tf, () => expect(tf.getGradient('Tanh')).toBe(outer));
      expect(tf.getGradient('Tanh')).toBe(outer);
    });
    expectRestored(before, wasmBefore);

    let releaseA = () => {};
    let releaseB = () => {};
    const a = withSecondOrder(tf, () => new Promise<void>((r) => (releaseA = r)));
    const tanhInside = tf.getGradient('Tanh');
    expect(tanhInside).not.toBe(before.get('Tanh'));
    const b = withSecondOrder(tf, () => new Promise<void>((r) => (releaseB = r)));
    expect(tf.getGradient('Tanh')).toBe(tanhInside);
    releaseA();
    await a;
    expect(isSecondOrderActive()).toBe(true);
    expect(tf.getGradient('Tanh')).toBe(tanhInside);
    releaseB();
    await b;
    expectRestored(before, wasmBefore);
  });
});

describe.each(BACKENDS)('withSecondOrder on %s: first-order training untouched', (backend) => {
  function buildModel() {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [3], units: 5, activation: 'tanh' }),
        tf.layers.dense({ units: 4, activation: 'elu' }),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    setSeededWeights(tf, model, 41);
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    return model;
  }

  it('gives bit-identical weights after N SGD steps with and without an analysis between', async () => {
    await useBackend(backend);
    const n = 8;
    const x = tf.tensor2d(Float32Array.from(gaussianData(42, n, 3)), [n, 3]);
    const y = tf.tensor2d(Float32Array.from(oneHotLabels(n, 3).dense), [n, 3]);
    const fitOptions = { epochs: 3, batchSize: 4, shuffle: false, verbose: 0 } as const;

    const plain = buildModel();
    await plain.fit(x, y, fitOptions);
    await plain.fit(x, y, fitOptions);
    const expected = plain.getWeights().map((w) => Array.from(w.dataSync()));

    const analysed = buildModel();
    await analysed.fit(x, y, fitOptions);
    const { operator } = hessianOperator({
      tf,
      params: trainableParams(analysed),
      loss: () => {
        const probabilities = analysed.apply(x) as Tensor;
        return softmaxCrossEntropy(tf, tf.log(probabilities), y);
      },
    });
    for (let i = 0; i < 3; i++) await operator.matvec(new Float64Array(operator.dim).fill(i));
    await analysed.fit(x, y, fitOptions);
    const got = analysed.getWeights().map((w) => Array.from(w.dataSync()));

    expect(got).toEqual(expected);
    plain.dispose();
    analysed.dispose();
    tf.dispose([x, y]);
  });

  it('computes first-order gradients bit-identical to tfjs while active', async () => {
    await useBackend(backend);
    const model = buildModel();
    const x = tf.tensor2d(Float32Array.from(gaussianData(43, 6, 3)), [6, 3]);
    const f = () => tf.sum(tf.mul(model.apply(x) as Tensor, tf.range(0, 3))) as tf.Scalar;
    const read = () => {
      const { value, grads } = tf.variableGrads(f);
      const out = Object.values(grads).map((g) => Array.from(g.dataSync()));
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const outside = read();
    const inside = withSecondOrder(tf, read);
    expect(inside).toEqual(outside);
    model.dispose();
    x.dispose();
  });
});

describe('withExplicitTransposes', () => {
  const shapes: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[2, 7, 5], [2, 3, 7], true, true],
  ];

  it.each(shapes)(
    'multiplies %j by %j (transposeA %s, transposeB %s) as tfjs does, to float32 rounding, and frees its copies',
    async (shapeA, shapeB, transposeA, transposeB) => {
      await useBackend('wasm');
      const original = tf.getKernel('BatchMatMul', 'wasm');
      const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
      const a = tf.tensor(Float32Array.from(gaussianData(71, size(shapeA), 1)), shapeA);
      const b = tf.tensor(Float32Array.from(gaussianData(72, size(shapeB), 1)), shapeB);
      const product = () => tf.matMul(a, b, transposeA, transposeB);
      const tfjs = product();
      const before = { tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() };
      const explicit = withExplicitTransposes(tf, () => {
        expect(tf.getKernel('BatchMatMul', 'wasm')).not.toBe(original);
        return product();
      });
      expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(original);
      // One new tensor and one new backend buffer: the transposed copies were freed.
      expect(tf.memory().numTensors).toBe(before.tensors + 1);
      expect(tf.backend().numDataIds()).toBe(before.buffers + 1);
      expect(explicit.shape).toEqual(tfjs.shape);
      const error = relativeError(
        Float64Array.from(explicit.dataSync()),
        Float64Array.from(tfjs.dataSync()),
      );
      expect(error).toBeLessThan(arithmeticTolerance.float32);
      tf.dispose([a, b, tfjs, explicit]);
    },
  );

  it('puts tfjs’s kernel back when the work throws, and is a pass-through when nested', async () => {
    await useBackend('wasm');
    const original = tf.getKernel('BatchMatMul', 'wasm');
    expect(() =>
      withExplicitTransposes(tf, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(original);
    withExplicitTransposes(tf, () => {
      const replaced = tf.getKernel('BatchMatMul', 'wasm');
      withExplicitTransposes(tf, () => expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(replaced));
      expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(replaced);
    });
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(original);
  });
});

describe.each(BACKENDS)('detached on %s', (backend) => {
  it('has the value of its computation and no gradient path, even under nested tapes', async () => {
    await useBackend(backend);
    const x = tf.tensor1d([1, -2, 3]);
    // f(x) = Σ x² · stop(x): ∇f = 2x·x (not 3x²), and the gradient of Σ∇f is 2x (not 6x).
    const f = (t: Tensor) =>
      tf.sum(
        tf.mul(
          tf.square(t),
          detached(tf, () => tf.clone(t)),
        ),
      );
    const first = tf.grad(f)(x);
    expect(Array.from(first.dataSync())).toEqual([2, 8, 18]);
    const second = tf.grad((t: Tensor) => tf.sum(tf.grad(f)(t)))(x);
    expect(Array.from(second.dataSync())).toEqual([2, -4, 6]);
    tf.dispose([x, first, second]);
  });
});
