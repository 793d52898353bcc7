import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import { DimensionError, OptionError } from '../errors.js';
import { layoutFromSizes, type ParameterLayout } from '../layout.js';
import { FLOAT32_PRECISION, type LinearOperator } from '../operator.js';
import { LossError } from './errors.js';
import { withExplicitTransposes, withSecondOrder } from './second-order.js';
import type { NamedTensor, Tf } from './types.js';

/** A curvature operator on a flat parameter vector, with the names of its blocks. */
export interface CurvatureOperator {
  /** Products with the curvature matrix, in float64 on the host. */
  readonly operator: LinearOperator;
  /** Which entries of the flat vector belong to which tensor (or layer, or unit). */
  readonly layout: ParameterLayout;
}

/** A parameter of {@link hessianOperator}: a `tf.Variable` (named by its `name`) or a named tensor. */
export type Param = Variable | NamedTensor;

/** Options of {@link hessianOperator}. */
export interface HessianOperatorOptions {
  /** The TensorFlow.js namespace in use (any backend). */
  readonly tf: Tf;
  /**
   * The parameters, in the order of the flat vector; each is flattened row-major (tfjs's own
   * order). At least one; float32; unique names.
   */
  readonly params: readonly Param[];
  /**
   * The scalar loss. It receives the parameter tensors in the order of `params` (a loss over
   * variables may ignore the argument and read the variables). It must build every op it
   * needs on each call: it runs inside a gradient tape.
   */
  readonly loss: (params: readonly Tensor[]) => Scalar;
}

/**
 * The exact Hessian of a scalar loss over a list of tensors or variables, as a
 * {@link LinearOperator}: Hv = ∇_θ⟨∇_θ L, v⟩ by double backprop (Pearlmutter 1994), run
 * inside {@link withSecondOrder} so that every supported kernel is differentiated twice
 * exactly. Each product converts v to float32 tensors, computes in a `tf.tidy` (no tensor
 * outlives the call) and returns the product as a new `Float64Array`. Cost ≈ 2–3 gradients.
 *
 * The layout has one block per parameter, named after it, shaped like it.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for an empty or non-float32
 *   parameter list; {@link @hessian-probe/core!index.LayoutError | LayoutError} for duplicate
 *   names; at product time, {@link LossError} when the loss is not a scalar and
 *   {@link DimensionError} for a vector of the wrong length.
 *
 * @example
 * ```ts
 * const w = tf.variable(tf.randomNormal([3, 2]), true, 'w');
 * const { operator, layout } = hessianOperator({
 *   tf,
 *   params: [w],
 *   loss: () => tf.mean(tf.square(tf.tanh(tf.matMul(x, w)))),
 * });
 * const hv = await operator.matvec(new Float64Array(layout.dim).fill(1));
 * ```
 */
export function hessianOperator(options: HessianOperatorOptions): CurvatureOperator {
  const { tf, params, loss } = options;
  const tensors = checkParams('hessianOperator', params);
  if (typeof loss !== 'function') {
    throw new OptionError(`hessianOperator: expected loss to be a function, got ${typeof loss}`);
  }
  const layout = layoutFromSizes(
    params.map((p, i) => ({ name: paramName(p), size: tensors[i].size, shape: tensors[i].shape })),
  );
  const scalarLoss = () => checkScalar('hessianOperator', loss(tensors));
  return {
    layout,
    operator: {
      dim: layout.dim,
      precision: FLOAT32_PRECISION,
      matvec: (v) =>
        flatProduct(tf, v, layout.dim, 'hessianOperator.matvec', () =>
          hessianVectorProduct(tf, tensors, scalarLoss, splitVector(tf, v, tensors)),
        ),
    },
  };
}

/** The part of a tfjs-layers model that {@link trainableParams} reads. */
export interface TrainableWeightsHolder {
  readonly trainableWeights: readonly { readonly name: string; read(): Tensor }[];
}

/**
 * A model's trainable weights as named parameters, in `model.trainableWeights` order (the
 * tensors are the model's own variables: products see later weight updates).
 *
 * @example
 * ```ts
 * const { operator } = hessianOperator({
 *   tf,
 *   params: trainableParams(model),
 *   loss: () => meanSquaredError(tf, model.apply(x) as tf.Tensor, y),
 * });
 * ```
 */
export function trainableParams(model: TrainableWeightsHolder): NamedTensor[] {
  return model.trainableWeights.map((w) => ({ name: w.name, tensor: w.read() }));
}

/** The tensor of a parameter. */
export function paramTensor(p: Param): Tensor {
  return 'tensor' in p ? p.tensor : p;
}

function paramName(p: Param): string {
  return p.name;
}

/** Checks a parameter list (non-empty, float32) and returns the tensors. */
export function checkParams(where: string, params: readonly Param[]): Tensor[] {
  if (!Array.isArray(params) || params.length === 0) {
    throw new OptionError(
      `${where}: expected params to be a non-empty array, got ${String(params)}`,
    );
  }
  return params.map((p, i) => {
    const t = paramTensor(p);
    if (t.dtype !== 'float32') {
      throw new OptionError(
        `${where}: expected params[${i}] (${JSON.stringify(p.name)}) to be float32, got ${t.dtype}`,
      );
    }
    return t;
  });
}

/** Throws a {@link LossError} unless `t` is a rank-0 tensor. */
export function checkScalar(where: string, t: Tensor): Scalar {
  if (t.rank !== 0) {
    throw new LossError(`${where}: expected the loss to be a scalar, got shape [${t.shape}]`);
  }
  return t as Scalar;
}

/** Splits a flat float64 vector into float32 tensors shaped like `like` (call inside a tidy). */
export function splitVector(tf: Tf, v: Float64Array, like: readonly Tensor[]): Tensor[] {
  let offset = 0;
  return like.map((t) => {
    const part = Float32Array.from(v.subarray(offset, offset + t.size));
    offset += t.size;
    return tf.tensor(part, t.shape, 'float32');
  });
}

/**
 * Runs `compute` (which returns one tensor per parameter block) inside second-order autodiff,
 * with explicit transposes on wasm ({@link withExplicitTransposes}) and a tidy, and returns the
 * concatenation as a new Float64Array.
 */
export async function flatProduct(
  tf: Tf,
  v: Float64Array,
  dim: number,
  where: string,
  compute: () => Tensor[],
): Promise<Float64Array> {
  if (!(v instanceof Float64Array) || v.length !== dim) {
    const got = v instanceof Float64Array ? `length ${v.length}` : typeof v;
    throw new DimensionError(`${where}: expected a Float64Array of length ${dim}, got ${got}`);
  }
  // Hand the event loop a turn before each product: an HTTP server in the same process (the
  // /metrics page) then answers within about one product, not only after a whole analysis.
  await yieldToEventLoop();
  const flat = withSecondOrder(tf, () =>
    withExplicitTransposes(tf, () =>
      tf.tidy(() => tf.concat(compute().map((t) => tf.reshape(t, [-1])))),
    ),
  );
  try {
    return Float64Array.from(await flat.data());
  } finally {
    flat.dispose();
  }
}

/** Resolves on the next turn of the event loop, after pending I/O (setImmediate in Node). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/**
 * Gradients of `f` with respect to `xs`, zeros where `f` does not depend on an x (tfjs's
 * `tf.grads` throws there).
 */
export function gradients(tf: Tf, f: () => Scalar, xs: readonly Tensor[]): Tensor[] {
  const { grads } = tf.engine().gradients(f, [...xs], undefined, true);
  return xs.map((x, i) => grads[i] ?? tf.zerosLike(x));
}

/**
 * Hv for a scalar loss over `xs` by double backprop: the gradient of ⟨∇L, v⟩. Call inside
 * {@link withSecondOrder} and a tidy.
 */
export function hessianVectorProduct(
  tf: Tf,
  xs: readonly Tensor[],
  loss: () => Scalar,
  vs: readonly Tensor[],
): Tensor[] {
  return gradients(tf, () => dotAll(tf, gradients(tf, loss, xs), vs), xs);
}

/** Σ_i ⟨a_i, b_i⟩ as a scalar tensor. */
export function dotAll(tf: Tf, a: readonly Tensor[], b: readonly Tensor[]): Scalar {
  return tf.addN(a.map((t, i) => tf.sum(tf.mul(t, b[i])))) as Scalar;
}
