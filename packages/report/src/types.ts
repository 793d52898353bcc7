/** The inputs of the page: runs of reports, training-side numbers and the page options. */
import type { CurvatureReport } from '@hessian-probe/core';

/**
 * A number measured during training that reports do not carry (a `CurvatureReport` has the
 * loss on the probe set, not accuracy), e.g. the training accuracy of `fit()`'s logs.
 *
 * @example
 * ```ts
 * const metric: RunMetric = { name: 'training accuracy', step: 79, value: 0.797 };
 * ```
 */
export interface RunMetric {
  /** What it is, e.g. `'training accuracy'`; one chart panel per name. */
  readonly name: string;
  /** The optimizer step it belongs to (the reports' `step`). */
  readonly step: number;
  /** Its value; non-finite values are left out of the chart. */
  readonly value: number;
}

/**
 * One training run: its reports (any order; drawn by timestamp) and a name for the page.
 *
 * @example
 * ```ts
 * const run: ReportRun = { name: 'adam', reports: [report], source: 'runs/adam.jsonl' };
 * ```
 */
export interface ReportRun {
  /** The run's name on the page (legends, column headings). */
  readonly name: string;
  /** Its reports, at least one. */
  readonly reports: readonly CurvatureReport[];
  /** Where the reports came from (e.g. the JSONL file), shown in the overview. */
  readonly source?: string;
  /** Training-side numbers drawn next to the loss (e.g. accuracy from `fit()` logs). */
  readonly metrics?: readonly RunMetric[];
}

/**
 * Options of {@link renderReportHtml}.
 *
 * @example
 * ```ts
 * const options: RenderReportOptions = { title: 'MNIST MLP', notes: ['5 epochs of Adam'] };
 * ```
 */
export interface RenderReportOptions {
  /** Page title (default `'hessian-probe report'`). */
  readonly title?: string;
  /** Lines shown under the title, e.g. the data and the backend (default none). */
  readonly notes?: readonly string[];
  /** Block heatmaps drawn per run, evenly spread from the first analysis to the last (default 4). */
  readonly heatmapSnapshots?: number;
}
