import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { analyzeOperator, decodeReport, REPORT_SCHEMA_VERSION } from '@hessian-probe/core';
import { type BackendName, selectBackend } from '@hessian-probe/core/backends';
import * as tf from '@tensorflow/tfjs';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAnnotation } from '../annotate.js';
import { onnxCurvature } from '../curvature.js';
import { forwardOnlyTrace } from '../forward-only.js';
import { writeNpy } from '../npy.js';
import { BACKENDS } from '../testing/backends.js';
import { buildModel, mlpModel, normals } from '../testing/models.js';
import { FORWARD_ONLY_PROBES } from './args.js';
import { type CapturedRun, captureCli } from './capture.js';

const here = dirname(fileURLToPath(import.meta.url));
const N = 12;

async function cli(...argv: string[]): Promise<CapturedRun> {
  return cliWith({}, ...argv);
}

async function cliWith(
  options: { isTTY?: boolean; stdout?: (s: string) => void },
  ...argv: string[]
): Promise<CapturedRun> {
  const run = await captureCli(argv, options);
  expect(run.exited).toBe(run.code);
  return run;
}

async function outputs(bytes: Uint8Array, x: Float32Array): Promise<Buffer> {
  const session = await InferenceSession.create(bytes);
  const { y } = await session.run({ x: new OrtTensor('float32', x, [N, 4]) });
  await session.release();
  const data = y.data as Float32Array;
  return Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
}

describe('hessian-probe onnx', () => {
  let dir: string;
  const { bytes } = mlpModel({ sizes: [4, 5, 3], activation: 'Tanh', softmax: true });
  const x = normals(41, N * 4);
  const labels = Int32Array.from({ length: N }, (_, n) => (n * 7) % 3);
  const path = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hessian-probe-cli-'));
    await writeFile(path('mlp.onnx'), bytes);
    await writeFile(
      path('x.npy'),
      writeNpy({ dtype: 'float64', shape: [N, 4], data: Float64Array.from(x) }),
    );
    await writeFile(
      path('y.npy'),
      writeNpy({ dtype: 'int64', shape: [N], data: BigInt64Array.from(labels, (v) => BigInt(v)) }),
    );
    await writeFile(path('y32.npy'), writeNpy({ dtype: 'int32', shape: [N], data: labels }));
    await writeFile(
      path('y-short.npy'),
      writeNpy({ dtype: 'int32', shape: [N - 2], data: labels.subarray(0, N - 2) }),
    );
    await writeFile(
      path('y-bool.npy'),
      writeNpy({ dtype: 'bool', shape: [N], data: new Uint8Array(N) }),
    );
    await writeFile(
      path('y-class.npy'),
      writeNpy({ dtype: 'int32', shape: [N], data: Int32Array.from(labels, () => 3) }),
    );
    await writeFile(
      path('x-int.npy'),
      writeNpy({ dtype: 'int32', shape: [N, 4], data: new Int32Array(N * 4) }),
    );
    await writeFile(
      path('x-wide.npy'),
      writeNpy({ dtype: 'float32', shape: [N, 5], data: new Float32Array(N * 5) }),
    );
    await writeFile(path('junk.npy'), new Uint8Array([1, 2, 3, 4]));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('analyzes a model: report as analyzeOperator computes it, annotated model, table', async () => {
    const run = await cli(
      'onnx',
      'analyze',
      path('mlp.onnx'),
      '--inputs',
      path('x.npy'),
      '--labels',
      path('y.npy'),
      '--seed',
      '7',
      '--out',
      path('mlp.annotated.onnx'),
      '--json',
      path('report.json'),
    );
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    for (const row of ['λmax…', 'trace', 'negative mass', 'off-diagonal ratio', 'conversion']) {
      expect(run.stdout).toContain(row);
    }
    expect(run.stdout).toMatch(/matvecs\s+\d+/);
    expect(run.stdout).toMatch(/seconds\s+\d/);
    expect(run.stderr).toMatch(/\[1\/4\] eigen/);
    expect(run.stderr).toMatch(/\[4\/4\] blocks/);

    const report = decodeReport(await readFile(path('report.json'), 'utf8'));
    expect(report.schemaVersion).toBe(REPORT_SCHEMA_VERSION);
    expect(report.model.name).toBe('test');
    expect(report.model.parameterCount).toBe(4 * 5 + 5 + 5 * 3 + 3);
    expect(report.model.layout.blocks.map((b) => b.name)).toEqual(['w1', 'b1', 'w2', 'b2']);
    expect(report.probe).toEqual({ size: N, seed: 7 });
    expect(report.loss).toBeGreaterThan(0);
    expect(report.trace?.matvecs).toBe(30);
    expect(report.density?.negativeFraction).toBeGreaterThanOrEqual(0);
    expect(report.blocks?.names).toEqual(['w1', 'b1', 'w2', 'b2']);

    // The same numbers as analyzeOperator called directly on the same operator, on the backend
    // the command chose (the fastest that loads) and recorded.
    const { backend } = (report as unknown as { conversion: { backend: BackendName } }).conversion;
    expect(backend).toBe(BACKENDS.at(-1));
    expect(run.stderr).toContain(`tfjs backend: ${backend}`);
    await selectBackend(tf, backend);
    const curvature = await onnxCurvature(bytes, {
      tf,
      inputs: { x: { data: x, shape: [N, 4] } },
      labels: { data: labels, shape: [N] },
      loss: 'ce',
    });
    const direct = await analyzeOperator(curvature.operator, curvature.layout, {
      analyses: { density: true, blocks: true },
      seed: 7,
    });
    curvature.dispose();
    expect(report.eigen).toEqual(direct.eigen);
    expect(report.trace).toEqual(direct.trace);
    expect(report.density).toEqual(direct.density);
    expect(report.blocks).toEqual(direct.blocks);

    const annotated = new Uint8Array(await readFile(path('mlp.annotated.onnx')));
    expect(readAnnotation(annotated)).toEqual(report);
    expect((await outputs(annotated, x)).equals(await outputs(bytes, x))).toBe(true);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const shown = await cli('onnx', 'show', path('mlp.annotated.onnx'));
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`λmax…`);
    expect(shown.stdout).toContain(String(Number(report.eigen?.values[0].toPrecision(5))));
  });

  it('runs only the requested analyses, with int32 labels', async () => {
    const run = await cli(
      'onnx',
      'analyze',
      path('mlp.onnx'),
      '--inputs',
      `x=${path('x.npy')}`,
      '--labels',
      path('y32.npy'),
      '--analyses',
      'trace',
      '--json',
      path('trace.json'),
    );
    expect(run.code).toBe(0);
    const report = decodeReport(await readFile(path('trace.json'), 'utf8'));
    expect(report.trace).toBeDefined();
    expect(report.eigen).toBeUndefined();
    expect(report.matvecs).toBe(30);
  });

  it('differentiates only the initializers named by --parameters, in that order', async () => {
    const full = decodeReport(await readFile(path('trace.json'), 'utf8'));
    const [first, second] = full.model.layout.blocks.map((b) => b.name);
    const run = await cli(
      'onnx',
      'analyze',
      path('mlp.onnx'),
      '--inputs',
      `x=${path('x.npy')}`,
      '--labels',
      path('y32.npy'),
      '--analyses',
      'trace',
      '--parameters',
      `${second},${first}`,
      '--json',
      path('subset.json'),
    );
    expect(run.code).toBe(0);
    const report = decodeReport(await readFile(path('subset.json'), 'utf8'));
    expect(report.model.layout.blocks.map((b) => b.name)).toEqual([second, first]);
    const sizes = full.model.layout.blocks.slice(0, 2).reduce((s, b) => s + b.size, 0);
    expect(report.model.parameterCount).toBe(sizes);
    const unknown = await cli(
      'onnx',
      'analyze',
      path('mlp.onnx'),
      '--inputs',
      `x=${path('x.npy')}`,
      '--labels',
      path('y32.npy'),
      '--parameters',
      'no_such_weight',
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no_such_weight/);
  });

  it('analyzes the Gauss–Newton matrix with --kind ggn: report kind, same numbers as the operator', async () => {
    const run = await cli(
      'onnx',
      'analyze',
      path('mlp.onnx'),
      '--inputs',
      path('x.npy'),
      '--labels',
      path('y.npy'),
      '--kind',
      'ggn',
      '--analyses',
      'eigen',
      '--json',
      path('ggn.json'),
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/curvature\s+Gauss–Newton \(ggn\)/);
    const report = decodeReport(await readFile(path('ggn.json'), 'utf8'));
    expect(report.kind).toBe('ggn');
    await selectBackend(
      tf,
      (report as unknown as { conversion: { backend: BackendName } }).conversion.backend,
    );
    const ggn = await onnxCurvature(bytes, {
      tf,
      inputs: { x: { data: x, shape: [N, 4] } },
      labels: { data: labels, shape: [N] },
      loss: 'ce',
      kind: 'ggn',
    });
    const direct = await analyzeOperator(ggn.operator, ggn.layout, {
      analyses: { trace: false },
      seed: 0,
    });
    ggn.dispose();
    expect(report.eigen?.values).toEqual(direct.eigen?.values);
  });

  it('analyzes a regression model with --loss mse, float targets, on wasm, drawing progress', async () => {
    const reg = mlpModel({ sizes: [4, 3, 2], activation: 'Sigmoid', linear: 'matmul' });
    await writeFile(path('reg.onnx'), reg.bytes);
    await writeFile(
      path('t.npy'),
      writeNpy({ dtype: 'float32', shape: [N, 2], data: normals(43, N * 2) }),
    );
    await writeFile(
      path('t-wide.npy'),
      writeNpy({ dtype: 'float32', shape: [N, 3], data: normals(44, N * 3) }),
    );
    const args = ['onnx', 'analyze', path('reg.onnx'), '--inputs', path('x.npy'), '--loss', 'mse'];
    const run = await cliWith(
      { isTTY: true },
      ...args,
      '--labels',
      path('t.npy'),
      '--backend',
      'wasm',
      '--analyses',
      'eigen,layers',
      '--k',
      '2',
      '--json',
      path('reg.json'),
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/\r {2}eigen {4}\[[#.]+\] \d+ matvecs/);
    const report = decodeReport(await readFile(path('reg.json'), 'utf8'));
    expect(report.eigen?.values).toHaveLength(2);
    expect(report.layers?.map((l) => l.name)).toEqual(['w1', 'b1', 'w2', 'b2']);
    const wrong = await cli(...args, '--labels', path('t-wide.npy'));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(
      /t-wide\.npy: .*expected targets shaped like the model output \[12,2\], got \[12,3\]/,
    );
    await tf.setBackend('cpu');
  });

  it('estimates the trace of a graph with an unsupported operator with --forward-only', async () => {
    const sine = buildModel({
      nodes: [
        { op: 'MatMul', name: 'matmul', inputs: ['x', 'W'], outputs: ['m'] },
        { op: 'Add', name: 'bias', inputs: ['m', 'b'], outputs: ['a'] },
        { op: 'Sin', name: 'sine', inputs: ['a'], outputs: ['y'] },
      ],
      initializers: [
        { name: 'W', dims: [4, 3], data: normals(47, 12, 0.5) },
        { name: 'b', dims: [3], data: normals(48, 3, 0.5) },
      ],
      inputs: [{ name: 'x', shape: ['batch', 4] }],
      outputs: ['y'],
    });
    await writeFile(path('sine.onnx'), sine);
    const args = ['onnx', 'analyze', path('sine.onnx'), '--inputs', path('x.npy')];
    const refused = await cli(...args, '--labels', path('y.npy'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/Sin \(node sine\).*--forward-only/);
    const run = await cli(
      ...args,
      '--labels',
      path('y.npy'),
      '--forward-only',
      '--seed',
      '5',
      '--json',
      path('sine.json'),
      '--out',
      path('sine.annotated.onnx'),
    );
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /trace\s+\S+ ± \S+, rounding ≤ \S+; estimate \(second differences\)/,
    );
    expect(run.stdout).toMatch(/trace W\s+.*estimate \(second differences\)/);
    expect(run.stdout).toMatch(/forward passes\s+129/);
    expect(run.stderr).toMatch(/: 30 probes × 2 blocks, 129 forward passes…\n/);
    const report = decodeReport(await readFile(path('sine.json'), 'utf8'));
    const direct = await forwardOnlyTrace(sine, {
      inputs: { x: { data: x, shape: [N, 4] } },
      labels: { data: labels, shape: [N] },
      loss: 'ce',
      probes: FORWARD_ONLY_PROBES,
      seed: 5,
    });
    expect(report.trace).toEqual({
      estimate: direct.trace.estimate,
      stderr: direct.trace.stderr,
      matvecs: 0,
      method: 'second-difference',
      roundingBound: direct.trace.roundingBound,
      forwardPasses: 1 + 8 + 2 * 2 * FORWARD_ONLY_PROBES,
      blocks: direct.blocks.map(({ name, estimate, stderr, roundingBound }) => ({
        name,
        estimate,
        stderr,
        roundingBound,
      })),
    });
    expect(report.loss).toBe(direct.loss);
    expect(report.eigen).toBeUndefined();
    const annotated = new Uint8Array(await readFile(path('sine.annotated.onnx')));
    expect(readAnnotation(annotated)).toEqual(report);
    const shown = await cli('onnx', 'show', path('sine.annotated.onnx'));
    expect(shown.stdout).toMatch(/estimate \(second differences\)/);

    // --probes K: 1 + 8 + 2·K·B passes, announced before the run and spent as announced.
    const few = await cli(...args, '--labels', path('y.npy'), '--forward-only', '--probes', '4');
    expect(few.code).toBe(0);
    expect(few.stderr).toMatch(/: 4 probes × 2 blocks, 25 forward passes…\n/);
    expect(few.stdout).toMatch(/forward passes\s+25\n/);
  });

  it('feeds a model with two inputs from NAME=FILE pairs', async () => {
    const two = buildModel({
      nodes: [
        { op: 'Add', inputs: ['a', 'b'], outputs: ['s'] },
        { op: 'Gemm', inputs: ['s', 'W', 'c'], outputs: ['y'], attrs: { transB: { i: 1 } } },
      ],
      initializers: [
        { name: 'W', dims: [3, 4], data: normals(45, 12) },
        { name: 'c', dims: [3], data: normals(46, 3) },
      ],
      inputs: [
        { name: 'a', shape: ['batch', 4] },
        { name: 'b', shape: ['batch', 4] },
      ],
      outputs: ['y'],
    });
    await writeFile(path('two.onnx'), two);
    const base = ['onnx', 'analyze', path('two.onnx'), '--labels', path('y.npy')];
    const missing = await cli(...base, '--inputs', `a=${path('x.npy')}`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--inputs: no file for the model input 'b'/);
    const unnamed = await cli(...base, '--inputs', path('x.npy'), '--inputs', path('x.npy'));
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toMatch(/the model has 2 inputs \(a, b\); pass --inputs NAME=FILE/);
    const ok = await cli(
      ...base,
      '--inputs',
      `a=${path('x.npy')}`,
      '--inputs',
      `b=${path('x.npy')}`,
      '--analyses',
      'trace',
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/model\s+test \(15 parameters, 2 blocks\)/);
  });

  it('prints its version with --version (or -V) and exits 0', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await cli(flag);
      expect(run).toMatchObject({ code: 0, stdout: `hessian-probe ${version}\n`, stderr: '' });
    }
  });

  it('exits 1 on an internal error', async () => {
    const run = await cliWith(
      {
        stdout: () => {
          throw new Error('stdout closed');
        },
      },
      '--help',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^hessian-probe: internal error: Error: stdout closed/);
  });

  it('`show` on a model without a report exits 2', async () => {
    const run = await cli('onnx', 'show', path('mlp.onnx'));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/mlp\.onnx: the model carries no hessian-probe report/);
    expect(run.stdout).toBe('');
  });

  const bad: [string, () => string[], RegExp][] = [
    ['no command', () => [], /^$/],
    ['an unknown command', () => ['tfjs', 'analyze'], /unknown command 'tfjs'/],
    ['an unknown flag', () => ['onnx', 'show', path('mlp.onnx'), '--nope'], /--nope/],
    [
      'a missing model file',
      () => [
        'onnx',
        'analyze',
        path('none.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
      ],
      /none\.onnx: .*ENOENT/,
    ],
    [
      'a file that is not a model',
      () => ['onnx', 'show', path('x.npy')],
      /x\.npy: readAnnotation: expected/,
    ],
    [
      'missing --labels',
      () => ['onnx', 'analyze', path('mlp.onnx'), '--inputs', path('x.npy')],
      /--labels Y\.npy is required/,
    ],
    [
      'a missing inputs file',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('nox.npy'),
        '--labels',
        path('y.npy'),
      ],
      /--inputs .*nox\.npy: .*ENOENT/,
    ],
    [
      'a file that is not .npy',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('junk.npy'),
        '--labels',
        path('y.npy'),
      ],
      /--inputs .*junk\.npy: readNpy: expected/,
    ],
    [
      'integer inputs',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x-int.npy'),
        '--labels',
        path('y.npy'),
      ],
      /--inputs .*x-int\.npy: expected a float32 or float64 array, got int32/,
    ],
    [
      'inputs of the wrong width',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x-wide.npy'),
        '--labels',
        path('y.npy'),
      ],
      /x-wide\.npy: expected shape \[\?,4\] for the model input 'x', got \[12,5\]/,
    ],
    [
      'bool labels',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y-bool.npy'),
      ],
      /--labels .*y-bool\.npy: expected int32\/int64 class ids/,
    ],
    [
      'integer targets for mse',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--loss',
        'mse',
      ],
      /y\.npy: expected float32 or float64 targets for --loss mse, got int64/,
    ],
    [
      'fewer labels than inputs',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y-short.npy'),
      ],
      /y-short\.npy: expected 12 samples \(the inputs' first axis\), got shape \[10\]/,
    ],
    [
      'class ids beyond the outputs',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y-class.npy'),
      ],
      /y-class\.npy: .*expected class ids in \[0, 3\)/,
    ],
    [
      'an unknown analysis',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--analyses',
        'eigen,hessian',
      ],
      /--analyses: unknown analysis 'hessian'/,
    ],
    [
      'an unknown loss',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--loss',
        'bce',
      ],
      /--loss: expected ce or mse, got 'bce'/,
    ],
    [
      'an unknown curvature kind',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--kind',
        'fisher',
      ],
      /--kind: expected hessian or ggn, got 'fisher'/,
    ],
    [
      '--forward-only with --kind ggn',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--forward-only',
        '--kind',
        'ggn',
      ],
      /--forward-only: estimates the Hessian trace only/,
    ],
    [
      '--forward-only with other analyses',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--forward-only',
        '--analyses',
        'eigen,trace',
      ],
      /--forward-only: runs the trace only, got --analyses eigen,trace/,
    ],
    [
      '--forward-only with --backend',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--forward-only',
        '--backend',
        'wasm',
      ],
      /--forward-only: runs onnxruntime only, no TensorFlow\.js backend, got --backend wasm/,
    ],
    [
      '--probes without --forward-only',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--probes',
        '10',
      ],
      /--probes: sets the probes of --forward-only only, got --probes 10 without it/,
    ],
    [
      'a single probe',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--forward-only',
        '--probes',
        '1',
      ],
      /--probes: expected an integer >= 2, got '1'/,
    ],
    [
      'a repeated parameter',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--parameters',
        'w,w',
      ],
      /--parameters: expected distinct names, got 'w' twice/,
    ],
    [
      'a bad seed',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--seed',
        '1.5',
      ],
      /--seed: expected an integer >= 0, got '1\.5'/,
    ],
    [
      '--out onto the input without --force',
      () => [
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--out',
        path('mlp.onnx'),
      ],
      /--out .*mlp\.onnx: is the model .*mlp\.onnx; refusing to overwrite an input \(pass --force to replace it\)/,
    ],
  ];

  it.each(bad)('exits 2 with a one-line message for %s', async (_, argv, message) => {
    const before = await readdir(dir);
    const run = await cli(...argv());
    expect(run.code).toBe(2);
    if (argv().length > 0) {
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n').at(-1)).toMatch(/^hessian-probe: /);
      expect(run.stderr).not.toMatch(/internal error/);
    } else {
      expect(run.stdout).toMatch(/^Usage:/);
    }
    expect(await readdir(dir)).toEqual(before);
    expect(Buffer.from(await readFile(path('mlp.onnx'))).equals(Buffer.from(bytes))).toBe(true);
  });

  it('runs as a process with real exit codes (tsx cli-main.ts)', async () => {
    const tsx = resolve(here, '../../../../node_modules/.bin/tsx');
    const exec = (args: string[]) =>
      promisify(execFile)(tsx, ['--conditions=source', join(here, '../cli-main.ts'), ...args], {
        cwd: resolve(here, '../..'),
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const ok = await exec([
      'onnx',
      'analyze',
      path('mlp.onnx'),
      '--inputs',
      path('x.npy'),
      '--labels',
      path('y.npy'),
      '--analyses',
      'eigen,trace',
      '--out',
      path('spawned.onnx'),
    ]);
    expect(ok.stderr).not.toMatch(/Hi, looks like/);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/λmax…/);
    const shown = await exec(['onnx', 'show', path('spawned.onnx')]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/trace/);
    const none = await exec(['onnx', 'show', path('mlp.onnx')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no hessian-probe report/);
  });
});
