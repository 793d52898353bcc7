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

/** One field of a protobuf message on the wire: number, wire type, and where its bytes are. */
export interface WireField {
  readonly field: number;
  /** 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
  readonly wireType: number;
  /** First byte of the tag. */
  readonly start: number;
  /** One past the last byte of the field. */
  readonly end: number;
  /** Payload of a length-delimited field. */
  readonly payload?: Uint8Array;
}

function malformedWire(where: string, message: string): OnnxFormatError {
  return new OnnxFormatError(
    'onnx-malformed',
    `${where}: expected a well-formed ModelProto, got ${message}`,
  );
}

function readVarint(bytes: Uint8Array, at: number, where: string): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    value += (bytes[i] & 0x7f) * scale;
    scale *= 128;
    if ((bytes[i] & 0x80) === 0) return [value, i + 1];
  }
  throw malformedWire(where, `a varint at byte ${at} that does not end`);
}

function writeVarint(value: number, out: number[]): void {
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

/**
 * Splits a protobuf message into its fields, in file order, without decoding them.
 *
 * @param where - the caller's name, for messages.
 * @throws {@link OnnxFormatError} `'onnx-malformed'` for a varint that does not end, a group
 *   (wire types 3 and 4, unused by ONNX), field number 0, or a field that ends past the bytes.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const graphs = scanFields(readFileSync('mlp.onnx'), 'count').filter((f) => f.field === 7);
 * ```
 */
export function scanFields(bytes: Uint8Array, where: string): WireField[] {
  const fields: WireField[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const [tag, afterTag] = readVarint(bytes, at, where);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    let end: number;
    let payload: Uint8Array | undefined;
    if (wireType === 0) end = readVarint(bytes, afterTag, where)[1];
    else if (wireType === 1) end = afterTag + 8;
    else if (wireType === 5) end = afterTag + 4;
    else if (wireType === 2) {
      const [length, afterLength] = readVarint(bytes, afterTag, where);
      end = afterLength + length;
      payload = bytes.subarray(afterLength, end);
    } else throw malformedWire(where, `wire type ${wireType} at byte ${start}`);
    if (end > bytes.length || field === 0) {
      throw malformedWire(where, `a field at byte ${start} that ends past the file`);
    }
    fields.push(
      payload === undefined
        ? { field, wireType, start, end }
        : { field, wireType, start, end, payload },
    );
    at = end;
  }
  return fields;
}

/** The embedded-message fields of one ONNX message type (field number → type, repeated?). */
interface MessageSchema {
  readonly messages: Readonly<Record<number, readonly [type: string, repeated: boolean]>>;
  /** Groups of field numbers that form a `oneof`. */
  readonly oneofs?: readonly (readonly number[])[];
}

/**
 * The message-typed fields of ONNX 1.10.2's onnx.proto (the schema of `onnx-proto`), and its
 * two `oneof`s; scalar fields need no merging (the decoder keeps the last, as protobuf does).
 */
const SCHEMA: Readonly<Record<string, MessageSchema>> = {
  ModelProto: {
    messages: {
      7: ['GraphProto', false],
      8: ['Leaf', true],
      14: ['Leaf', true],
      20: ['TrainingInfoProto', true],
      25: ['FunctionProto', true],
    },
  },
  GraphProto: {
    messages: {
      1: ['NodeProto', true],
      5: ['TensorProto', true],
      15: ['SparseTensorProto', true],
      11: ['ValueInfoProto', true],
      12: ['ValueInfoProto', true],
      13: ['ValueInfoProto', true],
      14: ['TensorAnnotation', true],
    },
  },
  NodeProto: { messages: { 5: ['AttributeProto', true] } },
  AttributeProto: {
    messages: {
      5: ['TensorProto', false],
      6: ['GraphProto', false],
      22: ['SparseTensorProto', false],
      14: ['TypeProto', false],
      10: ['TensorProto', true],
      11: ['GraphProto', true],
      23: ['SparseTensorProto', true],
      15: ['TypeProto', true],
    },
  },
  ValueInfoProto: { messages: { 2: ['TypeProto', false] } },
  TypeProto: {
    messages: {
      1: ['TypeProto.Tensor', false],
      4: ['TypeProto.Sequence', false],
      5: ['TypeProto.Map', false],
      9: ['TypeProto.Optional', false],
      8: ['TypeProto.Tensor', false],
    },
    oneofs: [[1, 4, 5, 9, 8]],
  },
  // TypeProto.SparseTensor has TypeProto.Tensor's layout: 1 elem_type, 2 shape.
  'TypeProto.Tensor': { messages: { 2: ['TensorShapeProto', false] } },
  'TypeProto.Sequence': { messages: { 1: ['TypeProto', false] } },
  'TypeProto.Map': { messages: { 2: ['TypeProto', false] } },
  'TypeProto.Optional': { messages: { 1: ['TypeProto', false] } },
  TensorShapeProto: { messages: { 1: ['Dimension', true] } },
  Dimension: { messages: {}, oneofs: [[1, 2]] },
  TensorProto: { messages: { 3: ['Leaf', false], 13: ['Leaf', true] } },
  SparseTensorProto: { messages: { 1: ['TensorProto', false], 2: ['TensorProto', false] } },
  TrainingInfoProto: {
    messages: {
      1: ['GraphProto', false],
      2: ['GraphProto', false],
      3: ['Leaf', true],
      4: ['Leaf', true],
    },
  },
  FunctionProto: { messages: { 7: ['NodeProto', true], 9: ['Leaf', true] } },
  TensorAnnotation: { messages: { 2: ['Leaf', true] } },
  // Messages with scalar fields only: OperatorSetIdProto, StringStringEntryProto, Segment.
  Leaf: { messages: {} },
};

/** protobuf's (and onnxruntime's) limit on nested messages. */
const MAX_DEPTH = 100;

/**
 * The bytes of a `type` message as protobuf parses them, rewritten so that a decoder which
 * keeps only the last instance of a field reads the same message: every non-repeated
 * embedded-message field present more than once becomes one field holding the instances'
 * payloads concatenated (protobuf merges them: "for embedded message fields, the parser
 * merges multiple instances of the same field"; a concatenation parses as that merge), and of
 * a `oneof`, only the final run of the member set last is kept (setting one member clears the
 * others, and what was merged into them). The
 * same bytes (not a copy) come back when nothing needed rewriting, at any depth.
 */
function canonicalMessage(
  bytes: Uint8Array,
  type: string,
  depth: number,
  where: string,
): Uint8Array {
  const schema = SCHEMA[type];
  if (schema === undefined || (Object.keys(schema.messages).length === 0 && !schema.oneofs)) {
    return bytes;
  }
  if (depth > MAX_DEPTH) {
    throw malformedWire(where, `messages nested deeper than ${MAX_DEPTH}`);
  }
  let fields: WireField[];
  try {
    fields = scanFields(bytes, where);
  } catch {
    // Not a well-formed message: left as it is, for the decoder to refuse with its own error.
    return bytes;
  }
  const dropped = new Set<WireField>();
  for (const group of schema.oneofs ?? []) {
    // Setting a member clears the group, so what survives is the final run of the member set
    // last: every group field up to the last one of another member is dropped (tensor_type{A},
    // sequence_type{B}, tensor_type{C} parses as tensor_type{C}, not A merged with C).
    let last = -1;
    for (let i = 0; i < fields.length; i++) if (group.includes(fields[i].field)) last = i;
    if (last < 0) continue;
    let cleared = -1;
    for (let i = 0; i < last; i++) {
      if (group.includes(fields[i].field) && fields[i].field !== fields[last].field) cleared = i;
    }
    for (let i = 0; i <= cleared; i++) if (group.includes(fields[i].field)) dropped.add(fields[i]);
  }
  let changed = dropped.size > 0;
  const out: Uint8Array[] = [];
  for (const f of fields) {
    if (dropped.has(f)) continue;
    const entry = schema.messages[f.field];
    if (entry === undefined || f.payload === undefined) {
      out.push(bytes.subarray(f.start, f.end));
      continue;
    }
    const [child, repeated] = entry;
    let payload = f.payload;
    if (!repeated) {
      const instances = fields.filter(
        (g) => g.field === f.field && g.payload !== undefined && !dropped.has(g),
      );
      if (instances.at(-1) !== f) continue; // merged into the last instance, below
      if (instances.length > 1) {
        changed = true;
        payload = concat(instances.map((g) => g.payload!));
      }
    }
    const canonical = canonicalMessage(payload, child, depth + 1, where);
    if (canonical === f.payload) {
      out.push(bytes.subarray(f.start, f.end));
      continue;
    }
    changed = true;
    const head: number[] = [];
    writeVarint(f.field * 8 + 2, head);
    writeVarint(canonical.length, head);
    out.push(Uint8Array.from(head), canonical);
  }
  return changed ? concat(out) : bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * `.onnx` bytes with repeated instances of non-repeated embedded-message fields merged as
 * protobuf (and so onnxruntime) merges them, and of each `oneof` only the last member kept:
 * the protobuf.js decoder keeps only the last instance of a field, so a file with, say, the
 * graph field twice would otherwise decode to a different model than the one onnxruntime
 * runs. The same bytes come back when the file has no such repetition.
 *
 * Bytes that are not a well-formed message are returned as they are, for the decoder to refuse.
 *
 * @throws {@link OnnxFormatError} `'onnx-malformed'` for messages nested deeper than protobuf's
 *   limit of 100.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const bytes = readFileSync('model.onnx');
 * const model = onnx.ModelProto.decode(mergeRepeatedMessages(bytes, 'load'));
 * ```
 */
export function mergeRepeatedMessages(bytes: Uint8Array, where: string): Uint8Array {
  return canonicalMessage(bytes, 'ModelProto', 0, where);
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
    model = onnx.ModelProto.decode(mergeRepeatedMessages(bytes, where));
  } catch (error) {
    if (error instanceof OnnxFormatError) throw error;
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
