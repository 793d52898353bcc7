import { beforeAll, describe, expect, it } from 'vitest';
import { blockRatios, exactBlockNorms } from '../blocks.js';
import { denseMatrix } from '../dense.js';
import { arithmeticTolerance } from '../testing/operator-contract.js';
import { modelLayout, permuteOperator } from './layouts.js';
import { modelCurvature } from './model.js';
import { BACKENDS, tf, useBackend } from './testing/backends.js';
import { gaussianData, oneHotLabels, setSeededWeights } from './testing/models.js';

const TOLERANCE = arithmeticTolerance.float32;

function smallModel() {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [3], units: 2, activation: 'tanh', name: 'hidden' }),
      tf.layers.dense({ units: 4, useBias: false, name: 'mid' }),
      tf.layers.dense({ units: 3, name: 'out' }),
    ],
  });
}

describe('modelLayout', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it("'tensor': one block per trainable weight, named and shaped as tfjs has them", () => {
    const model = smallModel();
    const { layout, order } = modelLayout(model, 'tensor');
    expect(order).toBeUndefined();
    // tfjs appends a counter (`hidden/kernel_1`) when a weight name was used before.
    expect(
      layout.blocks.map((b) => [b.name.replace(/_\d+$/, ''), b.offset, b.size, b.shape]),
    ).toEqual([
      ['hidden/kernel', 0, 6, [3, 2]],
      ['hidden/bias', 6, 2, [2]],
      ['mid/kernel', 8, 8, [2, 4]],
      ['out/kernel', 16, 12, [4, 3]],
      ['out/bias', 28, 3, [3]],
    ]);
    expect(layout.blocks.map((b) => b.name)).toEqual(model.trainableWeights.map((w) => w.name));
    model.dispose();
  });

  it("'layer': one block per layer", () => {
    const model = smallModel();
    const { layout, order } = modelLayout(model, 'layer');
    expect(order).toBeUndefined();
    expect(layout.blocks.map((b) => [b.name, b.offset, b.size])).toEqual([
      ['hidden', 0, 8],
      ['mid', 8, 8],
      ['out', 16, 15],
    ]);
    model.dispose();
  });

  it("'unit': a kernel column plus its bias entry per output unit, through a permutation", () => {
    const model = smallModel();
    const { layout, order } = modelLayout(model, 'unit');
    expect(layout.blocks.map((b) => [b.name, b.size])).toEqual([
      ['hidden/unit_0', 4],
      ['hidden/unit_1', 4],
      ['mid/unit_0', 2],
      ['mid/unit_1', 2],
      ['mid/unit_2', 2],
      ['mid/unit_3', 2],
      ['out/unit_0', 5],
      ['out/unit_1', 5],
      ['out/unit_2', 5],
    ]);
    // hidden/kernel is [3, 2] row-major at 0..5, hidden/bias at 6..7: unit 1 = column 1 + bias 1.
    expect(Array.from(order!.subarray(4, 8))).toEqual([1, 3, 5, 7]);
    // out/kernel [4, 3] at 16..27, out/bias at 28..30: unit 2 = 18, 21, 24, 27, then 30.
    expect(Array.from(order!.subarray(26, 31))).toEqual([18, 21, 24, 27, 30]);
    expect([...order!].sort((a, b) => a - b)).toEqual(Array.from({ length: 31 }, (_, i) => i));
    model.dispose();
  });

  it("'class': the last layer's units as class blocks, earlier layers whole", () => {
    const model = smallModel();
    const { layout, order } = modelLayout(model, 'class');
    expect(layout.blocks.map((b) => [b.name, b.offset, b.size])).toEqual([
      ['hidden', 0, 8],
      ['mid', 8, 8],
      ['out/unit_0', 16, 5],
      ['out/unit_1', 21, 5],
      ['out/unit_2', 26, 5],
    ]);
    // Earlier layers stay in storage order; the class blocks are permuted as in 'unit'.
    expect(Array.from(order!.subarray(0, 16))).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(Array.from(order!.subarray(26, 31))).toEqual([18, 21, 24, 27, 30]);
    expect([...order!].sort((a, b) => a - b)).toEqual(Array.from({ length: 31 }, (_, i) => i));
    model.dispose();
  });

  it("'class' refuses a model whose output layer is frozen instead of splitting a hidden one", () => {
    const model = smallModel();
    model.layers[2].trainable = false;
    expect(() => modelLayout(model, 'class')).toThrow(/out frozen/);
    model.dispose();
  });

  it('permuteOperator rearranges products exactly (PᵀAP)', async () => {
    const order = Int32Array.of(2, 0, 1);
    const a = Float64Array.of(1, 2, 3, 2, 4, 5, 3, 5, 6);
    const op = {
      dim: 3,
      matvec: async (v: Float64Array) =>
        Float64Array.from(
          [0, 1, 2],
          (i) => a[3 * i] * v[0] + a[3 * i + 1] * v[1] + a[3 * i + 2] * v[2],
        ),
    };
    const permuted = await denseMatrix(permuteOperator(op, order));
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) expect(permuted[3 * i + j]).toBe(a[3 * order[i] + order[j]]);
    }
  });
});

describe.each(BACKENDS)('per-unit curvature layouts on %s', (backend) => {
  it('the unit layout is the tensor layout permuted, entry for entry', async () => {
    await useBackend(backend);
    const model = smallModel();
    setSeededWeights(tf, model, 301, 1.5);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(302, 5, 3)), [5, 3]);
    const ys = tf.tensor1d(oneHotLabels(5, 3).ids, 'int32');
    const options = { tf, x: xs, y: ys, loss: 'softmaxCrossEntropy' } as const;
    const tensor = await denseMatrix(modelCurvature(model, options).operator);
    const unit = modelCurvature(model, { ...options, layout: 'unit' });
    const permuted = await denseMatrix(unit.operator);
    const order = modelLayout(model, 'unit').order!;
    const p = order.length;
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) expect(permuted[i * p + j]).toBe(tensor[order[i] * p + order[j]]);
    }
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('the class blocks of a linear softmax model at W = 0 have block ratios exactly 1/(C − 1)', async () => {
    await useBackend(backend);
    const c = 4;
    const d = 3;
    const n = 7;
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [d], units: c, activation: 'softmax', name: 'cls' })],
    });
    model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    for (const w of model.trainableWeights) w.write(tf.zeros(w.shape as number[]));
    const xs = tf.tensor2d(Float32Array.from(gaussianData(311, n, d)), [n, d]);
    const ys = tf.tensor1d(Float32Array.from(oneHotLabels(n, c).ids));
    const { operator, layout } = modelCurvature(model, { tf, x: xs, y: ys, layout: 'unit' });
    expect(layout.blocks.map((b) => b.name)).toEqual([
      'cls/unit_0',
      'cls/unit_1',
      'cls/unit_2',
      'cls/unit_3',
    ]);
    const h = await denseMatrix(operator);
    const { frobeniusSq } = exactBlockNorms(h, layout.dim, layout);
    const { meanRatio, massRatio, normalizedCoupling } = blockRatios(frobeniusSq);
    const expected = 1 / (c - 1);
    console.info(
      `[${backend}] class blocks at W = 0: mean ratio ${meanRatio} mass ratio ${massRatio} (1/(C−1) = ${expected})`,
    );
    expect(Math.abs(meanRatio - expected) / expected).toBeLessThan(TOLERANCE);
    expect(Math.abs(massRatio - expected) / expected).toBeLessThan(TOLERANCE);
    expect(Math.abs(normalizedCoupling[0][1] - expected) / expected).toBeLessThan(TOLERANCE);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});

describe('modelLayout of a large layer', () => {
  it('cuts a 300,000-parameter layer by layer and by class (no call stack overflow)', () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [1000], units: 300 }), tf.layers.dense({ units: 10 })],
    });
    const byLayer = modelLayout(model, 'layer').layout;
    expect(byLayer.blocks.map((b) => b.size)).toEqual([1000 * 300 + 300, 300 * 10 + 10]);
    const byClass = modelLayout(model, 'class').layout;
    expect(byClass.blocks[0].size).toBe(1000 * 300 + 300);
    expect(byClass.blocks).toHaveLength(11);
    model.dispose();
  });
});
