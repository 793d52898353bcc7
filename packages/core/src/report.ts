/**
 * The `CurvatureReport`: its schema (report/schema.ts, composed of each analysis's sections)
 * and its JSON encoding (report/codec.ts).
 */
import type { ReportSection } from './report/schema.js';

export {
  decodeReport,
  encodeReport,
  normalizeReport,
  ReportFormatError,
} from './report/codec.js';
export {
  type CurvatureKind,
  type CurvatureReport,
  type CurvatureReportInput,
  REPORT_SCHEMA,
  REPORT_SCHEMA_VERSION,
  type ReportSection,
  reportJsonSchema,
} from './report/schema.js';

/** The `eigen` section: the k largest eigenvalues with their residuals. */
export type ReportEigen = ReportSection<'eigen'>;
/** The `lambdaMin` section. */
export type ReportLambdaMin = ReportSection<'lambdaMin'>;
/** The `trace` section. */
export type ReportTrace = ReportSection<'trace'>;
/** How a trace was estimated. */
export type ReportTraceMethod = NonNullable<ReportTrace['method']>;
/** The `density` section. */
export type ReportDensity = ReportSection<'density'>;
/** The `blocks` section. */
export type ReportBlocks = ReportSection<'blocks'>;
/** One layer of the `layers` section. */
export type ReportLayer = ReportSection<'layers'>[number];
/** The `layerCoupling` section. */
export type ReportLayerCoupling = ReportSection<'layerCoupling'>;
/** The `gaussNewtonGap` section. */
export type ReportGaussNewtonGap = ReportSection<'gaussNewtonGap'>;
/** One layer of the `kronecker` section. */
export type ReportKroneckerLayer = ReportSection<'kronecker'>[number];
/** The `classes` section. */
export type ReportClasses = ReportSection<'classes'>;
