/**
 * The demo's pure parts: its report page (from synthetic reports), the flags, the table, and
 * the MNIST split. Training itself is what `pnpm demo` shows.
 */
import { CLASSES, loadDigits, PIXELS } from '@hessian-probe/example-kit';
import { describe, expect, it } from 'vitest';
import { syntheticReport } from '../../../packages/tfjs-callback/test/synthetic-reports.js';
import { parseFlags, tableHeader, tableRow } from './console.js';
import { demoReportHtml } from './report.js';

const reports = [0, 1, 2, 3].map((epoch) => syntheticReport({ epoch }));

describe('demoReportHtml', () => {
  // The page itself (sections, escaping, compare mode, SVGs) is tested in packages/report.
  it("draws the demo's run with the accuracy of fit() logs next to the loss", async () => {
    const html = await demoReportHtml(reports, {
      source: 'out/reports.jsonl',
      epochs: [1, 2, 3].map((e) => ({ step: e * 100, accuracy: 0.7 + 0.05 * e })),
      notes: ['test accuracy 93.0 %'],
    });
    expect(html).toContain('<title>MNIST MLP: the Hessian during training</title>');
    expect(html).toContain('<li>test accuracy 93.0 %</li>');
    expect(html).toContain('out/reports.jsonl');
    const loss = html.slice(
      html.indexOf('<section id="loss">'),
      html.indexOf('</section>', html.indexOf('<section id="loss">')),
    );
    for (const panel of ['loss on the probe set', 'training accuracy (fit() logs)']) {
      expect(loss).toContain(`>${panel}<`);
    }
    for (const id of [
      'density',
      'eigen',
      'trace',
      'blocks',
      'block-ratios',
      'layers',
      'kronecker',
      'classes',
    ]) {
      expect(html).toContain(`<section id="${id}">`);
    }
    expect(html.match(/<tr><td>/g)).toHaveLength(reports.length);
  });
});

describe('the command line', () => {
  it('parses the flags, with their defaults', () => {
    expect(parseFlags([])).toEqual({
      epochs: 5,
      port: 9464,
      out: 'out',
      backend: 'auto',
      serveAfter: false,
      help: false,
    });
    expect(
      parseFlags([
        '--',
        '--epochs',
        '2',
        '--port',
        '0',
        '--out',
        'x',
        '--backend',
        'wasm',
        '--serve-after',
      ]),
    ).toEqual({ epochs: 2, port: 0, out: 'x', backend: 'wasm', serveAfter: true, help: false });
    expect(parseFlags(['--help']).help).toBe(true);
  });

  it.each([
    [['--epochs', '0'], /--epochs: expected an integer in \[1, 1000\], got 0/],
    [['--epochs', '2.5'], /--epochs/],
    [['--port', '70000'], /--port: expected an integer in \[0, 65535\]/],
    [['--out', ''], /--out/],
    [['--backend', 'webgl'], /--backend: expected tensorflow, wasm, cpu or auto, got webgl/],
    [['--batch', '3'], /Unknown option '--batch'/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseFlags(argv)).toThrow(message);
  });

  it('prints one aligned table row per report', () => {
    const [names, rule] = tableHeader().split('\n');
    const row = tableRow(reports[2]);
    expect(row.length).toBe(names.length);
    expect(rule.length).toBe(names.length);
    const cells = row.trim().split(/\s{2,}/);
    expect(cells[0]).toBe('2');
    expect(cells[1]).toBe(String(reports[2].step));
    expect(Number(cells[3])).toBeCloseTo(reports[2].eigen!.values[0], 3);
  });
});

describe('loadDigits', () => {
  it('splits the package digits per class, one-hot, in a seeded order', () => {
    const { train, test } = loadDigits({ trainPerClass: 3, testPerClass: 2, seed: 4 });
    expect([train.size, test.size]).toEqual([30, 20]);
    expect(train.images).toHaveLength(30 * PIXELS);
    expect(Math.min(...train.images)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...train.images)).toBeLessThanOrEqual(1);
    for (const set of [train, test]) {
      const counts = new Array(CLASSES).fill(0);
      for (let i = 0; i < set.size; i++) {
        counts[set.classes[i]]++;
        const row = set.labels.subarray(i * CLASSES, (i + 1) * CLASSES);
        expect(row[set.classes[i]]).toBe(1);
        expect(row.reduce((s, v) => s + v, 0)).toBe(1);
      }
      expect(new Set(counts).size).toBe(1);
    }
    const again = loadDigits({ trainPerClass: 3, testPerClass: 2, seed: 4 });
    expect(again.train.classes).toEqual(train.classes);
    const other = loadDigits({ trainPerClass: 3, testPerClass: 2, seed: 5 });
    expect(other.train.classes).not.toEqual(train.classes);
    expect(() => loadDigits({ trainPerClass: 900, testPerClass: 200 })).toThrow(RangeError);
  });
});
