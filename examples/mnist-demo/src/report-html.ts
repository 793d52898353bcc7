/**
 * A self-contained `report.html` from curvature reports: charts drawn by vega-lite + vega in
 * Node and inlined as SVG, a table of the reports, inline CSS, no script and no external
 * resource, so the page opens anywhere without a network.
 */
import type { CurvatureReport } from '@hessian-probe/core';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Options of {@link buildReportHtml}. */
export interface ReportHtmlOptions {
  /** Page title (default `'hessian-probe report'`). */
  title?: string;
  /** Lines shown under the title, e.g. the backend and the data (default none). */
  notes?: readonly string[];
}

/** One chart of the page: a heading, a sentence saying how to read it, and its SVG. */
export interface ReportChart {
  readonly title: string;
  readonly caption: string;
  readonly svg: string;
}

const WIDTH = 560;
const HEIGHT = 220;

/**
 * Renders a vega-lite spec to an SVG string in Node (vega's headless view, no canvas needed).
 *
 * @example
 * ```ts
 * const svg = await renderSvg({ data: { values }, mark: 'line', encoding: { … } });
 * ```
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A number for a chart: non-finite values become null, which vega-lite leaves out. */
function finite(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}

/** "epoch 3 (step 375)": how an analysis is named on the page. */
function analysisLabel(report: CurvatureReport): string {
  return `epoch ${report.epoch} (step ${report.step})`;
}

/**
 * The charts of the page, in order: the spectral density at each analysis (log scale), then
 * over training λmax, the trace with ±1 standard error, the block off-diagonal ratio, each
 * layer's λmax and the loss on the probe set. A chart whose section no report has is left out.
 */
export async function reportCharts(reports: readonly CurvatureReport[]): Promise<ReportChart[]> {
  const charts: ReportChart[] = [];
  const ordered = [...reports].sort((a, b) => a.step - b.step || a.epoch - b.epoch);
  const labels = ordered.map(analysisLabel);
  const timeline = ordered.map((r) => ({
    step: r.step,
    epoch: r.epoch,
    lambdaMax: finite(r.eigen?.values[0]),
    trace: finite(r.trace?.estimate),
    traceLow: finite(r.trace ? r.trace.estimate - r.trace.stderr : undefined),
    traceHigh: finite(r.trace ? r.trace.estimate + r.trace.stderr : undefined),
    offDiagonalRatio: finite(r.blocks?.offDiagonalRatio),
    loss: finite(r.loss),
  }));

  const step = { field: 'step', type: 'quantitative', title: 'optimizer step' } as const;
  const lineOverTraining = (field: string, title: string, extra: object = {}): TopLevelSpec => ({
    width: WIDTH,
    height: HEIGHT,
    data: { values: timeline },
    mark: { type: 'line', point: true },
    encoding: { x: step, y: { field, type: 'quantitative', title, ...extra } },
  });

  const withDensity = ordered.filter((r) => r.density !== undefined);
  if (withDensity.length > 0) {
    const values = withDensity.flatMap((r) => {
      const density = r.density!;
      const peak = Math.max(...density.values.filter(Number.isFinite));
      // A log scale cannot show 0: values below 1e-6 of the curve's peak are drawn at that floor.
      const floor = peak > 0 ? peak * 1e-6 : 1e-12;
      return density.grid.map((x, i) => ({
        analysis: analysisLabel(r),
        eigenvalue: finite(x),
        density: finite(Math.max(density.values[i], floor)),
      }));
    });
    charts.push({
      title: 'Spectral density at each analysis',
      caption:
        'Smoothed eigenvalue density of the curvature matrix by stochastic Lanczos quadrature (log scale, floor at 1e-6 of each peak). Mass left of 0 is negative curvature; isolated bumps on the right are outlier eigenvalues.',
      svg: await renderSvg({
        width: WIDTH,
        height: HEIGHT + 60,
        data: { values },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'eigenvalue', type: 'quantitative', title: 'eigenvalue λ' },
          y: { field: 'density', type: 'quantitative', scale: { type: 'log' }, title: 'density' },
          color: {
            field: 'analysis',
            type: 'ordinal',
            sort: labels,
            scale: { scheme: 'viridis' },
            title: 'analysis',
          },
        },
      }),
    });
  }
  if (timeline.some((t) => t.lambdaMax !== null)) {
    charts.push({
      title: 'Largest eigenvalue λmax over training',
      caption: 'Top eigenvalue of the curvature matrix on the probe set (thick-restart Lanczos).',
      svg: await renderSvg(lineOverTraining('lambdaMax', 'λmax')),
    });
  }
  if (timeline.some((t) => t.trace !== null)) {
    charts.push({
      title: 'Trace over training',
      caption:
        'Hutch++ estimate of the trace (the sum of all eigenvalues), with ±1 standard error.',
      svg: await renderSvg({
        width: WIDTH,
        height: HEIGHT,
        data: { values: timeline },
        encoding: { x: step },
        layer: [
          {
            mark: { type: 'errorbar', ticks: true },
            encoding: {
              y: { field: 'traceLow', type: 'quantitative', title: 'trace' },
              y2: { field: 'traceHigh' },
            },
          },
          {
            mark: { type: 'line', point: true },
            encoding: { y: { field: 'trace', type: 'quantitative' } },
          },
        ],
      }),
    });
  }
  if (timeline.some((t) => t.offDiagonalRatio !== null)) {
    charts.push({
      title: 'Block off-diagonal ratio over training',
      caption:
        'Share of the squared Frobenius norm in off-diagonal blocks (0 = block-diagonal across layers).',
      svg: await renderSvg(
        lineOverTraining('offDiagonalRatio', 'off-diagonal ratio', { scale: { domain: [0, 1] } }),
      ),
    });
  }
  const layerRows = ordered.flatMap((r) =>
    (r.layers ?? []).map((l) => ({ step: r.step, layer: l.name, lambdaMax: finite(l.lambdaMax) })),
  );
  if (layerRows.length > 0) {
    charts.push({
      title: 'Per-layer λmax over training',
      caption: "Largest eigenvalue of each layer's own diagonal block of the curvature matrix.",
      svg: await renderSvg({
        width: WIDTH,
        height: HEIGHT,
        data: { values: layerRows },
        mark: { type: 'line', point: true },
        encoding: {
          x: step,
          y: { field: 'lambdaMax', type: 'quantitative', title: 'layer λmax' },
          color: { field: 'layer', type: 'nominal', title: 'layer' },
        },
      }),
    });
  }
  if (timeline.some((t) => t.loss !== null)) {
    charts.push({
      title: 'Loss on the probe set',
      caption: 'The loss the curvature is taken of, at each analysis.',
      svg: await renderSvg(lineOverTraining('loss', 'loss')),
    });
  }
  return charts;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** `text` safe inside HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A number for the table: 4 significant digits, or '—' when absent. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined) return '—';
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  return magnitude >= 1e-3 && magnitude < 1e5 ? value.toPrecision(4) : value.toExponential(3);
}

/**
 * The whole page for `reports` (any order; charts and table follow the optimizer step).
 *
 * @throws RangeError when `reports` is empty.
 *
 * @example
 * ```ts
 * const html = await buildReportHtml(await readReports('out/reports.jsonl'), { title: 'MNIST' });
 * await writeTextAtomic('out/report.html', html); // from @hessian-probe/example-kit
 * ```
 */
export async function buildReportHtml(
  reports: readonly CurvatureReport[],
  options: ReportHtmlOptions = {},
): Promise<string> {
  if (reports.length === 0) throw new RangeError('buildReportHtml: expected at least one report');
  const { title = 'hessian-probe report', notes = [] } = options;
  const ordered = [...reports].sort((a, b) => a.step - b.step || a.epoch - b.epoch);
  const first = ordered[0];
  const charts = await reportCharts(ordered);
  const facts = [
    `model ${first.model.name}, ${first.model.parameterCount.toLocaleString('en-US')} parameters`,
    `${first.kind === 'ggn' ? 'generalized Gauss–Newton' : 'Hessian'} of the loss on ${first.probe.size} probe examples (seed ${first.probe.seed})`,
    `${ordered.length} analyses, ${ordered.reduce((s, r) => s + r.matvecs, 0)} matrix-vector products, ${ordered.reduce((s, r) => s + r.seconds, 0).toFixed(1)} s`,
    ...notes,
  ];
  const rows = ordered.map((r) =>
    [
      String(r.epoch),
      String(r.step),
      formatNumber(r.loss),
      formatNumber(r.eigen?.values[0]),
      r.trace ? `${formatNumber(r.trace.estimate)} ± ${formatNumber(r.trace.stderr)}` : '—',
      formatNumber(r.density?.negativeFraction),
      formatNumber(r.blocks?.offDiagonalRatio),
      `${r.seconds.toFixed(2)} s`,
    ]
      .map((cell) => `<td>${escapeHtml(cell)}</td>`)
      .join(''),
  );
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>',
    'body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 980px; padding: 0 1rem; color: #222; }',
    'h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }',
    'p.caption { color: #555; margin: 0.2rem 0 0.6rem; }',
    'ul.facts { color: #444; padding-left: 1.2rem; }',
    'table { border-collapse: collapse; margin-top: 1rem; } td, th { padding: 0.25rem 0.6rem; text-align: right; border-bottom: 1px solid #ddd; }',
    'th { background: #f4f4f4; } figure { margin: 0; } svg { max-width: 100%; height: auto; }',
    '</style>',
    '</head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<ul class="facts">${facts.map((f) => `<li>${escapeHtml(f)}</li>`).join('')}</ul>`,
    ...charts.map(
      (c) =>
        `<section><h2>${escapeHtml(c.title)}</h2><p class="caption">${escapeHtml(c.caption)}</p><figure>${c.svg}</figure></section>`,
    ),
    '<section><h2>Reports</h2>',
    '<table><thead><tr><th>epoch</th><th>step</th><th>loss</th><th>λmax</th><th>trace</th><th>negative mass</th><th>off-diagonal ratio</th><th>time</th></tr></thead>',
    `<tbody>${rows.map((r) => `<tr>${r}</tr>`).join('')}</tbody></table>`,
    '</section>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
