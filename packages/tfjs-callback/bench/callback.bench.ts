/**
 * `pnpm bench:callback` (issue 4, section 4): what the hessianCallback costs `fit()`. The demo's
 * model (a 784-64-10 MLP on 5000 real MNIST digits, batch 64, Adam) trains on the wasm backend
 * with and without the callback, in this one process, alternating which goes first, for
 * `--pairs` pairs (default 3) per configuration. Each run builds a fresh model with the same
 * initial weights, so every run with the callback also pays the one-off self-check.
 *
 * Configurations: the callback's defaults (schedule train begin + train end, top-3 eigenvalues
 * and a 30-product Hutch++ trace on the demo's 512 probe digits, budget 0.1) for each fit
 * length in `--epochs` (default 10,30), then, on the longest fit, a schedule that asks for an
 * analysis after every epoch, which the budget must thin: at the default budget and at 0.3
 * (where several analyses fit, so that the guarantee below is tested on them).
 *
 * "Budget held" checks the documented guarantee of `hessianCallback`'s budget: every analysis,
 * the one of the initial weights included (decided after the second step, from the fit's
 * forecast length), runs only if the share of wall time spent in analyses stays within the
 * budget, judged from a predicted duration (one timed Hessian-vector product times the
 * analyses' product bound, then the last analysis's duration). So the share at the end of
 * fit() is at most budget + tolerance, the tolerance being (longest − shortest analysis) /
 * wall: how far a duration the rule predicts from the last one can be from the one that
 * happens (the bound-based estimate errs high).
 *
 * Usage: pnpm bench:callback [--pairs N] [--epochs 10,30]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { CurvatureReport } from '@hessian-probe/core';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { CLASSES, loadDigits, PIXELS } from '../../../examples/kit/src/digits.js';
import { BATCH_SIZE, demoModel, PROBE_SIZE } from '../../../examples/mnist-demo/src/model.js';
import { describeMachine, markdownTable, median } from '../../core/bench/machine.js';
import { hessianCallback, type ScheduleOptions } from '../src/index.js';

const { values: flags } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: { pairs: { type: 'string' }, epochs: { type: 'string' } },
});
const pairs = Number(flags.pairs ?? 3);
const fitLengths = (flags.epochs ?? '10,30').split(',').map(Number);
if (
  !Number.isInteger(pairs) ||
  pairs < 1 ||
  !fitLengths.every((e) => Number.isInteger(e) && e > 0)
) {
  throw new TypeError('usage: pnpm bench:callback [--pairs N] [--epochs 10,30]');
}
const BUDGET = 0.1;

if (!(await tf.setBackend('wasm')) || tf.getBackend() !== 'wasm') {
  throw new Error('could not start the tfjs wasm backend');
}
const { train } = loadDigits({ trainPerClass: 500, testPerClass: 100 });
const x = tf.tensor2d(train.images, [train.size, PIXELS]);
const y = tf.tensor2d(train.labels, [train.size, CLASSES]);
const xProbe = tf.slice(x, [0, 0], [PROBE_SIZE, PIXELS]);
const yProbe = tf.slice(y, [0, 0], [PROBE_SIZE, CLASSES]);

interface Run {
  wall: number;
  analysisSeconds: number;
  reports: readonly CurvatureReport[];
  skipped: number;
  failed: number;
}

async function fitOnce(
  epochs: number,
  schedule: ScheduleOptions | undefined,
  budget = BUDGET,
): Promise<Run> {
  const model = demoModel(tf);
  const callback =
    schedule === undefined
      ? undefined
      : hessianCallback({ tf, model, probe: { x: xProbe, y: yProbe }, schedule, budget });
  const started = performance.now();
  await model.fit(x, y, {
    epochs,
    batchSize: BATCH_SIZE,
    shuffle: true,
    verbose: 0,
    callbacks: callback ? [callback] : [],
  });
  const wall = (performance.now() - started) / 1000;
  const stats = callback?.stats;
  const run: Run = {
    wall,
    analysisSeconds: stats?.seconds ?? 0,
    reports: callback?.history ?? [],
    skipped: Object.values(stats?.skipped ?? {}).reduce((s, n) => s + n, 0),
    failed: stats?.failed ?? 0,
  };
  callback?.dispose();
  model.dispose();
  return run;
}

interface Row {
  name: string;
  epochs: number;
  budget: number;
  without: number[];
  with: Run[];
}

async function measure(
  name: string,
  epochs: number,
  schedule: ScheduleOptions,
  budget = BUDGET,
): Promise<Row> {
  const row: Row = { name, epochs, budget, without: [], with: [] };
  for (let pair = 0; pair < pairs; pair++) {
    // Alternate which run goes first, so that drift on a shared machine cancels.
    const order = pair % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
    for (const which of order) {
      if (which === 'with') row.with.push(await fitOnce(epochs, schedule, budget));
      else row.without.push((await fitOnce(epochs, undefined)).wall);
    }
    process.stderr.write(`  ${name}, ${epochs} epochs: pair ${pair + 1}/${pairs} done\n`);
  }
  return row;
}

// Warm-up: the first fit in a process compiles wasm kernels and tfjs programs.
await fitOnce(1, undefined);
await fitOnce(1, {});

const rows: Row[] = [];
for (const epochs of fitLengths) rows.push(await measure('defaults', epochs, {}));
const longest = Math.max(...fitLengths);
rows.push(await measure('every epoch', longest, { everyEpochs: 1 }));
// A larger budget, so that several analyses run and the guarantee is tested on them.
rows.push(await measure('every epoch', longest, { everyEpochs: 1 }, 0.3));

const fmt = (value: number, digits = 3) => value.toPrecision(digits);
const percent = (value: number) => `${(100 * value).toFixed(1)} %`;
const table = rows.map((row) => {
  const withWall = row.with.map((r) => r.wall);
  const ratios = row.with.map((r, i) => r.wall / row.without[i] - 1);
  const shares = row.with.map((r) => r.analysisSeconds / r.wall);
  const held = row.with.every((r) => {
    const durations = r.reports.map((report) => report.seconds);
    const tolerance =
      durations.length === 0 ? 0 : (Math.max(...durations) - Math.min(...durations)) / r.wall;
    return r.analysisSeconds / r.wall <= row.budget + tolerance;
  });
  const analyses = row.with.map((r) => r.reports.length);
  const matvecs = row.with.flatMap((r) => r.reports.map((report) => report.matvecs));
  const perAnalysis = row.with.flatMap((r) => r.reports.map((report) => report.seconds));
  return [
    row.name,
    String(row.budget),
    String(row.epochs),
    fmt(median(row.without)),
    fmt(median(withWall)),
    percent(median(ratios)),
    percent(median(shares)),
    `${median(analyses)} run, ${median(row.with.map((r) => r.skipped))} skipped${row.with.some((r) => r.failed) ? ', FAILED' : ''}`,
    perAnalysis.length === 0
      ? 'none ran'
      : `${fmt(median(perAnalysis))} s, ${median(matvecs)} HVPs`,
    held ? 'yes' : 'NO',
  ];
});

const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(', ');
console.log(
  `\n## pnpm bench:callback\n\n${describeMachine()}; tfjs ${tf.version.tfjs} on wasm; load average at the end ${load}\n`,
);
console.log(
  `Demo model (784-64-10 MLP, 50,890 parameters), ${train.size} MNIST digits, batch ${BATCH_SIZE}, ` +
    `probe ${PROBE_SIZE} digits; ${pairs} alternating pairs per row, medians.\n`,
);
console.log(
  markdownTable(
    [
      'schedule',
      'budget',
      'epochs',
      'fit() without (s)',
      'fit() with (s)',
      'overhead',
      'share in analyses',
      'analyses',
      'one analysis',
      'budget held',
    ],
    table,
  ),
);
console.log(
  '\noverhead = median over pairs of (with / without − 1); share = analysis seconds / fit() wall time. ' +
    'Budget held: share <= budget + (longest − shortest analysis) / wall, the bound hessianCallback states; ' +
    'the analysis of the initial weights is decided after the second step on the forecast fit length.',
);
tf.dispose([x, y, xProbe, yProbe]);
