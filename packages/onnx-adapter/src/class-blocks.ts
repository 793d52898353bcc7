/**
 * Class-block structure of a curvature matrix when the classes are many (a language model's
 * vocabulary, C = 10³–10⁵): the parameters of an output layer split into one block per class
 * (row c of the weight and entry c of the bias), and the question is how much of ‖H‖²_F over
 * those parameters sits in the diagonal blocks H_cc rather than in the cross-class blocks
 * H_cc′. Exact block norms cost one product per block (C products); this estimate costs two
 * products per probe, whatever C is.
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
import { createRandom, type LinearOperator, OptionError } from '@hessian-probe/core';

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
  /** Number of classes (distinct non-negative entries of `classOf`). */
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

/**
 * Estimates the within-class and total Frobenius mass of `operator` over class blocks by
 * randomized class-block probing (see the module doc): 2 products per probe, for any number of
 * classes.
 *
 * @throws {@link OptionError} for a `classOf` of the wrong length or without classes, or bad
 *   `probes` or `seed`, before any product.
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
