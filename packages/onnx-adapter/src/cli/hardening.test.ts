/**
 * The command's checks before any work (issue 13, after a fuzzing pass): output paths, input
 * values, the model in onnxruntime, non-finite products, terminal-safe printing of strings
 * from files, and per-command help. Every refusal is exit 2 with one line naming the file or
 * flag, printed before the backend is chosen or anything is converted.
 */

import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../npy.js';
import { buildModel, mlpModel, normals } from '../testing/models.js';
import { type CapturedRun, captureCli } from './capture.js';
import { invocationFolder } from './main.js';

const N = 8;

/** `text` as a regular expression matching itself. */
function quote(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/** Control characters (but newline) and the right-to-left override: what must not be printed raw. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/;

async function cli(argv: readonly string[], isTTY = false): Promise<CapturedRun> {
  const run = await captureCli(argv, { isTTY });
  expect(run.exited).toBe(run.code);
  return run;
}

/** A refusal: exit 2, one line matching `message`, nothing converted, nothing on stdout. */
function expectRefused(run: CapturedRun, message: RegExp): void {
  expect(run.stderr).toMatch(message);
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(/^hessian-probe: /);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

/** What redraws a progress bar in place: a carriage return, an escape sequence, a bar. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const REDRAW = /[\r\u001b]|\[[#.]+\]/;

describe('hessian-probe onnx analyze: checks before any work', () => {
  let dir: string;
  const path = (name: string) => join(dir, name);
  const { bytes } = mlpModel({ sizes: [4, 5, 3], activation: 'Tanh', softmax: true });
  const x = normals(5, N * 4);
  const labels = Int32Array.from({ length: N }, (_, n) => n % 3);
  const analyze = (...more: string[]) => [
    'onnx',
    'analyze',
    path('mlp.onnx'),
    '--inputs',
    path('x.npy'),
    '--labels',
    path('y.npy'),
    ...more,
  ];
  const floats = (name: string, shape: number[], data: number[] | Float32Array) =>
    writeFile(path(name), writeNpy({ dtype: 'float32', shape, data: Float32Array.from(data) }));
  const doubles = (name: string, shape: number[], data: number[] | Float32Array) =>
    writeFile(path(name), writeNpy({ dtype: 'float64', shape, data: Float64Array.from(data) }));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hessian-probe-hardening-'));
    await writeFile(path('mlp.onnx'), bytes);
    await floats('x.npy', [N, 4], x);
    await writeFile(path('y.npy'), writeNpy({ dtype: 'int32', shape: [N], data: labels }));
  });
  afterAll(async () => {
    await chmod(path('locked'), 0o755).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  describe('output paths', () => {
    const cases: [string, () => Promise<string[]>, RegExp][] = [
      [
        '--json onto the labels',
        async () => analyze('--json', path('y.npy')),
        /--json .*y\.npy: is the --labels file .*y\.npy; refusing to overwrite an input \(choose another path\)/,
      ],
      [
        '--out onto the inputs through a symbolic link',
        async () => {
          await symlink(path('x.npy'), path('link.npy')).catch(() => undefined);
          return analyze('--out', path('link.npy'));
        },
        /--out .*link\.npy: is the --inputs file .*x\.npy; refusing to overwrite an input/,
      ],
      [
        '--json onto the model spelled another way, even with --force',
        async () =>
          analyze('--force', '--json', join(dir, '..', dir.split('/').at(-1)!, 'mlp.onnx')),
        /--json .*mlp\.onnx: is the model .*mlp\.onnx; refusing to overwrite an input \(choose another path\)/,
      ],
      [
        '--out and --json onto one file',
        async () => analyze('--out', path('same.out'), '--json', `${dir}/./same.out`),
        /--json .*same\.out: is also --out .*same\.out; expected two different files/,
      ],
      [
        '--json into a read-only folder',
        async () => {
          await mkdir(path('locked'), { recursive: true });
          await chmod(path('locked'), 0o555);
          return analyze('--json', path('locked/report.json'));
        },
        /--json .*report\.json: cannot write to the folder .*locked \(read-only\); choose a writable folder/,
      ],
      [
        '--json onto a read-only file',
        async () => {
          await writeFile(path('kept.json'), 'keep');
          await chmod(path('kept.json'), 0o444);
          return analyze('--json', path('kept.json'));
        },
        /--json .*kept\.json: the file exists and cannot be replaced \(read-only\)/,
      ],
      [
        '--json into a missing folder',
        async () => analyze('--json', path('missing/report.json')),
        /--json .*report\.json: its folder .*missing: .*ENOENT/,
      ],
    ];
    it.each(cases)('refuses %s before any work', async (_, argv, message) => {
      const args = await argv();
      const before = await readdir(dir);
      expectRefused(await cli(args), message);
      expect(await readdir(dir)).toEqual(before);
      expect(Buffer.from(await readFile(path('y.npy'))).length).toBeGreaterThan(0);
      expect(Buffer.from(await readFile(path('mlp.onnx'))).equals(Buffer.from(bytes))).toBe(true);
    });
  });

  describe('input values', () => {
    const nan = Float32Array.from(x);
    nan[2 * 4 + 1] = Number.NaN;
    const inf = Array.from(x);
    inf[3] = Number.POSITIVE_INFINITY;
    const huge = Array.from(x);
    huge[5 * 4] = 1e39;
    const nearMax = Array.from(x);
    // Rounds to the largest float32 (3.4028234663852886e38) rather than to Infinity.
    nearMax[0] = 3.4028235e38;
    const oneHot = (rows: number[][]) => rows.flat();
    const cases: [string, () => Promise<string[]>, RegExp][] = [
      [
        'NaN inputs',
        async () => {
          await floats('x-nan.npy', [N, 4], nan);
          return ['--inputs', path('x-nan.npy'), '--labels', path('y.npy')];
        },
        /--inputs .*x-nan\.npy: expected finite values, got NaN at index \(2, 1\)/,
      ],
      [
        'infinite float64 inputs',
        async () => {
          await doubles('x-inf.npy', [N, 4], inf);
          return ['--inputs', path('x-inf.npy'), '--labels', path('y.npy')];
        },
        /--inputs .*x-inf\.npy: expected finite values, got Infinity at index \(0, 3\)/,
      ],
      [
        'float64 inputs beyond float32',
        async () => {
          await doubles('x-huge.npy', [N, 4], huge);
          return ['--inputs', path('x-huge.npy'), '--labels', path('y.npy')];
        },
        /--inputs .*x-huge\.npy: expected values within float32's range .* got 1e\+39 at index \(5, 0\)/,
      ],
      [
        'NaN regression targets',
        async () => {
          await floats('t-nan.npy', [N, 3], [Number.NaN, ...new Array(N * 3 - 1).fill(0)]);
          return ['--inputs', path('x.npy'), '--labels', path('t-nan.npy'), '--loss', 'mse'];
        },
        /--labels .*t-nan\.npy: expected finite values, got NaN at index \(0, 0\)/,
      ],
      [
        'negative one-hot entries',
        async () => {
          const rows = Array.from({ length: N }, (_, n) => [0, 0, 0].map((_, c) => +(c === n % 3)));
          rows[1] = [0.75, 0.75, -0.5];
          await floats('y-neg.npy', [N, 3], oneHot(rows));
          return ['--inputs', path('x.npy'), '--labels', path('y-neg.npy')];
        },
        /--labels .*y-neg\.npy: expected one-hot or probability rows \(entries >= 0, rows summing to 1\), got -0\.5 at index \(1, 2\)/,
      ],
      [
        'label rows that do not sum to 1',
        async () => {
          const rows = Array.from({ length: N }, () => [0.5, 0.25, 0.125]);
          await floats('y-sum.npy', [N, 3], oneHot(rows));
          return ['--inputs', path('x.npy'), '--labels', path('y-sum.npy')];
        },
        /--labels .*y-sum\.npy: expected one-hot or probability rows summing to 1 \(within 6\.0e-7\), got a sum of 0\.875 in row 0/,
      ],
      [
        'negative class ids',
        async () => {
          const ids = BigInt64Array.from(labels, (v) => BigInt(v));
          ids[4] = -1n;
          await writeFile(path('y-minus.npy'), writeNpy({ dtype: 'int64', shape: [N], data: ids }));
          return ['--inputs', path('x.npy'), '--labels', path('y-minus.npy')];
        },
        /--labels .*y-minus\.npy: expected class ids >= 0, got -1 at index 4/,
      ],
    ];
    it.each(cases)(
      'refuses %s, naming the file, the index and the value',
      async (_, argv, message) => {
        const run = await cli(['onnx', 'analyze', path('mlp.onnx'), ...(await argv())]);
        expectRefused(run, message);
      },
    );

    it('accepts probability rows (soft labels) and values that round to float32’s largest', async () => {
      await doubles('x-max.npy', [N, 4], nearMax);
      const soft = Array.from({ length: N }, (_, n) => {
        const e = [1, 2, 3].map((c) => Math.exp(Math.fround(x[n * 4] * c)));
        const sum = e.reduce((a, b) => a + b, 0);
        return e.map((v) => Math.fround(v / sum));
      });
      await floats('y-soft.npy', [N, 3], soft.flat());
      const ok = await cli(analyze('--labels', path('y-soft.npy'), '--analyses', 'trace'));
      expect(ok.stderr).not.toMatch(/error/);
      expect(ok.code).toBe(0);
      // Off a terminal, progress is one line per phase: no redrawn bar.
      expect(ok.stderr).not.toMatch(REDRAW);
      expect(ok.stderr).toMatch(/\[1\/1\] trace: \d+ matvecs/);
      const max = await cli([
        'onnx',
        'analyze',
        path('mlp.onnx'),
        '--inputs',
        path('x-max.npy'),
        '--labels',
        path('y.npy'),
        '--analyses',
        'trace',
      ]);
      // The inputs are accepted; tanh saturates, so the model's outputs stay finite.
      expect(max.stderr).not.toMatch(/float32's range/);
      expect(max.code).toBe(0);
    });
  });

  describe('integer inputs (token ids)', () => {
    // tokens [N] → Gather over a [V, 4] embedding → MatMul [4, 3] → logits [N, 3].
    const V = 10;
    const lm = buildModel({
      nodes: [
        { op: 'Gather', inputs: ['E', 'tokens'], outputs: ['h'] },
        { op: 'MatMul', inputs: ['h', 'W'], outputs: ['y'] },
      ],
      initializers: [
        { name: 'E', dims: [V, 4], data: normals(8, V * 4) },
        { name: 'W', dims: [4, 3], data: normals(9, 12) },
      ],
      inputs: [{ name: 'tokens', shape: ['N'], dtype: 'int64' }],
      outputs: ['y'],
    });
    const ids = (name: string, values: bigint[]) =>
      writeFile(
        path(name),
        writeNpy({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values) }),
      );
    const run = (tokens: string) =>
      cli([
        'onnx',
        'analyze',
        path('lm.onnx'),
        '--inputs',
        path(tokens),
        '--labels',
        path('y.npy'),
        '--analyses',
        'trace',
        '--parameters',
        'E,W',
      ]);

    it('feeds int64 token ids to an integer graph input', async () => {
      await writeFile(path('lm.onnx'), lm);
      await ids('tokens.npy', [0n, 3n, 9n, 2n, 2n, 7n, 1n, 5n]);
      const ok = await run('tokens.npy');
      expect(ok.stderr).not.toMatch(/error/);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/model +test \(52 parameters, 2 blocks\)/);
    });

    it('refuses float arrays and ids beyond int32 for it, and ids onnxruntime cannot gather', async () => {
      await writeFile(path('lm.onnx'), lm);
      expectRefused(
        await run('x.npy'),
        /--inputs .*x\.npy: expected integers \(int32, int64 or uint8\) for the int64 model input 'tokens', got float32/,
      );
      await ids('tokens-big.npy', [0n, 1n, 2n, 3n, 2n ** 40n, 5n, 6n, 7n]);
      expectRefused(
        await run('tokens-big.npy'),
        /--inputs .*tokens-big\.npy: expected values within the int32 range for the model input 'tokens', got 1099511627776 at index \(4\)/,
      );
      await ids('tokens-out.npy', [0n, 1n, 2n, 3n, 4n, 5n, 6n, 10n]);
      expectRefused(
        await run('tokens-out.npy'),
        /lm\.onnx: onnxruntime cannot run the model on --inputs .*tokens-out\.npy \(.*\)/,
      );
    });
  });

  describe('the model in onnxruntime', () => {
    const linear = (w: number[], op = 'MatMul', dims = [4, 3]) =>
      buildModel({
        nodes: [
          { op: 'MatMul', inputs: ['x', 'W'], outputs: ['a'] },
          { op, inputs: ['a'], outputs: ['y'] },
        ],
        initializers: [{ name: 'W', dims, data: w }],
        inputs: [{ name: 'x', shape: ['N', 'D'] }],
        outputs: ['y'],
      });
    const cases: [string, () => Uint8Array, RegExp][] = [
      [
        'NaN weights',
        () => linear([0, 0, 0, 0, 0, Number.NaN, 0, 0, 0, 0, 0, 0], 'Relu'),
        /mlp-bad\.onnx: expected finite weights, got NaN in initializer 'W' at index \(1, 2\)/,
      ],
      [
        'a model onnxruntime cannot load',
        () =>
          buildModel({
            nodes: [{ op: 'MatMul', inputs: ['x', 'nowhere'], outputs: ['y'] }],
            inputs: [{ name: 'x', shape: ['N', 4] }],
            outputs: ['y'],
          }),
        /mlp-bad\.onnx: onnxruntime cannot load the model \(.*\); check the file with onnx\.checker/,
      ],
      [
        'a model onnxruntime cannot run on these inputs',
        () => linear(new Array(15).fill(0.1), 'Relu', [5, 3]),
        /mlp-bad\.onnx: onnxruntime cannot run the model on --inputs .*x\.npy \(.*\); check the inputs' shapes/,
      ],
      [
        'outputs that overflow float32',
        () => linear(new Array(12).fill(30), 'Exp'),
        /mlp-bad\.onnx: onnxruntime computes Infinity in output 'y' at index \(\d, 0\) on --inputs .*x\.npy .*; rescale the inputs/,
      ],
    ];
    it.each(cases)('refuses %s with exit 2', async (_, model, message) => {
      await writeFile(path('mlp-bad.onnx'), model());
      const run = await cli([
        'onnx',
        'analyze',
        path('mlp-bad.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
      ]);
      expectRefused(run, message);
    });

    it('refuses a Hessian-vector product that overflows float32 (finite loss and outputs)', async () => {
      // exp(x·W) with x·W up to 88 (exp(88) = 1.7e38 < float32's 3.4e38): the outputs and the
      // cross-entropy are finite, the second derivatives (x² exp(x·W)) are not.
      await writeFile(path('exp.onnx'), linear([22, 15, 5, 22, 15, 5], 'Exp', [2, 3]));
      await floats('x2.npy', [4, 2], [2, 2, 1, 0.9, 0.8, 1, 1, 0.5]);
      await writeFile(
        path('y4.npy'),
        writeNpy({ dtype: 'int32', shape: [4], data: Int32Array.from([1, 2, 0, 1]) }),
      );
      const run = await cli([
        'onnx',
        'analyze',
        path('exp.onnx'),
        '--inputs',
        path('x2.npy'),
        '--labels',
        path('y4.npy'),
        '--analyses',
        'trace',
        '--backend',
        'cpu',
      ]);
      expect(run.code).toBe(2);
      const last = run.stderr.trim().split('\n').at(-1);
      expect(last).toMatch(
        /^hessian-probe: .*exp\.onnx: the Hessian-vector product on --inputs .*x2\.npy is NaN at entry \d of initializer 'W' \(likely float32 overflow in the second derivatives\); rescale the inputs or try --kind ggn$/,
      );
      expect(run.stderr).not.toMatch(/\n\s+at /);
    });
  });

  describe('strings from files are printed terminal-safe', () => {
    const hostile = 'evil\x1b[2J\x1b]0;pwned\x07\u009b31m\u202e';
    const escaped = 'evil\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u202e';

    it('in the summary of analyze and in onnx show', async () => {
      const model = mlpModel({ sizes: [4, 3], softmax: true }).bytes;
      const { onnx } = await import('../proto.js');
      const decoded = onnx.ModelProto.decode(model);
      decoded.graph!.name = hostile;
      decoded.docString = `doc ${hostile}`;
      decoded.metadataProps = [
        onnx.StringStringEntryProto.create({ key: `k${hostile}`, value: hostile }),
      ];
      await writeFile(path('evil.onnx'), onnx.ModelProto.encode(decoded).finish());
      const run = await cli([
        'onnx',
        'analyze',
        path('evil.onnx'),
        '--inputs',
        path('x.npy'),
        '--labels',
        path('y.npy'),
        '--analyses',
        'trace',
        '--out',
        path('evil.annotated.onnx'),
      ]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`model +${quote(escaped)} \\(`));
      expect(run.stdout).not.toMatch(RAW);
      const shown = await cli(['onnx', 'show', path('evil.annotated.onnx')]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(new RegExp(`\\ndoc +doc ${quote(escaped)}\\n`));
      expect(shown.stdout).toMatch(
        new RegExp(`\\nmetadata k${quote(escaped)} +${quote(escaped)}\\n`),
      );
      expect(shown.stdout).toMatch(new RegExp(`\\ngraph +${quote(escaped)}\\n`));
      expect(shown.stdout).not.toMatch(RAW);
    });

    it('in error messages', async () => {
      const model = buildModel({
        nodes: [{ op: 'Relu', inputs: [hostile], outputs: ['y'] }],
        inputs: [{ name: hostile, shape: ['N', 4] }],
        outputs: ['y'],
      });
      await writeFile(path('evil-input.onnx'), model);
      const run = await cli([
        'onnx',
        'analyze',
        path('evil-input.onnx'),
        '--inputs',
        `nope=${path('x.npy')}`,
        '--inputs',
        `other=${path('x.npy')}`,
        '--labels',
        path('y.npy'),
      ]);
      expectRefused(run, /the model has no input 'nope'; its inputs are evil\\x1b\[2J/);
      expect(run.stderr).toContain(escaped);
      expect(run.stderr.trimEnd()).not.toMatch(RAW);
    });
  });

  it('prints each command’s help, exit 0', async () => {
    const help = async (...argv: string[]) => {
      const run = await cli(argv);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      return run.stdout;
    };
    const analyzeHelp = await help('onnx', 'analyze', '--help');
    expect(analyzeHelp).toMatch(/^Usage: hessian-probe onnx analyze MODEL\.onnx --inputs X\.npy/);
    expect(analyzeHelp).toMatch(/--labels Y\.npy +ce: int32\/int64 class ids \[N\] in \[0, C\)/);
    expect(analyzeHelp).not.toMatch(/--title/);
    expect(await help('onnx', 'analyze', 'model.onnx', '-h')).toBe(analyzeHelp);
    const showHelp = await help('onnx', 'show', '--help');
    expect(showHelp).toMatch(/^Usage: hessian-probe onnx show MODEL\.onnx\n/);
    expect(showHelp).toContain('ESC as \\x1b');
    const reportHelp = await help('report', '--help');
    expect(reportHelp).toMatch(/^Usage: hessian-probe report RUN\.jsonl/);
    expect(reportHelp).toMatch(/--title T/);
    expect(reportHelp).not.toMatch(/--inputs/);
    expect(await help('onnx', '--help')).toBe(`${analyzeHelp}\n${showHelp}`);
    const overview = await help('--help');
    expect(overview).toMatch(/^Usage:\n {2}hessian-probe onnx analyze/);
    expect(overview).toContain('hessian-probe onnx analyze --help');
  });

  it('resolves paths against the folder pnpm was called from, for the root `pnpm hessian-probe` script only', () => {
    const script = 'tsx --conditions=source packages/onnx-adapter/src/cli-main.ts';
    expect(invocationFolder({ INIT_CWD: '/home/me/models', npm_lifecycle_script: script })).toBe(
      '/home/me/models',
    );
    // Another package's script (paths in it are relative to that package), or no script.
    expect(
      invocationFolder({
        INIT_CWD: '/home/me',
        npm_lifecycle_script: 'hessian-probe onnx show m.onnx',
      }),
    ).toBeUndefined();
    expect(invocationFolder({ INIT_CWD: '/home/me' })).toBeUndefined();
    expect(invocationFolder({ npm_lifecycle_script: script })).toBeUndefined();
  });

  it('draws the progress bar only when stderr is a terminal', async () => {
    const argv = analyze('--analyses', 'eigen', '--k', '1', '--backend', 'cpu');
    const plain = await cli(argv);
    const tty = await cli(argv, true);
    expect([plain.code, tty.code]).toEqual([0, 0]);
    expect(plain.stderr).not.toMatch(REDRAW);
    expect(tty.stderr).toMatch(/\r {2}eigen {4}\[[#.]{24}\] \d+ matvecs/);
    expect(tty.stderr).toContain('\r\x1b[K');
  });
});
