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
  type BlockStructure,
  blockStructure,
  exactBlockNorms,
  type PairStatistics,
  type Random,
} from '@hessian-probe/core/internal';
import { modelCurvature } from '@hessian-probe/core/tfjs';
import {
  formatMeanSd,
  formatNumber,
  markdownTable,
  sideOf,
  type TInterval,
  tInterval,
} from '@hessian-probe/example-kit';
import type * as tfjs from '@tensorflow/tfjs';
import { closedFormBlockNorms } from './closed-form.js';
import { fitPowerLaw, type PowerLaw } from './power-law.js';

/** The networks of the experiment (no biases, as in docs/methods.md A's formulas). */
export type StaticForceModel = 'linear' | 'one-hidden';

/** The losses: softmax cross-entropy, and MSE as the mean over the C outputs (A = (2/C) I) against one-hot targets. */
export type StaticForceLoss = 'ce' | 'mse';

/**
 * Weight initialization: 'lecun' draws every kernel entry from N(0, 1/fan_in) (fan_in = d for
 * the first layer, the hidden width for the second); 'pytorch' from U(−1/√fan_in, 1/√fan_in),
 * PyTorch's default for `nn.Linear` (kaiming_uniform with a = √5: variance 1/(3 fan_in)); 'zero'
 * is W = 0, where the linear model's cross-entropy class ratio is 1/(C − 1) exactly (and the
 * one-hidden network's Hessian is 0, so it is not run).
 */
export type StaticForceInit = 'lecun' | 'pytorch' | 'zero';

/** The inits `--init` accepts. */
export const INITS: readonly StaticForceInit[] = ['lecun', 'pytorch', 'zero'];

/**
 * How block norms are computed: 'hvp' assembles the Hessian from P Hessian-vector products when
 * P <= exactMaxDim (else randomized `blockNorms`); 'closed-form' uses {@link closedFormBlockNorms}
 * (one-hidden network only; exact, no HVPs, for the paper's sizes).
 */
export type StaticForceMethod = 'hvp' | 'closed-form';

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
  /** Seeds, one independent replicate (data, labels, weights, probes) each (default [1]). */
  readonly seeds?: readonly number[];
  /** The random init of the linear and one-hidden rows (default 'lecun'); W = 0 rows always run for the linear model. */
  readonly init?: StaticForceInit;
  /** The (model, init) pairs (default {@link configurations}(init)). */
  readonly configurations?: readonly StaticForceConfiguration[];
  /** Block norms from HVPs or closed forms (default 'hvp'). */
  readonly method?: StaticForceMethod;
  /** Losses measured (default both, ['ce', 'mse']). */
  readonly losses?: readonly StaticForceLoss[];
  /** Called after each row, e.g. to print progress. */
  readonly onRow?: (row: StaticForceRow) => void;
}

/** A network and its initialization. */
export interface StaticForceConfiguration {
  readonly model: StaticForceModel;
  readonly init: StaticForceInit;
}

/** One (model, init, loss, C) measurement. */
export interface StaticForceRow {
  /** The seed of this replicate. */
  seed: number;
  model: StaticForceModel;
  init: StaticForceInit;
  loss: StaticForceLoss;
  C: number;
  /** Parameters P. */
  P: number;
  /** 'exact' (dense assembly from P HVPs), 'estimated' (randomized `blockNorms`) or 'closed form' ({@link closedFormBlockNorms}). */
  norms: 'exact' | 'estimated' | 'closed form';
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
  /** 4m²/N with m the hidden width: the finite-sample size of the cross-layer mass ratio (issue 15's estimate), one-hidden only. */
  crossFloor?: number;
  /** Wall time of this row, seconds. */
  seconds: number;
}

/** The class counts of the issue: {2, 4, …, 256}. */
export const DEFAULT_CLASSES: readonly number[] = [2, 4, 8, 16, 32, 64, 128, 256];

/** The class counts of the dong2025 preset: 2 to 1000, with the paper's C = 500. */
export const DONG2025_CLASSES: readonly number[] = [2, 5, 10, 20, 50, 100, 200, 500, 1000];

/**
 * The (model, init) pairs measured, in table order: the linear model at W = 0 (the closed-form
 * anchor), then the linear and one-hidden networks at the random init (none when it is 'zero').
 *
 * @example
 * ```ts
 * configurations('pytorch').length; // 3
 * ```
 */
export function configurations(init: StaticForceInit = 'lecun'): StaticForceConfiguration[] {
  const anchor: StaticForceConfiguration = { model: 'linear', init: 'zero' };
  return init === 'zero'
    ? [anchor]
    : [anchor, { model: 'linear', init }, { model: 'one-hidden', init }];
}

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
    seeds = [1],
    init = 'lecun',
    method = 'hvp',
    losses = LOSSES,
    onRow,
  } = options;
  const configs = options.configurations ?? configurations(init);
  for (const [name, value] of Object.entries({ samples, input, hidden, exactMaxDim, probes })) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`runStaticForce: expected ${name} to be an integer >= 1, got ${value}`);
    }
  }
  if (classes.length === 0 || classes.some((c) => !Number.isSafeInteger(c) || c < 2)) {
    throw new RangeError(`runStaticForce: expected class counts C >= 2, got [${classes}]`);
  }
  if (seeds.length === 0 || seeds.some((v) => !Number.isSafeInteger(v) || v < 0)) {
    throw new RangeError(`runStaticForce: expected seeds to be integers >= 0, got [${seeds}]`);
  }
  if (method === 'closed-form' && configs.some((c) => c.model !== 'one-hidden')) {
    throw new RangeError(
      `runStaticForce: expected only one-hidden networks with the closed-form method, got [${configs.map((c) => c.model)}]`,
    );
  }
  const plan: SeedPlan = {
    tf,
    samples,
    input,
    hidden,
    exactMaxDim,
    probes,
    method,
    losses,
    configs,
  };
  const rows: StaticForceRow[] = [];
  for (const seed of seeds) {
    for (const [k, c] of classes.entries()) {
      for (const row of await measureClasses(plan, seed, k, c)) {
        rows.push(row);
        onRow?.(row);
      }
    }
  }
  return rows;
}

interface SeedPlan {
  readonly tf: typeof tfjs;
  readonly samples: number;
  readonly input: number;
  readonly hidden: number;
  readonly exactMaxDim: number;
  readonly probes: number;
  readonly method: StaticForceMethod;
  readonly losses: readonly StaticForceLoss[];
  readonly configs: readonly StaticForceConfiguration[];
}

/** Every configuration and loss at one C for one seed (the k-th C of the sweep). */
async function measureClasses(
  plan: SeedPlan,
  seed: number,
  k: number,
  c: number,
): Promise<StaticForceRow[]> {
  const { tf, samples, input, hidden, exactMaxDim, method } = plan;
  const rng = createRandom(seed + 1000 * k);
  const x = rng.gaussianVector(samples * input);
  const labels = Array.from({ length: samples }, () =>
    Math.min(c - 1, Math.floor(rng.uniform() * c)),
  );
  const oneHot = new Float32Array(samples * c);
  for (const [n, label] of labels.entries()) oneHot[n * c + label] = 1;
  const xs = tf.tensor2d(Float32Array.from(x), [samples, input]);
  const ys = tf.tensor2d(oneHot, [samples, c]);
  const rows: StaticForceRow[] = [];
  try {
    for (const { model: kind, init } of plan.configs) {
      const weights = rng.split();
      for (const loss of plan.losses) {
        const start = performance.now();
        const model = buildModel(tf, kind, init, input, hidden, c, weights.split());
        const dim = model.countParams();
        const how: StaticForceRow['norms'] =
          method === 'closed-form' ? 'closed form' : dim <= exactMaxDim ? 'exact' : 'estimated';
        try {
          const norms = await measureNorms(plan, how, model, { x: xs, y: ys }, loss, seed + k);
          rows.push({
            seed,
            model: kind,
            init,
            loss,
            C: c,
            P: dim,
            norms: how,
            ...networkRatios(blockStructure(norms), kind),
            ...(kind === 'one-hidden' ? { crossFloor: (4 * hidden * hidden) / samples } : {}),
            closedForm: closedForm(kind, init, loss, c),
            seconds: (performance.now() - start) / 1000,
          });
        } finally {
          model.dispose();
        }
      }
    }
  } finally {
    tf.dispose([xs, ys]);
  }
  return rows;
}

async function measureNorms(
  plan: SeedPlan,
  how: StaticForceRow['norms'],
  model: tfjs.LayersModel,
  data: { x: tfjs.Tensor2D; y: tfjs.Tensor2D },
  loss: StaticForceLoss,
  probeSeed: number,
): Promise<BlockFrobenius> {
  const { tf } = plan;
  if (how === 'closed form') {
    const [hiddenKernel, outKernel] = model.getWeights() as tfjs.Tensor2D[];
    return closedFormBlockNorms({ tf, ...data, hiddenKernel, outKernel, loss });
  }
  const { operator, layout } = modelCurvature(model, {
    tf,
    ...data,
    loss: loss === 'ce' ? 'softmaxCrossEntropy' : 'meanSquaredError',
    layout: 'unit',
    selfCheck: false,
  });
  return how === 'exact'
    ? exactBlockNorms(await denseMatrix(operator, { maxDim: plan.exactMaxDim }), layout.dim, layout)
    : await blockNorms(operator, layout, { probes: plan.probes, seed: probeSeed });
}

/** The class, hidden-neuron and cross-layer ratios of a row: {@link networkRatios}. */
export type NetworkRatios = Pick<
  StaticForceRow,
  | 'classMeanRatio'
  | 'classMassRatio'
  | 'classMassStderr'
  | 'neuronMeanRatio'
  | 'neuronMassRatio'
  | 'neuronMassStderr'
  | 'crossMeanRatio'
  | 'crossMassRatio'
  | 'crossMassStderr'
>;

/**
 * The ratios of the experiment's networks from their block structure: the output layer `out`'s
 * class blocks, and for the one-hidden network the `hidden` layer's neuron blocks and the
 * cross-layer pairs (also used by dynamic-force).
 *
 * @throws Error when the structure lacks the layer 'out' (or 'hidden' for 'one-hidden').
 * @example
 * ```ts
 * const { neuronMeanRatio } = networkRatios(blockStructure(norms), 'one-hidden');
 * ```
 */
export function networkRatios(structure: BlockStructure, kind: StaticForceModel): NetworkRatios {
  const layer = (name: string): PairStatistics => {
    const found = structure.layers.find((l) => l.name === name);
    if (found === undefined) throw new Error(`no layer ${name} in [${structure.groups}]`);
    return found;
  };
  const out = layer('out');
  const classes: NetworkRatios = {
    classMeanRatio: out.meanRatio,
    classMassRatio: out.massRatio,
    classMassStderr: out.massRatioStderr,
  };
  if (kind === 'linear') return classes;
  const neurons = layer('hidden');
  return {
    ...classes,
    neuronMeanRatio: neurons.meanRatio,
    neuronMassRatio: neurons.massRatio,
    neuronMassStderr: neurons.massRatioStderr,
    crossMeanRatio: structure.crossLayer.meanRatio,
    crossMassRatio: structure.crossLayer.massRatio,
    crossMassStderr: structure.crossLayer.massRatioStderr,
  };
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
    const kernel = tf.tensor2d(Float32Array.from(initialKernel(init, fanIn, fanOut, rng)), [
      fanIn,
      fanOut,
    ]);
    w.write(kernel);
    kernel.dispose();
  }
  return model;
}

/**
 * A fanIn × fanOut kernel (row-major, tfjs Dense layout) drawn as {@link StaticForceInit} says:
 * N(0, 1/fan_in), U(−1/√fan_in, 1/√fan_in) or 0.
 *
 * @example
 * ```ts
 * const kernel = initialKernel('pytorch', 500, 8, createRandom(1)); // 4000 entries in ±1/√500
 * ```
 */
export function initialKernel(
  init: StaticForceInit,
  fanIn: number,
  fanOut: number,
  rng: Random,
): Float64Array {
  const bound = 1 / Math.sqrt(fanIn);
  if (init === 'pytorch') {
    return Float64Array.from({ length: fanIn * fanOut }, () => (2 * rng.uniform() - 1) * bound);
  }
  return rng.gaussianVector(fanIn * fanOut).map((v) => (init === 'zero' ? 0 : v * bound));
}

/** A fitted exponent of one ratio series of one seed: {@link fitExponents}. */
export interface ExponentRow {
  seed: number;
  model: StaticForceModel;
  init: StaticForceInit;
  loss: StaticForceLoss;
  /** Which ratio: e.g. 'classMeanRatio'. */
  statistic: RatioStatistic;
  fit: PowerLaw;
}

/** The ratios a row carries, in table order. */
export const STATISTICS = [
  'classMeanRatio',
  'classMassRatio',
  'neuronMeanRatio',
  'neuronMassRatio',
  'crossMeanRatio',
  'crossMassRatio',
] as const;

/** One of {@link STATISTICS}. */
export type RatioStatistic = (typeof STATISTICS)[number];

/** The distinct (model, init, loss) series of some rows, in first-seen order. */
function seriesOf(
  rows: readonly StaticForceRow[],
): { model: StaticForceModel; init: StaticForceInit; loss: StaticForceLoss }[] {
  const seen = new Map<
    string,
    { model: StaticForceModel; init: StaticForceInit; loss: StaticForceLoss }
  >();
  for (const { model, init, loss } of rows)
    seen.set(`${model}/${init}/${loss}`, { model, init, loss });
  return [...seen.values()];
}

const unique = (values: readonly number[]): number[] => [...new Set(values)];

/**
 * Fits ratio ≈ a·C^b over C for every seed, (model, init, loss) series and statistic that has
 * at least two positive values (the exactly-zero MSE class ratios have none).
 *
 * @example
 * ```ts
 * const exponents = fitExponents(await runStaticForce({ tf, seeds: [1, 2, 3] }));
 * ```
 */
export function fitExponents(rows: readonly StaticForceRow[]): ExponentRow[] {
  const out: ExponentRow[] = [];
  for (const { model, init, loss } of seriesOf(rows)) {
    for (const seed of unique(rows.map((r) => r.seed))) {
      const series = rows.filter(
        (r) => r.seed === seed && r.model === model && r.init === init && r.loss === loss,
      );
      for (const statistic of STATISTICS) {
        const fit = fitPowerLaw(
          series.map((r) => r.C),
          series.map((r) => r[statistic] ?? Number.NaN),
        );
        if (fit.points >= 2) out.push({ seed, model, init, loss, statistic, fit });
      }
    }
  }
  return out;
}

/**
 * The values of one statistic over seeds at one (model, init, loss, C), e.g. for a mean ± sd.
 *
 * @example
 * ```ts
 * overSeeds(rows, { model: 'one-hidden', init: 'pytorch', loss: 'ce', C: 500 }, 'neuronMeanRatio');
 * ```
 */
export function overSeeds(
  rows: readonly StaticForceRow[],
  where: { model: StaticForceModel; init: StaticForceInit; loss: StaticForceLoss; C: number },
  key: RatioStatistic | 'crossFloor',
): number[] {
  return rows
    .filter(
      (r) =>
        r.model === where.model &&
        r.init === where.init &&
        r.loss === where.loss &&
        r.C === where.C,
    )
    .map((r) => r[key] ?? Number.NaN);
}

/**
 * The rows as a markdown table, one line per (model, init, loss, C): every ratio as mean ± sd
 * over the seeds (4m²/N beside the cross-layer mass ratio).
 *
 * @example
 * ```ts
 * console.log(formatRows(rows));
 * ```
 */
export function formatRows(rows: readonly StaticForceRow[]): string {
  const header = [
    'model',
    'init',
    'loss',
    'C',
    'P',
    'norms',
    'seeds',
    'class mean',
    'class mass',
    'closed form',
    'neuron mean',
    'neuron mass',
    'cross mean',
    'cross mass',
    '4m²/N',
    's per seed',
  ];
  const lines: string[][] = [];
  for (const series of seriesOf(rows)) {
    for (const C of unique(rows.map((r) => r.C))) {
      const group = rows.filter(
        (r) =>
          r.model === series.model && r.init === series.init && r.loss === series.loss && r.C === C,
      );
      if (group.length === 0) continue;
      const cell = (key: RatioStatistic) => formatMeanSd(overSeeds(group, { ...series, C }, key));
      const first = group[0];
      lines.push([
        series.model,
        series.init,
        series.loss,
        String(C),
        String(first.P),
        first.norms,
        String(group.length),
        cell('classMeanRatio'),
        cell('classMassRatio'),
        first.closedForm === null ? '—' : formatNumber(first.closedForm),
        first.neuronMeanRatio === undefined ? '—' : cell('neuronMeanRatio'),
        first.neuronMassRatio === undefined ? '—' : cell('neuronMassRatio'),
        first.crossMeanRatio === undefined ? '—' : cell('crossMeanRatio'),
        first.crossMassRatio === undefined ? '—' : cell('crossMassRatio'),
        formatNumber(first.crossFloor, 3),
        formatMeanSd(
          group.map((r) => r.seconds),
          2,
        ),
      ]);
    }
  }
  return markdownTable(header, lines);
}

/** The seeds' fitted exponents of one series and statistic, and which way they point: {@link exponentSummary}. */
export interface ExponentSummary {
  model: StaticForceModel;
  init: StaticForceInit;
  loss: StaticForceLoss;
  statistic: RatioStatistic;
  /** b per seed. */
  exponents: number[];
  /** 95 % t-interval of b over the seeds. */
  interval: TInterval;
  /** 'falls with C' when the whole interval is below 0, 'rises with C' above, 'no clear trend' otherwise (or with one seed). */
  trend: 'falls with C' | 'rises with C' | 'no clear trend';
}

/**
 * The exponents gathered over seeds: mean, sd and the 95 % t-interval of b per (model, init,
 * loss, statistic), and the trend it shows.
 *
 * @example
 * ```ts
 * exponentSummary(fitExponents(rows)).filter((e) => e.trend === 'falls with C');
 * ```
 */
export function exponentSummary(exponents: readonly ExponentRow[]): ExponentSummary[] {
  const groups = new Map<string, ExponentRow[]>();
  for (const e of exponents) {
    const key = `${e.model}/${e.init}/${e.loss}/${e.statistic}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  return [...groups.values()].map((group) => {
    const { model, init, loss, statistic } = group[0];
    const values = group.map((e) => e.fit.b);
    const interval = tInterval(values);
    const side = sideOf(interval, 0);
    const trend =
      side === 'below' ? 'falls with C' : side === 'above' ? 'rises with C' : 'no clear trend';
    return { model, init, loss, statistic, exponents: values, interval, trend };
  });
}

/** The exponent summaries as a markdown table. */
export function formatExponents(summaries: readonly ExponentSummary[]): string {
  return markdownTable(
    [
      'model',
      'init',
      'loss',
      'statistic',
      'b (ratio ≈ a·C^b): mean ± sd',
      '95 % t-interval',
      'seeds',
      'trend',
    ],
    summaries.map((e) => [
      e.model,
      e.init,
      e.loss,
      e.statistic,
      formatMeanSd(e.exponents),
      `${e.interval.low.toFixed(3)} … ${e.interval.high.toFixed(3)}`,
      String(e.exponents.length),
      e.trend,
    ]),
  );
}
