/**
 * The command line on every model of the corpus (`packages/onnx-adapter/corpus`, files exported
 * by PyTorch and scikit-learn): it reads the files as they are (ZipMap outputs, int64 token ids,
 * one label per token of a language model) and finds λmax within 1e-3 of the float64 reference
 * the generating script computed with PyTorch (`reference.json`). On the default backend (the
 * fastest installed), as a user runs it; `corpus.test.ts` covers cpu, wasm and tensorflow.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeReport } from '@hessian-probe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureCli } from './capture.js';

const CORPUS = join(import.meta.dirname, '..', '..', 'corpus');

interface CorpusEntry {
  readonly file: string;
  readonly inputs: Readonly<Record<string, string>>;
  readonly labels: string;
  readonly loss: 'ce' | 'mse';
  readonly lambdaMax: number;
}

const { models } = JSON.parse(readFileSync(join(CORPUS, 'reference.json'), 'utf8')) as {
  models: Record<string, CorpusEntry>;
};

describe('hessian-probe onnx analyze on the corpus', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hessian-probe-corpus-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(Object.entries(models))(
    '%s: λmax within 1e-3 of the float64 reference',
    async (name, ref) => {
      const json = join(dir, `${name}.json`);
      const inputs = Object.entries(ref.inputs).flatMap(([input, file]) => [
        '--inputs',
        `${input}=${join(CORPUS, file)}`,
      ]);
      const run = await captureCli([
        'onnx',
        'analyze',
        join(CORPUS, ref.file),
        ...inputs,
        '--labels',
        join(CORPUS, ref.labels),
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
