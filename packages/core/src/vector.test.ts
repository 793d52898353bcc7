import { describe, expect, it } from 'vitest';
import { createRandom } from './random.js';
import { axpy, dot, norm, orthogonalizeAgainst, orthonormalBasis, scaleInPlace } from './vector.js';

describe('vector kernels', () => {
  it('norm avoids overflow and underflow', () => {
    expect(norm(Float64Array.of(3e200, 4e200))).toBeCloseTo(5e200, -186);
    expect(norm(Float64Array.of(3e-200, 4e-200))).toBeCloseTo(5e-200, 210);
    expect(norm(new Float64Array(3))).toBe(0);
  });

  it('norm is accurate at every magnitude, including mixed ones and non-finite entries', () => {
    const rng = createRandom(5);
    const eps = 2 ** -52;
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 31, 64]) {
      for (const exponent of [-320, -300, -200, -160, -155, -100, 0, 100, 150, 155, 200, 300]) {
        const x = rng.gaussianVector(n).map((v) => v * 10 ** exponent);
        // Math.hypot scales and compensates: accurate to about an ulp. The sum of ⌈n/4⌉ squares
        // per accumulator errs by at most (⌈n/4⌉ + 3)ε relatively; the square root halves it.
        const reference = Math.hypot(...x);
        const bound = (Math.ceil(n / 4) + 4) * eps * reference;
        expect(Math.abs(norm(x) - reference), `n = ${n}, 1e${exponent}`).toBeLessThanOrEqual(bound);
      }
    }
    // One huge and one tiny entry: the tiny one's square underflows harmlessly.
    expect(norm(Float64Array.of(1e200, 1e-200))).toBe(1e200);
    // Squares that overflow only when summed.
    expect(norm(new Float64Array(4).fill(1e154))).toBeCloseTo(2e154, -140);
    // Subnormal entries.
    expect(norm(Float64Array.of(3 * 2 ** -1074, 4 * 2 ** -1074))).toBe(5 * 2 ** -1074);
    expect(norm(Float64Array.of(1, Number.POSITIVE_INFINITY, 2))).toBe(Number.POSITIVE_INFINITY);
    expect(norm(Float64Array.of(Number.NEGATIVE_INFINITY))).toBe(Number.POSITIVE_INFINITY);
    expect(norm(Float64Array.of(1, Number.NaN, Number.POSITIVE_INFINITY))).toBeNaN();
    expect(norm(new Float64Array(0))).toBe(0);
  });

  it('dot, axpy and scaleInPlace handle every length (unrolled loops and their tails)', () => {
    for (let n = 0; n <= 9; n++) {
      // Small integers: every operation below is exact, so the results must be equal.
      const x = Float64Array.from({ length: n }, (_, i) => i + 1);
      const y = Float64Array.from({ length: n }, (_, i) => 2 * i - 3);
      let expected = 0;
      for (let i = 0; i < n; i++) expected += x[i] * y[i];
      expect(dot(x, y)).toBe(expected);
      expect(axpy(3, x, Float64Array.from(y))).toEqual(y.map((v, i) => v + 3 * x[i]));
      expect(scaleInPlace(-2, Float64Array.from(x))).toEqual(x.map((v) => -2 * v));
    }
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
