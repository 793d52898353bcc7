/**
 * A {@link CurvatureReport} carried inside the model file, in `ModelProto.metadata_props`
 * (field 14): the compact JSON of {@link encodeReport} under {@link REPORT_KEY}, plus headline
 * keys that ONNX tools (Netron, `onnx.load(...).metadata_props`) show without parsing JSON.
 *
 * The bytes are spliced, not re-encoded: every top-level field of the file is copied verbatim
 * except the `metadata_props` entries whose key starts with {@link KEY_PREFIX}, and the new
 * entries are appended (protobuf concatenates repeated fields). So fields this package's
 * schema (ONNX 1.10.2) does not know survive, and onnxruntime computes bit-identical outputs.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type CurvatureReport,
  type CurvatureReportInput,
  decodeReport,
  encodeReport,
  normalizeReport,
  OptionError,
} from '@hessian-probe/core';
import { writeFileAtomic } from './atomic-write.js';
import { decodeModel, onnx, scanFields, type WireField } from './proto.js';

export { writeFileAtomic };

/** Prefix of every metadata key this package writes (and replaces). */
export const KEY_PREFIX = 'hessian_probe.';
/**
 * Metadata key of the whole report, as compact JSON
 * ({@link @hessian-probe/core!index.encodeReport | encodeReport}).
 */
export const REPORT_KEY = 'hessian_probe.report';

/** `ModelProto.metadata_props` is field 14, length-delimited. */
const METADATA_FIELD = 14;

/** The `metadata_props` key of a field, when it is one. */
function metadataKey(f: WireField): string | undefined {
  if (f.field !== METADATA_FIELD || f.payload === undefined) return undefined;
  return onnx.StringStringEntryProto.decode(f.payload).key;
}

function headline(report: CurvatureReport): Record<string, string> {
  const keys: Record<string, string> = {
    [REPORT_KEY]: encodeReport(report),
    'hessian_probe.schema_version': String(report.schemaVersion),
    'hessian_probe.timestamp': report.timestamp,
    'hessian_probe.loss': String(report.loss),
  };
  if (report.eigen !== undefined && report.eigen.values.length > 0) {
    keys['hessian_probe.lambda_max'] = String(report.eigen.values[0]);
  }
  if (report.trace !== undefined) keys['hessian_probe.trace'] = String(report.trace.estimate);
  return keys;
}

/**
 * Returns `.onnx` bytes carrying `report` in `metadata_props`: {@link REPORT_KEY} (the compact
 * JSON) and the headline keys `hessian_probe.schema_version`, `.timestamp`, `.loss`,
 * `.lambda_max` (largest eigenvalue, when the report has eigenvalues) and `.trace` (the trace
 * estimate, when present), numbers in JavaScript's shortest round-trip form. Earlier
 * `hessian_probe.*` entries are replaced; every other byte is kept, in order.
 *
 * @throws {@link OnnxFormatError} for bytes that are not an ONNX model;
 *   {@link @hessian-probe/core!index.ReportFormatError | ReportFormatError} for a malformed report.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const annotated = annotateModel(readFileSync('mlp.onnx'), report);
 * readAnnotation(annotated)?.eigen?.values; // the report's eigenvalues
 * ```
 */
export function annotateModel(bytes: Uint8Array, report: CurvatureReportInput): Uint8Array {
  decodeModel(bytes, 'annotateModel');
  const keys = headline(normalizeReport(report));
  const kept = scanFields(bytes, 'annotateModel').filter(
    (f) => !metadataKey(f)?.startsWith(KEY_PREFIX),
  );
  const added = onnx.ModelProto.encode({
    metadataProps: Object.entries(keys).map(([key, value]) => ({ key, value })),
  }).finish();
  const size = kept.reduce((s, f) => s + f.end - f.start, 0) + added.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const f of kept) {
    out.set(bytes.subarray(f.start, f.end), at);
    at += f.end - f.start;
  }
  out.set(added, at);
  return out;
}

/**
 * The report attached by {@link annotateModel}, or `undefined` when the model carries none.
 *
 * @throws {@link OnnxFormatError} for bytes that are not an ONNX model;
 *   {@link @hessian-probe/core!index.ReportFormatError | ReportFormatError} when the attached JSON
 *   is not a valid report.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const report = readAnnotation(readFileSync('mlp.annotated.onnx'));
 * console.log(report?.trace?.estimate);
 * ```
 */
export function readAnnotation(bytes: Uint8Array): CurvatureReport | undefined {
  const model = decodeModel(bytes, 'readAnnotation');
  const entry = model.metadataProps.filter((p) => p.key === REPORT_KEY).at(-1);
  return entry === undefined ? undefined : decodeReport(entry.value ?? '');
}

/** Options of {@link annotateFile}. */
export interface AnnotateFileOptions {
  /** Allow `output` to be the input file itself; default false. */
  readonly overwrite?: boolean;
}

/**
 * Reads the model at `input`, annotates it with `report` ({@link annotateModel}) and writes it
 * atomically ({@link writeFileAtomic}) to `output`. Refuses to replace the input unless
 * `overwrite` is true.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when `output` is `input`
 *   without `overwrite`; as {@link annotateModel} otherwise.
 * @example
 * ```ts
 * await annotateFile('mlp.onnx', 'mlp.annotated.onnx', report);
 * ```
 */
export async function annotateFile(
  input: string,
  output: string,
  report: CurvatureReportInput,
  options: AnnotateFileOptions = {},
): Promise<void> {
  if (resolve(input) === resolve(output) && options.overwrite !== true) {
    throw new OptionError(
      `annotateFile: expected an output path other than the input (${input}), got the same; pass overwrite: true to replace it`,
    );
  }
  await writeFileAtomic(output, annotateModel(await readFile(input), report));
}
