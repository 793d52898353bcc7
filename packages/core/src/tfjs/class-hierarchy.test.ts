import type { LayersModel } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { denseMatrix } from '../dense.js';
import { SizeLimitError } from '../errors.js';
import { createRandom } from '../random.js';
import { symmetricEigen } from '../symmetric-eigen.js';
import { arithmeticTolerance } from '../testing/operator-contract.js';
import {
  type ClassHierarchyResult,
  classHierarchy,
  classLevelSpectra,
  type LevelSpectrum,
} from './class-hierarchy.js';
import { LossError } from './errors.js';
import { modelCurvature } from './model.js';
import { tf, useBackend } from './testing/backends.js';
import { referenceNetwork } from './testing/forward64.js';
import { gaussianData, oneHotLabels, relativeError, setSeededWeights } from './testing/models.js';

// float32 vector-Jacobian and Gauss–Newton products against float64 references built from the
// same float32 weights and data: relative errors of a few hundred float32 ulps
// (arithmeticTolerance.float32 = 256·2⁻²⁴ ≈ 1.5e-5), relative to the largest entry or
// eigenvalue of the quantity compared. Identities computed entirely in float64 from the same
// class means hold to float64 rounding (arithmeticTolerance.float64 ≈ 2.8e-14, relative).
const F32 = arithmeticTolerance.float32;
const F64 = arithmeticTolerance.float64;
const N = 24;
const D = 5;
const HIDDEN = 4;
const C = 4;

function mlp(): LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [D], units: HIDDEN, activation: 'tanh' }),
      tf.layers.dense({ units: C, activation: 'softmax' }),
    ],
  });
}

interface Reference {
  readonly p: number;
  /** δ_{i,c′} of every sample, [N][C] vectors of P. */
  readonly deltas: Float64Array[][];
  readonly labels: Int32Array;
}

/**
 * Per-sample δ_{i,c′} = √p_{i,c′} J_iᵀ(e_{c′} − p_i) in float64: J_i by the fourth-order central
 * difference of a float64 forward pass (h = 1e-4: truncation ~1e-16, rounding ~1e-12).
 */
function reference(x: Float64Array, theta: Float64Array, labels: Int32Array): Reference {
  const net = referenceNetwork(
    [
      { type: 'dense', units: HIDDEN, activation: 'tanh' },
      { type: 'dense', units: C, activation: 'linear' },
    ],
    D,
    x,
    N,
  );
  const p = net.dim;
  const h = 1e-4;
  const { outputs } = net.outputs(theta);
  const jac = outputs.map(() => new Float64Array(C * p));
  const point = Float64Array.from(theta);
  const at = (j: number, step: number) => {
    point[j] = theta[j] + step;
    const out = net.outputs(point).outputs;
    point[j] = theta[j];
    return out;
  };
  for (let j = 0; j < p; j++) {
    const [p1, m1, p2, m2] = [at(j, h), at(j, -h), at(j, 2 * h), at(j, -2 * h)];
    for (let s = 0; s < N; s++) {
      for (let k = 0; k < C; k++) {
        jac[s][k * p + j] = (8 * (p1[s][k] - m1[s][k]) - (p2[s][k] - m2[s][k])) / (12 * h);
      }
    }
  }
  const deltas = outputs.map((z, s) => {
    const top = Math.max(...z);
    const e = Array.from(z, (v) => Math.exp(v - top));
    const total = e.reduce((a, b) => a + b, 0);
    const prob = e.map((v) => v / total);
    return prob.map((pc, cp) => {
      const d = new Float64Array(p);
      for (let k = 0; k < C; k++) {
        const u = Math.sqrt(pc) * ((k === cp ? 1 : 0) - prob[k]);
        for (let j = 0; j < p; j++) d[j] += u * jac[s][k * p + j];
      }
      return d;
    });
  });
  return { p, deltas, labels };
}

/** Σ_k w_k v_k v_kᵀ, dense P×P. */
function outerSum(vectors: readonly Float64Array[], weights: readonly number[], p: number) {
  const out = new Float64Array(p * p);
  vectors.forEach((v, k) => {
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) out[i * p + j] += weights[k] * v[i] * v[j];
    }
  });
  return out;
}

function descending(a: Float64Array, p: number): Float64Array {
  return symmetricEigen(a, p).values.reverse();
}

/** Class means of the reference: δ_{c,c′}, δ_c, ν_{c,c′}, π_c. */
function referenceMeans(ref: Reference) {
  const { p, deltas, labels } = ref;
  const pair = Array.from({ length: C }, () =>
    Array.from({ length: C }, () => new Float64Array(p)),
  );
  const counts = new Array<number>(C).fill(0);
  for (const l of labels) counts[l]++;
  deltas.forEach((row, s) => {
    row.forEach((d, cp) => {
      for (let j = 0; j < p; j++) pair[labels[s]][cp][j] += d[j] / counts[labels[s]];
    });
  });
  const mean = pair.map((row, c) => {
    const m = new Float64Array(p);
    row.forEach((d, cp) => {
      if (cp !== c) for (let j = 0; j < p; j++) m[j] += d[j] / (C - 1);
    });
    return m;
  });
  const nu = pair.map((row, c) =>
    row.flatMap((d, cp) => (cp === c ? [] : [d.map((v, j) => v - mean[c][j])])),
  );
  return { pair, mean, nu, pi: counts.map((k) => k / N) };
}

/** Orthonormal basis (Gram–Schmidt twice) of the columns, float64. */
function orthonormal(columns: readonly Float64Array[]): Float64Array[] {
  const basis: Float64Array[] = [];
  for (const col of columns) {
    const w = Float64Array.from(col);
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        let s = 0;
        for (let j = 0; j < w.length; j++) s += b[j] * w[j];
        for (let j = 0; j < w.length; j++) w[j] -= s * b[j];
      }
    }
    const nrm = Math.hypot(...w);
    basis.push(w.map((v) => v / nrm));
  }
  return basis;
}

/** ‖UᵀV‖²_F / k with V the top-k eigenvectors of the dense symmetric a. */
function denseOverlap(a: Float64Array, p: number, u: readonly Float64Array[]) {
  const { values, vectors } = symmetricEigen(a, p);
  const k = u.length;
  let sum = 0;
  for (let t = 0; t < k; t++) {
    const col = p - 1 - t;
    for (const b of u) {
      let s = 0;
      for (let j = 0; j < p; j++) s += b[j] * vectors[j * p + col];
      sum += s * s;
    }
  }
  return { overlap: sum / k, gap: values[p - k] - values[p - k - 1], top: values[p - 1] };
}

/** The top-k eigenvectors of a dense symmetric matrix, and the gap λ_k − λ_{k+1}. */
function topEigenvectors(a: Float64Array, p: number, k: number) {
  const { values, vectors } = symmetricEigen(a, p);
  const columns = Array.from({ length: k }, (_, t) =>
    Float64Array.from({ length: p }, (_, j) => vectors[j * p + p - 1 - t]),
  );
  return { columns, gap: values[p - k] - values[p - k - 1], top: values[p - 1] };
}

describe('classHierarchy (2-layer tanh MLP, C = 4, N = 24, cpu)', () => {
  let model: LayersModel;
  let x: Float64Array;
  let ids: Int32Array;
  let dense: Float64Array;
  let ref: Reference;
  let result: ClassHierarchyResult;
  let g: Float64Array;
  let hess: Float64Array;
  let p: number;

  beforeAll(async () => {
    await useBackend('cpu');
    model = mlp();
    const theta = setSeededWeights(tf, model, 3, 1.5);
    x = gaussianData(11, N, D);
    ({ ids, dense } = oneHotLabels(N, C));
    ref = reference(x, theta, ids);
    p = ref.p;
    const xt = tf.tensor2d(Float32Array.from(x), [N, D]);
    const yt = tf.tensor1d(ids, 'int32');
    result = await classHierarchy(model, { tf, x: xt, y: yt, seed: 2 });
    g = await denseMatrix(
      modelCurvature(model, { tf, x: xt, y: yt, loss: 'softmaxCrossEntropy', kind: 'ggn' })
        .operator,
    );
    hess = await denseMatrix(
      modelCurvature(model, { tf, x: xt, y: yt, loss: 'softmaxCrossEntropy' }).operator,
    );
  });

  it('G = (1/N) Σ_i Σ_c′ δδᵀ is the Gauss–Newton operator', () => {
    const all = ref.deltas.flat();
    const assembled = outerSum(all, new Array(all.length).fill(1 / N), p);
    expect(relativeError(g, assembled)).toBeLessThan(F32);
  });

  it('class means match a brute-force per-sample reference', () => {
    const { pair, mean } = referenceMeans(ref);
    const scale = Math.max(...pair.flat().map((d) => Math.hypot(...d)));
    for (let c = 0; c < C; c++) {
      for (let cp = 0; cp < C; cp++) {
        const got = result.classPairMeans.subarray((c * C + cp) * p, (c * C + cp + 1) * p);
        const diff = Math.hypot(...got.map((v, j) => v - pair[c][cp][j]));
        expect(diff).toBeLessThan(F32 * scale);
      }
      const got = result.classMeans.subarray(c * p, (c + 1) * p);
      expect(Math.hypot(...got.map((v, j) => v - mean[c][j]))).toBeLessThan(F32 * scale);
    }
    expect(Array.from(result.classFrequencies)).toEqual(referenceMeans(ref).pi);
  });

  it('level spectra match dense eigendecompositions of the assembled P×P matrices', () => {
    const { pair, mean, nu, pi } = referenceMeans(ref);
    const top = descending(g, p)[0];
    const levels = [
      [result.g0, pair.map((row, c) => row[c]), pi],
      [result.g1, mean, pi.map((w) => w * (C - 1))],
      [result.g2, nu.flat(), pi.flatMap((w) => new Array(C - 1).fill(w))],
      [result.g12, pair.flat(), pi.flatMap((w) => new Array(C).fill(w))],
    ] as const;
    for (const [level, vectors, weights] of levels) {
      const want = descending(outerSum(vectors, weights, p), p);
      expect(level.eigenvalues).toHaveLength(vectors.length);
      level.eigenvalues.forEach((v, k) => {
        expect(Math.abs(v - want[k])).toBeLessThan(F32 * top);
      });
      const trace = want.reduce((a, b) => a + b, 0);
      expect(Math.abs(level.trace - trace)).toBeLessThan(F32 * top);
      expect(level.traceFraction).toBeCloseTo(level.trace / result.trace.value, 12);
    }
  });

  it('G₁₊₂ = G₀ + G₁ + G₂, and G₂ has C zero eigenvalues (Σ_c′ ν_{c,c′} = 0)', () => {
    const { g0, g1, g2, g12 } = result;
    expect(Math.abs(g12.trace - (g0.trace + g1.trace + g2.trace))).toBeLessThan(F64 * g12.trace);
    const fromMeans = (vectors: Float64Array[], weights: number[]) => outerSum(vectors, weights, p);
    const pi = Array.from(result.classFrequencies);
    const pairOf = (c: number, cp: number) =>
      result.classPairMeans.subarray((c * C + cp) * p, (c * C + cp + 1) * p);
    const meanOf = (c: number) => result.classMeans.subarray(c * p, (c + 1) * p);
    const classes = [...Array(C).keys()];
    const others = (c: number) => classes.filter((cp) => cp !== c);
    const m0 = fromMeans(
      classes.map((c) => pairOf(c, c)),
      pi,
    );
    const m1 = fromMeans(
      classes.map(meanOf),
      pi.map((w) => w * (C - 1)),
    );
    const m2 = fromMeans(
      classes.flatMap((c) => others(c).map((cp) => pairOf(c, cp).map((v, j) => v - meanOf(c)[j]))),
      classes.flatMap((c) => others(c).map(() => pi[c])),
    );
    const m12 = fromMeans(
      classes.flatMap((c) => classes.map((cp) => pairOf(c, cp))),
      classes.flatMap((c) => classes.map(() => pi[c])),
    );
    expect(
      relativeError(
        m0.map((v, i) => v + m1[i] + m2[i]),
        m12,
      ),
    ).toBeLessThan(F64);
    const zeros = g2.eigenvalues.subarray(C * (C - 1) - C);
    for (const z of zeros) expect(Math.abs(z)).toBeLessThan(F64 * g2.eigenvalues[0]);
    expect(g2.eigenvalues[C * (C - 2) - 1]).toBeGreaterThan(1e-6 * g2.eigenvalues[0]);
  });

  it('G₃ = G − G₁₊₂ is positive semi-definite and carries the rest of the trace', () => {
    const pairs = Array.from({ length: C * C }, (_, q) =>
      result.classPairMeans.subarray(q * p, (q + 1) * p),
    );
    const weights = pairs.map((_, q) => result.classFrequencies[Math.floor(q / C)]);
    const g12 = outerSum(pairs, weights, p);
    const g3 = g.map((v, i) => v - g12[i]);
    const values = descending(g3, p);
    const norm = descending(g, p)[0];
    expect(values[p - 1]).toBeGreaterThan(-F32 * norm);
    expect(values[0]).toBeGreaterThan(1e-3 * norm);
    expect(Math.abs(result.g3.trace - values.reduce((a, b) => a + b, 0))).toBeLessThan(F32 * norm);
  });

  it('exact tr G equals the dense Gauss–Newton trace; per-sample δ span at most C − 1 dimensions', () => {
    let trace = 0;
    for (let i = 0; i < p; i++) trace += g[i * p + i];
    expect(result.trace.exact).toBe(true);
    expect(Math.abs(result.trace.value - trace)).toBeLessThan(F32 * trace);
    const grams = result.trace.sampleGrams as Float64Array;
    expect(grams).toHaveLength(N * C * C);
    for (let s = 0; s < N; s++) {
      const gram = grams.slice(s * C * C, (s + 1) * C * C);
      const want = ref.deltas[s];
      const scale = Math.max(...gram);
      for (let a = 0; a < C; a++) {
        for (let b = 0; b < C; b++) {
          let dotRef = 0;
          for (let j = 0; j < p; j++) dotRef += want[a][j] * want[b][j];
          expect(Math.abs(gram[a * C + b] - dotRef)).toBeLessThan(F32 * scale);
        }
      }
      const values = descending(gram, C);
      expect(values[C - 1]).toBeLessThan(F32 * values[0]);
      expect(values[C - 2]).toBeGreaterThan(1e-4 * values[0]);
    }
  });

  it('top eigenvalues of G, eigengaps and the class-mean overlap agree with dense references', () => {
    const want = descending(g, p);
    const top = want[0];
    expect(result.gaussNewton.converged).toBe(true);
    expect(result.gaussNewton.values).toHaveLength(C + 1);
    result.gaussNewton.values.forEach((v, k) => {
      expect(Math.abs(v - want[k])).toBeLessThan(F32 * top);
    });
    const [before, at] = result.eigengaps.gaussNewton;
    expect(before.position).toBe(C - 1);
    expect(at.position).toBe(C);
    expect(at.ratio).toBe(result.gaussNewton.values[C - 1] / result.gaussNewton.values[C]);
    expect(result.eigengaps.g12.map((e) => e.value)).toEqual([
      result.g12.eigenvalues[C - 2],
      result.g12.eigenvalues[C - 1],
    ]);

    const { mean, pi } = referenceMeans(ref);
    const span = orthonormal(mean);
    const g1 = topEigenvectors(
      outerSum(
        mean,
        pi.map((w) => w * (C - 1)),
        p,
      ),
      p,
      C - 1,
    );
    expect(result.classMeanRank).toBe(C);
    expect(result.overlap.k).toBe(C);
    expect(result.overlap.leading.k).toBe(C - 1);
    const { leading } = result.overlap;
    for (const [got, u, uAngle, matrix, residuals] of [
      [result.overlap.gaussNewton, span, 0, g, result.gaussNewton.residuals],
      [result.overlap.hessian, span, 0, hess, result.hessian?.residuals],
      [leading.gaussNewton, g1.columns, (F32 * g1.top) / g1.gap, g, result.gaussNewton.residuals],
      [leading.hessian, g1.columns, (F32 * g1.top) / g1.gap, hess, result.hessian?.residuals],
    ] as const) {
      const { overlap, gap, top: largest } = denseOverlap(matrix, p, u);
      // Davis–Kahan: each eigenvector is off by at most (residual + matrix error)/gap in angle
      // (and G₁'s by its float32 error over its gap); the overlap moves by at most twice the
      // sum of those angles over k.
      const angle = (Math.max(...(residuals ?? [])) + F32 * largest) / gap + uAngle;
      expect(got).toBeDefined();
      expect(Math.abs((got as number) - overlap)).toBeLessThan(2 * angle + F32);
      expect(overlap).toBeGreaterThan(0);
      expect(overlap).toBeLessThanOrEqual(1 + F64);
    }
    expect(result.cost).toEqual({
      classMeanVjps: C * C,
      traceVjps: N * C,
      gaussNewtonMatvecs: result.gaussNewton.matvecs,
      hessianMatvecs: result.hessian?.matvecs,
    });
  });

  it('the sign-probe trace estimate is within 4 standard errors of the exact trace', async () => {
    const xt = tf.tensor2d(Float32Array.from(x), [N, D]);
    const yt = tf.tensor2d(Float32Array.from(dense), [N, C]);
    const estimate = await classHierarchy(model, {
      tf,
      x: xt,
      y: yt,
      traceProbes: 64,
      hessian: false,
      seed: 5,
    });
    expect(estimate.trace.exact).toBe(false);
    expect(estimate.trace.sampleGrams).toBeUndefined();
    expect(estimate.trace.stderr).toBeGreaterThan(0);
    expect(Math.abs(estimate.trace.value - result.trace.value)).toBeLessThan(
      4 * estimate.trace.stderr,
    );
    // one-hot labels give the same class means as class ids
    expect(relativeError(estimate.classPairMeans, result.classPairMeans)).toBe(0);
    expect(estimate.hessian).toBeUndefined();
    expect(estimate.cost.traceVjps).toBe(64);
    tf.dispose([xt, yt]);
  });

  it('rejects too much memory and a missing class before any tensor work', async () => {
    let applied = 0;
    const watched = new Proxy(model, {
      get(target, key, receiver) {
        if (key === 'apply') {
          return (...args: Parameters<LayersModel['apply']>) => {
            applied++;
            return target.apply(...args);
          };
        }
        return Reflect.get(target, key, receiver);
      },
    });
    const xt = tf.tensor2d(Float32Array.from(x), [N, D]);
    const yt = tf.tensor1d(ids, 'int32');
    const noClass2 = tf.tensor1d(
      ids.map((c) => (c === 2 ? 1 : c)),
      'int32',
    );
    const before = tf.memory().numTensors;
    const bytes = (C * C + C) * p * 8 + C ** 4 * 8;
    await expect(
      classHierarchy(watched, { tf, x: xt, y: yt, maxBytes: bytes - 1 }),
    ).rejects.toThrow(SizeLimitError);
    await expect(classHierarchy(watched, { tf, x: xt, y: noClass2 })).rejects.toThrow(LossError);
    // The eigensolvers' budget: maxMatvecs below topK = C + 1, and a tolerance of 0.
    await expect(classHierarchy(watched, { tf, x: xt, y: yt, maxMatvecs: C })).rejects.toThrow(
      /maxMatvecs/,
    );
    await expect(classHierarchy(watched, { tf, x: xt, y: yt, tol: 0 })).rejects.toThrow(/tol/);
    expect(applied).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xt, yt, noClass2]);
  });

  it('refuses models trained with another loss or ending in a sigmoid, before any work', async () => {
    const xt = tf.tensor2d(Float32Array.from(x), [N, D]);
    const yt = tf.tensor1d(ids, 'int32');
    const mse = mlp();
    mse.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    await expect(classHierarchy(mse, { tf, x: xt, y: yt })).rejects.toThrow(
      /softmax cross-entropy .* compiled with 'meanSquaredError'/,
    );
    const sigmoid = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [D], units: HIDDEN, activation: 'tanh' }),
        tf.layers.dense({ units: C, activation: 'sigmoid' }),
      ],
    });
    await expect(classHierarchy(sigmoid, { tf, x: xt, y: yt })).rejects.toThrow(LossError);
    const crossEntropy = mlp();
    crossEntropy.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    const before = tf.memory().numTensors;
    await expect(classHierarchy(crossEntropy, { tf, x: xt, y: yt, maxBytes: 1 })).rejects.toThrow(
      SizeLimitError,
    ); // accepted loss: fails only at the memory check
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xt, yt]);
    for (const m of [mse, sigmoid, crossEntropy]) m.dispose();
  });
});

describe('classLevelSpectra (random class-pair means, C = 5, P = 30)', () => {
  const c = 5;
  const p = 30;
  const rng = createRandom(17);
  const pairMeans = Float64Array.from({ length: c * c * p }, () => rng.gaussian());
  const raw = Array.from({ length: c }, () => 0.2 + rng.uniform());
  const pi = Float64Array.from(raw, (w) => w / raw.reduce((a, b) => a + b, 0));
  const classes = [...Array(c).keys()];
  const others = (k: number) => classes.filter((j) => j !== k);
  const pairOf = (k: number, j: number) => pairMeans.subarray((k * c + j) * p, (k * c + j + 1) * p);
  const meanOf = (k: number) => {
    const out = new Float64Array(p);
    for (const j of others(k)) {
      const d = pairOf(k, j);
      for (let t = 0; t < p; t++) out[t] += d[t] / (c - 1);
    }
    return out;
  };

  /** The Gram matrix [√(w_a w_b)⟨u_a, u_b⟩] of explicitly assembled vectors, its spectrum and trace. */
  function bruteForce(vectors: readonly Float64Array[], weights: readonly number[]) {
    const k = vectors.length;
    const gram = new Float64Array(k * k);
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        let s = 0;
        for (let t = 0; t < p; t++) s += vectors[a][t] * vectors[b][t];
        gram[a * k + b] = Math.sqrt(weights[a] * weights[b]) * s;
      }
    }
    const trace = vectors.reduce(
      (sum, v, a) => sum + weights[a] * v.reduce((s, x) => s + x * x, 0),
      0,
    );
    return {
      values: descending(gram, k),
      trace,
      dense: descending(outerSum(vectors, weights, p), p),
    };
  }

  it('matches Gram matrices of the assembled δ_{c,c}, δ_c, ν_{c,c′}, δ_{c,c′} and the dense P×P spectra', () => {
    const got = classLevelSpectra(pairMeans, pi, c, p);
    const cases: [LevelSpectrum, Float64Array[], number[]][] = [
      [got.g0, classes.map((k) => pairOf(k, k)), classes.map((k) => pi[k])],
      [got.g1, classes.map(meanOf), classes.map((k) => pi[k] * (c - 1))],
      [
        got.g2,
        classes.flatMap((k) => others(k).map((j) => pairOf(k, j).map((v, t) => v - meanOf(k)[t]))),
        classes.flatMap((k) => others(k).map(() => pi[k])),
      ],
      [
        got.g12,
        classes.flatMap((k) => classes.map((j) => pairOf(k, j))),
        classes.flatMap((k) => classes.map(() => pi[k])),
      ],
    ];
    for (const [level, vectors, weights] of cases) {
      const want = bruteForce(vectors, weights);
      const top = want.values[0];
      expect(level.eigenvalues).toHaveLength(vectors.length);
      level.eigenvalues.forEach((v, k) => {
        expect(Math.abs(v - want.values[k]), `eigenvalue ${k} of ${vectors.length}`).toBeLessThan(
          F64 * top,
        );
        expect(Math.abs(v - want.dense[k]), `dense eigenvalue ${k}`).toBeLessThan(F64 * top);
      });
      expect(Math.abs(level.trace - want.trace)).toBeLessThan(F64 * want.trace);
    }
    // P = 30 >= C² = 25: G₁₊₂ has full rank C², G₂ rank C(C − 2) (Σ_c′ ν_{c,c′} = 0).
    expect(got.g12.eigenvalues[c * c - 1]).toBeGreaterThan(1e-6 * got.g12.eigenvalues[0]);
    expect(got.g2.eigenvalues[c * (c - 2) - 1]).toBeGreaterThan(1e-6 * got.g2.eigenvalues[0]);
    for (const z of got.g2.eigenvalues.subarray(c * (c - 2))) {
      expect(Math.abs(z)).toBeLessThan(F64 * got.g2.eigenvalues[0]);
    }
  });
});
