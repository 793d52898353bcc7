/**
 * Independent float64 references for the tfjs tests: plain TypeScript forward and backward
 * passes of small networks (analytic gradients), closed-form Hessians of linear models, and a
 * fourth-order central finite difference of the analytic gradient for everything else.
 * Nothing here touches tensors.
 *
 * Accuracy of {@link finiteDifferenceHessian}: the Richardson stencil
 * (8(g(θ+h) − g(θ−h)) − (g(θ+2h) − g(θ−2h)))/(12h) has truncation error O(h⁴·g⁽⁵⁾) and
 * rounding error O(ε₆₄·|g|/h); with h = 2e-5 both are below ~1e-11 relative, six orders below
 * float32 arithmetic. Where the network is only piecewise smooth (relu, leakyRelu, max
 * pooling), the stencil must not cross a kink: the network reports its pattern of branches
 * and the finite difference throws when any stencil point changes it.
 */

/** Activations the reference implements, with tfjs-layers' definitions and constants. */
export type ReferenceActivation =
  | 'linear'
  | 'relu'
  | 'tanh'
  | 'sigmoid'
  | 'elu'
  | 'selu'
  | 'softplus'
  | 'softsign'
  | 'swish'
  | 'mish'
  | 'gelu_new'
  | 'leakyRelu';

/** The activations tfjs-layers accepts as an `activation` string (leakyRelu is a layer there). */
export type LayerActivation = Exclude<ReferenceActivation, 'leakyRelu'>;

/** Losses of the reference, each averaged over the N samples. */
export type ReferenceLoss = 'mse' | 'softmaxCrossEntropy' | 'binaryCrossEntropy';

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;
const LEAKY_ALPHA = 0.3;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/** f(x), f'(x), and whether x sits on the "positive" branch (for kink detection). */
export function activate(name: ReferenceActivation, x: number): [number, number] {
  switch (name) {
    case 'linear':
      return [x, 1];
    case 'relu':
      return x > 0 ? [x, 1] : [0, 0];
    case 'leakyRelu':
      return x > 0 ? [x, 1] : [LEAKY_ALPHA * x, LEAKY_ALPHA];
    case 'tanh': {
      const t = Math.tanh(x);
      return [t, 1 - t * t];
    }
    case 'sigmoid': {
      const s = sigmoid(x);
      return [s, s * (1 - s)];
    }
    case 'elu':
      return x > 0 ? [x, 1] : [Math.expm1(x), Math.exp(x)];
    case 'selu':
      return x > 0
        ? [SELU_SCALE * x, SELU_SCALE]
        : [SELU_SCALE * SELU_ALPHA * Math.expm1(x), SELU_SCALE * SELU_ALPHA * Math.exp(x)];
    case 'softplus':
      return [softplus(x), sigmoid(x)];
    case 'softsign': {
      const d = 1 + Math.abs(x);
      return [x / d, 1 / (d * d)];
    }
    case 'swish': {
      const s = sigmoid(x);
      return [x * s, s + x * s * (1 - s)];
    }
    case 'mish': {
      const sp = softplus(x);
      const t = Math.tanh(sp);
      return [x * t, t + x * (1 - t * t) * sigmoid(x)];
    }
    case 'gelu_new': {
      const c = Math.sqrt(2 / Math.PI);
      const u = c * (x + 0.044715 * x * x * x);
      const t = Math.tanh(u);
      const du = c * (1 + 3 * 0.044715 * x * x);
      return [0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du];
    }
  }
}

const KINKED: ReadonlySet<ReferenceActivation> = new Set(['relu', 'leakyRelu', 'elu', 'selu']);

/** One dense layer of a reference MLP: kernel [nIn, nOut] (tfjs layout), then bias [nOut]. */
export interface ReferenceDense {
  readonly nIn: number;
  readonly nOut: number;
  readonly activation: ReferenceActivation;
}

/** A float64 scalar function with its analytic gradient and its branch pattern. */
export interface ReferenceFunction {
  readonly dim: number;
  /** Loss, gradient, and a string that changes whenever a kink is crossed. */
  evaluate(theta: Float64Array): { loss: number; gradient: Float64Array; branches: string };
}

/** Per-sample loss value and its derivative with respect to the network output `o` (not averaged over samples). */
export function lossAndDerivative(
  loss: ReferenceLoss,
  o: Float64Array,
  y: Float64Array,
): [number, Float64Array] {
  const c = o.length;
  const d = new Float64Array(c);
  if (loss === 'mse') {
    let s = 0;
    for (let k = 0; k < c; k++) {
      s += (o[k] - y[k]) ** 2;
      d[k] = (2 / c) * (o[k] - y[k]);
    }
    return [s / c, d];
  }
  if (loss === 'binaryCrossEntropy') {
    let s = 0;
    for (let k = 0; k < c; k++) {
      s += softplus(o[k]) - y[k] * o[k];
      d[k] = (sigmoid(o[k]) - y[k]) / c;
    }
    return [s / c, d];
  }
  let m = -Infinity;
  for (let k = 0; k < c; k++) m = Math.max(m, o[k]);
  let z = 0;
  for (let k = 0; k < c; k++) z += Math.exp(o[k] - m);
  const lse = m + Math.log(z);
  let s = 0;
  let ySum = 0;
  for (let k = 0; k < c; k++) ySum += y[k];
  for (let k = 0; k < c; k++) {
    s += y[k] * (lse - o[k]);
    d[k] = ySum * Math.exp(o[k] - lse) - y[k];
  }
  return [s, d];
}

/**
 * A float64 MLP with the tfjs parameter order (per layer: kernel [nIn, nOut] row-major, then
 * bias), on inputs `x` (N × nIn, row-major) and targets `y` (N × C), loss averaged over N.
 */
export function referenceMlp(
  layers: readonly ReferenceDense[],
  x: Float64Array,
  y: Float64Array,
  n: number,
  loss: ReferenceLoss,
): ReferenceFunction {
  const offsets: number[] = [];
  let dim = 0;
  for (const l of layers) {
    offsets.push(dim);
    dim += l.nIn * l.nOut + l.nOut;
  }
  const nIn = layers[0].nIn;
  const c = layers[layers.length - 1].nOut;
  return {
    dim,
    evaluate(theta) {
      const gradient = new Float64Array(dim);
      let total = 0;
      let branches = '';
      for (let s = 0; s < n; s++) {
        const inputs: Float64Array[] = [x.subarray(s * nIn, (s + 1) * nIn)];
        const slopes: Float64Array[] = [];
        for (const [li, l] of layers.entries()) {
          const a = inputs[li];
          const out = new Float64Array(l.nOut);
          const slope = new Float64Array(l.nOut);
          const w = offsets[li];
          const b = w + l.nIn * l.nOut;
          for (let j = 0; j < l.nOut; j++) {
            let z = theta[b + j];
            for (let i = 0; i < l.nIn; i++) z += a[i] * theta[w + i * l.nOut + j];
            [out[j], slope[j]] = activate(l.activation, z);
            if (KINKED.has(l.activation)) branches += z > 0 ? '+' : '-';
          }
          inputs.push(out);
          slopes.push(slope);
        }
        const [value, dOut] = lossAndDerivative(
          loss,
          inputs[layers.length],
          y.subarray(s * c, (s + 1) * c),
        );
        total += value / n;
        let delta = dOut.map((d, j) => (d * slopes[layers.length - 1][j]) / n);
        for (let li = layers.length - 1; li >= 0; li--) {
          const l = layers[li];
          const a = inputs[li];
          const w = offsets[li];
          const b = w + l.nIn * l.nOut;
          for (let j = 0; j < l.nOut; j++) {
            gradient[b + j] += delta[j];
            for (let i = 0; i < l.nIn; i++) gradient[w + i * l.nOut + j] += a[i] * delta[j];
          }
          if (li > 0) {
            const next = new Float64Array(l.nIn);
            for (let i = 0; i < l.nIn; i++) {
              let sum = 0;
              for (let j = 0; j < l.nOut; j++) sum += theta[w + i * l.nOut + j] * delta[j];
              next[i] = sum * slopes[li - 1][i];
            }
            delta = next;
          }
        }
      }
      return { loss: total, gradient, branches };
    },
  };
}

/**
 * The Hessian of `f` at `theta` (row-major dim × dim), by the fourth-order central difference
 * of its analytic gradient, symmetrised. Throws when a stencil point crosses a kink.
 */
export function finiteDifferenceHessian(
  f: ReferenceFunction,
  theta: Float64Array,
  h = 2e-5,
): Float64Array {
  const n = f.dim;
  const { branches } = f.evaluate(theta);
  const hessian = new Float64Array(n * n);
  const at = (j: number, step: number): Float64Array => {
    const shifted = Float64Array.from(theta);
    shifted[j] += step;
    const r = f.evaluate(shifted);
    if (r.branches !== branches) {
      throw new Error(`finiteDifferenceHessian: the stencil crosses a kink at parameter ${j}`);
    }
    return r.gradient;
  };
  for (let j = 0; j < n; j++) {
    const p1 = at(j, h);
    const m1 = at(j, -h);
    const p2 = at(j, 2 * h);
    const m2 = at(j, -2 * h);
    for (let i = 0; i < n; i++) {
      hessian[i * n + j] = (8 * (p1[i] - m1[i]) - (p2[i] - m2[i])) / (12 * h);
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = 0.5 * (hessian[i * n + j] + hessian[j * n + i]);
      hessian[i * n + j] = s;
      hessian[j * n + i] = s;
    }
  }
  return hessian;
}

/**
 * Closed-form Hessian of a linear model z = Wᵀx + b (kernel [d, C], bias [C], tfjs order)
 * under a loss averaged over N samples: H = (1/N) Σ_n A_n ⊗ x̃_n x̃_nᵀ in the (i, c) indexing
 * of the parameters, x̃ = [x, 1]. A_n = (2/C) I for MSE (mean over outputs) and
 * diag(p_n) − p_n p_nᵀ for softmax cross-entropy (docs/methods.md).
 */
export function linearModelHessian(
  x: Float64Array,
  n: number,
  d: number,
  c: number,
  loss: 'mse' | 'softmaxCrossEntropy',
  theta?: Float64Array,
): Float64Array {
  const dim = (d + 1) * c;
  const index = (i: number, k: number) => (i < d ? i * c + k : d * c + k);
  const h = new Float64Array(dim * dim);
  for (let s = 0; s < n; s++) {
    const xt = Float64Array.from([...x.subarray(s * d, (s + 1) * d), 1]);
    const a = new Float64Array(c * c);
    if (loss === 'mse') {
      for (let k = 0; k < c; k++) a[k * c + k] = 2 / c;
    } else {
      if (!theta) throw new Error('linearModelHessian: cross-entropy needs theta');
      const z = new Float64Array(c);
      for (let k = 0; k < c; k++) {
        for (let i = 0; i <= d; i++) z[k] += xt[i] * theta[index(i, k)];
      }
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const total = e.reduce((p, v) => p + v, 0);
      const p = e.map((v) => v / total);
      for (let k = 0; k < c; k++) {
        for (let l = 0; l < c; l++) a[k * c + l] = (k === l ? p[k] : 0) - p[k] * p[l];
      }
    }
    for (let i = 0; i <= d; i++) {
      for (let k = 0; k < c; k++) {
        for (let j = 0; j <= d; j++) {
          for (let l = 0; l < c; l++) {
            h[index(i, k) * dim + index(j, l)] += (a[k * c + l] * xt[i] * xt[j]) / n;
          }
        }
      }
    }
  }
  return h;
}

/** n values rounded to float32 (so that tfjs and the reference see the same numbers). */
export function float32Values(values: Float64Array): Float64Array {
  return values.map((v) => Math.fround(v));
}

/**
 * A layer of {@link referenceSequential} (NHWC, tfjs parameter order). Padding 'same' follows
 * TensorFlow: output size ⌈d/s⌉, total padding max((out − 1)s + k − d, 0) with the smaller
 * half on top/left; padded positions are zeros for conv2d and are skipped by pooling.
 */
export type ReferenceLayer =
  | {
      readonly type: 'conv2d';
      readonly kernel: number;
      readonly filters: number;
      readonly strides: number;
      readonly activation: LayerActivation;
      readonly padding?: 'valid' | 'same';
    }
  | {
      readonly type: 'maxPool' | 'avgPool';
      readonly pool: number;
      readonly strides: number;
      readonly padding?: 'valid' | 'same';
    }
  | { readonly type: 'globalAvgPool' | 'flatten' }
  | { readonly type: 'dense'; readonly units: number; readonly activation: LayerActivation };

type Shape3 = [number, number, number];

interface Planned {
  readonly layer: ReferenceLayer;
  readonly inShape: Shape3;
  readonly outShape: Shape3;
  readonly offset: number;
  /** Padding rows above and columns left of the input ('same' padding). */
  readonly pad: [number, number];
}

/** Output size and leading padding of a window of size k with stride s over d entries. */
function windowed(d: number, k: number, s: number, padding = 'valid'): [number, number] {
  if (padding === 'valid') return [Math.floor((d - k) / s) + 1, 0];
  const out = Math.ceil(d / s);
  return [out, Math.floor(Math.max((out - 1) * s + k - d, 0) / 2)];
}

/**
 * A float64 sequential network of conv2d / pooling / flatten / dense layers on [H, W, C]
 * inputs (NHWC rows of `x`), with analytic backprop; parameters in tfjs order (conv kernel
 * [k, k, cin, cout] then bias; dense kernel [nIn, nOut] then bias). Max pooling reports its
 * argmax pattern as branches.
 */
export function referenceSequential(
  layers: readonly ReferenceLayer[],
  inputShape: Shape3,
  x: Float64Array,
  y: Float64Array,
  n: number,
  loss: ReferenceLoss,
): ReferenceFunction {
  const plan: Planned[] = [];
  let shape = inputShape;
  let dim = 0;
  for (const layer of layers) {
    const [h, w, c] = shape;
    let out: Shape3;
    let pad: [number, number] = [0, 0];
    const offset = dim;
    if (layer.type === 'conv2d') {
      const [oh, top] = windowed(h, layer.kernel, layer.strides, layer.padding);
      const [ow, left] = windowed(w, layer.kernel, layer.strides, layer.padding);
      out = [oh, ow, layer.filters];
      pad = [top, left];
      dim += layer.kernel * layer.kernel * c * layer.filters + layer.filters;
    } else if (layer.type === 'maxPool' || layer.type === 'avgPool') {
      const [oh, top] = windowed(h, layer.pool, layer.strides, layer.padding);
      const [ow, left] = windowed(w, layer.pool, layer.strides, layer.padding);
      out = [oh, ow, c];
      pad = [top, left];
    } else if (layer.type === 'globalAvgPool' || layer.type === 'flatten') {
      out = [1, 1, layer.type === 'flatten' ? h * w * c : c];
    } else {
      const { units } = layer as Extract<ReferenceLayer, { type: 'dense' }>;
      out = [1, 1, units];
      dim += h * w * c * units + units;
    }
    plan.push({ layer, inShape: shape, outShape: out, offset, pad });
    shape = out;
  }
  const inSize = inputShape[0] * inputShape[1] * inputShape[2];
  const classes = shape[2];
  const at = (s: Shape3, i: number, j: number, k: number) => (i * s[1] + j) * s[2] + k;
  /** Index of input (row, col, c) of a windowed layer, padding removed; −1 in the padding. */
  const inAt = (p: Planned, row: number, col: number, c: number) => {
    const r = row - p.pad[0];
    const q = col - p.pad[1];
    return r < 0 || q < 0 || r >= p.inShape[0] || q >= p.inShape[1] ? -1 : at(p.inShape, r, q, c);
  };

  return {
    dim,
    evaluate(theta) {
      const gradient = new Float64Array(dim);
      let total = 0;
      let branches = '';
      for (let sample = 0; sample < n; sample++) {
        const acts: Float64Array[] = [x.subarray(sample * inSize, (sample + 1) * inSize)];
        const slopes: Float64Array[] = [];
        const argmax: Int32Array[] = [];
        const poolCounts: Int32Array[] = [];
        for (const p of plan) {
          const a = acts[acts.length - 1];
          const [oh, ow, oc] = p.outShape;
          const [, , ic] = p.inShape;
          const out = new Float64Array(oh * ow * oc);
          const slope = new Float64Array(out.length).fill(1);
          const arg = new Int32Array(out.length);
          const counts = new Int32Array(out.length);
          const L = p.layer;
          if (L.type === 'conv2d' || L.type === 'dense') {
            const k = L.type === 'conv2d' ? L.kernel : 1;
            const stride = L.type === 'conv2d' ? L.strides : 1;
            const nIn = L.type === 'dense' ? a.length : k * k * ic;
            const bias = p.offset + nIn * oc;
            for (let i = 0; i < oh; i++) {
              for (let j = 0; j < ow; j++) {
                for (let o = 0; o < oc; o++) {
                  let z = theta[bias + o];
                  for (let r = 0; r < nIn; r++) {
                    const idx =
                      L.type === 'dense'
                        ? r
                        : inAt(
                            p,
                            i * stride + Math.floor(r / (k * ic)),
                            j * stride + (Math.floor(r / ic) % k),
                            r % ic,
                          );
                    if (idx >= 0) z += a[idx] * theta[p.offset + r * oc + o];
                  }
                  const idx = at(p.outShape, i, j, o);
                  [out[idx], slope[idx]] = activate(L.activation, z);
                  if (KINKED.has(L.activation)) branches += z > 0 ? '+' : '-';
                }
              }
            }
          } else if (L.type === 'maxPool' || L.type === 'avgPool') {
            for (let i = 0; i < oh; i++) {
              for (let j = 0; j < ow; j++) {
                for (let c = 0; c < oc; c++) {
                  let best = -Infinity;
                  let bestIdx = -1;
                  let sum = 0;
                  let count = 0;
                  for (let u = 0; u < L.pool; u++) {
                    for (let v = 0; v < L.pool; v++) {
                      const idx = inAt(p, i * L.strides + u, j * L.strides + v, c);
                      if (idx < 0) continue;
                      count++;
                      sum += a[idx];
                      if (a[idx] > best) {
                        best = a[idx];
                        bestIdx = idx;
                      }
                    }
                  }
                  const o = at(p.outShape, i, j, c);
                  out[o] = L.type === 'maxPool' ? best : sum / count;
                  counts[o] = count;
                  arg[o] = bestIdx;
                  if (L.type === 'maxPool') branches += `${bestIdx},`;
                }
              }
            }
          } else if (L.type === 'globalAvgPool') {
            const [h, w] = p.inShape;
            for (let idx = 0; idx < a.length; idx++) out[idx % ic] += a[idx] / (h * w);
          } else {
            out.set(a);
          }
          acts.push(out);
          slopes.push(slope);
          argmax.push(arg);
          poolCounts.push(counts);
        }
        const [value, dOut] = lossAndDerivative(
          loss,
          acts[acts.length - 1],
          y.subarray(sample * classes, (sample + 1) * classes),
        );
        total += value / n;
        let delta = dOut.map((d) => d / n);
        for (let li = plan.length - 1; li >= 0; li--) {
          const p = plan[li];
          const L = p.layer;
          const a = acts[li];
          const dIn = new Float64Array(a.length);
          const [oh, ow, oc] = p.outShape;
          const [, , ic] = p.inShape;
          if (L.type === 'conv2d' || L.type === 'dense') {
            const dz = delta.map((d, i) => d * slopes[li][i]);
            const k = L.type === 'conv2d' ? L.kernel : 1;
            const stride = L.type === 'conv2d' ? L.strides : 1;
            const nIn = L.type === 'dense' ? a.length : k * k * ic;
            const bias = p.offset + nIn * oc;
            for (let i = 0; i < oh; i++) {
              for (let j = 0; j < ow; j++) {
                for (let o = 0; o < oc; o++) {
                  const g = dz[at(p.outShape, i, j, o)];
                  gradient[bias + o] += g;
                  for (let r = 0; r < nIn; r++) {
                    const idx =
                      L.type === 'dense'
                        ? r
                        : inAt(
                            p,
                            i * stride + Math.floor(r / (k * ic)),
                            j * stride + (Math.floor(r / ic) % k),
                            r % ic,
                          );
                    if (idx < 0) continue;
                    gradient[p.offset + r * oc + o] += a[idx] * g;
                    dIn[idx] += theta[p.offset + r * oc + o] * g;
                  }
                }
              }
            }
          } else if (L.type === 'maxPool' || L.type === 'avgPool') {
            for (let i = 0; i < oh; i++) {
              for (let j = 0; j < ow; j++) {
                for (let c = 0; c < oc; c++) {
                  const o = at(p.outShape, i, j, c);
                  if (L.type === 'maxPool') {
                    dIn[argmax[li][o]] += delta[o];
                    continue;
                  }
                  for (let u = 0; u < L.pool; u++) {
                    for (let v = 0; v < L.pool; v++) {
                      const idx = inAt(p, i * L.strides + u, j * L.strides + v, c);
                      if (idx >= 0) dIn[idx] += delta[o] / poolCounts[li][o];
                    }
                  }
                }
              }
            }
          } else if (L.type === 'globalAvgPool') {
            const [h, w] = p.inShape;
            for (let idx = 0; idx < a.length; idx++) dIn[idx] = delta[idx % ic] / (h * w);
          } else {
            dIn.set(delta);
          }
          delta = dIn;
        }
      }
      return { loss: total, gradient, branches };
    },
  };
}
