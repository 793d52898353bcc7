import * as z from 'zod';
import { topEigenpairs } from '../eigenpairs.js';
import { bool, count, nonNegative, number, record } from '../report/fields.js';
import { integer, positive } from './options.js';
import { defineAnalysis } from './types.js';

/** The report's `lambdaMin` section. */
export const LAMBDA_MIN_SECTION = record({
  value: number().describe('λmin, in eigenvalue units.'),
  residual: nonNegative().describe('‖Av − λv‖ of the pair.'),
  converged: bool().describe('Whether the pair met the stopping criterion.'),
  matvecs: count().describe('Matrix-vector products spent.'),
});

/**
 * The smallest (most negative) eigenvalue of the curvature, with its residual: how strongly the
 * loss curves downward somewhere near the current weights (a saddle when it is negative and
 * resolvable). Thick-restart Lanczos at the low end (`topEigenpairs` with `which: 'smallest'`).
 * Report section `lambdaMin`.
 */
export const lambdaMinAnalysis = defineAnalysis({
  name: 'lambdaMin',
  description: 'the smallest eigenvalue (thick-restart Lanczos at the low end)',
  report: { lambdaMin: LAMBDA_MIN_SECTION },
  onByDefault: false,
  options: z
    .object({
      /** Relative residual tolerance (default 1e-3), as for `eigen`. */
      tol: positive(1).default(1e-3),
      /** Most products the eigensolver may spend, an integer >= 1 (default 150). */
      maxMatvecs: integer(1).default(150),
    })
    .strict(),
  check() {},
  cost: (options) => options.maxMatvecs,
  async run(options, context, seed) {
    const run = await topEigenpairs(context.operator, {
      k: 1,
      which: 'smallest',
      ...options,
      seed,
    });
    return {
      sections: {
        lambdaMin: {
          value: run.values[0],
          residual: run.residuals[0],
          converged: run.converged,
          matvecs: run.matvecs,
        },
      },
      matvecs: run.matvecs,
    };
  },
});
