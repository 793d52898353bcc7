/**
 * An ONNX graph as a differentiable TensorFlow.js function of its parameter initializers:
 * `run(params, feeds)` builds, node by node, the tfjs ops of {@link OPS} (one module per family
 * in `ops/`), so the project's exact Hessian-vector products apply to the ONNX model unchanged.
 */
import { OptionError } from '@hessian-probe/core';
import type { NamedTensor, Tf } from '@hessian-probe/core/tfjs';
import type { Tensor } from '@tensorflow/tfjs-core';
import { OP_CHECKS, OPS, SUPPORTED_OPS } from './ops/index.js';
import { lowerMlNodes, ML_DOMAIN } from './ops/ml.js';
import {
  decodeModel,
  defaultOpset,
  describeNodes,
  encodeModel,
  isDefaultDomain,
  type ModelProto,
  type NodeProto,
  nodeRef,
  OnnxFormatError,
  type OnnxNodeRef,
  onnx,
  parseModel,
  type TensorProto,
} from './proto.js';
import { decodeTensor, type HostTensor } from './tensor.js';

export { SUPPORTED_OPS };

/**
 * Operators whose float initializers are parameters by default, with the input positions that
 * hold them (all inputs when `undefined`): the weights of linear maps, embedding tables and the
 * affine part of normalizations.
 */
const PARAMETER_CONSUMERS: Readonly<Record<string, readonly number[] | undefined>> = {
  Gemm: undefined,
  MatMul: undefined,
  Conv: undefined,
  Gather: [0],
  LayerNormalization: [1, 2],
  BatchNormalization: [1, 2],
};
/** Operators whose float initializers are parameters by default when they follow a consumer. */
const PARAMETER_FOLLOWERS = new Set(['Add', 'Mul']);
/**
 * Operators that hand a weight on with its values unchanged: a MatMul of a transposed or
 * reshaped initializer (as exporters write `Linear(bias=False)`) still has that initializer
 * as its parameter.
 */
const PASS_THROUGH = new Set([
  'Transpose',
  'Reshape',
  'Identity',
  'Cast',
  'Unsqueeze',
  'Squeeze',
  'Flatten',
]);

/** The part of a model the conversion works on: see {@link analysedGraph}. */
export interface AnalysedGraph {
  /** The nodes the analysed outputs need, in graph order, `ai.onnx.ml` nodes lowered. */
  readonly nodes: readonly NodeProto[];
  /** Every initializer, with those the lowering made from attributes. */
  readonly initializers: readonly TensorProto[];
  /** The analysed outputs, in graph order. */
  readonly outputs: readonly string[];
}

const analysed = new WeakMap<ModelProto, AnalysedGraph>();

/**
 * The float32 tensors a curvature analysis can read: every graph output of element type float,
 * and, for a graph output made by an `ai.onnx.ml` ZipMap (skl2onnx's `zipmap` option, a
 * sequence of maps), the probability tensor the ZipMap reads. Other outputs (labels, integer
 * post-processing) are left out, with the nodes only they need.
 *
 * @throws {@link OnnxFormatError} `'onnx-bad-graph'` when there is no such output.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * // skl2onnx MLPClassifier with zipmap: outputs output_label (int64), output_probability (ZipMap)
 * analysedOutputs(parseModel(readFileSync('mlp.onnx'))); // ['out_activations_result']
 * ```
 */
export function analysedOutputs(model: ModelProto): string[] {
  const graph = model.graph!;
  const producers = new Map(
    (graph.node ?? []).flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)),
  );
  const outputs = (graph.output ?? []).flatMap((o) => {
    const name = o.name ?? '';
    if (o.type?.tensorType?.elemType === onnx.TensorProto.DataType.FLOAT) return [name];
    const producer = producers.get(name);
    if (producer?.domain === ML_DOMAIN && producer.opType === 'ZipMap') {
      return [(producer.input ?? [])[0] ?? ''];
    }
    return [];
  });
  if (outputs.length === 0) {
    throw new OnnxFormatError(
      'onnx-bad-graph',
      `convertGraph: expected a float32 tensor output (or a ZipMap of one), got outputs ${(graph.output ?? []).map((o) => o.name).join(', ') || 'none'}`,
    );
  }
  return [...new Set(outputs)];
}

/**
 * The graph the conversion works on: `ai.onnx.ml` LinearClassifier and Normalizer lowered to
 * default-domain nodes (`lowerMlNodes`), then only the nodes that the {@link analysedOutputs}
 * need, so integer and `ai.onnx.ml` post-processing (ArgMax, ArrayFeatureExtractor, ZipMap,
 * LabelEncoder, Cast of labels) is left out instead of refused. Computed once per model.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const { nodes, outputs } = analysedGraph(parseModel(readFileSync('mlp.onnx')));
 * ```
 */
export function analysedGraph(model: ModelProto): AnalysedGraph {
  const cached = analysed.get(model);
  if (cached) return cached;
  const outputs = analysedOutputs(model);
  const graph = lowerMlNodes(model.graph!, defaultOpset(model) ?? 0);
  const all = graph.node ?? [];
  const needed = new Set(outputs);
  const keep = new Array<boolean>(all.length).fill(false);
  for (let i = all.length - 1; i >= 0; i--) {
    if ((all[i].output ?? []).some((o) => needed.has(o))) {
      keep[i] = true;
      for (const input of all[i].input ?? []) needed.add(input);
    }
  }
  const result = {
    nodes: all.filter((_, i) => keep[i]),
    initializers: graph.initializer ?? [],
    outputs,
  };
  analysed.set(model, result);
  return result;
}

/**
 * The tensor a loss reads for graph output `output`: for softmax cross-entropy (`'ce'`) on an
 * output made by a Softmax node (possibly through Identity nodes), the Softmax's input, the
 * logits (the loss is computed stably from them, never as the log of probabilities); else the
 * output itself. The one place this rule lives: the curvature, its loss value and the
 * forward-only estimate all read it.
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
  const { nodes } = analysedGraph(model);
  const producer = (name: string) => nodes.find((n) => (n.output ?? []).includes(name));
  let node = producer(output);
  while (node?.opType === 'Identity') node = producer((node.input ?? [])[0] ?? '');
  return node?.opType === 'Softmax' ? ((node.input ?? [])[0] ?? output) : output;
}

/**
 * The initializers that are parameters by default (issue 6, issue 13): every finite float32
 * initializer with more than one element that is a weight input of a Gemm, MatMul or Conv
 * node, the table of a Gather, the scale or bias of a LayerNormalization or
 * BatchNormalization, directly or through value-preserving nodes (Transpose, Reshape, Identity,
 * Cast, Unsqueeze, Squeeze, Flatten), or an input of an Add or Mul node one of whose other
 * inputs is the output of such a node (a bias or a scale after a layer).
 * Initializers holding ±∞ or NaN (attention masks) never are. In graph order of the
 * initializers; `ai.onnx.ml` classifiers contribute the initializers their lowering makes.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const model = parseModel(readFileSync('mlp.onnx'));
 * defaultParameters(model); // ['w1', 'b1', 'w2', 'b2'] for a Gemm MLP
 * ```
 */
export function defaultParameters(model: ModelProto): string[] {
  return parameterRoleInitializers(model)
    .filter((t) => {
      const values = decodeTensor(t).values;
      return values.length > 1 && values.every(Number.isFinite);
    })
    .map((t) => t.name ?? '');
}

/**
 * The float32 initializers in a parameter's role, by the rules of {@link defaultParameters},
 * before its exclusions (scalars, and tensors holding ±∞ or NaN, such as an
 * additive attention mask of 0 and −∞).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const model = parseModel(readFileSync('mlp.onnx'));
 * parameterRoleInitializers(model).map((t) => t.name); // ['w1', 'b1', 'w2', 'b2']
 * ```
 */
export function parameterRoleInitializers(model: ModelProto): TensorProto[] {
  const { nodes, initializers } = analysedGraph(model);
  const source = new Map<string, string>();
  const layerOutputs = new Set<string>();
  const chosen = new Set<string>();
  const origin = (name: string) => source.get(name) ?? name;
  for (const node of nodes) {
    const op = node.opType ?? '';
    const inputs = node.input ?? [];
    if (PASS_THROUGH.has(op) && inputs[0] !== undefined) {
      for (const o of node.output ?? []) source.set(o, origin(inputs[0]));
    }
    const consumer = Object.hasOwn(PARAMETER_CONSUMERS, op);
    if (consumer) {
      const positions = PARAMETER_CONSUMERS[op];
      inputs.forEach((name, i) => {
        if (positions === undefined || positions.includes(i)) chosen.add(origin(name));
      });
    }
    if (PARAMETER_FOLLOWERS.has(op) && inputs.some((i) => layerOutputs.has(i))) {
      for (const i of inputs) chosen.add(origin(i));
    }
    if (consumer) for (const o of node.output ?? []) layerOutputs.add(o);
  }
  return initializers.filter(
    (t) => chosen.has(t.name ?? '') && t.dataType === onnx.TensorProto.DataType.FLOAT,
  );
}

/** The element types of graph inputs the conversion feeds. */
export type InputType = 'float32' | 'int32' | 'int64';

const INPUT_TYPES: Readonly<Record<number, InputType>> = {
  [onnx.TensorProto.DataType.FLOAT]: 'float32',
  [onnx.TensorProto.DataType.INT32]: 'int32',
  [onnx.TensorProto.DataType.INT64]: 'int64',
};

/**
 * {@link parseModel} for models with `ai.onnx.ml` nodes as well (scikit-learn exports): every
 * check of parseModel runs on the graph without them, and the decoded model is returned with
 * them, for `analysedGraph` to lower or leave out. Other domains are refused as
 * parseModel refuses them.
 *
 * @throws {@link OnnxFormatError} as {@link parseModel} does.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const model = parseAnalysableModel(readFileSync('sklearn-mlp.onnx')); // with its ZipMap
 * ```
 */
export function parseAnalysableModel(bytes: Uint8Array): ModelProto {
  const model = decodeModel(bytes, 'parseModel');
  const nodes = model.graph?.node ?? [];
  if (!nodes.some((n) => n.domain === ML_DOMAIN)) return parseModel(bytes);
  parseModel(
    encodeModel({
      ...model,
      graph: { ...model.graph, node: nodes.filter((n) => n.domain !== ML_DOMAIN) },
    }),
  );
  return model;
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
  /**
   * The element type of each of {@link OnnxFunction.inputNames}: float32, or int32/int64 (token
   * ids; fed to tfjs as int32).
   */
  readonly inputTypes: readonly InputType[];
  /** The analysed outputs ({@link analysedOutputs}), in graph order. */
  readonly outputNames: readonly string[];
  /** The model's default-domain opset. */
  readonly opset: number;
  /**
   * Evaluates the graph: `params` replace {@link OnnxFunction.params} (same order and shapes),
   * `feeds` holds every name of {@link OnnxFunction.inputNames}. Returns the values named in
   * `fetch` (default: the analysed outputs), which may be any output of a kept node. The intermediate
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

/**
 * The graph inputs a caller feeds (those that are not initializers), in graph order, with
 * their element types.
 *
 * @throws {@link OnnxFormatError} `'onnx-unsupported-dtype'` for an input that is not a
 *   float32, int32 or int64 tensor.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * graphInputs(parseModel(readFileSync('lm.onnx'))); // { names: ['tokens'], types: ['int64'] }
 * ```
 */
export function graphInputs(model: ModelProto): { names: string[]; types: InputType[] } {
  const graph = model.graph!;
  const initialized = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const fed = (graph.input ?? []).filter((i) => !initialized.has(i.name ?? ''));
  const types = fed.map((i) => {
    const elemType = i.type?.tensorType?.elemType ?? onnx.TensorProto.DataType.FLOAT;
    const type = INPUT_TYPES[elemType];
    if (type === undefined) {
      throw new OnnxFormatError(
        'onnx-unsupported-dtype',
        `convertGraph: expected graph input ${i.name} to be a float32, int32 or int64 tensor, got ONNX type ${
          onnx.TensorProto.DataType[elemType] ?? elemType
        }`,
      );
    }
    return type;
  });
  return { names: fed.map((i) => i.name ?? ''), types };
}

function hostToTensor(tf: Tf, h: HostTensor): Tensor {
  return tf.tensor(h.values, h.shape, h.dtype);
}

/**
 * Converts a parsed model into an {@link OnnxFunction} of the nodes its analysed outputs need
 * (`analysedGraph`: post-processing such as ArgMax, ZipMap or label Casts is left out).
 * Checks, before building anything, that every kept node is a default-domain operator of
 * {@link SUPPORTED_OPS} (else one {@link OnnxFormatError} `'onnx-unsupported-op'` listing every
 * unsupported node by name and type, and naming the forward-only estimate,
 * {@link forwardOnlyTrace}, that still applies), that no node sets an attribute value the
 * conversion does not support (an unknown auto_pad, pooling ceil_mode 1, dilations or an
 * Indices output, padded AveragePool, BatchNormalization in training mode, Slice steps ≠ 1, a
 * Cast to a type other than float32, int32, int64 or bool: {@link OnnxFormatError}
 * `'onnx-unsupported-op'` naming the node), that every initializer is float32, int32, int64 or
 * bool, that every graph input is float32, int32 or int64 ({@link OnnxFormatError}
 * `'onnx-unsupported-dtype'`), and that every chosen parameter is a float32 initializer
 * ({@link @hessian-probe/core!index.OptionError | OptionError} otherwise).
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
  const { nodes, initializers: tensors, outputs: outputNames } = analysedGraph(model);
  const unsupported: OnnxNodeRef[] = nodes
    .map((n, i) =>
      isDefaultDomain(n.domain) && Object.hasOwn(OPS, n.opType ?? '') ? undefined : nodeRef(n, i),
    )
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
  const initializers = new Map(tensors.map((t) => [t.name ?? '', decodeTensor(t)]));
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
  const { names: inputNames, types: inputTypes } = graphInputs(model);
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
    inputTypes,
    outputNames,
    opset,
    run,
    dispose() {
      for (const p of params) p.tensor.dispose();
      for (const t of constants.values()) t.dispose();
    },
  };
}
