import { describe, expect, it } from 'vitest';
import { blockStructure } from './block-structure.js';
import { blockNorms, exactBlockNorms } from './blocks.js';
import { gaussNewtonGap } from './layer-spectra.js';
import { layoutFromSizes } from './layout.js';
import { ratioOfMeans, SampleMoments, sqrtRatioOfMeans } from './moments.js';
import { denseOperator } from './operator.js';
import { createRandom } from './random.js';
import { conjugatedSpectrum } from './testing/spectra.js';

/** A dense symmetric matrix with Gaussian eigenvalues (mean `shift`) and Haar eigenvectors. */
function randomSymmetric(n: number, seed: number, shift = 0): Float64Array {
  const rng = createRandom(seed);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = shift + rng.gaussian();
  return conjugatedSpectrum(values, seed + 1).matrix;
}

/** Sample covariance (divisor K − 1) of two equally long arrays, two-pass. */
function covariance(a: readonly number[], b: readonly number[]): number {
  const k = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / k;
  const mb = b.reduce((s, v) => s + v, 0) / k;
  return a.reduce((s, v, i) => s + (v - ma) * (b[i] - mb), 0) / (k - 1);
}

describe('SampleMoments', () => {
  it('gives the two-pass mean and standard error, and NaN errors below two samples', () => {
    const samples = [
      [1, 10],
      [4, 10],
      [2.5, 10],
      [7, 10],
    ];
    const moments = new SampleMoments(2);
    expect(Array.from(moments.standardError())).toEqual([Number.NaN, Number.NaN]);
    for (const s of samples) moments.add(s);
    const first = samples.map((s) => s[0]);
    expect(moments.count).toBe(4);
    expect(moments.mean()[0]).toBeCloseTo(3.625, 14);
    expect(moments.standardError()[0]).toBeCloseTo(Math.sqrt(covariance(first, first) / 4), 14);
    // A constant entry has no spread (Welford's update never cancels to a negative variance).
    expect(moments.standardError()[1]).toBe(0);
  });
});

describe('ratioOfMeans', () => {
  const a = [1.1, 0.9, 1.3, 0.7, 1.05];
  const b = [10.2, 9.7, 10.4, 9.1, 10.0];

  it('is ā/b̄ with the delta-method error √((s²_a − 2R s_ab + R² s²_b)/K)/|b̄|', () => {
    const k = a.length;
    const meanA = a.reduce((s, v) => s + v, 0) / k;
    const meanB = b.reduce((s, v) => s + v, 0) / k;
    const r = meanA / meanB;
    const variance =
      (covariance(a, a) - 2 * r * covariance(a, b) + r * r * covariance(b, b)) / k / meanB ** 2;
    const got = ratioOfMeans(a, b);
    expect(got.ratio).toBeCloseTo(r, 15);
    expect(got.numerator).toBeCloseTo(meanA, 15);
    expect(got.denominator).toBeCloseTo(meanB, 14);
    expect(got.stderr).toBeCloseTo(Math.sqrt(variance), 14);
    const root = sqrtRatioOfMeans(a, b);
    expect(root.ratio).toBeCloseTo(Math.sqrt(r), 15);
    expect(root.stderr).toBeCloseTo(Math.sqrt(variance) / (2 * Math.sqrt(r)), 14);
    expect(root.numerator).toBe(got.numerator);
  });

  it('gives no error bar from one pair, and none needed for proportional pairs or a zero numerator', () => {
    expect(ratioOfMeans([2], [4]).stderr).toBeNaN();
    expect(ratioOfMeans([2], [4]).ratio).toBe(0.5);
    expect(ratioOfMeans([1, 2, 3], [2, 4, 6]).stderr).toBe(0);
    expect(sqrtRatioOfMeans([0, 0, 0], [1, 2, 3])).toMatchObject({ ratio: 0, stderr: 0 });
  });
});

describe('delta-method error bars: calibration over 200 seeds', () => {
  // Binomial(200, 0.95): sd 3.1 runs; 4 sd below 190 is 178. An interval of ±2 stderr is a
  // normal-theory 95 % interval; with 32 probes the relative error of the denominator is a few
  // per cent, where the first-order (delta) approximation holds. Too wide an error bar fails
  // as well: all 200 covered has probability 0.95²⁰⁰ = 3.5e-5 (the block statistics' former
  // bars, which treated the entries of a column as independent, covered 200 of 200).
  const calibrated = (covered: number) => covered >= 178 && covered <= 199;
  const n = 48;
  const runs = 200;

  it('covers the exact Gauss–Newton gap ‖H − G‖_F/‖G‖_F (stochastic route, 32 probes)', async () => {
    const g = randomSymmetric(n, 3, 1);
    const noise = randomSymmetric(n, 5);
    const h = g.map((v, i) => v + 0.4 * noise[i]);
    let num = 0;
    let den = 0;
    for (let i = 0; i < n * n; i++) {
      num += (h[i] - g[i]) ** 2;
      den += g[i] ** 2;
    }
    const exact = Math.sqrt(num / den);
    const [hOp, gOp] = [denseOperator(h, n), denseOperator(g, n)];
    let covered = 0;
    for (let seed = 0; seed < runs; seed++) {
      const gap = await gaussNewtonGap(hOp, gOp, { maxExactDim: 0, probes: 32, seed });
      expect(gap.method).toBe('stochastic');
      if (Math.abs(gap.ratio - exact) <= 2 * gap.stderr) covered++;
    }
    expect(covered, `${covered} of ${runs}`).toSatisfy(calibrated);
  });

  it('covers the exact cross- and within-layer mass ratios of blockStructure (32 probes per block)', async () => {
    // Four blocks in two "layers"; a diagonal-heavy matrix, as Hessians are.
    const layout = layoutFromSizes([
      { name: 'a/0', size: 10 },
      { name: 'a/1', size: 14 },
      { name: 'b/0', size: 12 },
      { name: 'b/1', size: 12 },
    ]);
    const a = randomSymmetric(n, 11);
    for (let i = 0; i < n; i++) a[i * n + i] += 3;
    const exact = blockStructure(exactBlockNorms(a, n, layout));
    const op = denseOperator(a, n);
    const covered = { withinLayer: 0, crossLayer: 0 };
    for (let seed = 0; seed < runs; seed++) {
      const estimated = blockStructure(await blockNorms(op, layout, { probes: 32, seed }));
      for (const key of ['withinLayer', 'crossLayer'] as const) {
        const { massRatio, massRatioStderr } = estimated[key];
        if (Math.abs(massRatio - exact[key].massRatio) <= 2 * massRatioStderr) covered[key]++;
      }
    }
    expect(covered.withinLayer, `within: ${covered.withinLayer} of ${runs}`).toSatisfy(calibrated);
    expect(covered.crossLayer, `cross: ${covered.crossLayer} of ${runs}`).toSatisfy(calibrated);
  });
});
