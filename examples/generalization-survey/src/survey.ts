/**
 * A survey in the manner of Bolshim & Kugaevskikh ("Local Properties of Neural Networks Through
 * the Lens of Layer-wise Hessians", arXiv 2510.17486: 111 experiments on 37 datasets): many
 * datasets × architectures × seeds, each network trained to the end, its layers' Hessian
 * blocks H_ll summarised by `layerSpectra` (exact up to `maxExactDim` parameters, SLQ and
 * Hutch++ above, exact HVPs of the mean training loss), and every layer metric correlated with
 * the generalisation gap across the runs, with confidence intervals: pooled over all runs
 * (Spearman ρ, Fisher-z interval) and within datasets (the mean of the per-dataset ρ with a
 * Student t-interval over datasets, which removes what merely differs between datasets).
 */
import { layerSpectra } from '@hessian-probe/core';
import { modelCurvature, SelfCheckError } from '@hessian-probe/core/tfjs';
import {
  type Figure,
  formatMeanSd,
  formatNumber,
  markdownTable,
  seriesFigure,
  spearman,
  type TInterval,
  tInterval,
} from '@hessian-probe/example-kit';
import type * as tfjs from '@tensorflow/tfjs';
import { DATASET_NAMES, type Dataset, type DatasetName, loadDataset } from './datasets.js';
import { type CorrelationInterval, correlationInterval } from './stats.js';

/** Options of {@link runSurvey}. */
export interface SurveyOptions {
  /** The tfjs namespace, backend already chosen. */
  readonly tf: typeof tfjs;
  /** Datasets (default all of {@link DATASET_NAMES}). */
  readonly datasets?: readonly DatasetName[];
  /** Hidden widths w of the d-w-w-C tanh MLPs: one architecture each (default 8, 32, 128). */
  readonly widths?: readonly number[];
  /** Seeds of the split, the initialization and the probes (default 1, 2, 3). */
  readonly seeds?: readonly number[];
  /** Epochs of Adam (learning rate 1e-2, batches of 32) (default 100). */
  readonly epochs?: number;
  /** Layer blocks of at most this many parameters are analysed exactly (default 256). */
  readonly maxExactDim?: number;
  /** Called after each run, e.g. to print progress. */
  readonly onRun?: (rows: readonly SurveyRow[]) => void;
  /**
   * Called for a run left out because its model failed the exact Hessian's self-check against
   * finite differences (`modelCurvature`'s `selfCheck`): its metrics would not be trusted.
   * Any other error stops the survey.
   */
  readonly onSkip?: (skipped: SkippedRun) => void;
}

/** A run left out of the survey, and why. */
export interface SkippedRun {
  readonly dataset: string;
  readonly width: number;
  readonly seed: number;
  readonly reason: string;
}

/** The layer metrics correlated with the gap (fields of {@link SurveyRow}). */
export const LAYER_METRICS = [
  'tracePerParameter',
  'lambdaMax',
  'effectiveRankFraction',
  'stableRank',
  'negativeTraceMass',
] as const;

/** One of {@link LAYER_METRICS}. */
export type LayerMetric = (typeof LAYER_METRICS)[number];

/** One layer of one trained network. */
export interface SurveyRow {
  dataset: string;
  width: number;
  seed: number;
  /** Training and test examples, parameters of the network. */
  nTrain: number;
  nTest: number;
  parameters: number;
  trainLoss: number;
  testLoss: number;
  trainAccuracy: number;
  testAccuracy: number;
  /** Generalisation gap: test loss − training loss, and training − test accuracy. */
  lossGap: number;
  accuracyGap: number;
  /** 0 (first), 1 (hidden), 2 (output). */
  layerIndex: number;
  size: number;
  method: string;
  tracePerParameter: number;
  lambdaMax: number;
  effectiveRankFraction: number;
  stableRank: number;
  negativeTraceMass: number;
  seconds: number;
}

/**
 * Trains every (dataset, width, seed) and returns one row per layer.
 *
 * @throws RangeError for an option out of range (before any work).
 * @example
 * ```ts
 * const rows = await runSurvey({ tf, datasets: ['iris', 'digits'], widths: [8, 64] });
 * console.log(formatTables(rows));
 * ```
 */
export async function runSurvey(options: SurveyOptions): Promise<SurveyRow[]> {
  const {
    tf,
    datasets = DATASET_NAMES,
    widths = [8, 32, 128],
    seeds = [1, 2, 3],
    epochs = 100,
    maxExactDim = 256,
  } = options;
  const where = 'runSurvey';
  if (datasets.length < 2) {
    throw new RangeError(`${where}: expected at least 2 datasets, got ${datasets.length}`);
  }
  const unknown = datasets.find((d) => !(DATASET_NAMES as readonly string[]).includes(d));
  if (unknown !== undefined) {
    throw new RangeError(
      `${where}: expected datasets among ${DATASET_NAMES.join(', ')}, got ${unknown}`,
    );
  }
  if (widths.length === 0 || widths.some((w) => !Number.isSafeInteger(w) || w < 1)) {
    throw new RangeError(`${where}: expected widths to be integers >= 1, got ${widths}`);
  }
  if (seeds.length < 2) {
    throw new RangeError(`${where}: expected at least 2 seeds, got ${seeds.length}`);
  }
  if (!Number.isSafeInteger(epochs) || epochs < 1) {
    throw new RangeError(`${where}: expected epochs >= 1, got ${epochs}`);
  }
  const rows: SurveyRow[] = [];
  for (const name of datasets) {
    for (const seed of seeds) {
      const data = loadDataset(name, seed);
      for (const width of widths) {
        try {
          const run = await surveyRun(tf, data, width, seed, epochs, maxExactDim);
          rows.push(...run);
          options.onRun?.(run);
        } catch (error) {
          const failed = selfCheckFailure(error);
          if (failed === undefined) throw error;
          options.onSkip?.({ dataset: name, width, seed, reason: failed.message });
        }
      }
    }
  }
  return rows;
}

/** The SelfCheckError in an error's cause chain (an eigensolver wraps it in a MatvecError). */
function selfCheckFailure(error: unknown): SelfCheckError | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof SelfCheckError) return e;
  }
  return undefined;
}

async function surveyRun(
  tf: typeof tfjs,
  data: Dataset,
  width: number,
  seed: number,
  epochs: number,
  maxExactDim: number,
): Promise<SurveyRow[]> {
  const started = performance.now();
  const nTrain = data.yTrain.length;
  const nTest = data.yTest.length;
  const tensors = tf.tidy(() => ({
    xTrain: tf.tensor2d(data.xTrain, [nTrain, data.features]),
    yTrain: tf.oneHot(tf.tensor1d(data.yTrain, 'int32'), data.classes).toFloat(),
    xTest: tf.tensor2d(data.xTest, [nTest, data.features]),
    yTest: tf.oneHot(tf.tensor1d(data.yTest, 'int32'), data.classes).toFloat(),
  }));
  const dense = (units: number, activation: 'tanh' | 'softmax', s: number, input?: number) =>
    tf.layers.dense({
      units,
      activation,
      kernelInitializer: tf.initializers.glorotUniform({ seed: s }),
      ...(input === undefined ? {} : { inputShape: [input] }),
    });
  const model = tf.sequential({
    layers: [
      dense(width, 'tanh', seed * 100, data.features),
      dense(width, 'tanh', seed * 100 + 1),
      dense(data.classes, 'softmax', seed * 100 + 2),
    ],
  });
  const optimizer = tf.train.adam(1e-2);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  try {
    await model.fit(tensors.xTrain, tensors.yTrain, {
      epochs,
      batchSize: 32,
      shuffle: false,
      verbose: 0,
    });
    const train = score(tf, model, tensors.xTrain, tensors.yTrain);
    const test = score(tf, model, tensors.xTest, tensors.yTest);
    const { operator, layout } = modelCurvature(model, {
      tf,
      x: tensors.xTrain,
      y: tensors.yTrain,
      layout: 'layer',
    });
    const spectra = await layerSpectra(operator, layout, { maxExactDim, seed });
    const seconds = (performance.now() - started) / 1000;
    return spectra.layers.map((l, layerIndex) => ({
      dataset: data.name,
      width,
      seed,
      nTrain,
      nTest,
      parameters: layout.dim,
      trainLoss: train.loss,
      testLoss: test.loss,
      trainAccuracy: train.accuracy,
      testAccuracy: test.accuracy,
      lossGap: test.loss - train.loss,
      accuracyGap: train.accuracy - test.accuracy,
      layerIndex,
      size: l.dim,
      method: l.method,
      tracePerParameter: l.tracePerParameter,
      lambdaMax: l.lambdaMax,
      effectiveRankFraction: l.effectiveRank / l.dim,
      stableRank: l.stableRank,
      negativeTraceMass: l.negativeTraceMass,
      seconds,
    }));
  } finally {
    tf.dispose(Object.values(tensors));
    model.dispose();
    optimizer.dispose();
  }
}

/** Mean cross-entropy (probabilities clipped at 1e-7, as Keras does) and accuracy. */
function score(
  tf: typeof tfjs,
  model: tfjs.Sequential,
  x: tfjs.Tensor,
  y: tfjs.Tensor,
): { loss: number; accuracy: number } {
  return tf.tidy(() => {
    const p = model.predict(x) as tfjs.Tensor;
    const loss = tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(p, 1e-7, 1))), -1)));
    const hit = tf.equal(tf.argMax(p, -1), tf.argMax(y, -1));
    return {
      loss: loss.dataSync()[0],
      accuracy: tf.mean(tf.cast(hit, 'float32')).dataSync()[0],
    };
  });
}

/** The gap a metric is correlated with. */
export type Gap = 'lossGap' | 'accuracyGap';

/** One metric of one layer position against one gap. */
export interface SurveyCorrelation {
  metric: LayerMetric;
  layerIndex: number;
  gap: Gap;
  /** Spearman ρ over all runs with its Fisher-z 95 % interval. */
  pooled: CorrelationInterval;
  /**
   * Per-dataset ρ (over its widths × seeds): mean with a t-interval over datasets; absent when
   * fewer than 2 datasets give a ρ (the metric constant within them, e.g. no negative mass).
   */
  withinDatasets: TInterval | undefined;
  /**
   * Per-(dataset, width) ρ over its seeds only (architecture and data fixed, so only the
   * initialization, the split and the probes vary): mean with a t-interval over the cells;
   * absent when fewer than 2 cells give a ρ.
   */
  withinCells: TInterval | undefined;
  verdict: string;
}

/**
 * Every (metric, layer, gap) correlation: pooled, within datasets, and within (dataset,
 * width) cells over seeds. Read the within intervals first: datasets differ in size and
 * difficulty and widths in capacity, which move both the metrics and the gap; the pooled ρ
 * mixes that in, the per-cell ρ over seeds does not.
 *
 * @throws RangeError when fewer than 4 runs have a finite value of a metric.
 * @example
 * ```ts
 * const table = surveyCorrelations(rows).filter((c) => c.gap === 'lossGap');
 * ```
 */
export function surveyCorrelations(rows: readonly SurveyRow[]): SurveyCorrelation[] {
  const layers = [...new Set(rows.map((r) => r.layerIndex))].sort((a, b) => a - b);
  const out: SurveyCorrelation[] = [];
  for (const gap of ['lossGap', 'accuracyGap'] as const) {
    for (const metric of LAYER_METRICS) {
      for (const layerIndex of layers) {
        const group = rows.filter((r) => r.layerIndex === layerIndex && Number.isFinite(r[metric]));
        const rho = spearman(
          group.map((r) => r[metric]),
          group.map((r) => r[gap]),
        );
        const pooled = correlationInterval(rho, group.length, 'spearman');
        const within = (key: (r: SurveyRow) => string) => {
          const rhos = [...new Set(group.map(key))]
            .map((k) => group.filter((r) => key(r) === k))
            .filter((g) => g.length >= 3)
            .map((g) =>
              spearman(
                g.map((r) => r[metric]),
                g.map((r) => r[gap]),
              ),
            )
            .filter(Number.isFinite);
          return rhos.length >= 2 ? tInterval(rhos) : undefined;
        };
        const withinDatasets = within((r) => r.dataset);
        const withinCells = within((r) => `${r.dataset}|${r.width}`);
        const sign = (interval: { low: number; high: number } | undefined) =>
          interval === undefined || !Number.isFinite(interval.low)
            ? 'undefined (constant metric)'
            : interval.low > 0
              ? 'positive'
              : interval.high < 0
                ? 'negative'
                : 'none detected';
        out.push({
          metric,
          layerIndex,
          gap,
          pooled,
          withinDatasets,
          withinCells,
          verdict: `within datasets: ${sign(withinDatasets)}; within (dataset, width): ${sign(withinCells)}; pooled: ${sign(pooled)}`,
        });
      }
    }
  }
  return out;
}

const f = (v: number) => formatNumber(v, 3);
const LAYER_NAMES = ['first', 'hidden', 'output'];

/**
 * The markdown tables: the runs (mean ± sd over seeds) and the correlations.
 *
 * @example
 * ```ts
 * console.log(formatTables(await runSurvey({ tf })));
 * ```
 */
export function formatTables(rows: readonly SurveyRow[]): string {
  const runs = rows.filter((r) => r.layerIndex === 0);
  const cells = [...new Set(runs.map((r) => `${r.dataset}|${r.width}`))];
  const runTable = markdownTable(
    [
      'dataset',
      'width',
      'N train / test',
      'train acc.',
      'test acc.',
      'loss gap',
      'tr/P (first, hidden, output)',
    ],
    cells.map((cell) => {
      const group = runs.filter((r) => `${r.dataset}|${r.width}` === cell);
      const all = rows.filter((r) => `${r.dataset}|${r.width}` === cell);
      return [
        group[0].dataset,
        String(group[0].width),
        `${group[0].nTrain} / ${group[0].nTest}`,
        formatMeanSd(group.map((r) => r.trainAccuracy)),
        formatMeanSd(group.map((r) => r.testAccuracy)),
        formatMeanSd(group.map((r) => r.lossGap)),
        [0, 1, 2]
          .map((l) =>
            f(mean(all.filter((r) => r.layerIndex === l).map((r) => r.tracePerParameter))),
          )
          .join(', '),
      ];
    }),
  );
  const correlations = surveyCorrelations(rows);
  const datasets = new Set(rows.map((r) => r.dataset)).size;
  const show = (i: TInterval | undefined) =>
    i === undefined ? '—' : `${f(i.mean)} ± ${f(i.sd)} [${f(i.low)}, ${f(i.high)}]`;
  const corrTable = (gap: Gap) =>
    markdownTable(
      [
        'metric',
        'layer',
        `pooled ρ [95 % Fisher-z], n = ${runs.length}`,
        `within-dataset ρ: mean ± sd [95 % t over ${datasets} datasets]`,
        `per (dataset, width) ρ over seeds: mean ± sd [95 % t over ${cells.length} cells]`,
        'verdict',
      ],
      correlations
        .filter((c) => c.gap === gap)
        .map((c) => [
          c.metric,
          LAYER_NAMES[c.layerIndex] ?? String(c.layerIndex),
          `${f(c.pooled.r)} [${f(c.pooled.low)}, ${f(c.pooled.high)}]`,
          show(c.withinDatasets),
          show(c.withinCells),
          c.verdict,
        ]),
    );
  return [
    `## The runs (mean ± sd over ${new Set(runs.map((r) => r.seed)).size} seeds)`,
    runTable,
    '## Layer metrics against the loss gap (test − training cross-entropy)',
    corrTable('lossGap'),
    '## Layer metrics against the accuracy gap (training − test accuracy)',
    corrTable('accuracyGap'),
  ].join('\n\n');
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/**
 * The figure: each metric's within-dataset Spearman ρ with the loss gap by layer, mean ± sd
 * over datasets.
 *
 * @example
 * ```ts
 * await writeFigures(folder, surveyFigures(rows));
 * ```
 */
export function surveyFigures(rows: readonly SurveyRow[]): Figure[] {
  const points = LAYER_METRICS.flatMap((metric) =>
    [...new Set(rows.map((r) => `${r.dataset}|${r.layerIndex}`))].map((key) => {
      const group = rows.filter((r) => `${r.dataset}|${r.layerIndex}` === key);
      return {
        series: metric,
        x: group[0].layerIndex,
        y: spearman(
          group.map((r) => r[metric]),
          group.map((r) => r.lossGap),
        ),
      };
    }),
  );
  return [
    {
      name: 'metric-gap-correlations',
      spec: seriesFigure(points, {
        title: 'Layer metrics against the loss gap, within datasets',
        xTitle: 'layer (0 first, 1 hidden, 2 output)',
        yTitle: 'Spearman ρ (mean ± sd over datasets)',
      }),
    },
  ];
}
