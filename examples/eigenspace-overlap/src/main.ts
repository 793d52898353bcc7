/**
 * `pnpm experiment:eigenspace-overlap -- [flags]`: Wu et al.'s overlap of the layers' top
 * Hessian eigenspaces across independently trained MLPs (arXiv 2010.04261).
 *
 * Flags: --seeds n (5: independent pairs of models, 2n models), --hidden w (100),
 * --pool s (2: 14×14 inputs), --train-per-class n (300), --probe-per-class n (50: N = 500),
 * --epochs e (10), --ks 1,5,10,20, --seed s (1), --backend tensorflow|wasm|cpu (the fastest
 * that loads), --quick (pool 4, 100 training and 20 probe digits per class, 3 epochs, ks 1,5,10),
 * --figures DIR (SVG figures; default this folder for a full run, none with --quick), --json PATH (the overlap rows and the models), --markdown PATH (the tables).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  checkResultPaths,
  EXPERIMENT_FLAGS,
  experimentArgs,
  figureFolder,
  integerList,
  nonNegativeInteger,
  parseFlagsOrExit,
  positiveInteger,
  SEED_FIGURE_FLAGS,
  useBackend,
  writeFigures,
  writeResults,
} from '@hessian-probe/example-kit';
import * as tf from '@tensorflow/tfjs';
import { formatTables, overlapFigures, runEigenspaceOverlap } from './eigenspace-overlap.js';

const { values, options, backend } = await parseFlagsOrExit('eigenspace-overlap', async () => {
  const { values } = parseArgs({
    args: experimentArgs(),
    options: {
      ...EXPERIMENT_FLAGS,
      ...SEED_FIGURE_FLAGS,
      hidden: { type: 'string' },
      pool: { type: 'string' },
      'train-per-class': { type: 'string' },
      'probe-per-class': { type: 'string' },
      epochs: { type: 'string' },
      ks: { type: 'string' },
    },
  });
  checkResultPaths(values);
  const quick = values.quick;
  const pairs = positiveInteger('seeds', values.seeds, 5);
  if (pairs < 2) throw new RangeError(`--seeds: expected at least 2 pairs, got ${pairs}`);
  const options = {
    tf,
    pairs,
    hidden: positiveInteger('hidden', values.hidden, 100),
    pool: positiveInteger('pool', values.pool, quick ? 4 : 2),
    trainPerClass: positiveInteger('train-per-class', values['train-per-class'], quick ? 100 : 300),
    probePerClass: positiveInteger('probe-per-class', values['probe-per-class'], quick ? 20 : 50),
    epochs: nonNegativeInteger('epochs', values.epochs, quick ? 3 : 10),
    ks: integerList('ks', values.ks, quick ? [1, 5, 10] : [1, 5, 10, 20]),
    seed: nonNegativeInteger('seed', values.seed, 1),
  };
  return { values, options, backend: await useBackend(tf, values.backend) };
});

const side = 28 / options.pool;
console.log(
  `eigenspace overlap (Wu et al., arXiv 2010.04261) on tfjs ${backend}: ${2 * options.pairs} MLPs ${side * side}-${options.hidden}-${options.hidden}-10 (ReLU, no biases, He-normal init from different seeds) trained on the same ${10 * options.trainPerClass} MNIST digits (${options.pool}×${options.pool}-pooled) with Adam (lr 1e-3, batch 64) for ${options.epochs} epochs.`,
);
console.log(
  `Per layer: top ${Math.max(...options.ks)} eigenpairs of its Hessian block (exact HVPs of the mean cross-entropy on N = ${10 * options.probePerClass} training digits, restricted to the layer; topEigenpairs, tol ≈ 1.9e-6); overlap ‖UᵀV‖²_F/k between models; verdict: 95 % t-interval over the ${options.pairs} independent pairs against chance k/P_l.`,
);
const started = performance.now();
const result = await runEigenspaceOverlap({
  ...options,
  onModel: (m) =>
    process.stderr.write(
      `  model ${m.model} ${m.phase}: test accuracy ${m.testAccuracy.toFixed(3)}, ${m.layers.map((l) => l.matvecs).join(' + ')} products, ${m.seconds.toFixed(1)} s\n`,
    ),
});
const markdown = formatTables(result);
console.log(`\n${markdown}`);
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
await writeResults(
  { json: values.json, markdown: values.markdown },
  [...result.rows, ...result.models],
  markdown,
);
await writeFigures(
  figureFolder(values, fileURLToPath(new URL('..', import.meta.url))),
  overlapFigures(result),
);
