import type { LayersModel } from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createRandom } from '../random.js';
import { arithmeticTolerance, checkOperatorContract } from '../testing/operator-contract.js';
import { norm } from '../vector.js';
import { DENSE_CHAIN_ACTIVATIONS, denseChainPlan, denseChainProducts } from './dense-chain-hvp.js';
import { flatProduct, splitVector } from './hvp.js';
import { type LossName, outputLoss } from './losses.js';
import { type KerasLossName, type ModelCurvatureOptions, modelCurvature } from './model.js';
import { selfCheckResult } from './self-check.js';
import { BACKENDS, tf, useBackend } from './testing/backends.js';
import {
  finiteDifferenceHessian,
  float32Values,
  type ReferenceActivation,
  type ReferenceLoss,
  referenceMlp,
} from './testing/float64.js';
import {
  type ForwardLayer,
  gaussNewtonMatrix,
  lossHessian,
  referenceNetwork,
} from './testing/forward64.js';
import { mlpHessianVectorProduct64 } from './testing/hvp64.js';
import {
  gaussianData,
  oneHotLabels,
  saturatedClassifier,
  setSeededWeights,
} from './testing/models.js';

// float32 arithmetic against float64 references: the contract's measure ‖Av − A_ref v‖/(‖A_ref‖_F‖v‖).
// Fast path against autodiff: two float32 operators, each within TOLERANCE of the same matrix.
const TOLERANCE = arithmeticTolerance.float32;
const N = 6;
const D = 3;
const HIDDEN = 4;
const C = 3;
const VECTORS = 3;

type Activation = NonNullable<Parameters<typeof tf.layers.dense>[0]['activation']>;

/** Largest differences seen per backend, printed at the end (the report quotes them). */
const worst = new Map<
  string,
  { reference: number; autodiff: number; autodiffRelative: number; saturated: number }
>();
function record(
  backend: string,
  key: 'reference' | 'autodiff' | 'autodiffRelative' | 'saturated',
  value: number,
) {
  const w = worst.get(backend) ?? { reference: 0, autodiff: 0, autodiffRelative: 0, saturated: 0 };
  w[key] = Math.max(w[key], value);
  worst.set(backend, w);
}
afterAll(() => {
  for (const [backend, w] of worst) {
    console.info(
      `[${backend}] dense-chain worst: vs float64 ${w.reference.toExponential(2)}, vs autodiff ${w.autodiff.toExponential(2)} (‖·‖_F-relative), ${w.autodiffRelative.toExponential(2)} (‖Av‖-relative); saturated softmax vs float64 ${w.saturated.toExponential(2)} (‖Hv‖-relative)`,
    );
  }
});

function frobenius(m: Float64Array): number {
  return norm(m);
}

function times(m: Float64Array, v: Float64Array): Float64Array {
  const n = v.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += m[i * n + j] * v[j];
    out[i] = s;
  }
  return out;
}

function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

function targetsFor(loss: ReferenceLoss, seed: number, n = N): Float64Array {
  if (loss === 'mse') return gaussianData(seed, n, C);
  if (loss === 'binaryCrossEntropy') return gaussianData(seed, n, C).map((v) => (v > 0 ? 1 : 0));
  return oneHotLabels(n, C).dense;
}

/**
 * The float64 Hessian: by finite differences of the analytic gradient where the float64 MLP
 * has every layer (h = 2e-5: a stencil does not straddle softsign's jump of f″ at 0 unless a
 * pre-activation is within ~1e-4 of it), else by the loss stencils of `lossHessian`.
 */
function hessianReference(
  c: Case,
  inputSize: number,
  x: Float64Array,
  targets: Float64Array,
  n: number,
  theta: Float64Array,
  net: ReturnType<typeof referenceNetwork>,
): Float64Array {
  const dense = c.reference.every(
    (l) => l.type === 'dense' && l.useBias !== false && l.activation !== 'gelu',
  );
  if (!dense) return lossHessian(net, targets, c.refLoss, theta);
  let nIn = inputSize;
  const layers = c.reference.map((l) => {
    const layer = l as Extract<ForwardLayer, { type: 'dense' }>;
    const out = { nIn, nOut: layer.units, activation: layer.activation as ReferenceActivation };
    nIn = layer.units;
    return out;
  });
  return finiteDifferenceHessian(referenceMlp(layers, x, targets, n, c.refLoss), theta);
}

/** Float64 H and G of a reference network, found once per case (and seed) for all backends. */
const references = new Map<string, { seed: number; h: Float64Array; g: Float64Array }>();

interface Case {
  readonly name: string;
  readonly build: () => LayersModel;
  /** The float64 network of the logits (what the loss is applied to). */
  readonly reference: readonly ForwardLayer[];
  readonly inputShape: readonly number[];
  readonly refLoss: ReferenceLoss;
  readonly loss?: LossName | KerasLossName;
  /** Labels as class ids: 'flat' [N] or 'column' [N, 1]. */
  readonly sparse?: 'flat' | 'column';
  readonly n?: number;
  readonly batchSize?: number;
}

/**
 * Compares the fast path (Hessian and Gauss–Newton products of `modelCurvature` with 'auto')
 * with the float64 references and with the autodiff path, on seeded Gaussian vectors.
 */
async function compare(backend: string, c: Case, baseSeed: number) {
  await useBackend(backend as (typeof BACKENDS)[number]);
  const n = c.n ?? N;
  const inputSize = c.inputShape.reduce((p, d) => p * d, 1);
  const x = gaussianData(baseSeed + 1, n, inputSize);
  const targets = targetsFor(c.refLoss, baseSeed + 2, n);
  const model = c.build();
  const key = `${c.name}@${baseSeed}`;
  let ref = references.get(key);
  if (ref === undefined) {
    // Kinked activations: move to the next seed while a stencil of the reference crosses a kink.
    for (let seed = baseSeed; seed < baseSeed + 20 && ref === undefined; seed++) {
      const theta = setSeededWeights(tf, model, seed, 1.5);
      const net = referenceNetwork(c.reference, inputSize, x, n);
      try {
        const h = hessianReference(c, inputSize, x, targets, n, theta, net);
        ref = { seed, h, g: gaussNewtonMatrix(net, targets, c.refLoss, theta) };
      } catch {}
    }
    if (ref === undefined) throw new Error(`no kink-free seed for ${c.name}`);
    references.set(key, ref);
  }
  setSeededWeights(tf, model, ref.seed, 1.5);
  const xs = tf.tensor(Float32Array.from(x), [n, ...c.inputShape]);
  const labels = oneHotLabels(n, C);
  const ys =
    c.sparse === 'flat'
      ? tf.tensor1d(Float32Array.from(labels.ids))
      : c.sparse === 'column'
        ? tf.tensor2d(labels.ids, [n, 1], 'int32')
        : tf.tensor2d(Float32Array.from(targets), [n, C]);
  const options: ModelCurvatureOptions = {
    tf,
    x: xs,
    y: ys,
    selfCheck: false,
    ...(c.loss ? { loss: c.loss } : {}),
    ...(c.batchSize ? { batchSize: c.batchSize } : {}),
  };
  const rng = createRandom(baseSeed + 3);
  const dim = model.countParams();
  const vectors = Array.from({ length: VECTORS }, () => rng.gaussianVector(dim));
  for (const [kind, matrix] of [
    ['hessian', ref.h],
    ['ggn', ref.g],
  ] as const) {
    const fast = modelCurvature(model, { ...options, kind });
    const autodiff = modelCurvature(model, { ...options, kind, hvp: 'autodiff' });
    expect(fast.productMethod).toBe('dense-chain');
    expect(autodiff.productMethod).toBe('autodiff');
    const scale = frobenius(matrix);
    for (const v of vectors) {
      const f = await fast.operator.matvec(v);
      const a = await autodiff.operator.matvec(v);
      const exact = times(matrix, v);
      const vsReference = distance(f, exact) / (scale * norm(v));
      const autodiffVsReference = distance(a, exact) / (scale * norm(v));
      const vsAutodiff = distance(f, a) / (scale * norm(v));
      record(backend, 'reference', vsReference);
      record(backend, 'autodiff', vsAutodiff);
      record(backend, 'autodiffRelative', distance(f, a) / norm(a));
      expect(autodiffVsReference).toBeLessThan(TOLERANCE);
      expect(vsReference).toBeLessThan(TOLERANCE);
      expect(vsAutodiff).toBeLessThan(2 * TOLERANCE);
    }
  }
  tf.dispose([xs, ys]);
  model.dispose();
}

const ACTIVATIONS = [...DENSE_CHAIN_ACTIVATIONS];
const LOSSES: [LossName, ReferenceLoss][] = [
  ['softmaxCrossEntropy', 'softmaxCrossEntropy'],
  ['meanSquaredError', 'mse'],
  ['binaryCrossEntropy', 'binaryCrossEntropy'],
];

/** Dense(D→4, act) → Dense(4→4, act) → Dense(4→C, final). */
function mlpCase(
  activation: string,
  refLoss: ReferenceLoss,
  extra: Partial<Case> & { final?: 'softmax' | 'sigmoid'; refFinal?: 'sigmoid' } = {},
): Case {
  const act = activation as Activation;
  const refAct = activation as 'tanh';
  return {
    name: `${activation}/${refLoss}/${JSON.stringify(extra)}`,
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.dense({ inputShape: [D], units: HIDDEN, activation: act }),
          tf.layers.dense({ units: HIDDEN, activation: act }),
          tf.layers.dense({ units: C, ...(extra.final ? { activation: extra.final } : {}) }),
        ],
      }),
    reference: [
      { type: 'dense', units: HIDDEN, activation: refAct },
      { type: 'dense', units: HIDDEN, activation: refAct },
      { type: 'dense', units: C, activation: extra.refFinal ?? 'linear' },
    ],
    inputShape: [D],
    refLoss,
    ...extra,
  };
}

describe.each(BACKENDS)('dense-chain products on %s', (backend) => {
  it.each(ACTIVATIONS.flatMap((a) => LOSSES.map(([name, ref]) => [a, name, ref] as const)))(
    'equal float64 and autodiff for Dense(%s) layers with %s (Hessian and GGN)',
    async (activation, lossName, refLoss) => {
      await compare(backend, mlpCase(activation, refLoss, { loss: lossName }), 1000);
    },
  );

  it.each([
    ['categoricalCrossentropy, final Dense softmax', 'categoricalCrossentropy', 'softmax', false],
    [
      'sparseCategoricalCrossentropy, [N] float ids',
      'sparseCategoricalCrossentropy',
      'softmax',
      'flat',
    ],
    ['softmaxCrossEntropy, [N, 1] int32 ids', 'softmaxCrossEntropy', 'softmax', 'column'],
    ['binaryCrossentropy, final Dense sigmoid', 'binaryCrossentropy', 'sigmoid', false],
  ] as const)('takes the final activation off for %s', async (_label, loss, final, sparse) => {
    const refLoss = final === 'sigmoid' ? 'binaryCrossEntropy' : 'softmaxCrossEntropy';
    await compare(
      backend,
      mlpCase('tanh', refLoss, { loss, final, ...(sparse ? { sparse } : {}) }),
      2000,
    );
  });

  it('keeps a final sigmoid that MSE does not take off (its f″ enters the output layer)', async () => {
    await compare(
      backend,
      mlpCase('softplus', 'mse', {
        loss: 'meanSquaredError',
        final: 'sigmoid',
        refFinal: 'sigmoid',
      }),
      2100,
    );
  });

  it.each([
    ['meanSquaredError', 'mse'],
    ['softmaxCrossEntropy', 'softmaxCrossEntropy'],
  ] as const)(
    'handles Flatten, Dropout, Activation layers (composed with Dense activations), no bias, a final Softmax layer (%s)',
    async (loss, refLoss) => {
      const softmaxLayer = loss === 'softmaxCrossEntropy';
      await compare(
        backend,
        {
          name: `layers/${loss}`,
          build: () =>
            tf.sequential({
              layers: [
                tf.layers.flatten({ inputShape: [2, 3] }),
                tf.layers.dense({ units: HIDDEN, activation: 'tanh', useBias: false }),
                tf.layers.activation({ activation: 'sigmoid' }),
                tf.layers.dropout({ rate: 0.5 }),
                tf.layers.dense({ units: HIDDEN }),
                tf.layers.activation({ activation: 'elu' }),
                tf.layers.dense({ units: C, useBias: !softmaxLayer }),
                ...(softmaxLayer ? [tf.layers.softmax()] : []),
              ],
            }),
          reference: [
            { type: 'dense', units: HIDDEN, activation: 'tanh', useBias: false },
            { type: 'activation', activation: 'sigmoid' },
            { type: 'dense', units: HIDDEN, activation: 'linear' },
            { type: 'activation', activation: 'elu' },
            { type: 'dense', units: C, activation: 'linear', useBias: !softmaxLayer },
          ],
          inputShape: [2, 3],
          refLoss,
          loss,
        },
        3000,
      );
    },
  );

  it('sums chunk products (batchSize < N) like the autodiff path and the float64 matrix', async () => {
    await compare(
      backend,
      mlpCase('tanh', 'softmaxCrossEntropy', {
        loss: 'softmaxCrossEntropy',
        n: 8,
        batchSize: 3,
        sparse: 'flat',
      }),
      4000,
    );
  });

  it('meets the operator contract (Hessian and GGN)', async () => {
    await compare(backend, mlpCase('gelu', 'mse', { loss: 'meanSquaredError' }), 5000);
    const c = mlpCase('gelu', 'mse', { loss: 'meanSquaredError' });
    const ref = references.get(`${c.name}@5000`)!;
    const model = c.build();
    setSeededWeights(tf, model, ref.seed, 1.5);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(5001, N, D)), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(targetsFor('mse', 5002)), [N, C]);
    for (const [kind, matrix] of [
      ['hessian', ref.h],
      ['ggn', ref.g],
    ] as const) {
      const { operator } = modelCurvature(model, {
        tf,
        x: xs,
        y: ys,
        loss: 'meanSquaredError',
        kind,
        selfCheck: false,
      });
      await checkOperatorContract(operator, matrix, { tolerance: TOLERANCE, probes: 2 });
    }
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('rebuilds its cache when the weights change, and leaks no tensors', async () => {
    await useBackend(backend);
    const model = mlpCase('tanh', 'mse').build();
    const weights = (seed: number) => {
      const rng = createRandom(seed);
      for (const w of model.trainableWeights) {
        const t = tf.tensor(
          Float32Array.from(rng.gaussianVector(w.read().size)),
          w.shape as number[],
        );
        w.write(t);
        t.dispose();
      }
    };
    weights(6000);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(6001, 7, D)), [7, D]);
    const ys = tf.tensor2d(Float32Array.from(gaussianData(6002, 7, C)), [7, C]);
    const before = tf.memory().numTensors;
    const options = { tf, x: xs, y: ys, loss: 'meanSquaredError', batchSize: 4 } as const;
    const v = createRandom(6003).gaussianVector(model.countParams());
    for (const kind of ['hessian', 'ggn'] as const) {
      weights(6000);
      const fast = modelCurvature(model, { ...options, kind, selfCheck: false });
      const first = await fast.operator.matvec(v);
      weights(6004); // new values: every Variable gets a new dataId
      const second = await fast.operator.matvec(v);
      const autodiff = modelCurvature(model, {
        ...options,
        kind,
        hvp: 'autodiff',
        selfCheck: false,
      });
      const expected = await autodiff.operator.matvec(v);
      expect(distance(second, expected) / norm(expected)).toBeLessThan(1e-4);
      expect(distance(second, first) / norm(first)).toBeGreaterThan(1e-2);
      // The same values written again (x + 0: new data, new dataId): rebuilt, same products.
      for (const w of model.trainableWeights) {
        const t = tf.add(w.read(), 0);
        w.write(t);
        t.dispose();
      }
      for (let i = 0; i < 20; i++) expect(await fast.operator.matvec(v)).toEqual(second);
    }
    weights(6000);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('self-checks the fast path; an operator forced onto autodiff has its own check', async () => {
    await useBackend(backend);
    const model = mlpCase('tanh', 'mse').build();
    setSeededWeights(tf, model, 7000, 1.5);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(7001, N, D)), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(gaussianData(7002, N, C)), [N, C]);
    const options = { tf, x: xs, y: ys, loss: 'meanSquaredError' } as const;
    const v = new Float64Array(model.countParams()).fill(1);
    const fast = modelCurvature(model, options);
    expect(fast.productMethod).toBe('dense-chain');
    await fast.operator.matvec(v);
    const first = selfCheckResult(model)!;
    const result = await first;
    expect(result.checked).toBeGreaterThanOrEqual(1);
    expect(result.relativeError).toBeLessThanOrEqual(result.allowed);
    await modelCurvature(model, { ...options, hvp: 'autodiff' }).operator.matvec(v);
    expect(selfCheckResult(model)).toBe(first);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  // A fitted classifier's softmax saturates (p ≈ 1 − e^{−margin}): the generalization survey's
  // tanh MLP on 60 digits failed its self-check (0.5 % error in the output layers, float64
  // measured) while 1 − p was formed in float32 in the loss Hessian.
  it('keeps float32 accuracy on a saturated softmax (margins >= 10), fast path and autodiff', async () => {
    await useBackend(backend);
    const { model, x, xs, ys, labels, theta, layers } = saturatedClassifier(tf, 7100);
    // The float64 reference is this test's judge: the self-check (on by default) must halve its
    // step 4 times here (truncation error 0.9–2.7 relative at the default step: the curvature
    // varies like e^{−margin}) and then resolves Hv to ~1e-2 only (self-check.test.ts).
    const options = { tf, x: xs, y: ys } as const;
    const fast = modelCurvature(model, options);
    const autodiff = modelCurvature(model, { ...options, hvp: 'autodiff' });
    expect(fast.productMethod).toBe('dense-chain');
    const rng = createRandom(7102);
    for (let k = 0; k < VECTORS; k++) {
      const v = float32Values(rng.gaussianVector(theta.length));
      const reference = mlpHessianVectorProduct64(layers, x, labels, theta, v).product;
      for (const [name, operator] of [
        ['dense-chain', fast.operator],
        ['autodiff', autodiff.operator],
      ] as const) {
        const hv = await operator.matvec(v);
        const error = norm(hv.map((h, i) => h - reference[i])) / norm(reference);
        record(backend, 'saturated', error);
        if (!(error <= TOLERANCE)) {
          throw new Error(
            `${name} Hv on a saturated softmax: expected within ${TOLERANCE.toExponential(2)} of float64, got ${error.toExponential(2)} (vector ${k})`,
          );
        }
      }
    }
    tf.dispose([xs, ys]);
    model.dispose();
  });
});

describe('dense-chain products: cache and matrix products (cpu)', () => {
  it('caches per chunk, respects maxCacheBytes and clear(), and multiplies 6 (Hessian) / 4 (GGN) times per layer', async () => {
    await useBackend('cpu');
    const model = mlpCase('tanh', 'mse').build();
    setSeededWeights(tf, model, 8000, 1.5);
    const xs = tf.tensor2d(Float32Array.from(gaussianData(8001, N, D)), [N, D]);
    const ys = tf.tensor2d(Float32Array.from(gaussianData(8002, N, C)), [N, C]);
    const { plan } = denseChainPlan(model, undefined, xs);
    expect(plan?.layers.map((l) => l.curvature)).toEqual(['smooth', 'smooth', 'linear']);
    const weights = model.trainableWeights.map((w) => w.read());
    const dim = model.countParams();
    const v = createRandom(8003).gaussianVector(dim);
    const loss = outputLoss('meanSquaredError');
    const run = (products: ReturnType<typeof denseChainProducts>, kind: 'hessian' | 'ggn') =>
      flatProduct(tf, v, dim, 'test', () =>
        products.product(kind, 'chunk', xs, ys, weights, splitVector(tf, v, weights)),
      );
    const cached = denseChainProducts(tf, plan!, loss);
    const uncached = denseChainProducts(tf, plan!, loss, 0);
    const hv = await run(cached, 'hessian');
    // a_1, a_2; f′ and c of the two tanh layers; δ of all three; the output o (float32).
    expect(cached.cachedBytes()).toBe(4 * N * (2 * HIDDEN * 3 + (2 * HIDDEN + C) + C));
    expect(await run(uncached, 'hessian')).toEqual(hv);
    expect(uncached.cachedBytes()).toBe(0);
    const counts: Record<string, number> = {};
    for (const kind of ['hessian', 'ggn'] as const) {
      const info = await tf.profile(() => run(cached, kind).then(() => tf.scalar(0)));
      counts[kind] = info.kernels.filter((k) => k.name === 'BatchMatMul').length;
      tf.dispose(info.result);
    }
    // Three layers: 2 + 6 + 6 (Hessian), 2 + 4 + 4 (GGN).
    expect(counts).toEqual({ hessian: 14, ggn: 10 });
    cached.clear();
    expect(cached.cachedBytes()).toBe(0);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('leaves to autodiff what it cannot multiply, with the reason', async () => {
    await useBackend('cpu');
    const xs = tf.zeros([2, D]);
    const ys = tf.zeros([2, C]);
    const dense = (units: number, activation?: Activation) =>
      tf.layers.dense({ units, ...(activation ? { activation } : {}) });
    const input = () => tf.input({ shape: [D] });
    const shared = () => {
      const i = input();
      const d = tf.layers.dense({ units: D, activation: 'tanh' });
      const out = dense(C).apply(d.apply(d.apply(i))) as ReturnType<typeof tf.input>;
      return tf.model({ inputs: i, outputs: out });
    };
    const frozen = () => {
      const m = tf.sequential({
        layers: [tf.layers.dense({ inputShape: [D], units: HIDDEN }), dense(C)],
      });
      m.layers[0].trainable = false;
      return m;
    };
    const nested = () => {
      const i = input();
      const inner = tf.sequential({ layers: [tf.layers.dense({ inputShape: [D], units: C })] });
      return tf.model({ inputs: i, outputs: inner.apply(i) as ReturnType<typeof tf.input> });
    };
    const seq = (...layers: LayersModel['layers']) =>
      tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [D] }), ...layers] });
    const cases: [string, () => LayersModel, LossName, RegExp][] = [
      ['a shared layer', shared, 'meanSquaredError', /more than once/],
      ['a frozen layer', frozen, 'meanSquaredError', /trainable weights/],
      ['a nested model', nested, 'meanSquaredError', /nested model/],
      ['softmax under MSE', () => seq(dense(C, 'softmax')), 'meanSquaredError', /softmax/],
      [
        'LeakyReLU',
        () => seq(dense(HIDDEN), tf.layers.leakyReLU(), dense(C)),
        'meanSquaredError',
        /LeakyReLU/,
      ],
      [
        'BatchNormalization',
        () => seq(dense(HIDDEN), tf.layers.batchNormalization(), dense(C)),
        'meanSquaredError',
        /BatchNormalization/,
      ],
    ];
    for (const [label, build, loss, reason] of cases) {
      const model = build();
      const qualification = denseChainPlan(model, undefined, xs);
      expect(qualification.reason, label).toMatch(reason);
      const curvature = modelCurvature(model, { tf, x: xs, y: ys, loss, selfCheck: false });
      expect(curvature.productMethod, label).toBe('autodiff');
      model.dispose();
    }
    const cnn = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3 }),
        tf.layers.flatten(),
        dense(C),
      ],
    });
    const images = tf.zeros([2, 4, 4, 1]);
    expect(denseChainPlan(cnn, undefined, images).reason).toMatch(/Conv2D/);
    const ints = tf.zeros([2, D], 'int32');
    expect(denseChainPlan(seq(dense(C)), undefined, ints).reason).toMatch(/int32/);
    const hidden = tf.zeros([2, 2, D]);
    expect(denseChainPlan(seq(dense(C)), undefined, hidden).reason).toMatch(/rank 3/);
    tf.dispose([xs, ys, images, ints, hidden]);
    cnn.dispose();
  });
});
