/**
 * Layer-wise Hessian spectra through training (Bolshim & Kugaevskikh 2025, "Local Properties of
 * Neural Networks Through the Lens of Layer-wise Hessians", arXiv 2510.17486; docs/methods.md D): an
 * under-parameterized and an over-parameterized tanh MLP are trained on the same small MNIST
 * subset, and at several epochs every layer's own Hessian block H_ll is summarised by
 * `layerSpectra` (exact for blocks of at most `maxExactDim` parameters, SLQ + Hutch++ above),
 * with the Gauss–Newton gap ‖H_ll − G_ll‖_F/‖G_ll‖_F and the coupling between layers, next to
 * train and test loss and accuracy.
 */
import { createRandom, type LayerSpectraResult, layerSpectra } from '@hessian-probe/core';
import type { Random } from '@hessian-probe/core/internal';
import { modelCurvature } from '@hessian-probe/core/tfjs';
import {
  CLASSES,
  type DigitSet,
  formatMeanSd,
  formatNumber,
  loadDigits,
  markdownTable,
  sideOf,
  spearman,
  thresholdVerdict,
  tInterval,
} from '@hessian-probe/example-kit';
import type * as tfjs from '@tensorflow/tfjs';

/** The two networks: hidden widths far below and far above what the training set needs. */
export type ModelSize = 'under' | 'over';

/** Options of {@link runLayerSpectra}. */
export interface LayerSpectraOptions {
  /** The tfjs namespace, backend already chosen. */
  readonly tf: typeof tfjs;
  /** Training digits per class (default 50: 500 in all, few enough for the big net to memorise). */
  readonly trainPerClass?: number;
  /** Test digits per class (default 100: 1000 in all). */
  readonly testPerClass?: number;
  /** Side of the square average-pooling window applied to the 28×28 digits (default 4: 7×7 inputs). */
  readonly pool?: number;
  /** Width of both hidden layers of the under-parameterized net (default 4). */
  readonly underWidth?: number;
  /** Width of both hidden layers of the over-parameterized net (default 128). */
  readonly overWidth?: number;
  /** Training epochs (default 60), Adam with learning rate 3e-3, batches of 32, no shuffling. */
  readonly epochs?: number;
  /** Epochs after which the spectra are taken (default: 0, 1, 3, 10, 30 and `epochs`, those <= epochs). */
  readonly checkpoints?: readonly number[];
  /** Blocks of at most this many parameters are analysed exactly (default 256). */
  readonly maxExactDim?: number;
  /** SLQ probes per stochastic layer (default 3). */
  readonly probes?: number;
  /** Lanczos steps per probe (default 30). */
  readonly steps?: number;
  /** Hutch++ products per stochastic layer trace (default 30). */
  readonly traceMatvecs?: number;
  /** Probes of each stochastic Gauss–Newton gap (default 8). */
  readonly gapProbes?: number;
  /** Probes per layer for the coupling (default 4). */
  readonly couplingProbes?: number;
  /** Seed of the data split, the weights and the probes (default 1). */
  readonly seed?: number;
  /** Called after each checkpoint with its rows, e.g. to print progress. */
  readonly onCheckpoint?: (rows: readonly LayerSpectraRow[]) => void;
}

/** One layer of one network at one checkpoint. */
export interface LayerSpectraRow {
  /** The seed of this replicate (digit shuffle, weights, batches, probes). */
  seed: number;
  /** `'under'` or `'over'`. */
  model: ModelSize;
  /** Parameters of the whole network. */
  parameters: number;
  /** Training examples N (the Hessian is that of the mean training loss over them). */
  samples: number;
  /** Epochs trained before this checkpoint. */
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  /** Layer name (tfjs), and its index 0.. from the input. */
  layer: string;
  layerIndex: number;
  /** Parameters of the layer, P_l (kernel and bias). */
  size: number;
  /** `'exact'` or `'stochastic'`. */
  method: string;
  lambdaMax: number;
  lambdaMin: number;
  trace: number;
  traceStderr: number;
  tracePerParameter: number;
  frobeniusSq: number;
  /** Fraction of eigenvalues below −σ_G (the report's `negativeFraction`). */
  negativeFraction: number;
  /** Σ_{λ<−σ_G}|λ| / Σ|λ| (the report's `negativeTraceMass`). */
  negativeTraceMass: number;
  spectralEntropy: number;
  effectiveRank: number;
  /** effectiveRank / P_l, in [0, 1]. */
  effectiveRankFraction: number;
  participationRatio: number;
  stableRank: number;
  bulkEdge: number;
  outlierCount: number;
  /** ‖H_ll − G_ll‖_F/‖G_ll‖_F and its standard error. */
  gaussNewtonGap: number;
  gaussNewtonGapStderr: number;
  /** ‖H − G‖_F/‖G‖_F of the whole network, at this checkpoint, and its standard error. */
  overallGaussNewtonGap: number;
  overallGaussNewtonGapStderr: number;
  /** Normalised coupling F_vw/√(F_vv F_ww) of this layer with the next one (NaN for the last). */
  couplingWithNext: number;
  /** Σ_l tr H_ll over the network's layers (= tr H). */
  traceSum: number;
  /** Matvecs (Hessian and GGN) and seconds of this checkpoint's analysis. */
  matvecs: number;
  seconds: number;
}

/**
 * Fewest checkpoints (after epoch 0) for a Spearman ρ verdict of {@link formatClaims}: with 1
 * point ρ is NaN, with 2 it is always ±1, and with 3 any monotone pair of series gives ±1.
 */
const MIN_SPEARMAN_POINTS = 4;

/** Default checkpoints, before those beyond `epochs` are dropped and `epochs` is added. */
const DEFAULT_CHECKPOINTS = [0, 1, 3, 10, 30];
const BATCH = 32;
const LEARNING_RATE = 3e-3;

/**
 * Trains both networks and returns one row per (network, checkpoint, layer).
 *
 * @throws RangeError for an option out of range (before any training).
 *
 * @example
 * ```ts
 * const rows = await runLayerSpectra({ tf, epochs: 20 });
 * console.log(formatLayers(rows, 'over'));
 * ```
 */
export async function runLayerSpectra(options: LayerSpectraOptions): Promise<LayerSpectraRow[]> {
  const {
    tf,
    trainPerClass = 50,
    testPerClass = 100,
    pool = 4,
    underWidth = 4,
    overWidth = 128,
    epochs = 60,
    maxExactDim = 256,
    probes = 3,
    steps = 30,
    traceMatvecs = 30,
    gapProbes = 8,
    couplingProbes = 4,
    seed = 1,
    onCheckpoint,
  } = options;
  const positive = { trainPerClass, testPerClass, pool, underWidth, overWidth, probes, steps };
  for (const [name, value] of Object.entries({ ...positive, gapProbes, couplingProbes, seed })) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`runLayerSpectra: expected ${name} to be an integer >= 1, got ${value}`);
    }
  }
  if (!Number.isSafeInteger(epochs) || epochs < 0) {
    throw new RangeError(`runLayerSpectra: expected epochs to be an integer >= 0, got ${epochs}`);
  }
  if (!Number.isSafeInteger(maxExactDim) || maxExactDim < 0) {
    throw new RangeError(`runLayerSpectra: expected maxExactDim >= 0, got ${maxExactDim}`);
  }
  if (!Number.isSafeInteger(traceMatvecs) || traceMatvecs < 3) {
    throw new RangeError(`runLayerSpectra: expected traceMatvecs >= 3, got ${traceMatvecs}`);
  }
  if (28 % pool !== 0)
    throw new RangeError(`runLayerSpectra: expected pool to divide 28, got ${pool}`);
  const checkpoints = [
    ...new Set(
      [...(options.checkpoints ?? DEFAULT_CHECKPOINTS), epochs].filter((e) => e <= epochs),
    ),
  ].sort((a, b) => a - b);
  if (checkpoints.some((e) => !Number.isSafeInteger(e) || e < 0)) {
    throw new RangeError(
      `runLayerSpectra: expected checkpoints to be integers >= 0, got ${checkpoints}`,
    );
  }

  const { train, test } = loadDigits({ trainPerClass, testPerClass, seed });
  const features = (28 / pool) ** 2;
  const xTrain = pooled(train, pool);
  const xTest = pooled(test, pool);
  standardize(xTrain, xTest, features);
  const data = {
    xTrain: tf.tensor2d(xTrain, [train.size, features]),
    yTrain: tf.tensor2d(train.labels, [train.size, CLASSES]),
    xTest: tf.tensor2d(xTest, [test.size, features]),
    yTest: tf.tensor2d(test.labels, [test.size, CLASSES]),
  };
  const rows: LayerSpectraRow[] = [];
  const root = createRandom(seed);
  try {
    for (const [size, width] of [
      ['under', underWidth],
      ['over', overWidth],
    ] as const) {
      const model = buildModel(tf, features, width, root.split());
      let trained = 0;
      for (const epoch of checkpoints) {
        if (epoch > trained) {
          await model.fit(data.xTrain, data.yTrain, {
            epochs: epoch - trained,
            batchSize: BATCH,
            shuffle: false,
            verbose: 0,
          });
          trained = epoch;
        }
        const started = performance.now();
        const trainScore = evaluate(tf, model, data.xTrain, data.yTrain);
        const testScore = evaluate(tf, model, data.xTest, data.yTest);
        const common = { tf, x: data.xTrain, y: data.yTrain, layout: 'layer' } as const;
        const hessian = modelCurvature(model, common);
        const ggn = modelCurvature(model, { ...common, kind: 'ggn', selfCheck: false });
        const result = await layerSpectra(hessian.operator, hessian.layout, {
          maxExactDim,
          probes,
          steps,
          traceMatvecs,
          ggn: ggn.operator,
          gapProbes,
          couplingProbes,
          seed: seed + epoch,
        });
        const seconds = (performance.now() - started) / 1000;
        const checkpointRows = toRows(result, {
          seed,
          model: size,
          parameters: hessian.layout.dim,
          samples: train.size,
          epoch,
          trainLoss: trainScore.loss,
          trainAccuracy: trainScore.accuracy,
          testLoss: testScore.loss,
          testAccuracy: testScore.accuracy,
          seconds,
        });
        rows.push(...checkpointRows);
        onCheckpoint?.(checkpointRows);
      }
      model.dispose();
    }
  } finally {
    tf.dispose(Object.values(data));
  }
  return rows;
}

/** The rows of one checkpoint. */
function toRows(
  result: LayerSpectraResult,
  checkpoint: Pick<
    LayerSpectraRow,
    | 'seed'
    | 'model'
    | 'parameters'
    | 'samples'
    | 'epoch'
    | 'trainLoss'
    | 'trainAccuracy'
    | 'testLoss'
    | 'testAccuracy'
    | 'seconds'
  >,
): LayerSpectraRow[] {
  const traceSum = result.layers.reduce((s, l) => s + l.trace, 0);
  const coupling = result.coupling?.normalized;
  return result.layers.map((l, i) => ({
    ...checkpoint,
    layer: l.name,
    layerIndex: i,
    size: l.dim,
    method: l.method,
    lambdaMax: l.lambdaMax,
    lambdaMin: l.lambdaMin,
    trace: l.trace,
    traceStderr: l.traceStderr,
    tracePerParameter: l.tracePerParameter,
    frobeniusSq: l.frobeniusSq,
    negativeFraction: l.negativeFraction,
    negativeTraceMass: l.negativeTraceMass,
    spectralEntropy: l.spectralEntropy,
    effectiveRank: l.effectiveRank,
    effectiveRankFraction: l.effectiveRank / l.dim,
    participationRatio: l.participationRatio,
    stableRank: l.stableRank,
    bulkEdge: l.bulkEdge,
    outlierCount: l.outlierCount,
    gaussNewtonGap: l.gaussNewtonGap?.ratio ?? Number.NaN,
    gaussNewtonGapStderr: l.gaussNewtonGap?.stderr ?? Number.NaN,
    overallGaussNewtonGap: result.gaussNewtonGap?.ratio ?? Number.NaN,
    overallGaussNewtonGapStderr: result.gaussNewtonGap?.stderr ?? Number.NaN,
    couplingWithNext:
      coupling !== undefined && i + 1 < coupling.length ? coupling[i][i + 1] : Number.NaN,
    traceSum,
    matvecs: result.matvecs,
  }));
}

/** Grey levels averaged over pool×pool windows: N × (28/pool)² features. */
function pooled(set: DigitSet, pool: number): Float32Array {
  const side = 28 / pool;
  const out = new Float32Array(set.size * side * side);
  for (let n = 0; n < set.size; n++) {
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) {
        const target = n * side * side + Math.floor(r / pool) * side + Math.floor(c / pool);
        out[target] += set.images[n * 784 + r * 28 + c] / (pool * pool);
      }
    }
  }
  return out;
}

/**
 * Centres and scales every feature by the training set's mean and standard deviation (features
 * constant on the training set are only centred), in place, in both sets.
 */
function standardize(train: Float32Array, test: Float32Array, features: number): void {
  const rows = train.length / features;
  for (let f = 0; f < features; f++) {
    let mean = 0;
    for (let n = 0; n < rows; n++) mean += train[n * features + f] / rows;
    let variance = 0;
    for (let n = 0; n < rows; n++) variance += (train[n * features + f] - mean) ** 2 / rows;
    const scale = variance > 0 ? 1 / Math.sqrt(variance) : 1;
    for (const set of [train, test]) {
      for (let i = f; i < set.length; i += features) set[i] = (set[i] - mean) * scale;
    }
  }
}

/**
 * input → width (tanh) → width (tanh) → 10 (softmax), compiled with categorical cross-entropy
 * and Adam. Kernels N(0, 1/fan_in) from `rng` (LeCun), biases 0: the weights do not depend on
 * tfjs's global random state.
 */
function buildModel(
  tf: typeof tfjs,
  features: number,
  width: number,
  rng: Random,
): tfjs.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [features],
        units: width,
        activation: 'tanh',
        name: 'hidden_1',
      }),
      tf.layers.dense({ units: width, activation: 'tanh', name: 'hidden_2' }),
      tf.layers.dense({ units: CLASSES, activation: 'softmax', name: 'output' }),
    ],
  });
  for (const layer of model.layers) {
    const [kernel, bias] = layer.getWeights();
    const [fanIn, fanOut] = kernel.shape as [number, number];
    const values = rng.gaussianVector(fanIn * fanOut).map((v) => v / Math.sqrt(fanIn));
    const weights = [tf.tensor2d(Float32Array.from(values), [fanIn, fanOut]), tf.zerosLike(bias)];
    layer.setWeights(weights);
    tf.dispose(weights);
  }
  model.compile({
    optimizer: tf.train.adam(LEARNING_RATE),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return model;
}

/** Mean cross-entropy and accuracy of `model` on (x, y). */
function evaluate(
  tf: typeof tfjs,
  model: tfjs.Sequential,
  x: tfjs.Tensor,
  y: tfjs.Tensor,
): { loss: number; accuracy: number } {
  const [loss, accuracy] = tf.tidy(() =>
    (model.evaluate(x, y, { batchSize: 500 }) as tfjs.Scalar[]).map((s) => s.dataSync()[0]),
  );
  return { loss, accuracy };
}

/** One row per (network, checkpoint): the training curve. */
export function formatTraining(rows: readonly LayerSpectraRow[]): string {
  const firsts = rows.filter((r) => r.layerIndex === 0);
  return markdownTable(
    [
      'net',
      'P',
      'epoch',
      'train loss',
      'train acc',
      'test loss',
      'test acc',
      'gap (test − train loss)',
      '‖H − G‖/‖G‖',
      'Σ_l tr H_ll',
      's',
    ],
    firsts.map((r) => [
      r.model,
      String(r.parameters),
      String(r.epoch),
      formatNumber(r.trainLoss),
      formatNumber(r.trainAccuracy, 3),
      formatNumber(r.testLoss),
      formatNumber(r.testAccuracy, 3),
      formatNumber(r.testLoss - r.trainLoss),
      r.overallGaussNewtonGapStderr > 0
        ? `${formatNumber(r.overallGaussNewtonGap, 3)} ± ${formatNumber(r.overallGaussNewtonGapStderr, 2)}`
        : formatNumber(r.overallGaussNewtonGap, 3),
      formatNumber(r.traceSum),
      r.seconds.toFixed(1),
    ]),
  );
}

/** Every layer of one network at every checkpoint: the metric set of docs/methods.md D. */
export function formatLayers(rows: readonly LayerSpectraRow[], model: ModelSize): string {
  return markdownTable(
    [
      'epoch',
      'layer',
      'P_l',
      'method',
      'λmax',
      'λmin',
      'tr/P_l',
      '‖H‖_F',
      'neg. fraction',
      'neg. mass',
      'eff. rank / P_l',
      'PR',
      'stable rank',
      'outliers',
      'GN gap',
      'coupling → next',
    ],
    rows
      .filter((r) => r.model === model)
      .map((r) => [
        String(r.epoch),
        r.layer,
        String(r.size),
        r.method === 'exact' ? 'exact' : 'SLQ',
        formatNumber(r.lambdaMax, 3),
        formatNumber(r.lambdaMin, 3),
        formatNumber(r.tracePerParameter, 3),
        formatNumber(Math.sqrt(Math.max(0, r.frobeniusSq)), 3),
        formatNumber(r.negativeFraction, 3),
        formatNumber(r.negativeTraceMass, 3),
        formatNumber(r.effectiveRankFraction, 3),
        formatNumber(r.participationRatio, 3),
        formatNumber(r.stableRank, 3),
        String(r.outlierCount),
        Number.isNaN(r.gaussNewtonGapStderr) || r.gaussNewtonGapStderr === 0
          ? formatNumber(r.gaussNewtonGap, 3)
          : `${formatNumber(r.gaussNewtonGap, 3)} ± ${formatNumber(r.gaussNewtonGapStderr, 2)}`,
        formatNumber(r.couplingWithNext, 3),
      ]),
  );
}

/**
 * A comparison of the runs with the paper's qualitative claims, each decided by the spread over
 * seeds: Spearman ρ per layer and seed (over the checkpoints after epoch 0) judged by the sign of
 * its 95 % t-interval over seeds; the under- against the over-parameterized net by the t-interval
 * of the per-seed difference (kit `thresholdVerdict`). One seed is never a verdict.
 *
 * @example
 * ```ts
 * console.log(formatClaims(rows)); // rows of several seeds
 * ```
 */
export function formatClaims(rows: readonly LayerSpectraRow[]): string {
  const seeds = [...new Set(rows.map((r) => r.seed))].sort((a, b) => a - b);
  const final = (model: ModelSize, seed: number) => {
    const own = rows.filter((r) => r.model === model && r.seed === seed);
    const last = Math.max(...own.map((r) => r.epoch));
    return own.filter((r) => r.epoch === last);
  };
  const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const lines: string[][] = [];

  // Overfitting: over the over-parameterized net's checkpoints after epoch 0, does each
  // layer's curvature move with the generalisation gap (test − train loss)?
  const overRows = rows.filter((r) => r.model === 'over' && r.epoch > 0);
  const layers = [...new Set(overRows.map((r) => r.layer))];
  const correlations = (metric: 'tracePerParameter' | 'lambdaMax' | 'effectiveRankFraction') =>
    layers.map((layer) =>
      seeds.map((seed) => {
        const series = overRows.filter((r) => r.layer === layer && r.seed === seed);
        // Undefined on fewer than 2 checkpoints (the claims below then say too few).
        if (series.length < 2) return Number.NaN;
        return spearman(
          series.map((r) => r[metric]),
          series.map((r) => r.testLoss - r.trainLoss),
        );
      }),
    );
  const tooFew = layers.some((layer) =>
    seeds.some(
      (seed) =>
        overRows.filter((r) => r.layer === layer && r.seed === seed).length < MIN_SPEARMAN_POINTS,
    ),
  );
  const tooFewVerdict = `too few checkpoints (n < ${MIN_SPEARMAN_POINTS})`;
  const sides = (rhos: number[][]) => rhos.map((perSeed) => sideOf(tInterval(perSeed), 0));
  const here = (rhos: number[][]) =>
    `Spearman ρ per layer (mean ± sd over seeds): ${rhos.map((r) => formatMeanSd(r, 2)).join('; ')}`;
  for (const metric of ['tracePerParameter', 'lambdaMax', 'effectiveRankFraction'] as const) {
    const rhos = correlations(metric);
    const side = sides(rhos);
    lines.push([
      `overfitting: per-layer ${metric} tracks the generalisation gap (over net, epochs > 0)`,
      here(rhos),
      tooFew
        ? tooFewVerdict
        : seeds.length < 2
          ? 'not judged: one seed'
          : side.every((x) => x === 'below')
            ? 'agrees, with negative sign (t-interval of ρ over seeds below 0 in every layer)'
            : side.every((x) => x === 'above')
              ? 'agrees (t-interval of ρ over seeds above 0 in every layer)'
              : 'does not agree (in some layer the t-interval of ρ contains 0, or the signs differ)',
    ]);
  }
  const sharpness = correlations('tracePerParameter');
  lines.push([
    'the sharpness reading: sharper layer blocks (larger tr/P_l) go with a larger generalisation gap',
    here(sharpness),
    tooFew
      ? tooFewVerdict
      : seeds.length < 2
        ? 'not judged: one seed'
        : sides(sharpness).every((x) => x === 'above')
          ? 'agrees (t-interval of ρ over seeds above 0 in every layer)'
          : 'does not agree (the t-interval of ρ is not above 0 in every layer)',
  ]);
  /** Per seed: the under-parameterized net's value, the over-parameterized one's. */
  const pairs = (value: (final: LayerSpectraRow[]) => number) =>
    seeds.map((seed) => [value(final('under', seed)), value(final('over', seed))] as const);
  const compare = (claim: string, what: string, value: (final: LayerSpectraRow[]) => number) => {
    const measured = pairs(value);
    lines.push([
      claim,
      `${what} at the end: under ${formatMeanSd(measured.map((p) => p[0]))}, over ${formatMeanSd(measured.map((p) => p[1]))}`,
      thresholdVerdict(
        measured.map(([u, o]) => u - o),
        0,
        'above',
      ).replace('t-interval', 't-interval of under − over'),
    ]);
  };
  compare(
    'underparameterization: the small net stays far from a fit, so its residual term E (the Gauss–Newton gap ‖H − G‖_F/‖G‖_F) stays large',
    'whole-network GN gap',
    (f) => f[0].overallGaussNewtonGap,
  );
  compare(
    'underparameterization: more negative curvature in the layer blocks of the small net',
    'mean layer negative mass',
    (f) => mean(f.map((r) => r.negativeTraceMass)),
  );
  compare(
    'expressivity: the over-parameterized net uses a smaller fraction of its directions (low effective rank / P_l)',
    'mean effective rank / P_l',
    (f) => mean(f.map((r) => r.effectiveRankFraction)),
  );
  compare(
    'overfitting: the memorising net ends in flatter layer blocks (smaller tr/P_l) than the small net',
    'mean tr/P_l',
    (f) => mean(f.map((r) => r.tracePerParameter)),
  );
  return markdownTable(
    [
      'claim (as summarised in docs/methods.md D)',
      `here (${seeds.length} seeds)`,
      'verdict (95 % t-interval over seeds)',
    ],
    lines,
  );
}
