/**
 * Block Frobenius norms of the Hessian of a one-hidden-layer ReLU network without biases, from
 * closed forms instead of Hessian-vector products, so that the paper's sizes (Dong et al. 2025:
 * N = 5000, d = 500, m = 8, C up to 10³, P = dm + mC) take seconds.
 *
 * With h = W₁x (m), a = relu(h), s = 1[h > 0], z = W₂a (C), the per-sample loss curvature
 * A = ∂²ℓ/∂z² = diag(u) − wwᵀ and gradient g = ∂ℓ/∂z (cross-entropy: u = w = softmax(z),
 * g = p − y; MSE as the mean over C outputs: u = 2/C, w = 0, g = (2/C)(z − y)), and the loss the
 * mean over N samples, the blocks of one output neuron each (rows of W₁: hidden neurons i; rows of
 * W₂: classes c) are, since relu'' = 0:
 *   class (c, c′), m × m:   (1/N) Σₙ A[c, c′] a aᵀ
 *   hidden (i, i′), d × d:  (1/N) Σₙ M[i, i′] x xᵀ,   M = diag(s) W₂ᵀ A W₂ diag(s)
 *   cross (i, c), d × m:    (1/N) Σₙ x ωᵀ,   ω_j = s_i ((A W₂)[c, i] a_j + g_c δ_ij)
 * Their squared Frobenius norms use the Gram matrix K = (XXᵀ)∘² for the hidden blocks and
 * direct products for the others; everything runs as tfjs matrix products in float32.
 */
import type { BlockFrobenius } from '@hessian-probe/core/internal';
import type * as tfjs from '@tensorflow/tfjs';

/** Input of {@link closedFormBlockNorms}: the data and the two kernels in tfjs layout. */
export interface ClosedFormInput {
  /** The tfjs namespace (any backend; the products are large: use 'tensorflow' at the paper's sizes). */
  readonly tf: typeof tfjs;
  /** Inputs, N × d. */
  readonly x: tfjs.Tensor2D;
  /** One-hot labels, N × C. */
  readonly y: tfjs.Tensor2D;
  /** Hidden kernel, d × m (tfjs Dense layout: column i is hidden neuron i's weights). */
  readonly hiddenKernel: tfjs.Tensor2D;
  /** Output kernel, m × C (column c is class c's weights). */
  readonly outKernel: tfjs.Tensor2D;
  /** 'ce' (softmax cross-entropy) or 'mse' (mean over the C outputs). */
  readonly loss: 'ce' | 'mse';
}

/**
 * ‖H_ij‖²_F for every pair of blocks of the 'unit' layout of a bias-free Dense(m, relu) →
 * Dense(C) network, in the order `hidden/unit_0 … hidden/unit_{m−1}, out/unit_0 … out/unit_{C−1}`
 * (the names `modelCurvature` gives layers named 'hidden' and 'out'), exact up to float32
 * rounding. Memory: N² floats for K and N·C·m for one hidden neuron's cross blocks.
 *
 * @example
 * ```ts
 * const norms = closedFormBlockNorms({ tf, x, y, hiddenKernel, outKernel, loss: 'ce' });
 * const { layers, crossLayer } = blockStructure(norms);
 * ```
 */
export function closedFormBlockNorms(input: ClosedFormInput): BlockFrobenius {
  const { tf, x, y, hiddenKernel, outKernel, loss } = input;
  const [n, d] = x.shape;
  const [dk, m] = hiddenKernel.shape;
  const [mk, classes] = outKernel.shape;
  if (dk !== d || mk !== m || y.shape[0] !== n || y.shape[1] !== classes) {
    throw new RangeError(
      `closedFormBlockNorms: expected x N×d, y N×C, kernels d×m and m×C, got x ${x.shape}, y ${y.shape}, kernels ${hiddenKernel.shape} and ${outKernel.shape}`,
    );
  }
  const blocks = m + classes;
  const frobeniusSq = Array.from({ length: blocks }, () => new Array<number>(blocks).fill(0));
  const parts = tf.tidy(() => {
    const h = tf.matMul(x, hiddenKernel);
    const s = tf.cast(tf.greater(h, 0), 'float32') as tfjs.Tensor2D;
    const a = tf.relu(h) as tfjs.Tensor2D;
    const z = tf.matMul(a, outKernel);
    const ce = loss === 'ce';
    const p = ce ? tf.softmax(z) : undefined;
    const u = p ?? tf.fill([n, classes], 2 / classes);
    const g = p === undefined ? tf.mul(tf.sub(z, y), 2 / classes) : tf.sub(p, y);
    return {
      s,
      a,
      u: u as tfjs.Tensor2D,
      w: p as tfjs.Tensor2D | undefined,
      g: g as tfjs.Tensor2D,
      r: (p === undefined ? undefined : tf.matMul(p, outKernel, false, true)) as
        | tfjs.Tensor2D
        | undefined,
    };
  });
  try {
    classBlocks(tf, parts, n, m, classes, frobeniusSq);
    hiddenBlocks(tf, parts, x, outKernel, n, m, frobeniusSq);
    crossBlocks(tf, parts, x, outKernel, n, m, classes, frobeniusSq);
  } finally {
    tf.dispose(Object.values(parts).filter((t) => t !== undefined));
  }
  const names = [
    ...Array.from({ length: m }, (_, i) => `hidden/unit_${i}`),
    ...Array.from({ length: classes }, (_, c) => `out/unit_${c}`),
  ];
  return { names, frobeniusSq };
}

interface Parts {
  /** ReLU derivative 1[h > 0], N × m. */
  readonly s: tfjs.Tensor2D;
  /** Activations, N × m. */
  readonly a: tfjs.Tensor2D;
  /** diag part of A, N × C. */
  readonly u: tfjs.Tensor2D;
  /** rank-one part of A (absent for MSE), N × C. */
  readonly w: tfjs.Tensor2D | undefined;
  /** ∂ℓ/∂z, N × C. */
  readonly g: tfjs.Tensor2D;
  /** W₂ᵀw per sample, N × m (absent for MSE). */
  readonly r: tfjs.Tensor2D | undefined;
}

/** Class blocks: entry (j, j′) of block (c, c′) is (1/N)(δ_cc′ Σₙ u_c a_j a_j′ − Σₙ w_c w_c′ a_j a_j′). */
function classBlocks(
  tf: typeof tfjs,
  { a, u, w }: Parts,
  n: number,
  m: number,
  classes: number,
  out: number[][],
): void {
  const sum = tf.tidy(() => {
    let total = tf.zeros([classes, classes]) as tfjs.Tensor2D;
    for (let j = 0; j < m; j++) {
      for (let k = j; k < m; k++) {
        const feature = tf.mul(
          tf.slice(a, [0, j], [n, 1]),
          tf.slice(a, [0, k], [n, 1]),
        ) as tfjs.Tensor2D;
        const diagonal = tf.div(tf.matMul(feature, u, true, false), n).reshape([classes]);
        let entry = tf.diag(diagonal) as tfjs.Tensor2D;
        if (w !== undefined) {
          entry = tf.sub(entry, tf.div(tf.matMul(tf.mul(w, feature), w, true, false), n));
        }
        total = tf.add(total, tf.mul(tf.square(entry), j === k ? 1 : 2));
      }
    }
    return total;
  });
  const values = sum.arraySync();
  sum.dispose();
  for (let c = 0; c < classes; c++) {
    for (let e = 0; e < classes; e++) out[m + c][m + e] = values[c][e];
  }
}

/** Hidden blocks: ‖(1/N) Σₙ v_n x xᵀ‖²_F = vᵀ K v / N² with K = (XXᵀ)∘², v = M[:, i, i′]. */
function hiddenBlocks(
  tf: typeof tfjs,
  { s, u, w, r }: Parts,
  x: tfjs.Tensor2D,
  outKernel: tfjs.Tensor2D,
  n: number,
  m: number,
  out: number[][],
): void {
  const result = tf.tidy(() => {
    // V[c, (i, i′)] = W₂[c, i] W₂[c, i′]; Σ_c u_c W₂[c, i] W₂[c, i′] = (u V)[n, (i, i′)].
    const w2 = tf.transpose(outKernel); // C × m
    const pairs = tf.reshape(tf.mul(tf.expandDims(w2, 2), tf.expandDims(w2, 1)), [-1, m * m]);
    let curvature = tf.reshape(tf.matMul(u, pairs), [n, m, m]);
    if (w !== undefined && r !== undefined) {
      curvature = tf.sub(curvature, tf.mul(tf.expandDims(r, 2), tf.expandDims(r, 1)));
    }
    const mask = tf.mul(tf.expandDims(s, 2), tf.expandDims(s, 1));
    const v = tf.reshape(tf.mul(curvature, mask), [n, m * m]);
    const gram = tf.square(tf.matMul(x, x, false, true));
    return tf.div(tf.sum(tf.mul(tf.matMul(gram, v), v), 0), n * n);
  });
  const values = result.dataSync();
  result.dispose();
  for (let i = 0; i < m; i++) for (let k = 0; k < m; k++) out[i][k] = values[i * m + k];
}

/** Cross blocks (i, c): ‖(1/N) Xᵀ Ω_ic‖²_F with Ω_ic[n, j] = s_i((AW₂)[c, i] a_j + g_c δ_ij). */
function crossBlocks(
  tf: typeof tfjs,
  { s, a, u, w, g, r }: Parts,
  x: tfjs.Tensor2D,
  outKernel: tfjs.Tensor2D,
  n: number,
  m: number,
  classes: number,
  out: number[][],
): void {
  for (let i = 0; i < m; i++) {
    const result = tf.tidy(() => {
      const si = tf.slice(s, [0, i], [n, 1]);
      // (A W₂)[c, i] = u_c W₂[c, i] − w_c (W₂ᵀ w)_i, N × C.
      let alpha = tf.mul(u, tf.reshape(tf.slice(outKernel, [i, 0], [1, classes]), [1, classes]));
      if (w !== undefined && r !== undefined) {
        alpha = tf.sub(alpha, tf.mul(w, tf.slice(r, [0, i], [n, 1])));
      }
      const oneHot = tf.reshape(tf.oneHot([i], m), [1, 1, m]);
      const omega = tf.mul(
        tf.add(
          tf.mul(tf.expandDims(alpha, 2), tf.expandDims(a, 1)),
          tf.mul(tf.expandDims(g, 2), oneHot),
        ),
        tf.expandDims(si, 2),
      );
      const block = tf.matMul(x, tf.reshape(omega, [n, classes * m]), true, false);
      return tf.div(tf.sum(tf.square(tf.reshape(block, [-1, classes, m])), [0, 2]), n * n);
    });
    const values = result.dataSync();
    result.dispose();
    for (let c = 0; c < classes; c++) {
      out[i][m + c] = values[c];
      out[m + c][i] = values[c];
    }
  }
}
