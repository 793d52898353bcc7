/**
 * `pnpm demo` (until the fit() callback demo exists): the core numerics on a built-in operator,
 * the exact Hessian of a softmax-regression classifier on Gaussian class clusters. At
 * initialisation (W = 0) every quantity has a closed form (docs/methods.md A); after training the
 * estimates are compared with the dense float64 matrix.
 */
import {
  blockNorms,
  denseMatrix,
  estimateTrace,
  spectralDensity,
  spectralSummary,
  topEigenpairs,
} from '@hessian-probe/core';
import { exactBlockNorms } from '@hessian-probe/core/internal';
import {
  type ClassificationData,
  gaussianClusters,
  softmaxRegressionHessian,
} from './softmax-regression.js';

const classes = 10;
const features = 20;
const data = gaussianClusters({ samples: 2000, features, classes, separation: 1.5, seed: 1 });

/** Mean cross-entropy and its gradient, in float64. */
function lossAndGradient(
  d: ClassificationData,
  w: Float64Array,
): { loss: number; gradient: Float64Array } {
  const gradient = new Float64Array(w.length);
  let loss = 0;
  const logits = new Float64Array(d.classes);
  for (let n = 0; n < d.samples; n++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < d.classes; c++) {
      let z = 0;
      for (let f = 0; f < d.features; f++) z += w[c * d.features + f] * d.x[n * d.features + f];
      logits[c] = z;
      max = Math.max(max, z);
    }
    let total = 0;
    for (let c = 0; c < d.classes; c++) total += Math.exp(logits[c] - max);
    loss += (max + Math.log(total) - logits[d.labels[n]]) / d.samples;
    for (let c = 0; c < d.classes; c++) {
      const residual = Math.exp(logits[c] - max) / total - (d.labels[n] === c ? 1 : 0);
      for (let f = 0; f < d.features; f++) {
        gradient[c * d.features + f] += (residual * d.x[n * d.features + f]) / d.samples;
      }
    }
  }
  return { loss, gradient };
}

function exactTrace(matrix: Float64Array, n: number): number {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += matrix[i * n + i];
  return trace;
}

const fmt = (x: number, digits = 4) => x.toPrecision(digits);

async function analyse(title: string, w: Float64Array, closedForm: boolean): Promise<void> {
  const { operator, layout } = softmaxRegressionHessian(data, w);
  const dim = operator.dim;
  const dense = await denseMatrix(operator);
  const { loss } = lossAndGradient(data, w);
  console.log(`\n## ${title}: loss ${fmt(loss)}, ${dim} parameters, ${classes} class blocks`);

  const top = await topEigenpairs(operator, { k: classes, tol: 1e-10, seed: 1 });
  console.log(
    `top-${classes} eigenvalues (${top.matvecs} matvecs, converged ${top.converged}, max residual ${fmt(Math.max(...top.residuals), 2)}):`,
  );
  console.log(`  ${Array.from(top.values, (v) => fmt(v, 3)).join('  ')}`);

  const trace = await estimateTrace(operator, { matvecs: 60, seed: 2 });
  const hutchinson = await estimateTrace(operator, { matvecs: 60, seed: 2, method: 'hutchinson' });
  const traceExact = exactTrace(dense, dim);
  console.log(
    `trace: exact ${fmt(traceExact)}; Hutch++ ${fmt(trace.estimate)} ± ${fmt(trace.stderr, 2)}; ` +
      `Hutchinson ${fmt(hutchinson.estimate)} ± ${fmt(hutchinson.stderr, 2)} (60 matvecs each)`,
  );

  const density = await spectralDensity(operator, { probes: 8, steps: 60, seed: 3 });
  const summary = spectralSummary(density);
  console.log(
    `SLQ (8 probes × 60 steps): λ in [${fmt(density.lambdaMin, 3)}, ${fmt(density.lambdaMax, 3)}], ` +
      `negative mass ${fmt(density.negativeFraction, 2)}, effective rank ${fmt(summary.effectiveRank, 3)}, σ ${fmt(density.sigma, 2)}`,
  );
  console.log(`  density: ${sparkline(density.density)}`);

  const estimated = await blockNorms(operator, layout, { probes: 20, seed: 4 });
  const exact = exactBlockNorms(dense, dim, layout);
  const expected = closedForm ? ` (closed form at W = 0: 1/C = ${fmt(1 / classes)})` : '';
  console.log(
    `class-block off-diagonal mass ratio: exact ${fmt(exact.offDiagonalRatio)}, ` +
      `estimated ${fmt(estimated.offDiagonalRatio)} (${estimated.matvecs} matvecs)${expected}`,
  );
}

/** A one-line text rendering of a density curve. */
function sparkline(values: Float64Array, width = 64): string {
  const bars = '▁▂▃▄▅▆▇█';
  const step = values.length / width;
  const samples = Array.from({ length: width }, (_, i) => {
    let peak = 0;
    for (let j = Math.floor(i * step); j < Math.floor((i + 1) * step); j++)
      peak = Math.max(peak, values[j]);
    return Math.sqrt(peak);
  });
  const max = Math.max(...samples);
  return samples
    .map((s) => bars[Math.min(bars.length - 1, Math.floor((s / max) * bars.length))])
    .join('');
}

async function main(): Promise<void> {
  console.log('# hessian-probe core quick start: softmax regression on Gaussian class clusters');
  console.log(`${data.samples} samples, ${features} features, ${classes} classes`);
  const w = new Float64Array(classes * features);
  await analyse('At initialisation (W = 0)', w, true);
  let loss = Number.NaN;
  for (let step = 0; step < 200; step++) {
    const result = lossAndGradient(data, w);
    loss = result.loss;
    for (let i = 0; i < w.length; i++) w[i] -= 0.5 * result.gradient[i];
  }
  console.log(`\n(200 steps of gradient descent, learning rate 0.5: loss ${fmt(loss)})`);
  await analyse('After training', w, false);
}

await main();
