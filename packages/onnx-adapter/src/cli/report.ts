/**
 * `hessian-probe report RUN.jsonl [MORE.jsonl …] --out report.html [--title T]`: one
 * self-contained HTML page from JSON Lines report files (`@hessian-probe/report`), several runs
 * side by side. Every file is read and every line decoded before anything is written; the page
 * is written atomically and never over one of the inputs.
 */
import { readRuns, renderReportHtml } from '@hessian-probe/report';
import { writeFileAtomic } from '../annotate.js';
import type { Values } from './args.js';
import { asInputError, type CliIo, CliUsageError, EXIT } from './io.js';
import { checkOutputs } from './outputs.js';
import { terminalSafe } from './terminal.js';

/** The flags `report` takes. */
const REPORT_FLAGS = new Set(['out', 'title', 'help']);

/** Runs `report FILES… --out PAGE` with the parsed flags; resolves with the exit code. */
export async function report(
  inputs: readonly string[],
  values: Values,
  io: CliIo,
): Promise<number> {
  const other = Object.keys(values).find(
    (k) => !REPORT_FLAGS.has(k) && values[k as keyof Values] !== undefined,
  );
  if (other !== undefined) {
    throw new CliUsageError(`report: takes --out and --title only, got --${other}`);
  }
  if (inputs.length === 0) {
    throw new CliUsageError('report: expected one or more RUN.jsonl files, got none');
  }
  const out = values.out;
  if (out === undefined || out.trim() === '') {
    throw new CliUsageError('report: --out REPORT.html is required');
  }
  const title = values.title;
  if (title !== undefined && title.trim() === '') {
    throw new CliUsageError(`--title: expected a non-empty title, got '${title}'`);
  }
  await checkOutputs(
    [{ flag: '--out', path: out }],
    inputs.map((path) => ({ flag: 'input', path })),
  );

  let runs: Awaited<ReturnType<typeof readRuns>>;
  try {
    runs = await readRuns(inputs);
  } catch (error) {
    throw asInputError(error, 'report');
  }
  const html = await renderReportHtml(runs, {
    title: title ?? `hessian-probe report: ${runs.map((r) => r.name).join(', ')}`,
  });
  const bytes = new TextEncoder().encode(html);
  await writeFileAtomic(out, bytes);
  const analyses = runs.reduce((s, r) => s + r.reports.length, 0);
  const charts = html.match(/<svg\b/g)?.length ?? 0;
  io.stdout(
    `${terminalSafe(
      `wrote ${out}: ${runs.length} run${runs.length === 1 ? '' : 's'} (${runs.map((r) => r.name).join(', ')}), ${analyses} analyses, ${charts} charts, ${(bytes.length / 1024).toFixed(0)} KiB`,
    )}\n`,
  );
  return EXIT.ok;
}
