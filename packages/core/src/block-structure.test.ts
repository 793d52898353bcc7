import { describe, expect, it } from 'vitest';
import { blockMeanAbs, blockStructure, layerOfBlock } from './block-structure.js';
import { blockRatios, exactBlockNorms } from './blocks.js';
import { DimensionError } from './errors.js';
import { layoutFromSizes } from './layout.js';
import { ratioOfMeans } from './moments.js';
import { createRandom } from './random.js';
import { arithmeticTolerance } from './testing/operator-contract.js';

const TOLERANCE = arithmeticTolerance.float64;

/** H = (1/N) Σ_n A_n ⊗ x_n x_nᵀ for a linear model z = Wx, per-class blocks `out/class_k`. */
function linearHessian(
  x: Float64Array,
  d: number,
  classes: number,
  lossHessian: (n: number) => Float64Array,
) {
  const samples = x.length / d;
  const dim = classes * d;
  const h = new Float64Array(dim * dim);
  for (let n = 0; n < samples; n++) {
    const a = lossHessian(n);
    for (let k = 0; k < classes; k++) {
      for (let l = 0; l < classes; l++) {
        for (let i = 0; i < d; i++) {
          for (let j = 0; j < d; j++) {
            h[(k * d + i) * dim + l * d + j] +=
              (a[k * classes + l] * x[n * d + i] * x[n * d + j]) / samples;
          }
        }
      }
    }
  }
  const layout = layoutFromSizes(
    Array.from({ length: classes }, (_, k) => ({ name: `out/class_${k}`, size: d })),
  );
  return { h, dim, layout };
}

/** Cross-entropy loss Hessian diag(p) − ppᵀ at the logits W x_n. */
function softmaxLossHessian(w: Float64Array, x: Float64Array, d: number, classes: number) {
  return (n: number): Float64Array => {
    const z = Array.from({ length: classes }, (_, k) => {
      let s = 0;
      for (let i = 0; i < d; i++) s += w[k * d + i] * x[n * d + i];
      return s;
    });
    const top = Math.max(...z);
    const e = z.map((v) => Math.exp(v - top));
    const total = e.reduce((s, v) => s + v, 0);
    const p = e.map((v) => v / total);
    const a = new Float64Array(classes * classes);
    for (let k = 0; k < classes; k++) {
      for (let l = 0; l < classes; l++) a[k * classes + l] = (k === l ? p[k] : 0) - p[k] * p[l];
    }
    return a;
  };
}

describe('blockStructure on exact Hessians of a linear model (docs/methods.md A)', () => {
  const d = 3;
  const samples = 7;
  const x = createRandom(5).gaussianVector(samples * d);

  it('MSE: every off-diagonal class block is exactly zero, for any weights and data', () => {
    const classes = 4;
    const identity = (_n: number) =>
      Float64Array.from({ length: classes * classes }, (_, i) => (i % (classes + 1) === 0 ? 1 : 0));
    const { h, dim, layout } = linearHessian(x, d, classes, identity);
    const structure = blockStructure(exactBlockNorms(h, dim, layout));
    expect(structure.groups).toEqual(['out', 'out', 'out', 'out']);
    expect(structure.withinLayer).toMatchObject({ pairs: 12, meanRatio: 0, massRatio: 0 });
    expect(structure.crossLayer).toMatchObject({ pairs: 0, massRatio: 0 });
    expect(structure.crossLayer.meanRatio).toBeNaN();
    const heat = blockMeanAbs(h, dim, layout);
    for (let k = 0; k < classes; k++) {
      for (let l = 0; l < classes; l++) {
        if (k === l) expect(heat[k][l]).toBeGreaterThan(0);
        else expect(heat[k][l]).toBe(0);
      }
    }
  });

  it.each([2, 3, 5, 8])('CE at W = 0 with C = %i: every ratio equals 1/(C − 1)', (classes) => {
    const w = new Float64Array(classes * d);
    const { h, dim, layout } = linearHessian(x, d, classes, softmaxLossHessian(w, x, d, classes));
    const structure = blockStructure(exactBlockNorms(h, dim, layout));
    const expected = 1 / (classes - 1);
    const [layer] = structure.layers;
    for (const value of [
      structure.withinLayer.meanRatio,
      structure.withinLayer.massRatio,
      layer.meanRatio,
      layer.massRatio,
    ]) {
      expect(Math.abs(value - expected)).toBeLessThan(TOLERANCE * expected);
    }
    for (let k = 0; k < classes; k++) {
      for (let l = 0; l < classes; l++) {
        if (k === l) continue;
        expect(Math.abs(structure.normalizedCoupling[k][l] - expected)).toBeLessThan(TOLERANCE);
      }
    }
    // Block-mean |H| too: |H_kl| = |H_kk| / (C − 1) entrywise.
    const heat = blockMeanAbs(h, dim, layout);
    expect(Math.abs(heat[0][1] / heat[0][0] - expected)).toBeLessThan(TOLERANCE * expected);
  });

  it('CE at W = 0 with C = 2: H_12 = −H_11 entrywise', () => {
    const { h, dim } = linearHessian(x, d, 2, softmaxLossHessian(new Float64Array(2 * d), x, d, 2));
    let scale = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        const h11 = h[i * dim + j];
        scale = Math.max(scale, Math.abs(h11));
        expect(Math.abs(h[i * dim + d + j] + h11)).toBeLessThanOrEqual(TOLERANCE * Math.abs(h11));
      }
    }
    expect(scale).toBeGreaterThan(0);
  });

  it('CE at random W: the ratio moves away from 1/(C − 1) (the closed form is for W = 0 only)', () => {
    const classes = 4;
    const w = createRandom(9).gaussianVector(classes * d);
    const { h, dim, layout } = linearHessian(x, d, classes, softmaxLossHessian(w, x, d, classes));
    const { withinLayer } = blockStructure(exactBlockNorms(h, dim, layout));
    expect(Math.abs(withinLayer.massRatio - 1 / 3)).toBeGreaterThan(1e-3);
  });
});

describe('blockStructure', () => {
  // Blocks a/0, a/1 (layer a) and b/0 (layer b); F² chosen by hand.
  const frobeniusSq = [
    [4, 1, 9],
    [1, 16, 4],
    [9, 4, 1],
  ];
  const names = ['a/0', 'a/1', 'b/0'];

  it('splits the pairs into within- and cross-layer sets, with per-layer statistics', () => {
    const s = blockStructure({ names, frobeniusSq });
    // Diagonal: F = 2, 4, 1 (mean 7/3); F² sum 21.
    expect(s.withinLayer.pairs).toBe(2);
    expect(s.withinLayer.meanRatio).toBeCloseTo(1 / (7 / 3), 14);
    expect(s.withinLayer.massRatio).toBeCloseTo(2 / 21, 14);
    expect(s.crossLayer.pairs).toBe(4);
    expect(s.crossLayer.meanRatio).toBeCloseTo(((3 + 2) * 2) / 4 / (7 / 3), 14);
    expect(s.crossLayer.massRatio).toBeCloseTo(26 / 21, 14);
    expect(s.withinLayer.massRatio + s.crossLayer.massRatio).toBeCloseTo(
      blockRatios(frobeniusSq).massRatio,
      14,
    );
    expect(s.layers.map((l) => [l.name, l.blocks, l.pairs])).toEqual([
      ['a', 2, 2],
      ['b', 1, 0],
    ]);
    expect(s.layers[0].meanRatio).toBeCloseTo(1 / 3, 14);
    expect(s.layers[0].massRatio).toBeCloseTo(2 / 20, 14);
    expect(s.withinLayer.massRatioStderr).toBe(0);
  });

  it('propagates standard errors to the mass ratio by the delta method', () => {
    const stderr = frobeniusSq.map((row) => row.map(() => 0.5));
    const s = blockStructure({ names, frobeniusSq, stderr });
    // Var(num) = 2 · 0.25, Var(den) = 3 · 0.25, R = 2/21.
    const expected = Math.sqrt(0.5 + (2 / 21) ** 2 * 0.75) / 21;
    expect(s.withinLayer.massRatioStderr).toBeCloseTo(expected, 14);
  });

  it('takes a custom grouping', () => {
    const s = blockStructure({ names, frobeniusSq }, { groupOf: () => 'all' });
    expect(s.crossLayer.pairs).toBe(0);
    expect(s.withinLayer.massRatio).toBeCloseTo(blockRatios(frobeniusSq).massRatio, 14);
  });

  it('rejects mismatched shapes, naming what it expected', () => {
    expect(() => blockStructure({ names: ['a'], frobeniusSq })).toThrow(DimensionError);
    expect(() => blockStructure({ names, frobeniusSq, stderr: [[1, 1, 1]] })).toThrow(
      /expected stderr to be a square 3×3 array/,
    );
    const column = new Float64Array(6);
    for (const samples of [
      [column, column],
      [column, column, new Float64Array(3)],
      [column, column, new Float64Array(5)],
    ]) {
      expect(() => blockStructure({ names, frobeniusSq, samples })).toThrow(
        /expected samples to be 3 Float64Arrays of probes × 3 entries/,
      );
    }
    expect(() =>
      blockStructure({ names, frobeniusSq, samples: [column, column, [0, 0, 0] as never] }),
    ).toThrow(/expected samples\[2\] to be a Float64Array/);
  });

  it("takes the mass ratios' error bars from per-probe samples: a ratio of per-probe sums", () => {
    // Two probes per column, averaging to frobeniusSq; column j holds probe 0's entries, then
    // probe 1's. Per probe, within-layer pairs (a/0, a/1) sum to 0.5 + 2 and 1.5 + 0, the cross-
    // layer pairs to 8 + 3 + 7 + 6 and 10 + 5 + 11 + 2, the diagonal to 3 + 10 + 0.5 and 5 + 22 + 1.5.
    const samples = [
      Float64Array.of(3, 0.5, 8, 5, 1.5, 10),
      Float64Array.of(2, 10, 3, 0, 22, 5),
      Float64Array.of(7, 6, 0.5, 11, 2, 1.5),
    ];
    const s = blockStructure({ names, frobeniusSq, samples });
    const diagonal = [13.5, 28.5];
    expect(s.withinLayer.massRatio).toBeCloseTo(2 / 21, 14);
    expect(s.withinLayer.massRatioStderr).toBeCloseTo(
      ratioOfMeans([2.5, 1.5], diagonal).stderr,
      14,
    );
    expect(s.crossLayer.massRatioStderr).toBeCloseTo(ratioOfMeans([24, 28], diagonal).stderr, 14);
    // Layer 'a' alone: its pairs over its own diagonal, 3 + 10 and 5 + 22.
    expect(s.layers[0].massRatioStderr).toBeCloseTo(ratioOfMeans([2.5, 1.5], [13, 27]).stderr, 14);
  });
});

describe('layerOfBlock and blockMeanAbs', () => {
  it('groups by the text before the last slash', () => {
    expect(layerOfBlock('dense_Dense1/unit_3')).toBe('dense_Dense1');
    expect(layerOfBlock('model/dense/unit_0')).toBe('model/dense');
    expect(layerOfBlock('bias')).toBe('bias');
  });

  it('averages |a| over each block pair', () => {
    const layout = layoutFromSizes([
      { name: 'a', size: 1 },
      { name: 'b', size: 2 },
    ]);
    const a = Float64Array.of(1, -2, 4, -2, 3, 0, 4, 0, -5);
    expect(blockMeanAbs(a, 3, layout)).toEqual([
      [1, 3],
      [3, 2],
    ]);
    expect(() => blockMeanAbs(a, 2, layout)).toThrow(DimensionError);
  });
});
