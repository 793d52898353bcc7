/**
 * An exact float64 Hessian-vector product of a Dense MLP (tanh or linear activations) under
 * softmax cross-entropy, by Pearlmutter's R-operator written out in plain loops (Pearlmutter,
 * "Fast exact multiplication by the Hessian", Neural Computation 6(1), 1994): the reference the
 * float32 products are held to on saturated models, where a finite difference of a float64
 * gradient would itself lose digits (the loss Hessian p(1 − p) is ~1e-7 there).
 *
 * Nothing cancels in float64 beyond ε₆₄ = 2^-52 relative to the terms: the softmax is taken
 * from logits minus their maximum, 1 − p_r of the dominant class r is the sum of the other
 * probabilities, and tanh' = 1/cosh². Parameters in the tfjs order of {@link referenceMlp}
 * (per layer: kernel [nIn, nOut] row-major, then bias).
 */

/** A Dense layer of {@link mlpHessianVectorProduct64}. */
export interface Dense64 {
  readonly nIn: number;
  readonly nOut: number;
  readonly activation: 'tanh' | 'linear';
}

/** f, f', f'' of an activation at z, without cancellation. */
function activation64(name: Dense64['activation'], z: number): [number, number, number] {
  if (name === 'linear') return [z, 1, 0];
  const t = Math.tanh(z);
  const slope = 1 / Math.cosh(z) ** 2;
  return [t, slope, -2 * t * slope];
}

/**
 * Hv of the mean softmax cross-entropy of the MLP `layers` on inputs `x` (n × nIn row-major)
 * with class ids `labels`, at `theta`, in float64; also the loss and the gradient.
 */
export function mlpHessianVectorProduct64(
  layers: readonly Dense64[],
  x: ArrayLike<number>,
  labels: ArrayLike<number>,
  theta: ArrayLike<number>,
  v: ArrayLike<number>,
): { loss: number; gradient: Float64Array; product: Float64Array } {
  const offsets: number[] = [];
  let dim = 0;
  for (const l of layers) {
    offsets.push(dim);
    dim += l.nIn * l.nOut + l.nOut;
  }
  if (theta.length !== dim || v.length !== dim) {
    throw new RangeError(
      `mlpHessianVectorProduct64: expected theta and v of length ${dim}, got ${theta.length}, ${v.length}`,
    );
  }
  const n = labels.length;
  const nIn = layers[0].nIn;
  const depth = layers.length;
  const gradient = new Float64Array(dim);
  const product = new Float64Array(dim);
  let loss = 0;
  for (let s = 0; s < n; s++) {
    // Forward and R-forward.
    const a: Float64Array[] = [Float64Array.from({ length: nIn }, (_, i) => x[s * nIn + i])];
    const ra: Float64Array[] = [new Float64Array(nIn)];
    const rz: Float64Array[] = [];
    const slopes: Float64Array[] = [];
    const seconds: Float64Array[] = [];
    for (const [l, layer] of layers.entries()) {
      const k = offsets[l];
      const b = k + layer.nIn * layer.nOut;
      const out = new Float64Array(layer.nOut);
      const rOut = new Float64Array(layer.nOut);
      const rzl = new Float64Array(layer.nOut);
      const slope = new Float64Array(layer.nOut);
      const second = new Float64Array(layer.nOut);
      for (let j = 0; j < layer.nOut; j++) {
        let z = theta[b + j];
        let r = v[b + j];
        for (let i = 0; i < layer.nIn; i++) {
          z += a[l][i] * theta[k + i * layer.nOut + j];
          r += ra[l][i] * theta[k + i * layer.nOut + j] + a[l][i] * v[k + i * layer.nOut + j];
        }
        [out[j], slope[j], second[j]] = activation64(layer.activation, z);
        rzl[j] = r;
        rOut[j] = slope[j] * r;
      }
      a.push(out);
      ra.push(rOut);
      rz.push(rzl);
      slopes.push(slope);
      seconds.push(second);
    }
    // Softmax cross-entropy and its derivatives in the logits o, relative to the largest one.
    const o = a[depth];
    const c = o.length;
    let top = 0;
    for (let k = 1; k < c; k++) if (o[k] > o[top]) top = k;
    let rest = 0;
    for (let k = 0; k < c; k++) if (k !== top) rest += Math.exp(o[k] - o[top]);
    const p = Float64Array.from(o, (ok, k) => (k === top ? 1 : Math.exp(ok - o[top])) / (1 + rest));
    const label = labels[s];
    loss += (Math.log1p(rest) + o[top] - o[label]) / n;
    // 1 − p_top as the sum of the others, so that g_top does not cancel.
    const others = rest / (1 + rest);
    let g = Float64Array.from(p, (pk, k) => (k === label ? (k === top ? -others : pk - 1) : pk));
    // R(g) = (diag(p) − ppᵀ) R(o) = p_k Σ_j p_j (Ro_k − Ro_j).
    const ro = ra[depth];
    let rg = Float64Array.from(p, (pk, k) => {
      let sum = 0;
      for (let j = 0; j < c; j++) if (j !== k) sum += p[j] * (ro[k] - ro[j]);
      return pk * sum;
    });
    for (let l = depth - 1; l >= 0; l--) {
      const layer = layers[l];
      const k = offsets[l];
      const b = k + layer.nIn * layer.nOut;
      const delta = g.map((gj, j) => gj * slopes[l][j]);
      const rDelta = rg.map((rgj, j) => rgj * slopes[l][j] + g[j] * seconds[l][j] * rz[l][j]);
      for (let j = 0; j < layer.nOut; j++) {
        gradient[b + j] += delta[j] / n;
        product[b + j] += rDelta[j] / n;
        for (let i = 0; i < layer.nIn; i++) {
          gradient[k + i * layer.nOut + j] += (a[l][i] * delta[j]) / n;
          product[k + i * layer.nOut + j] += (ra[l][i] * delta[j] + a[l][i] * rDelta[j]) / n;
        }
      }
      if (l === 0) break;
      const gPrev = new Float64Array(layer.nIn);
      const rgPrev = new Float64Array(layer.nIn);
      for (let i = 0; i < layer.nIn; i++) {
        for (let j = 0; j < layer.nOut; j++) {
          gPrev[i] += delta[j] * theta[k + i * layer.nOut + j];
          rgPrev[i] +=
            rDelta[j] * theta[k + i * layer.nOut + j] + delta[j] * v[k + i * layer.nOut + j];
        }
      }
      g = gPrev;
      rg = rgPrev;
    }
  }
  return { loss, gradient, product };
}
