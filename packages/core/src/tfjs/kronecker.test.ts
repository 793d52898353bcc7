import { describe, expect, it } from 'vitest';
import { denseMatrix } from '../dense.js';
import { symmetricEigen } from '../symmetric-eigen.js';
import { arithmeticTolerance } from '../testing/operator-contract.js';
import { UnsupportedLayerError } from './errors.js';
import { kroneckerDecoupling, kroneckerFactors } from './kronecker.js';
import { modelCurvature } from './model.js';
import { tf, useBackend } from './testing/backends.js';
import { gaussianData, oneHotLabels, relativeError, setSeededWeights } from './testing/models.js';

// float32 Hessian-vector products and vector-Jacobian products against float64 assembly from
// the same float32 data: the shared float32 tolerance (a few hundred ulps) applies.
const TOLERANCE = arithmeticTolerance.float32;
const N = 12;
const D = 3;
const HIDDEN = 4;
const C = 3;

function mlp(activation: 'relu' | 'tanh' = 'relu') {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [D], units: HIDDEN, activation, name: 'hidden' }),
      tf.layers.dense({ units: C, activation: 'softmax', name: 'out' }),
    ],
  });
}

/** Σ_n M_n ⊗ x_n x_nᵀ / N in float64 (per-output-neuron order: index (i·m + r, j·m + s)). */
function exactIdentity(
  perSample: { inputs: Float64Array; outputHessians: Float64Array },
  n: number,
  m: number,
): Float64Array {
  const d = n * m;
  const out = new Float64Array(d * d);
  for (let s = 0; s < N; s++) {
    const x = perSample.inputs.subarray(s * m, (s + 1) * m);
    const mn = perSample.outputHessians.subarray(s * n * n, (s + 1) * n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const a = mn[i * n + j] / N;
        for (let r = 0; r < m; r++) {
          for (let t = 0; t < m; t++) out[(i * m + r) * d + j * m + t] += a * x[r] * x[t];
        }
      }
    }
  }
  return out;
}

function subBlock(full: Float64Array, dim: number, offset: number, size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let r = 0; r < size; r++) {
    out.set(
      full.subarray((offset + r) * dim + offset, (offset + r) * dim + offset + size),
      r * size,
    );
  }
  return out;
}

describe('Kronecker factors and decoupling (cpu)', () => {
  it('H_L = E[M ⊗ x̃x̃ᵀ] exactly for a hidden relu layer and the last layer (CE, biases)', async () => {
    await useBackend('cpu');
    const model = mlp();
    setSeededWeights(tf, model, 401, 1.5);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(402, N, D)), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(oneHotLabels(N, C).dense), [N, C]);
    const factors = await kroneckerFactors(model, {
      tf,
      x: xs,
      y: ys,
      loss: 'categoricalCrossentropy',
      perSample: true,
    });
    expect(factors.map((f) => [f.name, f.units, f.inputs, f.bias, f.exact])).toEqual([
      ['hidden', HIDDEN, D + 1, true, true],
      ['out', C, HIDDEN + 1, true, true],
    ]);
    // The relu masks must mix, or M's indicator factors would not be tested.
    const hiddenOut = factors[1].perSample!.inputs;
    const zeros = Array.from(hiddenOut).filter((v, i) => i % (HIDDEN + 1) < HIDDEN && v === 0);
    expect(zeros.length).toBeGreaterThan(0);
    expect(zeros.length).toBeLessThan(N * HIDDEN);

    const { operator, layout } = modelCurvature(model, {
      tf,
      x: xs,
      y: ys,
      loss: 'categoricalCrossentropy',
      layout: 'unit',
      selfCheck: false,
    });
    const full = await denseMatrix(operator);
    let offset = 0;
    for (const f of factors) {
      expect(layout.blocks.find((b) => b.offset === offset)?.name).toBe(`${f.name}/unit_0`);
      const d = f.units * f.inputs;
      const block = subBlock(full, layout.dim, offset, d);
      const error = relativeError(exactIdentity(f.perSample!, f.units, f.inputs), block);
      console.info(`H_L = E[M ⊗ xxᵀ] for ${f.name}: relative error ${error.toExponential(2)}`);
      expect(error).toBeLessThan(TOLERANCE);
      // The averaged factors are the per-sample means.
      const meanM = new Float64Array(f.units * f.units);
      f.perSample!.outputHessians.forEach((v, i) => {
        meanM[i % meanM.length] += v / N;
      });
      expect(relativeError(f.outputHessian, meanM)).toBeLessThan(1e-12);
      offset += d;
    }
    // E[M] of the last layer has rank C − 1 exactly: C − 1 positive eigenvalues, one at rounding.
    const { values } = symmetricEigen(factors[1].outputHessian, C);
    console.info(`eig E[M] (last layer): ${Array.from(values, (v) => v.toExponential(2))}`);
    expect(Math.abs(values[0])).toBeLessThan(TOLERANCE * values[C - 1]);
    for (let i = 1; i < C; i++) expect(values[i]).toBeGreaterThan(1e-3 * values[C - 1]);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('chunked factors (batchSize 5) equal the one-chunk ones, sparse labels too', async () => {
    await useBackend('cpu');
    const model = mlp();
    setSeededWeights(tf, model, 441, 1.5);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(442, N, D)), [N, D]);
    const ys = tf.tensor1d(oneHotLabels(N, C).ids, 'int32');
    const options = { tf, x: xs, y: ys, loss: 'softmaxCrossEntropy' } as const;
    const whole = await kroneckerFactors(model, options);
    const chunked = await kroneckerFactors(model, { ...options, batchSize: 5 });
    for (const [i, f] of whole.entries()) {
      expect(relativeError(chunked[i].inputMoment, f.inputMoment)).toBeLessThan(1e-6);
      expect(relativeError(chunked[i].outputHessian, f.outputHessian)).toBeLessThan(1e-5);
    }
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('labels M as Gauss–Newton only below a smooth activation', async () => {
    await useBackend('cpu');
    const model = mlp('tanh');
    const xs = tf.tensor2d(Float32Array.from(gaussianData(403, N, D)), [N, D]);
    const ys = tf.tensor1d(oneHotLabels(N, C).ids, 'int32');
    const factors = await kroneckerFactors(model, {
      tf,
      x: xs,
      y: ys,
      loss: 'softmaxCrossEntropy',
    });
    expect(factors.map((f) => f.exact)).toEqual([false, true]);
    expect(factors[0].smoothDownstream).toEqual(['hidden (tanh)']);
    // The Gauss–Newton M misses the tanh'' term: the identity visibly fails for the hidden
    // layer and still holds for the last one.
    const perSample = await kroneckerFactors(model, {
      tf,
      x: xs,
      y: ys,
      loss: 'softmaxCrossEntropy',
      perSample: true,
    });
    const { operator, layout } = modelCurvature(model, {
      tf,
      x: xs,
      y: ys,
      loss: 'softmaxCrossEntropy',
      layout: 'unit',
      selfCheck: false,
    });
    const full = await denseMatrix(operator);
    const hiddenDim = HIDDEN * (D + 1);
    const hiddenError = relativeError(
      exactIdentity(perSample[0].perSample!, HIDDEN, D + 1),
      subBlock(full, layout.dim, 0, hiddenDim),
    );
    const outError = relativeError(
      exactIdentity(perSample[1].perSample!, C, HIDDEN + 1),
      subBlock(full, layout.dim, hiddenDim, C * (HIDDEN + 1)),
    );
    console.info(
      `tanh: Gauss–Newton identity error hidden ${hiddenError.toExponential(2)}, out ${outError.toExponential(2)}`,
    );
    expect(hiddenError).toBeGreaterThan(1e-3);
    expect(outError).toBeLessThan(TOLERANCE);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('takes functional models that are chains (as fit() hands a Sequential over), refuses others', async () => {
    await useBackend('cpu');
    type Symbolic = ReturnType<typeof tf.input>;
    const input = tf.input({ shape: [D] });
    const hidden = tf.layers.dense({ units: C, activation: 'relu' }).apply(input) as Symbolic;
    const out = tf.layers.dense({ units: C }).apply(hidden) as Symbolic;
    const chain = tf.model({ inputs: input, outputs: out });
    const xs = tf.zeros([N, D]);
    const ys = tf.zeros([N, C]);
    const factors = await kroneckerFactors(chain, { tf, x: xs, y: ys, loss: 'meanSquaredError' });
    expect(factors).toHaveLength(2);
    // A skip connection: the last layer reads the sum of the input branch and the hidden one.
    const input2 = tf.input({ shape: [D] });
    const hidden2 = tf.layers.dense({ units: C, activation: 'relu' }).apply(input2) as Symbolic;
    const skip = tf.layers.dense({ units: C }).apply(input2) as Symbolic;
    const sum = tf.layers.add().apply([hidden2, skip]) as Symbolic;
    const branched = tf.model({ inputs: input2, outputs: sum });
    await expect(
      kroneckerFactors(branched, { tf, x: xs, y: ys, loss: 'meanSquaredError' }),
    ).rejects.toThrow(UnsupportedLayerError);
    tf.dispose([xs, ys]);
    chain.dispose();
    branched.dispose();
  });

  it('linear model with MSE: H = (2/C) I ⊗ E[x̃x̃ᵀ], the decoupling is exact', async () => {
    await useBackend('cpu');
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [D], units: C, name: 'out' })],
    });
    setSeededWeights(tf, model, 411);
    // a nonzero input mean, so that the input dominance is visible
    const x = gaussianData(412, N, D).map((v) => v + 2);
    const xs = tf.tensor2d(Float32Array.from(x), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(gaussianData(413, N, C)), [N, C]);
    const [report] = await kroneckerDecoupling(model, {
      tf,
      x: xs,
      y: ys,
      loss: 'meanSquaredError',
      topK: C,
      selfCheck: false,
    });
    console.info(
      `linear MSE: error ${report.relativeError.toExponential(2)}, overlap ${report.overlap}, dominance ${report.inputDominance.toFixed(2)}`,
    );
    expect(report.method).toBe('dense');
    expect(report.relativeError).toBeLessThan(TOLERANCE);
    expect(report.overlap).toBeGreaterThan(1 - TOLERANCE);
    // Ratios in [0, 1] even where rounding of a near-exact match would land above 1.
    expect(report.overlap).toBeLessThanOrEqual(1);
    for (const e of report.rank1Energy) expect(e).toBeLessThanOrEqual(1);
    for (const r of report.eigenvalueRatios) expect(Math.abs(r - 1)).toBeLessThan(TOLERANCE);
    for (const v of report.outputHessianValues) expect(Math.abs(v - 2 / C)).toBeLessThan(1e-6);
    for (const e of report.rank1Energy) expect(e).toBeGreaterThan(1 - TOLERANCE);
    expect(report.inputDominance).toBeGreaterThan(3);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('linear model with CE at W = 0: A = I/C − 11ᵀ/C² is constant, the decoupling is exact', async () => {
    await useBackend('cpu');
    const model = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [D],
          units: C,
          kernelInitializer: 'zeros',
          biasInitializer: 'zeros',
          name: 'out',
        }),
      ],
    });
    const xs = tf.tensor2d(Float32Array.from(gaussianData(421, N, D)), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(oneHotLabels(N, C).dense), [N, C]);
    const [report] = await kroneckerDecoupling(model, {
      tf,
      x: xs,
      y: ys,
      loss: 'softmaxCrossEntropy',
      topK: C - 1,
      selfCheck: false,
    });
    console.info(
      `linear CE at W = 0: error ${report.relativeError.toExponential(2)}, overlap ${report.overlap}`,
    );
    expect(report.relativeError).toBeLessThan(TOLERANCE);
    expect(report.overlap).toBeGreaterThan(1 - TOLERANCE);
    // E[M] = I/C − 11ᵀ/C²: eigenvalues 1/C (C − 1 times) and 0.
    const m = report.outputHessianValues;
    for (let i = 0; i < C - 1; i++) expect(Math.abs(m[i] - 1 / C)).toBeLessThan(1e-6);
    expect(Math.abs(m[C - 1])).toBeLessThan(1e-6);
    for (const e of report.rank1Energy) expect(e).toBeGreaterThan(1 - TOLERANCE);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('the randomized estimates agree with the dense assembly', async () => {
    await useBackend('cpu');
    const model = mlp();
    setSeededWeights(tf, model, 431, 1.5);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(432, N, D)), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(oneHotLabels(N, C).dense), [N, C]);
    const common = { tf, x: xs, y: ys, loss: 'categoricalCrossentropy', topK: 2 } as const;
    const dense = await kroneckerDecoupling(model, common);
    const randomized = await kroneckerDecoupling(model, {
      ...common,
      maxExactDim: 1,
      probes: 200,
      seed: 1,
      selfCheck: false,
    });
    for (const [i, d] of dense.entries()) {
      const r = randomized[i];
      console.info(
        `${d.name}: dense error ${d.relativeError.toFixed(4)}, randomized ${r.relativeError.toFixed(4)} ± ${r.relativeErrorStandardError.toFixed(4)}; overlap ${d.overlap.toFixed(4)} vs ${r.overlap.toFixed(4)}`,
      );
      expect(d.method).toBe('dense');
      expect(r.method).toBe('randomized');
      expect(d.relativeError).toBeGreaterThan(1e-3);
      expect(Math.abs(r.relativeError - d.relativeError)).toBeLessThan(
        4 * r.relativeErrorStandardError + 1e-6,
      );
      for (let k = 0; k < 2; k++) {
        expect(Math.abs(r.hessianValues[k] - d.hessianValues[k])).toBeLessThan(
          1e-4 * d.hessianValues[0],
        );
      }
      expect(Math.abs(r.overlap - d.overlap)).toBeLessThan(1e-3);
    }
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('handles dead ReLU units (exactly zero rows of H_L): eigenvalues of the live part, zeros', async () => {
    await useBackend('cpu');
    const model = mlp();
    setSeededWeights(tf, model, 451, 1.5);
    // hidden unit 0: zero weights and bias −1, so relu(z_0) = 0 and z_0's rows of H vanish
    const [kernel, bias] = model.layers[0].getWeights();
    const k = kernel.arraySync() as number[][];
    for (const row of k) row[0] = 0;
    const b = bias.arraySync() as number[];
    b[0] = -1;
    model.layers[0].setWeights([tf.tensor2d(k), tf.tensor1d(b)]);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(452, N, D)), [N, D]);
    const ys = tf.tensor1d(oneHotLabels(N, C).ids, 'int32');
    const options = { tf, x: xs, y: ys, loss: 'softmaxCrossEntropy' } as const;
    const [hidden] = await kroneckerDecoupling(model, { ...options, topK: 6, selfCheck: false });
    const { operator, layout } = modelCurvature(model, {
      ...options,
      layout: 'unit',
      selfCheck: false,
    });
    const m = D + 1;
    const block = subBlock(await denseMatrix(operator), layout.dim, 0, HIDDEN * m);
    for (let i = 0; i < m; i++)
      expect(block.subarray(i * HIDDEN * m, (i + 1) * HIDDEN * m).every((v) => v === 0)).toBe(true);
    const live = subBlock(block, HIDDEN * m, m, (HIDDEN - 1) * m);
    const { values } = symmetricEigen(live, (HIDDEN - 1) * m);
    const expected = Array.from(values).reverse();
    for (let i = 0; i < 6; i++) {
      // H_L is PSD here (M = JᵀAJ): the top values are the live part's, then zeros; the report
      // symmetrizes its float32-assembled block first, a change at float32 rounding.
      const reference = Math.max(expected[i], 0);
      expect(Math.abs(hidden.hessianValues[i] - reference)).toBeLessThan(TOLERANCE * expected[0]);
    }
    expect(hidden.hessianValues.every(Number.isFinite)).toBe(true);
    expect(hidden.rank1Energy.every((e) => e > 0 && e <= 1 + 1e-12)).toBe(true);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
