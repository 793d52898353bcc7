/**
 * Curvature reports into TensorBoard, where tfjs-node users already look: scalars and the
 * spectral density as a histogram, through tfjs-node's summary file writer.
 */
import { type CurvatureReport, OptionError } from '@hessian-probe/core';
import type { Tf } from '@hessian-probe/core/tfjs';
import type { Tensor } from '@tensorflow/tfjs-core';
import { headlineNumbers } from '../headline.js';

/** The part of tfjs-node's `SummaryFileWriter` (`tf.node.summaryFileWriter(logdir)`) used. */
export interface SummaryWriterLike {
  scalar(name: string, value: number, step: number): void;
  histogram(name: string, data: Tensor, step: number, buckets?: number): void;
  flush(): void;
}

/** Points drawn from a density to stand for it in a TensorBoard histogram. */
export const DENSITY_HISTOGRAM_POINTS = 1000;

/**
 * A report sink writing to TensorBoard event files. Scalars, under `hessian/`: the headline
 * numbers (`lambda_max`, `lambda_min`, `trace`, `negative_fraction`,
 * `block_off_diagonal_ratio`, `loss`), `trace_stderr`, `eigenvalue_<rank>`,
 * `block_off_diagonal_to_diagonal/{within,cross}_layer` (Σ‖H_ij‖²_F over those pairs / Σ‖H_ii‖²_F), `layer/<name>/{lambda_max,trace}`. The spectral
 * density as the histogram `hessian/spectral_density`: `DENSITY_HISTOGRAM_POINTS` = 1000 points at
 * its quantiles (TensorBoard bins raw values; these reproduce the density's shape). The step is
 * the report's optimizer step, counted on across fit() calls (a report whose step is below the
 * previous one's starts a new fit), so every series is monotone in it.
 *
 * Only with the native backend: tfjs-node's writer needs 'tensorflow' to be the active backend
 * (a write on another fails, and the callback counts it as a sink error).
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when `writer` lacks `scalar`,
 *   `histogram` or `flush`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-node';
 * const sink = tensorBoardSink(tf, tf.node.summaryFileWriter('runs/r1/tensorboard'));
 * sink.write(report); // or: hessianCallback({ tf, probe, tensorBoard: 'runs/r1/tensorboard' })
 * ```
 */
export function tensorBoardSink(
  tf: Tf,
  writer: SummaryWriterLike,
): { write(report: CurvatureReport): void } {
  for (const method of ['scalar', 'histogram', 'flush'] as const) {
    if (typeof (writer as Partial<SummaryWriterLike> | null)?.[method] !== 'function') {
      throw new OptionError(
        `tensorBoardSink: expected writer to be tf.node.summaryFileWriter(logdir) (with ${method}()), got ${String(writer)}`,
      );
    }
  }
  let offset = 0;
  let previous = -1;
  return {
    write(report) {
      if (report.step < previous) offset += previous;
      previous = report.step;
      const step = offset + report.step;
      const scalar = (name: string, value: number) => writer.scalar(`hessian/${name}`, value, step);
      for (const [key, value] of Object.entries(headlineNumbers(report))) {
        scalar(key.replace(/^hessian_/, ''), value);
      }
      if (report.trace) scalar('trace_stderr', report.trace.stderr);
      for (const [i, value] of (report.eigen?.values ?? []).entries()) {
        scalar(`eigenvalue_${i + 1}`, value);
      }
      const { withinLayer, crossLayer } = report.blocks ?? {};
      if (withinLayer) scalar('block_off_diagonal_to_diagonal/within_layer', withinLayer.massRatio);
      if (crossLayer) scalar('block_off_diagonal_to_diagonal/cross_layer', crossLayer.massRatio);
      for (const layer of report.layers ?? []) {
        scalar(`layer/${layer.name}/lambda_max`, layer.lambdaMax);
        scalar(`layer/${layer.name}/trace`, layer.trace);
      }
      if (report.density) {
        const points = densityQuantiles(report.density.grid, report.density.values);
        if (points.length > 0) {
          const data = tf.tensor1d(points, 'float32');
          try {
            writer.histogram('hessian/spectral_density', data, step);
          } finally {
            data.dispose();
          }
        }
      }
      writer.flush();
    },
  };
}

/**
 * `count` points at the (k + ½)/count quantiles of the density `values` on the ascending,
 * evenly spaced `grid` (trapezoidal CDF, linear inverse); none for a density of zero mass.
 */
export function densityQuantiles(
  grid: readonly number[],
  values: readonly number[],
  count = DENSITY_HISTOGRAM_POINTS,
): Float32Array {
  const cdf = [0];
  for (let i = 1; i < grid.length; i++) {
    const mass = ((values[i] + values[i - 1]) / 2) * (grid[i] - grid[i - 1]);
    cdf.push(cdf[i - 1] + Math.max(0, mass));
  }
  const total = cdf[cdf.length - 1];
  if (!(total > 0) || !Number.isFinite(total)) return new Float32Array(0);
  const points = new Float32Array(count);
  let i = 1;
  for (let k = 0; k < count; k++) {
    const target = ((k + 0.5) / count) * total;
    while (cdf[i] < target) i++;
    const width = cdf[i] - cdf[i - 1];
    const t = width > 0 ? (target - cdf[i - 1]) / width : 0;
    points[k] = grid[i - 1] + t * (grid[i] - grid[i - 1]);
  }
  return points;
}
