/**
 * The charts of the page as vega-lite specs, rendered to SVG: each function takes the runs and
 * returns the SVG, or undefined when no report has the data.
 */
import type { TopLevelSpec } from 'vega-lite';
import { type Analysis, blockHeatmap, densityCells, finite, type RunView, spread } from './data.js';
import { renderSvg } from './svg.js';

const WIDTH = 600;
const HEIGHT = 200;

/** Colour by run, with the same colour for a run on every chart; no legend for a single run. */
function runColor(views: readonly RunView[]) {
  return {
    field: 'run',
    type: 'nominal',
    scale: { domain: views.map((v) => v.name), range: views.map((v) => v.color) },
    legend: views.length > 1 ? { title: 'run' } : null,
  } as const;
}

/** The x axis: the optimizer step. */
function stepAxis(views: readonly RunView[]) {
  return {
    field: 'x',
    type: 'quantitative',
    title: views.some((v) => v.stepsContinued)
      ? 'optimizer step (continued across fit() calls)'
      : 'optimizer step',
  } as const;
}

type Row = Record<string, string | number | null>;

/** Rows of one value per analysis of every run. */
function perAnalysis(
  views: readonly RunView[],
  pick: (a: Analysis) => Row | Row[] | undefined,
): Row[] {
  return views.flatMap((v) =>
    v.analyses.flatMap((a) => {
      const picked = pick(a);
      if (picked === undefined) return [];
      return (Array.isArray(picked) ? picked : [picked]).map((r) => ({
        run: v.name,
        x: a.x,
        ...r,
      }));
    }),
  );
}

const hasValue = (rows: readonly Row[], field = 'value') => rows.some((r) => r[field] !== null);

/** Loss on the probe set, and the runs' own metrics (e.g. accuracy), one panel each. */
export async function lossChart(views: readonly RunView[]): Promise<string | undefined> {
  const loss = 'loss on the probe set';
  const rows: Row[] = [
    ...perAnalysis(views, (a) => ({ metric: loss, value: finite(a.report.loss) })),
    ...views.flatMap((v) =>
      v.metrics.map((m) => ({ run: v.name, x: m.step, metric: m.name, value: finite(m.value) })),
    ),
  ];
  if (!hasValue(rows)) return undefined;
  const metrics = [...new Set(rows.filter((r) => r.value !== null).map((r) => String(r.metric)))];
  return renderSvg({
    data: { values: rows },
    facet: { field: 'metric', type: 'nominal', sort: metrics, title: null },
    columns: 2,
    spec: {
      width: metrics.length > 1 ? 300 : WIDTH,
      height: HEIGHT - 40,
      mark: { type: 'line', point: true },
      encoding: {
        x: stepAxis(views),
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: runColor(views),
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec);
}

/** λmax (thick) and the other top-k eigenvalues (thin) over training. */
export async function eigenChart(views: readonly RunView[]): Promise<string | undefined> {
  const rows = perAnalysis(views, (a) =>
    a.report.eigen?.values.map((value, i) => ({ rank: i + 1, value: finite(value) })),
  );
  if (!hasValue(rows)) return undefined;
  const k = Math.max(...rows.map((r) => Number(r.rank)));
  const y = { field: 'value', type: 'quantitative', title: 'eigenvalue' } as const;
  return renderSvg({
    width: WIDTH,
    height: HEIGHT + 40,
    data: { values: rows },
    encoding: { x: stepAxis(views), y, color: runColor(views) },
    layer: [
      ...(k > 1
        ? [
            {
              transform: [{ filter: 'datum.rank > 1' }],
              mark: { type: 'line', strokeWidth: 1, opacity: 0.6, point: { size: 12 } },
              encoding: { detail: { field: 'rank', type: 'nominal' } },
            },
          ]
        : []),
      {
        transform: [{ filter: 'datum.rank == 1' }],
        mark: { type: 'line', strokeWidth: 2.5, point: true },
      },
    ],
  } as TopLevelSpec);
}

/** λmin (the lambdaMin analysis) and the density's smallest Ritz value, with a line at 0. */
export async function lambdaMinChart(views: readonly RunView[]): Promise<string | undefined> {
  const analysis = 'lambdaMin analysis';
  const ritz = 'density: smallest Ritz value (upper bound)';
  const rows = perAnalysis(views, (a) => [
    ...(a.report.lambdaMin ? [{ source: analysis, value: finite(a.report.lambdaMin.value) }] : []),
    ...(a.report.density ? [{ source: ritz, value: finite(a.report.density.lambdaMin) }] : []),
  ]);
  if (!hasValue(rows)) return undefined;
  const sources = [analysis, ritz].filter((s) => rows.some((r) => r.source === s));
  return renderSvg({
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', point: true },
        encoding: {
          x: stepAxis(views),
          y: { field: 'value', type: 'quantitative', title: 'λmin' },
          color: runColor(views),
          strokeDash: {
            field: 'source',
            type: 'nominal',
            scale: {
              domain: sources,
              range: [
                [1, 0],
                [5, 3],
              ].slice(0, sources.length),
            },
            legend: { title: null, orient: 'bottom', labelLimit: 400, symbolType: 'stroke' },
          },
        },
      },
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: 'rule', color: '#888', strokeDash: [2, 2] },
        encoding: { y: { field: 'zero', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec);
}

/** An estimate with ±1 standard error bars over training. */
async function withErrorBars(
  views: readonly RunView[],
  rows: Row[],
  title: string,
): Promise<string | undefined> {
  if (!hasValue(rows)) return undefined;
  return renderSvg({
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    encoding: { x: stepAxis(views), color: runColor(views) },
    layer: [
      {
        mark: { type: 'errorbar', ticks: true },
        encoding: {
          y: { field: 'lo', type: 'quantitative', title, scale: { zero: false } },
          y2: { field: 'hi' },
        },
      },
      {
        mark: { type: 'line', point: true },
        encoding: { y: { field: 'value', type: 'quantitative', title } },
      },
    ],
  } as TopLevelSpec);
}

/** Bounds of value ± stderr, null without an error bar. */
function bar(value: number, stderr: number | undefined): Row {
  const ok = Number.isFinite(value) && stderr !== undefined && Number.isFinite(stderr);
  return {
    value: finite(value),
    lo: ok ? value - stderr! : null,
    hi: ok ? value + stderr! : null,
  };
}

/** The trace with ±1 standard error. */
export function traceChart(views: readonly RunView[]): Promise<string | undefined> {
  const rows = perAnalysis(views, (a) =>
    a.report.trace ? bar(a.report.trace.estimate, a.report.trace.stderr) : undefined,
  );
  return withErrorBars(views, rows, 'trace');
}

/** The whole-model Gauss–Newton gap ‖H − G‖_F/‖G‖_F with ±1 standard error. */
export function gaussNewtonGapChart(views: readonly RunView[]): Promise<string | undefined> {
  const rows = perAnalysis(views, (a) =>
    a.report.gaussNewtonGap
      ? bar(a.report.gaussNewtonGap.ratio, a.report.gaussNewtonGap.stderr)
      : undefined,
  );
  return withErrorBars(views, rows, '‖H − G‖_F / ‖G‖_F');
}

/** Within-layer and cross-layer block mass ratios (±1 standard error) and the off-diagonal share. */
export async function blockRatioChart(views: readonly RunView[]): Promise<string | undefined> {
  const within = 'within-layer mass ratio';
  const cross = 'cross-layer mass ratio';
  const share = 'off-diagonal share';
  const rows = perAnalysis(views, (a) => {
    const b = a.report.blocks;
    if (b === undefined) return undefined;
    const out: Row[] = [];
    for (const [set, stats] of [
      [within, b.withinLayer],
      [cross, b.crossLayer],
    ] as const) {
      if (stats !== undefined && stats.pairs > 0) {
        out.push({ set, ...bar(stats.massRatio, stats.massRatioStderr) });
      }
    }
    out.push({ set: share, value: finite(b.offDiagonalRatio), lo: null, hi: null });
    return out;
  });
  if (!hasValue(rows)) return undefined;
  const sets = [within, cross, share].filter((s) =>
    rows.some((r) => r.set === s && r.value !== null),
  );
  return renderSvg({
    data: { values: rows },
    facet: { field: 'set', type: 'nominal', sort: sets, title: null },
    columns: 3,
    spec: {
      width: sets.length > 1 ? 230 : WIDTH,
      height: HEIGHT - 20,
      encoding: { x: stepAxis(views), color: runColor(views) },
      layer: [
        {
          mark: { type: 'errorbar', ticks: true },
          encoding: {
            y: { field: 'lo', type: 'quantitative', title: null, scale: { zero: false } },
            y2: { field: 'hi' },
          },
        },
        {
          mark: { type: 'line', point: true },
          encoding: { y: { field: 'value', type: 'quantitative', title: null } },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec);
}

/** The positive range of `values` (for a log colour scale), or undefined. */
export function positiveRange(values: Iterable<number | null>): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v !== null && v > 0 && Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  return hi >= lo ? [lo, hi] : undefined;
}

/**
 * The spectral density of one run as a heatmap: analyses (rows) × eigenvalue (columns), colour
 * on a log scale over `colorDomain` (shared by the runs of a page, so that they compare).
 */
export async function densityHeatmap(
  view: RunView,
  colorDomain: [number, number] | undefined,
  width = 420,
): Promise<string | undefined> {
  const grid = densityCells(view.analyses);
  if (grid === undefined || grid.cells.length === 0) return undefined;
  const labels = view.analyses.filter((a) => a.report.density !== undefined).map((a) => a.label);
  const [min, max] = grid.range;
  return renderSvg({
    width,
    height: Math.min(480, Math.max(90, 26 * labels.length)),
    config: { aria: false },
    layer: [
      {
        data: { values: grid.cells },
        mark: { type: 'rect' },
        encoding: {
          x: {
            field: 'lo',
            type: 'quantitative',
            title: 'eigenvalue λ',
            scale: { domain: [min, max], nice: false, zero: false },
          },
          x2: { field: 'hi' },
          y: { field: 'label', type: 'ordinal', sort: labels, title: null },
          color: {
            field: 'density',
            type: 'quantitative',
            scale: {
              type: 'log',
              scheme: 'viridis',
              ...(colorDomain === undefined ? {} : { domain: colorDomain }),
            },
            legend: { title: 'density', format: '.0e' },
          },
        },
      },
      ...(min < 0 && max > 0
        ? [
            {
              data: { values: [{ zero: 0 }] },
              mark: { type: 'rule', color: '#e15759', strokeDash: [4, 3] },
              encoding: { x: { field: 'zero', type: 'quantitative' } },
            },
          ]
        : []),
    ],
  } as TopLevelSpec);
}

/** The analyses of a run whose block heatmaps are drawn: up to `snapshots`, first to last. */
export function heatmapSnapshots(view: RunView, snapshots: number) {
  return spread(
    view.analyses
      .map((a) => ({ a, map: blockHeatmap(a.report) }))
      .filter((e): e is { a: Analysis; map: NonNullable<ReturnType<typeof blockHeatmap>> } =>
        Boolean(e.map),
      ),
    snapshots,
  );
}

/** Block heatmaps of |H| of one run at up to `snapshots` analyses; undefined without blocks. */
export async function blockHeatmaps(
  picked: ReturnType<typeof heatmapSnapshots>,
  colorDomains: ReadonlyMap<string, [number, number]>,
): Promise<string | undefined> {
  if (picked.length === 0) return undefined;
  const names: string[] = [];
  for (const { map } of picked) for (const n of map.names) if (!names.includes(n)) names.push(n);
  const quantities = [...new Set(picked.map((p) => p.map.quantity))];
  const rows: Row[] = picked.flatMap(({ a, map }) =>
    map.values.flatMap((row, i) =>
      row.map((value, j) => ({
        snapshot: `${a.label} · ${map.quantity}`,
        row: map.names[i],
        col: map.names[j],
        value: finite(value),
      })),
    ),
  );
  // One colour scale for the run (shared with the other runs) when it shows one quantity.
  const domain = quantities.length === 1 ? colorDomains.get(quantities[0]) : undefined;
  const n = names.length;
  const labelled = n <= 24;
  const side = Math.min(240, Math.max(120, 28 * n));
  const axis = (title: string) => ({
    field: title,
    type: 'ordinal',
    sort: names,
    title: labelled ? null : `${title === 'row' ? 'row' : 'column'} block (${n}, layout order)`,
    axis: labelled ? { labelLimit: 180 } : { labels: false, ticks: false },
  });
  const svg = await renderSvg({
    data: { values: rows },
    config: { aria: false },
    facet: {
      field: 'snapshot',
      type: 'ordinal',
      sort: picked.map(({ a, map }) => `${a.label} · ${map.quantity}`),
      title: null,
      header: { labelLimit: 300 },
    },
    columns: 2,
    spec: {
      width: side,
      height: side,
      encoding: { x: axis('col'), y: axis('row') },
      layer: [
        {
          transform: [{ filter: 'datum.value != null && datum.value <= 0' }],
          mark: { type: 'rect', color: '#dddddd' },
        },
        {
          transform: [{ filter: 'datum.value > 0' }],
          mark: { type: 'rect' },
          encoding: {
            color: {
              field: 'value',
              type: 'quantitative',
              scale: {
                type: 'log',
                scheme: 'viridis',
                ...(domain === undefined ? {} : { domain }),
              },
              legend: { title: '|H|', format: '.1e' },
            },
          },
        },
      ],
    },
    ...(quantities.length > 1 ? { resolve: { scale: { color: 'independent' } } } : {}),
  } as TopLevelSpec);
  return svg;
}

/** One run's per-layer metrics over training, one panel per metric, one colour per layer. */
export async function layerChart(view: RunView): Promise<string | undefined> {
  const metrics = [
    ['λmax', (l) => l.lambdaMax],
    ['λmin', (l) => l.lambdaMin],
    ['trace / parameters', (l) => l.tracePerParameter],
    ['effective rank', (l) => l.effectiveRank],
    ['negative fraction', (l) => l.negativeFraction],
    ['Gauss–Newton gap', (l) => l.gaussNewtonGap],
  ] as const satisfies readonly (readonly [
    string,
    (l: NonNullable<Analysis['report']['layers']>[number]) => number | undefined,
  ])[];
  const rows: Row[] = view.analyses.flatMap((a) =>
    (a.report.layers ?? []).flatMap((layer) =>
      metrics.map(([metric, get]) => ({
        x: a.x,
        layer: layer.name,
        metric,
        value: finite(get(layer)),
      })),
    ),
  );
  if (!hasValue(rows)) return undefined;
  const present = metrics
    .map(([m]) => m)
    .filter((m) => rows.some((r) => r.metric === m && r.value !== null));
  const layers = [...new Set(rows.map((r) => String(r.layer)))];
  return renderSvg({
    data: { values: rows.filter((r) => r.value !== null) },
    facet: { field: 'metric', type: 'nominal', sort: present, title: null },
    columns: 2,
    spec: {
      width: 190,
      height: 110,
      mark: { type: 'line', point: { size: 16 } },
      encoding: {
        x: { ...stepAxis([view]), title: 'step' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: {
          field: 'layer',
          type: 'nominal',
          sort: layers,
          scale: { scheme: 'dark2' },
          legend: { orient: 'bottom', columns: 3, labelLimit: 200 },
        },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec);
}
