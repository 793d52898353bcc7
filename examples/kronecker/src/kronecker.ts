/**
 * Kronecker decoupling of layer Hessians (Wu, Zhu, Wu, Wang & Ge, "Dissecting Hessian:
 * Understanding Common Structure of Hessian in Neural Networks", arXiv 2010.04261, 2020–22;
 * docs/methods.md section B) in a small ReLU MLP on real MNIST digits: per-layer decoupling metrics
 * at initialization and after training, as the inputs' common mean μ grows, with and without
 * BatchNormalization before each Dense layer (see {@link runKronecker} for the protocol).
 *
 * Inputs are 7×7 average-pooled digits (each of the 49 inputs is the mean of a 4×4 block of the
 * 28×28 image), centred by the per-pixel training mean, then shifted by μ·1. Pooling keeps the
 * first layer's block at d = hidden·50 (800 for hidden 16), small enough to assemble densely.
 */
import { createRandom } from '@hessian-probe/core';
import type { Random } from '@hessian-probe/core/internal';
import {
  type KroneckerLayerReport,
  kroneckerDecoupling,
  kroneckerSummary,
} from '@hessian-probe/core/tfjs';
import {
  CLASSES,
  formatMeanSd,
  loadDigits,
  markdownTable,
  pairedChange,
  thresholdVerdict,
} from '@hessian-probe/example-kit';
import type * as tfjs from '@tensorflow/tfjs';

/** Side of the pooled image (28 / 4). */
export const POOLED_SIDE = 7;
/** Inputs of the MLP: 7 × 7 pooled pixels. */
export const POOLED_INPUTS = POOLED_SIDE * POOLED_SIDE;

/** Adam's learning rate. */
export const LEARNING_RATE = 1e-2;

/** 'mlp': 49 → h → h → 10, ReLU; 'mlp+bn': the same with BatchNormalization before each Dense. */
export type KroneckerVariant = 'mlp' | 'mlp+bn';

/** Options of {@link runKronecker}. */
export interface KroneckerExperimentOptions {
  /** The tfjs namespace, backend already chosen. */
  readonly tf: typeof tfjs;
  /** Hidden width h of both hidden layers (default 16). */
  readonly hidden?: number;
  /** Probe samples N the Hessians are taken over (default 256, training digits). */
  readonly samples?: number;
  /** Training digits per class (default 500). */
  readonly trainPerClass?: number;
  /** Training epochs of Adam ({@link LEARNING_RATE}, batch 64) on the centred digits (default 5). */
  readonly epochs?: number;
  /** Input shifts μ (added to every centred input) (default [0, 1, 4]). */
  readonly shifts?: readonly number[];
  /** Variants measured (default both). */
  readonly variants?: readonly KroneckerVariant[];
  /** Largest layer block assembled densely (default 1024); larger ones are randomized. */
  readonly maxExactDim?: number;
  /** Seed of the data shuffle, the weights and the randomized estimates (default 1). */
  readonly seed?: number;
  /** Called after each measurement (one model state, one μ), e.g. to print progress. */
  readonly onRows?: (rows: readonly KroneckerRow[]) => void;
}

/** One layer of one measured model. */
export interface KroneckerRow {
  /** The seed of this replicate (data shuffle, weights, randomized estimates). */
  seed: number;
  variant: KroneckerVariant;
  /** Input shift μ. */
  shift: number;
  stage: 'init' | 'trained';
  /** Test accuracy of the model (1000 test digits). */
  testAccuracy: number;
  layer: string;
  /** Layer block dimension d = n_out · m. */
  dim: number;
  method: 'dense' | 'randomized';
  /** ‖H_L − K‖_F / ‖H_L‖_F. */
  relativeError: number;
  relativeErrorStandardError: number;
  /** Overlap of the top-(C−1) eigenspaces of H_L and K. */
  overlap: number;
  /** λ₁(H_L) / λ₁(K). */
  topRatio: number;
  /** Rank-1 energy s₁²/Σs² of H_L's top eigenvector reshaped to [n_out, m]. */
  rank1Energy: number;
  /** The same, averaged over the top C − 1 eigenvectors. */
  rank1EnergyMean: number;
  /** λ₁/λ₂ of E[x̃x̃ᵀ] (null: λ₂ = 0). */
  inputDominance: number | null;
  /** Eigenvalues of E[M] above 1e-3 × the largest. */
  outliers: number;
  /** i at the largest ratio λ_i/λ_{i+1} of E[M]'s positive eigenvalues (the eigengap). */
  gapIndex: number;
  /** Whether E[M] is exact (no smooth pieces downstream). */
  exact: boolean;
  matvecs: number;
  /** Wall time of the whole model's measurement, seconds. */
  seconds: number;
}

/**
 * 7×7 average pooling of 28×28 images, centred by the per-input mean of `centre`'s pooled
 * images (the training set), shifted by μ.
 */
export function poolDigits(
  images: Float32Array,
  size: number,
  mean: Float64Array,
  shift: number,
): Float32Array {
  const out = new Float32Array(size * POOLED_INPUTS);
  for (let n = 0; n < size; n++) {
    for (let i = 0; i < 28; i++) {
      for (let j = 0; j < 28; j++) {
        const k = Math.floor(i / 4) * POOLED_SIDE + Math.floor(j / 4);
        out[n * POOLED_INPUTS + k] += images[n * 784 + i * 28 + j] / 16;
      }
    }
    for (let k = 0; k < POOLED_INPUTS; k++) out[n * POOLED_INPUTS + k] += shift - mean[k];
  }
  return out;
}

function pooledMean(images: Float32Array, size: number): Float64Array {
  const pooled = poolDigits(images, size, new Float64Array(POOLED_INPUTS), 0);
  const mean = new Float64Array(POOLED_INPUTS);
  for (let n = 0; n < size; n++) {
    for (let k = 0; k < POOLED_INPUTS; k++) mean[k] += pooled[n * POOLED_INPUTS + k] / size;
  }
  return mean;
}

/** The MLP with He-normal kernels N(0, 2/fan_in) (output layer N(0, 1/fan_in)) and zero biases, from `rng`. */
function buildModel(
  tf: typeof tfjs,
  variant: KroneckerVariant,
  hidden: number,
  rng: Random,
): tfjs.Sequential {
  const bn = variant === 'mlp+bn';
  const layers: tfjs.layers.Layer[] = [];
  const first = { inputShape: [POOLED_INPUTS] };
  if (bn) layers.push(tf.layers.batchNormalization({ ...first, name: 'bn0' }));
  layers.push(
    tf.layers.dense({ ...(bn ? {} : first), units: hidden, activation: 'relu', name: 'fc1' }),
  );
  if (bn) layers.push(tf.layers.batchNormalization({ name: 'bn1' }));
  layers.push(tf.layers.dense({ units: hidden, activation: 'relu', name: 'fc2' }));
  if (bn) layers.push(tf.layers.batchNormalization({ name: 'bn2' }));
  layers.push(tf.layers.dense({ units: CLASSES, activation: 'softmax', name: 'out' }));
  const model = tf.sequential({ layers });
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Dense') continue;
    const [kernel, bias] = layer.getWeights();
    const [fanIn, units] = kernel.shape;
    const gain = layer.name === 'out' ? 1 : 2;
    const values = rng.gaussianVector(fanIn * units).map((v) => v * Math.sqrt(gain / fanIn));
    // getWeights() returns the variables' own tensors: only the new values are disposed
    const fresh = [tf.tensor2d(Float32Array.from(values), [fanIn, units]), tf.zerosLike(bias)];
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
  return model;
}

/**
 * Sets each BatchNormalization layer's moving mean and variance to its input's statistics over
 * `x` (the probe set), so that in inference mode (how the Hessian is taken) each BN layer
 * standardizes its inputs on exactly the data the Hessian sees.
 */
function calibrateBatchNorm(tf: typeof tfjs, model: tfjs.Sequential, x: tfjs.Tensor): void {
  let h = x;
  for (const layer of model.layers) {
    if (layer.getClassName() === 'BatchNormalization') {
      const [gamma, beta] = layer.getWeights();
      const { mean, variance } = tf.moments(h, 0);
      layer.setWeights([gamma, beta, mean, variance]);
      tf.dispose([mean, variance]);
    }
    const next = layer.apply(h, { training: false }) as tfjs.Tensor;
    if (h !== x) h.dispose();
    h = next;
  }
  if (h !== x) h.dispose();
}

/** i (1-based) maximizing λ_i/λ_{i+1} over the positive eigenvalues (descending). */
export function eigengapIndex(values: Float64Array): number {
  let best = 0;
  let index = 0;
  for (let i = 0; i + 1 < values.length && values[i + 1] > 0; i++) {
    const ratio = values[i] / values[i + 1];
    if (ratio > best) {
      best = ratio;
      index = i + 1;
    }
  }
  return index;
}

/**
 * Runs the experiment. For each variant: the model at initialization is measured on probe
 * digits shifted by each μ (data with a common mean μ), then trained once on the centred digits
 * (μ = 0) and measured again at each μ, where the trained 'mlp' sees x + μ·1 with fc1's bias
 * compensated (b − μ·Wᵀ1: the same function, only fc1's input factor changes). The 'mlp+bn'
 * variant's BN statistics are set to each shifted probe set, which removes the shift exactly, so
 * it is measured only at the smallest and largest μ. Every Dense layer is measured with
 * `kroneckerDecoupling` (top-k = C − 1 = 9, cross-entropy).
 *
 * @throws RangeError for a size that is not a positive integer, a negative or non-finite shift,
 *   an empty list, or more samples than training digits, before any work.
 * @example
 * ```ts
 * const rows = await runKronecker({ tf, hidden: 8, samples: 128, epochs: 1, shifts: [0, 4] });
 * ```
 */
export async function runKronecker(options: KroneckerExperimentOptions): Promise<KroneckerRow[]> {
  const {
    tf,
    hidden = 16,
    samples = 256,
    trainPerClass = 500,
    epochs = 5,
    shifts = [0, 1, 4],
    variants = ['mlp', 'mlp+bn'],
    maxExactDim = 1024,
    seed = 1,
    onRows,
  } = options;
  for (const [name, value] of Object.entries({
    hidden,
    samples,
    trainPerClass,
    epochs,
    maxExactDim,
    seed,
  })) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`runKronecker: expected ${name} to be an integer >= 1, got ${value}`);
    }
  }
  if (shifts.length === 0 || shifts.some((s) => !Number.isFinite(s) || s < 0)) {
    throw new RangeError(`runKronecker: expected shifts μ >= 0, got [${shifts}]`);
  }
  if (variants.length === 0) throw new RangeError('runKronecker: expected at least one variant');
  if (samples > trainPerClass * CLASSES) {
    throw new RangeError(
      `runKronecker: expected samples <= ${trainPerClass * CLASSES} training digits, got ${samples}`,
    );
  }
  const { train, test } = loadDigits({ trainPerClass, testPerClass: 100, seed });
  const mean = pooledMean(train.images, train.size);
  const rows: KroneckerRow[] = [];
  const xTrain = tf.tensor2d(poolDigits(train.images, train.size, mean, 0), [
    train.size,
    POOLED_INPUTS,
  ]);
  const yTrain = tf.tensor2d(train.labels, [train.size, CLASSES]);
  const yProbe = tf.slice(yTrain, [0, 0], [samples, -1]);
  const bnShifts = [...new Set([Math.min(...shifts), Math.max(...shifts)])];
  for (const variant of variants) {
    const model = buildModel(tf, variant, hidden, createRandom(seed));
    model.compile({ optimizer: tf.train.adam(LEARNING_RATE), loss: 'categoricalCrossentropy' });
    for (const stage of ['init', 'trained'] as const) {
      if (stage === 'trained') {
        await model.fit(xTrain, yTrain, { epochs, batchSize: 64, shuffle: false, verbose: 0 });
      }
      for (const shift of variant === 'mlp+bn' ? bnShifts : shifts) {
        const xTest = tf.tensor2d(poolDigits(test.images, test.size, mean, shift), [
          test.size,
          POOLED_INPUTS,
        ]);
        const xProbe = tf.tensor2d(
          poolDigits(train.images.subarray(0, samples * 784), samples, mean, shift),
          [samples, POOLED_INPUTS],
        );
        let restore: (() => void) | undefined;
        if (variant === 'mlp+bn') calibrateBatchNorm(tf, model, xProbe);
        else if (stage === 'trained') restore = compensateShift(tf, model, shift);
        const start = performance.now();
        const reports = await kroneckerDecoupling(model, {
          tf,
          x: xProbe,
          y: yProbe,
          loss: 'categoricalCrossentropy',
          topK: CLASSES - 1,
          maxExactDim,
          seed,
        });
        const seconds = (performance.now() - start) / 1000;
        const testAccuracy = accuracy(tf, model, xTest, test.classes);
        restore?.();
        const measured = toRows(reports, { seed, variant, shift, stage, testAccuracy, seconds });
        rows.push(...measured);
        onRows?.(measured);
        tf.dispose([xTest, xProbe]);
      }
    }
    model.dispose();
  }
  tf.dispose([xTrain, yTrain, yProbe]);
  return rows;
}

/**
 * Makes the trained network compute the same function on x + μ·1 as on x: fc1's bias becomes
 * b − μ·Wᵀ1 (W [n_in, n_out]). Only fc1's input (and so its input factor) changes. Returns the
 * function that restores the bias.
 */
function compensateShift(tf: typeof tfjs, model: tfjs.Sequential, shift: number): () => void {
  const layer = model.getLayer('fc1');
  const [kernel, bias] = layer.getWeights();
  const original = bias.clone();
  const shifted = tf.tidy(() => tf.sub(bias, tf.mul(shift, tf.sum(kernel, 0))));
  layer.setWeights([kernel, shifted]);
  shifted.dispose();
  return () => {
    layer.setWeights([layer.getWeights()[0], original]);
    original.dispose();
  };
}

function accuracy(
  tf: typeof tfjs,
  model: tfjs.Sequential,
  x: tfjs.Tensor,
  classes: Int32Array,
): number {
  const predicted = tf.tidy(() =>
    tf.argMax(model.predict(x) as tfjs.Tensor, -1).dataSync(),
  ) as Int32Array;
  return predicted.reduce((s, c, i) => s + (c === classes[i] ? 1 : 0), 0) / classes.length;
}

function toRows(
  reports: readonly KroneckerLayerReport[],
  context: Pick<KroneckerRow, 'seed' | 'variant' | 'shift' | 'stage' | 'testAccuracy' | 'seconds'>,
): KroneckerRow[] {
  const summary = kroneckerSummary(reports);
  return reports.map((r, i) => ({
    ...context,
    layer: r.name,
    dim: r.units * r.inputs,
    method: r.method,
    relativeError: r.relativeError,
    relativeErrorStandardError: r.relativeErrorStandardError,
    overlap: r.overlap,
    topRatio: r.eigenvalueRatios[0],
    rank1Energy: r.rank1Energy[0],
    rank1EnergyMean: r.rank1Energy.reduce((s, v) => s + v, 0) / r.rank1Energy.length,
    inputDominance: summary[i].inputDominance,
    outliers: summary[i].outliers,
    gapIndex: eigengapIndex(r.outputHessianValues),
    exact: r.exact,
    matvecs: r.matvecs,
  }));
}

/** A numeric field of {@link KroneckerRow}. */
type Field =
  | 'testAccuracy'
  | 'relativeError'
  | 'overlap'
  | 'topRatio'
  | 'rank1Energy'
  | 'rank1EnergyMean'
  | 'inputDominance'
  | 'outliers'
  | 'gapIndex';

/** The rows of one (variant, μ, stage, layer), one per seed, in seed order. */
function cell(
  rows: readonly KroneckerRow[],
  variant: KroneckerVariant,
  shift: number,
  stage: 'init' | 'trained',
  layer: string,
): KroneckerRow[] {
  return rows
    .filter(
      (r) => r.variant === variant && r.shift === shift && r.stage === stage && r.layer === layer,
    )
    .sort((a, b) => a.seed - b.seed);
}

/** mean ± sd over seeds of a field ('∞' for an infinite input dominance). */
const spread = (group: readonly KroneckerRow[], field: Field): string => {
  const values = group.map((r) => r[field] ?? Number.POSITIVE_INFINITY);
  return values.some((v) => !Number.isFinite(v)) ? '∞' : formatMeanSd(values);
};

/**
 * The per-layer table: one line per (variant, μ, stage, layer), every value mean ± sd over the
 * seeds.
 *
 * @example
 * ```ts
 * console.log(formatRows(rows));
 * ```
 */
export function formatRows(rows: readonly KroneckerRow[]): string {
  const keys = new Map<string, KroneckerRow>();
  for (const r of rows) keys.set(`${r.variant}/${r.shift}/${r.stage}/${r.layer}`, r);
  return markdownTable(
    [
      'variant',
      'μ',
      'stage',
      'seeds',
      'test acc',
      'layer',
      'd',
      'rel. error ‖H−K‖/‖H‖',
      'overlap top-9',
      'λ₁(H)/λ₁(K)',
      'rank-1 energy v₁',
      'rank-1 energy mean top-9',
      'input dominance λ₁/λ₂',
      'E[M] outliers (>1e-3·max)',
      'E[M] eigengap at',
    ],
    [...keys.values()].map((r) => {
      const group = cell(rows, r.variant, r.shift, r.stage, r.layer);
      return [
        r.variant,
        String(r.shift),
        r.stage,
        String(group.length),
        spread(group, 'testAccuracy'),
        r.layer,
        String(r.dim),
        spread(group, 'relativeError'),
        spread(group, 'overlap'),
        spread(group, 'topRatio'),
        spread(group, 'rank1Energy'),
        spread(group, 'rank1EnergyMean'),
        spread(group, 'inputDominance'),
        group.map((g) => g.outliers).join(', '),
        group.map((g) => g.gapIndex).join(', '),
      ];
    }),
  );
}

/**
 * The paper's claims next to what was measured (mean ± sd over seeds), one line each, with a
 * verdict from the spread over seeds: a 95 % t-interval over seeds against the threshold the line
 * states, or a paired change over seeds ({@link pairedChange}) for "more" and "weaker"; counts of
 * seeds for the discrete eigengap claim. Uses the smallest and largest shift measured and the
 * 'mlp' variant unless the line says otherwise; lines whose rows are missing are left out.
 *
 * @example
 * ```ts
 * console.log(compareWithPaper(rows));
 * ```
 */
export function compareWithPaper(rows: readonly KroneckerRow[]): string {
  const shifts = [...new Set(rows.map((r) => r.shift))].sort((a, b) => a - b);
  const low = shifts[0];
  const high = shifts[shifts.length - 1];
  const layers = [...new Set(rows.map((r) => r.layer))];
  const hidden = layers.filter((l) => l !== 'out');
  const seeds = new Set(rows.map((r) => r.seed)).size;
  const lines: string[][] = [];
  const stages = ['init', 'trained'] as const;
  for (const stage of stages) {
    const out = cell(rows, 'mlp', low, stage, 'out');
    const inner = hidden.map((l) => cell(rows, 'mlp', low, stage, l));
    if (out.length === 0 || inner.some((g) => g.length !== out.length)) continue;
    const list = [out, ...inner]
      .map((g) => `${g[0].layer} ${spread(g, 'relativeError')} (overlap ${spread(g, 'overlap')})`)
      .join('; ');
    const gaps = inner.map((g) => g.map((r, i) => r.relativeError - out[i].relativeError));
    lines.push([
      `last layer near-exact Kronecker, hidden layers weaker (${stage}, μ = ${low})`,
      list,
      `last layer error: ${thresholdVerdict(
        out.map((r) => r.relativeError),
        0.1,
        'below',
      )}; hidden − last: ${gaps.map((g, i) => `${hidden[i]} ${thresholdVerdict(g, 0, 'above')}`).join(', ')}`,
    ]);
  }
  for (const stage of stages) {
    const measured = layers.map((l) => cell(rows, 'mlp', low, stage, l));
    if (measured.some((g) => g.length === 0)) continue;
    const list = measured
      .map(
        (g) =>
          `${g[0].layer}: outliers ${g.map((r) => r.outliers).join(', ')}; gap at ${g.map((r) => r.gapIndex).join(', ')}`,
      )
      .join(' · ');
    const every = measured[0].map((_, i) => measured.every((g) => g[i]?.gapIndex === CLASSES - 1));
    const held = every.filter(Boolean).length;
    lines.push([
      `about C − 1 = ${CLASSES - 1} outliers per layer (E[M], ${stage}, μ = ${low}; per seed)`,
      list,
      `${held === every.length ? 'agrees' : held === 0 ? 'does not agree' : 'mixed'}: eigengap at C − 1 in every layer in ${held} of ${every.length} seeds`,
    ]);
  }
  for (const stage of stages) {
    const measured = layers.map((l) => cell(rows, 'mlp', low, stage, l));
    if (measured.some((g) => g.length === 0)) continue;
    const list = measured
      .map(
        (g) =>
          `${g[0].layer} ${spread(g, 'rank1Energy')} (top-9 mean ${spread(g, 'rank1EnergyMean')})`,
      )
      .join('; ');
    lines.push([
      `reshaped top eigenvectors close to rank 1 (${stage}, μ = ${low})`,
      list,
      measured
        .map(
          (g) =>
            `${g[0].layer} ${thresholdVerdict(
              g.map((r) => r.rank1Energy),
              0.9,
              'above',
            )}`,
        )
        .join('; '),
    ]);
  }
  if (shifts.length > 1) {
    for (const stage of stages) {
      const sweep = shifts.map((s) => cell(rows, 'mlp', s, stage, 'fc1'));
      if (sweep.some((g) => g.length === 0)) continue;
      const list = sweep
        .map(
          (g) =>
            `μ ${g[0].shift}: dominance ${spread(g, 'inputDominance')}, energy ${spread(g, 'rank1EnergyMean')}`,
        )
        .join('; ');
      const change = pairedChange(
        sweep[0].map((r) => r.rank1EnergyMean),
        sweep[sweep.length - 1].map((r) => r.rank1EnergyMean),
      );
      lines.push([
        `more rank-1 with a dominant input mean (fc1, top-9 mean energy, ${stage}, μ = ${low} → ${high})`,
        list,
        `${change.direction === 'rose' ? 'agrees' : 'does not agree'}: ${change.text}`,
      ]);
    }
  }
  for (const stage of stages) {
    const plain = cell(rows, 'mlp', high, stage, 'fc1');
    const bn = cell(rows, 'mlp+bn', high, stage, 'fc1');
    if (plain.length === 0 || bn.length !== plain.length) continue;
    const change = pairedChange(
      plain.map((r) => r.rank1EnergyMean),
      bn.map((r) => r.rank1EnergyMean),
    );
    lines.push([
      `batch normalization weakens it (fc1, ${stage}, μ = ${high}; mlp → mlp+bn)`,
      `mlp: dominance ${spread(plain, 'inputDominance')}, energy ${spread(plain, 'rank1EnergyMean')}; mlp+bn: dominance ${spread(bn, 'inputDominance')}, energy ${spread(bn, 'rank1EnergyMean')}`,
      `${change.direction === 'fell' ? 'agrees' : 'does not agree'}: ${change.text}`,
    ]);
  }
  return markdownTable(
    [
      'claim (Wu et al.)',
      `here (mean ± sd over ${seeds} seeds)`,
      'verdict (95 % t-interval over seeds)',
    ],
    lines,
  );
}
