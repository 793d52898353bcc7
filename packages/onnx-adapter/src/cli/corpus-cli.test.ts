/**
 * The command line on every model of the corpus (`packages/onnx-adapter/corpus`, files exported
 * by PyTorch and scikit-learn): it reads the files as they are (ZipMap outputs, int64 token ids,
 * one label per token of a language model) and finds λmax within 1e-3 of the float64 reference
 * the generating script computed with PyTorch (`reference.json`). On the default backend (the
 * fastest installed), as a user runs it; `corpus.test.ts` covers cpu, wasm and tensorflow.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeReport } from '@hessian-probe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS_FOLDER, CORPUS_MODELS } from '../testing/corpus.js';
import { captureCli } from './capture.js';

describe('hessian-probe onnx analyze on the corpus', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hessian-probe-corpus-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(Object.entries(CORPUS_MODELS))(
    '%s: λmax within 1e-3 of the float64 reference',
    async (name, ref) => {
      const json = join(dir, `${name}.json`);
      const inputs = Object.entries(ref.inputs).flatMap(([input, file]) => [
        '--inputs',
        `${input}=${join(CORPUS_FOLDER, file)}`,
      ]);
      const run = await captureCli([
        'onnx',
        'analyze',
        join(CORPUS_FOLDER, ref.file),
        ...inputs,
        '--labels',
        join(CORPUS_FOLDER, ref.labels),
        '--loss',
        ref.loss,
        '--analyses',
        'eigen',
        '--k',
        '1',
        '--json',
        json,
      ]);
      expect(run.code, run.stderr).toBe(0);
      const report = decodeReport(await readFile(json, 'utf8'));
      const lambdaMax = report.eigen!.values[0];
      expect(Math.abs(lambdaMax - ref.lambdaMax) / ref.lambdaMax).toBeLessThan(1e-3);
    },
  );
});
