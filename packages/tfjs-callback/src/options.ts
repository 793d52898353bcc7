/**
 * The options of {@link hessianCallback}, checked at construction: bad options fail there,
 * never during training (STYLE, habit 6).
 */
import {
  type AnalysisRequest,
  type CurvatureKind,
  type CurvatureReport,
  OptionError,
} from '@hessian-probe/core';
import { type AnalysisPlan, checkNeeds, parseAnalysisRequest } from '@hessian-probe/core/internal';
import {
  type AnalyzableModel,
  KERAS_LOSSES,
  type KerasLossName,
  LOSS_NAMES,
  type LossName,
  type Tf,
} from '@hessian-probe/core/tfjs';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { CurvatureMetrics } from './metrics.js';
import { createSchedule, type Schedule, type ScheduleOptions } from './schedule.js';
import { jsonlSink, type ReportSink } from './sinks/jsonl.js';
import { type SummaryWriterLike, tensorBoardSink } from './sinks/tensorboard.js';

/** Nested arrays of numbers, as `tf.tensor()` accepts them (the shape is inferred). */
export type NumberArrays = number | readonly NumberArrays[];

/** The fixed probe set the curvature is taken on. */
export interface ProbeData {
  /** Inputs [N, …]: a tensor (stays the caller's) or nested arrays (made into a tensor once). */
  readonly x: Tensor | NumberArrays;
  /** Targets [N, …]: one-hot or class ids for cross-entropy, values for MSE. */
  readonly y: Tensor | NumberArrays;
  /**
   * Examples per chunk of each Hessian-vector product (default N, all at once): products are
   * summed over chunks, so memory is bounded by one chunk's activations.
   */
  readonly batchSize?: number;
}

/** The part of a tfjs-layers `LayersModel` the callback uses. */
export type FitModel = AnalyzableModel;

/** Where and when an error or skip happened. */
export interface AnalysisTime {
  /**
   * Epochs completed (the `epoch` of a
   * {@link @hessian-probe/core!index.CurvatureReport | CurvatureReport}).
   */
  readonly epoch: number;
  /**
   * Optimizer steps completed in this fit() (the `step` of a
   * {@link @hessian-probe/core!index.CurvatureReport | CurvatureReport}).
   */
  readonly step: number;
}

/** Options of {@link hessianCallback}; only `tf` and `probe` are required. */
export interface HessianCallbackOptions {
  /**
   * The TensorFlow.js namespace in use, e.g. `import * as tf from '@tensorflow/tfjs'`. When it
   * has tfjs-layers' `Callback` class (as `@tensorflow/tfjs` does) the callback is a real
   * `tf.Callback`, usable anywhere in a `callbacks` list, and is told the model by fit(). With
   * `@tensorflow/tfjs-core` alone, pass `model` too.
   */
  tf: Tf;
  /** The probe set (required). */
  probe: ProbeData;
  /** The model to analyse. Default: the one `fit()` / `fitDataset()` runs on. */
  model?: FitModel;
  /**
   * The model name written into reports. Default: the analysed model's `name`. (`fit()` of a
   * `tf.Sequential` runs on its inner model, named `<name>_model`, unless `model` is given.)
   */
  name?: string;
  /**
   * When to analyse (see `createSchedule`). Default: at train begin and at train end. Triggers
   * that fall on the same weights (the same optimizer step) run one analysis.
   */
  schedule?: ScheduleOptions;
  /**
   * What to compute, as for `analyzeModel` (`AnalysisRequest` of `@hessian-probe/core`): each
   * analysis `true` (its defaults), `false` or its options. Default: `eigen` and `trace` with
   * their defaults; the defaults of every analysis are declared once, in its module.
   */
  analyses?: AnalysisRequest;
  /** `'hessian'` (default) or `'ggn'` (generalized Gauss–Newton). */
  kind?: CurvatureKind;
  /**
   * The loss to differentiate. Default: the model's compiled loss (see `modelCurvature`). The
   * report's `loss` is always the loss whose curvature it reports, on the probe set.
   */
  loss?: LossName | KerasLossName;
  /** Seed of every random probe vector, a safe integer (default 0): the same at every analysis. */
  seed?: number;
  /**
   * Largest fraction of each fit()'s wall time that analyses may take, in (0, 1] (default 0.1).
   * A scheduled analysis that would push the share above it (judged from its predicted
   * duration, see `budgetAllows`) is skipped and counted, the one of the initial weights
   * included: it is decided after the second step, on the forecast length of the fit. `1`
   * never skips and analyses at train begin at once. See "Budget" in `hessianCallback`.
   */
  budget?: number;
  /**
   * Called with each report; may be async (awaited, at most `sinkTimeoutSeconds`). A sink like
   * `metrics` and `reportsTo`: its errors and timeouts are counted (`stats.sinkErrors`) and
   * logged, and never keep the report from the other sinks.
   */
  onReport?: (report: CurvatureReport) => void | Promise<void>;
  /**
   * Called with each error of an analysis (and where it happened). Default: none; errors are
   * counted and logged with `console.warn` either way. Errors it throws are logged and dropped.
   */
  onError?: (error: unknown, time: AnalysisTime) => void;
  /**
   * Let analysis and sink errors propagate out of fit() (default false: training never sees
   * them). A sink's error is thrown after every sink has had the report.
   */
  strict?: boolean;
  /** Record every report, failure and skip into these Prometheus metrics (default none). */
  metrics?: CurvatureMetrics;
  /** Append every report to this JSON Lines file (default none); read it with `readReports`. */
  reportsTo?: string;
  /**
   * Write every report to TensorBoard: a log folder (needs `tf` from `@tensorflow/tfjs-node`,
   * whose `tf.node.summaryFileWriter` is created at the first report) or a writer made with it.
   * See `tensorBoardSink` for the series. Default none.
   */
  tensorBoard?: string | SummaryWriterLike;
  /**
   * Seconds each sink (`metrics`, `reportsTo`, `tensorBoard`, `onReport`) may take to take one report, > 0
   * (default 10). All sinks get the report at once; one that has not finished by then counts
   * as failed (`stats.sinkErrors`, `hessian_sink_errors_total{sink}`) and training goes on.
   */
  sinkTimeoutSeconds?: number;
  /**
   * When the budget skipped every scheduled analysis of a fit(), run one at train end anyway,
   * over the budget (default true), so that every fit() leaves at least one report. It is
   * counted in `stats.overBudget` and said in the log.
   */
  finalReport?: boolean;
  /**
   * Print one line per report with its headline numbers (λmax, trace, negative fraction,
   * off-diagonal block ratio, duration) to `console.info` (default false).
   */
  verbose?: boolean;
  /**
   * Add the headline numbers of a report made at an epoch's end to that epoch's logs (keys
   * `hessian_lambda_max`, `hessian_trace`, …), so that later callbacks (tfjs's `tensorBoard`,
   * `History`) see them (default false: the logs, and `fit()`'s history, stay as tfjs made them).
   */
  epochLogs?: boolean;
  /**
   * Reports kept in `callback.history`: `true` (default) keeps all, `false` none, a number n
   * the last n.
   */
  history?: boolean | number;
  /**
   * Check the exact Hessian against finite differences once per model, before its first
   * product (default true; the variables are perturbed and restored bit for bit).
   */
  selfCheck?: boolean;
  /** Clock in seconds for durations and the budget (default `performance.now() / 1000`). */
  now?: () => number;
}

/** Options after validation, with defaults filled in. */
export interface CheckedOptions {
  readonly tf: Tf;
  readonly probe: ProbeData;
  readonly probeSize: number;
  readonly model: FitModel | undefined;
  readonly name: string | undefined;
  readonly schedule: Schedule;
  /** The analyses' request as given (for analyzeModel) and as parsed (checked, defaults in). */
  readonly analyses: AnalysisRequest;
  readonly plan: AnalysisPlan;
  readonly kind: CurvatureKind;
  readonly loss: LossName | KerasLossName | undefined;
  readonly seed: number;
  readonly budget: number;
  readonly onReport: HessianCallbackOptions['onReport'];
  readonly onError: HessianCallbackOptions['onError'];
  readonly strict: boolean;
  readonly metrics: CurvatureMetrics | undefined;
  readonly sink: ReportSink | undefined;
  /** Makes the TensorBoard sink's writer (at the first report), when asked for. */
  readonly tensorBoard: (() => SummaryWriterLike) | undefined;
  readonly sinkTimeoutSeconds: number;
  readonly finalReport: boolean;
  readonly verbose: boolean;
  readonly epochLogs: boolean;
  readonly historyLimit: number;
  readonly selfCheck: boolean;
  readonly now: () => number;
}

export const WHERE = 'hessianCallback';

const KNOWN_OPTIONS: readonly (keyof HessianCallbackOptions)[] = [
  'tf',
  'probe',
  'model',
  'name',
  'schedule',
  'analyses',
  'kind',
  'loss',
  'seed',
  'budget',
  'onReport',
  'onError',
  'strict',
  'metrics',
  'reportsTo',
  'tensorBoard',
  'sinkTimeoutSeconds',
  'finalReport',
  'verbose',
  'epochLogs',
  'history',
  'selfCheck',
  'now',
];

/** Validates the options (the analyses against the kind and loss) and fills in the defaults. */
export function checkOptions(options: HessianCallbackOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError(`${WHERE}: expected an options object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!(KNOWN_OPTIONS as readonly string[]).includes(key)) {
      const known = KNOWN_OPTIONS.map((k) => `'${k}'`).join(', ');
      throw new OptionError(`${WHERE}: expected options among ${known}, got '${key}'`);
    }
  }
  const { tf } = options;
  if (
    typeof tf !== 'object' ||
    tf === null ||
    typeof tf.tensor !== 'function' ||
    typeof tf.engine !== 'function'
  ) {
    throw new OptionError(
      `${WHERE}: expected tf to be the TensorFlow.js namespace (import * as tf from '@tensorflow/tfjs'), got ${String(tf)}`,
    );
  }
  const probeSize = checkProbe(options.probe);
  const { model } = options;
  if (
    model !== undefined &&
    (typeof model !== 'object' || model === null || typeof model.apply !== 'function')
  ) {
    throw new OptionError(
      `${WHERE}: expected model to be a tfjs LayersModel, got ${String(model)}`,
    );
  }
  const { name } = options;
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new OptionError(`${WHERE}: expected name to be a non-empty string, got ${String(name)}`);
  }
  const kind = options.kind ?? 'hessian';
  if (kind !== 'hessian' && kind !== 'ggn') {
    throw new OptionError(
      `${WHERE}: expected kind to be 'hessian' | 'ggn', got ${JSON.stringify(kind)}`,
    );
  }
  const { loss } = options;
  const losses: readonly string[] = [...LOSS_NAMES, ...Object.keys(KERAS_LOSSES)];
  if (loss !== undefined && !losses.includes(loss)) {
    throw new OptionError(
      `${WHERE}: expected loss among ${losses.join(', ')}, got ${JSON.stringify(loss)}`,
    );
  }
  const seed = options.seed ?? 0;
  const analyses = options.analyses ?? {};
  const plan = parseAnalysisRequest(analyses, seed, WHERE);
  const lossName =
    loss !== undefined && loss in KERAS_LOSSES ? KERAS_LOSSES[loss as KerasLossName] : loss;
  checkNeeds(plan, { where: WHERE, kind, ...(lossName === undefined ? {} : { lossName }) });
  const budget = options.budget ?? 0.1;
  if (typeof budget !== 'number' || !(budget > 0 && budget <= 1)) {
    throw new OptionError(`${WHERE}: expected budget in (0, 1], got ${String(budget)}`);
  }
  for (const key of ['onReport', 'onError', 'now'] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== 'function') {
      throw new OptionError(`${WHERE}: expected ${key} to be a function, got ${typeof value}`);
    }
  }
  const sinkTimeoutSeconds = options.sinkTimeoutSeconds ?? 10;
  if (
    typeof sinkTimeoutSeconds !== 'number' ||
    !(sinkTimeoutSeconds > 0 && sinkTimeoutSeconds < 2 ** 31 / 1000)
  ) {
    throw new OptionError(
      `${WHERE}: expected sinkTimeoutSeconds to be a number of seconds > 0 (below 2147483), got ${String(sinkTimeoutSeconds)}`,
    );
  }
  for (const key of ['strict', 'selfCheck', 'finalReport', 'verbose', 'epochLogs'] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== 'boolean') {
      throw new OptionError(`${WHERE}: expected ${key} to be a boolean, got ${String(value)}`);
    }
  }
  const { metrics } = options;
  if (
    metrics !== undefined &&
    (typeof metrics !== 'object' ||
      metrics === null ||
      typeof metrics.record !== 'function' ||
      typeof metrics.recordFailure !== 'function' ||
      typeof metrics.recordSkipped !== 'function' ||
      typeof metrics.recordSinkError !== 'function')
  ) {
    throw new OptionError(
      `${WHERE}: expected metrics to be the result of curvatureMetrics(), got ${String(metrics)}`,
    );
  }
  const history = options.history ?? true;
  const historyLimit =
    history === true ? Number.POSITIVE_INFINITY : history === false ? 0 : history;
  if (
    !(historyLimit === Number.POSITIVE_INFINITY || Number.isSafeInteger(historyLimit)) ||
    historyLimit < 0
  ) {
    throw new OptionError(
      `${WHERE}: expected history to be a boolean or an integer >= 0, got ${String(history)}`,
    );
  }
  return {
    tf,
    probe: options.probe,
    probeSize,
    model,
    name,
    schedule: createSchedule(options.schedule ?? {}),
    analyses,
    plan,
    kind,
    loss,
    seed,
    budget,
    onReport: options.onReport,
    onError: options.onError,
    strict: options.strict ?? false,
    metrics,
    sink: options.reportsTo === undefined ? undefined : jsonlSink(options.reportsTo),
    tensorBoard: checkTensorBoard(tf, options.tensorBoard),
    sinkTimeoutSeconds,
    finalReport: options.finalReport ?? true,
    verbose: options.verbose ?? false,
    epochLogs: options.epochLogs ?? false,
    historyLimit,
    selfCheck: options.selfCheck ?? true,
    now: options.now ?? (() => performance.now() / 1000),
  };
}

/** The TensorBoard writer's maker: the given writer, or tfjs-node's for a log folder. */
function checkTensorBoard(
  tf: Tf,
  given: HessianCallbackOptions['tensorBoard'],
): (() => SummaryWriterLike) | undefined {
  if (given === undefined) return undefined;
  if (typeof given === 'string') {
    const make = (tf as { node?: { summaryFileWriter?: unknown } }).node?.summaryFileWriter;
    if (given === '' || typeof make !== 'function') {
      throw new OptionError(
        given === ''
          ? `${WHERE}: expected tensorBoard to be a non-empty log folder, got ''`
          : `${WHERE}: expected tf from '@tensorflow/tfjs-node' for tensorBoard (it needs tf.node.summaryFileWriter), or a writer as tensorBoard`,
      );
    }
    return () => (make as (logdir: string) => SummaryWriterLike)(given);
  }
  // Checked now: the sink refuses anything without scalar, histogram and flush.
  tensorBoardSink(tf, given);
  return () => given;
}

/** Checks the probe set and returns its number of examples N. */
function checkProbe(probe: ProbeData): number {
  if (typeof probe !== 'object' || probe === null) {
    throw new OptionError(`${WHERE}: expected probe to be { x, y }, got ${String(probe)}`);
  }
  const size = (value: unknown, name: string): number => {
    const n = isTensor(value)
      ? value.rank >= 1
        ? value.shape[0]
        : undefined
      : Array.isArray(value)
        ? value.length
        : undefined;
    if (n === undefined || n < 1) {
      throw new OptionError(
        `${WHERE}: expected probe.${name} to be a tensor or nested arrays with N >= 1 examples, got ${describeValue(value)}`,
      );
    }
    if (isTensor(value) && value.isDisposed) {
      throw new OptionError(
        `${WHERE}: expected probe.${name} to be a live tensor, got a disposed one`,
      );
    }
    return n;
  };
  const n = size(probe.x, 'x');
  const m = size(probe.y, 'y');
  if (n !== m) {
    throw new OptionError(
      `${WHERE}: expected probe.x and probe.y to have the same number of examples, got ${n} and ${m}`,
    );
  }
  if (
    probe.batchSize !== undefined &&
    !(Number.isSafeInteger(probe.batchSize) && probe.batchSize >= 1)
  ) {
    throw new OptionError(
      `${WHERE}: expected probe.batchSize to be an integer >= 1, got ${String(probe.batchSize)}`,
    );
  }
  return n;
}

/** Whether `value` is a tfjs tensor (duck-typed: the user's tfjs copy may differ from ours). */
export function isTensor(value: unknown): value is Tensor {
  return (
    typeof value === 'object' &&
    value !== null &&
    'dataId' in value &&
    'shape' in value &&
    typeof (value as { dataSync?: unknown }).dataSync === 'function'
  );
}

function describeValue(value: unknown): string {
  if (isTensor(value)) return `a tensor of shape [${value.shape}]`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return String(value);
}
