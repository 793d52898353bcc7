/**
 * The page: one self-contained HTML string (inline CSS and SVG, no script, no external
 * resource) with a section per kind of result, each left out when no report has it.
 */
import {
  type CurvatureReport,
  type CurvatureReportInput,
  normalizeReport,
  OptionError,
} from '@hessian-probe/core';
import {
  blockHeatmaps,
  blockRatioChart,
  densityHeatmap,
  eigenChart,
  gaussNewtonGapChart,
  heatmapSnapshots,
  lambdaMinChart,
  layerChart,
  lossChart,
  positiveRange,
  traceChart,
} from './charts.js';
import { DENSITY_CUTOFF, densityCells, type RunView, runViews } from './data.js';
import { type Cell, escapeHtml, formatNumber, swatch, table, textCell, withError } from './html.js';
import type { RenderReportOptions, ReportRun } from './types.js';

/** A section of the page, or the reason it is left out. */
interface Section {
  readonly id: string;
  readonly title: string;
  /** Set when no report has the data: "density (no report has a density section)". */
  readonly absent?: string;
  readonly html?: string;
}

/**
 * The ids of the page's sections, in page order: each is the `id` of a `<section>` (a link
 * target such as `report.html#blocks`), present when some report has its data.
 *
 * @example
 * ```ts
 * SECTION_IDS.includes('blocks'); // true
 * ```
 */
export const SECTION_IDS = [
  'overview',
  'loss',
  'density',
  'eigen',
  'lambda-min',
  'trace',
  'blocks',
  'block-ratios',
  'layers',
  'gauss-newton',
  'kronecker',
  'classes',
  'analyses',
] as const;

/**
 * Renders runs of curvature reports into one self-contained HTML page: charts are vega-lite
 * specs drawn to SVG in Node and inlined, with inline CSS, no script and nothing fetched when
 * the page is opened. Sections (left out, and listed as such, when no report has them):
 *
 * - overview of the runs; loss on the probe set (and any {@link ReportRun.metrics}, e.g.
 *   accuracy, which reports do not carry);
 * - spectral density over training, a heatmap of analyses × eigenvalue per run;
 * - λmax and the top-k eigenvalues; λmin; the trace with ±1 standard error;
 * - block heatmaps of |H| (Dong et al. 2025) and the within-/cross-layer block mass ratios;
 * - per-layer spectra; Gauss–Newton gap and layer coupling; Kronecker factors; class
 *   hierarchy; a table of every analysis.
 *
 * Several runs are drawn side by side: one colour per run on shared charts, one column per run
 * for per-run pictures and tables. All text from reports and options is escaped.
 *
 * @param input - Runs, or the reports of a single run (named after the model).
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when there is no run, a run
 *   has no report or a run name is not a non-empty string; `ReportFormatError` (core) naming the
 *   field of a malformed report.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * import { readRuns, renderReportHtml } from '@hessian-probe/report';
 * const runs = await readRuns(['runs/adam.jsonl', 'runs/sgd.jsonl']);
 * const html = await renderReportHtml(runs, { title: 'Adam vs SGD' });
 * await writeFile('report.html', html);
 * ```
 */
export async function renderReportHtml(
  input: readonly ReportRun[] | readonly CurvatureReport[],
  options: RenderReportOptions = {},
): Promise<string> {
  const runs = checkRuns(input);
  const { title = 'hessian-probe report', notes = [], heatmapSnapshots = 4 } = options;
  if (!Number.isSafeInteger(heatmapSnapshots) || heatmapSnapshots < 1) {
    throw new OptionError(
      `renderReportHtml: expected heatmapSnapshots to be an integer >= 1, got ${heatmapSnapshots}`,
    );
  }
  const views = runViews(runs);
  const sections: Section[] = [
    overviewSection(views),
    await lossSection(views),
    await densitySection(views),
    await eigenSection(views),
    await lambdaMinSection(views),
    await traceSection(views),
    await blocksSection(views, heatmapSnapshots),
    await blockRatiosSection(views),
    await layersSection(views),
    await gaussNewtonSection(views),
    kroneckerSection(views),
    classesSection(views),
    analysesSection(views),
  ];
  const shown = sections.filter((s) => s.html !== undefined);
  const absent = sections.filter((s) => s.absent !== undefined).map((s) => s.absent!);
  return page(title, notes, shown, absent, views.length);
}

/** The input as runs, each report checked (and copied) by core's normalizeReport. */
function checkRuns(input: readonly ReportRun[] | readonly CurvatureReport[]): ReportRun[] {
  if (!Array.isArray(input) || input.length === 0) {
    throw new OptionError('renderReportHtml: expected at least one run or report, got none');
  }
  const isRun = (x: unknown): x is ReportRun =>
    typeof x === 'object' && x !== null && 'reports' in x && Array.isArray(x.reports);
  const runs: readonly ReportRun[] = input.every(isRun)
    ? (input as readonly ReportRun[])
    : [
        {
          name: (input[0] as CurvatureReport)?.model?.name ?? 'run',
          reports: input as readonly CurvatureReport[],
        },
      ];
  const seen = new Map<string, number>();
  return runs.map((run, i) => {
    if (typeof run.name !== 'string' || run.name === '') {
      throw new OptionError(
        `renderReportHtml: expected run ${i}'s name to be a non-empty string, got ${String(run.name)}`,
      );
    }
    if (run.reports.length === 0) {
      throw new OptionError(
        `renderReportHtml: expected run '${run.name}' to have reports, got none`,
      );
    }
    const count = (seen.get(run.name) ?? 0) + 1;
    seen.set(run.name, count);
    return {
      ...run,
      name: count === 1 ? run.name : `${run.name} (${count})`,
      reports: run.reports.map((r) => normalizeReport(r as CurvatureReportInput)),
    };
  });
}

const any = (views: readonly RunView[], has: (r: CurvatureReport) => boolean) =>
  views.some((v) => v.analyses.some((a) => has(a.report)));

function section(id: string, title: string, caption: string, body: string): Section {
  return {
    id,
    title,
    html: `<section id="${id}"><h2>${escapeHtml(title)}</h2><p class="caption">${escapeHtml(caption)}</p>${body}</section>`,
  };
}

function absentSection(id: string, title: string, why: string): Section {
  return { id, title, absent: `${title}: ${why}` };
}

function figure(svg: string): string {
  return `<figure>${svg}</figure>`;
}

/** One column per run, with the run's colour and name on top. */
function columns(views: readonly RunView[], body: (v: RunView) => string | undefined): string {
  const cells = views.map((v) => {
    const content = body(v) ?? '<p class="none">Not in this run’s reports.</p>';
    return `<div class="run"><h3>${swatch(v.color)}${escapeHtml(v.name)}</h3>${content}</div>`;
  });
  return `<div class="runs">${cells.join('')}</div>`;
}

/** As {@link columns}, for asynchronous content. */
async function columnsAsync(
  views: readonly RunView[],
  body: (v: RunView) => Promise<string | undefined>,
): Promise<string> {
  const contents: (string | undefined)[] = [];
  for (const v of views) contents.push(await body(v));
  return columns(views, (v) => contents[views.indexOf(v)]);
}

/** The last analysis of a run that has the section, with its label. */
function lastWith<T>(
  v: RunView,
  get: (r: CurvatureReport) => T | undefined,
): { value: T; label: string } | undefined {
  for (let i = v.analyses.length - 1; i >= 0; i--) {
    const value = get(v.analyses[i].report);
    if (value !== undefined) return { value, label: v.analyses[i].label };
  }
  return undefined;
}

function sectionList(r: CurvatureReport): string {
  const keys = [
    'eigen',
    'lambdaMin',
    'trace',
    'density',
    'blocks',
    'layers',
    'layerCoupling',
    'gaussNewtonGap',
    'kronecker',
    'classes',
  ] as const;
  return keys.filter((k) => r[k] !== undefined).join(', ');
}

function overviewSection(views: readonly RunView[]): Section {
  const rows = views.map((v) => {
    const first = v.analyses[0].report;
    const steps = v.analyses.map((a) => a.report.step);
    const sections = [...new Set(v.analyses.map((a) => sectionList(a.report)))];
    return [
      { text: v.name, left: true, swatch: v.color },
      textCell(v.source ?? '—'),
      textCell(first.model.name),
      first.model.parameterCount.toLocaleString('en-US'),
      textCell(first.kind === 'ggn' ? 'Gauss–Newton' : 'Hessian'),
      `${first.probe.size} (seed ${first.probe.seed})`,
      String(v.analyses.length),
      `${Math.min(...steps)}–${Math.max(...steps)}`,
      v.analyses.reduce((s, a) => s + a.report.matvecs, 0).toLocaleString('en-US'),
      `${v.analyses.reduce((s, a) => s + a.report.seconds, 0).toFixed(1)} s`,
      textCell(sections.join(' | ')),
    ] satisfies Cell[];
  });
  const headers: Cell[] = [
    textCell('run'),
    textCell('file'),
    textCell('model'),
    'parameters',
    textCell('curvature'),
    'probe examples',
    'analyses',
    'steps',
    'products',
    'analysis time',
    textCell('sections'),
  ];
  const html = table(headers, rows);
  return {
    id: 'overview',
    title: 'Runs',
    html: `<section id="overview"><h2>Runs</h2>${html}</section>`,
  };
}

async function lossSection(views: readonly RunView[]): Promise<Section> {
  const title = 'Loss over training';
  const svg = await lossChart(views);
  if (svg === undefined) return absentSection('loss', title, 'no finite loss in any report');
  const metrics = [...new Set(views.flatMap((v) => v.metrics.map((m) => m.name)))];
  const caption =
    'The loss on the probe set, the batch the curvature is taken on, at each analysis. ' +
    (metrics.length === 0
      ? 'Reports carry no accuracy (it is not a CurvatureReport field), so none is shown.'
      : `Reports carry no accuracy (it is not a CurvatureReport field); ${metrics.join(', ')} came with the runs, from training.`);
  return section('loss', title, caption, figure(svg));
}

async function densitySection(views: readonly RunView[]): Promise<Section> {
  const title = 'Spectral density over training';
  if (!any(views, (r) => r.density !== undefined)) {
    return absentSection('density', title, 'no report has a density section');
  }
  // One colour scale for every run: densities integrate to 1, so their values compare.
  const domain = positiveRange(
    views.flatMap((v) => densityCells(v.analyses)?.cells.map((c) => c.density) ?? []),
  );
  const body = await columnsAsync(views, async (v) => {
    const svg = await densityHeatmap(v, domain, views.length === 1 ? 640 : 420);
    return svg === undefined ? undefined : figure(svg);
  });
  return section(
    'density',
    title,
    `Stochastic Lanczos quadrature estimate of the eigenvalue density, one row per analysis, colour on a log scale. Mass left of the dashed line at 0 is negative curvature; isolated bright cells on the right are outlier eigenvalues. Blank: outside the analysis's eigenvalue range, or below ${DENSITY_CUTOFF.toExponential(0)} of its peak (left out, not drawn at a floor).`,
    body,
  );
}

async function eigenSection(views: readonly RunView[]): Promise<Section> {
  const title = 'λmax and the top-k eigenvalues';
  const svg = await eigenChart(views);
  if (svg === undefined) return absentSection('eigen', title, 'no report has an eigen section');
  return section(
    'eigen',
    title,
    'The largest eigenvalues of the curvature matrix on the probe set (thick-restart Lanczos): λmax thick, λ2…λk thin.',
    figure(svg),
  );
}

async function lambdaMinSection(views: readonly RunView[]): Promise<Section> {
  const title = 'Smallest eigenvalue λmin';
  const svg = await lambdaMinChart(views);
  if (svg === undefined) {
    return absentSection('lambda-min', title, 'no report has a lambdaMin or density section');
  }
  const analysis = any(views, (r) => r.lambdaMin !== undefined);
  return section(
    'lambda-min',
    title,
    (analysis
      ? 'Solid: λmin from the lambdaMin analysis (Lanczos on the lower end). '
      : 'No report has the lambdaMin analysis. ') +
      'Dashed: the smallest Ritz value of the density analysis, an upper bound on λmin. Below the dotted line at 0: negative curvature.',
    figure(svg),
  );
}

async function traceSection(views: readonly RunView[]): Promise<Section> {
  const title = 'Trace over training';
  const svg = await traceChart(views);
  if (svg === undefined) return absentSection('trace', title, 'no report has a trace section');
  const blocks = any(views, (r) => r.trace?.blocks !== undefined)
    ? columns(views, (v) => {
        const found = lastWith(v, (r) => r.trace?.blocks);
        if (found === undefined) return undefined;
        return table(
          [textCell('block'), 'trace ± se'],
          found.value.map((b) => [textCell(b.name), withError(b.estimate, b.stderr)]),
          `Per-block traces at ${found.label}`,
        );
      })
    : '';
  return section(
    'trace',
    title,
    'The trace (sum of all eigenvalues; Hutchinson / Hutch++, or second differences of the loss) with error bars of ±1 standard error.',
    figure(svg) + blocks,
  );
}

async function blocksSection(views: readonly RunView[], snapshots: number): Promise<Section> {
  const title = 'Block heatmap of |H|';
  if (!any(views, (r) => r.blocks !== undefined)) {
    return absentSection('blocks', title, 'no report has a blocks section');
  }
  const picked = views.map((v) => heatmapSnapshots(v, snapshots));
  // One colour scale per quantity over every run, so that the runs compare.
  const domains = new Map<string, [number, number]>();
  for (const quantity of new Set(picked.flat().map((p) => p.map.quantity))) {
    const range = positiveRange(
      picked.flat().flatMap((p) => (p.map.quantity === quantity ? p.map.values.flat() : [])),
    );
    if (range !== undefined) domains.set(quantity, range);
  }
  const body = await columnsAsync(views, async (v) => {
    const svg = await blockHeatmaps(picked[views.indexOf(v)], domains);
    return svg === undefined ? undefined : figure(svg);
  });
  return section(
    'blocks',
    title,
    `The curvature matrix cut into blocks (by layer, tensor, output unit or class, as the blocks analysis was asked), one cell per block pair, colour on a log scale; grey cells are exactly 0. A near block-diagonal matrix has its mass on the diagonal (Dong et al. 2025, arXiv 2505.02809). "mean |H|": the exact mean |H_rc| over the pair (the matrix was assembled); "RMS |H|": ‖H_ij‖_F/√(n_i n_j) from the probed squared norms (at least the mean |H|); "‖H_ij‖_F / max": the probed norm relative to the largest, when the block sizes are unknown. At most ${snapshots} analyses per run, from the first to the last.`,
    body,
  );
}

async function blockRatiosSection(views: readonly RunView[]): Promise<Section> {
  const title = 'Block mass ratios';
  const svg = await blockRatioChart(views);
  if (svg === undefined)
    return absentSection('block-ratios', title, 'no report has a blocks section');
  const noWithin = !any(views, (r) => (r.blocks?.withinLayer?.pairs ?? 0) > 0);
  return section(
    'block-ratios',
    title,
    `Σ‖H_ij‖²_F over off-diagonal block pairs within one layer, and across layers, divided by Σ‖H_ii‖²_F over the diagonal blocks, with ±1 standard error (delta method; 0 when exact); and the off-diagonal share of Σ‖H_ij‖²_F (0: block-diagonal).${noWithin ? ' No report has within-layer pairs (blocks cut by layer have none).' : ''}`,
    figure(svg),
  );
}

type Layer = NonNullable<CurvatureReport['layers']>[number];

async function layersSection(views: readonly RunView[]): Promise<Section> {
  const title = 'Per-layer spectra';
  if (!any(views, (r) => r.layers !== undefined && r.layers.length > 0)) {
    return absentSection('layers', title, 'no report has a layers section');
  }
  const body = await columnsAsync(views, async (v) => {
    const found = lastWith(v, (r) => (r.layers && r.layers.length > 0 ? r.layers : undefined));
    if (found === undefined) return undefined;
    const svg = await layerChart(v);
    const row = (l: Layer): Cell[] => [
      textCell(l.name),
      textCell(l.method === undefined ? '—' : String(l.method)),
      formatNumber(l.lambdaMax),
      formatNumber(l.lambdaMin),
      withError(l.trace, l.traceStderr),
      formatNumber(l.tracePerParameter),
      formatNumber(l.negativeFraction),
      formatNumber(l.effectiveRank),
      formatNumber(l.participationRatio),
      formatNumber(l.stableRank),
      l.outlierCount === undefined ? '—' : String(l.outlierCount),
      withError(l.gaussNewtonGap, l.gaussNewtonGapStderr),
    ];
    const headers: Cell[] = [
      textCell('layer'),
      textCell('method'),
      'λmax',
      'λmin',
      'trace ± se',
      'trace / P',
      'neg. fraction',
      'eff. rank',
      'participation',
      'stable rank',
      'outliers',
      'GN gap',
    ];
    return (
      (svg === undefined ? '' : figure(svg)) +
      table(headers, found.value.map(row), `At ${found.label}`)
    );
  });
  return section(
    'layers',
    title,
    "The spectrum of each layer's own diagonal block of the curvature matrix (Bolshim & Kugaevskikh 2025): exact eigenvalues for small layers, stochastic Lanczos quadrature otherwise (λmax then a lower bound, λmin an upper bound). The Gauss–Newton gap is ‖H_ll − G_ll‖_F/‖G_ll‖_F.",
    body,
  );
}

async function gaussNewtonSection(views: readonly RunView[]): Promise<Section> {
  const title = 'Gauss–Newton gap and layer coupling';
  const hasGap = any(views, (r) => r.gaussNewtonGap !== undefined);
  const hasCoupling = any(views, (r) => r.layerCoupling !== undefined);
  if (!hasGap && !hasCoupling) {
    return absentSection(
      'gauss-newton',
      title,
      'no report has a gaussNewtonGap or layerCoupling section',
    );
  }
  const svg = hasGap ? await gaussNewtonGapChart(views) : undefined;
  const coupling = hasCoupling
    ? columns(views, (v) => {
        const found = lastWith(v, (r) => r.layerCoupling);
        if (found === undefined) return undefined;
        const { names, normalized } = found.value;
        return table(
          [textCell('layer'), ...names.map((n) => n)],
          normalized.map((row, i) => [textCell(names[i]), ...row.map((x) => formatNumber(x))]),
          `Normalised coupling ‖H_vw‖_F/√(‖H_vv‖_F ‖H_ww‖_F) at ${found.label}`,
        );
      })
    : '';
  return section(
    'gauss-newton',
    title,
    'How far the Hessian is from its Gauss–Newton part over the whole model, ‖H − G‖_F/‖G‖_F with ±1 standard error, and how strongly layers are coupled (1 on the diagonal, 0 for uncoupled layers).',
    (svg === undefined ? '' : figure(svg)) + coupling,
  );
}

function kroneckerSection(views: readonly RunView[]): Section {
  const title = 'Kronecker factors of layer Hessians';
  if (!any(views, (r) => r.kronecker !== undefined && r.kronecker.length > 0)) {
    return absentSection('kronecker', title, 'no report has a kronecker section');
  }
  const body = columns(views, (v) => {
    const found = lastWith(v, (r) => (r.kronecker?.length ? r.kronecker : undefined));
    if (found === undefined) return undefined;
    return table(
      [
        textCell('layer'),
        textCell('kind'),
        textCell('method'),
        textCell('E[M] exact'),
        'relative error ± se',
        'top-k overlap',
        'rank-1 energy',
        'input dominance',
        'outliers',
      ],
      found.value.map((l) => [
        textCell(l.name),
        textCell(String(l.kind)),
        textCell(String(l.method)),
        textCell(l.exact ? 'yes' : 'no (Gauss–Newton part)'),
        withError(l.relativeError, l.relativeErrorStderr),
        formatNumber(l.overlap),
        formatNumber(l.rank1Energy),
        formatNumber(l.inputDominance),
        String(l.outliers),
      ]),
      `At ${found.label}`,
    );
  });
  return section(
    'kronecker',
    title,
    "How close each layer's Hessian block H_L is to the Kronecker product K = E[M] ⊗ E[x̃x̃ᵀ] (Wu et al., arXiv 2010.04261): relative error ‖H_L − K‖_F/‖H_L‖_F, overlap of their top-k eigenspaces, rank-1 energy of H_L's top eigenvector reshaped to the weight, λ1/λ2 of the input factor, and the count of E[M]'s outlier eigenvalues.",
    body,
  );
}

function classesSection(views: readonly RunView[]): Section {
  const title = 'Class hierarchy of the Gauss–Newton matrix';
  if (!any(views, (r) => r.classes !== undefined)) {
    return absentSection('classes', title, 'no report has a classes section');
  }
  const list = (values: readonly number[], n = 6) =>
    values.slice(0, n).map(formatNumber).join(', ') + (values.length > n ? ', …' : '');
  const body = columns(views, (v) => {
    const found = lastWith(v, (r) => r.classes);
    if (found === undefined) return undefined;
    const c = found.value;
    const rows: Cell[][] = [
      [textCell('classes C'), String(c.classes)],
      [textCell('tr G ± se'), withError(c.trace, c.traceStderr)],
      [
        textCell('trace fractions G₀ / G₁ / G₂ / G₃'),
        [c.traceFractions.g0, c.traceFractions.g1, c.traceFractions.g2, c.traceFractions.g3]
          .map(formatNumber)
          .join(' / '),
      ],
      [textCell(`class-mean overlap with G's top ${c.overlapK}`), formatNumber(c.classMeanOverlap)],
      [
        textCell(`class-mean overlap with H's top ${c.overlapK}`),
        formatNumber(c.classMeanOverlapHessian),
      ],
      ...c.eigengaps.map((g): Cell[] => [
        textCell(`eigengap λ${g.position}/λ${g.position + 1} of G`),
        formatNumber(g.ratio),
      ]),
      [textCell('top eigenvalues of G'), list(c.gaussNewtonValues)],
      [textCell('top eigenvalues of H'), c.hessianValues ? list(c.hessianValues) : '—'],
      [textCell('eigenvalues of G₁ (class means)'), list(c.level1Values)],
      [textCell('largest eigenvalues of G₂ (class pairs)'), list(c.level2Values)],
    ];
    return table([textCell('quantity'), 'value'], rows, `At ${found.label}`);
  });
  return section(
    'classes',
    title,
    "Papyan's three-level decomposition of the Gauss–Newton matrix G: the share of its trace in class means (G₁), class pairs (G₂), within-class variation (G₃) and G₀; how well the span of the class means matches the top eigenspace; the eigengaps at C − 1 and C.",
    body,
  );
}

function analysesSection(views: readonly RunView[]): Section {
  const body = columns(views, (v) =>
    table(
      [
        'epoch',
        'step',
        'loss',
        'λmax',
        'λmin',
        'trace ± se',
        'neg. fraction',
        'off-diagonal',
        'products',
        'time',
      ],
      v.analyses.map(({ report: r }) => [
        String(r.epoch),
        String(r.step),
        formatNumber(r.loss),
        formatNumber(r.eigen?.values[0]),
        formatNumber(r.lambdaMin?.value),
        r.trace ? withError(r.trace.estimate, r.trace.stderr) : '—',
        formatNumber(r.density?.negativeFraction),
        formatNumber(r.blocks?.offDiagonalRatio),
        String(r.matvecs),
        `${r.seconds.toFixed(2)} s`,
      ]),
    ),
  );
  return section(
    'analyses',
    'Every analysis',
    'One row per report, in time order; — where the report has no such section.',
    body,
  );
}

const CSS = `
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1280px; padding: 0 1rem; color: #222; background: #fff; }
h1 { font-size: 1.5rem; margin-bottom: 0.3rem; } h2 { font-size: 1.15rem; margin: 2.2rem 0 0.2rem; } h3 { font-size: 1rem; margin: 0.6rem 0 0.3rem; }
p.caption { color: #555; margin: 0.2rem 0 0.8rem; max-width: 75rem; }
ul.notes, ul.absent { color: #444; padding-left: 1.2rem; margin: 0.3rem 0; }
p.none { color: #777; font-style: italic; }
.runs { display: grid; grid-template-columns: repeat(var(--columns), minmax(0, 1fr)); gap: 1.5rem; }
.run { min-width: 0; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px; margin-right: 0.4em; vertical-align: -0.05em; }
.table { overflow-x: auto; margin: 0.6rem 0 1rem; }
table { border-collapse: collapse; font-size: 0.88rem; }
caption { text-align: left; color: #555; padding-bottom: 0.3rem; }
td, th { padding: 0.2rem 0.55rem; text-align: right; border-bottom: 1px solid #e2e2e2; white-space: nowrap; }
td.left, th.left { text-align: left; }
td.left { white-space: normal; min-width: 4rem; }
th { background: #f4f4f4; font-weight: 600; }
figure { margin: 0.4rem 0; overflow-x: auto; }
svg { max-width: 100%; height: auto; }
`;

function page(
  title: string,
  notes: readonly string[],
  sections: readonly Section[],
  absent: readonly string[],
  runCount: number,
): string {
  const nav = sections.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join(' · ');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="@hessian-probe/report">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}:root { --columns: ${Math.min(runCount, 3)}; }</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    notes.length > 0
      ? `<ul class="notes">${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`
      : '',
    `<nav>${nav}</nav>`,
    absent.length > 0
      ? `<p class="caption">Not in these reports (their analyses did not run):</p><ul class="absent">${absent.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul>`
      : '',
    ...sections.map((s) => s.html!),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
