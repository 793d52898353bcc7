import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

/**
 * The test oracle: ml-matrix's symmetric eigendecomposition of the row-major n×n `a`, with the
 * eigenvalues ascending and their unit eigenvectors in the same order. Test-only (ml-matrix is a
 * devDependency), so it lives outside `src/`.
 */
export function referenceEigen(
  a: Float64Array,
  n: number,
): { values: number[]; vectors: Float64Array[] } {
  const evd = new EigenvalueDecomposition(Matrix.from1DArray(n, n, a), { assumeSymmetric: true });
  const order = evd.realEigenvalues
    .map((_, i) => i)
    .sort((x, y) => evd.realEigenvalues[x] - evd.realEigenvalues[y]);
  const q = evd.eigenvectorMatrix;
  return {
    values: order.map((i) => evd.realEigenvalues[i]),
    vectors: order.map((i) => Float64Array.from(q.getColumn(i))),
  };
}
