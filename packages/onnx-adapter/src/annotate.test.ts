import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CurvatureReportInput,
  normalizeReport,
  OptionError,
  REPORT_SCHEMA_VERSION,
  ReportFormatError,
} from '@hessian-probe/core';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { annotateFile, annotateModel, REPORT_KEY, readAnnotation } from './annotate.js';
import { decodeModel, encodeModel, OnnxFormatError } from './proto.js';
import { mlpModel, normals } from './testing/models.js';

function report(trace: number): CurvatureReportInput {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    epoch: 3,
    step: 120,
    timestamp: '2026-11-22T08:00:00.000Z',
    model: {
      name: 'mlp',
      parameterCount: 8,
      layout: { dim: 8, blocks: [{ name: 'w1', offset: 0, size: 8, shape: [2, 4] }] },
    },
    probe: { size: 32, seed: 0 },
    loss: 0.5,
    eigen: { values: [2.5, 1.25], residuals: [1e-9, 2e-9], converged: true, matvecs: 20 },
    trace: { estimate: trace, stderr: Number.NaN, matvecs: 1 },
    seconds: 0.1,
    matvecs: 21,
  };
}

function metadata(bytes: Uint8Array): Record<string, string> {
  return Object.fromEntries(
    decodeModel(bytes).metadataProps.map((p) => [p.key ?? '', p.value ?? '']),
  );
}

async function outputs(bytes: Uint8Array, x: Float32Array): Promise<Uint8Array> {
  const session = await InferenceSession.create(bytes);
  const { y } = await session.run({ x: new OrtTensor('float32', x, [8, 4]) });
  await session.release();
  const data = y.data as Float32Array;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

describe('annotateModel / readAnnotation', () => {
  const { bytes } = mlpModel({ sizes: [4, 6, 3], activation: 'Tanh', softmax: true });

  it('round-trips the report, NaN included, with headline keys', () => {
    const annotated = annotateModel(bytes, report(7.5));
    expect(readAnnotation(annotated)).toEqual(normalizeReport(report(7.5)));
    expect(readAnnotation(annotated)?.trace?.stderr).toBeNaN();
    expect(metadata(annotated)).toMatchObject({
      'hessian_probe.lambda_max': '2.5',
      'hessian_probe.trace': '7.5',
      'hessian_probe.loss': '0.5',
      'hessian_probe.schema_version': String(REPORT_SCHEMA_VERSION),
      'hessian_probe.timestamp': '2026-11-22T08:00:00.000Z',
    });
    expect(readAnnotation(bytes)).toBeUndefined();
  });

  it('keeps every byte of the original model and only appends', () => {
    const annotated = annotateModel(bytes, report(7.5));
    expect(Buffer.from(annotated.subarray(0, bytes.length)).equals(Buffer.from(bytes))).toBe(true);
    expect(annotated.length).toBeGreaterThan(bytes.length);
  });

  it('gives bit-identical onnxruntime outputs', async () => {
    const x = normals(3, 32);
    const before = await outputs(bytes, x);
    const after = await outputs(annotateModel(bytes, report(7.5)), x);
    expect(Buffer.from(after).equals(Buffer.from(before))).toBe(true);
  });

  it('replaces an earlier report but keeps the owner’s own metadata and unknown fields', () => {
    const model = decodeModel(bytes);
    model.metadataProps = [
      { key: 'author', value: 'me' },
      { key: 'hessian_probe.trace', value: 'stale' },
    ] as typeof model.metadataProps;
    // Field 99 (varint 5) is unknown to every ONNX schema: it must survive untouched.
    const withUnknown = Uint8Array.from([...encodeModel(model), 0x98, 0x06, 0x05]);
    const twice = annotateModel(annotateModel(withUnknown, report(1)), report(2));
    expect(metadata(twice).author).toBe('me');
    expect(metadata(twice)['hessian_probe.trace']).toBe('2');
    expect(decodeModel(twice).metadataProps.filter((p) => p.key === REPORT_KEY)).toHaveLength(1);
    expect(readAnnotation(twice)).toEqual(normalizeReport(report(2)));
    expect(Buffer.from(twice).includes(Buffer.from([0x98, 0x06, 0x05]))).toBe(true);
    expect(Buffer.from(twice).includes(Buffer.from('stale'))).toBe(false);
  });

  it('refuses bytes that are not a model and malformed reports', () => {
    expect(() => annotateModel(new Uint8Array([1, 2, 3]), report(1))).toThrow(OnnxFormatError);
    expect(() => annotateModel(bytes, { ...report(1), epoch: -1 })).toThrow(ReportFormatError);
  });
});

describe('annotateFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hessian-probe-annotate-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the annotated model atomically and never replaces the input unless asked', async () => {
    const { bytes } = mlpModel({ sizes: [4, 3] });
    const input = join(dir, 'model.onnx');
    const output = join(dir, 'model.annotated.onnx');
    await writeFile(input, bytes);
    await annotateFile(input, output, report(3));
    expect(readAnnotation(await readFile(output))).toEqual(normalizeReport(report(3)));
    await expect(annotateFile(input, join(dir, '.', 'model.onnx'), report(3))).rejects.toThrow(
      OptionError,
    );
    expect(Buffer.from(await readFile(input)).equals(Buffer.from(bytes))).toBe(true);
    await annotateFile(input, input, report(4), { overwrite: true });
    expect(readAnnotation(await readFile(input))?.trace?.estimate).toBe(4);
    expect((await readdir(dir)).sort()).toEqual(['model.annotated.onnx', 'model.onnx']);
  });

  it('removes its temporary file when the final rename fails', async () => {
    const { bytes } = mlpModel({ sizes: [4, 3] });
    const input = join(dir, 'again.onnx');
    const output = join(dir, 'a-directory');
    await writeFile(input, bytes);
    await mkdir(output);
    await expect(annotateFile(input, output, report(1))).rejects.toThrow(/EISDIR|EEXIST|ENOTEMPTY/);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses an input that is not a model before writing anything', async () => {
    const input = join(dir, 'junk.onnx');
    await writeFile(input, new Uint8Array([7, 7, 7]));
    await expect(annotateFile(input, join(dir, 'junk.out.onnx'), report(1))).rejects.toThrow(
      OnnxFormatError,
    );
    expect((await readdir(dir)).filter((f) => f.startsWith('junk.out'))).toEqual([]);
  });
});
