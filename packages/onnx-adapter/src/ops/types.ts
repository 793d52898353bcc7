import type { Tf } from '@hessian-probe/core/tfjs';
import type { Tensor } from '@tensorflow/tfjs-core';
import { type AttributeProto, int64, type NodeProto, OnnxFormatError } from '../proto.js';
import { decodeTensor, type HostTensor } from '../tensor.js';

/** A node and the model's opset: what an attribute check sees. */
export interface NodeContext {
  readonly node: NodeProto;
  /** Default-domain opset of the model (semantics such as Softmax's axis depend on it). */
  readonly opset: number;
}

/** What an operator implementation sees besides its inputs. */
export interface OpContext extends NodeContext {
  readonly tf: Tf;
}

/**
 * Checks a node's attributes (and which outputs it uses) before anything is computed, throwing
 * {@link unsupportedAttribute} for a value the implementation does not support. Checks that
 * need input shapes stay in the {@link OpImpl}.
 */
export type OpCheck = (ctx: NodeContext) => void;

/**
 * One ONNX operator as tfjs ops: inputs in node order (`undefined` for an omitted optional
 * input), outputs in node order. It must only build differentiable tfjs ops on its float inputs.
 */
export type OpImpl = (ctx: OpContext, inputs: readonly (Tensor | undefined)[]) => Tensor[];

function find(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

/** Integer attribute `name` of the node, or `fallback`. */
export function intAttr(node: NodeProto, name: string, fallback: number): number {
  const a = find(node, name);
  return a === undefined ? fallback : int64(a.i);
}

/** Float attribute `name` of the node, or `fallback`. */
export function floatAttr(node: NodeProto, name: string, fallback: number): number {
  const a = find(node, name);
  return a === undefined ? fallback : (a.f ?? 0);
}

/** Integer-list attribute `name` of the node, or `undefined`. */
export function intsAttr(node: NodeProto, name: string): number[] | undefined {
  const a = find(node, name);
  return a === undefined ? undefined : (a.ints ?? []).map(int64);
}

/** Float-list attribute `name` of the node, or `undefined`. */
export function floatsAttr(node: NodeProto, name: string): number[] | undefined {
  const a = find(node, name);
  return a === undefined ? undefined : [...(a.floats ?? [])];
}

/** The value of a `Constant`-style attribute set (`value`, `value_float(s)`, `value_int(s)`). */
export function constantAttr(node: NodeProto): HostTensor | undefined {
  for (const a of node.attribute ?? []) {
    switch (a.name) {
      case 'value':
        return a.t ? decodeTensor(a.t) : undefined;
      case 'value_float':
        return { dtype: 'float32', shape: [], values: Float32Array.of(a.f ?? 0) };
      case 'value_floats':
        return {
          dtype: 'float32',
          shape: [a.floats?.length ?? 0],
          values: Float32Array.from(a.floats ?? []),
        };
      case 'value_int':
        return { dtype: 'int32', shape: [], values: Int32Array.of(int64(a.i)) };
      case 'value_ints':
        return {
          dtype: 'int32',
          shape: [a.ints?.length ?? 0],
          values: Int32Array.from((a.ints ?? []).map(int64)),
        };
    }
  }
  return undefined;
}

/** Input `i`, or a typed error naming the node when it is missing. */
export function required(
  ctx: OpContext,
  inputs: readonly (Tensor | undefined)[],
  i: number,
): Tensor {
  const t = inputs[i];
  if (t === undefined) {
    throw new OnnxFormatError(
      'onnx-bad-graph',
      `${ctx.node.opType}: expected input ${i} of node ${ctx.node.name || '(unnamed)'}, got none`,
    );
  }
  return t;
}

/** Normalises a possibly negative axis for a tensor of rank `rank`. */
export function axisOf(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** String attribute `name` of the node (UTF-8 bytes decoded), or `fallback`. */
export function stringAttr(node: NodeProto, name: string, fallback: string): string {
  const a = find(node, name);
  return a?.s ? new TextDecoder().decode(a.s) : fallback;
}

/**
 * The typed error for an attribute value (or input form) the conversion does not support:
 * an {@link OnnxFormatError} `'onnx-unsupported-op'` naming the node.
 */
export function unsupportedAttribute(
  ctx: NodeContext,
  expected: string,
  got: string,
): OnnxFormatError {
  const node = ctx.node.name || '(unnamed)';
  const opType = ctx.node.opType ?? '';
  return new OnnxFormatError(
    'onnx-unsupported-op',
    `${opType}: expected ${expected} in node ${node}, got ${got}`,
    { nodes: [{ node, opType }] },
  );
}

/** The values of an integer input (shape-like: axes, shapes), read on the host. */
export function intValues(ctx: OpContext, t: Tensor, what: string): number[] {
  if (t.dtype !== 'int32') {
    throw new OnnxFormatError(
      'onnx-bad-graph',
      `${ctx.node.opType}: expected an integer ${what} input in node ${ctx.node.name || '(unnamed)'}, got ${t.dtype}`,
    );
  }
  return Array.from(t.dataSync());
}
