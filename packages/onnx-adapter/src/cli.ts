/**
 * The `hessian-probe` command line (issue 6 §2):
 *
 * - `hessian-probe onnx analyze MODEL.onnx --inputs X.npy --labels Y.npy …` analyses the loss
 *   Hessian of an ONNX model on a probe batch read from NumPy files, prints a summary table,
 *   and writes the annotated model (`--out`) and/or the JSON report (`--json`).
 * - `hessian-probe onnx analyze … --forward-only` estimates only the trace (and the per-initializer
 *   block traces) from onnxruntime forward passes ({@link forwardOnlyTrace}), for graphs outside
 *   the converter's operator set; the numbers are printed and stored as estimates.
 * - `hessian-probe onnx show MODEL.onnx` prints the report attached to a model.
 *
 * Exit codes: 0 success, 2 bad usage or bad input (one line naming the file or flag), 1 internal
 * error. Everything that can be checked is checked before the first Hessian-vector product.
 * The logic lives in {@link main}, with injectable output, so that it is testable in-process;
 * `cli-main.ts` is the executable entry.
 */
import { access, readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type AnalysesResult,
  type CurvatureKind,
  type CurvatureReport,
  type CurvatureReportInput,
  encodeReport,
  HessianProbeError,
  type LinearOperator,
  normalizeReport,
  REPORT_SCHEMA_VERSION,
  type RunAnalysesOptions,
  runAnalyses,
} from '@hessian-probe/core';
import {
  BACKEND_NAMES,
  type BackendChoice,
  type BackendName,
  BackendUnavailableError,
  describeBackendChoice,
  selectBackend,
} from '@hessian-probe/core/backends';
import { meanSquaredError, softmaxCrossEntropy, type Tf } from '@hessian-probe/core/tfjs';
import * as tfjs from '@tensorflow/tfjs';
import type { Scalar } from '@tensorflow/tfjs-core';
import { annotateModel, readAnnotation, writeFileAtomic } from './annotate.js';
import { type HostLabels, type OnnxCurvature, onnxCurvature } from './curvature.js';
import { type ForwardOnlyResult, forwardOnlyTrace, NOISE_POINTS } from './forward-only.js';
import { defaultParameters } from './graph.js';
import { int64ToNumbers, type NpyArray, readNpy } from './npy.js';
import { type ModelProto, parseModel } from './proto.js';
import type { HostInput } from './runtime.js';

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

/** Analyses `--analyses` accepts; the default is all but `layers`. */
export const CLI_ANALYSES = ['eigen', 'trace', 'density', 'blocks', 'layers'] as const;
type AnalysisName = (typeof CLI_ANALYSES)[number];
const DEFAULT_ANALYSES: readonly AnalysisName[] = ['eigen', 'trace', 'density', 'blocks'];

/** Budgets of the analyses (the tfjs callback's defaults). */
export const CLI_BUDGETS = {
  eigen: { k: 3, tol: 1e-3, maxMatvecs: 100 },
  trace: { matvecs: 30, method: 'hutch++' },
  density: { probes: 2, steps: 30, gridSize: 128 },
  blocks: { probes: 4 },
  layers: { probes: 1, steps: 16, traceMatvecs: 12 },
} as const;

/** Default Rademacher probes per block of `--forward-only` (`--probes`; each costs two forward passes). */
export const FORWARD_ONLY_PROBES = 30;

/** The usage text printed by `--help` and after a usage error. */
export const USAGE = `Usage:
  hessian-probe onnx analyze MODEL.onnx --inputs X.npy --labels Y.npy [options]
  hessian-probe onnx show MODEL.onnx
  hessian-probe --help

analyze: the loss Hessian (or Gauss–Newton matrix) of MODEL.onnx over its weight
initializers, on the probe batch X.npy (float32/float64, first axis = samples) with labels
Y.npy.

Options of analyze:
  --inputs X.npy | NAME=X.npy  probe inputs; repeat NAME=FILE for a model with several inputs
  --labels Y.npy               ce: int32/int64 class ids [N] or one-hot/probabilities [N, C];
                               mse: float targets shaped like the model output
  --loss ce|mse                softmax cross-entropy from logits (default) or mean squared error
  --kind hessian|ggn           the loss Hessian (default) or the generalized Gauss–Newton matrix
  --analyses LIST              comma-separated among eigen,trace,density,blocks,layers
                               (default eigen,trace,density,blocks)
  --k N                        number of top eigenvalues (default 3)
  --parameters LIST            comma-separated initializer names to differentiate, in layout
                               order (default: the float initializers that feed a
                               Gemm/MatMul/Conv, or an Add/Mul after one: see the README)
  --seed N                     seed of the random probes (default 0)
  --out ANNOTATED.onnx         write the model with the report in its metadata_props
  --json REPORT.json           write the CurvatureReport as JSON
  --force                      allow --out to replace MODEL.onnx
  --backend NAME               TensorFlow.js backend: tensorflow, wasm or cpu (default: the
                               fastest that loads; not with --forward-only)
  --tolerance T                conversion tolerance vs onnxruntime (default 1e-4, relative)
  --forward-only               for graphs with operators the converter lacks: estimate only the
                               trace and per-initializer block traces from onnxruntime forward
                               passes (second differences); an estimate with sampling and
                               rounding errors, not exact curvature
  --probes N                   with --forward-only: Rademacher probes per block, an integer >= 2
                               (default ${FORWARD_ONLY_PROBES}); 2·N·B + ${1 + NOISE_POINTS} forward passes for B blocks

Exit codes: 0 success, 2 bad usage or bad input, 1 internal error.
`;

const OPTIONS = {
  inputs: { type: 'string', multiple: true },
  labels: { type: 'string' },
  loss: { type: 'string' },
  kind: { type: 'string' },
  analyses: { type: 'string' },
  k: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'string' },
  force: { type: 'boolean' },
  backend: { type: 'string' },
  tolerance: { type: 'string' },
  'forward-only': { type: 'boolean' },
  probes: { type: 'string' },
  parameters: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Runs the command line `argv` (without the `node` and script entries) and resolves with the
 * exit code (also passed to `io.exit`). Never throws.
 *
 * @example
 * ```ts
 * const code = await main(['onnx', 'show', 'mlp.onnx'], {
 *   stdout: (s) => process.stdout.write(s),
 *   stderr: (s) => process.stderr.write(s),
 * });
 * ```
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let code: number;
  try {
    code = await run(argv, io);
  } catch (error) {
    if (isUsageError(error)) {
      io.stderr(`hessian-probe: ${oneLine(errorMessage(error))}\n`);
      code = EXIT.usage;
    } else {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      io.stderr(`hessian-probe: internal error: ${detail}\n`);
      code = EXIT.internal;
    }
  }
  io.exit?.(code);
  return code;
}

/** Errors that are the user's to fix: exit code 2. */
function isUsageError(error: unknown): boolean {
  return error instanceof CliUsageError;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Wraps a typed error of the input-checking phase (or a file error) as a usage error. */
function asInputError(error: unknown, context: string): unknown {
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

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliUsageError(`${errorMessage(error)} (see hessian-probe --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals.length === 0) {
    io.stdout(USAGE);
    return positionals.length === 0 && values.help !== true ? EXIT.usage : EXIT.ok;
  }
  const [group, command, ...rest] = positionals;
  if (group !== 'onnx') {
    throw new CliUsageError(
      `unknown command '${group}'; expected 'onnx' (see hessian-probe --help)`,
    );
  }
  if (command !== 'analyze' && command !== 'show') {
    throw new CliUsageError(
      `unknown command 'onnx ${command ?? ''}'; expected 'onnx analyze' or 'onnx show'`,
    );
  }
  if (rest.length !== 1) {
    throw new CliUsageError(
      `onnx ${command}: expected one MODEL.onnx argument, got ${rest.length === 0 ? 'none' : rest.join(' ')}`,
    );
  }
  const modelPath = rest[0];
  if (command === 'show') {
    const analyzeOnly = Object.keys(values).filter((k) => k !== 'help');
    if (analyzeOnly.length > 0) {
      throw new CliUsageError(`onnx show: takes no options, got --${analyzeOnly[0]}`);
    }
    return show(modelPath, io);
  }
  return analyze(modelPath, values, io);
}

// ---------------------------------------------------------------------------------------------
// show

async function show(modelPath: string, io: CliIo): Promise<number> {
  let report: CurvatureReport | undefined;
  try {
    report = readAnnotation(await readFile(modelPath));
  } catch (error) {
    throw asInputError(error, modelPath);
  }
  if (report === undefined) {
    throw new CliUsageError(
      `${modelPath}: the model carries no hessian-probe report (write one with 'hessian-probe onnx analyze ${modelPath} --out …')`,
    );
  }
  io.stdout(formatSummary(report));
  return EXIT.ok;
}

// ---------------------------------------------------------------------------------------------
// analyze

type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

interface AnalyzeOptions {
  readonly loss: 'ce' | 'mse';
  readonly kind: CurvatureKind;
  readonly analyses: readonly AnalysisName[];
  readonly k: number;
  readonly seed: number;
  readonly backend: BackendName | 'auto';
  readonly tolerance?: number;
  readonly out?: string;
  readonly json?: string;
  readonly force: boolean;
  readonly forwardOnly: boolean;
  /** Probes per block of `--forward-only`. */
  readonly probes: number;
  readonly parameters?: readonly string[];
  readonly inputSpecs: readonly string[];
  readonly labels: string;
}

function checkOptions(values: Values): AnalyzeOptions {
  const inputSpecs = values.inputs ?? [];
  if (inputSpecs.length === 0) throw new CliUsageError('onnx analyze: --inputs X.npy is required');
  if (values.labels === undefined) {
    throw new CliUsageError('onnx analyze: --labels Y.npy is required');
  }
  const loss = values.loss ?? 'ce';
  if (loss !== 'ce' && loss !== 'mse') {
    throw new CliUsageError(`--loss: expected ce or mse, got '${loss}'`);
  }
  const kind = values.kind ?? 'hessian';
  if (kind !== 'hessian' && kind !== 'ggn') {
    throw new CliUsageError(`--kind: expected hessian or ggn, got '${kind}'`);
  }
  const names = (values.analyses ?? DEFAULT_ANALYSES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) {
    throw new CliUsageError(`--analyses: expected some of ${CLI_ANALYSES.join(',')}, got none`);
  }
  for (const name of names) {
    if (!(CLI_ANALYSES as readonly string[]).includes(name)) {
      throw new CliUsageError(
        `--analyses: unknown analysis '${name}'; expected some of ${CLI_ANALYSES.join(',')}`,
      );
    }
  }
  const integer = (flag: string, text: string | undefined, fallback: number, min: number) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (text.trim() === '' || !Number.isSafeInteger(n) || n < min) {
      throw new CliUsageError(`--${flag}: expected an integer >= ${min}, got '${text}'`);
    }
    return n;
  };
  const backend = (values.backend ?? 'auto') as BackendName | 'auto';
  if (backend !== 'auto' && !BACKEND_NAMES.includes(backend)) {
    throw new CliUsageError(
      `--backend: expected ${BACKEND_NAMES.join(', ')} or auto, got '${backend}'`,
    );
  }
  let tolerance: number | undefined;
  if (values.tolerance !== undefined) {
    tolerance = Number(values.tolerance);
    if (values.tolerance.trim() === '' || !(tolerance > 0) || !Number.isFinite(tolerance)) {
      throw new CliUsageError(`--tolerance: expected a number > 0, got '${values.tolerance}'`);
    }
  }
  const forwardOnly = values['forward-only'] === true;
  if (forwardOnly) {
    if (kind !== 'hessian') {
      throw new CliUsageError(
        '--forward-only: estimates the Hessian trace only; --kind ggn needs the converted graph',
      );
    }
    if (names.some((n) => n !== 'trace') && values.analyses !== undefined) {
      throw new CliUsageError(
        `--forward-only: runs the trace only, got --analyses ${values.analyses} (drop it or pass --analyses trace)`,
      );
    }
    if (values.tolerance !== undefined || values.k !== undefined) {
      throw new CliUsageError(
        `--forward-only: converts nothing and computes no eigenvalues, got --${values.k === undefined ? 'tolerance' : 'k'}`,
      );
    }
    if (values.backend !== undefined) {
      throw new CliUsageError(
        `--forward-only: runs onnxruntime only, no TensorFlow.js backend, got --backend ${values.backend}`,
      );
    }
  } else if (values.probes !== undefined) {
    throw new CliUsageError(
      `--probes: sets the probes of --forward-only only, got --probes ${values.probes} without it`,
    );
  }
  return {
    loss,
    kind,
    forwardOnly,
    probes: integer('probes', values.probes, FORWARD_ONLY_PROBES, 2),
    analyses: CLI_ANALYSES.filter((a) => names.includes(a)),
    k: integer('k', values.k, CLI_BUDGETS.eigen.k, 1),
    seed: integer('seed', values.seed, 0, 0),
    backend,
    ...(tolerance === undefined ? {} : { tolerance }),
    ...(values.out === undefined ? {} : { out: values.out }),
    ...(values.json === undefined ? {} : { json: values.json }),
    force: values.force === true,
    ...(values.parameters === undefined ? {} : { parameters: parameterList(values.parameters) }),
    inputSpecs,
    labels: values.labels,
  };
}

/** `--parameters a,b,c`: non-empty, distinct names. */
function parameterList(text: string): string[] {
  const names = text.split(',').map((n) => n.trim());
  if (names.includes('')) {
    throw new CliUsageError(
      `--parameters: expected comma-separated names, got an empty one in '${text}'`,
    );
  }
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated !== undefined) {
    throw new CliUsageError(`--parameters: expected distinct names, got '${repeated}' twice`);
  }
  return names;
}

async function readModelFile(path: string): Promise<{ bytes: Uint8Array; model: ModelProto }> {
  try {
    const bytes = new Uint8Array(await readFile(path));
    return { bytes, model: parseModel(bytes) };
  } catch (error) {
    throw asInputError(error, path);
  }
}

async function readNpyFile(path: string, flag: string): Promise<NpyArray> {
  try {
    return readNpy(new Uint8Array(await readFile(path)));
  } catch (error) {
    throw asInputError(error, `${flag} ${path}`);
  }
}

/** Graph inputs that are not initializers, with their declared shapes (-1: dynamic). */
function graphInputs(model: ModelProto): { name: string; shape?: number[] }[] {
  const graph = model.graph;
  const initializers = new Set((graph?.initializer ?? []).map((t) => t.name ?? ''));
  return (graph?.input ?? [])
    .filter((i) => !initializers.has(i.name ?? ''))
    .map((i) => {
      const dims = i.type?.tensorType?.shape?.dim;
      const name = i.name ?? '';
      if (!dims) return { name };
      return {
        name,
        shape: dims.map((d) => {
          const v = d.dimValue === null || d.dimValue === undefined ? 0 : Number(d.dimValue);
          return d.dimParam || !(v > 0) ? -1 : v;
        }),
      };
    });
}

function floatInput(array: NpyArray, where: string): Float32Array {
  if (array.dtype === 'float32') return array.data;
  if (array.dtype === 'float64') return Float32Array.from(array.data);
  throw new CliUsageError(`${where}: expected a float32 or float64 array, got ${array.dtype}`);
}

async function readInputs(
  model: ModelProto,
  specs: readonly string[],
): Promise<{ inputs: Record<string, HostInput>; size: number }> {
  const declared = graphInputs(model);
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
    const data = floatInput(array, where);
    const shape = array.shape;
    const expected = declared.find((d) => d.name === name)?.shape;
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
  return { inputs, size: size ?? 0 };
}

function readLabels(array: NpyArray, path: string, loss: 'ce' | 'mse', size: number): HostLabels {
  const where = `--labels ${path}`;
  const { shape } = array;
  if (shape.length === 0 || shape[0] !== size) {
    throw new CliUsageError(
      `${where}: expected ${size} samples (the inputs' first axis), got shape [${shape}]`,
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
  if (isInt && shape.length === 1) {
    const values =
      array.dtype === 'int64'
        ? int64ToNumbers(array.data)
        : (array.data as Int32Array | Uint8Array);
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
  if ((isInt || isFloat) && shape.length === 2) {
    const data = isFloat
      ? floatInput(array, where)
      : Float32Array.from(
          array.dtype === 'int64' ? int64ToNumbers(array.data) : (array.data as Int32Array),
        );
    return { data, shape };
  }
  throw new CliUsageError(
    `${where}: expected int32/int64 class ids of shape [N] or one-hot labels of shape [N, C] for --loss ce, got ${array.dtype} [${shape}]`,
  );
}

/** Checks the labels against the model output; returns the loss on the probe batch. */
function probeLoss(
  tf: Tf,
  curvature: OnnxCurvature,
  model: ModelProto,
  inputs: Readonly<Record<string, HostInput>>,
  labels: HostLabels,
  loss: 'ce' | 'mse',
  labelsPath: string,
): number {
  const { fn } = curvature;
  const output = fn.outputNames[0];
  const producer = (model.graph?.node ?? []).find((n) => (n.output ?? []).includes(output));
  const fetch =
    loss === 'ce' && producer?.opType === 'Softmax' ? (producer.input ?? [])[0] : output;
  const where = `--labels ${labelsPath}`;
  const value = tf.tidy(() => {
    const feeds = Object.fromEntries(
      fn.inputNames.map((n) => [n, tf.tensor(inputs[n].data, [...inputs[n].shape], 'float32')]),
    );
    const z = fn.run(
      fn.params.map((p) => p.tensor),
      feeds,
      [fetch],
    )[0];
    const zShape = z.shape;
    if (loss === 'mse') {
      if (zShape.length !== labels.shape.length || zShape.some((d, i) => d !== labels.shape[i])) {
        throw new CliUsageError(
          `${where}: expected targets shaped like the model output [${zShape}], got [${labels.shape}]`,
        );
      }
    } else {
      if (zShape.length !== 2) {
        throw new CliUsageError(
          `--loss ce: expected a model output of shape [N, C], got [${zShape}] (use --loss mse?)`,
        );
      }
      const classes = zShape[1];
      if (labels.shape.length === 2 && labels.shape[1] !== classes) {
        throw new CliUsageError(
          `${where}: expected one-hot labels of shape [${zShape}] (${classes} classes), got [${labels.shape}]`,
        );
      }
      if (labels.shape.length === 1) {
        const bad = labels.data.findIndex((v) => v >= classes);
        if (bad >= 0) {
          throw new CliUsageError(
            `${where}: expected class ids in [0, ${classes}) (the model has ${classes} outputs), got ${labels.data[bad]} at index ${bad}`,
          );
        }
      }
    }
    const y = tf.tensor(
      labels.data,
      [...labels.shape],
      labels.data instanceof Int32Array ? 'int32' : 'float32',
    );
    const l: Scalar = loss === 'ce' ? softmaxCrossEntropy(tf, z, y) : meanSquaredError(tf, z, y);
    return l;
  });
  const result = value.dataSync()[0];
  value.dispose();
  return result;
}

async function checkOutputPath(path: string, flag: string, modelPath: string, force: boolean) {
  if (resolve(path) === resolve(modelPath) && !force) {
    throw new CliUsageError(
      `${flag} ${path}: refusing to overwrite the input model; pass --force to replace it`,
    );
  }
  try {
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) throw new CliUsageError(`${flag} ${path}: is a directory`);
    await access(dirname(resolve(path)));
  } catch (error) {
    throw asInputError(error, `${flag} ${path}`);
  }
}

async function useBackend(
  tf: typeof tfjs,
  name: BackendName | 'auto',
  io: CliIo,
): Promise<BackendName> {
  let choice: BackendChoice;
  try {
    choice = await selectBackend(tf as unknown as Tf, name);
  } catch (error) {
    if (error instanceof BackendUnavailableError)
      throw new CliUsageError(`--backend: ${error.message}`);
    throw error;
  }
  io.stderr(`hessian-probe: ${describeBackendChoice(choice)}\n`);
  // The cpu backend greets Node.js users on first use, recommending tfjs-node; the choice line
  // above already says why it was not used, so the greeting is noise in a command's output.
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if (choice.name === 'cpu' && backend.firstUse === true) backend.firstUse = false;
  return choice.name;
}

/** Counts matvecs and, on a terminal, redraws a progress line every few products. */
function progressOperator(
  op: LinearOperator,
  io: CliIo,
  label: string,
  budget: number | undefined,
): LinearOperator {
  let count = 0;
  return {
    dim: op.dim,
    matvec(v) {
      count++;
      if (io.isTTY === true && (count % 5 === 0 || count === budget)) {
        const width = 24;
        const bar =
          budget === undefined
            ? ''
            : `[${'#'.repeat(Math.min(width, Math.round((width * count) / budget))).padEnd(width, '.')}] `;
        io.stderr(`\r  ${label.padEnd(8)} ${bar}${count} matvecs`);
      }
      return op.matvec(v);
    },
  };
}

/** Matvec budget of a section, for the progress bar (an upper bound or an estimate). */
function budgetOf(name: AnalysisName, k: number, dim: number, blocks: number): number | undefined {
  switch (name) {
    case 'eigen':
      return Math.max(CLI_BUDGETS.eigen.maxMatvecs, k);
    case 'trace':
      return CLI_BUDGETS.trace.matvecs;
    case 'density':
      return CLI_BUDGETS.density.probes * Math.min(CLI_BUDGETS.density.steps, dim);
    case 'blocks':
      return CLI_BUDGETS.blocks.probes * blocks;
    default:
      return undefined;
  }
}

async function analyze(modelPath: string, values: Values, io: CliIo): Promise<number> {
  const started = performance.now();
  const o = checkOptions(values);
  const progress = (text: string) => io.stderr(`${text}\n`);
  // 1. Inputs, all checked before any computation.
  const { bytes, model } = await readModelFile(modelPath);
  const { inputs, size } = await readInputs(model, o.inputSpecs);
  const labels = readLabels(await readNpyFile(o.labels, '--labels'), o.labels, o.loss, size);
  if (o.out !== undefined) await checkOutputPath(o.out, '--out', modelPath, o.force);
  if (o.json !== undefined) await checkOutputPath(o.json, '--json', modelPath, false);
  if (o.out !== undefined && o.json !== undefined && resolve(o.out) === resolve(o.json)) {
    throw new CliUsageError(`--out and --json: expected two different files, got ${o.out} twice`);
  }
  if (o.forwardOnly)
    return analyzeForwardOnly(modelPath, bytes, model, inputs, size, labels, o, io);
  // 2. Conversion, checked against onnxruntime.
  const backend = await useBackend(tfjs, o.backend, io);
  const tf = tfjs as unknown as Tf;
  progress(`hessian-probe: converting ${modelPath} and checking it against onnxruntime…`);
  let curvature: OnnxCurvature;
  try {
    curvature = await onnxCurvature(bytes, {
      tf,
      inputs,
      labels,
      loss: o.loss,
      kind: o.kind,
      ...(o.tolerance === undefined ? {} : { tolerance: o.tolerance }),
      ...(o.parameters === undefined ? {} : { parameters: o.parameters }),
    });
  } catch (error) {
    throw asInputError(error, modelPath);
  }
  try {
    const loss = probeLoss(tf, curvature, model, inputs, labels, o.loss, o.labels);
    const { operator, layout, check } = curvature;
    progress(
      `  conversion: max |onnxruntime − tfjs| = ${fmt(check.maxAbsDifference)} (relative ${fmt(check.relativeDifference)} ≤ ${fmt(check.tolerance)}); ${layout.dim} parameters in ${layout.blocks.length} initializers; loss ${fmt(loss)}`,
    );
    if (o.analyses.includes('eigen') && o.k > layout.dim) {
      throw new CliUsageError(
        `--k: expected at most ${layout.dim} (the number of parameters), got ${o.k}`,
      );
    }
    // 3. The analyses, one section at a time (same numbers as one runAnalyses call: each
    // section's seed is drawn from --seed whether or not the others run).
    const sections: Omit<AnalysesResult, 'matvecs' | 'seconds'> = {};
    let matvecs = 0;
    let seconds = 0;
    const timestamp = new Date().toISOString();
    for (const [i, name] of o.analyses.entries()) {
      const label = `[${i + 1}/${o.analyses.length}] ${name}`;
      progress(`  ${label}…`);
      const options: RunAnalysesOptions = { seed: o.seed, ...sectionOptions(name, o.k) };
      const op = progressOperator(
        operator,
        io,
        name,
        budgetOf(name, o.k, layout.dim, layout.blocks.length),
      );
      const result = await runAnalyses(op, layout, options);
      if (io.isTTY === true) io.stderr('\r\x1b[K');
      progress(`  ${label}: ${result.matvecs} matvecs, ${result.seconds.toFixed(2)} s`);
      const { matvecs: m, seconds: s, ...rest } = result;
      Object.assign(sections, rest);
      matvecs += m;
      seconds += s;
    }
    const conversion = {
      maxAbsDifference: check.maxAbsDifference,
      relativeDifference: check.relativeDifference,
      tolerance: check.tolerance,
      backend,
    };
    const input: CurvatureReportInput = {
      schemaVersion: REPORT_SCHEMA_VERSION,
      epoch: 0,
      step: 0,
      timestamp,
      kind: o.kind,
      model: {
        name: model.graph?.name || basename(modelPath, '.onnx'),
        parameterCount: layout.dim,
        layout,
      },
      probe: { size, seed: o.seed },
      loss,
      ...sections,
      seconds,
      matvecs,
      // An extra field (kept by readers of schema version 1): how the conversion compared.
      ...{ conversion },
    };
    const report = normalizeReport(input);
    // 4. Outputs.
    if (o.json !== undefined) {
      await writeFileAtomic(o.json, new TextEncoder().encode(`${jsonText(report)}\n`));
      progress(`  wrote ${o.json}`);
    }
    if (o.out !== undefined) {
      await writeFileAtomic(o.out, annotateModel(bytes, report));
      progress(`  wrote ${o.out}`);
    }
    io.stdout(formatSummary(report));
    progress(`hessian-probe: done in ${((performance.now() - started) / 1000).toFixed(2)} s`);
    return EXIT.ok;
  } finally {
    curvature.dispose();
  }
}

async function analyzeForwardOnly(
  modelPath: string,
  bytes: Uint8Array,
  model: ModelProto,
  inputs: Readonly<Record<string, HostInput>>,
  size: number,
  labels: HostLabels,
  o: AnalyzeOptions,
  io: CliIo,
): Promise<number> {
  const started = performance.now();
  const timestamp = new Date().toISOString();
  const blocks = (o.parameters ?? defaultParameters(model)).length;
  io.stderr(
    `hessian-probe: forward-only estimate of ${modelPath} (second differences, onnxruntime): ${o.probes} probes × ${blocks} blocks, ${forwardPasses(o.probes, blocks)} forward passes…\n`,
  );
  let result: ForwardOnlyResult;
  try {
    result = await forwardOnlyTrace(bytes, {
      inputs,
      labels,
      loss: o.loss,
      probes: o.probes,
      seed: o.seed,
      ...(o.parameters === undefined ? {} : { parameters: o.parameters }),
    });
  } catch (error) {
    throw asInputError(error, modelPath);
  }
  const seconds = (performance.now() - started) / 1000;
  const { trace, layout } = result;
  const input: CurvatureReportInput = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    epoch: 0,
    step: 0,
    timestamp,
    kind: 'hessian',
    model: {
      name: model.graph?.name || basename(modelPath, '.onnx'),
      parameterCount: layout.dim,
      layout,
    },
    probe: { size, seed: o.seed },
    loss: result.loss,
    // No matrix-vector products: the cost is in trace.forwardPasses.
    trace: {
      estimate: trace.estimate,
      stderr: trace.stderr,
      matvecs: 0,
      method: result.method,
      roundingBound: trace.roundingBound,
      forwardPasses: result.forwardPasses,
      blocks: result.blocks.map(({ name, estimate, stderr, roundingBound }) => ({
        name,
        estimate,
        stderr,
        roundingBound,
      })),
    },
    seconds,
    matvecs: 0,
  };
  const report = normalizeReport(input);
  if (o.json !== undefined) {
    await writeFileAtomic(o.json, new TextEncoder().encode(`${jsonText(report)}\n`));
    io.stderr(`  wrote ${o.json}\n`);
  }
  if (o.out !== undefined) {
    await writeFileAtomic(o.out, annotateModel(bytes, report));
    io.stderr(`  wrote ${o.out}\n`);
  }
  io.stdout(formatSummary(report));
  io.stderr(`hessian-probe: done in ${seconds.toFixed(2)} s\n`);
  return EXIT.ok;
}

/**
 * Forward passes of {@link forwardOnlyTrace} with per-block traces: the shared center, the noise
 * measurement ({@link NOISE_POINTS}) and two per probe of every block.
 */
function forwardPasses(probes: number, blocks: number): number {
  return 1 + NOISE_POINTS + 2 * probes * blocks;
}

/** The report as JSON: {@link encodeReport}'s text (non-finite numbers as strings), indented. */
function jsonText(report: CurvatureReport): string {
  return JSON.stringify(JSON.parse(encodeReport(report)), null, 2);
}

function sectionOptions(name: AnalysisName, k: number): RunAnalysesOptions {
  switch (name) {
    case 'eigen':
      return {
        eigen: { ...CLI_BUDGETS.eigen, k, maxMatvecs: Math.max(CLI_BUDGETS.eigen.maxMatvecs, k) },
      };
    case 'trace':
      return { trace: { ...CLI_BUDGETS.trace } };
    case 'density':
      return { density: { ...CLI_BUDGETS.density } };
    case 'blocks':
      return { blocks: { ...CLI_BUDGETS.blocks } };
    case 'layers':
      return { layers: { ...CLI_BUDGETS.layers } };
  }
}

// ---------------------------------------------------------------------------------------------
// The summary table

function fmt(x: number | undefined): string {
  if (x === undefined) return '—';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e6 ? String(Number(x.toPrecision(5))) : x.toExponential(3);
}

/** The headline values of a report as a two-column table (what `analyze` and `show` print). */
export function formatSummary(report: CurvatureReport): string {
  const rows: [string, string][] = [];
  const { model, probe, eigen, trace, density, blocks, layers } = report;
  rows.push([
    'model',
    `${model.name} (${model.parameterCount} parameters, ${model.layout.blocks.length} blocks)`,
  ]);
  rows.push(['probe', `${probe.size} samples, seed ${probe.seed}`]);
  rows.push(['loss', fmt(report.loss)]);
  rows.push(['curvature', report.kind === 'ggn' ? 'Gauss–Newton (ggn)' : 'Hessian']);
  if (eigen) {
    rows.push([
      'λmax…',
      `${eigen.values.map(fmt).join(', ')}${eigen.converged ? '' : ' (not converged)'}`,
    ]);
  }
  if (trace?.method === 'second-difference') {
    const label = 'estimate (second differences)';
    rows.push([
      'trace',
      `${fmt(trace.estimate)} ± ${fmt(trace.stderr)}, rounding ≤ ${fmt(trace.roundingBound)}; ${label}`,
    ]);
    for (const b of trace.blocks ?? []) {
      rows.push([
        `trace ${b.name}`,
        `${fmt(b.estimate)} ± ${fmt(b.stderr)}, rounding ≤ ${fmt(b.roundingBound)}; ${label}`,
      ]);
    }
    rows.push(['forward passes', String(trace.forwardPasses)]);
  } else if (trace) rows.push(['trace', `${fmt(trace.estimate)} ± ${fmt(trace.stderr)}`]);
  if (density) {
    rows.push(['negative mass', fmt(density.negativeMass)]);
    rows.push(['Ritz range', `[${fmt(density.lambdaMin)}, ${fmt(density.lambdaMax)}]`]);
  }
  if (blocks) rows.push(['off-diagonal ratio', fmt(blocks.offDiagonalRatio)]);
  if (layers) {
    for (const l of layers) {
      rows.push([
        `layer ${l.name}`,
        `λmax ${fmt(l.lambdaMax)}, trace ${fmt(l.trace)}, negative mass ${fmt(l.negativeMass)}`,
      ]);
    }
  }
  const conversion = (report as { conversion?: { maxAbsDifference?: unknown } }).conversion;
  if (typeof conversion?.maxAbsDifference === 'number') {
    rows.push(['conversion max diff', fmt(conversion.maxAbsDifference)]);
  }
  rows.push(['matvecs', String(report.matvecs)]);
  rows.push(['seconds', report.seconds.toFixed(2)]);
  rows.push(['timestamp', report.timestamp]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}
