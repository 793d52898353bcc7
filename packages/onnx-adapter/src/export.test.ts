import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CurvatureReportInput,
  createRandom,
  decodeReport,
  normalizeReport,
  REPORT_SCHEMA_VERSION,
  ReportFormatError,
} from '@hessian-probe/core';
import { arithmeticTolerance } from '@hessian-probe/core/testing';
import { modelCurvature } from '@hessian-probe/core/tfjs';
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAnnotation } from './annotate.js';
import { main } from './cli/main.js';
import { onnxCurvature } from './curvature.js';
import { EXPORT_IR_VERSION, EXPORT_OPSET, OnnxExportError, toOnnx, writeOnnx } from './export.js';
import { transposeHost } from './export-layers.js';
import { convertGraph } from './graph.js';
import { writeNpy } from './npy.js';
import { parseModel } from './proto.js';
import { decodeTensor } from './tensor.js';
import { BACKENDS, useBackend } from './testing/backends.js';
import { normals } from './testing/models.js';

type Tfjs = Awaited<ReturnType<typeof useBackend>>;

const N = 5;
const EPS32 = 2 ** -24;

/**
 * Seeded weights for every variable of `model` (trainable or not): kernels N(0, 1/fan-in),
 * biases and BatchNormalization offsets N(0, 0.1²), gammas 1 + N(0, 0.2²), moving means
 * N(0, 0.3²) and moving variances 0.5 + |N(0, 0.5²)|, so that no statistic is trivial.
 */
function seedWeights(tf: Tfjs, model: LayersModel, seed: number): void {
  const values = model.weights.map((w, i) => {
    const shape = w.shape.map((d) => d ?? 0);
    const size = shape.reduce((a, b) => a * b, 1);
    const role = (w.originalName ?? w.name).split('/').at(-1);
    const n = normals(seed * 100 + i, size);
    const fanIn = size / (shape.at(-1) ?? 1);
    const map: Record<string, (v: number) => number> = {
      kernel: (v) => v / Math.sqrt(fanIn),
      gamma: (v) => 1 + 0.2 * v,
      moving_mean: (v) => 0.3 * v,
      moving_variance: (v) => 0.5 + 0.5 * Math.abs(v),
    };
    const f = map[role ?? ''] ?? ((v: number) => 0.1 * v);
    return tf.tensor(n.map(f), shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/**
 * Tolerance of max |onnxruntime − tfjs| (and |adapter − tfjs|) over the outputs, from the
 * float32 arithmetic: both sides compute each layer as sums of n products in different orders
 * (onnxruntime blocks its Gemm/Conv sums and fuses; tfjs sums in its own order), and reordering
 * a float32 sum of n terms changes it by at most (n − 1)·ε·Σ|terms|, ε = 2⁻²⁴ (Higham, Accuracy
 * and Stability of Numerical Algorithms, 2002, §4.2). With inputs of order 1 and kernels
 * scaled by 1/√fan-in, Σ|terms| stays of order max(1, |y|) through the layers, and element-wise
 * maps (exp, tanh, division by √var) add a few ulps each. So the bound is
 * 4·ε·Σ_layers n_l·max(1, max |y|), with n_l the fan-in of Dense and Conv2D layers, the window of
 * pooling layers and 4 for every other layer.
 */
function forwardTolerance(model: LayersModel, y: Float32Array): number {
  let terms = 0;
  for (const layer of model.layers) {
    const config = layer.getConfig();
    const kernel = layer.weights.find((w) => (w.originalName ?? w.name).endsWith('/kernel'));
    const input = (layer.input as SymbolicTensor).shape;
    if (kernel !== undefined) {
      terms += kernel.shape.slice(0, -1).reduce<number>((a, b) => a * (b ?? 1), 1);
    } else if (Array.isArray(config.poolSize)) {
      terms += (config.poolSize as number[]).reduce((a, b) => a * b, 1);
    } else if (layer.getClassName() === 'GlobalAveragePooling2D') {
      terms += (input[1] ?? 1) * (input[2] ?? 1);
    } else terms += 4;
  }
  const scale = Math.max(1, ...Array.from(y, Math.abs));
  return 4 * EPS32 * terms * scale;
}

async function onnxruntime(bytes: Uint8Array, x: Float32Array, shape: number[]) {
  const session = await InferenceSession.create(bytes);
  try {
    const results = await session.run({
      [session.inputNames[0]]: new OrtTensor('float32', x, shape),
    });
    const out = results[session.outputNames[0]];
    return { data: out.data as Float32Array, dims: [...out.dims] };
  } finally {
    await session.release();
  }
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/**
 * The tfjs trainable weights and their exported initializers, one entry per tensor: the tfjs
 * name (modelCurvature's layout), the initializer name, the tfjs shape, and the permutation
 * from tfjs's layout to the initializer's (Conv2D kernels [kH, kW, C, M] → [M, C, kH, kW]).
 */
function weightMap(model: LayersModel) {
  return model.trainableWeights.map((w) => {
    const shape = w.shape.map((d) => d ?? 0);
    const toOnnxPerm = shape.length === 4 ? [3, 2, 0, 1] : undefined;
    return { tfjs: w.name, onnx: w.originalName ?? w.name, shape, toOnnxPerm };
  });
}

/**
 * Hv of the original tfjs model (`modelCurvature`, exact) against Hv of the exported graph
 * converted back by the adapter (`onnxCurvature`, parameters = the trainable weights' initializers
 * in tfjs order), each v mapped tensor by tensor into the initializers' layout and the product
 * mapped back. Returns, per tfjs tensor, ‖Δ block‖ / ‖Hv‖ (the worst over the probes).
 */
async function hvpDifferences(
  tf: Tfjs,
  model: LayersModel,
  bytes: Uint8Array,
  x: Float32Array,
  xShape: number[],
  labels: { data: Int32Array | Float32Array; shape: number[] },
  loss: 'ce' | 'mse',
): Promise<Record<string, number>> {
  const map = weightMap(model);
  const xT = tf.tensor(x, xShape);
  const yT = tf.tensor(labels.data, labels.shape, loss === 'ce' ? 'int32' : 'float32');
  const direct = modelCurvature(model, {
    tf,
    x: xT,
    y: yT,
    loss: loss === 'ce' ? 'softmaxCrossEntropy' : 'meanSquaredError',
    selfCheck: false,
  });
  const exported = await onnxCurvature(bytes, {
    tf,
    inputs: { [model.inputs[0].name]: { data: x, shape: xShape } },
    labels,
    loss,
    parameters: map.map((m) => m.onnx),
  });
  try {
    expect(direct.layout.blocks.map((b) => b.name)).toEqual(map.map((m) => m.tfjs));
    expect(exported.layout.blocks.map((b) => b.name)).toEqual(map.map((m) => m.onnx));
    const blocks = direct.layout.blocks;
    const worst: Record<string, number> = {};
    const random = createRandom(17);
    for (let probe = 0; probe < 2; probe++) {
      const v = random.gaussianVector(direct.layout.dim);
      const toOnnxLayout = new Float64Array(v.length);
      blocks.forEach((b, k) => {
        const { shape, toOnnxPerm } = map[k];
        const part = v.subarray(b.offset, b.offset + b.size);
        toOnnxLayout.set(toOnnxPerm ? transposeHost(part, shape, toOnnxPerm) : part, b.offset);
      });
      const reference = await direct.operator.matvec(v);
      const product = await exported.operator.matvec(toOnnxLayout);
      const scale = norm(reference);
      expect(scale).toBeGreaterThan(0);
      blocks.forEach((b, k) => {
        const { shape, toOnnxPerm } = map[k];
        const part = product.subarray(b.offset, b.offset + b.size);
        const onnxShape = toOnnxPerm?.map((p) => shape[p]);
        // [M, C, kH, kW] → [kH, kW, C, M].
        const back = onnxShape ? transposeHost(part, onnxShape, [2, 3, 1, 0]) : part;
        const ref = reference.subarray(b.offset, b.offset + b.size);
        const d = norm(back.map((value, i) => value - ref[i])) / scale;
        worst[b.name] = Math.max(worst[b.name] ?? 0, d);
      });
    }
    return worst;
  } finally {
    exported.dispose();
    tf.dispose([xT, yT]);
  }
}

/** One exported model of the table. */
interface Case {
  readonly name: string;
  /** Input shape without the batch axis. */
  readonly input: readonly number[];
  readonly build: (tf: Tfjs) => LayersModel;
  /** The loss of the Hessian comparison; `undefined` for a forward-only case. */
  readonly loss?: 'ce' | 'mse';
  /** The adapter's converter refuses the exported graph (a typed error at run time). */
  readonly refused?: true;
}

const HIDDEN_ACTIVATIONS = [
  'linear',
  'relu',
  'sigmoid',
  'tanh',
  'elu',
  'selu',
  'softplus',
] as const;

const CASES: readonly Case[] = [
  ...HIDDEN_ACTIVATIONS.map(
    (activation): Case => ({
      name: `Dense(${activation}) → Dense(softmax)`,
      input: [4],
      build: (tf) =>
        tf.sequential({
          layers: [
            tf.layers.dense({ inputShape: [4], units: 6, activation }),
            tf.layers.dense({ units: 3, activation: 'softmax' }),
          ],
        }),
      loss: 'ce',
    }),
  ),
  {
    name: 'functional: Dense(no bias) → LeakyReLU → BatchNormalization → Dropout → Dense → Activation(elu) → Dense',
    input: [4],
    build: (tf) => {
      const input = tf.input({ shape: [4] });
      let h = tf.layers.dense({ units: 6, useBias: false }).apply(input);
      h = tf.layers.leakyReLU({ alpha: 0.2 }).apply(h);
      h = tf.layers.batchNormalization({ epsilon: 0.01 }).apply(h);
      h = tf.layers.dropout({ rate: 0.5 }).apply(h);
      h = tf.layers.dense({ units: 5 }).apply(h);
      h = tf.layers.activation({ activation: 'elu' }).apply(h);
      const output = tf.layers.dense({ units: 2 }).apply(h) as SymbolicTensor;
      return tf.model({ inputs: input, outputs: output });
    },
    loss: 'mse',
  },
  {
    name: "Conv2D('same', relu) → BatchNormalization → MaxPooling2D → Flatten → Dropout → Dense(softmax)",
    input: [6, 6, 2],
    build: (tf) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({
            inputShape: [6, 6, 2],
            filters: 3,
            kernelSize: 3,
            padding: 'same',
            activation: 'relu',
          }),
          tf.layers.batchNormalization({}),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dropout({ rate: 0.25 }),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      }),
    loss: 'ce',
  },
  {
    name: "Conv2D([3, 2], strides [2, 1], 'valid', no bias, tanh) → AveragePooling2D(strides 1) → Flatten → Dense",
    input: [7, 7, 2],
    build: (tf) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({
            inputShape: [7, 7, 2],
            filters: 4,
            kernelSize: [3, 2],
            strides: [2, 1],
            useBias: false,
            activation: 'tanh',
          }),
          tf.layers.averagePooling2d({ poolSize: 2, strides: 1 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3 }),
        ],
      }),
    loss: 'ce',
  },
  {
    name: "Conv2D('same', strides 2, elu) → BatchNormalization → MaxPooling2D(3, strides 2, 'same') → Conv2D(selu) → GlobalAveragePooling2D → Dense(softmax)",
    input: [6, 6, 2],
    build: (tf) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({
            inputShape: [6, 6, 2],
            filters: 3,
            kernelSize: 3,
            strides: 2,
            padding: 'same',
            activation: 'elu',
          }),
          tf.layers.batchNormalization({}),
          tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
          tf.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'selu' }),
          tf.layers.globalAveragePooling2d({}),
          tf.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      }),
    loss: 'ce',
  },
  {
    name: "Conv2D('same', softplus) → Conv2D(softmax over channels)",
    input: [4, 5, 2],
    build: (tf) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({
            inputShape: [4, 5, 2],
            filters: 3,
            kernelSize: 2,
            padding: 'same',
            activation: 'softplus',
          }),
          tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'softmax' }),
        ],
      }),
    loss: 'mse',
  },
  {
    // Forward only: in tfjs 4.22 a BatchNormalization layer without beta or gamma has no
    // gradient (FusedBatchNorm saves its undefined offset/scale for backprop and throws).
    name: 'Conv2D → BatchNormalization(no center, no scale) → Flatten → Dense → BatchNormalization(no center)',
    input: [4, 4, 2],
    build: (tf) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [4, 4, 2], filters: 3, kernelSize: 2 }),
          tf.layers.batchNormalization({ center: false, scale: false, epsilon: 0.1 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 4 }),
          tf.layers.batchNormalization({ center: false }),
        ],
      }),
  },
  {
    // Forward only: tfjs's AvgPoolGrad is wrong at padded borders, so neither modelCurvature
    // nor the adapter's converter accept padded average pooling.
    name: "Conv2D → AveragePooling2D(3, strides 2, 'same')",
    input: [5, 5, 2],
    build: (tf) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [5, 5, 2], filters: 2, kernelSize: 2 }),
          tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
        ],
      }),
    refused: true,
  },
];

describe.each(BACKENDS)('toOnnx on %s', (backend) => {
  it.each(CASES.map((c, i) => [c.name, i] as const))(
    '%s: onnxruntime, the adapter and the Hessian agree with tfjs',
    async (_, index) => {
      const tf = await useBackend(backend);
      const c = CASES[index];
      const model = c.build(tf);
      seedWeights(tf, model, index + 1);
      const xShape = [N, ...c.input];
      const x = normals(
        1000 + index,
        xShape.reduce((a, b) => a * b, 1),
      );

      const before = tf.memory().numTensors;
      const bytes = toOnnx(model);
      expect(tf.memory().numTensors).toBe(before);

      const predicted = tf.tidy(() => model.predict(tf.tensor(x, xShape)) as Tensor);
      const expected = predicted.dataSync() as Float32Array;
      const expectedShape = predicted.shape;
      predicted.dispose();
      const tolerance = forwardTolerance(model, expected);

      const ort = await onnxruntime(bytes, x, xShape);
      expect(ort.dims).toEqual(expectedShape);
      const ortDiff = maxAbsDifference(ort.data, expected);
      expect(ortDiff).toBeLessThanOrEqual(tolerance);

      const parsed = parseModel(bytes);
      const fn = convertGraph(tf, parsed);
      let adapterDiff = Number.NaN;
      let hvp: Record<string, number> = {};
      try {
        expect(fn.inputNames).toEqual([model.inputs[0].name]);
        if (c.refused) {
          expect(() =>
            tf.tidy(() =>
              fn.run(
                fn.params.map((p) => p.tensor),
                { [fn.inputNames[0]]: tf.tensor(x, xShape) },
              ),
            ),
          ).toThrow(/AveragePool: expected no padding/);
        } else {
          const ours = tf.tidy(
            () =>
              fn.run(
                fn.params.map((p) => p.tensor),
                { [fn.inputNames[0]]: tf.tensor(x, xShape) },
              )[0],
          );
          adapterDiff = maxAbsDifference(ours.dataSync(), expected);
          ours.dispose();
          expect(adapterDiff).toBeLessThanOrEqual(tolerance);
        }
      } finally {
        fn.dispose();
      }
      if (c.loss !== undefined) {
        const classes = expectedShape.at(-1) ?? 1;
        const labels =
          c.loss === 'ce'
            ? {
                data: Int32Array.from({ length: N }, (_, n) => (n * 2 + index) % classes),
                shape: [N],
              }
            : { data: normals(2000 + index, expected.length), shape: [...expectedShape] };
        hvp = await hvpDifferences(tf, model, bytes, x, xShape, labels, c.loss);
        // Both sides are float32 tfjs arithmetic on the same kernels, summed in different
        // orders (the adapter convolves NCHW data transposed back to NHWC): a few hundred
        // float32 ulps relative to ‖Hv‖ (the operator contract's float32 tolerance).
        for (const d of Object.values(hvp))
          expect(d).toBeLessThanOrEqual(arithmeticTolerance.float32);
      }
      if (process.env.HP_PRINT_DIFFS) {
        console.log(
          `DIFF ${backend} | ${c.name} | tolerance ${tolerance.toExponential(2)} | onnxruntime ${ortDiff.toExponential(2)} | adapter ${c.refused ? 'refused' : adapterDiff.toExponential(2)} | HVP ${c.loss === undefined ? 'n/a' : Math.max(...Object.values(hvp)).toExponential(2)}`,
        );
      }
      model.dispose();
    },
  );
});

function report(): CurvatureReportInput {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    epoch: 4,
    step: 80,
    timestamp: '2026-11-22T09:00:00.000Z',
    model: {
      name: 'exported',
      parameterCount: 3,
      layout: { dim: 3, blocks: [{ name: 'dense/bias', offset: 0, size: 3, shape: [3] }] },
    },
    probe: { size: N, seed: 0 },
    loss: 0.75,
    eigen: { values: [3.5, 0.25], residuals: [1e-8, 1e-8], converged: true, matvecs: 12 },
    trace: { estimate: 4.5, stderr: 0.5, matvecs: 9 },
    seconds: 0.2,
    matvecs: 21,
  };
}

describe('toOnnx: the file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hessian-probe-export-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function cnn(tf: Tfjs, prefix: string): LayersModel {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          name: `${prefix}_conv`,
          inputShape: [4, 4, 2],
          filters: 2,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
        }),
        tf.layers.maxPooling2d({ name: `${prefix}_pool`, poolSize: 2 }),
        tf.layers.flatten({ name: `${prefix}_flatten` }),
        tf.layers.dense({ name: `${prefix}_dense`, units: 3, activation: 'softmax' }),
      ],
    });
    seedWeights(tf, model, 7);
    return model;
  }

  it('takes the tfjs input as it is, with weights named after tfjs and NHWC flattened as tfjs', async () => {
    const tf = await useBackend('cpu');
    const model = cnn(tf, 'layout');
    const {
      input = [],
      initializer = [],
      node = [],
      output = [],
    } = parseModel(toOnnx(model)).graph ?? {};
    expect(input?.map((i) => i.name)).toEqual([model.inputs[0].name]);
    const dims = input?.[0].type?.tensorType?.shape?.dim ?? [];
    expect(dims.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['batch', 4, 4, 2]);
    expect(initializer?.map((t) => [t.name, t.dims?.map(Number)])).toEqual([
      ['layout_conv/kernel', [2, 2, 3, 3]],
      ['layout_conv/bias', [2]],
      ['layout_dense/kernel', [8, 3]],
      ['layout_dense/bias', [3]],
    ]);
    expect(node?.map((n) => n.name)).toEqual([
      'layout_conv/to_nchw',
      'layout_conv/Conv',
      'layout_conv/Relu',
      'layout_pool/MaxPool',
      'layout_flatten/to_nhwc',
      'layout_flatten/Flatten',
      'layout_dense/Gemm',
      'layout_dense/Softmax',
    ]);
    expect(output?.map((o) => o.name)).toEqual(['layout_dense/Softmax']);
    const tfjsKernel = model.getLayer('layout_conv').getWeights()[0].dataSync();
    const onnxKernel = decodeTensor(initializer![0]).values;
    // [kH, kW, C, M] → [M, C, kH, kW]: entry (m, c, i, j) is tfjs's (i, j, c, m).
    const [kh, kw, c, m] = [3, 3, 2, 2];
    for (let o = 0; o < m; o++)
      for (let ch = 0; ch < c; ch++)
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++)
            expect(onnxKernel[((o * c + ch) * kh + i) * kw + j]).toBe(
              tfjsKernel[((i * kw + j) * c + ch) * m + o],
            );
    expect(transposeHost(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], [1, 0])).toEqual(
      Float32Array.of(1, 4, 2, 5, 3, 6),
    );
    model.dispose();
  });

  it('carries a report that readAnnotation reads back, without changing any output bit', async () => {
    const tf = await useBackend('cpu');
    const model = cnn(tf, 'annotated');
    const plain = toOnnx(model);
    const annotated = toOnnx(model, { report: report() });
    expect(toOnnx(model, { report: undefined })).toEqual(plain);
    expect(readAnnotation(plain)).toBeUndefined();
    expect(readAnnotation(annotated)).toEqual(normalizeReport(report()));
    expect(() => toOnnx(model, { report: { ...report(), epoch: -1 } })).toThrow(ReportFormatError);
    const x = normals(9, N * 4 * 4 * 2);
    const [a, b] = [
      await onnxruntime(plain, x, [N, 4, 4, 2]),
      await onnxruntime(annotated, x, [N, 4, 4, 2]),
    ];
    const bits = (d: Float32Array) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    expect(bits(b.data)).toEqual(bits(a.data));

    const path = join(dir, 'annotated.onnx');
    await writeOnnx(model, path, { report: report() });
    expect(new Uint8Array(await readFile(path))).toEqual(annotated);
    model.dispose();
  });

  it('refuses unsupported layers with one typed error naming them all, and writes nothing', async () => {
    const tf = await useBackend('cpu');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          name: 'dilated',
          inputShape: [8, 8, 2],
          filters: 2,
          kernelSize: 3,
          dilationRate: 2,
        }),
        tf.layers.conv2d({
          name: 'channels_first',
          filters: 2,
          kernelSize: 1,
          dataFormat: 'channelsFirst',
        }),
        tf.layers.batchNormalization({ name: 'bn_axis', axis: 1 }),
        tf.layers.layerNormalization({ name: 'layer_norm' }),
        tf.layers.dense({ name: 'dense_on_images', units: 2 }),
        tf.layers.flatten({ name: 'fine_flatten' }),
        tf.layers.dense({ name: 'relu6_dense', units: 2, activation: 'relu6' }),
      ],
    });
    const path = join(dir, 'unsupported', 'model.onnx');
    await mkdir(join(dir, 'unsupported'));
    const error = await writeOnnx(model, path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OnnxExportError);
    const e = error as OnnxExportError;
    expect(e.code).toBe('onnx-export-unsupported');
    expect(e.layers.map((l) => [l.layer, l.className])).toEqual([
      ['dilated', 'Conv2D'],
      ['channels_first', 'Conv2D'],
      ['bn_axis', 'BatchNormalization'],
      ['layer_norm', 'LayerNormalization'],
      ['dense_on_images', 'Dense'],
      ['relu6_dense', 'Dense'],
    ]);
    expect(e.layers.map((l) => l.reason)).toEqual([
      expect.stringMatching(/dilationRate \[2,2\]/),
      expect.stringMatching(/dataFormat "channelsFirst"/),
      expect.stringMatching(/axis 1 \(only the channel axis/),
      expect.stringMatching(/layer class LayerNormalization has no ONNX export/),
      expect.stringMatching(/rank 4 .*Flatten/),
      expect.stringMatching(/activation "relu6"/),
    ]);
    for (const name of [
      'dilated',
      'channels_first',
      'bn_axis',
      'layer_norm',
      'dense_on_images',
      'relu6_dense',
    ]) {
      expect(e.message).toContain(name);
    }
    expect(await readdir(join(dir, 'unsupported'))).toEqual([]);
    model.dispose();

    const sequence = tf.sequential({
      layers: [tf.layers.batchNormalization({ name: 'bn_3d', inputShape: [3, 4] })],
    });
    expect(() => toOnnx(sequence)).toThrow(/bn_3d \(BatchNormalization\): an input of rank 3/);
    sequence.dispose();
  });

  it('refuses models that are not chains: branches, merges, shared layers, several inputs', async () => {
    const tf = await useBackend('cpu');
    const input = tf.input({ shape: [4] });
    const a = tf.layers.dense({ name: 'branch_a', units: 4 }).apply(input) as SymbolicTensor;
    const b = tf.layers.dense({ name: 'branch_b', units: 4 }).apply(input) as SymbolicTensor;
    const merged = tf.layers.add({ name: 'merge' }).apply([a, b]) as SymbolicTensor;
    const branched = tf.model({ inputs: input, outputs: merged });
    expect(() => toOnnx(branched)).toThrow(OnnxExportError);
    const layers = (() => {
      try {
        toOnnx(branched);
      } catch (e) {
        return (e as OnnxExportError).layers;
      }
    })();
    expect(layers?.map((l) => l.layer)).toEqual(['branch_b', 'merge']);
    expect(layers?.[0].reason).toMatch(/reads .*, not the output of the layer before it/);
    expect(layers?.[1].reason).toMatch(/takes 2 inputs.*; layer class Add has no ONNX export/);

    const shared = tf.layers.dense({ name: 'shared', units: 4 });
    const twice = shared.apply(shared.apply(input)) as SymbolicTensor;
    expect(() => toOnnx(tf.model({ inputs: input, outputs: twice }))).toThrow(
      /shared \(Dense\): it is applied more than once/,
    );

    const second = tf.input({ shape: [4] });
    const sum = tf.layers.add({}).apply([input, second]) as SymbolicTensor;
    const two = tf.model({ name: 'two_inputs', inputs: [input, second], outputs: sum });
    expect(() => toOnnx(two)).toThrow(/two_inputs \(\w+\): 2 inputs and 1 outputs/);

    // A layer in the model's list that was never applied: tfjs's `.input` throws for it too.
    const chain = tf.sequential({
      layers: [tf.layers.dense({ name: 'applied', inputShape: [4], units: 2 })],
    });
    chain.layers.push(tf.layers.dense({ name: 'loose', units: 2 }));
    expect(() => toOnnx(chain)).toThrow(/loose \(Dense\): it is not connected \(no input\)$/);
    chain.layers.pop(); // unbuilt: tfjs cannot dispose it
    chain.dispose();
  });

  it('refuses NaN and Infinity weights with one typed error naming layer and weight, and writes nothing', async () => {
    const tf = await useBackend('cpu');
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ name: 'finite', inputShape: [3], units: 2 }),
        tf.layers.dense({ name: 'corrupt', units: 2 }),
      ],
    });
    const corrupt = model.getLayer('corrupt');
    // getWeights() returns the variables' own tensors: read, not disposed.
    const values = corrupt.getWeights()[0].dataSync().slice();
    values[3] = Number.NaN;
    values[1] = Number.POSITIVE_INFINITY;
    const bad = [tf.tensor2d(values, [2, 2]), tf.fill([2], Number.NaN)];
    corrupt.setWeights(bad);
    tf.dispose(bad);
    const path = join(dir, 'non-finite', 'model.onnx');
    await mkdir(join(dir, 'non-finite'));
    const error = await writeOnnx(model, path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OnnxExportError);
    const e = error as OnnxExportError;
    expect(e.code).toBe('onnx-export-unsupported');
    expect(e.layers).toEqual([
      {
        layer: 'corrupt',
        className: 'Dense',
        reason:
          'weight corrupt/kernel has 2 non-finite values (first: Infinity at flat index 1); weight corrupt/bias has 2 non-finite values (first: NaN at flat index 0)',
      },
    ]);
    expect(e.message).toMatch(
      /^toOnnx: expected finite weights, got NaN or Infinity in 1 layers: corrupt \(Dense\)/,
    );
    expect(await readdir(join(dir, 'non-finite'))).toEqual([]);
    model.dispose();
  });

  it('is what `hessian-probe onnx analyze` and `onnx show` work on', async () => {
    const tf = await useBackend('cpu');
    const model = cnn(tf, 'cli');
    const x = normals(11, N * 4 * 4 * 2);
    const labels = Int32Array.from({ length: N }, (_, n) => n % 3);
    await writeOnnx(model, join(dir, 'cli.onnx'));
    await writeFile(
      join(dir, 'x.npy'),
      writeNpy({ dtype: 'float32', shape: [N, 4, 4, 2], data: x }),
    );
    await writeFile(join(dir, 'y.npy'), writeNpy({ dtype: 'int32', shape: [N], data: labels }));
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: (s: string) => {
        stdout += s;
      },
      stderr: (s: string) => {
        stderr += s;
      },
    };
    const analyzed = await main(
      [
        'onnx',
        'analyze',
        join(dir, 'cli.onnx'),
        '--inputs',
        join(dir, 'x.npy'),
        '--labels',
        join(dir, 'y.npy'),
        '--analyses',
        'eigen,trace',
        '--json',
        join(dir, 'report.json'),
      ],
      io,
    );
    expect(stderr).not.toMatch(/error/i);
    expect(analyzed).toBe(0);
    const analysis = decodeReport(await readFile(join(dir, 'report.json'), 'utf8'));
    // The adapter's default parameters are the Dense and Conv2D kernels and biases, by tfjs name.
    expect(analysis.model.layout.blocks.map((b) => b.name)).toEqual([
      'cli_conv/kernel',
      'cli_conv/bias',
      'cli_dense/kernel',
      'cli_dense/bias',
    ]);
    expect(analysis.eigen?.values.length).toBeGreaterThan(0);

    // Export again, now carrying the analysis, as a training run carries its last report.
    await writeOnnx(model, join(dir, 'cli.annotated.onnx'), { report: analysis });
    stdout = '';
    const shown = await main(['onnx', 'show', join(dir, 'cli.annotated.onnx')], io);
    expect(shown).toBe(0);
    expect(stdout).toContain('λmax…');
    expect(stdout).toContain(String(Number(analysis.eigen?.values[0].toPrecision(5))));
    model.dispose();
  });

  it('uses opset 13 and IR version 7', async () => {
    const tf = await useBackend('cpu');
    const model = cnn(tf, 'versions');
    const parsed = parseModel(toOnnx(model));
    expect(parsed.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([
      ['', EXPORT_OPSET],
    ]);
    expect(Number(parsed.irVersion)).toBe(EXPORT_IR_VERSION);
    model.dispose();
  });
});
