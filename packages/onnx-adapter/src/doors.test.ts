/**
 * One pipeline, three doors (docs/design.md): the same model, data, seed and analyses give the
 * same report from `analyzeModel`, from the fit() callback's analysis at train begin, and (to
 * float32 conversion error) from `hessian-probe onnx analyze` on the model exported with
 * `toOnnx`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AnalysisRequest, type CurvatureReport, decodeReport } from '@hessian-probe/core';
import { analyzeModel } from '@hessian-probe/core/tfjs';
import { hessianCallback } from '@hessian-probe/tfjs-callback';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './cli/main.js';
import { writeOnnx } from './export.js';
import { writeNpy } from './npy.js';
import { tf, useBackend } from './testing/backends.js';
import { normals } from './testing/models.js';

const N = 16;
const SEED = 7;

/** What does not depend on the door or the moment: everything but names and times. */
function analysed(report: CurvatureReport) {
  const { timestamp: _t, seconds: _s, wallSeconds: _w, model, ...rest } = report;
  const { conversion: _c, ...sections } = rest as typeof rest & { conversion?: unknown };
  return { ...sections, parameterCount: model.parameterCount, layout: model.layout };
}

/** Relative difference of two numbers, or of two arrays of numbers (max over entries). */
function relative(a: number | readonly number[], b: number | readonly number[]): number {
  const xs = [a].flat();
  const ys = [b].flat();
  expect(xs.length).toBe(ys.length);
  return Math.max(...xs.map((x, i) => Math.abs(x - ys[i]) / Math.max(Math.abs(ys[i]), 1e-12)));
}

describe('the three doors give the same report', () => {
  let dir: string;
  beforeAll(async () => {
    await useBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'hessian-doors-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('analyzeModel, the callback at train begin, and the command on the exported model', async () => {
    const init = (seed: number) => tf.initializers.glorotUniform({ seed });
    const model = tf.sequential({
      name: 'doors',
      layers: [
        tf.layers.dense({
          inputShape: [4],
          units: 6,
          activation: 'tanh',
          kernelInitializer: init(1),
        }),
        tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }),
      ],
    });
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const xs = Float32Array.from(normals(3, N * 4));
    const ids = Int32Array.from({ length: N }, (_, i) => i % 3);
    const x = tf.tensor2d(xs, [N, 4]);
    const y = tf.oneHot(tf.tensor1d(ids, 'int32'), 3).toFloat();
    // ONNX blocks are the initializers; 'tensor' blocks are the same cut of a tfjs model.
    const analyses: AnalysisRequest = {
      eigen: { k: 2 },
      trace: true,
      density: true,
      blocks: { layout: 'tensor' },
    };

    // Door 1: analyzeModel.
    const direct = await analyzeModel(model, { tf, x, y, analyses, seed: SEED });

    // The exported model, at the same (initial) weights, for door 3.
    const onnxPath = join(dir, 'doors.onnx');
    await writeOnnx(model, onnxPath);

    // Door 2: the callback's analysis of the initial weights (budget 1: at train begin).
    const callback = hessianCallback({
      tf,
      probe: { x, y },
      analyses,
      seed: SEED,
      budget: 1,
      schedule: { atTrainBegin: true, atTrainEnd: false },
    });
    await model.fit(x, y, { epochs: 1, batchSize: 8, callbacks: [callback], verbose: 0 });
    const [fromCallback] = callback.history;
    expect(fromCallback.step).toBe(0);
    expect(analysed(fromCallback)).toEqual(analysed(direct));

    // Door 3: the command line on the exported model.
    await writeFile(join(dir, 'x.npy'), writeNpy({ dtype: 'float32', shape: [N, 4], data: xs }));
    await writeFile(join(dir, 'y.npy'), writeNpy({ dtype: 'int32', shape: [N], data: ids }));
    const out: string[] = [];
    const code = await main(
      [
        'onnx',
        'analyze',
        onnxPath,
        '--inputs',
        join(dir, 'x.npy'),
        '--labels',
        join(dir, 'y.npy'),
        '--analyses',
        'eigen,trace,density,blocks',
        '--k',
        '2',
        '--seed',
        String(SEED),
        '--backend',
        'cpu',
        '--json',
        join(dir, 'report.json'),
      ],
      { stdout: (s) => out.push(s), stderr: (s) => out.push(s) },
    );
    expect(code, out.join('')).toBe(0);
    const fromCli = decodeReport(await readFile(join(dir, 'report.json'), 'utf8'));
    expect(fromCli.model.layout).toEqual(direct.model.layout);
    expect(fromCli.probe).toEqual(direct.probe);
    // The converted graph computes the same function with other float32 roundings: products
    // agree to ~1e-7 relative (export.test.ts), and every estimate here is a continuous
    // function of its products at fixed probes. 1e-5 relative leaves a factor 100 for the
    // Lanczos recurrences to amplify the rounding.
    const tolerance = 1e-5;
    expect(relative(fromCli.loss, direct.loss)).toBeLessThan(tolerance);
    expect(relative(fromCli.eigen!.values, direct.eigen!.values)).toBeLessThan(tolerance);
    expect(fromCli.trace?.method).toBe(direct.trace?.method);
    expect(relative(fromCli.trace!.estimate, direct.trace!.estimate)).toBeLessThan(tolerance);
    expect(relative(fromCli.density!.lambdaMax, direct.density!.lambdaMax)).toBeLessThan(tolerance);
    // The smoothed curve, relative to its peak: a Gaussian kernel of width σ changes by at most
    // (shift)/σ of its peak when its node moves relative to the evaluation point. Both move: the
    // nodes by at most tolerance·span, and the grid too, since it is spanned by the extreme
    // Ritz values (lambdaMin, lambdaMax), which move by as much; so the shift is 2·tolerance·span.
    const { values, sigma, lambdaMax, lambdaMin } = direct.density!;
    const peak = Math.max(...values);
    const curveGap = Math.max(...fromCli.density!.values.map((v, i) => Math.abs(v - values[i])));
    expect(curveGap / peak).toBeLessThan((2 * tolerance * (lambdaMax - lambdaMin)) / sigma);
    expect(
      relative(fromCli.blocks!.frobeniusSq.flat(), direct.blocks!.frobeniusSq.flat()),
    ).toBeLessThan(tolerance);
    expect(fromCli.matvecs).toBe(direct.matvecs);
    callback.dispose();
    tf.dispose([x, y]);
  });
});
