import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  figureFolder,
  integerList,
  nonNegativeInteger,
  parseFlagsOrExit,
  positiveInteger,
  seedList,
  withPathsFrom,
} from './flags.js';
import { checkResultPaths } from './output.js';

describe('integer flags', () => {
  it('nonNegativeInteger accepts 0 (the default seed) and rejects what is not an integer >= 0', () => {
    expect(nonNegativeInteger('seed', '0', 1)).toBe(0);
    expect(nonNegativeInteger('seed', '7', 1)).toBe(7);
    expect(nonNegativeInteger('seed', undefined, 1)).toBe(1);
    for (const text of ['-1', '1.5', '', ' ', 'x']) {
      expect(() => nonNegativeInteger('seed', text, 1)).toThrow(
        new RangeError(`--seed: expected an integer >= 0, got ${text}`),
      );
    }
  });

  it('positiveInteger still rejects 0', () => {
    expect(positiveInteger('epochs', '3', 1)).toBe(3);
    expect(() => positiveInteger('epochs', '0', 1)).toThrow(
      new RangeError('--epochs: expected a positive integer, got 0'),
    );
  });

  it('integerList takes entries >= 1 by default and >= 0 with { min: 0 }', () => {
    expect(integerList('checkpoints', '0, 5,20', [1], { min: 0 })).toEqual([0, 5, 20]);
    expect(integerList('classes', undefined, [2, 4])).toEqual([2, 4]);
    expect(() => integerList('classes', '0,5', [2])).toThrow(
      new RangeError('--classes: expected a positive integer, got 0'),
    );
    expect(() => integerList('checkpoints', '0,-1', [0], { min: 0 })).toThrow(
      new RangeError('--checkpoints: expected an integer >= 0, got -1'),
    );
  });
});

describe('checkResultPaths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kit-flags-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes paths in writable folders, and no paths at all', () => {
    expect(() =>
      checkResultPaths({ json: join(dir, 'rows.json'), markdown: join(dir, 'tables.md') }),
    ).not.toThrow();
    expect(() => checkResultPaths({})).not.toThrow();
  });

  it('checks --figures as a folder itself', () => {
    expect(() => checkResultPaths({ figures: dir })).not.toThrow();
    const missing = join(dir, 'no-figures');
    expect(() => checkResultPaths({ figures: missing })).toThrow(
      `--figures ${missing}: expected a writable folder ${missing}, got no such folder`,
    );
  });

  it('names the flag and the path when the folder is missing', () => {
    const path = join(dir, 'missing', 'tables.md');
    expect(() => checkResultPaths({ json: join(dir, 'rows.json'), markdown: path })).toThrow(
      `--markdown ${path}: expected a writable folder ${join(dir, 'missing')}, got no such folder`,
    );
  });

  it.skipIf(process.getuid?.() === 0)(
    'names the flag and the path when the folder is read-only',
    () => {
      const folder = mkdtempSync(join(dir, 'ro-'));
      chmodSync(folder, 0o500);
      try {
        expect(() => checkResultPaths({ json: join(folder, 'rows.json') })).toThrow(
          `--json ${join(folder, 'rows.json')}: expected a writable folder ${folder}, got EACCES`,
        );
      } finally {
        chmodSync(folder, 0o700);
      }
    },
  );
});

describe('parseFlagsOrExit', () => {
  it('returns what the flag phase returns', async () => {
    await expect(parseFlagsOrExit('demo', async () => ({ seed: 0 }))).resolves.toEqual({
      seed: 0,
    });
  });

  it('prints one line "<experiment>: <message>" on stderr and exits with code 2', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await parseFlagsOrExit('static-force', () => positiveInteger('samples', '0', 1));
      expect(stderr.mock.calls).toEqual([
        ['static-force: --samples: expected a positive integer, got 0\n'],
      ]);
      expect(exit.mock.calls).toEqual([[2]]);
    } finally {
      exit.mockRestore();
      stderr.mockRestore();
    }
  });
});

describe('seedList and figureFolder', () => {
  it('gives K consecutive seeds from --seed, the defaults when absent', () => {
    expect(seedList({ seed: '4', seeds: '3' }, { seed: 1, seeds: 2 })).toEqual([4, 5, 6]);
    expect(seedList({}, { seed: 1, seeds: 3 })).toEqual([1, 2, 3]);
    expect(seedList({ seed: '0' }, { seed: 1, seeds: 1 })).toEqual([0]);
    // The experiments' default: 3 seeds from 1, 2 with --quick.
    expect(seedList({})).toEqual([1, 2, 3]);
    expect(seedList({ quick: true })).toEqual([1, 2]);
    expect(seedList({ quick: true, seeds: '4' })).toEqual([1, 2, 3, 4]);
    expect(() => seedList({ seeds: '0' }, { seed: 1, seeds: 3 })).toThrow(
      new RangeError('--seeds: expected a positive integer, got 0'),
    );
  });

  it('writes figures beside RESULTS.md on full runs, nowhere on quick ones unless asked', () => {
    expect(figureFolder({}, '/x')).toBe('/x');
    expect(figureFolder({ quick: true }, '/x')).toBeUndefined();
    expect(figureFolder({ quick: true, figures: '/y' }, '/x')).toBe('/y');
    expect(figureFolder({}, new URL('file:///work/examples/static-force/'))).toBe(
      '/work/examples/static-force/',
    );
  });
});

describe('withPathsFrom', () => {
  it('makes relative result paths absolute against the folder pnpm was run in', () => {
    expect(
      withPathsFrom('/home/me', [
        '--',
        '--json',
        'rows.json',
        '--markdown=out/t.md',
        '--figures',
        '/abs/figs',
        '--seed',
        '3',
      ]),
    ).toEqual([
      '--json',
      '/home/me/rows.json',
      '--markdown=/home/me/out/t.md',
      '--figures',
      '/abs/figs',
      '--seed',
      '3',
    ]);
  });

  it('leaves paths relative without the folder, and other values alone', () => {
    expect(withPathsFrom(undefined, ['--json', 'rows.json', '--', '--quick'])).toEqual([
      '--json',
      'rows.json',
      '--quick',
    ]);
    expect(withPathsFrom('/home/me', ['--backend', 'cpu', 'json'])).toEqual([
      '--backend',
      'cpu',
      'json',
    ]);
  });
});
