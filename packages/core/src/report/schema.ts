/**
 * The `CurvatureReport` schema, declared once (zod): the base fields of every report plus each
 * analysis's sections (declared in its module, see `REPORT_SECTION_SCHEMAS`). The TypeScript
 * types, the checks of `normalizeReport` / `decodeReport` and the published JSON Schema
 * (`curvature-report.schema.json`) all come from it.
 */
import * as z from 'zod';
import {
  type AllReportSchemas,
  REPORT_SECTION_SCHEMAS,
  type ReportSections,
  type ReportSectionsInput,
} from '../analysis/registry.js';
import {
  count,
  JSON_SCHEMA_OF,
  LAYOUT,
  nonNegative,
  number,
  oneOf,
  record,
  safeInteger,
  text,
} from './fields.js';

/**
 * The schema version this module writes. It is bumped only by a breaking change (a field
 * renamed, removed, or given a new meaning); new analyses add optional fields and keep it.
 * Version 2 renamed `negativeMass` (a share of eigenvalues) to `negativeFraction`, so that it
 * cannot be confused with the layers' `negativeTraceMass` (a share of |λ|); `decodeReport`
 * still reads version 1.
 */
export const REPORT_SCHEMA_VERSION = 2;

export type { CurvatureKind } from './fields.js';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** The fields of every report besides its analysis sections. */
export const REPORT_BASE = record({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION, {
    error: `${REPORT_SCHEMA_VERSION} (a newer hessian-probe may have written it)`,
  }),
  epoch: count().describe('Epochs completed before the analysis (0 at train begin).'),
  step: count().describe('Optimizer steps completed in this fit() before the analysis.'),
  batch: count().optional().describe('Batch within the epoch, when a batch end triggered it.'),
  timestamp: text()
    .refine((t) => ISO_8601.test(t) && Number.isFinite(Date.parse(t)), {
      error: 'an ISO 8601 date-time such as "2025-01-31T12:00:00.000Z"',
    })
    .describe('When the analysis started, ISO 8601.'),
  wallSeconds: nonNegative().optional().describe('Seconds of training before the analysis.'),
  kind: oneOf(['hessian', 'ggn']).optional().describe('The curvature matrix; absent: Hessian.'),
  model: record({
    name: text().describe("The model's name (tfjs model.name, or the ONNX graph name)."),
    parameterCount: count(1).describe('Number of trainable parameters P.'),
    layout: LAYOUT.describe('How the flat parameter vector splits into named blocks.'),
  }).check((ctx) => {
    if (ctx.value.layout.dim !== ctx.value.parameterCount) {
      ctx.issues.push({
        code: 'custom',
        message: `model.parameterCount (${ctx.value.parameterCount})`,
        path: ['layout', 'dim'],
        input: ctx.value.layout.dim,
      });
    }
  }),
  probe: record({
    size: count(1).describe('Examples in the probe set.'),
    seed: safeInteger().describe("Seed of the analyses' random probes."),
  }),
  loss: number().describe('Loss on the probe set (NaN or ±Infinity if it diverged).'),
  seconds: nonNegative()
    .refine((s) => !Number.isNaN(s), { error: 'a number >= 0' })
    .describe('Wall-clock seconds the whole analysis took.'),
  matvecs: count().describe('Matrix-vector products the whole analysis spent.'),
});

/** The whole report: the base fields and every analysis's optional sections. */
export const REPORT_SCHEMA = REPORT_BASE.extend(
  Object.fromEntries(
    Object.entries(REPORT_SECTION_SCHEMAS as Record<string, z.ZodType>).map(([key, schema]) => [
      key,
      schema.optional(),
    ]),
  ),
);

/**
 * Everything one curvature analysis found, as plain data: the single type that the callback's
 * history, the JSONL sink, the Prometheus metrics, plots and ONNX metadata all render. Optional
 * sections are absent when their analysis did not run. Numbers may be NaN or ±Infinity; write
 * reports with `encodeReport`, not `JSON.stringify`, which would turn those into `null`.
 * Unknown fields (from newer analyses) are kept by every reader.
 *
 * @example
 * ```ts
 * const report = await analyzeModel(model, { tf, x, y });
 * report.eigen?.values[0]; // λmax
 * ```
 */
export type CurvatureReport = z.output<typeof REPORT_BASE> & ReportSections;

/** A {@link CurvatureReport} as producers may hand it over: number arrays may be Float64Arrays. */
export type CurvatureReportInput = z.input<typeof REPORT_BASE> & ReportSectionsInput;

/** A report section's type, by key (e.g. `ReportSection<'eigen'>`). */
export type ReportSection<K extends keyof AllReportSchemas> = NonNullable<ReportSections[K]>;

/**
 * The JSON Schema (draft 2020-12) of an encoded report, for readers in other languages: numbers
 * that may be NaN or ±Infinity are written as the strings "NaN", "Infinity", "-Infinity".
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('curvature-report.schema.json', JSON.stringify(reportJsonSchema(), null, 2));
 * ```
 */
export function reportJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(REPORT_SCHEMA, {
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      // The number fields: JSON numbers (integers, bounded) or the strings of NaN and ±Infinity.
      const documented = JSON_SCHEMA_OF.get((zodSchema as unknown as z.ZodType)._zod.def);
      if (documented === undefined) return;
      const { description } = jsonSchema as { description?: string };
      for (const key of Object.keys(jsonSchema))
        delete (jsonSchema as Record<string, unknown>)[key];
      Object.assign(jsonSchema, documented, description === undefined ? {} : { description });
    },
  }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://hessian-probe.dev/schemas/curvature-report.schema.json',
    title: 'CurvatureReport',
    description: `hessian-probe curvature report, schema version ${REPORT_SCHEMA_VERSION}`,
  };
}
