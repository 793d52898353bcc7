import type { Tensor } from '@tensorflow/tfjs-core';
import { OptionError } from '../errors.js';
import { layoutFromSizes } from '../layout.js';
import { FLOAT32_PRECISION } from '../operator.js';
import {
  type CurvatureOperator,
  checkParams,
  dotAll,
  flatProduct,
  gradients,
  type Param,
  splitVector,
} from './hvp.js';
import { type LossName, type OutputLoss, outputLoss } from './losses.js';
import { detached } from './second-order.js';
import type { Tf } from './types.js';

/** Options of {@link gaussNewtonOperator}. */
export interface GaussNewtonOperatorOptions {
  /** The TensorFlow.js namespace in use (any backend). */
  readonly tf: Tf;
  /** The parameters, in the order of the flat vector (row-major each); float32, unique names. */
  readonly params: readonly Param[];
  /**
   * The network output z = f(θ; x) the loss is applied to (the logits for the cross-entropies),
   * given the parameter tensors in the order of `params`. Built anew on each call: it runs
   * inside gradient tapes.
   */
  readonly output: (params: readonly Tensor[]) => Tensor;
  /** Targets of the loss (one-hot or sparse labels, or regression targets). */
  readonly targets: Tensor;
  /** The loss on z: a name or an {@link OutputLoss} with its analytic Hessian in z. */
  readonly loss: LossName | OutputLoss;
}

/**
 * The generalized Gauss–Newton matrix G = Jᵀ A J (Schraudolph 2002, "Fast curvature matrix-vector
 * products for second-order gradient descent"; Martens 2020, "New insights and perspectives on the
 * natural gradient method", section 8) of a loss L(f(θ)) as a
 * {@link @hessian-probe/core!index.LinearOperator | LinearOperator}: J = ∂z/∂θ the Jacobian of the
 * network output and A = ∇²_z L the loss's analytic Hessian in z (positive semi-definite for the
 * supported losses, so G is too). G = H − E drops the term E = Σ (∂L/∂z_c) ∇²_θ z_c of the
 * network's own curvature (docs/methods.md).
 *
 * Gv = Jᵀ(A(Jv)). The Jacobian-vector product comes from reverse mode alone by the double-VJP
 * trick: u ↦ Jᵀu is linear, so Jv = ∇_u⟨Jᵀu, v⟩ (evaluated at u = 0); then A(Jv) is the
 * loss's closed form and Jᵀ(·) one more vector-Jacobian product. Runs inside
 * {@link withSecondOrder} and a `tf.tidy` (no tensor outlives a product). Cost: one forward
 * and about four backward passes, about that of a Hessian-vector product.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for an empty or non-float32
 *   parameter list or a bad `output`.
 *
 * @example
 * ```ts
 * const { operator } = gaussNewtonOperator({
 *   tf,
 *   params: trainableParams(model),
 *   output: () => model.apply(x) as tf.Tensor, // logits: the model has no final softmax
 *   targets: y,
 *   loss: 'softmaxCrossEntropy',
 * });
 * ```
 */
export function gaussNewtonOperator(options: GaussNewtonOperatorOptions): CurvatureOperator {
  const { tf, params, output, targets } = options;
  const tensors = checkParams('gaussNewtonOperator', params);
  if (typeof output !== 'function') {
    throw new OptionError(
      `gaussNewtonOperator: expected output to be a function, got ${typeof output}`,
    );
  }
  const loss = typeof options.loss === 'string' ? outputLoss(options.loss) : options.loss;
  const layout = layoutFromSizes(
    params.map((p, i) => ({ name: p.name, size: tensors[i].size, shape: tensors[i].shape })),
  );
  return {
    layout,
    operator: {
      dim: layout.dim,
      precision: FLOAT32_PRECISION,
      matvec: (v) =>
        flatProduct(tf, v, layout.dim, 'gaussNewtonOperator.matvec', () =>
          gaussNewtonVectorProduct(
            tf,
            tensors,
            () => output(tensors),
            (z, u) => loss.hessianProduct(tf, z, targets, u),
            splitVector(tf, v, tensors),
          ),
        ),
    },
  };
}

/**
 * Jᵀ A J v for the output z = `output()` of parameters `xs` and the loss Hessian product
 * `lossHessian(z, u)` = A u. Call inside
 * {@link @hessian-probe/core!tfjs.withSecondOrder | withSecondOrder} and a tidy.
 *
 * One forward pass serves all three products: z is computed once on the gradient tape
 * (tfjs's tape is shared by nested gradient calls, so inner calls differentiate through
 * nodes recorded before them). Jv comes from the double-VJP trick on that z, A(Jv) is
 * detached from the tape (`detached`; its dependence on θ is not part of G), and the outer
 * gradient of ⟨z, A(Jv)⟩ is Jᵀ(AJv).
 */
export function gaussNewtonVectorProduct(
  tf: Tf,
  xs: readonly Tensor[],
  output: () => Tensor,
  lossHessian: (z: Tensor, u: Tensor) => Tensor,
  vs: readonly Tensor[],
): Tensor[] {
  return gradients(
    tf,
    () => {
      const z = output();
      const u = tf.zerosLike(z);
      const [jv] = gradients(
        tf,
        () =>
          dotAll(
            tf,
            gradients(tf, () => tf.sum(tf.mul(z, u)), xs),
            vs,
          ),
        [u],
      );
      const ajv = detached(tf, () => lossHessian(z, jv));
      return tf.sum(tf.mul(z, ajv));
    },
    xs,
  );
}
