import { arithmeticTolerance } from '@hessian-probe/core/testing';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitPowerLaw } from './power-law.js';
import { fitExponents, formatRows, runStaticForce } from './static-force.js';

// Ratios of norms of float32 HVP columns against float64 closed forms.
const TOLERANCE = arithmeticTolerance.float32;
const TINY = { tf, samples: 16, input: 3, hidden: 3, classes: [2, 3, 5] } as const;

beforeAll(async () => {
  if (!(await tf.setBackend('cpu'))) throw new Error('could not switch tfjs to cpu');
});

describe('runStaticForce (smoke, tiny sizes)', () => {
  it('linear CE at W = 0: class ratios equal 1/(C − 1); MSE class blocks vanish', async () => {
    const rows = await runStaticForce(TINY);
    expect(rows).toHaveLength(3 * 3 * 2);
    for (const row of rows.filter(
      (r) => r.model === 'linear' && r.init === 'zero' && r.loss === 'ce',
    )) {
      const expected = 1 / (row.C - 1);
      expect(row.norms).toBe('exact');
      expect(row.closedForm).toBe(expected);
      expect(Math.abs(row.classMeanRatio - expected)).toBeLessThan(TOLERANCE * expected);
      expect(Math.abs(row.classMassRatio - expected)).toBeLessThan(TOLERANCE * expected);
    }
    for (const row of rows.filter((r) => r.loss === 'mse')) {
      expect(row.classMassRatio).toBeLessThan(TOLERANCE);
    }
    const hidden = rows.filter((r) => r.model === 'one-hidden');
    expect(hidden.every((r) => (r.neuronMeanRatio ?? 0) > 0 && (r.crossMassRatio ?? 0) > 0)).toBe(
      true,
    );
    expect(formatRows(rows).split('\n')).toHaveLength(rows.length + 2);
  });

  it('estimated norms agree with exact ones within their standard errors', async () => {
    const config = { ...TINY, classes: [4] };
    const exact = await runStaticForce(config);
    const estimated = await runStaticForce({ ...config, exactMaxDim: 1, probes: 64, seed: 1 });
    for (const [i, row] of estimated.entries()) {
      expect(row.norms).toBe('estimated');
      const reference = exact[i];
      if (row.model === 'one-hidden') {
        const { neuronMassRatio = Number.NaN, neuronMassStderr = Number.NaN } = row;
        expect(neuronMassStderr).toBeGreaterThan(0);
        const exactRatio = reference.neuronMassRatio ?? 0;
        expect(Math.abs(neuronMassRatio - exactRatio)).toBeLessThan(
          4 * neuronMassStderr + TOLERANCE * exactRatio,
        );
      }
      if (row.loss === 'ce') {
        // Where the probes barely vary (linear, W = 0) the standard error is ~1e-9 and the
        // float32 rounding of the HVP columns dominates: allow both.
        expect(Math.abs(row.classMassRatio - reference.classMassRatio)).toBeLessThan(
          4 * row.classMassStderr + TOLERANCE * reference.classMassRatio,
        );
      }
    }
  });
});

describe('runStaticForce options', () => {
  it('rejects bad sizes before any work', async () => {
    await expect(runStaticForce({ ...TINY, classes: [1] })).rejects.toThrow(/C >= 2, got \[1\]/);
    await expect(runStaticForce({ ...TINY, samples: 0 })).rejects.toThrow(
      /samples to be an integer >= 1/,
    );
  });
});

describe('fitPowerLaw and fitExponents', () => {
  it('recovers an exact power law with zero residual error', () => {
    const xs = [2, 4, 8, 16];
    const fit = fitPowerLaw(
      xs,
      xs.map((x) => 3 * x ** -0.5),
    );
    expect(fit.b).toBeCloseTo(-0.5, 12);
    expect(fit.a).toBeCloseTo(3, 12);
    expect(fit.bStderr).toBeLessThan(1e-12);
    expect(fit.points).toBe(4);
  });

  it('skips zero ratios and reports NaN with fewer than two points', () => {
    expect(fitPowerLaw([2, 4], [0, 0]).b).toBeNaN();
    expect(fitPowerLaw([2, 4, 8], [0, 1, 0.5])).toMatchObject({ b: -1, points: 2 });
    expect(fitPowerLaw([2, 4, 8], [0, 1, 0.5]).bStderr).toBeNaN();
  });

  it('fits no exponent to the exactly-zero MSE class ratios', async () => {
    const rows = await runStaticForce({ ...TINY, classes: [2, 4] });
    const exponents = fitExponents(rows);
    expect(exponents.some((e) => e.loss === 'mse' && e.statistic.startsWith('class'))).toBe(false);
    expect(
      exponents.some((e) => e.model === 'one-hidden' && e.statistic === 'neuronMeanRatio'),
    ).toBe(true);
  });
});
