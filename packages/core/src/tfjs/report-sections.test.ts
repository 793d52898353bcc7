import { beforeAll, describe, expect, it } from 'vitest';
import { normalizeReport, REPORT_SCHEMA_VERSION } from '../report.js';
import { classHierarchy } from './class-hierarchy.js';
import { kroneckerDecoupling } from './kronecker.js';
import { classesSection, kroneckerSection } from './report-sections.js';
import { tf, useBackend } from './testing/backends.js';
import { gaussianData, oneHotLabels, setSeededWeights } from './testing/models.js';

const N = 24;
const D = 5;
const HIDDEN = 4;
const C = 3;

function setup() {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [D], units: HIDDEN, activation: 'relu', name: 'hidden' }),
      tf.layers.dense({ units: C, activation: 'softmax', name: 'out' }),
    ],
  });
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  setSeededWeights(tf, model, 4);
  const x = tf.tensor2d(Float32Array.from(gaussianData(5, N, D)), [N, D]);
  const y = tf.tensor2d(Float32Array.from(oneHotLabels(N, C).dense), [N, C]);
  return { model, x, y };
}

/** A report around the given sections, checked by normalizeReport as every writer does. */
function reportWith(sections: object) {
  return normalizeReport({
    schemaVersion: REPORT_SCHEMA_VERSION,
    epoch: 0,
    step: 0,
    timestamp: '2026-01-01T00:00:00Z',
    model: {
      name: 'mlp',
      parameterCount: 1,
      layout: { dim: 1, blocks: [{ name: 'w', offset: 0, size: 1 }] },
    },
    probe: { size: N, seed: 0 },
    loss: 1,
    seconds: 0,
    matvecs: 0,
    ...sections,
  });
}

describe('report sections of the model-level analyses', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('kronecker: one valid entry per Dense layer with the analysis numbers', async () => {
    const { model, x, y } = setup();
    const layers = await kroneckerDecoupling(model, { tf, x, y, topK: 2, selfCheck: false });
    const section = kroneckerSection(layers);
    expect(section.map((l) => l.name)).toEqual(['hidden', 'out']);
    for (const [i, entry] of section.entries()) {
      expect(entry.relativeError).toBe(layers[i].relativeError);
      expect(entry.overlap).toBe(layers[i].overlap);
      expect(entry.rank1Energy).toBe(layers[i].rank1Energy[0]);
      expect(entry.matvecs).toBe(layers[i].matvecs);
    }
    // The last layer's E[M] = E[diag(p) − ppᵀ] has rank C − 1 under cross-entropy.
    expect(section[1].outliers).toBe(C - 1);
    expect(reportWith({ kronecker: section }).kronecker).toEqual(section);
    model.dispose();
    tf.dispose([x, y]);
  });

  it('classes: trace fractions summing to 1, the C outliers and every product counted', async () => {
    const { model, x, y } = setup();
    const result = await classHierarchy(model, { tf, x, y, selfCheck: false });
    const section = classesSection(result);
    expect(section.classes).toBe(C);
    const { g0, g1, g2, g3 } = section.traceFractions;
    // G = G₀ + G₁ + G₂ + G₃ by construction of G₃: the fractions add up to 1 in float64.
    expect(Math.abs(g0 + g1 + g2 + g3 - 1)).toBeLessThan(1e-12);
    expect(section.level1Values).toHaveLength(C);
    expect(section.level1Values).toEqual(Array.from(result.g1.eigenvalues.subarray(0, C)));
    expect(section.classMeanOverlap).toBe(result.overlap.gaussNewton);
    const { cost } = result;
    expect(section.matvecs).toBe(
      cost.classMeanVjps + cost.traceVjps + cost.gaussNewtonMatvecs + cost.hessianMatvecs,
    );
    expect(reportWith({ classes: section }).classes).toEqual(section);
    model.dispose();
    tf.dispose([x, y]);
  });
});
