import { describe, expect, it } from 'vitest';
import { OptionError } from './errors.js';
import { createRandom } from './random.js';
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
