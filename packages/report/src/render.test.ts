import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CurvatureReport, OptionError, ReportFormatError } from '@hessian-probe/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { RUN_COLORS } from './data.js';
import { escapeHtml, formatNumber } from './html.js';
import { parseReports } from './read.js';
import { renderReportHtml, SECTION_IDS } from './render.js';
import { fixtureReport, fixtureRun } from './testing/fixtures.js';
import {
  attributeNames,
  checkWellFormed,
  externalReferences,
  sectionHtml,
  sectionIds,
  svgsOf,
  withoutVoidElements,
} from './testing/html-checks.js';
import type { ReportRun } from './types.js';

const DEMO_JSONL = fileURLToPath(new URL('./testing/mnist-demo.jsonl', import.meta.url));

/** A page is self-contained, scriptless, well-formed, and its SVG ids are unique. */
function checkPage(html: string): string[] {
  expect(html.startsWith('<!doctype html>')).toBe(true);
  checkWellFormed(withoutVoidElements(html));
  // Only the matches are printed on failure, not the whole page.
  expect(html.match(/<(script|link|img|iframe|object|embed|foreignObject)\b/gi)).toBeNull();
  expect(attributeNames(html).filter((name) => /^on/i.test(name))).toEqual([]);
  expect(externalReferences(html)).toEqual([]);
  const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  expect(new Set(ids).size).toBe(ids.length);
  const svgs = svgsOf(html);
  for (const svg of svgs) {
    const elements = checkWellFormed(svg);
    // Each chart has drawn marks (paths) and axis or legend labels (text).
    expect(elements.get('path') ?? 0).toBeGreaterThan(0);
    expect(elements.get('text') ?? 0).toBeGreaterThan(0);
  }
  return svgs;
}

describe('renderReportHtml', () => {
  let exact: CurvatureReport[];
  let probed: CurvatureReport[];
  beforeAll(async () => {
    exact = await fixtureRun(3, { exactBlocks: true });
    probed = await fixtureRun(4, { seed: 2, name: 'mlp-b' });
  });

  it('draws every section for two runs side by side, each run in its own colour and column', async () => {
    const runs: ReportRun[] = [
      { name: 'exact', reports: exact, source: 'runs/exact.jsonl' },
      {
        name: 'probed',
        reports: probed,
        metrics: [
          { name: 'training accuracy', step: 50, value: 0.8 },
          { name: 'training accuracy', step: 100, value: 0.9 },
        ],
      },
    ];
    const html = await renderReportHtml(runs, { title: 'two runs', notes: ['a note'] });
    const svgs = checkPage(html);
    expect(sectionIds(html)).toEqual([...SECTION_IDS]);
    expect(html).not.toContain('Not in these reports');
    // One chart each for loss, top-k, λmin, trace, block ratios and the Gauss–Newton gap; one
    // per run for the density, the block heatmaps and the layer metrics.
    expect(svgs).toHaveLength(6 + 3 * 2);
    for (const id of ['density', 'blocks', 'layers', 'kronecker', 'classes', 'analyses']) {
      const section = sectionHtml(html, id);
      expect(section.match(/<div class="run">/g)).toHaveLength(2);
      expect(section).toContain(`background:${RUN_COLORS[0]}">`);
      expect(section).toContain(`background:${RUN_COLORS[1]}">`);
    }
    // Shared charts colour the runs with the same palette and name them in a legend.
    const eigen = svgsOf(sectionHtml(html, 'eigen'))[0];
    expect(eigen).toContain(RUN_COLORS[0]);
    expect(eigen).toContain(RUN_COLORS[1]);
    expect(eigen).toMatch(/>exact</);
    expect(eigen).toMatch(/>probed</);
    // The metrics that came with a run get their own panel next to the loss.
    const loss = sectionHtml(html, 'loss');
    expect(loss).toContain('>training accuracy<');
    expect(loss).toContain('training accuracy came with the runs');
    // The block heatmaps say what they show: assembled (mean |H|) or probed (RMS |H|).
    const blocks = sectionHtml(html, 'blocks');
    expect(blocks).toContain('epoch 0 (step 0) · mean |H|');
    expect(blocks).toContain('epoch 4 (step 200) · RMS |H|');
    // At most 4 snapshots per run: the probed run has 5 analyses, its epoch 2 is left out.
    expect(blocks).not.toContain('epoch 2 (step 100) · RMS |H|');
    // The table of analyses has one row per report.
    expect(sectionHtml(html, 'analyses').match(/<tr><td>/g)).toHaveLength(4 + 5);
    expect(html).toContain('<li>a note</li>');
    expect(html).toContain('runs/exact.jsonl');
  });

  it('draws a single bare report with the default analyses, and lists what it lacks', async () => {
    const report = await fixtureReport({
      analyses: { eigen: { k: 2 }, trace: true },
      modelSections: false,
    });
    const html = await renderReportHtml([report]);
    const svgs = checkPage(html);
    expect(sectionIds(html)).toEqual(['overview', 'loss', 'eigen', 'trace', 'analyses']);
    expect(svgs).toHaveLength(3);
    expect(html).toContain('<title>hessian-probe report</title>');
    // Named after the model; no legend for a single run.
    expect(sectionHtml(html, 'overview')).toContain('>mlp</td>');
    const absent = html.slice(
      html.indexOf('<ul class="absent">'),
      html.indexOf('</ul>', html.indexOf('<ul class="absent">')),
    );
    for (const missing of ['density', 'blocks', 'layers', 'kronecker', 'classes', 'lambdaMin']) {
      expect(absent).toContain(missing);
    }
    expect(sectionHtml(html, 'loss')).toContain('Reports carry no accuracy');
  });

  it('copes with sections present in some reports only, and with non-finite numbers', async () => {
    const mixed: CurvatureReport[] = exact.map((r, i) => {
      const { density: _d, blocks: _b, layers: _l, ...rest } = r;
      return i % 2 === 0 ? { ...rest, trace: { ...r.trace!, stderr: Number.NaN } } : r;
    });
    mixed[1] = { ...mixed[1], loss: Number.POSITIVE_INFINITY };
    const html = await renderReportHtml([
      { name: 'mixed', reports: mixed },
      {
        name: 'eigen only',
        reports: [
          await fixtureReport({ analyses: { eigen: true, trace: false }, modelSections: false }),
        ],
      },
    ]);
    checkPage(html);
    expect(sectionIds(html)).toEqual([...SECTION_IDS]);
    // The second run has none of the per-run sections: its column says so.
    for (const id of ['density', 'blocks', 'layers', 'kronecker', 'classes']) {
      expect(sectionHtml(html, id)).toContain('Not in this run’s reports.');
    }
    const table = sectionHtml(html, 'analyses');
    expect(table).toContain('± NaN');
    expect(table).toContain('<td>Infinity</td>');
  });

  it('escapes every text from reports, runs and options', async () => {
    const evil = '<script>alert(1)</script><img src=x onerror="alert(2)">';
    const reports: CurvatureReport[] = exact.map((r) => ({
      ...r,
      model: { ...r.model, name: evil },
      layers: r.layers!.map((l, i) => (i === 0 ? { ...l, name: `${evil}'` } : l)),
      kronecker: r.kronecker!.map((k, i) => (i === 0 ? { ...k, name: evil } : k)),
    }));
    const html = await renderReportHtml(
      [
        { name: evil, reports, source: evil, metrics: [{ name: evil, step: 0, value: 1 }] },
        { name: 'other', reports: probed },
      ],
      { title: `a & b ${evil}`, notes: [evil] },
    );
    checkPage(html);
    expect(html.includes('<script')).toBe(false);
    expect(html.includes('<img')).toBe(false);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<title>a &amp; b &lt;script&gt;');
    expect(escapeHtml(`"'<>&`)).toBe('&quot;&#39;&lt;&gt;&amp;');
  });

  it('reads version-1 files and draws them', async () => {
    const v2 = readFileSync(DEMO_JSONL, 'utf8');
    const v1 = v2
      .trim()
      .split('\n')
      .map((line) => {
        const value = JSON.parse(line);
        value.schemaVersion = 1;
        value.density.negativeMass = value.density.negativeFraction;
        delete value.density.negativeFraction;
        for (const layer of value.layers) {
          layer.negativeMass = layer.negativeFraction;
          delete layer.negativeFraction;
        }
        return JSON.stringify(value);
      })
      .join('\n');
    const reports = parseReports(v1, 'v1.jsonl');
    expect(reports).toEqual(parseReports(v2, 'v2.jsonl'));
    const html = await renderReportHtml([{ name: 'v1', reports }]);
    checkPage(html);
    expect(sectionIds(html)).toContain('density');
  });

  it("draws the demo's real reports: class blocks, probed norms, no within-layer gap", async () => {
    const reports = parseReports(readFileSync(DEMO_JSONL, 'utf8'), 'mnist-demo.jsonl');
    const html = await renderReportHtml([{ name: 'mnist', reports }]);
    const svgs = checkPage(html);
    expect(sectionIds(html)).toEqual([
      'overview',
      'loss',
      'density',
      'eigen',
      'lambda-min',
      'trace',
      'blocks',
      'block-ratios',
      'layers',
      'analyses',
    ]);
    expect(svgs).toHaveLength(8);
    const blocks = sectionHtml(html, 'blocks');
    // The 'class' cut: the hidden layer whole and one block per output class, RMS |H| from
    // the probed norms and the layout's sizes.
    expect(blocks).toContain('RMS |H|');
    expect(blocks).toContain('dense_Dense2/unit_9');
    // λmin from its own analysis, and the density's Ritz bound above it.
    expect(sectionHtml(html, 'lambda-min')).toContain('Solid: λmin from the lambdaMin analysis');
    for (const r of reports)
      expect(r.lambdaMin!.value).toBeLessThanOrEqual(r.density!.lambdaMin + 1e-2);
  });

  it('refuses no runs, runs without reports, bad names and malformed reports', async () => {
    await expect(renderReportHtml([])).rejects.toThrow(OptionError);
    await expect(renderReportHtml([{ name: 'a', reports: [] }])).rejects.toThrow(
      /run 'a' to have reports/,
    );
    await expect(renderReportHtml([{ name: '', reports: exact }])).rejects.toThrow(OptionError);
    await expect(renderReportHtml(exact, { heatmapSnapshots: 0 })).rejects.toThrow(
      /heatmapSnapshots/,
    );
    const bad = { ...exact[0], eigen: { ...exact[0].eigen!, values: [1, 2, 3] } };
    await expect(renderReportHtml([bad])).rejects.toThrow(ReportFormatError);
  });

  it('names two runs of the same name apart', async () => {
    const html = await renderReportHtml([
      { name: 'run', reports: exact },
      { name: 'run', reports: probed },
    ]);
    expect(sectionHtml(html, 'overview')).toContain('run (2)');
  });
});

describe('formatNumber', () => {
  it('gives 4 significant digits, exponents outside [1e-3, 1e5), and the non-finite names', () => {
    expect(formatNumber(Math.PI)).toBe('3.142');
    expect(formatNumber(123456)).toBe('1.235e+5');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(undefined)).toBe('—');
    expect(formatNumber(Number.NaN)).toBe('NaN');
    expect(formatNumber(-Infinity)).toBe('-Infinity');
  });
});
