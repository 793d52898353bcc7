/**
 * The few numbers of a report a person watching training looks at first, for the `verbose`
 * line and the epoch logs.
 */
import type { CurvatureReport } from '@hessian-probe/core';

/**
 * The headline numbers of a report, keyed for tfjs logs: `hessian_lambda_max` (largest
 * eigenvalue), `hessian_lambda_min`, `hessian_trace`, `hessian_negative_fraction` (of the
 * spectral density below its negative cutoff), `hessian_block_off_diagonal_ratio` and
 * `hessian_loss` (on the probe set); only those the report has, finite or not.
 *
 * @example
 * ```ts
 * headlineNumbers(report); // { hessian_lambda_max: 12.5, hessian_trace: 340.2, hessian_loss: 0.31 }
 * ```
 */
export function headlineNumbers(report: CurvatureReport): Record<string, number> {
  const numbers: Record<string, number | undefined> = {
    hessian_lambda_max: report.eigen?.values[0],
    hessian_lambda_min: report.lambdaMin?.value,
    hessian_trace: report.trace?.estimate,
    hessian_negative_fraction: report.density?.negativeFraction,
    hessian_block_off_diagonal_ratio: report.blocks?.offDiagonalRatio,
    hessian_loss: report.loss,
  };
  return Object.fromEntries(
    Object.entries(numbers).filter((entry): entry is [string, number] => entry[1] !== undefined),
  );
}

/**
 * One line for a person: where in training, the headline numbers, the cost. E.g.
 * `epoch 3, step 120: λmax 12.5, trace 340 ± 12, loss 0.312 (2.31 s, 183 products)`.
 */
export function headlineLine(report: CurvatureReport): string {
  const parts: string[] = [];
  const show = (value: number) => (Number.isFinite(value) ? value.toPrecision(3) : String(value));
  if (report.eigen) parts.push(`λmax ${show(report.eigen.values[0])}`);
  if (report.lambdaMin) parts.push(`λmin ${show(report.lambdaMin.value)}`);
  if (report.trace) {
    const { estimate, stderr } = report.trace;
    parts.push(`trace ${show(estimate)}${stderr > 0 ? ` ± ${show(stderr)}` : ''}`);
  }
  if (report.density) parts.push(`negative fraction ${show(report.density.negativeFraction)}`);
  if (report.blocks) parts.push(`off-diagonal blocks ${show(report.blocks.offDiagonalRatio)}`);
  parts.push(`loss ${show(report.loss)}`);
  const where = `epoch ${report.epoch}, step ${report.step}`;
  return `${where}: ${parts.join(', ')} (${report.seconds.toFixed(2)} s, ${report.matvecs} products)`;
}
