/**
 * Cross-check of `@hessian-probe/onnx-adapter` against PyTorch. For each model folder written
 * by `reference.py` (model.onnx, x.npy, y.npy, hessian.npy, meta.json):
 *
 * 1. on the tfjs cpu and wasm backends, the adapter's exact Hessian over PyTorch's parameters
 *    (`onnxCurvature`, float32 tfjs Hessian-vector products assembled column by column with
 *    `denseMatrix`) is compared with PyTorch's float64 Hessian entry by entry (max |ΔH|,
 *    ‖ΔH‖_F/‖H‖_F, asserted), and through its full spectrum and trace;
 * 2. `hessian-probe onnx analyze` (the CLI's `main`, in-process, default parameters) runs on the
 *    same files, and its Lanczos eigenvalues and Hutch++ trace are compared with those of
 *    PyTorch's Hessian restricted to the same parameters (asserted within the eigensolver's
 *    tolerance and four standard errors).
 *
 * Prints markdown tables with the machine description; exits with code 1 when a check fails.
 *
 * Not a package: the workspace sources are imported by relative path, and each of them resolves
 * its own dependencies (tfjs, onnxruntime-node) from its package's node_modules.
 *
 * Usage: tsx --conditions=source scripts/crosscheck-pytorch/crosscheck.ts DIR
 */
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import {
  analysisDefaults,
  decodeReport,
  denseMatrix,
  type LayoutBlock,
} from '../../packages/core/src/index.js';
import { symmetricEigen } from '../../packages/core/src/symmetric-eigen.js';
import { arithmeticTolerance } from '../../packages/core/src/testing/index.js';
import { main as cliMain } from '../../packages/onnx-adapter/src/cli/main.js';
import {
  defaultParameters,
  type HostLabels,
  int64ToNumbers,
  type NpyArray,
  onnxCurvature,
  parseModel,
  readNpy,
} from '../../packages/onnx-adapter/src/index.js';
import { useBackend } from '../../packages/onnx-adapter/src/testing/backends.js';

/** The eigen analysis's default tolerance, which the CLI uses. */
const EIGEN_TOL = analysisDefaults('eigen').tol;

/**
 * Largest allowed ‖H_adapter − H_torch‖_F / ‖H_torch‖_F.
 *
 * The adapter evaluates the model and both passes of each Hessian-vector product in float32
 * (unit roundoff u = 2⁻²⁴ ≈ 6e-8); PyTorch's Hessian is float64 at the same float32 weights and
 * inputs (widened exactly), so its own error (~1e-16) is negligible and the difference is the
 * adapter's rounding alone. Each entry is a sum of products accumulated over the N = 16 samples
 * and the layer widths (≤ 27 here) through four chained passes (forward, backward and their
 * tangents), so its error is at most about (number of roundings on the path) · u · Σ|terms|.
 * With ~100 roundings on a path and terms that cancel by at most a factor of a few, a few hundred
 * ulps relative to ‖H‖_F bounds it: the project's shared float32 tolerance,
 * `arithmeticTolerance.float32` = 256 · 2⁻²⁴ ≈ 1.5e-5 (the one the operator contract uses for
 * the same normalisation, ‖Av − A_ref v‖ / (‖A_ref‖_F ‖v‖)). For scale, PyTorch's own float32
 * Hessian of the same models is within ~1e-7 of the float64 one (meta.json `torchFloat32`).
 */
const FROBENIUS_TOLERANCE = arithmeticTolerance.float32;

/** The tfjs backends the dense comparison runs on (those the adapter's tests use). */
const BACKENDS = ['cpu', 'wasm'] as const;
type Backend = (typeof BACKENDS)[number];

/** How many of the largest eigenvalues are printed and compared. */
const K = 3;

/** Standard errors allowed between the CLI's stochastic trace estimate and the exact trace. */
const TRACE_STDERRS = 4;

/** One parameter block as `reference.py` describes it (offset into PyTorch's flat vector). */
interface MetaBlock {
  readonly name: string;
  readonly size: number;
  readonly offset: number;
}

/** `meta.json` of one model folder (the fields read here). */
interface Meta {
  readonly name: string;
  readonly loss: 'ce' | 'mse';
  readonly ops: readonly string[];
  readonly parametrization: string;
  readonly parameters: readonly MetaBlock[];
  readonly dim: number;
  readonly torchFloat32: { readonly relativeFrobenius: number };
}

/** A symmetric matrix's descending eigenvalues and its trace. */
interface Spectrum {
  readonly values: Float64Array;
  readonly trace: number;
}

/** One model folder as read from disk. */
interface Case {
  readonly folder: string;
  readonly meta: Meta;
  readonly bytes: Uint8Array;
  /** PyTorch's float64 Hessian, meta.dim × meta.dim, row-major. */
  readonly reference: Float64Array;
}

/** The dense comparison of one folder on one tfjs backend. */
interface DenseResult {
  readonly meta: Meta;
  readonly backend: Backend;
  readonly maxAbsDifference: number;
  readonly relativeFrobenius: number;
  readonly asymmetry: number;
  readonly torch: Spectrum;
  readonly adapter: Spectrum;
  readonly seconds: number;
  readonly failures: readonly string[];
}

/** The command line's comparison on one folder. */
interface CliResult {
  readonly meta: Meta;
  /** PyTorch's parameters outside the CLI's default selection, and the reverse. */
  readonly excluded: readonly string[];
  readonly dim: number;
  /** PyTorch's Hessian restricted to the CLI's parameters. */
  readonly torch: Spectrum;
  readonly values: readonly number[];
  readonly converged: boolean;
  readonly trace: number;
  readonly traceStderr: number;
  readonly seconds: number;
  readonly failures: readonly string[];
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

async function readNpyFile(path: string): Promise<NpyArray> {
  return readNpy(new Uint8Array(await readFile(path)));
}

function float32Of(a: NpyArray, what: string): Float32Array {
  if (a.dtype !== 'float32') throw new Error(`${what}: expected float32, got ${a.dtype}`);
  return a.data;
}

function labelsOf(a: NpyArray, loss: 'ce' | 'mse'): HostLabels {
  if (loss === 'mse') return { data: float32Of(a, 'y.npy'), shape: a.shape };
  if (a.dtype !== 'int64') throw new Error(`y.npy: expected int64 class ids, got ${a.dtype}`);
  return { data: Int32Array.from(int64ToNumbers(a.data)), shape: a.shape };
}

/**
 * PyTorch's Hessian in the coordinates of an adapter layout: entry (i, j) is PyTorch's entry of
 * the coordinates that the layout's i-th and j-th coordinates name. Blocks are matched by
 * initializer name (reference.py keeps each initializer's ONNX shape and C order).
 */
function restrict(
  meta: Meta,
  reference: Float64Array,
  blocks: readonly Pick<LayoutBlock, 'name' | 'offset' | 'size'>[],
): Float64Array {
  const index: number[] = [];
  for (const block of blocks) {
    const ref = meta.parameters.find((p) => p.name === block.name);
    if (ref === undefined || ref.size !== block.size) {
      throw new Error(
        `${meta.name}: expected block ${block.name} (${block.size}) among PyTorch's ${meta.parameters.map((p) => `${p.name} (${p.size})`).join(', ')}`,
      );
    }
    if (index.length !== block.offset) {
      throw new Error(
        `${meta.name}: expected contiguous layout blocks, got ${block.name} at ${block.offset}`,
      );
    }
    for (let i = 0; i < block.size; i++) index.push(ref.offset + i);
  }
  const n = index.length;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) out[i * n + j] = reference[index[i] * meta.dim + index[j]];
  }
  return out;
}

/** Eigenvalues (of the symmetric part, descending) and trace of an n×n matrix. */
function spectrum(a: Float64Array, n: number): Spectrum {
  const symmetric = new Float64Array(n * n);
  let trace = 0;
  for (let i = 0; i < n; i++) {
    trace += a[i * n + i];
    for (let j = 0; j < n; j++) symmetric[i * n + j] = (a[i * n + j] + a[j * n + i]) / 2;
  }
  return { values: symmetricEigen(symmetric, n).values.reverse(), trace };
}

/** Runs `hessian-probe onnx analyze` in-process; returns its report and wall time. */
async function runCli(folder: string, meta: Meta, outDir: string) {
  const json = join(outDir, `${meta.name}.report.json`);
  const argv = [
    'onnx',
    'analyze',
    join(folder, 'model.onnx'),
    '--inputs',
    join(folder, 'x.npy'),
    '--labels',
    join(folder, 'y.npy'),
    '--loss',
    meta.loss,
    '--analyses',
    'eigen,trace',
    '--k',
    String(K),
    '--json',
    json,
  ];
  let log = '';
  const started = performance.now();
  const code = await cliMain(argv, {
    stdout: (s) => {
      log += s;
    },
    stderr: (s) => {
      log += s;
    },
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`hessian-probe ${argv.join(' ')} exited ${code}:\n${log}`);
  return { report: decodeReport(await readFile(json, 'utf8')), seconds };
}

async function readCase(folder: string): Promise<Case> {
  const meta = await readJson<Meta>(join(folder, 'meta.json'));
  const reference = await readNpyFile(join(folder, 'hessian.npy'));
  if (reference.dtype !== 'float64') throw new Error('hessian.npy: expected float64');
  const bytes = new Uint8Array(await readFile(join(folder, 'model.onnx')));
  return { folder, meta, bytes, reference: reference.data };
}

/** The adapter's dense Hessian over all of PyTorch's parameters against PyTorch's. */
async function denseCheck(
  tf: Awaited<ReturnType<typeof useBackend>>,
  backend: Backend,
  { folder, meta, bytes, reference }: Case,
): Promise<DenseResult> {
  const x = await readNpyFile(join(folder, 'x.npy'));
  const curvature = await onnxCurvature(bytes, {
    tf,
    inputs: { x: { data: float32Of(x, 'x.npy'), shape: x.shape } },
    labels: labelsOf(await readNpyFile(join(folder, 'y.npy')), meta.loss),
    loss: meta.loss,
    parameters: meta.parameters.map((p) => p.name),
  });
  let h: Float64Array;
  let ref: Float64Array;
  let seconds: number;
  try {
    ref = restrict(meta, reference, curvature.layout.blocks);
    const started = performance.now();
    h = await denseMatrix(curvature.operator);
    seconds = (performance.now() - started) / 1000;
  } finally {
    curvature.dispose();
  }
  const n = meta.dim;
  let maxAbs = 0;
  let diffSq = 0;
  let refSq = 0;
  let asymSq = 0;
  let normSq = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const a = h[i * n + j];
      const r = ref[i * n + j];
      maxAbs = Math.max(maxAbs, Math.abs(a - r));
      diffSq += (a - r) ** 2;
      refSq += r * r;
      asymSq += (a - h[j * n + i]) ** 2;
      normSq += a * a;
    }
  }
  const relativeFrobenius = Math.sqrt(diffSq / refSq);
  const failures =
    relativeFrobenius <= FROBENIUS_TOLERANCE
      ? []
      : [
          `${backend}: ‖ΔH‖_F/‖H‖_F = ${relativeFrobenius.toExponential(3)} > ${FROBENIUS_TOLERANCE.toExponential(3)}`,
        ];
  return {
    meta,
    backend,
    maxAbsDifference: maxAbs,
    relativeFrobenius,
    asymmetry: Math.sqrt(asymSq / normSq),
    torch: spectrum(ref, n),
    adapter: spectrum(h, n),
    seconds,
    failures,
  };
}

/** `hessian-probe onnx analyze` (default parameters) against PyTorch's Hessian on them. */
async function cliCheck(
  { folder, meta, bytes, reference }: Case,
  outDir: string,
): Promise<CliResult> {
  const defaults = defaultParameters(parseModel(bytes));
  const torchNames = meta.parameters.map((p) => p.name);
  const excluded = [
    ...torchNames.filter((p) => !defaults.includes(p)),
    ...defaults.filter((p) => !torchNames.includes(p)),
  ];
  const { report, seconds } = await runCli(folder, meta, outDir);
  if (report.eigen === undefined || report.trace === undefined) {
    throw new Error(`${meta.name}: the CLI report has no eigen or trace section`);
  }
  const dim = report.model.parameterCount;
  const torch = spectrum(restrict(meta, reference, report.model.layout.blocks), dim);
  const failures: string[] = [];
  // topEigenpairs' guarantee: |λ_i − λ| <= tol·‖A‖ with the CLI's tol, ‖A‖ = max |λ|.
  const eigenBound = EIGEN_TOL * Math.max(...Array.from(torch.values, Math.abs));
  report.eigen.values.forEach((v, i) => {
    const gap = Math.abs(v - torch.values[i]);
    if (!(gap <= eigenBound)) {
      failures.push(
        `CLI λ${i + 1} = ${v} is ${gap.toExponential(2)} from PyTorch's (bound ${eigenBound.toExponential(2)})`,
      );
    }
  });
  if (!report.eigen.converged) failures.push('CLI eigenvalues not converged');
  const traceGap = Math.abs(report.trace.estimate - torch.trace);
  if (!(traceGap <= TRACE_STDERRS * report.trace.stderr)) {
    failures.push(
      `CLI trace ${report.trace.estimate} is ${traceGap.toExponential(2)} from PyTorch's ${torch.trace} (> ${TRACE_STDERRS} stderr = ${(TRACE_STDERRS * report.trace.stderr).toExponential(2)})`,
    );
  }
  return {
    meta,
    excluded,
    dim,
    torch,
    values: report.eigen.values,
    converged: report.eigen.converged,
    trace: report.trace.estimate,
    traceStderr: report.trace.stderr,
    seconds,
    failures,
  };
}

function fmt(x: number, digits = 6): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(digits))) : String(x);
}

function exp(x: number): string {
  return x.toExponential(2);
}

function top(values: ArrayLike<number>): string {
  return Array.from(values)
    .slice(0, K)
    .map((v) => fmt(v))
    .join(', ');
}

/** max_i |a_i − b_i| over the first `count` entries (default all) of two sorted spectra. */
function maxGap(a: ArrayLike<number>, b: ArrayLike<number>, count = a.length): number {
  let gap = 0;
  for (let i = 0; i < count; i++) gap = Math.max(gap, Math.abs(a[i] - b[i]));
  return gap;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  // A literal | (as in |Δλ|) would end a markdown cell.
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function formatResults(
  dense: readonly DenseResult[],
  cli: readonly CliResult[],
  torchVersion: string,
): string {
  const cpus = os.cpus();
  const machine = [
    `- machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}`,
    `- node ${process.version}, torch ${torchVersion}, tfjs backends ${BACKENDS.join(' and ')} (float32)`,
    `- tolerances: ‖ΔH‖_F/‖H‖_F ≤ ${exp(FROBENIUS_TOLERANCE)} (256 · 2⁻²⁴); CLI: |Δλ_i| ≤ ${EIGEN_TOL}·‖H‖₂, |Δtrace| ≤ ${TRACE_STDERRS} stderr`,
  ].join('\n');
  const matrix = table(
    [
      'model.exporter',
      'backend',
      'ONNX ops',
      'P',
      'max abs ΔH',
      'rel. Frobenius ΔH',
      'tolerance',
      'torch f32 rel. ΔH',
      'asymmetry',
      'dense (s)',
      'result',
    ],
    dense.map((r) => [
      r.meta.name,
      r.backend,
      r.meta.ops.join(', '),
      String(r.meta.dim),
      exp(r.maxAbsDifference),
      exp(r.relativeFrobenius),
      exp(FROBENIUS_TOLERANCE),
      exp(r.meta.torchFloat32.relativeFrobenius),
      exp(r.asymmetry),
      r.seconds.toFixed(1),
      r.failures.length === 0 ? 'pass' : 'FAIL',
    ]),
  );
  const spectra = table(
    [
      'model.exporter',
      'backend',
      `top ${K} λ PyTorch (f64)`,
      `top ${K} λ adapter (dense)`,
      'λ_min PyTorch / adapter',
      'max |Δλ| (all P)',
      'trace PyTorch',
      'trace adapter',
      '|Δtrace|',
    ],
    dense.map((r) => [
      r.meta.name,
      r.backend,
      top(r.torch.values),
      top(r.adapter.values),
      `${fmt(r.torch.values.at(-1)!)} / ${fmt(r.adapter.values.at(-1)!)}`,
      exp(maxGap(r.torch.values, r.adapter.values)),
      fmt(r.torch.trace, 8),
      fmt(r.adapter.trace, 8),
      exp(Math.abs(r.torch.trace - r.adapter.trace)),
    ]),
  );
  const commandLine = table(
    [
      'model.exporter',
      'CLI P (default parameters)',
      `top ${K} λ PyTorch`,
      `top ${K} λ CLI (Lanczos)`,
      `max |Δλ| top ${K}`,
      'trace PyTorch',
      'trace CLI (Hutch++, 30) ± stderr',
      '|Δtrace| / stderr',
      'CLI (s)',
      'result',
    ],
    cli.map((r) => [
      r.meta.name,
      r.excluded.length === 0 ? `${r.dim} (all)` : `${r.dim} (not ${r.excluded.join(', ')})`,
      top(r.torch.values),
      `${top(r.values)}${r.converged ? '' : ' (not converged)'}`,
      exp(maxGap(r.torch.values, r.values, r.values.length)),
      fmt(r.torch.trace),
      `${fmt(r.trace)} ± ${fmt(r.traceStderr, 2)}`,
      (Math.abs(r.trace - r.torch.trace) / r.traceStderr).toFixed(2),
      r.seconds.toFixed(1),
      r.failures.length === 0 ? 'pass' : 'FAIL',
    ]),
  );
  const notes = cli
    .filter((r) => r.meta.parametrization !== "the module's own parameters")
    .map((r) => `- ${r.meta.name}: parameters are the file's: ${r.meta.parametrization}`);
  return [
    machine,
    'Dense Hessian, adapter vs PyTorch:',
    matrix,
    spectra,
    '`hessian-probe onnx analyze` (cpu) vs PyTorch:',
    commandLine,
    ...(notes.length > 0 ? [notes.join('\n')] : []),
  ].join('\n\n');
}

async function run(dir: string): Promise<number> {
  const environment = await readJson<{ torch: string; cases: string[] }>(
    join(dir, 'environment.json'),
  );
  const cases = await Promise.all(environment.cases.map((name) => readCase(join(dir, name))));
  const dense: DenseResult[] = [];
  for (const backend of BACKENDS) {
    const tf = await useBackend(backend);
    if (backend === 'cpu') {
      // The cpu backend greets Node.js users with a tfjs-node recommendation on first use.
      (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
    }
    for (const c of cases) {
      process.stderr.write(`crosscheck: dense ${c.meta.name} on ${backend}…\n`);
      dense.push(await denseCheck(tf, backend, c));
    }
  }
  const outDir = join(dir, 'reports');
  await mkdir(outDir, { recursive: true });
  const cli: CliResult[] = [];
  for (const c of cases) {
    process.stderr.write(`crosscheck: hessian-probe onnx analyze ${c.meta.name}…\n`);
    cli.push(await cliCheck(c, outDir));
  }
  process.stdout.write(`${formatResults(dense, cli, environment.torch)}\n`);
  const failures = [...dense, ...cli].flatMap((r) => r.failures.map((f) => `${r.meta.name}: ${f}`));
  for (const f of failures) process.stderr.write(`crosscheck: FAIL ${f}\n`);
  return failures.length === 0 ? 0 : 1;
}

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write(
    'usage: tsx --conditions=source crosscheck.ts DIR (the folder reference.py wrote)\n',
  );
  process.exitCode = 2;
} else {
  process.exitCode = await run(dir);
}
