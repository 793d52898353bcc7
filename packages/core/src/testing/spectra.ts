import type { LinearOperator } from '../operator.js';
import { createRandom } from '../random.js';
import { axpy, dot, orthonormalBasis } from '../vector.js';

/**
 * A Hessian-like spectrum: a bulk of `dim − outliers` eigenvalues near zero (Gaussian, standard
 * deviation `bulkScale`, so some are negative) and `outliers` separated positive eigenvalues
 * spread geometrically over [outlierMin, outlierMax], as class structure produces (Papyan 2019).
 * Sorted descending.
 */
export function hessianLikeSpectrum(
  dim: number,
  options: {
    outliers: number;
    seed: number;
    bulkScale?: number;
    outlierMin?: number;
    outlierMax?: number;
  },
): Float64Array {
  const { outliers, seed, bulkScale = 0.01, outlierMin = 1, outlierMax = 10 } = options;
  const rng = createRandom(seed);
  const values = new Float64Array(dim);
  for (let i = 0; i < outliers; i++) {
    const t = outliers === 1 ? 1 : i / (outliers - 1);
    values[i] = outlierMax * (outlierMin / outlierMax) ** t;
  }
  for (let i = outliers; i < dim; i++) values[i] = bulkScale * rng.gaussian();
  return values.sort().reverse();
}

/**
 * The dense row-major matrix Q·diag(values)·Qᵀ with Q Haar-random orthogonal (Gram–Schmidt of a
 * Gaussian matrix, seeded): a symmetric matrix with exactly the prescribed spectrum and
 * eigenvectors in general position. Returns the matrix and Q's columns (the eigenvectors).
 * O(n³): for n up to a few hundred.
 */
export function conjugatedSpectrum(
  values: Float64Array,
  seed: number,
): { matrix: Float64Array; eigenvectors: Float64Array[] } {
  const n = values.length;
  const rng = createRandom(seed);
  const columns = Array.from({ length: n }, () => rng.gaussianVector(n));
  const q = orthonormalBasis(columns, 0);
  const matrix = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const u = q[k];
    const lambda = values[k];
    for (let i = 0; i < n; i++) {
      const scaled = lambda * u[i];
      const row = i * n;
      for (let j = 0; j < n; j++) matrix[row + j] += scaled * u[j];
    }
  }
  // Symmetrise exactly: rounding in the sum above is not symmetric.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const mean = 0.5 * (matrix[i * n + j] + matrix[j * n + i]);
      matrix[i * n + j] = mean;
      matrix[j * n + i] = mean;
    }
  }
  return { matrix, eigenvectors: q };
}

/**
 * A matrix-free operator H·diag(values)·H with H a product of `reflections` random Householder
 * reflections: exact spectrum `values`, dense eigenvectors, O(dim) memory and time per matvec.
 * For benchmarks and tests at dimensions where a dense matrix is too big.
 */
export function reflectedSpectrumOperator(
  values: Float64Array,
  seed: number,
  reflections = 3,
): LinearOperator {
  const n = values.length;
  const rng = createRandom(seed);
  const normals = Array.from({ length: reflections }, () => rng.unitVector(n));
  const reflect = (v: Float64Array, order: readonly Float64Array[]): void => {
    for (const u of order) axpy(-2 * dot(u, v), u, v);
  };
  const reversed = [...normals].reverse();
  return {
    dim: n,
    async matvec(v) {
      const w = Float64Array.from(v);
      reflect(w, normals);
      for (let i = 0; i < n; i++) w[i] *= values[i];
      reflect(w, reversed);
      return w;
    },
  };
}
