/**
 * Curvature reports as JSON Lines: one {@link encodeReport} line per report, appended.
 *
 * What "a crash never leaves a torn line" rests on, precisely:
 * - Each line (report and its `\n`) is encoded in full first and then written by one `write(2)`
 *   on a descriptor opened with `O_APPEND`. On POSIX, the seek to the end and the write are one
 *   atomic step, so lines from this or another appender never interleave, and a process that
 *   dies between writes (an exception, `process.exit`, SIGKILL, OOM kill) leaves whole lines only.
 * - A regular file gives no size-based atomicity guarantee (`PIPE_BUF` is about pipes). A write
 *   is cut short only if the process is killed *during* that system call (Linux checks for fatal
 *   signals between pages of a large write) or the disk fills up. Such a line lacks its `\n`.
 * - Each write is flushed to the disk (`fdatasync`) before `write()` resolves, so a report the
 *   sink said it stored survives a power loss too.
 * - So the reader checks instead of trusting: {@link readReports} reports lines that are not
 *   JSON (torn, or otherwise damaged) instead of failing on them, and a new sink that finds the
 *   file not ending in `\n` starts with a `\n`, so that a torn fragment stays on a line of its
 *   own and never swallows the next report.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type CurvatureReport,
  type CurvatureReportInput,
  decodeReport,
  encodeReport,
  HessianProbeError,
  OptionError,
  ReportFormatError,
} from '@hessian-probe/core';

/** Something that stores curvature reports, e.g. a JSONL file. */
export interface ReportSink {
  /**
   * Stores one report. Writes happen in call order, also when not awaited one by one.
   * Rejects with a ReportFormatError (nothing written) for a malformed report, or with the
   * file system's error.
   */
  write(report: CurvatureReportInput): Promise<void>;
}

/** A {@link ReportSink} appending to a JSON Lines file. */
export interface JsonlSink extends ReportSink {
  /** The file written to. */
  readonly path: string;
}

/**
 * A sink appending each report as one line of JSON to `path` (created with its parent folders
 * if missing; existing lines are kept). See the module comment for what is atomic and what the
 * reader checks. One sink per file: two processes appending to the same file do not tear each
 * other's lines, but only a sink that starts after a crash repairs the missing newline.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when `path` is not a
 *   non-empty string.
 *
 * @example
 * ```ts
 * const sink = jsonlSink('runs/r42/reports.jsonl');
 * await sink.write(report);
 * const reports = await readReports('runs/r42/reports.jsonl');
 * ```
 */
export function jsonlSink(path: string): JsonlSink {
  if (typeof path !== 'string' || path.length === 0) {
    throw new OptionError(`jsonlSink: expected path to be a non-empty string, got ${String(path)}`);
  }
  let queue: Promise<unknown> = Promise.resolve();
  let checkedTail = false;

  async function append(line: string): Promise<void> {
    if (!checkedTail) {
      await mkdir(dirname(path), { recursive: true });
      if (await endsWithoutNewline(path)) line = `\n${line}`;
    }
    const buffer = Buffer.from(line, 'utf8');
    const file = await open(path, 'a');
    try {
      let written = 0;
      // One write(2) in practice; a short write (disk full, signal) is continued so that the
      // line is finished if at all possible.
      while (written < buffer.length) {
        const { bytesWritten } = await file.write(buffer, written, buffer.length - written);
        written += bytesWritten;
      }
      await file.datasync();
    } finally {
      await file.close();
    }
    checkedTail = true;
  }

  return {
    path,
    write(report) {
      let line: string;
      try {
        line = `${encodeReport(report)}\n`;
      } catch (error) {
        return Promise.reject(error);
      }
      const done = queue.then(() => append(line));
      queue = done.catch(() => {});
      return done;
    },
  };
}

async function endsWithoutNewline(path: string): Promise<boolean> {
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  try {
    const { size } = await file.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await file.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await file.close();
  }
}

/** A line of a reports file that is not JSON: a torn write, or other damage. */
export interface TornLine {
  /** The file. */
  readonly path: string;
  /** 1-based line number. */
  readonly lineNumber: number;
  /** The line's text, cut to 200 characters. */
  readonly text: string;
  /** False for the file's last line when it lacks its `\n`: the signature of a torn write. */
  readonly terminated: boolean;
}

/** {@link readReports} met a line that is not JSON and was told to be strict. */
export class TornLineError extends HessianProbeError {
  readonly line: TornLine;

  constructor(line: TornLine, options?: { cause?: unknown }) {
    const where = line.terminated ? '' : ' (the last line, without its newline: a torn write)';
    super(
      'torn-line',
      `readReports: expected line ${line.lineNumber} of ${line.path} to be a JSON report, got ${JSON.stringify(line.text)}${where}`,
      options,
    );
    this.line = line;
  }
}

/** Options of {@link readReports}. */
export interface ReadReportsOptions {
  /** Throw a {@link TornLineError} at the first line that is not JSON. Default false: skip it. */
  strict?: boolean;
  /**
   * Called for each skipped line. Default: a process warning (`process.emitWarning`, code
   * `'HESSIAN_PROBE_TORN_LINE'`), so that a skip is never silent.
   */
  onTornLine?: (line: TornLine) => void;
}

/**
 * Reads a JSON Lines file of reports written by {@link jsonlSink}, in file order. Blank lines
 * and a byte-order mark at the start (as some editors save files) are ignored. A line that is
 * not JSON (a torn write after a crash) is skipped and passed to `onTornLine`, or throws in `strict` mode; a line that is JSON but not a valid report always
 * throws, since that is not something a crash produces.
 *
 * @throws {@link @hessian-probe/core!index.ReportFormatError | ReportFormatError} naming the line
 *   and the field of a malformed report.
 * @throws {@link TornLineError} for a line that is not JSON, with `strict`.
 *
 * @example
 * ```ts
 * const reports = await readReports('runs/r42/reports.jsonl', {
 *   onTornLine: (line) => console.warn(`skipped line ${line.lineNumber}`),
 * });
 * const lambdaMax = reports.map((r) => r.eigen?.values[0]);
 * ```
 */
export async function readReports(
  path: string,
  options: ReadReportsOptions = {},
): Promise<CurvatureReport[]> {
  const { strict = false, onTornLine = warnTornLine } = options;
  const content = await readFile(path, 'utf8');
  const lines = (content.startsWith('\uFEFF') ? content.slice(1) : content).split('\n');
  const reports: CurvatureReport[] = [];
  for (const [index, text] of lines.entries()) {
    if (text.trim() === '') continue;
    try {
      reports.push(decodeReport(text));
    } catch (error) {
      if (!(error instanceof ReportFormatError)) throw error;
      const lineNumber = index + 1;
      if (error.field !== '(json)') {
        throw new ReportFormatError(
          `readReports: ${path} line ${lineNumber}: ${error.message}`,
          error.field,
          { cause: error },
        );
      }
      const torn: TornLine = {
        path,
        lineNumber,
        text: text.length > 200 ? `${text.slice(0, 200)}…` : text,
        terminated: index < lines.length - 1,
      };
      if (strict) throw new TornLineError(torn, { cause: error });
      onTornLine(torn);
    }
  }
  return reports;
}

function warnTornLine(line: TornLine): void {
  process.emitWarning(
    `skipped line ${line.lineNumber} of ${line.path}: not JSON${line.terminated ? '' : ' (torn last line)'}`,
    { code: 'HESSIAN_PROBE_TORN_LINE' },
  );
}
