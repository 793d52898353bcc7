import type { Tensor } from '@tensorflow/tfjs-core';
import { topEigenpairs } from '../eigenpairs.js';
import { OptionError, SizeLimitError } from '../errors.js';
import { checkInteger, checkPositive } from '../options.js';
import { checkSeed, createRandom } from '../random.js';
import { symmetricEigen } from '../symmetric-eigen.js';
import { traceOfQuadraticForm } from '../trace.js';
import { dot } from '../vector.js';
import { LossError } from './errors.js';
import { gradients } from './hvp.js';
import { endsInActivation, modelLogits } from './logits.js';
import {
  type CurvatureModel,
  checkSupportedLayers,
  KERAS_LOSSES,
  type KerasLossName,
  modelCurvature,
} from './model.js';
import { withExplicitTransposes } from './second-order.js';
import type { Tf } from './types.js';

/**
 * Papyan's three-level class hierarchy of the Gauss–Newton matrix (V. Papyan, "Measurements of
 * Three-Level Hierarchical Structure in the Outliers in the Spectrum of Deepnet Hessians", ICML
 * 2019, arXiv 1901.08244; also "The Full Spectrum of Deepnet Hessians at Scale", arXiv
 * 1811.07062, and JMLR 21, 2020; docs/methods.md section C), for softmax cross-entropy.
 *
 * Per sample i of class c and each class c′, δ_{i,c,c′} = √p_{i,c′} · J_iᵀ(e_{c′} − p_i), with J_i
 * the Jacobian of the logits; then G = (1/N) Σ_i Σ_{c′} δδᵀ is exactly the Gauss–Newton matrix,
 * because A = diag(p) − ppᵀ = Σ_{c′} p_{c′}(e_{c′} − p)(e_{c′} − p)ᵀ. With the class means
 * δ_{c,c′} (mean over the samples of class c), δ_c = (1/(C−1)) Σ_{c′≠c} δ_{c,c′},
 * ν_{c,c′} = δ_{c,c′} − δ_c and the class frequencies π_c of the batch:
 * G₀ = Σ_c π_c δ_{c,c}δ_{c,c}ᵀ, G₁ = Σ_c π_c (C−1) δ_cδ_cᵀ (level 1, at most C outliers),
 * G₂ = Σ_c π_c Σ_{c′≠c} ν_{c,c′}ν_{c,c′}ᵀ (level 2), and G₃ = G − G₁₊₂ (level 3, within-class
 * variation) with G₁₊₂ = Σ_c π_c Σ_{c′} δ_{c,c′}δ_{c,c′}ᵀ = G₀ + G₁ + G₂.
 *
 * Note on Papyan's count of C(C−1) level-2 directions: Σ_{c′≠c} ν_{c,c′} = 0 for every c, so
 * G₂ has rank at most C(C−2); its Gram spectrum below has C(C−1) entries of which at least C
 * vanish (to rounding).
 */

/** Default {@link ClassHierarchyOptions.maxBytes}: 512 MiB of class means. */
export const CLASS_HIERARCHY_MAX_BYTES = 512 * 2 ** 20;

/**
 * Relative singular-value threshold below which a class mean δ_c is taken as linearly
 * dependent on the others when {@link classHierarchy} orthonormalises them: 1e-5, about a
 * hundred float32 ulps (the class means come from float32 vector-Jacobian products, so a
 * truly dependent direction shows up at ~1e-7 relative).
 */
export const CLASS_MEAN_RANK_TOLERANCE = 1e-5;

/** The parts of a tfjs-layers model that {@link classHierarchy} uses (a Sequential model fits). */
export interface ClassHierarchyModel extends CurvatureModel {
  /** The output shape [null, C] (tfjs-layers' `LayersModel.outputShape`). */
  readonly outputShape: readonly (number | null)[] | readonly (readonly (number | null)[])[];
}

/** Options of {@link classHierarchy}. */
export interface ClassHierarchyOptions {
  /** The TensorFlow.js namespace in use (any backend). */
  readonly tf: Tf;
  /** The probe inputs [N, …]. */
  readonly x: Tensor;
  /**
   * The probe labels: class ids [N] or [N, 1] (integers in [0, C)), or one-hot [N, C]. Every
   * class must occur at least once.
   */
  readonly y: Tensor;
  /**
   * Largest memory for the class means, in bytes (default {@link CLASS_HIERARCHY_MAX_BYTES}
   * = 512 MiB): the C² means δ_{c,c′} and the C means δ_c take (C² + C)·P·8 bytes (float64),
   * the Gram matrix of the level spectra C⁴·8 more.
   * Checked before any tensor work. The eigensolvers need in addition about
   * 2·max(20, 2k + 10) vectors of P float64 (see {@link topEigenpairs}).
   */
  readonly maxBytes?: number;
  /**
   * How tr G is obtained. Default (undefined): exactly, as (1/N) Σ_i tr K_i with K_i the C×C
   * Gram matrix of sample i's δ_{i,c,·} (N·C single-sample vector-Jacobian products). A number
   * K >= 2: the unbiased estimate ‖Σ_{i,c′} s_{i,c′} δ_{i,c′}‖²/N averaged over K Rademacher
   * sign draws s (one vector-Jacobian product over the whole batch each), with its standard
   * error; use it when N·C single-sample products are too slow.
   */
  readonly traceProbes?: number;
  /**
   * How many top eigenvalues of G to compute with {@link topEigenpairs} on the Gauss–Newton
   * operator, in [C + 1, P] (default C + 1: enough for the eigengaps at C − 1 and C). Pass
   * C² + 1 to measure the eigengap at C² too (cost grows with k).
   */
  readonly topK?: number;
  /** Also compute the top eigenpairs of the Hessian H and their overlap (default true). */
  readonly hessian?: boolean;
  /**
   * Relative residual tolerance of the eigensolves (default {@link topEigenpairs}'s,
   * ≈ 1.9e-6 for float32 products).
   */
  readonly tol?: number;
  /** Matvec budget of each eigensolve (default {@link topEigenpairs}'s). */
  readonly maxMatvecs?: number;
  /**
   * Samples per chunk of the eigensolves' Gauss–Newton and Hessian products (default all N;
   * see {@link modelCurvature}). The class means and the trace take one class's samples, or
   * one sample, per vector-Jacobian product.
   */
  readonly batchSize?: number;
  /** Seed of the random parts: the eigensolvers' start vectors and the trace probes (default 0). */
  readonly seed?: number;
  /**
   * Self-check the model's exact Hessian against finite differences before the first product
   * (default true; see {@link modelCurvature}).
   */
  readonly selfCheck?: boolean;
}

/** One level G_k of the decomposition. */
export interface HierarchyLevel {
  /** tr G_k. */
  readonly trace: number;
  /** tr G_k / tr G. */
  readonly traceFraction: number;
  /**
   * The spectrum of G_k from its Gram matrix, descending: C entries for G₀ and G₁, C(C−1) for
   * G₂, C² for G₁₊₂ (the non-zero eigenvalues of G_k, padded with zeros up to the number of
   * columns; tiny negative values are rounding).
   */
  readonly eigenvalues: Float64Array;
}

/** The top eigenvalues of G or H from {@link topEigenpairs}. */
export interface TopSpectrum {
  /** Eigenvalues, descending. */
  readonly values: Float64Array;
  /** ‖Av − λv‖ of each pair. */
  readonly residuals: Float64Array;
  /** Whether every pair met the tolerance within the budget. */
  readonly converged: boolean;
  /** Matvecs spent (Gauss–Newton or Hessian-vector products). */
  readonly matvecs: number;
}

/** An eigengap λ_k / λ_{k+1} (k 1-based, eigenvalues descending). */
export interface Eigengap {
  /** k. */
  readonly position: number;
  /** λ_k / λ_{k+1} (∞ when λ_{k+1} = 0). */
  readonly ratio: number;
  /** λ_k. */
  readonly value: number;
  /** λ_{k+1}. */
  readonly next: number;
}

/** The trace of G. */
export interface HierarchyTrace {
  /** tr G, exact or estimated. */
  readonly value: number;
  /** Standard error of `value` (0 when exact). */
  readonly stderr: number;
  /** Whether `value` is exact (N·C single-sample products) rather than a sign-probe estimate. */
  readonly exact: boolean;
  /**
   * When exact: each sample's C×C Gram matrix K_i = [⟨δ_{i,c′}, δ_{i,c″}⟩], [N, C, C]
   * row-major; rank ≤ C − 1 (K_i √p_i = 0).
   */
  readonly sampleGrams?: Float64Array;
}

/** Result of {@link classHierarchy}: plain data. */
export interface ClassHierarchyResult {
  /** C. */
  readonly classes: number;
  /** N. */
  readonly samples: number;
  /** P, the number of trainable parameters (tfjs `trainableWeights` order, row-major each). */
  readonly parameters: number;
  /** Samples per class N_c. */
  readonly classCounts: Int32Array;
  /** π_c = N_c / N. */
  readonly classFrequencies: Float64Array;
  /** δ_{c,c′} for all (c, c′): C² vectors of P, vector (c, c′) at offset (c·C + c′)·P. */
  readonly classPairMeans: Float64Array;
  /** δ_c: C vectors of P, vector c at offset c·P. */
  readonly classMeans: Float64Array;
  /** tr G. */
  readonly trace: HierarchyTrace;
  /** G₀ = Σ_c π_c δ_{c,c}δ_{c,c}ᵀ. */
  readonly g0: HierarchyLevel;
  /** G₁ = Σ_c π_c (C−1) δ_cδ_cᵀ (level 1). */
  readonly g1: HierarchyLevel;
  /** G₂ = Σ_c π_c Σ_{c′≠c} ν_{c,c′}ν_{c,c′}ᵀ (level 2). */
  readonly g2: HierarchyLevel;
  /** G₁₊₂ = G₀ + G₁ + G₂ = Σ_c π_c Σ_{c′} δ_{c,c′}δ_{c,c′}ᵀ. */
  readonly g12: HierarchyLevel;
  /** G₃ = G − G₁₊₂ (level 3): its trace is the remainder (an estimate when tr G is). */
  readonly g3: { readonly trace: number; readonly traceFraction: number };
  /** Numerical rank of {δ_c} (see {@link CLASS_MEAN_RANK_TOLERANCE}); C in general. */
  readonly classMeanRank: number;
  /** Top `topK` eigenvalues of G. */
  readonly gaussNewton: TopSpectrum;
  /** Top `classMeanRank` eigenvalues of H (absent with `hessian: false`). */
  readonly hessian?: TopSpectrum;
  /**
   * Subspace overlaps ‖UᵀV‖²_F / k ∈ [0, 1] with V the top-k eigenvectors of G and of H:
   * U = the orthonormalised span of the class means δ_c, k = `classMeanRank` (C in general);
   * and, in `leading`, U = the top C − 1 eigenvectors of G₁ (the class means' principal
   * directions with G₁'s weights), k = C − 1, for when one of the C directions is weak (G₁'s
   * C-th eigenvalue far below its (C−1)-th, as seen on MNIST after training).
   */
  readonly overlap: {
    readonly k: number;
    readonly gaussNewton: number;
    readonly hessian?: number;
    readonly leading: {
      readonly k: number;
      readonly gaussNewton: number;
      readonly hessian?: number;
    };
  };
  /**
   * Eigengaps λ_k/λ_{k+1} of G's top eigenvalues at k = C − 1, C and (when topK >= C² + 1) C²;
   * and, as a cheap proxy, of G₁₊₂'s Gram spectrum at C − 1 and C.
   */
  readonly eigengaps: { readonly gaussNewton: Eigengap[]; readonly g12: Eigengap[] };
  /** Work done, in tfjs products. */
  readonly cost: {
    /** C² (class means; one over the class-c samples per (c, c′)). */
    readonly classMeanVjps: number;
    /** N·C single-sample products (exact trace) or `traceProbes` full-batch ones. */
    readonly traceVjps: number;
    /** Gauss–Newton-vector products of the G eigensolve. */
    readonly gaussNewtonMatvecs: number;
    /**
     * Hessian-vector products of the H eigensolve (0 without it); the one-time self-check of
     * {@link modelCurvature} (a few more, once per model) is not counted.
     */
    readonly hessianMatvecs: number;
  };
}

/**
 * The decomposition is of the softmax cross-entropy's Gauss–Newton matrix: a model compiled
 * with another loss, or ending in another activation than softmax (or none), would get numbers
 * for a loss it is not trained on.
 */
function checkCrossEntropyModel(model: ClassHierarchyModel, where: string): void {
  const compiled =
    Array.isArray(model.loss) && model.loss.length === 1 ? model.loss[0] : model.loss;
  if (typeof compiled === 'string') {
    const mapped = compiled in KERAS_LOSSES ? KERAS_LOSSES[compiled as KerasLossName] : compiled;
    if (mapped !== 'softmaxCrossEntropy') {
      throw new LossError(
        `${where}: expected a model trained with softmax cross-entropy (the hierarchy is of its Gauss–Newton matrix), got one compiled with '${compiled}'`,
      );
    }
  }
  if (endsInActivation(model, 'sigmoid')) {
    throw new LossError(
      `${where}: expected a model whose output is softmax probabilities or logits, got one ending in sigmoid`,
    );
  }
}

/**
 * Papyan's three-level decomposition of the Gauss–Newton matrix G of a softmax classifier on a
 * probe batch (Papyan 2019, arXiv 1901.08244; see the module comment for the definitions),
 * with the spectra of each level, the trace fractions, G's and H's top eigenvalues, their
 * eigengaps, and the "averaging" claim: the overlap of the span of the class means δ_c with
 * the top eigenspace of G (and of H).
 *
 * How it is computed, and its cost:
 * - class means δ_{c,c′}: one vector-Jacobian product of the logits of the class-c samples
 *   per (c, c′), with cotangent rows √p_{i,c′}(e_{c′} − p_i)/N_c: C² products over N_c samples
 *   each (the work of about C full-batch backward passes). Per-sample gradients are never
 *   stored.
 * - level spectra ({@link classLevelSpectra}): one C²×C² Gram matrix of the δ_{c,c′} (O(C⁴P)
 *   float64 flops); the Gram matrices of G₀, G₁, G₂ and G₁₊₂ are O(C⁴) images of it, whose
 *   eigenvalues (without vectors) take O(C⁶).
 * - tr G: exactly from N·C single-sample products (or `traceProbes` full-batch ones).
 * - G's top `topK` and H's top k eigenpairs: {@link topEigenpairs} on {@link modelCurvature}'s
 *   operators (matvec counts in `cost`).
 * - overlap: k = the numerical rank of {δ_c}, C in general (unlike the ν_{c,c′}, the δ_c obey
 *   no linear identity; Σ_c π_c δ_c is not zero), so U is the C-dimensional span compared with
 *   the top-C eigenspaces; after training one of the C directions can be weak (G₁'s C-th
 *   eigenvalue small), so the overlap of G₁'s top C − 1 eigenvectors with the top C − 1 of G
 *   and H is reported too.
 *
 * The model runs in inference mode; a final softmax is taken off ({@link modelLogits}) so the
 * loss is softmax cross-entropy on the logits.
 *
 * @throws {@link @hessian-probe/core!index.SizeLimitError | SizeLimitError} when
 *   (C² + C)·P·8 + C⁴·8 bytes exceed `maxBytes`, {@link LossError} for labels that are not class
 *   ids or one-hot rows in [0, C), or a class without samples, {@link OptionError} for bad
 *   options, {@link UnsupportedLayerError} for unsupported layers: all before any tensor work.
 *
 * @example
 * ```ts
 * const model = tf.sequential({ layers: [
 *   tf.layers.dense({ inputShape: [784], units: 32, activation: 'relu' }),
 *   tf.layers.dense({ units: 10, activation: 'softmax' }),
 * ] });
 * const h = await classHierarchy(model, { tf, x, y, seed: 1 });
 * console.log(h.g1.traceFraction, h.g1.eigenvalues, h.overlap.gaussNewton);
 * ```
 */
export async function classHierarchy(
  model: ClassHierarchyModel,
  options: ClassHierarchyOptions,
): Promise<ClassHierarchyResult> {
  const where = 'classHierarchy';
  const { tf, x, y, hessian: withHessian = true, seed = 0 } = options;
  checkSupportedLayers(model, tf.getBackend());
  checkCrossEntropyModel(model, where);
  const c = outputClasses(model, where);
  const n = x.shape[0];
  if (x.rank < 1 || n === undefined || n < 1 || y.shape[0] !== n) {
    throw new OptionError(
      `${where}: expected x and y with the same number N >= 1 of samples, got x [${x.shape}] and y [${y.shape}]`,
    );
  }
  const p = model.trainableWeights.reduce(
    (sum, w) => sum + w.shape.reduce((a: number, d) => a * (d ?? 0), 1),
    0,
  );
  const { maxBytes = CLASS_HIERARCHY_MAX_BYTES, topK = c + 1 } = options;
  checkPositive(where, 'maxBytes', maxBytes);
  // The class means, and the C²×C² Gram matrix of the level spectra (whose eigenvalues take
  // O(C⁶) time: the byte limit bounds that too).
  const bytes = (c * c + c) * p * 8 + c ** 4 * 8;
  if (bytes > maxBytes) {
    throw new SizeLimitError(
      `${where}: expected (C² + C)·P·8 + C⁴·8 <= maxBytes = ${maxBytes} bytes of class means and their Gram matrix, got ${bytes} (C = ${c}, P = ${p})`,
    );
  }
  checkInteger(where, 'topK', topK, c + 1, p);
  if (options.traceProbes !== undefined) checkInteger(where, 'traceProbes', options.traceProbes, 2);
  // The eigensolvers' own checks would come only after the class means and the trace: both
  // solves (G's top-K, H's top rank ≤ C < topK) need maxMatvecs >= topK.
  if (options.tol !== undefined) checkPositive(where, 'tol', options.tol);
  if (options.maxMatvecs !== undefined) {
    checkInteger(where, 'maxMatvecs', options.maxMatvecs, topK);
  }
  if (options.batchSize !== undefined) checkInteger(where, 'batchSize', options.batchSize, 1);
  checkSeed(seed, where);
  const labels = classIds(y, c, where);
  const counts = new Int32Array(c);
  for (const l of labels) counts[l]++;
  const missing = counts.indexOf(0);
  if (missing >= 0) {
    throw new LossError(
      `${where}: expected every class 0..${c - 1} in the probe batch, got no sample of class ${missing}`,
    );
  }
  const pi = Float64Array.from(counts, (k) => k / n);

  const weights = model.trainableWeights.map((w) => w.read());
  const vjp = (xs: Tensor, cotangent: Float64Array): Float64Array => {
    const flat = withExplicitTransposes(tf, () =>
      tf.tidy(() => {
        const u = tf.tensor2d(Float32Array.from(cotangent), [xs.shape[0] as number, c]);
        const grads = gradients(tf, () => tf.sum(tf.mul(modelLogits(model, xs), u)), weights);
        return tf.concat(grads.map((g) => tf.reshape(g, [-1])));
      }),
    );
    try {
      return Float64Array.from(flat.dataSync());
    } finally {
      flat.dispose();
    }
  };
  const probs = softmaxRows(tf, model, x, c);

  // Class means δ_{c,c′}: one VJP per (c, c′) over the class-c samples.
  const pairMeans = new Float64Array(c * c * p);
  for (let k = 0; k < c; k++) {
    const members = labels.flatMap((l, i) => (l === k ? [i] : []));
    const xk = tf.tidy(() => tf.gather(x, tf.tensor1d(members, 'int32')));
    try {
      for (let j = 0; j < c; j++) {
        const u = new Float64Array(members.length * c);
        for (const [row, i] of members.entries()) {
          factorColumn(probs, i, j, c, 1 / members.length, u, row);
        }
        pairMeans.set(vjp(xk, u), (k * c + j) * p);
      }
    } finally {
      xk.dispose();
    }
  }
  const means = new Float64Array(c * p);
  for (let k = 0; k < c; k++) {
    const mean = means.subarray(k * p, (k + 1) * p);
    for (let j = 0; j < c; j++) {
      if (j === k) continue;
      const pair = pairMeans.subarray((k * c + j) * p, (k * c + j + 1) * p);
      for (let t = 0; t < p; t++) mean[t] += pair[t] / (c - 1);
    }
  }

  const trace =
    options.traceProbes === undefined
      ? exactTrace(tf, x, probs, n, c, vjp)
      : await estimatedTrace(x, probs, n, c, options.traceProbes, seed, vjp);

  const spectra = classLevelSpectra(pairMeans, pi, c, p);
  const withFraction = (level: LevelSpectrum): HierarchyLevel => ({
    ...level,
    traceFraction: level.trace / trace.value,
  });
  const g0 = withFraction(spectra.g0);
  const g1 = withFraction(spectra.g1);
  const g2 = withFraction(spectra.g2);
  const g12 = withFraction(spectra.g12);
  const range = Array.from({ length: c }, (_, k) => k);
  const g3Trace = trace.value - g12.trace;

  // Orthonormal bases as combinations Σ_k coef[k] δ_k of the class means, from the
  // eigenvectors of C×C Gram matrices: of the δ_c themselves (span{δ_c}) and of G₁'s columns
  // √(π_c(C−1)) δ_c (its top C − 1 eigenvectors).
  const meanGram = new Float64Array(c * c);
  const mean = (k: number) => means.subarray(k * p, (k + 1) * p);
  for (let a = 0; a < c; a++) {
    for (let b = 0; b <= a; b++) {
      const v = dot(mean(a), mean(b));
      meanGram[a * c + b] = v;
      meanGram[b * c + a] = v;
    }
  }
  const basis = (weights: Float64Array, wanted: number): Float64Array[] => {
    const gramOf = meanGram.map((v, i) => v * weights[Math.floor(i / c)] * weights[i % c]);
    const { values, vectors } = symmetricEigen(gramOf, c);
    const largest = values[c - 1];
    return range
      .map((t) => c - 1 - t)
      .slice(0, wanted)
      .filter((j) => largest > 0 && values[j] > CLASS_MEAN_RANK_TOLERANCE ** 2 * largest)
      .map((j) =>
        Float64Array.from(range, (k) => (weights[k] * vectors[k * c + j]) / Math.sqrt(values[j])),
      );
  };
  const spanBasis = basis(new Float64Array(c).fill(1), c);
  const leadingBasis = basis(
    pi.map((w) => Math.sqrt(w * (c - 1))),
    c - 1,
  );
  const rank = spanBasis.length;
  const overlapWith = (coefficients: readonly Float64Array[], vectors: readonly Float64Array[]) => {
    const k = coefficients.length;
    let sum = 0;
    for (const v of vectors.slice(0, k)) {
      const projections = range.map((t) => dot(mean(t), v));
      for (const coef of coefficients) {
        let s = 0;
        for (let t = 0; t < c; t++) s += coef[t] * projections[t];
        sum += s * s;
      }
    }
    // ‖UᵀV‖²_F/k <= 1 exactly; for nearly equal subspaces rounding lands a few ulps above it.
    return k === 0 ? 0 : Math.min(1, sum / k);
  };

  const solve = async (kind: 'ggn' | 'hessian', k: number) => {
    const { operator } = modelCurvature(model, {
      tf,
      x,
      y,
      loss: 'softmaxCrossEntropy',
      kind,
      ...(options.selfCheck === undefined ? {} : { selfCheck: options.selfCheck }),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    });
    return topEigenpairs(operator, {
      k,
      seed,
      ...(options.tol === undefined ? {} : { tol: options.tol }),
      ...(options.maxMatvecs === undefined ? {} : { maxMatvecs: options.maxMatvecs }),
    });
  };
  const top = await solve('ggn', topK);
  const gaussNewton: TopSpectrum = {
    values: top.values,
    residuals: top.residuals,
    converged: top.converged,
    matvecs: top.matvecs,
  };
  let hessian: TopSpectrum | undefined;
  let hessianVectors: Float64Array[] = [];
  if (withHessian && rank > 0) {
    const h = await solve('hessian', rank);
    hessian = {
      values: h.values,
      residuals: h.residuals,
      converged: h.converged,
      matvecs: h.matvecs,
    };
    hessianVectors = h.vectors;
  }
  const gapPositions = [c - 1, c, c * c].filter((k) => k >= 1 && k < topK);
  return {
    classes: c,
    samples: n,
    parameters: p,
    classCounts: counts,
    classFrequencies: pi,
    classPairMeans: pairMeans,
    classMeans: means,
    trace,
    g0,
    g1,
    g2,
    g12,
    g3: { trace: g3Trace, traceFraction: g3Trace / trace.value },
    classMeanRank: rank,
    gaussNewton,
    ...(hessian ? { hessian } : {}),
    overlap: {
      k: rank,
      gaussNewton: overlapWith(spanBasis, top.vectors),
      ...(hessian ? { hessian: overlapWith(spanBasis, hessianVectors) } : {}),
      leading: {
        k: leadingBasis.length,
        gaussNewton: overlapWith(leadingBasis, top.vectors),
        ...(hessian ? { hessian: overlapWith(leadingBasis, hessianVectors) } : {}),
      },
    },
    eigengaps: {
      gaussNewton: gapPositions.map((k) => eigengap(top.values, k)),
      g12: [c - 1, c].filter((k) => k >= 1).map((k) => eigengap(g12.eigenvalues, k)),
    },
    cost: {
      classMeanVjps: c * c,
      traceVjps: options.traceProbes ?? n * c,
      gaussNewtonMatvecs: gaussNewton.matvecs,
      hessianMatvecs: hessian?.matvecs ?? 0,
    },
  };
}

/** tr G_k and the spectrum of G_k from its Gram matrix (see {@link HierarchyLevel}). */
export interface LevelSpectrum {
  /** tr G_k. */
  readonly trace: number;
  /** The Gram matrix's eigenvalues, descending. */
  readonly eigenvalues: Float64Array;
}

/** The level spectra of {@link classLevelSpectra}. */
export interface ClassLevelSpectra {
  /** G₀ = Σ_c π_c δ_{c,c}δ_{c,c}ᵀ: C values. */
  readonly g0: LevelSpectrum;
  /** G₁ = Σ_c π_c (C−1) δ_cδ_cᵀ: C values. */
  readonly g1: LevelSpectrum;
  /** G₂ = Σ_c π_c Σ_{c′≠c} ν_{c,c′}ν_{c,c′}ᵀ: C(C−1) values, at least C of them zero. */
  readonly g2: LevelSpectrum;
  /** G₁₊₂ = Σ_c π_c Σ_{c′} δ_{c,c′}δ_{c,c′}ᵀ: C² values. */
  readonly g12: LevelSpectrum;
}

/**
 * The spectra and traces of Papyan's levels G₀, G₁, G₂ and G₁₊₂ (Papyan 2019, arXiv 1901.08244;
 * docs/methods.md section C) from the class-pair means alone: each G_k = Σ_a w_a u_a u_aᵀ has the
 * non-zero eigenvalues of the Gram matrix [√(w_a w_b) ⟨u_a, u_b⟩], and every such Gram matrix
 * is a cheap image of K[(c,c′),(d,d′)] = ⟨δ_{c,c′}, δ_{d,d′}⟩ (C⁴·P flops, once):
 * - G₁₊₂: D K D with D = diag(√π_c) over the pair index (c, c′).
 * - G₀: √(π_c π_d) K[(c,c),(d,d)].
 * - G₂, over the pairs (c, c′ ≠ c): per block of classes (c, d), √(π_c π_d) Q K_{cd} Q with
 *   K_{cd} = K[(c,·≠c),(d,·≠d)] and Q = I − 11ᵀ/(C−1) the centering over the C − 1 indices,
 *   since ν_{c,c′} = Σ_{c″≠c} Q_{c′c″} δ_{c,c″}: entry (c′, d′) is K_{cd} minus its row and
 *   column means plus its mean.
 * - G₁: √(π_c π_d)(C − 1) · mean(K_{cd}), since √(C−1) δ_c = Σ_{c′≠c} δ_{c,c′}/√(C−1).
 *
 * Building the four Gram matrices costs O(C⁴); their eigenvalues (without vectors) take
 * about (4/3)(C⁶ + (C(C−1))³) flops more, for G₁₊₂ and G₂.
 *
 * @param pairMeans - δ_{c,c′} for all (c, c′): C² vectors of P, vector (c, c′) at offset
 *   (c·C + c′)·P.
 * @param pi - the class frequencies π_c.
 * @param c - C >= 2.
 * @param p - P.
 *
 * @example
 * ```ts
 * // C = 2, P = 1: δ_{0,0} = 1, δ_{0,1} = 2, δ_{1,0} = 3, δ_{1,1} = 4, π = (1/2, 1/2).
 * const { g12 } = classLevelSpectra(Float64Array.of(1, 2, 3, 4), Float64Array.of(0.5, 0.5), 2, 1);
 * // g12.trace = (1 + 4 + 9 + 16)/2 = 15 = g12.eigenvalues[0]; the other three are 0
 * ```
 */
export function classLevelSpectra(
  pairMeans: Float64Array,
  pi: Float64Array,
  c: number,
  p: number,
): ClassLevelSpectra {
  const m = c * c;
  const pair = (q: number) => pairMeans.subarray(q * p, (q + 1) * p);
  const gram = new Float64Array(m * m);
  for (let a = 0; a < m; a++) {
    for (let b = 0; b <= a; b++) {
      const v = dot(pair(a), pair(b));
      gram[a * m + b] = v;
      gram[b * m + a] = v;
    }
  }
  const root = pi.map(Math.sqrt);
  const others = c - 1;
  const g0 = new Float64Array(c * c);
  const g1 = new Float64Array(c * c);
  const g2 = new Float64Array(others * c * others * c);
  const k2 = others * c;
  // Per block (a, b): the (C−1)×(C−1) block K_ab, its row means, column means and mean.
  const block = new Float64Array(others * others);
  const rowMeans = new Float64Array(others);
  const columnMeans = new Float64Array(others);
  for (let a = 0; a < c; a++) {
    for (let b = 0; b <= a; b++) {
      const weight = root[a] * root[b];
      g0[a * c + b] = weight * gram[(a * c + a) * m + b * c + b];
      rowMeans.fill(0);
      columnMeans.fill(0);
      let total = 0;
      for (let j = 0; j < others; j++) {
        const row = (a * c + (j < a ? j : j + 1)) * m + b * c;
        for (let l = 0; l < others; l++) {
          const v = gram[row + (l < b ? l : l + 1)];
          block[j * others + l] = v;
          rowMeans[j] += v / others;
          columnMeans[l] += v / others;
          total += v;
        }
      }
      total /= others * others;
      g1[a * c + b] = weight * others * total;
      for (let j = 0; j < others; j++) {
        const row = (a * others + j) * k2 + b * others;
        for (let l = 0; l < others; l++) {
          g2[row + l] = weight * (block[j * others + l] - rowMeans[j] - columnMeans[l] + total);
        }
      }
    }
  }
  // D K D in place: the pair Gram is not needed any more.
  for (let q = 0; q < m; q++) {
    const rowWeight = root[Math.floor(q / c)];
    for (let r = 0; r < m; r++) gram[q * m + r] *= rowWeight * root[Math.floor(r / c)];
  }
  return {
    g0: lowerGramSpectrum(g0, c),
    g1: lowerGramSpectrum(g1, c),
    g2: lowerGramSpectrum(g2, k2),
    g12: lowerGramSpectrum(gram, m),
  };
}

/** Trace and descending eigenvalues of a symmetric n×n matrix of which the lower triangle is set. */
function lowerGramSpectrum(g: Float64Array, n: number): LevelSpectrum {
  let trace = 0;
  for (let a = 0; a < n; a++) trace += g[a * n + a];
  return { trace, eigenvalues: symmetricEigen(g, n, { vectors: false }).values.reverse() };
}

/** λ_k / λ_{k+1} of descending values (k 1-based). */
function eigengap(values: Float64Array, k: number): Eigengap {
  const value = values[k - 1];
  const next = values[k];
  return { position: k, ratio: next === 0 ? Number.POSITIVE_INFINITY : value / next, value, next };
}

/**
 * C from the model's output shape [null, C].
 *
 * @throws {@link LossError} for a model without one output of shape [N, C], C >= 2.
 */
export function outputClasses(
  model: { readonly outputShape: ClassHierarchyModel['outputShape'] },
  where: string,
): number {
  const shape = model.outputShape;
  const single = shape.length > 0 && Array.isArray(shape[0]) ? undefined : shape;
  const c = single?.[single.length - 1];
  if (single === undefined || single.length !== 2 || typeof c !== 'number' || c < 2) {
    throw new LossError(
      `${where}: expected a model with one output of shape [N, C], C >= 2, got ${JSON.stringify(shape)}`,
    );
  }
  return c;
}

/** Class ids from sparse [N] / [N, 1] labels or one-hot [N, C] rows. */
function classIds(y: Tensor, c: number, where: string): number[] {
  const values = y.dataSync();
  const n = y.shape[0] as number;
  const sparse = y.rank === 1 || (y.rank === 2 && y.shape[1] === 1);
  if (sparse) {
    return Array.from({ length: n }, (_, i) => {
      const v = values[i];
      if (!Number.isInteger(v) || v < 0 || v >= c) {
        throw new LossError(`${where}: expected class ids in [0, ${c}), got ${v} at ${i}`);
      }
      return v;
    });
  }
  if (y.rank !== 2 || y.shape[1] !== c) {
    throw new LossError(`${where}: expected labels [N], [N, 1] or [N, ${c}], got [${y.shape}]`);
  }
  return Array.from({ length: n }, (_, i) => {
    const row = values.subarray(i * c, (i + 1) * c);
    const hot = row.indexOf(1);
    if (hot < 0 || row.some((v, j) => v !== (j === hot ? 1 : 0))) {
      throw new LossError(
        `${where}: expected one-hot label rows, got [${Array.from(row)}] at ${i}`,
      );
    }
    return hot;
  });
}

/** softmax(logits) of every sample, [N·C] float64 (from float32 logits). */
function softmaxRows(tf: Tf, model: ClassHierarchyModel, x: Tensor, c: number): Float64Array {
  const probs = tf.tidy(() => tf.softmax(modelLogits(model, x)));
  try {
    if (probs.rank !== 2 || probs.shape[1] !== c) {
      throw new LossError(`classHierarchy: expected logits [N, ${c}], got [${probs.shape}]`);
    }
    return Float64Array.from(probs.dataSync());
  } finally {
    probs.dispose();
  }
}

/** Writes scale·√p_{i,j}(e_j − p_i) into row `row` of the [·, C] cotangent `out` (adds). */
function factorColumn(
  probs: Float64Array,
  i: number,
  j: number,
  c: number,
  scale: number,
  out: Float64Array,
  row: number,
): void {
  const pi = probs.subarray(i * c, (i + 1) * c);
  const w = scale * Math.sqrt(pi[j]);
  for (let t = 0; t < c; t++) out[row * c + t] += w * ((t === j ? 1 : 0) - pi[t]);
}

type Vjp = (xs: Tensor, cotangent: Float64Array) => Float64Array;

/** tr G = (1/N) Σ_i tr K_i from each sample's C vectors δ_{i,·} (N·C single-sample VJPs). */
function exactTrace(
  tf: Tf,
  x: Tensor,
  probs: Float64Array,
  n: number,
  c: number,
  vjp: Vjp,
): HierarchyTrace {
  const grams = new Float64Array(n * c * c);
  const deltas: Float64Array[] = [];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const xi = tf.slice(x, [i, ...x.shape.slice(1).map(() => 0)], [1, ...x.shape.slice(1)]);
    try {
      for (let j = 0; j < c; j++) {
        const u = new Float64Array(c);
        factorColumn(probs, i, j, c, 1, u, 0);
        deltas[j] = vjp(xi, u);
      }
    } finally {
      xi.dispose();
    }
    const gram = grams.subarray(i * c * c, (i + 1) * c * c);
    for (let a = 0; a < c; a++) {
      for (let b = 0; b <= a; b++) {
        const v = dot(deltas[a], deltas[b]);
        gram[a * c + b] = v;
        gram[b * c + a] = v;
      }
      sum += gram[a * c + a];
    }
  }
  return { value: sum / n, stderr: 0, exact: true, sampleGrams: grams };
}

/**
 * tr G ≈ mean over probes of ‖Σ_{i,c′} s_{i,c′} δ_{i,c′}‖² / N with Rademacher signs s: unbiased,
 * since E[s sᵀ] = I makes the cross terms vanish. One full-batch VJP per probe.
 */
async function estimatedTrace(
  x: Tensor,
  probs: Float64Array,
  n: number,
  c: number,
  probes: number,
  seed: number,
  vjp: Vjp,
): Promise<HierarchyTrace> {
  const form = async (signs: Float64Array): Promise<number> => {
    const u = new Float64Array(n * c);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < c; j++) factorColumn(probs, i, j, c, signs[i * c + j], u, i);
    }
    const g = vjp(x, u);
    return dot(g, g) / n;
  };
  const { estimate, stderr } = await traceOfQuadraticForm(form, {
    dim: n * c,
    probes,
    random: createRandom(seed),
  });
  return { value: estimate, stderr, exact: false };
}
