/**
 * `hessian-probe onnx analyze`: the arguments become an ONNX analysis context and a request of
 * the analysis registry; `analyze` (core) makes the report; the annotated model and the JSON
 * report are written atomically.
 */
import { basename } from 'node:path';
import {
  type AnalysisProgress,
  type LinearOperator,
  NonFiniteLossError,
} from '@hessian-probe/core';
import {
  type BackendChoice,
  type BackendName,
  BackendUnavailableError,
  describeBackendChoice,
  selectBackend,
} from '@hessian-probe/core/backends';
import { assembleReport, prepareAnalyses, reportOf } from '@hessian-probe/core/internal';
import type { Tf } from '@hessian-probe/core/tfjs';
import * as tfjs from '@tensorflow/tfjs';
import { env as ortEnv } from 'onnxruntime-node';
import { annotateModel, writeFileAtomic } from '../annotate.js';
import { onnxContext } from '../context.js';
import { LabelError, type OnnxCurvature, onnxCurvature } from '../curvature.js';
import { type ForwardOnlyResult, forwardOnlyTrace, NOISE_POINTS } from '../forward-only.js';
import { analysedOutputs, defaultParameters } from '../graph.js';
import type { ModelProto } from '../proto.js';
import type { HostInput } from '../runtime.js';
import { type AnalyzeCommandOptions, checkOptions, type Values } from './args.js';
import {
  asInputError,
  type CliIo,
  CliUsageError,
  checkedInput,
  EXIT,
  jsonText,
  type LabelRows,
  readInputs,
  readLabels,
  readModelFile,
  readNpyFile,
} from './io.js';
import { checkOutputs } from './outputs.js';
import { preflight } from './preflight.js';
import { formatSummary } from './summary.js';
import { terminalSafe } from './terminal.js';

/** Runs `onnx analyze MODEL.onnx` with the parsed flags; resolves with the exit code. */
export async function analyze(modelPath: string, values: Values, io: CliIo): Promise<number> {
  const started = performance.now();
  const o = checkOptions(values);
  // onnxruntime logs warnings at load and errors of a failed run on stderr itself; the command
  // reports what it needs in its own one-line messages.
  ortEnv.logLevel = 'fatal';
  const progress = (text: string) => io.stderr(`${terminalSafe(text)}\n`);
  // 1. Inputs and outputs, all checked before any computation.
  const { bytes, model } = await readModelFile(modelPath);
  const { inputs, size, files } = await readInputs(model, o.inputSpecs);
  const labelArray = await readNpyFile(o.labels, '--labels');
  await checkOutputs(
    [
      ...(o.out === undefined
        ? []
        : [{ flag: '--out', path: o.out, replaceable: modelPath, force: o.force }]),
      ...(o.json === undefined ? [] : [{ flag: '--json', path: o.json }]),
    ],
    [
      { flag: 'model', path: modelPath },
      ...files.map((path) => ({ flag: '--inputs file', path })),
      { flag: '--labels file', path: o.labels },
    ],
  );
  const parameters = o.parameters ?? checkedInput(modelPath, () => defaultParameters(model));
  const outputShapes = await preflight(bytes, model, inputs, {
    modelPath,
    inputFiles: files,
    parameters,
  });
  const rows = checkedInput(modelPath, () => labelRows(model, outputShapes, size));
  const labels = readLabels(labelArray, o.labels, o.loss, rows);
  const name = model.graph?.name || basename(modelPath, '.onnx');
  if (o.forwardOnly) {
    return analyzeForwardOnly(modelPath, bytes, model, name, { inputs, size, labels }, o, io);
  }
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
    throw asInputError(error, error instanceof LabelError ? `--labels ${o.labels}` : modelPath);
  }
  try {
    const { layout, check } = curvature;
    const counted = progressOperator(curvature.operator, io, (index, value) => {
      const block = layout.blocks.find((b) => index >= b.offset && index < b.offset + b.size);
      return new CliUsageError(
        `${modelPath}: the ${o.kind === 'ggn' ? 'Gauss–Newton' : 'Hessian'}-vector product on --inputs ${files.join(', ')} is ${value} at entry ${index - (block?.offset ?? 0)} of initializer '${block?.name}' (likely float32 overflow in the second derivatives); rescale the inputs${o.kind === 'ggn' ? '' : ' or try --kind ggn'}`,
      );
    });
    const context = onnxContext(
      { ...curvature, operator: counted.operator },
      { kind: o.kind, probeSize: size, graph: { model, loss: o.loss } },
    );
    // 3. The analyses' options, checked against the model before any product.
    const prepared = checkedInput('onnx analyze', () =>
      prepareAnalyses(context, { analyses: o.analyses, seed: o.seed }),
    );
    progress(
      `  conversion: max |onnxruntime − tfjs| = ${fmt(check.maxAbsDifference)} (relative ${fmt(check.relativeDifference)} ≤ ${fmt(check.tolerance)}); ${layout.dim} parameters in ${layout.blocks.length} initializers; at most ${prepared.cost} products`,
    );
    const onProgress = (event: AnalysisProgress) => {
      const label = `[${event.index + 1}/${event.count}] ${event.analysis}`;
      if (event.phase === 'start') {
        counted.start(event.analysis, event.cost ?? 0);
        progress(`  ${label}…`);
      } else {
        if (io.isTTY === true) io.stderr('\r\x1b[K');
        progress(`  ${label}: ${event.matvecs} matvecs, ${event.seconds?.toFixed(2)} s`);
      }
    };
    let report: Awaited<ReturnType<typeof reportOf>>;
    try {
      report = await reportOf(
        prepared,
        context,
        { name, extra: { conversion: { ...check, backend } } },
        { onProgress },
      );
    } catch (error) {
      if (error instanceof NonFiniteLossError) throw asInputError(error, modelPath);
      throw inputCause(error) ?? error;
    }
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
  name: string,
  probe: {
    inputs: Readonly<Record<string, HostInput>>;
    size: number;
    labels: Parameters<typeof forwardOnlyTrace>[1]['labels'];
  },
  o: AnalyzeCommandOptions,
  io: CliIo,
): Promise<number> {
  const started = performance.now();
  const timestamp = new Date().toISOString();
  const blocks = (o.parameters ?? defaultParameters(model)).length;
  io.stderr(
    `${terminalSafe(
      `hessian-probe: forward-only estimate of ${modelPath} (second differences, onnxruntime): ${o.probes} probes × ${blocks} blocks, ${forwardPasses(o.probes, blocks)} forward passes…`,
    )}\n`,
  );
  let result: ForwardOnlyResult;
  try {
    result = await forwardOnlyTrace(bytes, {
      inputs: probe.inputs,
      labels: probe.labels,
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
  const report = assembleReport(
    {
      kind: 'hessian',
      layout,
      probeSize: probe.size,
      seed: o.seed,
      loss: result.loss,
      sections: {
        // No matrix-vector products: the cost is in trace.forwardPasses.
        trace: {
          estimate: trace.estimate,
          stderr: trace.stderr,
          matvecs: 0,
          method: result.method,
          roundingBound: trace.roundingBound,
          forwardPasses: result.forwardPasses,
          blocks: result.blocks.map(({ name: block, estimate, stderr, roundingBound }) => ({
            name: block,
            estimate,
            stderr,
            roundingBound,
          })),
        },
      },
      matvecs: 0,
      seconds,
    },
    { name, timestamp },
  );
  if (o.json !== undefined) {
    await writeFileAtomic(o.json, new TextEncoder().encode(`${jsonText(report)}\n`));
    io.stderr(`  wrote ${terminalSafe(o.json)}\n`);
  }
  if (o.out !== undefined) {
    await writeFileAtomic(o.out, annotateModel(bytes, report));
    io.stderr(`  wrote ${terminalSafe(o.out)}\n`);
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

async function useBackend(
  tf: typeof tfjs,
  name: BackendName | 'auto',
  io: CliIo,
): Promise<BackendName> {
  let choice: BackendChoice;
  try {
    choice = await selectBackend(tf as unknown as Tf, name);
  } catch (error) {
    if (error instanceof BackendUnavailableError) {
      throw new CliUsageError(`--backend: ${error.message}`);
    }
    throw error;
  }
  io.stderr(`hessian-probe: ${describeBackendChoice(choice)}\n`);
  // The cpu backend greets Node.js users on first use, recommending tfjs-node; the choice line
  // above already says why it was not used, so the greeting is noise in a command's output.
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if (choice.name === 'cpu' && backend.firstUse === true) backend.firstUse = false;
  return choice.name;
}

/**
 * The {@link CliUsageError} in `error`'s chain of causes, if any: a product refused by
 * {@link progressOperator} reaches the analysis as the cause of a `MatvecError`.
 */
function inputCause(error: unknown): CliUsageError | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof CliUsageError) return e;
  }
  return undefined;
}

/**
 * Counts products, refuses non-finite ones with the error `nonFinite` makes from the first bad
 * entry, and, on a terminal, redraws a progress bar after every product (one product of a
 * large model takes seconds).
 */
function progressOperator(
  op: LinearOperator,
  io: CliIo,
  nonFinite: (index: number, value: number) => CliUsageError,
): { operator: LinearOperator; start(label: string, budget: number): void } {
  let count = 0;
  let label = '';
  let budget = 0;
  return {
    start(next, most) {
      count = 0;
      label = next;
      budget = most;
    },
    operator: {
      dim: op.dim,
      ...(op.precision === undefined ? {} : { precision: op.precision }),
      async matvec(v) {
        count++;
        if (io.isTTY === true) {
          const width = 24;
          const filled = budget > 0 ? Math.min(width, Math.round((width * count) / budget)) : 0;
          io.stderr(
            `\r  ${label.padEnd(8)} [${'#'.repeat(filled).padEnd(width, '.')}] ${count} matvecs`,
          );
        }
        const out = await op.matvec(v);
        const bad = out.findIndex((x) => !Number.isFinite(x));
        if (bad >= 0) throw nonFinite(bad, out[bad]);
        return out;
      },
    },
  };
}

function fmt(x: number): string {
  return Number.isFinite(x) && x !== 0 ? x.toExponential(2) : String(x);
}

/**
 * The label rows the loss reads: the first axis of the analysed output (the first of
 * {@link analysedOutputs}) when onnxruntime computed it, else the probe size (a scikit-learn
 * ZipMap's probabilities are no graph output; they have one row per sample).
 */
function labelRows(
  model: ModelProto,
  outputShapes: ReadonlyMap<string, readonly number[]>,
  size: number,
): LabelRows {
  const [name] = analysedOutputs(model);
  const shape = outputShapes.get(name);
  if (shape === undefined || shape.length === 0 || shape[0] === size) return { count: size };
  return { count: shape[0], source: `the model output '${name}' [${shape}]` };
}
