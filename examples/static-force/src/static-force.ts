/**
 * The static force of Dong, Zhang, Luo, Yao & Sun 2025 ("Towards Quantifying the Hessian
 * Structure of Neural Networks", arXiv 2505.02809; docs/methods.md section A): at random
 * initialization the off-diagonal Hessian blocks shrink relative to the diagonal ones as the
 * number of classes C grows. This module measures the block ratios of exact tfjs Hessians of a
 * linear model and a one-hidden-layer ReLU network on Gaussian inputs with uniformly random
 * labels.
 */
import { blockNorms, createRandom, denseMatrix } from '@hessian-probe/core';
import {
  type BlockFrobenius,
  blockStructure,
  exactBlockNorms,
  type PairStatistics,
  type Random,
} from '@hessian-probe/core/internal';
import { modelCurvature } from '@hessian-probe/core/tfjs';
import { formatNumber, formatWithError, markdownTable } from '@hessian-probe/example-kit';
import type * as tfjs from '@tensorflow/tfjs';
import { fitPowerLaw, type PowerLaw } from './power-law.js';

/** The networks of the experiment (no biases, as in docs/methods.md A's formulas). */
export type StaticForceModel = 'linear' | 'one-hidden';

/** The losses: softmax cross-entropy, and MSE as the mean over the C outputs (A = (2/C) I) against one-hot targets. */
export type StaticForceLoss = 'ce' | 'mse';

/**
 * Weight initialization: 'lecun' draws every kernel entry from N(0, 1/fan_in) (fan_in = d for
 * the first layer, the hidden width for the second); 'zero' is W = 0, linear model only, where
 * the closed form 1/(C − 1) holds for cross-entropy.
 */
export type StaticForceInit = 'lecun' | 'zero';

/** Options of {@link runStaticForce}. */
export interface StaticForceOptions {
  /** The tfjs namespace, backend already chosen. */
  readonly tf: typeof tfjs;
  /** Class counts to sweep (default {@link DEFAULT_CLASSES}). */
  readonly classes?: readonly number[];
  /** Samples N (default 256). */
  readonly samples?: number;
  /** Input dimension d (default 16). */
  readonly input?: number;
  /** Hidden width of the one-hidden-layer network (default 16). */
  readonly hidden?: number;
  /**
   * Largest parameter count P for which the Hessian is assembled densely (P HVPs) and block
   * norms are exact (default 1024); above it, `blockNorms` estimates them with `probes`
   * Gaussian probes per block.
   */
  readonly exactMaxDim?: number;
  /** Probes per block for the estimated norms (default 8). */
  readonly probes?: number;
  /** Seed of data, labels, weights and probes (default 1). */
  readonly seed?: number;
  /** Called after each row, e.g. to print progress. */
  readonly onRow?: (row: StaticForceRow) => void;
}

/** One (model, init, loss, C) measurement. */
export interface StaticForceRow {
  model: StaticForceModel;
  init: StaticForceInit;
  loss: StaticForceLoss;
  C: number;
  /** Parameters P. */
  P: number;
  /** 'exact' (dense assembly from P HVPs) or 'estimated' (randomized `blockNorms`). */
  norms: 'exact' | 'estimated';
  /** mean off-diagonal / mean diagonal Frobenius norm over the output-class blocks. */
  classMeanRatio: number;
  /** Σ off-diagonal F² / Σ diagonal F² over the output-class blocks. */
  classMassRatio: number;
  classMassStderr: number;
  /** The class-block ratio's closed form where one holds: 1/(C − 1) for linear CE at W = 0, 0 for MSE (any model, any weights); else null. */
  closedForm: number | null;
  /** The same over the hidden-neuron blocks (one-hidden only). */
  neuronMeanRatio?: number;
  neuronMassRatio?: number;
  neuronMassStderr?: number;
  /** Cross-layer pairs (hidden neuron × output class) relative to all diagonal blocks (one-hidden only). */
  crossMeanRatio?: number;
  crossMassRatio?: number;
  crossMassStderr?: number;
  /** Wall time of this row, seconds. */
  seconds: number;
}

/** The class counts of the issue: {2, 4, …, 256}. */
export const DEFAULT_CLASSES: readonly number[] = [2, 4, 8, 16, 32, 64, 128, 256];

/** The (model, init) pairs measured, in table order. */
export const CONFIGURATIONS: readonly { model: StaticForceModel; init: StaticForceInit }[] = [
  { model: 'linear', init: 'zero' },
  { model: 'linear', init: 'lecun' },
  { model: 'one-hidden', init: 'lecun' },
];

const LOSSES: readonly StaticForceLoss[] = ['ce', 'mse'];

/**
 * Runs the sweep: for each C, each configuration and each loss, builds the network, draws
 * x_n ~ N(0, I_d) and labels uniform on {0, …, C − 1}, takes the exact Hessian from
 * `modelCurvature` (layout 'unit': one block per output neuron), and reports the block ratios of
 * `blockStructure` for the output-class blocks, the hidden-neuron blocks and the cross-layer
 * pairs.
 *
 * @throws RangeError for a size that is not a positive integer or a C < 2, before any work.
 *
 * @example
 * ```ts
 * const rows = await runStaticForce({ tf, classes: [2, 4], samples: 32, input: 4, hidden: 4 });
 * ```
 */
export async function runStaticForce(options: StaticForceOptions): Promise<StaticForceRow[]> {
  const {
    tf,
    classes = DEFAULT_CLASSES,
    samples = 256,
    input = 16,
    hidden = 16,
    exactMaxDim = 1024,
    probes = 8,
    seed = 1,
    onRow,
  } = options;
  for (const [name, value] of Object.entries({ samples, input, hidden, exactMaxDim, probes })) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`runStaticForce: expected ${name} to be an integer >= 1, got ${value}`);
    }
  }
  if (classes.length === 0 || classes.some((c) => !Number.isSafeInteger(c) || c < 2)) {
    throw new RangeError(`runStaticForce: expected class counts C >= 2, got [${classes}]`);
  }
  const rows: StaticForceRow[] = [];
  for (const [k, c] of classes.entries()) {
    const rng = createRandom(seed + 1000 * k);
    const x = rng.gaussianVector(samples * input);
    const labels = Array.from({ length: samples }, () =>
      Math.min(c - 1, Math.floor(rng.uniform() * c)),
    );
    const oneHot = new Float32Array(samples * c);
    for (const [n, label] of labels.entries()) oneHot[n * c + label] = 1;
    const xs = tf.tensor2d(Float32Array.from(x), [samples, input]);
    const ys = tf.tensor2d(oneHot, [samples, c]);
    for (const { model: kind, init } of CONFIGURATIONS) {
      const weights = rng.split();
      for (const loss of LOSSES) {
        const start = performance.now();
        const model = buildModel(tf, kind, init, input, hidden, c, weights.split());
        const { operator, layout } = modelCurvature(model, {
          tf,
          x: xs,
          y: ys,
          loss: loss === 'ce' ? 'softmaxCrossEntropy' : 'meanSquaredError',
          layout: 'unit',
          selfCheck: false,
        });
        const exact = layout.dim <= exactMaxDim;
        const norms: BlockFrobenius = exact
          ? exactBlockNorms(
              await denseMatrix(operator, { maxDim: exactMaxDim }),
              layout.dim,
              layout,
            )
          : await blockNorms(operator, layout, { probes, seed: seed + k });
        const structure = blockStructure(norms);
        const layerStats = (name: string): PairStatistics => {
          const found = structure.layers.find((l) => l.name === name);
          if (found === undefined) throw new Error(`no layer ${name} in ${structure.groups}`);
          return found;
        };
        const out = layerStats('out');
        const row: StaticForceRow = {
          model: kind,
          init,
          loss,
          C: c,
          P: layout.dim,
          norms: exact ? 'exact' : 'estimated',
          classMeanRatio: out.meanRatio,
          classMassRatio: out.massRatio,
          classMassStderr: out.massRatioStderr,
          closedForm: closedForm(kind, init, loss, c),
          seconds: 0,
        };
        if (kind === 'one-hidden') {
          const neurons = layerStats('hidden');
          row.neuronMeanRatio = neurons.meanRatio;
          row.neuronMassRatio = neurons.massRatio;
          row.neuronMassStderr = neurons.massRatioStderr;
          row.crossMeanRatio = structure.crossLayer.meanRatio;
          row.crossMassRatio = structure.crossLayer.massRatio;
          row.crossMassStderr = structure.crossLayer.massRatioStderr;
        }
        model.dispose();
        row.seconds = (performance.now() - start) / 1000;
        rows.push(row);
        onRow?.(row);
      }
    }
    tf.dispose([xs, ys]);
  }
  return rows;
}

function closedForm(
  model: StaticForceModel,
  init: StaticForceInit,
  loss: StaticForceLoss,
  c: number,
): number | null {
  // MSE: the output-layer block is A ⊗ E[aaᵀ] with A ∝ I, for any weights and either model.
  if (loss === 'mse') return 0;
  return model === 'linear' && init === 'zero' ? 1 / (c - 1) : null;
}

/**
 * The experiment's network, no biases: 'linear' is one Dense layer `out` (z = Wx); 'one-hidden'
 * is Dense `hidden` (ReLU, width `hidden`) then Dense `out`, so the 'unit' layout's blocks are
 * `hidden/unit_i` (hidden neurons) and `out/unit_c` (classes). Every kernel is drawn from `rng`
 * as {@link StaticForceInit} says (LeCun N(0, 1/fan_in), or 0).
 *
 * @example
 * ```ts
 * const model = buildModel(tf, 'one-hidden', 'lecun', 16, 16, 10, createRandom(1));
 * ```
 */
export function buildModel(
  tf: typeof tfjs,
  kind: StaticForceModel,
  init: StaticForceInit,
  input: number,
  hidden: number,
  classes: number,
  rng: Random,
): tfjs.LayersModel {
  const layers =
    kind === 'linear'
      ? [tf.layers.dense({ inputShape: [input], units: classes, useBias: false, name: 'out' })]
      : [
          tf.layers.dense({
            inputShape: [input],
            units: hidden,
            activation: 'relu',
            useBias: false,
            name: 'hidden',
          }),
          tf.layers.dense({ units: classes, useBias: false, name: 'out' }),
        ];
  const model = tf.sequential({ layers });
  for (const w of model.trainableWeights) {
    const [fanIn, fanOut] = w.shape as [number, number];
    const scale = init === 'zero' ? 0 : 1 / Math.sqrt(fanIn);
    const values = rng.gaussianVector(fanIn * fanOut).map((v) => v * scale);
    const kernel = tf.tensor2d(Float32Array.from(values), [fanIn, fanOut]);
    w.write(kernel);
    kernel.dispose();
  }
  return model;
}

/** A fitted exponent of one ratio series: {@link fitExponents}. */
export interface ExponentRow {
  model: StaticForceModel;
  init: StaticForceInit;
  loss: StaticForceLoss;
  /** Which ratio: e.g. 'classMeanRatio'. */
  statistic: string;
  fit: PowerLaw;
}

const STATISTICS = [
  'classMeanRatio',
  'classMassRatio',
  'neuronMeanRatio',
  'neuronMassRatio',
  'crossMeanRatio',
  'crossMassRatio',
] as const;

/**
 * Fits ratio ≈ a·C^b over C for every (model, init, loss) series and statistic that has at
 * least two positive values (the exactly-zero linear-MSE class ratios have none).
 */
export function fitExponents(rows: readonly StaticForceRow[]): ExponentRow[] {
  const out: ExponentRow[] = [];
  for (const { model, init } of CONFIGURATIONS) {
    for (const loss of LOSSES) {
      const series = rows.filter((r) => r.model === model && r.init === init && r.loss === loss);
      for (const statistic of STATISTICS) {
        const values = series.map((r) => r[statistic] ?? Number.NaN);
        const fit = fitPowerLaw(
          series.map((r) => r.C),
          values,
        );
        if (fit.points >= 2) out.push({ model, init, loss, statistic, fit });
      }
    }
  }
  return out;
}

/** The rows as a markdown table (ratios to 4 significant digits). */
export function formatRows(rows: readonly StaticForceRow[]): string {
  const header = [
    'model',
    'init',
    'loss',
    'C',
    'P',
    'norms',
    'class mean',
    'class mass',
    'closed form',
    'neuron mean',
    'neuron mass',
    'cross mean',
    'cross mass',
    's',
  ];
  const lines = rows.map((r) => [
    r.model,
    r.init,
    r.loss,
    String(r.C),
    String(r.P),
    r.norms,
    formatNumber(r.classMeanRatio),
    formatWithError(r.classMassRatio, r.classMassStderr),
    r.closedForm === null ? '—' : formatNumber(r.closedForm),
    formatNumber(r.neuronMeanRatio),
    formatWithError(r.neuronMassRatio, r.neuronMassStderr),
    formatNumber(r.crossMeanRatio),
    formatWithError(r.crossMassRatio, r.crossMassStderr),
    r.seconds.toFixed(1),
  ]);
  return markdownTable(header, lines);
}

/** The fitted exponents as a markdown table. */
export function formatExponents(exponents: readonly ExponentRow[]): string {
  return markdownTable(
    ['model', 'init', 'loss', 'statistic', 'b (ratio ≈ a·C^b)', '± stderr', 'a', 'points'],
    exponents.map((e) => [
      e.model,
      e.init,
      e.loss,
      e.statistic,
      e.fit.b.toFixed(3),
      e.fit.bStderr.toFixed(3),
      formatNumber(e.fit.a),
      String(e.fit.points),
    ]),
  );
}
