/** The static-force figures: the block ratios over C, and the block spectra against their limits. */
import { type FigureSpec, type SeriesPoint, seriesFigure } from '@hessian-probe/example-kit';
import type { BlockSpectrum } from './spectra.js';
import type { StaticForceRow } from './static-force.js';

const PLOTTED = [
  ['classMeanRatio', 'class mean'],
  ['neuronMeanRatio', 'neuron mean'],
  ['crossMassRatio', 'cross mass'],
] as const;

/**
 * Every positive ratio series over C on log–log axes (mean ± sd over seeds), with 1/(C − 1) and
 * the cross-layer floor 4m²/N dashed.
 *
 * @example
 * ```ts
 * await writeFigures('.', [{ name: 'ratios', spec: ratioFigure(rows) }]);
 * ```
 */
export function ratioFigure(rows: readonly StaticForceRow[]): FigureSpec {
  const points: SeriesPoint[] = [];
  for (const r of rows) {
    for (const [key, label] of PLOTTED) {
      const y = r[key];
      if (y !== undefined)
        points.push({ series: `${r.model} ${r.init} ${r.loss}: ${label}`, x: r.C, y });
    }
  }
  const classes = [...new Set(rows.map((r) => r.C))].sort((a, b) => a - b);
  const floor = rows.find((r) => r.crossFloor !== undefined)?.crossFloor;
  const references: SeriesPoint[] = [
    ...classes.map((C) => ({ series: '1/(C − 1)', x: C, y: 1 / (C - 1) })),
    ...(floor === undefined ? [] : classes.map((C) => ({ series: '4m²/N', x: C, y: floor }))),
  ];
  return seriesFigure(points, {
    title: 'Off-diagonal / diagonal block ratios at initialization (mean ± sd over seeds)',
    xTitle: 'classes C',
    yTitle: 'ratio',
    logX: true,
    logY: true,
    references,
  });
}

/**
 * Histograms (as densities) of the eigenvalues of the diagonal and the off-diagonal
 * hidden-neuron block at the largest d, first seed, with the generalized Marchenko–Pastur
 * density drawn over them.
 *
 * @example
 * ```ts
 * const spec = spectraFigure(blockSpectra({ inputs: [100] }));
 * ```
 */
export function spectraFigure(spectra: readonly BlockSpectrum[]): FigureSpec {
  const d = Math.max(...spectra.map((s) => s.d));
  const seed = Math.min(...spectra.map((s) => s.seed));
  const shown = spectra.filter((s) => s.d === d && s.seed === seed);
  const bars: { block: string; low: number; high: number; density: number }[] = [];
  const curve: { block: string; lambda: number; density: number }[] = [];
  for (const s of shown) {
    const values = s.eigenvalues;
    const low = values[0];
    const high = values[values.length - 1];
    const bins = 40;
    const width = (high - low) / bins || 1;
    const counts = new Array<number>(bins).fill(0);
    for (const v of values) counts[Math.min(bins - 1, Math.floor((v - low) / width))] += 1;
    for (const [b, count] of counts.entries()) {
      bars.push({
        block: s.block,
        low: low + b * width,
        high: low + (b + 1) * width,
        density: count / (values.length * width),
      });
    }
    for (const [k, lambda] of s.grid.entries()) {
      curve.push({ block: s.block, lambda, density: s.density[k] });
    }
  }
  const n = shown[0]?.N ?? 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Hidden-neuron block spectra, d = ${d}, N = ${n}: eigenvalues (bars) and the generalized Marchenko–Pastur limit (line)`,
    hconcat: ['diagonal', 'off-diagonal'].map((block) => ({
      title: `${block} block`,
      width: 320,
      height: 260,
      layer: [
        {
          data: { values: bars.filter((b) => b.block === block) },
          mark: { type: 'rect', opacity: 0.5, color: '#4c78a8' },
          encoding: {
            x: { field: 'low', type: 'quantitative', title: 'eigenvalue λ' },
            x2: { field: 'high' },
            y: { field: 'density', type: 'quantitative', title: 'density' },
            y2: { datum: 0 },
          },
        },
        {
          data: { values: curve.filter((c) => c.block === block) },
          mark: { type: 'line', color: '#e45756' },
          encoding: {
            x: { field: 'lambda', type: 'quantitative' },
            y: { field: 'density', type: 'quantitative' },
          },
        },
      ],
    })),
  } as FigureSpec;
}
