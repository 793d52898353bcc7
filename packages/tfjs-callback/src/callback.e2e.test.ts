/**
 * End to end: a real `model.fit()` with the hessianCallback feeds the /metrics page, and a real
 * Prometheus server (Debian's package) scrapes it every second while the model trains. After
 * each report the callback waits (in `onReport`, strict, so a failed check stops fit()) until
 * Prometheus has scraped that report, and compares the series with it; after training, the
 * whole exposition with what Prometheus stored. Skipped locally without the binary (the title
 * says so); in CI a missing binary fails the test.
 */
import type { CurvatureReport } from '@hessian-probe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findBinary,
  IN_CI,
  missingBinaryNote,
  parseExposition,
  promtoolCheckMetrics,
  seriesKey,
} from '../test/exposition.js';
import { type PrometheusRun, startPrometheus } from '../test/prometheus-server.js';
import { clusters, tf, tinyModel, useCpu } from '../test/tiny-models.js';
import { hessianCallback } from './callback.js';
import { curvatureMetrics } from './metrics.js';
import { type MetricsServer, serveMetrics } from './server.js';

const prometheus = findBinary('prometheus');
const promtool = findBinary('promtool');
const note = missingBinaryNote('prometheus', prometheus);
if (note !== '' && !IN_CI) console.warn(`callback.e2e.test.ts:${note}`);

const JOB = 'hessian_fit_e2e';
const LABELS = { model: 'tiny', run: 'e2e-fit' };

/** The series a report should show, as `seriesKey` → value. */
function expectedSeries(report: CurvatureReport): Map<string, number> {
  const out = new Map<string, number>();
  const put = (name: string, value: number, extra: Record<string, string> = {}) =>
    out.set(seriesKey(name, { ...LABELS, ...extra }), value);
  for (const [i, v] of report.eigen!.values.entries()) {
    put('hessian_eigenvalue', v, { rank: String(i + 1) });
    put('hessian_eigenvalue_residual', report.eigen!.residuals[i], { rank: String(i + 1) });
  }
  put('hessian_eigenvalues_converged', report.eigen!.converged ? 1 : 0);
  put('hessian_trace', report.trace!.estimate);
  put('hessian_trace_stderr', report.trace!.stderr);
  put('hessian_density_negative_eigenvalue_ratio', report.density!.negativeFraction);
  put('hessian_density_lambda_min', report.density!.lambdaMin);
  put('hessian_density_lambda_max', report.density!.lambdaMax);
  put('hessian_block_off_diagonal_ratio', report.blocks!.offDiagonalRatio);
  for (const layer of report.layers!) {
    put('hessian_layer_lambda_max', layer.lambdaMax, { layer: layer.name });
    put('hessian_layer_trace', layer.trace, { layer: layer.name });
    put('hessian_layer_negative_eigenvalue_ratio', layer.negativeFraction, { layer: layer.name });
  }
  put('hessian_loss', report.loss);
  put('hessian_model_parameters', report.model.parameterCount);
  put('hessian_last_report_epoch', report.epoch);
  put('hessian_last_report_step', report.step);
  put('hessian_last_report_timestamp_seconds', Date.parse(report.timestamp) / 1000);
  return out;
}

describe.skipIf(!prometheus && !IN_CI)(
  `a real Prometheus server scrapes a training process with the hessianCallback${note}`,
  () => {
    let server: MetricsServer | undefined;
    let run: PrometheusRun | undefined;

    beforeAll(useCpu);
    afterAll(async () => {
      await run?.stop();
      await server?.close();
    });

    it('stores, after each analysis, the values of its report', async () => {
      if (!prometheus) {
        return expect.fail(
          "CI is set but prometheus is not on PATH: .ci/run must apt-get install Debian's prometheus package",
        );
      }
      const started = performance.now();
      const metrics = curvatureMetrics({ defaultLabels: LABELS });
      server = await serveMetrics({ registry: metrics.registry, port: 0 });
      run = await startPrometheus(prometheus, server.url, JOB);
      const prom = run;
      // Prometheus is up and scraping before training starts.
      await prom.until(`up{job="${JOB}"}`, 1);

      const train = clusters(64, 1);
      const probe = clusters(24, 2);
      const x = tf.tensor2d(train.x);
      const y = tf.tensor2d(train.y);
      const checked: number[] = [];
      const callback = hessianCallback({
        tf,
        probe: { x: probe.x, y: probe.y },
        schedule: { everyEpochs: 1 },
        analyses: { density: true, blocks: true, layers: true },
        metrics,
        budget: 1,
        // A failed check must stop fit(), not be counted and logged.
        strict: true,
        onReport: async (report) => {
          await prom.until(`hessian_last_report_step{run="${LABELS.run}"}`, report.step);
          const scraped = await prom.series('hessian_.+');
          for (const [key, value] of expectedSeries(report)) {
            expect(scraped.get(key), key).toBe(value);
          }
          checked.push(report.step);
        },
      });
      await tinyModel().fit(x, y, { epochs: 2, batchSize: 16, callbacks: [callback], verbose: 0 });
      expect(checked).toEqual([0, 4, 8]);
      expect(callback.stats).toMatchObject({ analyses: 3, failed: 0, skipped: {} });

      // The counters and the histogram add up over the reports.
      const reports = callback.history;
      const matvecs = reports.reduce((s, r) => s + r.matvecs, 0);
      await prom.until(`hessian_matvecs_total{run="${LABELS.run}"}`, matvecs);
      await prom.until(`hessian_analysis_duration_seconds_count{run="${LABELS.run}"}`, 3);
      const exposition = await (await fetch(server.url)).text();
      const scraped = await prom.series('hessian_.+');
      const expected = new Map<string, number>();
      for (const family of parseExposition(exposition).values()) {
        for (const [key, value] of family.samples) expected.set(key, value);
      }
      expect([...scraped.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [key, value] of expected) expect(scraped.get(key), key).toBe(value);
      const seconds = reports.reduce((s, r) => s + r.seconds, 0);
      expect(scraped.get(seriesKey('hessian_analysis_duration_seconds_sum', LABELS))).toBeCloseTo(
        seconds,
        12,
      );
      if (promtool) {
        const { status, output } = promtoolCheckMetrics(promtool, exposition);
        expect(output).toBe('');
        expect(status).toBe(0);
      } else if (IN_CI) {
        expect.fail('CI is set but promtool is not on PATH');
      }
      callback.dispose();
      tf.dispose([x, y]);
      console.info(
        `callback.e2e: done in ${((performance.now() - started) / 1000).toFixed(2)} s (Prometheus pid ${prom.pid})`,
      );
    }, 55_000);
  },
);
