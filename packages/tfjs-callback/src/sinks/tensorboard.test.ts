import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OptionError } from '@hessian-probe/core';
import { availableBackends } from '@hessian-probe/core/backends';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IN_CI } from '../../test/exposition.js';
import { syntheticReport } from '../../test/synthetic-reports.js';
import { readEventValues } from '../../test/tensorboard-events.js';
import { clusters, tf, tinyModel, useBackend } from '../../test/tiny-models.js';
import { hessianCallback } from '../callback.js';
import { headlineNumbers } from '../headline.js';
import { densityQuantiles, type SummaryWriterLike, tensorBoardSink } from './tensorboard.js';

const native = (await availableBackends(tf)).includes('tensorflow');

describe('densityQuantiles', () => {
  it('places the points at the quantiles of the gridded density', () => {
    // Uniform on [0, 2]: the (k + ½)/n quantiles are 2(k + ½)/n.
    const grid = Array.from({ length: 21 }, (_, i) => i / 10);
    const flat = densityQuantiles(
      grid,
      grid.map(() => 0.5),
      8,
    );
    for (const [k, point] of flat.entries()) expect(point).toBeCloseTo((2 * (k + 0.5)) / 8, 6);
    // All the mass in [1, 2] (a density of 1 there, 0 before; one ramp cell at 0.9–1.0 takes
    // the trapezoid's share): every point lies at or above 0.9 and the median near 1.5.
    const step = densityQuantiles(
      grid,
      grid.map((g) => (g >= 1 ? 1 : 0)),
      101,
    );
    expect(Math.min(...step)).toBeGreaterThanOrEqual(0.9);
    expect(step[50]).toBeCloseTo(1.5, 1);
  });

  it('gives no points for a density without mass', () => {
    expect(densityQuantiles([0, 1, 2], [0, 0, 0])).toHaveLength(0);
    expect(densityQuantiles([0, 1], [Number.NaN, 1])).toHaveLength(0);
  });
});

describe('tensorBoardSink with a recording writer', () => {
  it('writes the scalars and the density at steps counted on across fits', () => {
    const calls: [string, string, number][] = [];
    const writer: SummaryWriterLike = {
      scalar: (name, _value, step) => calls.push(['scalar', name, step]),
      histogram: (name, data, step) => {
        expect(data.size).toBe(1000);
        calls.push(['histogram', name, step]);
      },
      flush: () => calls.push(['flush', '', -1]),
    };
    const sink = tensorBoardSink(tf, writer);
    for (const step of [0, 8, 0, 5]) sink.write({ ...syntheticReport({ epoch: 1 }), step });
    const lambdaSteps = calls.filter(([, n]) => n === 'hessian/lambda_max').map(([, , s]) => s);
    expect(lambdaSteps).toEqual([0, 8, 8, 13]);
    const names = new Set(calls.map(([, n]) => n));
    for (const name of [
      'hessian/trace',
      'hessian/trace_stderr',
      'hessian/eigenvalue_1',
      'hessian/loss',
      'hessian/spectral_density',
      'hessian/layer/dense_1/lambda_max',
    ]) {
      expect(names.has(name), name).toBe(true);
    }
    expect(calls.filter(([kind]) => kind === 'flush')).toHaveLength(4);
  });

  it('refuses a writer without scalar, histogram or flush', () => {
    expect(() => tensorBoardSink(tf, {} as never)).toThrow(OptionError);
    expect(() => hessianCallback({ tf, probe: clusters(6, 1), tensorBoard: '' })).toThrow(
      /tensorBoard to be a non-empty log folder/,
    );
    // @tensorflow/tfjs alone has no tf.node: a folder needs tfjs-node's namespace.
    expect(() => hessianCallback({ tf, probe: clusters(6, 1), tensorBoard: 'logs' })).toThrow(
      /expected tf from '@tensorflow\/tfjs-node' for tensorBoard/,
    );
  });
});

describe.skipIf(!native && !IN_CI)(
  'tensorBoardSink on tfjs-node, read back from the event files',
  () => {
    let dir: string;
    beforeEach(async () => {
      if (!native) return expect.fail('CI is set but tfjs-node does not load');
      await useBackend('tensorflow');
      dir = await mkdtemp(join(tmpdir(), 'hessian-tensorboard-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('holds every headline number of every report of a fit at its step, and the density', async () => {
      const tfNode = await import('@tensorflow/tfjs-node');
      const train = clusters(64, 1);
      const model = tinyModel();
      const callback = hessianCallback({
        tf: tfNode as never,
        probe: clusters(24, 2),
        schedule: { everyEpochs: 1 },
        analyses: { eigen: { k: 2 }, trace: { matvecs: 6 }, density: { probes: 1, steps: 10 } },
        budget: 1,
        tensorBoard: dir,
      });
      const warn = vi.spyOn(console, 'warn');
      await model.fit(tf.tensor2d(train.x), tf.tensor2d(train.y), {
        epochs: 2,
        batchSize: 16,
        callbacks: [callback],
        verbose: 0,
      });
      expect(warn).not.toHaveBeenCalled();
      expect(callback.stats).toMatchObject({ analyses: 3, sinkErrors: {} });
      const values = await readEventValues(dir);
      const series = (tag: string) =>
        values.filter((v) => v.tag === tag).map((v) => [v.step, v.simpleValue]);
      const reports = callback.history;
      // Scalars are float32 in the event files.
      for (const report of reports) {
        for (const [key, value] of Object.entries(headlineNumbers(report))) {
          const tag = `hessian/${key.replace(/^hessian_/, '')}`;
          expect(series(tag), tag).toContainEqual([report.step, Math.fround(value)]);
        }
      }
      expect(series('hessian/lambda_max')).toEqual(
        reports.map((r) => [r.step, Math.fround(r.eigen!.values[0])]),
      );
      expect(series('hessian/eigenvalue_2')).toEqual(
        reports.map((r) => [r.step, Math.fround(r.eigen!.values[1])]),
      );
      expect(series('hessian/trace')).toEqual(
        reports.map((r) => [r.step, Math.fround(r.trace!.estimate)]),
      );
      const histograms = values.filter((v) => v.tag === 'hessian/spectral_density');
      expect(histograms.map((v) => v.step)).toEqual(reports.map((r) => r.step));
      for (const [i, { histogram }] of histograms.entries()) {
        const { grid } = reports[i].density!;
        expect(histogram!.num).toBe(1000);
        expect(histogram!.buckets.length).toBeGreaterThan(1);
        expect(histogram!.min).toBeGreaterThanOrEqual(Math.fround(grid[0]) - 1e-6);
        expect(histogram!.max).toBeLessThanOrEqual(Math.fround(grid.at(-1)!) + 1e-6);
      }
      callback.dispose();
    });
  },
);
