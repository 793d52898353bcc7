/**
 * Test helpers for the Prometheus text format: a small parser of expositions, and the
 * Prometheus binaries (promtool, prometheus) found on PATH, which CI must have.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** One metric family of an exposition. */
export interface Family {
  help: string;
  type: string;
  /** Series of the family: `name{labels}` (labels sorted) to value. */
  samples: Map<string, number>;
}

/** A sample value as the text format writes it (prom-client writes NaN as `Nan`). */
function parseValue(text: string): number {
  if (/^nan$/i.test(text)) return Number.NaN;
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`not a sample value: ${text}`);
  return value;
}

/** The series key `name{a="1",b="2"}` with labels sorted by name; `name` alone without labels. */
export function seriesKey(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/** Families by name, from an exposition in the Prometheus text format 0.0.4. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    const f = families.get(name) ?? { help: '', type: '', samples: new Map() };
    families.set(name, f);
    return f;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'HELP') family(meta[2]).help = meta[3];
      else family(meta[2]).type = meta[3];
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    const [, name, labelText = '', value] = sample;
    const labels: Record<string, string> = {};
    for (const m of labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1]] = JSON.parse(`"${m[2]}"`);
    }
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const owner = families.has(name) ? name : base;
    family(owner).samples.set(seriesKey(name, labels), parseValue(value));
  }
  return families;
}

/** Absolute path of an executable on PATH, or undefined. */
export function findBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** True in CI (`.ci/run` exports CI=true), where a missing Prometheus binary is a failure. */
export const IN_CI = Boolean(process.env.CI);

/**
 * The title suffix of a suite that needs `binary`: empty when it is on PATH, else why the suite
 * is skipped (locally) or fails (in CI).
 */
export function missingBinaryNote(binary: string, path: string | undefined): string {
  if (path !== undefined) return '';
  return IN_CI
    ? ` [FAILS: CI is set but ${binary} is not on PATH; .ci/run must install Debian's prometheus package]`
    : ` [skipped: ${binary} is not on PATH; install Debian's prometheus package to run it]`;
}

/** `promtool check metrics` on an exposition: its exit status and combined output. */
export function promtoolCheckMetrics(
  promtool: string,
  exposition: string,
): { status: number | null; output: string } {
  const run = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
