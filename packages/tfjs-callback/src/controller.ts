/**
 * The callback's state and work: which scheduled analyses run (the budget), on which weights,
 * and where their reports go. The tfjs class in callback.ts only forwards lifecycle events here.
 */
import { type CurvatureReport, NonFiniteLossError, OptionError } from '@hessian-probe/core';
import { prepareAnalyses, reportOf, tfjsContext } from '@hessian-probe/core/internal';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import type { CallbackStats } from './callback.js';
import { headlineLine, headlineNumbers } from './headline.js';
import {
  type AnalysisTime,
  type CheckedOptions,
  type FitModel,
  isTensor,
  type NumberArrays,
  WHERE,
} from './options.js';
import { budgetAllows, expectedTrainingSeconds } from './schedule.js';
import { deliverReport, type ReportDestination } from './sinks/deliver.js';
import { tensorBoardSink } from './sinks/tensorboard.js';
import { type CallbackLogs, plannedSteps, readLoss, swapIn, weightVariables } from './weights.js';

/** An analysis asked for by the schedule, waiting for its turn. */
interface Trigger {
  epoch: number;
  step: number;
  batch?: number;
  /** Training loss from the logs of the event, if there was one. */
  trainingLoss?: number;
}

/** The state and the work of one callback; the tfjs class above only forwards to it. */
export class Controller {
  readonly history: CurvatureReport[] = [];
  params: Record<string, unknown> = {};
  fitModel: FitModel | undefined;

  readonly #o: CheckedOptions;
  #analyses = 0;
  #failed = 0;
  #seconds = 0;
  #overBudget = 0;
  readonly #skipped: Record<string, number> = {};
  readonly #sinkErrors: Record<string, number> = {};
  readonly #destinations: readonly ReportDestination[];
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
  #budgetSkipsThisFit = 0;
  #reportsThisFit = 0;
  /** The report of the last analysis run, for the epoch logs. */
  #lastReport: CurvatureReport | undefined;

  constructor(options: CheckedOptions) {
    this.#o = options;
    this.#destinations = destinations(options, () => this.#learningRate());
  }

  snapshotStats(): CallbackStats {
    return {
      analyses: this.#analyses,
      failed: this.#failed,
      skipped: { ...this.#skipped },
      sinkErrors: { ...this.#sinkErrors },
      overBudget: this.#overBudget,
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
    this.#budgetSkipsThisFit = 0;
    this.#reportsThisFit = 0;
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
    this.#lastReport = undefined;
    await this.#consider({
      epoch: this.#epochsCompleted,
      step: this.#step,
      ...(pending?.batch === undefined ? {} : { batch: pending.batch }),
      ...(trainingLoss === undefined ? {} : { trainingLoss }),
    });
    // Set by #consider when it made a report (TypeScript cannot see that across the await).
    const report = this.#lastReport as CurvatureReport | undefined;
    if (this.#o.epochLogs && logs && report?.step === this.#step) {
      Object.assign(logs, headlineNumbers(report));
    }
  }

  async trainEnd(): Promise<void> {
    await this.#decideInitial();
    const pending = this.#pending;
    this.#pending = undefined;
    const trigger = {
      epoch: this.#epochsCompleted,
      step: this.#step,
      ...(pending?.trainingLoss === undefined ? {} : { trainingLoss: pending.trainingLoss }),
    };
    if (this.#o.schedule.atTrainEnd() || pending) await this.#consider(trigger);
    if (this.#o.finalReport && this.#reportsThisFit === 0 && this.#budgetSkipsThisFit > 0) {
      console.warn(
        `${WHERE}: the budget (${this.#o.budget}) skipped every scheduled analysis of this fit(); ` +
          'running one at train end over the budget (finalReport: false turns this off)',
      );
      this.#overBudget++;
      await this.#consider(trigger, undefined, true);
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
   * the plan's cost in products (each analysis's own `cost`, plus the self-check while it has
   * not run). The timed product counts as time spent.
   */
  async #nextSeconds(): Promise<number> {
    if (this.#lastDuration !== undefined) return this.#lastDuration;
    const model = this.#o.model ?? this.fitModel;
    if (model === undefined) return 0; // the analysis fails and says why
    const { cost } = prepareAnalyses(this.#context(model), {
      analyses: this.#o.analyses,
      seed: this.#o.seed,
    });
    if (this.#productSeconds === undefined) {
      // Timed without the self-check, whose own cost the plan already counts.
      const { operator } = this.#context(model, false);
      const started = this.#o.now();
      try {
        await operator.matvec(new Float64Array(operator.dim));
      } finally {
        const seconds = Math.max(0, this.#o.now() - started);
        this.#productSeconds = seconds;
        this.#spent += seconds;
        this.#seconds += seconds;
      }
    }
    return this.#productSeconds * cost;
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
    overBudget = false,
  ): Promise<void> {
    if (trigger.step === this.#lastStep && !overBudget) return;
    this.#lastStep = trigger.step;
    if (!overBudget) this.#scheduledThisFit++;
    const context = { epoch: trigger.epoch, step: trigger.step };
    if (this.#o.budget < 1 && !overBudget) {
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
      if (!allowed) {
        this.#budgetSkipsThisFit++;
        return this.#skip('budget');
      }
    }
    if (trigger.trainingLoss !== undefined && !Number.isFinite(trigger.trainingLoss)) {
      return this.#skip('non_finite_loss');
    }
    // Reports of the initial weights say 0 s of training, whenever they were analysed.
    const elapsed = deferred ? 0 : Math.max(0, this.#o.now() - this.#fitStart);
    const started = this.#o.now();
    const restore = deferred ? swapIn(this.#o.tf, deferred.initial) : undefined;
    let sinkError: { error: unknown } | undefined;
    try {
      const report = await this.#analyse(trigger, elapsed);
      restore?.();
      if (report === undefined) {
        this.#skip('non_finite_loss');
      } else {
        this.#analyses++;
        this.#reportsThisFit++;
        this.#lastReport = report;
        this.#keep(report);
        sinkError = await this.#deliver(report);
        if (this.#o.verbose) console.info(`${WHERE}: ${headlineLine(report)}`);
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
    if (sinkError && this.#o.strict) throw sinkError.error;
  }

  /**
   * Hands the report to every sink at once (see {@link deliverReport}); counts, records and
   * logs each failure. Resolves with the first failure, for `strict`.
   */
  async #deliver(report: CurvatureReport): Promise<{ error: unknown } | undefined> {
    const failures = await deliverReport(report, this.#destinations, this.#o.sinkTimeoutSeconds);
    for (const { sink, error } of failures) {
      this.#sinkErrors[sink] = (this.#sinkErrors[sink] ?? 0) + 1;
      try {
        this.#o.metrics?.recordSinkError(sink);
      } catch (inner) {
        console.warn(`${WHERE}: metrics.recordSinkError failed: ${describe(inner)}`);
      }
      console.warn(
        `${WHERE}: the ${sink} sink did not take the report of epoch ${report.epoch}, step ${report.step}: ${describe(error)}`,
      );
    }
    return failures[0];
  }

  /**
   * The learning rate η of a plain SGD optimizer (tfjs's `sgd`), for the edge-of-stability
   * threshold 2/η; undefined for any other optimizer (momentum moves the threshold to
   * (2 + 2β)/η, Adam's is a preconditioned quantity), so the metric is never misleading.
   */
  #learningRate(): number | undefined {
    const model = (this.#o.model ?? this.fitModel) as
      | { optimizer?: { learningRate?: unknown; getClassName?: () => string } }
      | undefined;
    const optimizer = model?.optimizer;
    if (optimizer?.getClassName?.() !== 'SGD') return undefined;
    const rate = optimizer.learningRate;
    return typeof rate === 'number' && Number.isFinite(rate) && rate > 0 ? rate : undefined;
  }

  /** One analysis; undefined when the loss on the probe set is not finite. */
  async #analyse(trigger: Trigger, elapsed: number): Promise<CurvatureReport | undefined> {
    const o = this.#o;
    const model = o.model ?? this.fitModel;
    if (model === undefined) {
      throw new OptionError(
        `${WHERE}: expected a model from fit() (setModel) or options.model, got none`,
      );
    }
    const timestamp = new Date(Date.now()).toISOString();
    const context = this.#context(model);
    const prepared = prepareAnalyses(context, { analyses: o.analyses, seed: o.seed });
    try {
      return await reportOf(
        prepared,
        context,
        {
          name:
            o.name ?? (typeof model.name === 'string' && model.name !== '' ? model.name : 'model'),
          epoch: trigger.epoch,
          step: trigger.step,
          ...(trigger.batch === undefined ? {} : { batch: trigger.batch }),
          wallSeconds: elapsed,
          timestamp,
        },
        { now: o.now },
      );
    } catch (error) {
      if (error instanceof NonFiniteLossError) return undefined;
      throw error;
    }
  }

  /** The analysis context of the model on the probe set (operators are built on first use). */
  #context(model: FitModel, selfCheck = this.#o.selfCheck) {
    const o = this.#o;
    const { x, y } = this.#probeTensors();
    return tfjsContext(model, {
      tf: o.tf,
      x,
      y,
      kind: o.kind,
      selfCheck,
      where: WHERE,
      ...(o.loss === undefined ? {} : { loss: o.loss }),
      ...(o.probe.batchSize === undefined ? {} : { batchSize: o.probe.batchSize }),
    });
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

  #fail(error: unknown, context: AnalysisTime): void {
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

/** The callback's sinks, in the order their failures are logged. */
function destinations(
  options: CheckedOptions,
  learningRate: () => number | undefined,
): ReportDestination[] {
  const { metrics, sink, onReport } = options;
  const list: ReportDestination[] = [];
  if (metrics) {
    list.push({
      name: 'metrics',
      deliver: (report) => {
        const rate = learningRate();
        metrics.record(report, rate === undefined ? {} : { learningRate: rate });
      },
    });
  }
  if (sink) list.push({ name: 'jsonl', deliver: (report) => sink.write(report) });
  if (options.tensorBoard) {
    const makeWriter = options.tensorBoard;
    let board: ReturnType<typeof tensorBoardSink> | undefined;
    list.push({
      name: 'tensorboard',
      deliver: (report) => {
        board ??= tensorBoardSink(options.tf, makeWriter());
        board.write(report);
      },
    });
  }
  if (onReport) list.push({ name: 'onReport', deliver: (report) => onReport(report) });
  return list;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
