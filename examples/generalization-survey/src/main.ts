/**
 * `pnpm experiment:generalization-survey -- [flags]`: a Bolshim & Kugaevskikh-style survey
 * (arXiv 2510.17486) of layer-wise Hessian metrics against the generalisation gap over many
 * datasets × architectures × seeds.
 *
 * Flags: --datasets a,b,… (all: iris, penguins, cars, weather, digits, digits-4v9,
 * digits-noisy, mixture-easy, mixture-hard), --widths 8,32,128, --seeds n (3: seeds s, s + 1, …),
 * --seed s (1), --epochs e (100), --backend tensorflow|wasm|cpu (the fastest that loads),
 * --quick (4 datasets, widths 8,64, 30 epochs), --figures DIR (SVG figures; default this folder for a full run, none with --quick), --json PATH (the rows), --markdown PATH (the
 * tables).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  checkResultPaths,
  EXPERIMENT_FLAGS,
  experimentArgs,
  figureFolder,
  integerList,
  parseFlagsOrExit,
  positiveInteger,
  SEED_FIGURE_FLAGS,
  seedList,
  useBackend,
  writeFigures,
  writeResults,
} from '@hessian-probe/example-kit';
import * as tf from '@tensorflow/tfjs';
import { DATASET_NAMES, type DatasetName } from './datasets.js';
import { formatTables, runSurvey, surveyFigures } from './survey.js';

const QUICK_DATASETS: DatasetName[] = ['iris', 'weather', 'digits-4v9', 'mixture-hard'];

const { values, options, backend } = await parseFlagsOrExit('generalization-survey', async () => {
  const { values } = parseArgs({
    args: experimentArgs(),
    options: {
      ...EXPERIMENT_FLAGS,
      ...SEED_FIGURE_FLAGS,
      datasets: { type: 'string' },
      widths: { type: 'string' },
      epochs: { type: 'string' },
    },
  });
  checkResultPaths(values);
  const quick = values.quick;
  const datasets =
    values.datasets === undefined
      ? quick
        ? QUICK_DATASETS
        : [...DATASET_NAMES]
      : values.datasets.split(',').map((d) => d.trim());
  const unknown = datasets.find((d) => !(DATASET_NAMES as readonly string[]).includes(d));
  if (unknown !== undefined) {
    throw new RangeError(
      `--datasets: expected names among ${DATASET_NAMES.join(', ')}, got ${unknown}`,
    );
  }
  if (datasets.length < 2)
    throw new RangeError(`--datasets: expected at least 2, got ${datasets.length}`);
  const seeds = seedList(values, { seed: 1, seeds: 3 });
  if (seeds.length < 2)
    throw new RangeError(`--seeds: expected at least 2 seeds, got ${seeds.length}`);
  const options = {
    tf,
    datasets: datasets as DatasetName[],
    widths: integerList('widths', values.widths, quick ? [8, 64] : [8, 32, 128]),
    seeds,
    epochs: positiveInteger('epochs', values.epochs, quick ? 30 : 100),
  };
  return { values, options, backend: await useBackend(tf, values.backend) };
});

console.log(
  `generalization survey (Bolshim & Kugaevskikh, arXiv 2510.17486) on tfjs ${backend}: datasets ${options.datasets.join(', ')}; d-w-w-C tanh MLPs (Glorot-uniform init, biases) with w = ${options.widths.join(', ')}; seeds ${options.seeds.join(', ')}; Adam (lr 1e-2, batch 32) for ${options.epochs} epochs; ${options.datasets.length * options.widths.length * options.seeds.length} runs.`,
);
console.log(
  'Per run: each layer block H_ll of the exact Hessian of the mean training cross-entropy (layerSpectra: exact up to 256 parameters, SLQ 3 × 30 and Hutch++ 30 above); gaps: test − training loss and training − test accuracy; Spearman ρ of each metric with each gap, pooled over the runs (Fisher-z interval), within datasets (t-interval over datasets) and within (dataset, width) cells over seeds (t-interval over cells).',
);
const started = performance.now();
const skipped: string[] = [];
const rows = await runSurvey({
  ...options,
  onSkip: (s) => {
    skipped.push(`| ${s.dataset} | ${s.width} | ${s.seed} | ${s.reason} |`);
    process.stderr.write(`  ${s.dataset} w = ${s.width} seed ${s.seed}: skipped, ${s.reason}\n`);
  },
  onRun: (run) =>
    process.stderr.write(
      `  ${run[0].dataset} w = ${run[0].width} seed ${run[0].seed}: test accuracy ${run[0].testAccuracy.toFixed(3)}, loss gap ${run[0].lossGap.toFixed(3)}, ${run[0].seconds.toFixed(1)} s\n`,
    ),
});
const markdown = [
  formatTables(rows),
  `## Runs left out: the exact Hessian failed its finite-difference self-check (${skipped.length})`,
  skipped.length === 0
    ? 'none'
    : ['| dataset | width | seed | self-check |', '| --- | --- | --- | --- |', ...skipped].join(
        '\n',
      ),
].join('\n\n');
console.log(`\n${markdown}`);
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
await writeResults({ json: values.json, markdown: values.markdown }, rows, markdown);
await writeFigures(
  figureFolder(values, fileURLToPath(new URL('..', import.meta.url))),
  surveyFigures(rows),
);
