/**
 * End to end against a real Prometheus server (Debian's `prometheus` package): this process
 * serves /metrics on a free port and records curvature reports; Prometheus scrapes it every
 * second from a temporary config and storage folder; the test reads the series back through the
 * HTTP API and compares them with the reports. Skipped locally without the binary (the title
 * says so); in CI (CI set) a missing binary fails the test.
 */
import type { CurvatureReport } from '@hessian-probe/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findBinary,
  IN_CI,
  missingBinaryNote,
  parseExposition,
  promtoolCheckMetrics,
  seriesKey,
} from '../test/exposition.js';
import { type PrometheusRun, startPrometheus } from '../test/prometheus-server.js';
import { syntheticReport } from '../test/synthetic-reports.js';
import { curvatureMetrics } from './metrics.js';
import { type MetricsServer, serveMetrics } from './server.js';

const prometheus = findBinary('prometheus');
const promtool = findBinary('promtool');
const note = missingBinaryNote('prometheus', prometheus);
if (note !== '' && !IN_CI) console.warn(`prometheus.e2e.test.ts:${note}`);

const JOB = 'hessian_e2e';

describe.skipIf(!prometheus && !IN_CI)(
  `a real Prometheus server scrapes serveMetrics${note}`,
  () => {
    let server: MetricsServer | undefined;
    let run: PrometheusRun | undefined;

    afterAll(async () => {
      await run?.stop();
      await server?.close();
    });

    it('sees every series with the values of the recorded reports', async () => {
      if (!prometheus) {
        return expect.fail(
          "CI is set but prometheus is not on PATH: .ci/run must apt-get install Debian's prometheus package",
        );
      }
      const started = performance.now();
      const metrics = curvatureMetrics({ defaultLabels: { model: 'mlp', run: 'e2e' } });
      server = await serveMetrics({ registry: metrics.registry, port: 0 });
      const first = syntheticReport({ epoch: 1 });
      metrics.record(first);
      metrics.recordSkipped('budget');
      const target = new URL(server.url);
      run = await startPrometheus(prometheus, server.url, JOB);
      const { until, query } = run;

      const firstSeries = await until('hessian_last_report_epoch', first.epoch);
      console.info(
        `prometheus.e2e: first series ${firstSeries.toFixed(2)} s after Prometheus was started`,
      );
      const up = await query(`up{job="${JOB}"}`);
      expect(up.map((s) => s.value[1])).toEqual(['1']);

      // A second report with NaN and ±Infinity values, fewer eigenvalues and no density.
      const base = syntheticReport({ epoch: 2, k: 2 });
      const { density: _, ...second } = {
        ...base,
        trace: { ...base.trace!, stderr: Number.NaN },
        layers: [
          { ...base.layers![0], lambdaMax: Number.POSITIVE_INFINITY },
          { ...base.layers![1], trace: Number.NEGATIVE_INFINITY },
        ],
      } satisfies CurvatureReport;
      metrics.record(second);
      metrics.recordFailure();
      await until('hessian_last_report_epoch', second.epoch);

      // Every series of the exposition, and only those, with its exact value.
      const exposition = await (await fetch(server.url)).text();
      const expected = new Map<string, number>();
      for (const family of parseExposition(exposition).values()) {
        for (const [key, value] of family.samples) expected.set(key, value);
      }
      const scraped = await run.series('hessian_.+');
      for (const sample of await query(`{__name__=~"hessian_.+",job="${JOB}"}`)) {
        expect(sample.metric.instance).toBe(target.host);
      }
      expect([...scraped.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [key, value] of expected) expect(scraped.get(key), key).toBe(value);

      // And against the reports themselves.
      const labels = { model: 'mlp', run: 'e2e' };
      const at = (name: string, extra: Record<string, string> = {}) =>
        scraped.get(seriesKey(name, { ...labels, ...extra }));
      expect(at('hessian_eigenvalue', { rank: '1' })).toBe(second.eigen!.values[0]);
      expect(at('hessian_eigenvalue', { rank: '2' })).toBe(second.eigen!.values[1]);
      expect(at('hessian_eigenvalue', { rank: '3' })).toBeUndefined();
      expect(at('hessian_trace')).toBe(second.trace.estimate);
      expect(at('hessian_trace_stderr')).toBeNaN();
      expect(at('hessian_density_negative_eigenvalue_ratio')).toBe(first.density?.negativeFraction);
      expect(at('hessian_block_off_diagonal_ratio')).toBe(second.blocks!.offDiagonalRatio);
      expect(at('hessian_layer_lambda_max', { layer: 'dense_1' })).toBe(Number.POSITIVE_INFINITY);
      expect(at('hessian_layer_trace', { layer: 'dense_2' })).toBe(Number.NEGATIVE_INFINITY);
      expect(at('hessian_loss')).toBe(second.loss);
      expect(at('hessian_last_report_step')).toBe(second.step);
      expect(at('hessian_matvecs_total')).toBe(first.matvecs + second.matvecs);
      expect(at('hessian_analysis_duration_seconds_count')).toBe(2);
      expect(at('hessian_analyses_failed_total')).toBe(1);
      expect(at('hessian_analyses_skipped_total', { reason: 'budget' })).toBe(1);

      if (promtool) {
        const { status, output } = promtoolCheckMetrics(promtool, exposition);
        expect(output).toBe('');
        expect(status).toBe(0);
      } else if (IN_CI) {
        expect.fail('CI is set but promtool is not on PATH');
      }
      console.info(
        `prometheus.e2e: done in ${((performance.now() - started) / 1000).toFixed(2)} s (Prometheus pid ${run.pid})`,
      );
    }, 55_000);
  },
);
