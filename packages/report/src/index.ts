/**
 * `@hessian-probe/report`: one self-contained HTML page from curvature reports.
 *
 * {@link renderReportHtml} draws runs of `CurvatureReport`s (the callback's history, or JSON
 * Lines files read with {@link readRuns}) as inline SVG charts and tables: the spectral density
 * over training, block heatmaps of |H|, λmax / λmin / top-k, the trace with error bars, block
 * mass ratios, per-layer spectra, Kronecker and class-hierarchy sections, several runs side by
 * side. The page needs no network and runs no script. The `hessian-probe report` command of
 * `@hessian-probe/onnx-adapter` is this package on the command line.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * import { readRuns, renderReportHtml } from '@hessian-probe/report';
 * const runs = await readRuns(['out/reports.jsonl']);
 * await writeFile('report.html', await renderReportHtml(runs, { title: 'MNIST MLP' }));
 * ```
 *
 * @packageDocumentation
 */
export { escapeHtml, formatNumber } from './html.js';
export {
  parseReports,
  type ReadRunOptions,
  ReportReadError,
  readRun,
  readRuns,
  runNames,
} from './read.js';
export { renderReportHtml, SECTION_IDS } from './render.js';
export type { RenderReportOptions, ReportRun, RunMetric } from './types.js';
