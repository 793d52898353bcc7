import type { LayersModel } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { layerSpectra } from './layer-spectra.js';
import type { LayoutBlock } from './layout.js';
import { arithmeticTolerance } from './testing/operator-contract.js';
import { modelCurvature } from './tfjs/model.js';
import { BACKENDS, tf, useBackend } from './tfjs/testing/backends.js';
import { gaussNewtonMatrix, lossHessian, referenceNetwork } from './tfjs/testing/forward64.js';
import { gaussianData, oneHotLabels, setSeededWeights } from './tfjs/testing/models.js';

/**
 * Products in float32 (the tfjs operators) against float64 references: each entry of H and G
 * is off by about u·‖·‖ (u = 2^-24; {@link arithmeticTolerance}.float32 allows 256 u), so
 * ‖H − G‖_F errs by at most that times ‖H‖_F + ‖G‖_F and the ratio accordingly.
 */
const TOLERANCE = arithmeticTolerance.float32;
const N = 8;
const D = 3;
const HIDDEN = 4;
const C = 3;

function frobenius(a: Float64Array, p: number, block: LayoutBlock): number {
  let sum = 0;
  for (let i = block.offset; i < block.offset + block.size; i++) {
    for (let j = block.offset; j < block.offset + block.size; j++) sum += a[i * p + j] ** 2;
  }
  return Math.sqrt(sum);
}

function difference(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((x, i) => x - b[i]);
}

/** H and G operators of `model` on the probe set, over the 'layer' layout. */
function operators(model: LayersModel, x: Float64Array, labels: Float32Array) {
  const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
  const ys = tf.tensor2d(labels, [N, C]);
  const common = { tf, x: xs, y: ys, loss: 'softmaxCrossEntropy', layout: 'layer' } as const;
  const hessian = modelCurvature(model, common);
  const ggn = modelCurvature(model, { ...common, kind: 'ggn' });
  return { hessian, ggn, dispose: () => tf.dispose([xs, ys]) };
}

describe.each(BACKENDS)('the Gauss–Newton gap of tfjs models on %s', (backend) => {
  it('is 0 to float32 rounding for a linear model with cross-entropy (H = G)', async () => {
    await useBackend(backend);
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [D], units: C })] });
    setSeededWeights(tf, model, 31, 1.5);
    const labels = Float32Array.from(oneHotLabels(N, C).dense);
    const { hessian, ggn, dispose } = operators(model, gaussianData(32, N, D), labels);
    const result = await layerSpectra(hessian.operator, hessian.layout, { ggn: ggn.operator });
    // ‖H − G‖ <= 2·TOLERANCE·‖G‖ (both within TOLERANCE of the same matrix).
    expect(result.gaussNewtonGap!.ratio).toBeLessThanOrEqual(2 * TOLERANCE);
    for (const layer of result.layers) {
      expect(layer.gaussNewtonGap!.method).toBe('exact');
      expect(layer.gaussNewtonGap!.ratio, layer.name).toBeLessThanOrEqual(2 * TOLERANCE);
    }
    dispose();
    model.dispose();
  });

  it('matches the float64 ‖H_ll − G_ll‖_F/‖G_ll‖_F of a one-hidden-layer net, per layer and overall', async () => {
    await useBackend(backend);
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [D], units: HIDDEN, activation: 'tanh' }),
        tf.layers.dense({ units: C }),
      ],
    });
    const theta = setSeededWeights(tf, model, 41, 1.5);
    const x = gaussianData(42, N, D);
    const labels = oneHotLabels(N, C).dense;
    const net = referenceNetwork(
      [
        { type: 'dense', units: HIDDEN, activation: 'tanh' },
        { type: 'dense', units: C, activation: 'linear' },
      ],
      D,
      x,
      N,
    );
    const h64 = lossHessian(net, labels, 'softmaxCrossEntropy', theta);
    const g64 = gaussNewtonMatrix(net, labels, 'softmaxCrossEntropy', theta);
    const e64 = difference(h64, g64);
    const p = theta.length;
    const { hessian, ggn, dispose } = operators(model, x, Float32Array.from(labels));
    const layout = hessian.layout;
    expect(layout.blocks).toHaveLength(2);
    const result = await layerSpectra(hessian.operator, layout, { ggn: ggn.operator });
    // p = 31 <= maxExactDim: H and G are each assembled once, p products apiece.
    expect(result.matvecs).toBe(2 * p);
    const whole = { name: 'all', offset: 0, size: p };
    const check = (got: number, block: LayoutBlock) => {
      const g = frobenius(g64, p, block);
      const truth = frobenius(e64, p, block) / g;
      const bound = (TOLERANCE * (frobenius(h64, p, block) + g)) / g + TOLERANCE * truth;
      expect(Math.abs(got - truth), `${block.name}: ${got} vs ${truth}`).toBeLessThanOrEqual(bound);
      return truth;
    };
    // The hidden layer's block has E ≠ 0 (tanh is curved), the output layer's has E = 0.
    const hidden = check(result.layers[0].gaussNewtonGap!.ratio, layout.blocks[0]);
    const output = check(result.layers[1].gaussNewtonGap!.ratio, layout.blocks[1]);
    check(result.gaussNewtonGap!.ratio, whole);
    expect(hidden).toBeGreaterThan(1e-2);
    expect(output).toBeLessThan(1e-6);

    // The stochastic route agrees within its delta-method standard error.
    const stochastic = await layerSpectra(hessian.operator, layout, {
      ggn: ggn.operator,
      maxExactDim: 0,
      gapProbes: 64,
      probes: 2,
      steps: 8,
      traceMatvecs: 6,
      seed: 5,
    });
    const overall = stochastic.gaussNewtonGap!;
    expect(overall.method).toBe('stochastic');
    const truth = frobenius(e64, p, whole) / frobenius(g64, p, whole);
    expect(Math.abs(overall.ratio - truth)).toBeLessThanOrEqual(4 * overall.stderr);
    dispose();
    model.dispose();
  });
});
