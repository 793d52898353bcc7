/**
 * The layer-by-layer half of {@link toOnnx}: for each exportable tfjs-layers class, a check
 * that says why a configuration cannot be exported, and an emitter that appends the layer's
 * ONNX nodes and initializers to a {@link GraphBuilder}.
 *
 * Layout: tfjs images are NHWC (channelsLast), ONNX's Conv and pooling operators are NCHW.
 * Every value carries which of the two it is in; an operator that needs NCHW (Conv, MaxPool,
 * AveragePool, GlobalAveragePool, 4-D BatchNormalization) gets a `Transpose` (perm
 * [0, 3, 1, 2]) in front when its input is NHWC, and an operator that needs tfjs's own layout
 * (Flatten, Dense, Softmax, the graph output) gets the inverse `Transpose` (perm [0, 2, 3, 1])
 * when its input is NCHW. Element-wise activations keep whatever layout they are given, so a
 * Conv2D → MaxPooling2D → Conv2D stack is transposed once at each end, and Flatten sees the
 * NHWC order that tfjs flattens.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type onnxProto from 'onnx-proto';
import { onnx } from './proto.js';

/** One layer of a tfjs-layers model. */
export type ExportLayer = LayersModel['layers'][number];

/** A value of the graph being built: its name, rank, and whether it is NCHW (rank 4 only). */
export interface Value {
  readonly name: string;
  readonly rank: number;
  readonly nchw: boolean;
}

/** A node attribute: `{ i }` int, `{ ints }`, `{ f }` float or `{ s }` string. */
type Attribute =
  | { readonly i: number }
  | { readonly ints: readonly number[] }
  | { readonly f: number }
  | { readonly s: string };

function attributeProto(name: string, a: Attribute): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in a) return { name, type: T.INT, i: a.i };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  if ('f' in a) return { name, type: T.FLOAT, f: a.f };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
}

/**
 * Accumulates nodes and float32 initializers. A node is named `<layer>/<suffix>` (suffix: the
 * operator type unless given) and so is its single output, so every tensor of the exported
 * graph says which tfjs layer made it.
 */
export class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];

  /** Appends a node with one output and returns the output's name. */
  node(
    layer: string,
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, Attribute>> = {},
    suffix: string = opType,
  ): string {
    const name = `${layer}/${suffix}`;
    this.nodes.push({
      name,
      opType,
      domain: '',
      input: [...inputs],
      output: [name],
      attribute: Object.entries(attributes).map(([k, a]) => attributeProto(k, a)),
    });
    return name;
  }

  /** Appends a float32 initializer (raw little-endian data) and returns its name. */
  initializer(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(
        data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
      ),
    });
    return name;
  }

  /** `x` in NCHW: a Transpose `<layer>/to_nchw` when it is an NHWC image. */
  toNchw(layer: string, x: Value): Value {
    if (x.rank !== 4 || x.nchw) return x;
    const name = this.node(
      layer,
      'Transpose',
      [x.name],
      { perm: { ints: [0, 3, 1, 2] } },
      'to_nchw',
    );
    return { name, rank: 4, nchw: true };
  }

  /** `x` in tfjs's layout: a Transpose `<layer>/to_nhwc` when it is NCHW. */
  toTfjs(layer: string, x: Value): Value {
    if (!x.nchw) return x;
    const name = this.node(
      layer,
      'Transpose',
      [x.name],
      { perm: { ints: [0, 2, 3, 1] } },
      'to_nhwc',
    );
    return { name, rank: 4, nchw: false };
  }
}

/**
 * A row-major array transposed: output axis k is input axis `perm[k]` (as `tf.transpose`).
 * Returns a new array of the same type.
 *
 * @example
 * ```ts
 * transposeHost(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], [1, 0]); // [1, 4, 2, 5, 3, 6]
 * ```
 */
export function transposeHost<T extends Float32Array | Float64Array>(
  data: T,
  shape: readonly number[],
  perm: readonly number[],
): T {
  const rank = shape.length;
  const strides: number[] = new Array(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  const outShape = perm.map((p) => shape[p]);
  const step = perm.map((p) => strides[p]);
  const out = data.slice() as T;
  const index: number[] = new Array(rank).fill(0);
  let from = 0;
  for (let i = 0; i < data.length; i++) {
    out[i] = data[from];
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      from += step[d];
      if (index[d] < outShape[d]) break;
      from -= step[d] * outShape[d];
      index[d] = 0;
    }
  }
  return out;
}

/** tfjs activation → the ONNX operator computing it element-wise (default attributes). */
const ELEMENTWISE: Readonly<Record<string, string>> = {
  relu: 'Relu',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  // tfjs's elu activation has alpha 1, ONNX Elu's default.
  elu: 'Elu',
  // ONNX Selu's default alpha 1.67326319… and gamma 1.05070102… are tfjs's SELU constants
  // rounded to float32.
  selu: 'Selu',
  softplus: 'Softplus',
};

/** The `activation` values (of Dense, Conv2D and Activation layers) {@link toOnnx} exports. */
export const EXPORTABLE_ACTIVATIONS: readonly string[] = [
  'linear',
  ...Object.keys(ELEMENTWISE),
  'softmax',
];

type Config = Readonly<Record<string, unknown>>;

function configOf(layer: ExportLayer): Config {
  return layer.getConfig() as Config;
}

function activationProblem(config: Config): string | undefined {
  const a = config.activation ?? 'linear';
  return typeof a === 'string' && EXPORTABLE_ACTIVATIONS.includes(a)
    ? undefined
    : `activation ${JSON.stringify(a)} has no ONNX export (exportable: ${EXPORTABLE_ACTIVATIONS.join(', ')})`;
}

function emitActivation(b: GraphBuilder, layer: string, x: Value, activation: unknown): Value {
  if (activation === undefined || activation === 'linear') return x;
  if (activation === 'softmax') {
    // tfjs's softmax acts on the last axis of its own layout.
    const t = b.toTfjs(layer, x);
    return { ...t, name: b.node(layer, 'Softmax', [t.name], { axis: { i: -1 } }) };
  }
  return { ...x, name: b.node(layer, ELEMENTWISE[activation as string], [x.name]) };
}

/** The layer's weight whose tfjs name ends in `/<role>` (`kernel`, `bias`, `gamma`, …). */
function weight(
  layer: ExportLayer,
  role: string,
): { name: string; shape: number[]; data: Float32Array } | undefined {
  const w = layer.weights.find((v) => (v.originalName ?? v.name).endsWith(`/${role}`));
  if (w === undefined) return undefined;
  return {
    name: w.originalName ?? w.name,
    shape: w.shape.map((d) => d ?? 0),
    data: Float32Array.from(w.read().dataSync()),
  };
}

function channelsLastProblem(config: Config): string | undefined {
  const format = config.dataFormat ?? 'channelsLast';
  return format === 'channelsLast'
    ? undefined
    : `dataFormat ${JSON.stringify(format)} (only channelsLast, tfjs's default, is exported)`;
}

/**
 * tfjs's padding of Conv2D and pooling ('same' or 'valid'; tfjs refuses anything else for
 * them). 'same' is TensorFlow's rule: the odd pixel of padding goes after, as SAME_UPPER.
 */
function autoPad(config: Config): Attribute {
  return { s: config.padding === 'same' ? 'SAME_UPPER' : 'VALID' };
}

function pair(value: unknown): number[] {
  return Array.isArray(value) ? value.map(Number) : [Number(value), Number(value)];
}

/** What an emitter gets: the builder, the layer and its config. */
interface EmitContext {
  readonly b: GraphBuilder;
  readonly layer: ExportLayer;
  readonly config: Config;
}

/** How one tfjs-layers class is exported. */
interface LayerExporter {
  /** Every reason this configuration cannot be exported (empty when it can). */
  readonly check: (config: Config, input: readonly (number | null)[]) => (string | undefined)[];
  /** Appends the layer's nodes; returns its output value. */
  readonly emit: (ctx: EmitContext, x: Value) => Value;
}

const dense: LayerExporter = {
  check: (config, input) => [
    input.length === 2
      ? undefined
      : `an input of rank ${input.length} (Dense is exported on [batch, features] only: put a Flatten before it)`,
    activationProblem(config),
  ],
  emit: ({ b, layer, config }, x) => {
    // tfjs's kernel is [in, out], as Gemm's B without transB: stored unchanged.
    const kernel = weight(layer, 'kernel')!;
    const bias = weight(layer, 'bias');
    const inputs = [x.name, b.initializer(kernel.name, kernel.shape, kernel.data)];
    if (bias !== undefined) inputs.push(b.initializer(bias.name, bias.shape, bias.data));
    const y = { name: b.node(layer.name, 'Gemm', inputs), rank: 2, nchw: false };
    return emitActivation(b, layer.name, y, config.activation);
  },
};

const conv2d: LayerExporter = {
  // tfjs's input spec makes the input 4-D.
  check: (config) => [
    channelsLastProblem(config),
    pair(config.dilationRate ?? 1).some((d) => d !== 1)
      ? `dilationRate ${JSON.stringify(config.dilationRate)} (dilated convolutions are not exported)`
      : undefined,
    activationProblem(config),
  ],
  emit: ({ b, layer, config }, x) => {
    const kernel = weight(layer, 'kernel')!;
    const [kh, kw, c, m] = kernel.shape;
    // tfjs's kernel is [kH, kW, C, M]; ONNX Conv's is [M, C, kH, kW].
    const w = b.initializer(
      kernel.name,
      [m, c, kh, kw],
      transposeHost(kernel.data, kernel.shape, [3, 2, 0, 1]),
    );
    const bias = weight(layer, 'bias');
    const inputs = [b.toNchw(layer.name, x).name, w];
    if (bias !== undefined) inputs.push(b.initializer(bias.name, bias.shape, bias.data));
    const name = b.node(layer.name, 'Conv', inputs, {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: pair(config.strides ?? 1) },
      auto_pad: autoPad(config),
    });
    return emitActivation(b, layer.name, { name, rank: 4, nchw: true }, config.activation);
  },
};

function pool(opType: 'MaxPool' | 'AveragePool'): LayerExporter {
  return {
    check: (config) => [channelsLastProblem(config)],
    emit: ({ b, layer, config }, x) => {
      const size = pair(config.poolSize);
      // AveragePool's count_include_pad defaults to 0: border windows of 'same' padding are
      // divided by their count of real pixels, as tfjs does.
      const name = b.node(layer.name, opType, [b.toNchw(layer.name, x).name], {
        kernel_shape: { ints: size },
        strides: { ints: pair(config.strides ?? size) },
        auto_pad: autoPad(config),
      });
      return { name, rank: 4, nchw: true };
    },
  };
}

const globalAveragePooling2d: LayerExporter = {
  check: (config) => [channelsLastProblem(config)],
  emit: ({ b, layer }, x) => {
    const pooled = b.node(layer.name, 'GlobalAveragePool', [b.toNchw(layer.name, x).name]);
    return { name: b.node(layer.name, 'Flatten', [pooled]), rank: 2, nchw: false };
  },
};

const flatten: LayerExporter = {
  check: () => [],
  emit: ({ b, layer }, x) => {
    const t = b.toTfjs(layer.name, x);
    return {
      name: b.node(layer.name, 'Flatten', [t.name], { axis: { i: 1 } }),
      rank: 2,
      nchw: false,
    };
  },
};

const batchNormalization: LayerExporter = {
  check: (config, input) => [
    input.length === 2 || input.length === 4
      ? undefined
      : `an input of rank ${input.length} (expected [batch, features] or NHWC images)`,
    config.axis === -1 || config.axis === input.length - 1
      ? undefined
      : `axis ${JSON.stringify(config.axis)} (only the channel axis, the last, is exported)`,
  ],
  emit: ({ b, layer, config }, x) => {
    const y = b.toNchw(layer.name, x);
    const mean = weight(layer, 'moving_mean')!;
    const variance = weight(layer, 'moving_variance')!;
    const channels = mean.data.length;
    // tfjs leaves gamma out with scale: false and beta with center: false; ONNX needs both.
    const param = (role: string, fill: number, fallback: string): string => {
      const w = weight(layer, role);
      return w === undefined
        ? b.initializer(
            `${layer.name}/${fallback}`,
            [channels],
            new Float32Array(channels).fill(fill),
          )
        : b.initializer(w.name, w.shape, w.data);
    };
    const inputs = [
      y.name,
      param('gamma', 1, 'unit_scale'),
      param('beta', 0, 'zero_offset'),
      b.initializer(mean.name, mean.shape, mean.data),
      b.initializer(variance.name, variance.shape, variance.data),
    ];
    const name = b.node(layer.name, 'BatchNormalization', inputs, {
      epsilon: { f: Number(config.epsilon) },
    });
    return { ...y, name };
  },
};

/** Exporters by tfjs-layers class name. */
const EXPORTERS: Readonly<Record<string, LayerExporter>> = {
  Dense: dense,
  Conv2D: conv2d,
  MaxPooling2D: pool('MaxPool'),
  AveragePooling2D: pool('AveragePool'),
  GlobalAveragePooling2D: globalAveragePooling2d,
  Flatten: flatten,
  // Inference: the identity.
  Dropout: {
    check: () => [],
    emit: ({ b, layer }, x) => ({ ...x, name: b.node(layer.name, 'Identity', [x.name]) }),
  },
  BatchNormalization: batchNormalization,
  Activation: {
    check: (config) => [activationProblem(config)],
    emit: ({ b, layer, config }, x) => emitActivation(b, layer.name, x, config.activation),
  },
  LeakyReLU: {
    check: () => [],
    emit: ({ b, layer, config }, x) => ({
      ...x,
      name: b.node(layer.name, 'LeakyRelu', [x.name], { alpha: { f: Number(config.alpha) } }),
    }),
  },
};

/** The tfjs-layers classes {@link toOnnx} exports (an `InputLayer` is skipped). */
export const EXPORTABLE_LAYERS: readonly string[] = Object.keys(EXPORTERS);

/**
 * Why `layer`, fed a tensor of shape `input` (batch axis first, `null` when unknown), cannot
 * be exported: one reason per problem, empty when it can.
 */
export function layerProblems(layer: ExportLayer, input: readonly (number | null)[]): string[] {
  const cls = layer.getClassName();
  const exporter = EXPORTERS[cls];
  if (exporter === undefined) {
    return [`layer class ${cls} has no ONNX export (exportable: ${EXPORTABLE_LAYERS.join(', ')})`];
  }
  return exporter.check(configOf(layer), input).filter((r): r is string => r !== undefined);
}

/** Appends the nodes of `layer` (checked by {@link layerProblems}) and returns its output. */
export function emitLayer(b: GraphBuilder, layer: ExportLayer, x: Value): Value {
  return EXPORTERS[layer.getClassName()].emit({ b, layer, config: configOf(layer) }, x);
}
