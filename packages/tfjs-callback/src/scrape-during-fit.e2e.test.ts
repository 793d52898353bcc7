/**
 * End to end: /metrics stays answerable while curvature is computed. A real Prometheus server
 * (Debian's package) scrapes every second, with its default timeout of one interval (1 s),
 * through a `fit()` whose analyses take seconds each, on the native 'tensorflow' backend (the
 * one users run). Every scrape must succeed (`up` stays 1) and the series of the last report
 * must be scraped after training. The worst scrape latency Prometheus measured is printed.
 * Skipped locally without the prometheus binary or tfjs-node; in CI both are required.
 */
import { availableBackends } from '@hessian-probe/core/backends';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinary, IN_CI, missingBinaryNote } from '../test/exposition.js';
import { apiValue, type PrometheusRun, startPrometheus } from '../test/prometheus-server.js';
import { tf, useBackend } from '../test/tiny-models.js';
import { hessianCallback } from './callback.js';
import { curvatureMetrics } from './metrics.js';
import { type MetricsServer, serveMetrics } from './server.js';

const prometheus = findBinary('prometheus');
const native = (await availableBackends(tf)).includes('tensorflow');
const note =
  missingBinaryNote('prometheus', prometheus) + (native ? '' : ' (skipped: no tfjs-node)');
if (note !== '' && !IN_CI) console.warn(`scrape-during-fit.e2e.test.ts:${note}`);

const JOB = 'hessian_scrape_latency';

/** A 32-256-256-10 tanh MLP (76,554 parameters): products of ~10 ms, analyses of seconds. */
function mediumModel(): tf.Sequential {
  const model = tf.sequential({ name: 'medium_mlp' });
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  model.add(
    tf.layers.dense({
      inputShape: [32],
      units: 256,
      activation: 'tanh',
      kernelInitializer: init(1),
    }),
  );
  model.add(tf.layers.dense({ units: 256, activation: 'tanh', kernelInitializer: init(2) }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(3) }));
  model.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy' });
  return model;
}

describe.skipIf((!prometheus || !native) && !IN_CI)(
  `/metrics during analyses, scraped by a real Prometheus every second${note}`,
  () => {
    let server: MetricsServer | undefined;
    let run: PrometheusRun | undefined;
    beforeAll(async () => {
      if (native) await useBackend('tensorflow');
    });
    afterAll(async () => {
      await run?.stop();
      await server?.close();
    });

    it('answers every scrape within the 1 s timeout while analyses run for seconds', async () => {
      if (!prometheus || !native) {
        return expect.fail(
          'CI is set but prometheus or tfjs-node is missing: .ci/run installs both',
        );
      }
      const metrics = curvatureMetrics({ defaultLabels: { model: 'medium', run: 'latency' } });
      server = await serveMetrics({ registry: metrics.registry, port: 0 });
      run = await startPrometheus(prometheus, server.url, JOB);
      await run.until(`up{job="${JOB}"}`, 1);
      const began = performance.now();

      const x = tf.randomNormal([1024, 32], 0, 1, 'float32', 7);
      const labels = tf.randomUniform([1024], 0, 10, 'int32', 8);
      const y = tf.oneHot(labels as tf.Tensor1D, 10).toFloat();
      const model = mediumModel();
      const callback = hessianCallback({
        tf,
        probe: { x: x.slice(0, 256), y: y.slice(0, 256) },
        schedule: { everyEpochs: 1 },
        analyses: {
          eigen: { k: 3 },
          trace: { matvecs: 30 },
          density: { probes: 2, steps: 50 },
        },
        budget: 1,
        metrics,
      });
      await model.fit(x, y, { epochs: 2, batchSize: 128, callbacks: [callback], verbose: 0 });
      const fitSeconds = (performance.now() - began) / 1000;
      const last = callback.history.at(-1)!;
      expect(callback.stats).toMatchObject({ analyses: 3, failed: 0 }); // begin, 2 epoch ends (= end)
      // The end-of-training series are scraped too (the server outlives fit()).
      await run.until(`hessian_last_report_step{job="${JOB}"}`, last.step);

      const window = `${Math.ceil((performance.now() - began) / 1000) + 5}s`;
      const value = async (promql: string) => {
        const samples = await run!.query(promql);
        expect(samples, promql).toHaveLength(1);
        return apiValue(samples[0].value[1]);
      };
      const scrapes = await value(`count_over_time(up{job="${JOB}"}[${window}])`);
      const failed = scrapes - (await value(`sum_over_time(up{job="${JOB}"}[${window}])`));
      const worst = await value(`max_over_time(scrape_duration_seconds{job="${JOB}"}[${window}])`);
      const median = await value(
        `quantile_over_time(0.5, scrape_duration_seconds{job="${JOB}"}[${window}])`,
      );
      console.info(
        `scrape latency during fit(): ${scrapes} scrapes over ${fitSeconds.toFixed(1)} s of fit() ` +
          `(analyses ${callback.stats.seconds.toFixed(1)} s, ${callback.stats.analyses} reports), ` +
          `failed ${failed}, worst ${(worst * 1000).toFixed(0)} ms, median ${(median * 1000).toFixed(1)} ms`,
      );
      expect(callback.stats.seconds).toBeGreaterThan(3); // the analyses did take seconds
      expect(failed).toBe(0);
      expect(worst).toBeLessThan(1);
      // Scraped about once a second throughout (no scrape skipped for a busy target).
      expect(scrapes).toBeGreaterThanOrEqual(Math.floor(fitSeconds) - 2);
      callback.dispose();
      tf.dispose([x, labels, y]);
    }, 120_000);
  },
);
