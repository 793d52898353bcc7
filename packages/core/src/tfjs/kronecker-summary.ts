import { OptionError } from '../errors.js';
import type { KroneckerLayerReport } from './kronecker.js';

/**
 * Default relative threshold of {@link kroneckerSummary}'s outlier count: an eigenvalue of E[M]
 * is an outlier when it exceeds 1e-3 times the largest one. Under the cross-entropy the last
 * layer's E[M] = E[diag(p) − ppᵀ] has rank C − 1 exactly, its null eigenvalue sits at float32
 * rounding (~1e-7 relative), far below the threshold; Wu et al. (2020–22) report about C − 1
 * outliers for hidden layers too.
 */
export const KRONECKER_OUTLIER_THRESHOLD = 1e-3;

/** Options of {@link kroneckerSummary}. */
export interface KroneckerSummaryOptions {
  /** Relative outlier threshold, in (0, 1] (default {@link KRONECKER_OUTLIER_THRESHOLD}). */
  readonly outlierThreshold?: number;
}

/** The headline numbers of one layer's Kronecker decoupling, plain JSON. */
export interface KroneckerSummary {
  readonly name: string;
  readonly kind: 'dense' | 'conv2d';
  /** Whether E[M] is the exact output Hessian (see {@link KroneckerLayerReport.exact}). */
  readonly exact: boolean;
  /** 'dense' (assembled block) or 'randomized' (matvec estimates). */
  readonly method: 'dense' | 'randomized';
  /** ‖H_L − K‖_F / ‖H_L‖_F; null when H_L = 0. */
  readonly relativeError: number | null;
  /** Its standard error (0 for 'dense'). */
  readonly relativeErrorStandardError: number;
  /** Top-k eigenspace overlap of H_L and K, in [0, 1]. */
  readonly overlap: number;
  /** λ₁/λ₂ of E[x̃x̃ᵀ]; null when λ₂ = 0 (infinite dominance). */
  readonly inputDominance: number | null;
  /** s₁²/Σs² of H_L's top eigenvector reshaped to [n_out, m], in [0, 1]. */
  readonly rank1Energy: number;
  /** Eigenvalues of E[M] above `outlierThreshold` × its largest eigenvalue. */
  readonly outliers: number;
  /** The threshold used for `outliers` (relative to the largest eigenvalue of E[M]). */
  readonly outlierThreshold: number;
  /** Hessian-vector products spent on the layer. */
  /** Whether H_L's top eigenpairs converged (see {@link KroneckerLayerReport.converged}). */
  readonly converged: boolean;
  readonly matvecs: number;
}

/**
 * Per-layer headline numbers of {@link kroneckerDecoupling}'s reports (Wu, Zhu, Wu, Wang & Ge,
 * "Dissecting Hessian", arXiv 2010.04261, 2020–22; docs/methods.md B) as plain JSON: no typed
 * arrays, no NaN or Infinity (those become null). `outliers` counts the eigenvalues of E[M]
 * greater than `outlierThreshold` (default 1e-3) times the largest: C − 1 for the last layer
 * under the cross-entropy.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for a threshold
 *   outside (0, 1].
 * @example
 * ```ts
 * const reports = await kroneckerDecoupling(model, { tf, x, y, loss: 'softmaxCrossEntropy', topK: 9 });
 * const summary = kroneckerSummary(reports);
 * JSON.stringify(summary); // [{ name: 'dense_Dense1', relativeError: 0.31, outliers: 9, … }, …]
 * ```
 */
export function kroneckerSummary(
  layers: readonly KroneckerLayerReport[],
  options: KroneckerSummaryOptions = {},
): KroneckerSummary[] {
  const { outlierThreshold = KRONECKER_OUTLIER_THRESHOLD } = options;
  if (!(outlierThreshold > 0 && outlierThreshold <= 1)) {
    throw new OptionError(
      `kroneckerSummary: expected outlierThreshold in (0, 1], got ${String(outlierThreshold)}`,
    );
  }
  return layers.map((l) => {
    const values = l.outputHessianValues;
    const top = values.length > 0 ? Math.max(...values) : 0;
    return {
      name: l.name,
      kind: l.kind,
      exact: l.exact,
      method: l.method,
      relativeError: Number.isFinite(l.relativeError) ? l.relativeError : null,
      relativeErrorStandardError: l.relativeErrorStandardError,
      overlap: l.overlap,
      inputDominance: Number.isFinite(l.inputDominance) ? l.inputDominance : null,
      rank1Energy: l.rank1Energy[0] ?? 0,
      outliers: top > 0 ? values.filter((v) => v > outlierThreshold * top).length : 0,
      outlierThreshold,
      converged: l.converged,
      matvecs: l.matvecs,
    };
  });
}
