import * as z from 'zod';
import {
  count,
  nonNegative,
  number,
  oneOf,
  record,
  text,
  uniquelyNamed,
} from '../report/fields.js';
import { estimateTrace } from '../trace.js';
import { integer } from './options.js';
import { defineAnalysis } from './types.js';

/** The report's `trace` section (also written by the ONNX adapter's forward-only estimate). */
export const TRACE_SECTION = record({
  estimate: number().describe('The estimate of tr A, in eigenvalue units.'),
  stderr: nonNegative().describe('Its standard error; NaN with fewer than two probes.'),
  matvecs: count().describe('Matrix-vector products spent (0 for second differences).'),
  method: oneOf(['hutch++', 'hutchinson', 'second-difference'])
    .optional()
    .describe(
      "How it was estimated: from products ('hutch++', 'hutchinson'), or Hutchinson on quadratic forms from loss values alone ('second-difference').",
    ),
  roundingBound: nonNegative()
    .optional()
    .describe('Rounding bound of a second-difference estimate.'),
  forwardPasses: count().optional().describe('Forward passes of a second-difference estimate.'),
  blocks: uniquelyNamed(
    record({
      name: text(),
      estimate: number(),
      stderr: nonNegative(),
      roundingBound: nonNegative().optional(),
    }),
  )
    .optional()
    .describe("The trace of each block's own diagonal block, when estimated per block."),
});

/**
 * tr H with its standard error, from products only: Hutchinson, Hutch++, or the better of the
 * two for this operator (`estimateTrace`'s `'auto'`; Hutchinson 1989; Meyer, Musco, Musco &
 * Woodruff 2021). Report section `trace`.
 */
export const traceAnalysis = defineAnalysis({
  name: 'trace',
  description: "the trace with its standard error (Hutchinson / Hutch++, 'auto' picks)",
  report: { trace: TRACE_SECTION },
  onByDefault: true,
  options: z
    .object({
      /** Products to spend, an integer >= 3 (default 30). */
      matvecs: integer(3).default(30),
      /** `'auto'` (default), `'hutch++'` or `'hutchinson'` (see `estimateTrace`). */
      method: z.enum(['auto', 'hutch++', 'hutchinson']).default('auto'),
    })
    .strict(),
  check() {},
  cost: (options) => options.matvecs,
  async run(options, context, seed) {
    const run = await estimateTrace(context.operator, { ...options, seed });
    return {
      sections: {
        trace: {
          estimate: run.estimate,
          stderr: run.stderr,
          matvecs: run.matvecs,
          method: run.method,
        },
      },
      matvecs: run.matvecs,
    };
  },
});
