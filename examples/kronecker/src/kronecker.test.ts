import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compareWithPaper,
  eigengapIndex,
  formatRows,
  type KroneckerRow,
  runKronecker,
} from './kronecker.js';

const TINY = {
  tf,
  hidden: 3,
  samples: 32,
  trainPerClass: 20,
  epochs: 1,
  shifts: [0, 4],
} as const;

beforeAll(async () => {
  // wasm: the experiment's default backend, and ~5x faster than cpu for these HVPs
  if (!(await tf.setBackend('wasm'))) throw new Error('could not switch tfjs to wasm');
});

describe('runKronecker (quick run, tiny sizes)', () => {
  it('measures every Dense layer; last-layer E[M] has exactly C − 1 outliers; BN removes the shift', async () => {
    const rows = await runKronecker(TINY);
    // 2 variants × 2 shifts × 2 stages × 3 Dense layers
    expect(rows).toHaveLength(24);
    expect(new Set(rows.map((r) => r.layer))).toEqual(new Set(['fc1', 'fc2', 'out']));
    for (const r of rows) {
      expect(r.method).toBe('dense');
      expect(r.exact).toBe(true);
      expect(r.overlap).toBeGreaterThanOrEqual(0);
      expect(r.overlap).toBeLessThanOrEqual(1 + 1e-9);
    }
    // E[A] = E[diag(p) − ppᵀ] has rank C − 1 = 9: nine eigenvalues above 1e-3·max, the gap at 9
    // (with centred inputs; at μ = 4 p saturates and the small eigenvalues fall below 1e-3·max).
    for (const r of rows.filter((x) => x.layer === 'out' && x.shift === 0)) {
      expect(r.outliers).toBe(9);
      expect(r.gapIndex).toBe(9);
    }
    const at = (variant: string, shift: number) =>
      rows.find(
        (r) =>
          r.variant === variant && r.shift === shift && r.stage === 'init' && r.layer === 'fc1',
      );
    // Without BN the shift μ·1 adds a dominant rank-one term to E[x̃x̃ᵀ] of the first layer.
    expect(at('mlp', 4)?.inputDominance).toBeGreaterThan(10 * (at('mlp', 0)?.inputDominance ?? 0));
    // BN before fc1, calibrated on the probe set, removes the shift exactly (up to float32).
    const bn0 = at('mlp+bn', 0)?.inputDominance ?? Number.NaN;
    const bn4 = at('mlp+bn', 4)?.inputDominance ?? Number.NaN;
    expect(Math.abs(bn4 - bn0)).toBeLessThan(1e-3 * bn0);
    // Trained on centred digits and shown x + μ·1 with fc1's bias compensated: the same function,
    // so fc2 and out (inputs and M) are the same at μ = 0 and 4; only fc1's input changes.
    const trained = (shift: number, layer: string) =>
      rows.find(
        (r) =>
          r.variant === 'mlp' && r.shift === shift && r.stage === 'trained' && r.layer === layer,
      );
    for (const layer of ['fc2', 'out']) {
      const a = trained(0, layer);
      const b = trained(4, layer);
      expect(Math.abs((b?.relativeError ?? 0) - (a?.relativeError ?? 1))).toBeLessThan(1e-3);
      expect(b?.inputDominance).toBeCloseTo(a?.inputDominance ?? Number.NaN, 2);
    }
    expect(trained(4, 'fc1')?.testAccuracy).toBe(trained(0, 'fc1')?.testAccuracy);
    expect(trained(4, 'fc1')?.inputDominance).toBeGreaterThan(
      10 * (trained(0, 'fc1')?.inputDominance ?? 0),
    );
    expect(formatRows(rows).split('\n')).toHaveLength(rows.length + 2);
    const comparison = compareWithPaper(rows);
    expect(comparison).toContain('about C − 1 = 9 outliers');
    expect(comparison).toContain('batch normalization weakens it');
  });

  it('rejects bad options before any work', async () => {
    await expect(runKronecker({ ...TINY, shifts: [-1] })).rejects.toThrow(/shifts μ >= 0/);
    await expect(runKronecker({ ...TINY, hidden: 0 })).rejects.toThrow(/hidden to be an integer/);
    await expect(runKronecker({ ...TINY, samples: 1000 })).rejects.toThrow(/samples <= 200/);
  });
});

describe('eigengapIndex', () => {
  it('finds the largest ratio of consecutive positive eigenvalues', () => {
    expect(eigengapIndex(Float64Array.of(5, 4, 3, 1e-3, 1e-4, 0))).toBe(3);
    expect(eigengapIndex(Float64Array.of(1, 1e-8, 0))).toBe(1);
    expect(eigengapIndex(Float64Array.of(1))).toBe(0);
  });
});

describe('compareWithPaper over seeds', () => {
  const row = (seed: number, layer: string, relativeError: number, shift = 0): KroneckerRow => ({
    seed,
    variant: 'mlp',
    shift,
    stage: 'init',
    testAccuracy: 0.1,
    layer,
    dim: 10,
    method: 'dense',
    relativeError,
    relativeErrorStandardError: 0,
    overlap: 1,
    topRatio: 1,
    rank1Energy: 0.95,
    rank1EnergyMean: 0.9 + 0.01 * shift + 0.001 * seed,
    inputDominance: null,
    outliers: 9,
    gapIndex: 9,
    exact: true,
    matvecs: 10,
    seconds: 0,
  });

  it('judges thresholds by the t-interval over seeds and counts seeds for the eigengap', () => {
    const rows = [1, 2, 3].flatMap((seed) => [
      row(seed, 'fc1', 0.4 + 0.01 * seed),
      row(seed, 'out', 0.02 + 0.001 * seed),
      row(seed, 'fc1', 0.01, 4),
      row(seed, 'out', 0.02, 4),
    ]);
    const table = compareWithPaper(rows);
    expect(table).toContain('here (mean ± sd over 3 seeds)');
    expect(table).toContain('last layer error: agrees (t-interval');
    expect(table).toContain('hidden − last: fc1 agrees');
    expect(table).toContain('agrees: eigengap at C − 1 in every layer in 3 of 3 seeds');
    expect(table).toContain('agrees: rose: 95 % t-interval of ln(after/before) over 3 seeds');
    expect(formatRows(rows).split('\n')).toHaveLength(4 + 2);
    // One seed is never a verdict.
    expect(compareWithPaper(rows.filter((r) => r.seed === 1))).toContain(
      'last layer error: not judged: one seed',
    );
  });
});
