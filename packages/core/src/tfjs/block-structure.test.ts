import { describe, expect, it } from 'vitest';
import { blockStructure } from '../block-structure.js';
import { exactBlockNorms } from '../blocks.js';
import { denseMatrix } from '../dense.js';
import { arithmeticTolerance } from '../testing/operator-contract.js';
import type { LossName } from './losses.js';
import { modelCurvature } from './model.js';
import { BACKENDS, tf, useBackend } from './testing/backends.js';
import { gaussianData, oneHotLabels, relativeError, setSeededWeights } from './testing/models.js';

// float32 HVPs against float64 formulas evaluated at the same float32-representable weights
// and data: the shared float32 tolerance (a few hundred ulps) applies.
const TOLERANCE = arithmeticTolerance.float32;
const N = 12;
const D = 3;
const HIDDEN = 4;
const C = 3;

/** Loss Hessian A_n in the logits z_n: CE diag(p) − ppᵀ; MSE (mean over C outputs) (2/C) I. */
function lossHessianAt(loss: LossName, z: Float64Array): Float64Array {
  const a = new Float64Array(C * C);
  if (loss === 'meanSquaredError') {
    for (let c = 0; c < C; c++) a[c * C + c] = 2 / C;
    return a;
  }
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  const total = e.reduce((s, v) => s + v, 0);
  const p = e.map((v) => v / total);
  for (let c = 0; c < C; c++) {
    for (let k = 0; k < C; k++) a[c * C + k] = (c === k ? p[c] : 0) - p[c] * p[k];
  }
  return a;
}

describe.each(BACKENDS)('static-force facts through exact tfjs Hessians on %s', (backend) => {
  it.each<LossName>(['softmaxCrossEntropy', 'meanSquaredError'])(
    'one-hidden-layer ReLU with %s: H_{w_i w_j} = (1/N) Σ_n 1[w_iᵀx_n>0] 1[w_jᵀx_n>0] (v_iᵀA_n v_j) x_n x_nᵀ',
    async (loss) => {
      await useBackend(backend);
      const model = tf.sequential({
        layers: [
          tf.layers.dense({
            inputShape: [D],
            units: HIDDEN,
            activation: 'relu',
            useBias: false,
            name: 'hidden',
          }),
          tf.layers.dense({ units: C, useBias: false, name: 'out' }),
        ],
      });
      // kernels: hidden [D, HIDDEN] (column i = w_i), out [HIDDEN, C] (row i = v_i = V[:, i]).
      const theta = setSeededWeights(tf, model, 301, 1.5);
      const x = gaussianData(302, N, D);
      const labels = oneHotLabels(N, C);
      const targets = loss === 'meanSquaredError' ? gaussianData(303, N, C) : labels.dense;
      const w = (i: number, k: number) => theta[k * HIDDEN + i];
      const v = (i: number, c: number) => theta[D * HIDDEN + i * C + c];

      const dim = HIDDEN * D;
      const reference = new Float64Array(dim * dim);
      let active = 0;
      for (let n = 0; n < N; n++) {
        const on = Array.from({ length: HIDDEN }, (_, i) => {
          let s = 0;
          for (let k = 0; k < D; k++) s += w(i, k) * x[n * D + k];
          return s > 0;
        });
        active += on.filter(Boolean).length;
        const z = new Float64Array(C);
        for (let c = 0; c < C; c++) {
          for (let i = 0; i < HIDDEN; i++) {
            let s = 0;
            for (let k = 0; k < D; k++) s += w(i, k) * x[n * D + k];
            z[c] += v(i, c) * Math.max(s, 0);
          }
        }
        const a = lossHessianAt(loss, z);
        for (let i = 0; i < HIDDEN; i++) {
          for (let j = 0; j < HIDDEN; j++) {
            if (!on[i] || !on[j]) continue;
            let vav = 0;
            for (let c = 0; c < C; c++) {
              for (let k = 0; k < C; k++) vav += v(i, c) * a[c * C + k] * v(j, k);
            }
            for (let r = 0; r < D; r++) {
              for (let s = 0; s < D; s++) {
                reference[(i * D + r) * dim + j * D + s] += (vav * x[n * D + r] * x[n * D + s]) / N;
              }
            }
          }
        }
      }
      // The masks must mix, or the indicator factors would not be tested.
      expect(active).toBeGreaterThan(0);
      expect(active).toBeLessThan(N * HIDDEN);

      const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
      const ys = tf.tensor2d(Float32Array.from(targets), [N, C]);
      const { operator, layout } = modelCurvature(model, {
        tf,
        x: xs,
        y: ys,
        loss,
        layout: 'unit',
        selfCheck: false,
      });
      expect(layout.blocks.slice(0, 2).map((b) => [b.name, b.size])).toEqual([
        ['hidden/unit_0', D],
        ['hidden/unit_1', D],
      ]);
      const full = await denseMatrix(operator);
      const hiddenBlock = new Float64Array(dim * dim);
      for (let r = 0; r < dim; r++) {
        hiddenBlock.set(full.subarray(r * layout.dim, r * layout.dim + dim), r * dim);
      }
      const error = relativeError(hiddenBlock, reference);
      console.info(`[${backend}] ReLU hidden-block formula (${loss}): ${error.toExponential(2)}`);
      expect(error).toBeLessThan(TOLERANCE);
      tf.dispose([xs, ys]);
      model.dispose();
    },
  );

  it.each([2, 4])(
    'linear model with CE at W = 0 and C = %i: class-block ratios equal 1/(C − 1)',
    async (classes) => {
      await useBackend(backend);
      const model = tf.sequential({
        layers: [
          tf.layers.dense({
            inputShape: [D],
            units: classes,
            useBias: false,
            kernelInitializer: 'zeros',
            name: 'out',
          }),
        ],
      });
      const xs = tf.tensor2d(Float32Array.from(gaussianData(311, N, D)), [N, D]);
      const ys = tf.tensor2d(Float32Array.from(oneHotLabels(N, classes).dense), [N, classes]);
      const { operator, layout } = modelCurvature(model, {
        tf,
        x: xs,
        y: ys,
        loss: 'softmaxCrossEntropy',
        layout: 'unit',
        selfCheck: false,
      });
      const h = await denseMatrix(operator);
      const { withinLayer, crossLayer } = blockStructure(exactBlockNorms(h, layout.dim, layout));
      const expected = 1 / (classes - 1);
      expect(crossLayer.pairs).toBe(0);
      expect(Math.abs(withinLayer.meanRatio - expected)).toBeLessThan(TOLERANCE * expected);
      expect(Math.abs(withinLayer.massRatio - expected)).toBeLessThan(TOLERANCE * expected);
      tf.dispose([xs, ys]);
      model.dispose();
    },
  );
});
