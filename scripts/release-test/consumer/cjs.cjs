// The packages from CommonJS: require() of an ES module (Node >= 20.19), every entry point.
const assert = require('node:assert/strict');
const core = require('@hessian-probe/core');
const { selectBackend } = require('@hessian-probe/core/backends');
const { arithmeticTolerance } = require('@hessian-probe/core/testing');
const { analyzeModel } = require('@hessian-probe/core/tfjs');
const reportSchema = require('@hessian-probe/core/curvature-report.schema.json');
const { toOnnx } = require('@hessian-probe/onnx-adapter');
const { renderReportHtml } = require('@hessian-probe/report');
const { hessianCallback } = require('@hessian-probe/tfjs-callback');
const tf = require('@tensorflow/tfjs');

async function main() {
  assert.equal(arithmeticTolerance.float64, 256 * 2 ** -53);
  for (const f of [selectBackend, analyzeModel, toOnnx, renderReportHtml, hessianCallback]) {
    assert.equal(typeof f, 'function');
  }
  assert.equal(typeof reportSchema.$schema, 'string');
  const op = core.denseOperator(Float64Array.of(2, 1, 1, 2), 2); // eigenvalues 1 and 3
  const { values } = await core.topEigenpairs(op, { k: 1, which: 'both', seed: 1 });
  assert.deepEqual([...values].map((v) => Math.round(v * 1e9) / 1e9).sort(), [1, 3]);
  // The Tf namespace of a CommonJS require is the one core/tfjs takes.
  await tf.setBackend('cpu');
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
  model.compile({ loss: 'meanSquaredError', optimizer: 'sgd' });
  const x = tf.tensor2d([
    [1, 0],
    [0, 1],
    [1, 1],
  ]);
  const report = await analyzeModel(model, { tf, x, y: tf.tensor2d([[1], [0], [1]]), seed: 1 });
  assert.ok(Number.isFinite(report.eigen.values[0]));
  console.log(`cjs: every entry point requires; λmax ${report.eigen.values[0].toFixed(6)}`);
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
