/**
 * `pnpm --filter @hessian-probe/example-static-force start -- [flags]`: the static force of
 * Dong, Zhang, Luo, Yao & Sun 2025 ("Towards Quantifying the Hessian Structure of Neural
 * Networks", arXiv 2505.02809). Block ratios of exact Hessians at random initialization for
 * C ∈ {2, …, 256}, the fitted power-law exponents, and a comparison with the paper's claim.
 *
 * Flags: --samples N (256), --input d (16), --hidden h (16), --classes 2,4,… ,
 * --exact-max-dim P (1024: dense assembly up to this P, randomized blockNorms above),
 * --probes k (8), --seed s (1), --backend tensorflow|wasm|cpu (the fastest that loads), --quick (small sizes, C ≤ 32),
 * --json PATH (the rows), --markdown PATH (the three tables).
 */
import { parseArgs } from 'node:util';
import {
  checkResultPaths,
  EXPERIMENT_FLAGS,
  experimentArgs,
  integerList,
  nonNegativeInteger,
  parseFlagsOrExit,
  positiveInteger,
  useBackend,
  writeResults,
} from '@hessian-probe/example-kit';
import * as tf from '@tensorflow/tfjs';
import {
  DEFAULT_CLASSES,
  fitExponents,
  formatExponents,
  formatRows,
  runStaticForce,
} from './static-force.js';

const { values, classes, options, backend } = await parseFlagsOrExit('static-force', async () => {
  const { values } = parseArgs({
    args: experimentArgs(),
    options: {
      samples: { type: 'string' },
      input: { type: 'string' },
      hidden: { type: 'string' },
      classes: { type: 'string' },
      'exact-max-dim': { type: 'string' },
      probes: { type: 'string' },
      ...EXPERIMENT_FLAGS,
    },
  });
  checkResultPaths(values);
  const quick = values.quick;
  const classes =
    values.classes === undefined
      ? quick
        ? DEFAULT_CLASSES.slice(0, 5)
        : DEFAULT_CLASSES
      : integerList('classes', values.classes, DEFAULT_CLASSES);
  if (classes.some((c) => c < 2)) {
    throw new RangeError(`--classes: expected C >= 2, got ${classes}`);
  }
  const options = {
    tf,
    classes,
    samples: positiveInteger('samples', values.samples, quick ? 64 : 256),
    input: positiveInteger('input', values.input, quick ? 8 : 16),
    hidden: positiveInteger('hidden', values.hidden, quick ? 8 : 16),
    exactMaxDim: positiveInteger('exact-max-dim', values['exact-max-dim'], 1024),
    probes: positiveInteger('probes', values.probes, 8),
    seed: nonNegativeInteger('seed', values.seed, 1),
  };
  return { values, classes, options, backend: await useBackend(tf, values.backend) };
});

console.log(
  `static force (Dong et al. 2025, arXiv 2505.02809) on tfjs ${backend}: N = ${options.samples} samples x ~ N(0, I_${options.input}), labels uniform on {0..C−1}, hidden width ${options.hidden}, no biases; init 'lecun' = N(0, 1/fan_in) kernels, 'zero' = W = 0; CE = softmax cross-entropy, MSE = mean over C outputs against one-hot (A = (2/C) I).`,
);
console.log(
  `block norms: exact (dense Hessian from P float32 HVPs) when P <= ${options.exactMaxDim}, else randomized blockNorms with ${options.probes} Gaussian probes per block (mass ratios ± delta-method stderr; mean ratios biased low). Blocks: one per output neuron (row of W); class = output layer, neuron = hidden layer, cross = hidden × output pairs over all diagonal blocks.`,
);
const started = performance.now();
const rows = await runStaticForce({
  ...options,
  onRow: (r) =>
    process.stderr.write(
      `  ${r.model}/${r.init}/${r.loss} C=${r.C} P=${r.P} (${r.norms}) ${r.seconds.toFixed(1)} s\n`,
    ),
});
const exponents = fitExponents(rows);

const exponent = (model: string, init: string, loss: string, statistic: string): string => {
  const e = exponents.find(
    (x) => x.model === model && x.init === init && x.loss === loss && x.statistic === statistic,
  );
  return e === undefined ? '—' : `${e.fit.b.toFixed(2)} ± ${e.fit.bStderr.toFixed(2)}`;
};
const largest = Math.max(...classes);
const atLargest = (
  model: string,
  init: string,
  loss: string,
  key: 'classMeanRatio' | 'neuronMeanRatio' | 'crossMassRatio',
) => {
  const r = rows.find(
    (x) => x.model === model && x.init === init && x.loss === loss && x.C === largest,
  );
  const v = r?.[key];
  return v === undefined ? '—' : v.toPrecision(3);
};
const markdown = [
  '## Block ratios per C',
  formatRows(rows),
  '## Power law ratio ≈ a·C^b (least squares in log–log over C)',
  formatExponents(exponents),
  '## Compared with Dong et al. 2025 (claim: off-diagonal blocks vanish relative to diagonal ones as C → ∞, at random init)',
  [
    '| quantity | paper | here: exponent b | here: value at largest C |',
    '| --- | --- | --- | --- |',
    `| linear, CE, W = 0: class mean ratio | → 0 as C grows | ${exponent('linear', 'zero', 'ce', 'classMeanRatio')} | ${atLargest('linear', 'zero', 'ce', 'classMeanRatio')} (1/(C−1) = ${(1 / (largest - 1)).toPrecision(3)}) |`,
    `| linear, CE, random init: class mean ratio | → 0 as C grows | ${exponent('linear', 'lecun', 'ce', 'classMeanRatio')} | ${atLargest('linear', 'lecun', 'ce', 'classMeanRatio')} |`,
    '| linear and one-hidden, MSE: class blocks | off-diagonal exactly 0 | — | 0 (exact) |',
    `| one-hidden, CE: class mean ratio | → 0 as C grows | ${exponent('one-hidden', 'lecun', 'ce', 'classMeanRatio')} | ${atLargest('one-hidden', 'lecun', 'ce', 'classMeanRatio')} |`,
    `| one-hidden, CE: hidden-neuron mean ratio | → 0 as C grows | ${exponent('one-hidden', 'lecun', 'ce', 'neuronMeanRatio')} | ${atLargest('one-hidden', 'lecun', 'ce', 'neuronMeanRatio')} |`,
    `| one-hidden, MSE: hidden-neuron mean ratio | → 0 as C grows | ${exponent('one-hidden', 'lecun', 'mse', 'neuronMeanRatio')} | ${atLargest('one-hidden', 'lecun', 'mse', 'neuronMeanRatio')} |`,
    `| one-hidden, CE: cross-layer mass ratio | not small at init (docs/methods.md A) | ${exponent('one-hidden', 'lecun', 'ce', 'crossMassRatio')} | ${atLargest('one-hidden', 'lecun', 'ce', 'crossMassRatio')} |`,
  ].join('\n'),
].join('\n\n');
console.log(`\n${markdown}`);
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
await writeResults({ json: values.json, markdown: values.markdown }, rows, markdown);
