/**
 * The demo's pure parts: the HTML report builder (from synthetic reports),
 * the flags, the table, and the MNIST split. Training itself is what `pnpm demo` shows.
 */
import type { CurvatureReport } from '@hessian-probe/core';
import { CLASSES, loadDigits, PIXELS } from '@hessian-probe/example-kit';
import { describe, expect, it } from 'vitest';
import { syntheticReport } from '../../../packages/tfjs-callback/test/synthetic-reports.js';
import { parseFlags, tableHeader, tableRow } from './console.js';
import { buildReportHtml, escapeHtml } from './report-html.js';

/**
 * Checks that `svg` is well-formed XML as far as elements go: every start tag is closed by the
 * matching end tag, in order (self-closing tags stand alone). Returns the element names seen.
 */
function checkWellFormed(svg: string): Map<string, number> {
  const stack: string[] = [];
  const seen = new Map<string, number>();
  for (const match of svg.matchAll(
    /<(\/?)([a-zA-Z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g,
  )) {
    const [, closing, name, , selfClosing] = match;
    if (closing) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}> at ${match.index}`);
    } else {
      seen.set(name, (seen.get(name) ?? 0) + 1);
      if (!selfClosing) stack.push(name);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(', ')}`);
  return seen;
}

function svgsOf(html: string): string[] {
  return [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
}

/** Addresses a browser could try to load: everything but XML namespace names. */
function externalReferences(html: string): string[] {
  const withoutNamespaces = html.replace(/\sxmlns(:\w+)?="[^"]*"/g, '');
  return [
    ...(withoutNamespaces.match(/(https?:)?\/\/[\w.-]+\.[a-z]{2,}[^\s"'<>)]*/gi) ?? []),
    ...(withoutNamespaces.match(/\b(src|href|xlink:href)\s*=\s*"[^"#][^"]*"/gi) ?? []),
    ...(withoutNamespaces.match(/url\(\s*['"]?[^#'")]/gi) ?? []),
    ...(withoutNamespaces.match(/@import/gi) ?? []),
  ];
}

const reports = [0, 1, 2, 3].map((epoch) => syntheticReport({ epoch }));

describe('buildReportHtml', () => {
  it('draws every chart as well-formed inline SVG, with no script and no external resource', async () => {
    const html = await buildReportHtml(reports, { title: 'synthetic', notes: ['a note'] });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    const svgs = svgsOf(html);
    // Density, λmax, trace, off-diagonal ratio, per-layer λmax, loss.
    expect(svgs).toHaveLength(6);
    for (const svg of svgs) {
      const elements = checkWellFormed(svg);
      // Each chart has drawn marks (paths) and axis labels (text).
      expect(elements.get('path') ?? 0).toBeGreaterThan(0);
      expect(elements.get('text') ?? 0).toBeGreaterThan(0);
    }
    checkWellFormed(html.replace(/<!doctype html>|<meta[^>]*>/g, ''));
    expect(html).not.toMatch(/<script|<link|<img|<iframe/i);
    expect(externalReferences(html)).toEqual([]);
    // One density curve per analysis: the legend names each.
    for (const r of reports) expect(svgs[0]).toContain(`epoch ${r.epoch} (step ${r.step})`);
    // The table has one row per report, in step order.
    expect(html.match(/<tr><td>/g)).toHaveLength(reports.length);
    expect(html).toContain('<li>a note</li>');
  });

  it('leaves out charts of sections no report has, and survives non-finite values', async () => {
    const bare: CurvatureReport[] = reports.map(
      ({ density: _d, blocks: _b, layers: _l, ...r }) => ({
        ...r,
        trace: { ...r.trace!, stderr: Number.NaN },
      }),
    );
    bare[1] = { ...bare[1], loss: Number.POSITIVE_INFINITY };
    const html = await buildReportHtml(bare);
    const svgs = svgsOf(html);
    expect(svgs).toHaveLength(3); // λmax, trace, loss
    for (const svg of svgs) checkWellFormed(svg);
    expect(html).toContain('± NaN');
    expect(html).toContain('<td>Infinity</td>');
  });

  it('escapes text from reports and options', async () => {
    const named = reports.map((r) => ({ ...r, model: { ...r.model, name: '<script>x</script>' } }));
    const html = await buildReportHtml(named, { title: 'a & b' });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).toContain('<title>a &amp; b</title>');
    expect(escapeHtml(`"'<>&`)).toBe('&quot;&#39;&lt;&gt;&amp;');
  });

  it('needs at least one report', async () => {
    await expect(buildReportHtml([])).rejects.toThrow(RangeError);
  });
});

describe('the command line', () => {
  it('parses the flags, with their defaults', () => {
    expect(parseFlags([])).toEqual({
      epochs: 5,
      port: 9464,
      out: 'out',
      backend: 'auto',
      help: false,
    });
    expect(
      parseFlags(['--', '--epochs', '2', '--port', '0', '--out', 'x', '--backend', 'wasm']),
    ).toEqual({ epochs: 2, port: 0, out: 'x', backend: 'wasm', help: false });
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
