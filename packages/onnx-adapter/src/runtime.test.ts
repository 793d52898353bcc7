import type { Tensor } from '@tensorflow/tfjs-core';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { convertGraph, type OnnxFunction } from './graph.js';
import { parseModel } from './proto.js';
import {
  ConversionMismatchError,
  DEFAULT_CONVERSION_TOLERANCE,
  verifyConversion,
} from './runtime.js';
import { BACKENDS, useBackend } from './testing/backends.js';
import { mlpModel, normals } from './testing/models.js';

// An MLP of width ≤ 16 and depth 3 in float32 on both sides: each output is a chain of dot
// products of ≤ 16 terms, so the outputs agree to a few float32 roundings of values of order 1
// (ε = 2⁻²³ ≈ 1.2e-7); 2e-6 ≈ 16 ε bounds that, and is 50x below the refusal tolerance.
const MLP_TOLERANCE = 2e-6;

const N = 32;
const inputs = { x: { data: normals(7, N * 4), shape: [N, 4] } };

describe('onnxruntime-node', () => {
  it('runs on the CPU without its install script (the binary ships in the package)', async () => {
    const { bytes, weights } = mlpModel({ sizes: [4, 3], linear: 'matmul' });
    const session = await InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
    const x = Float32Array.of(1, 0, 0, 0);
    const { y } = await session.run({ x: new OrtTensor('float32', x, [1, 4]) });
    await session.release();
    // x = e₀ picks row 0 of w1 ([4, 3]) plus the bias.
    const expected = [0, 1, 2].map((j) => Math.fround(weights.w1[j] + weights.b1[j]));
    expect(Array.from(y.data as Float32Array)).toEqual(expected);
  });
});

describe.each(BACKENDS)('verifyConversion on %s', (backend) => {
  it.each([
    { activation: 'Relu', linear: 'gemm', softmax: false, opset: 13 },
    { activation: 'Tanh', linear: 'matmul', softmax: true, opset: 13 },
    { activation: 'Sigmoid', linear: 'gemm', softmax: true, opset: 13 },
    { activation: 'Tanh', linear: 'gemm', softmax: true, opset: 7 },
    { activation: 'Relu', linear: 'matmul', softmax: true, opset: 21 },
  ] as const)(
    'a $linear MLP with $activation (softmax: $softmax, opset $opset) matches to float32 rounding',
    async (spec) => {
      const tf = await useBackend(backend);
      const { bytes } = mlpModel({ sizes: [4, 16, 8, 3], ...spec });
      const fn = convertGraph(tf, parseModel(bytes));
      const check = await verifyConversion(bytes, fn, { tf, inputs });
      fn.dispose();
      expect(check.tolerance).toBe(DEFAULT_CONVERSION_TOLERANCE);
      expect(check.outputs.map((o) => o.name)).toEqual(['y']);
      expect(check.maxAbsDifference).toBeLessThanOrEqual(MLP_TOLERANCE);
    },
  );

  it('refuses a conversion that is off, with the numbers', async () => {
    const tf = await useBackend(backend);
    const { bytes } = mlpModel({ sizes: [4, 16, 3], activation: 'Tanh' });
    const fn = convertGraph(tf, parseModel(bytes));
    const shifted: OnnxFunction = {
      ...fn,
      run: (params, feeds) => fn.run(params, feeds).map((t: Tensor) => tf.add(t, 1e-3)),
    };
    const error = await verifyConversion(bytes, shifted, { tf, inputs }).catch((e: unknown) => e);
    fn.dispose();
    expect(error).toBeInstanceOf(ConversionMismatchError);
    const e = error as ConversionMismatchError;
    expect(e.code).toBe('onnx-mismatch');
    expect(e.check.maxAbsDifference).toBeCloseTo(1e-3, 6);
    expect(e.message).toContain('output y');
  });

  it('refuses missing inputs and data that does not match the shape', async () => {
    const tf = await useBackend(backend);
    const { bytes } = mlpModel({ sizes: [4, 3] });
    const fn = convertGraph(tf, parseModel(bytes));
    await expect(verifyConversion(bytes, fn, { tf, inputs: {} })).rejects.toThrow(
      /input x.*got none/,
    );
    await expect(
      verifyConversion(bytes, fn, {
        tf,
        inputs: { x: { data: new Float32Array(5), shape: [2, 4] } },
      }),
    ).rejects.toThrow(/5 values for shape \[2,4\]/);
    fn.dispose();
  });
});
