import { describe, expect, it } from 'vitest';
import { OptionError } from './errors.js';
import { createRandom, SIGNS_PER_DRAW } from './random.js';
import { norm } from './vector.js';

describe('Random', () => {
  it('gives bit-identical streams for the same seed and different ones otherwise', () => {
    expect(createRandom(42).gaussianVector(50)).toEqual(createRandom(42).gaussianVector(50));
    expect(createRandom(42).gaussianVector(50)).not.toEqual(createRandom(43).gaussianVector(50));
  });

  it('draws standard normals: mean and variance within 5 standard errors (n = 100k)', () => {
    const n = 100_000;
    const x = createRandom(1).gaussianVector(n);
    const mean = x.reduce((s, v) => s + v, 0) / n;
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
    // Standard errors: 1/√n for the mean, √(2/n) for the variance of a normal sample.
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  it('has standard-normal first draws across seeds (no seeding artefact)', () => {
    // E g² = 1 with standard error √(2/n) for n first draws of n different seeds.
    const n = 4000;
    let sum = 0;
    for (let seed = 0; seed < n; seed++) sum += createRandom(seed).gaussian() ** 2;
    expect(Math.abs(sum / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  it('draws Rademacher signs with equal probability', () => {
    const n = 100_000;
    const z = createRandom(2).rademacherVector(n);
    expect(z.every((v) => v === 1 || v === -1)).toBe(true);
    expect(Math.abs(z.reduce((s, v) => s + v, 0))).toBeLessThan(5 * Math.sqrt(n));
  });

  it('draws normals whose distribution function is Φ (Kolmogorov–Smirnov, n = 100k)', () => {
    const n = 100_000;
    const x = createRandom(11).gaussianVector(n).sort();
    let d = 0;
    for (let i = 0; i < n; i++) {
      const f = normalCdf(x[i]);
      d = Math.max(d, (i + 1) / n - f, f - i / n);
    }
    // P(√n·D > 1.95) ≈ 0.001 (Kolmogorov distribution); normalCdf errs by < 1.5e-7.
    expect(Math.sqrt(n) * d).toBeLessThan(1.95);
    // Fourth moment E x⁴ = 3, standard error √((E x⁸ − 9)/n) = √(96/n).
    let fourth = 0;
    for (let i = 0; i < n; i++) fourth += x[i] ** 4;
    expect(Math.abs(fourth / n - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
  });

  it('draws the two normals of a polar pair independently', () => {
    // x = u·f and y = v·f share s = u² + v²: independence shows in E[x²y²] = 1, not only in
    // E[xy] = 0. Standard errors √(1/n) and √((E x⁴ E y⁴ − 1)/n) = √(8/n) over n pairs.
    const n = 50_000;
    const z = createRandom(12).gaussianVector(2 * n);
    let product = 0;
    let squares = 0;
    for (let i = 0; i < n; i++) {
      product += z[2 * i] * z[2 * i + 1];
      squares += z[2 * i] ** 2 * z[2 * i + 1] ** 2;
    }
    expect(Math.abs(product / n)).toBeLessThan(5 * Math.sqrt(1 / n));
    expect(Math.abs(squares / n - 1)).toBeLessThan(5 * Math.sqrt(8 / n));
  });

  it('gives the same normals from gaussianVector as from as many gaussian() calls', () => {
    const a = createRandom(13);
    const b = createRandom(13);
    const fromVectors = [...a.gaussianVector(3), ...a.gaussianVector(4), ...a.gaussianVector(0)];
    fromVectors.push(a.gaussian(), ...a.gaussianVector(5));
    const fromCalls = Array.from({ length: fromVectors.length }, () => b.gaussian());
    expect(fromVectors).toEqual(fromCalls);
  });

  it('draws unbiased, uncorrelated signs from every bit position of a draw', () => {
    // rademacherVector takes SIGNS_PER_DRAW signs from each draw: entry i comes from bit
    // position i mod SIGNS_PER_DRAW. Each position gets draws = 20k signs, so its mean has
    // standard error 1/√draws; correlations between neighbours (adjacent bits of one draw) and
    // at lag SIGNS_PER_DRAW (the same bit of consecutive draws) have standard error 1/√pairs.
    const draws = 20_000;
    const n = SIGNS_PER_DRAW * draws;
    const z = createRandom(14).rademacherVector(n);
    expect(z.every((v) => v === 1 || v === -1)).toBe(true);
    for (let bit = 0; bit < SIGNS_PER_DRAW; bit++) {
      let sum = 0;
      for (let i = bit; i < n; i += SIGNS_PER_DRAW) sum += z[i];
      expect(Math.abs(sum / draws), `bit ${bit}`).toBeLessThan(5 / Math.sqrt(draws));
    }
    for (const lag of [1, 2, SIGNS_PER_DRAW - 1, SIGNS_PER_DRAW, SIGNS_PER_DRAW + 1]) {
      let sum = 0;
      for (let i = 0; i + lag < n; i++) sum += z[i] * z[i + lag];
      expect(Math.abs(sum / (n - lag)), `lag ${lag}`).toBeLessThan(5 / Math.sqrt(n - lag));
    }
  });

  it('draws unit vectors and uniforms in [0, 1)', () => {
    const rng = createRandom(3);
    expect(norm(rng.unitVector(1000))).toBeCloseTo(1, 14);
    for (let i = 0; i < 1000; i++) {
      const u = rng.uniform();
      expect(u >= 0 && u < 1).toBe(true);
    }
  });

  it('splits into independent, reproducible streams', () => {
    const a = createRandom(7);
    const first = a.split().gaussianVector(5);
    const second = a.split().gaussianVector(5);
    expect(first).not.toEqual(second);
    const b = createRandom(7);
    expect(b.split().gaussianVector(5)).toEqual(first);
    expect(b.split().gaussianVector(5)).toEqual(second);
  });

  it('rejects seeds that are not safe integers', () => {
    expect(() => createRandom(1.5)).toThrow(OptionError);
    expect(() => createRandom(Number.NaN)).toThrow(
      'createRandom: expected seed to be a safe integer, got NaN',
    );
  });
});

/** Φ(x) from erf by Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
