/**
 * Wu et al.'s cross-model eigenspace overlap (Y. Wu, X. Zhu, C. Wu, A. Wang & R. Ge, "Dissecting
 * Hessian: Understanding Common Structure of Hessian in Neural Networks", arXiv 2010.04261):
 * "top eigenspaces for different models have surprisingly high overlap". Independently
 * initialised ReLU MLPs of width >= 100 are trained on the same MNIST digits; for every layer l
 * the top-K eigenvectors of its Hessian block H_ll (exact Hessian-vector products restricted to
 * the layer, thick-restart Lanczos) are compared between models by ‖UᵀV‖²_F/k, against the
 * chance level k/P_l of a random subspace. A control compares each layer's eigenspace of one
 * model with itself, computed again from another Lanczos start: the numerics' own floor.
 */
import { restrictOperator, topEigenpairs } from '@hessian-probe/core';
import { modelCurvature } from '@hessian-probe/core/tfjs';
import { firstPerClass } from '@hessian-probe/example-generalization-survey/datasets';
import {
  CLASSES,
  type Figure,
  formatNumber,
  loadDigits,
  markdownTable,
  seriesFigure,
  sideOf,
  type TInterval,
  tInterval,
} from '@hessian-probe/example-kit';
import type * as tfjs from '@tensorflow/tfjs';
import { chanceOverlap, subspaceOverlap } from './overlap.js';

/** Options of {@link runEigenspaceOverlap}. */
export interface EigenspaceOverlapOptions {
  /** The tfjs namespace, backend already chosen. */
  readonly tf: typeof tfjs;
  /**
   * Independent pairs of models (default 5: 10 models). The verdicts' t-intervals are over the
   * pairs (model 2i, model 2i + 1), which share no model; the table's mean over all pairs uses
   * every pair of models.
   */
  readonly pairs?: number;
  /** Width of both hidden layers of the d-w-w-10 ReLU MLP (default 100). */
  readonly hidden?: number;
  /** Side of the average-pooling window over the 28×28 digits (default 2: d = 196 inputs). */
  readonly pool?: number;
  /** Training digits per class (default 300: 3000 in all); the same for every model. */
  readonly trainPerClass?: number;
  /** Test digits per class for the accuracy (default 100). */
  readonly testPerClass?: number;
  /** Probe digits per class, the first of the training set (default 50: N = 500). */
  readonly probePerClass?: number;
  /** Epochs of Adam (learning rate 1e-3, batches of 64) (default 10). */
  readonly epochs?: number;
  /** Overlap dimensions k (default 1, 5, 10 = C, 20); the eigensolves compute max(ks) pairs. */
  readonly ks?: readonly number[];
  /** Seed of the data, the first model's initialization and the eigensolvers (default 1). */
  readonly seed?: number;
  /** Called after each model's analyses, e.g. to print progress. */
  readonly onModel?: (model: ModelSummary) => void;
}

/** One model at one phase. */
export interface ModelSummary {
  model: number;
  phase: Phase;
  testAccuracy: number;
  /** Per layer: P_l, top eigenvalues, whether Lanczos converged, products spent. */
  layers: { layer: string; P: number; values: number[]; converged: boolean; matvecs: number }[];
  seconds: number;
}

/** Initialization or after training. */
export type Phase = 'init' | 'trained';

/** One overlap: a pair of models (or the control) at one layer, phase and k. */
export interface OverlapRow {
  phase: Phase;
  layer: string;
  /** Parameters of the layer's kernel, P_l. */
  P: number;
  k: number;
  /** Model indices; `control` compares model a with itself from another Lanczos start. */
  a: number;
  b: number;
  kind: 'pair' | 'control';
  /** Whether the pair is one of the independent ones (2i, 2i + 1). */
  independent: boolean;
  overlap: number;
  /**
   * cos² of the angle between the two models' mean inputs E[x] to this layer on the probe set
   * (the digits for fc1, hence 1; the previous layer's ReLU outputs otherwise). In Wu et al.'s
   * Kronecker picture H_ll ≈ E[M] ⊗ E[xxᵀ] the top eigenvectors are close to u ⊗ E[x], so
   * this bounds how much of the overlap the input side can carry.
   */
  inputCosine2: number;
  /** k/P_l and the chance overlap's standard deviation. */
  chance: number;
  chanceSd: number;
}

/** Everything the run measured. */
export interface EigenspaceOverlapResult {
  readonly models: ModelSummary[];
  readonly rows: OverlapRow[];
}

const LAYERS = ['fc1', 'fc2', 'out'] as const;

/**
 * Trains 2·pairs models from different initializations and compares their layers' top
 * eigenspaces, at initialization and after training.
 *
 * @throws RangeError for an option out of range (before any work).
 * @example
 * ```ts
 * const result = await runEigenspaceOverlap({ tf, pairs: 3, hidden: 100 });
 * console.log(formatTables(result));
 * ```
 */
export async function runEigenspaceOverlap(
  options: EigenspaceOverlapOptions,
): Promise<EigenspaceOverlapResult> {
  const {
    tf,
    pairs = 5,
    hidden = 100,
    pool = 2,
    trainPerClass = 300,
    testPerClass = 100,
    probePerClass = 50,
    epochs = 10,
    ks = [1, 5, CLASSES, 2 * CLASSES],
    seed = 1,
  } = options;
  const where = 'runEigenspaceOverlap';
  for (const [name, value] of Object.entries({ hidden, pool, trainPerClass, testPerClass })) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${where}: expected ${name} to be an integer >= 1, got ${value}`);
    }
  }
  if (!Number.isSafeInteger(pairs) || pairs < 2) {
    throw new RangeError(`${where}: expected pairs >= 2 (a t-interval needs two), got ${pairs}`);
  }
  if (28 % pool !== 0) throw new RangeError(`${where}: expected pool to divide 28, got ${pool}`);
  if (!Number.isSafeInteger(probePerClass) || probePerClass < 1 || probePerClass > trainPerClass) {
    throw new RangeError(
      `${where}: expected 1 <= probePerClass <= trainPerClass, got ${probePerClass} > ${trainPerClass}`,
    );
  }
  if (!Number.isSafeInteger(epochs) || epochs < 0) {
    throw new RangeError(`${where}: expected epochs >= 0, got ${epochs}`);
  }
  const side = 28 / pool;
  const inputs = side * side;
  const smallest = Math.min(hidden * CLASSES, inputs * hidden, hidden * hidden);
  if (ks.length === 0 || ks.some((k) => !Number.isSafeInteger(k) || k < 1 || k > smallest)) {
    throw new RangeError(
      `${where}: expected ks to be integers in [1, ${smallest}] (the smallest layer), got ${ks}`,
    );
  }
  const topK = Math.max(...ks);
  const { train, test } = loadDigits({ trainPerClass, testPerClass, seed });
  const probe = firstPerClass(train.classes, probePerClass);
  const data = tf.tidy(() => {
    const pooled = (images: Float32Array, n: number) =>
      tf.reshape(tf.avgPool(tf.tensor4d(images, [n, 28, 28, 1]), pool, pool, 'valid'), [n, inputs]);
    const xTrain = pooled(train.images, train.size);
    const yTrain = tf.tensor2d(train.labels, [train.size, CLASSES]);
    const index = tf.tensor1d(probe, 'int32');
    return {
      xTrain,
      yTrain,
      xProbe: tf.gather(xTrain, index),
      yProbe: tf.gather(yTrain, index),
      xTest: pooled(test.images, test.size),
      yTest: tf.tensor1d(test.classes, 'int32'),
    };
  });
  const models: ModelSummary[] = [];
  // vectors[phase][model][layer]: top-K eigenvectors; control[phase][layer]: model 0 again.
  const vectors: Record<Phase, Float64Array[][][]> = { init: [], trained: [] };
  const control: Record<Phase, Float64Array[][]> = { init: [], trained: [] };
  // means[phase][model][layer]: the layer's mean input on the probe set.
  const means: Record<Phase, Float64Array[][]> = { init: [], trained: [] };
  try {
    for (let m = 0; m < 2 * pairs; m++) {
      const model = buildModel(tf, inputs, hidden, seed * 1000 + 10 * m);
      const optimizer = tf.train.adam(1e-3);
      model.compile({ optimizer, loss: 'categoricalCrossentropy' });
      try {
        for (const phase of ['init', 'trained'] as const) {
          if (phase === 'trained') {
            await model.fit(data.xTrain, data.yTrain, {
              epochs,
              batchSize: 64,
              shuffle: false,
              verbose: 0,
            });
          }
          const started = performance.now();
          const { operator, layout } = modelCurvature(model, {
            tf,
            x: data.xProbe,
            y: data.yProbe,
          });
          const summary: ModelSummary = {
            model: m,
            phase,
            testAccuracy: accuracy(tf, model, data.xTest, data.yTest),
            layers: [],
            seconds: 0,
          };
          const perLayer: Float64Array[][] = [];
          for (const [l, block] of layout.blocks.entries()) {
            const layer = restrictOperator(operator, layout, block.name);
            const top = await topEigenpairs(layer, { k: topK, seed: seed + l });
            perLayer.push(top.vectors);
            summary.layers.push({
              layer: LAYERS[l],
              P: block.size,
              values: Array.from(top.values),
              converged: top.converged,
              matvecs: top.matvecs,
            });
            if (m === 0) {
              const again = await topEigenpairs(layer, { k: topK, seed: seed + l + 7919 });
              control[phase].push(again.vectors);
            }
          }
          vectors[phase].push(perLayer);
          means[phase].push(layerInputMeans(tf, model, data.xProbe));
          summary.seconds = (performance.now() - started) / 1000;
          models.push(summary);
          options.onModel?.(summary);
        }
      } finally {
        model.dispose();
        optimizer.dispose();
      }
    }
  } finally {
    tf.dispose(Object.values(data));
  }
  return { models, rows: overlapRows(vectors, control, means, models, ks) };
}

/** Each layer's mean input over the probe set x (in float64), first layer first. */
function layerInputMeans(tf: typeof tfjs, model: tfjs.Sequential, x: tfjs.Tensor): Float64Array[] {
  const tensors = tf.tidy(() => {
    const out: tfjs.Tensor[] = [];
    let h = x;
    for (const layer of model.layers) {
      out.push(tf.mean(h, 0));
      h = layer.apply(h) as tfjs.Tensor;
    }
    return out;
  });
  const values = tensors.map((t) => Float64Array.from(t.dataSync()));
  tf.dispose(tensors);
  return values;
}

/** cos² of the angle between a and b. */
function cosine2(a: Float64Array, b: Float64Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return (ab * ab) / (aa * bb);
}

function overlapRows(
  vectors: Record<Phase, Float64Array[][][]>,
  control: Record<Phase, Float64Array[][]>,
  means: Record<Phase, Float64Array[][]>,
  models: readonly ModelSummary[],
  ks: readonly number[],
): OverlapRow[] {
  const rows: OverlapRow[] = [];
  for (const phase of ['init', 'trained'] as const) {
    const byModel = vectors[phase];
    for (const [l, layer] of LAYERS.entries()) {
      const P = models[0].layers[l].P;
      for (const k of ks) {
        const chance = chanceOverlap(k, P);
        const row = (a: number, b: number, kind: 'pair' | 'control', overlap: number) =>
          rows.push({
            phase,
            layer,
            P,
            k,
            a,
            b,
            kind,
            independent: kind === 'pair' && a % 2 === 0 && b === a + 1,
            overlap,
            inputCosine2: cosine2(means[phase][a][l], means[phase][b][l]),
            chance: chance.mean,
            chanceSd: chance.sd,
          });
        row(0, 0, 'control', subspaceOverlap(byModel[0][l], control[phase][l], k));
        for (let a = 0; a < byModel.length; a++) {
          for (let b = a + 1; b < byModel.length; b++) {
            row(a, b, 'pair', subspaceOverlap(byModel[a][l], byModel[b][l], k));
          }
        }
      }
    }
  }
  return rows;
}

/** d-w-w-10 ReLU MLP without biases (each layer block is one weight matrix), He-normal init. */
function buildModel(tf: typeof tfjs, inputs: number, hidden: number, seed: number) {
  const dense = (units: number, activation: 'relu' | 'softmax', s: number, inputShape?: number[]) =>
    tf.layers.dense({
      units,
      activation,
      useBias: false,
      kernelInitializer: tf.initializers.heNormal({ seed: s }),
      ...(inputShape ? { inputShape } : {}),
    });
  return tf.sequential({
    layers: [
      dense(hidden, 'relu', seed, [inputs]),
      dense(hidden, 'relu', seed + 1),
      dense(CLASSES, 'softmax', seed + 2),
    ],
  });
}

function accuracy(
  tf: typeof tfjs,
  model: tfjs.Sequential,
  x: tfjs.Tensor,
  classes: tfjs.Tensor,
): number {
  return tf.tidy(() => {
    const predicted = tf.argMax(model.predict(x) as tfjs.Tensor, -1);
    return tf.mean(tf.cast(tf.equal(predicted, classes), 'float32')).dataSync()[0];
  });
}

/** The verdict of one (phase, layer, k): independent pairs' t-interval against chance. */
export interface OverlapVerdict {
  phase: Phase;
  layer: string;
  P: number;
  k: number;
  /** Over the independent pairs. */
  interval: TInterval;
  /** Mean, min and max over all pairs of models. */
  allMean: number;
  allMin: number;
  allMax: number;
  control: number;
  /** Mean over all pairs of the mean inputs' cos² ({@link OverlapRow.inputCosine2}). */
  inputCosine2: number;
  chance: number;
  chanceSd: number;
  verdict: string;
}

/**
 * The verdicts: at each (phase, layer, k), the 95 % Student t-interval of the overlap over the
 * independent pairs, compared with the chance level k/P_l; "above chance" when the interval
 * lies entirely above it.
 *
 * @example
 * ```ts
 * const verdicts = overlapVerdicts(result.rows);
 * ```
 */
export function overlapVerdicts(rows: readonly OverlapRow[]): OverlapVerdict[] {
  const keys = [...new Set(rows.map((r) => `${r.phase}|${r.layer}|${r.k}`))];
  return keys.map((key) => {
    const group = rows.filter((r) => `${r.phase}|${r.layer}|${r.k}` === key);
    const pairs = group.filter((r) => r.kind === 'pair');
    const all = pairs.map((r) => r.overlap);
    const interval = tInterval(pairs.filter((r) => r.independent).map((r) => r.overlap));
    const first = group[0];
    const side = sideOf(interval, first.chance);
    return {
      phase: first.phase,
      layer: first.layer,
      P: first.P,
      k: first.k,
      interval,
      allMean: all.reduce((s, v) => s + v, 0) / all.length,
      allMin: Math.min(...all),
      allMax: Math.max(...all),
      control: group.find((r) => r.kind === 'control')?.overlap ?? Number.NaN,
      inputCosine2: pairs.reduce((sum, r) => sum + r.inputCosine2, 0) / pairs.length,
      chance: first.chance,
      chanceSd: first.chanceSd,
      verdict:
        side === 'above'
          ? `above chance (×${formatNumber(interval.mean / first.chance, 3)})`
          : side === 'below'
            ? 'below chance'
            : 'not distinguishable from chance',
    };
  });
}

const f = (v: number) => formatNumber(v, 3);

/**
 * The markdown tables: the models, then every (phase, layer, k) with its verdict.
 *
 * @example
 * ```ts
 * console.log(formatTables(await runEigenspaceOverlap({ tf })));
 * ```
 */
export function formatTables(result: EigenspaceOverlapResult): string {
  const verdicts = overlapVerdicts(result.rows);
  const pairs = result.models.length / 4;
  const modelTable = markdownTable(
    ['model', 'phase', 'test accuracy', ...LAYERS.map((l) => `${l}: λ₁ … λ_K (converged)`)],
    result.models.map((m) => [
      String(m.model),
      m.phase,
      f(m.testAccuracy),
      ...m.layers.map(
        (l) => `${f(l.values[0])} … ${f(l.values[l.values.length - 1])} (${l.converged})`,
      ),
    ]),
  );
  const overlapTable = markdownTable(
    [
      'phase',
      'layer',
      'P_l',
      'k',
      `overlap, ${pairs} independent pairs: mean ± sd [95 % t-interval]`,
      'all pairs: mean (min … max)',
      'chance k/P_l ± sd',
      'control (same model, new start)',
      'cos² of the mean inputs E[x] (all pairs)',
      'verdict',
    ],
    verdicts.map((v) => [
      v.phase,
      v.layer,
      String(v.P),
      String(v.k),
      `${f(v.interval.mean)} ± ${f(v.interval.sd)} [${f(v.interval.low)}, ${f(v.interval.high)}]`,
      `${f(v.allMean)} (${f(v.allMin)} … ${f(v.allMax)})`,
      `${f(v.chance)} ± ${f(v.chanceSd)}`,
      f(v.control),
      f(v.inputCosine2),
      v.verdict,
    ]),
  );
  return [
    '## The models (top-K eigenvalues of each layer block)',
    modelTable,
    "## Overlap ‖UᵀV‖²_F/k of the layers' top-k Hessian eigenspaces across independently initialised models",
    overlapTable,
  ].join('\n\n');
}

/**
 * The figure: overlap against k per layer after training, mean ± sd over the independent
 * pairs, with each layer's chance level k/P_l dashed.
 *
 * @example
 * ```ts
 * await writeFigures(folder, overlapFigures(result));
 * ```
 */
export function overlapFigures(result: EigenspaceOverlapResult): Figure[] {
  const trained = result.rows.filter((r) => r.phase === 'trained');
  return [
    {
      name: 'overlap',
      spec: seriesFigure(
        trained
          .filter((r) => r.independent)
          .map((r) => ({ series: r.layer, x: r.k, y: r.overlap })),
        {
          title: 'Top-k Hessian eigenspace overlap between independently trained models',
          xTitle: 'k',
          yTitle: 'overlap ‖UᵀV‖²/k (dashed: chance k/P_l)',
          logX: true,
          logY: true,
          references: trained
            .filter((r) => r.kind === 'control')
            .map((r) => ({ series: `chance ${r.layer}`, x: r.k, y: r.chance })),
        },
      ),
    },
  ];
}
