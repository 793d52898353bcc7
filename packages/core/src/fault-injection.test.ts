/**
 * Fault injection over the public numerics API: every function is called with a table of bad
 * inputs (operators with a bad `dim` or no `matvec`, options that are not objects, NaN and
 * ±Infinity counts and seeds, vectors of the wrong type, empty or broken layouts, workspaces
 * too large to allocate), and each call must raise a typed {@link HessianProbeError} whose
 * message starts with the function's name and names the faulty input, before a single product
 * is spent. Plain TypeErrors and RangeErrors, hangs (a `dim` of 0 or NaN used to make
 * `lanczos` loop forever) and out-of-memory aborts (`estimateTrace(op, { matvecs: 1e9 })`
 * with Hutch++) are what this table was built to find.
 */
import { describe, expect, it } from 'vitest';
import { blockMeanAbs, blockStructure, layerOfBlock } from './block-structure.js';
import { blockNorms, blockRatios, exactBlockNorms } from './blocks.js';
import { denseMatrix } from './dense.js';
import {
  densityResolution,
  negativeCutoff,
  ritzZeroTolerance,
  smoothDensity,
  spectralDensity,
  spectralMeasure,
} from './density.js';
import { topEigenpairs } from './eigenpairs.js';
import {
  DimensionError,
  HessianProbeError,
  LayoutError,
  OptionError,
  SizeLimitError,
} from './errors.js';
import { lanczos } from './lanczos.js';
import {
  gaussNewtonGap,
  layerCoupling,
  layerSeed,
  layerSpectra,
  layerSpectrum,
} from './layer-spectra.js';
import {
  createLayout,
  embedBlock,
  findBlock,
  layoutFromSizes,
  type ParameterLayout,
  sliceBlock,
  sliceBlocks,
} from './layout.js';
import {
  checkedMatvec,
  denseOperator,
  type LinearOperator,
  operatorPrecision,
  restrictOperator,
  scaleOperator,
  shiftOperator,
} from './operator.js';
import { powerIteration } from './power-iteration.js';
import { createRandom, Random } from './random.js';
import { spectralSummary } from './summary.js';
import { symmetricEigen } from './symmetric-eigen.js';
import { estimateDiagonal, estimateTrace } from './trace.js';
import { tridiagonalEigen } from './tridiagonal.js';
import { wasserstein1 } from './wasserstein.js';

/** Products spent by every operator of this file since the last reset. */
let products = 0;

/**
 * An operator of dimension `dim` (valid or not: the point is to pass bad ones) whose products
 * are counted in `products`; `extra` adds or overrides properties.
 */
function counted(dim: unknown, extra: Record<string, unknown> = {}): LinearOperator {
  return {
    dim,
    async matvec(v: Float64Array) {
      products++;
      return new Float64Array(v.length);
    },
    ...extra,
  } as unknown as LinearOperator;
}

/** Lets a bad value through the type checker: the table exists to pass what types forbid. */
const bad = <T>(value: unknown): T => value as T;

const N = 6;
const good = counted(N);
const layout = layoutFromSizes([
  { name: 'a', size: 2 },
  { name: 'b', size: 4 },
]);
/** 2^31 parameters: one vector is 16 GiB, over the default workspace limit of 4 GiB. */
const HUGE = 2 ** 31;
const huge = counted(HUGE);
const hugeLayout = layoutFromSizes([
  { name: 'a', size: 2 },
  { name: 'b', size: HUGE - 2 },
]);
/** 10^5 parameters in 10^5 blocks of one: the block-norm tables alone take 160 GB. */
const manyBlocks = layoutFromSizes(
  Array.from({ length: 1e5 }, (_, i) => ({ name: `u${i}`, size: 1 })),
);
const tenThousand = counted(1e5);
const quadrature = {
  nodes: [Float64Array.of(-1, 2)],
  weights: [Float64Array.of(0.5, 0.5)],
  dim: N,
};
const norms = {
  names: ['a', 'b'],
  frobeniusSq: [
    [1, 0.5],
    [0.5, 2],
  ],
};
const identity2 = Float64Array.of(1, 0, 0, 1);

type ErrorClass = abstract new (...args: never[]) => HessianProbeError;

interface FaultCase {
  /** The public function called; its name starts the message unless `where` says otherwise. */
  readonly fn: string;
  /** What is wrong with the call. */
  readonly bad: string;
  readonly call: () => unknown;
  /** The typed error expected. */
  readonly error: ErrorClass;
  /** What the message must name besides where (the faulty input). */
  readonly what: RegExp;
  readonly where?: string;
}

const cases: FaultCase[] = [];
const add = (
  fn: string,
  error: ErrorClass,
  what: RegExp,
  entries: readonly (readonly [bad: string, call: () => unknown])[],
  where?: string,
) => {
  for (const [description, call] of entries) {
    cases.push({ fn, bad: description, call, error, what, ...(where ? { where } : {}) });
  }
};

// --- Bad operators, for every function that takes one -----------------------------------------

const badOperators: readonly (readonly [string, unknown, RegExp])[] = [
  ['undefined', undefined, /LinearOperator/],
  ['null', null, /LinearOperator/],
  ['a number', 42, /LinearOperator/],
  ['a string', 'op', /LinearOperator/],
  ['without matvec', { dim: N }, /LinearOperator/],
  ['with a matvec that is not a function', { dim: N, matvec: 'x' }, /LinearOperator/],
  ['dim 0', counted(0), /\.dim to be an integer >= 1, got 0/],
  ['dim -3', counted(-3), /\.dim .* got -3/],
  ['dim 2.5', counted(2.5), /\.dim .* got 2\.5/],
  ['dim NaN', counted(Number.NaN), /\.dim .* got NaN/],
  ['dim Infinity', counted(Number.POSITIVE_INFINITY), /\.dim .* got Infinity/],
  ['dim 2^53', counted(2 ** 53), /\.dim .* got 9007199254740992/],
  ['dim "6"', counted('6'), /\.dim .* got "6"/],
  ['dim undefined', counted(undefined), /\.dim .* got undefined/],
  ['precision NaN', counted(N, { precision: Number.NaN }), /\.precision .* got NaN/],
  ['precision -1', counted(N, { precision: -1 }), /\.precision .* got -1/],
  ['precision 1', counted(N, { precision: 1 }), /\.precision .* got 1/],
  ['precision "float32"', counted(N, { precision: 'float32' }), /\.precision .* got "float32"/],
];

const operatorTakers: readonly (readonly [
  fn: string,
  param: string,
  call: (op: LinearOperator) => unknown,
  where?: string,
])[] = [
  ['lanczos', 'op', (op) => lanczos(op, { steps: 3 })],
  ['topEigenpairs', 'op', (op) => topEigenpairs(op, { k: 1 })],
  ['powerIteration', 'op', (op) => powerIteration(op)],
  ['spectralDensity', 'op', (op) => spectralDensity(op, { probes: 1, steps: 3 })],
  ['estimateTrace', 'op', (op) => estimateTrace(op, { matvecs: 3 })],
  ['estimateDiagonal', 'op', (op) => estimateDiagonal(op, { matvecs: 2 })],
  ['blockNorms', 'op', (op) => blockNorms(op, layout, { probes: 1 })],
  ['denseMatrix', 'op', (op) => denseMatrix(op)],
  ['layerSpectrum', 'op', (op) => layerSpectrum(op)],
  ['layerSpectra', 'op', (op) => layerSpectra(op, layout)],
  ['layerSpectra', 'ggn', (op) => layerSpectra(good, layout, { ggn: op })],
  ['layerCoupling', 'op', (op) => layerCoupling(op, layout)],
  ['gaussNewtonGap', 'hessian', (op) => gaussNewtonGap(op, good)],
  ['gaussNewtonGap', 'ggn', (op) => gaussNewtonGap(good, op)],
  ['scaleOperator', 'op', (op) => scaleOperator(op, 2)],
  ['shiftOperator', 'op', (op) => shiftOperator(op, 1)],
  ['restrictOperator', 'op', (op) => restrictOperator(op, layout, 'a')],
  ['operatorPrecision', 'op', (op) => operatorPrecision(op)],
  [
    'checkedMatvec',
    'op',
    (op) => checkedMatvec(op, new Float64Array(N), 'anAlgorithm', 0),
    'anAlgorithm',
  ],
];

for (const [fn, param, call, where] of operatorTakers) {
  for (const [description, op, what] of badOperators) {
    // An absent `ggn` option is no GGN, not a bad one.
    if (param === 'ggn' && fn === 'layerSpectra' && op === undefined) continue;
    cases.push({
      fn,
      bad: `${param} ${description}`,
      call: () => call(bad(op)),
      error: OptionError,
      what: new RegExp(`expected ${param}\\b.*${what.source}`),
      ...(where ? { where } : {}),
    });
  }
}

// --- Options that are not objects ---------------------------------------------------------------

const notObjects: readonly (readonly [string, unknown])[] = [
  ['null', null],
  ['a number', 5],
  ['a string', 'steps'],
  ['an array', [3]],
  ['a function', () => 3],
];
const optionTakers: readonly (readonly [
  fn: string,
  call: (o: unknown) => unknown,
  required: boolean,
])[] = [
  ['lanczos', (o) => lanczos(good, bad(o)), true],
  ['topEigenpairs', (o) => topEigenpairs(good, bad(o)), true],
  ['powerIteration', (o) => powerIteration(good, bad(o)), false],
  ['spectralDensity', (o) => spectralDensity(good, bad(o)), false],
  ['estimateTrace', (o) => estimateTrace(good, bad(o)), true],
  ['estimateDiagonal', (o) => estimateDiagonal(good, bad(o)), true],
  ['blockNorms', (o) => blockNorms(good, layout, bad(o)), true],
  ['denseMatrix', (o) => denseMatrix(good, bad(o)), false],
  ['layerSpectrum', (o) => layerSpectrum(good, bad(o)), false],
  ['layerSpectra', (o) => layerSpectra(good, layout, bad(o)), false],
  ['layerCoupling', (o) => layerCoupling(good, layout, bad(o)), false],
  ['gaussNewtonGap', (o) => gaussNewtonGap(good, good, bad(o)), false],
  ['denseOperator', (o) => denseOperator(identity2, 2, bad(o)), false],
  ['smoothDensity', (o) => smoothDensity(quadrature, bad(o)), true],
  ['blockStructure', (o) => blockStructure(norms, bad(o)), false],
  [
    'tridiagonalEigen',
    (o) => tridiagonalEigen(Float64Array.of(1, 2), Float64Array.of(1), bad(o)),
    false,
  ],
  ['symmetricEigen', (o) => symmetricEigen(identity2, 2, bad(o)), false],
];
for (const [fn, call, required] of optionTakers) {
  const values = required ? [['undefined', undefined] as const, ...notObjects] : notObjects;
  for (const [description, value] of values) {
    cases.push({
      fn,
      bad: `options ${description}`,
      call: () => call(value),
      error: OptionError,
      what: /expected options to be an object/,
    });
  }
}

// --- Counts, seeds and other options out of range -----------------------------------------------

const badCounts: readonly (readonly [string, unknown])[] = [
  ['0', 0],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['2.5', 2.5],
  ['1e300', 1e300],
  ['"3"', '3'],
  ['null', null],
];
const badSeeds: readonly (readonly [string, unknown])[] = [
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['0.5', 0.5],
  ['2^53', 2 ** 53],
  ['"1"', '1'],
  ['null', null],
];
const seeded: readonly (readonly [fn: string, call: (seed: unknown) => unknown])[] = [
  ['lanczos', (seed) => lanczos(good, { steps: 3, seed: bad(seed) })],
  ['topEigenpairs', (seed) => topEigenpairs(good, { k: 1, seed: bad(seed) })],
  ['powerIteration', (seed) => powerIteration(good, { seed: bad(seed) })],
  ['spectralDensity', (seed) => spectralDensity(good, { seed: bad(seed) })],
  ['estimateTrace', (seed) => estimateTrace(good, { matvecs: 9, seed: bad(seed) })],
  ['estimateDiagonal', (seed) => estimateDiagonal(good, { matvecs: 2, seed: bad(seed) })],
  ['blockNorms', (seed) => blockNorms(good, layout, { probes: 1, seed: bad(seed) })],
  ['layerSpectrum', (seed) => layerSpectrum(good, { seed: bad(seed) })],
  ['layerSpectra', (seed) => layerSpectra(good, layout, { seed: bad(seed) })],
  ['layerCoupling', (seed) => layerCoupling(good, layout, { seed: bad(seed) })],
  ['gaussNewtonGap', (seed) => gaussNewtonGap(good, good, { seed: bad(seed) })],
  ['createRandom', (seed) => createRandom(bad(seed))],
  ['layerSeed', (seed) => layerSeed(bad(seed), 'dense_1')],
];
for (const [fn, call] of seeded) {
  add(
    fn,
    OptionError,
    /expected seed to be a safe integer/,
    badSeeds.map(([description, seed]) => [`seed ${description}`, () => call(seed)] as const),
  );
}

const counts: readonly (readonly [fn: string, name: string, call: (count: unknown) => unknown])[] =
  [
    ['lanczos', 'steps', (c) => lanczos(good, { steps: bad(c) })],
    ['topEigenpairs', 'k', (c) => topEigenpairs(good, { k: bad(c) })],
    ['topEigenpairs', 'maxMatvecs', (c) => topEigenpairs(good, { k: 1, maxMatvecs: bad(c) })],
    ['topEigenpairs', 'subspaceSize', (c) => topEigenpairs(good, { k: 1, subspaceSize: bad(c) })],
    ['powerIteration', 'k', (c) => powerIteration(good, { k: bad(c) })],
    ['powerIteration', 'maxIter', (c) => powerIteration(good, { maxIter: bad(c) })],
    ['spectralDensity', 'probes', (c) => spectralDensity(good, { probes: bad(c) })],
    ['spectralDensity', 'steps', (c) => spectralDensity(good, { steps: bad(c) })],
    ['spectralDensity', 'gridSize', (c) => spectralDensity(good, { gridSize: bad(c) })],
    ['estimateTrace', 'matvecs', (c) => estimateTrace(good, { matvecs: bad(c) })],
    [
      'estimateTrace',
      'maxMatvecs',
      (c) => estimateTrace(good, { relativeStderr: 0.1, maxMatvecs: bad(c) }),
    ],
    ['estimateDiagonal', 'matvecs', (c) => estimateDiagonal(good, { matvecs: bad(c) })],
    ['blockNorms', 'probes', (c) => blockNorms(good, layout, { probes: bad(c) })],
    ['denseMatrix', 'maxDim', (c) => denseMatrix(good, { maxDim: bad(c) })],
    ['layerSpectrum', 'probes', (c) => layerSpectrum(good, { maxExactDim: 0, probes: bad(c) })],
    ['layerSpectrum', 'steps', (c) => layerSpectrum(good, { steps: bad(c) })],
    ['layerSpectrum', 'traceMatvecs', (c) => layerSpectrum(good, { traceMatvecs: bad(c) })],
    ['layerSpectra', 'gapProbes', (c) => layerSpectra(good, layout, { gapProbes: bad(c) })],
    [
      'layerSpectra',
      'couplingProbes',
      (c) => layerSpectra(good, layout, { couplingProbes: bad(c) }),
    ],
    ['layerCoupling', 'probes', (c) => layerCoupling(good, layout, { probes: bad(c) })],
    ['gaussNewtonGap', 'probes', (c) => gaussNewtonGap(good, good, { probes: bad(c) })],
  ];
for (const [fn, name, call] of counts) {
  add(
    fn,
    OptionError,
    new RegExp(`expected ${name} to be an integer`),
    badCounts.map(([description, count]) => [`${name} ${description}`, () => call(count)] as const),
  );
}
add('layerSpectrum', OptionError, /expected maxExactDim to be an integer/, [
  ['maxExactDim -1', () => layerSpectrum(good, { maxExactDim: -1 })],
  ['maxExactDim NaN', () => layerSpectrum(good, { maxExactDim: Number.NaN })],
]);
add('gaussNewtonGap', OptionError, /expected maxExactDim to be an integer/, [
  [
    'maxExactDim Infinity',
    () => gaussNewtonGap(good, good, { maxExactDim: Number.POSITIVE_INFINITY }),
  ],
]);

const maxBytesTakers: readonly (readonly [fn: string, call: (maxBytes: unknown) => unknown])[] = [
  ['lanczos', (b) => lanczos(good, { steps: 3, maxBytes: bad(b) })],
  ['topEigenpairs', (b) => topEigenpairs(good, { k: 1, maxBytes: bad(b) })],
  ['powerIteration', (b) => powerIteration(good, { maxBytes: bad(b) })],
  ['spectralDensity', (b) => spectralDensity(good, { maxBytes: bad(b) })],
  ['estimateTrace', (b) => estimateTrace(good, { matvecs: 3, maxBytes: bad(b) })],
  ['estimateDiagonal', (b) => estimateDiagonal(good, { matvecs: 3, maxBytes: bad(b) })],
  ['blockNorms', (b) => blockNorms(good, layout, { probes: 1, maxBytes: bad(b) })],
  ['denseMatrix', (b) => denseMatrix(good, { maxBytes: bad(b) })],
  ['layerSpectrum', (b) => layerSpectrum(good, { maxBytes: bad(b) })],
  ['layerSpectra', (b) => layerSpectra(good, layout, { maxBytes: bad(b) })],
  ['layerCoupling', (b) => layerCoupling(good, layout, { maxBytes: bad(b) })],
  ['gaussNewtonGap', (b) => gaussNewtonGap(good, good, { maxBytes: bad(b) })],
];
for (const [fn, call] of maxBytesTakers) {
  add(fn, OptionError, /expected maxBytes to be a number > 0/, [
    ['maxBytes 0', () => call(0)],
    ['maxBytes NaN', () => call(Number.NaN)],
    ['maxBytes "4GB"', () => call('4GB')],
  ]);
}

add('lanczos', OptionError, /reorthogonalize/, [
  [
    'reorthogonalize "selective"',
    () => lanczos(good, { steps: 3, reorthogonalize: bad('selective') }),
  ],
]);
add('lanczos', OptionError, /startVector/, [
  ['startVector null', () => lanczos(good, { steps: 3, startVector: bad(null) })],
  [
    'startVector a number[]',
    () => lanczos(good, { steps: 3, startVector: bad([1, 0, 0, 0, 0, 0]) }),
  ],
  [
    'startVector a Float32Array',
    () => lanczos(good, { steps: 3, startVector: bad(new Float32Array(N)) }),
  ],
  ['startVector zero', () => lanczos(good, { steps: 3, startVector: new Float64Array(N) })],
  [
    'startVector NaN',
    () => lanczos(good, { steps: 3, startVector: new Float64Array(N).fill(Number.NaN) }),
  ],
]);
add('lanczos', DimensionError, /startVector of length 6, got 3/, [
  [
    'startVector of the wrong length',
    () => lanczos(good, { steps: 3, startVector: new Float64Array(3) }),
  ],
]);
add('topEigenpairs', OptionError, /which/, [
  ['which "top"', () => topEigenpairs(good, { k: 1, which: bad('top') })],
]);
add('topEigenpairs', OptionError, /k <= 3 with which 'both'/, [
  ["k 4 with which 'both' on dim 6", () => topEigenpairs(good, { k: 4, which: 'both' })],
]);
add('topEigenpairs', OptionError, /expected k to be an integer in \[1, 6\], got 7/, [
  ['k > dim', () => topEigenpairs(good, { k: 7 })],
]);
add('topEigenpairs', OptionError, /tol/, [
  ['tol 0', () => topEigenpairs(good, { k: 1, tol: 0 })],
  ['tol NaN', () => topEigenpairs(good, { k: 1, tol: Number.NaN })],
  ['tol -1', () => topEigenpairs(good, { k: 1, tol: -1 })],
]);
add('topEigenpairs', OptionError, /failureProbability/, [
  ['failureProbability 0', () => topEigenpairs(good, { k: 1, failureProbability: 0 })],
  ['failureProbability 1', () => topEigenpairs(good, { k: 1, failureProbability: 1 })],
  ['failureProbability NaN', () => topEigenpairs(good, { k: 1, failureProbability: Number.NaN })],
  ['failureProbability "0.1"', () => topEigenpairs(good, { k: 1, failureProbability: bad('0.1') })],
]);
add('topEigenpairs', OptionError, /verify/, [
  ['verify "yes"', () => topEigenpairs(good, { k: 1, verify: bad('yes') })],
]);
add('topEigenpairs', OptionError, /deflate/, [
  ['deflate null', () => topEigenpairs(good, { k: 1, deflate: bad(null) })],
  ['deflate a string', () => topEigenpairs(good, { k: 1, deflate: bad('abc') })],
  [
    'deflate a vector instead of an array of vectors',
    () => topEigenpairs(good, { k: 1, deflate: bad(new Float64Array(N)) }),
  ],
  ['deflate [null]', () => topEigenpairs(good, { k: 1, deflate: bad([null]) })],
  [
    'deflate of the wrong length',
    () => topEigenpairs(good, { k: 1, deflate: [new Float64Array(3)] }),
  ],
  [
    'deflate NaN',
    () => topEigenpairs(good, { k: 1, deflate: [new Float64Array(N).fill(Number.NaN)] }),
  ],
  [
    'deflate dependent',
    () =>
      topEigenpairs(good, {
        k: 1,
        deflate: [Float64Array.of(1, 0, 0, 0, 0, 0), Float64Array.of(2, 0, 0, 0, 0, 0)],
      }),
  ],
  [
    'deflate spanning the whole space',
    () =>
      topEigenpairs(good, { k: 1, deflate: Array.from({ length: N }, () => new Float64Array(N)) }),
  ],
]);
add('powerIteration', OptionError, /tol/, [
  ['tol 0', () => powerIteration(good, { tol: 0 })],
  ['tol Infinity', () => powerIteration(good, { tol: Number.POSITIVE_INFINITY })],
]);
add('powerIteration', OptionError, /expected k to be an integer in \[1, 6\]/, [
  ['k > dim', () => powerIteration(good, { k: 7 })],
]);
add('spectralDensity', OptionError, /sigma/, [
  ['sigma 0', () => spectralDensity(good, { sigma: 0 })],
  ['sigma NaN', () => spectralDensity(good, { sigma: Number.NaN })],
]);
add('spectralDensity', OptionError, /range/, [
  ['range [1, 0]', () => spectralDensity(good, { range: [1, 0] })],
  ['range [NaN, 1]', () => spectralDensity(good, { range: [Number.NaN, 1] })],
  ['range "wide"', () => spectralDensity(good, { range: bad('wide') })],
  ['range null', () => spectralDensity(good, { range: bad(null) })],
]);
add('spectralDensity', OptionError, /negativeThreshold/, [
  ['negativeThreshold "sign"', () => spectralDensity(good, { negativeThreshold: bad('sign') })],
  ['negativeThreshold -1', () => spectralDensity(good, { negativeThreshold: -1 })],
  ['negativeThreshold NaN', () => spectralDensity(good, { negativeThreshold: Number.NaN })],
]);
add('spectralDensity', OptionError, /reorthogonalize/, [
  ['reorthogonalize "some"', () => spectralDensity(good, { reorthogonalize: bad('some') })],
]);
add('estimateTrace', OptionError, /exactly one of matvecs/, [
  ['neither matvecs nor relativeStderr', () => estimateTrace(good, {})],
  [
    'both matvecs and relativeStderr',
    () => estimateTrace(good, { matvecs: 9, relativeStderr: 0.1 }),
  ],
]);
add('estimateTrace', OptionError, /expected matvecs to be an integer >= 3, got 2/, [
  ['matvecs 2 with hutch++', () => estimateTrace(good, { matvecs: 2, method: 'hutch++' })],
]);
add('estimateTrace', OptionError, /relativeStderr/, [
  ['relativeStderr 0', () => estimateTrace(good, { relativeStderr: 0 })],
  ['relativeStderr 1', () => estimateTrace(good, { relativeStderr: 1 })],
  ['relativeStderr NaN', () => estimateTrace(good, { relativeStderr: Number.NaN })],
]);
add('estimateTrace', OptionError, /method/, [
  ['method "hutch"', () => estimateTrace(good, { matvecs: 9, method: bad('hutch') })],
]);

// --- Workspaces too large: refused before any product --------------------------------------------

add(
  'lanczos',
  SizeLimitError,
  /maxBytes = 4294967296 bytes \(4 GiB\), got 4 vectors of length 2147483648/,
  [['dim 2^31 (a 16 GiB vector)', () => lanczos(huge, { steps: 3, reorthogonalize: 'none' })]],
);
add('lanczos', SizeLimitError, /10002 vectors of length 100000.*lower steps/, [
  [
    "10^4 steps of 'full' at dim 1e5",
    () => lanczos(tenThousand, { steps: 1e4, reorthogonalize: 'full' }),
  ],
]);
add('lanczos', SizeLimitError, /raise maxBytes/, [
  ['maxBytes 1', () => lanczos(good, { steps: 3, maxBytes: 1 })],
]);
add('topEigenpairs', SizeLimitError, /vectors of length 2147483648/, [
  ['dim 2^31', () => topEigenpairs(huge, { k: 1 })],
]);
add('topEigenpairs', SizeLimitError, /100000×100000 projected matrices.*lower k or subspaceSize/, [
  ['subspaceSize 1e5 at dim 1e5', () => topEigenpairs(tenThousand, { k: 1, subspaceSize: 1e5 })],
]);
add('powerIteration', SizeLimitError, /100004 vectors of length 100000.*lower k/, [
  ['k 1e5 at dim 1e5', () => powerIteration(tenThousand, { k: 1e5 })],
]);
add('powerIteration', SizeLimitError, /vectors of length 2147483648/, [
  ['dim 2^31', () => powerIteration(huge)],
]);
add('spectralDensity', SizeLimitError, /1000000000 × 6 nodes/, [
  ['1e9 probes (12e9 nodes and weights)', () => spectralDensity(good, { probes: 1e9 })],
]);
add('spectralDensity', SizeLimitError, /a grid of 1000000000000/, [
  ['gridSize 1e12', () => spectralDensity(good, { gridSize: 1e12 })],
]);
add('spectralDensity', SizeLimitError, /vectors of length 2147483648|length 2147483648/, [
  ['dim 2^31', () => spectralDensity(huge, { probes: 1, steps: 3 })],
]);
add('estimateTrace', SizeLimitError, /a sketch of 333333333 vectors of length 6.*'hutchinson'/, [
  ["matvecs 1e9 with 'hutch++'", () => estimateTrace(good, { matvecs: 1e9, method: 'hutch++' })],
  ["matvecs 1e9 with 'auto'", () => estimateTrace(good, { matvecs: 1e9 })],
]);
add('estimateTrace', SizeLimitError, /a sketch of 1000 vectors of length 100000/, [
  [
    'matvecs 3000 at dim 1e5 with maxBytes 100 MB',
    () => estimateTrace(tenThousand, { matvecs: 3000, maxBytes: 1e8 }),
  ],
]);
add('estimateTrace', SizeLimitError, /length 2147483648/, [
  ['dim 2^31', () => estimateTrace(huge, { matvecs: 3, method: 'hutchinson' })],
]);
add('estimateDiagonal', SizeLimitError, /6 vectors of length 2147483648/, [
  ['dim 2^31', () => estimateDiagonal(huge, { matvecs: 1 })],
]);
add('blockNorms', SizeLimitError, /two 100000 × 100000 tables.*fewer blocks/, [
  ['1e5 blocks', () => blockNorms(tenThousand, manyBlocks, { probes: 1 })],
]);
add('blockNorms', SizeLimitError, /5 vectors of length 2147483648/, [
  ['dim 2^31', () => blockNorms(huge, hugeLayout, { probes: 1 })],
]);
add('denseMatrix', SizeLimitError, /a 100000×100000 matrix.*lower maxDim/, [
  ['maxDim 1e5 at dim 1e5 (80 GB)', () => denseMatrix(tenThousand, { maxDim: 1e5 })],
]);
add('denseMatrix', SizeLimitError, /expected dim <= maxDim = 4096/, [
  ['dim 2^31 over the default maxDim', () => denseMatrix(huge)],
]);
add('layerSpectrum', SizeLimitError, /the exact spectrum of a 100000×100000 block/, [
  ['maxExactDim 1e5 at dim 1e5', () => layerSpectrum(tenThousand, { maxExactDim: 1e5 })],
]);
add('layerSpectrum', SizeLimitError, /SLQ and Hutch\+\+ workspaces/, [
  [
    'traceMatvecs 3e6 at dim 1e5',
    () => layerSpectrum(tenThousand, { maxExactDim: 0, traceMatvecs: 3e6 }),
  ],
  ['dim 2^31', () => layerSpectrum(huge)],
]);
add('layerSpectra', SizeLimitError, /the largest of the layers' spectra/, [
  ['maxExactDim 1e5 at dim 1e5', () => layerSpectra(tenThousand, manyBlocks, { maxExactDim: 1e5 })],
  ['dim 2^31', () => layerSpectra(huge, hugeLayout)],
  [
    'couplingProbes over 1e5 layers',
    () => layerSpectra(tenThousand, manyBlocks, { maxExactDim: 0, couplingProbes: 1 }),
  ],
]);
add('layerCoupling', SizeLimitError, /block norms of 100000 layers/, [
  ['1e5 layers', () => layerCoupling(tenThousand, manyBlocks)],
]);
add('layerCoupling', SizeLimitError, /a 100000×100000 matrix/, [
  [
    'maxExactDim 1e5 at dim 1e5',
    () =>
      layerCoupling(tenThousand, layoutFromSizes([{ name: 'x', size: 1e5 }]), { maxExactDim: 1e5 }),
  ],
]);
add('gaussNewtonGap', SizeLimitError, /two 100000×100000 matrices/, [
  [
    'maxExactDim 1e5 at dim 1e5',
    () => gaussNewtonGap(tenThousand, tenThousand, { maxExactDim: 1e5 }),
  ],
]);
add('gaussNewtonGap', SizeLimitError, /4 vectors of length 2147483648/, [
  ['dim 2^31', () => gaussNewtonGap(huge, huge)],
]);

// --- Layouts ----------------------------------------------------------------------------------

const badLayouts: readonly (readonly [string, unknown, ErrorClass, RegExp])[] = [
  ['null', null, LayoutError, /expected layout to be a ParameterLayout/],
  ['a string', 'a,b', LayoutError, /expected layout to be a ParameterLayout/],
  ['without blocks', { dim: N }, LayoutError, /expected layout\.blocks to be a non-empty array/],
  [
    'with no blocks',
    { dim: N, blocks: [] },
    LayoutError,
    /expected layout\.blocks to be a non-empty array/,
  ],
  [
    'dim NaN',
    { dim: Number.NaN, blocks: layout.blocks },
    LayoutError,
    /expected layout\.dim to be an integer >= 1, got NaN/,
  ],
  [
    'of another dimension',
    layoutFromSizes([{ name: 'x', size: 3 }]),
    DimensionError,
    /expected a layout of dimension 6/,
  ],
  [
    'with a gap',
    {
      dim: N,
      blocks: [
        { name: 'a', offset: 0, size: 2 },
        { name: 'b', offset: 3, size: 3 },
      ],
    },
    LayoutError,
    /layout block 1 \("b"\): expected offset 2, got 3 \(leaves a gap\)/,
  ],
  [
    'with a null block',
    { dim: N, blocks: [null] },
    LayoutError,
    /layout block 0: expected an object/,
  ],
  [
    'with a nameless block',
    { dim: N, blocks: [{ offset: 0, size: N }] },
    LayoutError,
    /layout block 0: expected a non-empty name, got undefined/,
  ],
];
const layoutTakers: readonly (readonly [fn: string, call: (l: ParameterLayout) => unknown])[] = [
  ['blockNorms', (l) => blockNorms(good, l, { probes: 1 })],
  ['layerSpectra', (l) => layerSpectra(good, l)],
  ['layerCoupling', (l) => layerCoupling(good, l)],
  ['restrictOperator', (l) => restrictOperator(good, l, 'a')],
  ['exactBlockNorms', (l) => exactBlockNorms(new Float64Array(N * N), N, l)],
  ['blockMeanAbs', (l) => blockMeanAbs(new Float64Array(N * N), N, l)],
];
for (const [fn, call] of layoutTakers) {
  for (const [description, value, error, what] of badLayouts) {
    cases.push({ fn, bad: `layout ${description}`, call: () => call(bad(value)), error, what });
  }
}
add('createLayout', LayoutError, /blocks|block 0|dim|at least one block/, [
  ['blocks null', () => createLayout(bad(null))],
  ['blocks a string', () => createLayout(bad('ab'))],
  ['blocks empty', () => createLayout([])],
  ['a null block', () => createLayout(bad([null]))],
  ['dim NaN', () => createLayout(layout.blocks, Number.NaN)],
  ['dim 2.5', () => createLayout(layout.blocks, 2.5)],
  ['size 2^60', () => createLayout([{ name: 'a', offset: 0, size: 2 ** 60 }])],
  ['shape not an array', () => createLayout([{ name: 'a', offset: 0, size: 2, shape: bad('2') }])],
]);
add('layoutFromSizes', LayoutError, /sizes|block 0/, [
  ['sizes null', () => layoutFromSizes(bad(null))],
  ['sizes an object', () => layoutFromSizes(bad({ a: 2 }))],
  ['a null size', () => layoutFromSizes(bad([null]))],
  ['size NaN', () => layoutFromSizes([{ name: 'a', size: Number.NaN }])],
]);
add('findBlock', LayoutError, /layout/, [
  ['layout null', () => findBlock(bad(null), 'a')],
  ['layout without blocks', () => findBlock(bad({ dim: 2 }), 'a')],
  ['an unknown name', () => findBlock(layout, 'c')],
]);
add('findBlock', OptionError, /expected the block name to be a string, got 5/, [
  ['name 5', () => findBlock(layout, bad(5))],
]);
add('sliceBlock', OptionError, /expected v to be a Float64Array/, [
  ['v null', () => sliceBlock(layout, bad(null), 'a')],
  ['v a number[]', () => sliceBlock(layout, bad([1, 2, 3, 4, 5, 6]), 'a')],
]);
add('sliceBlock', LayoutError, /layout/, [
  ['layout null', () => sliceBlock(bad(null), new Float64Array(N), 'a')],
]);
add('sliceBlocks', OptionError, /expected v to be a Float64Array/, [
  ['v undefined', () => sliceBlocks(layout, bad(undefined))],
]);
add('sliceBlocks', DimensionError, /expected a vector of length 6/, [
  ['v of the wrong length', () => sliceBlocks(layout, new Float64Array(3))],
]);
add(
  'embedBlock',
  OptionError,
  /expected values to be a Float64Array/,
  [
    ['values null', () => embedBlock(layout, 'a', bad(null))],
    ['values a number[]', () => embedBlock(layout, 'a', bad([1, 2]))],
  ],
  'embedBlock(a)',
);
add('embedBlock', LayoutError, /layout/, [
  ['layout null', () => embedBlock(bad(null), 'a', new Float64Array(2))],
]);
add('restrictOperator', OptionError, /expected the block name to be a string|blockName/, [
  ['blockName 5', () => restrictOperator(good, layout, bad(5))],
]);
add('restrictOperator', LayoutError, /expected a block name of the layout \(a, b\), got "c"/, [
  ['blockName "c"', () => restrictOperator(good, layout, 'c')],
]);

// --- Dense matrices, vectors and rules ---------------------------------------------------------------

add('denseOperator', OptionError, /expected a to be a Float64Array/, [
  ['a null', () => denseOperator(bad(null), 2)],
  ['a a number[]', () => denseOperator(bad([1, 0, 0, 1]), 2)],
]);
add('denseOperator', OptionError, /expected n to be an integer >= 1/, [
  ['n NaN', () => denseOperator(identity2, Number.NaN)],
  ['n 0', () => denseOperator(new Float64Array(0), 0)],
]);
add('denseOperator', OptionError, /symmetryTolerance/, [
  ['symmetryTolerance NaN', () => denseOperator(identity2, 2, { symmetryTolerance: Number.NaN })],
]);
add('scaleOperator', DimensionError, /finite factor/, [
  ['factor NaN', () => scaleOperator(good, Number.NaN)],
  ['factor "2"', () => scaleOperator(good, bad('2'))],
]);
add('shiftOperator', DimensionError, /finite shift/, [
  ['shift Infinity', () => shiftOperator(good, Number.POSITIVE_INFINITY)],
]);
add(
  'checkedMatvec',
  OptionError,
  /expected the vector of a product to be a Float64Array/,
  [
    ['v null', () => checkedMatvec(good, bad(null), 'anAlgorithm', 0)],
    ['v a number[]', () => checkedMatvec(good, bad([0, 0, 0, 0, 0, 0]), 'anAlgorithm', 0)],
  ],
  'anAlgorithm',
);
add(
  'checkedMatvec',
  DimensionError,
  /of length 6, got 3/,
  [['v of the wrong length', () => checkedMatvec(good, new Float64Array(3), 'anAlgorithm', 0)]],
  'anAlgorithm',
);
add(
  'checkedMatvec',
  OptionError,
  /expected step to be an integer >= 0/,
  [['step NaN', () => checkedMatvec(good, new Float64Array(N), 'anAlgorithm', Number.NaN)]],
  'anAlgorithm',
);
add('checkedMatvec', OptionError, /expected algorithm to be a string/, [
  ['algorithm undefined', () => checkedMatvec(good, new Float64Array(N), bad(undefined), 0)],
]);
add('exactBlockNorms', OptionError, /expected a to be a Float64Array|expected n to be/, [
  ['a null', () => exactBlockNorms(bad(null), N, layout)],
  ['n NaN', () => exactBlockNorms(new Float64Array(N * N), Number.NaN, layout)],
]);
add('blockMeanAbs', OptionError, /expected a to be a Float64Array/, [
  ['a undefined', () => blockMeanAbs(bad(undefined), N, layout)],
]);
add('blockRatios', OptionError, /frobeniusSq/, [
  ['frobeniusSq null', () => blockRatios(bad(null))],
  ['frobeniusSq a string', () => blockRatios(bad('1'))],
  ['a null row', () => blockRatios(bad([[1, 0], null]))],
  ['a NaN entry', () => blockRatios([[Number.NaN]])],
  ['a negative entry', () => blockRatios([[-1]])],
]);
add('blockRatios', DimensionError, /at least one block|square/, [
  ['no rows', () => blockRatios([])],
  ['a ragged array', () => blockRatios([[1, 2], [3]])],
]);
add('blockStructure', OptionError, /norms/, [
  ['norms null', () => blockStructure(bad(null))],
  ['norms undefined', () => blockStructure(bad(undefined))],
  ['names null', () => blockStructure(bad({ names: null, frobeniusSq: [[1]] }))],
  ['a name that is not a string', () => blockStructure(bad({ names: [1], frobeniusSq: [[1]] }))],
]);
add('blockStructure', OptionError, /frobeniusSq|stderr/, [
  ['frobeniusSq null', () => blockStructure(bad({ names: ['a'], frobeniusSq: null }))],
  ['stderr a number', () => blockStructure(bad({ ...norms, stderr: 3 }))],
]);
add('blockStructure', OptionError, /groupOf/, [
  ['groupOf 5', () => blockStructure(norms, bad({ groupOf: 5 }))],
  ['groupOf returning numbers', () => blockStructure(norms, bad({ groupOf: () => 1 }))],
]);
add('layerOfBlock', OptionError, /expected name to be a string/, [
  ['name null', () => layerOfBlock(bad(null))],
  ['name 5', () => layerOfBlock(bad(5))],
]);
add('layerSeed', OptionError, /expected name to be a string/, [
  ['name undefined', () => layerSeed(0, bad(undefined))],
]);
add('densityResolution', OptionError, /expected (lo|hi) to be a finite number/, [
  ['lo NaN', () => densityResolution(Number.NaN, 1)],
  ['hi Infinity', () => densityResolution(0, Number.POSITIVE_INFINITY)],
]);
const spectrum = { lambdaMin: -1, lambdaMax: 2, steps: 10 };
add('negativeCutoff', OptionError, /negativeThreshold|spectrum/, [
  ['threshold "sign"', () => negativeCutoff(bad('sign'), spectrum)],
  ['threshold -1', () => negativeCutoff(-1, spectrum)],
  ['spectrum null', () => negativeCutoff('rounding', bad(null))],
  ['spectrum undefined', () => negativeCutoff('resolution', bad(undefined))],
  ['lambdaMin NaN', () => negativeCutoff('resolution', { ...spectrum, lambdaMin: Number.NaN })],
  [
    'lambdaMax Infinity',
    () => negativeCutoff('rounding', { ...spectrum, lambdaMax: Number.POSITIVE_INFINITY }),
  ],
  ['steps NaN', () => negativeCutoff('rounding', { ...spectrum, steps: Number.NaN })],
  ['precision -1', () => negativeCutoff('rounding', { ...spectrum, precision: -1 })],
]);
add('ritzZeroTolerance', OptionError, /steps|normEstimate|precision/, [
  ['steps NaN', () => ritzZeroTolerance(Number.NaN, 1)],
  ['steps -1', () => ritzZeroTolerance(-1, 1)],
  ['normEstimate NaN', () => ritzZeroTolerance(10, Number.NaN)],
  ['normEstimate -1', () => ritzZeroTolerance(10, -1)],
  ['precision 2', () => ritzZeroTolerance(10, 1, 2)],
]);
const grid = Float64Array.of(-2, 0, 2);
add('smoothDensity', OptionError, /quadrature|nodes and weights|rule 0/, [
  ['quadrature undefined', () => smoothDensity(bad(undefined), { sigma: 1, grid })],
  ['quadrature null', () => smoothDensity(bad(null), { sigma: 1, grid })],
  ['nodes null', () => smoothDensity(bad({ nodes: null, weights: [] }), { sigma: 1, grid })],
  ['a null rule', () => smoothDensity(bad({ nodes: [null], weights: [null] }), { sigma: 1, grid })],
  [
    'a NaN node',
    () =>
      smoothDensity(
        { nodes: [Float64Array.of(Number.NaN)], weights: [Float64Array.of(1)] },
        { sigma: 1, grid },
      ),
  ],
]);
add('smoothDensity', OptionError, /sigma|grid/, [
  ['sigma NaN', () => smoothDensity(quadrature, { sigma: Number.NaN, grid })],
  ['grid null', () => smoothDensity(quadrature, { sigma: 1, grid: bad(null) })],
  ['grid a number[]', () => smoothDensity(quadrature, { sigma: 1, grid: bad([0, 1]) })],
  ['grid decreasing', () => smoothDensity(quadrature, { sigma: 1, grid: Float64Array.of(1, 0) })],
]);
add('spectralMeasure', OptionError, /quadrature|nodes and weights|rule 0/, [
  ['quadrature null', () => spectralMeasure(bad(null))],
  ['nodes a string', () => spectralMeasure(bad({ nodes: 'x', weights: 'x' }))],
  [
    'a null weight rule',
    () => spectralMeasure(bad({ nodes: [Float64Array.of(1)], weights: [null] })),
  ],
]);
add('spectralSummary', OptionError, /eigenvalue|dim|precision|nodes and weights/, [
  ['input null', () => spectralSummary(bad(null))],
  ['input undefined', () => spectralSummary(bad(undefined))],
  ['input a number', () => spectralSummary(bad(5))],
  ['an empty spectrum', () => spectralSummary([])],
  ['a NaN eigenvalue', () => spectralSummary([1, Number.NaN])],
  ['dim NaN', () => spectralSummary({ ...quadrature, dim: Number.NaN })],
  ['precision NaN', () => spectralSummary({ ...quadrature, precision: Number.NaN })],
  ['nodes null', () => spectralSummary(bad({ nodes: null, weights: [], dim: 2 }))],
]);
add('tridiagonalEigen', OptionError, /expected (alpha|beta) to be a Float64Array/, [
  ['alpha null', () => tridiagonalEigen(bad(null), new Float64Array(0))],
  ['beta undefined', () => tridiagonalEigen(Float64Array.of(1), bad(undefined))],
  ['alpha a number[]', () => tridiagonalEigen(bad([1, 2]), Float64Array.of(1))],
]);
add('tridiagonalEigen', DimensionError, /alpha|beta/, [
  ['beta too long', () => tridiagonalEigen(Float64Array.of(1), Float64Array.of(1))],
  ['alpha NaN', () => tridiagonalEigen(Float64Array.of(Number.NaN), new Float64Array(0))],
]);
add('symmetricEigen', OptionError, /expected a to be a Float64Array/, [
  ['a null', () => symmetricEigen(bad(null), 2)],
]);
add('symmetricEigen', DimensionError, /n×n|finite entries/, [
  ['n NaN', () => symmetricEigen(identity2, Number.NaN)],
  ['a NaN entry', () => symmetricEigen(Float64Array.of(1, 0, Number.NaN, 1), 2)],
]);
add('wasserstein1', OptionError, /measure/, [
  ['first measure null', () => wasserstein1(bad(null), { values: [1] })],
  ['second measure undefined', () => wasserstein1({ values: [1] }, bad(undefined))],
  ['values null', () => wasserstein1(bad({ values: null }), { values: [1] })],
  ['weights null', () => wasserstein1({ values: [1], weights: bad(null) }, { values: [1] })],
  ['no atoms', () => wasserstein1({ values: [] }, { values: [1] })],
  ['a NaN value', () => wasserstein1({ values: [Number.NaN] }, { values: [1] })],
]);

// --- The random generator ------------------------------------------------------------------------

const rng = createRandom(0);
add('Random', OptionError, /generator/, [
  ['generator null', () => new Random(bad(null))],
  ['generator {}', () => new Random(bad({}))],
]);
add('Random.unitVector', OptionError, /expected n to be an integer >= 1/, [
  ['n 0 (R^0 has no unit vector)', () => rng.unitVector(0)],
  ['n NaN', () => rng.unitVector(Number.NaN)],
  ['n -1', () => rng.unitVector(-1)],
]);
add('Random.gaussianVector', OptionError, /expected n to be an integer >= 0/, [
  ['n -1', () => rng.gaussianVector(-1)],
  ['n 1.5', () => rng.gaussianVector(1.5)],
  ['n undefined', () => rng.gaussianVector(bad(undefined))],
]);
add('Random.rademacherVector', OptionError, /expected n to be an integer >= 0/, [
  ['n Infinity', () => rng.rademacherVector(Number.POSITIVE_INFINITY)],
  ['n "4"', () => rng.rademacherVector(bad('4'))],
]);
add('Random.gaussianVector', SizeLimitError, /expected a length that can be allocated/, [
  ['n 2^40 (8 TiB)', () => rng.gaussianVector(2 ** 40)],
]);

/** The error `call` throws or rejects with, or undefined when it returns. */
async function failure(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('fault injection: every public numerics function, bad input', () => {
  it('has a case for every public numerics function', () => {
    const functions = new Set(cases.map((c) => c.fn));
    expect([...functions].sort()).toEqual(
      [
        'Random',
        'Random.gaussianVector',
        'Random.rademacherVector',
        'Random.unitVector',
        'blockMeanAbs',
        'blockNorms',
        'blockRatios',
        'blockStructure',
        'checkedMatvec',
        'createLayout',
        'createRandom',
        'denseMatrix',
        'denseOperator',
        'densityResolution',
        'embedBlock',
        'estimateDiagonal',
        'estimateTrace',
        'exactBlockNorms',
        'findBlock',
        'gaussNewtonGap',
        'lanczos',
        'layerCoupling',
        'layerOfBlock',
        'layerSeed',
        'layerSpectra',
        'layerSpectrum',
        'layoutFromSizes',
        'negativeCutoff',
        'operatorPrecision',
        'powerIteration',
        'restrictOperator',
        'ritzZeroTolerance',
        'scaleOperator',
        'shiftOperator',
        'sliceBlock',
        'sliceBlocks',
        'smoothDensity',
        'spectralDensity',
        'spectralMeasure',
        'spectralSummary',
        'symmetricEigen',
        'topEigenpairs',
        'tridiagonalEigen',
        'wasserstein1',
      ].sort(),
    );
    expect(cases.length).toBeGreaterThan(600);
  });

  it.each(cases.map((c) => [`${c.fn}: ${c.bad}`, c] as const))(
    '%s: a typed error naming where and what, before any product',
    async (_, c) => {
      products = 0;
      const error = await failure(c.call);
      expect(error).toBeInstanceOf(HessianProbeError);
      expect(error).toBeInstanceOf(c.error);
      const { message } = error as Error;
      expect(message).toMatch(new RegExp(`^${escapeRegExp(c.where ?? c.fn)}: .*expected`));
      expect(message).toMatch(c.what);
      expect(products).toBe(0);
    },
  );
});
