/**
 * Papyan's three-level cluster structure itself (V. Papyan, "Measurements of Three-Level
 * Hierarchical Structure in the Outliers in the Spectrum of Deepnet Hessians", ICML 2019, arXiv
 * 1901.08244), and how its measurement depends on the probe sample size. `examples/class-hierarchy`
 * reports the spectra, trace fractions and overlaps of the levels at one probe size and one
 * seed; this experiment measures the distances between the clusters (class means δ_c, cross-class
 * means δ_{c,c′}, single samples: {@link clusterGeometry}) on trained 784-h-10 MLPs, over several
 * seeds, while the probe set grows from a few digits per class to a few hundred.
 */
import { type ClassHierarchyResult, classHierarchy } from '@hessian-probe/core/tfjs';
import { firstPerClass } from '@hessian-probe/example-generalization-survey/datasets';
import {
  CLASSES,
  digitClassifier,
  type Figure,
  formatMeanSd,
  formatNumber,
  loadDigits,
  markdownTable,
  PIXELS,
  seriesFigure,
  sideOf,
  signTest,
  type TInterval,
  tInterval,
} from '@hessian-probe/example-kit';
import type * as tfjs from '@tensorflow/tfjs';
import { clusterGeometry } from './cluster-geometry.js';

/** Options of {@link runClusterHierarchy}. */
export interface ClusterHierarchyOptions {
  /** The tfjs namespace, backend already chosen. */
  readonly tf: typeof tfjs;
  /** Seeds: each trains its own model on its own shuffle of the digits (default 1, 2, 3). */
  readonly seeds?: readonly number[];
  /** Hidden width of the 784-h-10 ReLU MLP (default 32). */
  readonly hidden?: number;
  /** Training digits per class (default 300). */
  readonly trainPerClass?: number;
  /** Test digits per class (default 100). */
  readonly testPerClass?: number;
  /** Epochs of Adam (learning rate 1e-3, batches of 64) (default 10). */
  readonly epochs?: number;
  /**
   * Probe digits per class, each set the first n training digits of every class, so the sets
   * are nested (default 5, 10, 20, 50, 100, 200; each at most trainPerClass).
   */
  readonly probeSizes?: readonly number[];
  /**
   * Sign probes of the tr G estimate (default 64; see `classHierarchy`'s `traceProbes`): r₃
   * then carries a standard error. 0: exact (N·C single-sample products, slow for large N).
   */
  readonly traceProbes?: number;
  /** Called after each analysis, e.g. to print progress. */
  readonly onRow?: (row: ClusterRow) => void;
}

/** One trained model analysed on one probe set. */
export interface ClusterRow {
  seed: number;
  perClass: number;
  N: number;
  P: number;
  testAccuracy: number;
  classMeanDistance: number;
  classMeanNorm: number;
  crossClassSpread: number;
  sampleSpread: number;
  sampleSpreadStderr: number;
  noiseFloor: number;
  explainedByClass: number;
  explainedByLogit: number;
  explainedAdditive: number;
  /** d₁/r₂ and r₃/r₂. */
  separation12: number;
  separation32: number;
  /** Trace fractions of G₁, G₂, G₃ (tr G estimated with `traceProbes`). */
  fractionG1: number;
  fractionG2: number;
  fractionG3: number;
  /** λ_{C−1}/λ_C and λ_C/λ_{C+1} of G. */
  gapBeforeC: number;
  gapAtC: number;
  /** Overlap of G₁'s top C − 1 eigenvectors with G's top C − 1. */
  overlapLeading: number;
  converged: boolean;
  seconds: number;
}

/**
 * Trains one model per seed and analyses it on each probe set.
 *
 * @throws RangeError for an option out of range (before any work).
 * @example
 * ```ts
 * const rows = await runClusterHierarchy({ tf, seeds: [1, 2, 3], probeSizes: [10, 100] });
 * console.log(formatTables(rows));
 * ```
 */
export async function runClusterHierarchy(options: ClusterHierarchyOptions): Promise<ClusterRow[]> {
  const {
    tf,
    seeds = [1, 2, 3],
    hidden = 32,
    trainPerClass = 300,
    testPerClass = 100,
    epochs = 10,
    probeSizes = [5, 10, 20, 50, 100, 200],
    traceProbes = 64,
  } = options;
  const where = 'runClusterHierarchy';
  for (const [name, value] of Object.entries({ hidden, trainPerClass, testPerClass })) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${where}: expected ${name} to be an integer >= 1, got ${value}`);
    }
  }
  if (seeds.length < 2) {
    throw new RangeError(`${where}: expected at least 2 seeds for a spread, got ${seeds.length}`);
  }
  if (!Number.isSafeInteger(epochs) || epochs < 0) {
    throw new RangeError(`${where}: expected epochs >= 0, got ${epochs}`);
  }
  if (probeSizes.length === 0 || probeSizes.some((n) => !(n >= 1 && n <= trainPerClass))) {
    throw new RangeError(
      `${where}: expected probe sizes in [1, trainPerClass = ${trainPerClass}], got ${probeSizes}`,
    );
  }
  if (!Number.isSafeInteger(traceProbes) || traceProbes === 1 || traceProbes < 0) {
    throw new RangeError(`${where}: expected traceProbes 0 (exact) or >= 2, got ${traceProbes}`);
  }
  const rows: ClusterRow[] = [];
  for (const seed of seeds) {
    const { train, test } = loadDigits({ trainPerClass, testPerClass, seed });
    const data = {
      xTrain: tf.tensor2d(train.images, [train.size, PIXELS]),
      yTrain: tf.tensor2d(train.labels, [train.size, CLASSES]),
      xTest: tf.tensor2d(test.images, [test.size, PIXELS]),
      yTest: tf.tensor1d(test.classes, 'int32'),
    };
    const model = digitClassifier(tf, { hidden, seed });
    const optimizer = tf.train.adam(1e-3);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    try {
      await model.fit(data.xTrain, data.yTrain, {
        epochs,
        batchSize: 64,
        shuffle: false,
        verbose: 0,
      });
      const testAccuracy = tf.tidy(() => {
        const predicted = tf.argMax(model.predict(data.xTest) as tfjs.Tensor, -1);
        return tf.mean(tf.cast(tf.equal(predicted, data.yTest), 'float32')).dataSync()[0];
      });
      for (const perClass of probeSizes) {
        const started = performance.now();
        const probe = firstPerClass(train.classes, perClass);
        const index = tf.tensor1d(probe, 'int32');
        const x = tf.gather(data.xTrain, index);
        const y = tf.tensor1d(
          probe.map((i) => train.classes[i]),
          'int32',
        );
        try {
          const h = await classHierarchy(model, {
            tf,
            x,
            y,
            topK: CLASSES + 1,
            hessian: false,
            seed,
            ...(traceProbes > 0 ? { traceProbes } : {}),
          });
          const row = toRow(h, { seed, perClass, testAccuracy });
          row.seconds = (performance.now() - started) / 1000;
          rows.push(row);
          options.onRow?.(row);
        } finally {
          tf.dispose([index, x, y]);
        }
      }
    } finally {
      tf.dispose(Object.values(data));
      model.dispose();
      optimizer.dispose();
    }
  }
  return rows;
}

function toRow(
  h: ClassHierarchyResult,
  at: { seed: number; perClass: number; testAccuracy: number },
): ClusterRow {
  const g = clusterGeometry(h);
  const gap = (k: number) =>
    h.eigengaps.gaussNewton.find((e) => e.position === k)?.ratio ?? Number.NaN;
  return {
    ...at,
    N: h.samples,
    P: h.parameters,
    classMeanDistance: g.classMeanDistance,
    classMeanNorm: g.classMeanNorm,
    crossClassSpread: g.crossClassSpread,
    sampleSpread: g.sampleSpread,
    sampleSpreadStderr: g.sampleSpreadStderr,
    noiseFloor: g.noiseFloor,
    explainedByClass: g.explainedByClass,
    explainedByLogit: g.explainedByLogit,
    explainedAdditive: g.explainedAdditive,
    separation12: g.classMeanDistance / g.crossClassSpread,
    separation32: g.sampleSpread / g.crossClassSpread,
    fractionG1: h.g1.traceFraction,
    fractionG2: h.g2.traceFraction,
    fractionG3: h.g3.traceFraction,
    gapBeforeC: gap(h.classes - 1),
    gapAtC: gap(h.classes),
    overlapLeading: h.overlap.leading.gaussNewton,
    converged: h.gaussNewton.converged,
    seconds: 0,
  };
}

/** A claim, the statistic measured over seeds, and the verdict with its test. */
export interface ClusterVerdict {
  claim: string;
  statistic: string;
  interval: TInterval;
  verdict: string;
}

const f = (v: number) => formatNumber(v, 3);
const show = (i: TInterval) => `${f(i.mean)} ± ${f(i.sd)} [${f(i.low)}, ${f(i.high)}]`;

/**
 * The verdicts over seeds (95 % Student t-intervals; the paired changes with N also by the
 * exact sign test), at the largest probe set and between the smallest and the largest.
 *
 * @example
 * ```ts
 * for (const v of clusterVerdicts(rows)) console.log(v.claim, v.verdict);
 * ```
 */
export function clusterVerdicts(rows: readonly ClusterRow[]): ClusterVerdict[] {
  const sizes = [...new Set(rows.map((r) => r.perClass))].sort((a, b) => a - b);
  const at = (n: number) => rows.filter((r) => r.perClass === n);
  const large = at(sizes[sizes.length - 1]);
  const small = at(sizes[0]);
  const verdicts: ClusterVerdict[] = [];
  const against = (
    claim: string,
    statistic: string,
    values: number[],
    reference: number,
    words: Record<'above' | 'below' | 'straddles', string>,
  ) => {
    const interval = tInterval(values);
    verdicts.push({
      claim,
      statistic,
      interval,
      verdict: `${words[sideOf(interval, reference)]} (t-interval vs ${reference})`,
    });
  };
  against(
    'level 1: class means are far apart compared with the spread of their cross-class means',
    `d₁/r₂ at ${large[0].N} probes`,
    large.map((r) => r.separation12),
    1,
    { above: 'agrees', below: 'does not reproduce', straddles: 'undecided' },
  );
  against(
    'level 3: single samples scatter more widely than the cross-class means (the bulk)',
    `r₃/r₂ at ${large[0].N} probes`,
    large.map((r) => r.separation32),
    1,
    { above: 'agrees', below: 'does not reproduce', straddles: 'undecided' },
  );
  against(
    "the class/cross-class means have an additive two-way structure δ_{c,c′} ≈ m + a_c + b_{c′} (Papyan's abstract)",
    `share of their spread the additive model explains at ${large[0].N} probes`,
    large.map((r) => r.explainedAdditive),
    0.5,
    { above: 'agrees (most of it)', below: 'does not reproduce', straddles: 'undecided' },
  );
  const byLogit = large.map((r) => r.explainedByLogit - r.explainedByClass);
  against(
    'which factor groups the cross-class means: the logit c′ or the sample class c (the one G₁ averages over)',
    `share by c′ − share by c at ${large[0].N} probes (sign test p = ${f(signTest(byLogit).p)})`,
    byLogit,
    0,
    { above: 'by the logit c′', below: 'by the sample class c', straddles: 'neither dominates' },
  );
  against(
    'the measured level-2 spread is not sampling noise at the largest probe set',
    `r₂/noise level at ${large[0].N} probes`,
    large.map((r) => r.crossClassSpread / r.noiseFloor),
    1,
    { above: 'agrees', below: 'noise-dominated', straddles: 'undecided' },
  );
  const shrink = small.map((r, i) => Math.log(r.crossClassSpread / large[i].crossClassSpread));
  const shrinkSign = signTest(shrink);
  against(
    `sample size: r₂ shrinks from ${small[0].N} to ${large[0].N} probes as sampling noise leaves it`,
    `ln(r₂ small / r₂ large) (sign test p = ${f(shrinkSign.p)})`,
    shrink,
    0,
    { above: 'shrinks', below: 'grows', straddles: 'no change within the seed spread' },
  );
  const overlap = large.map((r, i) => r.overlapLeading - small[i].overlapLeading);
  against(
    `sample size: G₁'s top C − 1 directions align better with G's from ${small[0].N} to ${large[0].N} probes`,
    `overlap large − small (sign test p = ${f(signTest(overlap).p)})`,
    overlap,
    0,
    { above: 'improves', below: 'worsens', straddles: 'no change within the seed spread' },
  );
  return verdicts;
}

/**
 * The markdown tables: the sweep (mean ± sd over seeds per probe size) and the verdicts.
 *
 * @example
 * ```ts
 * console.log(formatTables(await runClusterHierarchy({ tf })));
 * ```
 */
export function formatTables(rows: readonly ClusterRow[]): string {
  const sizes = [...new Set(rows.map((r) => r.perClass))].sort((a, b) => a - b);
  const seeds = new Set(rows.map((r) => r.seed)).size;
  const cell = (n: number, pick: (r: ClusterRow) => number) =>
    formatMeanSd(rows.filter((r) => r.perClass === n).map(pick));
  const columns: [string, (r: ClusterRow) => number][] = [
    ['d₁ (class means apart)', (r) => r.classMeanDistance],
    ['r₂ (cross-class spread)', (r) => r.crossClassSpread],
    ['noise level of r₂', (r) => r.noiseFloor],
    ['r₃ (sample spread)', (r) => r.sampleSpread],
    ['d₁/r₂', (r) => r.separation12],
    ['r₃/r₂', (r) => r.separation32],
    ['share by class c', (r) => r.explainedByClass],
    ['share by logit c′', (r) => r.explainedByLogit],
    ['share additive c + c′', (r) => r.explainedAdditive],
    ['λ_C/λ_{C+1}', (r) => r.gapAtC],
    ['G₁ top C−1 overlap', (r) => r.overlapLeading],
    ['tr G₃/tr G', (r) => r.fractionG3],
  ];
  const sweep = markdownTable(
    ['probes per class (N)', ...columns.map(([name]) => name)],
    sizes.map((n) => [
      `${n} (${rows.find((r) => r.perClass === n)?.N})`,
      ...columns.map(([, pick]) => cell(n, pick)),
    ]),
  );
  const verdicts = markdownTable(
    [
      'claim (Papyan 2019)',
      'statistic',
      `mean ± sd over ${seeds} seeds [95 % t-interval]`,
      'verdict',
    ],
    clusterVerdicts(rows).map((v) => [v.claim, v.statistic, show(v.interval), v.verdict]),
  );
  const accuracy = rows.filter((r) => r.perClass === sizes[0]).map((r) => r.testAccuracy);
  return [
    `## Cluster geometry against the probe size (mean ± sd over ${seeds} seeds; test accuracy ${accuracy.map((a) => f(a)).join(', ')})`,
    sweep,
    '## Verdicts',
    verdicts,
  ].join('\n\n');
}

/**
 * The figure: d₁, r₂, the noise level of r₂ and r₃ against the probe digits per class, mean ±
 * sd over seeds.
 *
 * @example
 * ```ts
 * await writeFigures(folder, clusterFigures(rows));
 * ```
 */
export function clusterFigures(rows: readonly ClusterRow[]): Figure[] {
  const quantities: [string, (r: ClusterRow) => number][] = [
    ['d₁ between class means', (r) => r.classMeanDistance],
    ['r₂ cross-class spread', (r) => r.crossClassSpread],
    ['noise level of r₂', (r) => r.noiseFloor],
    ['r₃ sample spread', (r) => r.sampleSpread],
  ];
  return [
    {
      name: 'cluster-distances',
      spec: seriesFigure(
        quantities.flatMap(([series, pick]) =>
          rows.map((r) => ({ series, x: r.perClass, y: pick(r) })),
        ),
        {
          title: "Papyan's three levels: distances against the probe size",
          xTitle: 'probe digits per class',
          yTitle: 'RMS distance',
          logX: true,
          logY: true,
        },
      ),
    },
  ];
}
