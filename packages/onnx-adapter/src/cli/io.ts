/**
 * The command's input and output: files read and checked before any work (models, .npy inputs
 * and labels, output paths), the exit codes, and the typed error of bad usage or input.
 */
import { readFile } from 'node:fs/promises';
import { type CurvatureReport, encodeReport, HessianProbeError } from '@hessian-probe/core';
import type { HostLabels } from '../curvature.js';
import { graphInputs, type InputType, parseAnalysableModel } from '../graph.js';
import { int64ToNumbers, type NpyArray, readNpy } from '../npy.js';
import type { ModelProto } from '../proto.js';
import type { HostInput } from '../runtime.js';

/** Where {@link main} writes, and how it ends. */
export interface CliIo {
  /** Standard output (the summary table, `show`'s report, `--help`). */
  readonly stdout: (text: string) => void;
  /** Standard error (progress and error messages). */
  readonly stderr: (text: string) => void;
  /** Called once with the exit code before {@link main} resolves (e.g. `process.exitCode = c`). */
  readonly exit?: (code: number) => void;
  /** Whether stderr is a terminal: progress is then redrawn in place; default false. */
  readonly isTTY?: boolean;
}

/** Bad usage or bad input: exit code 2, with this one-line message. */
export class CliUsageError extends HessianProbeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('cli-usage', message, options);
  }
}

/** Exit codes of {@link main}. */
export const EXIT = { ok: 0, internal: 1, usage: 2 } as const;

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Wraps a typed error of the input-checking phase (or a file error) as a usage error. */
export function asInputError(error: unknown, context: string): unknown {
  if (error instanceof CliUsageError) return error;
  if (error instanceof HessianProbeError) {
    return new CliUsageError(`${context}: ${errorMessage(error)}`, { cause: error });
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return new CliUsageError(`${context}: ${errorMessage(error)}`, { cause: error });
  }
  return error;
}

/**
 * `compute()`, with a typed error of the input-checking phase (or a file error) rethrown as a
 * usage error naming `context` ({@link asInputError}).
 */
export function checkedInput<T>(context: string, compute: () => T): T {
  try {
    return compute();
  } catch (error) {
    throw asInputError(error, context);
  }
}

/**
 * Reads and parses the model file: the checks of `parseModel`, with `ai.onnx.ml` post-processing
 * (scikit-learn exports) let through for the conversion to cut off ({@link parseAnalysableModel}).
 */
export async function readModelFile(
  path: string,
): Promise<{ bytes: Uint8Array; model: ModelProto }> {
  try {
    const bytes = new Uint8Array(await readFile(path));
    return { bytes, model: parseAnalysableModel(bytes) };
  } catch (error) {
    throw asInputError(error, path);
  }
}

export async function readNpyFile(path: string, flag: string): Promise<NpyArray> {
  try {
    return readNpy(new Uint8Array(await readFile(path)));
  } catch (error) {
    throw asInputError(error, `${flag} ${path}`);
  }
}

/**
 * Graph inputs that are not initializers, with their element types ({@link graphInputs}) and
 * declared shapes (-1: dynamic).
 */
function declaredInputs(
  model: ModelProto,
  where: string,
): { name: string; type: InputType; shape?: number[] }[] {
  const { types } = checkedInput(where, () => graphInputs(model));
  const graph = model.graph;
  const initializers = new Set((graph?.initializer ?? []).map((t) => t.name ?? ''));
  return (graph?.input ?? [])
    .filter((i) => !initializers.has(i.name ?? ''))
    .map((i, k) => {
      const dims = i.type?.tensorType?.shape?.dim;
      const name = i.name ?? '';
      const type = types[k];
      if (!dims) return { name, type };
      return {
        name,
        type,
        shape: dims.map((d) => {
          const v = d.dimValue === null || d.dimValue === undefined ? 0 : Number(d.dimValue);
          return d.dimParam || !(v > 0) ? -1 : v;
        }),
      };
    });
}

/** Largest finite float32, (2 − 2⁻²³)·2¹²⁷. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** Row-major `flat` as an index of `shape`, e.g. `(3, 1)`. */
export function indexOf(flat: number, shape: readonly number[]): string {
  const index: number[] = [];
  let rest = flat;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index.unshift(rest % shape[axis]);
    rest = Math.floor(rest / shape[axis]);
  }
  return `(${index.join(', ')})`;
}

/**
 * The array as float32, the precision the model computes in: every value finite, and float64
 * values within float32's range (a cast would make them ±Infinity).
 */
function floatInput(array: NpyArray, where: string): Float32Array {
  if (array.dtype !== 'float32' && array.dtype !== 'float64') {
    throw new CliUsageError(`${where}: expected a float32 or float64 array, got ${array.dtype}`);
  }
  const { data, shape } = array;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      throw new CliUsageError(
        `${where}: expected finite values, got ${v} at index ${indexOf(i, shape)}; remove or replace non-finite samples (np.isfinite)`,
      );
    }
    if (!Number.isFinite(Math.fround(v))) {
      throw new CliUsageError(
        `${where}: expected values within float32's range (|v| <= ${FLOAT32_MAX.toPrecision(8)}; the model computes in float32), got ${v} at index ${indexOf(i, shape)}; rescale the data`,
      );
    }
  }
  return array.dtype === 'float32' ? array.data : Float32Array.from(array.data);
}

/**
 * The array of an integer graph input (token ids, indices): int32, int64 or uint8 values
 * within the int32 range (what the converted graph computes with).
 */
function integerInput(array: NpyArray, where: string, input: string, type: InputType): Int32Array {
  if (array.dtype !== 'int32' && array.dtype !== 'int64' && array.dtype !== 'uint8') {
    throw new CliUsageError(
      `${where}: expected integers (int32, int64 or uint8) for the ${type} model input '${input}', got ${array.dtype}; save ids.astype(np.int64)`,
    );
  }
  if (array.dtype !== 'int64') return Int32Array.from(array.data);
  const data = new Int32Array(array.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = array.data[i];
    if (v >= 2n ** 31n || v < -(2n ** 31n)) {
      throw new CliUsageError(
        `${where}: expected values within the int32 range for the model input '${input}', got ${v} at index ${indexOf(i, array.shape)}`,
      );
    }
    data[i] = Number(v);
  }
  return data;
}

/**
 * Reads the `--inputs` files for the model's graph inputs: float inputs from float32/float64
 * arrays (finite, within float32's range), integer inputs (int32/int64, e.g. token ids) from
 * integer arrays within the int32 range; each shaped as the model declares (dynamic axes
 * free), all with the same number of samples.
 *
 * @throws {@link CliUsageError} naming the file and what to fix.
 */
export async function readInputs(
  model: ModelProto,
  specs: readonly string[],
): Promise<{ inputs: Record<string, HostInput>; size: number; files: string[] }> {
  const declared = declaredInputs(model, '--inputs');
  const pairs: [string, string][] = [];
  const names = declared.map((d) => d.name).join(', ');
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq > 0 ? spec.slice(0, eq) : undefined;
    if (name !== undefined && declared.some((d) => d.name === name)) {
      pairs.push([name, spec.slice(eq + 1)]);
    } else if (declared.length === 1 && specs.length === 1) {
      // The one input (a path may contain '=').
      pairs.push([declared[0].name, spec]);
    } else if (name !== undefined) {
      throw new CliUsageError(
        `--inputs ${spec}: the model has no input '${name}'; its inputs are ${names}`,
      );
    } else {
      throw new CliUsageError(
        `--inputs ${spec}: the model has ${declared.length} inputs (${names}); pass --inputs NAME=FILE for each`,
      );
    }
  }
  for (const d of declared) {
    if (!pairs.some(([n]) => n === d.name)) {
      throw new CliUsageError(`--inputs: no file for the model input '${d.name}'`);
    }
  }
  const inputs: Record<string, HostInput> = {};
  let size: number | undefined;
  let first = '';
  for (const [name, path] of pairs) {
    if (inputs[name] !== undefined) {
      throw new CliUsageError(`--inputs: two files for the model input '${name}'`);
    }
    const where = `--inputs ${path}`;
    const array = await readNpyFile(path, '--inputs');
    const input = declared.find((d) => d.name === name)!;
    const data =
      input.type === 'float32'
        ? floatInput(array, where)
        : integerInput(array, where, name, input.type);
    const shape = array.shape;
    const expected = input.shape;
    if (shape.length === 0 || shape[0] === 0) {
      throw new CliUsageError(
        `${where}: expected a batch of samples (first axis >= 1), got shape [${shape}]`,
      );
    }
    if (expected !== undefined) {
      const fits =
        expected.length === shape.length && expected.every((d, i) => d < 0 || d === shape[i]);
      if (!fits) {
        throw new CliUsageError(
          `${where}: expected shape [${expected.map((d) => (d < 0 ? '?' : d))}] for the model input '${name}', got [${shape}]`,
        );
      }
    }
    if (size === undefined) {
      size = shape[0];
      first = path;
    } else if (shape[0] !== size) {
      throw new CliUsageError(
        `${where}: expected ${size} samples (as in ${first}), got ${shape[0]} (shape [${shape}])`,
      );
    }
    inputs[name] = { data, shape };
  }
  return { inputs, size: size ?? 0, files: pairs.map(([, path]) => path) };
}

/**
 * Slack of the row sums of cross-entropy label rows, relative: rows of probabilities made by a
 * float32 softmax and stored in float32 carry C + 2 roundings of at most 2⁻²⁴ each (one exp,
 * C − 1 additions, one division, one store); twice that, (C + 2)·2⁻²³, also covers the sum that
 * checks them.
 */
export function rowSumTolerance(classes: number): number {
  return (classes + 2) * 2 ** -23;
}

/**
 * How many label rows the loss reads: the probe size, or the first axis of the analysed model
 * output when the model folds other axes into it (a language model's [N·T, V] next-token
 * logits: one label per token).
 */
export interface LabelRows {
  readonly count: number;
  /** What fixed `count` when it is not the inputs' first axis, e.g. "output 'logits' [64, 1024]". */
  readonly source?: string;
}

/**
 * Reads the labels of `--labels`, checked against the loss and the probe size before any work:
 * - `mse`: float targets, finite and within float32's range (their shape is checked against
 *   the model output after conversion);
 * - `ce`, shape [N]: integer class ids >= 0 (below the model's class count C: checked after
 *   conversion, when C is known);
 * - `ce`, shape [N, C]: one-hot rows or probability rows (soft labels): every entry finite and
 *   >= 0, every row summing to 1 within {@link rowSumTolerance}. Other rows would make the
 *   cross-entropy something else (negative entries reward a wrong class: the loss and the
 *   Hessian's trace can go negative; a row summing to s scales that sample's curvature by s).
 *
 * @throws {@link CliUsageError} naming the file, the first offending index and its value.
 */
export function readLabels(
  array: NpyArray,
  path: string,
  loss: 'ce' | 'mse',
  rows: LabelRows,
): HostLabels {
  const where = `--labels ${path}`;
  const { shape } = array;
  const size = rows.count;
  if (shape.length === 0 || shape[0] !== size) {
    throw new CliUsageError(
      `${where}: expected ${size} ${rows.source === undefined ? "samples (the inputs' first axis)" : `rows (the first axis of ${rows.source})`}, got shape [${shape}]`,
    );
  }
  const isInt = array.dtype === 'int32' || array.dtype === 'int64' || array.dtype === 'uint8';
  const isFloat = array.dtype === 'float32' || array.dtype === 'float64';
  if (loss === 'mse') {
    if (!isFloat) {
      throw new CliUsageError(
        `${where}: expected float32 or float64 targets for --loss mse, got ${array.dtype}`,
      );
    }
    return { data: floatInput(array, where), shape };
  }
  if (!((isInt && shape.length === 1) || ((isInt || isFloat) && shape.length === 2))) {
    throw new CliUsageError(
      `${where}: expected int32/int64 class ids of shape [N] or one-hot labels of shape [N, C] for --loss ce, got ${array.dtype} [${shape}]`,
    );
  }
  let values: Float32Array | Float64Array | Int32Array | Uint8Array;
  try {
    values = isFloat
      ? floatInput(array, where)
      : array.dtype === 'int64'
        ? int64ToNumbers(array.data)
        : (array.data as Int32Array | Uint8Array);
  } catch (error) {
    throw asInputError(error, where);
  }
  if (shape.length === 1) {
    const data = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!(v >= 0 && v <= 2 ** 31 - 1)) {
        throw new CliUsageError(`${where}: expected class ids >= 0, got ${v} at index ${i}`);
      }
      data[i] = v;
    }
    return { data, shape };
  }
  const classes = shape[1];
  const tolerance = rowSumTolerance(classes);
  for (let row = 0; row < size; row++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const v = values[row * classes + c];
      if (!(v >= 0)) {
        throw new CliUsageError(
          `${where}: expected one-hot or probability rows (entries >= 0, rows summing to 1), got ${v} at index (${row}, ${c})`,
        );
      }
      sum += v;
    }
    if (!(Math.abs(sum - 1) <= tolerance)) {
      throw new CliUsageError(
        `${where}: expected one-hot or probability rows summing to 1 (within ${tolerance.toPrecision(2)}), got a sum of ${sum} in row ${row}; normalize the rows (y / y.sum(axis=1, keepdims=True))`,
      );
    }
  }
  return { data: values instanceof Float32Array ? values : Float32Array.from(values), shape };
}

/** The report as JSON: {@link encodeReport}'s text (non-finite numbers as strings), indented. */
export function jsonText(report: CurvatureReport): string {
  return JSON.stringify(JSON.parse(encodeReport(report)), null, 2);
}
