/**
 * Forward-only float64 references for the layers that {@link referenceMlp} does not cover
 * (BatchNormalization in inference mode, LayerNormalization, Embedding, LeakyReLU, gelu) and
 * for Gauss–Newton matrices. Second derivatives come from finite differences of the float64
 * loss itself:
 * - mixed entries from the four-point stencil D(h) = [L(++) − L(+−) − L(−+) + L(−−)]/4h²,
 *   Richardson-extrapolated as (4D(h) − D(2h))/3 (truncation O(h⁴));
 * - diagonal entries from the five-point stencil (−L(2h) + 16L(h) − 30L(0) + 16L(−h) − L(−2h))/12h².
 * With h = 1e-3 the truncation is ~1e-12 and the rounding ~ε₆₄|L|/h² ≈ 1e-10 relative: five
 * orders below float32 arithmetic. Kinks are detected as for {@link finiteDifferenceHessian}.
 */
import {
  activate,
  lossAndDerivative,
  type ReferenceActivation,
  type ReferenceLoss,
} from './float64.js';

/** A layer of {@link referenceNetwork}, acting on one sample's feature vector. */
export type ForwardLayer =
  | {
      readonly type: 'dense';
      readonly units: number;
      readonly activation: ReferenceActivation | 'gelu';
      readonly useBias?: boolean;
    }
  | {
      readonly type: 'batchNorm';
      readonly mean: readonly number[];
      readonly variance: readonly number[];
      readonly epsilon: number;
    }
  | { readonly type: 'layerNorm'; readonly epsilon: number }
  | { readonly type: 'embedding'; readonly vocab: number; readonly dim: number }
  | { readonly type: 'activation'; readonly activation: ReferenceActivation | 'gelu' };

/** A float64 network: per-sample outputs and the branch pattern of its kinks. */
export interface ReferenceNetwork {
  readonly dim: number;
  outputs(theta: Float64Array): { outputs: Float64Array[]; branches: string };
}

/** erf to ~1e-16 relative (Taylor series for |x| < 3, continued fraction beyond). */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let k = 1; k < 200; k++) {
      term *= (-x * x) / k;
      const add = term / (2 * k + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(−x²)/(x√π) · 1/(1 + 1/(2x²)/(1 + 2/(2x²)/(1 + …))) (Lentz-free backward evaluation).
  let f = 0;
  for (let k = 60; k >= 1; k--) f = k / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

function apply(name: ReferenceActivation | 'gelu', z: number): number {
  if (name === 'gelu') return 0.5 * z * (1 + erf(z / Math.SQRT2));
  return activate(name, z)[0];
}

const KINKED: ReadonlySet<string> = new Set(['relu', 'leakyRelu', 'elu', 'selu']);

/**
 * A float64 network on inputs `x` (N rows of `inputSize` numbers; Embedding ids as numbers),
 * parameters in tfjs's `trainableWeights` order: Dense kernel [nIn, nOut] row-major then bias;
 * BatchNormalization and LayerNormalization gamma then beta; Embedding table [vocab, dim].
 * Embedding outputs are flattened (as an Embedding followed by Flatten).
 */
export function referenceNetwork(
  layers: readonly ForwardLayer[],
  inputSize: number,
  x: Float64Array,
  n: number,
): ReferenceNetwork {
  const sizes: number[] = [];
  let width = inputSize;
  let dim = 0;
  for (const l of layers) {
    if (l.type === 'dense') {
      dim += width * l.units + (l.useBias === false ? 0 : l.units);
      width = l.units;
    } else if (l.type === 'batchNorm' || l.type === 'layerNorm') {
      dim += 2 * width;
    } else if (l.type === 'embedding') {
      dim += l.vocab * l.dim;
      width *= l.dim;
    }
    sizes.push(width);
  }
  return {
    dim,
    outputs(theta) {
      const outputs: Float64Array[] = [];
      let branches = '';
      for (let s = 0; s < n; s++) {
        let a = x.slice(s * inputSize, (s + 1) * inputSize);
        let offset = 0;
        for (const l of layers) {
          if (l.type === 'dense') {
            const nIn = a.length;
            const out = new Float64Array(l.units);
            const bias = offset + nIn * l.units;
            for (let j = 0; j < l.units; j++) {
              let z = l.useBias === false ? 0 : theta[bias + j];
              for (let i = 0; i < nIn; i++) z += a[i] * theta[offset + i * l.units + j];
              if (KINKED.has(l.activation)) branches += z > 0 ? '+' : '-';
              out[j] = apply(l.activation, z);
            }
            offset = bias + (l.useBias === false ? 0 : l.units);
            a = out;
          } else if (l.type === 'batchNorm') {
            const d = a.length;
            a = a.map(
              (v, i) =>
                (theta[offset + i] * (v - l.mean[i])) / Math.sqrt(l.variance[i] + l.epsilon) +
                theta[offset + d + i],
            );
            offset += 2 * d;
          } else if (l.type === 'layerNorm') {
            const d = a.length;
            const mean = a.reduce((p, v) => p + v, 0) / d;
            const variance = a.reduce((p, v) => p + (v - mean) ** 2, 0) / d;
            const scale = 1 / Math.sqrt(variance + l.epsilon);
            a = a.map((v, i) => theta[offset + i] * (v - mean) * scale + theta[offset + d + i]);
            offset += 2 * d;
          } else if (l.type === 'embedding') {
            const out = new Float64Array(a.length * l.dim);
            for (const [p, id] of a.entries()) {
              for (let k = 0; k < l.dim; k++) out[p * l.dim + k] = theta[offset + id * l.dim + k];
            }
            offset += l.vocab * l.dim;
            a = out;
          } else {
            if (KINKED.has(l.activation)) for (const v of a) branches += v > 0 ? '+' : '-';
            const name = l.activation;
            a = a.map((v) => apply(name, v));
          }
        }
        outputs.push(a);
      }
      return { outputs, branches };
    },
  };
}

/** The loss (mean over samples) of per-sample outputs against targets (N × C rows). */
export function referenceLoss(
  outputs: readonly Float64Array[],
  y: Float64Array,
  loss: ReferenceLoss,
): number {
  let total = 0;
  for (const [s, o] of outputs.entries()) {
    total += lossAndDerivative(loss, o, y.subarray(s * o.length, (s + 1) * o.length))[0];
  }
  return total / outputs.length;
}

/** The Hessian of the float64 loss of `net` at `theta` by the stencils of this module. */
export function lossHessian(
  net: ReferenceNetwork,
  y: Float64Array,
  loss: ReferenceLoss,
  theta: Float64Array,
  h = 1e-3,
): Float64Array {
  const p = net.dim;
  const base = net.outputs(theta).branches;
  const point = Float64Array.from(theta);
  const at = (i: number, di: number, j: number, dj: number) => {
    point[i] += di;
    point[j] += dj;
    const { outputs, branches } = net.outputs(point);
    point.set(theta);
    if (branches !== base)
      throw new Error(`lossHessian: the stencil crosses a kink at (${i}, ${j})`);
    return referenceLoss(outputs, y, loss);
  };
  const hessian = new Float64Array(p * p);
  const l0 = at(0, 0, 0, 0);
  for (let i = 0; i < p; i++) {
    hessian[i * p + i] =
      (-at(i, 2 * h, i, 0) +
        16 * at(i, h, i, 0) -
        30 * l0 +
        16 * at(i, -h, i, 0) -
        at(i, -2 * h, i, 0)) /
      (12 * h * h);
    for (let j = i + 1; j < p; j++) {
      const d = (k: number) =>
        (at(i, k, j, k) - at(i, k, j, -k) - at(i, -k, j, k) + at(i, -k, j, -k)) / (4 * k * k);
      const value = (4 * d(h) - d(2 * h)) / 3;
      hessian[i * p + j] = value;
      hessian[j * p + i] = value;
    }
  }
  return hessian;
}

/**
 * The generalized Gauss–Newton matrix (1/N) Σ_n J_nᵀ A_n J_n of `net` at `theta`: J_n by the
 * fourth-order central difference of the float64 outputs (h = 1e-4: truncation ~1e-16,
 * rounding ~1e-12), A_n the loss's analytic Hessian in the outputs (docs/methods.md).
 */
export function gaussNewtonMatrix(
  net: ReferenceNetwork,
  y: Float64Array,
  loss: ReferenceLoss,
  theta: Float64Array,
  h = 1e-4,
): Float64Array {
  const p = net.dim;
  const { outputs } = net.outputs(theta);
  const n = outputs.length;
  const c = outputs[0].length;
  const jac = outputs.map(() => new Float64Array(c * p));
  const point = Float64Array.from(theta);
  const shifted = (j: number, step: number) => {
    point[j] = theta[j] + step;
    const out = net.outputs(point).outputs;
    point[j] = theta[j];
    return out;
  };
  for (let j = 0; j < p; j++) {
    const [p1, m1, p2, m2] = [shifted(j, h), shifted(j, -h), shifted(j, 2 * h), shifted(j, -2 * h)];
    for (let s = 0; s < n; s++) {
      for (let k = 0; k < c; k++) {
        jac[s][k * p + j] = (8 * (p1[s][k] - m1[s][k]) - (p2[s][k] - m2[s][k])) / (12 * h);
      }
    }
  }
  const g = new Float64Array(p * p);
  for (let s = 0; s < n; s++) {
    const a = outputHessian(loss, outputs[s], y.subarray(s * c, (s + 1) * c));
    const aj = new Float64Array(c * p);
    for (let k = 0; k < c; k++) {
      for (let l = 0; l < c; l++) {
        const akl = a[k * c + l];
        if (akl === 0) continue;
        for (let j = 0; j < p; j++) aj[k * p + j] += akl * jac[s][l * p + j];
      }
    }
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) {
        let sum = 0;
        for (let k = 0; k < c; k++) sum += jac[s][k * p + i] * aj[k * p + j];
        g[i * p + j] += sum / n;
      }
    }
  }
  return g;
}

/** A = ∇²_o ℓ(o, y) of one sample (C × C), the conventions of losses.ts. */
export function outputHessian(loss: ReferenceLoss, o: Float64Array, y: Float64Array): Float64Array {
  const c = o.length;
  const a = new Float64Array(c * c);
  if (loss === 'mse') {
    for (let k = 0; k < c; k++) a[k * c + k] = 2 / c;
  } else if (loss === 'binaryCrossEntropy') {
    for (let k = 0; k < c; k++) {
      const s = 1 / (1 + Math.exp(-o[k]));
      a[k * c + k] = (s * (1 - s)) / c;
    }
  } else {
    const m = Math.max(...o);
    const e = o.map((v) => Math.exp(v - m));
    const total = e.reduce((p, v) => p + v, 0);
    const prob = e.map((v) => v / total);
    const mass = y.reduce((p, v) => p + v, 0);
    for (let k = 0; k < c; k++) {
      for (let l = 0; l < c; l++)
        a[k * c + l] = mass * ((k === l ? prob[k] : 0) - prob[k] * prob[l]);
    }
  }
  return a;
}
