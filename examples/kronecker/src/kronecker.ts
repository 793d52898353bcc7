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
import { CLASSES, formatNumber, loadDigits, markdownTable } from '@hessian-probe/example-kit';
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
        const measured = toRows(reports, { variant, shift, stage, testAccuracy, seconds });
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
  context: Pick<KroneckerRow, 'variant' | 'shift' | 'stage' | 'testAccuracy' | 'seconds'>,
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

const f = (v: number | null, digits = 3) => (v === null ? '∞' : formatNumber(v, digits));

/**
 * The per-layer table: one line per (variant, μ, stage, layer).
 *
 * @example
 * ```ts
 * console.log(formatRows(rows));
 * ```
 */
export function formatRows(rows: readonly KroneckerRow[]): string {
  return markdownTable(
    [
      'variant',
      'μ',
      'stage',
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
    rows.map((r) => [
      r.variant,
      String(r.shift),
      r.stage,
      f(r.testAccuracy),
      r.layer,
      String(r.dim),
      r.method === 'dense'
        ? f(r.relativeError)
        : `${f(r.relativeError)} ± ${f(r.relativeErrorStandardError, 2)}`,
      f(r.overlap),
      f(r.topRatio),
      f(r.rank1Energy),
      f(r.rank1EnergyMean),
      f(r.inputDominance),
      String(r.outliers),
      String(r.gapIndex),
    ]),
  );
}

/**
 * The paper's claims next to what was measured, one line each, with a verdict computed from
 * the rows (thresholds stated in the line). Uses the smallest and largest shift measured and
 * the 'mlp' variant unless the line says otherwise; lines whose rows are missing are left out.
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
  const pick = (
    variant: KroneckerVariant,
    shift: number,
    stage: 'init' | 'trained',
    layer: string,
  ) =>
    rows.find(
      (r) => r.variant === variant && r.shift === shift && r.stage === stage && r.layer === layer,
    );
  const verdict = (ok: boolean) => (ok ? 'agrees' : 'does not agree');
  const lines: string[][] = [];
  const stages = ['init', 'trained'] as const;
  for (const stage of stages) {
    const out = pick('mlp', low, stage, 'out');
    const inner = hidden.map((l) => pick('mlp', low, stage, l));
    if (out === undefined || inner.some((r) => r === undefined)) continue;
    const innerRows = inner as KroneckerRow[];
    const list = [out, ...innerRows]
      .map((r) => `${r.layer} ${f(r.relativeError)} (overlap ${f(r.overlap)})`)
      .join('; ');
    lines.push([
      `last layer near-exact Kronecker, hidden layers weaker (${stage}, μ = ${low})`,
      list,
      `${verdict(out.relativeError < 0.1)} for the last layer (error < 0.1); ${verdict(innerRows.every((r) => r.relativeError > out.relativeError))} for hidden > last`,
    ]);
  }
  for (const stage of stages) {
    const measured = layers.map((l) => pick('mlp', low, stage, l));
    if (measured.some((r) => r === undefined)) continue;
    const list = (measured as KroneckerRow[])
      .map((r) => `${r.layer} ${r.outliers} above 1e-3·max, gap at ${r.gapIndex}`)
      .join('; ');
    lines.push([
      `about C − 1 = ${CLASSES - 1} outliers per layer (E[M], ${stage}, μ = ${low})`,
      list,
      `${verdict((measured as KroneckerRow[]).every((r) => r.gapIndex === CLASSES - 1))} (eigengap at C − 1 in every layer)`,
    ]);
  }
  for (const stage of stages) {
    const measured = layers.map((l) => pick('mlp', low, stage, l));
    if (measured.some((r) => r === undefined)) continue;
    const list = (measured as KroneckerRow[])
      .map((r) => `${r.layer} ${f(r.rank1Energy)} (top-9 mean ${f(r.rank1EnergyMean)})`)
      .join('; ');
    lines.push([
      `reshaped top eigenvectors close to rank 1 (${stage}, μ = ${low})`,
      list,
      `${verdict((measured as KroneckerRow[]).every((r) => r.rank1Energy > 0.9))} (v₁ energy > 0.9 in every layer)`,
    ]);
  }
  if (shifts.length > 1) {
    for (const stage of stages) {
      const sweep = shifts.map((s) => pick('mlp', s, stage, 'fc1'));
      if (sweep.some((r) => r === undefined)) continue;
      const measured = sweep as KroneckerRow[];
      const list = measured
        .map(
          (r) => `μ ${r.shift}: dominance ${f(r.inputDominance)}, energy ${f(r.rank1EnergyMean)}`,
        )
        .join('; ');
      const rising = measured.every(
        (r, i) => i === 0 || r.rank1EnergyMean >= measured[i - 1].rank1EnergyMean,
      );
      lines.push([
        `more rank-1 with a dominant input mean (fc1, top-9 mean energy, ${stage})`,
        list,
        `${verdict(rising && measured[measured.length - 1].rank1EnergyMean > measured[0].rank1EnergyMean)} (energy increasing in μ)`,
      ]);
    }
  }
  for (const stage of stages) {
    const plain = pick('mlp', high, stage, 'fc1');
    const bn = pick('mlp+bn', high, stage, 'fc1');
    if (plain === undefined || bn === undefined) continue;
    lines.push([
      `batch normalization weakens it (fc1, ${stage}, μ = ${high})`,
      `mlp: dominance ${f(plain.inputDominance)}, energy ${f(plain.rank1EnergyMean)}; mlp+bn: dominance ${f(bn.inputDominance)}, energy ${f(bn.rank1EnergyMean)}`,
      `${verdict(bn.rank1EnergyMean < plain.rank1EnergyMean)} (lower top-9 mean energy with BN)`,
    ]);
  }
  return markdownTable(['claim (Wu et al.)', 'here', 'verdict'], lines);
}
