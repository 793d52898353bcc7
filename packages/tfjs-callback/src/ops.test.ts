/**
 * Keeps the operations files (packages/tfjs-callback/ops/) in step with the metrics that
 * curvatureMetrics registers: every metric name in the Grafana dashboard's queries, in the alert
 * rules and in their promtool tests is one that a real registry exports after a full report, and
 * every exported family is shown or alerted on somewhere. Without promtool (locally) the suites
 * that run it are skipped; in CI they must run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CurvatureReport } from '@hessian-probe/core';
import { describe, expect, it } from 'vitest';
import { findBinary, IN_CI, missingBinaryNote, parseExposition } from '../test/exposition.js';
import { syntheticReport } from '../test/synthetic-reports.js';
import { curvatureMetrics } from './metrics.js';

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..');
const OPS = join(PACKAGE, 'ops');
const DASHBOARD = join(OPS, 'grafana', 'hessian-probe.json');
const RULES = join(OPS, 'prometheus', 'hessian-alerts.yml');
const RULE_TESTS = join(OPS, 'prometheus', 'hessian-alerts.test.yml');
const SCRAPE_CONFIG = join(OPS, 'prometheus', 'prometheus.yml');

/** How the panels name their data source: the `datasource` variable, in Grafana's syntax. */
const GRAFANA_DATASOURCE = ['$', '{datasource}'].join('');

/** Words of PromQL that look like metric names but are not. */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads. Strings (label values, regular expressions),
 * label matchers, ranges, Grafana variables and the label lists of by/without/on/ignoring are
 * removed first; what is left that looks like an identifier and is not called as a function
 * or a keyword is a metric name.
 */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\$\{[^}]*\}|\$[a-zA-Z_]\w*/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.])[a-zA-Z_:][\w:]*/g)) {
    const word = match[0];
    const after = stripped.slice((match.index ?? 0) + word.length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names].sort();
}

/**
 * The values of the `key:` fields of a YAML file as written in ops/: inline (quoted or not) or
 * a block scalar (`|`, `|-`, `>`, `>-`) whose lines are indented deeper than the key.
 */
function yamlValues(text: string, key: string): string[] {
  const lines = text.split('\n');
  const values: string[] = [];
  const field = new RegExp(`^(\\s*)(?:- )?${key}:\\s*(.*)$`);
  for (let i = 0; i < lines.length; i++) {
    const m = field.exec(lines[i]);
    if (!m) continue;
    const indent = m[1].length;
    const rest = m[2].replace(/\s+#.*$/, '').trim();
    if (/^[|>][+-]?$/.test(rest)) {
      const block: string[] = [];
      while (i + 1 < lines.length) {
        const next = lines[i + 1];
        if (next.trim() !== '' && next.length - next.trimStart().length <= indent) break;
        block.push(next.trim());
        i++;
      }
      values.push(block.join('\n').trim());
    } else {
      values.push(rest.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1'));
    }
  }
  return values;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; legendFormat?: string }[];
  panels?: Panel[];
}

interface Dashboard {
  schemaVersion: number;
  uid: string;
  title: string;
  panels: Panel[];
  templating: {
    list: { name: string; type: string; query: unknown; definition?: string }[];
  };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = allPanels.filter((p) => p.type !== 'row');
const dashboardExprs = queryPanels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr })),
);
const variableExprs = dashboard.templating.list
  .filter((v) => v.type === 'query')
  .map((v) => {
    const query = typeof v.query === 'string' ? v.query : (v.query as { query: string }).query;
    // label_values(<selector>, <label>): the selector is the expression.
    const selector = /^label_values\((.*),\s*[a-zA-Z_]\w*\s*\)$/.exec(query)?.[1] ?? query;
    return { where: `variable $${v.name}`, expr: selector };
  });
const rulesText = readFileSync(RULES, 'utf8');
const ruleExprs = yamlValues(rulesText, 'expr');
const alertNames = yamlValues(rulesText, 'alert');
const testsText = readFileSync(RULE_TESTS, 'utf8');

/** Every sample name (families and histogram series) a registry exports after a full report. */
async function exportedNames(): Promise<{ samples: Set<string>; families: string[] }> {
  const metrics = curvatureMetrics({ defaultLabels: { model: 'mlp', run: 'r1' } });
  const report = syntheticReport({ epoch: 2 });
  const density = report.density!;
  const cutoff = -Math.sqrt(1e-5 * Math.max(1, density.lambdaMax - density.lambdaMin));
  const full = {
    ...report,
    density: { ...density, negativeCutoff: cutoff },
  } satisfies CurvatureReport;
  metrics.record(full, { learningRate: 0.01 });
  metrics.recordFailure();
  metrics.recordSkipped('budget');
  metrics.recordSinkError('jsonl');
  const families = parseExposition(await metrics.registry.metrics());
  const samples = new Set<string>();
  for (const [name, family] of families) {
    // A family without series would make the checks below vacuous for it.
    expect(family.samples.size, `${name} has series after a full report`).toBeGreaterThan(0);
    for (const key of family.samples.keys()) samples.add(key.replace(/\{.*$/, ''));
  }
  return { samples, families: [...families.keys()] };
}

describe('metricNamesIn', () => {
  it('finds the metric names of PromQL expressions and nothing else', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.9, sum by (le, job) (rate(a_bucket{job=~"$job", x="by(y)"}[5m])))',
      ),
    ).toEqual(['a_bucket']);
    expect(
      metricNamesIn('b{rank="1"} > ignoring (rank) c and on(job) d offset 1h unless e > 1e-3'),
    ).toEqual(['b', 'c', 'd', 'e']);
    expect(metricNamesIn('time() - f > 3600 or g == bool +Inf')).toEqual(['f', 'g']);
    expect(metricNamesIn(`rate(h[$__rate_interval]) / ${GRAFANA_DATASOURCE} + NaN`)).toEqual(['h']);
  });
});

describe('the Grafana dashboard', () => {
  it('is a Grafana dashboard with a Prometheus data source variable and job/model/run/layer variables', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(variables.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['job', 'model', 'run', 'layer']) {
      expect(variables.get(name)?.type, name).toBe('query');
    }
    const ids = allPanels.map((p) => p.id);
    expect(new Set(ids).size, 'unique panel ids').toBe(ids.length);
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual({
        type: 'prometheus',
        uid: GRAFANA_DATASOURCE,
      });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      const refIds = panel.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, `${panel.title} refIds`).toBe(refIds.length);
      const { x, w } = panel.gridPos;
      expect(x + w, `${panel.title} fits the 24 columns`).toBeLessThanOrEqual(24);
    }
  });

  it('reads only metrics that curvatureMetrics exports, with the variables it defines', async () => {
    const { samples } = await exportedNames();
    const defined = new Set(dashboard.templating.list.map((v) => v.name));
    expect(dashboardExprs.length).toBeGreaterThan(20);
    for (const { where, expr } of [...dashboardExprs, ...variableExprs]) {
      const names = metricNamesIn(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(samples, `${where} reads ${name}`).toContain(name);
      for (const [, variable] of expr.matchAll(/\$\{?([a-zA-Z_]\w*)/g)) {
        if (!variable.startsWith('__'))
          expect(defined, `${where} uses $${variable}`).toContain(variable);
      }
    }
  });
});

describe('the alert rules and their promtool tests', () => {
  it('read only metrics that curvatureMetrics exports, and their tests feed only those', async () => {
    const { samples } = await exportedNames();
    expect(ruleExprs).toHaveLength(alertNames.length);
    for (const [i, expr] of ruleExprs.entries()) {
      const names = metricNamesIn(expr);
      expect(names.length, `${alertNames[i]}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(samples, `${alertNames[i]} reads ${name}`).toContain(name);
    }
    const series = yamlValues(testsText, 'series');
    expect(series.length).toBeGreaterThan(0);
    for (const s of series) {
      const name = /^[a-zA-Z_:][\w:]*/.exec(s)?.[0];
      expect(samples, `test series ${s}`).toContain(name);
    }
  });

  it('test every alert both firing and not firing', () => {
    const cases = [...testsText.matchAll(/alertname:\s*(\w+)\s*\n\s*exp_alerts:\s*(\[\])?/g)].map(
      ([, name, empty]) => ({ name, fires: empty === undefined }),
    );
    expect(new Set(alertNames).size, 'unique alert names').toBe(alertNames.length);
    for (const alert of alertNames) {
      expect(
        cases.some((c) => c.name === alert && c.fires),
        `${alert} tested firing`,
      ).toBe(true);
      expect(
        cases.some((c) => c.name === alert && !c.fires),
        `${alert} tested quiet`,
      ).toBe(true);
    }
    for (const c of cases) expect(alertNames, 'a tested alert exists').toContain(c.name);
  });
});

describe('the operations files together', () => {
  it('show or alert on every family that curvatureMetrics exports', async () => {
    const { families } = await exportedNames();
    const used = new Set(
      [...dashboardExprs, ...variableExprs]
        .map((e) => e.expr)
        .concat(ruleExprs)
        .flatMap(metricNamesIn)
        .map((name) => name.replace(/_(bucket|sum|count)$/, '')),
    );
    for (const family of families) expect(used, `${family} is used`).toContain(family);
  });

  it("scrape serveMetrics' default port and load the alert rules", () => {
    const server = readFileSync(join(PACKAGE, 'src', 'server.ts'), 'utf8');
    const port = /\bport\s*=\s*(\d+)/.exec(server)?.[1];
    expect(port, "serveMetrics' default port in server.ts").toBeDefined();
    const config = readFileSync(SCRAPE_CONFIG, 'utf8');
    expect(yamlValues(config, 'metrics_path')).toEqual(['/metrics']);
    expect(config).toMatch(new RegExp(`targets: \\[(['"])127\\.0\\.0\\.1:${port}\\1\\]`));
    expect(config).toMatch(/rule_files:\s*\n\s*- hessian-alerts\.yml\s*\n/);
  });
});

const promtool = findBinary('promtool');

describe.skipIf(!promtool && !IN_CI)(
  `promtool accepts the operations files${missingBinaryNote('promtool', promtool)}`,
  () => {
    const run = (...args: string[]) => {
      if (!promtool) return expect.fail('CI is set but promtool is not on PATH');
      const result = spawnSync(promtool, args, { cwd: join(OPS, 'prometheus'), encoding: 'utf8' });
      return { status: result.status, output: `${result.stdout}${result.stderr}` };
    };

    it('checks the rules and the config, and passes the unit tests of the alerts', () => {
      for (const args of [
        ['check', 'rules', 'hessian-alerts.yml'],
        ['check', 'config', 'prometheus.yml'],
        ['test', 'rules', 'hessian-alerts.test.yml'],
      ]) {
        const { status, output } = run(...args);
        expect(status, `promtool ${args.join(' ')}\n${output}`).toBe(0);
      }
    });

    it('parses every query of the dashboard (variables filled in) as PromQL', () => {
      const exprs = [...dashboardExprs, ...variableExprs].map(({ where, expr }) => ({
        where,
        expr: expr
          .replace(/\$__rate_interval|\$\{__rate_interval\}/g, '1m')
          .replace(/\$\{?[a-zA-Z_]\w*\}?/g, '.*'),
      }));
      const folder = mkdtempSync(join(tmpdir(), 'hessian-ops-'));
      try {
        const rules = exprs
          .map(
            ({ expr }, i) =>
              `      - record: dashboard_query_${i}\n        expr: ${JSON.stringify(expr)}`,
          )
          .join('\n');
        writeFileSync(
          join(folder, 'queries.yml'),
          `groups:\n  - name: dashboard\n    rules:\n${rules}\n`,
        );
        const { status, output } = run('check', 'rules', join(folder, 'queries.yml'));
        expect(status, output).toBe(0);
        expect(output).toContain(`${exprs.length} rules found`);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });
  },
);
