import type { ClassAxis, CurvatureKind } from '@hessian-probe/core';
import type { AnalysisContext } from '@hessian-probe/core/internal';
import type { OnnxCurvature, OnnxLoss } from './curvature.js';
import { analysedGraph, lossInput } from './graph.js';
import { intAttr, intsAttr } from './ops/types.js';
import type { ModelProto, NodeProto } from './proto.js';

/**
 * The analysis context of a converted ONNX model (see `analyze` in `@hessian-probe/core`): its
 * curvature over the parameter initializers, one block per initializer (also the "layers" of
 * the block and per-layer analyses: an ONNX graph has no layer objects), the loss on the probe
 * batch and, for the closed-form losses, the Gauss–Newton operator. Without a tfjs model, the
 * layer-level analyses (Kronecker, classes) and unit cuts are refused before any work. With
 * `graph`, the output layer the `classBlocks` analysis cuts by class ({@link onnxOutputLayer}).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { analyze } from '@hessian-probe/core/internal';
 * declare const options: OnnxCurvatureOptions; // tf, inputs, labels and loss of 64 samples
 * const curvature = await onnxCurvature(readFileSync('mlp.onnx'), options);
 * const context = onnxContext(curvature, { kind: 'hessian', probeSize: 64 });
 * // with the graph, for classBlocks' default blocks (the output layer, found in the graph):
 * declare const model: ModelProto; // parseAnalysableModel of the same bytes
 * const lm = onnxContext(curvature, { kind: 'hessian', probeSize: 64, graph: { model, loss: 'ce' } });
 * const report = await analyze(context, { analyses: { density: true } }, { name: 'mlp' });
 * ```
 */
export function onnxContext(
  curvature: OnnxCurvature,
  options: {
    readonly kind: CurvatureKind;
    readonly probeSize: number;
    readonly where?: string;
    /**
     * The model the curvature was taken of, its loss and the analysed output (default the
     * first, as for `onnxCurvature`): where the context looks for the output layer.
     */
    readonly graph?: {
      readonly model: ModelProto;
      readonly loss: OnnxLoss;
      readonly output?: string;
    };
  },
): AnalysisContext {
  const { gaussNewton } = curvature;
  const { graph } = options;
  return {
    where: options.where ?? 'hessian-probe onnx analyze',
    kind: options.kind,
    operator: curvature.operator,
    layout: curvature.layout,
    layerLayout: curvature.layout,
    probeSize: options.probeSize,
    lossValue: curvature.lossValue,
    ...(options.kind === 'hessian' && gaussNewton !== undefined ? { gaussNewton } : {}),
    ...(graph === undefined
      ? {}
      : {
          outputLayer: () =>
            onnxOutputLayer(
              graph.model,
              lossInput(
                graph.model,
                graph.output ?? curvature.fn.outputNames[0],
                typeof graph.loss === 'string' ? graph.loss : 'other',
              ),
              curvature.layout.blocks.map((b) => b.name),
            ),
        }),
  };
}

/**
 * Nodes between the output layer and the logits that only move entries around (a Flatten or
 * Reshape may fold other axes into the class axis; cutting the weight by its rows stays a
 * partition by output unit either way).
 */
const CLASS_PRESERVING = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);

/**
 * The output layer of an ONNX graph: the parameters of the linear layer that makes `tensor`
 * (the logits), each with the axis of its initializer that runs over the classes, or
 * undefined when the layer is not one of these. From `tensor` back through Identity, Reshape,
 * Flatten, Squeeze and Unsqueeze, then:
 * - `Gemm(A, B, C)`: B is [C, d] with `transB = 1` (axis 0; PyTorch's Linear), else [d, C]
 *   (axis 1); its bias C is the third input;
 * - `Add(MatMul(A, B), bias)` or a bare `MatMul(A, B)`: B is [d, C] (axis 1), or [C, d]
 *   (axis 0) when it is the Transpose of the parameter (a TorchScript export of Linear).
 *
 * A bias counts when it is a parameter whose last axis has the C entries (shape [C] or [1, C]).
 * Only `parameters` (the curvature's blocks) are returned; a weight that is none gives undefined.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const model = parseAnalysableModel(readFileSync('corpus/tiny-lm.onnx'));
 * onnxOutputLayer(model, 'logits', defaultParameters(model));
 * // [{ name: 'out.weight', axis: 0 }, { name: 'out.bias', axis: 0 }]
 * ```
 */
export function onnxOutputLayer(
  model: ModelProto,
  tensor: string,
  parameters: readonly string[],
): ClassAxis[] | undefined {
  const { nodes, initializers } = analysedGraph(model);
  const producer = new Map<string, NodeProto>();
  for (const node of nodes) for (const o of node.output ?? []) producer.set(o, node);
  const constants = new Set(initializers.map((t) => t.name ?? ''));
  const shapes = new Map(
    initializers
      .filter((t) => parameters.includes(t.name ?? ''))
      .map((t) => [t.name ?? '', (t.dims ?? []).map(Number)] as const),
  );
  /** The parameter behind `name` (through Identity), and whether a Transpose flips it. */
  const parameter = (name: string): { name: string; transposed: boolean } | undefined => {
    let transposed = false;
    let current = name;
    for (;;) {
      if (shapes.has(current)) return { name: current, transposed };
      const node = producer.get(current);
      const input = node?.input?.[0];
      if (node === undefined || input === undefined) return undefined;
      if (node.opType === 'Transpose') {
        const perm = intsAttr(node, 'perm');
        if (perm !== undefined && !(perm.length === 2 && perm[0] === 1 && perm[1] === 0)) {
          return undefined;
        }
        transposed = !transposed;
      } else if (node.opType !== 'Identity') {
        return undefined;
      }
      current = input;
    }
  };
  let node = producer.get(tensor);
  while (node !== undefined && CLASS_PRESERVING.has(node.opType ?? '')) {
    node = producer.get(node.input?.[0] ?? '');
  }
  let bias: string | undefined;
  if (node?.opType === 'Add') {
    const inputs = node.input ?? [];
    // The bias is an initializer (a parameter or a constant); the other input the product.
    const b = inputs.findIndex((i) => constants.has(i));
    if (b < 0) return undefined;
    bias = inputs[b];
    node = producer.get(inputs[1 - b] ?? '');
    if (node?.opType !== 'MatMul') return undefined;
  }
  if (node === undefined || (node.opType !== 'Gemm' && node.opType !== 'MatMul')) return undefined;
  const weight = parameter(node.input?.[1] ?? '');
  if (weight === undefined) return undefined;
  const shape = shapes.get(weight.name) ?? [];
  if (shape.length !== 2) return undefined;
  const rowsAreClasses =
    (node.opType === 'Gemm' && intAttr(node, 'transB', 0) === 1) !== weight.transposed;
  const axis = rowsAreClasses ? 0 : 1;
  if (node.opType === 'Gemm') bias = node.input?.[2];
  const classes = shape[axis];
  const biasShape = bias === undefined ? undefined : shapes.get(bias);
  const biasCounts =
    biasShape !== undefined &&
    biasShape.length > 0 &&
    biasShape[biasShape.length - 1] === classes &&
    biasShape.reduce((p, d) => p * d, 1) === classes;
  return [
    { name: weight.name, axis },
    ...(biasCounts ? [{ name: bias as string, axis: biasShape.length - 1 }] : []),
  ];
}
