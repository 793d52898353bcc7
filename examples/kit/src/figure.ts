/**
 * Figures of the experiments: vega-lite specs rendered to static SVG in Node (no canvas, no
 * network: every spec carries its data inline), written atomically beside the experiment's
 * RESULTS.md. The report package draws curvature reports; these are the experiments' own
 * charts (series over a sweep with their spread over seeds, histograms against a limit density).
 */
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeTextAtomic } from './output.js';
import { meanSd } from './stats.js';

/**
 * Renders a vega-lite spec to an SVG string.
 *
 * @example
 * ```ts
 * const svg = await renderFigure({
 *   data: { values: [{ C: 2, ratio: 1 }, { C: 4, ratio: 0.33 }] },
 *   mark: 'line',
 *   encoding: { x: { field: 'C', type: 'quantitative' }, y: { field: 'ratio', type: 'quantitative' } },
 * });
 * ```
 */
export async function renderFigure(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A vega-lite specification (vega-lite's `TopLevelSpec`), for experiments that build their own. */
export type FigureSpec = TopLevelSpec;

/** One figure to write: its file name (without `.svg`) and its vega-lite spec. */
export interface Figure {
  readonly name: string;
  readonly spec: TopLevelSpec;
}

/**
 * Renders each figure and writes it to `folder/<name>.svg` atomically; prints each path. Does
 * nothing when `folder` is undefined (e.g. a `--quick` run without `--figures`).
 *
 * @example
 * ```ts
 * await writeFigures('examples/static-force', [{ name: 'ratios', spec }]);
 * ```
 */
export async function writeFigures(
  folder: string | undefined,
  figures: readonly Figure[],
): Promise<void> {
  if (folder === undefined) return;
  for (const { name, spec } of figures) {
    const path = join(folder, `${name}.svg`);
    await writeTextAtomic(path, await renderFigure(spec));
    console.log(`figure written to ${path}`);
  }
}

/** One measured value of a series at one x, for one seed: {@link seriesFigure}. */
export interface SeriesPoint {
  /** The series (one line, one colour). */
  readonly series: string;
  readonly x: number;
  readonly y: number;
}

/** Options of {@link seriesFigure}. */
export interface SeriesFigureOptions {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  /** Log scales (default false for both). */
  readonly logX?: boolean;
  readonly logY?: boolean;
  /** Dashed reference lines, e.g. a closed form or a floor, as points of their own series. */
  readonly references?: readonly SeriesPoint[];
}

/**
 * A line per series through the mean over seeds at each x, with an error bar of ± one sample
 * standard deviation over seeds (none with one seed); reference curves dashed.
 *
 * @example
 * ```ts
 * const spec = seriesFigure(
 *   [{ series: 'hidden', x: 2, y: 0.3 }, { series: 'hidden', x: 2, y: 0.32 }],
 *   { title: 'ratio vs C', xTitle: 'C', yTitle: 'mean ratio', logX: true, logY: true },
 * );
 * ```
 */
export function seriesFigure(
  points: readonly SeriesPoint[],
  options: SeriesFigureOptions,
): TopLevelSpec {
  const groups = new Map<string, { series: string; x: number; ys: number[] }>();
  for (const p of points) {
    if (!Number.isFinite(p.y) || (options.logY === true && p.y <= 0)) continue;
    const key = `${p.series}\u0000${p.x}`;
    const group = groups.get(key) ?? { series: p.series, x: p.x, ys: [] };
    group.ys.push(p.y);
    groups.set(key, group);
  }
  const summary = [...groups.values()].map(({ series, x, ys }) => {
    const { mean, sd } = meanSd(ys);
    const spread = Number.isNaN(sd) ? 0 : sd;
    const low = mean - spread;
    return {
      series,
      x,
      mean,
      low: options.logY === true && low <= 0 ? mean : low,
      high: mean + spread,
      seeds: ys.length,
    };
  });
  const scale = (log: boolean | undefined) => (log === true ? { type: 'log' as const } : {});
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: options.xTitle,
    scale: scale(options.logX),
  };
  const colour = {
    field: 'series',
    type: 'nominal' as const,
    title: null,
    // 20 colours: the experiments draw up to ~15 series in one chart.
    scale: { scheme: 'category20' },
    legend: { labelLimit: 400 },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: options.title,
    width: 520,
    height: 320,
    layer: [
      {
        data: { values: summary },
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: {
            field: 'mean',
            type: 'quantitative',
            title: options.yTitle,
            scale: scale(options.logY),
          },
          color: colour,
          tooltip: [{ field: 'series' }, { field: 'x' }, { field: 'mean' }, { field: 'seeds' }],
        },
      },
      {
        data: { values: summary },
        mark: 'errorbar',
        encoding: {
          x,
          y: {
            field: 'low',
            type: 'quantitative',
            title: options.yTitle,
            scale: scale(options.logY),
          },
          y2: { field: 'high' },
          color: colour,
        },
      },
      ...(options.references === undefined || options.references.length === 0
        ? []
        : [
            {
              data: { values: options.references.filter((r) => options.logY !== true || r.y > 0) },
              mark: { type: 'line' as const, strokeDash: [4, 3] },
              encoding: {
                x,
                y: { field: 'y', type: 'quantitative' as const, scale: scale(options.logY) },
                color: colour,
              },
            },
          ]),
    ],
  } as TopLevelSpec;
}
