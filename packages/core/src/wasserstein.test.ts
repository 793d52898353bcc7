import { describe, expect, it } from 'vitest';
import { DimensionError, OptionError } from './errors.js';
import { createRandom } from './random.js';
import { wasserstein1 } from './wasserstein.js';

describe('wasserstein1', () => {
  it('matches hand-computed distances', () => {
    expect(wasserstein1({ values: [0, 1] }, { values: [0, 2] })).toBe(0.5);
    // All mass at 0 against 3/4 at 1 and 1/4 at 3: 3/4·1 + 1/4·3.
    expect(wasserstein1({ values: [0] }, { values: [1, 3], weights: [3, 1] })).toBe(1.5);
    expect(wasserstein1({ values: [2, -1, 2] }, { values: [-1, 2, 2] })).toBe(0);
    // Zero weights contribute nothing; repeated atoms merge.
    expect(wasserstein1({ values: [0, 5], weights: [1, 0] }, { values: [1, 1] })).toBe(1);
  });

  it('is symmetric, translation-covariant and blind to the scale of the weights', () => {
    const a = { values: [0.3, -2, 4], weights: [1, 2, 3] };
    const b = { values: [1, 1.5], weights: [0.25, 0.75] };
    const d = wasserstein1(a, b);
    expect(wasserstein1(b, a)).toBe(d);
    expect(wasserstein1(a, { values: b.values, weights: [10, 30] })).toBeCloseTo(d, 14);
    const shifted = { values: a.values.map((x) => x + 7), weights: a.weights };
    expect(wasserstein1(a, shifted)).toBeCloseTo(7, 13);
  });

  it('equals the sorted pairing (1/n) Σ |x_(i) − y_(i)| for two uniform measures of n atoms', () => {
    // For equal-size empirical measures the optimal coupling pairs order statistics (the
    // quantile coupling), an independent formula for the same distance.
    const rng = createRandom(3);
    for (let trial = 0; trial < 20; trial++) {
      const size = 1 + Math.floor(40 * rng.uniform());
      const x = rng.gaussianVector(size);
      const y = rng.gaussianVector(size).map((v) => 2 * v + 0.5);
      const sortedX = Float64Array.from(x).sort();
      const sortedY = Float64Array.from(y).sort();
      let pairing = 0;
      for (let i = 0; i < size; i++) pairing += Math.abs(sortedX[i] - sortedY[i]) / size;
      // Both are sums of O(size) rounded terms of size O(1).
      expect(Math.abs(wasserstein1({ values: x }, { values: y }) - pairing)).toBeLessThan(1e-13);
    }
  });

  it('rejects empty, non-finite or massless measures and mismatched weights', () => {
    const ok = { values: [0] };
    expect(() => wasserstein1({ values: [] }, ok)).toThrow(
      /^wasserstein1: expected the first measure to have at least one atom, got 0$/,
    );
    expect(() => wasserstein1(ok, { values: [0, Number.NaN] })).toThrow(
      /^wasserstein1: expected finite values in the second measure, got NaN at index 1$/,
    );
    expect(() => wasserstein1(ok, { values: [0, 1], weights: [1, -1] })).toThrow(
      /^wasserstein1: expected finite weights >= 0 in the second measure, got -1 at index 1$/,
    );
    expect(() => wasserstein1(ok, { values: [0], weights: [0] })).toThrow(OptionError);
    expect(() => wasserstein1(ok, { values: [0, 1], weights: [1] })).toThrow(DimensionError);
  });
});
