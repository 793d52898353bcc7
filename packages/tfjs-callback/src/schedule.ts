/**
 * When the fit() callback runs an analysis: a fixed schedule of triggers, and the budget rule
 * that thins it. Both are pure; the callback owns the clock and the counters.
 */
import { OptionError } from '@hessian-probe/core';

/** Options of {@link createSchedule}. At least one trigger must be on. */
export interface ScheduleOptions {
  /**
   * Analyse before the first batch, at the weights' initialization (the architecture's
   * "static force"). Default `true`.
   */
  atTrainBegin?: boolean;
  /** Analyse after every `everyEpochs`-th epoch (a positive integer). Default: off. */
  everyEpochs?: number;
  /**
   * Analyse after every `everyBatches`-th batch, counted over the whole fit() (a positive
   * integer). Default: off.
   */
  everyBatches?: number;
  /** Analyse after the last epoch. Default `true`. */
  atTrainEnd?: boolean;
}

/**
 * The answer to "does this lifecycle event run an analysis?". Each method depends only on its
 * argument and the options, so asking twice gives the same answer.
 */
export interface Schedule {
  /** The validated options, with defaults filled in (`undefined` for an interval that is off). */
  readonly options: Readonly<{
    atTrainBegin: boolean;
    everyEpochs: number | undefined;
    everyBatches: number | undefined;
    atTrainEnd: boolean;
  }>;
  /** True when an analysis runs at `onTrainBegin`. */
  atTrainBegin(): boolean;
  /**
   * True when an analysis runs at `onEpochEnd(epoch)`: `(epoch + 1) % everyEpochs === 0`.
   *
   * @param epoch - 0-based epoch index, as tfjs passes it (it starts at `initialEpoch`).
   * @throws RangeError when `epoch` is not a non-negative integer.
   */
  atEpochEnd(epoch: number): boolean;
  /**
   * True when an analysis runs after a batch: `(globalStep + 1) % everyBatches === 0`.
   *
   * @param globalStep - 0-based index of the batch that just ended, counted over all epochs of
   *   the fit() call (tfjs's own `batch` argument restarts at 0 every epoch).
   * @throws RangeError when `globalStep` is not a non-negative integer.
   */
  atBatchEnd(globalStep: number): boolean;
  /** True when an analysis runs at `onTrainEnd`. */
  atTrainEnd(): boolean;
}

const KNOWN_OPTIONS = ['atTrainBegin', 'everyEpochs', 'everyBatches', 'atTrainEnd'];

/**
 * Builds a {@link Schedule}. Options are checked here, before training starts; the schedule's
 * methods are pure. When two triggers fall on the same weights (the last batch of an epoch
 * with both intervals on, or the last epoch and `atTrainEnd`), each says true: running once
 * per step is the caller's job.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for an unknown option, a
 *   non-boolean flag, an interval that is not a positive integer, or no trigger at all.
 *
 * @example
 * ```ts
 * const schedule = createSchedule({ everyEpochs: 2 }); // begin, epochs 2, 4, …, end
 * schedule.atEpochEnd(0); // false: the first epoch (tfjs passes epoch 0)
 * schedule.atEpochEnd(1); // true: the second epoch
 * createSchedule({ atTrainBegin: false, atTrainEnd: false }); // throws OptionError: no trigger
 * ```
 */
export function createSchedule(options: ScheduleOptions = {}): Schedule {
  const where = 'createSchedule';
  if (typeof options !== 'object' || options === null) {
    throw new OptionError(`${where}: expected an options object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) {
      const known = KNOWN_OPTIONS.map((k) => `'${k}'`).join(', ');
      throw new OptionError(`${where}: expected options among ${known}, got '${key}'`);
    }
  }
  const atTrainBegin = flag(where, 'atTrainBegin', options.atTrainBegin, true);
  const atTrainEnd = flag(where, 'atTrainEnd', options.atTrainEnd, true);
  const everyEpochs = interval(where, 'everyEpochs', options.everyEpochs);
  const everyBatches = interval(where, 'everyBatches', options.everyBatches);
  if (!atTrainBegin && !atTrainEnd && everyEpochs === undefined && everyBatches === undefined) {
    throw new OptionError(
      `${where}: expected at least one trigger (atTrainBegin, atTrainEnd, everyEpochs or ` +
        'everyBatches), got none',
    );
  }
  const settings = Object.freeze({ atTrainBegin, everyEpochs, everyBatches, atTrainEnd });
  return {
    options: settings,
    atTrainBegin: () => atTrainBegin,
    atEpochEnd: (epoch) => isNth(epoch, everyEpochs, 'epoch'),
    atBatchEnd: (globalStep) => isNth(globalStep, everyBatches, 'globalStep'),
    atTrainEnd: () => atTrainEnd,
  };
}

/** Arguments of {@link budgetAllows}; all times are wall-clock seconds since fit() began. */
export interface BudgetState {
  /** Time spent in analyses so far, seconds (≥ 0). */
  spentSeconds: number;
  /** Time spent training so far, seconds (≥ 0): fit()'s wall time minus `spentSeconds`. */
  trainingSeconds: number;
  /** The largest fraction of wall time analyses may take, in (0, 1]; `1` never thins. */
  budget: number;
  /**
   * Expected duration of the analysis being considered, seconds (≥ 0): the callback passes the
   * last analysis's duration in this fit(), or before the first one an estimate from a timed
   * Hessian-vector product. Default `0`: only the time already spent counts.
   */
  nextSeconds?: number;
}

/**
 * The budget rule: run the next analysis only if, once it has run, the fraction of wall time
 * spent on analyses stays within the budget,
 *
 *     (spent + next) / (training + spent + next) ≤ budget.
 *
 * When `nextSeconds` is the true duration, the fraction after each analysis stays within
 * `budget`; when it underestimates the duration by `e` seconds, the fraction can exceed
 * `budget` by at most `e / (training + spent + next)`; with `nextSeconds = 0` the rule only
 * looks back, and `e` is one whole analysis. Asked with `trainingSeconds` = the training time
 * the whole fit() is expected to take (see {@link expectedTrainingSeconds}), it answers for
 * the fraction at the end of fit() instead: this is how the callback decides on the analysis
 * of the initial weights. A schedule asking more often than the budget allows is thinned to
 * about `budget` of the wall time, never below it by more than one analysis.
 *
 * @throws RangeError when a time is negative or not finite, or `budget` is outside (0, 1].
 *
 * @example
 * ```ts
 * // 3 s of analyses after 60 s of training; the next one should take 3 s: 6/66 ≈ 0.091
 * budgetAllows({ spentSeconds: 3, trainingSeconds: 60, budget: 0.1, nextSeconds: 3 }); // true
 * // after only 20 s of training: 6/26 ≈ 0.23 > 0.1, skip this one
 * budgetAllows({ spentSeconds: 3, trainingSeconds: 20, budget: 0.1, nextSeconds: 3 }); // false
 * ```
 */
export function budgetAllows({
  spentSeconds,
  trainingSeconds,
  budget,
  nextSeconds = 0,
}: BudgetState): boolean {
  for (const [name, value] of [
    ['spentSeconds', spentSeconds],
    ['trainingSeconds', trainingSeconds],
    ['nextSeconds', nextSeconds],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`budgetAllows: expected ${name} to be finite and >= 0, got ${value}`);
    }
  }
  if (!(budget > 0 && budget <= 1)) {
    throw new RangeError(`budgetAllows: expected budget in (0, 1], got ${budget}`);
  }
  const analyses = spentSeconds + nextSeconds;
  return analyses <= budget * (trainingSeconds + analyses);
}

/** Arguments of {@link expectedTrainingSeconds}; times are wall-clock seconds. */
export interface TrainingForecast {
  /** Training time so far (fit()'s wall time minus analyses), seconds (≥ 0). */
  trainingSeconds: number;
  /** Optimizer steps completed so far (≥ 0). */
  steps: number;
  /** Steps the whole fit() will take, when fit() said (`params`); undefined when unknown. */
  plannedSteps?: number;
  /**
   * Training seconds of the first step (which includes tfjs's one-off compilation), excluded
   * from the per-step time when more steps are known.
   */
  firstStepSeconds?: number;
}

/**
 * The training time the whole fit() is expected to take: the time so far plus the remaining
 * planned steps at the mean time of the steps after the first,
 *
 *     training + (planned − steps) · (training − first) / (steps − 1)
 *
 * (with one step done, `training / 1`). Without a plan or a step, the time so far: the
 * forecast never exceeds what can be justified, so a rule fed with it errs toward skipping.
 *
 * @throws RangeError when an argument is negative or not finite.
 *
 * @example
 * ```ts
 * // 2 steps in 1.5 s, the first 1 s (compilation): 0.5 s per step, 98 left
 * expectedTrainingSeconds({ trainingSeconds: 1.5, steps: 2, plannedSteps: 100, firstStepSeconds: 1 }); // 50.5
 * ```
 */
export function expectedTrainingSeconds({
  trainingSeconds,
  steps,
  plannedSteps,
  firstStepSeconds,
}: TrainingForecast): number {
  for (const [name, value] of [
    ['trainingSeconds', trainingSeconds],
    ['steps', steps],
    ['plannedSteps', plannedSteps ?? 0],
    ['firstStepSeconds', firstStepSeconds ?? 0],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(
        `expectedTrainingSeconds: expected ${name} to be finite and >= 0, got ${value}`,
      );
    }
  }
  if (plannedSteps === undefined || steps === 0 || plannedSteps <= steps) return trainingSeconds;
  const perStep =
    steps >= 2 && firstStepSeconds !== undefined
      ? Math.max(0, trainingSeconds - firstStepSeconds) / (steps - 1)
      : trainingSeconds / steps;
  return trainingSeconds + (plannedSteps - steps) * perStep;
}

function flag(where: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new OptionError(`${where}: expected ${name} to be a boolean, got ${String(value)}`);
  }
  return value;
}

function interval(where: string, name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new OptionError(`${where}: expected ${name} to be an integer >= 1, got ${String(value)}`);
  }
  return value;
}

/** Whether the `index`-th (0-based) event is a multiple of `every`; never when `every` is off. */
function isNth(index: number, every: number | undefined, name: string): boolean {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new RangeError(`Schedule: expected ${name} to be an integer >= 0, got ${index}`);
  }
  return every !== undefined && (index + 1) % every === 0;
}
