import { describe, expect, it } from 'vitest';
import { correlationInterval, normalCdf, normalQuantile } from './stats.js';

describe('normal distribution', () => {
  // Reference values from the printed normal table, to the digits given.
  it('quantiles and distribution function match the table', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 10);
    expect(normalCdf(1)).toBeCloseTo(0.8413447, 7);
    expect(normalCdf(-2)).toBeCloseTo(0.0227501, 7);
    expect(() => normalQuantile(1)).toThrow('expected p in (0, 1), got 1');
  });
});

describe('Fisher-z intervals', () => {
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
