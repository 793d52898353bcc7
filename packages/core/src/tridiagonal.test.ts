import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { DimensionError } from './errors.js';
import { createRandom } from './random.js';
import { tridiagonalEigen } from './tridiagonal.js';

function denseTridiagonal(alpha: Float64Array, beta: Float64Array): Matrix {
  const m = alpha.length;
  const t = Matrix.zeros(m, m);
  for (let i = 0; i < m; i++) t.set(i, i, alpha[i]);
  for (let i = 0; i + 1 < m; i++) {
    t.set(i, i + 1, beta[i]);
    t.set(i + 1, i, beta[i]);
  }
  return t;
}

describe('tridiagonalEigen', () => {
  it('solves the 2×2 case in closed form', () => {
    const { values, weights, firstComponents } = tridiagonalEigen(
      Float64Array.of(2, 2),
      Float64Array.of(1),
    );
    expect(Array.from(values)).toEqual([expect.closeTo(1, 15), expect.closeTo(3, 15)]);
    expect(weights[0]).toBeCloseTo(0.5, 15);
    expect(weights[1]).toBeCloseTo(0.5, 15);
    expect(firstComponents[0]).toBeGreaterThan(0);
  });

  it.each([1, 5, 40, 120])(
    'matches ml-matrix on a random %i×%i tridiagonal to 1e-13 of ‖T‖',
    (m) => {
      const rng = createRandom(m);
      const alpha = rng.gaussianVector(m);
      const beta = rng.gaussianVector(m - 1).map(Math.abs);
      const { values, vectors, weights } = tridiagonalEigen(alpha, beta, { vectors: true });
      const t = denseTridiagonal(alpha, beta);
      const reference = new EigenvalueDecomposition(t, { assumeSymmetric: true });
      const refValues = [...reference.realEigenvalues].sort((a, b) => a - b);
      const scale = Math.max(...refValues.map(Math.abs));
      for (let k = 0; k < m; k++) {
        expect(Math.abs(values[k] - refValues[k])).toBeLessThan(1e-13 * scale + 1e-300);
      }
      // Each returned pair satisfies T v = θ v, and the vectors are orthonormal.
      const v = new Matrix(m, m);
      for (let i = 0; i < m; i++) for (let k = 0; k < m; k++) v.set(i, k, vectors![i * m + k]);
      const residual = t.mmul(v).sub(v.mmul(Matrix.diag(Array.from(values))));
      expect(residual.norm('frobenius')).toBeLessThan(1e-13 * scale * Math.sqrt(m));
      const gram = v.transpose().mmul(v).sub(Matrix.eye(m));
      expect(gram.norm('frobenius')).toBeLessThan(1e-13 * m);
      expect(weights.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 13);
    },
  );

  it('gives the same values and weights with and without vectors', () => {
    const rng = createRandom(3);
    const alpha = rng.gaussianVector(30);
    const beta = rng.gaussianVector(29);
    const lean = tridiagonalEigen(alpha, beta);
    const fat = tridiagonalEigen(alpha, beta, { vectors: true });
    expect(lean.values).toEqual(fat.values);
    expect(lean.weights).toEqual(fat.weights);
  });

  it('keeps repeated eigenvalues (a decoupled tridiagonal)', () => {
    const { values, weights } = tridiagonalEigen(Float64Array.of(1, 1, 1), Float64Array.of(0, 0));
    expect(Array.from(values)).toEqual([1, 1, 1]);
    expect(Array.from(weights).sort()).toEqual([0, 0, 1]);
  });

  it('rejects mismatched lengths and non-finite entries', () => {
    expect(() => tridiagonalEigen(Float64Array.of(1, 2), Float64Array.of())).toThrow(
      DimensionError,
    );
    expect(() => tridiagonalEigen(Float64Array.of(1, Number.NaN), Float64Array.of(1))).toThrow(
      /finite alpha, got NaN at 1/,
    );
  });
});
