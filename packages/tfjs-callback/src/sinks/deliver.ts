/**
 * Handing one report to every sink, isolated from each other: a sink that throws, rejects or
 * never settles neither keeps the report from the others nor holds up training for longer
 * than its timeout.
 */
import type { CurvatureReport } from '@hessian-probe/core';

/** One place reports go: the metrics, the JSONL file, the user's `onReport`, TensorBoard. */
export interface ReportDestination {
  /** Its name in logs and in `hessian_sink_errors_total{sink}`, e.g. `'jsonl'`. */
  readonly name: string;
  /** Stores or forwards one report; may be async. */
  deliver(report: CurvatureReport): unknown;
}

/** A destination that did not take a report. */
export interface DeliveryFailure {
  /** The destination's name. */
  readonly sink: string;
  /** What it threw or rejected with; for a timeout, an Error saying so. */
  readonly error: unknown;
  /** Whether it failed by not settling within the timeout. */
  readonly timedOut: boolean;
}

/**
 * Delivers `report` to every destination at once and waits for each to settle, at most
 * `timeoutSeconds` (then it counts as failed; whatever it still does later is ignored, its
 * rejection included). Never rejects: the failures come back, in destination order.
 *
 * @example
 * ```ts
 * const sink = jsonlSink('runs/r1/reports.jsonl');
 * const failures = await deliverReport(report, [
 *   { name: 'jsonl', deliver: (r) => sink.write(r) },
 *   { name: 'log', deliver: (r) => console.log(r.eigen?.values[0]) },
 * ], 10);
 * for (const f of failures) console.warn(`${f.sink} failed: ${String(f.error)}`);
 * ```
 */
export async function deliverReport(
  report: CurvatureReport,
  destinations: readonly ReportDestination[],
  timeoutSeconds: number,
): Promise<DeliveryFailure[]> {
  const outcomes = await Promise.all(
    destinations.map((destination) => settle(destination, report, timeoutSeconds)),
  );
  return outcomes.filter((outcome): outcome is DeliveryFailure => outcome !== undefined);
}

async function settle(
  destination: ReportDestination,
  report: CurvatureReport,
  timeoutSeconds: number,
): Promise<DeliveryFailure | undefined> {
  const { name } = destination;
  let delivery: Promise<unknown>;
  try {
    delivery = Promise.resolve(destination.deliver(report));
  } catch (error) {
    return { sink: name, error, timedOut: false };
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutSeconds * 1000);
    timer.unref();
  });
  try {
    const outcome = await Promise.race([delivery.then(() => 'done' as const), timeout]);
    if (outcome === 'done') return undefined;
    delivery.catch(() => {}); // settles later, unobserved
    const error = new Error(`${name} did not finish within ${timeoutSeconds} s`);
    return { sink: name, error, timedOut: true };
  } catch (error) {
    return { sink: name, error, timedOut: false };
  } finally {
    clearTimeout(timer);
  }
}
