import { checkSeed, createRandom } from '../random.js';
import { ANALYSIS_NAMES, type AnalysisName } from './registry.js';

/**
 * The seed of each analysis, derived from one seed: safe integers drawn from
 * `createRandom(seed)` in registry order (53 random bits each), whether or not the analysis
 * runs, so that turning one analysis on or off never changes another's numbers.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when `seed` is not a safe integer.
 *
 * @example
 * ```ts
 * const { trace } = analysisSeeds(7);
 * await estimateTrace(operator, { matvecs: 30, seed: trace }); // as in a report of seed 7
 * ```
 */
export function analysisSeeds(seed: number, where = 'analysisSeeds'): Record<AnalysisName, number> {
  checkSeed(seed, where);
  const rng = createRandom(seed);
  return Object.fromEntries(
    ANALYSIS_NAMES.map((name) => [name, Math.floor(rng.uniform() * 2 ** 53)]),
  ) as Record<AnalysisName, number>;
}
