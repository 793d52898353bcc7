import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { renderFigure } from '@hessian-probe/example-kit';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  formatTables,
  runSurvey,
  type SurveyRow,
  surveyCorrelations,
  surveyFigures,
} from './survey.js';

describe('runSurvey (tiny sizes, wasm)', () => {
  let rows: SurveyRow[];
  let leaked: number;

  beforeAll(async () => {
    if (!(await tf.setBackend('wasm'))) throw new Error('could not switch tfjs to wasm');
    const before = tf.memory().numTensors;
    rows = await runSurvey({
      tf,
      datasets: ['iris', 'mixture-easy'],
      widths: [3],
      seeds: [1, 2],
      epochs: 2,
    });
    leaked = tf.memory().numTensors - before;
  }, 60_000);

  it('disposes every tensor it makes', () => {
    expect(leaked).toBe(0);
  });

  it('gives one row per layer of every (dataset, width, seed), the gaps from the scores', () => {
    expect(rows).toHaveLength(2 * 2 * 3);
    const iris = rows.filter((r) => r.dataset === 'iris' && r.seed === 1);
    // 4-3-3-3: (4·3 + 3), (3·3 + 3), (3·3 + 3) parameters, all exact (<= 256).
    expect(iris.map((r) => [r.size, r.method])).toEqual([
      [15, 'exact'],
      [12, 'exact'],
      [12, 'exact'],
    ]);
    for (const r of rows) {
      expect(r.lossGap).toBe(r.testLoss - r.trainLoss);
      expect(r.accuracyGap).toBe(r.trainAccuracy - r.testAccuracy);
      expect(r.effectiveRankFraction).toBeGreaterThan(0);
      expect(r.effectiveRankFraction).toBeLessThanOrEqual(1);
    }
  });

  it('correlates every metric of every layer with both gaps', () => {
    const correlations = surveyCorrelations(rows);
    expect(correlations).toHaveLength(2 * 5 * 3);
    for (const c of correlations) {
      expect(c.pooled.n).toBe(4);
      if (c.withinDatasets !== undefined) expect(c.withinDatasets.n).toBe(2);
    }
    expect(formatTables(rows)).toContain('n = 4');
  });

  it('draws its figure as an SVG with every series', async () => {
    const figures = surveyFigures(rows);
    expect(figures).toHaveLength(1);
    const svg = await renderFigure(figures[0].spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('tracePerParameter');
  });
});

describe('surveyCorrelations on constructed rows', () => {
  // Three datasets at different gap levels; within each, tr/P rises with the gap and λmax falls.
  const rows = ['a', 'b', 'c'].flatMap((dataset, d) =>
    [0, 1, 2, 3].map(
      (i) =>
        ({
          dataset,
          width: 8,
          seed: i,
          layerIndex: 0,
          lossGap: 10 * d + i,
          accuracyGap: 0.1 * i,
          tracePerParameter: i + 5 * d,
          lambdaMax: 100 - i - 30 * d,
          effectiveRankFraction: 0.5,
          stableRank: (i * 7) % 4,
          negativeTraceMass: 0,
        }) as SurveyRow,
    ),
  );
  const find = (metric: string) =>
    surveyCorrelations(rows).find((c) => c.metric === metric && c.gap === 'lossGap');

  it('a metric that rises with the gap in every dataset is positive within and pooled', () => {
    const c = find('tracePerParameter');
    expect(c?.withinDatasets?.mean).toBeCloseTo(1, 12);
    expect(c?.pooled.r).toBeCloseTo(1, 12);
    expect(c?.withinCells?.mean).toBeCloseTo(1, 12);
    expect(c?.verdict).toBe(
      'within datasets: positive; within (dataset, width): positive; pooled: positive',
    );
  });

  it('a falling one is negative; a constant one is undefined, not "none detected"', () => {
    expect(find('lambdaMax')?.verdict).toBe(
      'within datasets: negative; within (dataset, width): negative; pooled: negative',
    );
    expect(find('negativeTraceMass')?.withinDatasets).toBeUndefined();
    expect(find('negativeTraceMass')?.verdict).toBe(
      'within datasets: undefined (constant metric); within (dataset, width): undefined (constant metric); pooled: undefined (constant metric)',
    );
  });
});
