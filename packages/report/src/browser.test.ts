/**
 * The page in a real browser: Debian's chromium (headless, through puppeteer-core) opens the
 * generated file with every section and two runs; the screenshot must not be blank, the console
 * must stay free of errors, and nothing may be fetched but the page itself.
 *
 * Skipped, with a message, only when chromium is missing and `CI` is not set; `.ci/run`
 * installs chromium, so in CI this always runs.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import puppeteer from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { RUN_COLORS } from './data.js';
import { parseReports } from './read.js';
import { renderReportHtml, SECTION_IDS } from './render.js';
import { fixtureRun } from './testing/fixtures.js';
import { svgsOf } from './testing/html-checks.js';

/** `CHROMIUM_PATH`, else `chromium` (or `chromium-browser`) on the PATH. */
function findChromium(): string | undefined {
  const candidates = [
    ...(process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : []),
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter((dir) => dir !== '')
      .flatMap((dir) => [join(dir, 'chromium'), join(dir, 'chromium-browser')]),
  ];
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const chromium = findChromium();
const inCi = Boolean(process.env.CI);
const skip = chromium === undefined && !inCi;
if (skip) {
  console.warn(
    'browser check skipped: no chromium on the PATH (apt-get install -y --no-install-recommends chromium, or set CHROMIUM_PATH); with CI set it fails instead',
  );
}

/** Pixel statistics of a PNG screenshot. */
function pixelStats(png: Buffer): {
  width: number;
  height: number;
  nonWhite: number;
  colors: Set<string>;
} {
  const image = PNG.sync.read(png);
  let nonWhite = 0;
  const colors = new Set<string>();
  const { data } = image;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    if (r < 245 || g < 245 || b < 245) nonWhite++;
    colors.add(`#${((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1)}`);
  }
  return { width: image.width, height: image.height, nonWhite, colors };
}

describe.skipIf(skip)('the page in headless chromium', () => {
  it('renders every section of two runs: charts drawn, nothing fetched, no console error', async () => {
    if (chromium === undefined) {
      throw new Error(
        'CI is set but chromium is not installed: .ci/run installs it (apt-get install chromium), or set CHROMIUM_PATH',
      );
    }
    const demo = parseReports(
      readFileSync(fileURLToPath(new URL('./testing/mnist-demo.jsonl', import.meta.url)), 'utf8'),
      'mnist-demo.jsonl',
    );
    const html = await renderReportHtml(
      [
        { name: 'fixture', reports: await fixtureRun(3, { exactBlocks: true }) },
        { name: 'mnist demo', reports: demo },
      ],
      { title: 'browser check' },
    );
    const svgCount = svgsOf(html).length;
    const dir = await mkdtemp(join(tmpdir(), 'hessian-probe-browser-'));
    const file = join(dir, 'report.html');
    await writeFile(file, html);
    const url = pathToFileURL(file).href;
    const browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      // Root in a container has no user namespace for chromium's sandbox.
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warn') {
          problems.push(`console ${message.type()}: ${message.text()}`);
        }
      });
      page.on('pageerror', (error) => problems.push(`page error: ${String(error)}`));
      page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
      page.on('request', (request) => requests.push(request.url()));
      await page.setViewport({ width: 1280, height: 900 });
      const response = await page.goto(url, { waitUntil: 'load' });
      expect(response?.ok()).toBe(true);

      // Evaluated in the page (a string: this package's TypeScript has no DOM types).
      const layout = (await page.evaluate(`({
        title: document.title,
        sections: [...document.querySelectorAll('section')].map((s) => s.id),
        svgs: [...document.querySelectorAll('svg')].map((svg) => {
          const box = svg.getBoundingClientRect();
          return { width: box.width, height: box.height, marks: svg.querySelectorAll('path').length };
        }),
        scripts: document.scripts.length,
      })`)) as {
        title: string;
        sections: string[];
        svgs: { width: number; height: number; marks: number }[];
        scripts: number;
      };
      expect(layout.title).toBe('browser check');
      expect(layout.sections).toEqual([...SECTION_IDS]);
      expect(layout.scripts).toBe(0);
      expect(layout.svgs).toHaveLength(svgCount);
      for (const svg of layout.svgs) {
        expect(svg.width).toBeGreaterThan(100);
        expect(svg.height).toBeGreaterThan(50);
        expect(svg.marks).toBeGreaterThan(0);
      }

      const screenshot = Buffer.from(await page.screenshot({ fullPage: true, type: 'png' }));
      const stats = pixelStats(screenshot);
      const share = stats.nonWhite / (stats.width * stats.height);
      console.info(
        `browser check: chromium ${await browser.version()}, ${stats.width}×${stats.height} px, ${(100 * share).toFixed(1)} % non-white, ${stats.colors.size} colours, ${svgCount} SVGs`,
      );
      expect(stats.height).toBeGreaterThan(2000);
      expect(share).toBeGreaterThan(0.05);
      expect(stats.colors.size).toBeGreaterThan(200);
      // The run swatches are drawn in the runs' colours.
      expect(stats.colors.has(RUN_COLORS[0])).toBe(true);
      expect(stats.colors.has(RUN_COLORS[1])).toBe(true);

      expect(problems).toEqual([]);
      expect(requests).toEqual([url]);
    } finally {
      await browser.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
