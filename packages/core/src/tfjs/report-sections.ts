/**
 * The model-level analyses as {@link CurvatureReport} sections: the headline numbers of
 * {@link kroneckerDecoupling} and {@link classHierarchy}, as plain JSON-ready data, so that the
 * fit() callback, the ONNX adapter and scripts write the same fields.
 */
import type * as z from 'zod';
import type { CLASSES_SECTION } from './analyses/classes.js';
import type { KRONECKER_SECTION } from './analyses/kronecker.js';
import type { ClassHierarchyResult } from './class-hierarchy.js';
import type { KroneckerLayerReport } from './kronecker.js';
import { kroneckerSummary } from './kronecker-summary.js';

/**
 * Largest number of level-2 eigenvalues kept in a report: the mini-bulk has C(C − 1) of them,
 * 9,900 for C = 100, too many to repeat in every report.
 */
export const REPORT_LEVEL2_VALUES = 64;

/**
 * The `kronecker` section of a report from
 * {@link @hessian-probe/core!tfjs.kroneckerDecoupling | kroneckerDecoupling}'s layers (Wu et al.
 * 2020–22, arXiv 2010.04261): per layer the relative Frobenius error of E[M] ⊗ E[x̃x̃ᵀ], the
 * eigenspace overlap, the input dominance, the rank-1 energy of the top eigenvector and the number
 * of outliers of E[M] ({@link kroneckerSummary}'s default threshold).
 *
 * @example
 * ```ts
 * const layers = await kroneckerDecoupling(model, { tf, x, y, topK: 9 });
 * const withKronecker = normalizeReport({ ...report, kronecker: kroneckerSection(layers) });
 * ```
 */
export function kroneckerSection(
  layers: readonly KroneckerLayerReport[],
): z.output<typeof KRONECKER_SECTION> {
  return kroneckerSummary(layers).map((l) => ({
    name: l.name,
    kind: l.kind,
    method: l.method,
    exact: l.exact,
    relativeError: l.relativeError ?? Number.NaN,
    relativeErrorStderr: l.relativeErrorStandardError,
    overlap: l.overlap,
    inputDominance: l.inputDominance ?? Number.POSITIVE_INFINITY,
    rank1Energy: l.rank1Energy,
    outliers: l.outliers,
    converged: l.converged,
    matvecs: l.matvecs,
  }));
}

/**
 * The `classes` section of a report from
 * {@link @hessian-probe/core!tfjs.classHierarchy | classHierarchy} (Papyan 2019, arXiv 1901.08244):
 * trace fractions of the four levels, the class-mean overlaps with G's and H's top eigenspaces, the
 * level-1 outliers, the largest {@link REPORT_LEVEL2_VALUES} level-2 eigenvalues, the top
 * eigenvalues of G (and H) and G's eigengaps. `matvecs` counts every product: vector-Jacobian,
 * Gauss–Newton-vector and Hessian-vector.
 *
 * @example
 * ```ts
 * const hierarchy = await classHierarchy(model, { tf, x, y });
 * const withClasses = normalizeReport({ ...report, classes: classesSection(hierarchy) });
 * ```
 */
export function classesSection(result: ClassHierarchyResult): z.output<typeof CLASSES_SECTION> {
  const { cost } = result;
  return {
    classes: result.classes,
    trace: result.trace.value,
    traceStderr: result.trace.stderr,
    traceFractions: {
      g0: result.g0.traceFraction,
      g1: result.g1.traceFraction,
      g2: result.g2.traceFraction,
      g3: result.g3.traceFraction,
    },
    classMeanOverlap: result.overlap.gaussNewton,
    ...(result.overlap.hessian === undefined
      ? {}
      : { classMeanOverlapHessian: result.overlap.hessian }),
    overlapK: result.overlap.k,
    level1Values: Array.from(result.g1.eigenvalues.subarray(0, result.classes)),
    level2Values: Array.from(result.g2.eigenvalues.subarray(0, REPORT_LEVEL2_VALUES)),
    gaussNewtonValues: Array.from(result.gaussNewton.values),
    ...(result.hessian === undefined ? {} : { hessianValues: Array.from(result.hessian.values) }),
    eigengaps: result.eigengaps.gaussNewton.map((g) => ({ position: g.position, ratio: g.ratio })),
    matvecs: cost.classMeanVjps + cost.traceVjps + cost.gaussNewtonMatvecs + cost.hessianMatvecs,
  };
}
