import { createRandom } from '@hessian-probe/core';
import { arithmeticTolerance } from '@hessian-probe/core/testing';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitPowerLaw } from './power-law.js';
import { blockSpectra, limitDensity } from './spectra.js';
import {
  exponentSummary,
  fitExponents,
  formatRows,
  initialKernel,
  overSeeds,
  runStaticForce,
} from './static-force.js';

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
    const estimated = await runStaticForce({ ...config, exactMaxDim: 1, probes: 64, seeds: [1] });
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

describe('seeds, inits and the closed-form method', () => {
  it('one row per seed; the closed form gives the HVP ratios of the same draws', async () => {
    const config = {
      ...TINY,
      classes: [3, 6],
      seeds: [1, 2],
      init: 'pytorch',
      configurations: [{ model: 'one-hidden', init: 'pytorch' }],
    } as const;
    const hvp = await runStaticForce(config);
    const closed = await runStaticForce({ ...config, method: 'closed-form' });
    expect(hvp).toHaveLength(2 * 2 * 2);
    expect(closed.map((r) => [r.seed, r.C, r.loss, r.norms])).toEqual(
      hvp.map((r) => [r.seed, r.C, r.loss, 'closed form']),
    );
    for (const [i, row] of closed.entries()) {
      for (const key of ['classMassRatio', 'neuronMeanRatio', 'crossMassRatio'] as const) {
        const reference = hvp[i][key] ?? Number.NaN;
        expect(Math.abs((row[key] ?? Number.NaN) - reference)).toBeLessThanOrEqual(
          16 * TOLERANCE * reference,
        );
      }
      expect(row.crossFloor).toBe((4 * 3 * 3) / 16);
    }
    // Two seeds are two different draws.
    const where = { model: 'one-hidden', init: 'pytorch', loss: 'ce', C: 6 } as const;
    const [a, b] = overSeeds(closed, where, 'neuronMeanRatio');
    expect(a).not.toBe(b);
    const summaries = exponentSummary(fitExponents(closed));
    const neuron = summaries.find((e) => e.loss === 'ce' && e.statistic === 'neuronMeanRatio');
    expect(neuron?.exponents).toHaveLength(2);
    expect(formatRows(closed).split('\n')).toHaveLength(2 * 2 + 2);
  });

  it('rejects the closed-form method for the linear model, and empty seeds', async () => {
    await expect(runStaticForce({ ...TINY, method: 'closed-form' })).rejects.toThrow(
      /only one-hidden networks with the closed-form method, got \[linear,linear,one-hidden\]/,
    );
    await expect(runStaticForce({ ...TINY, seeds: [] })).rejects.toThrow(/seeds to be integers/);
  });

  it("pytorch's init is U(−1/√fan_in, 1/√fan_in): bounded, variance 1/(3 fan_in)", () => {
    const kernel = initialKernel('pytorch', 100, 200, createRandom(3));
    const bound = 1 / Math.sqrt(100);
    expect(kernel.every((v) => Math.abs(v) <= bound)).toBe(true);
    const variance = kernel.reduce((s, v) => s + v * v, 0) / kernel.length;
    // 20 000 draws: the variance estimate's relative sd is √(4/5)/√20000 ≈ 0.0063; allow 4 sd.
    expect(Math.abs(variance / (1 / 300) - 1)).toBeLessThan(4 * 0.0063);
    expect(initialKernel('zero', 3, 2, createRandom(3)).every((v) => v === 0)).toBe(true);
  });
});

describe('block spectra against the generalized Marchenko–Pastur law', () => {
  it('with constant weights τ = 1 the solver finds the Marchenko–Pastur Stieltjes transform', () => {
    const gamma = 0.25;
    const edges = [(1 - Math.sqrt(gamma)) ** 2, (1 + Math.sqrt(gamma)) ** 2];
    const { grid, density, limitMass } = limitDensity(
      new Float64Array(100).fill(1),
      gamma,
      Float64Array.of(edges[0], edges[1]),
    );
    // m(z) solves γz m² + (z + γ − 1) m + 1 = 0: the root with Im m > 0, at z = λ + iη,
    // η = 1e-3 × the span, as the solver evaluates it.
    const eta = 1e-3 * (edges[1] - edges[0]);
    for (const [k, lambda] of grid.entries()) {
      const exact = stieltjesMarchenkoPastur(lambda, eta, gamma) / Math.PI;
      expect(Math.abs(density[k] - exact)).toBeLessThan(1e-6 * Math.max(1, exact));
    }
    // The mass inside [edges] on a 400-point grid: the sqrt edges cost about 1 %.
    expect(Math.abs(limitMass - 1)).toBeLessThan(0.02);
  });

  it('the eigenvalues of small blocks approach the limit as d grows (one seed, tiny C)', () => {
    const spectra = blockSpectra({ inputs: [20, 80], classes: 5, hidden: 3, seed: 2 });
    expect(spectra.map((s) => [s.block, s.d, s.N])).toEqual([
      ['diagonal', 20, 200],
      ['off-diagonal', 20, 200],
      ['diagonal', 80, 800],
      ['off-diagonal', 80, 800],
    ]);
    for (const s of spectra) {
      expect(Math.abs(s.limitMass - 1)).toBeLessThan(0.02);
      expect(Math.abs(s.secondMoment / s.secondMomentLimit - 1)).toBeLessThan(0.5);
    }
    const diagonal = spectra.filter((s) => s.block === 'diagonal');
    expect(diagonal.every((s) => s.eigenvalues[0] >= 0)).toBe(true);
    expect(diagonal[1].kolmogorov).toBeLessThan(diagonal[0].kolmogorov);
  });
});

/** Im of the Marchenko–Pastur Stieltjes transform at λ + iη (the root with positive imaginary part). */
function stieltjesMarchenkoPastur(lambda: number, eta: number, gamma: number): number {
  // Roots of a m² + b m + 1 = 0 with a = γz, b = z + γ − 1 (complex z = λ + iη).
  const [ar, ai] = [gamma * lambda, gamma * eta];
  const [br, bi] = [lambda + gamma - 1, eta];
  // Δ = b² − 4a
  const dr = br * br - bi * bi - 4 * ar;
  const di = 2 * br * bi - 4 * ai;
  const modulus = Math.hypot(dr, di);
  const sr = Math.sqrt((modulus + dr) / 2);
  const si = Math.sign(di || 1) * Math.sqrt((modulus - dr) / 2);
  let best = Number.NEGATIVE_INFINITY;
  for (const sign of [1, -1]) {
    // m = (−b ± √Δ) / (2a)
    const nr = -br + sign * sr;
    const ni = -bi + sign * si;
    const denominator = 4 * (ar * ar + ai * ai);
    const imaginary = (2 * (ni * ar - nr * ai)) / denominator;
    best = Math.max(best, imaginary);
  }
  return best;
}
