import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type DynamicForceRow,
  defaultSeries,
  formatChanges,
  formatComparison,
  formatRows,
  judgeChanges,
  runDynamicForce,
  summarize,
} from './dynamic-force.js';

// pool 14: 2×2 = 4 inputs, so every Hessian is small enough to assemble densely.
const TINY = { tf, samples: 40, pool: 14, hidden: 4, epochs: 2, batchSize: 10 } as const;
const RATIOS = ['classMeanRatio', 'classMassRatio'] as const;
const HIDDEN_RATIOS = [
  'neuronMeanRatio',
  'neuronMassRatio',
  'withinMeanRatio',
  'withinMassRatio',
  'crossMeanRatio',
  'crossMassRatio',
  'allMeanRatio',
  'allMassRatio',
] as const;

beforeAll(async () => {
  if (!(await tf.setBackend('cpu'))) throw new Error('could not switch tfjs to cpu');
});

describe('runDynamicForce (tiny sizes, every data set, model and loss)', () => {
  let rows: DynamicForceRow[];
  beforeAll(async () => {
    const before = tf.memory().numTensors;
    rows = await runDynamicForce({ ...TINY, series: defaultSeries([3]) });
    expect(tf.memory().numTensors).toBe(before);
  }, 300_000);

  it('has one exact row per series and epoch 0..E, with the right P', () => {
    const series = defaultSeries([3]);
    expect(rows).toHaveLength(series.length * (TINY.epochs + 1));
    for (const [k, s] of series.entries()) {
      const own = rows.slice(k * (TINY.epochs + 1), (k + 1) * (TINY.epochs + 1));
      expect(own.map((r) => r.epoch)).toEqual([0, 1, 2]);
      const P = s.model === 'linear' ? 4 * s.C : 4 * TINY.hidden + TINY.hidden * s.C;
      for (const r of own) {
        expect(r).toMatchObject({ ...s, P, norms: 'exact' });
        expect(r.trainAccuracy).toBeGreaterThanOrEqual(0);
        expect(r.trainAccuracy).toBeLessThanOrEqual(1);
        expect(Number.isFinite(r.trainLoss)).toBe(true);
      }
    }
  });

  it('reports finite ratios, hidden-layer ratios only for the one-hidden network', () => {
    for (const r of rows) {
      for (const key of RATIOS) expect(Number.isFinite(r[key]) && r[key] >= 0).toBe(true);
      for (const key of HIDDEN_RATIOS) {
        const value = r[key];
        if (r.model === 'linear') expect(value).toBeUndefined();
        else expect(value !== undefined && Number.isFinite(value) && value > 0).toBe(true);
      }
    }
  });

  it('splits the whole-Hessian mass ratio into within-layer plus cross-layer', () => {
    for (const r of rows.filter((x) => x.model === 'one-hidden')) {
      const { allMassRatio = 0, withinMassRatio = 0, crossMassRatio = 0 } = r;
      expect(Math.abs(allMassRatio - withinMassRatio - crossMassRatio)).toBeLessThan(
        1e-12 * allMassRatio,
      );
    }
  });

  it('keeps the MSE class blocks exactly block-diagonal at every epoch, and CE ones coupled', () => {
    for (const r of rows) {
      if (r.loss === 'mse') {
        expect(r.classMassRatio).toBe(0);
        expect(r.classMeanRatio).toBe(0);
      } else {
        expect(r.classMassRatio).toBeGreaterThan(0);
      }
    }
  });

  it('trains: the learnable teacher and the digits lose loss under every model and loss', () => {
    for (const data of ['teacher', 'digits'] as const) {
      for (const model of ['linear', 'one-hidden'] as const) {
        for (const loss of ['ce', 'mse'] as const) {
          const own = rows.filter((r) => r.data === data && r.model === model && r.loss === loss);
          expect(own[2].trainLoss).toBeLessThan(own[0].trainLoss);
        }
      }
    }
  });

  it('summarizes one change per block kind and tabulates every row', () => {
    const changes = summarize(rows);
    expect(changes).toHaveLength(6 * 1 + 6 * 5);
    for (const c of changes.filter((x) => x.blocks === 'class' && x.loss === 'mse')) {
      expect(c).toMatchObject({ massInit: 0, massEnd: 0, direction: 'unchanged', epochs: 2 });
    }
    expect(formatRows(rows).split('\n')).toHaveLength(rows.length + 2);
    const verdicts = judgeChanges(changes);
    expect(verdicts).toHaveLength(changes.length);
    expect(formatChanges(verdicts).split('\n')).toHaveLength(changes.length + 2);
    expect(formatComparison(verdicts)).toContain(
      '| class blocks | mse | 6 | 0 | 0 | 6 | 0 | — | neither: exactly 0 throughout |',
    );
  });
});

describe('runDynamicForce (estimated norms)', () => {
  it('trains identically and estimates the exact mass ratios within their standard errors', async () => {
    const config = {
      ...TINY,
      series: [{ data: 'random', model: 'one-hidden', loss: 'ce', C: 3 }] as const,
    };
    const exact = await runDynamicForce(config);
    const estimated = await runDynamicForce({ ...config, exactMaxDim: 1, probes: 64 });
    for (const [i, row] of estimated.entries()) {
      const reference = exact[i];
      expect(row.norms).toBe('estimated');
      expect(row.trainLoss).toBe(reference.trainLoss);
      const pairs = [
        [row.classMassRatio, row.classMassStderr, reference.classMassRatio],
        [row.neuronMassRatio, row.neuronMassStderr, reference.neuronMassRatio],
        [row.crossMassRatio, row.crossMassStderr, reference.crossMassRatio],
        [row.allMassRatio, row.allMassStderr, reference.allMassRatio],
      ];
      for (const [value = Number.NaN, stderr = Number.NaN, truth = Number.NaN] of pairs) {
        expect(stderr).toBeGreaterThan(0);
        expect(Math.abs(value - truth)).toBeLessThan(4 * stderr);
      }
    }
  }, 300_000);
});

describe('summarize', () => {
  const row = (epoch: number, mass: number, stderr: number, seed = 1): DynamicForceRow => ({
    seed,
    data: 'random',
    model: 'linear',
    loss: 'ce',
    C: 3,
    epoch,
    P: 12,
    norms: 'estimated',
    trainLoss: 1,
    trainAccuracy: 0.5,
    classMeanRatio: Math.sqrt(mass),
    classMassRatio: mass,
    classMassStderr: stderr,
    seconds: 0,
  });

  it('calls a change within twice its standard error noise, and a larger one a fall or rise', () => {
    const [noise] = summarize([row(0, 0.5, 0.1), row(3, 0.3, 0.05)]);
    expect(noise).toMatchObject({ direction: 'within noise', massInit: 0.5, massEnd: 0.3 });
    expect(noise.massChangeStderr).toBeCloseTo(Math.hypot(0.1, 0.05), 15);
    expect(summarize([row(0, 0.5, 0.01), row(3, 0.3, 0.01)])[0].direction).toBe('fell');
    expect(summarize([row(0, 0.3, 0.01), row(1, 0.1, 0.01), row(3, 0.5, 0.01)])[0]).toMatchObject({
      direction: 'rose',
      epochs: 3,
    });
  });

  it('judges a direction only against the spread over seeds (t-interval of ln(end/init))', () => {
    const seeds = (ends: number[]) =>
      ends.flatMap((end, i) => [row(0, 0.5, 0, i + 1), row(3, end, 0, i + 1)]);
    const [fell] = judgeChanges(summarize(seeds([0.3, 0.31, 0.29])));
    expect(fell.seeds).toEqual([1, 2, 3]);
    expect(fell.change.direction).toBe('fell');
    const [unclear] = judgeChanges(summarize(seeds([0.3, 0.7, 0.5])));
    expect(unclear.change.direction).toBe('not clear');
    // One seed is never a verdict, however large the change.
    expect(judgeChanges(summarize(seeds([0.1])))[0].change.direction).toBe('not clear');
  });

  it('names every group of a mixed verdict, "none" where a group is empty (was "fell in" + nothing)', () => {
    const seeds = (C: number, ends: number[]) =>
      ends.flatMap((end, i) => [
        { ...row(0, 0.5, 0, i + 1), C },
        { ...row(3, end, 0, i + 1), C },
      ]);
    const verdicts = judgeChanges(
      summarize([...seeds(3, [0.9, 0.95, 0.92]), ...seeds(4, [0.3, 0.7, 0.5])]),
    );
    expect(formatComparison(verdicts)).toContain(
      '| class blocks | ce | 2 | 0 | 1 | 0 | 1 | 1.00 … 1.85 | mixed: fell in none; rose in random/linear/C=3; not clear in random/linear/C=4 |',
    );
  });

  it('says "not clear in any series" when no series is decided', () => {
    const seeds = (ends: number[]) =>
      ends.flatMap((end, i) => [row(0, 0.5, 0, i + 1), row(3, end, 0, i + 1)]);
    expect(formatComparison(judgeChanges(summarize(seeds([0.3, 0.7]))))).toContain(
      '| not clear in any series (every t-interval contains 0) |',
    );
  });

  it('rejects a series without its epoch 0', () => {
    expect(() => summarize([row(1, 0.5, 0)])).toThrow(
      /random\/linear\/ce\/3\/seed 1 has no epoch 0/,
    );
  });
});

describe('runDynamicForce options', () => {
  it('rejects bad sizes and series before any work', async () => {
    await expect(runDynamicForce({ ...TINY, pool: 5 })).rejects.toThrow(/pool to divide 28/);
    await expect(runDynamicForce({ ...TINY, samples: 0 })).rejects.toThrow(
      /samples to be an integer >= 1/,
    );
    await expect(
      runDynamicForce({
        ...TINY,
        series: [{ data: 'digits', model: 'linear', loss: 'ce', C: 3 }],
      }),
    ).rejects.toThrow(/10 for digits\), got digits with C = 3/);
  });
});
