// Compiled under `module: nodenext` twice, as an ES module and as CommonJS (strict), then run:
// the packages' types resolve from both, and `{ tf }` takes the namespace a user imports.
import * as assert from 'node:assert/strict';
import {
  type CurvatureReport,
  denseOperator,
  type LinearOperator,
  topEigenpairs,
} from '@hessian-probe/core';
import { selectBackend } from '@hessian-probe/core/backends';
import { arithmeticTolerance } from '@hessian-probe/core/testing';
import { analyzeModel, modelCurvature, type Tf } from '@hessian-probe/core/tfjs';
import { type OnnxCurvature, toOnnx } from '@hessian-probe/onnx-adapter';
import { renderReportHtml } from '@hessian-probe/report';
import { type HessianCallback, hessianCallback } from '@hessian-probe/tfjs-callback';
import * as tf from '@tensorflow/tfjs';

async function main(): Promise<void> {
  const namespace: Tf = tf;
  const { name } = await selectBackend(namespace, 'cpu');
  const op: LinearOperator = denseOperator(Float64Array.of(4, 0, 0, 1), 2);
  const { values } = await topEigenpairs(op, { k: 1, seed: 1 });
  assert.ok(Math.abs(values[0] - 4) <= arithmeticTolerance.float64 * 4, `λmax ${values[0]}`);

  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [2], units: 2, activation: 'softmax' })],
  });
  model.compile({ loss: 'categoricalCrossentropy', optimizer: 'sgd' });
  const x = tf.tensor2d([
    [1, 0],
    [0, 1],
    [1, 1],
  ]);
  const y = tf.tensor2d([
    [1, 0],
    [0, 1],
    [1, 0],
  ]);
  const { operator } = modelCurvature(model, { tf, x, y });
  assert.equal(operator.dim, 6);
  const report: CurvatureReport = await analyzeModel(model, { tf, x, y, seed: 1 });
  const callback: HessianCallback = hessianCallback({ tf, probe: { x, y } });
  const html: string = await renderReportHtml([report]);
  const bytes: Uint8Array = toOnnx(model);
  const curvature: OnnxCurvature | undefined = undefined;
  assert.equal(curvature, undefined);
  assert.ok(callback.history.length === 0 && html.length > 0 && bytes.length > 0);
  console.log(
    `typed (${typeof require === 'function' ? 'cjs' : 'esm'}): backend ${name}, λmax ${report.eigen?.values[0]}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
