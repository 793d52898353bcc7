import { spawn } from 'node:child_process';
import {
  appendFile,
  mkdtemp,
  open,
  readFile,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type CurvatureReport,
  encodeReport,
  OptionError,
  ReportFormatError,
} from '@hessian-probe/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { syntheticReport } from '../../test/synthetic-reports.js';
import { jsonlSink, readReports, type TornLine, TornLineError } from './jsonl.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hessian-jsonl-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** readReports that collects skipped lines instead of warning. */
async function readCollecting(path: string): Promise<[CurvatureReport[], TornLine[]]> {
  const torn: TornLine[] = [];
  const reports = await readReports(path, { onTornLine: (line) => torn.push(line) });
  return [reports, torn];
}

describe('jsonlSink', () => {
  it('appends one encoded line per report, creating folders; readReports gives them back', async () => {
    const path = join(dir, 'run', 'nested', 'reports.jsonl');
    const sink = jsonlSink(path);
    expect(sink.path).toBe(path);
    const written = [0, 1, 2].map((epoch) => syntheticReport({ epoch }));
    written[1] = { ...written[1], trace: { estimate: 1, stderr: Number.NaN, matvecs: 1 } };
    for (const report of written) await sink.write(report);
    const text = await readFile(path, 'utf8');
    expect(text).toBe(written.map((r) => `${encodeReport(r)}\n`).join(''));
    const [read, torn] = await readCollecting(path);
    expect(torn).toEqual([]);
    expect(read).toEqual(written);
    expect(read[1].trace?.stderr).toBeNaN();
  });

  it('keeps existing lines and the call order of writes that are not awaited one by one', async () => {
    const path = join(dir, 'reports.jsonl');
    await jsonlSink(path).write(syntheticReport({ epoch: 100 }));
    const sink = jsonlSink(path);
    const epochs = Array.from({ length: 25 }, (_, i) => i);
    await Promise.all(epochs.map((epoch) => sink.write(syntheticReport({ epoch }))));
    const [read] = await readCollecting(path);
    expect(read.map((r) => r.epoch)).toEqual([100, ...epochs]);
  });

  it('writes nothing for a malformed report and keeps working', async () => {
    const path = join(dir, 'reports.jsonl');
    const sink = jsonlSink(path);
    const good = syntheticReport();
    const bad = { ...good, epoch: -1 };
    await expect(sink.write(bad)).rejects.toBeInstanceOf(ReportFormatError);
    await sink.write(good);
    expect(await readReports(path)).toEqual([good]);
  });

  it('rejects with the file system error, and later writes still go through', async () => {
    expect(
      await jsonlSink(dir)
        .write(syntheticReport())
        .catch((e) => e.code),
    ).toBe('EISDIR');
    // The parent "folder" is a file at first: the first write fails, the next one succeeds.
    const blocker = join(dir, 'run');
    await writeFile(blocker, '');
    const sink = jsonlSink(join(blocker, 'reports.jsonl'));
    const failed = sink.write(syntheticReport({ epoch: 1 }));
    await expect(failed).rejects.toMatchObject({
      code: expect.stringMatching(/^(EEXIST|ENOTDIR)$/),
    });
    await rm(blocker);
    const later = syntheticReport({ epoch: 2 });
    await sink.write(later);
    expect(await readReports(sink.path)).toEqual([later]);
  });

  it('starts with a newline after a torn tail, so the fragment never swallows a report', async () => {
    const path = join(dir, 'reports.jsonl');
    const first = syntheticReport({ epoch: 0 });
    const second = syntheticReport({ epoch: 1 });
    await jsonlSink(path).write(first);
    // A crash inside write(2): the second line's first half, no newline.
    const line = encodeReport(second);
    await appendFile(path, line.slice(0, line.length >> 1));
    const third = syntheticReport({ epoch: 2 });
    await jsonlSink(path).write(third);
    const [read, torn] = await readCollecting(path);
    expect(read).toEqual([first, third]);
    expect(torn).toHaveLength(1);
    expect(torn[0]).toMatchObject({ path, lineNumber: 2, terminated: true });
    expect(line.startsWith(torn[0].text.replace(/…$/, ''))).toBe(true);
  });

  it('refuses a path that is not a non-empty string at construction', () => {
    expect(() => jsonlSink('')).toThrow(OptionError);
    expect(() => jsonlSink(undefined as unknown as string)).toThrow(
      'jsonlSink: expected path to be a non-empty string, got undefined',
    );
  });
});

describe('readReports', () => {
  it('skips a torn last line, flags it unterminated, and warns by default', async () => {
    const path = join(dir, 'reports.jsonl');
    const reports = [0, 1, 2].map((epoch) => syntheticReport({ epoch }));
    await writeFile(path, reports.map((r) => `${encodeReport(r)}\n`).join(''));
    const { size } = await stat(path);
    await truncate(path, size - 40);
    const [read, torn] = await readCollecting(path);
    expect(read).toEqual(reports.slice(0, 2));
    expect(torn).toEqual([expect.objectContaining({ lineNumber: 3, terminated: false })]);

    const warnings: Error[] = [];
    const listen = (warning: Error) => warnings.push(warning);
    process.on('warning', listen);
    try {
      expect(await readReports(path)).toEqual(reports.slice(0, 2));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', listen);
    }
    expect(warnings.map((w) => [(w as NodeJS.ErrnoException).code, w.message])).toEqual([
      ['HESSIAN_PROBE_TORN_LINE', `skipped line 3 of ${path}: not JSON (torn last line)`],
    ]);
  });

  it('throws a TornLineError in strict mode', async () => {
    const path = join(dir, 'reports.jsonl');
    await writeFile(path, `${encodeReport(syntheticReport())}\n{"schemaVersion":1,"ep`);
    const attempt = readReports(path, { strict: true });
    await expect(attempt).rejects.toBeInstanceOf(TornLineError);
    await expect(attempt).rejects.toThrow(
      `readReports: expected line 2 of ${path} to be a JSON report, got "{\\"schemaVersion\\":1,\\"ep" (the last line, without its newline: a torn write)`,
    );
  });

  it('throws a ReportFormatError naming line and field for JSON that is not a report', async () => {
    const path = join(dir, 'reports.jsonl');
    const json = JSON.parse(encodeReport(syntheticReport()));
    json.eigen.values = [1, 2];
    json.eigen.residuals = [0, 0];
    await writeFile(path, `\n${encodeReport(syntheticReport())}\n${JSON.stringify(json)}\n`);
    const error = await readReports(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReportFormatError);
    expect((error as ReportFormatError).field).toBe('eigen.values[1]');
    expect((error as Error).message).toMatch(
      new RegExp(
        `^readReports: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} line 3: decodeReport: expected eigen\\.values\\[1\\]`,
      ),
    );
  });

  it('rejects with ENOENT for a missing file', async () => {
    await expect(readReports(join(dir, 'none.jsonl'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reads a file that starts with a byte-order mark (as some editors save it)', async () => {
    const path = join(dir, 'bom.jsonl');
    const written = [syntheticReport({ epoch: 1 }), syntheticReport({ epoch: 2 })];
    await writeFile(path, `\uFEFF${written.map((r) => `${encodeReport(r)}\n`).join('')}`);
    const [read, torn] = await readCollecting(path);
    expect(torn).toEqual([]);
    expect(read).toEqual(written);
  });
});

describe('jsonlSink durability', () => {
  it('flushes each line to the disk (fdatasync) before write() resolves', async () => {
    const path = join(dir, 'reports.jsonl');
    const handle = await open(path, 'w');
    const prototype = Object.getPrototypeOf(handle) as { datasync(): Promise<void> };
    await handle.close();
    const events: string[] = [];
    const original = prototype.datasync;
    const datasync = vi.spyOn(prototype, 'datasync').mockImplementation(function (this: unknown) {
      events.push('datasync');
      return original.call(this);
    });
    try {
      const sink = jsonlSink(path);
      for (const epoch of [1, 2]) {
        await sink.write(syntheticReport({ epoch }));
        events.push(`resolved ${epoch}`);
      }
    } finally {
      datasync.mockRestore();
    }
    expect(events).toEqual(['datasync', 'resolved 1', 'datasync', 'resolved 2']);
  });
});

describe('a writer killed with SIGKILL while appending', () => {
  it('leaves whole lines, at most one torn last line, and the next sink recovers', async () => {
    const path = join(dir, 'reports.jsonl');
    const here = import.meta.dirname;
    const root = resolve(here, '../../../..');
    const child = join(dir, 'writer.mts');
    // Reports of ~110 kB (300 layers), written back to back, to make a kill mid-write likely.
    await writeFile(
      child,
      `import { jsonlSink } from ${JSON.stringify(join(here, 'jsonl.ts'))};
       import { syntheticReport } from ${JSON.stringify(resolve(here, '../../test/synthetic-reports.ts'))};
       const layers = Array.from({ length: 300 }, (_, i) => 'layer_' + i);
       const sink = jsonlSink(process.argv[2]);
       for (let i = 0; ; i++) await sink.write(syntheticReport({ epoch: i % 7, layers }));`,
    );
    const writer = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', child, path],
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    writer.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => writer.on('exit', (_, s) => r(s)));
    try {
      const deadline = Date.now() + 20_000;
      while ((await stat(path).catch(() => ({ size: 0 }))).size < 2_000_000) {
        if (Date.now() > deadline || writer.exitCode !== null) {
          expect.fail(`the writer did not write 2 MB within 20 s; stderr: ${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      writer.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');

    const [read, torn] = await readCollecting(path);
    expect(read.length).toBeGreaterThanOrEqual(15);
    expect(torn.every((line) => !line.terminated)).toBe(true);
    expect(torn.length).toBeLessThanOrEqual(1);
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines.length - 1).toBe(read.length);

    const next = syntheticReport({ epoch: 99 });
    await jsonlSink(path).write(next);
    const [after, tornAfter] = await readCollecting(path);
    expect(after).toEqual([...read, next]);
    expect(tornAfter.map((line) => line.terminated)).toEqual(torn.map(() => true));
  });
});
