/**
 * The `model.fit()` / `model.fitDataset()` callback: curvature analyses of the model being
 * trained, on a fixed probe set, at scheduled moments, within a share of the training time,
 * without changing what training computes.
 */
import {
  type AnalysesResult,
  type CurvatureKind,
  type CurvatureReport,
  layerOfBlock,
  normalizeReport,
  OptionError,
  type ParameterLayout,
  REPORT_SCHEMA_VERSION,
  type ReportClasses,
  type ReportKroneckerLayer,
  type RunAnalysesOptions,
  runAnalyses,
  type TraceMethod,
} from '@hessian-probe/core';
import {
  type ClassHierarchyModel,
  type CurvatureModel,
  classesSection,
  classHierarchy,
  KERAS_LOSSES,
  type KerasLossName,
  kroneckerDecoupling,
  kroneckerSection,
  LOSS_NAMES,
  type LossName,
  modelCurvature,
  modelLayout,
  selfCheckResult,
  type Tf,
} from '@hessian-probe/core/tfjs';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import type { CurvatureMetrics } from './metrics.js';
import {
  budgetAllows,
  createSchedule,
  expectedTrainingSeconds,
  type Schedule,
  type ScheduleOptions,
} from './schedule.js';
import { jsonlSink, type ReportSink } from './sinks/jsonl.js';

/** Nested arrays of numbers, as `tf.tensor()` accepts them (the shape is inferred). */
export type NumberArrays = number | readonly NumberArrays[];

/** The fixed data the curvature is taken on: the same examples at every analysis. */
export interface ProbeData {
  /** Inputs [N, …]: a tensor, or nested arrays turned into one tensor at the first analysis. */
  x: Tensor | NumberArrays;
  /**
   * Targets [N, …] in the format the model was compiled for (one-hot for
   * `categoricalCrossentropy`, class ids for the sparse loss, values for MSE).
   */
  y: Tensor | NumberArrays;
  /**
   * Examples per chunk of each Hessian-vector product (default N, all at once): products are
   * summed over chunks, so memory is bounded by one chunk's activations.
   */
  batchSize?: number;
}

/** Top-eigenvalue analysis of the callback; see {@link CallbackAnalyses}. */
export interface CallbackEigenOptions {
  /** Number of largest eigenvalues (default 3). */
  k?: number;
  /** Relative residual tolerance (default 1e-3: eigenvalue errors of ~1e-6·‖H‖ for separated ones). */
  tol?: number;
  /** Most Hessian-vector products the eigensolver may spend (default 100). */
  maxMatvecs?: number;
}

/** Trace analysis of the callback; see {@link CallbackAnalyses}. */
export interface CallbackTraceOptions {
  /** Hessian-vector products to spend (default 30). */
  matvecs?: number;
  /** `'hutch++'` (default) or `'hutchinson'`. */
  method?: TraceMethod;
}

/** Spectral-density analysis of the callback; see {@link CallbackAnalyses}. */
export interface CallbackDensityOptions {
  /** Lanczos probes (default 2). */
  probes?: number;
  /** Lanczos steps per probe, one product each (default 30). */
  steps?: number;
  /** Points of the density grid written into each report (default 128). */
  gridSize?: number;
}

/** The layouts the callback's block analysis can cut the parameters into. */
export type BlockLayoutKind = 'layer' | 'tensor' | 'unit' | 'class';

const BLOCK_LAYOUTS: readonly BlockLayoutKind[] = ['layer', 'tensor', 'unit', 'class'];

/** Block-norm analysis of the callback; see {@link CallbackAnalyses}. */
export interface CallbackBlocksOptions {
  /**
   * How the parameters are cut into blocks (default `'layer'`): one block per layer, per weight
   * tensor, per output unit of every Dense/Conv2D layer (`'unit'`: the class blocks of the last
   * layer and the neuron blocks of the others; costs `probes` products per unit), or per output
   * class with earlier layers whole (`'class'`; see `modelLayout`).
   */
  layout?: BlockLayoutKind;
  /** Gaussian probes per block (default 4). */
  probes?: number;
}

/** Per-layer local spectra of the callback; see {@link CallbackAnalyses}. */
export interface CallbackLayersOptions {
  /** Lanczos probes per layer for λmax and the negative mass (default 1). */
  probes?: number;
  /** Lanczos steps per probe, >= 2 (default 16). */
  steps?: number;
  /**
   * Hutch++ products per layer for the trace (default 12). Layers of at most
   * probes·steps + traceMatvecs weights are assembled and analysed exactly instead.
   */
  traceMatvecs?: number;
  /**
   * Gaussian probes per layer for the report's `layerCoupling`, F_vw/√(F_vv F_ww) between
   * layers (default off): `couplingProbes` × layers products, or P when the model has at most
   * probes·steps + traceMatvecs parameters (then exact).
   */
  couplingProbes?: number;
  /**
   * Also each layer's Gauss–Newton gap ‖H_ll − G_ll‖_F/‖G_ll‖_F and the whole matrix's, from a
   * second operator, the GGN on the same probe (default false; Hessian analyses only): the
   * layer's own size in products when assembled, else 16 per layer and 16 overall.
   */
  gaussNewtonGap?: boolean;
}

/** Kronecker decoupling of the callback (Wu et al. 2020–22); see {@link CallbackAnalyses}. */
export interface CallbackKroneckerOptions {
  /** Top eigenpairs of each layer block compared with the Kronecker factors' (default 4). */
  topK?: number;
  /**
   * Largest layer block (units × inputs) assembled densely, one product per entry (default
   * 256); larger blocks get randomized estimates (`probes` products plus an eigensolve).
   */
  maxExactDim?: number;
  /** Rademacher probes of the randomized error estimates, an integer >= 2 (default 8). */
  probes?: number;
}

/** Papyan's class hierarchy of the callback; see {@link CallbackAnalyses}. */
export interface CallbackClassesOptions {
  /**
   * Rademacher probes of the tr G estimate, an integer >= 2 (default 4); 0 for the exact trace
   * (N·C single-sample products).
   */
  traceProbes?: number;
  /** Also the Hessian's top eigenspace and its overlap with the class means (default true). */
  hessian?: boolean;
  /**
   * Products each eigensolve (G's top C + 1, H's top C) may spend, an integer >= C + 1
   * (default max(100, 2·(C + 1)), C the model's output classes).
   */
  maxMatvecs?: number;
}

/**
 * What each analysis computes. The defaults are cheap: the top 3 eigenvalues (tol 1e-3, at most
 * 100 products) and a Hutch++ trace (30 products); the spectral density, block norms and
 * per-layer spectra are off until asked for (`true` for their defaults, or an options object).
 * `false` turns an analysis off. See `runAnalyses` in `@hessian-probe/core` for the methods.
 */
export interface CallbackAnalyses {
  /** Default `{ k: 3, tol: 1e-3, maxMatvecs: 100 }`. */
  eigen?: CallbackEigenOptions | boolean;
  /** Default `{ matvecs: 30, method: 'hutch++' }`. */
  trace?: CallbackTraceOptions | boolean;
  /** Default off; `true` means `{ probes: 2, steps: 30, gridSize: 128 }`. */
  density?: CallbackDensityOptions | boolean;
  /** Default off; `true` means `{ layout: 'layer', probes: 4 }`. */
  blocks?: CallbackBlocksOptions | boolean;
  /**
   * Default off; `true` means `{ probes: 1, steps: 16, traceMatvecs: 12 }` (no coupling, no
   * Gauss–Newton gap): the report's `layers` (and `layerCoupling`, `gaussNewtonGap`).
   */
  layers?: CallbackLayersOptions | boolean;
  /**
   * Default off; `true` means `{ topK: 4, maxExactDim: 256, probes: 8 }`: the report's
   * `kronecker` section for every Dense/Conv2D layer (`kroneckerDecoupling`).
   */
  kronecker?: CallbackKroneckerOptions | boolean;
  /**
   * Default off; `true` means `{ traceProbes: 4, hessian: true }` and an eigensolver budget of
   * max(100, 2·(C + 1)) products: the report's
   * `classes` section (`classHierarchy`; softmax cross-entropy models, one-hot or class-id
   * probe labels with every class present).
   */
  classes?: CallbackClassesOptions | boolean;
}

/** The part of a tfjs-layers `LayersModel` the callback uses. */
export interface FitModel extends CurvatureModel {
  /** The model's name, written into reports. */
  readonly name?: string;
  /** Output shape(s), as tfjs-layers' `LayersModel.outputShape` (the class analysis reads C). */
  readonly outputShape: ClassHierarchyModel['outputShape'];
  /** Loss (and metrics) on data; the callback reads the loss on the probe set from it. */
  evaluate(x: Tensor, y: Tensor, args?: { batchSize?: number; verbose?: number }): unknown;
}

/** Where and when an error or skip happened. */
export interface AnalysisContext {
  /** Epochs completed (see {@link CurvatureReport.epoch}). */
  readonly epoch: number;
  /** Optimizer steps completed in this fit() (see {@link CurvatureReport.step}). */
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
  /** What to compute; see {@link CallbackAnalyses} for the defaults. */
  analyses?: CallbackAnalyses;
  /** `'hessian'` (default) or `'ggn'` (generalized Gauss–Newton). */
  kind?: CurvatureKind;
  /**
   * The loss to differentiate. Default: the model's compiled loss (see `modelCurvature`), and
   * the report's `loss` is then `model.evaluate`'s; when given, the report's `loss` is this
   * loss on the probe (`modelCurvature`'s `lossValue`), the one whose curvature it reports.
   */
  loss?: LossName | KerasLossName;
  /** Seed of every random probe vector, a safe integer (default 0): the same at every analysis. */
  seed?: number;
  /**
   * Largest fraction of each fit()'s wall time that analyses may take, in (0, 1] (default 0.1).
   * A scheduled analysis that would push the share above it (judged from its predicted
   * duration, see `budgetAllows`) is skipped and counted, the one of the initial weights
   * included: it is decided after the second step, on the forecast length of the fit. `1`
   * never skips and analyses at train begin at once. See "Budget" in {@link hessianCallback}
   * for the rule and its tolerance.
   */
  budget?: number;
  /** Called with each report; may be async (awaited). Its errors count as analysis errors. */
  onReport?: (report: CurvatureReport) => void | Promise<void>;
  /**
   * Called with each error of an analysis (and where it happened). Default: none; errors are
   * counted and logged with `console.warn` either way. Errors it throws are logged and dropped.
   */
  onError?: (error: unknown, context: AnalysisContext) => void;
  /** Let analysis errors propagate out of fit() (default false: training never sees them). */
  strict?: boolean;
  /** Record every report, failure and skip into these Prometheus metrics (default none). */
  metrics?: CurvatureMetrics;
  /** Append every report to this JSON Lines file (default none); read it with `readReports`. */
  reportsTo?: string;
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

/** Counters of a callback, over its lifetime (all fit() calls). */
export interface CallbackStats {
  /** Analyses that produced a report. */
  readonly analyses: number;
  /** Analyses that failed with an error. */
  readonly failed: number;
  /** Scheduled analyses not run, by reason: `'budget'`, `'non_finite_loss'`. */
  readonly skipped: Readonly<Record<string, number>>;
  /**
   * Wall-clock seconds spent in analyses (run, failed or cut short by a non-finite loss) and in
   * the one product per fit() timed to predict their duration.
   */
  readonly seconds: number;
}

/** Training logs as tfjs passes them to callbacks (values may be scalar tensors). */
export type CallbackLogs = Record<string, unknown>;

/**
 * The callback returned by {@link hessianCallback}: the lifecycle methods `fit()` calls, plus
 * what it found.
 */
export interface HessianCallback {
  /** Reports in the order made, over all fit() calls (see the `history` option). */
  readonly history: readonly CurvatureReport[];
  /** Counters over all fit() calls. */
  readonly stats: CallbackStats;
  /** Frees the probe tensors the callback made from arrays (given tensors stay the caller's). */
  dispose(): void;
  setParams(params: Record<string, unknown>): void;
  setModel(model: unknown): void;
  onTrainBegin(logs?: CallbackLogs): Promise<void>;
  onTrainEnd(logs?: CallbackLogs): Promise<void>;
  onEpochBegin(epoch: number, logs?: CallbackLogs): Promise<void>;
  onEpochEnd(epoch: number, logs?: CallbackLogs): Promise<void>;
  onBatchBegin(batch: number, logs?: CallbackLogs): Promise<void>;
  onBatchEnd(batch: number, logs?: CallbackLogs): Promise<void>;
}

const WHERE = 'hessianCallback';
const KNOWN_OPTIONS = [
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
  'history',
  'selfCheck',
  'now',
];

/** The defaults of {@link CallbackAnalyses}, each used when its analysis is on. */
export const DEFAULT_ANALYSES = {
  eigen: { k: 3, tol: 1e-3, maxMatvecs: 100 },
  trace: { matvecs: 30, method: 'hutch++' },
  density: { probes: 2, steps: 30, gridSize: 128 },
  blocks: { layout: 'layer', probes: 4 },
  // couplingProbes is off by default; listing it lets the options object name it.
  layers: {
    probes: 1,
    steps: 16,
    traceMatvecs: 12,
    couplingProbes: undefined as number | undefined,
    gaussNewtonGap: false,
  },
  kronecker: { topK: 4, maxExactDim: 256, probes: 8 },
  // maxMatvecs depends on the model's number of classes: resolved at each analysis.
  classes: { traceProbes: 4, hessian: true, maxMatvecs: undefined as number | undefined },
} as const;

/**
 * A tfjs callback that analyses the curvature (Hessian or generalized Gauss–Newton) of the
 * model being trained on a fixed probe set, at the moments of `schedule`, and turns each
 * analysis into one {@link CurvatureReport}: kept in `history`, passed to `onReport`, recorded
 * into Prometheus `metrics` and appended to the `reportsTo` JSONL file.
 *
 * Invisible to training (DESIGN.md decision 2): analyses only read the weights (the one-off
 * self-check perturbs them and restores the original buffers), never touch the optimizer, and
 * use the project's own seeded generator, not `Math.random` or tfjs's random state; the
 * second-order gradients they need are registered only while they run. With the same seed,
 * `fit()` ends with bit-identical weights with and without the callback. No tensor outlives an
 * analysis except the probe tensors it made from arrays (freed by `dispose()`).
 *
 * Timing: each analysis runs at its lifecycle event (train begin, epoch end, train end); one
 * triggered by a batch end runs at the next event (the next batch's begin, or the epoch end),
 * before any further optimizer step, so that triggers falling on the same weights run one
 * analysis. Reports say `epoch` (epochs completed), `step` (optimizer steps completed in this
 * fit()) and, for batch-triggered ones, `batch`.
 *
 * Budget (when `budget` < 1). Every scheduled analysis runs only if
 * `budgetAllows({ spentSeconds, trainingSeconds, budget, nextSeconds })` says so, where
 * `nextSeconds` is its predicted duration: the last analysis's duration in this fit(), or
 * before the first, the seconds of one Hessian-vector product (timed once per fit() on the
 * current weights, which it only reads; counted as spent) times the most products the
 * analyses may take (eigen `maxMatvecs` + trace `matvecs` + density probes·steps + blocks
 * probes·blocks + layers layers·(probes·steps + traceMatvecs)), plus 20 while the model's
 * self-check has not run. The analysis at train begin cannot know the fit's length, so the
 * initial weights are kept (clones sharing the variables' buffers: one copy of the parameters
 * once the optimizer replaces them) and it is decided after the second step (or at the first
 * epoch end, batch trigger or train end, if sooner) with `trainingSeconds` = the forecast
 * training time of the whole fit, `expectedTrainingSeconds`: the time so far plus the
 * remaining planned steps (fit()'s `epochs` × `steps`, or × ⌈`samples` / `batchSize`⌉) at the
 * pace of the steps after the first. If allowed, it runs on the initial weights (assigned to
 * the variables, then the current values assigned back, the same buffers: training stays
 * bit-identical), and reports epoch = initial epoch, step 0, `wallSeconds` 0. Without a plan
 * (`fitDataset()` without `batchesPerEpoch`) the forecast is the time so far, so it is
 * nearly always skipped. Tolerance: the share of fit()'s wall time spent in analyses ends at
 * most `budget` + ε, ε = (d − p)⁺ / wall for the last analysis that ran (duration d,
 * prediction p) plus, if that was the one of the initial weights, `budget` × the relative
 * excess of the forecast over the training that happened (a fit stopped early, steps that
 * got faster); the bound-based prediction errs high, so in practice ε ≤ (longest − shortest
 * analysis) / wall, the check `pnpm bench:callback` makes. When nothing ran, the share is
 * that of the one timed product.
 *
 * Failures never reach `fit()` unless `strict`: an error inside an analysis is counted
 * (`stats.failed`, `metrics`' failure counter), logged with `console.warn` and passed to
 * `onError`. A non-finite loss (the training loss in the logs, or the loss on the probe set)
 * skips the analysis, as does the budget; both are counted by reason (`stats.skipped`,
 * `metrics`' skip counter), and each fit() with skips ends with one `console.warn` line.
 *
 * @throws {@link OptionError} from `@hessian-probe/core`, at construction, for an unknown or
 *   out-of-range option (the message names it).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { curvatureMetrics, hessianCallback, serveMetrics } from '@hessian-probe/tfjs-callback';
 * const metrics = curvatureMetrics({ defaultLabels: { model: 'mlp' } });
 * await serveMetrics({ registry: metrics.registry, port: 9464 });
 * const callback = hessianCallback({
 *   tf,
 *   probe: { x: xProbe, y: yProbe },
 *   schedule: { everyEpochs: 1 },
 *   analyses: { density: true, layers: true },
 *   metrics,
 *   reportsTo: 'runs/r1/reports.jsonl',
 * });
 * await model.fit(x, y, { epochs: 5, callbacks: [callback] });
 * console.log(callback.history.map((r) => r.eigen?.values[0]));
 * ```
 */
export function hessianCallback(options: HessianCallbackOptions): HessianCallback {
  const checked = checkOptions(options);
  const Base = callbackBase(checked.tf, checked.model);
  const controller = new Controller(checked);

  class HessianProbeCallback extends Base implements HessianCallback {
    constructor() {
      super();
      // Bound, so that the methods also work when tfjs wraps a plain object in a CustomCallback.
      for (const name of HOOKS) this[name] = this[name].bind(this) as never;
    }
    get history(): readonly CurvatureReport[] {
      return controller.history;
    }
    get stats(): CallbackStats {
      return controller.snapshotStats();
    }
    dispose(): void {
      controller.dispose();
    }
    override setParams(params: Record<string, unknown>): void {
      controller.params = params ?? {};
    }
    override setModel(model: unknown): void {
      controller.fitModel = model as FitModel;
    }
    override onTrainBegin(): Promise<void> {
      return controller.trainBegin();
    }
    override onTrainEnd(): Promise<void> {
      return controller.trainEnd();
    }
    override onEpochBegin(epoch: number): Promise<void> {
      return controller.epochBegin(epoch);
    }
    override onEpochEnd(epoch: number, logs?: CallbackLogs): Promise<void> {
      return controller.epochEnd(epoch, logs);
    }
    override onBatchBegin(): Promise<void> {
      return controller.batchBegin();
    }
    override onBatchEnd(batch: number, logs?: CallbackLogs): Promise<void> {
      return controller.batchEnd(batch, logs);
    }
  }
  return new HessianProbeCallback();
}

const HOOKS = [
  'setParams',
  'setModel',
  'onTrainBegin',
  'onTrainEnd',
  'onEpochBegin',
  'onEpochEnd',
  'onBatchBegin',
  'onBatchEnd',
] as const;

/** The lifecycle methods every base must have (tfjs's `BaseCallback` has them all). */
interface CallbackShape {
  setParams(params: Record<string, unknown>): void;
  setModel(model: unknown): void;
  onTrainBegin(logs?: CallbackLogs): Promise<void>;
  onTrainEnd(logs?: CallbackLogs): Promise<void>;
  onEpochBegin(epoch: number, logs?: CallbackLogs): Promise<void>;
  onEpochEnd(epoch: number, logs?: CallbackLogs): Promise<void>;
  onBatchBegin(batch: number, logs?: CallbackLogs): Promise<void>;
  onBatchEnd(batch: number, logs?: CallbackLogs): Promise<void>;
}

/** A stand-in for tfjs-layers' `BaseCallback` when `tf` does not carry it. */
class PlainCallback implements CallbackShape {
  setParams(): void {}
  setModel(): void {}
  async onTrainBegin(): Promise<void> {}
  async onTrainEnd(): Promise<void> {}
  async onEpochBegin(): Promise<void> {}
  async onEpochEnd(): Promise<void> {}
  async onBatchBegin(): Promise<void> {}
  async onBatchEnd(): Promise<void> {}
}

/**
 * tfjs-layers' `Callback` class from the user's `tf`, so that `fit()` takes the callback as
 * one of its own (`standardizeCallbacks` tests `instanceof BaseCallback`), or a plain base.
 */
function callbackBase(tf: Tf, model: FitModel | undefined): new () => CallbackShape {
  const candidate = (tf as unknown as { Callback?: unknown }).Callback;
  if (typeof candidate === 'function') return candidate as new () => CallbackShape;
  if (model === undefined) {
    throw new OptionError(
      `${WHERE}: expected tf to have tfjs-layers' Callback class (pass the namespace of @tensorflow/tfjs) or options.model, got neither`,
    );
  }
  return PlainCallback;
}

/** Options after validation, with defaults filled in. */
interface CheckedOptions {
  tf: Tf;
  probe: ProbeData;
  probeSize: number;
  model: FitModel | undefined;
  name: string | undefined;
  schedule: Schedule;
  analyses: CheckedAnalyses;
  kind: CurvatureKind;
  loss: LossName | KerasLossName | undefined;
  seed: number;
  budget: number;
  onReport: HessianCallbackOptions['onReport'];
  onError: HessianCallbackOptions['onError'];
  strict: boolean;
  metrics: CurvatureMetrics | undefined;
  sink: ReportSink | undefined;
  historyLimit: number;
  selfCheck: boolean;
  now: () => number;
}

interface CheckedAnalyses {
  eigen?: { k: number; tol: number; maxMatvecs: number };
  trace?: { matvecs: number; method: TraceMethod };
  density?: { probes: number; steps: number; gridSize: number };
  blocks?: { layout: BlockLayoutKind; probes: number };
  layers?: {
    probes: number;
    steps: number;
    traceMatvecs: number;
    couplingProbes?: number;
    gaussNewtonGap: boolean;
  };
  kronecker?: { topK: number; maxExactDim: number; probes: number };
  classes?: { traceProbes: number; hessian: boolean; maxMatvecs?: number };
}

/** An analysis asked for by the schedule, waiting for its turn. */
interface Trigger {
  epoch: number;
  step: number;
  batch?: number;
  /** Training loss from the logs of the event, if there was one. */
  trainingLoss?: number;
}

/** The state and the work of one callback; the tfjs class above only forwards to it. */
class Controller {
  readonly history: CurvatureReport[] = [];
  params: Record<string, unknown> = {};
  fitModel: FitModel | undefined;

  readonly #o: CheckedOptions;
  #analyses = 0;
  #failed = 0;
  #seconds = 0;
  readonly #skipped: Record<string, number> = {};
  #probe: { x: Tensor; y: Tensor } | undefined;
  /** Tensors this callback made (from probe arrays) and must free. */
  #owned: Tensor[] = [];

  // Per fit() call.
  #fitStart = 0;
  #spent = 0;
  /** Duration of the last analysis in this fit(); undefined before the first. */
  #lastDuration: number | undefined;
  /** Seconds of one Hessian-vector product, timed once per fit() when an estimate is needed. */
  #productSeconds: number | undefined;
  /** Training seconds of the first step, for the forecast. */
  #firstStepSeconds: number | undefined;
  /** The weights at train begin, kept until the analysis of them is decided. */
  #initial: { variables: Variable[]; values: Tensor[]; epoch: number } | undefined;
  #step = 0;
  #epochsCompleted = 0;
  #lastStep = -1;
  #pending: Trigger | undefined;
  #skippedThisFit = 0;
  #scheduledThisFit = 0;

  constructor(options: CheckedOptions) {
    this.#o = options;
  }

  snapshotStats(): CallbackStats {
    return {
      analyses: this.#analyses,
      failed: this.#failed,
      skipped: { ...this.#skipped },
      seconds: this.#seconds,
    };
  }

  dispose(): void {
    this.#dropInitial();
    for (const t of this.#owned) t.dispose();
    this.#owned = [];
    this.#probe = undefined;
  }

  async trainBegin(): Promise<void> {
    this.#fitStart = this.#o.now();
    this.#spent = 0;
    this.#lastDuration = undefined;
    this.#productSeconds = undefined;
    this.#firstStepSeconds = undefined;
    this.#dropInitial();
    this.#step = 0;
    const initialEpoch = this.params.initialEpoch;
    this.#epochsCompleted = typeof initialEpoch === 'number' ? initialEpoch : 0;
    this.#lastStep = -1;
    this.#pending = undefined;
    this.#skippedThisFit = 0;
    this.#scheduledThisFit = 0;
    if (!this.#o.schedule.atTrainBegin()) return;
    const model = this.#o.model ?? this.fitModel;
    if (this.#o.budget >= 1 || model === undefined) {
      await this.#consider({ epoch: this.#epochsCompleted, step: 0 });
      return;
    }
    // Decided once the fit's length can be forecast (see hessianCallback's "Budget"). Clones
    // share the variables' buffers until the optimizer replaces them: nothing is copied here.
    const variables = weightVariables(model);
    this.#initial = {
      variables,
      values: variables.map((v) => this.#o.tf.keep(this.#o.tf.clone(v))),
      epoch: this.#epochsCompleted,
    };
  }

  async epochBegin(epoch: number): Promise<void> {
    this.#epochsCompleted = epoch;
  }

  async batchBegin(): Promise<void> {
    // Decided after the second step (the first includes compilation), or before any other.
    if (this.#initial && (this.#step >= 2 || this.#pending)) await this.#decideInitial();
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending) await this.#consider(pending);
  }

  async batchEnd(batch: number, logs: CallbackLogs | undefined): Promise<void> {
    this.#step++;
    if (this.#step === 1) {
      this.#firstStepSeconds = Math.max(0, this.#o.now() - this.#fitStart - this.#spent);
    }
    let scheduled: boolean;
    try {
      scheduled = this.#o.schedule.atBatchEnd(this.#step - 1);
    } catch (error) {
      return this.#fail(error, { epoch: this.#epochsCompleted, step: this.#step });
    }
    if (!scheduled) return;
    const trainingLoss = await readLoss(logs);
    this.#pending = {
      epoch: this.#epochsCompleted,
      step: this.#step,
      batch,
      ...(trainingLoss === undefined ? {} : { trainingLoss }),
    };
  }

  async epochEnd(epoch: number, logs: CallbackLogs | undefined): Promise<void> {
    await this.#decideInitial();
    this.#epochsCompleted = epoch + 1;
    const pending = this.#pending?.step === this.#step ? this.#pending : undefined;
    this.#pending = undefined;
    let scheduled: boolean;
    try {
      scheduled = this.#o.schedule.atEpochEnd(epoch);
    } catch (error) {
      return this.#fail(error, { epoch: this.#epochsCompleted, step: this.#step });
    }
    if (!scheduled && !pending) return;
    const trainingLoss = (await readLoss(logs)) ?? pending?.trainingLoss;
    await this.#consider({
      epoch: this.#epochsCompleted,
      step: this.#step,
      ...(pending?.batch === undefined ? {} : { batch: pending.batch }),
      ...(trainingLoss === undefined ? {} : { trainingLoss }),
    });
  }

  async trainEnd(): Promise<void> {
    await this.#decideInitial();
    const pending = this.#pending;
    this.#pending = undefined;
    if (this.#o.schedule.atTrainEnd() || pending) {
      await this.#consider({
        epoch: this.#epochsCompleted,
        step: this.#step,
        ...(pending?.trainingLoss === undefined ? {} : { trainingLoss: pending.trainingLoss }),
      });
    }
    if (this.#skippedThisFit > 0) {
      console.warn(
        `${WHERE}: skipped ${this.#skippedThisFit} of ${this.#scheduledThisFit} scheduled analyses in this fit() ` +
          `(by reason over all fits: ${JSON.stringify(this.#skipped)}; budget ${this.#o.budget})`,
      );
    }
  }

  /**
   * Decides on the analysis of the weights at train begin, now that the fit's training time
   * can be forecast; runs it on those weights (put back into the model's variables, then the
   * current ones restored, buffer for buffer) or skips it for the budget.
   */
  async #decideInitial(): Promise<void> {
    const initial = this.#initial;
    if (!initial) return;
    this.#initial = undefined;
    try {
      const training = Math.max(0, this.#o.now() - this.#fitStart - this.#spent);
      const forecast = expectedTrainingSeconds({
        trainingSeconds: training,
        steps: this.#step,
        ...plannedSteps(this.params),
        ...(this.#firstStepSeconds === undefined
          ? {}
          : { firstStepSeconds: this.#firstStepSeconds }),
      });
      await this.#consider({ epoch: initial.epoch, step: 0 }, { forecast, initial });
    } finally {
      for (const t of initial.values) t.dispose();
    }
  }

  #dropInitial(): void {
    for (const t of this.#initial?.values ?? []) t.dispose();
    this.#initial = undefined;
  }

  /**
   * The expected duration of the next analysis: the last one's in this fit(), or before the
   * first, one timed Hessian-vector product (on the current weights; reads them only) times
   * the analyses' largest product count, plus {@link SELF_CHECK_PRODUCTS} while the model's
   * self-check has not run. The timed product counts as time spent.
   */
  async #nextSeconds(): Promise<number> {
    if (this.#lastDuration !== undefined) return this.#lastDuration;
    const o = this.#o;
    const model = o.model ?? this.fitModel;
    if (model === undefined) return 0; // the analysis fails and says why
    if (this.#productSeconds === undefined) {
      const { x, y } = this.#probeTensors();
      const { operator } = modelCurvature(model, {
        tf: o.tf,
        x,
        y,
        kind: o.kind,
        selfCheck: false,
        ...(o.loss === undefined ? {} : { loss: o.loss }),
        ...(o.probe.batchSize === undefined ? {} : { batchSize: o.probe.batchSize }),
      });
      const started = o.now();
      try {
        await operator.matvec(new Float64Array(operator.dim));
      } finally {
        const seconds = Math.max(0, o.now() - started);
        this.#productSeconds = seconds;
        this.#spent += seconds;
        this.#seconds += seconds;
      }
    }
    const checkPending = o.selfCheck && selfCheckResult(model) === undefined;
    const products =
      productBound(o.analyses, model, o.probeSize) + (checkPending ? SELF_CHECK_PRODUCTS : 0);
    return this.#productSeconds * products;
  }

  /**
   * Runs, skips or drops (a duplicate of the same step) one scheduled analysis. With
   * `deferred`, the analysis of the initial weights: judged on the forecast training time of
   * the whole fit, and run on those weights.
   */
  async #consider(
    trigger: Trigger,
    deferred?: {
      forecast: number;
      initial: { variables: Variable[]; values: Tensor[] };
    },
  ): Promise<void> {
    if (trigger.step === this.#lastStep) return;
    this.#lastStep = trigger.step;
    this.#scheduledThisFit++;
    const context = { epoch: trigger.epoch, step: trigger.step };
    if (this.#o.budget < 1) {
      let nextSeconds: number;
      try {
        nextSeconds = await this.#nextSeconds();
      } catch (error) {
        return this.#fail(error, context);
      }
      const training = Math.max(0, this.#o.now() - this.#fitStart - this.#spent);
      const allowed = budgetAllows({
        spentSeconds: this.#spent,
        trainingSeconds: deferred ? Math.max(training, deferred.forecast) : training,
        budget: this.#o.budget,
        nextSeconds,
      });
      if (!allowed) return this.#skip('budget');
    }
    if (trigger.trainingLoss !== undefined && !Number.isFinite(trigger.trainingLoss)) {
      return this.#skip('non_finite_loss');
    }
    // Reports of the initial weights say 0 s of training, whenever they were analysed.
    const elapsed = deferred ? 0 : Math.max(0, this.#o.now() - this.#fitStart);
    const started = this.#o.now();
    const restore = deferred ? swapIn(this.#o.tf, deferred.initial) : undefined;
    try {
      const report = await this.#analyse(trigger, started, elapsed);
      if (report === undefined) {
        this.#skip('non_finite_loss');
      } else {
        this.#analyses++;
        this.#keep(report);
        this.#o.metrics?.record(report);
        await this.#o.sink?.write(report);
        await this.#o.onReport?.(report);
      }
    } catch (error) {
      restore?.();
      this.#fail(error, context);
    } finally {
      restore?.();
      const duration = Math.max(0, this.#o.now() - started);
      this.#spent += duration;
      this.#seconds += duration;
      this.#lastDuration = duration;
    }
  }

  /** One analysis; undefined when the loss on the probe set is not finite. */
  async #analyse(
    trigger: Trigger,
    started: number,
    elapsed: number,
  ): Promise<CurvatureReport | undefined> {
    const o = this.#o;
    const model = o.model ?? this.fitModel;
    if (model === undefined) {
      throw new OptionError(
        `${WHERE}: expected a model from fit() (setModel) or options.model, got none`,
      );
    }
    const timestamp = new Date().toISOString();
    const { x, y } = this.#probeTensors();
    const curvature = (layout: 'tensor' | 'unit' | 'class', kind: CurvatureKind = o.kind) =>
      modelCurvature(model, {
        tf: o.tf,
        x,
        y,
        kind,
        layout,
        selfCheck: o.selfCheck,
        ...(o.loss === undefined ? {} : { loss: o.loss }),
        ...(o.probe.batchSize === undefined ? {} : { batchSize: o.probe.batchSize }),
      });
    const { operator, layout, lossValue } = curvature('tensor');
    // The report's loss is the one whose curvature it reports: the compiled loss as
    // model.evaluate computes it, or the `loss` option's when it overrides the compiled one.
    const loss =
      o.loss === undefined
        ? await probeLoss(model, x, y, o.probe.batchSize ?? o.probeSize)
        : await lossValue();
    if (!Number.isFinite(loss)) return undefined;
    const a = o.analyses;
    const needsLayers = a.layers !== undefined || a.blocks?.layout === 'layer';
    const layerLayout = needsLayers ? sameCoordinates(modelLayout(model, 'layer')) : undefined;
    const run: RunAnalysesOptions = { seed: o.seed, now: o.now };
    if (a.eigen) run.eigen = a.eigen;
    if (a.trace) run.trace = a.trace;
    if (a.density) run.density = a.density;
    if (a.blocks && (a.blocks.layout === 'layer' || a.blocks.layout === 'tensor')) {
      const blockLayout = a.blocks.layout === 'layer' ? layerLayout : layout;
      run.blocks = { probes: a.blocks.probes, ...(blockLayout ? { layout: blockLayout } : {}) };
    }
    if (a.layers) {
      const { gaussNewtonGap, ...budget } = a.layers;
      // The gap compares the Hessian with the GGN: meaningless when the GGN is analysed.
      const ggn =
        gaussNewtonGap && o.kind === 'hessian' ? curvature('tensor', 'ggn').operator : undefined;
      run.layers = {
        ...budget,
        ...(layerLayout ? { layout: layerLayout } : {}),
        ...(ggn ? { ggn } : {}),
      };
    }
    const result: AnalysesResult = await runAnalyses(operator, layout, run);
    if (a.blocks && (a.blocks.layout === 'unit' || a.blocks.layout === 'class')) {
      // Unit blocks are strided in tfjs's storage order: their operator works in permuted
      // coordinates, where each unit is contiguous.
      const units = curvature(a.blocks.layout);
      const extra = await runAnalyses(units.operator, units.layout, {
        blocks: { probes: a.blocks.probes },
        seed: o.seed,
        now: o.now,
      });
      if (extra.blocks) result.blocks = extra.blocks;
      result.matvecs += extra.matvecs;
    }
    const science = await this.#modelAnalyses(model, x, y);
    const { matvecs, seconds: _, ...sections } = result;
    return normalizeReport({
      schemaVersion: REPORT_SCHEMA_VERSION,
      epoch: trigger.epoch,
      step: trigger.step,
      ...(trigger.batch === undefined ? {} : { batch: trigger.batch }),
      timestamp,
      wallSeconds: elapsed,
      kind: o.kind,
      model: {
        name:
          o.name ?? (typeof model.name === 'string' && model.name !== '' ? model.name : 'model'),
        parameterCount: layout.dim,
        layout,
      },
      probe: { size: o.probeSize, seed: o.seed },
      loss,
      ...sections,
      ...science.sections,
      seconds: Math.max(0, o.now() - started),
      matvecs: matvecs + science.matvecs,
    });
  }

  /** The model-level analyses (Kronecker decoupling, class hierarchy) as report sections. */
  async #modelAnalyses(
    model: FitModel,
    x: Tensor,
    y: Tensor,
  ): Promise<{ sections: Pick<CurvatureReport, 'kronecker' | 'classes'>; matvecs: number }> {
    const o = this.#o;
    const { kronecker, classes } = o.analyses;
    const sections: { kronecker?: ReportKroneckerLayer[]; classes?: ReportClasses } = {};
    let matvecs = 0;
    if (kronecker) {
      const layers = await kroneckerDecoupling(model, {
        tf: o.tf,
        x,
        y,
        ...kronecker,
        seed: o.seed,
        selfCheck: o.selfCheck,
        ...(o.loss === undefined ? {} : { loss: o.loss }),
        ...(o.probe.batchSize === undefined ? {} : { batchSize: o.probe.batchSize }),
      });
      sections.kronecker = kroneckerSection(layers);
      matvecs += sections.kronecker.reduce((sum, l) => sum + l.matvecs, 0);
    }
    if (classes) {
      const { traceProbes, hessian, maxMatvecs } = classes;
      const hierarchy = await classHierarchy(model, {
        tf: o.tf,
        x,
        y,
        hessian,
        maxMatvecs: maxMatvecs ?? defaultClassMatvecs(outputClasses(model)),
        ...(traceProbes === 0 ? {} : { traceProbes }),
        seed: o.seed,
        selfCheck: o.selfCheck,
        ...(o.probe.batchSize === undefined ? {} : { batchSize: o.probe.batchSize }),
      });
      sections.classes = classesSection(hierarchy);
      matvecs += sections.classes.matvecs;
    }
    return { sections, matvecs };
  }

  /** The probe tensors: the given ones, or tensors made (once) from the given arrays. */
  #probeTensors(): { x: Tensor; y: Tensor } {
    if (!this.#probe) {
      const { tf, probe } = this.#o;
      const tensor = (value: Tensor | NumberArrays): Tensor => {
        if (isTensor(value)) return value;
        const made = tf.tensor(value as number[]);
        this.#owned.push(made);
        return made;
      };
      this.#probe = { x: tensor(probe.x), y: tensor(probe.y) };
    }
    return this.#probe;
  }

  #keep(report: CurvatureReport): void {
    const limit = this.#o.historyLimit;
    if (limit === 0) return;
    this.history.push(report);
    if (this.history.length > limit) this.history.splice(0, this.history.length - limit);
  }

  #skip(reason: string): void {
    this.#skipped[reason] = (this.#skipped[reason] ?? 0) + 1;
    this.#skippedThisFit++;
    try {
      this.#o.metrics?.recordSkipped(reason);
    } catch (error) {
      console.warn(`${WHERE}: metrics.recordSkipped failed: ${describe(error)}`);
    }
  }

  #fail(error: unknown, context: AnalysisContext): void {
    this.#failed++;
    try {
      this.#o.metrics?.recordFailure();
    } catch (inner) {
      console.warn(`${WHERE}: metrics.recordFailure failed: ${describe(inner)}`);
    }
    console.warn(
      `${WHERE}: the analysis at epoch ${context.epoch}, step ${context.step} failed: ${describe(error)}`,
    );
    if (this.#o.onError) {
      try {
        this.#o.onError(error, context);
      } catch (inner) {
        console.warn(`${WHERE}: onError threw: ${describe(inner)}`);
      }
    }
    if (this.#o.strict) throw error;
  }
}

/** The 'layer' layout, which must use the operator's (tfjs storage) coordinates. */
function sameCoordinates(model: { layout: ParameterLayout; order?: Int32Array }): ParameterLayout {
  if (model.order !== undefined) {
    throw new OptionError(
      `${WHERE}: expected the model's layer blocks to be contiguous in its weight order, got a permuted layout`,
    );
  }
  return model.layout;
}

/**
 * Products the self-check of a model may take, counted in Hessian-vector products: up to 6
 * directions, each two central differences of the gradient (4 gradients, about 2 products)
 * and one product, over-counted to 20 for its compilation.
 */
const SELF_CHECK_PRODUCTS = 20;

/** The most Hessian-vector products one analysis with these options may take. */
function productBound(analyses: CheckedAnalyses, model: FitModel, probeSize: number): number {
  let products = 0;
  if (analyses.eigen) products += analyses.eigen.maxMatvecs;
  if (analyses.trace) products += analyses.trace.matvecs;
  if (analyses.density) products += analyses.density.probes * analyses.density.steps;
  if (analyses.blocks) {
    const blocks = modelLayout(model, analyses.blocks.layout).layout.blocks.length;
    products += analyses.blocks.probes * blocks;
  }
  if (analyses.layers) {
    const { blocks, dim } = modelLayout(model, 'layer').layout;
    const { probes, steps, traceMatvecs, couplingProbes, gaussNewtonGap } = analyses.layers;
    const maxExactDim = probes * steps + traceMatvecs;
    products += blocks.length * maxExactDim;
    if (couplingProbes !== undefined) {
      products += dim <= maxExactDim ? dim : couplingProbes * blocks.length;
    }
    if (gaussNewtonGap) {
      // runAnalyses' default gapProbes (8), two products each (H and G), per layer and overall
      // (only with kind 'hessian': checkAnalysesFor refuses it otherwise).
      for (const b of blocks) products += b.size <= maxExactDim ? b.size : 16;
      products += dim <= maxExactDim ? 2 * dim : 16;
    }
  }
  if (analyses.kronecker || analyses.classes) {
    const classes = outputClasses(model);
    if (analyses.kronecker) {
      const { maxExactDim, probes } = analyses.kronecker;
      // The factors: C vector-Jacobian products (about half a product each), counted as C.
      products += classes;
      const perLayer = new Map<string, number>();
      for (const b of modelLayout(model, 'unit').layout.blocks) {
        if (!b.name.includes('/unit_')) continue;
        const layer = layerOfBlock(b.name);
        perLayer.set(layer, (perLayer.get(layer) ?? 0) + b.size);
      }
      // A dense block: one product per entry; else the probes and topEigenpairs' default
      // budget, max(1000, 10·m) with its subspace m = max(20, 2·topK + 10).
      const eigenBudget = Math.max(1000, 10 * Math.max(20, 2 * analyses.kronecker.topK + 10));
      for (const d of perLayer.values()) {
        products += d <= maxExactDim ? d : probes + eigenBudget;
      }
    }
    if (analyses.classes) {
      const { traceProbes, hessian, maxMatvecs = defaultClassMatvecs(classes) } = analyses.classes;
      // C² class-mean products over the class subsets cost about C full-batch ones; the exact
      // trace's N·C single-sample products are counted one each (an over-estimate: their cost
      // is mostly per-call overhead).
      products += classes + (traceProbes === 0 ? probeSize * classes : traceProbes);
      products += maxMatvecs * (hessian ? 2 : 1);
    }
  }
  return products;
}

/** The model's output classes C: the units of its last Dense/Conv2D layer ('class' layout). */
function outputClasses(model: FitModel): number {
  return modelLayout(model, 'class').layout.blocks.filter((b) => b.name.includes('/unit_')).length;
}

/** The default product budget of each class-hierarchy eigensolve: max(100, 2·(C + 1)). */
function defaultClassMatvecs(classes: number): number {
  return Math.max(100, 2 * (classes + 1));
}

/** The steps this fit() plans, from tfjs's `params` (epochs × steps per epoch), if it says. */
function plannedSteps(params: Record<string, unknown>): { plannedSteps?: number } {
  const { epochs, initialEpoch, steps, samples, batchSize } = params;
  const perEpoch =
    typeof steps === 'number' && steps > 0
      ? steps
      : typeof samples === 'number' && typeof batchSize === 'number' && batchSize > 0
        ? Math.ceil(samples / batchSize)
        : undefined;
  if (typeof epochs !== 'number' || perEpoch === undefined) return {};
  const planned = (epochs - (typeof initialEpoch === 'number' ? initialEpoch : 0)) * perEpoch;
  return Number.isSafeInteger(planned) && planned > 0 ? { plannedSteps: planned } : {};
}

/** The model's variables (trainable or not: batch-norm statistics too), as tf.Variables. */
function weightVariables(model: FitModel): Variable[] {
  const weights =
    (model as { weights?: readonly { read(): Tensor }[] }).weights ?? model.trainableWeights;
  return weights.map((w) => w.read() as Variable);
}

/**
 * Puts `values` into `variables` and returns the function that puts the current values back
 * (once; later calls do nothing). Variables take the given buffers, so both ways are exact.
 */
function swapIn(tf: Tf, { variables, values }: { variables: Variable[]; values: Tensor[] }) {
  const current = variables.map((v) => tf.keep(tf.clone(v)));
  variables.forEach((v, i) => void v.assign(values[i]));
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    variables.forEach((v, i) => void v.assign(current[i]));
    for (const t of current) t.dispose();
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function isTensor(value: unknown): value is Tensor {
  return (
    typeof value === 'object' &&
    value !== null &&
    'dataId' in value &&
    'shape' in value &&
    typeof (value as { dataSync?: unknown }).dataSync === 'function'
  );
}

/** The `loss` entry of tfjs logs as a number (it may be a scalar tensor); undefined if absent. */
async function readLoss(logs: CallbackLogs | undefined): Promise<number | undefined> {
  const value = logs?.loss;
  if (typeof value === 'number') return value;
  if (isTensor(value)) {
    if (value.isDisposed) return undefined;
    const data = await value.data();
    return data.length === 1 ? Number(data[0]) : undefined;
  }
  return undefined;
}

/** The model's compiled loss on the probe set, by `model.evaluate` (inference mode). */
async function probeLoss(
  model: FitModel,
  x: Tensor,
  y: Tensor,
  batchSize: number,
): Promise<number> {
  const out = model.evaluate(x, y, { batchSize, verbose: 0 });
  const tensors = (Array.isArray(out) ? out : [out]).filter(isTensor);
  try {
    if (tensors.length === 0) {
      throw new OptionError(
        `${WHERE}: expected model.evaluate to return tensors, got ${String(out)}`,
      );
    }
    const data = await tensors[0].data();
    return Number(data[0]);
  } finally {
    for (const t of tensors) t.dispose();
  }
}

function checkOptions(options: HessianCallbackOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError(`${WHERE}: expected an options object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) {
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
    (typeof model !== 'object' || model === null || typeof model.evaluate !== 'function')
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
  if (!Number.isSafeInteger(seed)) {
    throw new OptionError(`${WHERE}: expected seed to be a safe integer, got ${String(seed)}`);
  }
  const budget = options.budget ?? 0.1;
  if (typeof budget !== 'number' || !(budget > 0 && budget <= 1)) {
    throw new OptionError(`${WHERE}: expected budget in (0, 1], got ${String(budget)}`);
  }
  for (const name of ['onReport', 'onError', 'now'] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'function') {
      throw new OptionError(`${WHERE}: expected ${name} to be a function, got ${typeof value}`);
    }
  }
  for (const name of ['strict', 'selfCheck'] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'boolean') {
      throw new OptionError(`${WHERE}: expected ${name} to be a boolean, got ${String(value)}`);
    }
  }
  const { metrics } = options;
  if (
    metrics !== undefined &&
    (typeof metrics !== 'object' ||
      metrics === null ||
      typeof metrics.record !== 'function' ||
      typeof metrics.recordFailure !== 'function' ||
      typeof metrics.recordSkipped !== 'function')
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
    analyses: checkAnalysesFor(checkAnalyses(options.analyses ?? {}), kind, loss),
    kind,
    loss,
    seed,
    budget,
    onReport: options.onReport,
    onError: options.onError,
    strict: options.strict ?? false,
    metrics,
    sink: options.reportsTo === undefined ? undefined : jsonlSink(options.reportsTo),
    historyLimit,
    selfCheck: options.selfCheck ?? true,
    now: options.now ?? (() => performance.now() / 1000),
  };
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

function describeValue(value: unknown): string {
  if (isTensor(value)) return `a tensor of shape [${value.shape}]`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return String(value);
}

/** The analyses that need a particular curvature kind or loss. */
function checkAnalysesFor(
  analyses: CheckedAnalyses,
  kind: CurvatureKind,
  loss: LossName | KerasLossName | undefined,
): CheckedAnalyses {
  if (analyses.layers?.gaussNewtonGap && kind !== 'hessian') {
    throw new OptionError(
      `${WHERE}: expected kind 'hessian' with analyses.layers.gaussNewtonGap (the gap compares the Hessian with the GGN), got kind '${kind}'`,
    );
  }
  if (analyses.kronecker && kind !== 'hessian') {
    throw new OptionError(
      `${WHERE}: expected kind 'hessian' with analyses.kronecker (it factors the Hessian's layer blocks), got kind '${kind}'`,
    );
  }
  const mapped =
    loss !== undefined && loss in KERAS_LOSSES ? KERAS_LOSSES[loss as KerasLossName] : loss;
  if (analyses.classes && mapped !== undefined && mapped !== 'softmaxCrossEntropy') {
    throw new OptionError(
      `${WHERE}: expected a softmax cross-entropy loss with analyses.classes (Papyan's hierarchy of its Gauss–Newton matrix), got loss '${loss}'`,
    );
  }
  return analyses;
}

function checkAnalyses(analyses: CallbackAnalyses): CheckedAnalyses {
  if (typeof analyses !== 'object' || analyses === null) {
    throw new OptionError(`${WHERE}: expected analyses to be an object, got ${String(analyses)}`);
  }
  const known = Object.keys(DEFAULT_ANALYSES);
  for (const key of Object.keys(analyses)) {
    if (!known.includes(key)) {
      throw new OptionError(
        `${WHERE}: expected analyses among ${known.map((k) => `'${k}'`).join(', ')}, got '${key}'`,
      );
    }
  }
  const pick = <K extends keyof typeof DEFAULT_ANALYSES>(
    name: K,
    on: boolean,
  ): Record<string, unknown> | undefined => {
    const value = analyses[name] ?? on;
    if (value === false) return undefined;
    if (value === true) return { ...DEFAULT_ANALYSES[name] };
    if (typeof value !== 'object' || value === null) {
      throw new OptionError(
        `${WHERE}: expected analyses.${name} to be a boolean or an options object, got ${String(value)}`,
      );
    }
    for (const key of Object.keys(value)) {
      if (!(key in DEFAULT_ANALYSES[name])) {
        const keys = Object.keys(DEFAULT_ANALYSES[name]).map((k) => `'${k}'`);
        throw new OptionError(
          `${WHERE}: expected analyses.${name} options among ${keys.join(', ')}, got '${key}'`,
        );
      }
    }
    return { ...DEFAULT_ANALYSES[name], ...value };
  };
  const integer = (section: string, name: string, value: unknown, min: number): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new OptionError(
        `${WHERE}: expected analyses.${section}.${name} to be an integer >= ${min}, got ${String(value)}`,
      );
    }
    return value;
  };
  const boolean = (section: string, name: string, value: unknown): boolean => {
    if (typeof value !== 'boolean') {
      throw new OptionError(
        `${WHERE}: expected analyses.${section}.${name} to be a boolean, got ${String(value)}`,
      );
    }
    return value;
  };
  const out: CheckedAnalyses = {};
  const eigen = pick('eigen', true);
  if (eigen) {
    const k = integer('eigen', 'k', eigen.k, 1);
    const tol = eigen.tol;
    if (typeof tol !== 'number' || !(tol > 0) || !Number.isFinite(tol)) {
      throw new OptionError(`${WHERE}: expected analyses.eigen.tol > 0, got ${String(tol)}`);
    }
    out.eigen = { k, tol, maxMatvecs: integer('eigen', 'maxMatvecs', eigen.maxMatvecs, k) };
  }
  const trace = pick('trace', true);
  if (trace) {
    const method = trace.method;
    if (method !== 'hutch++' && method !== 'hutchinson') {
      throw new OptionError(
        `${WHERE}: expected analyses.trace.method to be 'hutch++' | 'hutchinson', got ${JSON.stringify(method)}`,
      );
    }
    out.trace = {
      matvecs: integer('trace', 'matvecs', trace.matvecs, method === 'hutch++' ? 3 : 1),
      method,
    };
  }
  const density = pick('density', false);
  if (density) {
    out.density = {
      probes: integer('density', 'probes', density.probes, 1),
      steps: integer('density', 'steps', density.steps, 1),
      gridSize: integer('density', 'gridSize', density.gridSize, 2),
    };
  }
  const blocks = pick('blocks', false);
  if (blocks) {
    const layout = blocks.layout as BlockLayoutKind;
    if (!(BLOCK_LAYOUTS as readonly unknown[]).includes(layout)) {
      throw new OptionError(
        `${WHERE}: expected analyses.blocks.layout to be ${BLOCK_LAYOUTS.map((k) => `'${k}'`).join(' | ')}, got ${JSON.stringify(layout)}`,
      );
    }
    out.blocks = { layout, probes: integer('blocks', 'probes', blocks.probes, 1) };
  }
  const layers = pick('layers', false);
  if (layers) {
    out.layers = {
      probes: integer('layers', 'probes', layers.probes, 1),
      steps: integer('layers', 'steps', layers.steps, 2),
      traceMatvecs: integer('layers', 'traceMatvecs', layers.traceMatvecs, 3),
      ...(layers.couplingProbes === undefined
        ? {}
        : { couplingProbes: integer('layers', 'couplingProbes', layers.couplingProbes, 1) }),
      gaussNewtonGap: boolean('layers', 'gaussNewtonGap', layers.gaussNewtonGap),
    };
  }
  const kronecker = pick('kronecker', false);
  if (kronecker) {
    out.kronecker = {
      topK: integer('kronecker', 'topK', kronecker.topK, 1),
      maxExactDim: integer('kronecker', 'maxExactDim', kronecker.maxExactDim, 1),
      probes: integer('kronecker', 'probes', kronecker.probes, 2),
    };
  }
  const classes = pick('classes', false);
  if (classes) {
    const traceProbes = integer('classes', 'traceProbes', classes.traceProbes, 0);
    if (traceProbes === 1) {
      throw new OptionError(
        `${WHERE}: expected analyses.classes.traceProbes to be 0 (exact) or >= 2, got 1`,
      );
    }
    out.classes = {
      traceProbes,
      hessian: boolean('classes', 'hessian', classes.hessian),
      ...(classes.maxMatvecs === undefined
        ? {}
        : { maxMatvecs: integer('classes', 'maxMatvecs', classes.maxMatvecs, 3) }),
    };
  }
  return out;
}
