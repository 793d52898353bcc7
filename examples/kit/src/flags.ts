/**
 * Command-line flags shared by the experiments: typed parsing of `--name value` strings with
 * errors that name the flag, and the tfjs backend switch.
 */
import type * as tfjs from '@tensorflow/tfjs';

/**
 * The flags every experiment takes, as `node:util` `parseArgs` options: `--seed N`,
 * `--backend wasm|cpu` (default wasm), `--quick` (small sizes, under a minute), `--json PATH`
 * (the rows as an array of objects) and `--markdown PATH` (the tables).
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
  backend: { type: 'string', default: 'wasm' },
  quick: { type: 'boolean', default: false },
  json: { type: 'string' },
  markdown: { type: 'string' },
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
  return process.argv.slice(2).filter((a) => a !== '--');
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
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`--${name}: expected a positive integer, got ${text}`);
  }
  return value;
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

/**
 * A comma-separated list of positive integers (e.g. `--classes 2,4,8`), or `fallback`.
 *
 * @throws RangeError naming `--name` when an entry is not a positive integer.
 * @example
 * ```ts
 * const classes = integerList('classes', values.classes, [2, 4, 8]);
 * ```
 */
export function integerList(
  name: string,
  text: string | undefined,
  fallback: readonly number[],
): readonly number[] {
  if (text === undefined) return fallback;
  return text.split(',').map((entry) => positiveInteger(name, entry.trim(), 0));
}

/** The tfjs backends the experiments run on (tfjs-node cannot be installed on these machines). */
export type ExampleBackend = 'wasm' | 'cpu';

/**
 * Switches tfjs to the backend named by `--backend` (default 'wasm'; import
 * `@tensorflow/tfjs-backend-wasm` first to register it).
 *
 * @throws RangeError for another name; Error when tfjs cannot switch.
 * @example
 * ```ts
 * const backend = await useBackend(tf, values.backend);
 * ```
 */
export async function useBackend(
  tf: typeof tfjs,
  text: string | undefined = 'wasm',
): Promise<ExampleBackend> {
  if (text !== 'wasm' && text !== 'cpu') {
    throw new RangeError(`--backend: expected wasm or cpu, got ${text}`);
  }
  if (!(await tf.setBackend(text))) throw new Error(`could not switch tfjs to ${text}`);
  return text;
}
