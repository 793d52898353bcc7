/**
 * `ai.onnx.ml` operators on the way to a probability output, lowered to default-domain nodes
 * before conversion, so that scikit-learn models exported by skl2onnx convert like any other:
 *
 * - LinearClassifier (`multi_class` any, one coefficient row per class, `post_transform`
 *   NONE, SOFTMAX or LOGISTIC) becomes Gemm(X, coefficients, intercepts, transB = 1) followed
 *   by Softmax, Sigmoid or nothing. Its `coefficients` [C, F] and `intercepts` [C] attributes
 *   become float32 initializers named `<node>.coefficients` and `<node>.intercepts`, so they are
 *   parameters like a Gemm's. Its label output (an argmax over the class labels) is not made:
 *   it only feeds post-processing, which the conversion leaves out.
 * - Normalizer with `norm` L1 on a Softmax's output is the identity (softmax rows already sum
 *   to 1; onnxruntime's division by the float32 sum is within the conversion tolerance).
 *
 * Everything else in `ai.onnx.ml` (ZipMap, ArrayFeatureExtractor, LabelEncoder, …) is only
 * accepted where it lies off the path to an analysed output.
 */
import type onnxProto from 'onnx-proto';
import { type NodeProto, onnx, type TensorProto } from '../proto.js';
import { floatsAttr, type NodeContext, stringAttr, unsupportedAttribute } from './types.js';

/** The `ai.onnx.ml` domain name. */
export const ML_DOMAIN = 'ai.onnx.ml';

/** What lowering one node gives: replacement nodes and new initializers. */
interface Lowered {
  readonly nodes: NodeProto[];
  readonly initializers: TensorProto[];
}

function floatTensor(name: string, dims: number[], values: readonly number[]): TensorProto {
  return {
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(Float32Array.from(values).buffer),
  };
}

const POST_TRANSFORMS: Readonly<Record<string, string | undefined>> = {
  NONE: undefined,
  SOFTMAX: 'Softmax',
  LOGISTIC: 'Sigmoid',
};

function linearClassifier(ctx: NodeContext): Lowered {
  const { node } = ctx;
  const name = node.name || 'LinearClassifier';
  const coefficients = floatsAttr(node, 'coefficients') ?? [];
  const intercepts = floatsAttr(node, 'intercepts') ?? [];
  const transform = stringAttr(node, 'post_transform', 'NONE');
  if (!(transform in POST_TRANSFORMS)) {
    throw unsupportedAttribute(ctx, 'post_transform NONE, SOFTMAX or LOGISTIC', transform);
  }
  const classes = intercepts.length;
  if (classes === 0 || coefficients.length % classes !== 0) {
    throw unsupportedAttribute(
      ctx,
      'one intercept and one coefficient row per class',
      `${coefficients.length} coefficients and ${classes} intercepts`,
    );
  }
  const features = coefficients.length / classes;
  const [x] = node.input ?? [];
  const scores = (node.output ?? [])[1] ?? '';
  const w = `${name}.coefficients`;
  const b = `${name}.intercepts`;
  const activation = POST_TRANSFORMS[transform];
  const linearOut = activation === undefined ? scores : `${name}.scores`;
  const nodes: NodeProto[] = [
    {
      name: `${name}.gemm`,
      opType: 'Gemm',
      input: [x, w, b],
      output: [linearOut],
      attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
    },
  ];
  if (activation !== undefined) {
    nodes.push({
      name: `${name}.${activation}`,
      opType: activation,
      input: [linearOut],
      output: [scores],
    });
  }
  return {
    nodes,
    initializers: [
      floatTensor(w, [classes, features], coefficients),
      floatTensor(b, [classes], intercepts),
    ],
  };
}

/**
 * The graph with its `ai.onnx.ml` LinearClassifier and Normalizer nodes lowered to
 * default-domain nodes (see the module doc); other nodes are kept as they are, in order.
 * Returns the original graph when there is nothing to lower.
 *
 * @throws {@link OnnxFormatError} `'onnx-unsupported-op'` for a LinearClassifier whose
 *   attributes the lowering does not support.
 */
export function lowerMlNodes(
  graph: onnxProto.onnx.IGraphProto,
  opset: number,
): onnxProto.onnx.IGraphProto {
  const nodes = graph.node ?? [];
  if (!nodes.some((n) => n.domain === ML_DOMAIN)) return graph;
  const producers = new Map<string, string>();
  const lowered: NodeProto[] = [];
  const initializers: TensorProto[] = [...(graph.initializer ?? [])];
  for (const node of nodes) {
    const ctx = { node, opset };
    let replacement: NodeProto[] = [node];
    if (node.domain === ML_DOMAIN && node.opType === 'LinearClassifier') {
      const r = linearClassifier(ctx);
      replacement = r.nodes;
      initializers.push(...r.initializers);
    } else if (
      node.domain === ML_DOMAIN &&
      node.opType === 'Normalizer' &&
      stringAttr(node, 'norm', 'MAX') === 'L1' &&
      producers.get((node.input ?? [])[0] ?? '') === 'Softmax'
    ) {
      replacement = [
        {
          name: node.name ?? '',
          opType: 'Identity',
          input: node.input ?? [],
          output: node.output ?? [],
        },
      ];
    }
    for (const n of replacement) for (const o of n.output ?? []) producers.set(o, n.opType ?? '');
    lowered.push(...replacement);
  }
  return { ...graph, node: lowered, initializer: initializers };
}
