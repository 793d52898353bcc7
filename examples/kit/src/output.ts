/**
 * How the experiments write what they measured: markdown tables for people, JSON rows for
 * programs, each file written atomically (a reader never sees half a result).
 */
import { randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * A markdown table.
 *
 * @example
 * ```ts
 * markdownTable(['C', 'ratio'], [['2', '1'], ['4', '0.33']]);
 * ```
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  return [header, header.map(() => '---'), ...rows].map((l) => `| ${l.join(' | ')} |`).join('\n');
}

/**
 * A number for a table: 4 significant digits, '0' for zero, '—' when absent, 'NaN'/'∞' as such.
 *
 * @example
 * ```ts
 * formatNumber(0.123456); // '0.1235'
 * ```
 */
export function formatNumber(value: number | undefined, digits = 4): string {
  if (value === undefined) return '—';
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? '∞' : '−∞';
  return value.toPrecision(digits);
}

/**
 * An estimate with its standard error for a table, `'0.1235 ± 0.0012'`; the bare number when
 * the error is absent or 0 (an exact value); '—' when the value is absent.
 *
 * @example
 * ```ts
 * formatWithError(0.5, 0.01); // '0.5000 ± 0.010'
 * ```
 */
export function formatWithError(value: number | undefined, stderr: number | undefined): string {
  if (value === undefined) return '—';
  return stderr === undefined || stderr === 0
    ? formatNumber(value)
    : `${formatNumber(value)} ± ${formatNumber(stderr, 2)}`;
}

/**
 * Writes text to `path` atomically: a temporary file in the same folder, then a rename.
 *
 * @example
 * ```ts
 * await writeTextAtomic('rows.json', JSON.stringify(rows));
 * ```
 */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    await writeFile(temporary, text, { encoding: 'utf8', flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Where an experiment writes its results (`--json PATH`, `--markdown PATH`, `--figures DIR`). */
export interface ResultPaths {
  readonly json?: string | undefined;
  readonly markdown?: string | undefined;
  /** A folder (not a file) for the SVG figures. */
  readonly figures?: string | undefined;
}

/**
 * Checks, before any work, that the folder of each given result path exists and is writable, so
 * that a typo in `--json`/`--markdown` fails at once rather than after minutes of compute.
 *
 * @throws Error naming the flag and the path when a folder is missing or not writable.
 * @example
 * ```ts
 * checkResultPaths({ json: values.json, markdown: values.markdown });
 * ```
 */
export function checkResultPaths(paths: ResultPaths): void {
  for (const flag of ['json', 'markdown', 'figures'] as const) {
    const path = paths[flag];
    if (path === undefined) continue;
    const folder = flag === 'figures' ? resolve(path) : dirname(resolve(path));
    try {
      accessSync(folder, constants.W_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(
        `--${flag} ${path}: expected a writable folder ${folder}, got ${code === 'ENOENT' ? 'no such folder' : (code ?? String(error))}`,
        { cause: error },
      );
    }
  }
}

/**
 * Writes the rows as pretty JSON and the markdown, each when its path is given, and says so on
 * stdout.
 *
 * @example
 * ```ts
 * await writeResults({ json: values.json, markdown: values.markdown }, rows, markdown);
 * ```
 */
export async function writeResults(
  paths: ResultPaths,
  rows: readonly object[],
  markdown: string,
): Promise<void> {
  if (paths.json !== undefined) {
    await writeTextAtomic(paths.json, `${JSON.stringify(rows, null, 2)}\n`);
    console.log(`rows written to ${paths.json}`);
  }
  if (paths.markdown !== undefined) {
    await writeTextAtomic(paths.markdown, `${markdown}\n`);
    console.log(`tables written to ${paths.markdown}`);
  }
}
