import { createRandom } from '@hessian-probe/core';
import { describe, expect, it } from 'vitest';
import { chanceOverlap, subspaceOverlap } from './overlap.js';

/** k orthonormal vectors of length P from Gaussian ones (Gram–Schmidt twice): Haar-random span. */
function randomBasis(P: number, k: number, seed: number): Float64Array[] {
  const rng = createRandom(seed);
  const basis: Float64Array[] = [];
  while (basis.length < k) {
    const v = rng.gaussianVector(P);
    for (let pass = 0; pass < 2; pass++) {
      for (const u of basis) {
        let dot = 0;
        for (let i = 0; i < P; i++) dot += u[i] * v[i];
        for (let i = 0; i < P; i++) v[i] -= dot * u[i];
      }
    }
    const norm = Math.hypot(...v);
    basis.push(v.map((x) => x / norm));
  }
  return basis;
}

describe('subspaceOverlap', () => {
  it('is 1 for a subspace with itself and with any other basis of it', () => {
    const u = randomBasis(30, 4, 1);
    expect(subspaceOverlap(u, u, 4)).toBeCloseTo(1, 14);
    // A rotation inside the span: (u0 + u1)/√2, (u0 − u1)/√2, u2, u3.
    const rotated = [
      u[0].map((x, i) => (x + u[1][i]) / Math.SQRT2),
      u[0].map((x, i) => (x - u[1][i]) / Math.SQRT2),
      u[2],
      u[3],
    ];
    expect(subspaceOverlap(u, rotated, 4)).toBeCloseTo(1, 14);
    // The rotation mixes u0 and u1 only, so the first two vectors span the same plane; u2, u3 are orthogonal to it.
    expect(subspaceOverlap(u, rotated, 2)).toBeCloseTo(1, 14);
    expect(subspaceOverlap(u, [u[2], u[3]], 2)).toBeCloseTo(0, 14);
  });

  it('refuses k beyond a basis', () => {
    const u = randomBasis(10, 2, 2);
    expect(() => subspaceOverlap(u, u, 3)).toThrow('expected 1 <= k <= 2 (the basis sizes), got 3');
  });
});

describe('chanceOverlap', () => {
  it('gives the mean and spread of the overlap with random subspaces', () => {
    // 400 random pairs of 5-dimensional subspaces of ℝ^40. The sample mean's standard error is
    // sd/√400; it must lie within 4 of them of k/P (a false failure has probability 6e-5). The
    // sample variance of 400 draws has relative standard error about √(2/399) ≈ 0.071 (plus
    // a kurtosis term, small here): within ±30 % of the formula.
    const P = 40;
    const k = 5;
    const { mean, sd } = chanceOverlap(k, P);
    const fixed = randomBasis(P, k, 3);
    const draws = Array.from({ length: 400 }, (_, i) =>
      subspaceOverlap(fixed, randomBasis(P, k, 100 + i), k),
    );
    const sampleMean = draws.reduce((s, v) => s + v, 0) / draws.length;
    const sampleSd = Math.sqrt(
      draws.reduce((s, v) => s + (v - sampleMean) ** 2, 0) / (draws.length - 1),
    );
    expect(Math.abs(sampleMean - mean)).toBeLessThan((4 * sd) / Math.sqrt(draws.length));
    expect(sampleSd / sd).toBeGreaterThan(0.7);
    expect(sampleSd / sd).toBeLessThan(1.3);
  });

  it('for k = 1 is the Beta(1/2, (P−1)/2) law of a squared cosine', () => {
    const P = 50;
    const a = 0.5;
    const b = (P - 1) / 2;
    const { mean, sd } = chanceOverlap(1, P);
    expect(mean).toBeCloseTo(a / (a + b), 15);
    expect(sd).toBeCloseTo(Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1))), 15);
  });
});
