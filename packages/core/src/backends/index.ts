/**
 * Choosing the TensorFlow.js backend in Node: the native 'tensorflow' backend of tfjs-node when
 * it is installed, else wasm, else the pure-JavaScript cpu backend (docs/design.md, decision 5).
 * Measured on 2 cores for a 784-256-256-10 MLP (docs/backends.md): one Hessian-vector product
 * costs about 10× less on 'tensorflow' than on wasm, and wasm about 10× less than cpu.
 *
 * Node only: this module imports `@tensorflow/tfjs-node` and `@tensorflow/tfjs-backend-wasm`
 * on demand, both optional peer dependencies.
 */
import { HessianProbeError } from '../errors.js';
import type { Tf } from '../tfjs/types.js';

/** The backends hessian-probe is tested on, fastest first. */
export const BACKEND_NAMES = ['tensorflow', 'wasm', 'cpu'] as const;

/** One of {@link BACKEND_NAMES}. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** A backend that was asked for by name and cannot be used here, with the reason. */
export class BackendUnavailableError extends HessianProbeError {
  /** The backend that was asked for. */
  readonly backend: BackendName;

  constructor(backend: BackendName, message: string, options?: { cause?: unknown }) {
    super('backend-unavailable', message, options);
    this.backend = backend;
  }
}

/** What {@link selectBackend} chose, and why the faster ones were passed over. */
export interface BackendChoice {
  /** The backend now active in `tf`. */
  readonly name: BackendName;
  /** Faster backends that could not be used, each with the reason (empty when one was named). */
  readonly passedOver: readonly { readonly name: BackendName; readonly reason: string }[];
}

/**
 * Switches `tf` to `backend`, or with `'auto'` (the default) to the fastest backend that works
 * here: 'tensorflow' (tfjs-node) when it is installed and loads, else 'wasm', else 'cpu'. The
 * backend's package is imported only when it is tried, so naming 'wasm' never loads
 * libtensorflow. A named backend that cannot be used is a {@link BackendUnavailableError} that
 * says why and how to install it.
 *
 * tfjs-node prints TensorFlow's C++ log lines at load unless `TF_CPP_MIN_LOG_LEVEL` is set; this
 * sets it to 2 (errors only) when it is unset.
 *
 * @param tf - the TensorFlow.js namespace in use (`@tensorflow/tfjs`).
 * @param backend - a name from {@link BACKEND_NAMES} or `'auto'` (default).
 * @returns the backend now active and the faster ones passed over.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * const { name, passedOver } = await selectBackend(tf); // 'tensorflow' when tfjs-node is installed
 * console.log(describeBackendChoice({ name, passedOver }));
 * ```
 */
export async function selectBackend(
  tf: Tf,
  backend: BackendName | 'auto' = 'auto',
): Promise<BackendChoice> {
  if (backend !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new BackendUnavailableError(
      backend,
      `selectBackend: expected one of ${[...BACKEND_NAMES, 'auto'].join(', ')}, got ${String(backend)}`,
    );
  }
  const passedOver: { name: BackendName; reason: string }[] = [];
  for (const name of backend === 'auto' ? BACKEND_NAMES : [backend]) {
    const reason = await tryBackend(tf, name);
    if (reason === undefined) return { name, passedOver };
    if (backend !== 'auto') {
      throw new BackendUnavailableError(name, `the ${name} backend is not available: ${reason}`);
    }
    passedOver.push({ name, reason });
  }
  throw new BackendUnavailableError(
    'cpu',
    `no tfjs backend works here: ${passedOver.map((p) => `${p.name}: ${p.reason}`).join('; ')}`,
  );
}

/**
 * The backends of {@link BACKEND_NAMES} that load here, fastest first, leaving `tf` on the one it
 * was on (or on 'cpu' when it had none). For test suites and benchmarks that run on each.
 *
 * @example
 * ```ts
 * for (const name of await availableBackends(tf)) {
 *   await selectBackend(tf, name);
 *   console.log(name, tf.getBackend()); // the same
 * }
 * ```
 */
export async function availableBackends(tf: Tf): Promise<BackendName[]> {
  const before = tf.getBackend() as string | undefined;
  const available: BackendName[] = [];
  for (const name of BACKEND_NAMES) {
    if ((await tryBackend(tf, name)) === undefined) available.push(name);
  }
  await tf.setBackend(
    before && (BACKEND_NAMES as readonly string[]).includes(before) ? before : 'cpu',
  );
  return available;
}

/**
 * One line for logs: the chosen backend, and what was passed over and why.
 *
 * @example
 * ```ts
 * describeBackendChoice({ name: 'wasm', passedOver: [{ name: 'tensorflow', reason: 'not installed' }] });
 * // "tfjs backend: wasm (tensorflow not used: not installed)"
 * ```
 */
export function describeBackendChoice(choice: BackendChoice): string {
  const skipped = choice.passedOver.map((p) => `${p.name} not used: ${p.reason}`);
  return `tfjs backend: ${choice.name}${skipped.length > 0 ? ` (${skipped.join('; ')})` : ''}`;
}

/** Imports the backend's package and switches to it; returns why it failed, or undefined. */
async function tryBackend(tf: Tf, name: BackendName): Promise<string | undefined> {
  try {
    // findBackendFactory returns null for a backend that is not registered.
    if (name === 'tensorflow' && !tf.findBackendFactory('tensorflow')) {
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      await import('@tensorflow/tfjs-node');
    } else if (name === 'wasm' && !tf.findBackendFactory('wasm')) {
      await import('@tensorflow/tfjs-backend-wasm');
    }
  } catch (error) {
    return packageProblem(name, error);
  }
  try {
    if ((await tf.setBackend(name)) && tf.getBackend() === name) return undefined;
    return `tf.setBackend('${name}') did not take`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function packageProblem(name: BackendName, error: unknown): string {
  const pkg = name === 'tensorflow' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-backend-wasm';
  const code = (error as { code?: string }).code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    const missing = error instanceof Error && error.message.includes(pkg);
    if (missing) return `${pkg} is not installed (npm i ${pkg}@4.22.0)`;
  }
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return `${pkg} did not load: ${message}`;
}
