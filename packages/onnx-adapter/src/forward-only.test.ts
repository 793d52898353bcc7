import { denseMatrix, HessianProbeError, OptionError } from '@hessian-probe/core';
import { describe, expect, it } from 'vitest';
import { onnxCurvature } from './curvature.js';
import { DEFAULT_RELATIVE_STEP, forwardOnlyTrace, noiseLevel } from './forward-only.js';
import { OnnxFormatError } from './proto.js';
import { useBackend } from './testing/backends.js';
import { buildModel, mlpModel, normals } from './testing/models.js';

const N = 16;
const I = 3;
const C = 2;

/**
 * y = Sin(x W + b), W [I, C], b [C]: Sin is outside the converter's operator set. With the mean
 * squared error L = (1/(NC)) Σ f(a_nc), f(a) = (sin a − t)², a = xW + b, everything below is
 * closed form in float64: f″ = 2 cos 2a + 2t sin a, f⁗ = −8 cos 2a − 2t sin a.
 */
function sinModel() {
  const w = normals(61, I * C, 0.8);
  const b = normals(62, C, 0.5);
  const x = normals(63, N * I);
  const t = normals(64, N * C, 0.5);
  const bytes = buildModel({
    nodes: [
      { op: 'MatMul', name: 'matmul', inputs: ['x', 'W'], outputs: ['m'] },
      { op: 'Add', name: 'bias', inputs: ['m', 'b'], outputs: ['a'] },
      { op: 'Sin', name: 'sine', inputs: ['a'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'W', dims: [I, C], data: w },
      { name: 'b', dims: [C], data: b },
    ],
    inputs: [{ name: 'x', shape: ['batch', I] }],
    outputs: ['y'],
  });
  const a = (n: number, c: number) =>
    Array.from({ length: I }, (_, i) => x[n * I + i] * w[i * C + c]).reduce((s, v) => s + v, b[c]);
  /**
   * Σ over samples and outputs of g(a_nc, t_nc) · m(features of n), divided by NC, where the
   * features of a sample are its x (block W), [1] (block b) or [x, 1] (all parameters).
   */
  const average = (
    g: (a: number, t: number) => number,
    m: (features: number[]) => number,
    block: 'W' | 'b' | 'all',
  ) => {
    let sum = 0;
    for (let n = 0; n < N; n++) {
      const xs = Array.from(x.subarray(n * I, (n + 1) * I));
      const features = block === 'W' ? xs : block === 'b' ? [1] : [...xs, 1];
      for (let c = 0; c < C; c++) sum += g(a(n, c), t[n * C + c]) * m(features);
    }
    return sum / (N * C);
  };
  const f2 = (v: number, target: number) => 2 * Math.cos(2 * v) + 2 * target * Math.sin(v);
  const f4 = (v: number, target: number) => -8 * Math.cos(2 * v) - 2 * target * Math.sin(v);
  const squareNorm = (f: number[]) => f.reduce((s, v) => s + v * v, 0);
  return {
    bytes,
    x,
    t,
    /** tr H_bb (or tr H): (1/NC) Σ f″(a)·‖features‖². */
    trace: (block: 'W' | 'b' | 'all') => average(f2, squareNorm, block),
    /**
     * The expected truncation E[D_h(z)] − tr H_bb = (h²/12)·E ∂⁴L[z,z,z,z] + O(h⁴): along z,
     * a_nc moves by s = Σ features·z, and E s⁴ = 3‖f‖⁴ − 2Σf⁴ for Rademacher z.
     */
    truncation: (block: 'W' | 'b' | 'all', h: number) =>
      ((h * h) / 12) *
      average(f4, (f) => 3 * squareNorm(f) ** 2 - 2 * f.reduce((s, v) => s + v ** 4, 0), block),
  };
}

describe('forwardOnlyTrace', () => {
  it('estimates the trace and block traces of a graph with an unsupported op (Sin) within the derived bound', async () => {
    const tf = await useBackend('cpu');
    const m = sinModel();
    const options = {
      inputs: { x: { data: m.x, shape: [N, I] } },
      labels: { data: m.t, shape: [N, C] },
      loss: 'mse' as const,
      probes: 40,
      seed: 3,
    };
    // The exact route refuses the graph, and points to the forward-only estimate.
    await expect(onnxCurvature(m.bytes, { tf, ...options })).rejects.toThrow(
      /Sin \(node sine\).*--forward-only/,
    );
    await expect(onnxCurvature(m.bytes, { tf, ...options })).rejects.toBeInstanceOf(
      OnnxFormatError,
    );

    const r = await forwardOnlyTrace(m.bytes, options);
    expect(r.method).toBe('second-difference');
    expect(r.estimate).toBe(true);
    expect(r.layout.blocks.map((b) => b.name)).toEqual(['W', 'b']);
    // 1 center + 8 noise points + 2 per probe on each of the 2 blocks.
    expect(r.forwardPasses).toBe(1 + 8 + 2 * 40 * 2);
    // float32 loss values of magnitude ~1: the measured noise is a few float32 roundings.
    expect(r.lossNoise).toBeGreaterThan(0);
    expect(r.lossNoise).toBeLessThan(64 * 2 ** -24);
    for (const [i, name] of (['W', 'b'] as const).entries()) {
      const est = r.blocks[i];
      const reference = m.trace(name) + m.truncation(name, est.step);
      // Sampling (4 standard errors) + rounding (3σ of the measured noise); the truncation
      // is in the reference, up to O(h⁴) (h⁴ < 1e-7 here).
      expect(Math.abs(est.estimate - reference)).toBeLessThanOrEqual(
        4 * est.stderr + est.roundingBound,
      );
    }
    // H_bb is diagonal here (the outputs are separate), so zᵀH_bb z = tr H_bb for every probe:
    // only truncation and rounding remain.
    expect(r.blocks[1].stderr).toBeLessThan(r.blocks[1].roundingBound);
    expect(r.trace.estimate).toBeCloseTo(r.blocks[0].estimate + r.blocks[1].estimate, 12);

    const full = await forwardOnlyTrace(m.bytes, { ...options, blocks: false });
    expect(full.blocks).toEqual([]);
    expect(full.forwardPasses).toBe(1 + 8 + 2 * 40);
    const reference = m.trace('all') + m.truncation('all', full.trace.step);
    expect(Math.abs(full.trace.estimate - reference)).toBeLessThanOrEqual(
      4 * full.trace.stderr + full.trace.roundingBound,
    );
  });

  it.each([
    { activation: 'Tanh', softmax: false, loss: 'mse' },
    { activation: 'Sigmoid', softmax: true, loss: 'ce' },
  ] as const)(
    'matches the exact trace of a convertible $activation MLP ($loss) within the derived bound',
    async (spec) => {
      const tf = await useBackend('cpu');
      const { bytes } = mlpModel({
        sizes: [3, 5, 3],
        activation: spec.activation,
        softmax: spec.softmax,
      });
      const x = normals(51, N * 3);
      const labels =
        spec.loss === 'mse'
          ? { data: normals(52, N * 3), shape: [N, 3] }
          : { data: Int32Array.from({ length: N }, (_, n) => n % 3), shape: [N] };
      const inputs = { x: { data: x, shape: [N, 3] } };
      const exact = await onnxCurvature(bytes, { tf, inputs, labels, loss: spec.loss });
      const h = await denseMatrix(exact.operator);
      const { dim, blocks } = exact.layout;
      exact.dispose();
      const blockTrace = blocks.map((b) => {
        let s = 0;
        for (let i = b.offset; i < b.offset + b.size; i++) s += h[i * dim + i];
        return s;
      });
      const r = await forwardOnlyTrace(bytes, { inputs, labels, loss: spec.loss, seed: 1 });
      // The truncation (h²/12)·E ∂⁴L[z⁴] has no closed form here; with h = 2⁻⁶·rms(θ) it is
      // O(1e-4) relative, far below 4 standard errors of 30 probes (each ~5% of the trace).
      for (const [i, est] of r.blocks.entries()) {
        expect(Math.abs(est.estimate - blockTrace[i])).toBeLessThanOrEqual(
          4 * est.stderr + est.roundingBound,
        );
      }
      const trace = blockTrace.reduce((a, b) => a + b, 0);
      expect(Math.abs(r.trace.estimate - trace)).toBeLessThanOrEqual(
        4 * r.trace.stderr + r.trace.roundingBound,
      );
    },
  );

  it('measures independent noise of standard deviation σ as σ (Moré & Wild)', () => {
    const noise = normals(71, 9, 1e-6);
    // A smooth quadratic plus noise: differences of order >= 3 see only the noise.
    const values = Array.from(noise, (e, i) => 2 + 0.1 * i + 0.01 * i * i + e);
    const sigma = noiseLevel(values);
    // Nine samples: the estimate is within a factor ~2 of σ = 1e-6 (chi-square with few dof).
    expect(sigma).toBeGreaterThan(0.4e-6);
    expect(sigma).toBeLessThan(2.5e-6);
    expect(noiseLevel(Array.from({ length: 9 }, (_, i) => 1 + i * i))).toBe(0);
  });

  it('uses the given step, and the default relative step u^(1/4)', async () => {
    const m = sinModel();
    const options = {
      inputs: { x: { data: m.x, shape: [N, I] } },
      labels: { data: m.t, shape: [N, C] },
      loss: 'mse' as const,
      probes: 2,
    };
    const r = await forwardOnlyTrace(m.bytes, { ...options, step: 0.01 });
    expect(r.blocks.map((b) => b.step)).toEqual([0.01, 0.01]);
    expect(DEFAULT_RELATIVE_STEP).toBe(2 ** -6);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['probes below 2', { probes: 1 }, /expected probes to be an integer >= 2, got 1/],
    ['a zero step', { step: 0 }, /expected step to be a finite number > 0, got 0/],
    ['a fractional seed', { seed: 0.5 }, /expected seed to be a safe integer, got 0\.5/],
    ['an unknown loss', { loss: 'bce' }, /expected loss 'ce' or 'mse', got bce/],
    ['an unknown parameter', { parameters: ['W', 'nope'] }, /"nope" \(no such initializer\)/],
    ['an unknown output', { output: 'z' }, /expected output to be one of y, got z/],
    ['a missing input', { inputs: {} }, /expected input x as data matching its shape/],
    [
      'labels of another batch',
      { labels: { data: new Float32Array(4), shape: [2, 2] } },
      /expected labels for 16 samples, got shape \[2,2\]/,
    ],
  ];
  it.each(bad)('refuses %s with an OptionError before any pass', async (_, change, message) => {
    const m = sinModel();
    const options = {
      inputs: { x: { data: m.x, shape: [N, I] } },
      labels: { data: m.t, shape: [N, C] },
      loss: 'mse' as const,
      ...change,
    } as Parameters<typeof forwardOnlyTrace>[1];
    const error = await forwardOnlyTrace(m.bytes, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptionError);
    expect((error as Error).message).toMatch(message);
  });

  it('reports an input onnxruntime cannot run as a typed error', async () => {
    const m = sinModel();
    const error = await forwardOnlyTrace(m.bytes, {
      inputs: { x: { data: new Float32Array(N * 4), shape: [N, 4] } },
      labels: { data: m.t, shape: [N, C] },
      loss: 'mse',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HessianProbeError);
    expect((error as HessianProbeError).code).toBe('onnx-forward-only');
    expect((error as Error).message).toMatch(
      /forwardOnlyTrace: expected onnxruntime to run the model on the inputs \(forward pass 1\), got: /,
    );
  });

  it('refuses labels that do not fit the output (first pass)', async () => {
    const m = sinModel();
    await expect(
      forwardOnlyTrace(m.bytes, {
        inputs: { x: { data: m.x, shape: [N, I] } },
        labels: { data: new Int32Array(N), shape: [N] },
        loss: 'mse',
      }),
    ).rejects.toThrow(/expected float32 targets shaped like the output \[16,2\] for loss 'mse'/);
  });
});
