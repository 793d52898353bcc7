/** The command line of `hessian-probe`: its usage text, flags and their checks. */
import type { parseArgs } from 'node:util';
import { ANALYSIS_NAMES, type AnalysisRequest, type CurvatureKind } from '@hessian-probe/core';
import { BACKEND_NAMES, type BackendName } from '@hessian-probe/core/backends';
import { ANALYSES } from '@hessian-probe/core/internal';
import { NOISE_POINTS } from '../forward-only.js';
import { CliUsageError } from './io.js';

/** The analyses `--analyses` runs when it is not given. */
export const DEFAULT_CLI_ANALYSES = ['eigen', 'trace', 'density', 'blocks'] as const;

/** Default Rademacher probes per block of `--forward-only` (`--probes`; each costs two forward passes). */
export const FORWARD_ONLY_PROBES = 30;

const EXIT_CODES = 'Exit codes: 0 success, 2 bad usage or bad input, 1 internal error.\n';

/** `hessian-probe onnx analyze --help`. */
export const ANALYZE_USAGE = `Usage: hessian-probe onnx analyze MODEL.onnx --inputs X.npy --labels Y.npy [options]

The loss Hessian (or Gauss–Newton matrix) of MODEL.onnx over its weight initializers, on the
probe batch X.npy (float32/float64, first axis = samples) with labels Y.npy. Everything is
checked before the first product: the files, the values (finite, within float32's range,
labels as below), the output paths (writable, none of the inputs), and the model in
onnxruntime (it loads, runs on X.npy, has finite weights and outputs).

Options:
  --inputs X.npy | NAME=X.npy  probe inputs; repeat NAME=FILE for a model with several inputs
  --labels Y.npy               ce: int32/int64 class ids [N] in [0, C), or rows [N, C] of
                               one-hot or probability labels (entries >= 0, each row summing
                               to 1 within (C+2)·2^-23); mse: float targets shaped like the
                               model output
  --loss ce|mse                softmax cross-entropy from logits (default) or mean squared error
  --kind hessian|ggn           the loss Hessian (default) or the generalized Gauss–Newton matrix
  --analyses LIST              comma-separated among:
${ANALYSES.map((a) => `                                 ${a.name.padEnd(10)} ${a.description}`).join('\n')}
                               (default ${DEFAULT_CLI_ANALYSES.join(',')}; kronecker and classes
                               need a tfjs model); each with its defaults (docs/design.md)
  --k N                        number of top eigenvalues of eigen (default 3)
  --class-probes N             probes of classBlocks, an integer >= 2 (default 32; two
                               products each, whatever the number of classes)
  --class-blocks LIST          comma-separated initializers classBlocks cuts by class (default:
                               the output layer's weight and bias, found in the graph); a 1-D
                               one along its axis, others along their axis of C entries, or
                               NAME:AXIS to name the axis (a square weight)
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
  -h, --help                   this text

Outputs are written atomically (a hidden temporary file, renamed; removed on failure and on
Ctrl-C). Progress goes to stderr: one line per analysis, and a bar when stderr is a terminal.

${EXIT_CODES}`;

/** `hessian-probe onnx show --help`. */
export const SHOW_USAGE = `Usage: hessian-probe onnx show MODEL.onnx

Prints what MODEL.onnx says about itself (producer, graph name, doc string, metadata) and the
headline values of the hessian-probe report attached by 'onnx analyze --out'. Strings from the
file are printed with control characters escaped (ESC as \\x1b). Exits 2 when the model
carries no report.

${EXIT_CODES}`;

/** `hessian-probe report --help`. */
export const REPORT_USAGE = `Usage: hessian-probe report RUN.jsonl [MORE.jsonl …] --out REPORT.html [--title T]

One self-contained HTML page (charts inline as SVG, no script, opens without a network) from
JSON Lines report files (the callback's reportsTo / jsonlSink: one CurvatureReport per line,
schema versions 1 and 2). Several files are drawn side by side, each run named after its file.
Every line is checked before anything is written.

Options:
  --out REPORT.html            the page to write (atomically; never one of the inputs)
  --title T                    the page title (default: the run names)
  -h, --help                   this text

${EXIT_CODES}`;

/** The usage text printed by `--help` and after a usage error. */
export const USAGE = `Usage:
  hessian-probe onnx analyze MODEL.onnx --inputs X.npy --labels Y.npy [options]
  hessian-probe onnx show MODEL.onnx
  hessian-probe report RUN.jsonl [MORE.jsonl …] --out REPORT.html [--title T]
  hessian-probe [COMMAND] --help | --version

Each command's options: hessian-probe onnx analyze --help, hessian-probe onnx show --help,
hessian-probe report --help.

${EXIT_CODES}`;

/**
 * The help text for the command named by the positionals (`['onnx', 'analyze', …]`,
 * `['report']`, …): that command's usage, else the overview {@link USAGE}.
 */
export function helpFor(positionals: readonly string[]): string {
  const [group, command] = positionals;
  if (group === 'report') return REPORT_USAGE;
  if (group !== 'onnx') return USAGE;
  if (command === 'analyze') return ANALYZE_USAGE;
  if (command === 'show') return SHOW_USAGE;
  return `${ANALYZE_USAGE}\n${SHOW_USAGE}`;
}

/** The flags, as `node:util` `parseArgs` options. */
export const OPTIONS = {
  inputs: { type: 'string', multiple: true },
  labels: { type: 'string' },
  loss: { type: 'string' },
  kind: { type: 'string' },
  analyses: { type: 'string' },
  k: { type: 'string' },
  'class-probes': { type: 'string' },
  'class-blocks': { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'string' },
  force: { type: 'boolean' },
  backend: { type: 'string' },
  tolerance: { type: 'string' },
  'forward-only': { type: 'boolean' },
  probes: { type: 'string' },
  parameters: { type: 'string' },
  title: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** The parsed flags. */
export type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

/** The options of `onnx analyze`, checked. */
export interface AnalyzeCommandOptions {
  readonly loss: 'ce' | 'mse';
  readonly kind: CurvatureKind;
  /** The analyses as a request of the registry: every analysis named on or off. */
  readonly analyses: AnalysisRequest;
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

/** Checks the flags of `onnx analyze` (the analyses' own options are checked by core). */
export function checkOptions(values: Values): AnalyzeCommandOptions {
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
  const names = (values.analyses ?? DEFAULT_CLI_ANALYSES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) {
    throw new CliUsageError(`--analyses: expected some of ${ANALYSIS_NAMES.join(',')}, got none`);
  }
  for (const name of names) {
    if (!(ANALYSIS_NAMES as readonly string[]).includes(name)) {
      throw new CliUsageError(
        `--analyses: unknown analysis '${name}'; expected some of ${ANALYSIS_NAMES.join(',')}`,
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
  if (values.k !== undefined && !names.includes('eigen')) {
    throw new CliUsageError(
      `--k: sets the eigen analysis, which --analyses ${values.analyses} leaves out`,
    );
  }
  for (const flag of ['class-probes', 'class-blocks'] as const) {
    if (values[flag] !== undefined && !names.includes('classBlocks')) {
      throw new CliUsageError(
        `--${flag}: sets the classBlocks analysis, which --analyses ${values.analyses ?? DEFAULT_CLI_ANALYSES.join(',')} leaves out`,
      );
    }
  }
  const k = values.k === undefined ? undefined : integer('k', values.k, 1, 1);
  const classBlocks = {
    ...(values['class-probes'] === undefined
      ? {}
      : { probes: integer('class-probes', values['class-probes'], 2, 2) }),
    ...(values['class-blocks'] === undefined
      ? {}
      : { blocks: nameList('class-blocks', values['class-blocks']).map(classBlock) }),
  };
  const options: Partial<Record<string, object>> = {
    ...(k === undefined ? {} : { eigen: { k } }),
    ...(Object.keys(classBlocks).length === 0 ? {} : { classBlocks }),
  };
  const analyses = Object.fromEntries(
    ANALYSIS_NAMES.map((name) => [name, names.includes(name) ? (options[name] ?? true) : false]),
  ) as AnalysisRequest;
  return {
    loss,
    kind,
    forwardOnly,
    probes: integer('probes', values.probes, FORWARD_ONLY_PROBES, 2),
    analyses,
    seed: integer('seed', values.seed, 0, 0),
    backend,
    ...(tolerance === undefined ? {} : { tolerance }),
    ...(values.out === undefined ? {} : { out: values.out }),
    ...(values.json === undefined ? {} : { json: values.json }),
    force: values.force === true,
    ...(values.parameters === undefined
      ? {}
      : { parameters: nameList('parameters', values.parameters) }),
    inputSpecs,
    labels: values.labels,
  };
}

/** One entry of `--class-blocks`: `NAME` or `NAME:AXIS` (the axis that runs over the classes). */
function classBlock(entry: string): { name: string; axis?: number } {
  const colon = entry.lastIndexOf(':');
  if (colon < 0) return { name: entry };
  const name = entry.slice(0, colon);
  const text = entry.slice(colon + 1);
  const axis = Number(text);
  if (name === '' || text.trim() === '' || !Number.isSafeInteger(axis) || axis < 0) {
    throw new CliUsageError(
      `--class-blocks: expected NAME or NAME:AXIS with an integer axis >= 0, got '${entry}'`,
    );
  }
  return { name, axis };
}

/** `--parameters a,b,c` or `--class-blocks a,b`: non-empty, distinct names. */
function nameList(flag: string, text: string): string[] {
  const names = text.split(',').map((n) => n.trim());
  if (names.includes('')) {
    throw new CliUsageError(
      `--${flag}: expected comma-separated names, got an empty one in '${text}'`,
    );
  }
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated !== undefined) {
    throw new CliUsageError(`--${flag}: expected distinct names, got '${repeated}' twice`);
  }
  return names;
}
