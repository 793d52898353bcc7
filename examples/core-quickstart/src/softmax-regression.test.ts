import { arithmeticTolerance, checkOperatorContract } from '@hessian-probe/core/testing';
import { describe, expect, it } from 'vitest';
import { gaussianClusters, softmaxRegressionHessian } from './softmax-regression.js';

describe('softmaxRegressionHessian', () => {
  const data = gaussianClusters({ samples: 30, features: 4, classes: 3, separation: 2, seed: 1 });
  const { samples, features, classes, x } = data;

  it('equals (I/C − 11ᵀ/C²) ⊗ XᵀX/N at W = 0 (uniform softmax)', async () => {
    const dim = classes * features;
    const s = new Float64Array(features * features);
    for (let n = 0; n < samples; n++) {
      for (let i = 0; i < features; i++) {
        for (let j = 0; j < features; j++)
          s[i * features + j] += (x[n * features + i] * x[n * features + j]) / samples;
      }
    }
    const reference = new Float64Array(dim * dim);
    for (let k = 0; k < classes; k++) {
      for (let l = 0; l < classes; l++) {
        const a = (k === l ? 1 / classes : 0) - 1 / classes ** 2;
        for (let i = 0; i < features; i++) {
          for (let j = 0; j < features; j++) {
            reference[(k * features + i) * dim + l * features + j] = a * s[i * features + j];
          }
        }
      }
    }
    const { operator, layout } = softmaxRegressionHessian(data, new Float64Array(dim));
    expect(layout.blocks.map((b) => b.name)).toEqual(['class_0', 'class_1', 'class_2']);
    await checkOperatorContract(operator, reference, { tolerance: arithmeticTolerance.float64 });
  });

  it('matches central differences of the analytic gradient at random weights', async () => {
    const dim = classes * features;
    const w = Float64Array.from({ length: dim }, (_, i) => Math.sin(i + 1));
    const gradient = (weights: Float64Array): Float64Array => {
      const g = new Float64Array(dim);
      for (let n = 0; n < samples; n++) {
        const z = Array.from({ length: classes }, (_, c) => {
          let t = 0;
          for (let f = 0; f < features; f++) t += weights[c * features + f] * x[n * features + f];
          return t;
        });
        const max = Math.max(...z);
        const e = z.map((t) => Math.exp(t - max));
        const total = e.reduce((a, b) => a + b, 0);
        for (let c = 0; c < classes; c++) {
          const r = e[c] / total - (data.labels[n] === c ? 1 : 0);
          for (let f = 0; f < features; f++)
            g[c * features + f] += (r * x[n * features + f]) / samples;
        }
      }
      return g;
    };
    const { operator } = softmaxRegressionHessian(data, w);
    const v = Float64Array.from({ length: dim }, (_, i) => Math.cos(3 * i));
    const hv = await operator.matvec(v);
    // Central differences: truncation O(h²‖∇³L‖) ≈ 1e-10, rounding O(ε/h) ≈ 2e-11 at h = 1e-5.
    const h = 1e-5;
    const plus = gradient(w.map((wi, i) => wi + h * v[i]));
    const minus = gradient(w.map((wi, i) => wi - h * v[i]));
    for (let i = 0; i < dim; i++) expect(hv[i]).toBeCloseTo((plus[i] - minus[i]) / (2 * h), 8);
  });
});
