import { denseMatrix } from '@hessian-probe/core';
import { arithmeticTolerance, checkOperatorContract } from '@hessian-probe/core/testing';
import { hessianOperator, meanSquaredError, softmaxCrossEntropy } from '@hessian-probe/core/tfjs';
import { describe, expect, it } from 'vitest';
import { onnxCurvature } from './curvature.js';
import { BACKENDS, useBackend } from './testing/backends.js';
import { buildModel, mlpModel, normals } from './testing/models.js';

const N = 8;
const D = 3;
const C = 4;

/**
 * Exact float64 Hessian of the mean softmax cross-entropy of z = W x + b (W [C, D] row-major,
 * then b [C]) in closed form: H = (1/N) Σₙ (diag(pₙ) − pₙpₙᵀ) ⊗ x̃ₙx̃ₙᵀ with x̃ = [x, 1], where
 * the Kronecker index (c, d) maps to c·D + d for d < D and to C·D + c for the bias (d = D).
 */
function linearSoftmaxHessian(w: Float32Array, b: Float32Array, x: Float32Array): Float64Array {
  const dim = C * D + C;
  const h = new Float64Array(dim * dim);
  const index = (c: number, d: number) => (d < D ? c * D + d : C * D + c);
  for (let n = 0; n < N; n++) {
    const xt = [...Array.from(x.subarray(n * D, (n + 1) * D)), 1];
    const z = Array.from(
      { length: C },
      (_, c) => b[c] + xt.slice(0, D).reduce((s, v, d) => s + w[c * D + d] * v, 0),
    );
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const total = e.reduce((s, v) => s + v, 0);
    const p = e.map((v) => v / total);
    for (let c = 0; c < C; c++) {
      for (let c2 = 0; c2 < C; c2++) {
        const a = (c === c2 ? p[c] : 0) - p[c] * p[c2];
        for (let d = 0; d <= D; d++) {
          for (let d2 = 0; d2 <= D; d2++)
            h[index(c, d) * dim + index(c2, d2)] += (a * xt[d] * xt[d2]) / N;
        }
      }
    }
  }
  return h;
}

describe.each(BACKENDS)('onnxCurvature on %s', (backend) => {
  it('gives the exact Hessian of a linear softmax model (Gemm + Softmax) with cross-entropy', async () => {
    const tf = await useBackend(backend);
    const w = normals(21, C * D);
    const b = normals(22, C, 0.5);
    const x = normals(23, N * D);
    const bytes = buildModel({
      nodes: [
        {
          op: 'Gemm',
          name: 'dense',
          inputs: ['x', 'W', 'b'],
          outputs: ['z'],
          attrs: { transB: { i: 1 } },
        },
        {
          op: 'Softmax',
          name: 'softmax',
          inputs: ['z'],
          outputs: ['p'],
          attrs: { axis: { i: 1 } },
        },
      ],
      initializers: [
        { name: 'W', dims: [C, D], data: w },
        { name: 'b', dims: [C], data: b },
      ],
      inputs: [{ name: 'x', shape: ['batch', D] }],
      outputs: ['p'],
    });
    const before = tf.memory().numTensors;
    const curvature = await onnxCurvature(bytes, {
      tf,
      inputs: { x: { data: x, shape: [N, D] } },
      labels: { data: Int32Array.from({ length: N }, (_, n) => n % C), shape: [N] },
      loss: 'ce',
    });
    expect(curvature.layout.blocks.map((blk) => [blk.name, blk.shape])).toEqual([
      ['W', [C, D]],
      ['b', [C]],
    ]);
    expect(curvature.check.maxAbsDifference).toBeLessThanOrEqual(1e-6);
    // float32 model arithmetic against a float64 reference: a few hundred float32 ulps.
    const worst = await checkOperatorContract(curvature.operator, linearSoftmaxHessian(w, b, x), {
      tolerance: arithmeticTolerance.float32,
    });
    expect(worst).toBeLessThanOrEqual(arithmeticTolerance.float32);
    curvature.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([
    { activation: 'Tanh', softmax: false, loss: 'mse' },
    { activation: 'Sigmoid', softmax: true, loss: 'ce' },
  ] as const)(
    'matches the Hessian of the same $activation MLP written directly in tfjs ($loss)',
    async (spec) => {
      const tf = await useBackend(backend);
      const { bytes, weights } = mlpModel({
        sizes: [3, 4, 2],
        activation: spec.activation,
        softmax: spec.softmax,
        linear: 'matmul',
      });
      const x = normals(31, N * 3);
      const labels =
        spec.loss === 'mse'
          ? { data: normals(32, N * 2), shape: [N, 2] }
          : { data: Int32Array.from({ length: N }, (_, n) => n % 2), shape: [N] };
      const curvature = await onnxCurvature(bytes, {
        tf,
        inputs: { x: { data: x, shape: [N, 3] } },
        labels,
        loss: spec.loss,
      });
      const shapes: Record<string, number[]> = { w1: [3, 4], b1: [4], w2: [4, 2], b2: [2] };
      const params = Object.entries(shapes).map(([name, shape]) => ({
        name,
        tensor: tf.tensor(weights[name], shape),
      }));
      const direct = hessianOperator({
        tf,
        params,
        loss: ([w1, b1, w2, b2]) => {
          const pre = tf.add(tf.matMul(tf.tensor(x, [N, 3]), w1), b1);
          const h = spec.activation === 'Tanh' ? tf.tanh(pre) : tf.sigmoid(pre);
          const z = tf.add(tf.matMul(h, w2), b2);
          const y = tf.tensor(labels.data, labels.shape, spec.loss === 'mse' ? 'float32' : 'int32');
          return spec.loss === 'mse' ? meanSquaredError(tf, z, y) : softmaxCrossEntropy(tf, z, y);
        },
      });
      expect(curvature.layout).toEqual(direct.layout);
      // Both sides are float32 tfjs arithmetic on the same ops: a few hundred float32 ulps.
      const worst = await checkOperatorContract(
        curvature.operator,
        await denseMatrix(direct.operator),
        {
          tolerance: arithmeticTolerance.float32,
        },
      );
      expect(worst).toBeLessThanOrEqual(arithmeticTolerance.float32);
      curvature.dispose();
      tf.dispose(params.map((p) => p.tensor));
    },
  );
});
