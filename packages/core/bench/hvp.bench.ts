/**
 * `pnpm bench:hvp`: the cost of hessian-probe's curvature products on tfjs models (issue 3,
 * section 4; issue 10). Models: an MLP 784-256-256-10 (tanh, softmax output, batch 256; and
 * batch 1000 on tensorflow), the 1M-parameter MLP 784-1024-256-10 (batch 1000, tensorflow) and a
 * small MNIST-sized CNN (28×28×1 → conv 8 3×3 relu → maxpool 2 → conv 16 3×3 relu → maxpool 2 →
 * flatten → dense 10 softmax; batch 32, and 256 on wasm and tensorflow only: tfjs's cpu
 * Conv2DBackpropFilter alone takes ~13 s there), compiled with categorical cross-entropy, on
 * every backend that loads here (cpu, wasm, tensorflow). Median times of:
 * - forward: `model.apply(x)` in inference mode;
 * - gradient: tfjs's first-order gradient of the same loss over the trainable weights
 *   (`tf.variableGrads`, as in training);
 * - HVP and GGN product: `modelCurvature(model, …).operator.matvec`, kind 'hessian' and 'ggn'
 *   (float64 vector in and out; self-check off: it runs once per model, not per product), by
 *   autodiff (`hvp: 'autodiff'`: double backprop, double VJP) and by the cached R-operator of
 *   the Dense-chain fast path (`hvp: 'auto'`, MLPs only: `productMethod` 'dense-chain'), the
 *   latter with a warm cache (the weights unchanged since the last product, as in an analysis)
 *   and cold (the weights rewritten with equal values before each timed product, so the cache's
 *   forward and backward pass is rebuilt: what the first product after a training step costs);
 * - FD HVP: `finiteDifferenceOperator(…).operator.matvec` (two gradients);
 * and the tensor count (`tf.memory().numTensors`) before and after all of it. On wasm the HVP,
 * the GGN product and the gradient are also timed with and without explicit transposes
 * (`withExplicitTransposes`), the "before" products computed exactly as the operators did
 * before it (the same double backprop inside `withSecondOrder`). Each quantity is timed once
 * per round, rounds interleaving the quantities after one warm-up round. The machine may be
 * shared: compare numbers from the same run.
 */
import { createRandom, type LinearOperator } from '@hessian-probe/core';
import { availableBackends, selectBackend } from '@hessian-probe/core/backends';
import { gaussNewtonVectorProduct, modelLogits, outputLoss } from '@hessian-probe/core/internal';
import {
  finiteDifferenceOperator,
  modelCurvature,
  softmaxCrossEntropy,
  trainableParams,
  withSecondOrder,
} from '@hessian-probe/core/tfjs';
import type { Tensor } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
// Building blocks of the operators, not part of the public API: the "before" variants below.
import { hessianVectorProduct, splitVector } from '../src/tfjs/hvp.js';
import { withExplicitTransposes } from '../src/tfjs/second-order.js';
import { relativeError } from '../src/tfjs/testing/models.js';
import { describeMachine, markdownTable, median } from './machine.js';

const CLASSES = 10;
/** Timed rounds per backend (after one warm-up round); tfjs's cpu kernels are slow. */
const ROUNDS = { cpu: 3, wasm: 15, tensorflow: 15 } as const;
type Backend = keyof typeof ROUNDS;

interface ModelSpec {
  readonly name: string;
  readonly inputShape: number[];
  readonly batch: number;
  readonly backends: readonly Backend[];
  /** Whether the model has a Conv2D (whose filter gradient tfjs-backend-wasm cannot compute). */
  readonly conv: boolean;
  build(): tf.LayersModel;
}

/** A tanh MLP 784-…-10 with a softmax output. */
function mlp(hidden: readonly number[]): tf.Sequential {
  return tf.sequential({
    layers: [
      ...hidden.map((units, i) =>
        tf.layers.dense({ ...(i === 0 ? { inputShape: [784] } : {}), units, activation: 'tanh' }),
      ),
      tf.layers.dense({ units: CLASSES, activation: 'softmax' }),
    ],
  });
}

const MODELS: ModelSpec[] = [
  {
    name: 'MLP 784-256-256-10 (tanh)',
    inputShape: [784],
    batch: 256,
    backends: ['cpu', 'wasm', 'tensorflow'],
    conv: false,
    build: () => mlp([256, 256]),
  },
  {
    name: 'MLP 784-256-256-10 (tanh)',
    inputShape: [784],
    batch: 1000,
    backends: ['tensorflow'],
    conv: false,
    build: () => mlp([256, 256]),
  },
  {
    name: 'MLP 784-1024-256-10 (tanh)',
    inputShape: [784],
    batch: 1000,
    backends: ['tensorflow'],
    conv: false,
    build: () => mlp([1024, 256]),
  },
  ...[32, 256].map(
    (batch): ModelSpec => ({
      name: 'CNN 28×28×1: conv 8 3×3, pool, conv 16 3×3, pool, dense 10 (relu)',
      inputShape: [28, 28, 1],
      batch,
      // tfjs's cpu Conv2DBackpropFilter takes ~13 s at batch 256: not on cpu there.
      backends: batch === 32 ? ['cpu', 'wasm', 'tensorflow'] : ['wasm', 'tensorflow'],
      conv: true,
      build: () =>
        tf.sequential({
          layers: [
            tf.layers.conv2d({
              inputShape: [28, 28, 1],
              filters: 8,
              kernelSize: 3,
              activation: 'relu',
            }),
            tf.layers.maxPooling2d({ poolSize: 2 }),
            tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
            tf.layers.maxPooling2d({ poolSize: 2 }),
            tf.layers.flatten(),
            tf.layers.dense({ units: CLASSES, activation: 'softmax' }),
          ],
        }),
    }),
  ),
];

/** What is timed on every backend. */
const COMMON = [
  'forward',
  'gradient',
  'HVP',
  'HVP dense-chain',
  'HVP dense-chain, cold',
  'GGN product',
  'GGN dense-chain',
  'FD HVP',
] as const;
/** Quantities of the Dense-chain fast path (not timed where the model does not qualify). */
const DENSE_CHAIN: readonly Quantity[] = [
  'HVP dense-chain',
  'HVP dense-chain, cold',
  'GGN dense-chain',
];
/**
 * Timed on wasm only: the same computations with tfjs's transposed wasm matmuls (before
 * `withExplicitTransposes`), and the gradient with explicit transposes. On cpu the scope changes
 * nothing (it replaces the wasm kernel only).
 */
const WASM_ONLY = [
  'HVP, tfjs transposes',
  'GGN product, tfjs transposes',
  'gradient, explicit transposes',
] as const;
type Quantity = (typeof COMMON)[number] | (typeof WASM_ONLY)[number];

interface Measured {
  readonly backend: Backend;
  readonly spec: ModelSpec;
  readonly parameters: number;
  readonly ms: Partial<Record<Quantity, number>>;
  /** Whether the gradient had to run inside withSecondOrder (wasm Conv2DBackpropFilter). */
  readonly gradientInScope: boolean;
  /** ‖after − before‖ / ‖before‖ of the HVP and GGN products (float32 rounding only). */
  readonly hvpGap: number | undefined;
  readonly ggnGap: number | undefined;
  /** ‖dense-chain − autodiff‖ / ‖autodiff‖ of the HVP and GGN products. */
  readonly denseChainHvpGap: number | undefined;
  readonly denseChainGgnGap: number | undefined;
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
}

/**
 * A curvature product computed as hessian-probe did before `withExplicitTransposes`: the same
 * double backprop inside `withSecondOrder`, with tfjs's own (transposed) wasm matmuls.
 */
function tfjsTransposesOperator(
  dim: number,
  compute: (v: Float64Array) => Tensor[],
): LinearOperator {
  return {
    dim,
    async matvec(v) {
      const flat = withSecondOrder(tf, () =>
        tf.tidy(() => tf.concat(compute(v).map((t) => tf.reshape(t, [-1])))),
      );
      try {
        return Float64Array.from(await flat.data());
      } finally {
        flat.dispose();
      }
    },
  };
}

async function measure(backend: Backend, spec: ModelSpec): Promise<Measured> {
  await selectBackend(tf, backend);
  const rng = createRandom(3);
  const model = spec.build();
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  const n = spec.batch;
  const inputSize = spec.inputShape.reduce((p, d) => p * d, 1);
  const x = tf.tensor(Float32Array.from(rng.gaussianVector(n * inputSize)), [
    n,
    ...spec.inputShape,
  ]);
  const ids = Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * CLASSES));
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(ids, 'int32'), CLASSES), 'float32'));
  const tensorsBefore = tf.memory().numTensors;

  const weights = model.trainableWeights.map((w) => w.read());
  const variables = weights as tf.Variable[];
  const loss = () => softmaxCrossEntropy(tf, modelLogits(model, x), y);
  const ce = outputLoss('softmaxCrossEntropy');
  const hessian = modelCurvature(model, { tf, x, y, selfCheck: false, hvp: 'autodiff' });
  const ggn = modelCurvature(model, { tf, x, y, kind: 'ggn', selfCheck: false, hvp: 'autodiff' });
  const hessianFast = modelCurvature(model, { tf, x, y, selfCheck: false });
  const hessianCold = modelCurvature(model, { tf, x, y, selfCheck: false });
  const ggnFast = modelCurvature(model, { tf, x, y, kind: 'ggn', selfCheck: false });
  const denseChain = hessianFast.productMethod === 'dense-chain';
  const dim = hessian.operator.dim;
  const hessianBefore = tfjsTransposesOperator(dim, (v) =>
    hessianVectorProduct(tf, weights, loss, splitVector(tf, v, weights)),
  );
  const ggnBefore = tfjsTransposesOperator(dim, (v) =>
    gaussNewtonVectorProduct(
      tf,
      weights,
      () => modelLogits(model, x),
      (z, u) => ce.hessianProduct(tf, z, y, u),
      splitVector(tf, v, weights),
    ),
  );
  const fd = finiteDifferenceOperator({ tf, params: trainableParams(model), loss });
  const v = rng.gaussianVector(dim);
  // tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter: even a first-order CNN gradient needs
  // the kernel withSecondOrder registers.
  const gradientInScope = spec.conv && tf.getKernel('Conv2DBackpropFilter', backend) === undefined;
  const gradient = async (scope: <T>(fn: () => T) => T) => {
    const { value, grads } = scope(() => tf.variableGrads(loss, variables));
    await Promise.all(Object.values(grads).map((g) => g.data()));
    tf.dispose([value, ...Object.values(grads)]);
  };
  const inScope = <T>(fn: () => T): T => (gradientInScope ? withSecondOrder(tf, fn) : fn());

  /** Equal values, new tensors (new dataIds): the fast path's cache must be rebuilt. */
  const rewriteWeights = () => {
    for (const w of variables) {
      const copy = tf.add(w, 0);
      w.assign(copy);
      copy.dispose();
    }
  };
  /** Untimed work before a timed run: a warm cache for the fast path, a cold one for 'cold'. */
  const prepare: Partial<Record<Quantity, () => Promise<void> | void>> = {
    'HVP dense-chain': async () => void (await hessianFast.operator.matvec(v)),
    'GGN dense-chain': async () => void (await ggnFast.operator.matvec(v)),
    'HVP dense-chain, cold': rewriteWeights,
  };
  const products: Partial<Record<Quantity, Float64Array>> = {};
  const run: Record<Quantity, () => Promise<void>> = {
    async forward() {
      const out = tf.tidy(() => model.apply(x, { training: false }) as Tensor);
      await out.data();
      out.dispose();
    },
    gradient: () => gradient(inScope),
    'gradient, explicit transposes': () =>
      gradient((fn) => inScope(() => withExplicitTransposes(tf, fn))),
    HVP: async () => {
      products.HVP = await hessian.operator.matvec(v);
    },
    'HVP, tfjs transposes': async () => {
      products['HVP, tfjs transposes'] = await hessianBefore.matvec(v);
    },
    'HVP dense-chain': async () => {
      products['HVP dense-chain'] = await hessianFast.operator.matvec(v);
    },
    'HVP dense-chain, cold': async () => {
      await hessianCold.operator.matvec(v);
    },
    'GGN product': async () => {
      products['GGN product'] = await ggn.operator.matvec(v);
    },
    'GGN dense-chain': async () => {
      products['GGN dense-chain'] = await ggnFast.operator.matvec(v);
    },
    'GGN product, tfjs transposes': async () => {
      products['GGN product, tfjs transposes'] = await ggnBefore.matvec(v);
    },
    'FD HVP': async () => {
      await fd.operator.matvec(v);
    },
  };
  const quantities: Quantity[] = (
    backend === 'wasm' ? [...COMMON, ...WASM_ONLY] : [...COMMON]
  ).filter((q) => denseChain || !DENSE_CHAIN.includes(q));
  const times = new Map<Quantity, number[]>(quantities.map((q) => [q, []]));
  for (let round = 0; round <= ROUNDS[backend]; round++) {
    for (const q of quantities) {
      await prepare[q]?.();
      const start = performance.now();
      await run[q]();
      if (round > 0) times.get(q)!.push(performance.now() - start);
    }
  }
  const gap = (a: Quantity, b: Quantity) =>
    products[a] && products[b] ? relativeError(products[a], products[b]) : undefined;
  const result: Measured = {
    backend,
    spec,
    parameters: dim,
    ms: Object.fromEntries(quantities.map((q) => [q, median(times.get(q)!)])),
    gradientInScope,
    hvpGap: gap('HVP', 'HVP, tfjs transposes'),
    ggnGap: gap('GGN product', 'GGN product, tfjs transposes'),
    denseChainHvpGap: gap('HVP dense-chain', 'HVP'),
    denseChainGgnGap: gap('GGN dense-chain', 'GGN product'),
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
  };
  tf.dispose([x, y]);
  model.dispose();
  console.error(`measured ${backend} ${spec.name}`);
  return result;
}

const ms = (t: number) => (t >= 100 ? t.toFixed(0) : t >= 10 ? t.toFixed(1) : t.toFixed(2));

function table(results: readonly Measured[]): string {
  const header = [
    'backend',
    'model',
    'params',
    'batch',
    'forward',
    'gradient',
    'HVP autodiff',
    'HVP dense-chain (cold)',
    'GGN autodiff',
    'GGN dense-chain',
    'FD HVP',
    'HVP / gradient: autodiff',
    'dense-chain (cold)',
    'GGN / gradient: autodiff',
    'dense-chain',
    'dense-chain vs autodiff (HVP, GGN)',
    'tensors before → after',
  ];
  const rows = results.map((r) => {
    const t = r.ms as Partial<Record<(typeof COMMON)[number], number>>;
    const time = (q: (typeof COMMON)[number]) => (t[q] === undefined ? '–' : ms(t[q]));
    const ratio = (q: (typeof COMMON)[number]) =>
      t[q] === undefined ? '–' : (t[q] / t.gradient!).toFixed(2);
    const fast = t['HVP dense-chain'] !== undefined;
    return [
      r.backend,
      r.spec.name,
      r.parameters.toLocaleString('en-US'),
      String(r.spec.batch),
      time('forward'),
      `${time('gradient')}${r.gradientInScope ? ' *' : ''}`,
      time('HVP'),
      fast ? `${time('HVP dense-chain')} (${time('HVP dense-chain, cold')})` : '–',
      time('GGN product'),
      time('GGN dense-chain'),
      time('FD HVP'),
      ratio('HVP'),
      fast ? `${ratio('HVP dense-chain')} (${ratio('HVP dense-chain, cold')})` : '–',
      ratio('GGN product'),
      ratio('GGN dense-chain'),
      fast
        ? `${r.denseChainHvpGap?.toExponential(1)}, ${r.denseChainGgnGap?.toExponential(1)}`
        : '–',
      `${r.tensorsBefore} → ${r.tensorsAfter}`,
    ];
  });
  return markdownTable(header, rows);
}

function transposeTable(results: readonly Measured[]): string {
  const header = [
    'model',
    'gradient',
    'HVP autodiff',
    'GGN autodiff',
    'HVP autodiff / gradient',
    'product gap (HVP, GGN)',
  ];
  const change = (before: number, after: number) =>
    `${ms(before)} → ${ms(after)} (${(before / after).toFixed(1)}×)`;
  const rows = results
    .filter((r) => r.backend === 'wasm')
    .map((r) => {
      const t = r.ms as Record<Quantity, number>;
      return [
        `${r.spec.name}, batch ${r.spec.batch}`,
        change(t.gradient, t['gradient, explicit transposes']),
        change(t['HVP, tfjs transposes'], t.HVP),
        change(t['GGN product, tfjs transposes'], t['GGN product']),
        `${(t['HVP, tfjs transposes'] / t.gradient).toFixed(2)} → ${(t.HVP / t['gradient, explicit transposes']).toFixed(2)}`,
        `${r.hvpGap?.toExponential(1)}, ${r.ggnGap?.toExponential(1)}`,
      ];
    });
  return markdownTable(header, rows);
}

async function main(): Promise<void> {
  const started = performance.now();
  const results: Measured[] = [];
  const available = await availableBackends(tf);
  for (const backend of (['cpu', 'wasm', 'tensorflow'] as const).filter((b) =>
    available.includes(b),
  )) {
    for (const spec of MODELS.filter((m) => m.backends.includes(backend))) {
      results.push(await measure(backend, spec));
    }
  }
  console.log('## hessian-probe tfjs HVP benchmark');
  console.log('');
  console.log(`Machine: ${describeMachine()}; @tensorflow/tfjs ${tf.version.tfjs}.`);
  console.log('');
  console.log(
    `Median ms over ${ROUNDS.cpu} (cpu) / ${ROUNDS.wasm} (wasm, tensorflow) rounds after a warm-up. HVP and GGN product: modelCurvature(…).operator.matvec (float64 in and out; explicit transposes on wasm), by autodiff (hvp: 'autodiff') and by the Dense-chain fast path (MLPs; warm cache, and in parentheses cold: weights rewritten before the product, so its forward and backward pass are rebuilt). Gradient: tfjs's first-order gradient of the same loss, as in training (* inside withSecondOrder: tfjs-backend-wasm has no Conv2DBackpropFilter kernel). FD HVP: finiteDifferenceOperator (two gradients). dense-chain vs autodiff: ‖fast − autodiff‖ / ‖autodiff‖ of the same product.`,
  );
  console.log('');
  console.log(table(results));
  console.log('');
  console.log(
    '### wasm: tfjs transposed matmuls → explicit transposes (same process, same vector)',
  );
  console.log('');
  console.log(transposeTable(results));
  console.log('');
  console.log(
    'HVP / gradient: tfjs HVP over tfjs gradient → HVP over gradient, both with explicit transposes. Product gap: ‖explicit − tfjs‖ / ‖tfjs‖ (float32 rounding only).',
  );
  console.log(
    'Goals: HVP / gradient ≤ 2.5 on wasm (issue 3), ≤ 2.0 on tensorflow (issue 10, "native speed"); GGN product ≤ HVP.',
  );
  console.log(`Total ${((performance.now() - started) / 1000).toFixed(0)} s.`);
}

await main();
