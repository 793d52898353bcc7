import type * as z from 'zod';
import type { CurvatureReport } from '../report.js';
import type { AnalysisContext } from './context.js';

/** The report sections an analysis may write. */
export type ReportSections = Partial<
  Pick<
    CurvatureReport,
    | 'eigen'
    | 'lambdaMin'
    | 'trace'
    | 'density'
    | 'blocks'
    | 'layers'
    | 'layerCoupling'
    | 'gaussNewtonGap'
    | 'kronecker'
    | 'classes'
  >
>;

/** What one analysis produced: its report sections and the products it spent. */
export interface AnalysisOutput {
  readonly sections: ReportSections;
  /** Matrix-vector products (Hessian, Gauss–Newton or vector-Jacobian) spent. */
  readonly matvecs: number;
}

/**
 * One analysis of the registry (docs/design.md): everything about it in one module.
 *
 * @typeParam O - its options, as parsed (defaults filled in).
 */
export interface Analysis<O = Record<string, unknown>> {
  /** Its key in a request (`analyses: { [name]: true | options }`). */
  readonly name: string;
  /** One line for docs and `--help`. */
  readonly description: string;
  /** The options: defaults, bounds, docs. `true` in a request means `options.parse({})`. */
  readonly options: z.ZodType<O>;
  /** Runs when a request does not name it (eigen and trace). */
  readonly onByDefault: boolean;
  /**
   * Checks the options against the context (sizes, kind, loss, capabilities) before any work,
   * throwing an OptionError that names the option, or an error naming the missing capability.
   */
  check(options: O, context: AnalysisContext): void;
  /**
   * The most products `run` may spend with these options on this context (an upper bound:
   * the callback's budget forecast is the sum over the requested analyses).
   */
  cost(options: O, context: AnalysisContext): number;
  /** Computes its sections; `seed` is its own (see `analysisSeeds`). */
  run(options: O, context: AnalysisContext, seed: number): Promise<AnalysisOutput>;
}

/** Declares an analysis with its options type inferred from the schema. */
export function defineAnalysis<S extends z.ZodType<Record<string, unknown>>>(
  analysis: Omit<Analysis<z.output<S>>, 'options'> & { options: S },
): Analysis<z.output<S>> {
  return analysis as unknown as Analysis<z.output<S>>;
}
