import type { Tensor } from '@tensorflow/tfjs-core';
import { denseMatrix } from '../dense.js';
import { topEigenpairs } from '../eigenpairs.js';
import { OptionError } from '../errors.js';
import { layoutFromSizes } from '../layout.js';
import { type LinearOperator, restrictOperator } from '../operator.js';
import { checkInteger } from '../options.js';
import { createRandom } from '../random.js';
import { symmetricEigen } from '../symmetric-eigen.js';
import { LossError, UnsupportedLayerError } from './errors.js';
import { flattenLayers, type LayerLike, type WeightLike } from './layouts.js';
import { endsInActivation } from './logits.js';
import { LOSS_NAMES, type LossName } from './losses.js';
import {
  type CurvatureModel,
  checkSupportedLayers,
  KERAS_LOSSES,
  type KerasLossName,
  modelCurvature,
} from './model.js';
import type { Tf } from './types.js';

/**
 * Kronecker decoupling of Dense-layer Hessians (Wu, Zhu, Wu, Wang & Ge, "Dissecting Hessian:
 * Understanding Common Structure of Hessian in Neural Networks", arXiv 2010.04261, 2020–22;
 * METHODS.md section B).
 *
 * For a Dense layer with input x (augmented with a 1 when the layer has a bias) and
 * pre-activation z = W x̃, the layer's Hessian block is exactly H_L = E[M ⊗ x̃x̃ᵀ] with
 * M = ∂²ℓ/∂z∂zᵀ, in the per-output-neuron order of the 'unit' layout (unit j = W_{j,:} then
 * b_j), so Kronecker formulas read (output factor) ⊗ (input factor). The decoupling conjecture
 * is H_L ≈ K = E[M] ⊗ E[x̃x̃ᵀ].
 *
 * M is computed by backpropagating a square-root factor of the loss Hessian A = LLᵀ in the
 * logits: g_c = J_{logits ← z}ᵀ L[:, c], M = Σ_c g_c g_cᵀ = JᵀAJ (C vector-Jacobian products per
 * chunk give the factor for every Dense layer at once). This is the exact ∂²ℓ/∂z² when every
 * map between z and the logits is piecewise linear (the layer's own activation and all later
 * layers: linear, relu, LeakyReLU, max/average pooling, Flatten/Reshape, Dropout and
 * BatchNormalization in inference mode), because the σ'' terms vanish almost everywhere. With a
 * smooth activation downstream (tanh, sigmoid, elu, gelu, …) or LayerNormalization, JᵀAJ is only
 * the Gauss–Newton part of M; such layers are labelled `exact: false` with the offending pieces
 * listed in `smoothDownstream`.
 */

/** The parts of a Sequential tfjs-layers model that {@link kroneckerFactors} uses. */
export interface KroneckerModel extends CurvatureModel {
  getClassName?(): string;
}

/** Options of {@link kroneckerFactors}. */
export interface KroneckerFactorsOptions {
  /** The TensorFlow.js namespace in use (any backend). */
  readonly tf: Tf;
  /** Probe inputs [N, …]. */
  readonly x: Tensor;
  /** Probe targets [N, C] (one-hot or values) or class ids [N] / [N, 1] for the cross-entropy. */
  readonly y: Tensor;
  /** Loss as in {@link modelCurvature} (a {@link LossName} or Keras name; default: the compiled loss). */
  readonly loss?: LossName | KerasLossName;
  /** Samples per chunk (default all N). */
  readonly batchSize?: number;
  /**
   * Also return each sample's x̃_n and M_n (default false). Memory N·(m + n_out²) float64 per
   * layer: for tests and small probes.
   */
  readonly perSample?: boolean;
}

/** Both Kronecker factors of one Dense layer. */
export interface KroneckerLayerFactors {
  /** The layer's name; its Hessian block is the 'unit' layout's blocks `<name>/unit_j`. */
  readonly name: string;
  /** n_out. */
  readonly units: number;
  /** m = n_in (+1 with a bias): the input factor's dimension. */
  readonly inputs: number;
  /** Whether x̃ carries the bias column (the last entry, = 1). */
  readonly bias: boolean;
  /** E[x̃x̃ᵀ], m×m row-major, float64 accumulation over the probe set. */
  readonly inputMoment: Float64Array;
  /** E[M], n_out×n_out row-major, float64 accumulation. */
  readonly outputHessian: Float64Array;
  /** Whether M = JᵀAJ is the exact ∂²ℓ/∂z² (everything downstream piecewise linear). */
  readonly exact: boolean;
  /** The smooth pieces downstream that make M only its Gauss–Newton part (empty when exact). */
  readonly smoothDownstream: readonly string[];
  /** With `perSample`: x̃_n as rows [N, m] and M_n as [N, n_out, n_out], row-major. */
  readonly perSample?: { readonly inputs: Float64Array; readonly outputHessians: Float64Array };
}

/** Activations under which the layer's second derivative vanishes almost everywhere. */
const PIECEWISE_LINEAR_ACTIVATIONS: ReadonlySet<string> = new Set(['linear', 'relu']);
/** Layer classes that are piecewise-linear (or affine) maps of their input in inference mode. */
const PIECEWISE_LINEAR_LAYERS: ReadonlySet<string> = new Set([
  'InputLayer',
  'Dense',
  'Conv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Reshape',
  'Dropout',
  'BatchNormalization',
  'Activation',
  'LeakyReLU',
]);

interface ActivationLike {
  apply(x: Tensor): Tensor;
  getClassName(): string;
}

interface DenseLike extends LayerLike {
  readonly kernel?: WeightLike | null;
  readonly bias?: WeightLike | null;
  readonly activation?: ActivationLike | null;
  apply(x: Tensor, kwargs?: { training?: boolean }): unknown;
}

interface Resolved {
  readonly loss: LossName;
  readonly strip: boolean;
}

function resolveLoss(
  model: KroneckerModel,
  explicit: LossName | KerasLossName | undefined,
  where: string,
): Resolved {
  let name: unknown = explicit;
  if (name === undefined) {
    name = Array.isArray(model.loss) && model.loss.length === 1 ? model.loss[0] : model.loss;
  }
  let loss: LossName;
  let keras = false;
  if ((LOSS_NAMES as readonly unknown[]).includes(name)) loss = name as LossName;
  else if (typeof name === 'string' && name in KERAS_LOSSES) {
    loss = KERAS_LOSSES[name as KerasLossName];
    keras = true;
  } else {
    throw new LossError(
      `${where}: expected options.loss or a compiled loss in ${[...LOSS_NAMES, ...Object.keys(KERAS_LOSSES)].join(', ')}, got ${JSON.stringify(name)}`,
    );
  }
  if (loss === 'meanSquaredError') return { loss, strip: false };
  const activation = loss === 'softmaxCrossEntropy' ? 'softmax' : 'sigmoid';
  const ends = endsInActivation(model, activation);
  if (keras && !ends) {
    throw new LossError(
      `${where}: expected a model ending in ${activation} for the Keras loss '${String(name)}', got a last layer without it; pass loss: '${loss}' to treat the output as logits`,
    );
  }
  return { loss, strip: ends };
}

/** The model's layers with the Dense ones picked out; checks the model is supported. */
function denseLayers(
  model: KroneckerModel,
  where: string,
): { layers: DenseLike[]; dense: number[] } {
  const cls = model.getClassName?.();
  if (cls !== undefined && cls !== 'Sequential') {
    throw new UnsupportedLayerError(
      `${where}: expected a Sequential model (layers applied in order), got a ${cls}`,
      [cls],
    );
  }
  checkSupportedLayers(model);
  const layers = flattenLayers(model) as DenseLike[];
  const dense = layers.flatMap((l, i) => (l.getClassName() === 'Dense' && l.kernel ? [i] : []));
  if (dense.length === 0) {
    throw new UnsupportedLayerError(`${where}: expected at least one Dense layer, got none`, []);
  }
  const trainable = new Set(model.trainableWeights);
  for (const i of dense) {
    const l = layers[i];
    if (!l.kernel || !trainable.has(l.kernel) || (l.bias && !trainable.has(l.bias))) {
      throw new UnsupportedLayerError(
        `${where}: expected the weights of Dense layer ${l.name} to be trainable`,
        [l.name],
      );
    }
  }
  return { layers, dense };
}

/** Smooth pieces from Dense layer `index`'s activation to the logits. */
function smoothPieces(layers: readonly DenseLike[], index: number, strip: boolean): string[] {
  const out: string[] = [];
  for (let i = index; i < layers.length; i++) {
    const l = layers[i];
    const last = i === layers.length - 1;
    const cls = l.getClassName();
    if (last && strip && (cls === 'Softmax' || cls === 'Activation')) continue;
    if (i > index && !PIECEWISE_LINEAR_LAYERS.has(cls)) out.push(`${l.name} (${cls})`);
    const act = l.activation?.getClassName();
    if (act !== undefined && !(last && strip) && !PIECEWISE_LINEAR_ACTIVATIONS.has(act)) {
      out.push(`${l.name} (${act})`);
    }
  }
  return out;
}

/**
 * The forward pass to the logits, with each Dense pre-activation shifted by `deltas[k]`
 * (zeros: J_{logits ← z_k}ᵀ u is the gradient in delta k). Returns the Dense inputs too.
 */
function forward(
  tf: Tf,
  layers: readonly DenseLike[],
  dense: readonly number[],
  x: Tensor,
  strip: boolean,
  deltas: readonly Tensor[] | undefined,
  where: string,
): { logits: Tensor; inputs: Tensor[] } {
  let h = x;
  const inputs: Tensor[] = [];
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    const last = i === layers.length - 1;
    const k = dense.indexOf(i);
    if (k >= 0) {
      if (h.rank !== 2) {
        throw new UnsupportedLayerError(
          `${where}: expected Dense layer ${l.name} to take rank-2 inputs [N, n_in], got [${h.shape}]`,
          [l.name],
        );
      }
      inputs.push(h);
      let z = tf.matMul(h, (l.kernel as WeightLike).read());
      if (l.bias) z = tf.add(z, l.bias.read());
      if (deltas) z = tf.add(z, deltas[k]);
      h = last && strip ? z : l.activation ? l.activation.apply(z) : z;
    } else if (last && strip) {
      // the final Activation('softmax'|'sigmoid') or Softmax layer: the logits are its input
    } else {
      const out = l.apply(h, { training: false });
      if (Array.isArray(out)) {
        throw new UnsupportedLayerError(`${where}: expected single-output layers, got ${l.name}`, [
          l.name,
        ]);
      }
      h = out as Tensor;
    }
  }
  return { logits: h, inputs };
}

/**
 * Column c of a square-root factor L of the per-sample loss Hessian A = LLᵀ in the logits z
 * [n, C], for every sample: CE A = mass·(diag(p) − ppᵀ), L[:, c] = √(mass·p_c)(e_c − p)
 * (since Σp = 1); BCE (mean over C outputs) A = diag(σ(1 − σ))/C; MSE (mean over C) A = (2/C)I.
 */
function factorColumn(tf: Tf, loss: LossName, z: Tensor, targets: Tensor, c: number): Tensor {
  const classes = z.shape[1] as number;
  const e = tf.cast(tf.oneHot(tf.fill([z.shape[0] as number], c, 'int32'), classes), 'float32');
  if (loss === 'meanSquaredError') return tf.mul(e, Math.sqrt(2 / classes));
  if (loss === 'binaryCrossEntropy') {
    const s = tf.sigmoid(z);
    return tf.mul(e, tf.sqrt(tf.div(tf.mul(s, tf.sub(1, s)), classes)));
  }
  const p = tf.softmax(z);
  const mass = tf.sum(targets, -1, true);
  const pc = tf.slice(p, [0, c], [-1, 1]);
  return tf.mul(tf.sqrt(tf.mul(mass, pc)), tf.sub(e, p));
}

/**
 * The Kronecker factors E[x̃x̃ᵀ] and E[M] of every Dense layer of a Sequential model on a probe
 * set (see the module comment for what M is and when it is exact). Cost per chunk: one forward
 * pass plus C forward-and-backward passes (one vector-Jacobian product per column of the loss
 * Hessian's factor, shared by all layers), then O(N·(m² + C·n_out²)) float64 work per layer.
 *
 * @throws {@link UnsupportedLayerError} for a non-Sequential model, unsupported layers, a Dense
 *   layer on rank > 2 inputs or no Dense layer; {@link LossError} for an unusable loss or labels.
 * @example
 * ```ts
 * const [hidden, out] = await kroneckerFactors(model, { tf, x, y, loss: 'softmaxCrossEntropy' });
 * out.outputHessian; // E[A], rank C − 1 for CE
 * ```
 */
export async function kroneckerFactors(
  model: KroneckerModel,
  options: KroneckerFactorsOptions,
): Promise<KroneckerLayerFactors[]> {
  const where = 'kroneckerFactors';
  const { tf, x, y } = options;
  const { layers, dense } = denseLayers(model, where);
  const resolved = resolveLoss(model, options.loss, where);
  const n = x.shape[0];
  if (x.rank < 1 || n === undefined || n < 1 || y.rank < 1 || y.shape[0] !== n) {
    throw new OptionError(
      `${where}: expected x and y with the same number N >= 1 of samples, got x [${x.shape}] and y [${y.shape}]`,
    );
  }
  const batchSize = options.batchSize ?? n;
  checkInteger(where, 'batchSize', batchSize, 1);
  const shapes = dense.map((i) => {
    const l = layers[i];
    const [nIn, units] = (l.kernel as WeightLike).shape as number[];
    return { units, inputs: nIn + (l.bias ? 1 : 0), bias: Boolean(l.bias) };
  });
  const moments = shapes.map((s) => new Float64Array(s.inputs * s.inputs));
  const hessians = shapes.map((s) => new Float64Array(s.units * s.units));
  const perInputs = options.perSample ? shapes.map((s) => new Float64Array(n * s.inputs)) : [];
  const perHessians = options.perSample
    ? shapes.map((s) => new Float64Array(n * s.units * s.units))
    : [];
  const sparse =
    resolved.loss === 'softmaxCrossEntropy' && (y.rank === 1 || (y.rank === 2 && y.shape[1] === 1));
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const slice = (t: Tensor) =>
      tf.slice(
        t,
        [start, ...t.shape.slice(1).map(() => 0)],
        [size, ...t.shape.slice(1).map(() => -1)],
      );
    let inputData: ArrayLike<number>[] = [];
    const logits = tf.tidy(() => {
      const run = forward(tf, layers, dense, slice(x), resolved.strip, undefined, where);
      inputData = run.inputs.map((t) => t.dataSync());
      return run.logits;
    });
    if (logits.rank !== 2) {
      logits.dispose();
      throw new LossError(`${where}: expected logits of rank 2 [N, C], got [${logits.shape}]`);
    }
    const classes = logits.shape[1] as number;
    const targets = tf.tidy(() => {
      const t = slice(y);
      if (sparse) {
        return tf.cast(tf.oneHot(tf.cast(tf.reshape(t, [-1]), 'int32'), classes), 'float32');
      }
      return tf.cast(t, 'float32');
    });
    for (let k = 0; k < dense.length; k++) {
      const { inputs: m, bias } = shapes[k];
      const data = inputData[k];
      const nIn = m - (bias ? 1 : 0);
      const row = new Float64Array(m);
      const acc = moments[k];
      for (let s = 0; s < size; s++) {
        for (let i = 0; i < nIn; i++) row[i] = data[s * nIn + i];
        if (bias) row[nIn] = 1;
        if (options.perSample) perInputs[k].set(row, (start + s) * m);
        for (let i = 0; i < m; i++) {
          const ri = row[i] / n;
          if (ri === 0) continue;
          for (let j = 0; j < m; j++) acc[i * m + j] += ri * row[j];
        }
      }
    }
    for (let c = 0; c < classes; c++) {
      let grads: ArrayLike<number>[] = [];
      tf.tidy(() => {
        const u = factorColumn(tf, resolved.loss, logits, targets, c);
        const xc = slice(x);
        const deltas = shapes.map((s) => tf.zeros([size, s.units]));
        const f = (...ds: Tensor[]) =>
          tf.sum(tf.mul(forward(tf, layers, dense, xc, resolved.strip, ds, where).logits, u));
        grads = tf
          .grads(f)(deltas)
          .map((g) => g.dataSync());
      });
      for (let k = 0; k < dense.length; k++) {
        const units = shapes[k].units;
        const g = grads[k];
        const acc = hessians[k];
        const per = perHessians[k];
        for (let s = 0; s < size; s++) {
          const base = s * units;
          const perBase = (start + s) * units * units;
          for (let i = 0; i < units; i++) {
            const gi = g[base + i];
            if (gi === 0) continue;
            for (let j = 0; j < units; j++) {
              const v = gi * g[base + j];
              acc[i * units + j] += v / n;
              if (per) per[perBase + i * units + j] += v;
            }
          }
        }
      }
    }
    tf.dispose([logits, targets]);
  }
  return dense.map((i, k) => {
    const smooth = smoothPieces(layers, i, resolved.strip);
    return {
      name: layers[i].name,
      ...shapes[k],
      inputMoment: symmetrize(moments[k], shapes[k].inputs),
      outputHessian: symmetrize(hessians[k], shapes[k].units),
      exact: smooth.length === 0,
      smoothDownstream: smooth,
      ...(options.perSample
        ? { perSample: { inputs: perInputs[k], outputHessians: perHessians[k] } }
        : {}),
    };
  });
}

function symmetrize(a: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const v = (a[i * n + j] + a[j * n + i]) / 2;
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  return a;
}

/** Options of {@link kroneckerDecoupling}. */
export interface KroneckerDecouplingOptions extends Omit<KroneckerFactorsOptions, 'perSample'> {
  /** Top eigenpairs compared (default 10, capped at the layer's dimension). */
  readonly topK?: number;
  /**
   * Largest layer block d = n_out·m assembled densely (default 512). Dense assembly costs d
   * Hessian-vector products over the whole probe set plus an O(d³) eigendecomposition of a
   * d² float64 matrix (measured: d = 650 in a 784-64-10 MLP, N = 256, tfjs cpu backend, ≈ 210 s);
   * larger layers get the randomized estimates (`probes` products plus Lanczos for the top-k).
   */
  readonly maxExactDim?: number;
  /** Rademacher probes of the randomized Frobenius estimates (default 30). */
  readonly probes?: number;
  /** Seed of the randomized parts (default 0). */
  readonly seed?: number;
  /** Passed to {@link modelCurvature} (default true). */
  readonly selfCheck?: boolean;
}

/** Decoupling metrics of one Dense layer. */
export interface KroneckerLayerReport {
  readonly name: string;
  readonly units: number;
  readonly inputs: number;
  readonly bias: boolean;
  /** Whether E[M] is the exact output Hessian (see {@link KroneckerLayerFactors.exact}). */
  readonly exact: boolean;
  readonly smoothDownstream: readonly string[];
  /** 'dense': H_L assembled (n_out·m ≤ maxExactDim); 'randomized': matvec estimates. */
  readonly method: 'dense' | 'randomized';
  /** ‖H_L − K‖_F / ‖H_L‖_F, K = E[M] ⊗ E[x̃x̃ᵀ]. */
  readonly relativeError: number;
  /** Delta-method standard error of `relativeError` ('randomized' only; 0 for 'dense'). */
  readonly relativeErrorStandardError: number;
  /**
   * ‖UᵀV‖²_F / k for the top-k eigenvectors U of H_L and V of K. Ill-defined when k splits a
   * repeated eigenvalue of either (e.g. K = (2/C)I ⊗ B under MSE repeats each eigenvalue C
   * times): choose k at a gap.
   */
  readonly overlap: number;
  /** Top-k eigenvalues of H_L, descending. */
  readonly hessianValues: Float64Array;
  /** Top-k eigenvalues of K (products of the factors' eigenvalues), descending. */
  readonly kroneckerValues: Float64Array;
  /** λ_i(H_L) / λ_i(K). */
  readonly eigenvalueRatios: Float64Array;
  /**
   * s₁²/Σs² of each of H_L's top-k eigenvectors reshaped to [n_out, m]. (K's eigenvectors are
   * u ⊗ v, rank 1 by construction: energy 1, up to mixing within repeated eigenvalues.)
   */
  readonly rank1Energy: Float64Array;
  /** λ₁/λ₂ of E[x̃x̃ᵀ] (Infinity when λ₂ = 0). */
  readonly inputDominance: number;
  /** Eigenvalues of E[M], descending (for the rank C − 1 / outlier count). */
  readonly outputHessianValues: Float64Array;
  /** Hessian-vector products spent on this layer. */
  readonly matvecs: number;
}

/** Eigenpairs descending: values and column vectors as separate arrays. */
function eigenDescending(
  a: Float64Array,
  n: number,
): { values: Float64Array; vectors: Float64Array[] } {
  const { values, vectors } = symmetricEigen(a, n);
  const order = Array.from({ length: n }, (_, i) => n - 1 - i);
  return {
    values: Float64Array.from(order, (i) => values[i]),
    vectors: order.map((k) => Float64Array.from({ length: n }, (_, i) => vectors[i * n + k])),
  };
}

/** The top-k eigenpairs of A ⊗ B from those of A (n×n) and B (m×m): O(n³ + m³ + nm log nm). */
function kroneckerTop(
  a: Float64Array,
  n: number,
  b: Float64Array,
  m: number,
  k: number,
): { values: Float64Array; vectors: Float64Array[] } {
  const ea = eigenDescending(a, n);
  const eb = eigenDescending(b, m);
  const pairs: { value: number; i: number; j: number }[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) pairs.push({ value: ea.values[i] * eb.values[j], i, j });
  }
  pairs.sort((p, q) => q.value - p.value);
  const top = pairs.slice(0, k);
  return {
    values: Float64Array.from(top, (p) => p.value),
    vectors: top.map(({ i, j }) => {
      const u = ea.vectors[i];
      const v = eb.vectors[j];
      const out = new Float64Array(n * m);
      for (let r = 0; r < n; r++) for (let s = 0; s < m; s++) out[r * m + s] = u[r] * v[s];
      return out;
    }),
  };
}

/** (A ⊗ B) vec(Z) = vec(A Z B) for row-major Z [n, m] and symmetric B. */
function kroneckerProduct(
  a: Float64Array,
  n: number,
  b: Float64Array,
  m: number,
  z: Float64Array,
): Float64Array {
  const az = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < n; r++) {
      const air = a[i * n + r];
      if (air === 0) continue;
      for (let s = 0; s < m; s++) az[i * m + s] += air * z[r * m + s];
    }
  }
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < m; s++) {
      const v = az[i * m + s];
      if (v === 0) continue;
      for (let t = 0; t < m; t++) out[i * m + t] += v * b[s * m + t];
    }
  }
  return out;
}

/** s₁²/Σs² of v reshaped to [n, m]: largest eigenvalue of the smaller Gram matrix over its trace. */
function rank1Energy(v: Float64Array, n: number, m: number): number {
  const small = Math.min(n, m);
  const gram = new Float64Array(small * small);
  const at = (r: number, s: number) => (n <= m ? v[r * m + s] : v[s * m + r]);
  const other = Math.max(n, m);
  for (let i = 0; i < small; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let t = 0; t < other; t++) s += at(i, t) * at(j, t);
      gram[i * small + j] = s;
      gram[j * small + i] = s;
    }
  }
  let trace = 0;
  for (let i = 0; i < small; i++) trace += gram[i * small + i];
  const { values } = symmetricEigen(gram, small);
  return trace > 0 ? values[small - 1] / trace : 0;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * The Kronecker-decoupling metrics (Wu et al. 2020–22; METHODS.md B) of every Dense layer of a
 * Sequential model: relative Frobenius error of K = E[M] ⊗ E[x̃x̃ᵀ] against the exact layer block
 * H_L of the Hessian ({@link modelCurvature}, 'unit' layout, restricted to the layer), top-k
 * eigenspace overlap, eigenvalue ratios, rank-1 energy of H_L's reshaped top eigenvectors and
 * the input dominance. K's top eigenpairs come from the factors' eigendecompositions
 * (O(n_out³ + m³)).
 *
 * Cost: the factors ({@link kroneckerFactors}); per layer of dimension d = n_out·m, when
 * d ≤ `maxExactDim` d Hessian-vector products (H_L assembled densely, O(d³) for its
 * eigendecomposition); otherwise `probes` products for the Hutchinson estimates
 * E‖(H_L − K)z‖² = ‖H_L − K‖²_F and E‖H_L z‖² = ‖H_L‖²_F (Rademacher z) plus those of
 * {@link topEigenpairs} (tol 1e-5) for H_L's top-k.
 *
 * @throws as {@link kroneckerFactors} and {@link modelCurvature}.
 * @example
 * ```ts
 * const layers = await kroneckerDecoupling(model, { tf, x, y, loss: 'softmaxCrossEntropy', topK: 9 });
 * layers.map((l) => [l.name, l.relativeError, l.overlap]);
 * ```
 */
export async function kroneckerDecoupling(
  model: KroneckerModel,
  options: KroneckerDecouplingOptions,
): Promise<KroneckerLayerReport[]> {
  const where = 'kroneckerDecoupling';
  const { topK = 10, maxExactDim = 512, probes = 30, seed = 0 } = options;
  checkInteger(where, 'topK', topK, 1);
  checkInteger(where, 'maxExactDim', maxExactDim, 1);
  checkInteger(where, 'probes', probes, 2);
  const factors = await kroneckerFactors(model, options);
  const { operator, layout } = modelCurvature(model, {
    tf: options.tf,
    x: options.x,
    y: options.y,
    layout: 'unit',
    ...(options.loss === undefined ? {} : { loss: options.loss }),
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.selfCheck === undefined ? {} : { selfCheck: options.selfCheck }),
  });
  // One block per Dense layer (its consecutive unit blocks), everything else kept as is.
  const sizes: { name: string; size: number }[] = [];
  for (const b of layout.blocks) {
    const cut = b.name.lastIndexOf('/unit_');
    const owner = cut >= 0 ? b.name.slice(0, cut) : undefined;
    const previous = sizes[sizes.length - 1];
    if (owner !== undefined && previous?.name === `${owner}#layer`) previous.size += b.size;
    else sizes.push({ name: owner !== undefined ? `${owner}#layer` : b.name, size: b.size });
  }
  const layerLayout = layoutFromSizes(sizes, layout.dim);
  const reports: KroneckerLayerReport[] = [];
  for (const f of factors) {
    const { units: n, inputs: m } = f;
    const d = n * m;
    const k = Math.min(topK, d);
    const block: LinearOperator = restrictOperator(operator, layerLayout, `${f.name}#layer`);
    const kron = kroneckerTop(f.outputHessian, n, f.inputMoment, m, k);
    const inputValues = eigenDescending(f.inputMoment, m).values;
    const outputValues = eigenDescending(f.outputHessian, n).values;
    let hessianValues: Float64Array;
    let hessianVectors: Float64Array[];
    let relativeError: number;
    let standardError = 0;
    let matvecs: number;
    let method: 'dense' | 'randomized';
    if (d <= maxExactDim) {
      method = 'dense';
      const h = symmetrize(await denseMatrix(block, { maxDim: maxExactDim }), d);
      matvecs = d;
      let num = 0;
      let den = 0;
      for (let r = 0; r < n; r++) {
        for (let s = 0; s < m; s++) {
          for (let t = 0; t < n; t++) {
            const a = f.outputHessian[r * n + t];
            for (let u = 0; u < m; u++) {
              const i = (r * m + s) * d + t * m + u;
              const kv = a * f.inputMoment[s * m + u];
              num += (h[i] - kv) ** 2;
              den += h[i] ** 2;
            }
          }
        }
      }
      relativeError = den > 0 ? Math.sqrt(num / den) : Number.NaN;
      const eh = eigenDescending(h, d);
      hessianValues = eh.values.slice(0, k);
      hessianVectors = eh.vectors.slice(0, k);
    } else {
      method = 'randomized';
      const rng = createRandom(seed);
      const a: number[] = [];
      const b: number[] = [];
      for (let p = 0; p < probes; p++) {
        const z = rng.rademacherVector(d);
        const hz = await block.matvec(z);
        const kz = kroneckerProduct(f.outputHessian, n, f.inputMoment, m, z);
        let diff = 0;
        for (let i = 0; i < d; i++) diff += (hz[i] - kz[i]) ** 2;
        a.push(diff);
        b.push(dot(hz, hz));
      }
      const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
      const ma = mean(a);
      const mb = mean(b);
      const cov = (u: number[], mu: number, v: number[], mv: number) =>
        u.reduce((s, x, i) => s + (x - mu) * (v[i] - mv), 0) / (u.length - 1);
      const ratio = ma / mb;
      const varRatio =
        (cov(a, ma, a, ma) / mb ** 2 +
          (ma ** 2 * cov(b, mb, b, mb)) / mb ** 4 -
          (2 * ma * cov(a, ma, b, mb)) / mb ** 3) /
        probes;
      relativeError = Math.sqrt(ratio);
      standardError = ratio > 0 ? Math.sqrt(Math.max(varRatio, 0)) / (2 * relativeError) : 0;
      const top = await topEigenpairs(block, { k, tol: 1e-5, seed });
      hessianValues = top.values;
      hessianVectors = top.vectors;
      matvecs = probes + top.matvecs;
    }
    let overlap = 0;
    for (const u of hessianVectors) for (const v of kron.vectors) overlap += dot(u, v) ** 2;
    overlap /= k;
    reports.push({
      name: f.name,
      units: n,
      inputs: m,
      bias: f.bias,
      exact: f.exact,
      smoothDownstream: f.smoothDownstream,
      method,
      relativeError,
      relativeErrorStandardError: standardError,
      overlap,
      hessianValues,
      kroneckerValues: kron.values,
      eigenvalueRatios: Float64Array.from(hessianValues, (v, i) => v / kron.values[i]),
      rank1Energy: Float64Array.from(hessianVectors, (v) => rank1Energy(v, n, m)),
      inputDominance:
        inputValues.length > 1 && inputValues[1] > 0
          ? inputValues[0] / inputValues[1]
          : Number.POSITIVE_INFINITY,
      outputHessianValues: outputValues,
      matvecs,
    });
  }
  return reports;
}
