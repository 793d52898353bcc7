// The packages from an ES module, as a user writes it: every entry point loads, the JSON
// schemas import with `with { type: 'json' }`, and the numerics give a closed-form answer.
import assert from 'node:assert/strict';
import {
  denseOperator,
  estimateTrace,
  REPORT_SCHEMA_VERSION,
  topEigenpairs,
} from '@hessian-probe/core';
import analysisSchema from '@hessian-probe/core/analysis-request.schema.json' with { type: 'json' };
import { selectBackend } from '@hessian-probe/core/backends';
import reportSchema from '@hessian-probe/core/curvature-report.schema.json' with { type: 'json' };
import { arithmeticTolerance, checkOperatorContract } from '@hessian-probe/core/testing';
import { analyzeModel, modelCurvature } from '@hessian-probe/core/tfjs';
import { onnxCurvature, parseModel, toOnnx } from '@hessian-probe/onnx-adapter';
import { renderReportHtml } from '@hessian-probe/report';
import { curvatureMetrics, hessianCallback } from '@hessian-probe/tfjs-callback';
import * as tf from '@tensorflow/tfjs';

for (const f of [selectBackend, checkOperatorContract, modelCurvature])
  assert.equal(typeof f, 'function');
assert.equal(arithmeticTolerance.float32, 256 * 2 ** -24);
for (const f of [onnxCurvature, hessianCallback, curvatureMetrics])
  assert.equal(typeof f, 'function');
assert.equal(typeof reportSchema.$schema, 'string');
assert.equal(typeof analysisSchema.$schema, 'string');

// diag(1, 2, 3): top eigenvalue 3, trace 6 (Hutch++ is exact with matvecs ≥ dim here).
const op = denseOperator(Float64Array.of(1, 0, 0, 0, 2, 0, 0, 0, 3), 3);
const top = await topEigenpairs(op, { k: 1, seed: 1 });
assert.ok(Math.abs(top.values[0] - 3) < 1e-12, `λmax ${top.values[0]}`);
const trace = await estimateTrace(op, { matvecs: 30, seed: 1 });
assert.ok(Math.abs(trace.estimate - 6) < 1e-9, `trace ${trace.estimate}`);

// A tfjs model end to end: its report, the HTML page of it, and its ONNX export parsed back.
await tf.setBackend('cpu');
const model = tf.sequential({
  layers: [tf.layers.dense({ inputShape: [3], units: 2, activation: 'softmax' })],
});
model.compile({ loss: 'categoricalCrossentropy', optimizer: 'sgd' });
const x = tf.tensor2d([
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
  [1, 1, 1],
]);
const y = tf.tensor2d([
  [1, 0],
  [0, 1],
  [1, 0],
  [0, 1],
]);
const report = await analyzeModel(model, { tf, x, y, seed: 1 });
assert.equal(report.schemaVersion, REPORT_SCHEMA_VERSION);
assert.ok(Number.isFinite(report.eigen?.values[0]), 'a finite λmax');
const html = await renderReportHtml([report]);
assert.match(html, /^<!doctype html>/i);
const parsed = parseModel(toOnnx(model));
assert.equal(parsed.graph?.initializer?.length, 2);
console.log(
  `esm: every entry point loads; λmax ${report.eigen?.values[0].toFixed(6)}, ${html.length} bytes of HTML`,
);
