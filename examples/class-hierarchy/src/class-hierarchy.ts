/**
 * Papyan's three-level class hierarchy (V. Papyan, "Measurements of Three-Level Hierarchical
 * Structure in the Outliers in the Spectrum of Deepnet Hessians", ICML 2019, arXiv 1901.08244;
 * docs/methods.md section C) measured on real MNIST digits (C = 10) with an MLP, before and after a
 * few epochs of Adam: the decomposition G = G₀ + G₁ + G₂ + G₃ of the Gauss–Newton matrix, the
 * spectra of its levels, the top eigenvalues of G and of the Hessian H with their eigengaps,
 * and the overlap of the span of the class means with G's and H's top eigenspaces.
 */

import { type ClassHierarchyResult, classHierarchy } from '@hessian-probe/core/tfjs';
import {
  CLASSES,
  digitClassifier,
  formatMeanSd,
  formatNumber,
  loadDigits,
  markdownTable,
  PIXELS,
  thresholdVerdict,
} from '@hessian-probe/example-kit';
import type * as tfjs from '@tensorflow/tfjs';

/** Options of {@link runClassHierarchy}. */
export interface ClassHierarchyExperimentOptions {
  /** The tfjs namespace, backend already chosen. */
  readonly tf: typeof tfjs;
  /** Hidden width of the 784-h-10 ReLU MLP (default 64). */
  readonly hidden?: number;
  /** Training digits per class (default 500: 5000 in all). */
  readonly trainPerClass?: number;
  /** Test digits per class for the accuracy (default 100). */
  readonly testPerClass?: number;
  /** Probe digits per class, the first ones of the training set (default 100: N = 1000). */
  readonly probePerClass?: number;
  /**
   * Epochs of Adam (learning rate 1e-3, batches of 64) between the two analyses (default 20:
   * a probe loss below 0.1, towards the near-interpolating regime Papyan measures).
   */
  readonly epochs?: number;
  /**
   * Top eigenvalues of G to compute (default C² + 1 = 101, for the eigengap at C²; at least
   * C + 1 = 11).
   */
  readonly topK?: number;
  /** Seed of the data shuffle, the weight initialization and the eigensolvers (default 1). */
  readonly seed?: number;
  /** Called after each phase, e.g. to print progress. */
  readonly onRow?: (row: ClassHierarchyRow) => void;
}

/** One analysis (at initialization or after training). */
export interface ClassHierarchyRow {
  /** The seed of this replicate (digit shuffle, weights, Lanczos starts). */
  seed: number;
  phase: 'init' | 'trained';
  epochs: number;
  hidden: number;
  /** Parameters P. */
  P: number;
  /** Probe samples N. */
  N: number;
  C: number;
  /** Mean cross-entropy on the probe set. */
  probeLoss: number;
  /** Accuracy on the held-out test digits. */
  testAccuracy: number;
  /** tr G, exact. */
  traceG: number;
  fractionG0: number;
  fractionG1: number;
  fractionG2: number;
  fractionG3: number;
  /** Spectra (descending) of each level from its Gram matrix. */
  eigenG0: number[];
  eigenG1: number[];
  eigenG2: number[];
  eigenG12: number[];
  /** Top eigenvalues of G (topEigenpairs on the Gauss–Newton operator) and of H. */
  topG: number[];
  topH: number[];
  convergedG: boolean;
  convergedH: boolean;
  /** λ_k/λ_{k+1} of G at k = C − 1, C, C² (C² only when topK > C²). */
  gapG: { position: number; ratio: number }[];
  /** The same on G₁₊₂'s spectrum at C − 1 and C. */
  gapG12: { position: number; ratio: number }[];
  /** Rank of the class means δ_c (C expected). */
  classMeanRank: number;
  /** ‖UᵀV‖²_F/k of span{δ_c} with the top-k eigenspaces of G and H. */
  overlapG: number;
  overlapH: number;
  /** The same for G₁'s top C − 1 eigenvectors against the top C − 1 of G and H. */
  overlapGLeading: number;
  overlapHLeading: number;
  /** Work: class-mean VJPs, trace VJPs, GGN and Hessian matvecs. */
  vjps: number;
  matvecsG: number;
  matvecsH: number;
  seconds: number;
}

/**
 * Trains the MLP and analyses it before and after; returns the two rows.
 *
 * @example
 * ```ts
 * const rows = await runClassHierarchy({ tf, hidden: 16, epochs: 2, topK: 11 });
 * console.log(formatTables(rows));
 * ```
 */
export async function runClassHierarchy(
  options: ClassHierarchyExperimentOptions,
): Promise<ClassHierarchyRow[]> {
  const {
    tf,
    hidden = 64,
    trainPerClass = 500,
    testPerClass = 100,
    probePerClass = 100,
    epochs = 20,
    topK = CLASSES * CLASSES + 1,
    seed = 1,
  } = options;
  if (probePerClass > trainPerClass) {
    throw new RangeError(
      `runClassHierarchy: expected probePerClass <= trainPerClass, got ${probePerClass} > ${trainPerClass}`,
    );
  }
  const { train, test } = loadDigits({ trainPerClass, testPerClass, seed });
  // The probe set: the first probePerClass digits of each class in the (shuffled) training set.
  const seen = new Array<number>(CLASSES).fill(0);
  const probe: number[] = [];
  for (let i = 0; i < train.size && probe.length < probePerClass * CLASSES; i++) {
    const label = train.classes[i];
    if (seen[label] < probePerClass) {
      seen[label]++;
      probe.push(i);
    }
  }
  const xTrain = tf.tensor2d(train.images, [train.size, PIXELS]);
  const yTrain = tf.tensor2d(train.labels, [train.size, CLASSES]);
  const xTest = tf.tensor2d(test.images, [test.size, PIXELS]);
  const yTest = tf.tensor1d(test.classes, 'int32');
  const index = tf.tensor1d(probe, 'int32');
  const xProbe = tf.gather(xTrain, index);
  const yProbe = tf.tensor1d(
    probe.map((i) => train.classes[i]),
    'int32',
  );
  const model = digitClassifier(tf, { hidden, seed });
  // Not owned by the model (only optimizers given by name are): disposed below.
  const optimizer = tf.train.adam(1e-3);
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const rows: ClassHierarchyRow[] = [];
  try {
    const analyse = async (phase: 'init' | 'trained') => {
      const started = performance.now();
      const result = await classHierarchy(model, { tf, x: xProbe, y: yProbe, topK, seed });
      const row = toRow(tf, model, seed, phase, phase === 'init' ? 0 : epochs, hidden, result, {
        xProbe,
        yProbe,
        xTest,
        yTest,
      });
      row.seconds = (performance.now() - started) / 1000;
      rows.push(row);
      options.onRow?.(row);
    };
    await analyse('init');
    await model.fit(xTrain, yTrain, { epochs, batchSize: 64, shuffle: false, verbose: 0 });
    await analyse('trained');
  } finally {
    tf.dispose([xTrain, yTrain, xTest, yTest, index, xProbe, yProbe]);
    model.dispose();
    optimizer.dispose();
  }
  return rows;
}

function toRow(
  tf: typeof tfjs,
  model: tfjs.Sequential,
  seed: number,
  phase: 'init' | 'trained',
  epochs: number,
  hidden: number,
  r: ClassHierarchyResult,
  data: { xProbe: tfjs.Tensor; yProbe: tfjs.Tensor; xTest: tfjs.Tensor; yTest: tfjs.Tensor },
): ClassHierarchyRow {
  const [probeLoss, testAccuracy] = tf.tidy(() => {
    const p = model.predict(data.xProbe) as tfjs.Tensor;
    const picked = tf.sum(tf.mul(p, tf.oneHot(data.yProbe, CLASSES)), -1);
    const loss = tf.neg(tf.mean(tf.log(picked)));
    const predicted = tf.argMax(model.predict(data.xTest) as tfjs.Tensor, -1);
    const accuracy = tf.mean(tf.cast(tf.equal(predicted, data.yTest), 'float32'));
    return [loss.dataSync()[0], accuracy.dataSync()[0]];
  });
  const gap = (g: { position: number; ratio: number }) => ({
    position: g.position,
    ratio: g.ratio,
  });
  return {
    seed,
    phase,
    epochs,
    hidden,
    P: r.parameters,
    N: r.samples,
    C: r.classes,
    probeLoss,
    testAccuracy,
    traceG: r.trace.value,
    fractionG0: r.g0.traceFraction,
    fractionG1: r.g1.traceFraction,
    fractionG2: r.g2.traceFraction,
    fractionG3: r.g3.traceFraction,
    eigenG0: Array.from(r.g0.eigenvalues),
    eigenG1: Array.from(r.g1.eigenvalues),
    eigenG2: Array.from(r.g2.eigenvalues),
    eigenG12: Array.from(r.g12.eigenvalues),
    topG: Array.from(r.gaussNewton.values),
    topH: Array.from(r.hessian?.values ?? []),
    convergedG: r.gaussNewton.converged,
    convergedH: r.hessian?.converged ?? false,
    gapG: r.eigengaps.gaussNewton.map(gap),
    gapG12: r.eigengaps.g12.map(gap),
    classMeanRank: r.classMeanRank,
    overlapG: r.overlap.gaussNewton,
    overlapH: r.overlap.hessian ?? Number.NaN,
    overlapGLeading: r.overlap.leading.gaussNewton,
    overlapHLeading: r.overlap.leading.hessian ?? Number.NaN,
    vjps: r.cost.classMeanVjps + r.cost.traceVjps,
    matvecsG: r.cost.gaussNewtonMatvecs,
    matvecsH: r.cost.hessianMatvecs,
    seconds: 0,
  };
}

const f = (v: number | undefined) => formatNumber(v, 3);

/**
 * The markdown tables of the experiment, with a comparison against Papyan's claims.
 *
 * @example
 * ```ts
 * console.log(formatTables(await runClassHierarchy({ tf })));
 * ```
 */
export function formatTables(rows: readonly ClassHierarchyRow[]): string {
  const c = rows[0].C;
  const sections: string[] = [];
  sections.push(
    '## Trace decomposition tr G = tr G₀ + tr G₁ + tr G₂ + tr G₃ (fractions of tr G, exact)',
    markdownTable(
      [
        'phase',
        'probe loss',
        'test accuracy',
        'tr G',
        'G₀ (δ_{c,c})',
        'G₁ (class means)',
        'G₂ (mini-bulk)',
        'G₃ (within-class)',
      ],
      rows.map((r) => [
        `${r.phase} (${r.epochs} epochs)`,
        f(r.probeLoss),
        f(r.testAccuracy),
        f(r.traceG),
        f(r.fractionG0),
        f(r.fractionG1),
        f(r.fractionG2),
        f(r.fractionG3),
      ]),
    ),
  );
  const ks = Array.from({ length: c + 1 }, (_, k) => k);
  sections.push(
    `## Top ${c + 1} eigenvalues: G and H (Lanczos on the operators) against the levels (Gram spectra)`,
    markdownTable(
      [
        'k',
        ...rows.flatMap((r) => [
          `λ_k(G) ${r.phase}`,
          `λ_k(G₁) ${r.phase}`,
          `λ_k(G₁₊₂) ${r.phase}`,
          `λ_k(H) ${r.phase}`,
        ]),
      ],
      ks.map((k) => [
        String(k + 1),
        ...rows.flatMap((r) => [f(r.topG[k]), f(r.eigenG1[k]), f(r.eigenG12[k]), f(r.topH[k])]),
      ]),
    ),
  );
  const bulk = [c + 1, 2 * c, 4 * c, c * (c - 2), c * (c - 2) + 1, c * c, c * c + 1].filter(
    (k) => k <= Math.max(...rows.map((r) => r.topG.length)),
  );
  sections.push(
    `## Level 2: the mini-bulk. λ_k(G) beyond the C outliers against λ_{k−C}(G₂) (G₂ has rank ≤ C(C−2) = ${c * (c - 2)}) and λ_k(G₁₊₂) (rank ≤ C² = ${c * c})`,
    markdownTable(
      [
        'k',
        ...rows.flatMap((r) => [
          `λ_k(G) ${r.phase}`,
          `λ_{k−C}(G₂) ${r.phase}`,
          `λ_k(G₁₊₂) ${r.phase}`,
        ]),
      ],
      bulk.map((k) => [
        String(k),
        ...rows.flatMap((r) => [f(r.topG[k - 1]), f(r.eigenG2[k - c - 1]), f(r.eigenG12[k - 1])]),
      ]),
    ),
  );
  sections.push(
    '## Eigengaps λ_k/λ_{k+1} and the class-mean overlap ‖UᵀV‖²_F/k (U: span of the C class means δ_c; V: top-k eigenvectors)',
    markdownTable(
      [
        'phase',
        ...rows[0].gapG.map((g) => `G at k = ${g.position}`),
        ...rows[0].gapG12.map((g) => `G₁₊₂ at k = ${g.position}`),
        'rank {δ_c}',
        'overlap with G (k = C)',
        'overlap with H (k = C)',
        'G₁ top C−1 vs G',
        'G₁ top C−1 vs H',
        'Lanczos converged (G, H)',
        'VJPs / GGN / HVP products',
        'seconds',
      ],
      rows.map((r) => [
        r.phase,
        ...r.gapG.map((g) => f(g.ratio)),
        ...r.gapG12.map((g) => f(g.ratio)),
        String(r.classMeanRank),
        f(r.overlapG),
        f(r.overlapH),
        f(r.overlapGLeading),
        f(r.overlapHLeading),
        `${r.convergedG}, ${r.convergedH}`,
        `${r.vjps} / ${r.matvecsG} / ${r.matvecsH}`,
        r.seconds.toFixed(1),
      ]),
    ),
  );
  sections.push(
    '## Compared with Papyan 2019 (arXiv 1901.08244)',
    markdownTable(
      ['claim', ...rows.map((r) => `here: ${r.phase}`)],
      [
        [
          `C = ${c} outliers in G, separated from the rest (gap λ_C/λ_{C+1} ≫ 1)`,
          ...rows.map((r) => {
            const g = r.gapG.find((x) => x.position === c);
            return g === undefined ? '—' : `λ_C/λ_{C+1} = ${f(g.ratio)}`;
          }),
        ],
        [
          'the outliers come from the class means (level 1): top-C of G ≈ spectrum of G₁',
          ...rows.map(
            (r) =>
              `λ₁(G)/λ₁(G₁) = ${f(r.topG[0] / r.eigenG1[0])}, λ_C(G)/λ_C(G₁) = ${f(r.topG[c - 1] / r.eigenG1[c - 1])}`,
          ),
        ],
        [
          'span of class means ≈ top-C eigenspace of G (overlap → 1)',
          ...rows.map((r) => f(r.overlapG)),
        ],
        ['same for H once trained', ...rows.map((r) => f(r.overlapH))],
        [
          'the same with k = C − 1: top C − 1 eigenvectors of G₁ against those of G, H',
          ...rows.map((r) => `${f(r.overlapGLeading)}, ${f(r.overlapHLeading)}`),
        ],
        [
          'where the outliers end: λ_{C−1}/λ_C and λ_C/λ_{C+1} of G',
          ...rows.map((r) =>
            r.gapG
              .filter((g) => g.position <= c)
              .map((g) => f(g.ratio))
              .join(', '),
          ),
        ],
        [
          `level 2 ends at k = C² = ${c * c}: λ_{C²}/λ_{C²+1} of G ≫ 1`,
          ...rows.map((r) => {
            const g = r.gapG.find((x) => x.position === c * c);
            return g === undefined ? '— (needs topK > C²)' : f(g.ratio);
          }),
        ],
        [
          `level 2: C(C−1) = ${c * (c - 1)} "mini-bulk" directions below the outliers`,
          ...rows.map(
            (r) =>
              `G₂ has ${r.eigenG2.filter((v) => v > 1e-9 * r.eigenG2[0]).length} non-zero eigenvalues (≤ C(C−2) = ${c * (c - 2)}), λ₁(G₂)/λ_{C+1}(G) = ${f(r.eigenG2[0] / r.topG[c])}`,
          ),
        ],
        [
          'level 3 (within-class variation, G₃) carries the bulk of the trace',
          ...rows.map((r) => `tr G₃/tr G = ${f(r.fractionG3)}`),
        ],
      ],
    ),
  );
  return sections.join('\n\n');
}

/** One of Papyan's claims as a number per analysis, a threshold and the side it should be on. */
interface Claim {
  readonly label: string;
  readonly value: (row: ClassHierarchyRow) => number;
  readonly threshold: number;
  readonly want: 'above' | 'below';
}

/**
 * Papyan's claims over seeds: per phase, the claim's number as mean ± sd over the seeds and a
 * verdict from its 95 % t-interval against the stated threshold (kit `thresholdVerdict`).
 *
 * @example
 * ```ts
 * console.log(compareOverSeeds(rows)); // rows of several seeds
 * ```
 */
export function compareOverSeeds(rows: readonly ClassHierarchyRow[]): string {
  const c = rows[0].C;
  const gap = (position: number) => (r: ClassHierarchyRow) =>
    r.gapG.find((g) => g.position === position)?.ratio ?? Number.NaN;
  const claims: Claim[] = [
    {
      label: `C = ${c} outliers in G: λ_C/λ_{C+1} ≫ 1 (threshold 2)`,
      value: gap(c),
      threshold: 2,
      want: 'above',
    },
    {
      label: `C − 1 = ${c - 1} outliers: λ_{C−1}/λ_C of G (threshold 2)`,
      value: gap(c - 1),
      threshold: 2,
      want: 'above',
    },
    {
      label: 'span of class means ≈ top-C eigenspace of G: overlap (threshold 0.9)',
      value: (r) => r.overlapG,
      threshold: 0.9,
      want: 'above',
    },
    {
      label: 'the same for H: overlap (threshold 0.9)',
      value: (r) => r.overlapH,
      threshold: 0.9,
      want: 'above',
    },
    {
      label: "G₁'s top C − 1 directions vs G's (threshold 0.9)",
      value: (r) => r.overlapGLeading,
      threshold: 0.9,
      want: 'above',
    },
    {
      label: 'outliers are the class means (level 1): λ₁(G)/λ₁(G₁) ≈ 1 (below 2)',
      value: (r) => r.topG[0] / r.eigenG1[0],
      threshold: 2,
      want: 'below',
    },
    {
      label: `level 2 ends at C² = ${c * c}: λ_{C²}/λ_{C²+1} ≫ 1 (threshold 2)`,
      value: gap(c * c),
      threshold: 2,
      want: 'above',
    },
    {
      label: 'level 3 (within-class, G₃) carries the bulk of tr G (threshold 0.5)',
      value: (r) => r.fractionG3,
      threshold: 0.5,
      want: 'above',
    },
  ];
  const phases = ['init', 'trained'] as const;
  const byPhase = phases.map((phase) =>
    rows.filter((r) => r.phase === phase).sort((a, b) => a.seed - b.seed),
  );
  const lines = claims
    .filter((claim) => byPhase.some((group) => group.some((r) => Number.isFinite(claim.value(r)))))
    .map((claim) => [
      claim.label,
      ...byPhase.flatMap((group) => {
        const values = group.map(claim.value);
        return [formatMeanSd(values), thresholdVerdict(values, claim.threshold, claim.want)];
      }),
    ]);
  const seeds = byPhase[0].length;
  return markdownTable(
    [
      'claim (Papyan 2019)',
      `init: mean ± sd over ${seeds} seeds`,
      'verdict (95 % t-interval)',
      `trained: mean ± sd over ${seeds} seeds`,
      'verdict (95 % t-interval)',
    ],
    [
      ...lines,
      [
        'test accuracy',
        ...byPhase.flatMap((group) => [formatMeanSd(group.map((r) => r.testAccuracy)), '']),
      ],
    ],
  );
}
