import { describe, expect, it } from 'vitest';
import {
  compareInterval,
  correlationInterval,
  meanInterval,
  normalCdf,
  normalQuantile,
  pearson,
  ranks,
  signTest,
  spearman,
  studentTCdf,
  studentTQuantile,
} from './stats.js';

// Reference values: printed tables (Student t, normal) to the digits given; exact fractions
// otherwise. The functions are float64 series good to ~1e-13, so the table's own rounding
// (half a unit in its last digit) is the tolerance.
describe('distribution functions', () => {
  it('Student t quantiles match the printed table', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.706, 3);
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(4.303, 3);
    expect(studentTQuantile(0.975, 5)).toBeCloseTo(2.571, 3);
    expect(studentTQuantile(0.95, 10)).toBeCloseTo(1.812, 3);
    expect(studentTQuantile(0.025, 2)).toBeCloseTo(-4.303, 3);
  });

  it('the t distribution with 1 degree of freedom is Cauchy: 1/2 + atan(t)/π', () => {
    for (const t of [-3, -0.5, 0, 0.7, 10]) {
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 12);
    }
  });

  it('normal quantiles and distribution function match the table', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normalCdf(1)).toBeCloseTo(0.8413447, 7);
    expect(normalCdf(-2)).toBeCloseTo(0.0227501, 7);
    expect(() => normalQuantile(1)).toThrow('expected p in (0, 1), got 1');
  });
});

describe('meanInterval', () => {
  it('is mean ± t·sd/√n', () => {
    const i = meanInterval([1, 2, 3]);
    expect(i.mean).toBe(2);
    expect(i.sd).toBe(1);
    expect(i.high - i.mean).toBeCloseTo((4.302653 * 1) / Math.sqrt(3), 5);
    expect(compareInterval(i, -0.6)).toBe('above'); // interval 2 ± 2.484
    expect(compareInterval(i, 2.5)).toBe('includes');
    expect(compareInterval(i, 4.6)).toBe('below');
  });

  it('refuses one value and non-finite ones, saying which', () => {
    expect(() => meanInterval([1])).toThrow('standardDeviation: expected at least 2 values, got 1');
    expect(() => meanInterval([1, Number.NaN])).toThrow('got NaN at index 1');
  });
});

describe('signTest', () => {
  it('gives the exact binomial p-values', () => {
    expect(signTest([1, 2, 3]).pValue).toBe(0.25);
    expect(signTest([1, 2, 3, 4, 5, 6]).pValue).toBeCloseTo(2 / 64, 14);
    // 5 positive, 1 negative: 2·(1 + 6)/64.
    expect(signTest([1, 2, 3, 4, 5, -6]).pValue).toBeCloseTo(14 / 64, 14);
    expect(signTest([1, -1, 0])).toEqual({ positive: 1, negative: 1, pValue: 1 });
  });
});

describe('correlations', () => {
  it('ranks ties at their mean rank', () => {
    expect(ranks([10, 30, 20, 30])).toEqual([1, 3.5, 2, 3.5]);
  });

  it('Spearman is 1 for any increasing map and −1 for a decreasing one', () => {
    const x = [0.1, 0.5, 0.2, 3, 1];
    expect(spearman(x, x.map(Math.exp))).toBeCloseTo(1, 14);
    expect(
      spearman(
        x,
        x.map((v) => -(v ** 3)),
      ),
    ).toBeCloseTo(-1, 14);
    expect(pearson([1, 2, 3], [2, 4, 7])).toBeCloseTo(0.9933992677987828, 14);
  });

  it('Fisher-z intervals contain r, shrink with n and are wider for Spearman', () => {
    const small = correlationInterval(0.5, 20, 'pearson');
    const large = correlationInterval(0.5, 200, 'pearson');
    const rank = correlationInterval(0.5, 20, 'spearman');
    // atanh(0.5) ± 1.959964/√17, back through tanh.
    expect(small.low).toBeCloseTo(Math.tanh(Math.atanh(0.5) - 1.959964 / Math.sqrt(17)), 6);
    expect(small.high).toBeCloseTo(Math.tanh(Math.atanh(0.5) + 1.959964 / Math.sqrt(17)), 6);
    expect(large.high - large.low).toBeLessThan(small.high - small.low);
    expect(rank.high - rank.low).toBeGreaterThan(small.high - small.low);
    expect(() => correlationInterval(0.5, 3, 'pearson')).toThrow('expected n >= 4 pairs, got 3');
  });
});
