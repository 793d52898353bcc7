import { OptionError } from '@hessian-probe/core';
import { describe, expect, it } from 'vitest';
import {
  budgetAllows,
  createSchedule,
  expectedTrainingSeconds,
  type ScheduleOptions,
} from './schedule.js';

/** Indices in 0..n-1 at which `accept` says true. */
function firing(n: number, accept: (i: number) => boolean): number[] {
  return Array.from({ length: n }, (_, i) => i).filter(accept);
}

describe('createSchedule', () => {
  it('runs at train begin and end by default, and at no epoch or batch', () => {
    const s = createSchedule();
    expect(s.options).toEqual({
      atTrainBegin: true,
      everyEpochs: undefined,
      everyBatches: undefined,
      atTrainEnd: true,
    });
    expect(s.atTrainBegin()).toBe(true);
    expect(s.atTrainEnd()).toBe(true);
    expect(firing(50, s.atEpochEnd)).toEqual([]);
    expect(firing(50, s.atBatchEnd)).toEqual([]);
  });

  it('counts epochs from 0 as tfjs passes them: everyEpochs 3 fires after epochs 3, 6, 9', () => {
    const s = createSchedule({ everyEpochs: 3 });
    expect(firing(10, s.atEpochEnd)).toEqual([2, 5, 8]);
    expect(createSchedule({ everyEpochs: 1 }).atEpochEnd(0)).toBe(true);
  });

  it('counts batches over the whole fit(): everyBatches 4 fires after batches 4, 8, 12', () => {
    const s = createSchedule({ everyBatches: 4, atTrainBegin: false, atTrainEnd: false });
    expect(firing(13, s.atBatchEnd)).toEqual([3, 7, 11]);
    expect(firing(13, s.atEpochEnd)).toEqual([]);
    expect(s.atTrainBegin()).toBe(false);
    expect(s.atTrainEnd()).toBe(false);
  });

  it('combines epoch and batch intervals independently', () => {
    const s = createSchedule({ everyEpochs: 2, everyBatches: 5, atTrainEnd: false });
    expect(firing(6, s.atEpochEnd)).toEqual([1, 3, 5]);
    expect(firing(12, s.atBatchEnd)).toEqual([4, 9]);
    expect(s.atTrainBegin()).toBe(true);
    expect(s.atTrainEnd()).toBe(false);
  });

  it('freezes its options', () => {
    const s = createSchedule({ everyEpochs: 2 });
    expect(Object.isFrozen(s.options)).toBe(true);
  });

  it.each([
    [{ everyEpochs: 0 }, 'createSchedule: expected everyEpochs to be an integer >= 1, got 0'],
    [{ everyEpochs: -2 }, 'expected everyEpochs to be an integer >= 1, got -2'],
    [{ everyBatches: 1.5 }, 'expected everyBatches to be an integer >= 1, got 1.5'],
    [{ everyBatches: Number.NaN }, 'expected everyBatches to be an integer >= 1, got NaN'],
    [{ everyBatches: Infinity }, 'expected everyBatches to be an integer >= 1, got Infinity'],
    [{ everyEpochs: '2' }, 'expected everyEpochs to be an integer >= 1, got 2'],
    [{ atTrainEnd: 'yes' }, 'expected atTrainEnd to be a boolean, got yes'],
    [
      { everyEpoch: 2 },
      "expected options among 'atTrainBegin', 'everyEpochs', 'everyBatches', 'atTrainEnd', got 'everyEpoch'",
    ],
    [
      { atTrainBegin: false, atTrainEnd: false },
      'createSchedule: expected at least one trigger (atTrainBegin, atTrainEnd, everyEpochs or everyBatches), got none',
    ],
    [null, 'createSchedule: expected an options object, got null'],
  ])('refuses %j at construction', (options, message) => {
    const build = () => createSchedule(options as unknown as ScheduleOptions);
    expect(build).toThrow(OptionError);
    expect(build).toThrow(message);
  });

  it('throws a RangeError for an epoch or step that is not a non-negative integer', () => {
    const s = createSchedule({ everyBatches: 2 });
    expect(() => s.atEpochEnd(-1)).toThrow(RangeError);
    expect(() => s.atBatchEnd(0.5)).toThrow(
      'Schedule: expected globalStep to be an integer >= 0, got 0.5',
    );
  });
});

describe('budgetAllows', () => {
  it('says yes before anything has run or is predicted, no otherwise with no training', () => {
    expect(budgetAllows({ spentSeconds: 0, trainingSeconds: 0, budget: 0.01 })).toBe(true);
    expect(budgetAllows({ spentSeconds: 2, trainingSeconds: 0, budget: 0.5 })).toBe(false);
  });

  it('compares (spent + next) / (training + spent + next) with the budget, inclusive', () => {
    // 1 / (9 + 1) = 0.1 exactly at the limit.
    expect(budgetAllows({ spentSeconds: 1, trainingSeconds: 9, budget: 0.1 })).toBe(true);
    expect(budgetAllows({ spentSeconds: 1, trainingSeconds: 8.9, budget: 0.1 })).toBe(false);
    expect(
      budgetAllows({ spentSeconds: 0.5, trainingSeconds: 9, budget: 0.1, nextSeconds: 0.5 }),
    ).toBe(true);
    expect(
      budgetAllows({ spentSeconds: 0.5, trainingSeconds: 9, budget: 0.1, nextSeconds: 0.6 }),
    ).toBe(false);
    expect(
      budgetAllows({ spentSeconds: 3, trainingSeconds: 60, budget: 0.1, nextSeconds: 3 }),
    ).toBe(true);
    expect(
      budgetAllows({ spentSeconds: 3, trainingSeconds: 20, budget: 0.1, nextSeconds: 3 }),
    ).toBe(false);
  });

  it('never thins with budget 1', () => {
    expect(budgetAllows({ spentSeconds: 1e6, trainingSeconds: 0, budget: 1, nextSeconds: 5 })).toBe(
      true,
    );
  });

  it.each([
    [{ spentSeconds: -1, trainingSeconds: 0, budget: 0.1 }, /spentSeconds to be finite and >= 0/],
    [{ spentSeconds: 0, trainingSeconds: Number.NaN, budget: 0.1 }, /trainingSeconds .*got NaN/],
    [{ spentSeconds: 0, trainingSeconds: 0, budget: 0.1, nextSeconds: Infinity }, /nextSeconds/],
    [{ spentSeconds: 0, trainingSeconds: 0, budget: 0 }, /expected budget in \(0, 1\], got 0/],
    [{ spentSeconds: 0, trainingSeconds: 0, budget: 1.5 }, /got 1.5/],
    [{ spentSeconds: 0, trainingSeconds: 0, budget: Number.NaN }, /got NaN/],
  ])('throws a RangeError for %j', (state, message) => {
    expect(() => budgetAllows(state)).toThrow(RangeError);
    expect(() => budgetAllows(state)).toThrow(message);
  });

  /**
   * A training loop asking for an analysis after every batch: `batches` batches of 1 s each,
   * analyses of `cost` s, the first one at train begin. Returns the fraction of wall time spent
   * on analyses after each analysis that ran, the final wall time and the time spent analysing.
   */
  function simulate(budget: number, cost: number, batches: number, lookAhead: boolean) {
    let spent = 0;
    let training = 0;
    const fractions: number[] = [];
    const ask = () => {
      const nextSeconds = lookAhead && fractions.length > 0 ? cost : 0;
      if (budgetAllows({ spentSeconds: spent, trainingSeconds: training, budget, nextSeconds })) {
        spent += cost;
        fractions.push(spent / (spent + training));
      }
    };
    ask(); // train begin
    for (let b = 0; b < batches; b++) {
      training += 1;
      ask();
    }
    return { fractions, total: spent + training, spent };
  }

  it('with the next duration known, keeps every later analysis within the budget', () => {
    const budget = 0.1;
    const cost = 5;
    const { fractions, total, spent } = simulate(budget, cost, 1000, true);
    expect(fractions[0]).toBe(1); // the train-begin analysis, before any training
    expect(Math.max(...fractions.slice(1))).toBeLessThanOrEqual(budget);
    // Thinned, not starved: at most one analysis below the budget at the end.
    expect(spent / total).toBeLessThanOrEqual(budget);
    expect(spent / total).toBeGreaterThanOrEqual(budget - cost / total);
    // n analyses fit once n * cost <= budget * (1000 + n * cost).
    expect(fractions.length).toBe(Math.floor((budget * 1000) / (cost * (1 - budget))));
  });

  it('looking back only, overshoots by at most one analysis', () => {
    const budget = 0.05;
    const cost = 3;
    const { fractions, total, spent } = simulate(budget, cost, 2000, false);
    let wall = 0;
    const overshoots = fractions.slice(1).map((f, i) => {
      wall = (cost * (i + 2)) / f; // wall time at the (i + 2)-th analysis
      return f - budget - cost / wall;
    });
    expect(Math.max(...overshoots)).toBeLessThanOrEqual(0);
    expect(Math.abs(spent / total - budget)).toBeLessThanOrEqual(cost / total);
  });
});

describe('expectedTrainingSeconds', () => {
  it('extends the time so far by the remaining steps at the pace after the first', () => {
    const forecast = (o: Parameters<typeof expectedTrainingSeconds>[0]) =>
      expectedTrainingSeconds(o);
    expect(
      forecast({ trainingSeconds: 1.5, steps: 2, plannedSteps: 100, firstStepSeconds: 1 }),
    ).toBe(50.5);
    // One step: its own time is the pace.
    expect(forecast({ trainingSeconds: 2, steps: 1, plannedSteps: 10, firstStepSeconds: 2 })).toBe(
      20,
    );
    // No plan, no step, or the plan already done: the time so far.
    expect(forecast({ trainingSeconds: 3, steps: 4 })).toBe(3);
    expect(forecast({ trainingSeconds: 3, steps: 0, plannedSteps: 10 })).toBe(3);
    expect(forecast({ trainingSeconds: 3, steps: 10, plannedSteps: 10 })).toBe(3);
    expect(() => forecast({ trainingSeconds: -1, steps: 1 })).toThrow(RangeError);
    expect(() => forecast({ trainingSeconds: 1, steps: 1, plannedSteps: Number.NaN })).toThrow(
      /plannedSteps/,
    );
  });
});
