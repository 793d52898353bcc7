/**
 * Command-line flags shared by the experiments: typed parsing of `--name value` strings with
 * errors that name the flag, and the tfjs backend switch.
 */

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BackendName,
  describeBackendChoice,
  selectBackend,
} from '@hessian-probe/core/backends';
import type * as tfjs from '@tensorflow/tfjs';

/**
 * The flags every experiment takes, as `node:util` `parseArgs` options: `--seed N`,
 * `--backend tensorflow|wasm|cpu` (default: the fastest that loads), `--quick` (small sizes,
 * under a minute), `--json PATH` (the rows as an array of objects) and `--markdown PATH` (the
 * tables). Experiments that repeat over seeds and draw figures add {@link SEED_FIGURE_FLAGS}.
 *
 * @example
 * ```ts
 * const { values } = parseArgs({
 *   args: experimentArgs(),
 *   options: { epochs: { type: 'string' }, ...EXPERIMENT_FLAGS },
 * });
 * ```
 */
export const EXPERIMENT_FLAGS = {
  seed: { type: 'string' },
  backend: { type: 'string', default: 'auto' },
  quick: { type: 'boolean', default: false },
  json: { type: 'string' },
  markdown: { type: 'string' },
} as const;

/**
 * `--seeds K` (how many seeds from `--seed N`: N, N + 1, …, N + K − 1; see {@link seedList}) and
 * `--figures DIR` (where the SVG figures go; see {@link figureFolder}), for the experiments that
 * judge their verdicts over seeds. The others reject them as unknown flags.
 *
 * @example
 * ```ts
 * parseArgs({ args: experimentArgs(), options: { ...EXPERIMENT_FLAGS, ...SEED_FIGURE_FLAGS } });
 * ```
 */
export const SEED_FIGURE_FLAGS = {
  seeds: { type: 'string' },
  figures: { type: 'string' },
} as const;

/**
 * The command line after the script, without the `--` that `pnpm start -- …` passes through.
 *
 * @example
 * ```ts
 * parseArgs({ args: experimentArgs(), options: EXPERIMENT_FLAGS });
 * ```
 */
export function experimentArgs(): string[] {
  return withPathsFrom(process.env.INIT_CWD, process.argv.slice(2));
}

/** The flags whose values are paths the user typed: files and folders the results go to. */
const PATH_FLAGS = ['--json', '--markdown', '--figures'] as const;

/**
 * `args` without the `--` that `pnpm start -- …` passes through, with relative values of the
 * path flags ({@link PATH_FLAGS}: `--json`, `--markdown`, `--figures`, as `--flag PATH` or
 * `--flag=PATH`) made absolute against `folder`: the folder the user ran pnpm in (`INIT_CWD`).
 * `pnpm experiment:…` runs the experiment inside its own package folder, so without this
 * `--json out.json` typed at the repository root would land in `examples/<experiment>/`.
 * Without `folder` (run directly, not through pnpm) the paths stay relative to the working
 * folder, which is then the user's.
 *
 * @example
 * ```ts
 * withPathsFrom('/home/me', ['--', '--json', 'rows.json', '--quick']);
 * // ['--json', '/home/me/rows.json', '--quick']
 * ```
 */
export function withPathsFrom(folder: string | undefined, args: readonly string[]): string[] {
  const out = args.filter((a) => a !== '--');
  if (folder === undefined) return out;
  const isPathFlag = (a: string) => (PATH_FLAGS as readonly string[]).includes(a);
  return out.map((arg, i) => {
    if (i > 0 && isPathFlag(out[i - 1])) return resolve(folder, arg);
    const eq = arg.indexOf('=');
    if (eq > 0 && isPathFlag(arg.slice(0, eq))) {
      return `${arg.slice(0, eq + 1)}${resolve(folder, arg.slice(eq + 1))}`;
    }
    return arg;
  });
}

/**
 * A positive safe integer from a flag's text, or `fallback` when the flag is absent.
 *
 * @throws RangeError naming `--name` when the text is not a positive integer.
 * @example
 * ```ts
 * const samples = positiveInteger('samples', values.samples, 256);
 * ```
 */
export function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  return integerAtLeast(1, name, text, fallback);
}

/**
 * A safe integer >= 0 from a flag's text (e.g. `--seed 0`, the library-wide default seed), or
 * `fallback` when the flag is absent.
 *
 * @throws RangeError naming `--name` when the text is not an integer >= 0.
 * @example
 * ```ts
 * const seed = nonNegativeInteger('seed', values.seed, 1);
 * ```
 */
export function nonNegativeInteger(
  name: string,
  text: string | undefined,
  fallback: number,
): number {
  return integerAtLeast(0, name, text, fallback);
}

function integerAtLeast(
  min: 0 | 1,
  name: string,
  text: string | undefined,
  fallback: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < min) {
    const expected = min === 1 ? 'a positive integer' : 'an integer >= 0';
    throw new RangeError(`--${name}: expected ${expected}, got ${text}`);
  }
  return value;
}

/**
 * The seeds of a run: `--seeds K` consecutive seeds from `--seed N` (N, N + 1, …, N + K − 1),
 * `defaults.seeds` of them from `defaults.seed` when the flags are absent (by default 3 seeds
 * from 1, 2 with `--quick`). Each seed is an independent replicate (data, weights, probes), so
 * verdicts can be judged against the spread.
 *
 * @throws RangeError naming the flag when --seed is not an integer >= 0 or --seeds not >= 1.
 * @example
 * ```ts
 * seedList({ seed: '4', seeds: '3' }); // [4, 5, 6]
 * seedList({ quick: true }); // [1, 2]
 * ```
 */
export function seedList(
  values: {
    readonly seed?: string | undefined;
    readonly seeds?: string | undefined;
    readonly quick?: boolean | undefined;
  },
  defaults: { readonly seed: number; readonly seeds: number } = {
    seed: 1,
    seeds: values.quick === true ? 2 : 3,
  },
): number[] {
  const first = nonNegativeInteger('seed', values.seed, defaults.seed);
  const count = positiveInteger('seeds', values.seeds, defaults.seeds);
  return Array.from({ length: count }, (_, i) => first + i);
}

/**
 * Where an experiment writes its SVG figures: `--figures DIR` when given, else the experiment's
 * own folder (beside its RESULTS.md; a path or a `file:` URL) for a full run and nowhere for a
 * `--quick` run, so a quick look never overwrites the committed figures.
 *
 * @example
 * ```ts
 * const folder = figureFolder(values, new URL('..', import.meta.url));
 * ```
 */
export function figureFolder(
  values: { readonly figures?: string | undefined; readonly quick?: boolean | undefined },
  experimentFolder: string | URL,
): string | undefined {
  if (values.figures !== undefined) return values.figures;
  if (values.quick === true) return undefined;
  return typeof experimentFolder === 'string' ? experimentFolder : fileURLToPath(experimentFolder);
}

/**
 * A finite positive number from a flag's text, or `fallback` when the flag is absent.
 *
 * @throws RangeError naming `--name` otherwise.
 * @example
 * ```ts
 * const rate = positiveNumber('learning-rate', values['learning-rate'], 0.01);
 * ```
 */
export function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`--${name}: expected a positive number, got ${text}`);
  }
  return value;
}

/** Options of {@link integerList}. */
export interface IntegerListOptions {
  /** The smallest entry accepted: 1 (default, e.g. sizes) or 0 (e.g. epoch 0 = initialization). */
  readonly min?: 0 | 1;
}

/**
 * A comma-separated list of integers (e.g. `--classes 2,4,8`), each positive (or >= 0 with
 * `{ min: 0 }`), or `fallback` when the flag is absent.
 *
 * @throws RangeError naming `--name` when an entry is not such an integer.
 * @example
 * ```ts
 * const classes = integerList('classes', values.classes, [2, 4, 8]);
 * const checkpoints = integerList('checkpoints', values.checkpoints, [0, 5], { min: 0 });
 * ```
 */
export function integerList(
  name: string,
  text: string | undefined,
  fallback: readonly number[],
  options: IntegerListOptions = {},
): readonly number[] {
  if (text === undefined) return fallback;
  const min = options.min ?? 1;
  return text.split(',').map((entry) => integerAtLeast(min, name, entry.trim(), 0));
}

/**
 * Runs an experiment's flag phase (`parseArgs`, the typed readers above, {@link checkResultPaths},
 * {@link useBackend}) and returns what it returns; when it throws, prints one line
 * `<experiment>: <message>` on stderr and exits with code 2 (bad usage) instead of a stack trace.
 * Keep the work itself outside: its errors are not the user's flags.
 *
 * @example
 * ```ts
 * const { values, backend } = await parseFlagsOrExit('static-force', async () => {
 *   const { values } = parseArgs({ args: experimentArgs(), options: EXPERIMENT_FLAGS });
 *   checkResultPaths(values);
 *   return { values, backend: await useBackend(tf, values.backend) };
 * });
 * ```
 */
export async function parseFlagsOrExit<T>(
  experiment: string,
  parse: () => T | Promise<T>,
): Promise<T> {
  try {
    return await parse();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${experiment}: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n`);
    return process.exit(2);
  }
}

/**
 * Switches tfjs to the backend named by `--backend` (`tensorflow`, `wasm` or `cpu`), or by
 * default to the fastest one that loads here ('tensorflow' when tfjs-node is installed, else
 * wasm, else cpu), and prints the choice on stderr.
 *
 * @throws BackendUnavailableError (from `@hessian-probe/core/backends`) for an unknown or
 *   unavailable backend, saying why.
 * @example
 * ```ts
 * const backend = await useBackend(tf, values.backend); // 'tensorflow' | 'wasm' | 'cpu'
 * ```
 */
export async function useBackend(
  tf: typeof tfjs,
  text: string | undefined = 'auto',
): Promise<BackendName> {
  const choice = await selectBackend(tf, text as BackendName | 'auto');
  process.stderr.write(`${describeBackendChoice(choice)}\n`);
  return choice.name;
}
