import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { DimensionError } from '../errors.js';
import type { ParameterLayout } from '../layout.js';
import type { LinearOperator } from '../operator.js';
import { checkInteger, checkPositive } from '../options.js';
import { checkSeed, createRandom } from '../random.js';
import { norm } from '../vector.js';
import { SelfCheckError } from './errors.js';
import { type CentralDifference, centralDifference } from './finite-difference.js';
import type { Tf } from './types.js';

/**
 * Default tolerance of {@link selfCheck} on ‖Hd − H_fd d‖ / ‖H_fd d‖, before the measured
 * finite-difference uncertainty is added: 64·ε^{2/3} with ε = 2^-23 (≈ 1.6e-3). At the default step
 * h ∝ ε^{1/3} the central difference has truncation and rounding errors of order ε^{2/3} ≈ 2.4e-5
 * relative, each times a problem-dependent constant (third derivatives, ‖g‖/‖Hv‖, the rounding
 * growth of the backward pass); 64 covers the constants measured on this project's test models
 * (worst finite-difference error seen 3.0e-4 ≈ 12·ε^{2/3} on a two-hidden-layer tanh MLP, cpu and
 * wasm: self-check.test.ts) while staying two orders of magnitude below the errors of broken
 * second-order gradients (10 % on the same MLP without
 * {@link @hessian-probe/core!tfjs.withSecondOrder | withSecondOrder}; 30–100 % in
 * docs/tfjs-second-order.md).
 */
export const SELF_CHECK_TOLERANCE = 64 * 2 ** ((-23 * 2) / 3);

/**
 * Above this relative disagreement between the differences with steps h and h/2 a direction
 * is inconclusive: the gradient is not smooth along it at this scale (a relu, leakyRelu or
 * max-pooling kink was crossed) or rounding dominates, so the difference is no reference.
 */
export const SELF_CHECK_MAX_UNCERTAINTY = 0.05;

/**
 * How many times {@link selfCheck} halves the step of an inconclusive direction before giving
 * it up. Where the curvature varies fast along the direction (a saturated softmax, whose
 * Hessian scales like e^{−margin}), the truncation error (h²/6)‖∇³L[v, v, ·]‖ of the default
 * step can exceed the product itself; each halving divides it by 4, while the rounding error
 * ε‖g‖/h only doubles. Measured on a 4-8-8-2 tanh MLP with every logit margin >= 10
 * (self-check.test.ts): relative errors 0.9–2.7 at the default step; after 4 halvings the
 * disagreement is 3.0e-3 and the error 4.1e-3, so a 10 % error in Hv still fails (by 9.6e-2
 * against an allowance of 1.4e-2).
 */
export const SELF_CHECK_MAX_HALVINGS = 4;

/**
 * An upper bound of what one {@link selfCheck} costs, in Hessian-vector products: at most
 * 4 × 3 central differences of the gradient (two per direction tried, one per halving, within
 * the same budget: 24 gradients, under 12 products) and one product per checked direction;
 * 20 leaves room for the first call's compilation.
 */
export const SELF_CHECK_PRODUCTS = 20;

/** Options of {@link selfCheck}. */
export interface SelfCheckOptions {
  /** The TensorFlow.js namespace in use. */
  readonly tf: Tf;
  /** The autodiff operator to check, in tfjs coordinates (params in order, row-major each). */
  readonly operator: LinearOperator;
  /** The parameters the operator differentiates over (variables are perturbed and restored). */
  readonly params: readonly Tensor[];
  /** The loss whose Hessian `operator` claims to multiply by. */
  readonly loss: (params: readonly Tensor[]) => Scalar;
  /** Names the blocks in an error: the operator's layout (in permuted coordinates when `order`). */
  readonly layout: ParameterLayout;
  /** `order[k]` = tfjs coordinate of layout coordinate k (see {@link modelLayout}); default identity. */
  readonly order?: Int32Array;
  /** Conclusive random directions to check (default 3, at most twice as many are tried). */
  readonly directions?: number;
  /** Seed of the Gaussian directions (default 0). */
  readonly seed?: number;
  /** Base relative tolerance (default {@link SELF_CHECK_TOLERANCE}). */
  readonly tolerance?: number;
}

/** What {@link selfCheck} measured. */
export interface SelfCheckResult {
  /** Directions on which the finite difference was a usable reference and agreed. */
  readonly checked: number;
  /** Directions skipped because the finite difference disagreed with itself (kinks). */
  readonly inconclusive: number;
  /** Largest ‖Hd − H_fd d‖ / ‖H_fd d‖ over the checked directions. */
  readonly relativeError: number;
  /** Largest allowed value of that error on the worst direction (tolerance + 4·uncertainty). */
  readonly allowed: number;
}

/**
 * Checks an autodiff Hessian-vector product (Pearlmutter 1994) against central finite
 * differences of the first-order gradient on seeded Gaussian directions. For each direction v,
 * the difference D_h = (g(θ₊) − g(θ₋))/2h with θ± = fl(θ ± hv) is a product with the exact
 * float64 displacement d = (θ₊ − θ₋)/2h, so the exact operator is applied to d (removing the
 * rounding of θ ± hv from the comparison). The difference is repeated with h/2; their
 * disagreement u = ‖D_h − D_{h/2}‖/‖D_h‖ measures its own truncation and rounding error. When
 * u > {@link SELF_CHECK_MAX_UNCERTAINTY}, the step is halved (h ← h/2, up to
 * `SELF_CHECK_MAX_HALVINGS` = 4 times, within a budget of 4 × `directions` differences in
 * all) as long as each halving at least halves u, and the pair with the smallest u is kept; a
 * direction whose u stays above the maximum is inconclusive (skipped: the gradient is not
 * smooth along it at these scales). Otherwise the check fails when ‖Hd − D_h‖/‖D_h‖ >
 * tolerance + 4u.
 *
 * @returns what was measured; `checked` may be 0 when every direction crossed a kink.
 * @throws {@link SelfCheckError} naming the layout blocks that hold most of the discrepancy
 *   (largest share of ‖Hd − D_h‖² first, up to 90 % of it).
 *
 * @example
 * ```ts
 * const params = trainableParams(model);
 * const loss = () => meanSquaredError(tf, model.apply(x) as tf.Tensor, y);
 * const { operator, layout } = hessianOperator({ tf, params, loss });
 * const tensors = params.map((p) => p.tensor);
 * const result = await selfCheck({ tf, operator, params: tensors, loss, layout });
 * ```
 */
export async function selfCheck(options: SelfCheckOptions): Promise<SelfCheckResult> {
  const {
    tf,
    operator,
    params,
    loss,
    layout,
    order,
    directions = 3,
    seed = 0,
    tolerance = SELF_CHECK_TOLERANCE,
  } = options;
  checkInteger('selfCheck', 'directions', directions, 1);
  checkSeed(seed, 'selfCheck');
  checkPositive('selfCheck', 'tolerance', tolerance);
  if (layout.dim !== operator.dim || (order && order.length !== operator.dim)) {
    throw new DimensionError(
      `selfCheck: expected a layout (and order) of dimension ${operator.dim}, got ${layout.dim}`,
    );
  }
  const rng = createRandom(seed);
  let checked = 0;
  let inconclusive = 0;
  let worst = 0;
  let allowedAtWorst = tolerance;
  // Central differences allowed in all (2 per direction, 2 × directions tried, as before
  // halvings existed): halvings spend the budget of later directions.
  const budget = 4 * directions;
  let spent = 0;
  for (let attempt = 0; spent + 2 <= budget && checked < directions; attempt++) {
    const v = rng.gaussianVector(operator.dim);
    const { coarse, uncertainty, differences } = await usableDifference(
      tf,
      params,
      loss,
      v,
      budget - spent,
      tolerance,
    );
    spent += differences;
    if (!(uncertainty <= SELF_CHECK_MAX_UNCERTAINTY)) {
      inconclusive++;
      continue;
    }
    const reference = coarse.product;
    const scale = norm(reference);
    const exact = await operator.matvec(coarse.direction);
    const gap = exact.map((x, i) => x - reference[i]);
    const error = norm(gap) / scale;
    const allowed = tolerance + 4 * uncertainty;
    if (!(error <= allowed)) {
      const blocks = concentration(gap, layout, order);
      throw new SelfCheckError(
        `selfCheck: expected the exact Hessian-vector product to match central finite differences ` +
          `within ${allowed.toExponential(2)} relative (tolerance ${tolerance.toExponential(2)} + 4 × ` +
          `finite-difference uncertainty ${uncertainty.toExponential(2)}), got ${error.toExponential(2)} on ` +
          `direction ${attempt}; the discrepancy is in ${blocks.map((b) => `${b.name} (${(100 * b.share).toFixed(1)} %)`).join(', ')}`,
        error,
        blocks.map((b) => b.name),
      );
    }
    checked++;
    if (error >= worst) {
      worst = error;
      allowedAtWorst = allowed;
    }
  }
  return { checked, inconclusive, relativeError: worst, allowed: allowedAtWorst };
}

/**
 * The central difference along `v` with the smallest self-disagreement u that `budget`
 * differences (at least 2) find: D_h against D_{h/2} at the default step; when u exceeds
 * {@link SELF_CHECK_MAX_UNCERTAINTY}, the step is halved while each halving still divides u by
 * at least 2 (truncation, O(h²), dominates: it should divide it by 4), u is above
 * `tolerance`, and halvings and budget remain.
 */
async function usableDifference(
  tf: Tf,
  params: readonly Tensor[],
  loss: (params: readonly Tensor[]) => Scalar,
  v: Float64Array,
  budget: number,
  tolerance: number,
): Promise<{ coarse: CentralDifference; uncertainty: number; differences: number }> {
  let coarse = await centralDifference(tf, params, loss, v);
  let fine = await centralDifference(tf, params, loss, v, coarse.step / 2);
  let differences = 2;
  const disagreement = () => distance(coarse.product, fine.product) / norm(coarse.product);
  let uncertainty = disagreement();
  let best = { coarse, uncertainty };
  if (uncertainty <= SELF_CHECK_MAX_UNCERTAINTY) return { ...best, differences };
  for (let halving = 0; halving < SELF_CHECK_MAX_HALVINGS && differences < budget; halving++) {
    coarse = fine;
    fine = await centralDifference(tf, params, loss, v, coarse.step / 2);
    differences++;
    const previous = uncertainty;
    uncertainty = disagreement();
    if (uncertainty < best.uncertainty) best = { coarse, uncertainty };
    if (!(uncertainty <= previous / 2) || uncertainty <= tolerance) break;
  }
  return { ...best, differences };
}

function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** The blocks holding the largest shares of ‖gap‖², largest first, until 90 % is covered. */
function concentration(
  gap: Float64Array,
  layout: ParameterLayout,
  order: Int32Array | undefined,
): { name: string; share: number }[] {
  const total = gap.reduce((s, x) => s + x * x, 0);
  const shares = layout.blocks.map((b) => {
    let s = 0;
    for (let k = b.offset; k < b.offset + b.size; k++) s += gap[order ? order[k] : k] ** 2;
    return { name: b.name, share: total > 0 ? s / total : 0 };
  });
  shares.sort((a, b) => b.share - a.share);
  const out: { name: string; share: number }[] = [];
  let covered = 0;
  for (const s of shares) {
    out.push(s);
    covered += s.share;
    if (covered >= 0.9) break;
  }
  return out;
}

const checkedModels = new WeakMap<object, Promise<SelfCheckResult>>();

/**
 * Runs `check` once per `key` (a model) and caches its promise, also a rejection: every later
 * call for the same key gets the same result or the same {@link SelfCheckError}.
 *
 * @example
 * ```ts
 * declare const options: SelfCheckOptions; // as for selfCheck
 * await selfCheckOnce(model, () => selfCheck(options)); // checked once per model
 * ```
 */
export function selfCheckOnce(
  key: object,
  check: () => Promise<SelfCheckResult>,
): Promise<SelfCheckResult> {
  let pending = checkedModels.get(key);
  if (!pending) {
    pending = check();
    checkedModels.set(key, pending);
  }
  return pending;
}

/**
 * The cached self-check result of `key`, if it has been checked.
 *
 * @example
 * ```ts
 * const result = await selfCheckResult(model); // undefined before the first product
 * ```
 */
export function selfCheckResult(key: object): Promise<SelfCheckResult> | undefined {
  return checkedModels.get(key);
}
