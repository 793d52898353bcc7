import {
  type CurvatureReport,
  type CurvatureReportInput,
  OptionError,
  ReportFormatError,
} from '@hessian-probe/core';
import { Gauge, register as globalRegistry, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  type Family,
  findBinary,
  missingBinaryNote,
  parseExposition,
  promtoolCheckMetrics,
  seriesKey,
} from '../test/exposition.js';
import { syntheticReport } from '../test/synthetic-reports.js';
import {
  type CurvatureMetricsOptions,
  curvatureMetrics,
  MAX_SINK_LABELS,
  MAX_SKIP_REASONS,
} from './metrics.js';

/** Name, type and label names (besides model/run) of every family, as documented. */
const FAMILIES: [string, string, string[]][] = [
  ['hessian_eigenvalue', 'gauge', ['rank']],
  ['hessian_eigenvalue_residual', 'gauge', ['rank']],
  ['hessian_eigenvalues_converged', 'gauge', []],
  ['hessian_trace', 'gauge', []],
  ['hessian_trace_stderr', 'gauge', []],
  ['hessian_density_negative_eigenvalue_ratio', 'gauge', []],
  ['hessian_density_negative_cutoff', 'gauge', []],
  ['hessian_density_lambda_min', 'gauge', []],
  ['hessian_density_lambda_max', 'gauge', []],
  ['hessian_block_off_diagonal_ratio', 'gauge', []],
  ['hessian_block_off_diagonal_to_diagonal_frobenius_sq', 'gauge', ['pairs']],
  ['hessian_kronecker_relative_error', 'gauge', ['layer']],
  ['hessian_class_mean_overlap_ratio', 'gauge', []],
  ['hessian_class_trace_ratio', 'gauge', ['level']],
  ['hessian_layer_lambda_max', 'gauge', ['layer']],
  ['hessian_layer_trace', 'gauge', ['layer']],
  ['hessian_layer_negative_eigenvalue_ratio', 'gauge', ['layer']],
  ['hessian_layer_effective_rank', 'gauge', ['layer']],
  ['hessian_layer_gauss_newton_gap', 'gauge', ['layer']],
  ['hessian_gauss_newton_gap', 'gauge', []],
  ['hessian_loss', 'gauge', []],
  ['hessian_model_parameters', 'gauge', []],
  ['hessian_learning_rate', 'gauge', []],
  ['hessian_edge_of_stability_threshold', 'gauge', []],
  ['hessian_last_report_epoch', 'gauge', []],
  ['hessian_last_report_step', 'gauge', []],
  ['hessian_last_report_timestamp_seconds', 'gauge', []],
  ['hessian_matvecs_total', 'counter', []],
  ['hessian_analyses_failed_total', 'counter', []],
  ['hessian_analyses_skipped_total', 'counter', ['reason']],
  ['hessian_sink_errors_total', 'counter', ['sink']],
  ['hessian_layer_labels_dropped_total', 'counter', []],
  ['hessian_analysis_duration_seconds', 'histogram', []],
];

/**
 * A synthetic report whose density section also has its negative cutoff, -sigma_G over its
 * extreme Ritz values, as the density analysis writes it.
 */
function reportWithCutoff(options: Parameters<typeof syntheticReport>[0] = {}) {
  const report = syntheticReport(options);
  const density = report.density!;
  const sigma = Math.sqrt(1e-5 * Math.max(1, density.lambdaMax - density.lambdaMin));
  return { ...report, density: { ...density, negativeCutoff: -sigma } } satisfies CurvatureReport;
}

async function scrape(registry: Registry): Promise<Map<string, Family>> {
  return parseExposition(await registry.metrics());
}

/** The value of one series, failing when it is absent. */
function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}) {
  const family = families.get(name.replace(/_(bucket|sum|count)$/, '')) ?? families.get(name);
  const key = seriesKey(name, labels);
  const v = family?.samples.get(key);
  if (v === undefined) return expect.fail(`no series ${key} in the exposition`);
  return v;
}

/** The series names (with labels) of a family, sorted. */
function series(families: Map<string, Family>, name: string): string[] {
  return [...(families.get(name)?.samples.keys() ?? [])].sort();
}

/** Expects every gauge to show `report` (or `sections` for the keep-last sections). */
function expectGaugesShow(
  families: Map<string, Family>,
  report: CurvatureReport,
  sections: CurvatureReport = report,
  labels: Record<string, string> = {},
) {
  const at = (name: string, extra: Record<string, string> = {}) =>
    value(families, name, { ...labels, ...extra });
  const eigen = sections.eigen!;
  expect(series(families, 'hessian_eigenvalue')).toHaveLength(eigen.values.length);
  eigen.values.forEach((v, i) => {
    expect(at('hessian_eigenvalue', { rank: String(i + 1) })).toBe(v);
    expect(at('hessian_eigenvalue_residual', { rank: String(i + 1) })).toBe(eigen.residuals[i]);
  });
  expect(at('hessian_eigenvalues_converged')).toBe(eigen.converged ? 1 : 0);
  expect(at('hessian_trace')).toBe(sections.trace!.estimate);
  expect(at('hessian_trace_stderr')).toBe(sections.trace!.stderr);
  expect(at('hessian_density_negative_eigenvalue_ratio')).toBe(sections.density!.negativeFraction);
  const cutoff = sections.density!.negativeCutoff;
  if (cutoff === undefined) expect(series(families, 'hessian_density_negative_cutoff')).toEqual([]);
  else expect(at('hessian_density_negative_cutoff')).toBe(cutoff);
  expect(at('hessian_density_lambda_min')).toBe(sections.density!.lambdaMin);
  expect(at('hessian_density_lambda_max')).toBe(sections.density!.lambdaMax);
  expect(at('hessian_block_off_diagonal_ratio')).toBe(sections.blocks!.offDiagonalRatio);
  const { withinLayer, crossLayer } = sections.blocks!;
  const toDiagonal = 'hessian_block_off_diagonal_to_diagonal_frobenius_sq';
  expect(at(toDiagonal, { pairs: 'within_layer' })).toBe(withinLayer!.massRatio);
  expect(at(toDiagonal, { pairs: 'cross_layer' })).toBe(crossLayer!.massRatio);
  for (const layer of sections.kronecker!) {
    expect(at('hessian_kronecker_relative_error', { layer: layer.name })).toBe(layer.relativeError);
  }
  expect(at('hessian_gauss_newton_gap')).toBe(sections.gaussNewtonGap!.ratio);
  const classes = sections.classes!;
  expect(at('hessian_class_mean_overlap_ratio')).toBe(classes.classMeanOverlap);
  for (const level of ['g0', 'g1', 'g2', 'g3'] as const) {
    expect(at('hessian_class_trace_ratio', { level })).toBe(classes.traceFractions[level]);
  }
  for (const layer of sections.layers!) {
    expect(at('hessian_layer_lambda_max', { layer: layer.name })).toBe(layer.lambdaMax);
    expect(at('hessian_layer_trace', { layer: layer.name })).toBe(layer.trace);
    expect(at('hessian_layer_negative_eigenvalue_ratio', { layer: layer.name })).toBe(
      layer.negativeFraction,
    );
    expect(at('hessian_layer_effective_rank', { layer: layer.name })).toBe(layer.effectiveRank);
    expect(at('hessian_layer_gauss_newton_gap', { layer: layer.name })).toBe(layer.gaussNewtonGap);
  }
  expect(at('hessian_loss')).toBe(report.loss);
  expect(at('hessian_model_parameters')).toBe(report.model.parameterCount);
  expect(at('hessian_last_report_epoch')).toBe(report.epoch);
  expect(at('hessian_last_report_step')).toBe(report.step);
  expect(at('hessian_last_report_timestamp_seconds')).toBe(Date.parse(report.timestamp) / 1000);
}

describe('curvatureMetrics', () => {
  it('registers the documented families with HELP texts, types and labels', async () => {
    const { registry } = curvatureMetrics();
    const metrics = curvatureMetrics({ defaultLabels: { model: 'm', run: 'r' } });
    metrics.record(reportWithCutoff(), { learningRate: 0.05 });
    metrics.recordSkipped('budget');
    metrics.recordSinkError('jsonl');
    const families = await scrape(metrics.registry);
    expect([...families.keys()].sort()).toEqual(FAMILIES.map(([name]) => name).sort());
    for (const [name, type, labelNames] of FAMILIES) {
      const family = families.get(name)!;
      expect(family.type, name).toBe(type);
      expect(family.help.length, `${name} HELP`).toBeGreaterThan(20);
      expect(family.samples.size, `${name} series`).toBeGreaterThan(0);
      for (const key of family.samples.keys()) {
        const names = [...key.matchAll(/([a-z_]+)="/g)].map((m) => m[1]).filter((n) => n !== 'le');
        expect(names.sort(), key).toEqual(['model', 'run', ...labelNames].sort());
      }
    }
    // The registry is private: nothing went to prom-client's global one.
    expect(registry).not.toBe(globalRegistry);
    expect(globalRegistry.getSingleMetric('hessian_trace')).toBeUndefined();
  });

  it('shows counters at 0 and no gauge series before the first report; scraping never throws', async () => {
    const { registry } = curvatureMetrics();
    const families = await scrape(registry);
    expect(value(families, 'hessian_matvecs_total')).toBe(0);
    expect(value(families, 'hessian_analyses_failed_total')).toBe(0);
    expect(value(families, 'hessian_layer_labels_dropped_total')).toBe(0);
    expect(value(families, 'hessian_analysis_duration_seconds_count')).toBe(0);
    for (const [name, type] of FAMILIES) {
      if (type === 'gauge') expect(series(families, name), name).toEqual([]);
    }
  });

  it('sets every gauge from the recorded report and counts matvecs and durations', async () => {
    const metrics = curvatureMetrics({ durationBuckets: [0.5, 1, 2] });
    const report = reportWithCutoff({ epoch: 3, k: 4 });
    metrics.record(report);
    const families = await scrape(metrics.registry);
    expectGaugesShow(families, report);
    expect(value(families, 'hessian_matvecs_total')).toBe(report.matvecs);
    expect(value(families, 'hessian_analysis_duration_seconds_count')).toBe(1);
    expect(value(families, 'hessian_analysis_duration_seconds_sum')).toBe(report.seconds);
    for (const le of ['0.5', '1', '2', '+Inf']) {
      const inBucket = report.seconds <= Number(le.replace('+Inf', 'Infinity')) ? 1 : 0;
      expect(value(families, 'hessian_analysis_duration_seconds_bucket', { le }), le).toBe(
        inBucket,
      );
    }
  });

  it('accumulates counters over reports; gauges follow the latest report', async () => {
    const metrics = curvatureMetrics();
    const first = syntheticReport({ epoch: 1, k: 3 });
    const second = syntheticReport({ epoch: 2, k: 2 });
    metrics.record(first);
    metrics.record(second);
    const families = await scrape(metrics.registry);
    expectGaugesShow(families, second);
    // The third rank of the first report is gone, not left stale.
    expect(series(families, 'hessian_eigenvalue')).toEqual([
      'hessian_eigenvalue{rank="1"}',
      'hessian_eigenvalue{rank="2"}',
    ]);
    expect(value(families, 'hessian_matvecs_total')).toBe(first.matvecs + second.matvecs);
    expect(value(families, 'hessian_analysis_duration_seconds_count')).toBe(2);
    expect(value(families, 'hessian_analysis_duration_seconds_sum')).toBeCloseTo(
      first.seconds + second.seconds,
      12,
    );
  });

  it('keeps the last value of a section that the latest report does not have', async () => {
    const metrics = curvatureMetrics();
    const full = syntheticReport({ epoch: 1 });
    const { trace, density, blocks, layers, kronecker, classes, gaussNewtonGap, ...eigenOnly } =
      syntheticReport({ epoch: 2 });
    metrics.record(full);
    metrics.record(eigenOnly);
    const families = await scrape(metrics.registry);
    expectGaugesShow(families, eigenOnly, { ...full, eigen: eigenOnly.eigen! });
    expect(value(families, 'hessian_trace')).not.toBe(trace?.estimate);
  });

  it('exports NaN and ±Infinity as such, not as 0 or a missing series', async () => {
    const metrics = curvatureMetrics();
    const base = syntheticReport();
    metrics.record({
      ...base,
      loss: Number.POSITIVE_INFINITY,
      trace: { ...base.trace!, stderr: Number.NaN },
      blocks: { ...base.blocks!, offDiagonalRatio: Number.NaN },
      layers: [
        { name: 'dense_1', lambdaMax: Number.NEGATIVE_INFINITY, trace: 1, negativeFraction: 0 },
      ],
    });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^hessian_trace_stderr Nan$/m);
    expect(text).toMatch(/^hessian_loss \+Inf$/m);
    expect(text).toMatch(/^hessian_layer_lambda_max\{layer="dense_1"\} -Inf$/m);
    const families = parseExposition(text);
    expect(value(families, 'hessian_trace_stderr')).toBeNaN();
    expect(value(families, 'hessian_block_off_diagonal_ratio')).toBeNaN();
  });

  it('reads a snapshot: changing the report after record() changes nothing', async () => {
    const metrics = curvatureMetrics();
    const values = Float64Array.of(5, 4, 3);
    const report = syntheticReport();
    metrics.record({ ...report, eigen: { ...report.eigen!, values } } as CurvatureReportInput);
    values[0] = 99;
    const families = await scrape(metrics.registry);
    expect(value(families, 'hessian_eigenvalue', { rank: '1' })).toBe(5);
  });

  it('refuses a malformed report and records nothing of it', async () => {
    const metrics = curvatureMetrics();
    const report = syntheticReport();
    const bad = { ...report, eigen: { ...report.eigen!, values: [1, 2, 3] } };
    expect(() => metrics.record(bad)).toThrow(ReportFormatError);
    const families = await scrape(metrics.registry);
    expect(value(families, 'hessian_matvecs_total')).toBe(0);
    expect(series(families, 'hessian_eigenvalue')).toEqual([]);
  });

  it('caps distinct layer labels at maxLayers and counts the values it drops', async () => {
    const metrics = curvatureMetrics({ maxLayers: 2 });
    metrics.record(syntheticReport({ layers: ['a', 'b', 'c'] }));
    let families = await scrape(metrics.registry);
    expect(series(families, 'hessian_layer_trace')).toEqual([
      'hessian_layer_trace{layer="a"}',
      'hessian_layer_trace{layer="b"}',
    ]);
    expect(value(families, 'hessian_layer_labels_dropped_total')).toBe(1);
    // The first layers seen keep their labels; new names keep being dropped.
    metrics.record(syntheticReport({ epoch: 1, layers: ['d', 'b', 'a', 'e'] }));
    families = await scrape(metrics.registry);
    expect(series(families, 'hessian_layer_lambda_max')).toEqual([
      'hessian_layer_lambda_max{layer="a"}',
      'hessian_layer_lambda_max{layer="b"}',
    ]);
    expect(value(families, 'hessian_layer_labels_dropped_total')).toBe(3);

    const none = curvatureMetrics({ maxLayers: 0 });
    none.record(syntheticReport());
    families = await scrape(none.registry);
    expect(series(families, 'hessian_layer_trace')).toEqual([]);
    expect(value(families, 'hessian_layer_labels_dropped_total')).toBe(2);
  });

  it('sets the learning rate and the edge-of-stability threshold 2/eta from the context', async () => {
    const metrics = curvatureMetrics({ defaultLabels: { model: 'mlp' } });
    metrics.record(syntheticReport({ epoch: 0 }));
    let families = await scrape(metrics.registry);
    // No learning rate yet: no series, not 0.
    expect(series(families, 'hessian_learning_rate')).toEqual([]);
    expect(series(families, 'hessian_edge_of_stability_threshold')).toEqual([]);

    metrics.record(syntheticReport({ epoch: 1 }), { learningRate: 0.04 });
    families = await scrape(metrics.registry);
    const labels = { model: 'mlp' };
    expect(value(families, 'hessian_learning_rate', labels)).toBe(0.04);
    expect(value(families, 'hessian_edge_of_stability_threshold', labels)).toBe(2 / 0.04);

    // A report without one keeps the last learning rate, like a section the report lacks.
    metrics.record(syntheticReport({ epoch: 2 }), {});
    metrics.record(syntheticReport({ epoch: 3 }));
    families = await scrape(metrics.registry);
    expect(value(families, 'hessian_edge_of_stability_threshold', labels)).toBe(50);

    metrics.record(syntheticReport({ epoch: 4 }), { learningRate: 0.5 });
    families = await scrape(metrics.registry);
    expect(value(families, 'hessian_learning_rate', labels)).toBe(0.5);
    expect(value(families, 'hessian_edge_of_stability_threshold', labels)).toBe(4);
    expect(value(families, 'hessian_last_report_epoch', labels)).toBe(4);
  });

  it.each<[unknown, RegExp]>([
    [{ learningRate: 0 }, /expected context.learningRate to be a finite number > 0, got 0/],
    [{ learningRate: -0.1 }, /got -0\.1/],
    [{ learningRate: Number.NaN }, /got NaN/],
    [{ learningRate: Number.POSITIVE_INFINITY }, /got Infinity/],
    [{ learningRate: '0.1' }, /got 0\.1/],
    [{ lr: 0.1 }, /expected context keys among 'learningRate', got 'lr'/],
    [null, /expected context to be an object, got null/],
    [0.1, /expected context to be an object, got 0\.1/],
  ])('refuses the context %j and records nothing of that report', async (context, message) => {
    const metrics = curvatureMetrics();
    metrics.record(syntheticReport({ epoch: 1 }), { learningRate: 0.1 });
    const record = () =>
      metrics.record(syntheticReport({ epoch: 2 }), context as { learningRate?: number });
    expect(record).toThrow(OptionError);
    expect(record).toThrow(message);
    const families = await scrape(metrics.registry);
    expect(value(families, 'hessian_last_report_epoch')).toBe(1);
    expect(value(families, 'hessian_learning_rate')).toBe(0.1);
    expect(value(families, 'hessian_analysis_duration_seconds_count')).toBe(1);
  });

  it('counts sink errors by sink with a cap on distinct sinks', async () => {
    const metrics = curvatureMetrics({ defaultLabels: { run: 'r1' } });
    let families = await scrape(metrics.registry);
    // Labelled: no series before the first error.
    expect(series(families, 'hessian_sink_errors_total')).toEqual([]);
    metrics.recordSinkError('jsonl');
    metrics.recordSinkError('jsonl');
    metrics.recordSinkError('onReport');
    metrics.recordSinkError('metrics');
    for (let i = 0; i < MAX_SINK_LABELS + 2; i++) metrics.recordSinkError(`sink_${i}`);
    families = await scrape(metrics.registry);
    const errors = (sink: string) =>
      value(families, 'hessian_sink_errors_total', { run: 'r1', sink });
    expect(errors('jsonl')).toBe(2);
    expect(errors('onReport')).toBe(1);
    expect(errors('metrics')).toBe(1);
    expect(series(families, 'hessian_sink_errors_total')).toHaveLength(MAX_SINK_LABELS + 1);
    // 3 names took 3 of the labels; 13 of the others fit, 5 are counted as 'other'.
    expect(errors('other')).toBe(MAX_SINK_LABELS + 2 - (MAX_SINK_LABELS - 3));
    expect(() => metrics.recordSinkError('')).toThrow(OptionError);
    expect(() => metrics.recordSinkError(undefined as unknown as string)).toThrow(
      /recordSinkError: expected sink to be a non-empty string, got undefined/,
    );
  });

  it('names the prefixed metrics in HELP texts that refer to others', async () => {
    const metrics = curvatureMetrics({ prefix: 'ggn_' });
    metrics.record(reportWithCutoff(), { learningRate: 0.1 });
    const families = await scrape(metrics.registry);
    expect(families.get('ggn_density_negative_eigenvalue_ratio')!.help).toContain(
      'ggn_density_negative_cutoff',
    );
    expect(families.get('ggn_edge_of_stability_threshold')!.help).toContain('ggn_learning_rate');
    expect([...families.keys()].every((name) => name.startsWith('ggn_'))).toBe(true);
  });

  it('counts failures, and skips by reason with a cap on distinct reasons', async () => {
    const metrics = curvatureMetrics();
    metrics.recordFailure();
    metrics.recordSkipped('budget');
    metrics.recordSkipped('budget');
    metrics.recordSkipped('non_finite_loss');
    for (let i = 0; i < MAX_SKIP_REASONS + 3; i++) metrics.recordSkipped(`reason_${i}`);
    const families = await scrape(metrics.registry);
    expect(value(families, 'hessian_analyses_failed_total')).toBe(1);
    const skipped = (reason: string) =>
      value(families, 'hessian_analyses_skipped_total', { reason });
    expect(skipped('budget')).toBe(2);
    expect(skipped('non_finite_loss')).toBe(1);
    expect(series(families, 'hessian_analyses_skipped_total')).toHaveLength(MAX_SKIP_REASONS + 1);
    expect(skipped('other')).toBe(5);
    expect(() => metrics.recordSkipped('')).toThrow(OptionError);
  });

  it("puts model and run labels on every series without touching the registry's defaults", async () => {
    const registry = new Registry();
    const own = new Gauge({
      name: 'app_up',
      help: 'The user’s own metric.',
      registers: [registry],
    });
    own.set(1);
    const metrics = curvatureMetrics({ registry, defaultLabels: { model: 'mlp', run: 'r1' } });
    expect(metrics.registry).toBe(registry);
    const report = syntheticReport({ epoch: 4 });
    metrics.record(report);
    const families = await scrape(registry);
    expectGaugesShow(families, report, report, { model: 'mlp', run: 'r1' });
    expect(value(families, 'hessian_matvecs_total', { model: 'mlp', run: 'r1' })).toBe(
      report.matvecs,
    );
    expect(value(families, 'app_up')).toBe(1);
  });

  it('refuses a registry that already has its names, and accepts another prefix there', () => {
    const registry = new Registry();
    curvatureMetrics({ registry });
    expect(() => curvatureMetrics({ registry })).toThrow(
      /expected a registry without a metric called hessian_eigenvalue, got one that has it \(pass another prefix or registry\)/,
    );
    const other = curvatureMetrics({ registry, prefix: 'ggn_' });
    expect(other.registry.getSingleMetric('ggn_trace')).toBeDefined();
  });

  it.each<[unknown, RegExp]>([
    [{ prefix: '9x' }, /expected prefix to start a Prometheus metric name .*got "9x"/],
    [{ prefix: 'a-b' }, /got "a-b"/],
    [{ maxLayers: -1 }, /expected maxLayers to be an integer >= 0, got -1/],
    [{ maxLayers: 2.5 }, /got 2\.5/],
    [{ defaultLabels: { model: '' } }, /expected defaultLabels.model to be a non-empty string/],
    [{ defaultLabels: { job: 'x' } }, /expected defaultLabels among 'model', 'run', got 'job'/],
    [{ durationBuckets: [1, 0.5] }, /expected durationBuckets to be increasing/],
    [{ durationBuckets: [] }, /expected durationBuckets/],
    [{ registry: {} }, /expected registry to be a prom-client Registry/],
    [{ maxLayer: 3 }, /expected options among .*got 'maxLayer'/],
    [null, /expected an options object, got null/],
  ])('refuses %j at construction', (options, message) => {
    const build = () => curvatureMetrics(options as CurvatureMetricsOptions);
    expect(build).toThrow(OptionError);
    expect(build).toThrow(message);
  });
});

const promtool = findBinary('promtool');

describe.skipIf(!promtool && !process.env.CI)(
  `promtool check metrics accepts the exposition${missingBinaryNote('promtool', promtool)}`,
  () => {
    it('passes the lint with every family populated, NaN values included', async () => {
      if (!promtool) return expect.fail('CI is set but promtool is not on PATH');
      const metrics = curvatureMetrics({ defaultLabels: { model: 'mlp', run: 'r1' } });
      const report = reportWithCutoff({ epoch: 2 });
      metrics.record(
        { ...report, trace: { ...report.trace!, stderr: Number.NaN } },
        { learningRate: 0.01 },
      );
      metrics.recordFailure();
      metrics.recordSkipped('budget');
      metrics.recordSinkError('jsonl');
      const exposition = await metrics.registry.metrics();
      const { status, output } = promtoolCheckMetrics(promtool, exposition);
      expect(output).toBe('');
      expect(status).toBe(0);
      // The check is not vacuous: promtool flags a counter without the _total suffix.
      const bad = '# HELP x_hvp A counter.\n# TYPE x_hvp counter\nx_hvp 1\n';
      expect(promtoolCheckMetrics(promtool, bad).output).toMatch(
        /counter metrics should have "_total" suffix/,
      );
    });
  },
);
