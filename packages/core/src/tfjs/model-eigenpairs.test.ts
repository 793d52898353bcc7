import { readFileSync } from 'node:fs';
import type { LayersModel } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { referenceEigen } from '../../test/dense-eigen.js';
import { denseMatrix } from '../dense.js';
import { topEigenpairs } from '../eigenpairs.js';
import { arithmeticTolerance } from '../testing/operator-contract.js';
import { axpy, dot, norm } from '../vector.js';
import { modelCurvature } from './model.js';
import { BACKENDS, tf, useBackend } from './testing/backends.js';
import { finiteDifferenceHessian, type ReferenceDense, referenceMlp } from './testing/float64.js';
import { gaussianData, oneHotLabels, setSeededWeights } from './testing/models.js';

// Core numerics on a real model: topEigenpairs of a tfjs model's exact Hessian operator against
// ml-matrix's eigendecomposition of the same operator's assembled dense matrix.
//
// Where the tolerance comes from (tolerances come from the arithmetic). The operator computes Op(v) = Hv + e(v) in
// float32; the operator contract (hvp.test.ts, model.test.ts) bounds ‖e(v)‖ <= δ‖H‖_F‖v‖ with
// δ = arithmeticTolerance.float32 = 256·2⁻²⁴. The assembled A = [Op(e_1) … Op(e_P)] = H + E is
// symmetrised, S = (A + Aᵀ)/2 = H + (E + Eᵀ)/2, so ‖S − H‖₂ <= ‖E‖₂ <= ‖E‖_F, measured here
// against the float64 reference (its own error, ~1e-10 relative, is below the float32 terms).
// A Ritz pair (θ, v) of topEigenpairs with reported residual r = ‖Op(v) − θv‖ then has
//   ‖Sv − θv‖ <= r + ‖e(v)‖ + ‖(S − H)v‖ <= r + δ‖H‖_F + ‖E‖_F =: r + β,
// and Weyl's inequality (every eigenvalue of S within ‖S − Op‖ of the operator's) bounds the
// eigenvalue error |θ_i − λ_i(S)| by r_i + β when no eigenvalue at the wanted end is missed; the
// eigenvector angle has sin ∠ <= (r_i + β)/gap_i (Davis–Kahan) where gap_i is the distance from
// θ_i to the rest of S's spectrum.
const DELTA = arithmeticTolerance.float32;
/** Relative accuracy of finiteDifferenceHessian (testing/float64.ts: below ~1e-11; 1e-9 kept). */
const REFERENCE_ERROR = 1e-9;
/** topEigenpairs' stopping tolerance: a few times the float32 noise of a product, relative to ‖H‖₂. */
const EIGEN_TOL = 1e-5;
const K = 5;

const N = 24;
const LAYERS: ReferenceDense[] = [
  { nIn: 6, nOut: 16, activation: 'tanh' },
  { nIn: 16, nOut: 10, activation: 'tanh' },
  { nIn: 10, nOut: 4, activation: 'linear' },
];
const C = LAYERS[LAYERS.length - 1].nOut;

function buildModel(): LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [LAYERS[0].nIn], units: LAYERS[0].nOut, activation: 'tanh' }),
      tf.layers.dense({ units: LAYERS[1].nOut, activation: 'tanh' }),
      tf.layers.dense({ units: C, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  return model;
}

function frobenius(a: Float64Array, b?: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - (b ? b[i] : 0)) ** 2;
  return Math.sqrt(s);
}

function product(a: Float64Array, n: number, v: Float64Array): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j] * v[j];
    out[i] = s;
  }
  return out;
}

describe.each(BACKENDS)('topEigenpairs of a tanh MLP Hessian on %s', (backend) => {
  let model: LayersModel;
  let xs: tf.Tensor;
  let ys: tf.Tensor;
  let reference: Float64Array;
  let assembled: Float64Array;
  let symmetric: Float64Array;
  let dim: number;

  beforeAll(async () => {
    await useBackend(backend);
    model = buildModel();
    const theta = setSeededWeights(tf, model, 301, 1.5);
    dim = theta.length;
    const x = gaussianData(302, N, LAYERS[0].nIn);
    const labels = oneHotLabels(N, C);
    xs = tf.tensor2d(Float32Array.from(x), [N, LAYERS[0].nIn]);
    ys = tf.tensor2d(Float32Array.from(labels.dense), [N, C]);
    reference = finiteDifferenceHessian(
      referenceMlp(LAYERS, x, labels.dense, N, 'softmaxCrossEntropy'),
      theta,
    );
    assembled = await denseMatrix(modelCurvature(model, { tf, x: xs, y: ys }).operator);
    symmetric = assembled.map(
      (v, k) => 0.5 * (v + assembled[(k % dim) * dim + Math.floor(k / dim)]),
    );
    return () => {
      tf.dispose([xs, ys]);
      model.dispose();
    };
  });

  it('assembles a Hessian symmetric to float32 precision and equal to the float64 reference', () => {
    expect(dim).toBeGreaterThanOrEqual(300);
    const scale = frobenius(reference);
    // A − Aᵀ = E − Eᵀ: the asymmetry sees only rounding, never the (symmetric) Hessian.
    const transposed = assembled.map((_, k) => assembled[(k % dim) * dim + Math.floor(k / dim)]);
    const asymmetry = frobenius(assembled, transposed) / 2 / scale;
    const error = frobenius(assembled, reference) / scale;
    console.info(
      `[${backend}] P = ${dim}: ‖A − Aᵀ‖_F/(2‖H‖_F) ${asymmetry.toExponential(2)}, ‖A − H‖_F/‖H‖_F ${error.toExponential(2)} (δ = ${DELTA.toExponential(2)})`,
    );
    expect(asymmetry).toBeLessThanOrEqual(DELTA);
    expect(error).toBeLessThanOrEqual(DELTA);
  });

  it.each(['largest', 'smallest'] as const)(
    'finds the %s 5 eigenpairs of the assembled matrix (ml-matrix)',
    async (which) => {
      await useBackend(backend);
      const { operator } = modelCurvature(model, { tf, x: xs, y: ys });
      const result = await topEigenpairs(operator, { k: K, which, tol: EIGEN_TOL, seed: 7 });
      expect(result.converged).toBe(true);

      const exact = referenceEigen(symmetric, dim);
      const normH = frobenius(reference);
      const normE = frobenius(assembled, reference) + REFERENCE_ERROR * normH;
      const beta = DELTA * normH + normE;
      const spectralNorm = Math.max(...exact.values.map(Math.abs));
      const lines: string[] = [];
      for (let i = 0; i < K; i++) {
        const index = which === 'largest' ? dim - 1 - i : i;
        const lambda = exact.values[index];
        const theta = result.values[i];
        const v = result.vectors[i];
        const r = result.residuals[i];
        const bound = r + beta;
        // The pair is an approximate eigenpair of S itself: residual within r + β.
        const residualS = norm(axpy(-theta, v, product(symmetric, dim, v)));
        expect(residualS, `pair ${i}: ‖Sv − θv‖`).toBeLessThanOrEqual(bound);
        expect(Math.abs(theta - lambda), `pair ${i}: |θ − λ| (λ = ${lambda})`).toBeLessThanOrEqual(
          bound,
        );
        const gap = Math.min(
          ...exact.values.filter((_, j) => j !== index).map((mu) => Math.abs(theta - mu)),
        );
        const sine = Math.sqrt(Math.max(0, 1 - dot(v, exact.vectors[index]) ** 2));
        if (gap > bound) {
          expect(sine, `pair ${i}: sin ∠(v, u), gap ${gap}`).toBeLessThanOrEqual(bound / gap);
        }
        lines.push(
          `λ ${lambda.toPrecision(6)} |θ−λ| ${Math.abs(theta - lambda).toExponential(1)} ` +
            `sin∠ ${sine.toExponential(1)} (bound ${bound.toExponential(1)}, gap ${gap.toExponential(1)})`,
        );
      }
      console.info(
        `[${backend}] ${which} 5 of P = ${dim} (‖H‖₂ ${spectralNorm.toPrecision(4)}, β ${beta.toExponential(2)}, ${result.matvecs} HVPs):\n  ${lines.join('\n  ')}`,
      );
    },
  );

  it("runs the README's five lines: the top 5 eigenvalues of a compiled LayersModel", async () => {
    await useBackend(backend);
    const [x, y] = [xs, ys];
    // README.md, "Top eigenvalues in five lines" (the three imports are this file's).
    const { operator } = modelCurvature(model, { tf, x, y }); // loss from model.compile()
    const { values } = await topEigenpairs(operator, { k: 5 }); // largest 5, descending

    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain('const { operator } = modelCurvature(model, { tf, x, y });');
    expect(readme).toContain('const { values } = await topEigenpairs(operator, { k: 5 });');
    const spectrum = referenceEigen(symmetric, dim).values;
    const exact = spectrum.slice(-K).reverse();
    const spectralNorm = Math.max(...spectrum.map(Math.abs));
    // The bound of the tests above, with residuals r <= tol·‖S‖₂ once the pairs converged, at
    // the default tol = 32·2^-24 that the operator's declared float32 precision implies.
    const bound =
      32 * 2 ** -24 * spectralNorm + DELTA * frobenius(reference) + frobenius(assembled, reference);
    for (const [i, lambda] of exact.entries()) {
      expect(Math.abs(values[i] - lambda), `λ${i + 1} = ${lambda}`).toBeLessThanOrEqual(bound);
    }
  });
});
