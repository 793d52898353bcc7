import type { CurvatureReport } from '@hessian-probe/core';
import { describe, expect, it } from 'vitest';
import { syntheticReport } from '../../test/synthetic-reports.js';
import { deliverReport, type ReportDestination } from './deliver.js';

describe('deliverReport', () => {
  const report = syntheticReport({ epoch: 1 });

  /** A destination that records what it got, then behaves as told. */
  function destination(
    name: string,
    got: string[],
    behaviour: (report: CurvatureReport) => unknown = () => undefined,
  ): ReportDestination {
    return {
      name,
      deliver: (r) => {
        got.push(name);
        return behaviour(r);
      },
    };
  }

  it('gives every destination the report though others throw, reject or hang', async () => {
    const got: string[] = [];
    const never = new Promise<void>(() => {});
    const boom = new Error('disk full');
    const started = performance.now();
    const failures = await deliverReport(
      report,
      [
        destination('throws', got, () => {
          throw boom;
        }),
        destination('rejects', got, () => Promise.reject(new TypeError('bad'))),
        destination('hangs', got, () => never),
        destination('slow but in time', got, () => new Promise((r) => setTimeout(r, 20))),
        destination('fine', got),
      ],
      0.25,
    );
    const seconds = (performance.now() - started) / 1000;
    expect(got).toEqual(['throws', 'rejects', 'hangs', 'slow but in time', 'fine']);
    expect(failures.map((f) => [f.sink, f.timedOut])).toEqual([
      ['throws', false],
      ['rejects', false],
      ['hangs', true],
    ]);
    expect(failures[0].error).toBe(boom);
    expect(failures[1].error).toBeInstanceOf(TypeError);
    expect(String(failures[2].error)).toMatch(/hangs did not finish within 0.25 s/);
    // Waited for the timeout once, not once per destination, and not forever.
    expect(seconds).toBeGreaterThanOrEqual(0.24);
    expect(seconds).toBeLessThan(2);
  });

  it('ignores a rejection that comes after the timeout (no unhandled rejection)', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const failures = await deliverReport(
        report,
        [
          {
            name: 'late',
            deliver: () =>
              new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 80)),
          },
        ],
        0.02,
      );
      expect(failures.map((f) => f.timedOut)).toEqual([true]);
      await new Promise((r) => setTimeout(r, 150));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  it('resolves with no failures when there is no destination or all succeed', async () => {
    expect(await deliverReport(report, [], 1)).toEqual([]);
    expect(await deliverReport(report, [destination('a', []), destination('b', [])], 1)).toEqual(
      [],
    );
  });
});
