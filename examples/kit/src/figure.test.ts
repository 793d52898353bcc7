import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderFigure, seriesFigure, writeFigures } from './figure.js';

describe('seriesFigure', () => {
  const points = [
    { series: 'a', x: 2, y: 1 },
    { series: 'a', x: 2, y: 3 },
    { series: 'a', x: 4, y: 0.5 },
    { series: 'b', x: 2, y: 0 },
  ];

  it('draws the mean over seeds with ± sd bars, dropping what a log axis cannot show', () => {
    const spec = seriesFigure(points, { title: 't', xTitle: 'C', yTitle: 'r', logY: true });
    const layer = (spec as { layer: { data: { values: Record<string, number>[] } }[] }).layer;
    expect(layer[0].data.values).toEqual([
      { series: 'a', x: 2, mean: 2, low: 2 - Math.SQRT2, high: 2 + Math.SQRT2, seeds: 2 },
      { series: 'a', x: 4, mean: 0.5, low: 0.5, high: 0.5, seeds: 1 },
    ]);
  });

  it('renders to an SVG with a mark per point and writes it atomically', async () => {
    const spec = seriesFigure(points, {
      title: 'ratio',
      xTitle: 'C',
      yTitle: 'r',
      references: [
        { series: '1/(C−1)', x: 2, y: 1 },
        { series: '1/(C−1)', x: 4, y: 1 / 3 },
      ],
    });
    const svg = await renderFigure(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('ratio');
    const dir = await mkdtemp(join(tmpdir(), 'kit-figure-'));
    try {
      await writeFigures(dir, [{ name: 'ratio', spec }]);
      expect(await readdir(dir)).toEqual(['ratio.svg']);
      expect(await readFile(join(dir, 'ratio.svg'), 'utf8')).toBe(svg);
      await writeFigures(undefined, [{ name: 'none', spec }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
