import { describe, expect, it } from 'vitest';
import {
  formatMeanSd,
  meanSd,
  pairedChange,
  pearson,
  ranks,
  sideOf,
  signTest,
  spearman,
  studentTCdf,
  studentTQuantile,
  thresholdVerdict,
  tInterval,
} from './stats.js';

describe('meanSd and formatMeanSd', () => {
  it('uses n − 1 in the standard deviation', () => {
    expect(meanSd([1, 2, 3])).toEqual({ n: 3, mean: 2, sd: 1 });
    expect(meanSd([2, 4, 4, 4, 5, 5, 7, 9]).sd).toBeCloseTo(Math.sqrt(32 / 7), 14);
    expect(meanSd([5]).sd).toBeNaN();
    expect(meanSd([]).mean).toBeNaN();
  });

  it('formats mean ± sd, the mean alone for one value, — for none', () => {
    expect(formatMeanSd([0.1, 0.2, 0.3])).toBe('0.200 ± 0.10');
    expect(formatMeanSd([0.25])).toBe('0.250');
    expect(formatMeanSd([0, 0, 0])).toBe('0');
    expect(formatMeanSd([])).toBe('—');
  });
});

describe('Student t', () => {
  it('has the closed-form CDFs of 1 and 2 degrees of freedom', () => {
    // df = 1 is Cauchy: F(t) = 1/2 + atan(t)/π; df = 2: F(t) = 1/2 + t/(2√(t² + 2)).
    for (const t of [-3, -0.5, 0, 0.7, 2, 10]) {
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 13);
      expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(t * t + 2)), 13);
    }
  });

  it('quantiles match the printed tables (Abramowitz & Stegun table 26.10) to 1e-8', () => {
    const table: [number, number, number][] = [
      [0.975, 1, 12.7062047362],
      [0.975, 2, 4.30265272975],
      [0.975, 4, 2.7764451052],
      [0.975, 10, 2.22813885196],
      [0.975, 30, 2.0422724563],
      [0.95, 5, 2.01504837333],
      [0.995, 3, 5.84090931097],
    ];
    for (const [p, df, expected] of table) {
      expect(Math.abs(studentTQuantile(p, df) - expected)).toBeLessThan(1e-8);
      expect(studentTQuantile(1 - p, df)).toBeCloseTo(-expected, 8);
    }
    expect(studentTQuantile(0.5, 7)).toBe(0);
  });

  it('rejects a probability outside (0, 1) and df <= 0', () => {
    expect(() => studentTQuantile(1, 3)).toThrow('expected 0 < p < 1, got 1');
    expect(() => studentTCdf(1, 0)).toThrow('expected df > 0, got 0');
  });

  it('tInterval is mean ± t·sd/√n', () => {
    const interval = tInterval([1, 2, 3]);
    const half = 4.30265272975 / Math.sqrt(3);
    expect(interval.low).toBeCloseTo(2 - half, 8);
    expect(interval.high).toBeCloseTo(2 + half, 8);
    expect(tInterval([4]).low).toBeNaN();
    expect(sideOf(tInterval([0.5, 0.6, 0.55]), 1)).toBe('below');
    expect(sideOf(tInterval([1, 2, 3]), 0)).toBe('straddles');
    expect(sideOf(tInterval([4]), 0)).toBe('straddles');
  });
});

describe('signTest', () => {
  it('gives the exact binomial two-sided p-values', () => {
    expect(signTest([1, 2, 3]).p).toBe(0.25);
    expect(signTest([1, 2, 3, 4, 5]).p).toBe(0.0625);
    expect(signTest([-1, -2, -3, -4, -5, -6]).p).toBe(0.03125);
    // n = 10, 8 positive: 2·(1 + 10 + 45)/1024.
    expect(signTest([1, 1, 1, 1, 1, 1, 1, 1, -1, -1]).p).toBe(0.109375);
    // 1 positive, 1 negative: the tail is the whole distribution's half and more: p capped at 1.
    expect(signTest([1, -1]).p).toBe(1);
  });

  it('leaves ties out', () => {
    expect(signTest([0, 0, 1, 2, 3])).toEqual({ positive: 3, negative: 0, ties: 2, p: 0.25 });
    expect(signTest([0, 0]).p).toBe(1);
  });
});

describe('pairedChange', () => {
  it('says fell or rose only when the t-interval of the log ratio excludes 0', () => {
    const fell = pairedChange([1, 1.1, 0.9], [0.5, 0.52, 0.47]);
    expect(fell.direction).toBe('fell');
    expect(fell.logRatio).toBe(true);
    expect(fell.text).toMatch(/^fell: 95 % t-interval of ln\(after\/before\) over 3 seeds/);
    expect(fell.text).toContain('sign test 0+/3−, p = 0.25');
    expect(pairedChange([1, 1, 1], [2, 2.1, 1.9]).direction).toBe('rose');
    expect(pairedChange([1, 1, 1], [0.5, 2, 1.1]).direction).toBe('not clear');
  });

  it('one seed is never evidence; equal pairs are no change; zeros use the difference', () => {
    expect(pairedChange([1], [0.1]).direction).toBe('not clear');
    expect(pairedChange([0, 0, 0], [0, 0, 0]).direction).toBe('no change');
    const shifted = pairedChange([0, 0, 0], [1, 1.1, 0.9]);
    expect(shifted.logRatio).toBe(false);
    expect(shifted.direction).toBe('rose');
    expect(() => pairedChange([1, 2], [1])).toThrow('got 1 and 2');
  });
});

describe('thresholdVerdict', () => {
  it('agrees only when the whole t-interval is on the wanted side', () => {
    expect(thresholdVerdict([0.02, 0.03, 0.025], 0.1, 'below')).toBe(
      'agrees (t-interval 0.0126 … 0.0374 below 0.1)',
    );
    expect(thresholdVerdict([0.02, 0.03, 0.025], 0.1, 'above')).toMatch(/^does not agree/);
    expect(thresholdVerdict([0.05, 0.15, 0.1], 0.1, 'below')).toMatch(/^not clear/);
    expect(thresholdVerdict([0.01], 0.1, 'below')).toBe('not judged: one seed');
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
});

describe('spearman', () => {
  it('is 1 for a monotone pair, −1 for a reversed one, and handles ties', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 45])).toBe(1);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
    // Ranks of [1, 1, 2] are [1.5, 1.5, 3]; against [0, 1, 2]: ρ = 1.5/√(1.5·2).
    expect(spearman([1, 1, 2], [0, 1, 2])).toBeCloseTo(1.5 / Math.sqrt(1.5 * 2), 14);
  });
});
