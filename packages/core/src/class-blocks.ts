/**
 * Class-block structure of a curvature matrix when the classes are many (a language model's
 * vocabulary, C = 10³–10⁵): the parameters of an output layer split into one block per class
 * (row c of the weight and entry c of the bias), and the question is how much of ‖H‖²_F over
 * those parameters sits in the diagonal blocks H_cc rather than in the cross-class blocks
 * H_cc′. Exact block norms need every column of H over those parameters (C·(d + 1) products
 * for a [C, d] layer with bias), and probing each block separately costs C products per probe;
 * this estimate costs two products per probe, whatever C is.
 *
 * Method (randomized class-block probing). For a Gaussian probe z on the class parameters
 * (zero elsewhere) and independent Rademacher signs s, r per class (one sign for the whole
 * block), with D_s the diagonal matrix that puts s_c on every entry of block c:
 * - E ‖P H z‖² = ‖P H P‖²_F (P: the class parameters), the total mass T;
 * - u = D_s P H D_s z and w = D_r P H D_r z have block c equal to H_cc z_c plus cross terms
 *   s_c s_c′ H_cc′ z_c′ whose signs average out, so E uᵀw = Σ_c ‖H_cc z_c‖², and over z,
 *   Σ_c ‖H_cc‖²_F, the within-class mass D (unbiased: u and w use independent signs).
 * Each probe gives one sample of T and one of D from the same two products; the cross-class
 * ratio (T − D)/D gets a delta-method standard error from the paired samples.
 */
import { OptionError } from './errors.js';
import type { ParameterLayout } from './layout.js';
import type { LinearOperator } from './operator.js';
import { createRandom } from './random.js';

/** A parameter block cut into classes along one axis of its shape: class c is index c there. */
export interface ClassAxis {
  /** The block's name in the layout. */
  readonly name: string;
  /** The axis of the block's shape (0-based; a block without a shape is 1-D) that runs over the classes. */
  readonly axis: number;
}

/**
 * The number of classes C of `blocks` over `layout`: each block's length along its axis,
 * which must agree.
 *
 * @throws {@link OptionError} for no blocks, an unknown or repeated name, an axis outside a
 *   block's shape, or blocks of different lengths along their axes.
 * @example
 * ```ts
 * const layout = layoutFromSizes([
 *   { name: 'w', size: 12, shape: [3, 4] },
 *   { name: 'b', size: 4 },
 * ]);
 * classAxesLength(layout, [{ name: 'w', axis: 1 }, { name: 'b', axis: 0 }]); // 4
 * ```
 */
export function classAxesLength(
  layout: ParameterLayout,
  blocks: readonly ClassAxis[],
  where = 'classAxesLength',
): number {
  if (blocks.length === 0) throw new OptionError(`${where}: expected some class blocks, got none`);
  let classes: number | undefined;
  const seen = new Set<string>();
  for (const { name, axis } of blocks) {
    const block = layout.blocks.find((b) => b.name === name);
    if (block === undefined) {
      throw new OptionError(
        `${where}: expected class block '${name}' to be a block of the layout (${layout.blocks.map((b) => b.name).join(', ')})`,
      );
    }
    if (seen.has(name))
      throw new OptionError(`${where}: expected class block '${name}' once, got it twice`);
    seen.add(name);
    const shape = block.shape ?? [block.size];
    if (!Number.isSafeInteger(axis) || axis < 0 || axis >= shape.length) {
      throw new OptionError(
        `${where}: expected the axis of class block '${name}' (shape [${shape}]) to be an integer in [0, ${shape.length - 1}], got ${axis}`,
      );
    }
    if (classes !== undefined && shape[axis] !== classes) {
      throw new OptionError(
        `${where}: expected class block '${name}' to have ${classes} entries along axis ${axis} as the blocks before it, got ${shape[axis]} (shape [${shape}])`,
      );
    }
    classes = shape[axis];
  }
  return classes as number;
}

/**
 * The `classOf` of {@link classBlockMass}: for each coordinate of `layout`, its class (its
 * index along the block's class axis, the block row-major) in the `blocks`, or −1 outside them.
 *
 * @throws {@link OptionError} as {@link classAxesLength}.
 * @example
 * ```ts
 * // the output layer of a tfjs Dense model: kernel [d, C] (classes = columns) and bias [C]
 * const classOf = classIndex(layout, [
 *   { name: 'dense_2/kernel', axis: 1 },
 *   { name: 'dense_2/bias', axis: 0 },
 * ]);
 * const mass = await classBlockMass(operator, { classOf });
 * ```
 */
export function classIndex(
  layout: ParameterLayout,
  blocks: readonly ClassAxis[],
  where = 'classIndex',
): Int32Array {
  const classes = classAxesLength(layout, blocks, where);
  const classOf = new Int32Array(layout.dim).fill(-1);
  for (const { name, axis } of blocks) {
    const block = layout.blocks.find((b) => b.name === name)!;
    const shape = block.shape ?? [block.size];
    const stride = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
    for (let i = 0; i < block.size; i++) {
      classOf[block.offset + i] = Math.floor(i / stride) % classes;
    }
  }
  return classOf;
}

/** Options of {@link classBlockMass}. */
export interface ClassBlockMassOptions {
  /**
   * The class of each coordinate of the operator, or −1 for coordinates outside the class
   * blocks (they get no probe, and their rows are not counted). Length `operator.dim`.
   */
  readonly classOf: Int32Array;
  /** Probes, an integer ≥ 2 (two products each). Default 32. */
  readonly probes?: number;
  /** Seed of the probes and signs, a safe integer (default 0). */
  readonly seed?: number;
}

/** An estimate and its standard error. */
export interface Estimate {
  readonly estimate: number;
  readonly stderr: number;
}

/** The result of {@link classBlockMass}. */
export interface ClassBlockMass {
  /** Number of classes: the largest entry of `classOf` plus 1 (classes 0 … C − 1). */
  readonly classes: number;
  /** T = ‖P H P‖²_F: the squared Frobenius norm over the class parameters. */
  readonly total: Estimate;
  /** D = Σ_c ‖H_cc‖²_F: the part in the diagonal (within-class) blocks. */
  readonly within: Estimate;
  /** (T − D) / D: cross-class mass relative to within-class mass (delta-method stderr). */
  readonly crossRatio: Estimate;
  /** Products used: 2 · probes. */
  readonly matvecs: number;
}

/** The exact masses of {@link exactClassBlockMass}. */
export interface ExactClassBlockMass {
  /** T = ‖P A P‖²_F over the class coordinates P. */
  readonly total: number;
  /** D = Σ_c ‖A_cc‖²_F. */
  readonly within: number;
  /** (T − D) / D. */
  readonly crossRatio: number;
}

/**
 * The exact T, D and cross ratio that {@link classBlockMass} estimates, from an assembled
 * n × n matrix (row-major, n = `classOf.length`): the reference for small models (n² work).
 *
 * @example
 * ```ts
 * const classOf = classIndex(layout, [{ name: 'w', axis: 1 }, { name: 'b', axis: 0 }]);
 * const a = await denseMatrix(operator, { maxDim: operator.dim });
 * const { crossRatio } = exactClassBlockMass(a, classOf);
 * ```
 */
export function exactClassBlockMass(a: Float64Array, classOf: Int32Array): ExactClassBlockMass {
  const n = classOf.length;
  if (a.length !== n * n) {
    throw new OptionError(
      `exactClassBlockMass: expected a to hold ${n} × ${n} entries (classOf's length squared), got ${a.length}`,
    );
  }
  let total = 0;
  let within = 0;
  for (let i = 0; i < n; i++) {
    if (classOf[i] < 0) continue;
    for (let j = 0; j < n; j++) {
      if (classOf[j] < 0) continue;
      const square = a[i * n + j] ** 2;
      total += square;
      if (classOf[i] === classOf[j]) within += square;
    }
  }
  return { total, within, crossRatio: (total - within) / within };
}

/**
 * Estimates the within-class and total Frobenius mass of `operator` over class blocks by
 * randomized class-block probing (see the module doc): 2 products per probe, for any number of
 * classes.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for a `classOf` of the wrong
 *   length or without classes, or bad `probes` or `seed`, before any product.
 * @example
 * ```ts
 * // classes = rows of an output layer [V, d] and its bias [V], at `offset` and `offset + V·d`
 * declare const V: number;
 * declare const d: number;
 * declare const offset: number;
 * const classOf = new Int32Array(operator.dim).fill(-1);
 * for (let c = 0; c < V; c++) {
 *   for (let k = 0; k < d; k++) classOf[offset + c * d + k] = c;
 *   classOf[offset + V * d + c] = c;
 * }
 * const mass = await classBlockMass(operator, { classOf, probes: 32 });
 * console.log(mass.crossRatio.estimate, '±', mass.crossRatio.stderr);
 * ```
 */
export async function classBlockMass(
  operator: LinearOperator,
  options: ClassBlockMassOptions,
): Promise<ClassBlockMass> {
  const where = 'classBlockMass';
  const { classOf, probes = 32, seed = 0 } = options;
  if (!(classOf instanceof Int32Array) || classOf.length !== operator.dim) {
    throw new OptionError(
      `${where}: expected classOf to be an Int32Array of length ${operator.dim} (the operator's dim), got ${
        classOf instanceof Int32Array ? `length ${classOf.length}` : typeof classOf
      }`,
    );
  }
  if (!Number.isSafeInteger(probes) || probes < 2) {
    throw new OptionError(`${where}: expected probes to be an integer >= 2, got ${probes}`);
  }
  if (!Number.isSafeInteger(seed)) {
    throw new OptionError(`${where}: expected seed to be a safe integer, got ${seed}`);
  }
  // A loop, not Math.max(...classOf): spreading millions of arguments overflows the stack.
  const classes = classOf.reduce((m, c) => Math.max(m, c), -1) + 1;
  if (classes === 0) {
    throw new OptionError(`${where}: expected classOf to assign some coordinate a class >= 0`);
  }
  const random = createRandom(seed);
  const n = operator.dim;
  const totals: number[] = [];
  const withins: number[] = [];
  const signed = (z: Float64Array, signs: Float64Array) =>
    z.map((v, i) => (classOf[i] < 0 ? 0 : v * signs[classOf[i]]));
  for (let p = 0; p < probes; p++) {
    const z = random.gaussianVector(n);
    const s = random.rademacherVector(classes);
    const r = random.rademacherVector(classes);
    const u = await operator.matvec(signed(z, s));
    const w = await operator.matvec(signed(z, r));
    let within = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const c = classOf[i];
      if (c < 0) continue;
      within += s[c] * u[i] * r[c] * w[i];
      // u = P H D_s z: D_s z is a Gaussian probe too, so ‖P u‖² samples T as well.
      total += u[i] * u[i];
    }
    totals.push(total);
    withins.push(within);
  }
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const stderrOf = (xs: readonly number[]) => {
    const m = mean(xs);
    return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) / xs.length);
  };
  const t = mean(totals);
  const d = mean(withins);
  // (T − D)/D = T/D − 1; delta method for a ratio of paired means.
  const covariance =
    totals.reduce((a, x, i) => a + (x - t) * (withins[i] - d), 0) / (probes - 1) / probes;
  const seT = stderrOf(totals);
  const seD = stderrOf(withins);
  const ratio = t / d;
  const ratioStderr =
    Math.abs(ratio) *
    Math.sqrt(Math.max(0, (seT / t) ** 2 + (seD / d) ** 2 - (2 * covariance) / (t * d)));
  return {
    classes,
    total: { estimate: t, stderr: seT },
    within: { estimate: d, stderr: seD },
    crossRatio: { estimate: ratio - 1, stderr: ratioStderr },
    matvecs: 2 * probes,
  };
}
