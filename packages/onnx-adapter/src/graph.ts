/**
 * An ONNX graph as a differentiable TensorFlow.js function of its parameter initializers:
 * `run(params, feeds)` builds, node by node, the tfjs ops of {@link OPS} (one module per family
 * in `ops/`), so the project's exact Hessian-vector products apply to the ONNX model unchanged.
 */
import { OptionError } from '@hessian-probe/core';
import type { NamedTensor, Tf } from '@hessian-probe/core/tfjs';
import type { Tensor } from '@tensorflow/tfjs-core';
import { OP_CHECKS, OPS, SUPPORTED_OPS } from './ops/index.js';
import {
  defaultOpset,
  describeNodes,
  int64,
  type ModelProto,
  nodeRef,
  OnnxFormatError,
  type OnnxNodeRef,
  onnx,
} from './proto.js';
import { decodeTensor, type HostTensor } from './tensor.js';

export { SUPPORTED_OPS };

/** Operators whose float initializers are parameters by default. */
const PARAMETER_CONSUMERS = new Set(['Gemm', 'MatMul', 'Conv']);
/** Operators whose float initializers are parameters by default when they follow a consumer. */
const PARAMETER_FOLLOWERS = new Set(['Add', 'Mul']);

/**
 * The tensor a loss reads for graph output `output`: for softmax cross-entropy (`'ce'`) on an
 * output made by a Softmax node, the Softmax's input, the logits (the loss is computed stably
 * from them, never as the log of probabilities); else the output itself. The one place this
 * rule lives: the curvature, its loss value and the forward-only estimate all read it.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const model = parseModel(readFileSync('mlp.onnx'));
 * lossInput(model, 'probabilities', 'ce'); // 'logits' when a Softmax makes 'probabilities'
 * ```
 */
export function lossInput(model: ModelProto, output: string, loss: 'ce' | 'mse' | 'other'): string {
  if (loss !== 'ce') return output;
  const producer = (model.graph?.node ?? []).find((n) => (n.output ?? []).includes(output));
  return producer?.opType === 'Softmax' ? ((producer.input ?? [])[0] ?? output) : output;
}

/**
 * The initializers that are parameters by default (issue 6): every float32 initializer with
 * more than one element that is an input of a Gemm, MatMul or Conv node, or of an Add or Mul
 * node one of whose other inputs is the output of such a node (a bias or a scale after a
 * linear layer). In graph order of the initializers.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const model = parseModel(readFileSync('mlp.onnx'));
 * defaultParameters(model); // ['w1', 'b1', 'w2', 'b2'] for a Gemm MLP
 * ```
 */
export function defaultParameters(model: ModelProto): string[] {
  const graph = model.graph!;
  const linearOutputs = new Set<string>();
  const chosen = new Set<string>();
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    const inputs = node.input ?? [];
    if (
      PARAMETER_CONSUMERS.has(op) ||
      (PARAMETER_FOLLOWERS.has(op) && inputs.some((i) => linearOutputs.has(i)))
    ) {
      for (const i of inputs) chosen.add(i);
    }
    if (PARAMETER_CONSUMERS.has(op)) for (const o of node.output ?? []) linearOutputs.add(o);
  }
  return (graph.initializer ?? [])
    .filter(
      (t) =>
        chosen.has(t.name ?? '') &&
        t.dataType === onnx.TensorProto.DataType.FLOAT &&
        (t.dims ?? []).reduce<number>((a, d) => a * int64(d), 1) > 1,
    )
    .map((t) => t.name ?? '');
}

/** Options of {@link convertGraph}. */
export interface ConvertGraphOptions {
  /**
   * Names of the float32 initializers that are parameters (the variables of the function and
   * the blocks of the curvature layout), in the order of the flat vector. Default:
   * {@link defaultParameters}.
   */
  readonly parameters?: readonly string[];
}

/** An ONNX graph converted by {@link convertGraph}. */
export interface OnnxFunction {
  /** The parameters' current values (float32 tensors named after their initializers). */
  readonly params: readonly NamedTensor[];
  /** Graph inputs the caller must feed (initializers excluded), in graph order. */
  readonly inputNames: readonly string[];
  /** Graph outputs, in graph order. */
  readonly outputNames: readonly string[];
  /** The model's default-domain opset. */
  readonly opset: number;
  /**
   * Evaluates the graph: `params` replace {@link OnnxFunction.params} (same order and shapes),
   * `feeds` holds every name of {@link OnnxFunction.inputNames}. Returns the values named in
   * `fetch` (default: the graph outputs), which may be any node output. The intermediate
   * tensors are not disposed: call it inside `tf.tidy` or a gradient.
   */
  run(
    params: readonly Tensor[],
    feeds: Readonly<Record<string, Tensor>>,
    fetch?: readonly string[],
  ): Tensor[];
  /** Disposes the parameter and constant tensors made by {@link convertGraph}. */
  dispose(): void;
}

function hostToTensor(tf: Tf, h: HostTensor): Tensor {
  return tf.tensor(h.values, h.shape, h.dtype);
}

/**
 * Converts a parsed model into an {@link OnnxFunction}. Checks, before building anything, that
 * every node is one of {@link SUPPORTED_OPS} (else one {@link OnnxFormatError}
 * `'onnx-unsupported-op'` listing every unsupported node by name and type, and naming the
 * forward-only estimate, {@link forwardOnlyTrace}, that still applies), that no node sets an
 * attribute value the conversion does not support (Conv group ≠ 1, dilations ≠ 1, an unknown
 * auto_pad, pooling ceil_mode 1 or an Indices output, padded AveragePool, BatchNormalization
 * in training mode: {@link OnnxFormatError} `'onnx-unsupported-op'` naming the node), that every
 * initializer is float32, int32 or int64, and that every chosen parameter is a float32
 * initializer ({@link OptionError} otherwise).
 *
 * @param tf - the TensorFlow.js namespace in use (any backend).
 * @param model - from {@link parseModel}.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const fn = convertGraph(tf, parseModel(readFileSync('mlp.onnx')));
 * const [output] = tf.tidy(() => fn.run(fn.params.map((p) => p.tensor), { x }));
 * ```
 */
export function convertGraph(
  tf: Tf,
  model: ModelProto,
  options: ConvertGraphOptions = {},
): OnnxFunction {
  const graph = model.graph;
  if (!graph)
    throw new OnnxFormatError(
      'onnx-not-a-model',
      'convertGraph: expected a model with a graph, got none',
    );
  const nodes = graph.node ?? [];
  const unsupported: OnnxNodeRef[] = nodes
    .map((n, i) => (Object.hasOwn(OPS, n.opType ?? '') ? undefined : nodeRef(n, i)))
    .filter((r): r is OnnxNodeRef => r !== undefined);
  if (unsupported.length > 0) {
    throw new OnnxFormatError(
      'onnx-unsupported-op',
      `convertGraph: expected operators from {${SUPPORTED_OPS.join(', ')}}, got ${unsupported.length} unsupported: ${describeNodes(unsupported)}; the trace can still be estimated from onnxruntime forward passes alone (hessian-probe onnx analyze --forward-only, or forwardOnlyTrace)`,
      { nodes: unsupported },
    );
  }
  const opset = defaultOpset(model) ?? 0;
  for (const node of nodes) OP_CHECKS[node.opType ?? '']?.({ node, opset });
  const initializers = new Map(
    (graph.initializer ?? []).map((t) => [t.name ?? '', decodeTensor(t)]),
  );
  const parameters = options.parameters ?? defaultParameters(model);
  for (const name of parameters) {
    const h = initializers.get(name);
    if (h?.dtype !== 'float32') {
      throw new OptionError(
        `convertGraph: expected parameters to name float32 initializers, got ${JSON.stringify(name)} (${
          h === undefined ? 'no such initializer' : h.dtype
        }); float32 initializers: ${[...initializers]
          .filter(([, t]) => t.dtype === 'float32')
          .map(([n]) => n)
          .join(', ')}`,
      );
    }
  }
  if (new Set(parameters).size !== parameters.length) {
    throw new OptionError(
      `convertGraph: expected unique parameter names, got ${parameters.join(', ')}`,
    );
  }
  const isParam = new Set(parameters);
  const inputNames = (graph.input ?? [])
    .map((i) => i.name ?? '')
    .filter((n) => !initializers.has(n));
  const outputNames = (graph.output ?? []).map((o) => o.name ?? '');
  const known = new Set([...initializers.keys(), ...inputNames]);
  nodes.forEach((node, index) => {
    const missing = (node.input ?? []).filter((name) => name !== '' && !known.has(name));
    if (missing.length > 0) {
      throw new OnnxFormatError(
        'onnx-bad-graph',
        `convertGraph: expected ${missing.join(', ')} to be computed before node ${nodeRef(node, index).node} (nodes in topological order), got nothing`,
        { nodes: [nodeRef(node, index)] },
      );
    }
    for (const name of node.output ?? []) known.add(name);
  });
  const missingOutputs = outputNames.filter((name) => !known.has(name));
  if (missingOutputs.length > 0) {
    throw new OnnxFormatError(
      'onnx-bad-graph',
      `convertGraph: expected every graph output to be computed, got none for ${missingOutputs.join(', ')}`,
    );
  }

  const params = parameters.map((name) => ({
    name,
    tensor: hostToTensor(tf, initializers.get(name)!),
  }));
  const constants = new Map(
    [...initializers].filter(([n]) => !isParam.has(n)).map(([n, h]) => [n, hostToTensor(tf, h)]),
  );

  function run(
    values: readonly Tensor[],
    feeds: Readonly<Record<string, Tensor>>,
    fetch: readonly string[] = outputNames,
  ): Tensor[] {
    if (values.length !== params.length) {
      throw new OptionError(
        `OnnxFunction.run: expected ${params.length} parameter tensors, got ${values.length}`,
      );
    }
    const env = new Map<string, Tensor>(constants);
    params.forEach((p, i) => {
      env.set(p.name, values[i]);
    });
    for (const name of inputNames) {
      const t = feeds[name];
      if (t === undefined) {
        throw new OptionError(
          `OnnxFunction.run: expected a feed for graph input ${name}, got none`,
        );
      }
      env.set(name, t);
    }
    for (const node of nodes) {
      // convertGraph checked that every named input exists by the time its node runs.
      const inputs = (node.input ?? []).map((name) => (name === '' ? undefined : env.get(name)));
      const outputs = OPS[node.opType ?? '']({ tf, node, opset }, inputs);
      (node.output ?? []).forEach((name, i) => {
        if (name !== '' && outputs[i] !== undefined) env.set(name, outputs[i]);
      });
    }
    return fetch.map((name) => {
      const t = env.get(name);
      if (t === undefined) {
        throw new OptionError(`OnnxFunction.run: expected fetch to name graph values, got ${name}`);
      }
      return t;
    });
  }

  return {
    params,
    inputNames,
    outputNames,
    opset,
    run,
    dispose() {
      for (const p of params) p.tensor.dispose();
      for (const t of constants.values()) t.dispose();
    },
  };
}
