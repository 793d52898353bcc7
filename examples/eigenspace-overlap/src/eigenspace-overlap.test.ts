import { arithmeticTolerance } from '@hessian-probe/core/testing';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { renderFigure } from '@hessian-probe/example-kit';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type EigenspaceOverlapResult,
  formatTables,
  overlapFigures,
  overlapVerdicts,
  runEigenspaceOverlap,
} from './eigenspace-overlap.js';

describe('runEigenspaceOverlap (tiny sizes, wasm)', () => {
  let result: EigenspaceOverlapResult;
  let leaked: number;

  beforeAll(async () => {
    if (!(await tf.setBackend('wasm'))) throw new Error('could not switch tfjs to wasm');
    const before = tf.memory().numTensors;
    result = await runEigenspaceOverlap({
      tf,
      pairs: 2,
      hidden: 12,
      pool: 7,
      trainPerClass: 20,
      testPerClass: 5,
      probePerClass: 3,
      epochs: 1,
      ks: [1, 3],
      seed: 2,
    });
    leaked = tf.memory().numTensors - before;
  }, 60_000);

  it('disposes every tensor it makes', () => {
    expect(leaked).toBe(0);
  });

  it('compares every pair of the 4 models at 3 layers, 2 phases and 2 ks, plus the control', () => {
    expect(result.models).toHaveLength(4 * 2);
    expect(result.rows).toHaveLength(2 * 3 * 2 * (6 + 1));
    expect(result.models[0].layers.map((l) => l.P)).toEqual([16 * 12, 12 * 12, 12 * 10]);
    const independent = result.rows.filter((r) => r.independent);
    expect(independent.map((r) => `${r.a}-${r.b}`)).toEqual(
      Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? '0-1' : '2-3')),
    );
  });

  it('a layer compared with itself from another Lanczos start overlaps fully', () => {
    // Converged pairs (residual <= 1.9e-6·‖H_ll‖) span the top-k eigenspace up to an angle of
    // about residual/gap; with relative eigengaps above 1e-3 the overlap is 1 − O(1e-6).
    for (const m of result.models) for (const l of m.layers) expect(l.converged).toBe(true);
    for (const r of result.rows.filter((r) => r.kind === 'control')) {
      expect(r.overlap).toBeGreaterThan(0.999);
      expect(r.inputCosine2).toBeCloseTo(1, 12);
    }
  });

  it("the first layer's mean input is the mean digit, the same for every model", () => {
    // One probe set, so E[x] of fc1 is one vector (cos² = 1 to float32 rounding of the mean);
    // the hidden layers' mean inputs are the models' own ReLU outputs and differ.
    const fc1 = result.rows.filter((r) => r.layer === 'fc1');
    for (const r of fc1)
      expect(Math.abs(r.inputCosine2 - 1)).toBeLessThan(arithmeticTolerance.float32);
    const fc2 = result.rows.filter((r) => r.layer === 'fc2' && r.kind === 'pair');
    expect(Math.min(...fc2.map((r) => r.inputCosine2))).toBeLessThan(0.999);
  });

  it('overlaps are in [0, 1] and the verdicts use the independent pairs only', () => {
    for (const r of result.rows) {
      expect(r.overlap).toBeGreaterThanOrEqual(0);
      expect(r.overlap).toBeLessThanOrEqual(1 + arithmeticTolerance.float64);
      expect(r.chance).toBeCloseTo(r.k / r.P, 15);
    }
    const verdicts = overlapVerdicts(result.rows);
    expect(verdicts).toHaveLength(2 * 3 * 2);
    for (const v of verdicts) {
      const pairs = result.rows.filter(
        (r) => r.phase === v.phase && r.layer === v.layer && r.k === v.k && r.independent,
      );
      expect(v.interval.n).toBe(2);
      expect(v.interval.mean).toBeCloseTo((pairs[0].overlap + pairs[1].overlap) / 2, 14);
    }
    expect(formatTables(result)).toContain('2 independent pairs');
  });

  it('draws its figure as an SVG with every series', async () => {
    const figures = overlapFigures(result);
    expect(figures).toHaveLength(1);
    const svg = await renderFigure(figures[0].spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('chance fc1');
  });
});
