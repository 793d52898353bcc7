/**
 * The dynamic force of Dong, Zhang, Luo, Yao & Sun 2025 ("Towards Quantifying the Hessian
 * Structure of Neural Networks", arXiv 2505.02809; docs/methods.md section A): training, the second
 * force the paper names besides the architecture's static force at initialization. This module
 * trains the static-force networks (a linear model and a one-hidden-layer ReLU network, no
 * biases, cross-entropy and MSE) on real digits and on synthetic data, and after every epoch
 * measures the block ratios of the exact tfjs Hessian of the training loss: class blocks,
 * hidden-neuron blocks, and within-layer against cross-layer pairs. No direction of change is
 * assumed.
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
import {
  type CurvatureOperator,
  meanSquaredError,
  modelCurvature,
  softmaxCrossEntropy,
} from '@hessian-probe/core/tfjs';
import {
  CLASSES as DIGIT_CLASSES,
  formatMeanSd,
  formatNumber,
  formatWithError,
  loadDigits,
  markdownTable,
  meanSd,
  type PairedChange,
  PIXELS,
  pairedChange,
} from '@hessian-probe/example-kit';
import {
  buildModel,
  networkRatios,
  type StaticForceLoss,
  type StaticForceModel,
} from '@hessian-probe/example-static-force';
import type * as tfjs from '@tensorflow/tfjs';

/**
 * The training data:
 * - 'digits': real MNIST digits (the kit's `loadDigits`), each 28×28 image average-pooled in
 *   `pool`×`pool` cells (4 → 7×7 = 49 inputs), every input centred on its training-set mean and
 *   all scaled by one factor so that the mean of ‖x‖² is d (as for the Gaussian inputs); C = 10.
 * - 'teacher': x ~ N(0, I_d), label = argmax_c (T x)_c for a Gaussian linear teacher T ∈ R^{C×d}
 *   (learnable, by the linear model exactly).
 * - 'random': x ~ N(0, I_d), labels uniform on {0, …, C − 1} (memorisation; static-force's data).
 */
export type DynamicForceData = 'digits' | 'teacher' | 'random';

/** One training run: a network and a loss on a data set with C classes. */
export interface DynamicForceSeries {
  readonly data: DynamicForceData;
  readonly model: StaticForceModel;
  readonly loss: StaticForceLoss;
  /** Classes C (10 for 'digits'). */
  readonly C: number;
}

/** Options of {@link runDynamicForce}. */
export interface DynamicForceOptions {
  /** The tfjs namespace, backend already chosen. */
  readonly tf: typeof tfjs;
  /** The runs, in table order (default: {@link defaultSeries}(), C = 10 only). */
  readonly series?: readonly DynamicForceSeries[];
  /** Training samples N, also the Hessian's probe set (default 500). */
  readonly samples?: number;
  /**
   * Pooling cell of the digits, a divisor of 28 (default 4): the input dimension is
   * d = (28/pool)², used by the synthetic data too, so every series has the same d.
   */
  readonly pool?: number;
  /** Hidden width of the one-hidden-layer network (default 16). */
  readonly hidden?: number;
  /** Training epochs after the measurement at initialization, epoch 0 (default 5). */
  readonly epochs?: number;
  /** Minibatch size of the Adam steps (default 20; the last batch of an epoch may be smaller). */
  readonly batchSize?: number;
  /** Adam's learning rate (default 0.01; β₁ = 0.9, β₂ = 0.999 as tfjs's defaults). */
  readonly learningRate?: number;
  /**
   * Largest P for which the Hessian is assembled densely (P HVPs) and the block norms are exact
   * (default 1200); above it, `blockNorms` estimates them with `probes` probes per block.
   */
  readonly exactMaxDim?: number;
  /** Gaussian probes per block for estimated norms (default 8). */
  readonly probes?: number;
  /** Seeds, one independent replicate each (data, teacher, weights, minibatch order, probes; default [1]). */
  readonly seeds?: readonly number[];
  /** Called after each row, e.g. to print progress. */
  readonly onRow?: (row: DynamicForceRow) => void;
}

/** One (series, epoch) measurement; ratios as in `blockStructure` (F = block Frobenius norm). */
export interface DynamicForceRow {
  /** The seed of this replicate. */
  seed: number;
  data: DynamicForceData;
  model: StaticForceModel;
  loss: StaticForceLoss;
  C: number;
  /** Completed epochs: 0 is the initialization. */
  epoch: number;
  /** Parameters P. */
  P: number;
  /** 'exact' (dense assembly from P HVPs) or 'estimated' (randomized `blockNorms`). */
  norms: 'exact' | 'estimated';
  /** Training loss (the loss the Hessian is of) over all N samples. */
  trainLoss: number;
  /** Fraction of the N training samples whose largest logit is the label's, in [0, 1]. */
  trainAccuracy: number;
  /** Output-class blocks (rows of the last layer): mean off-diagonal F / mean diagonal F. */
  classMeanRatio: number;
  /** Output-class blocks: Σ off-diagonal F² / Σ diagonal F². */
  classMassRatio: number;
  /** Delta-method standard error of `classMassRatio`; 0 when exact. */
  classMassStderr: number;
  /** Hidden-neuron blocks (rows of the first layer), one-hidden only. */
  neuronMeanRatio?: number;
  neuronMassRatio?: number;
  neuronMassStderr?: number;
  /** All same-layer pairs relative to all diagonal blocks (one-hidden only; for 'linear' it is the class ratio). */
  withinMeanRatio?: number;
  withinMassRatio?: number;
  withinMassStderr?: number;
  /** Cross-layer pairs (hidden neuron × class) relative to all diagonal blocks, one-hidden only. */
  crossMeanRatio?: number;
  crossMassRatio?: number;
  crossMassStderr?: number;
  /**
   * All pairs of the whole Hessian (the mass ratio is within + cross), one-hidden only; for
   * 'linear' it is the class ratio.
   */
  allMeanRatio?: number;
  allMassRatio?: number;
  allMassStderr?: number;
  /** Wall time of the epoch's training and measurement, seconds. */
  seconds: number;
}

const DATA: readonly DynamicForceData[] = ['digits', 'teacher', 'random'];
const MODELS: readonly StaticForceModel[] = ['linear', 'one-hidden'];
const LOSSES: readonly StaticForceLoss[] = ['ce', 'mse'];

/**
 * Every (data, model, loss) combination: 'digits' with C = 10, the synthetic data sets once for
 * each C in `classes`.
 *
 * @example
 * ```ts
 * defaultSeries([10, 32]).length; // 3·4 + 2·4 = 20 series
 * ```
 */
export function defaultSeries(classes: readonly number[] = [DIGIT_CLASSES]): DynamicForceSeries[] {
  const out: DynamicForceSeries[] = [];
  for (const data of DATA) {
    const counts = data === 'digits' ? [DIGIT_CLASSES] : classes;
    for (const C of counts) {
      for (const model of MODELS) for (const loss of LOSSES) out.push({ data, model, loss, C });
    }
  }
  return out;
}

/** Stream numbers of the seeds derived from `seed` (see {@link streamSeed}). */
const STREAM = { weights: 0, digits: 1, teacher: 2, random: 3, batches: 4, probes: 5 } as const;

/** One generator per (seed, C, stream), so a series sees the same data and weights alone or in a sweep. */
function streamSeed(seed: number, classes: number, stream: number): number {
  return (seed * 4096 + classes) * 8 + stream;
}

/**
 * Trains each series with Adam from a LeCun initialization (static-force's `buildModel`) and
 * measures the Hessian of the training loss on all N samples (layout 'unit': one block per
 * output neuron) at epoch 0 and after every epoch. The weights of a (model, C) pair are the same
 * for every data set and loss, and the data of a (data set, C) pair the same for every model and
 * loss, so series differ only in what their labels say.
 *
 * @throws RangeError for a size that is not a positive integer, a pool that does not divide 28,
 *   a digits series with C ≠ 10 or a C < 2, before any work.
 *
 * @example
 * ```ts
 * const rows = await runDynamicForce({
 *   tf,
 *   series: [{ data: 'teacher', model: 'linear', loss: 'ce', C: 4 }],
 *   samples: 64,
 *   pool: 7,
 *   epochs: 2,
 * });
 * ```
 */
export async function runDynamicForce(options: DynamicForceOptions): Promise<DynamicForceRow[]> {
  const {
    tf,
    series = defaultSeries(),
    samples = 500,
    pool = 4,
    hidden = 16,
    epochs = 5,
    batchSize = 20,
    learningRate = 0.01,
    exactMaxDim = 1200,
    probes = 8,
    seeds = [1],
    onRow,
  } = options;
  const sizes = { samples, pool, hidden, epochs, batchSize, exactMaxDim, probes };
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`runDynamicForce: expected ${name} to be an integer >= 1, got ${value}`);
    }
  }
  if (seeds.length === 0 || seeds.some((v) => !Number.isSafeInteger(v) || v < 0)) {
    throw new RangeError(`runDynamicForce: expected seeds to be integers >= 0, got [${seeds}]`);
  }
  if (28 % pool !== 0) {
    throw new RangeError(`runDynamicForce: expected pool to divide 28, got ${pool}`);
  }
  if (!(Number.isFinite(learningRate) && learningRate > 0)) {
    throw new RangeError(`runDynamicForce: expected learningRate > 0, got ${learningRate}`);
  }
  for (const s of series) {
    if (!Number.isSafeInteger(s.C) || s.C < 2 || (s.data === 'digits' && s.C !== DIGIT_CLASSES)) {
      throw new RangeError(
        `runDynamicForce: expected C >= 2 (10 for digits), got ${s.data} with C = ${s.C}`,
      );
    }
  }
  const input = (28 / pool) ** 2;
  const rows: DynamicForceRow[] = [];
  for (const seed of seeds) {
    const sets = new Map<string, { x: tfjs.Tensor2D; y: tfjs.Tensor2D }>();
    try {
      for (const s of series) {
        const key = `${s.data}/${s.C}`;
        let set = sets.get(key);
        if (set === undefined) {
          const { x, labels } = makeData(s.data, s.C, samples, pool, seed);
          set = { x: tf.tensor2d(x, [samples, input]), y: tf.tensor2d(labels, [samples, s.C]) };
          sets.set(key, set);
        }
        const weights = createRandom(streamSeed(seed, s.C, STREAM.weights));
        const model = buildModel(tf, s.model, 'lecun', input, hidden, s.C, weights);
        try {
          await trainSeries(tf, s, model, set, {
            epochs,
            batchSize,
            learningRate,
            exactMaxDim,
            probes,
            seed,
            batches: createRandom(streamSeed(seed, s.C, STREAM.batches)),
            probeSeed: streamSeed(seed, s.C, STREAM.probes),
            emit: (row) => {
              rows.push(row);
              onRow?.(row);
            },
          });
        } finally {
          model.dispose();
        }
      }
    } finally {
      for (const { x, y } of sets.values()) tf.dispose([x, y]);
    }
  }
  return rows;
}

interface TrainingPlan {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly exactMaxDim: number;
  readonly probes: number;
  readonly seed: number;
  readonly batches: Random;
  readonly probeSeed: number;
  readonly emit: (row: DynamicForceRow) => void;
}

async function trainSeries(
  tf: typeof tfjs,
  s: DynamicForceSeries,
  model: tfjs.LayersModel,
  set: { x: tfjs.Tensor2D; y: tfjs.Tensor2D },
  plan: TrainingPlan,
): Promise<void> {
  const lossFn = s.loss === 'ce' ? softmaxCrossEntropy : meanSquaredError;
  const curvature = modelCurvature(model, {
    tf,
    x: set.x,
    y: set.y,
    loss: s.loss === 'ce' ? 'softmaxCrossEntropy' : 'meanSquaredError',
    layout: 'unit',
    selfCheck: false,
  });
  // LayerVariable.read() returns the tf.Variable itself; Adam updates it in place, and the
  // curvature operator reads it at every product.
  const variables = model.trainableWeights.map((w) => w.read() as tfjs.Variable);
  const optimizer = tf.train.adam(plan.learningRate);
  const n = set.x.shape[0];
  try {
    for (let epoch = 0; epoch <= plan.epochs; epoch++) {
      const start = performance.now();
      if (epoch > 0) {
        const order = permutation(n, plan.batches);
        for (let b = 0; b < n; b += plan.batchSize) {
          const indices = tf.tensor1d(order.subarray(b, b + plan.batchSize), 'int32');
          const xb = tf.gather(set.x, indices);
          const yb = tf.gather(set.y, indices);
          optimizer.minimize(
            () => lossFn(tf, model.apply(xb) as tfjs.Tensor, yb),
            false,
            variables,
          );
          tf.dispose([indices, xb, yb]);
        }
      }
      const { trainLoss, trainAccuracy } = evaluate(tf, model, set, lossFn);
      const { norms, structure, all } = await measureBlocks(curvature, plan, epoch);
      plan.emit({
        seed: plan.seed,
        ...s,
        epoch,
        P: curvature.layout.dim,
        norms,
        trainLoss,
        trainAccuracy,
        ...blockRatios(s.model, structure, all),
        seconds: (performance.now() - start) / 1000,
      });
    }
  } finally {
    optimizer.dispose();
  }
}

function evaluate(
  tf: typeof tfjs,
  model: tfjs.LayersModel,
  set: { x: tfjs.Tensor2D; y: tfjs.Tensor2D },
  lossFn: typeof softmaxCrossEntropy,
): { trainLoss: number; trainAccuracy: number } {
  const [loss, correct] = tf.tidy(() => {
    const logits = model.apply(set.x) as tfjs.Tensor2D;
    const hits = tf.equal(tf.argMax(logits, 1), tf.argMax(set.y, 1));
    return [lossFn(tf, logits, set.y), tf.mean(tf.cast(hits, 'float32'))];
  });
  const values = { trainLoss: loss.dataSync()[0], trainAccuracy: correct.dataSync()[0] };
  tf.dispose([loss, correct]);
  return values;
}

async function measureBlocks(
  { operator, layout }: CurvatureOperator,
  plan: TrainingPlan,
  epoch: number,
): Promise<{ norms: 'exact' | 'estimated'; structure: BlockStructure; all: PairStatistics }> {
  const exact = layout.dim <= plan.exactMaxDim;
  const norms: BlockFrobenius = exact
    ? exactBlockNorms(await denseMatrix(operator, { maxDim: plan.exactMaxDim }), layout.dim, layout)
    : await blockNorms(operator, layout, { probes: plan.probes, seed: plan.probeSeed + epoch });
  return {
    norms: exact ? 'exact' : 'estimated',
    structure: blockStructure(norms),
    all: blockStructure(norms, { groupOf: () => 'all' }).withinLayer,
  };
}

type Ratios = Pick<
  DynamicForceRow,
  | 'classMeanRatio'
  | 'classMassRatio'
  | 'classMassStderr'
  | 'neuronMeanRatio'
  | 'neuronMassRatio'
  | 'neuronMassStderr'
  | 'withinMeanRatio'
  | 'withinMassRatio'
  | 'withinMassStderr'
  | 'crossMeanRatio'
  | 'crossMassRatio'
  | 'crossMassStderr'
  | 'allMeanRatio'
  | 'allMassRatio'
  | 'allMassStderr'
>;

function blockRatios(
  model: StaticForceModel,
  structure: BlockStructure,
  all: PairStatistics,
): Ratios {
  const ratios = networkRatios(structure, model);
  if (model === 'linear') return ratios;
  const { withinLayer: within } = structure;
  return {
    ...ratios,
    withinMeanRatio: within.meanRatio,
    withinMassRatio: within.massRatio,
    withinMassStderr: within.massRatioStderr,
    allMeanRatio: all.meanRatio,
    allMassRatio: all.massRatio,
    allMassStderr: all.massRatioStderr,
  };
}

/** A uniformly random permutation of 0..n−1 (Fisher–Yates). */
function permutation(n: number, rng: Random): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Inputs (N × d, row-major) and one-hot labels (N × C) of one data set. */
function makeData(
  data: DynamicForceData,
  classes: number,
  samples: number,
  pool: number,
  seed: number,
): { x: Float32Array; labels: Float32Array } {
  const side = 28 / pool;
  const input = side * side;
  const labels = new Float32Array(samples * classes);
  if (data === 'digits') {
    const perClass = Math.ceil(samples / DIGIT_CLASSES);
    // Only training digits are used; the kit's split needs a test part, so it is one per class.
    const { train } = loadDigits({
      trainPerClass: perClass,
      testPerClass: 1,
      seed: streamSeed(seed, classes, STREAM.digits),
    });
    const x = new Float64Array(samples * input);
    for (let n = 0; n < samples; n++) {
      const image = train.images.subarray(n * PIXELS, (n + 1) * PIXELS);
      for (let r = 0; r < 28; r++) {
        for (let c = 0; c < 28; c++) {
          x[n * input + Math.floor(r / pool) * side + Math.floor(c / pool)] +=
            image[r * 28 + c] / (pool * pool);
        }
      }
      labels[n * classes + train.classes[n]] = 1;
    }
    return { x: standardize(x, samples, input), labels };
  }
  const rng = createRandom(streamSeed(seed, classes, STREAM[data]));
  const x = rng.gaussianVector(samples * input);
  const teacher = data === 'teacher' ? rng.gaussianVector(classes * input) : undefined;
  for (let n = 0; n < samples; n++) {
    const label =
      teacher === undefined
        ? Math.min(classes - 1, Math.floor(rng.uniform() * classes))
        : teacherLabel(teacher, x.subarray(n * input, (n + 1) * input), classes);
    labels[n * classes + label] = 1;
  }
  return { x: Float32Array.from(x), labels };
}

/** argmax_c (T x)_c for the row-major C × d teacher T. */
function teacherLabel(teacher: Float64Array, x: Float64Array, classes: number): number {
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < classes; c++) {
    let score = 0;
    for (const [i, v] of x.entries()) score += teacher[c * x.length + i] * v;
    if (score > bestScore) [best, bestScore] = [c, score];
  }
  return best;
}

/** Centres every input on its mean and scales all by one factor so that mean ‖x‖² = d. */
function standardize(x: Float64Array, samples: number, input: number): Float32Array {
  const mean = new Float64Array(input);
  for (let n = 0; n < samples; n++) for (let i = 0; i < input; i++) mean[i] += x[n * input + i];
  for (let i = 0; i < input; i++) mean[i] /= samples;
  let square = 0;
  for (let k = 0; k < x.length; k++) {
    x[k] -= mean[k % input];
    square += x[k] ** 2;
  }
  const scale = Math.sqrt((samples * input) / square);
  return Float32Array.from(x, (v) => v * scale);
}

/** Which block pairs a {@link DynamicForceChange} is about. */
export type BlockKind = 'class' | 'hidden' | 'within' | 'cross' | 'all';

const FIELDS: Record<
  BlockKind,
  { mean: keyof Ratios; mass: keyof Ratios; stderr: keyof Ratios; label: string }
> = {
  class: {
    mean: 'classMeanRatio',
    mass: 'classMassRatio',
    stderr: 'classMassStderr',
    label: 'class blocks',
  },
  hidden: {
    mean: 'neuronMeanRatio',
    mass: 'neuronMassRatio',
    stderr: 'neuronMassStderr',
    label: 'hidden-neuron blocks',
  },
  within: {
    mean: 'withinMeanRatio',
    mass: 'withinMassRatio',
    stderr: 'withinMassStderr',
    label: 'within-layer pairs',
  },
  cross: {
    mean: 'crossMeanRatio',
    mass: 'crossMassRatio',
    stderr: 'crossMassStderr',
    label: 'cross-layer pairs',
  },
  all: {
    mean: 'allMeanRatio',
    mass: 'allMassRatio',
    stderr: 'allMassStderr',
    label: 'all pairs (whole Hessian)',
  },
};

/**
 * How a mass ratio moved from epoch 0 to the last epoch in one seed: 'fell' or 'rose' by more
 * than twice the combined standard error (any amount for exact norms), 'unchanged' when both
 * are equal (e.g. exactly 0), 'within noise' otherwise. Verdicts use the spread over seeds
 * instead: {@link judgeChanges}.
 */
export type Direction = 'fell' | 'rose' | 'unchanged' | 'within noise';

/** One series' ratios at initialization and after the last epoch, for one seed: {@link summarize}. */
export interface DynamicForceChange {
  seed: number;
  data: DynamicForceData;
  model: StaticForceModel;
  loss: StaticForceLoss;
  C: number;
  blocks: BlockKind;
  /** Norms of the two rows ('exact' or 'estimated'). */
  norms: 'exact' | 'estimated';
  /** The last epoch. */
  epochs: number;
  meanInit: number;
  meanEnd: number;
  massInit: number;
  massEnd: number;
  /** Standard error of massEnd − massInit (0 when exact). */
  massChangeStderr: number;
  direction: Direction;
  /** Train accuracy at the last epoch, in [0, 1]. */
  accuracyEnd: number;
}

/**
 * Ratio at epoch 0 → ratio at the last epoch, per seed, series and block kind (class blocks for
 * both models; hidden-neuron, within-layer, cross-layer and all pairs for the one-hidden network).
 *
 * @throws Error when a series has no epoch-0 row.
 *
 * @example
 * ```ts
 * const changes = summarize(await runDynamicForce({ tf, seeds: [1, 2, 3] }));
 * ```
 */
export function summarize(rows: readonly DynamicForceRow[]): DynamicForceChange[] {
  const bySeries = new Map<string, DynamicForceRow[]>();
  for (const row of rows) {
    const key = `${row.data}/${row.model}/${row.loss}/${row.C}/seed ${row.seed}`;
    bySeries.set(key, [...(bySeries.get(key) ?? []), row]);
  }
  const out: DynamicForceChange[] = [];
  for (const [key, series] of bySeries) {
    const first = series.find((r) => r.epoch === 0);
    if (first === undefined) throw new Error(`summarize: series ${key} has no epoch 0`);
    const last = series.reduce((a, b) => (b.epoch > a.epoch ? b : a));
    const kinds: BlockKind[] =
      first.model === 'linear' ? ['class'] : ['class', 'hidden', 'within', 'cross', 'all'];
    for (const blocks of kinds) {
      const f = FIELDS[blocks];
      const value = (row: DynamicForceRow, k: keyof Ratios) => row[k] ?? Number.NaN;
      const massInit = value(first, f.mass);
      const massEnd = value(last, f.mass);
      const massChangeStderr = Math.hypot(value(first, f.stderr), value(last, f.stderr));
      out.push({
        seed: first.seed,
        data: first.data,
        model: first.model,
        loss: first.loss,
        C: first.C,
        blocks,
        norms: last.norms,
        epochs: last.epoch,
        meanInit: value(first, f.mean),
        meanEnd: value(last, f.mean),
        massInit,
        massEnd,
        massChangeStderr,
        direction: direction(massInit, massEnd, massChangeStderr),
        accuracyEnd: last.trainAccuracy,
      });
    }
  }
  return out;
}

function direction(init: number, end: number, stderr: number): Direction {
  if (init === end) return 'unchanged';
  if (Math.abs(end - init) <= 2 * stderr) return 'within noise';
  return end < init ? 'fell' : 'rose';
}

/** One series and block kind judged over its seeds: {@link judgeChanges}. */
export interface SeriesVerdict {
  data: DynamicForceData;
  model: StaticForceModel;
  loss: StaticForceLoss;
  C: number;
  blocks: BlockKind;
  norms: 'exact' | 'estimated';
  epochs: number;
  /** Per seed, in seed order. */
  seeds: number[];
  massInit: number[];
  massEnd: number[];
  accuracyEnd: number[];
  /** The paired change init → end over seeds (95 % t-interval of ln(end/init), sign test beside it). */
  change: PairedChange;
}

/**
 * Gathers the per-seed changes of each (series, block kind) and judges the direction of the
 * mass ratio against the spread over seeds: {@link pairedChange} of init → end (a 95 %
 * t-interval of the per-seed log ratio; one seed is never a verdict).
 *
 * @example
 * ```ts
 * const verdicts = judgeChanges(summarize(rows));
 * verdicts.filter((v) => v.change.direction === 'fell');
 * ```
 */
export function judgeChanges(changes: readonly DynamicForceChange[]): SeriesVerdict[] {
  const groups = new Map<string, DynamicForceChange[]>();
  for (const c of changes) {
    const key = `${c.data}/${c.model}/${c.loss}/${c.C}/${c.blocks}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()].map((group) => {
    const sorted = [...group].sort((a, b) => a.seed - b.seed);
    const { data, model, loss, C, blocks, norms, epochs } = sorted[0];
    const massInit = sorted.map((c) => c.massInit);
    const massEnd = sorted.map((c) => c.massEnd);
    return {
      data,
      model,
      loss,
      C,
      blocks,
      norms,
      epochs,
      seeds: sorted.map((c) => c.seed),
      massInit,
      massEnd,
      accuracyEnd: sorted.map((c) => c.accuracyEnd),
      change: pairedChange(massInit, massEnd),
    };
  });
}

/**
 * The per-epoch rows as a markdown table (ratios to 4 significant digits, estimated mass
 * ratios ± their standard error).
 *
 * @example
 * ```ts
 * console.log(formatRows(rows));
 * ```
 */
export function formatRows(rows: readonly DynamicForceRow[]): string {
  return markdownTable(
    [
      'data',
      'model',
      'loss',
      'C',
      'epoch',
      'P',
      'norms',
      'train loss',
      'train acc',
      'class mean',
      'class mass',
      'neuron mean',
      'neuron mass',
      'within mass',
      'cross mean',
      'cross mass',
      'all mass',
      's',
    ],
    rows.map((r) => [
      r.data,
      r.model,
      r.loss,
      String(r.C),
      String(r.epoch),
      String(r.P),
      r.norms,
      formatNumber(r.trainLoss),
      formatNumber(r.trainAccuracy, 3),
      formatNumber(r.classMeanRatio),
      formatWithError(r.classMassRatio, r.classMassStderr),
      formatNumber(r.neuronMeanRatio),
      formatWithError(r.neuronMassRatio, r.neuronMassStderr),
      formatWithError(r.withinMassRatio, r.withinMassStderr),
      formatNumber(r.crossMeanRatio),
      formatWithError(r.crossMassRatio, r.crossMassStderr),
      formatWithError(r.allMassRatio, r.allMassStderr),
      r.seconds.toFixed(1),
    ]),
  );
}

/**
 * The verdicts as a markdown table: mass ratio at epoch 0 → last epoch (mean ± sd over seeds),
 * end/init, and the direction with its test.
 *
 * @example
 * ```ts
 * console.log(formatChanges(judgeChanges(summarize(rows))));
 * ```
 */
export function formatChanges(verdicts: readonly SeriesVerdict[]): string {
  return markdownTable(
    [
      'data',
      'model',
      'loss',
      'C',
      'norms',
      'blocks',
      'seeds',
      'mass ratio at init',
      'at end',
      'end / init',
      'direction (test over seeds)',
      'final train acc',
    ],
    verdicts.map((v) => [
      v.data,
      v.model,
      v.loss,
      String(v.C),
      v.norms,
      FIELDS[v.blocks].label,
      String(v.seeds.length),
      formatMeanSd(v.massInit),
      formatMeanSd(v.massEnd),
      v.massInit.every((m) => m > 0)
        ? formatMeanSd(v.massEnd.map((end, i) => end / v.massInit[i]))
        : '—',
      v.change.text,
      formatMeanSd(v.accuracyEnd),
    ]),
  );
}

/**
 * The verdicts gathered per block kind and loss, against the paper's claim that training (the
 * dynamic force) also pushes the Hessian towards near-block-diagonal form, i.e. that the
 * off-diagonal ratios fall: how many series fell, rose, did not change or moved by no clear
 * amount (each judged over its seeds), and the range of the mean end/init mass ratios.
 *
 * @example
 * ```ts
 * console.log(formatComparison(judgeChanges(summarize(rows))));
 * ```
 */
export function formatComparison(verdicts: readonly SeriesVerdict[]): string {
  const lines: string[][] = [];
  for (const blocks of Object.keys(FIELDS) as BlockKind[]) {
    for (const loss of LOSSES) {
      const group = verdicts.filter((v) => v.blocks === blocks && v.loss === loss);
      if (group.length === 0) continue;
      const named = (d: PairedChange['direction']) =>
        group.filter((v) => v.change.direction === d).map((v) => `${v.data}/${v.model}/C=${v.C}`);
      const [fell, rose, none, unclear] = (['fell', 'rose', 'no change', 'not clear'] as const).map(
        named,
      );
      const factors = group
        .filter((v) => v.massInit.every((m) => m > 0))
        .map((v) => meanSd(v.massEnd.map((end, i) => end / v.massInit[i])).mean);
      const list = (names: string[]) => (names.length === 0 ? 'none' : names.join(', '));
      const verdict =
        fell.length === group.length
          ? 'agrees: fell in every series'
          : rose.length === group.length
            ? 'disagrees: rose in every series'
            : none.length === group.length
              ? 'neither: exactly 0 throughout'
              : unclear.length === group.length
                ? 'not clear in any series (every t-interval contains 0)'
                : `mixed: fell in ${list(fell)}; rose in ${list(rose)}; not clear in ${list(unclear)}`;
      lines.push([
        FIELDS[blocks].label,
        loss,
        String(group.length),
        String(fell.length),
        String(rose.length),
        String(none.length),
        String(unclear.length),
        factors.length === 0
          ? '—'
          : `${formatNumber(Math.min(...factors), 3)} … ${formatNumber(Math.max(...factors), 3)}`,
        verdict,
      ]);
    }
  }
  return markdownTable(
    [
      'blocks',
      'loss',
      'series',
      'mass ratio fell',
      'rose',
      'no change',
      'not clear',
      'mean end / init (min … max)',
      'vs. "training drives near-block-diagonal structure" (95 % t-interval of ln(end/init) over seeds per series)',
    ],
    lines,
  );
}
