import type { CurvatureReport } from '@hessian-probe/core';
import { describe, expect, it } from 'vitest';
import {
  blockHeatmap,
  blockSizes,
  DENSITY_CUTOFF,
  densityCells,
  runViews,
  spread,
} from './data.js';
import { FIXTURE_LAYOUT, fixtureReport } from './testing/fixtures.js';

describe('blockSizes', () => {
  it('sizes tensor, layer, unit and class blocks from the tensor layout', () => {
    expect(
      blockSizes(
        ['dense_1/kernel', 'dense_1/bias', 'dense_2/kernel', 'dense_2/bias'],
        FIXTURE_LAYOUT,
      ),
    ).toEqual([12, 3, 6, 2]);
    expect(blockSizes(['dense_1', 'dense_2'], FIXTURE_LAYOUT)).toEqual([15, 8]);
    // 'unit': every Dense unit its kernel column and bias entry (4 + 1 and 3 + 1).
    expect(
      blockSizes(
        ['dense_1/unit_0', 'dense_1/unit_1', 'dense_1/unit_2', 'dense_2/unit_0', 'dense_2/unit_1'],
        FIXTURE_LAYOUT,
      ),
    ).toEqual([5, 5, 5, 4, 4]);
    // 'class': the earlier layers whole, the output layer by class.
    expect(blockSizes(['dense_1', 'dense_2/unit_0', 'dense_2/unit_1'], FIXTURE_LAYOUT)).toEqual([
      15, 4, 4,
    ]);
  });

  it('gives up on names it cannot match or sizes that do not add up', () => {
    expect(blockSizes(['a', 'b'], FIXTURE_LAYOUT)).toBeUndefined();
    expect(blockSizes(['dense_1'], FIXTURE_LAYOUT)).toBeUndefined();
  });
});

describe('blockHeatmap', () => {
  it('shows mean |H| when exact, RMS |H| when probed, the relative norm when sizes are unknown', async () => {
    const exact = await fixtureReport({ exactBlocks: true, modelSections: false });
    expect(blockHeatmap(exact)?.quantity).toBe('mean |H|');
    expect(blockHeatmap(exact)?.values).toEqual(exact.blocks!.meanAbs);
    const probed = await fixtureReport({ modelSections: false });
    const rms = blockHeatmap(probed)!;
    expect(rms.quantity).toBe('RMS |H|');
    const f = probed.blocks!.frobeniusSq;
    expect(rms.values[0][1]).toBeCloseTo(Math.sqrt(f[0][1] / (15 * 8)), 12);
    // Jensen: the RMS over a block is at least its mean |H| (both from the same matrix).
    const means = exact.blocks!.meanAbs!;
    const exactRms = exact.blocks!.frobeniusSq.map((row, i) =>
      row.map((v, j) => Math.sqrt(v / ([15, 8][i] * [15, 8][j]))),
    );
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++) expect(exactRms[i][j]).toBeGreaterThanOrEqual(means[i][j]);
    const renamed: CurvatureReport = {
      ...probed,
      blocks: { ...probed.blocks!, names: ['x', 'y'] },
    };
    const relative = blockHeatmap(renamed)!;
    expect(relative.quantity).toBe('‖H_ij‖_F / max');
    expect(Math.max(...relative.values.flat())).toBe(1);
  });
});

describe('densityCells', () => {
  it('puts every analysis on one grid and leaves bins below the cutoff blank, not at a floor', async () => {
    const a = await fixtureReport({ epoch: 0, modelSections: false });
    const b = await fixtureReport({ epoch: 3, modelSections: false });
    const density = a.density!;
    const values = density.values.map((v, i) => (i < 20 ? 0 : v));
    const views = runViews([
      { name: 'r', reports: [{ ...a, density: { ...density, values } }, b] },
    ]);
    const grid = densityCells(views[0].analyses, 100)!;
    const lo = Math.min(a.density!.grid[0], b.density!.grid[0]);
    const hi = Math.max(a.density!.grid.at(-1)!, b.density!.grid.at(-1)!);
    expect(grid.range).toEqual([lo, hi]);
    const first = grid.cells.filter((c) => c.label === views[0].analyses[0].label);
    const peak = Math.max(...values);
    for (const cell of grid.cells) expect(cell.density).toBeGreaterThan(0);
    for (const cell of first) expect(cell.density).toBeGreaterThanOrEqual(peak * DENSITY_CUTOFF);
    // Nothing drawn where the zeroed part of the curve lies.
    expect(first.every((c) => c.lo >= density.grid[19] - (hi - lo) / 100)).toBe(true);
    // The bin means keep the curve's mass (trapezoid integral 1 over its own grid).
    const mass = grid.cells
      .filter((c) => c.label === views[0].analyses[1].label)
      .reduce((s, c) => s + c.density * (c.hi - c.lo), 0);
    expect(mass).toBeCloseTo(1, 1);
  });
});

describe('runViews', () => {
  it('orders by time and continues the step across fit() calls', async () => {
    const r = await Promise.all(
      [0, 1, 2].map((epoch) => fixtureReport({ epoch, modelSections: false })),
    );
    // A second fit() starts at step 0 again, an hour later.
    const later = (report: CurvatureReport, hours: number) => ({
      ...report,
      timestamp: new Date(Date.parse(report.timestamp) + hours * 3_600_000).toISOString(),
    });
    const [view] = runViews([{ name: 'r', reports: [later(r[1], 1), r[2], r[0], later(r[0], 1)] }]);
    expect(view.analyses.map((a) => a.report.step)).toEqual([0, 100, 0, 50]);
    expect(view.analyses.map((a) => a.x)).toEqual([0, 100, 100, 150]);
    expect(view.stepsContinued).toBe(true);
    const [plain] = runViews([{ name: 'r', reports: r }]);
    expect(plain.stepsContinued).toBe(false);
  });
});

describe('spread', () => {
  it('keeps the first and the last, evenly spaced', () => {
    expect(spread([1, 2, 3], 4)).toEqual([1, 2, 3]);
    expect(spread([0, 1, 2, 3, 4, 5, 6, 7, 8], 3)).toEqual([0, 4, 8]);
    expect(spread([0, 1, 2, 3, 4], 4)).toEqual([0, 1, 3, 4]);
    expect(spread([0, 1, 2], 1)).toEqual([2]);
  });
});
