import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './main.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Four reports the MNIST demo wrote (JSON Lines, schema version 2). */
const DEMO_JSONL = resolve(here, '../../../report/src/testing/mnist-demo.jsonl');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  let exited: number | undefined;
  const code = await main(argv, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    exit: (c) => {
      exited = c;
    },
  });
  expect(exited).toBe(code);
  return { code, stdout, stderr };
}

/** A version-2 line as schema version 1 wrote it (`negativeMass` for `negativeFraction`). */
function asVersion1(line: string): string {
  const value = JSON.parse(line);
  value.schemaVersion = 1;
  value.density.negativeMass = value.density.negativeFraction;
  delete value.density.negativeFraction;
  for (const layer of value.layers) {
    layer.negativeMass = layer.negativeFraction;
    delete layer.negativeFraction;
  }
  return JSON.stringify(value);
}

describe('hessian-probe report', () => {
  let dir: string;
  let lines: string[];
  const path = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hessian-probe-report-cli-'));
    const text = await readFile(DEMO_JSONL, 'utf8');
    lines = text.trim().split('\n');
    await writeFile(path('adam.jsonl'), text);
    await writeFile(path('short.jsonl'), `${lines.slice(0, 2).join('\n')}\n`);
    await writeFile(path('old.jsonl'), `${lines.map(asVersion1).join('\n')}\n`);
    await writeFile(path('bad.jsonl'), `${lines[0]}\n${lines[1].slice(0, 80)}\n${lines[2]}\n`);
    await writeFile(path('empty.jsonl'), '\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('draws two runs side by side into one page, written atomically', async () => {
    const run = await cli(
      'report',
      path('adam.jsonl'),
      path('short.jsonl'),
      '--out',
      path('cmp.html'),
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^wrote .*cmp\.html: 2 runs \(adam, short\), 6 analyses, \d+ charts, \d+ KiB\n$/,
    );
    const html = await readFile(path('cmp.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<title>hessian-probe report: adam, short</title>');
    for (const id of ['density', 'eigen', 'trace', 'blocks', 'block-ratios', 'layers']) {
      expect(html).toContain(`<section id="${id}">`);
    }
    // One column per run in density, blocks, layers and the table of analyses.
    expect(html.match(/<div class="run">/g)).toHaveLength(2 * 4);
    // No temporary file is left next to the page.
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('takes a title, and reads version-1 files', async () => {
    const run = await cli(
      'report',
      path('old.jsonl'),
      '--out',
      path('old.html'),
      '--title',
      'A <b>',
    );
    expect(run.code).toBe(0);
    const html = await readFile(path('old.html'), 'utf8');
    expect(html).toContain('<title>A &lt;b&gt;</title>');
    expect(html).toContain('<section id="density">');
  });

  it.each([
    [['report', '--out', 'x.html'], /report: expected one or more RUN\.jsonl files, got none/],
    [['report', 'adam.jsonl'], /report: --out REPORT\.html is required/],
    [
      ['report', 'adam.jsonl', '--out', 'x.html', '--k', '3'],
      /report: takes --out and --title only, got --k/,
    ],
    [
      ['report', 'adam.jsonl', '--out', 'x.html', '--title', ' '],
      /--title: expected a non-empty title/,
    ],
    [['report', 'missing.jsonl', '--out', 'x.html'], /report: .*missing\.jsonl: no such file/],
    [
      ['report', 'adam.jsonl', 'bad.jsonl', '--out', 'x.html'],
      /report: .*bad\.jsonl:2: not a curvature report: decodeReport: expected JSON text/,
    ],
    [['report', 'empty.jsonl', '--out', 'x.html'], /empty\.jsonl: expected at least one report/],
    [
      ['report', 'adam.jsonl', '--out', 'adam.jsonl'],
      /--out .*adam\.jsonl: is the input .*adam\.jsonl; refusing to overwrite/,
    ],
    [['report', 'adam.jsonl', '--out', '.'], /--out .*: is a folder; expected a file path/],
    [['report', 'adam.jsonl', '--out', 'no/such/folder/x.html'], /--out .*its folder/],
    [
      ['onnx', 'show', 'm.onnx', '--title', 't'],
      /onnx show: --title is an option of 'report' only/,
    ],
  ])('exits 2 before writing anything: %j', async (argv, message) => {
    const before = (await readdir(dir)).sort();
    const adam = await readFile(path('adam.jsonl'));
    const args = argv.map((a) => (/\.(jsonl|html)$|^\.$/.test(a) ? path(a) : a));
    const run = await cli(...args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/^hessian-probe: /);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect((await readdir(dir)).sort()).toEqual(before);
    expect((await readFile(path('adam.jsonl'))).equals(adam)).toBe(true);
  });

  it('keeps an existing page when a later input is bad, and refuses --out linked to an input', async () => {
    await writeFile(path('kept.html'), 'old page');
    const bad = await cli(
      'report',
      path('adam.jsonl'),
      path('bad.jsonl'),
      '--out',
      path('kept.html'),
    );
    expect(bad.code).toBe(2);
    expect(await readFile(path('kept.html'), 'utf8')).toBe('old page');
    await mkdir(path('links'));
    await symlink(path('adam.jsonl'), path('links/alias.html'));
    const linked = await cli('report', path('adam.jsonl'), '--out', path('links/alias.html'));
    expect(linked.code).toBe(2);
    expect(linked.stderr).toMatch(/is the input .*adam\.jsonl/);
    expect(await readFile(path('adam.jsonl'), 'utf8')).toBe(`${lines.join('\n')}\n`);
  });

  it('is in the usage text, and has its own help', async () => {
    const run = await cli('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /hessian-probe report RUN\.jsonl \[MORE\.jsonl …\] --out REPORT\.html/,
    );
    const own = await cli('report', '--help');
    expect(own.code).toBe(0);
    expect(own.stdout).toMatch(/^Usage: hessian-probe report RUN\.jsonl/);
    expect(own.stdout).toContain('--title T');
  });

  it('runs as a process with real exit codes (tsx cli-main.ts)', async () => {
    const tsx = resolve(here, '../../../../node_modules/.bin/tsx');
    const exec = (args: string[]) =>
      promisify(execFile)(tsx, ['--conditions=source', join(here, '../cli-main.ts'), ...args], {
        cwd: resolve(here, '../..'),
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const ok = await exec(['report', path('short.jsonl'), '--out', path('process.html')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^wrote /);
    expect((await readFile(path('process.html'), 'utf8')).length).toBeGreaterThan(10_000);
    const bad = await exec(['report', path('bad.jsonl'), '--out', path('process2.html')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.jsonl:2: /);
  });
});
