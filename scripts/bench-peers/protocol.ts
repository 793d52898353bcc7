/**
 * What `bench.ts` (the driver) and its two kinds of worker share: the models, the quantities,
 * and the JSON-lines protocol. Each worker (`ours.ts` on tfjs-node, `peers.py` on PyTorch)
 * reads one request per line on stdin and answers with one JSON line on stdout; lines that are
 * not JSON objects (library chatter) are passed on to stderr by the driver.
 */

/** The two networks: tanh hidden layers, softmax cross-entropy over 10 classes. */
export interface ModelSpec {
  /** Short name, used for file names. */
  readonly name: string;
  /** Layer widths, input first. */
  readonly sizes: readonly number[];
}

export const MODELS: readonly ModelSpec[] = [
  { name: 'mlp-784-256-256-10', sizes: [784, 256, 256, 10] },
  { name: 'mlp-784-1024-256-10', sizes: [784, 1024, 256, 10] },
];

/** Number of parameters of an MLP: Σ (fan_in + 1) · fan_out. */
export function parameterCount(sizes: readonly number[]): number {
  let total = 0;
  for (let i = 1; i < sizes.length; i++) total += (sizes[i - 1] + 1) * sizes[i];
  return total;
}

/** What is timed. */
export type Quantity =
  | 'gradient'
  | 'hvp'
  | 'lambdaMax'
  | 'top10'
  | 'trace'
  | 'slqPyHessianDefaults'
  | 'slq10x80';

/** Parameters of one timed computation, the same for every implementation of a quantity. */
export interface RunParams {
  /** Number of eigenvalues (lambdaMax: 1, top10: 10). */
  readonly k?: number;
  /** Relative tolerance handed to the eigensolvers (1e-3). */
  readonly tol?: number;
  /** Products of the Hutchinson trace estimate. */
  readonly matvecs?: number;
  /** SLQ probe vectors (PyHessian's n_v). */
  readonly probes?: number;
  /** SLQ Lanczos steps per probe (PyHessian's iter). */
  readonly steps?: number;
  /** Seed of the random vectors. */
  readonly seed: number;
}

/** What one timed computation returns. */
export interface RunResult {
  /** Wall time of the call in the worker, milliseconds. */
  readonly ms: number;
  /** Hessian-vector products used (0 for a gradient). */
  readonly matvecs: number;
  /** Milliseconds spent inside those products (the rest is the method's own arithmetic). */
  readonly productMs: number;
  /** Eigenvalues found, descending (eigensolvers), or the SLQ's largest Ritz value. */
  readonly values?: number[];
  /** Trace estimate (trace, SLQ). */
  readonly estimate?: number;
  /** Its standard error. */
  readonly stderr?: number;
  /** Whether the method reported convergence. */
  readonly converged?: boolean;
  /** ‖Hv − Hv_ref‖/‖Hv_ref‖ of an HVP against the worker's reference product. */
  readonly hvpError?: number;
}

/** The answer to `check`: the numbers the two sides must agree on, and references. */
export interface CheckResult {
  /** Mean cross-entropy over the 1000 digits. */
  readonly loss: number;
  /** Path of the .npy file (float64) holding H·v for the shared vector v. */
  readonly hvpPath: string;
  /** Tight top-10 eigenvalues, descending, with the products they took (empty unless tight). */
  readonly top: number[];
  readonly topMatvecs: number;
  /** Worker-specific details (calibrations, pilot estimates). */
  readonly details: Record<string, number | string | boolean>;
}

/** Thread-pool probe: a large float32 matmul. */
export interface MatmulResult {
  /** Median milliseconds of one n×n·n×n product. */
  readonly ms: number;
  /** Process CPU time over wall time while it ran (≈ number of busy cores). */
  readonly cpuOverWall: number;
  /** Threads of the process that accumulated CPU time during the products. */
  readonly busyThreads: number;
  /** Threads of the process. */
  readonly threads: number;
}

/** What a worker says about itself at the end. */
export interface StatsResult {
  /** Peak resident set size (VmHWM), MiB. */
  readonly peakRssMiB: number;
}

/** A request to a worker. */
export type Request =
  | { readonly op: 'init'; readonly dir: string; readonly model: string; readonly threads: number }
  | {
      readonly op: 'check';
      /** Where to write H·v (.npy, float64). */
      readonly out: string;
      /** Hutchinson products of the trace pilot (0: none). */
      readonly tracePilot: number;
      /** Whether to compute the tight top-10 reference (the first thread count of a model). */
      readonly tight: boolean;
      /** Seed of the timed eigensolver runs (hessian-eigenthings is calibrated with it). */
      readonly eigenSeed: number;
      /** hessian-eigenthings Lanczos steps for k = 1 and 10, when already calibrated. */
      readonly eigenthingsSteps?: Readonly<Record<string, number>>;
    }
  | {
      readonly op: 'run';
      readonly quantity: Quantity;
      readonly impl: string;
      readonly params: RunParams;
    }
  | { readonly op: 'matmul'; readonly n: number; readonly reps: number }
  | { readonly op: 'stats' }
  | { readonly op: 'exit' };

/** The answer to `init`. */
export interface InitResult {
  readonly dim: number;
  /** Versions and settings of the worker's side, for the machine description. */
  readonly info: Record<string, string | number>;
}

/** A worker's answer: `{ id, ok: true, result }` or `{ id, ok: false, error }`. */
export type Response =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };
