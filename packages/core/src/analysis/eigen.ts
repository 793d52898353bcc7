import * as z from 'zod';
import { topEigenpairs } from '../eigenpairs.js';
import { OptionError } from '../errors.js';
import { bool, count, nonNegative, numbers, record } from '../report/fields.js';
import { atLeast, flag, integer, positive } from './options.js';
import { defineAnalysis } from './types.js';

/** The report's `eigen` section. */
export const EIGEN_SECTION = record({
  values: numbers().describe('The k largest eigenvalues, descending, in eigenvalue units.'),
  residuals: numbers(nonNegative()).describe('‖Av − λv‖ of each pair, same order and units.'),
  converged: bool().describe('Whether every pair met the stopping criterion.'),
  matvecs: count().describe('Matrix-vector products spent.'),
}).check((ctx) => {
  const { values, residuals } = ctx.value;
  for (let i = 1; i < values.length; i++) {
    if (values[i] > values[i - 1]) {
      ctx.issues.push({
        code: 'custom',
        message: `<= values[${i - 1}] (${values[i - 1]}), descending`,
        path: ['values', i],
        input: values[i],
      });
    }
  }
  if (residuals.length !== values.length) {
    ctx.issues.push({
      code: 'custom',
      message: `an array of length ${values.length}`,
      path: ['residuals'],
      input: residuals,
    });
  }
});

/**
 * The k largest eigenvalues of the curvature, descending, with residual norms and whether they
 * converged: thick-restart Lanczos with a randomized certificate that no eigenvalue beyond the
 * k-th was missed (`topEigenpairs`; Wu & Simon 2000). Report section `eigen`.
 */
export const eigenAnalysis = defineAnalysis({
  name: 'eigen',
  description: 'the k largest eigenvalues (thick-restart Lanczos, certified)',
  report: { eigen: EIGEN_SECTION },
  onByDefault: true,
  options: z
    .object({
      /** Number of largest eigenvalues, an integer in [1, P] (default 3). */
      k: integer(1).default(3),
      /**
       * Relative residual tolerance (default 1e-3): ‖Hv − λv‖ <= tol·‖H‖. A float32 model's
       * products carry errors of a few 1e-7·‖H‖, so tolerances below ~2e-6 cannot be met; at
       * 1e-3 a separated eigenvalue is accurate to ~(1e-3)²·‖H‖/gap.
       */
      tol: positive(1).default(1e-3),
      /** Most products the eigensolver may spend, an integer >= k (default 150). */
      maxMatvecs: integer(1).default(150),
      /**
       * Run the verification chains that certify no eigenvalue beyond the k-th was missed
       * (default true; see `topEigenpairs`' `verify`).
       */
      verify: flag().default(true),
    })
    .strict()
    .check(atLeast('maxMatvecs', 'k')),
  check(options, context) {
    const dim = context.operator.dim;
    if (options.k > dim) {
      throw new OptionError(
        `${context.where}: expected analyses.eigen.k to be at most the parameter count ${dim}, got ${options.k}`,
      );
    }
  },
  cost: (options) => options.maxMatvecs,
  async run(options, context, seed) {
    const run = await topEigenpairs(context.operator, { ...options, seed });
    return {
      sections: {
        eigen: {
          values: Array.from(run.values),
          residuals: Array.from(run.residuals),
          converged: run.converged,
          matvecs: run.matvecs,
        },
      },
      matvecs: run.matvecs,
    };
  },
});
