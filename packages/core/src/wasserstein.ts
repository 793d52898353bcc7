import { DimensionError, OptionError } from './errors.js';
import { checkOptions, show } from './options.js';

/**
 * A finite measure on R: atoms at `values` with masses `weights` (default: mass 1 each, the
 * empirical measure of a list of eigenvalues). Only the relative masses matter to
 * {@link wasserstein1}, which normalises each measure to total mass 1.
 */
export interface DiscreteMeasure {
  /** Positions of the atoms (any order; repeats allowed). */
  values: ArrayLike<number>;
  /** Non-negative masses, one per value, with a positive sum (default: all 1). */
  weights?: ArrayLike<number>;
}

const WHERE = 'wasserstein1';

/**
 * The 1-Wasserstein (earth mover's) distance between two discrete probability measures on R,
 * computed exactly as W₁(μ, ν) = ∫ |F_μ(t) − F_ν(t)| dt, the integral of the gap between the
 * two cumulative distribution functions over the merged support (Vallender 1974). Each measure
 * is first normalised to total mass 1. Result in the units of the values; O((p + q) log(p + q)).
 *
 * Used to compare a stochastic Lanczos quadrature spectrum with the exact eigenvalue
 * distribution, as in Chen, Trogdon & Ubaru (2021), "Analysis of stochastic Lanczos quadrature
 * for spectrum approximation", ICML.
 *
 * @throws {@link OptionError} when a measure is not an object of arrays, is empty, has a
 *   non-finite value, a negative or non-finite weight, or a total mass that is 0 or overflows.
 * @throws {@link DimensionError} when `weights` and `values` differ in length.
 *
 * @example
 * ```ts
 * wasserstein1({ values: [0, 1] }, { values: [0, 2] }); // 0.5: half the mass moves by 1
 * wasserstein1({ values: [0] }, { values: [1, 3], weights: [3, 1] }); // 1.5
 * ```
 */
export function wasserstein1(a: DiscreteMeasure, b: DiscreteMeasure): number {
  const first = sortedAtoms(a, 'first');
  const second = sortedAtoms(b, 'second');
  // Sweep the merged support left to right; between consecutive support points both CDFs are
  // constant, so the integral is a sum of |F − G| · (gap length).
  let i = 0;
  let j = 0;
  let cdfA = 0;
  let cdfB = 0;
  let distance = 0;
  let previous = Math.min(first.values[0], second.values[0]);
  while (i < first.values.length || j < second.values.length) {
    const nextA = i < first.values.length ? first.values[i] : Number.POSITIVE_INFINITY;
    const nextB = j < second.values.length ? second.values[j] : Number.POSITIVE_INFINITY;
    const t = Math.min(nextA, nextB);
    distance += Math.abs(cdfA - cdfB) * (t - previous);
    previous = t;
    while (i < first.values.length && first.values[i] === t) cdfA += first.weights[i++];
    while (j < second.values.length && second.values[j] === t) cdfB += second.weights[j++];
  }
  return distance;
}

/** Atoms sorted by value with masses normalised to sum 1, after validating the measure. */
function sortedAtoms(
  measure: DiscreteMeasure,
  which: string,
): { values: Float64Array; weights: Float64Array } {
  const { values, weights } = checkOptions(WHERE, measure, true, `the ${which} measure`);
  for (const [name, array] of [
    ['values', values],
    ['weights', weights],
  ] as const) {
    if (array === undefined && name === 'weights') continue;
    if (!(Array.isArray(array) || (ArrayBuffer.isView(array) && !(array instanceof DataView)))) {
      throw new OptionError(
        `${WHERE}: expected the ${which} measure's ${name} to be an array or typed array, got ${show(array)}`,
      );
    }
  }
  const n = values.length;
  if (n === 0) {
    throw new OptionError(
      `${WHERE}: expected the ${which} measure to have at least one atom, got 0`,
    );
  }
  if (weights !== undefined && weights.length !== n) {
    throw new DimensionError(
      `${WHERE}: expected ${n} weights for the ${which} measure's ${n} values, got ${weights.length}`,
    );
  }
  let total = 0;
  for (let k = 0; k < n; k++) {
    if (!Number.isFinite(values[k])) {
      throw new OptionError(
        `${WHERE}: expected finite values in the ${which} measure, got ${values[k]} at index ${k}`,
      );
    }
    const w = weights === undefined ? 1 : weights[k];
    if (!(Number.isFinite(w) && w >= 0)) {
      throw new OptionError(
        `${WHERE}: expected finite weights >= 0 in the ${which} measure, got ${w} at index ${k}`,
      );
    }
    total += w;
  }
  if (!(total > 0 && Number.isFinite(total))) {
    throw new OptionError(
      `${WHERE}: expected the ${which} measure's total weight to be finite and > 0, got ${total}`,
    );
  }
  const order = Array.from({ length: n }, (_, k) => k).sort((p, q) => values[p] - values[q]);
  return {
    values: Float64Array.from(order, (k) => values[k]),
    weights: Float64Array.from(order, (k) => (weights === undefined ? 1 : weights[k]) / total),
  };
}
