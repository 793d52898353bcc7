/**
 * `@hessian-probe/tfjs-callback`: curvature analyses during `model.fit()`.
 *
 * {@link hessianCallback}, the `fit()`/`fitDataset()` callback that turns curvature analyses of
 * the model being trained into reports; the pieces it is built on, usable alone:
 * {@link createSchedule}, which decides at which lifecycle events (train begin, every N epochs,
 * every N batches, train end) an analysis runs, and {@link budgetAllows}, the rule that thins
 * that schedule to keep analyses within a fraction of training wall time;
 * {@link curvatureMetrics} (Prometheus metrics on prom-client), {@link serveMetrics} (the
 * /metrics server) and {@link pushMetrics} (Pushgateway); the JSONL report sink
 * {@link jsonlSink} and its reader {@link readReports}; the TensorBoard sink
 * {@link tensorBoardSink}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { curvatureMetrics, hessianCallback, serveMetrics } from '@hessian-probe/tfjs-callback';
 * const metrics = curvatureMetrics();
 * const server = await serveMetrics({ registry: metrics.registry });
 * const probe = { x: x.slice(0, 256), y: y.slice(0, 256) }; // a fixed batch
 * const callback = hessianCallback({ tf, probe, metrics });
 * await model.fit(x, y, { epochs: 5, callbacks: [callback] });
 * console.log(server.url, callback.history);
 * ```
 *
 * @packageDocumentation
 */

export { type CallbackStats, type HessianCallback, hessianCallback } from './callback.js';
export {
  type CurvatureMetrics,
  type CurvatureMetricsLabels,
  type CurvatureMetricsOptions,
  type CurvatureRecordContext,
  curvatureMetrics,
  MAX_SINK_LABELS,
  MAX_SKIP_REASONS,
} from './metrics.js';
export type {
  AnalysisTime,
  FitModel,
  HessianCallbackOptions,
  NumberArrays,
  ProbeData,
} from './options.js';
export {
  type BudgetState,
  budgetAllows,
  createSchedule,
  expectedTrainingSeconds,
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
export { type SummaryWriterLike, tensorBoardSink } from './sinks/tensorboard.js';
export type { CallbackLogs } from './weights.js';
