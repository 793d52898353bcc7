/**
 * Cached forward-over-reverse curvature products for a chain of Dense layers: the
 * Hessian-vector product by Pearlmutter's R-operator (Pearlmutter, "Fast exact multiplication
 * by the Hessian", Neural Computation 6(1), 1994) and the Gauss–Newton product Jᵀ A J v
 * (Schraudolph, "Fast curvature matrix-vector products for second-order gradient descent",
 * Neural Computation 14(7), 2002), written out layer by layer instead of by double
 * backpropagation, so that the forward and backward pass of the gradient are computed once per
 * weight state and reused by every product (as PyHessian keeps PyTorch's gradient graph).
 *
 * Notation (tfjs layout: row = sample; K_l is the kernel [n_in, n_out]). Layer l = 0..L−1:
 *
 *   z_l = a_l K_l + b_l,   a_{l+1} = f_l(z_l),   a_0 = x,   o = a_L,
 *
 * f_l the elementwise activation(s) after Dense layer l (a final softmax or sigmoid taken off
 * by the logits rule of {@link modelLogits}), and the loss L(o) (mean over the chunk, as in
 * `losses.ts`). Backward: g_{L−1} = ∂L/∂o, δ_l = g_l ⊙ f_l'(z_l), g_{l−1} = δ_l K_lᵀ; the
 * gradient is ∂L/∂K_l = a_lᵀ δ_l, ∂L/∂b_l = Σ_n δ_l.
 *
 * The R-operator R(·) = d/dt (·)(θ + t v) at t = 0, v = (V_l, v_l) per layer:
 *
 *   R(z_l) = R(a_l) K_l + a_l V_l + v_l,   R(a_{l+1}) = f_l'(z_l) ⊙ R(z_l),   R(a_0) = 0;
 *   R(g_{L−1}) = A R(o)   (A = ∇²_o L, the loss's analytic `hessianProduct`);
 *   R(g_{l−1}) = R(δ_l) K_lᵀ + δ_l V_lᵀ;
 *   R(δ_l) = R(g_l) ⊙ f_l'(z_l) + c_l ⊙ R(z_l),   c_l = g_l ⊙ f_l''(z_l);
 *   (Hv)_{K_l} = R(a_l)ᵀ δ_l + a_lᵀ R(δ_l),   (Hv)_{b_l} = Σ_n R(δ_l).
 *
 * The Gauss–Newton product drops every term that differentiates the network twice: c_l,
 * δ_l V_lᵀ and R(a_l)ᵀ δ_l; what is left is Jv forward (R(o)), A, and the backward pass of
 * Jᵀ(·) with the cached slopes: u = A R(o), δ'_l = u_l ⊙ f_l', u_{l−1} = δ'_l K_lᵀ,
 * (Gv)_{K_l} = a_lᵀ δ'_l.
 *
 * Cached once per weight state and chunk: a_l (l ≥ 1), f_l'(z_l), c_l, δ_l, the output o and,
 * for sparse labels, the one-hot targets. f_l' and f_l'' come from tfjs autodiff of the layer's
 * own activation function (elementwise, inside {@link withSecondOrder}: the same kernels the
 * autodiff path uses), so every activation of the model is differentiated exactly as there.
 * Matrix products per product, per Dense layer with n_in inputs and n_out outputs: 6 for the
 * Hessian (2 forward, 2 weight, 2 backward; 2 for the first layer, which needs neither R(a_0)
 * nor a backward product), 4 for the Gauss–Newton product (first layer 2); a gradient takes 3
 * (first layer 2), so the ratio tends to 2.
 *
 * The cache lives in host memory (Float32Arrays read from the float32 tensors), not in tensors:
 * an operator is often dropped without being disposed (one analysis, then garbage), and cached
 * tensors would outlive it. Each product uploads what it needs as new tensors inside its tidy
 * (no copy on the cpu backend, one memcpy on wasm and 'tensorflow'). Entries are keyed by the
 * identity of the weight tensors' data (`dataId`; a tfjs `Variable` gets a new one on every
 * `assign`), so any change of weights (training, the self-check's perturbations) rebuilds
 * them at the next product. Size of a Hessian operator's cache with smooth activations:
 * 4·N·(4·Σ hidden widths + 2·C) bytes (2.1 MB for a 784-256-256-10 MLP at N = 256), capped by
 * {@link DENSE_CHAIN_CACHE_MAX_BYTES}. What qualifies, the tests and measured costs:
 * docs/tfjs-second-order.md, section 10.
 */

import type { Tensor } from '@tensorflow/tfjs-core';
import { gradients } from './hvp.js';
import type { LayerLike, WeightLike } from './layouts.js';
import type { FinalActivation } from './logits.js';
import type { OutputLoss } from './losses.js';
import type { Tf } from './types.js';

/** Largest host memory, in bytes, that cached chunks of one operator may hold (1 GiB); chunks beyond it are recomputed at each product. */
export const DENSE_CHAIN_CACHE_MAX_BYTES = 2 ** 30;

/** Activations the fast path differentiates (elementwise; softmax only as a final activation taken off by the loss). */
export const DENSE_CHAIN_ACTIVATIONS: ReadonlySet<string> = new Set([
  'linear',
  'relu',
  'tanh',
  'sigmoid',
  'elu',
  'selu',
  'softplus',
  'softsign',
  'swish',
  'mish',
  'gelu',
  'gelu_new',
]);

/** Activations with f'' = 0 (almost everywhere): no second-derivative term. */
const PIECEWISE_LINEAR: ReadonlySet<string> = new Set(['linear', 'relu']);

interface ActivationLike {
  apply(x: Tensor): Tensor;
  getClassName(): string;
}

/** A symbolic tensor of a tfjs-layers graph, as the chain walk reads it. */
interface GraphTensor {
  readonly sourceLayer: GraphLayer;
  readonly nodeIndex: number;
}

interface GraphNode {
  readonly inboundLayers: readonly unknown[];
  readonly inputTensors: readonly GraphTensor[];
}

interface GraphLayer extends LayerLike {
  readonly inboundNodes?: readonly GraphNode[];
  readonly activation?: ActivationLike | null;
  readonly kernel?: WeightLike | null;
  readonly bias?: WeightLike | null;
  readonly dataFormat?: string;
}

/** The parts of a tfjs-layers model that {@link denseChainPlan} reads. */
export interface DenseChainModel {
  readonly layers: readonly LayerLike[];
  readonly trainableWeights: readonly WeightLike[];
  readonly inputs?: readonly unknown[];
  readonly outputs?: readonly unknown[];
}

/** One Dense layer of a {@link DenseChainPlan} and the activations applied to its output. */
export interface DenseChainLayer {
  readonly name: string;
  /** Index of the kernel in `model.trainableWeights`. */
  readonly kernel: number;
  /** Index of the bias in `model.trainableWeights`, if the layer has one. */
  readonly bias?: number;
  /** Elementwise activations applied to z in order (Dense's own, then Activation layers). */
  readonly activations: readonly ActivationLike[];
  /** 'linear': f = identity; 'piecewise-linear': f'' = 0 a.e. (relu); 'smooth': f'' cached. */
  readonly curvature: 'linear' | 'piecewise-linear' | 'smooth';
}

/** A model the fast path can multiply by: its Dense layers in order. */
export interface DenseChainPlan {
  readonly layers: readonly DenseChainLayer[];
}

/** Whether a model qualifies: a plan, or the reason it does not. */
export type DenseChainQualification =
  | { readonly plan: DenseChainPlan; readonly reason?: undefined }
  | { readonly plan?: undefined; readonly reason: string };

/**
 * Whether `model` computes, in inference mode, a chain of Dense layers with elementwise
 * activations (and the plan of that chain), or why not. It qualifies when the path from its one
 * input to its one output passes through InputLayer, Dense (with or without bias), Activation,
 * Dropout (the identity at inference), Flatten (only where it is the identity or flattens the
 * input before the first Dense) and, last, a softmax or sigmoid that the loss takes off
 * (`strip`, as {@link resolveModelLoss} decides), each layer used once; every activation is in
 * {@link DENSE_CHAIN_ACTIVATIONS}; the trainable weights are exactly the chain's kernels and
 * biases in order; and the input is float32. Anything else (Conv2D, BatchNormalization, shared
 * or frozen layers, nested models, a softmax the loss does not take off…) is left to autodiff.
 *
 * @param strip - the final activation the loss takes off ({@link ResolvedLoss}).
 * @param x - the probe inputs (their rank and dtype).
 * @example
 * ```ts
 * const { plan, reason } = denseChainPlan(model, 'softmax', x); // reason: why not, if no plan
 * ```
 */
export function denseChainPlan(
  model: DenseChainModel,
  strip: FinalActivation | undefined,
  x: Tensor,
): DenseChainQualification {
  const no = (reason: string): DenseChainQualification => ({ reason });
  if (x.dtype !== 'float32') return no(`the input is ${x.dtype}, not float32`);
  const outputs = model.outputs as readonly GraphTensor[] | undefined;
  if (model.inputs?.length !== 1 || outputs?.length !== 1) {
    return no('the model does not have exactly one input and one output');
  }
  const path: GraphLayer[] = [];
  for (let t: GraphTensor | undefined = outputs[0]; t !== undefined; ) {
    const layer: GraphLayer = t.sourceLayer;
    path.push(layer);
    const node: GraphNode | undefined = layer?.inboundNodes?.[t.nodeIndex];
    if (node === undefined) return no(`cannot read the graph at ${layer?.name}`);
    // An InputLayer's node has no inbound layers (its input tensor is its own output).
    if (node.inboundLayers.length === 0) break;
    if (node.inputTensors.length > 1) return no(`${layer.name} has several inputs`);
    t = node.inputTensors[0];
  }
  path.reverse();
  if (new Set(path).size !== path.length) return no('a layer is used more than once');
  const last = model.layers[model.layers.length - 1];
  if (last !== path[path.length - 1]) return no('the last layer is not the output layer');
  const layers: { name: string; kernel: WeightLike; bias?: WeightLike; acts: ActivationLike[] }[] =
    [];
  let rank = x.rank;
  for (const [index, layer] of path.entries()) {
    const cls = layer.getClassName();
    const isLast = index === path.length - 1;
    const current = layers[layers.length - 1];
    const activation = (act: ActivationLike | null | undefined): string | undefined => {
      if (act === null || act === undefined) return undefined;
      const name = act.getClassName();
      if (isLast && name === strip) return undefined;
      if (!DENSE_CHAIN_ACTIVATIONS.has(name)) return `activation ${name} of ${layer.name}`;
      layers[layers.length - 1].acts.push(act);
      return undefined;
    };
    if (layer.layers !== undefined) return no(`${layer.name} is a nested model`);
    if (cls === 'InputLayer' && index === 0) continue;
    if (cls === 'Dropout') continue;
    if (cls === 'Flatten') {
      if (layer.dataFormat !== undefined && layer.dataFormat !== 'channelsLast') {
        return no(`${layer.name} has dataFormat ${layer.dataFormat}`);
      }
      if (layers.length > 0 && rank !== 2) return no(`${layer.name} flattens a hidden tensor`);
      rank = 2;
      continue;
    }
    if (cls === 'Dense') {
      if (rank !== 2) return no(`${layer.name} gets a tensor of rank ${rank}, not 2`);
      if (!layer.kernel) return no(`${layer.name} has no kernel`);
      layers.push({ name: layer.name, kernel: layer.kernel, acts: [] });
      if (layer.bias) layers[layers.length - 1].bias = layer.bias;
      const bad = activation(layer.activation);
      if (bad) return no(`${bad} is not elementwise-supported`);
      continue;
    }
    if (cls === 'Activation' && current !== undefined) {
      const bad = activation(layer.activation);
      if (bad) return no(`${bad} is not elementwise-supported`);
      continue;
    }
    if (cls === 'Softmax' && isLast && strip === 'softmax' && current !== undefined) continue;
    return no(`layer ${layer.name} (${cls}) is not part of a Dense chain`);
  }
  if (layers.length === 0) return no('the model has no Dense layer');
  const expected = layers.flatMap((l) => (l.bias ? [l.kernel, l.bias] : [l.kernel]));
  const weights = model.trainableWeights;
  if (weights.length !== expected.length || weights.some((w, i) => w !== expected[i])) {
    return no('the trainable weights are not exactly the Dense kernels and biases in order');
  }
  let offset = 0;
  return {
    plan: {
      layers: layers.map((l) => {
        const names = l.acts.map((a) => a.getClassName());
        const curvature = names.every((n) => n === 'linear')
          ? 'linear'
          : names.every((n) => PIECEWISE_LINEAR.has(n))
            ? 'piecewise-linear'
            : 'smooth';
        const kernel = offset++;
        const bias = l.bias ? offset++ : undefined;
        return {
          name: l.name,
          kernel,
          ...(bias === undefined ? {} : { bias }),
          activations: curvature === 'linear' ? [] : l.acts,
          curvature,
        };
      }),
    },
  };
}

/** A float32 tensor kept on the host. */
interface HostTensor {
  readonly values: Float32Array;
  readonly shape: readonly number[];
}

/** What one chunk's cache holds (see {@link denseChainProducts}). */
interface CacheEntry {
  /** dataId of each weight tensor when the entry was built. */
  readonly keys: readonly unknown[];
  /** Whether the Hessian's extra terms (δ_l, c_l) are cached. */
  readonly secondOrder: boolean;
  /** a_l for l = 1..L−1 (index l). */
  readonly inputs: readonly (HostTensor | undefined)[];
  /** f_l'(z_l), absent for linear layers. */
  readonly slopes: readonly (HostTensor | undefined)[];
  /** c_l = g_l ⊙ f_l''(z_l), absent where f'' = 0 or without `secondOrder`. */
  readonly curvatures: readonly (HostTensor | undefined)[];
  /** δ_l = ∂L/∂z_l (with `secondOrder`). */
  readonly deltas: readonly (HostTensor | undefined)[];
  /** The network output o (the loss's input). */
  readonly output: HostTensor;
  /** One-hot float32 targets for sparse labels (the loss's Hessian needs dense ones). */
  readonly denseTargets?: HostTensor;
  readonly bytes: number;
}

/** Products of a {@link DenseChainPlan}, with the per-chunk cache. */
export interface DenseChainProducts {
  /**
   * Hv (`kind` 'hessian') or Gv ('ggn') for the loss on inputs `x` and targets `y` (a chunk,
   * identified by `key`), over `weights` (the model's trainable weights, in order) and the
   * direction `vs` shaped like them; one tensor per weight. Call inside {@link withSecondOrder}
   * and a tidy (as {@link flatProduct} does); synchronous.
   */
  product(
    kind: 'hessian' | 'ggn',
    key: unknown,
    x: Tensor,
    y: Tensor,
    weights: readonly Tensor[],
    vs: readonly Tensor[],
  ): Tensor[];
  /** Host bytes held by the cache now. */
  cachedBytes(): number;
  /** Drops every cached chunk (they are rebuilt at the next product). */
  clear(): void;
}

/**
 * The cached products of `plan` with `loss` (see the module comment for the mathematics).
 *
 * @param maxCacheBytes - host memory the cache may hold (default
 *   {@link DENSE_CHAIN_CACHE_MAX_BYTES}); a chunk that does not fit is recomputed per product.
 * @example
 * ```ts
 * const { plan } = denseChainPlan(model, undefined, x);
 * const products = denseChainProducts(tf, plan!, outputLoss('meanSquaredError'));
 * const weights = model.trainableWeights.map((w) => w.read());
 * const ones = weights.map((w) => tf.onesLike(w));
 * const hv = withSecondOrder(tf, () =>
 *   tf.tidy(() => products.product('hessian', 0, x, y, weights, ones)),
 * ); // H·1, one tensor per weight
 * ```
 */
export function denseChainProducts(
  tf: Tf,
  plan: DenseChainPlan,
  loss: OutputLoss,
  maxCacheBytes = DENSE_CHAIN_CACHE_MAX_BYTES,
): DenseChainProducts {
  const cache = new Map<unknown, CacheEntry>();
  let bytes = 0;
  const layers = plan.layers;
  const depth = layers.length;

  const host = (t: Tensor): HostTensor => ({
    values: t.dataSync() as Float32Array,
    shape: t.shape,
  });
  const upload = (h: HostTensor): Tensor => tf.tensor(h.values, [...h.shape], 'float32');
  const flat = (x: Tensor): Tensor =>
    x.rank === 2 ? x : tf.reshape(x, [x.shape[0] as number, -1]);

  /** Forward and (with `secondOrder`) backward pass of one chunk, read back to the host. */
  const build = (
    x: Tensor,
    y: Tensor,
    weights: readonly Tensor[],
    secondOrder: boolean,
  ): CacheEntry => {
    let entry: CacheEntry | undefined;
    tf.tidy(() => {
      const inputs: Tensor[] = [flat(x)];
      const slopes: (Tensor | undefined)[] = [];
      const seconds: (Tensor | undefined)[] = [];
      let h = inputs[0];
      for (const [l, layer] of layers.entries()) {
        let z = tf.matMul(h, weights[layer.kernel]);
        if (layer.bias !== undefined) z = tf.add(z, weights[layer.bias]);
        const f = (t: Tensor) => layer.activations.reduce((u, act) => act.apply(u), t);
        const slope = (t: Tensor) => gradients(tf, () => tf.sum(f(t)), [t])[0];
        h = layer.curvature === 'linear' ? z : f(z);
        slopes.push(layer.curvature === 'linear' ? undefined : slope(z));
        seconds.push(
          secondOrder && layer.curvature === 'smooth'
            ? gradients(tf, () => tf.sum(slope(z)), [z])[0]
            : undefined,
        );
        if (l + 1 < depth) inputs.push(h);
      }
      const output = h;
      // ∂L/∂o from the loss itself (its conventions, and its label checks).
      let g = gradients(tf, () => loss.value(tf, output, y), [output])[0];
      const deltas: (Tensor | undefined)[] = new Array(depth).fill(undefined);
      const curvatures: (Tensor | undefined)[] = new Array(depth).fill(undefined);
      if (secondOrder) {
        for (let l = depth - 1; l >= 0; l--) {
          const slope = slopes[l];
          const second = seconds[l];
          deltas[l] = slope ? tf.mul(g, slope) : g;
          if (second) curvatures[l] = tf.mul(g, second);
          if (l > 0) g = tf.matMul(deltas[l] as Tensor, weights[layers[l].kernel], false, true);
        }
      }
      const sparse = loss.name === 'softmaxCrossEntropy' && y.rank === 1;
      const denseTargets = sparse
        ? // int32 then cast: tfjs-backend-wasm 4.22's OneHot returns zeros for dtype float32.
          tf.cast(tf.oneHot(y, output.shape[1] as number), 'float32')
        : undefined;
      const hostOrNot = (t: Tensor | undefined) => (t === undefined ? undefined : host(t));
      const cached = {
        keys: weights.map((w) => w.dataId),
        secondOrder,
        inputs: inputs.map((t, l) => (l === 0 ? undefined : host(t))),
        slopes: slopes.map(hostOrNot),
        curvatures: curvatures.map(hostOrNot),
        deltas: deltas.map(hostOrNot),
        output: host(output),
        ...(denseTargets ? { denseTargets: host(denseTargets) } : {}),
      };
      const all = [
        ...cached.inputs,
        ...cached.slopes,
        ...cached.curvatures,
        ...cached.deltas,
        cached.output,
        cached.denseTargets,
      ];
      entry = { ...cached, bytes: all.reduce((s, t) => s + (t ? t.values.byteLength : 0), 0) };
    });
    return entry as CacheEntry;
  };

  const entryFor = (
    key: unknown,
    x: Tensor,
    y: Tensor,
    weights: readonly Tensor[],
    secondOrder: boolean,
  ): CacheEntry => {
    const current = (e: CacheEntry) =>
      e.keys.length === weights.length && e.keys.every((k, i) => k === weights[i].dataId);
    const found = cache.get(key);
    if (found && current(found) && (found.secondOrder || !secondOrder)) return found;
    // The weights changed (or more terms are needed): drop every stale entry.
    for (const [k, e] of cache) {
      if (k === key || !current(e)) {
        cache.delete(k);
        bytes -= e.bytes;
      }
    }
    const entry = build(x, y, weights, secondOrder);
    if (bytes + entry.bytes <= maxCacheBytes) {
      cache.set(key, entry);
      bytes += entry.bytes;
    }
    return entry;
  };

  return {
    product(kind, key, x, y, weights, vs) {
      const hessian = kind === 'hessian';
      const entry = entryFor(key, x, y, weights, hessian);
      const get = (h: HostTensor | undefined) => (h === undefined ? undefined : upload(h));
      const a = entry.inputs.map((h, l) => (l === 0 ? flat(x) : upload(h as HostTensor)));
      const slopes = entry.slopes.map(get);
      const output = upload(entry.output);
      const targets = entry.denseTargets ? upload(entry.denseTargets) : y;
      // R-forward: R(z_l) and R(a_l); R(a_0) = 0.
      const rz: Tensor[] = [];
      const ra: (Tensor | undefined)[] = [undefined];
      for (const [l, layer] of layers.entries()) {
        let r = tf.matMul(a[l], vs[layer.kernel]);
        const prev = ra[l];
        if (prev) r = tf.add(r, tf.matMul(prev, weights[layer.kernel]));
        if (layer.bias !== undefined) r = tf.add(r, vs[layer.bias]);
        rz.push(r);
        const slope = slopes[l];
        ra.push(slope ? tf.mul(r, slope) : r);
      }
      // R(g_{L−1}) = A R(o) (Hessian), or u = A J v (Gauss–Newton).
      let rg = loss.hessianProduct(tf, output, targets, ra[depth] as Tensor);
      const out: Tensor[] = new Array(weights.length);
      for (let l = depth - 1; l >= 0; l--) {
        const layer = layers[l];
        const slope = slopes[l];
        let rd = slope ? tf.mul(rg, slope) : rg;
        const curvature = hessian ? get(entry.curvatures[l]) : undefined;
        if (curvature) rd = tf.add(rd, tf.mul(curvature, rz[l]));
        let hk = tf.matMul(a[l], rd, true, false);
        const delta = hessian ? get(entry.deltas[l]) : undefined;
        const prev = ra[l];
        if (delta && prev) hk = tf.add(hk, tf.matMul(prev, delta, true, false));
        out[layer.kernel] = hk;
        if (layer.bias !== undefined) out[layer.bias] = tf.sum(rd, 0);
        if (l > 0) {
          rg = tf.matMul(rd, weights[layer.kernel], false, true);
          if (delta) rg = tf.add(rg, tf.matMul(delta, vs[layer.kernel], false, true));
        }
      }
      return out;
    },
    cachedBytes: () => bytes,
    clear() {
      cache.clear();
      bytes = 0;
    },
  };
}
