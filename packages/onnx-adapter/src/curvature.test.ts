import { denseMatrix, OptionError } from '@hessian-probe/core';
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

/** Gemm (W [C, D], transB) + Softmax over the classes, input x [batch, D], output p. */
function linearSoftmaxModel(w: Float32Array, b: Float32Array): Uint8Array {
  return buildModel({
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
}

describe.each(BACKENDS)('onnxCurvature on %s', (backend) => {
  it('gives the exact Hessian of a linear softmax model (Gemm + Softmax) with cross-entropy', async () => {
    const tf = await useBackend(backend);
    const w = normals(21, C * D);
    const b = normals(22, C, 0.5);
    const x = normals(23, N * D);
    const bytes = linearSoftmaxModel(w, b);
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

/**
 * Exact float64 generalized Gauss–Newton matrix G = (1/N) Σₙ Jₙᵀ Aₙ Jₙ of the one-hidden-layer
 * MLP z = act(x W1 + b1) W2 + b2 built by `mlpModel({ linear: 'matmul' })` (W1 [I, H], W2 [H, C]
 * row-major; flat order W1, b1, W2, b2), with Jₙ = ∂zₙ/∂θ in closed form and Aₙ the loss's
 * Hessian in z: (2/C)·I for the mean squared error (mean over the C outputs), diag(p) − ppᵀ
 * for softmax cross-entropy.
 */
function mlpGaussNewton(
  weights: Record<string, Float32Array>,
  x: Float32Array,
  [I, H, Cn]: readonly [number, number, number],
  activation: 'Tanh' | 'Sigmoid',
  loss: 'mse' | 'ce',
): Float64Array {
  const { w1, b1, w2, b2 } = weights;
  const dim = I * H + H + H * Cn + Cn;
  const g = new Float64Array(dim * dim);
  for (let n = 0; n < N; n++) {
    const xn = x.subarray(n * I, (n + 1) * I);
    const pre = Array.from({ length: H }, (_, j) =>
      xn.reduce((s, v, i) => s + v * w1[i * H + j], b1[j]),
    );
    const h = pre.map((v) => (activation === 'Tanh' ? Math.tanh(v) : 1 / (1 + Math.exp(-v))));
    const dh = h.map((v) => (activation === 'Tanh' ? 1 - v * v : v * (1 - v)));
    const z = Array.from({ length: Cn }, (_, c) =>
      h.reduce((s, v, j) => s + v * w2[j * Cn + c], b2[c]),
    );
    // J [C, dim]
    const jac = Array.from({ length: Cn }, () => new Float64Array(dim));
    for (let c = 0; c < Cn; c++) {
      for (let j = 0; j < H; j++) {
        const back = w2[j * Cn + c] * dh[j];
        for (let i = 0; i < I; i++) jac[c][i * H + j] = back * xn[i];
        jac[c][I * H + j] = back;
        jac[c][I * H + H + j * Cn + c] = h[j];
      }
      jac[c][I * H + H + H * Cn + c] = 1;
    }
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const total = e.reduce((s, v) => s + v, 0);
    const p = e.map((v) => v / total);
    const a = (c: number, c2: number) =>
      loss === 'mse' ? (c === c2 ? 2 / Cn : 0) : (c === c2 ? p[c] : 0) - p[c] * p[c2];
    for (let c = 0; c < Cn; c++) {
      for (let c2 = 0; c2 < Cn; c2++) {
        const acc = a(c, c2) / N;
        if (acc === 0) continue;
        for (let r = 0; r < dim; r++) {
          const jr = jac[c][r] * acc;
          if (jr === 0) continue;
          for (let k = 0; k < dim; k++) g[r * dim + k] += jr * jac[c2][k];
        }
      }
    }
  }
  return g;
}

describe.each(BACKENDS)("onnxCurvature kind 'ggn' on %s", (backend) => {
  it.each([
    { activation: 'Tanh', softmax: false, loss: 'mse' },
    { activation: 'Sigmoid', softmax: true, loss: 'ce' },
  ] as const)(
    'gives the exact Gauss–Newton matrix of a $activation MLP ($loss), against a float64 closed form',
    async (spec) => {
      const tf = await useBackend(backend);
      const { bytes, weights } = mlpModel({
        sizes: [3, 4, 2],
        activation: spec.activation,
        softmax: spec.softmax,
        linear: 'matmul',
      });
      const x = normals(33, N * 3);
      const labels =
        spec.loss === 'mse'
          ? { data: normals(34, N * 2), shape: [N, 2] }
          : { data: Int32Array.from({ length: N }, (_, n) => n % 2), shape: [N] };
      const before = tf.memory().numTensors;
      const ggn = await onnxCurvature(bytes, {
        tf,
        inputs: { x: { data: x, shape: [N, 3] } },
        labels,
        loss: spec.loss,
        kind: 'ggn',
      });
      expect(ggn.layout.blocks.map((b) => b.name)).toEqual(['w1', 'b1', 'w2', 'b2']);
      // float32 model arithmetic against a float64 reference: a few hundred float32 ulps.
      const worst = await checkOperatorContract(
        ggn.operator,
        mlpGaussNewton(weights, x, [3, 4, 2], spec.activation, spec.loss),
        { tolerance: arithmeticTolerance.float32 },
      );
      expect(worst).toBeLessThanOrEqual(arithmeticTolerance.float32);
      ggn.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('equals the Hessian of a linear softmax model with cross-entropy (H = G: E = 0)', async () => {
    const tf = await useBackend(backend);
    const w = normals(24, C * D);
    const b = normals(25, C, 0.5);
    const x = normals(26, N * D);
    const ggn = await onnxCurvature(linearSoftmaxModel(w, b), {
      tf,
      inputs: { x: { data: x, shape: [N, D] } },
      labels: { data: Int32Array.from({ length: N }, (_, n) => (n * 3) % C), shape: [N] },
      loss: 'ce',
      kind: 'ggn',
    });
    const worst = await checkOperatorContract(ggn.operator, linearSoftmaxHessian(w, b, x), {
      tolerance: arithmeticTolerance.float32,
    });
    expect(worst).toBeLessThanOrEqual(arithmeticTolerance.float32);
    ggn.dispose();
  });

  it("agrees with the Hessian on the last layer's block (E vanishes there) and differs elsewhere", async () => {
    const tf = await useBackend(backend);
    const { bytes } = mlpModel({ sizes: [3, 4, 2], activation: 'Tanh', linear: 'matmul' });
    const options = {
      tf,
      inputs: { x: { data: normals(35, N * 3), shape: [N, 3] } },
      labels: { data: normals(36, N * 2), shape: [N, 2] },
      loss: 'mse' as const,
    };
    const hessian = await onnxCurvature(bytes, options);
    const ggn = await onnxCurvature(bytes, { ...options, kind: 'ggn' });
    const h = await denseMatrix(hessian.operator);
    const g = await denseMatrix(ggn.operator);
    const dim = hessian.layout.dim;
    const last = 3 * 4 + 4; // w2 and b2 start here
    const scale = Math.max(...h.map(Math.abs));
    let lastBlock = 0;
    let elsewhere = 0;
    for (let r = 0; r < dim; r++) {
      for (let c = 0; c < dim; c++) {
        const d = Math.abs(h[r * dim + c] - g[r * dim + c]) / scale;
        if (r >= last && c >= last) lastBlock = Math.max(lastBlock, d);
        else elsewhere = Math.max(elsewhere, d);
      }
    }
    expect(lastBlock).toBeLessThanOrEqual(arithmeticTolerance.float32);
    // E = Σ (∂ℓ/∂z_c) ∇²z_c is O(1) relative to H off the last layer for random targets.
    expect(elsewhere).toBeGreaterThan(1e-2);
    hessian.dispose();
    ggn.dispose();
  });

  it('refuses a bad kind, and a loss function with ggn, before any work', async () => {
    const tf = await useBackend(backend);
    const { bytes } = mlpModel({ sizes: [3, 2] });
    const base = {
      tf,
      inputs: { x: { data: normals(37, N * 3), shape: [N, 3] } },
      labels: { data: new Int32Array(N), shape: [N] },
    };
    await expect(
      onnxCurvature(bytes, { ...base, loss: 'ce', kind: 'fisher' as 'ggn' }),
    ).rejects.toThrow(OptionError);
    await expect(
      onnxCurvature(bytes, {
        ...base,
        loss: (t, z, y) => softmaxCrossEntropy(t, z, y),
        kind: 'ggn',
      }),
    ).rejects.toThrow(/expected loss 'ce' or 'mse' for kind 'ggn'/);
  });
});
