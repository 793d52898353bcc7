import { describe, expect, it } from 'vitest';
import { createRandom } from './random.js';
import { dot, norm, orthogonalizeAgainst, orthonormalBasis } from './vector.js';

describe('vector kernels', () => {
  it('norm avoids overflow and underflow', () => {
    expect(norm(Float64Array.of(3e200, 4e200))).toBeCloseTo(5e200, -186);
    expect(norm(Float64Array.of(3e-200, 4e-200))).toBeCloseTo(5e-200, 210);
    expect(norm(new Float64Array(3))).toBe(0);
  });

  it('orthonormalBasis drops dependent columns and returns orthonormal vectors', () => {
    const rng = createRandom(1);
    const a = rng.gaussianVector(20);
    const b = rng.gaussianVector(20);
    const sum = a.map((x, i) => x + 2 * b[i]);
    const basis = orthonormalBasis([a, b, sum, rng.gaussianVector(20)]);
    expect(basis).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) expect(dot(basis[i], basis[j])).toBeCloseTo(i === j ? 1 : 0, 14);
    }
  });

  it('orthogonalizeAgainst leaves a vector orthogonal to the basis to working precision', () => {
    const rng = createRandom(2);
    const basis = orthonormalBasis(Array.from({ length: 10 }, () => rng.gaussianVector(50)));
    const w = rng.gaussianVector(50);
    orthogonalizeAgainst(w, basis);
    for (const q of basis) expect(Math.abs(dot(q, w))).toBeLessThan(1e-15 * norm(w) * 10);
  });
});
