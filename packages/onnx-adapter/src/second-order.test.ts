import { arithmeticTolerance, checkOperatorContract } from '@hessian-probe/core/testing';
import { describe, expect, it } from 'vitest';
import { onnxCurvature } from './curvature.js';
import { defaultParameters } from './graph.js';
import { parseModel } from './proto.js';
import { BACKENDS, useBackend } from './testing/backends.js';
import {
  add,
  constant,
  crossEntropy,
  type Dual,
  div,
  erf,
  exp,
  hyperDualHessian,
  lift,
  log,
  mul,
  scale,
  softmax,
  sqrt,
  sub,
  sum,
  tanh,
} from './testing/hyperdual.js';
import { buildModel, normals, type TensorSpec } from './testing/models.js';

// Exact second derivatives of the new differentiable operators, each model against a float64
// Hessian computed with hyper-dual numbers (exact to float64 rounding) from a direct float64
// implementation of the same graph at the same float32 parameter values. The converted graph
// computes in float32: its Hessian-vector products agree to a few hundred float32 ulps relative
// to ‖H‖_F (arithmeticTolerance.float32 = 256 · 2⁻²⁴ ≈ 1.5e-5); a missing second-order term (a
// gradient that reads a saved output, an op the tape cannot see through) is off by O(10 %).
const TOLERANCE = arithmeticTolerance.float32;
// Forward outputs against onnxruntime: a few float32 ulps of values of order 1 through ≤ 16
// operations; 1e-5 bounds that with room, and is 10x below the conversion's refusal tolerance.
const FORWARD_TOLERANCE = 1e-5;

const f32 = Math.fround;
type Init = TensorSpec & { name: string };
const param = (name: string, dims: number[], seed: number, scale_ = 0.5, shift = 0): Init => ({
  name,
  dims,
  data: normals(
    seed,
    dims.reduce((a, b) => a * b, 1),
    scale_,
  ).map((v) => v + shift),
});
const float = (name: string, dims: number[], data: number[]): Init => ({ name, dims, data });
const int64 = (name: string, dims: number[], data: number[]): Init => ({
  name,
  dims,
  data,
  dtype: 'int64',
});

/** Parameters of `params` (in order) as hyper-dual slices by initializer name. */
function slices(inits: readonly Init[], names: readonly string[], p: readonly Dual[]) {
  const out: Record<string, readonly Dual[]> = {};
  let offset = 0;
  for (const name of names) {
    const size = inits.find((t) => t.name === name)!.data.length;
    out[name] = p.slice(offset, offset + size);
    offset += size;
  }
  return out;
}

function theta(inits: readonly Init[], names: readonly string[]): Float64Array {
  return Float64Array.from(names.flatMap((n) => Array.from(inits.find((t) => t.name === n)!.data)));
}

/** Σ_c a[c] · w[c · cols + k] for k < cols: a row vector times a row-major matrix. */
function vecMat(a: readonly Dual[], w: readonly Dual[], cols: number): Dual[] {
  return Array.from({ length: cols }, (_, k) => sum(a.map((v, c) => mul(v, w[c * cols + k]))));
}

/** ½x(1 + erf(x/√2)) as exporters write it: Div by the float32 √2, Erf, Add 1, Mul, Mul ½. */
const geluErf = (x: Dual): Dual =>
  scale(mul(x, add(erf(div(x, constant(f32(Math.SQRT2)))), constant(1))), 0.5);

// ---------------------------------------------------------------------------------------------
// A: a causal self-attention block on token embeddings (Gather, Add, LayerNormalization,
// bias-free MatMul, Transpose, Add of a −∞ mask, Div, LessOrEqual → Where with −∞, Softmax,
// residual Add, GELU in its Erf form, Reshape), cross-entropy on next-token logits.
const [N, T, V, D] = [2, 3, 5, 4];
const tokens = [4, 0, 2, 1, 1, 3];
const nextTokens = Int32Array.from([0, 2, 1, 1, 3, 4]);
const attentionInits: Init[] = [
  param('emb', [V, D], 1, 0.8),
  param('pos', [T, D], 2, 0.3),
  param('ln_g', [D], 3, 0.2, 1),
  param('ln_b', [D], 4, 0.1),
  param('wq', [D, D], 5),
  param('wk', [D, D], 6),
  param('wv', [D, D], 7),
  param('wout', [D, V], 8),
  float('sqrt_d', [], [2]),
  int64('cols', [1, T], [0, 1, 2]),
  int64('rows', [T, 1], [0, 1, 2]),
  float('ninf', [], [Number.NEGATIVE_INFINITY]),
  float(
    'mask',
    [T, T],
    Array.from({ length: T * T }, (_, i) =>
      i % T > Math.floor(i / T) ? Number.NEGATIVE_INFINITY : 0,
    ),
  ),
  float('sqrt2', [], [Math.SQRT2]),
  float('one', [], [1]),
  float('half', [], [0.5]),
  int64('flat', [2], [-1, V]),
];
const ATTENTION_PARAMS = ['emb', 'pos', 'ln_g', 'ln_b', 'wq', 'wk', 'wv', 'wout'];
const LN_EPSILON = 1e-5;

function attentionModel(): Uint8Array {
  return buildModel({
    opset: 17,
    nodes: [
      { op: 'Gather', inputs: ['emb', 'tokens'], outputs: ['e'] },
      { op: 'Add', inputs: ['e', 'pos'], outputs: ['h'] },
      {
        op: 'LayerNormalization',
        inputs: ['h', 'ln_g', 'ln_b'],
        outputs: ['ln'],
        attrs: { epsilon: { f: LN_EPSILON } },
      },
      { op: 'MatMul', inputs: ['ln', 'wq'], outputs: ['q'] },
      { op: 'MatMul', inputs: ['ln', 'wk'], outputs: ['k'] },
      { op: 'MatMul', inputs: ['ln', 'wv'], outputs: ['v'] },
      { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attrs: { perm: { ints: [0, 2, 1] } } },
      { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['s'] },
      { op: 'Add', inputs: ['s', 'mask'], outputs: ['s2'] },
      { op: 'Div', inputs: ['s2', 'sqrt_d'], outputs: ['s3'] },
      { op: 'LessOrEqual', inputs: ['cols', 'rows'], outputs: ['allowed'] },
      { op: 'Where', inputs: ['allowed', 's3', 'ninf'], outputs: ['s4'] },
      { op: 'Softmax', inputs: ['s4'], outputs: ['a'], attrs: { axis: { i: -1 } } },
      { op: 'MatMul', inputs: ['a', 'v'], outputs: ['o'] },
      { op: 'Add', inputs: ['h', 'o'], outputs: ['r'] },
      { op: 'Div', inputs: ['r', 'sqrt2'], outputs: ['u'] },
      { op: 'Erf', inputs: ['u'], outputs: ['eu'] },
      { op: 'Add', inputs: ['eu', 'one'], outputs: ['eu1'] },
      { op: 'Mul', inputs: ['r', 'eu1'], outputs: ['m'] },
      { op: 'Mul', inputs: ['m', 'half'], outputs: ['g'] },
      { op: 'MatMul', inputs: ['g', 'wout'], outputs: ['logits'] },
      { op: 'Reshape', inputs: ['logits', 'flat'], outputs: ['y'] },
    ],
    initializers: attentionInits,
    inputs: [{ name: 'tokens', shape: [N, T], dtype: 'int64' }],
    outputs: ['y'],
  });
}

/** Layer normalization of one row, population variance, as ONNX LayerNormalization. */
function layerNorm(x: readonly Dual[], g: readonly Dual[], b: readonly Dual[], eps: number) {
  const mean = scale(sum(x), 1 / x.length);
  const centred = x.map((v) => sub(v, mean));
  const variance = scale(sum(centred.map((v) => mul(v, v))), 1 / x.length);
  const std = sqrt(add(variance, constant(eps)));
  return centred.map((v, c) => add(mul(div(v, std), g[c]), b[c]));
}

function attentionLoss(p: readonly Dual[]): Dual {
  const w = slices(attentionInits, ATTENTION_PARAMS, p);
  const losses: Dual[] = [];
  for (let n = 0; n < N; n++) {
    const h = Array.from({ length: T }, (_, t) =>
      Array.from({ length: D }, (_, c) => add(w.emb[tokens[n * T + t] * D + c], w.pos[t * D + c])),
    );
    const ln = h.map((row) => layerNorm(row, w.ln_g, w.ln_b, f32(LN_EPSILON)));
    const q = ln.map((row) => vecMat(row, w.wq, D));
    const k = ln.map((row) => vecMat(row, w.wk, D));
    const v = ln.map((row) => vecMat(row, w.wv, D));
    for (let t = 0; t < T; t++) {
      const scores = Array.from({ length: T }, (_, u) =>
        u > t ? undefined : scale(sum(q[t].map((qc, c) => mul(qc, k[u][c]))), 0.5),
      );
      const a = softmax(scores);
      const o = Array.from({ length: D }, (_, c) =>
        sum(a.flatMap((au, u) => (au === undefined ? [] : [mul(au, v[u][c])]))),
      );
      const g = h[t].map((hc, c) => geluErf(add(hc, o[c])));
      losses.push(crossEntropy(vecMat(g, w.wout, V), nextTokens[n * T + t]));
    }
  }
  return scale(sum(losses), 1 / losses.length);
}

// ---------------------------------------------------------------------------------------------
// B: Gemm (transB, alpha, beta) → LayerNorm decomposed (ReduceMean, Sub, Pow, ReduceMean, Add,
// Sqrt, Div, Mul, Add) → GELU in its tanh form (Pow, Mul, Add, Mul, Tanh, Add, Mul, Mul) →
// Gelu (opset 20, erf) → Gemm (no transposes), mean squared error.
const [BN_, F, H, K] = [3, 4, 5, 3];
const decomposedInits: Init[] = [
  param('w1', [H, F], 11, 0.6),
  param('b1', [H], 12, 0.2),
  param('gamma', [H], 13, 0.2, 1),
  param('beta', [H], 14, 0.2),
  param('w2', [H, K], 15, 0.5),
  param('c2', [K], 16, 0.2),
  int64('last', [1], [-1]),
  float('two', [], [2]),
  float('three', [], [3]),
  float('eps', [], [1e-3]),
  float('k0', [], [0.044715]),
  float('k1', [], [Math.sqrt(2 / Math.PI)]),
  float('one', [], [1]),
  float('half', [], [0.5]),
];
const DECOMPOSED_PARAMS = ['w1', 'b1', 'gamma', 'beta', 'w2', 'c2'];
const [ALPHA, BETA] = [0.7, 1.3];

function decomposedModel(): Uint8Array {
  return buildModel({
    opset: 20,
    nodes: [
      {
        op: 'Gemm',
        inputs: ['x', 'w1', 'b1'],
        outputs: ['h'],
        attrs: { transB: { i: 1 }, alpha: { f: ALPHA }, beta: { f: BETA } },
      },
      { op: 'ReduceMean', inputs: ['h', 'last'], outputs: ['mu'] },
      { op: 'Sub', inputs: ['h', 'mu'], outputs: ['d'] },
      { op: 'Pow', inputs: ['d', 'two'], outputs: ['sq'] },
      { op: 'ReduceMean', inputs: ['sq', 'last'], outputs: ['var'] },
      { op: 'Add', inputs: ['var', 'eps'], outputs: ['ve'] },
      { op: 'Sqrt', inputs: ['ve'], outputs: ['sd'] },
      { op: 'Div', inputs: ['d', 'sd'], outputs: ['nrm'] },
      { op: 'Mul', inputs: ['nrm', 'gamma'], outputs: ['sc'] },
      { op: 'Add', inputs: ['sc', 'beta'], outputs: ['t'] },
      { op: 'Pow', inputs: ['t', 'three'], outputs: ['t3'] },
      { op: 'Mul', inputs: ['t3', 'k0'], outputs: ['t3k'] },
      { op: 'Add', inputs: ['t', 't3k'], outputs: ['inner'] },
      { op: 'Mul', inputs: ['inner', 'k1'], outputs: ['inner2'] },
      { op: 'Tanh', inputs: ['inner2'], outputs: ['th'] },
      { op: 'Add', inputs: ['th', 'one'], outputs: ['th1'] },
      { op: 'Mul', inputs: ['t', 'th1'], outputs: ['gt'] },
      { op: 'Mul', inputs: ['gt', 'half'], outputs: ['g'] },
      { op: 'Gelu', inputs: ['g'], outputs: ['g2'] },
      { op: 'Gemm', inputs: ['g2', 'w2', 'c2'], outputs: ['y'] },
    ],
    initializers: decomposedInits,
    inputs: [{ name: 'x', shape: [BN_, F] }],
    outputs: ['y'],
  });
}

const decomposedX = normals(17, BN_ * F, 1.2);
const decomposedTargets = normals(18, BN_ * K, 0.5);

/** x³ by products (Pow with exponent 3). */
const cube = (x: Dual): Dual => mul(mul(x, x), x);

function decomposedLoss(p: readonly Dual[]): Dual {
  const w = slices(decomposedInits, DECOMPOSED_PARAMS, p);
  const squares: Dual[] = [];
  for (let n = 0; n < BN_; n++) {
    const x = Array.from(decomposedX.subarray(n * F, (n + 1) * F), constant);
    const h = Array.from({ length: H }, (_, j) =>
      add(
        scale(sum(x.map((xc, c) => mul(xc, w.w1[j * F + c]))), f32(ALPHA)),
        scale(w.b1[j], f32(BETA)),
      ),
    );
    const t = layerNorm(h, w.gamma, w.beta, f32(1e-3));
    const g = t.map((v) => {
      const inner = scale(add(v, scale(cube(v), f32(0.044715))), f32(Math.sqrt(2 / Math.PI)));
      return scale(mul(v, add(tanh(inner), constant(1))), 0.5);
    });
    const g2 = g.map((v) => scale(mul(v, add(erf(scale(v, Math.SQRT1_2)), constant(1))), 0.5));
    vecMat(g2, w.w2, K).forEach((v, k) => {
      const e = sub(add(v, w.c2[k]), constant(decomposedTargets[n * K + k]));
      squares.push(mul(e, e));
    });
  }
  return scale(sum(squares), 1 / squares.length);
}

// ---------------------------------------------------------------------------------------------
// C: Conv (group 2, dilations [2, 1], asymmetric pads) → BatchNormalization (scale and bias
// parameters) → Tanh → residual Add → GlobalAveragePool → Flatten → Gemm (transB), cross-entropy.
const [CN, CC, CS, CK] = [2, 4, 5, 3];
const GROUP = 2;
const [KH, KW, DH, DW] = [2, 2, 2, 1];
const PADS = [1, 0, 1, 1]; // top, left, bottom, right: keeps 5×5
const cnnInits: Init[] = [
  param('wc', [CC, CC / GROUP, KH, KW], 21, 0.4),
  param('bc', [CC], 22, 0.1),
  param('bn_scale', [CC], 23, 0.2, 1),
  param('bn_bias', [CC], 24, 0.1),
  float('bn_mean', [CC], [0.1, -0.2, 0.05, 0.3]),
  float('bn_var', [CC], [0.8, 1.3, 0.6, 1.1]),
  param('w2', [CK, CC], 25, 0.6),
  param('b2', [CK], 26, 0.1),
];
const CNN_PARAMS = ['wc', 'bc', 'bn_scale', 'bn_bias', 'w2', 'b2'];
const BN_EPSILON = 1e-3;

function cnnModel(): Uint8Array {
  return buildModel({
    nodes: [
      {
        op: 'Conv',
        inputs: ['x', 'wc', 'bc'],
        outputs: ['c'],
        attrs: {
          group: { i: GROUP },
          dilations: { ints: [DH, DW] },
          pads: { ints: PADS },
          kernel_shape: { ints: [KH, KW] },
        },
      },
      {
        op: 'BatchNormalization',
        inputs: ['c', 'bn_scale', 'bn_bias', 'bn_mean', 'bn_var'],
        outputs: ['bn'],
        attrs: { epsilon: { f: BN_EPSILON } },
      },
      { op: 'Tanh', inputs: ['bn'], outputs: ['th'] },
      { op: 'Add', inputs: ['x', 'th'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['gp'] },
      { op: 'Flatten', inputs: ['gp'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'w2', 'b2'], outputs: ['y'], attrs: { transB: { i: 1 } } },
    ],
    initializers: cnnInits,
    inputs: [{ name: 'x', shape: [CN, CC, CS, CS] }],
    outputs: ['y'],
  });
}

const cnnX = normals(27, CN * CC * CS * CS, 0.7);
const cnnLabels = Int32Array.from([2, 0]);

function cnnLoss(p: readonly Dual[]): Dual {
  const w = slices(cnnInits, CNN_PARAMS, p);
  const mean = cnnInits.find((t) => t.name === 'bn_mean')!.data;
  const variance = cnnInits.find((t) => t.name === 'bn_var')!.data;
  const perGroup = CC / GROUP;
  const x = (n: number, c: number, i: number, j: number) =>
    i < 0 || j < 0 || i >= CS || j >= CS ? 0 : cnnX[((n * CC + c) * CS + i) * CS + j];
  const losses: Dual[] = [];
  for (let n = 0; n < CN; n++) {
    const pooled = Array.from({ length: CC }, (_, m) => {
      const g = Math.floor(m / (CC / GROUP));
      const values: Dual[] = [];
      for (let i = 0; i < CS; i++) {
        for (let j = 0; j < CS; j++) {
          const terms: Dual[] = [w.bc[m]];
          for (let c = 0; c < perGroup; c++) {
            for (let ki = 0; ki < KH; ki++) {
              for (let kj = 0; kj < KW; kj++) {
                const xv = x(n, g * perGroup + c, i - PADS[0] + ki * DH, j - PADS[1] + kj * DW);
                terms.push(scale(w.wc[((m * perGroup + c) * KH + ki) * KW + kj], xv));
              }
            }
          }
          const inv = 1 / Math.sqrt(variance[m] + f32(BN_EPSILON));
          const bn = add(
            mul(scale(sub(sum(terms), constant(mean[m])), inv), w.bn_scale[m]),
            w.bn_bias[m],
          );
          values.push(add(constant(x(n, m, i, j)), tanh(bn)));
        }
      }
      return scale(sum(values), 1 / values.length);
    });
    const logits = Array.from({ length: CK }, (_, k) =>
      add(sum(pooled.map((v, c) => mul(v, w.w2[k * CC + c]))), w.b2[k]),
    );
    losses.push(crossEntropy(logits, cnnLabels[n]));
  }
  return scale(sum(losses), 1 / losses.length);
}

// ---------------------------------------------------------------------------------------------
// D: value-moving and elementwise ops on the differentiable path: MatMul → Split → {Exp,
// Slice → Mul → Add → {Log, Reciprocal → Neg, Sqrt}} and ReduceSum → Expand → Concat → MatMul,
// mean squared error.
const [DN, DF, DK] = [2, 6, 3];
const mixedInits: Init[] = [
  param('wm', [DF, DF], 41, 0.4),
  param('wo', [12, DK], 42, 0.4),
  int64('split', [2], [2, 4]),
  int64('starts', [1], [1]),
  int64('ends', [1], [2 ** 40]),
  int64('axes', [1], [1]),
  int64('sum_axes', [1], [1]),
  int64('wide', [2], [DN, 3]),
  float('one', [], [1]),
];
const MIXED_PARAMS = ['wm', 'wo'];

function mixedModel(): Uint8Array {
  return buildModel({
    nodes: [
      { op: 'MatMul', inputs: ['x', 'wm'], outputs: ['h'] },
      { op: 'Split', inputs: ['h', 'split'], outputs: ['a', 'b'], attrs: { axis: { i: 1 } } },
      { op: 'Exp', inputs: ['a'], outputs: ['e'] },
      { op: 'Slice', inputs: ['b', 'starts', 'ends', 'axes'], outputs: ['sl'] },
      { op: 'Mul', inputs: ['sl', 'sl'], outputs: ['sq'] },
      { op: 'Add', inputs: ['sq', 'one'], outputs: ['sp'] },
      { op: 'Log', inputs: ['sp'], outputs: ['lg'] },
      { op: 'Reciprocal', inputs: ['sp'], outputs: ['rc'] },
      { op: 'Neg', inputs: ['rc'], outputs: ['ng'] },
      { op: 'Sqrt', inputs: ['sp'], outputs: ['sr'] },
      { op: 'ReduceSum', inputs: ['e', 'sum_axes'], outputs: ['s1'] },
      { op: 'Expand', inputs: ['s1', 'wide'], outputs: ['ex'] },
      {
        op: 'Concat',
        inputs: ['lg', 'ng', 'sr', 'ex'],
        outputs: ['cat'],
        attrs: { axis: { i: 1 } },
      },
      { op: 'MatMul', inputs: ['cat', 'wo'], outputs: ['y'] },
    ],
    initializers: mixedInits,
    inputs: [{ name: 'x', shape: [DN, DF] }],
    outputs: ['y'],
  });
}

const mixedX = normals(43, DN * DF, 0.8);
const mixedTargets = normals(44, DN * DK, 0.5);

function mixedLoss(p: readonly Dual[]): Dual {
  const w = slices(mixedInits, MIXED_PARAMS, p);
  const squares: Dual[] = [];
  for (let n = 0; n < DN; n++) {
    const x = Array.from(mixedX.subarray(n * DF, (n + 1) * DF), constant);
    const h = vecMat(x, w.wm, DF);
    const e = h.slice(0, 2).map(exp);
    const sp = h.slice(3, 6).map((v) => add(mul(v, v), constant(1)));
    const s1 = sum(e);
    const cat = [
      ...sp.map(log),
      ...sp.map((v) => scale(div(constant(1), v), -1)),
      ...sp.map(sqrt),
      s1,
      s1,
      s1,
    ];
    vecMat(cat, w.wo, DK).forEach((v, k) => {
      const d = sub(v, constant(mixedTargets[n * DK + k]));
      squares.push(mul(d, d));
    });
  }
  return scale(sum(squares), 1 / squares.length);
}

const MODELS = [
  {
    title:
      'causal self-attention (Gather, LayerNormalization, bias-free MatMul, Where/Add −∞ masks, Softmax, residual, GELU-Erf)',
    bytes: attentionModel,
    inits: attentionInits,
    params: ATTENTION_PARAMS,
    loss: attentionLoss,
    options: {
      inputs: { tokens: { data: Int32Array.from(tokens), shape: [N, T] } },
      labels: { data: nextTokens, shape: [N * T] },
      loss: 'ce' as const,
    },
  },
  {
    title:
      'decomposed LayerNorm and GELU-tanh (ReduceMean, Pow, Sqrt, Div, Tanh), Gelu, Gemm alpha/beta',
    bytes: decomposedModel,
    inits: decomposedInits,
    params: DECOMPOSED_PARAMS,
    loss: decomposedLoss,
    options: {
      inputs: { x: { data: decomposedX, shape: [BN_, F] } },
      labels: { data: decomposedTargets, shape: [BN_, K] },
      loss: 'mse' as const,
      parameters: DECOMPOSED_PARAMS,
    },
  },
  {
    title: 'grouped dilated Conv, BatchNormalization, residual Add, GlobalAveragePool',
    bytes: cnnModel,
    inits: cnnInits,
    params: CNN_PARAMS,
    loss: cnnLoss,
    options: {
      inputs: { x: { data: cnnX, shape: [CN, CC, CS, CS] } },
      labels: { data: cnnLabels, shape: [CN] },
      loss: 'ce' as const,
    },
  },
  {
    title: 'Split, Exp, Slice, Log, Reciprocal, Neg, Sqrt, ReduceSum, Expand, Concat',
    bytes: mixedModel,
    inits: mixedInits,
    params: MIXED_PARAMS,
    loss: mixedLoss,
    options: {
      inputs: { x: { data: mixedX, shape: [DN, DF] } },
      labels: { data: mixedTargets, shape: [DN, DK] },
      loss: 'mse' as const,
    },
  },
];

describe('default parameters of exported-style graphs', () => {
  it('are the embedding, LayerNorm, bias-free MatMul and BatchNorm weights, never a −∞ mask', () => {
    expect(defaultParameters(parseModel(attentionModel()))).toEqual(ATTENTION_PARAMS);
    expect(defaultParameters(parseModel(cnnModel()))).toEqual(CNN_PARAMS);
  });
});

const references = new Map(
  MODELS.map((m) => [m.title, hyperDualHessian(theta(m.inits, m.params), m.loss)]),
);

describe.each(BACKENDS)('exact second derivatives of the new operators on %s', (backend) => {
  it.each(MODELS)('$title: the Hessian matches its float64 hyper-dual reference', async (m) => {
    const tf = await useBackend(backend);
    const before = tf.memory().numTensors;
    const curvature = await onnxCurvature(m.bytes(), { tf, ...m.options });
    expect(curvature.layout.blocks.map((b) => b.name)).toEqual(m.params);
    expect(curvature.check.maxAbsDifference).toBeLessThanOrEqual(FORWARD_TOLERANCE);
    const worst = await checkOperatorContract(curvature.operator, references.get(m.title)!, {
      tolerance: TOLERANCE,
    });
    if (process.env.HP_PRINT_DIFFS) {
      console.log(
        `DIFF ${backend} | ${m.title.slice(0, 40)} | onnxruntime ${curvature.check.maxAbsDifference} | Hessian ${worst}`,
      );
    }
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
    curvature.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

// The hyper-dual reference itself, on functions with known second derivatives.
describe('hyper-dual reference', () => {
  it('gives exact second derivatives of erf, tanh, sqrt and a quotient', () => {
    const at = (x: number): Dual => ({ f: x, a: 1, b: 1, c: 0 });
    const x = 0.7;
    const e1 = (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x);
    expect(erf(at(x)).c).toBeCloseTo(-2 * x * e1, 14);
    expect(tanh(at(x)).c).toBeCloseTo(-2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2), 14);
    expect(sqrt(at(x)).c).toBeCloseTo(-0.25 * x ** -1.5, 14);
    expect(div(constant(1), at(x)).c).toBeCloseTo(2 / x ** 3, 13);
    expect(lift(at(x), 0, 0, 3).c).toBe(3);
  });

  it('computes erf to float64 accuracy on both sides of the series/continued-fraction switch', () => {
    // erf(0.5), erf(1), erf(2.4), erf(3): published values to 16 digits.
    expect(erf(constant(0.5)).f).toBeCloseTo(0.5204998778130465, 15);
    expect(erf(constant(1)).f).toBeCloseTo(0.8427007929497149, 15);
    expect(erf(constant(2.4)).f).toBeCloseTo(0.999311486103355, 15);
    expect(erf(constant(-3)).f).toBeCloseTo(-0.9999779095030014, 15);
  });
});
