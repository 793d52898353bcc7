import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { DimensionError } from './errors.js';
import { createRandom } from './random.js';
import { symmetricEigen } from './symmetric-eigen.js';
import { conjugatedSpectrum } from './testing/spectra.js';

function randomSymmetric(n: number, seed: number): Float64Array {
  const rng = createRandom(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const x = rng.gaussian();
      a[i * n + j] = x;
      a[j * n + i] = x;
    }
  }
  return a;
}

/** Projected matrix of a thick restart: diagonal θ, an arrowhead row s, then tridiagonal. */
function arrowheadTridiagonal(kept: number, n: number, seed: number): Float64Array {
  const rng = createRandom(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) a[i * n + i] = rng.gaussian();
  for (let i = 0; i < kept; i++) {
    const s = 1e-3 * rng.gaussian();
    a[i * n + kept] = s;
    a[kept * n + i] = s;
  }
  for (let i = kept; i + 1 < n; i++) {
    const b = Math.abs(rng.gaussian());
    a[i * n + i + 1] = b;
    a[(i + 1) * n + i] = b;
  }
  return a;
}

/**
 * Checks values against ml-matrix and the decomposition itself: ‖AV − VΛ‖ and ‖VᵀV − I‖,
 * all relative to ‖A‖. Householder + QL is backward stable, so each is a small multiple of
 * n·ε (ε = 2⁻⁵² ≈ 2.2e-16): 1e-13 covers n up to ~100 with a wide margin.
 */
function checkDecomposition(a: Float64Array, n: number): void {
  const { values, vectors } = symmetricEigen(a, n);
  const reference = new EigenvalueDecomposition(
    new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)))),
    {
      assumeSymmetric: true,
    },
  );
  const refValues = [...reference.realEigenvalues].sort((x, y) => x - y);
  const scale = Math.max(1e-300, ...refValues.map(Math.abs));
  let valueError = 0;
  for (let k = 0; k < n; k++) valueError = Math.max(valueError, Math.abs(values[k] - refValues[k]));
  expect(valueError / scale, 'eigenvalue error / ‖A‖').toBeLessThan(1e-13);
  let residual = 0;
  let orthogonality = 0;
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j] * vectors[j * n + k];
      residual = Math.max(residual, Math.abs(s - values[k] * vectors[i * n + k]));
    }
    for (let l = 0; l < n; l++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += vectors[i * n + k] * vectors[i * n + l];
      orthogonality = Math.max(orthogonality, Math.abs(s - (k === l ? 1 : 0)));
    }
  }
  expect(residual / scale, 'max |AV − VΛ| / ‖A‖').toBeLessThan(1e-13);
  expect(orthogonality, 'max |VᵀV − I|').toBeLessThan(1e-13);
}

describe('symmetricEigen', () => {
  it('solves the 1×1 and 2×2 cases', () => {
    expect(Array.from(symmetricEigen(Float64Array.of(-3), 1).values)).toEqual([-3]);
    const { values, vectors } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2);
    expect(values[0]).toBeCloseTo(1, 15);
    expect(values[1]).toBeCloseTo(3, 15);
    expect(Math.abs(vectors[1])).toBeCloseTo(Math.SQRT1_2, 15);
  });

  it.each([3, 10, 37, 80])('matches ml-matrix on a random symmetric matrix of size %i', (n) => {
    checkDecomposition(randomSymmetric(n, n), n);
  });

  it.each([
    [5, 30],
    [20, 41],
  ])('matches ml-matrix on a thick-restart projected matrix (%i kept, size %i)', (kept, n) => {
    checkDecomposition(arrowheadTridiagonal(kept, n, kept + n), n);
  });

  it('handles repeated eigenvalues, already-diagonal and zero matrices', () => {
    const values = Float64Array.of(4, 4, 4, 1, 1, -2, 0, 0);
    checkDecomposition(conjugatedSpectrum(values, 3).matrix, values.length);
    const diagonal = new Float64Array(36);
    for (let i = 0; i < 6; i++) diagonal[i * 6 + i] = 6 - 2 * i;
    checkDecomposition(diagonal, 6);
    const zero = symmetricEigen(new Float64Array(16), 4);
    expect(Array.from(zero.values)).toEqual([0, 0, 0, 0]);
  });

  it("stays finite when a column's entries are so small that their squares underflow", () => {
    // Off-diagonal entries of 1e-160: squared, 1e-320 is subnormal and 2/‖v‖² overflows
    // unless the column is scaled first. The eigenvalues are 1, 2, 3 to within 1e-160.
    const tiny = 1e-160;
    const a = Float64Array.of(1, tiny, tiny, tiny, 2, 0, tiny, 0, 3);
    const { values, vectors } = symmetricEigen(a, 3);
    expect(Array.from(values)).toEqual([1, 2, 3]);
    expect(Array.from(vectors).every(Number.isFinite)).toBe(true);
    checkDecomposition(a, 3);
    // A whole trailing column of subnormals next to ordinary entries.
    const mixed = Float64Array.of(2, 1, 5e-324, 1, 2, 0, 5e-324, 0, 1);
    checkDecomposition(mixed, 3);
  });

  it('with { vectors: false } returns the same eigenvalues, bit for bit, and no vectors', () => {
    for (const [a, n] of [
      [randomSymmetric(37, 5), 37],
      [arrowheadTridiagonal(5, 30, 7), 30],
      [Float64Array.of(1, 1e-160, 1e-160, 1e-160, 2, 0, 1e-160, 0, 3), 3],
      [Float64Array.of(-3), 1],
    ] as const) {
      const only = symmetricEigen(a, n, { vectors: false });
      expect(only).not.toHaveProperty('vectors');
      expect(Array.from(only.values)).toEqual(Array.from(symmetricEigen(a, n).values));
    }
  });

  it('rejects a matrix of the wrong size', () => {
    expect(() => symmetricEigen(new Float64Array(5), 2)).toThrow(DimensionError);
    expect(() => symmetricEigen(new Float64Array(5), 2)).toThrow(/expected an n×n matrix/);
  });
});
