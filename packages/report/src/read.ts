/**
 * Runs from JSON Lines files (the `jsonlSink` format of `@hessian-probe/tfjs-callback`: one
 * `encodeReport` line per report), decoded with core's codec so that reports of schema
 * versions 1 and 2 both read. Strict: any line that is not a report is a typed error naming
 * `file:line`, since a page drawn from part of a run would mislead.
 *
 * Why not `readReports` of tfjs-callback: it skips lines that are not JSON (with a warning)
 * unless told to be strict, names the line only in its messages (two error types), reads
 * version-1 files only as far as core's `decodeReport` does (see {@link parseReports}), and
 * importing that package would bring its TensorFlow.js peer and prom-client into the command
 * line.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve, sep } from 'node:path';
import {
  type CurvatureReport,
  decodeReport,
  HessianProbeError,
  OptionError,
  ReportFormatError,
} from '@hessian-probe/core';
import type { ReportRun } from './types.js';

/**
 * A reports file could not be read as a run: the file is missing or unreadable, holds no
 * report, or a line is not a valid report. The message starts with `file:line: ` (or
 * `file: ` for the whole file) and then says what was expected and what was found.
 *
 * @example
 * ```ts
 * try {
 *   await readRun('runs/a.jsonl');
 * } catch (error) {
 *   if (error instanceof ReportReadError) console.error(error.message); // "runs/a.jsonl:3: …"
 * }
 * ```
 */
export class ReportReadError extends HessianProbeError {
  /** The file, as given. */
  readonly path: string;
  /** 1-based line number of the bad line; undefined when the file as a whole is the problem. */
  readonly line: number | undefined;
  /**
   * The offending field of a malformed report (`ReportFormatError.field`, e.g.
   * `'eigen.values[2]'`; `'(json)'` for a line that is not JSON); undefined otherwise.
   */
  readonly field: string | undefined;

  constructor(
    path: string,
    line: number | undefined,
    field: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('report-read', `${path}${line === undefined ? '' : `:${line}`}: ${message}`, options);
    this.path = path;
    this.line = line;
    this.field = field;
  }
}

/**
 * Decodes the text of a JSON Lines reports file into reports, in file order. A leading
 * byte-order mark, `\r\n` line ends and blank lines are accepted; every other line must be a
 * report ({@link @hessian-probe/core!index.decodeReport | decodeReport}; schema versions 1 and 2).
 *
 * @param path - The file's name, used in error messages only.
 * @throws {@link ReportReadError} at the first line that is not a report, naming `path:line`
 *   and the field; or when there is no report at all.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * const reports = parseReports(await readFile('reports.jsonl', 'utf8'), 'reports.jsonl');
 * reports.at(-1)?.eigen?.values[0]; // the last λmax
 * ```
 */
export function parseReports(text: string, path: string): CurvatureReport[] {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  const reports: CurvatureReport[] = [];
  for (const [index, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    try {
      reports.push(decodeReport(line));
    } catch (error) {
      if (!(error instanceof ReportFormatError)) throw error;
      const torn =
        error.field === '(json)' && index === lines.length - 1
          ? ' (the last line has no newline: a write cut short?)'
          : '';
      throw new ReportReadError(
        path,
        index + 1,
        error.field,
        `not a curvature report: ${error.message}${torn}`,
        { cause: error },
      );
    }
  }
  if (reports.length === 0) {
    throw new ReportReadError(
      path,
      undefined,
      undefined,
      'expected at least one report (a JSON Lines file written by jsonlSink), got none',
    );
  }
  return reports;
}

/**
 * Options of {@link readRun}.
 *
 * @example
 * ```ts
 * const options: ReadRunOptions = { name: 'baseline' };
 * ```
 */
export interface ReadRunOptions {
  /** The run's name on the page (default: the file name without `.jsonl`). */
  readonly name?: string;
}

/**
 * Reads one run: every report of a JSON Lines file ({@link parseReports}).
 *
 * @throws {@link ReportReadError} for a missing or unreadable file (with the system's reason),
 *   a line that is not a report (naming `file:line`), or a file without reports.
 *
 * @example
 * ```ts
 * const run = await readRun('out/reports.jsonl', { name: 'baseline' });
 * const html = await renderReportHtml([run]);
 * ```
 */
export async function readRun(path: string, options: ReadRunOptions = {}): Promise<ReportRun> {
  if (typeof path !== 'string' || path === '') {
    throw new OptionError(`readRun: expected path to be a non-empty string, got ${String(path)}`);
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory, not a reports file'
          : (error as Error).message;
    throw new ReportReadError(path, undefined, undefined, reason, { cause: error });
  }
  return {
    name: options.name ?? runNames([path])[0],
    source: path,
    reports: parseReports(text, path),
  };
}

/**
 * Reads several runs ({@link readRun}), all of them before returning, named after their files:
 * the file name without `.jsonl`, with as many parent folders as it takes to tell the runs
 * apart (`a/reports` and `b/reports`).
 *
 * @throws {@link ReportReadError} for the first file (in argument order) that cannot be read.
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when `paths` is empty.
 *
 * @example
 * ```ts
 * const runs = await readRuns(['runs/adam.jsonl', 'runs/sgd.jsonl']); // names 'adam', 'sgd'
 * ```
 */
export async function readRuns(paths: readonly string[]): Promise<ReportRun[]> {
  if (!Array.isArray(paths) || paths.length === 0) {
    throw new OptionError('readRuns: expected at least one path, got none');
  }
  const names = runNames(paths);
  const results = await Promise.allSettled(
    paths.map((path, i) => readRun(path, { name: names[i] })),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<ReportRun>).value);
}

/**
 * Short, distinct names for files: the base name without its extension, prefixed by parent
 * folders until every name differs (a file given twice is numbered: `run (2)`).
 *
 * @example
 * ```ts
 * runNames(['a/reports.jsonl', 'b/reports.jsonl', 'sgd.jsonl']); // ['a/reports', 'b/reports', 'sgd']
 * ```
 */
export function runNames(paths: readonly string[]): string[] {
  const full = paths.map((p) => resolve(p));
  const parts = full.map((f) => [
    ...dirname(f)
      .split(sep)
      .filter((s) => s !== ''),
    basename(f, extname(f)),
  ]);
  const name = (segments: string[], depth: number) => segments.slice(-depth).join('/');
  const names = parts.map((segments, i) => {
    for (let depth = 1; depth < segments.length; depth++) {
      const mine = name(segments, depth);
      const clash = parts.some((other, j) => full[j] !== full[i] && name(other, depth) === mine);
      if (!clash) return mine;
    }
    return name(segments, segments.length);
  });
  const seen = new Map<string, number>();
  return names.map((n) => {
    const count = (seen.get(n) ?? 0) + 1;
    seen.set(n, count);
    return count === 1 ? n : `${n} (${count})`;
  });
}
