import {
  createRandom,
  type LinearOperator,
  layoutFromSizes,
  type ParameterLayout,
} from '@hessian-probe/core';

/** A synthetic classification problem: Gaussian inputs around class means. */
export interface ClassificationData {
  /** Inputs, row-major samples × features. */
  x: Float64Array;
  /** Labels in [0, classes). */
  labels: Int32Array;
  samples: number;
  features: number;
  classes: number;
}

/**
 * Gaussian class clusters: class c has mean μ_c ~ N(0, separation² I), samples x = μ_c + ε with
 * ε ~ N(0, I); labels are balanced.
 */
export function gaussianClusters(options: {
  samples: number;
  features: number;
  classes: number;
  separation: number;
  seed: number;
}): ClassificationData {
  const { samples, features, classes, separation, seed } = options;
  const rng = createRandom(seed);
  const means = Array.from({ length: classes }, () =>
    rng.gaussianVector(features).map((m) => separation * m),
  );
  const x = new Float64Array(samples * features);
  const labels = new Int32Array(samples);
  for (let n = 0; n < samples; n++) {
    const c = n % classes;
    labels[n] = c;
    for (let f = 0; f < features; f++) x[n * features + f] = means[c][f] + rng.gaussian();
  }
  return { x, labels, samples, features, classes };
}

/**
 * The exact, matrix-free Hessian of the mean softmax cross-entropy of a linear classifier
 * z = W x (W ∈ R^{C×d}, flattened per output class: block c is row W_c), at weights `w`:
 * H = (1/N) Σ_n A_n ⊗ x_n x_nᵀ with A_n = diag(p_n) − p_n p_nᵀ (docs/methods.md, notation).
 * One product costs O(N·C·d) in float64. The layout has one block per class (`class_c`).
 */
export function softmaxRegressionHessian(
  data: ClassificationData,
  w: Float64Array,
): { operator: LinearOperator; layout: ParameterLayout } {
  const { x, samples, features, classes } = data;
  const probabilities = new Float64Array(samples * classes);
  for (let n = 0; n < samples; n++) {
    let max = Number.NEGATIVE_INFINITY;
    const logits = new Float64Array(classes);
    for (let c = 0; c < classes; c++) {
      let z = 0;
      for (let f = 0; f < features; f++) z += w[c * features + f] * x[n * features + f];
      logits[c] = z;
      max = Math.max(max, z);
    }
    let total = 0;
    for (let c = 0; c < classes; c++) total += Math.exp(logits[c] - max);
    for (let c = 0; c < classes; c++)
      probabilities[n * classes + c] = Math.exp(logits[c] - max) / total;
  }
  const dim = classes * features;
  const operator: LinearOperator = {
    dim,
    async matvec(v) {
      const out = new Float64Array(dim);
      const z = new Float64Array(classes);
      for (let n = 0; n < samples; n++) {
        // z = V x_n, then A_n z, then accumulate (A_n z) x_nᵀ.
        let pz = 0;
        for (let c = 0; c < classes; c++) {
          let s = 0;
          for (let f = 0; f < features; f++) s += v[c * features + f] * x[n * features + f];
          z[c] = s;
          pz += probabilities[n * classes + c] * s;
        }
        for (let c = 0; c < classes; c++) {
          const a = (probabilities[n * classes + c] * (z[c] - pz)) / samples;
          for (let f = 0; f < features; f++) out[c * features + f] += a * x[n * features + f];
        }
      }
      return out;
    },
  };
  const layout = layoutFromSizes(
    Array.from({ length: classes }, (_, c) => ({ name: `class_${c}`, size: features })),
  );
  return { operator, layout };
}
