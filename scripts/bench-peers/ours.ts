/**
 * The hessian-probe side of `bench.ts`: a long-lived worker on tfjs-node (TensorFlow's C++
 * kernels, backend 'tensorflow'). It answers the JSON-lines requests of `protocol.ts` on
 * stdin/stdout. Its thread pools are set by the driver through TF_NUM_INTRAOP_THREADS and
 * TF_NUM_INTEROP_THREADS in its environment, which libtensorflow reads when it creates its
 * context, i.e. when this module imports tfjs-node (so they must be set before the process
 * starts; see README.md for the measurement that shows they are honoured).
 *
 * Usage (by bench.ts): tsx --conditions=source scripts/bench-peers/ours.ts
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as tf from '@tensorflow/tfjs-node';
import { selectBackend } from '../../packages/core/src/backends/index.js';
import {
  estimateTrace,
  type LinearOperator,
  spectralDensity,
  topEigenpairs,
} from '../../packages/core/src/index.js';
import { modelCurvature } from '../../packages/core/src/tfjs/index.js';
import { relativeError } from '../../packages/core/src/tfjs/testing/models.js';
import { readNpy, writeNpy } from '../../packages/onnx-adapter/src/npy.js';
import type {
  CheckResult,
  InitResult,
  MatmulResult,
  Request,
  Response,
  RunParams,
  RunResult,
  StatsResult,
} from './protocol.js';

interface State {
  readonly model: tf.Sequential;
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor2D;
  readonly operator: LinearOperator;
  readonly lossValue: () => Promise<number>;
  readonly v: Float64Array;
  /** The HVP on v from `check`, for the accuracy of later products. */
  reference?: Float64Array;
}

let state: State | undefined;

function loadFloat32(path: string): { data: Float32Array; shape: number[] } {
  const array = readNpy(readFileSync(path));
  if (array.dtype !== 'float32') throw new Error(`${path}: expected float32, got ${array.dtype}`);
  return { data: array.data, shape: array.shape };
}

async function init(dir: string, modelName: string): Promise<InitResult> {
  const backend = await selectBackend(tf, 'tensorflow');
  const images = loadFloat32(join(dir, 'x.npy'));
  const onehot = loadFloat32(join(dir, 'y-onehot.npy'));
  const weights = JSON.parse(readFileSync(join(dir, modelName, 'weights.json'), 'utf8')) as {
    files: string[];
  };
  const arrays = weights.files.map((f) => loadFloat32(join(dir, modelName, f)));
  const kernels = arrays.filter((a) => a.shape.length === 2);
  const layers = kernels.map((k, i) =>
    tf.layers.dense({
      units: k.shape[1],
      activation: i === kernels.length - 1 ? 'softmax' : 'tanh',
      kernelInitializer: 'zeros',
      ...(i === 0 ? { inputShape: [k.shape[0]] } : {}),
    }),
  );
  const model = tf.sequential({ layers });
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  model.setWeights(arrays.map((a) => tf.tensor(a.data, a.shape)));
  const x = tf.tensor2d(images.data, images.shape as [number, number]);
  const y = tf.tensor2d(onehot.data, onehot.shape as [number, number]);
  const { operator, lossValue } = modelCurvature(model, { tf, x, y, selfCheck: false });
  const v = Float64Array.from(loadFloat32(join(dir, modelName, 'v.npy')).data);
  if (v.length !== operator.dim) {
    throw new Error(`v.npy has ${v.length} entries, the model ${operator.dim} parameters`);
  }
  state = { model, x, y, operator, lossValue, v };
  // Warm-up, three times each: the first products build TensorFlow's kernels and caches.
  for (let i = 0; i < 3; i++) {
    await gradient(state);
    await operator.matvec(v);
  }
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
  return {
    dim: operator.dim,
    info: {
      backend: backend.name,
      'tfjs-node': tf.version['tfjs-node'] ?? '?',
      libtensorflow: binding?.TF_Version ?? '?',
      TF_NUM_INTRAOP_THREADS: process.env.TF_NUM_INTRAOP_THREADS ?? '(unset)',
      TF_NUM_INTEROP_THREADS: process.env.TF_NUM_INTEROP_THREADS ?? '(unset)',
      node: process.version,
    },
  };
}

/**
 * tfjs's first-order gradient of the compiled loss over the weights, as `model.fit()` computes
 * it: the mean Keras categorical cross-entropy of the softmax output.
 */
async function gradient(s: State): Promise<void> {
  const variables = s.model.trainableWeights.map((w) => w.read()) as tf.Variable[];
  const { value, grads } = tf.variableGrads(() => {
    const probabilities = s.model.apply(s.x, { training: false }) as tf.Tensor;
    return tf.mean(tf.metrics.categoricalCrossentropy(s.y, probabilities)) as tf.Scalar;
  }, variables);
  await Promise.all(Object.values(grads).map((g) => g.data()));
  tf.dispose([value, ...Object.values(grads)]);
}

async function check(out: string, tracePilot: number, tight: boolean): Promise<CheckResult> {
  const s = need();
  const loss = await s.lossValue();
  const hv = await s.operator.matvec(s.v);
  s.reference = hv;
  writeFileSync(out, writeNpy({ dtype: 'float64', shape: [hv.length], data: hv }));
  const details: Record<string, number | boolean> = {};
  let top: number[] = [];
  let topMatvecs = 0;
  if (tight) {
    // Tight reference: the default tolerance for float32 products (≈ 1.9e-6 relative residual).
    const r = await topEigenpairs(s.operator, { k: 10, seed: 11 });
    top = Array.from(r.values);
    topMatvecs = r.matvecs;
    details.topConverged = r.converged;
  }
  if (tracePilot > 0) {
    const pilot = await estimateTrace(s.operator, {
      matvecs: tracePilot,
      method: 'hutchinson',
      seed: 12,
    });
    details.pilotTrace = pilot.estimate;
    details.pilotStderr = pilot.stderr;
    details.pilotMatvecs = pilot.matvecs;
  }
  return { loss, hvpPath: out, top, topMatvecs, details };
}

function need(): State {
  if (state === undefined) throw new Error('init first');
  return state;
}

async function run(quantity: string, impl: string, p: RunParams): Promise<RunResult> {
  const s = need();
  if (impl !== 'hessian-probe') throw new Error(`unknown implementation ${impl}`);
  // The operator, with the time spent in its products measured.
  let productMs = 0;
  const op: LinearOperator = {
    dim: s.operator.dim,
    ...(s.operator.precision === undefined ? {} : { precision: s.operator.precision }),
    async matvec(v) {
      const t = performance.now();
      const out = await s.operator.matvec(v);
      productMs += performance.now() - t;
      return out;
    },
  };
  const start = performance.now();
  const ms = () => performance.now() - start;
  switch (quantity) {
    case 'gradient': {
      await gradient(s);
      return { ms: ms(), matvecs: 0, productMs: 0 };
    }
    case 'hvp': {
      const hv = await op.matvec(s.v);
      const t = ms();
      const hvpError = s.reference ? relativeError(hv, s.reference) : Number.NaN;
      return { ms: t, matvecs: 1, productMs: t, hvpError };
    }
    case 'lambdaMax':
    case 'top10': {
      const r = await topEigenpairs(op, { k: p.k ?? 1, tol: p.tol ?? 1e-3, seed: p.seed });
      const values = Array.from(r.values);
      return { ms: ms(), matvecs: r.matvecs, productMs, values, converged: r.converged };
    }
    case 'trace': {
      const r = await estimateTrace(op, {
        matvecs: p.matvecs ?? 10,
        method: 'hutchinson',
        seed: p.seed,
      });
      return { ms: ms(), matvecs: r.matvecs, productMs, estimate: r.estimate, stderr: r.stderr };
    }
    case 'slqPyHessianDefaults':
    case 'slq10x80': {
      const r = await spectralDensity(op, {
        probes: p.probes ?? 1,
        steps: p.steps ?? 100,
        seed: p.seed,
      });
      return {
        ms: ms(),
        matvecs: r.matvecs,
        productMs,
        values: [r.lambdaMax],
        estimate: r.trace.estimate,
        stderr: r.trace.stderr,
      };
    }
    default:
      throw new Error(`unknown quantity ${quantity}`);
  }
}

/** CPU ticks (user + system, 1/100 s) of each thread of this process. */
function threadTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const task of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(task, Number(fields[11]) + Number(fields[12]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return ticks;
}

async function matmul(n: number, reps: number): Promise<MatmulResult> {
  if (state === undefined) await selectBackend(tf, 'tensorflow');
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const once = async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
  await once();
  const before = threadTicks();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await once();
    times.push(performance.now() - t);
  }
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const after = threadTicks();
  tf.dispose([a, b]);
  let busy = 0;
  // A thread counts as busy when it did at least a tenth of the work of one core.
  for (const [task, t] of after) if (t - (before.get(task) ?? 0) >= wall / 10 / 10) busy++;
  times.sort((p, q) => p - q);
  return {
    ms: times[Math.floor(times.length / 2)],
    cpuOverWall: (used.user + used.system) / 1000 / wall,
    busyThreads: busy,
    threads: after.size,
  };
}

function stats(): StatsResult {
  const status = readFileSync('/proc/self/status', 'utf8');
  const hwm = /VmHWM:\s+(\d+)\s+kB/.exec(status);
  const kib = hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS;
  return { peakRssMiB: kib / 1024 };
}

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'init':
      return init(request.dir, request.model);
    case 'check':
      return check(request.out, request.tracePilot, request.tight);
    case 'run':
      return run(request.quantity, request.impl, request.params);
    case 'matmul':
      return matmul(request.n, request.reps);
    case 'stats':
      return stats();
    case 'exit':
      process.exit(0);
  }
}

async function main(): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const { id, ...request } = JSON.parse(line) as Request & { id: number };
    let response: Response;
    try {
      response = { id, ok: true, result: await handle(request as Request) };
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      response = { id, ok: false, error: message };
    }
    process.stdout.write(`${JSON.stringify(response)}\n`);
  }
}

await main();
