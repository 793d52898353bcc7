/**
 * The demo's report.html: its reports drawn by `@hessian-probe/report`, with the accuracy that
 * `fit()` logs and the test set give (reports carry the probe-set loss, not accuracy).
 */
import type { CurvatureReport } from '@hessian-probe/core';
import { type RunMetric, renderReportHtml } from '@hessian-probe/report';

/** The training accuracy `fit()` logged at the end of an epoch, at that optimizer step. */
export interface EpochLogs {
  readonly step: number;
  readonly accuracy: number;
}

/** What {@link demoReportHtml} adds to the reports. */
export interface DemoReportOptions {
  /** The reports file, shown in the overview. */
  readonly source?: string;
  /** One entry per finished epoch. */
  readonly epochs: readonly EpochLogs[];
  /** Lines under the title (e.g. the test accuracy, a single number). */
  readonly notes?: readonly string[];
}

/**
 * The page of one demo run: every section the reports have, plus the training accuracy per
 * epoch next to the probe-set loss.
 *
 * @example
 * ```ts
 * const { reports } = await readRun('out/reports.jsonl');
 * const html = await demoReportHtml(reports, { epochs: [{ step: 79, accuracy: 0.8 }] });
 * ```
 */
export async function demoReportHtml(
  reports: readonly CurvatureReport[],
  options: DemoReportOptions,
): Promise<string> {
  const metrics: RunMetric[] = options.epochs.map((e) => ({
    name: 'training accuracy (fit() logs)',
    step: e.step,
    value: e.accuracy,
  }));
  return renderReportHtml(
    [
      {
        name: 'MNIST MLP',
        reports,
        metrics,
        ...(options.source === undefined ? {} : { source: options.source }),
      },
    ],
    { title: 'MNIST MLP: the Hessian during training', notes: options.notes ?? [] },
  );
}
