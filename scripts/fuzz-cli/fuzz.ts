/**
 * Fuzzing `hessian-probe onnx analyze` and `onnx show` in-process: byte mutations of a valid
 * model, of an annotated model and of the probe's .npy files, plus hand-built bad models and
 * .npy files. Each run is counted by exit code and by whether stderr holds a stack trace; a
 * failure that is not typed (exit 1, a stack trace, or no answer within the time limit) is
 * listed with what reproduces it.
 *
 *   pnpm exec tsx --conditions=source scripts/fuzz-cli/fuzz.ts [--mutations N] [--seed S]
 *
 * The default test suite runs a small fixed-seed subset (packages/onnx-adapter/src/cli/fuzz.test.ts).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
// The workspace's packages are not dependencies of the root: their sources are imported.
import { createRandom } from '../../packages/core/src/index.js';
import { captureCli } from '../../packages/onnx-adapter/src/cli/capture.js';
import { writeNpy } from '../../packages/onnx-adapter/src/npy.js';
import { encodeModel, type ModelProto, onnx } from '../../packages/onnx-adapter/src/proto.js';
import { buildModel, mlpModel, normals } from '../../packages/onnx-adapter/src/testing/models.js';

/** What was fuzzed in one run. */
export type FuzzTarget =
  | 'model mutant (analyze)'
  | 'model mutant (show)'
  | 'model mutant (forward-only)'
  | 'annotated mutant (show)'
  | 'inputs mutant'
  | 'labels mutant'
  | 'hand-built model'
  | 'hand-built .npy';

/** One run that did not end typed, with what reproduces it. */
export interface UntypedFailure {
  readonly target: FuzzTarget;
  /** The mutation (seed and case index) or the hand-built case's name. */
  readonly name: string;
  readonly code: number | 'timeout';
  /** The first line of stderr. */
  readonly message: string;
}

/** The counts of a fuzzing pass. */
export interface FuzzSummary {
  /** Runs by target and exit code (`'timeout'` for no answer within the limit). */
  readonly counts: Record<string, Record<string, number>>;
  /** Runs whose stderr holds a stack trace (a line starting with "at "). */
  readonly stackTraces: number;
  readonly runs: number;
  readonly untyped: readonly UntypedFailure[];
  /** The hand-built cases that exited 0 (the command accepted them). */
  readonly accepted: readonly string[];
  /**
   * The exit-2 messages by kind: the message with paths, quoted names and numbers blanked, so
   * that a reader can check each kind is the input's fault and not a bug passed off as one.
   */
  readonly refusals: Readonly<Record<string, number>>;
}

/** Options of {@link fuzzCli}. */
export interface FuzzOptions {
  /** Byte mutations in all (split over the model, the annotated model and the .npy files). */
  readonly mutations: number;
  readonly seed: number;
  /** Also run the hand-built models and .npy files; default true. */
  readonly handBuilt?: boolean;
  /** Longest a run may take before it counts as a hang, in milliseconds; default 60 000. */
  readonly timeoutMs?: number;
  /** Called after each run (for progress). */
  readonly onRun?: (done: number) => void;
}

const N = 6;
/** The analyses each run asks for: the trace only (30 products of a 43-parameter model). */
const ANALYSES = 'trace';

/**
 * A mutated copy of `bytes`: 1–4 edits among bit flips, special bytes, inserted, deleted or
 * duplicated runs, truncation, and special float32 values written over four bytes.
 */
function mutate(bytes: Uint8Array, random: ReturnType<typeof createRandom>): Uint8Array {
  const int = (n: number) => Math.floor(random.uniform() * n);
  let out = Array.from(bytes);
  const edits = 1 + int(4);
  for (let e = 0; e < edits && out.length > 0; e++) {
    const at = int(out.length);
    switch (int(7)) {
      case 0:
        out[at] ^= 1 << int(8);
        break;
      case 1:
        out[at] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe][int(6)];
        break;
      case 2:
        out.splice(at, 0, ...Array.from({ length: 1 + int(8) }, () => int(256)));
        break;
      case 3:
        out.splice(at, 1 + int(8));
        break;
      case 4:
        out = out.slice(0, at);
        break;
      case 5: {
        const length = 1 + int(16);
        out.splice(int(out.length), 0, ...out.slice(at, at + length));
        break;
      }
      default: {
        // A float32 that stresses the numerics, over four bytes (weights, inputs, labels).
        const special = [Number.NaN, Number.POSITIVE_INFINITY, -3.4e38, 1e30, -0, 1e-45, 88.8][
          int(7)
        ];
        const bytes4 = new Uint8Array(Float32Array.of(special).buffer);
        for (let k = 0; k < 4 && at + k < out.length; k++) out[at + k] = bytes4[k];
      }
    }
  }
  return Uint8Array.from(out);
}

/** Hand-built models that are wrong in one way each. */
function badModels(): [string, Uint8Array][] {
  const mlp = mlpModel({ sizes: [4, 5, 3], activation: 'Tanh' });
  const valid = onnx.ModelProto.decode(mlp.bytes);
  const edit = (change: (m: ModelProto) => void): Uint8Array => {
    const m = onnx.ModelProto.decode(mlp.bytes);
    change(m);
    return encodeModel(m);
  };
  const linear = (
    nodes: Parameters<typeof buildModel>[0]['nodes'],
    w = normals(3, 12),
    dims = [4, 3],
  ) =>
    buildModel({
      nodes,
      initializers: [{ name: 'W', dims, data: w }],
      inputs: [{ name: 'x', shape: ['N', 4] }],
      outputs: ['y'],
    });
  const matmul = { op: 'MatMul', inputs: ['x', 'W'], outputs: ['a'] };
  const text = new TextEncoder();
  const graphField = (payload: Uint8Array) => Uint8Array.from([0x3a, payload.length, ...payload]);
  const rest = encodeModel({ ...valid, graph: null });
  return [
    ['empty file', new Uint8Array()],
    ['text', text.encode('this is not a model\n')],
    ['a .npy file', writeNpy({ dtype: 'float32', shape: [2], data: new Float32Array(2) })],
    [
      'opset 99',
      edit((m) => {
        m.opsetImport[0].version = 99;
      }),
    ],
    [
      'opset 3',
      edit((m) => {
        m.opsetImport[0].version = 3;
      }),
    ],
    [
      'no opset import',
      edit((m) => {
        m.opsetImport = [];
      }),
    ],
    [
      'ir_version 0',
      edit((m) => {
        m.irVersion = 0;
      }),
    ],
    [
      'no graph',
      edit((m) => {
        m.graph = null;
      }),
    ],
    [
      'custom-domain node',
      edit((m) => {
        m.graph!.node![1].domain = 'com.example';
      }),
    ],
    [
      'ai.onnx.ml node',
      edit((m) => {
        m.graph!.node![1].domain = 'ai.onnx.ml';
      }),
    ],
    [
      'unknown operator',
      edit((m) => {
        m.graph!.node![1].opType = 'Frobnicate';
      }),
    ],
    [
      'external-data initializer',
      edit((m) => {
        const w = m.graph!.initializer![0];
        w.rawData = new Uint8Array();
        w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      }),
    ],
    [
      'initializer claiming 10^12 elements',
      edit((m) => {
        m.graph!.initializer![0].dims = [1e6, 1e6];
      }),
    ],
    [
      'initializer with negative dims',
      edit((m) => {
        m.graph!.initializer![0].dims = [-5, 4];
      }),
    ],
    [
      'raw data not a multiple of 4',
      edit((m) => {
        m.graph!.initializer![0].rawData = new Uint8Array(21);
      }),
    ],
    [
      'int64 initializer where floats go',
      edit((m) => {
        const w = m.graph!.initializer![0];
        w.dataType = onnx.TensorProto.DataType.INT64;
      }),
    ],
    [
      'string initializer',
      edit((m) => {
        m.graph!.initializer![0].dataType = onnx.TensorProto.DataType.STRING;
      }),
    ],
    [
      'float16 initializer',
      edit((m) => {
        m.graph!.initializer![0].dataType = onnx.TensorProto.DataType.FLOAT16;
      }),
    ],
    [
      'NaN weights',
      edit((m) => {
        m.graph!.initializer![0].rawData = new Uint8Array(
          new Float32Array(20).fill(Number.NaN).buffer,
        );
      }),
    ],
    [
      'infinite weights',
      edit((m) => {
        m.graph!.initializer![1].rawData = new Uint8Array(
          new Float32Array(5).fill(Number.POSITIVE_INFINITY).buffer,
        );
      }),
    ],
    [
      'node reading a missing tensor',
      edit((m) => {
        m.graph!.node![1].input = ['nowhere'];
      }),
    ],
    [
      'two nodes writing one tensor',
      edit((m) => {
        m.graph!.node![2].output = m.graph!.node![1].output!;
      }),
    ],
    [
      'a cycle',
      edit((m) => {
        m.graph!.node![0].input = [m.graph!.node![1].output![0], 'w1', 'b1'];
      }),
    ],
    [
      'no graph inputs',
      edit((m) => {
        m.graph!.input = [];
      }),
    ],
    [
      'no graph outputs',
      edit((m) => {
        m.graph!.output = [];
      }),
    ],
    [
      'output that no node makes',
      edit((m) => {
        m.graph!.output![0].name = 'ghost';
      }),
    ],
    [
      'input declared [N, 5]',
      edit((m) => {
        m.graph!.input![0].type!.tensorType!.shape!.dim![1].dimValue = 5;
      }),
    ],
    [
      'input declared 3-D',
      edit((m) => {
        m.graph!.input![0].type!.tensorType!.shape!.dim!.push({ dimValue: 2 });
      }),
    ],
    [
      'input declared int64',
      edit((m) => {
        m.graph!.input![0].type!.tensorType!.elemType = onnx.TensorProto.DataType.INT64;
      }),
    ],
    [
      'input declared 10^12 wide',
      edit((m) => {
        m.graph!.input![0].type!.tensorType!.shape!.dim![1].dimValue = 1e12;
      }),
    ],
    [
      'input without a type',
      edit((m) => {
        m.graph!.input![0].type = null;
      }),
    ],
    [
      'Gemm inner dimension mismatch',
      edit((m) => {
        m.graph!.initializer![0].dims = [4, 5];
      }),
    ],
    [
      'Gemm transB as a float attribute',
      edit((m) => {
        m.graph!.node![0].attribute = [
          { name: 'transB', type: onnx.AttributeProto.AttributeType.FLOAT, f: 1 },
        ];
      }),
    ],
    [
      'Gemm without its attribute type',
      edit((m) => {
        m.graph!.node![0].attribute![0].type = 0;
      }),
    ],
    [
      'node without an op type',
      edit((m) => {
        m.graph!.node![1].opType = '';
      }),
    ],
    [
      'graph field twice, the second empty',
      Uint8Array.from([
        ...rest,
        ...graphField(new Uint8Array()),
        ...encodeModel({ graph: valid.graph! }),
      ]),
    ],
    [
      'Softmax on axis 5',
      linear([matmul, { op: 'Softmax', inputs: ['a'], outputs: ['y'], attrs: { axis: { i: 5 } } }]),
    ],
    [
      'Exp overflowing float32',
      linear([matmul, { op: 'Exp', inputs: ['a'], outputs: ['y'] }], new Float32Array(12).fill(60)),
    ],
    [
      'Reshape to an impossible shape',
      buildModel({
        nodes: [matmul, { op: 'Reshape', inputs: ['a', 'shape'], outputs: ['y'] }],
        initializers: [
          { name: 'W', dims: [4, 3], data: normals(3, 12) },
          { name: 'shape', dims: [2], data: [7, 5], dtype: 'int64' },
        ],
        inputs: [{ name: 'x', shape: ['N', 4] }],
        outputs: ['y'],
      }),
    ],
    ['Conv on a 2-D input', linear([{ op: 'Conv', inputs: ['x', 'W'], outputs: ['y'] }])],
    [
      'MatMul with 3-D weights',
      linear([matmul, { op: 'Relu', inputs: ['a'], outputs: ['y'] }], normals(3, 24), [2, 4, 3]),
    ],
    [
      'a 1-D output for cross-entropy',
      linear([
        matmul,
        {
          op: 'ReduceSum',
          inputs: ['a'],
          outputs: ['y'],
          attrs: { axes: { ints: [1] }, keepdims: { i: 0 } },
        },
      ]),
    ],
    [
      'an integer output (ArgMax)',
      linear([matmul, { op: 'ArgMax', inputs: ['a'], outputs: ['y'], attrs: { axis: { i: 1 } } }]),
    ],
    [
      'no parameters (Identity only)',
      buildModel({
        nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
        inputs: [{ name: 'x', shape: ['N', 3] }],
        outputs: ['y'],
      }),
    ],
    [
      'graph input shadowing an initializer',
      edit((m) => {
        m.graph!.input!.push({ ...m.graph!.input![0], name: 'w1' });
      }),
    ],
    [
      'a control character in every name',
      edit((m) => {
        m.graph!.name = 'g\x1b[2J';
        for (const n of m.graph!.node!) n.name = `${n.name}\x07`;
      }),
    ],
  ];
}

/** Hand-built .npy files, each bad in one way, with the flag it is passed as. */
function badNpys(): [string, '--inputs' | '--labels', Uint8Array][] {
  const good = writeNpy({ dtype: 'float32', shape: [N, 4], data: normals(1, N * 4) });
  const header = (dict: string, data: Uint8Array) => {
    const text = `${dict}${' '.repeat(64 - ((10 + dict.length + 1) % 64))}\n`;
    return Uint8Array.from([
      0x93,
      ...new TextEncoder().encode('NUMPY'),
      1,
      0,
      text.length & 0xff,
      text.length >> 8,
      ...new TextEncoder().encode(text),
      ...data,
    ]);
  };
  const floats = new Uint8Array(new Float32Array(N * 4).buffer);
  const nan = new Float32Array(N * 4);
  nan[7] = Number.NaN;
  return [
    ['empty', '--inputs', new Uint8Array()],
    ['bad magic', '--inputs', Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x58, 1, 0])],
    ['version 9', '--inputs', Uint8Array.from([...good.subarray(0, 6), 9, 0, ...good.subarray(8)])],
    ['truncated data', '--inputs', good.subarray(0, good.length - 5)],
    ['trailing bytes', '--inputs', Uint8Array.from([...good, 1, 2, 3, 4])],
    ['header that is not a dict', '--inputs', header("['descr', '<f4']", floats)],
    [
      'big-endian',
      '--inputs',
      header(`{'descr': '>f4', 'fortran_order': False, 'shape': (${N}, 4), }`, floats),
    ],
    [
      'float16',
      '--inputs',
      header(
        `{'descr': '<f2', 'fortran_order': False, 'shape': (${N}, 4), }`,
        floats.subarray(0, N * 8),
      ),
    ],
    [
      'Fortran order',
      '--inputs',
      header(`{'descr': '<f4', 'fortran_order': True, 'shape': (${N}, 4), }`, floats),
    ],
    [
      'object dtype',
      '--inputs',
      header(`{'descr': '|O', 'fortran_order': False, 'shape': (${N}, 4), }`, floats),
    ],
    [
      'structured dtype',
      '--inputs',
      header(`{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (${N}, 4), }`, floats),
    ],
    [
      'shape claiming 10^12 elements',
      '--inputs',
      header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", floats),
    ],
    [
      'negative shape',
      '--inputs',
      header(`{'descr': '<f4', 'fortran_order': False, 'shape': (-${N}, 4), }`, floats),
    ],
    ['0-d array', '--inputs', writeNpy({ dtype: 'float32', shape: [], data: new Float32Array(1) })],
    [
      'no samples',
      '--inputs',
      writeNpy({ dtype: 'float32', shape: [0, 4], data: new Float32Array(0) }),
    ],
    [
      '3-D inputs',
      '--inputs',
      writeNpy({ dtype: 'float32', shape: [N, 2, 2], data: new Float32Array(N * 4) }),
    ],
    ['NaN inputs', '--inputs', writeNpy({ dtype: 'float32', shape: [N, 4], data: nan })],
    [
      'float64 beyond float32',
      '--inputs',
      writeNpy({ dtype: 'float64', shape: [N, 4], data: new Float64Array(N * 4).fill(1e300) }),
    ],
    [
      'bool inputs',
      '--inputs',
      writeNpy({ dtype: 'bool', shape: [N, 4], data: new Uint8Array(N * 4) }),
    ],
    [
      'float class ids',
      '--labels',
      writeNpy({ dtype: 'float32', shape: [N], data: new Float32Array(N) }),
    ],
    [
      'class ids beyond the classes',
      '--labels',
      writeNpy({ dtype: 'int32', shape: [N], data: new Int32Array(N).fill(7) }),
    ],
    [
      'negative class ids',
      '--labels',
      writeNpy({ dtype: 'int32', shape: [N], data: new Int32Array(N).fill(-1) }),
    ],
    [
      'int64 beyond 2^53',
      '--labels',
      writeNpy({ dtype: 'int64', shape: [N], data: new BigInt64Array(N).fill(2n ** 60n) }),
    ],
    [
      'one-hot of the wrong width',
      '--labels',
      writeNpy({
        dtype: 'float32',
        shape: [N, 4],
        data: new Float32Array(N * 4).map((_, i) => +(i % 4 === 0)),
      }),
    ],
    [
      'one-hot entries of 2',
      '--labels',
      writeNpy({
        dtype: 'int32',
        shape: [N, 3],
        data: new Int32Array(N * 3).map((_, i) => (i % 3 === 0 ? 2 : 0)),
      }),
    ],
    [
      'NaN one-hot',
      '--labels',
      writeNpy({ dtype: 'float32', shape: [N, 3], data: new Float32Array(N * 3).fill(Number.NaN) }),
    ],
    [
      'fewer labels than samples',
      '--labels',
      writeNpy({ dtype: 'int32', shape: [N - 1], data: new Int32Array(N - 1) }),
    ],
    [
      '3-D labels',
      '--labels',
      writeNpy({ dtype: 'float32', shape: [N, 3, 1], data: new Float32Array(N * 3) }),
    ],
  ];
}

/**
 * Runs the fuzzing pass in `dir` (which it fills with files) and returns the counts.
 *
 * @example
 * ```ts
 * const summary = await fuzzCli('/tmp/fuzz', { mutations: 50, seed: 1 });
 * console.log(summary.untyped.length); // 0
 * ```
 */
export async function fuzzCli(dir: string, options: FuzzOptions): Promise<FuzzSummary> {
  const { mutations, seed, handBuilt = true, timeoutMs = 60_000 } = options;
  const random = createRandom(seed);
  const file = (name: string) => join(dir, name);
  const model = mlpModel({ sizes: [4, 5, 3], activation: 'Tanh', softmax: true }).bytes;
  const inputs = writeNpy({ dtype: 'float32', shape: [N, 4], data: normals(1, N * 4) });
  const labels = writeNpy({
    dtype: 'int64',
    shape: [N],
    data: BigInt64Array.from({ length: N }, (_, n) => BigInt(n % 3)),
  });
  await writeFile(file('model.onnx'), model);
  await writeFile(file('x.npy'), inputs);
  await writeFile(file('y.npy'), labels);
  const baseline = await captureCli(
    analyzeArgs(file('model.onnx'), file('x.npy'), file('y.npy'), file('annotated.onnx')),
  );
  if (baseline.code !== 0) {
    throw new Error(
      `fuzz-cli: the unmutated model must analyse, got exit ${baseline.code}: ${baseline.stderr}`,
    );
  }
  const annotated = new Uint8Array(await readFile(file('annotated.onnx')));

  const counts: Record<string, Record<string, number>> = {};
  const untyped: UntypedFailure[] = [];
  const accepted: string[] = [];
  const refusals: Record<string, number> = {};
  let stackTraces = 0;
  let runs = 0;
  const record = async (target: FuzzTarget, name: string, argv: string[]) => {
    const outcome = await Promise.race([
      captureCli(argv),
      new Promise<'timeout'>((done) => setTimeout(() => done('timeout'), timeoutMs).unref()),
    ]);
    const code = outcome === 'timeout' ? 'timeout' : outcome.code;
    const stderr = outcome === 'timeout' ? '' : outcome.stderr;
    const stack = /\n\s+at /.test(stderr);
    counts[target] ??= {};
    counts[target][String(code)] = (counts[target][String(code)] ?? 0) + 1;
    if (stack) stackTraces++;
    if (code === 0 && target.startsWith('hand-built')) accepted.push(name);
    if (code === 2) {
      const kind = messageKind(stderr.trim().split('\n').at(-1) ?? '', dir);
      refusals[kind] = (refusals[kind] ?? 0) + 1;
    }
    if (code === 1 || code === 'timeout' || stack) {
      const lines = stderr
        .split('\n')
        .filter(
          (l) =>
            l.startsWith('hessian-probe: ') &&
            !l.includes('tfjs backend') &&
            !l.includes('converting'),
        );
      untyped.push({
        target,
        name,
        code,
        message: (lines.at(-1) ?? stderr.split('\n')[0]).slice(0, 300),
      });
    }
    runs++;
    options.onRun?.(runs);
  };

  for (let m = 0; m < mutations; m++) {
    const name = `seed ${seed} mutation ${m}`;
    const pick = random.uniform();
    if (pick < 0.5) {
      await writeFile(file('m.onnx'), mutate(model, random));
      await record(
        'model mutant (analyze)',
        name,
        analyzeArgs(file('m.onnx'), file('x.npy'), file('y.npy'), file('m.out.onnx')),
      );
      await record('model mutant (show)', name, ['onnx', 'show', file('m.onnx')]);
      if (m % 4 === 0) {
        await record('model mutant (forward-only)', name, [
          ...analyzeArgs(file('m.onnx'), file('x.npy'), file('y.npy')).filter(
            (a, i, all) => a !== '--backend' && all[i - 1] !== '--backend',
          ),
          '--forward-only',
          '--probes',
          '2',
        ]);
      }
    } else if (pick < 0.7) {
      await writeFile(file('a.onnx'), mutate(annotated, random));
      await record('annotated mutant (show)', name, ['onnx', 'show', file('a.onnx')]);
    } else if (pick < 0.85) {
      await writeFile(file('mx.npy'), mutate(inputs, random));
      await record(
        'inputs mutant',
        name,
        analyzeArgs(file('model.onnx'), file('mx.npy'), file('y.npy')),
      );
    } else {
      await writeFile(file('my.npy'), mutate(labels, random));
      await record(
        'labels mutant',
        name,
        analyzeArgs(file('model.onnx'), file('x.npy'), file('my.npy')),
      );
    }
  }
  if (handBuilt) {
    for (const [name, bytes] of badModels()) {
      await writeFile(file('h.onnx'), bytes);
      await record(
        'hand-built model',
        name,
        analyzeArgs(file('h.onnx'), file('x.npy'), file('y.npy')),
      );
    }
    for (const [name, flag, bytes] of badNpys()) {
      await writeFile(file('h.npy'), bytes);
      const [x, y] =
        flag === '--inputs' ? [file('h.npy'), file('y.npy')] : [file('x.npy'), file('h.npy')];
      await record('hand-built .npy', name, analyzeArgs(file('model.onnx'), x, y));
    }
  }
  return { counts, stackTraces, runs, untyped, accepted, refusals };
}

/** A message with what varies between runs blanked: paths, quoted text, numbers, parentheses. */
function messageKind(line: string, dir: string): string {
  return line
    .replace(/^hessian-probe: /, '')
    .replaceAll(dir, '')
    .replace(/\/[\w.-]+/g, 'FILE')
    .replace(/'[^']*'/g, "'…'")
    .replace(/\([^()]*\)/g, '(…)')
    .replace(/-?\d[\d.e+-]*/g, '#')
    .slice(0, 110);
}

function analyzeArgs(model: string, x: string, y: string, out?: string): string[] {
  return [
    'onnx',
    'analyze',
    model,
    '--inputs',
    x,
    '--labels',
    y,
    '--analyses',
    ANALYSES,
    '--backend',
    'cpu',
    ...(out === undefined ? [] : ['--out', out]),
  ];
}

/** The counts as a Markdown table: one row per target, one column per exit code. */
export function formatSummary(summary: FuzzSummary): string {
  const codes = ['0', '2', '1', 'timeout'];
  const rows = Object.entries(summary.counts).map(
    ([target, byCode]) =>
      `| ${target} | ${codes.map((c) => byCode[c] ?? 0).join(' | ')} | ${Object.values(byCode).reduce((a, b) => a + b, 0)} |`,
  );
  return [
    `| target | exit 0 | exit 2 | exit 1 | timeout | runs |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `${summary.runs} runs, ${summary.stackTraces} with a stack trace, ${summary.untyped.length} not typed`,
    ...summary.untyped.map((u) => `- ${u.target}, ${u.name}: exit ${u.code}: ${u.message}`),
    `hand-built cases accepted (exit 0): ${summary.accepted.join('; ') || 'none'}`,
    '',
    'exit-2 messages by kind:',
    ...Object.entries(summary.refusals)
      .sort((a, b) => b[1] - a[1])
      .map(([kind, n]) => `- ${n} × ${kind}`),
    '',
  ].join('\n');
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mutations: { type: 'string', default: '2000' },
      seed: { type: 'string', default: '1' },
    },
  });
  const mutations = Number(values.mutations);
  const seed = Number(values.seed);
  const dir = await mkdtemp(join(tmpdir(), 'hessian-fuzz-'));
  const started = performance.now();
  try {
    const summary = await fuzzCli(dir, {
      mutations,
      seed,
      onRun: (done) => {
        if (done % 100 === 0)
          process.stderr.write(
            `fuzz-cli: ${done} runs, ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
          );
      },
    });
    process.stdout.write(formatSummary(summary));
    process.stdout.write(`(${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
    process.exitCode = summary.untyped.length === 0 ? 0 : 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await cli();
