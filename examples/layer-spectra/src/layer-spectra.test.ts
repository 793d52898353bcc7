import { arithmeticTolerance } from '@hessian-probe/core/testing';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  formatClaims,
  formatLayers,
  formatTraining,
  type LayerSpectraRow,
  runLayerSpectra,
} from './layer-spectra.js';

beforeAll(async () => {
  if (!(await tf.setBackend('cpu'))) throw new Error('could not switch tfjs to cpu');
});

// float32 products: the last layer's E block is zero, so its gap is rounding, a few u relative.
const TOLERANCE = arithmeticTolerance.float32;

describe('runLayerSpectra (quick sizes)', () => {
  const run = runLayerSpectra({
    tf,
    trainPerClass: 10,
    testPerClass: 10,
    pool: 7,
    underWidth: 3,
    overWidth: 16,
    epochs: 4,
    checkpoints: [0],
    maxExactDim: 200,
    probes: 2,
    steps: 12,
    traceMatvecs: 9,
    gapProbes: 4,
    couplingProbes: 2,
  });

  it('gives one row per network, checkpoint and layer, exact or SLQ by block size', async () => {
    const rows = await run;
    // 2 nets × checkpoints {0, 4} × 3 layers.
    expect(rows).toHaveLength(2 * 2 * 3);
    expect(rows.map((r) => `${r.model}@${r.epoch}`)).toEqual(
      ['under@0', 'under@4', 'over@0', 'over@4'].flatMap((k) => [k, k, k]),
    );
    // 4×4 inputs: under 16·3+3, 3·3+3, 3·10+10; over 16·16+16 = 272 > 200 (SLQ), 272, 170.
    expect(rows.slice(0, 3).map((r) => [r.size, r.method])).toEqual([
      [51, 'exact'],
      [12, 'exact'],
      [40, 'exact'],
    ]);
    expect(rows.slice(6, 9).map((r) => [r.size, r.method])).toEqual([
      [272, 'stochastic'],
      [272, 'stochastic'],
      [170, 'exact'],
    ]);
    for (const r of rows) {
      expect(r.parameters).toBe(rows.filter((s) => s.model === r.model)[0].parameters);
      expect(r.negativeFraction).toBeGreaterThanOrEqual(0);
      expect(r.negativeFraction).toBeLessThanOrEqual(1);
      expect(r.effectiveRankFraction).toBeGreaterThan(0);
      expect(r.effectiveRankFraction).toBeLessThanOrEqual(1);
      expect(r.lambdaMin).toBeLessThanOrEqual(r.lambdaMax);
    }
  });

  it('has no Gauss–Newton gap in the output layer (E = 0 there) and one in the hidden layers', async () => {
    const rows = await run;
    for (const r of rows.filter((s) => s.layer === 'output')) {
      expect(r.gaussNewtonGap).toBeLessThan(4 * TOLERANCE);
      expect(Number.isNaN(r.couplingWithNext)).toBe(true);
    }
    expect(rows.filter((s) => s.layer === 'hidden_1').every((s) => s.gaussNewtonGap > 1e-3)).toBe(
      true,
    );
  });

  it('adds up the exact layer traces of each checkpoint to the reported sum', async () => {
    const rows = await run;
    const under = rows.filter((r) => r.model === 'under' && r.epoch === 0);
    const sum = under.reduce((s, r) => s + r.trace, 0);
    expect(under[0].traceSum).toBe(sum);
    expect(sum).toBeGreaterThan(0);
  });

  it('trains: the over-parameterized net fits its training set better after 4 epochs', async () => {
    const rows = await run;
    const over = rows.filter((r) => r.model === 'over' && r.layerIndex === 0);
    expect(over[1].trainLoss).toBeLessThan(over[0].trainLoss);
    expect(over[1].trainAccuracy).toBeGreaterThan(over[0].trainAccuracy);
  });

  it('prints tables with one line per row and a verdict per claim', async () => {
    const rows = await run;
    expect(formatTraining(rows).split('\n')).toHaveLength(2 + 4);
    expect(formatLayers(rows, 'over').split('\n')).toHaveLength(2 + 6);
    const claims = formatClaims(rows).split('\n').slice(2);
    expect(claims).toHaveLength(8);
    // One checkpoint after epoch 0: the four Spearman claims are not decided.
    for (const line of claims.slice(0, 4))
      expect(line).toMatch(/\| too few checkpoints \(n < 4\) \|$/);
    for (const line of claims.slice(4)) {
      expect(line).toMatch(/\| not judged: one seed \|$/);
    }
  });
});

describe('formatClaims', () => {
  /** Rows of both nets at `epochs`, one layer each, every metric rising with the epoch. */
  const rowsAt = (
    epochs: readonly number[],
    seeds: readonly number[] = [1, 2],
  ): LayerSpectraRow[] =>
    seeds.flatMap((seed) =>
      (['under', 'over'] as const).flatMap((model) =>
        epochs.map((epoch) => ({
          seed,
          model,
          parameters: 10,
          samples: 10,
          epoch,
          trainLoss: 1 / (1 + epoch),
          trainAccuracy: 0.5,
          testLoss: 1,
          testAccuracy: 0.5,
          layer: 'hidden_1',
          layerIndex: 0,
          size: 10,
          method: 'exact',
          lambdaMax: 1 + epoch,
          lambdaMin: 0,
          trace: 1 + epoch,
          traceStderr: 0,
          tracePerParameter: 1 + epoch,
          frobeniusSq: 1,
          negativeFraction: 0,
          negativeTraceMass: 0,
          spectralEntropy: 1,
          effectiveRank: 1 + epoch,
          effectiveRankFraction: ((model === 'under' ? 2 : 1) * (1 + epoch + 0.1 * seed)) / 100,
          participationRatio: 1,
          stableRank: 1,
          bulkEdge: 1,
          outlierCount: 0,
          gaussNewtonGap: 0,
          gaussNewtonGapStderr: 0,
          overallGaussNewtonGap: 0,
          overallGaussNewtonGapStderr: 0,
          couplingWithNext: Number.NaN,
          traceSum: 1 + epoch,
          matvecs: 0,
          seconds: 0,
        })),
      ),
    );
  const spearmanVerdicts = (rows: LayerSpectraRow[]) =>
    formatClaims(rows)
      .split('\n')
      .slice(2, 6)
      .map((line) => line.split(' | ').at(-1)?.replace(/ \|$/, ''));

  it('judges under against over by the t-interval of the per-seed difference', () => {
    const line = formatClaims(rowsAt([0, 1, 2, 3, 4], [1, 2, 3]))
      .split('\n')
      .find((l) => l.includes('expressivity'));
    expect(line).toContain('under 0.104 ± 0.0020, over 0.0520 ± 0.0010');
    expect(line).toMatch(/\| agrees \(t-interval of under − over \S+ … \S+ above 0\) \|$/);
  });

  it('decides the Spearman claims only on 4 or more checkpoints after epoch 0', () => {
    // The gap (test − train loss) rises with the epoch, as every metric does: ρ = 1 everywhere.
    expect(spearmanVerdicts(rowsAt([0, 1, 2, 3, 4]))).toEqual([
      'agrees (t-interval of ρ over seeds above 0 in every layer)',
      'agrees (t-interval of ρ over seeds above 0 in every layer)',
      'agrees (t-interval of ρ over seeds above 0 in every layer)',
      'agrees (t-interval of ρ over seeds above 0 in every layer)',
    ]);
    // One seed is never a verdict.
    expect(spearmanVerdicts(rowsAt([0, 1, 2, 3, 4], [1]))).toEqual(
      new Array(4).fill('not judged: one seed'),
    );
    for (const epochs of [
      [0, 3, 12],
      [0, 1, 2, 3],
      [0, 5],
    ]) {
      expect(spearmanVerdicts(rowsAt(epochs))).toEqual(
        new Array(4).fill('too few checkpoints (n < 4)'),
      );
    }
  });
});

describe('runLayerSpectra options', () => {
  it.each([
    ['epochs -1', { epochs: -1 }],
    ['pool 5', { pool: 5 }],
    ['traceMatvecs 2', { traceMatvecs: 2 }],
    ['probes 0', { probes: 0 }],
  ])('rejects %s before training', async (_, bad) => {
    await expect(runLayerSpectra({ tf, ...bad })).rejects.toThrow(RangeError);
  });
});
