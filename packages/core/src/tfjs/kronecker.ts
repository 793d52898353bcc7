import type { Tensor } from '@tensorflow/tfjs-core';
import { denseMatrix, symmetricPart } from '../dense.js';
import { topEigenpairs } from '../eigenpairs.js';
import { OptionError } from '../errors.js';
import { layoutFromSizes } from '../layout.js';
import { sqrtRatioOfMeans } from '../moments.js';
import { type LinearOperator, restrictOperator } from '../operator.js';
import { checkInteger } from '../options.js';
import { checkSeed, createRandom } from '../random.js';
import { symmetricEigen } from '../symmetric-eigen.js';
import { dot } from '../vector.js';
import { LossError, UnsupportedLayerError } from './errors.js';
import {
  type ConvConfig,
  type ConvGeometry,
  type ConvLayerLike,
  convConfig,
  convGeometry,
  convPreActivation,
  unfoldPatches,
} from './kronecker-conv.js';
import { flattenLayers, type WeightLike } from './layouts.js';
import type { LossName } from './losses.js';
import {
  type CurvatureModel,
  checkSupportedLayers,
  type KerasLossName,
  modelCurvature,
  resolveModelLoss,
} from './model.js';
import type { Tf } from './types.js';

/**
 * Kronecker decoupling of Dense- and Conv2D-layer Hessians (Wu, Zhu, Wu, Wang & Ge, "Dissecting
 * Hessian: Understanding Common Structure of Hessian in Neural Networks", arXiv 2010.04261,
 * 2020–22; docs/methods.md section B).
 *
 * For a Dense layer with input x (augmented with a 1 when the layer has a bias) and
 * pre-activation z = W x̃, the layer's Hessian block is exactly H_L = E[M ⊗ x̃x̃ᵀ] with
 * M = ∂²ℓ/∂z∂zᵀ, in the per-output-neuron order of the 'unit' layout (unit j = W_{j,:} then
 * b_j), so Kronecker formulas read (output factor) ⊗ (input factor). The decoupling conjecture
 * is H_L ≈ K = E[M] ⊗ E[x̃x̃ᵀ].
 *
 * A Conv2D layer is z_{n,p} = W x̃_{n,p} at each of its |P| output positions p, x̃_{n,p} the
 * unfolded input patch in kernel order [k_h, k_w, c_in] (+1 for the bias; see
 * kronecker-conv.ts), W [c_out, m] row j = the 'unit' block `<layer>/unit_j`. Its block is
 * exactly H_L = E_n[Σ_{p,q} M_{n,pq} ⊗ x̃_{n,p} x̃_{n,q}ᵀ] with M_{n,pq} = ∂²ℓ/∂z_p∂z_qᵀ
 * (c_out × c_out). The factors used here (KFC-style, Grosse & Martens 2016) are
 *   output factor  E[M̄] = E_n[Σ_p M_{n,pp}]            (sum over positions of the diagonal blocks)
 *   input factor   E[x̃x̃ᵀ] = E_n[(1/|P|) Σ_p x̃_{n,p} x̃_{n,p}ᵀ]  (mean over positions)
 * and K = E[M̄] ⊗ E[x̃x̃ᵀ]. This is what H_L becomes when derivatives at different positions are
 * uncorrelated (M_{pq} ≈ 0 for p ≠ q) and the patch statistics do not depend on the position or
 * on M; with a single output position (|P| = 1) both factors are exactly the Dense ones.
 *
 * M is computed by backpropagating a square-root factor of the loss Hessian A = LLᵀ in the
 * logits: g_c = J_{logits ← z}ᵀ L[:, c], M = Σ_c g_c g_cᵀ = JᵀAJ (C vector-Jacobian products per
 * chunk give the factor for every layer at once; for a Conv2D layer g_c is a whole
 * [H', W', c_out] map, of which only the diagonal-in-position blocks Σ_c g_{c,p} g_{c,p}ᵀ are
 * kept). This is the exact ∂²ℓ/∂z² when every map between z and the logits is piecewise linear
 * (the layer's own activation and all later layers: linear, relu, LeakyReLU, max/average
 * pooling, Flatten/Reshape, Dropout and BatchNormalization in inference mode), because the σ''
 * terms vanish almost everywhere. With a smooth activation downstream (tanh, sigmoid, elu,
 * gelu, …) or LayerNormalization, JᵀAJ is only the Gauss–Newton part of M; such layers are
 * labelled `exact: false` with the offending pieces listed in `smoothDownstream`.
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
   * Also return each sample's x̃_{n,p} and M_{n,pp} (default false). Memory
   * N·|P|·(m + n_out²) float64 per layer: for tests and small probes.
   */
  readonly perSample?: boolean;
}

/** Both Kronecker factors of one Dense or Conv2D layer. */
export interface KroneckerLayerFactors {
  /** The layer's name; its Hessian block is the 'unit' layout's blocks `<name>/unit_j`. */
  readonly name: string;
  /** 'dense' or 'conv2d' (patch-unfolded, see the module comment). */
  readonly kind: 'dense' | 'conv2d';
  /** n_out (Dense units, Conv2D filters c_out). */
  readonly units: number;
  /** m = n_in (Conv2D: k_h·k_w·c_in) (+1 with a bias): the input factor's dimension. */
  readonly inputs: number;
  /** Output positions |P| = H'·W' (1 for Dense). */
  readonly positions: number;
  /** Whether x̃ carries the bias column (the last entry, = 1). */
  readonly bias: boolean;
  /** E[x̃x̃ᵀ] (Conv2D: also averaged over positions), m×m row-major, float64 accumulation. */
  readonly inputMoment: Float64Array;
  /** E[M] (Conv2D: E[Σ_p M_pp], summed over positions), n_out×n_out row-major, float64. */
  readonly outputHessian: Float64Array;
  /** Whether M = JᵀAJ is the exact ∂²ℓ/∂z² (everything downstream piecewise linear). */
  readonly exact: boolean;
  /** The smooth pieces downstream that make M only its Gauss–Newton part (empty when exact). */
  readonly smoothDownstream: readonly string[];
  /**
   * With `perSample`: x̃_{n,p} as rows [N, |P|, m] and the diagonal-in-position output Hessians
   * M_{n,pp} as [N, |P|, n_out, n_out], row-major (|P| = 1 for Dense).
   */
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

interface FactoredLike extends ConvLayerLike {
  readonly activation?: ActivationLike | null;
  apply(x: Tensor, kwargs?: { training?: boolean }): unknown;
}

/** A layer that gets factors: its index in the flattened layers, and its conv configuration. */
interface Factored {
  readonly index: number;
  readonly conv?: ConvConfig;
}

/** The symbolic wiring of a functional tfjs-layers model, as {@link isChain} reads it. */
interface WiredLayer {
  readonly input?: unknown;
  readonly output?: unknown;
  getClassName(): string;
}

/**
 * Whether a functional model applies its layers in order, each to the previous one's output,
 * once: the inner model of a `tf.Sequential` (what `fit()` hands its callbacks) is one.
 */
function isChain(model: KroneckerModel): boolean {
  const layers = model.layers as readonly WiredLayer[];
  let previous: unknown;
  for (const layer of layers) {
    let input: unknown;
    let output: unknown;
    try {
      // Throws for a layer applied more than once (several inbound nodes).
      input = layer.input;
      output = layer.output;
    } catch {
      return false;
    }
    if (Array.isArray(input) || Array.isArray(output)) return false;
    if (layer.getClassName() !== 'InputLayer' && input !== previous) return false;
    previous = output;
  }
  return true;
}

/**
 * The model's layers with the Dense and Conv2D ones picked out; checks the model and every
 * Conv2D configuration are supported.
 */
function factoredLayers(
  model: KroneckerModel,
  where: string,
  backend: string,
): { layers: FactoredLike[]; factored: Factored[] } {
  const cls = model.getClassName?.();
  if (cls !== undefined && cls !== 'Sequential' && !isChain(model)) {
    throw new UnsupportedLayerError(
      `${where}: expected a Sequential model or a functional one whose layers form a chain (each reads the previous one's output), got a ${cls} that does not`,
      [cls],
    );
  }
  checkSupportedLayers(model, backend);
  // A functional chain lists its InputLayer; applying the layers in order starts after it.
  const layers = (flattenLayers(model) as FactoredLike[]).filter(
    (l) => l.getClassName() !== 'InputLayer',
  );
  const factored: Factored[] = layers.flatMap((l, index) => {
    if (!l.kernel) return [];
    const c = l.getClassName();
    if (c === 'Dense') return [{ index }];
    return c === 'Conv2D' ? [{ index, conv: convConfig(l, where) }] : [];
  });
  if (factored.length === 0) {
    throw new UnsupportedLayerError(
      `${where}: expected at least one Dense or Conv2D layer, got none`,
      [],
    );
  }
  const trainable = new Set(model.trainableWeights);
  for (const { index } of factored) {
    const l = layers[index];
    if (!l.kernel || !trainable.has(l.kernel) || (l.bias && !trainable.has(l.bias))) {
      throw new UnsupportedLayerError(
        `${where}: expected the weights of ${l.getClassName()} layer ${l.name} to be trainable`,
        [l.name],
      );
    }
  }
  return { layers, factored };
}

/** Smooth pieces from layer `index`'s activation to the logits. */
function smoothPieces(layers: readonly FactoredLike[], index: number, strip: boolean): string[] {
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
 * The forward pass to the logits, with each factored layer's pre-activation shifted by
 * `deltas[k]` (zeros: J_{logits ← z_k}ᵀ u is the gradient in delta k). Returns the factored
 * layers' inputs and pre-activation shapes too.
 */
function forward(
  tf: Tf,
  layers: readonly FactoredLike[],
  factored: readonly Factored[],
  x: Tensor,
  strip: boolean,
  deltas: readonly Tensor[] | undefined,
  where: string,
): { logits: Tensor; inputs: Tensor[]; shapes: number[][] } {
  let h = x;
  const inputs: Tensor[] = [];
  const shapes: number[][] = [];
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    const last = i === layers.length - 1;
    const k = factored.findIndex((f) => f.index === i);
    if (k >= 0) {
      const conv = factored[k].conv;
      const rank = conv ? 4 : 2;
      if (h.rank !== rank) {
        throw new UnsupportedLayerError(
          `${where}: expected ${l.getClassName()} layer ${l.name} to take rank-${rank} inputs, got [${h.shape}]`,
          [l.name],
        );
      }
      inputs.push(h);
      let z: Tensor;
      if (conv) z = convPreActivation(tf, l, conv, h);
      else {
        z = tf.matMul(h, (l.kernel as WeightLike).read());
        if (l.bias) z = tf.add(z, l.bias.read());
      }
      if (deltas) z = tf.add(z, deltas[k]);
      shapes.push(z.shape);
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
  return { logits: h, inputs, shapes };
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

/** Shapes of one factored layer, fixed on the first chunk. */
interface LayerShape {
  readonly units: number;
  readonly inputs: number;
  readonly bias: boolean;
  readonly positions: number;
  readonly geometry?: ConvGeometry;
}

/**
 * The Kronecker factors E[x̃x̃ᵀ] and E[M] of every Dense and Conv2D layer of a Sequential model
 * on a probe set (see the module comment for what M is, when it is exact, and the Conv2D
 * normalisation: output factor summed over positions, input factor averaged over them). Cost
 * per chunk: one forward pass plus C forward-and-backward passes (one vector-Jacobian product
 * per column of the loss Hessian's factor, shared by all layers), then O(N·|P|·(m² + C·n_out²))
 * float64 work per layer (|P| = 1 for Dense).
 *
 * @throws {@link UnsupportedLayerError} for a non-Sequential model, unsupported layers, a Conv2D
 *   layer that is dilated, channelsFirst or not 'valid'/'same' padded, a Dense layer on rank > 2
 *   inputs or no Dense/Conv2D layer; {@link LossError} for an unusable loss or labels.
 * @example
 * ```ts
 * const [conv, out] = await kroneckerFactors(model, { tf, x, y, loss: 'softmaxCrossEntropy' });
 * out.outputHessian; // E[A], rank C − 1 for CE
 * conv.positions; // |P| = H'·W'
 * ```
 */
export async function kroneckerFactors(
  model: KroneckerModel,
  options: KroneckerFactorsOptions,
): Promise<KroneckerLayerFactors[]> {
  const where = 'kroneckerFactors';
  const { tf, x, y } = options;
  const { layers, factored } = factoredLayers(model, where, tf.getBackend());
  const modelLoss = resolveModelLoss(model, options.loss, where);
  const resolved = { loss: modelLoss.loss.name, strip: modelLoss.strip !== undefined };
  const n = x.shape[0];
  if (x.rank < 1 || n === undefined || n < 1 || y.rank < 1 || y.shape[0] !== n) {
    throw new OptionError(
      `${where}: expected x and y with the same number N >= 1 of samples, got x [${x.shape}] and y [${y.shape}]`,
    );
  }
  const batchSize = options.batchSize ?? n;
  checkInteger(where, 'batchSize', batchSize, 1);
  let shapes: LayerShape[] | undefined;
  let moments: Float64Array[] = [];
  let hessians: Float64Array[] = [];
  let perInputs: Float64Array[] = [];
  let perHessians: Float64Array[] = [];
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
    let inputShapes: number[][] = [];
    let preShapes: number[][] = [];
    const logits = tf.tidy(() => {
      const run = forward(tf, layers, factored, slice(x), resolved.strip, undefined, where);
      inputData = run.inputs.map((t) => t.dataSync());
      inputShapes = run.inputs.map((t) => t.shape);
      preShapes = run.shapes;
      return run.logits;
    });
    if (logits.rank !== 2) {
      logits.dispose();
      throw new LossError(`${where}: expected logits of rank 2 [N, C], got [${logits.shape}]`);
    }
    if (shapes === undefined) {
      shapes = factored.map(({ index, conv }, k) => {
        const l = layers[index];
        const kernel = (l.kernel as WeightLike).shape as number[];
        const bias = Boolean(l.bias);
        const units = kernel[kernel.length - 1];
        const fanIn = kernel.slice(0, -1).reduce((p, d) => p * d, 1);
        if (!conv) return { units, inputs: fanIn + (bias ? 1 : 0), bias, positions: 1 };
        const geometry = convGeometry(conv, inputShapes[k], l.name, where);
        const positions = geometry.output[0] * geometry.output[1];
        return { units, inputs: fanIn + (bias ? 1 : 0), bias, positions, geometry };
      });
      moments = shapes.map((s) => new Float64Array(s.inputs * s.inputs));
      hessians = shapes.map((s) => new Float64Array(s.units * s.units));
      if (options.perSample) {
        perInputs = shapes.map((s) => new Float64Array(n * s.positions * s.inputs));
        perHessians = shapes.map((s) => new Float64Array(n * s.positions * s.units * s.units));
      }
    }
    const classes = logits.shape[1] as number;
    const targets = tf.tidy(() => {
      const t = slice(y);
      if (sparse) {
        return tf.cast(tf.oneHot(tf.cast(tf.reshape(t, [-1]), 'int32'), classes), 'float32');
      }
      return tf.cast(t, 'float32');
    });
    for (const [k, shape] of shapes.entries()) {
      const { inputs: m, bias, positions, geometry } = shape;
      const data = inputData[k];
      const nIn = m - (bias ? 1 : 0);
      const rows = new Float64Array(positions * m);
      const acc = moments[k];
      const weight = 1 / (n * positions);
      for (let s = 0; s < size; s++) {
        if (geometry) unfoldPatches(geometry, data, s, bias, rows);
        else {
          for (let i = 0; i < nIn; i++) rows[i] = data[s * nIn + i];
          if (bias) rows[nIn] = 1;
        }
        if (options.perSample) perInputs[k].set(rows, (start + s) * positions * m);
        for (let p = 0; p < positions; p++) {
          const row = rows.subarray(p * m, (p + 1) * m);
          for (let i = 0; i < m; i++) {
            const ri = row[i] * weight;
            if (ri === 0) continue;
            for (let j = 0; j < m; j++) acc[i * m + j] += ri * row[j];
          }
        }
      }
    }
    for (let c = 0; c < classes; c++) {
      let grads: ArrayLike<number>[] = [];
      tf.tidy(() => {
        const u = factorColumn(tf, resolved.loss, logits, targets, c);
        const xc = slice(x);
        const deltas = preShapes.map((s) => tf.zeros(s));
        const f = (...ds: Tensor[]) =>
          tf.sum(tf.mul(forward(tf, layers, factored, xc, resolved.strip, ds, where).logits, u));
        grads = tf
          .grads(f)(deltas)
          .map((g) => g.dataSync());
      });
      for (const [k, { units, positions }] of shapes.entries()) {
        const g = grads[k];
        const acc = hessians[k];
        const per = perHessians[k];
        for (let s = 0; s < size; s++) {
          for (let p = 0; p < positions; p++) {
            const base = (s * positions + p) * units;
            const perBase = ((start + s) * positions + p) * units * units;
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
    }
    tf.dispose([logits, targets]);
  }
  const done = shapes as LayerShape[];
  return factored.map(({ index, conv }, k) => {
    const smooth = smoothPieces(layers, index, resolved.strip);
    const { units, inputs, bias, positions } = done[k];
    return {
      name: layers[index].name,
      kind: conv ? 'conv2d' : 'dense',
      units,
      inputs,
      positions,
      bias,
      inputMoment: symmetricPart(moments[k], inputs),
      outputHessian: symmetricPart(hessians[k], units),
      exact: smooth.length === 0,
      smoothDownstream: smooth,
      ...(options.perSample
        ? { perSample: { inputs: perInputs[k], outputHessians: perHessians[k] } }
        : {}),
    };
  });
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
  /**
   * Products the top-k eigensolve of each randomized layer block may spend, an integer >= topK
   * (default {@link topEigenpairs}' own).
   */
  readonly maxMatvecs?: number;
  /** Seed of the randomized parts (default 0). */
  readonly seed?: number;
  /** Passed to {@link modelCurvature} (default true). */
  readonly selfCheck?: boolean;
}

/** Decoupling metrics of one Dense or Conv2D layer. */
export interface KroneckerLayerReport {
  readonly name: string;
  /** 'dense' or 'conv2d' (see {@link KroneckerLayerFactors.kind}). */
  readonly kind: 'dense' | 'conv2d';
  /** n_out (Conv2D: c_out). */
  readonly units: number;
  /** m (Conv2D: k_h·k_w·c_in), +1 with a bias. */
  readonly inputs: number;
  /** Output positions |P| (1 for Dense). */
  readonly positions: number;
  readonly bias: boolean;
  /** Whether E[M] is the exact output Hessian (see {@link KroneckerLayerFactors.exact}). */
  readonly exact: boolean;
  readonly smoothDownstream: readonly string[];
  /** 'dense': H_L assembled (n_out·m ≤ maxExactDim); 'randomized': matvec estimates. */
  readonly method: 'dense' | 'randomized';
  /** ‖H_L − K‖_F / ‖H_L‖_F, K = E[M] ⊗ E[x̃x̃ᵀ] (Conv2D: the module comment's normalisation). */
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
   * s₁²/Σs² of each of H_L's top-k eigenvectors reshaped to [n_out, m] (Conv2D: [c_out, patch]). (K's eigenvectors are
   * u ⊗ v, rank 1 by construction: energy 1, up to mixing within repeated eigenvalues.)
   */
  readonly rank1Energy: Float64Array;
  /** λ₁/λ₂ of E[x̃x̃ᵀ] (Infinity when λ₂ = 0). */
  readonly inputDominance: number;
  /** Eigenvalues of E[M], descending (for the rank C − 1 / outlier count). */
  readonly outputHessianValues: Float64Array;
  /** Hessian-vector products spent on this layer. */
  /**
   * Whether H_L's top-k eigenpairs converged (true when assembled; on the 'randomized' route,
   * {@link topEigenpairs}' verdict at tol 1e-5): `overlap`, `eigenvalueRatios` and
   * `rank1Energy` rest on them.
   */
  readonly converged: boolean;
  readonly matvecs: number;
}

/**
 * Eigenpairs descending: values and column vectors as separate arrays. Rows (and columns) that
 * are exactly zero, such as the units of a ReLU layer that are dead on the whole probe set, are
 * split off first (each gives the eigenpair (0, e_i)) and the rest is decomposed on its own:
 * this is exact, cheaper, and keeps the Householder reduction away from the subnormal columns
 * that such blocks produce (their β = 2/‖v‖² overflowed to NaN in symmetricEigen).
 */
function eigenDescending(
  a: Float64Array,
  n: number,
): { values: Float64Array; vectors: Float64Array[] } {
  const live: number[] = [];
  for (let i = 0; i < n; i++) {
    let zero = true;
    for (let j = 0; j < n && zero; j++) zero = a[i * n + j] === 0;
    if (!zero) live.push(i);
  }
  const r = live.length;
  const pairs: { value: number; vector: Float64Array }[] = [];
  if (r > 0) {
    const sub = new Float64Array(r * r);
    for (let i = 0; i < r; i++)
      for (let j = 0; j < r; j++) sub[i * r + j] = a[live[i] * n + live[j]];
    const { values, vectors } = symmetricEigen(sub, r);
    for (let k = 0; k < r; k++) {
      const vector = new Float64Array(n);
      for (let i = 0; i < r; i++) vector[live[i]] = vectors[i * r + k];
      pairs.push({ value: values[k], vector });
    }
  }
  const isLive = new Set(live);
  for (let i = 0; i < n; i++) {
    if (isLive.has(i)) continue;
    const vector = new Float64Array(n);
    vector[i] = 1;
    pairs.push({ value: 0, vector });
  }
  pairs.sort((p, q) => q.value - p.value);
  return {
    values: Float64Array.from(pairs, (p) => p.value),
    vectors: pairs.map((p) => p.vector),
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
  // λmax/trace <= 1 exactly; for a rank-1 matrix rounding lands a few ulps above it.
  return trace > 0 ? Math.min(1, values[small - 1] / trace) : 0;
}

/**
 * The Kronecker-decoupling metrics (Wu et al. 2020–22; docs/methods.md B) of every Dense and Conv2D
 * layer of a Sequential model: relative Frobenius error of K = E[M] ⊗ E[x̃x̃ᵀ] against the exact layer block
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
  const { topK = 10, maxExactDim = 512, probes = 30, seed = 0, maxMatvecs } = options;
  checkInteger(where, 'topK', topK, 1);
  checkInteger(where, 'maxExactDim', maxExactDim, 1);
  checkInteger(where, 'probes', probes, 2);
  if (maxMatvecs !== undefined) checkInteger(where, 'maxMatvecs', maxMatvecs, topK);
  checkSeed(seed, where);
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
  // One block per Dense/Conv2D layer (its consecutive unit blocks), everything else kept as is.
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
    // Whether H_L's top-k eigenpairs met their tolerance (always, when assembled).
    let converged = true;
    if (d <= maxExactDim) {
      method = 'dense';
      const h = symmetricPart(await denseMatrix(block, { maxDim: maxExactDim }), d);
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
      const errors = new Float64Array(probes);
      const norms = new Float64Array(probes);
      for (let p = 0; p < probes; p++) {
        const z = rng.rademacherVector(d);
        const hz = await block.matvec(z);
        const kz = kroneckerProduct(f.outputHessian, n, f.inputMoment, m, z);
        for (let i = 0; i < d; i++) errors[p] += (hz[i] - kz[i]) ** 2;
        norms[p] = dot(hz, hz);
      }
      ({ ratio: relativeError, stderr: standardError } = sqrtRatioOfMeans(errors, norms));
      const top = await topEigenpairs(block, {
        k,
        tol: 1e-5,
        seed,
        ...(maxMatvecs === undefined ? {} : { maxMatvecs }),
      });
      hessianValues = top.values;
      hessianVectors = top.vectors;
      converged = top.converged;
      matvecs = probes + top.matvecs;
    }
    let overlap = 0;
    for (const u of hessianVectors) for (const v of kron.vectors) overlap += dot(u, v) ** 2;
    // ‖UᵀV‖²_F/k <= 1 exactly; for nearly equal subspaces rounding lands a few ulps above it.
    overlap = Math.min(1, overlap / k);
    reports.push({
      name: f.name,
      kind: f.kind,
      units: n,
      inputs: m,
      positions: f.positions,
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
      converged,
      matvecs,
    });
  }
  return reports;
}
