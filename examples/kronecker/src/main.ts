/**
 * `pnpm --filter @hessian-probe/example-kronecker start -- [flags]`: Kronecker decoupling of
 * layer Hessians (Wu, Zhu, Wu, Wang & Ge, "Dissecting Hessian", arXiv 2010.04261, 2020–22) in a
 * ReLU MLP on 7×7-pooled MNIST digits, at initialization and after training (on centred digits), as
 * the common input mean μ grows, with and without BatchNormalization before each Dense layer; then a comparison
 * with the paper's claims.
 *
 * Flags: --hidden h (16), --samples N (256 probe digits), --train-per-class n (500),
 * --epochs e (5), --shifts μ,… (0,1,4), --exact-max-dim d (1024), --seed s (1), --seeds K (3; 2 with --quick), --figures DIR,
 * --backend tensorflow|wasm|cpu (the fastest that loads), --quick (h 6, N 96, 100 digits per class, 2 epochs, μ ∈ {0, 4}),
 * --json PATH (the rows), --markdown PATH (the tables).
 */
import { parseArgs } from 'node:util';
import {
  checkResultPaths,
  EXPERIMENT_FLAGS,
  experimentArgs,
  figureFolder,
  parseFlagsOrExit,
  positiveInteger,
  SEED_FIGURE_FLAGS,
  seedList,
  seriesFigure,
  useBackend,
  writeFigures,
  writeResults,
} from '@hessian-probe/example-kit';
import * as tf from '@tensorflow/tfjs';
import {
  compareWithPaper,
  formatRows,
  type KroneckerRow,
  LEARNING_RATE,
  POOLED_INPUTS,
  runKronecker,
} from './kronecker.js';

const { values, shifts, options, seeds, figures, backend } = await parseFlagsOrExit(
  'kronecker',
  async () => {
    const { values } = parseArgs({
      args: experimentArgs(),
      options: {
        hidden: { type: 'string' },
        samples: { type: 'string' },
        'train-per-class': { type: 'string' },
        epochs: { type: 'string' },
        shifts: { type: 'string' },
        'exact-max-dim': { type: 'string' },
        ...EXPERIMENT_FLAGS,
        ...SEED_FIGURE_FLAGS,
      },
    });
    checkResultPaths(values);
    const quick = values.quick;
    const shifts =
      values.shifts === undefined
        ? quick
          ? [0, 4]
          : [0, 1, 4]
        : values.shifts.split(',').map((s) => {
            const v = Number(s.trim());
            if (!Number.isFinite(v) || v < 0) {
              throw new RangeError(`--shifts: expected numbers >= 0, got ${values.shifts}`);
            }
            return v;
          });
    const options = {
      tf,
      hidden: positiveInteger('hidden', values.hidden, quick ? 6 : 16),
      samples: positiveInteger('samples', values.samples, quick ? 96 : 256),
      trainPerClass: positiveInteger(
        'train-per-class',
        values['train-per-class'],
        quick ? 100 : 500,
      ),
      epochs: positiveInteger('epochs', values.epochs, quick ? 2 : 5),
      shifts,
      maxExactDim: positiveInteger('exact-max-dim', values['exact-max-dim'], 1024),
    };
    return {
      values,
      shifts,
      options,
      seeds: seedList(values),
      figures: figureFolder(values, new URL('..', import.meta.url)),
      backend: await useBackend(tf, values.backend),
    };
  },
);

const header = [
  `Kronecker decoupling (Wu et al. 2020–22, arXiv 2010.04261) on tfjs ${backend}.`,
  `Model: ${POOLED_INPUTS} → ${options.hidden} → ${options.hidden} → 10, ReLU, biases, softmax cross-entropy; He-normal kernels, zero biases; seeds ${seeds.join(', ')} (digit shuffle, weights and randomized estimates drawn again per seed); 'mlp+bn' puts BatchNormalization before each Dense layer, its statistics set to the probe set's (inference mode).`,
  `Data: real MNIST digits, 7×7 average-pooled (4×4 blocks), centred by the per-pixel training mean, then + μ·1 for μ ∈ {${shifts.join(', ')}}; Hessians over N = ${options.samples} training digits. init: the fresh model on the shifted digits. trained: ${options.epochs} epochs of Adam (${LEARNING_RATE}, batch 64) on ${options.trainPerClass * 10} centred digits, then shown x + μ·1 with fc1's bias compensated (b − μ·Wᵀ1: the same function, only fc1's input changes). mlp+bn: BN statistics set to each shifted probe set (this removes the shift exactly), measured at the smallest and largest μ.`,
  `Per Dense layer: K = E[M] ⊗ E[x̃x̃ᵀ] against the exact block H_L (assembled densely from d HVPs when d ≤ ${options.maxExactDim}); top-9 = C − 1 eigenpairs; rank-1 energy = s₁²/Σs² of an eigenvector reshaped to [n_out, n_in + 1]; E[M] outliers = eigenvalues > 1e-3 × the largest; eigengap at i = argmax λ_i/λ_{i+1} of E[M].`,
].join('\n');
console.log(header);
const started = performance.now();
const rows: KroneckerRow[] = [];
for (const seed of seeds) {
  rows.push(
    ...(await runKronecker({
      ...options,
      seed,
      onRows: (measured) => {
        const r = measured[0];
        process.stderr.write(
          `  seed ${seed} ${r.variant} μ=${r.shift} ${r.stage}: test acc ${r.testAccuracy.toFixed(3)}, ${r.seconds.toFixed(1)} s\n`,
        );
      },
    })),
  );
}
const markdown = [
  header,
  `## Per-layer decoupling (mean ± sd over ${seeds.length} seeds; outliers and eigengap per seed)`,
  formatRows(rows),
  '## Compared with Wu et al. (2020–22)',
  compareWithPaper(rows),
].join('\n\n');
console.log(`\n${markdown}`);
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
await writeResults({ json: values.json, markdown: values.markdown }, rows, markdown);
await writeFigures(figures, [
  {
    name: 'relative-error',
    spec: seriesFigure(
      rows
        .filter((r) => r.variant === 'mlp')
        .map((r) => ({ series: `${r.stage} ${r.layer}`, x: r.shift, y: r.relativeError })),
      {
        title:
          'Kronecker relative error ‖H_L − K‖/‖H_L‖ per layer against the input mean μ (mean ± sd over seeds)',
        xTitle: 'input mean μ',
        yTitle: 'relative error',
        logY: true,
      },
    ),
  },
  {
    name: 'rank1-energy',
    spec: seriesFigure(
      rows.map((r) => ({
        series: `${r.variant} ${r.stage} ${r.layer}`,
        x: r.shift,
        y: r.rank1EnergyMean,
      })),
      {
        title:
          'Rank-1 energy of the top-9 eigenvectors (mean over them) against μ (mean ± sd over seeds)',
        xTitle: 'input mean μ',
        yTitle: 'rank-1 energy',
      },
    ),
  },
]);
