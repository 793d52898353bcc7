/**
 * Reports as JSON: `normalizeReport` checks one against the schema and returns a plain copy;
 * `encodeReport` writes it on one line, bit-exactly (NaN and ±Infinity as strings);
 * `decodeReport` reads it back (versions 1 and 2).
 */
import type * as z from 'zod';
import { HessianProbeError } from '../errors.js';
import { whileDecoding } from './fields.js';
import {
  type CurvatureReport,
  type CurvatureReportInput,
  REPORT_SCHEMA,
  REPORT_SCHEMA_VERSION,
} from './schema.js';

/**
 * A report does not have the shape of a {@link CurvatureReport}: bad JSON, an unknown schema
 * version, a missing or mistyped field, or fields that disagree (lengths, orders, ranges).
 */
export class ReportFormatError extends HessianProbeError {
  /**
   * Path of the offending field, e.g. `'eigen.values[2]'`, `'schemaVersion'`; `'(json)'` for
   * text that is not JSON and `'(report)'` for a top level that is not an object.
   */
  readonly field: string;

  constructor(message: string, field: string, options?: { cause?: unknown }) {
    super('report-format', message, options);
    this.field = field;
  }
}

/**
 * Checks a report against the schema and returns a plain copy: Float64Arrays become number
 * arrays, absent optional fields are dropped, unknown fields are kept (deep-copied). The copy
 * shares nothing with the input.
 *
 * @throws {@link ReportFormatError} naming the first bad field, e.g. `eigen.values[2]` when the
 * eigenvalues are not descending.
 *
 * @example
 * ```ts
 * declare const fields: Omit<CurvatureReportInput, 'eigen'>; // metadata, probe, loss, …
 * const { values, residuals, converged, matvecs } = await topEigenpairs(operator, { k: 3 });
 * const report = normalizeReport({ ...fields, eigen: { values, residuals, converged, matvecs } });
 * Array.isArray(report.eigen?.values); // true, although topEigenpairs gave a Float64Array
 * ```
 */
export function normalizeReport(report: CurvatureReportInput): CurvatureReport {
  return check(report, 'normalizeReport');
}

function check(value: unknown, where: string): CurvatureReport {
  if (!isPlainObject(value)) {
    throw new ReportFormatError(
      `${where}: expected (report) to be an object, got ${describe(value)}`,
      '(report)',
    );
  }
  const parsed = REPORT_SCHEMA.safeParse(value, { reportInput: true });
  if (!parsed.success) throw formatError(parsed.error, where);
  return plainCopy(parsed.data) as CurvatureReport;
}

/** The first issue of a failed parse as "`where`: expected `field` to be …, got …". */
function formatError(error: z.ZodError, where: string): ReportFormatError {
  const issue = error.issues[0] as z.core.$ZodIssue & { input?: unknown };
  const field = fieldPath(issue.path);
  const expected = /^(a|an|<=|\d)/.test(issue.message)
    ? issue.message
    : issue.code === 'invalid_type' && issue.expected === 'object'
      ? 'an object'
      : issue.message;
  const got = issue.input === undefined ? 'undefined (missing)' : describe(issue.input);
  const cause = (issue as { params?: { cause?: unknown } }).params?.cause;
  return new ReportFormatError(
    `${where}: expected ${field} to be ${expected}, got ${got}`,
    field,
    cause === undefined ? undefined : { cause },
  );
}

/** ['eigen', 'values', 2] → 'eigen.values[2]'. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(report)' : out;
}

/**
 * Encodes a report as compact JSON on one line (no raw newline), so it can be one line of a
 * JSONL file. It is checked first ({@link normalizeReport}), so the text always decodes.
 *
 * Numbers are written bit-exactly: finite values in JavaScript's shortest round-trip form,
 * −0 as `-0`, and NaN, Infinity and −Infinity as the JSON strings `"NaN"`, `"Infinity"` and
 * `"-Infinity"` (never `null`), in known and unknown fields alike. Only the NaN payload bits
 * are not kept.
 *
 * @throws {@link ReportFormatError} when the report is malformed or an unknown field holds a
 * value JSON cannot carry (a function, a bigint, a symbol).
 *
 * @example
 * ```ts
 * import { appendFile } from 'node:fs/promises';
 * await appendFile('reports.jsonl', `${encodeReport(report)}\n`);
 * ```
 */
export function encodeReport(report: CurvatureReportInput): string {
  const out: string[] = [];
  write(normalizeReport(report), '', out);
  return out.join('');
}

function write(value: unknown, field: string, out: string[]): void {
  switch (typeof value) {
    case 'number':
      if (Number.isFinite(value)) out.push(Object.is(value, -0) ? '-0' : JSON.stringify(value));
      else out.push(Number.isNaN(value) ? '"NaN"' : value > 0 ? '"Infinity"' : '"-Infinity"');
      return;
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'object':
      if (value === null) {
        out.push('null');
        return;
      }
      if (Array.isArray(value)) {
        out.push('[');
        value.forEach((item, i) => {
          if (i > 0) out.push(',');
          write(item, `${field}[${i}]`, out);
        });
        out.push(']');
        return;
      }
      if (isPlainObject(value)) {
        out.push('{');
        let first = true;
        for (const [key, item] of Object.entries(value)) {
          if (item === undefined) continue;
          if (!first) out.push(',');
          first = false;
          out.push(JSON.stringify(key), ':');
          write(item, field === '' ? key : `${field}.${key}`, out);
        }
        out.push('}');
        return;
      }
      break;
  }
  throw new ReportFormatError(
    `encodeReport: expected ${field} to be a JSON value (number, string, boolean, null, array or plain object), got ${describe(value)}`,
    field,
  );
}

/**
 * Decodes and checks one report written by {@link encodeReport}: the strings `"NaN"`,
 * `"Infinity"` and `"-Infinity"` become numbers again wherever the schema has a number, and only
 * there (a model called "NaN" keeps its name). Unknown fields are kept as parsed. Reports of
 * schema version 1 are read too: their `negativeMass` fields become `negativeFraction`.
 *
 * @throws {@link ReportFormatError} for text that is not JSON (`field` `'(json)'`), another
 * `schemaVersion`, or a missing, mistyped or inconsistent field (named in `field`).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const [line] = readFileSync('reports.jsonl', 'utf8').split('\n');
 * const report = decodeReport(line);
 * report.trace?.stderr; // NaN if it was written as "NaN"
 * ```
 */
export function decodeReport(text: string): CurvatureReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ReportFormatError(
      `decodeReport: expected JSON text, got ${describe(text)} (${(error as Error).message})`,
      '(json)',
      { cause: error },
    );
  }
  return whileDecoding(() => check(migrate(parsed), 'decodeReport'));
}

/** A version-1 report in the shape of the current version (others unchanged). */
function migrate(value: unknown): unknown {
  if (!isPlainObject(value) || value.schemaVersion !== 1) return value;
  const rename = (section: unknown): unknown => {
    if (!isPlainObject(section) || !('negativeMass' in section)) return section;
    const { negativeMass, ...rest } = section;
    return { ...rest, negativeFraction: negativeMass };
  };
  const out: Record<string, unknown> = { ...value, schemaVersion: REPORT_SCHEMA_VERSION };
  if (value.density !== undefined) out.density = rename(value.density);
  if (Array.isArray(value.layers)) out.layers = value.layers.map(rename);
  return out;
}

function plainCopy(value: unknown): unknown {
  if (value instanceof Float64Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(plainCopy);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plainCopy(v);
    return out;
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined (missing)';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof Float64Array) return `a Float64Array of length ${value.length}`;
  if (value === null) return 'null';
  if (isPlainObject(value)) return 'an object';
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'non-plain object'}`;
  return `a ${typeof value}`;
}
