import { createRandom } from '@hessian-probe/core';
import { arithmeticTolerance } from '@hessian-probe/core/testing';
import { classHierarchy } from '@hessian-probe/core/tfjs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { ClassHierarchyResult } from '@hessian-probe/core/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ClusterGeometry, clusterGeometry } from './cluster-geometry.js';

// The class means δ_{c,c′} come from float32 vector-Jacobian products: the closed forms (float64)
// agree to the shared float32 tolerance, relative.
const F32 = arithmeticTolerance.float32;
const C = 3;
const D = 4;
const PER_CLASS = 6;
// Known class centres; the samples scatter around them, so the empirical means μ_c differ from
// them by the noise: the closed forms use the empirical μ_c, computed below in float64.
const CENTRES = [
  [2, 0, 0, 1],
  [0, 3, 0, 1],
  [0, 0, 1, -2],
];

describe('clusterGeometry on a linear softmax model at W = 0 (p = 1/C for every sample)', () => {
  let geometry: ClusterGeometry;
  const x: number[][] = [];
  const labels: number[] = [];

  beforeAll(async () => {
    if (!(await tf.setBackend('wasm'))) throw new Error('could not switch tfjs to wasm');
    const rng = createRandom(5);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < PER_CLASS; i++) {
        x.push(CENTRES[c].map((m) => Math.fround(m + 0.5 * rng.gaussian())));
        labels.push(c);
      }
    }
    const model = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [D],
          units: C,
          useBias: false,
          activation: 'softmax',
          kernelInitializer: 'zeros',
        }),
      ],
    });
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const xs = tf.tensor2d(x);
    const ys = tf.tensor1d(labels, 'int32');
    try {
      geometry = clusterGeometry(
        await classHierarchy(model, { tf, x: xs, y: ys, topK: C + 1, hessian: false }),
      );
    } finally {
      tf.dispose([xs, ys]);
      model.dispose();
    }
  });

  // With p = 1/C, δ_{i,c′} = C^{-1/2}(e_{c′} − 1/C) ⊗ x_i, so δ_{c,c′} = C^{-1/2}(e_{c′} − 1/C) ⊗ μ_c,
  // δ_c = C^{-1/2} a_c ⊗ μ_c with a_c = (1 − e_c)/(C − 1) − 1/C, and ‖ν_{c,c′}‖² = ‖μ_c‖²(C−2)/(C(C−1)).
  const means = () =>
    Array.from({ length: C }, (_, c) =>
      Array.from(
        { length: D },
        (_, j) => x.filter((_, i) => labels[i] === c).reduce((s, r) => s + r[j], 0) / PER_CLASS,
      ),
    );
  const dot = (a: readonly number[], b: readonly number[]) =>
    a.reduce((s, v, i) => s + v * b[i], 0);
  const a = (c: number) => Array.from({ length: C }, (_, k) => (k === c ? 0 : 1 / (C - 1)) - 1 / C);

  it('level 1: the distances between class means are those of C^{-1/2} a_c ⊗ μ_c', () => {
    const mu = means();
    let sum = 0;
    for (let c = 0; c < C; c++) {
      for (let d = c + 1; d < C; d++) {
        sum +=
          (dot(a(c), a(c)) * dot(mu[c], mu[c]) +
            dot(a(d), a(d)) * dot(mu[d], mu[d]) -
            2 * dot(a(c), a(d)) * dot(mu[c], mu[d])) /
          C;
      }
    }
    const expected = Math.sqrt(sum / ((C * (C - 1)) / 2));
    expect(Math.abs(geometry.classMeanDistance / expected - 1)).toBeLessThan(F32);
    const norm = Math.sqrt(mu.reduce((s, m, c) => s + (dot(a(c), a(c)) * dot(m, m)) / C / C, 0));
    expect(Math.abs(geometry.classMeanNorm / norm - 1)).toBeLessThan(F32);
  });

  it('level 2: r₂² = (C − 2)/(C(C − 1)) Σ_c π_c ‖μ_c‖²', () => {
    const mu = means();
    const expected = Math.sqrt(
      ((C - 2) / (C * (C - 1))) * mu.reduce((s, m) => s + dot(m, m) / C, 0),
    );
    expect(Math.abs(geometry.crossClassSpread / expected - 1)).toBeLessThan(F32);
  });

  it('level 3: r₃² = (1 − 1/C)/C · mean ‖x_i − μ_{c_i}‖², and the sampling-noise level from it', () => {
    const mu = means();
    const scatter =
      x.reduce((s, r, i) => s + r.reduce((t, v, j) => t + (v - mu[labels[i]][j]) ** 2, 0), 0) /
      x.length;
    const expected = Math.sqrt(((1 - 1 / C) / C) * scatter);
    expect(Math.abs(geometry.sampleSpread / expected - 1)).toBeLessThan(F32);
    expect(geometry.sampleSpreadStderr).toBe(0);
    const traceG3 = C * expected ** 2;
    const floor = Math.sqrt((C * traceG3) / (x.length * (C - 1)));
    expect(Math.abs(geometry.noiseFloor / floor - 1)).toBeLessThan(F32);
  });

  it("the shares of the cross-class means' spread explained by class and by logit", () => {
    // δ_{c,c′} built explicitly in float64 (kernel [D, C] row-major: entry j·C + k), equal weights.
    const mu = means();
    const pairMean = (c: number, d: number) =>
      Array.from({ length: D * C }, (_, p) => {
        const [j, k] = [Math.floor(p / C), p % C];
        return (((k === d ? 1 : 0) - 1 / C) * mu[c][j]) / Math.sqrt(C);
      });
    const pairs: { c: number; d: number; v: number[] }[] = [];
    for (let c = 0; c < C; c++)
      for (let d = 0; d < C; d++) if (d !== c) pairs.push({ c, d, v: pairMean(c, d) });
    const average = (vs: number[][]) =>
      vs[0].map((_, p) => vs.reduce((s, v) => s + v[p], 0) / vs.length);
    const spread = (centre: (q: (typeof pairs)[number]) => number[]) =>
      pairs.reduce((s, q) => s + q.v.reduce((t, v, p) => t + (v - centre(q)[p]) ** 2, 0), 0);
    const grand = average(pairs.map((q) => q.v));
    const total = spread(() => grand);
    const byClass = spread((q) => average(pairs.filter((r) => r.c === q.c).map((r) => r.v)));
    const byLogit = spread((q) => average(pairs.filter((r) => r.d === q.d).map((r) => r.v)));
    expect(Math.abs(geometry.explainedByClass - (1 - byClass / total))).toBeLessThan(F32);
    expect(Math.abs(geometry.explainedByLogit - (1 - byLogit / total))).toBeLessThan(F32);
  });
});

describe('clusterGeometry on constructed class-pair means', () => {
  // Only the fields clusterGeometry reads: C = 4 classes, P = 6, unequal frequencies.
  const C4 = 4;
  const P = 6;
  const rng = createRandom(9);
  const rows = Array.from({ length: C4 }, () => Array.from(rng.gaussianVector(P)));
  const columns = Array.from({ length: C4 }, () => Array.from(rng.gaussianVector(P)));
  const construct = (cell: (c: number, d: number) => number[]) => {
    const classPairMeans = new Float64Array(C4 * C4 * P);
    const classMeans = new Float64Array(C4 * P);
    for (let c = 0; c < C4; c++) {
      for (let d = 0; d < C4; d++) {
        const v = cell(c, d);
        classPairMeans.set(v, (c * C4 + d) * P);
        if (d !== c) for (let p = 0; p < P; p++) classMeans[c * P + p] += v[p] / (C4 - 1);
      }
    }
    return {
      classes: C4,
      samples: 40,
      parameters: P,
      classFrequencies: Float64Array.from([0.1, 0.2, 0.3, 0.4]),
      classPairMeans,
      classMeans,
      trace: { value: 1, stderr: 0, exact: true },
      g3: { trace: 0.5, traceFraction: 0.5 },
    } as unknown as ClassHierarchyResult;
  };

  it('an exactly additive table δ_{c,c′} = a_c + b_{c′} is explained fully by the two-way model', () => {
    const g = clusterGeometry(construct((c, d) => rows[c].map((v, p) => v + columns[d][p])));
    expect(g.explainedAdditive).toBeCloseTo(1, 10);
    expect(g.explainedByClass).toBeLessThan(0.9);
    expect(g.explainedByLogit).toBeLessThan(0.9);
  });

  it('a table by class only is explained fully by class, and the two-way model no worse', () => {
    const g = clusterGeometry(
      construct((c, d) => rows[c].map((v, p) => v + 1e-3 * columns[(c + d) % C4][p])),
    );
    expect(g.explainedByClass).toBeGreaterThan(0.999);
    expect(g.explainedAdditive).toBeGreaterThanOrEqual(g.explainedByClass - 1e-12);
  });
});
