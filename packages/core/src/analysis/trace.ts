import * as z from 'zod';
import { estimateTrace } from '../trace.js';
import { integer } from './options.js';
import { defineAnalysis } from './types.js';

/**
 * tr H with its standard error, from products only: Hutchinson, Hutch++, or the better of the
 * two for this operator (`estimateTrace`'s `'auto'`; Hutchinson 1989; Meyer, Musco, Musco &
 * Woodruff 2021). Report section `trace`.
 */
export const traceAnalysis = defineAnalysis({
  name: 'trace',
  description: "the trace with its standard error (Hutchinson / Hutch++, 'auto' picks)",
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
