import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { renderFigure } from '@hessian-probe/example-kit';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ClusterRow,
  clusterFigures,
  clusterVerdicts,
  formatTables,
  runClusterHierarchy,
} from './cluster-hierarchy.js';

describe('runClusterHierarchy (tiny sizes, wasm)', () => {
  let rows: ClusterRow[];
  let leaked: number;

  beforeAll(async () => {
    if (!(await tf.setBackend('wasm'))) throw new Error('could not switch tfjs to wasm');
    const before = tf.memory().numTensors;
    rows = await runClusterHierarchy({
      tf,
      seeds: [1, 2],
      hidden: 4,
      trainPerClass: 10,
      testPerClass: 5,
      epochs: 1,
      probeSizes: [2, 5],
      traceProbes: 4,
    });
    leaked = tf.memory().numTensors - before;
  }, 60_000);

  it('disposes every tensor it makes', () => {
    expect(leaked).toBe(0);
  });

  it('analyses each seed at each nested probe size', () => {
    expect(rows.map((r) => `${r.seed}:${r.N}`)).toEqual(['1:20', '1:50', '2:20', '2:50']);
    expect(rows[0].P).toBe(784 * 4 + 4 + 4 * 10 + 10);
    for (const r of rows) {
      expect(r.classMeanDistance).toBeGreaterThan(0);
      expect(r.crossClassSpread).toBeGreaterThan(0);
      // tr G from 4 sign probes carries a standard error, so r₃ does too.
      expect(r.sampleSpreadStderr).toBeGreaterThan(0);
      expect(r.explainedAdditive).toBeGreaterThanOrEqual(
        Math.max(r.explainedByClass, r.explainedByLogit) - 1e-9,
      );
    }
  });

  it('judges every claim on both seeds and prints the tables', () => {
    const verdicts = clusterVerdicts(rows);
    expect(verdicts).toHaveLength(7);
    for (const v of verdicts) expect(v.interval.n).toBe(2);
    const tables = formatTables(rows);
    expect(tables).toContain('mean ± sd over 2 seeds');
    expect(tables).toContain('| 5 (50) |');
  });

  it('draws its figure as an SVG with every series', async () => {
    const figures = clusterFigures(rows);
    expect(figures).toHaveLength(1);
    const svg = await renderFigure(figures[0].spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('noise level of r₂');
  });
});
