import type * as z from 'zod';
import type { AnalysisContext } from './context.js';

/** The report schemas of an analysis: one zod schema per report section it writes. */
export type ReportSchemas = Readonly<Record<string, z.ZodType>>;

/** Sections as an analysis hands them over (number arrays may be Float64Arrays). */
export type SectionsOf<R extends ReportSchemas> = { -readonly [K in keyof R]?: z.input<R[K]> };

/** What one analysis produced: its report sections and the products it spent. */
export interface AnalysisOutput<R extends ReportSchemas = ReportSchemas> {
  readonly sections: SectionsOf<R>;
  /** Matrix-vector products (Hessian, Gauss–Newton or vector-Jacobian) spent. */
  readonly matvecs: number;
}

/**
 * What an analysis needs of the model, declared so that a request can be checked against what
 * is known before the model is (the callback checks its kind and loss at construction).
 */
export interface AnalysisNeeds {
  /** The curvature must be this kind (e.g. the Hessian, to compare it with the GGN). */
  readonly kind?: 'hessian';
  /** The loss must be this one (e.g. softmax cross-entropy for the class hierarchy). */
  readonly loss?: 'softmaxCrossEntropy';
  /** The tfjs model itself (its layers), not only its curvature. */
  readonly model?: boolean;
  /** The Gauss–Newton operator besides the curvature. */
  readonly gaussNewton?: boolean;
  /** The curvature cut by output unit or class (permuted coordinates). */
  readonly units?: boolean;
}

/**
 * One analysis of the registry (docs/design.md): everything about it in one module.
 *
 * @typeParam O - its options, as parsed (defaults filled in).
 * @typeParam R - the schemas of the report sections it writes.
 */
export interface Analysis<O = Record<string, unknown>, R extends ReportSchemas = ReportSchemas> {
  /** Its key in a request (`analyses: { [name]: true | options }`). */
  readonly name: string;
  /** One line for docs and `--help`. */
  readonly description: string;
  /** The options: defaults, bounds, docs. `true` in a request means `options.parse({})`. */
  readonly options: z.ZodType<O>;
  /**
   * The report sections it writes, by key, each a zod schema: the report schema (types,
   * validation, JSON Schema) is the base fields plus every analysis's sections.
   */
  readonly report: R;
  /** Runs when a request does not name it (eigen and trace). */
  readonly onByDefault: boolean;
  /** What it needs of the model with these options (default: the curvature operator only). */
  needs?(options: O): AnalysisNeeds;
  /**
   * Checks the options against the context's sizes (e.g. k <= P) before any work, throwing an
   * OptionError that names the option; what `needs` declares is checked before this.
   */
  check(options: O, context: AnalysisContext): void;
  /**
   * The most products `run` may spend with these options on this context (an upper bound:
   * the callback's budget forecast is the sum over the requested analyses).
   */
  cost(options: O, context: AnalysisContext): number;
  /** Computes its sections; `seed` is its own (see `analysisSeeds`). */
  run(options: O, context: AnalysisContext, seed: number): Promise<AnalysisOutput<R>>;
}

/** Declares an analysis with its name, options and sections types inferred. */
export function defineAnalysis<
  N extends string,
  S extends z.ZodType<Record<string, unknown>>,
  R extends ReportSchemas,
>(
  analysis: Omit<Analysis<z.output<S>, R>, 'options' | 'name'> & { name: N; options: S },
): Analysis<z.output<S>, R> & { readonly name: N; readonly options: S } {
  return analysis as unknown as Analysis<z.output<S>, R> & {
    readonly name: N;
    readonly options: S;
  };
}
