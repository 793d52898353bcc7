/**
 * The `model.fit()` / `model.fitDataset()` callback: curvature analyses of the model being
 * trained, on a fixed probe set, at scheduled moments, within a share of the training time,
 * without changing what training computes. Each analysis is `analyzeModel`'s (core): the
 * callback adds the schedule, the budget and the sinks.
 */
import { type CurvatureReport, OptionError } from '@hessian-probe/core';
import type { Tf } from '@hessian-probe/core/tfjs';
import { Controller } from './controller.js';
import { checkOptions, type FitModel, type HessianCallbackOptions, WHERE } from './options.js';
import type { CallbackLogs } from './weights.js';

/** Counters of a callback, over its lifetime (all fit() calls). */
export interface CallbackStats {
  /** Analyses that produced a report. */
  readonly analyses: number;
  /** Analyses that failed with an error. */
  readonly failed: number;
  /** Scheduled analyses not run, by reason: `'budget'`, `'non_finite_loss'`. */
  readonly skipped: Readonly<Record<string, number>>;
  /**
   * Reports a sink did not take (it threw, rejected or timed out), by sink: `'metrics'`,
   * `'jsonl'`, `'onReport'`. The other sinks got those reports.
   */
  readonly sinkErrors: Readonly<Record<string, number>>;
  /**
   * Analyses run at train end over the budget because it had skipped every other of that
   * fit() (the `finalReport` option).
   */
  readonly overBudget: number;
  /**
   * Wall-clock seconds spent in analyses (run, failed or cut short by a non-finite loss) and in
   * the one product per fit() timed to predict their duration.
   */
  readonly seconds: number;
}

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

/**
 * A tfjs callback that analyses the curvature (Hessian or generalized Gauss–Newton) of the model
 * being trained on a fixed probe set, at the moments of `schedule`, and turns each analysis into
 * one {@link @hessian-probe/core!index.CurvatureReport | CurvatureReport}: kept in `history`,
 * passed to `onReport`, recorded into Prometheus `metrics` and appended to the `reportsTo` JSONL
 * file.
 *
 * Invisible to training (docs/design.md decision 2): analyses only read the weights (the one-off
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
 * analyses may take: the sum of each requested analysis's own `cost` (`prepareAnalyses`), plus
 * the self-check's while it has not run. The analysis at train begin cannot know the fit's length, so the
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
 * A fit() that the budget thins to nothing still ends with one report: when every scheduled
 * analysis of it was skipped for the budget, one runs at train end anyway (`stats.overBudget`,
 * a `console.warn` line; `finalReport: false` turns this off).
 *
 * Sinks: each report goes to `metrics`, the `reportsTo` file and `onReport` at once; a sink
 * that throws or takes longer than `sinkTimeoutSeconds` is counted (`stats.sinkErrors`,
 * `hessian_sink_errors_total{sink}`) and logged, and the others still get the report.
 *
 * Failures never reach `fit()` unless `strict`: an error inside an analysis is counted
 * (`stats.failed`, `metrics`' failure counter), logged with `console.warn` and passed to
 * `onError`. A non-finite loss (the training loss in the logs, or the loss on the probe set)
 * skips the analysis, as does the budget; both are counted by reason (`stats.skipped`,
 * `metrics`' skip counter), and each fit() with skips ends with one `console.warn` line.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} from `@hessian-probe/core`,
 *   at construction, for an unknown or out-of-range option (the message names it).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { curvatureMetrics, hessianCallback, serveMetrics } from '@hessian-probe/tfjs-callback';
 * const metrics = curvatureMetrics({ defaultLabels: { model: 'mlp' } });
 * await serveMetrics({ registry: metrics.registry, port: 9464 });
 * const callback = hessianCallback({
 *   tf,
 *   probe: { x: x.slice(0, 256), y: y.slice(0, 256) }, // a fixed probe set
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
