import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import { DimensionError, OptionError } from '../errors.js';
import { layoutFromSizes } from '../layout.js';
import { checkPositive } from '../options.js';
import { type CurvatureOperator, checkParams, checkScalar, gradients, type Param } from './hvp.js';
import { withExplicitTransposes, withSecondOrder } from './second-order.js';
import type { Tf } from './types.js';

/**
 * The default relative step of {@link finiteDifferenceOperator}: ε^{1/3} with ε = 2^-23 the
 * float32 machine epsilon (≈ 4.9e-3). A central difference of the gradient has truncation
 * error ≈ (h²/6)‖∇³L[v, v, ·]‖ and rounding error ≈ ε‖g‖/h; ε^{1/3} balances the two, so both
 * are O(ε^{2/3}) ≈ 2.4e-5 relative, times problem-dependent constants (Nocedal & Wright,
 * "Numerical Optimization", 2006, section 8.1).
 */
export const FINITE_DIFFERENCE_RELATIVE_STEP = Math.cbrt(2 ** -23);

/** Options of {@link finiteDifferenceOperator}. */
export interface FiniteDifferenceOptions {
  /** The TensorFlow.js namespace in use (any backend). */
  readonly tf: Tf;
  /**
   * The parameters, in the order of the flat vector (row-major each). A `tf.Variable` (also
   * one inside a {@link NamedTensor}, as {@link trainableParams} gives) is perturbed in place
   * with `assign` and restored bit-for-bit afterwards, also when the loss throws; a plain
   * tensor is only passed, perturbed, to `loss`, which must then use its argument.
   */
  readonly params: readonly Param[];
  /** The scalar loss, given the (perturbed) parameter tensors in the order of `params`. */
  readonly loss: (params: readonly Tensor[]) => Scalar;
  /**
   * Absolute step h along v (in parameter units per unit of v). Default: h =
   * {@link FINITE_DIFFERENCE_RELATIVE_STEP} · max(1, ‖θ‖_∞) / ‖v‖_∞, so that the largest
   * parameter change is ε^{1/3} of the parameters' scale.
   */
  readonly step?: number;
}

/** One central difference: the product and the direction it really is a product with. */
export interface CentralDifference {
  /** (g(θ₊) − g(θ₋)) / 2h in float64, g the autodiff gradient in float32. */
  readonly product: Float64Array;
  /**
   * (θ₊ − θ₋) / 2h computed exactly in float64 from the float32 points θ± = fl(θ ± h v): the
   * direction the difference approximates H times (v up to the rounding of θ ± hv).
   */
  readonly direction: Float64Array;
  /** The step h used. */
  readonly step: number;
}

/**
 * A central finite difference of the autodiff gradient as a
 * {@link @hessian-probe/core!index.LinearOperator | LinearOperator}:
 * H v ≈ (∇L(θ + h v) − ∇L(θ − h v)) / 2h. A cross-check of the exact operator
 * ({@link hessianOperator}, Pearlmutter 1994) and an explicit fallback for a model whose
 * second derivatives hessian-probe cannot compute: it is never substituted silently. Each
 * product costs two gradients. Its error is O(ε^{2/3}) relative at the default step (see
 * {@link FINITE_DIFFERENCE_RELATIVE_STEP}), far above the exact operator's O(ε), and it is only
 * approximately symmetric; across a kink of relu, max pooling or leakyRelu it is wrong by
 * O(1/h), because the gradient jumps there.
 *
 * Weights are perturbed, the two gradients computed and the weights restored in one
 * synchronous block (no other JavaScript runs in between, so no other code can observe the
 * perturbed weights); the restored variables hold their original buffers, bit-identical.
 * First-order gradients are computed inside {@link withSecondOrder} (which supplies the wasm
 * Conv2DBackpropFilter kernel) and `withExplicitTransposes` (on wasm, several times faster
 * gradients of Dense layers; values differ from tfjs's kernel in float32 rounding only).
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for empty/non-float32 params
 *   or a bad step; at product time {@link DimensionError} for a vector of the wrong length,
 *   {@link LossError} for a non-scalar loss.
 *
 * @example
 * ```ts
 * const loss = () => meanSquaredError(tf, model.apply(x) as tf.Tensor, y);
 * const fd = finiteDifferenceOperator({ tf, params: trainableParams(model), loss });
 * const exact = hessianOperator({ tf, params: trainableParams(model), loss });
 * const v = new Float64Array(fd.layout.dim).fill(1);
 * const approx = await fd.operator.matvec(v); // ≈ exact.operator.matvec(v) to ~1e-4 relative
 * ```
 */
export function finiteDifferenceOperator(options: FiniteDifferenceOptions): CurvatureOperator {
  const { tf, params, loss, step } = options;
  const tensors = checkParams('finiteDifferenceOperator', params);
  if (typeof loss !== 'function') {
    throw new OptionError(
      `finiteDifferenceOperator: expected loss to be a function, got ${typeof loss}`,
    );
  }
  if (step !== undefined) checkPositive('finiteDifferenceOperator', 'step', step);
  const layout = layoutFromSizes(
    params.map((p, i) => ({ name: p.name, size: tensors[i].size, shape: tensors[i].shape })),
  );
  return {
    layout,
    operator: {
      dim: layout.dim,
      // Truncation and rounding both O(ε^{2/3}) relative (see FINITE_DIFFERENCE_RELATIVE_STEP).
      precision: FINITE_DIFFERENCE_RELATIVE_STEP ** 2,
      async matvec(v) {
        if (!(v instanceof Float64Array) || v.length !== layout.dim) {
          throw new DimensionError(
            `finiteDifferenceOperator.matvec: expected a Float64Array of length ${layout.dim}, got ${v instanceof Float64Array ? `length ${v.length}` : typeof v}`,
          );
        }
        if (v.every((x) => x === 0)) return new Float64Array(layout.dim);
        return (await centralDifference(tf, tensors, loss, v, step)).product;
      },
    },
  };
}

/**
 * One central difference of the gradient of `loss` at the current `params` along `v` (see
 * {@link finiteDifferenceOperator}); `v` must not be zero.
 */
export async function centralDifference(
  tf: Tf,
  params: readonly Tensor[],
  loss: (params: readonly Tensor[]) => Scalar,
  v: Float64Array,
  step?: number,
): Promise<CentralDifference> {
  const theta = params.map((t) => t.dataSync() as Float32Array);
  let thetaMax = 1;
  for (const part of theta) for (const x of part) thetaMax = Math.max(thetaMax, Math.abs(x));
  let vMax = 0;
  for (const x of v) vMax = Math.max(vMax, Math.abs(x));
  const h = step ?? (FINITE_DIFFERENCE_RELATIVE_STEP * thetaMax) / vMax;
  const shifted = (sign: 1 | -1) => {
    let offset = 0;
    return theta.map((part) => {
      const out = new Float32Array(part.length);
      for (let i = 0; i < part.length; i++) out[i] = part[i] + sign * h * v[offset + i];
      offset += part.length;
      return out;
    });
  };
  const plus = shifted(1);
  const minus = shifted(-1);
  const [gPlus, gMinus] = perturbedGradients(tf, params, loss, [plus, minus]);
  try {
    const [a, b] = await Promise.all([gPlus.data(), gMinus.data()]);
    const product = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) product[i] = (a[i] - b[i]) / (2 * h);
    const direction = new Float64Array(v.length);
    let offset = 0;
    for (const [p, part] of plus.entries()) {
      for (let i = 0; i < part.length; i++) {
        direction[offset + i] = (part[i] - minus[p][i]) / (2 * h);
      }
      offset += part.length;
    }
    return { product, direction, step: h };
  } finally {
    gPlus.dispose();
    gMinus.dispose();
  }
}

function isVariable(t: Tensor): t is Variable {
  return typeof (t as Partial<Variable>).assign === 'function';
}

/**
 * The flat gradients at each of `points`, computed synchronously with the variables among
 * `params` assigned to each point in turn and restored (their original buffers) in a
 * `finally`.
 */
function perturbedGradients(
  tf: Tf,
  params: readonly Tensor[],
  loss: (params: readonly Tensor[]) => Scalar,
  points: readonly Float32Array[][],
): Tensor[] {
  const saved = params.map((t) => (isVariable(t) ? tf.clone(t) : undefined));
  const results: Tensor[] = [];
  try {
    for (const point of points) {
      results.push(
        withSecondOrder(tf, () =>
          withExplicitTransposes(tf, () =>
            tf.tidy(() => {
              const args = params.map((t, i) => {
                const value = tf.tensor(point[i], t.shape, 'float32');
                if (!isVariable(t)) return value;
                t.assign(value);
                return t;
              });
              const grads = gradients(
                tf,
                () => checkScalar('finiteDifferenceOperator', loss(args)),
                args,
              );
              return tf.concat(grads.map((g) => tf.reshape(g, [-1])));
            }),
          ),
        ),
      );
    }
    return results;
  } catch (error) {
    tf.dispose(results);
    throw error;
  } finally {
    for (const [i, t] of params.entries()) {
      const original = saved[i];
      if (original && isVariable(t)) {
        t.assign(original);
        original.dispose();
      }
    }
  }
}
