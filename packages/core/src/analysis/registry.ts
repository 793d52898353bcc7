import * as z from 'zod';
import { classesAnalysis } from '../tfjs/analyses/classes.js';
import { kroneckerAnalysis } from '../tfjs/analyses/kronecker.js';
import { blocksAnalysis } from './blocks.js';
import { classBlocksAnalysis } from './class-blocks.js';
import { densityAnalysis } from './density.js';
import { eigenAnalysis } from './eigen.js';
import { lambdaMinAnalysis } from './lambda-min.js';
import { layersAnalysis } from './layers.js';
import { traceAnalysis } from './trace.js';
import type { Analysis } from './types.js';

/**
 * Every analysis, in the order they run and draw their seeds (see `analysisSeeds`): adding one
 * means adding its module and listing it here.
 */
export const ANALYSES = [
  eigenAnalysis,
  traceAnalysis,
  densityAnalysis,
  blocksAnalysis,
  layersAnalysis,
  kroneckerAnalysis,
  classesAnalysis,
  lambdaMinAnalysis,
  classBlocksAnalysis,
] as const;

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (
  i: infer I,
) => void
  ? I
  : never;

/** The report section schemas of every analysis, by section key. */
export type AllReportSchemas = UnionToIntersection<(typeof ANALYSES)[number]['report']>;

/** Every analysis section of a report, as checked reports carry them. */
export type ReportSections = {
  -readonly [K in keyof AllReportSchemas]?: z.output<AllReportSchemas[K]>;
};

/** Every analysis section as producers hand them over (Float64Arrays allowed). */
export type ReportSectionsInput = {
  -readonly [K in keyof AllReportSchemas]?: z.input<AllReportSchemas[K]>;
};

/** The section schemas of every analysis, merged: what the report schema adds to its base. */
export const REPORT_SECTION_SCHEMAS = Object.assign(
  {},
  ...ANALYSES.map((a) => a.report),
) as AllReportSchemas;

/** The name of an analysis of the registry. */
export type AnalysisName = (typeof ANALYSES)[number]['name'];

/** The names of the registry's analyses, in order. */
export const ANALYSIS_NAMES = ANALYSES.map((a) => a.name) as readonly AnalysisName[];

/** Options of one analysis as a request may give them: partial, defaults filled in later. */
export type AnalysisOptionsInput<N extends AnalysisName> = z.input<
  Extract<(typeof ANALYSES)[number], { name: N }>['options']
>;

/** Options of one analysis after parsing (defaults filled in). */
export type AnalysisOptions<N extends AnalysisName> = z.output<
  Extract<(typeof ANALYSES)[number], { name: N }>['options']
>;

/**
 * Which analyses to run: for each, `true` (its defaults), `false` (off) or an options object
 * (its defaults for the options it leaves out). `eigen` and `trace` run unless set to `false`;
 * the others only when named.
 *
 * @example
 * ```ts
 * const analyses: AnalysisRequest = { eigen: { k: 5 }, density: true, trace: false };
 * ```
 */
export type AnalysisRequest = {
  readonly [N in AnalysisName]?: boolean | AnalysisOptionsInput<N>;
};

/**
 * The request schema, for docs and readers in other languages: each analysis `true`, `false` or
 * its options object (see `analysisRequestJsonSchema`).
 */
export const ANALYSIS_REQUEST_SCHEMA = z
  .object(
    Object.fromEntries(
      ANALYSES.map((a) => [
        a.name,
        z
          .union([z.boolean(), a.options as unknown as z.ZodType])
          .optional()
          .describe(a.description),
      ]),
    ),
  )
  .strict();

/** The JSON Schema (draft 2020-12) of {@link AnalysisRequest}, with every default and bound. */
export function analysisRequestJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ANALYSIS_REQUEST_SCHEMA, { io: 'input' }) as Record<string, unknown>;
}

/**
 * The defaults of one analysis (its options schema parsed from `{}`): the one place they are
 * declared.
 *
 * @example
 * ```ts
 * analysisDefaults('eigen'); // { k: 3, tol: 0.001, maxMatvecs: 150, verify: true }
 * ```
 */
export function analysisDefaults<N extends AnalysisName>(name: N): AnalysisOptions<N> {
  const analysis = ANALYSES.find((a) => a.name === name) as unknown as Analysis<AnalysisOptions<N>>;
  return analysis.options.parse({});
}
