/**
 * `@hessian-probe/tfjs-callback`: curvature analyses during `model.fit()`.
 *
 * Here now: {@link createSchedule}, which decides at which lifecycle events (train begin, every
 * N epochs, every N batches, train end) an analysis runs, and {@link budgetAllows}, the rule
 * that thins that schedule to keep analyses within a fraction of training wall time;
 * {@link curvatureMetrics} (Prometheus metrics on prom-client), {@link serveMetrics} (the
 * /metrics server) and {@link pushMetrics} (Pushgateway); the JSONL report sink
 * {@link jsonlSink} and its reader {@link readReports}.
 *
 * Planned (issue 4): `hessianCallback(options)`, the `fit()`/`fitDataset()` callback built on
 * these, and the demo.
 *
 * @example
 * ```ts
 * import { budgetAllows, createSchedule } from '@hessian-probe/tfjs-callback';
 * const schedule = createSchedule({ everyEpochs: 5 });
 * if (schedule.atEpochEnd(epoch) && budgetAllows({ spentSeconds, trainingSeconds, budget: 0.1 })) {
 *   // run the analysis
 * }
 * ```
 *
 * @packageDocumentation
 */

export {
  type CurvatureMetrics,
  type CurvatureMetricsLabels,
  type CurvatureMetricsOptions,
  curvatureMetrics,
  MAX_SKIP_REASONS,
} from './metrics.js';
export {
  type BudgetState,
  budgetAllows,
  createSchedule,
  type Schedule,
  type ScheduleOptions,
} from './schedule.js';
export {
  MetricsPushError,
  type MetricsServer,
  MetricsServerError,
  type MetricsSource,
  type PushMetricsOptions,
  pushMetrics,
  type ServeMetricsOptions,
  serveMetrics,
} from './server.js';
export {
  type JsonlSink,
  jsonlSink,
  type ReadReportsOptions,
  type ReportSink,
  readReports,
  type TornLine,
  TornLineError,
} from './sinks/jsonl.js';
