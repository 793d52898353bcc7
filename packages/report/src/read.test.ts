import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CurvatureReport, encodeReport, OptionError } from '@hessian-probe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReports, ReportReadError, readRun, readRuns, runNames } from './read.js';
import { asVersion1, fixtureRun, jsonl } from './testing/fixtures.js';

/** The error `run` throws (it must throw). */
function thrown(run: () => unknown): ReportReadError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ReportReadError);
    return error as ReportReadError;
  }
  throw new Error('expected a ReportReadError');
}

describe('parseReports', () => {
  let reports: CurvatureReport[];
  beforeAll(async () => {
    reports = await fixtureRun(2);
  });

  it('reads what jsonlSink writes, bit-exactly, with a byte-order mark, CRLF and blank lines', () => {
    const text = jsonl(reports);
    expect(parseReports(text, 'r.jsonl')).toEqual(reports);
    const windows = `\uFEFF${text.replaceAll('\n', '\r\n')}\r\n\r\n`;
    expect(parseReports(windows, 'r.jsonl')).toEqual(reports);
  });

  it('reads version-1 lines (negativeMass) as version 2 (negativeFraction)', () => {
    const v1 = reports.map((r) => asVersion1(encodeReport(r))).join('\n');
    expect(v1).toContain('"negativeMass"');
    expect(v1).not.toContain('"negativeFraction"');
    expect(parseReports(v1, 'old.jsonl')).toEqual(reports);
  });

  it('names file:line and the field of the first bad line', () => {
    const lines = jsonl(reports).split('\n');
    const notJson = [lines[0], '{"schemaVersion":2,"epoch"', lines[1]].join('\n');
    const a = thrown(() => parseReports(`${notJson}\n`, 'runs/a.jsonl'));
    expect(a.message).toMatch(
      /^runs\/a\.jsonl:2: not a curvature report: decodeReport: expected JSON text/,
    );
    expect([a.path, a.line, a.field, a.code]).toEqual(['runs/a.jsonl', 2, '(json)', 'report-read']);
    const bad = JSON.parse(lines[1]);
    bad.eigen.values = [1, 2, 3];
    const b = thrown(() => parseReports([lines[0], '', JSON.stringify(bad)].join('\n'), 'b.jsonl'));
    expect(b.message).toMatch(/^b\.jsonl:3: .*eigen\.values/);
    expect(b.field).toMatch(/^eigen\.values/);
    const newer = thrown(() =>
      parseReports(lines[0].replace('"schemaVersion":2', '"schemaVersion":3'), 'c.jsonl'),
    );
    expect(newer.message).toMatch(/^c\.jsonl:1: .*schemaVersion/);
  });

  it('says when the last line lacks its newline (a torn write)', () => {
    const text = jsonl(reports);
    const torn = text + text.split('\n')[0].slice(0, 40);
    const error = thrown(() => parseReports(torn, 'torn.jsonl'));
    expect(error.line).toBe(reports.length + 1);
    expect(error.message).toContain('the last line has no newline');
  });

  it('refuses a file without reports', () => {
    const error = thrown(() => parseReports('\uFEFF\n \n', 'empty.jsonl'));
    expect(error.line).toBeUndefined();
    expect(error.message).toMatch(/^empty\.jsonl: expected at least one report/);
  });
});

describe('readRun and readRuns', () => {
  let dir: string;
  let reports: CurvatureReport[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hessian-probe-report-'));
    reports = await fixtureRun(1);
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'a', 'reports.jsonl'), jsonl(reports));
    await writeFile(join(dir, 'b', 'reports.jsonl'), jsonl(reports.slice(1)));
    await writeFile(join(dir, 'adam.jsonl'), jsonl(reports));
    await writeFile(join(dir, 'bad.jsonl'), `${jsonl(reports)}not json\n`);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads runs named after their files, told apart by their folders', async () => {
    const runs = await readRuns([
      join(dir, 'a', 'reports.jsonl'),
      join(dir, 'b', 'reports.jsonl'),
      join(dir, 'adam.jsonl'),
    ]);
    expect(runs.map((r) => r.name)).toEqual(['a/reports', 'b/reports', 'adam']);
    expect(runs.map((r) => r.reports.length)).toEqual([2, 1, 2]);
    expect(runs[0].source).toBe(join(dir, 'a', 'reports.jsonl'));
    expect((await readRun(join(dir, 'adam.jsonl'), { name: 'x' })).name).toBe('x');
  });

  it('names a missing file, a folder, and a bad line of any of the files', async () => {
    const missing = join(dir, 'missing.jsonl');
    await expect(readRun(missing)).rejects.toThrow(`${missing}: no such file`);
    await expect(readRun(dir)).rejects.toThrow(/is a directory/);
    const error = (await readRuns([join(dir, 'adam.jsonl'), join(dir, 'bad.jsonl')]).then(
      () => undefined,
      (e: unknown) => e,
    )) as ReportReadError;
    expect(error).toBeInstanceOf(ReportReadError);
    expect(error.message).toMatch(new RegExp(`^${join(dir, 'bad.jsonl')}:3: `));
    await expect(readRuns([])).rejects.toThrow(OptionError);
  });
});

describe('runNames', () => {
  it('uses the shortest distinguishing path, and numbers a file given twice', () => {
    expect(runNames(['x/run.jsonl'])).toEqual(['run']);
    expect(runNames(['x/a/run.jsonl', 'y/a/run.jsonl', 'z.jsonl'])).toEqual([
      'x/a/run',
      'y/a/run',
      'z',
    ]);
    expect(runNames(['r.jsonl', './r.jsonl'])).toEqual(['r', 'r (2)']);
  });
});
