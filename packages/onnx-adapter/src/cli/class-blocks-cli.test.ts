/**
 * `hessian-probe onnx analyze --analyses classBlocks` on the corpus language model (C = 1,024
 * tokens, labels one per token): the command cuts the output layer it finds in the graph
 * (out.weight rows, out.bias entries) and gives the numbers of `classBlockMass` run directly on
 * the same curvature with the analysis's seed, and a cross ratio consistent with the corpus
 * README's 64-probe value on the same probe batch.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classBlockMass, decodeReport } from '@hessian-probe/core';
import { analysisSeeds } from '@hessian-probe/core/internal';
import type { Tf } from '@hessian-probe/core/tfjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onnxCurvature } from '../curvature.js';
import { int64ToNumbers, readNpy } from '../npy.js';
import { CORPUS_FOLDER } from '../testing/corpus.js';
import { captureCli } from './capture.js';

const MODEL = join(CORPUS_FOLDER, 'tiny-lm.onnx');
const TOKENS = join(CORPUS_FOLDER, 'tiny-lm-tokens.npy');
const LABELS = join(CORPUS_FOLDER, 'tiny-lm-y.npy');
const PROBES = 8;
const SEED = 5;
/** The corpus README's Hessian output-layer row: 64 probes on the same 8 × 8 token batch. */
const README_RATIO = { estimate: 0.0011534, stderr: 0.000152 };

function ids(file: string): { data: Int32Array; shape: number[] } {
  const a = readNpy(readFileSync(file));
  if (a.dtype !== 'int64') throw new Error(`expected int64 in ${file}, got ${a.dtype}`);
  return { data: Int32Array.from(int64ToNumbers(a.data as BigInt64Array)), shape: a.shape };
}

describe('hessian-probe onnx analyze --analyses classBlocks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hessian-probe-class-blocks-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('cuts the tiny LM by token at its output layer, as classBlockMass does', async () => {
    const json = join(dir, 'lm.json');
    const run = await captureCli([
      'onnx',
      'analyze',
      MODEL,
      '--inputs',
      `tokens=${TOKENS}`,
      '--labels',
      LABELS,
      '--analyses',
      'classBlocks',
      '--class-probes',
      String(PROBES),
      '--seed',
      String(SEED),
      '--json',
      json,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const section = decodeReport(await readFile(json, 'utf8')).classBlocks!;
    expect(section.classes).toBe(1024);
    expect(section.blocks).toEqual([
      { name: 'out.weight', axis: 0 },
      { name: 'out.bias', axis: 0 },
    ]);
    expect(section.matvecs).toBe(2 * PROBES);
    expect(run.stdout).toMatch(/class blocks\s+C = 1024 over out\.weight \(axis 0\), out\.bias/);
    expect(run.stdout).toMatch(/cross\/within class\s+\S+ ± \S+ \(T /);

    // The same products on the backend the command chose (it is still selected), by hand: row
    // c of out.weight [V, d] and entry c of out.bias are token c.
    const curvature = await onnxCurvature(readFileSync(MODEL), {
      tf: tf as unknown as Tf,
      inputs: { tokens: ids(TOKENS) },
      labels: ids(LABELS),
      loss: 'ce',
    });
    try {
      const { layout, operator } = curvature;
      const weight = layout.blocks.find((b) => b.name === 'out.weight')!;
      const bias = layout.blocks.find((b) => b.name === 'out.bias')!;
      const d = weight.size / bias.size;
      const classOf = new Int32Array(layout.dim).fill(-1);
      for (let c = 0; c < bias.size; c++) {
        classOf.fill(c, weight.offset + c * d, weight.offset + (c + 1) * d);
        classOf[bias.offset + c] = c;
      }
      const direct = await classBlockMass(operator, {
        classOf,
        probes: PROBES,
        seed: analysisSeeds(SEED).classBlocks,
      });
      expect(section.total).toBe(direct.total.estimate);
      expect(section.within).toBe(direct.within.estimate);
      expect(section.crossRatio).toBe(direct.crossRatio.estimate);
      expect(section.crossRatioStderr).toBe(direct.crossRatio.stderr);
    } finally {
      curvature.dispose();
    }
    // Two independent estimates of the same ratio: their difference within 4 of its standard
    // errors (the README's 64 probes and these 8).
    const sigma = Math.hypot(section.crossRatioStderr, README_RATIO.stderr);
    expect(Math.abs(section.crossRatio - README_RATIO.estimate)).toBeLessThanOrEqual(4 * sigma);
    // ~1/C at the output layer of an untrained LM: far below the diagonal mass.
    expect(section.crossRatio).toBeLessThan(0.01);

    // The same blocks named with their axes (NAME:AXIS) give the same numbers.
    const named = join(dir, 'lm-named.json');
    const again = await captureCli([
      ...['onnx', 'analyze', MODEL, '--inputs', `tokens=${TOKENS}`, '--labels', LABELS],
      ...['--analyses', 'classBlocks', '--class-blocks', 'out.weight:0,out.bias:0'],
      ...['--class-probes', String(PROBES), '--seed', String(SEED), '--json', named],
    ]);
    expect(again.code, again.stderr).toBe(0);
    const namedSection = decodeReport(await readFile(named, 'utf8')).classBlocks!;
    expect(namedSection.blocks).toEqual(section.blocks);
    expect(namedSection.crossRatio).toBe(section.crossRatio);
  });

  it('refuses bad class-block flags with exit 2 before any product', async () => {
    const base = ['onnx', 'analyze', MODEL, '--inputs', `tokens=${TOKENS}`, '--labels', LABELS];
    const cases: [string[], RegExp][] = [
      [['--class-probes', '4'], /--class-probes: sets the classBlocks analysis/],
      [
        ['--analyses', 'classBlocks', '--class-probes', '1'],
        /--class-probes: expected an integer >= 2/,
      ],
      [
        ['--analyses', 'classBlocks', '--class-blocks', 'a,,b'],
        /--class-blocks: expected comma-separated/,
      ],
      [['--analyses', 'classBlocks', '--class-blocks', 'nope'], /class block 'nope' to be a block/],
      [
        ['--analyses', 'classBlocks', '--class-blocks', 'out.weight:x'],
        /--class-blocks: expected NAME or NAME:AXIS with an integer axis >= 0, got 'out\.weight:x'/,
      ],
      [['--analyses', 'classBlocks', '--class-blocks', ':0'], /--class-blocks: expected NAME or/],
      // The embedding [V, d] along its axis of C = V entries is fine; a [16, 16] weight has none.
      [
        ['--analyses', 'classBlocks', '--class-blocks', 'q.weight'],
        /axis of class block 'q\.weight'/,
      ],
    ];
    for (const [flags, message] of cases) {
      const run = await captureCli([...base, ...flags]);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/matvecs/);
    }
  });
});
