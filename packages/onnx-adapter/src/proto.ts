/**
 * `.onnx` bytes in and out, through the protobuf classes of `onnx-proto` (generated from ONNX
 * v1.10.2, IR version 8), and the checks that every model passes before any computation:
 * well-formed bytes, a graph, a supported opset, only standard-domain operators, and no
 * external-data initializers.
 *
 * @see https://github.com/onnx/onnx/blob/main/docs/IR.md
 */
import { HessianProbeError } from '@hessian-probe/core';
import onnxProto from 'onnx-proto';

/** The generated protobuf namespace of `onnx-proto` (`onnx.ModelProto`, `onnx.TensorProto`, …). */
export const onnx = onnxProto.onnx;

/** A decoded ONNX model (the `onnx-proto` class). */
export type ModelProto = onnxProto.onnx.ModelProto;
/** A graph node (the `onnx-proto` class). */
export type NodeProto = onnxProto.onnx.INodeProto;
/** A node attribute (the `onnx-proto` class). */
export type AttributeProto = onnxProto.onnx.IAttributeProto;
/** A tensor: initializer or `Constant` value (the `onnx-proto` class). */
export type TensorProto = onnxProto.onnx.ITensorProto;

/**
 * Lowest opset of the default domain (`''` or `'ai.onnx'`) this package accepts. Opset 7 is
 * where `Gemm`'s broadcasting and the current `Add`/`Mul` broadcasting rules begin.
 */
export const MIN_OPSET = 7;
/**
 * Highest opset of the default domain this package accepts: 21. The operator implementations
 * follow the ONNX operator changelog up to it (Softmax and LogSoftmax change axis semantics at
 * 13, Reshape gains `allowzero` at 14); newer opsets are refused until their changes are read.
 */
export const MAX_OPSET = 21;

/** Why a model was refused; the value of {@link OnnxFormatError.code}. */
export type OnnxErrorCode =
  | 'onnx-empty'
  | 'onnx-truncated'
  | 'onnx-malformed'
  | 'onnx-not-a-model'
  | 'onnx-unsupported-opset'
  | 'onnx-custom-domain'
  | 'onnx-external-data'
  | 'onnx-unsupported-op'
  | 'onnx-unsupported-dtype'
  | 'onnx-bad-graph';

/** One node an {@link OnnxFormatError} is about. */
export interface OnnxNodeRef {
  /** The node's `name` (`'(unnamed #i)'` with its index when the file gives none). */
  readonly node: string;
  /** `domain::opType`, or just `opType` in the default domain. */
  readonly opType: string;
}

/**
 * A model this package cannot read or convert. The message reads "<where>: expected …, got …";
 * `nodes` lists every node at fault (all of them, not just the first) when the problem is an
 * operator, and `cause` holds the protobuf decoder's error for bytes it could not decode.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * try {
 *   parseModel(readFileSync('mlp.onnx'));
 * } catch (e) {
 *   if (e instanceof OnnxFormatError && e.code === 'onnx-truncated') console.error(e.message);
 * }
 * ```
 */
export class OnnxFormatError extends HessianProbeError {
  override readonly code: OnnxErrorCode;
  /** The nodes at fault, for the operator-level codes; empty otherwise. */
  readonly nodes: readonly OnnxNodeRef[];

  constructor(
    code: OnnxErrorCode,
    message: string,
    options?: { cause?: unknown; nodes?: readonly OnnxNodeRef[] },
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.nodes = options?.nodes ?? [];
  }
}

/** A protobuf int64 as decoded (a `Long` object) or as built (a number). */
export type Int64 = number | { toNumber(): number };

/** An int64 field as a JavaScript number (ONNX shapes and attributes are far below 2⁵³). */
export function int64(value: Int64 | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** Whether `domain` names the default ONNX operator set. */
export function isDefaultDomain(domain: string | null | undefined): boolean {
  return domain === undefined || domain === null || domain === '' || domain === 'ai.onnx';
}

/** `domain::opType` for custom domains, `opType` for the default one. */
export function nodeRef(node: NodeProto, index: number): OnnxNodeRef {
  const opType = node.opType ?? '';
  return {
    node: node.name ? node.name : `(unnamed #${index})`,
    opType: isDefaultDomain(node.domain) ? opType : `${node.domain}::${opType}`,
  };
}

/** The default-domain opset a model imports, or `undefined` when it imports none. */
export function defaultOpset(model: ModelProto): number | undefined {
  const entry = model.opsetImport.find((o) => isDefaultDomain(o.domain));
  return entry === undefined ? undefined : int64(entry.version);
}

/** The nodes as `Op (node name), …`, for error messages. */
export function describeNodes(refs: readonly OnnxNodeRef[]): string {
  return refs.map((r) => `${r.opType} (node ${r.node})`).join(', ');
}

/**
 * Decodes `.onnx` bytes into a model without judging its operators: empty bytes →
 * `'onnx-empty'`; bytes the protobuf decoder rejects → `'onnx-truncated'` (data ends inside a
 * field) or `'onnx-malformed'`, with the decoder's error as `cause`; bytes that decode but hold
 * no graph, no IR version or no opset import → `'onnx-not-a-model'`. {@link parseModel} adds
 * the checks that conversion needs.
 *
 * @param where - the caller's name, for messages; default `'decodeModel'`.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const model = decodeModel(readFileSync('mlp.onnx'));
 * console.log(model.metadataProps);
 * ```
 */
export function decodeModel(bytes: Uint8Array, where = 'decodeModel'): ModelProto {
  if (!(bytes instanceof Uint8Array)) {
    throw new OnnxFormatError(
      'onnx-malformed',
      `${where}: expected a Uint8Array, got ${typeof bytes}`,
    );
  }
  if (bytes.length === 0) {
    throw new OnnxFormatError(
      'onnx-empty',
      `${where}: expected the bytes of an .onnx file, got 0 bytes`,
    );
  }
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const truncated = /index out of range/i.test(message);
    throw new OnnxFormatError(
      truncated ? 'onnx-truncated' : 'onnx-malformed',
      `${where}: expected a protobuf-encoded ONNX ModelProto, got ${bytes.length} bytes that ${
        truncated ? 'end in the middle of a field (truncated file?)' : 'do not decode'
      } (${message})`,
      { cause: error },
    );
  }
  const graph = model.graph;
  if (!graph || int64(model.irVersion) <= 0 || model.opsetImport.length === 0) {
    throw new OnnxFormatError(
      'onnx-not-a-model',
      `${where}: expected an ONNX model with ir_version, opset_import and a graph, got ${bytes.length} bytes with ${
        graph ? 'a graph' : 'no graph'
      }, ir_version ${int64(model.irVersion)} and ${model.opsetImport.length} opset imports`,
    );
  }
  return model;
}

/**
 * Decodes `.onnx` bytes and checks them, before any computation:
 * - empty bytes → `'onnx-empty'`; bytes the protobuf decoder rejects → `'onnx-truncated'`
 *   (data ends inside a field) or `'onnx-malformed'` (anything else), with the decoder's error
 *   as `cause`; bytes that decode but hold no graph, no IR version or no opset import (e.g.
 *   another protobuf message, or text) → `'onnx-not-a-model'`;
 * - a default-domain opset outside {@link MIN_OPSET}..{@link MAX_OPSET} →
 *   `'onnx-unsupported-opset'`;
 * - any node outside the default domain (custom or `ai.onnx.ml` operators) →
 *   `'onnx-custom-domain'`, listing them all;
 * - an initializer stored outside the file (`data_location: EXTERNAL`) → `'onnx-external-data'`
 *   (load the model with its data and re-save it as a single file, e.g. in Python
 *   `onnx.save(onnx.load(path), out, save_as_external_data=False)`).
 *
 * Operator support itself is checked by {@link convertGraph}.
 *
 * @param bytes - the whole `.onnx` file.
 * @returns the decoded model (protobufjs drops fields newer than ONNX 1.10.2's schema).
 * @throws {@link OnnxFormatError} as listed.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const model = parseModel(readFileSync('mlp.onnx'));
 * console.log(model.graph?.node?.map((n) => n.opType));
 * ```
 */
export function parseModel(bytes: Uint8Array): ModelProto {
  const model = decodeModel(bytes, 'parseModel');
  const graph = model.graph!;
  const opset = defaultOpset(model);
  if (opset === undefined || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new OnnxFormatError(
      'onnx-unsupported-opset',
      `parseModel: expected a default-domain opset in ${MIN_OPSET}..${MAX_OPSET}, got ${
        opset ?? 'none'
      } (convert with onnx.version_converter.convert_version(model, ${MAX_OPSET}))`,
    );
  }
  const custom = (graph.node ?? [])
    .map((n, i) => (isDefaultDomain(n.domain) ? undefined : nodeRef(n, i)))
    .filter((r): r is OnnxNodeRef => r !== undefined);
  if (custom.length > 0) {
    throw new OnnxFormatError(
      'onnx-custom-domain',
      `parseModel: expected only default-domain (ai.onnx) operators, got ${custom.length} from other domains: ${describeNodes(custom)}`,
      { nodes: custom },
    );
  }
  const external = (graph.initializer ?? []).filter(
    (t) =>
      t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL ||
      (t.externalData?.length ?? 0) > 0,
  );
  if (external.length > 0) {
    throw new OnnxFormatError(
      'onnx-external-data',
      `parseModel: expected every initializer inside the file, got ${external.length} stored as external data (${external
        .map((t) => t.name)
        .join(
          ', ',
        )}); re-save the model as one file: onnx.save(onnx.load(path), out, save_as_external_data=False)`,
    );
  }
  return model;
}

/**
 * Encodes a model back to `.onnx` bytes.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const bytes = encodeModel(parseModel(readFileSync('mlp.onnx')));
 * ```
 */
export function encodeModel(model: onnxProto.onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}
