import { denseMatrix } from '@hessian-probe/core';
import { arithmeticTolerance, checkOperatorContract } from '@hessian-probe/core/testing';
import { hessianOperator, softmaxCrossEntropy } from '@hessian-probe/core/tfjs';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { onnxCurvature } from './curvature.js';
import { BACKENDS, useBackend } from './testing/backends.js';
import { buildModel, normals } from './testing/models.js';

const N = 4;
const C_IN = 2;
const SIDE = 6;
const FILTERS = 3;
const CLASSES = 3;
const FLAT = FILTERS * (SIDE / 2) * (SIDE / 2);

/** Inference statistics of the BatchNormalization variant (constants, not parameters). */
const BN = {
  scale: [1.2, 0.8, 1.5],
  bias: [0.1, -0.2, 0.05],
  mean: [0.3, -0.1, 0.2],
  variance: [0.9, 1.4, 0.6],
  epsilon: 1e-3,
};

/**
 * `plain`: Conv (3×3, pads 1) → Relu → MaxPool (2×2, strides 2) → Flatten → Gemm (transB).
 * `padded`: Conv (3×3, auto_pad SAME_UPPER) → BatchNormalization → Relu → MaxPool (3×3,
 * strides 2, asymmetric pads [0, 0, 1, 1]) → Flatten → Gemm (transB).
 * NCHW as ONNX lays it out; parameters w1 [F, C, 3, 3], b1 [F], w2 [K, F·3·3], b2 [K].
 */
function cnnModel(variant: 'plain' | 'padded') {
  const weights = {
    w1: normals(41, FILTERS * C_IN * 9, 0.4),
    b1: normals(42, FILTERS, 0.1),
    w2: normals(43, CLASSES * FLAT, 1 / Math.sqrt(FLAT)),
    b2: normals(44, CLASSES, 0.1),
  };
  const shapes: Record<keyof typeof weights, number[]> = {
    w1: [FILTERS, C_IN, 3, 3],
    b1: [FILTERS],
    w2: [CLASSES, FLAT],
    b2: [CLASSES],
  };
  const plain = variant === 'plain';
  const bytes = buildModel({
    nodes: [
      {
        op: 'Conv',
        name: 'conv1',
        inputs: ['x', 'w1', 'b1'],
        outputs: [plain ? 'c' : 'conv'],
        attrs: plain
          ? { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }
          : { auto_pad: { s: 'SAME_UPPER' } },
      },
      ...(plain
        ? []
        : [
            {
              op: 'BatchNormalization',
              name: 'bn1',
              inputs: ['conv', 'bn_scale', 'bn_bias', 'bn_mean', 'bn_var'],
              outputs: ['c'],
              attrs: { epsilon: { f: BN.epsilon } },
            },
          ]),
      { op: 'Relu', name: 'relu1', inputs: ['c'], outputs: ['r'] },
      {
        op: 'MaxPool',
        name: 'pool1',
        inputs: ['r'],
        outputs: ['p'],
        attrs: plain
          ? { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }
          : {
              kernel_shape: { ints: [3, 3] },
              strides: { ints: [2, 2] },
              pads: { ints: [0, 0, 1, 1] },
            },
      },
      { op: 'Flatten', name: 'flatten', inputs: ['p'], outputs: ['f'] },
      {
        op: 'Gemm',
        name: 'dense',
        inputs: ['f', 'w2', 'b2'],
        outputs: ['y'],
        attrs: { transB: { i: 1 } },
      },
    ],
    initializers: [
      ...(Object.keys(weights) as (keyof typeof weights)[]).map((name) => ({
        name,
        dims: shapes[name],
        data: weights[name],
      })),
      ...(plain
        ? []
        : [
            { name: 'bn_scale', dims: [FILTERS], data: BN.scale },
            { name: 'bn_bias', dims: [FILTERS], data: BN.bias },
            { name: 'bn_mean', dims: [FILTERS], data: BN.mean },
            { name: 'bn_var', dims: [FILTERS], data: BN.variance },
          ]),
    ],
    inputs: [{ name: 'x', shape: ['batch', C_IN, SIDE, SIDE] }],
    outputs: ['y'],
  });
  return { bytes, weights, shapes };
}

describe.each(BACKENDS)('a small CNN converted from ONNX on %s', (backend) => {
  it.each(['plain', 'padded'] as const)(
    '(%s) matches onnxruntime and has the exact Hessian of the same network written in tfjs',
    async (variant) => {
      const tf = await useBackend(backend);
      const { bytes, weights, shapes } = cnnModel(variant);
      const x = normals(45, N * C_IN * SIDE * SIDE);
      const labels = Int32Array.from({ length: N }, (_, n) => n % CLASSES);
      // The same network in tfjs's own layout (NHWC, 'same' padding), with the ONNX-shaped
      // parameters transposed inside the loss so that both layouts agree.
      const params = Object.entries(shapes).map(([name, shape]) => ({
        name,
        tensor: tf.tensor(weights[name as keyof typeof weights], shape),
      }));
      const xNhwc = tf.transpose(tf.tensor(x, [N, C_IN, SIDE, SIDE]), [0, 2, 3, 1]) as Tensor4D;
      const y = tf.tensor(labels, [N], 'int32');
      const direct = hessianOperator({
        tf,
        params,
        loss: ([w1, b1, w2, b2]) => {
          const filter = tf.transpose(w1, [2, 3, 1, 0]) as Tensor4D;
          let conv = tf.add(tf.conv2d(xNhwc, filter, 1, 'same'), b1) as Tensor4D;
          if (variant === 'padded') {
            // NHWC: the per-channel statistics broadcast along the last axis.
            const inv = tf.div(
              tf.tensor(BN.scale),
              tf.sqrt(tf.add(tf.tensor(BN.variance), BN.epsilon)),
            );
            conv = tf.add(tf.mul(tf.sub(conv, tf.tensor(BN.mean)), inv), tf.tensor(BN.bias));
          }
          // tfjs 'same' pooling pads [0, 1] here (TensorFlow's rule), like the ONNX pads.
          const pooled =
            variant === 'plain'
              ? tf.maxPool(tf.relu(conv), 2, 2, 'valid')
              : tf.maxPool(tf.relu(conv), 3, 2, 'same');
          const flat = tf.reshape(tf.transpose(pooled, [0, 3, 1, 2]), [N, FLAT]);
          const z = tf.add(tf.matMul(flat, w2, false, true), b2);
          return softmaxCrossEntropy(tf, z, y);
        },
      });
      const reference = await denseMatrix(direct.operator);
      // Counted after the direct side, so that the check covers the converted graph only.
      const before = tf.memory().numTensors;
      const curvature = await onnxCurvature(bytes, {
        tf,
        inputs: { x: { data: x, shape: [N, C_IN, SIDE, SIDE] } },
        labels: { data: labels, shape: [N] },
        loss: 'ce',
        // The BatchNormalization's scale and bias (parameters by default) stay constants here,
        // as in the direct network.
        parameters: Object.keys(shapes),
      });
      // Convolution sums of 18 products, then a Gemm: a few float32 ulps of values of order 1.
      expect(curvature.check.maxAbsDifference).toBeLessThanOrEqual(4e-6);
      expect(curvature.layout).toEqual(direct.layout);
      // Both sides are float32 tfjs arithmetic on the same kernels: a few hundred float32 ulps.
      const worst = await checkOperatorContract(curvature.operator, reference, {
        tolerance: arithmeticTolerance.float32,
      });
      if (process.env.HP_PRINT_DIFFS) {
        console.log(
          `DIFF ${backend} | CNN ${variant} | onnxruntime ${curvature.check.maxAbsDifference} | Hessian contract ${worst}`,
        );
      }
      expect(worst).toBeLessThanOrEqual(arithmeticTolerance.float32);
      curvature.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([...params.map((p) => p.tensor), xNhwc, y]);
    },
  );
});

/**
 * Smooth operators through the same path: Conv (3×3, auto_pad VALID) → Elu (alpha 0.5) →
 * {AveragePool (2×2, strides 2) → Flatten, GlobalAveragePool → Squeeze (axes input)} →
 * Concat → Softplus → Gemm (transB). Parameters w1 [F, C, 3, 3], b1 [F], w2 [K, 15], b2 [K].
 */
function smoothModel() {
  const width = FILTERS * 4 + FILTERS;
  const weights = {
    w1: normals(51, FILTERS * C_IN * 9, 0.4),
    b1: normals(52, FILTERS, 0.1),
    w2: normals(53, CLASSES * width, 1 / Math.sqrt(width)),
    b2: normals(54, CLASSES, 0.1),
  };
  const shapes: Record<keyof typeof weights, number[]> = {
    w1: [FILTERS, C_IN, 3, 3],
    b1: [FILTERS],
    w2: [CLASSES, width],
    b2: [CLASSES],
  };
  const bytes = buildModel({
    nodes: [
      {
        op: 'Conv',
        name: 'conv1',
        inputs: ['x', 'w1', 'b1'],
        outputs: ['c'],
        attrs: { auto_pad: { s: 'VALID' } },
      },
      { op: 'Elu', name: 'elu1', inputs: ['c'], outputs: ['e'], attrs: { alpha: { f: 0.5 } } },
      {
        op: 'AveragePool',
        name: 'avg1',
        inputs: ['e'],
        outputs: ['a'],
        attrs: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } },
      },
      { op: 'Flatten', name: 'flatten', inputs: ['a'], outputs: ['fa'] },
      { op: 'GlobalAveragePool', name: 'gap', inputs: ['e'], outputs: ['g'] },
      { op: 'Squeeze', name: 'squeeze', inputs: ['g', 'hw'], outputs: ['s'] },
      {
        op: 'Concat',
        name: 'concat',
        inputs: ['fa', 's'],
        outputs: ['cat'],
        attrs: { axis: { i: 1 } },
      },
      { op: 'Softplus', name: 'softplus', inputs: ['cat'], outputs: ['sp'] },
      {
        op: 'Gemm',
        name: 'dense',
        inputs: ['sp', 'w2', 'b2'],
        outputs: ['y'],
        attrs: { transB: { i: 1 } },
      },
    ],
    initializers: [
      ...(Object.keys(weights) as (keyof typeof weights)[]).map((name) => ({
        name,
        dims: shapes[name],
        data: weights[name],
      })),
      { name: 'hw', dims: [2], data: [2, 3], dtype: 'int64' as const },
    ],
    inputs: [{ name: 'x', shape: ['batch', C_IN, SIDE, SIDE] }],
    outputs: ['y'],
  });
  return { bytes, weights, shapes, width };
}

describe.each(BACKENDS)('a smooth CNN converted from ONNX on %s', (backend) => {
  it('(Elu, AveragePool, GlobalAveragePool, Squeeze, Concat, Softplus) has the exact Hessian of the same network in tfjs', async () => {
    const tf = await useBackend(backend);
    const { bytes, weights, shapes, width } = smoothModel();
    const x = normals(55, N * C_IN * SIDE * SIDE);
    const labels = Int32Array.from({ length: N }, (_, n) => (n + 1) % CLASSES);
    const params = Object.entries(shapes).map(([name, shape]) => ({
      name,
      tensor: tf.tensor(weights[name as keyof typeof weights], shape),
    }));
    const xNhwc = tf.transpose(tf.tensor(x, [N, C_IN, SIDE, SIDE]), [0, 2, 3, 1]) as Tensor4D;
    const y = tf.tensor(labels, [N], 'int32');
    const direct = hessianOperator({
      tf,
      params,
      loss: ([w1, b1, w2, b2]) => {
        const filter = tf.transpose(w1, [2, 3, 1, 0]) as Tensor4D;
        const conv = tf.add(tf.conv2d(xNhwc, filter, 1, 'valid'), b1);
        // Elu with alpha 0.5 written from its definition.
        const e = tf.where(
          tf.greater(conv, 0),
          conv,
          tf.mul(tf.sub(tf.exp(conv), 1), 0.5),
        ) as Tensor4D;
        const avg = tf.avgPool(e, 2, 2, 'valid');
        const fa = tf.reshape(tf.transpose(avg, [0, 3, 1, 2]), [N, FILTERS * 4]);
        const g = tf.mean(e, [1, 2]);
        const z = tf.add(tf.matMul(tf.softplus(tf.concat([fa, g], 1)), w2, false, true), b2);
        return softmaxCrossEntropy(tf, z, y);
      },
    });
    expect(width).toBe(15);
    const reference = await denseMatrix(direct.operator);
    const before = tf.memory().numTensors;
    const curvature = await onnxCurvature(bytes, {
      tf,
      inputs: { x: { data: x, shape: [N, C_IN, SIDE, SIDE] } },
      labels: { data: labels, shape: [N] },
      loss: 'ce',
    });
    expect(curvature.check.maxAbsDifference).toBeLessThanOrEqual(4e-6);
    expect(curvature.layout).toEqual(direct.layout);
    const worst = await checkOperatorContract(curvature.operator, reference, {
      tolerance: arithmeticTolerance.float32,
    });
    if (process.env.HP_PRINT_DIFFS) {
      console.log(
        `DIFF ${backend} | CNN smooth | onnxruntime ${curvature.check.maxAbsDifference} | Hessian contract ${worst}`,
      );
    }
    expect(worst).toBeLessThanOrEqual(arithmeticTolerance.float32);
    curvature.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...params.map((p) => p.tensor), xNhwc, y]);
  });
});
