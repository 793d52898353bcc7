import type { CurvatureKind } from '@hessian-probe/core';
import type { AnalysisContext } from '@hessian-probe/core/internal';
import type { OnnxCurvature } from './curvature.js';

/**
 * The analysis context of a converted ONNX model (see `analyze` in `@hessian-probe/core`): its
 * curvature over the parameter initializers, one block per initializer (also the "layers" of
 * the block and per-layer analyses: an ONNX graph has no layer objects), the loss on the probe
 * batch and, for the closed-form losses, the Gauss–Newton operator. Without a tfjs model, the
 * layer-level analyses (Kronecker, classes) and unit cuts are refused before any work.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { analyze } from '@hessian-probe/core/internal';
 * declare const options: OnnxCurvatureOptions; // tf, inputs, labels and loss of 64 samples
 * const curvature = await onnxCurvature(readFileSync('mlp.onnx'), options);
 * const context = onnxContext(curvature, { kind: 'hessian', probeSize: 64 });
 * const report = await analyze(context, { analyses: { density: true } }, { name: 'mlp' });
 * ```
 */
export function onnxContext(
  curvature: OnnxCurvature,
  options: { readonly kind: CurvatureKind; readonly probeSize: number; readonly where?: string },
): AnalysisContext {
  const { gaussNewton } = curvature;
  return {
    where: options.where ?? 'hessian-probe onnx analyze',
    kind: options.kind,
    operator: curvature.operator,
    layout: curvature.layout,
    layerLayout: curvature.layout,
    probeSize: options.probeSize,
    lossValue: curvature.lossValue,
    ...(options.kind === 'hessian' && gaussNewton !== undefined ? { gaussNewton } : {}),
  };
}
