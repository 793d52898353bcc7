import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { denseMatrix } from '../dense.js';
import { OptionError } from '../errors.js';
import { arithmeticTolerance } from '../testing/operator-contract.js';
import { UnsupportedLayerError } from './errors.js';
import { hessianOperator } from './hvp.js';
import { kroneckerDecoupling, kroneckerFactors } from './kronecker.js';
import { KRONECKER_OUTLIER_THRESHOLD, kroneckerSummary } from './kronecker-summary.js';
import { softmaxCrossEntropy } from './losses.js';
import { modelCurvature } from './model.js';
import { tf, useBackend } from './testing/backends.js';
import { gaussianData, oneHotLabels, relativeError, setSeededWeights } from './testing/models.js';

// float32 Hessian-vector and vector-Jacobian products against float64 assembly from the same
// float32 data and weights: the shared float32 tolerance (a few hundred ulps) applies.
const TOLERANCE = arithmeticTolerance.float32;
const N = 8;
const C = 3;
const FILTERS = 2;
const INPUT: [number, number, number] = [5, 5, 2];

interface ConvCase {
  readonly kernel: number;
  readonly strides: number;
  readonly padding: 'valid' | 'same';
}

/** Conv2D(relu) + Flatten + Dense(C) logits: everything after the conv is piecewise linear. */
function cnn({ kernel, strides, padding }: ConvCase) {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: INPUT,
        kernelSize: kernel,
        filters: FILTERS,
        strides,
        padding,
        activation: 'relu',
        name: 'conv',
      }),
      tf.layers.flatten(),
      tf.layers.dense({ units: C, name: 'out' }),
    ],
  });
}

/**
 * The unfolded patches x̃_{n,p} (+1), [N, |P|, m], by an independent route: tfjs's own conv2d
 * with an identity kernel [k, k, c_in, k·k·c_in] copies patch entry (a, b, c) to channel
 * (a·k + b)·c_in + c at every output position.
 */
function patchesByConvolution(x: Tensor4D, { kernel, strides, padding }: ConvCase) {
  const m0 = kernel * kernel * INPUT[2];
  const out = tf.tidy(() =>
    tf.conv2d(
      x,
      tf.reshape(tf.eye(m0), [kernel, kernel, INPUT[2], m0]) as Tensor4D,
      strides,
      padding,
    ),
  );
  const [, oh, ow] = out.shape;
  const positions = oh * ow;
  const data = out.dataSync();
  out.dispose();
  const m = m0 + 1;
  const patches = new Float64Array(N * positions * m);
  for (let r = 0; r < N * positions; r++) {
    for (let e = 0; e < m0; e++) patches[r * m + e] = data[r * m0 + e];
    patches[r * m + m0] = 1;
  }
  return { patches, positions, m };
}

/**
 * Each sample's full output Hessian M_n = ∂²ℓ_n/∂z∂zᵀ over the conv's pre-activation map z
 * [H', W', F] (index p·F + f), from the exact Hessian operator of ℓ_n as a function of z
 * alone, assembled densely.
 */
async function outputHessians(
  model: ReturnType<typeof cnn>,
  x: Tensor4D,
  ys: Tensor,
  { strides, padding }: ConvCase,
): Promise<Float64Array[]> {
  const [conv, flatten, head] = model.layers;
  const [kernel, bias] = conv.getWeights();
  const out: Float64Array[] = [];
  for (let s = 0; s < N; s++) {
    const xs = tf.slice(x, [s, 0, 0, 0], [1, -1, -1, -1]);
    const ysOne = tf.slice(ys, [s, 0], [1, -1]);
    const z = tf.add(tf.conv2d(xs, kernel as Tensor4D, strides, padding), bias);
    const { operator } = hessianOperator({
      tf,
      params: [{ name: 'z', tensor: z }],
      loss: ([zz]) =>
        softmaxCrossEntropy(tf, head.apply(flatten.apply(tf.relu(zz as Tensor))) as Tensor, ysOne),
    });
    out.push(await denseMatrix(operator));
    tf.dispose([xs, ysOne, z]);
  }
  return out;
}

/** Rows [offset, offset + size) × the same columns of a dim×dim matrix. */
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

function frobenius(a: Float64Array): number {
  return Math.sqrt(a.reduce((s, v) => s + v * v, 0));
}

const CASES: [string, ConvCase][] = [
  ['3×3 valid, stride 1 (3×3 positions)', { kernel: 3, strides: 1, padding: 'valid' }],
  [
    "3×3 'same', stride 2 (3×3 positions, padded borders)",
    { kernel: 3, strides: 2, padding: 'same' },
  ],
];

describe('Kronecker factors of Conv2D layers (cpu)', () => {
  it.each(CASES)(
    '%s: exact block, factors and relative error match float64 brute force',
    async (_name, config) => {
      await useBackend('cpu');
      const model = cnn(config);
      setSeededWeights(tf, model, 501, 1.5);
      const x = tf.tensor4d(
        Float32Array.from(gaussianData(502, N, INPUT[0] * INPUT[1] * INPUT[2])),
        [N, ...INPUT],
      );
      const ys = tf.tensor2d(Float32Array.from(oneHotLabels(N, C).dense), [N, C]);
      const { patches, positions, m } = patchesByConvolution(x, config);
      const hessians = await outputHessians(model, x, ys, config);
      const F = FILTERS;
      const d = F * m;

      // Brute force: H_L = E_n Σ_{p,q} M_{n,pq} ⊗ x̃_p x̃_qᵀ, E[M̄] = E_n Σ_p M_{n,pp},
      // E[x̃x̃ᵀ] = E_n (1/|P|) Σ_p x̃_p x̃_pᵀ.
      const exact = new Float64Array(d * d);
      const meanM = new Float64Array(F * F);
      const moment = new Float64Array(m * m);
      for (let s = 0; s < N; s++) {
        const mn = hessians[s];
        const pf = positions * F;
        const patch = (p: number) =>
          patches.subarray((s * positions + p) * m, (s * positions + p + 1) * m);
        for (let p = 0; p < positions; p++) {
          const xp = patch(p);
          for (let r = 0; r < m; r++)
            for (let t = 0; t < m; t++) moment[r * m + t] += (xp[r] * xp[t]) / (N * positions);
          for (let i = 0; i < F; i++)
            for (let j = 0; j < F; j++) meanM[i * F + j] += mn[(p * F + i) * pf + p * F + j] / N;
          for (let q = 0; q < positions; q++) {
            const xq = patch(q);
            for (let i = 0; i < F; i++) {
              for (let j = 0; j < F; j++) {
                const a = mn[(p * F + i) * pf + q * F + j] / N;
                if (a === 0) continue;
                for (let r = 0; r < m; r++) {
                  for (let t = 0; t < m; t++)
                    exact[(i * m + r) * d + j * m + t] += a * xp[r] * xq[t];
                }
              }
            }
          }
        }
      }
      const { operator, layout } = modelCurvature(model, {
        tf,
        x,
        y: ys,
        loss: 'softmaxCrossEntropy',
        layout: 'unit',
        selfCheck: false,
      });
      expect(layout.blocks[0]).toMatchObject({ name: 'conv/unit_0', offset: 0, size: m });
      const block = subBlock(await denseMatrix(operator), layout.dim, 0, d);
      const identity = relativeError(exact, block);
      console.info(
        `[${_name}] H_L = E Σ_pq M_pq ⊗ x̃_p x̃_qᵀ: relative error ${identity.toExponential(2)}`,
      );
      expect(identity).toBeLessThan(TOLERANCE);

      const [conv] = await kroneckerFactors(model, {
        tf,
        x,
        y: ys,
        loss: 'softmaxCrossEntropy',
        perSample: true,
      });
      expect(conv).toMatchObject({
        name: 'conv',
        kind: 'conv2d',
        units: F,
        inputs: m,
        positions,
        bias: true,
        exact: true,
      });
      // the same float32 inputs, copied and multiplied in float64 both ways
      expect(relativeError(conv.perSample!.inputs, patches)).toBeLessThan(1e-12);
      expect(relativeError(conv.inputMoment, moment)).toBeLessThan(1e-12);
      expect(relativeError(conv.outputHessian, meanM)).toBeLessThan(TOLERANCE);

      const kron = new Float64Array(d * d);
      for (let i = 0; i < F; i++) {
        for (let j = 0; j < F; j++) {
          for (let r = 0; r < m; r++) {
            for (let t = 0; t < m; t++)
              kron[(i * m + r) * d + j * m + t] = meanM[i * F + j] * moment[r * m + t];
          }
        }
      }
      const expected = relativeError(kron, exact);
      const [report, out] = await kroneckerDecoupling(model, {
        tf,
        x,
        y: ys,
        loss: 'softmaxCrossEntropy',
        topK: 2,
        selfCheck: false,
      });
      console.info(
        `[${_name}] K = E[ΣM_pp] ⊗ mean_p E[x̃x̃ᵀ]: relative error ${report.relativeError.toFixed(4)} (brute force ${expected.toFixed(4)}), overlap ${report.overlap.toFixed(4)}, rank-1 energy ${Array.from(report.rank1Energy, (v) => v.toFixed(3))}`,
      );
      expect(report).toMatchObject({
        kind: 'conv2d',
        method: 'dense',
        positions,
        units: F,
        inputs: m,
      });
      // Both sides carry float32 errors of relative size TOLERANCE in H_L and in K.
      const bound = TOLERANCE * (2 + frobenius(kron) / frobenius(exact));
      expect(Math.abs(report.relativeError - expected)).toBeLessThan(bound);
      // The positions are coupled (M_pq ≠ 0): the approximation is visibly inexact.
      expect(expected).toBeGreaterThan(0.05);
      for (const e of report.rank1Energy) {
        expect(e).toBeGreaterThanOrEqual(1 / F - TOLERANCE);
        expect(e).toBeLessThanOrEqual(1 + TOLERANCE);
      }
      // Summary: the last layer's E[M] under CE has exactly C − 1 outliers.
      const summary = kroneckerSummary([report, out]);
      expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
      expect(summary.map((s) => [s.name, s.kind, s.outliers])).toEqual([
        ['conv', 'conv2d', F],
        ['out', 'dense', C - 1],
      ]);
      expect(summary[0].relativeError).toBe(report.relativeError);
      expect(summary[0].rank1Energy).toBe(report.rank1Energy[0]);
      tf.dispose([x, ys]);
      model.dispose();
    },
  );

  it('a conv with 1×1 output is a Dense layer on the flattened input: identical factors, exact identity', async () => {
    await useBackend('cpu');
    const config: ConvCase = { kernel: 5, strides: 1, padding: 'valid' };
    const model = cnn(config);
    const theta = setSeededWeights(tf, model, 511, 1.5);
    const dense = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: INPUT }),
        tf.layers.dense({ units: FILTERS, activation: 'relu', name: 'conv' }),
        tf.layers.dense({ units: C, name: 'out' }),
      ],
    });
    // kernel [5, 5, 2, F] row-major is the Dense kernel [50, F] in NHWC flatten order
    let offset = 0;
    for (const w of dense.trainableWeights) {
      const size = w.shape.reduce((p: number, s) => p * (s ?? 1), 1);
      w.write(
        tf.tensor(Float32Array.from(theta.subarray(offset, offset + size)), w.shape as number[]),
      );
      offset += size;
    }
    const x = tf.tensor4d(Float32Array.from(gaussianData(512, N, INPUT[0] * INPUT[1] * INPUT[2])), [
      N,
      ...INPUT,
    ]);
    const ys = tf.tensor1d(oneHotLabels(N, C).ids, 'int32');
    const options = { tf, x, y: ys, loss: 'softmaxCrossEntropy', perSample: true } as const;
    const [conv] = await kroneckerFactors(model, options);
    const [asDense] = await kroneckerFactors(dense, options);
    expect(conv).toMatchObject({ kind: 'conv2d', positions: 1, inputs: asDense.inputs });
    expect(asDense.kind).toBe('dense');
    expect(relativeError(conv.inputMoment, asDense.inputMoment)).toBeLessThan(1e-12);
    expect(relativeError(conv.outputHessian, asDense.outputHessian)).toBeLessThan(TOLERANCE);
    // per-sample identity H_L = E[M ⊗ x̃x̃ᵀ] against the model's exact block
    const m = conv.inputs;
    const d = FILTERS * m;
    const exact = new Float64Array(d * d);
    const { inputs, outputHessians } = conv.perSample!;
    for (let s = 0; s < N; s++) {
      for (let i = 0; i < FILTERS; i++) {
        for (let j = 0; j < FILTERS; j++) {
          const a = outputHessians[s * FILTERS * FILTERS + i * FILTERS + j] / N;
          for (let r = 0; r < m; r++) {
            for (let t = 0; t < m; t++)
              exact[(i * m + r) * d + j * m + t] += a * inputs[s * m + r] * inputs[s * m + t];
          }
        }
      }
    }
    const { operator, layout } = modelCurvature(model, {
      ...options,
      layout: 'unit',
      selfCheck: false,
    });
    const error = relativeError(exact, subBlock(await denseMatrix(operator), layout.dim, 0, d));
    console.info(`1×1 conv: H_L = E[M ⊗ x̃x̃ᵀ] relative error ${error.toExponential(2)}`);
    expect(error).toBeLessThan(TOLERANCE);
    tf.dispose([x, ys]);
    model.dispose();
    dense.dispose();
  });

  it('rejects unsupported Conv2D configurations before any work, naming the layer', async () => {
    await useBackend('cpu');
    const x = tf.zeros([N, ...INPUT]);
    const y = tf.zeros([N, C]);
    const build = (extra: object) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({
            inputShape: INPUT,
            kernelSize: 3,
            filters: FILTERS,
            name: 'bad_conv',
            ...extra,
          }),
          tf.layers.flatten(),
          tf.layers.dense({ units: C }),
        ],
      });
    for (const extra of [{ padding: 'causal' }, { dilationRate: 2 }]) {
      const model = build(extra);
      const error = await kroneckerFactors(model, { tf, x, y, loss: 'meanSquaredError' }).catch(
        (e) => e,
      );
      expect(error).toBeInstanceOf(UnsupportedLayerError);
      expect((error as UnsupportedLayerError).message).toContain('bad_conv');
      expect((error as UnsupportedLayerError).layers.join()).toContain('bad_conv');
      model.dispose();
    }
    tf.dispose([x, y]);
  });
});

describe('kroneckerSummary', () => {
  const report = {
    name: 'l',
    kind: 'dense',
    units: 3,
    inputs: 2,
    positions: 1,
    bias: false,
    exact: true,
    smoothDownstream: [],
    method: 'randomized',
    relativeError: 0.25,
    relativeErrorStandardError: 0.01,
    overlap: 0.9,
    hessianValues: Float64Array.of(3, 1),
    kroneckerValues: Float64Array.of(3, 1),
    eigenvalueRatios: Float64Array.of(1, 1),
    rank1Energy: Float64Array.of(0.8, 0.7),
    inputDominance: Number.POSITIVE_INFINITY,
    outputHessianValues: Float64Array.of(2, 0.5, 1e-2, 1e-5),
    converged: false,
    matvecs: 40,
  } as const;

  it('counts E[M] eigenvalues above the relative threshold and maps Infinity to null', () => {
    const [s] = kroneckerSummary([report]);
    expect(s).toEqual({
      name: 'l',
      kind: 'dense',
      exact: true,
      method: 'randomized',
      relativeError: 0.25,
      relativeErrorStandardError: 0.01,
      overlap: 0.9,
      inputDominance: null,
      rank1Energy: 0.8,
      outliers: 3,
      outlierThreshold: KRONECKER_OUTLIER_THRESHOLD,
      converged: false,
      matvecs: 40,
    });
    expect(kroneckerSummary([report], { outlierThreshold: 1e-2 })[0].outliers).toBe(2);
  });

  it('rejects thresholds outside (0, 1]', () => {
    for (const t of [0, -1, 1.5, Number.NaN]) {
      expect(() => kroneckerSummary([report], { outlierThreshold: t })).toThrow(OptionError);
    }
  });
});
