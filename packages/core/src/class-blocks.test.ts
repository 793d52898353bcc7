import { describe, expect, it } from 'vitest';
import { classBlockMass, exactClassBlockMass } from './class-blocks.js';
import { OptionError } from './errors.js';
import { denseOperator } from './operator.js';
import { createRandom } from './random.js';

// A symmetric 22 × 22 matrix: 6 classes of 3 coordinates (classes interleaved with the layout,
// as rows of a weight and entries of a bias are) and 4 coordinates outside every class.
const CLASSES = 6;
const n = 22;
const classOf = Int32Array.from({ length: n }, (_, i) => (i < 18 ? (i * 5) % CLASSES : -1));

function matrix(seed: number, crossScale: number): Float64Array {
  const random = createRandom(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const same = classOf[i] >= 0 && classOf[i] === classOf[j];
      const v = random.gaussian() * (same ? 1 : crossScale);
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  return a;
}

/** Exact T (over class coordinates) and D (within-class blocks). */
const exact = (a: Float64Array) => exactClassBlockMass(a, classOf);

describe('classBlockMass', () => {
  it.each([0.1, 1])(
    'estimates the total and within-class mass without bias (cross-class scale %s)',
    async (crossScale) => {
      const a = matrix(3, crossScale);
      const truth = exact(a);
      const mass = await classBlockMass(denseOperator(a, n), { classOf, probes: 400, seed: 1 });
      expect(mass.classes).toBe(CLASSES);
      expect(mass.matvecs).toBe(800);
      // Unbiased estimators: within 4 standard errors (fixed seed).
      expect(Math.abs(mass.total.estimate - truth.total)).toBeLessThanOrEqual(
        4 * mass.total.stderr,
      );
      expect(Math.abs(mass.within.estimate - truth.within)).toBeLessThanOrEqual(
        4 * mass.within.stderr,
      );
      const ratio = (truth.total - truth.within) / truth.within;
      expect(Math.abs(mass.crossRatio.estimate - ratio)).toBeLessThanOrEqual(
        4 * mass.crossRatio.stderr,
      );
      // The errors are informative: well below the quantities themselves.
      expect(mass.within.stderr).toBeLessThan(0.2 * truth.within);
    },
  );

  it('averages to the exact within-class mass over seeds (the signs remove the cross terms)', async () => {
    const a = matrix(4, 1);
    const truth = exact(a);
    const op = denseOperator(a, n);
    let sum = 0;
    const seeds = 40;
    for (let seed = 0; seed < seeds; seed++) {
      sum += (await classBlockMass(op, { classOf, probes: 50, seed })).within.estimate;
    }
    // 2,000 probes in all: the mean's relative error is a few percent; a biased estimator that
    // kept the cross terms would be off by the cross mass, here larger than the within mass.
    expect(Math.abs(sum / seeds - truth.within)).toBeLessThan(0.1 * truth.within);
    expect(truth.total - truth.within).toBeGreaterThan(truth.within);
  });

  it('refuses bad options before any product', async () => {
    const op = denseOperator(matrix(5, 1), n);
    await expect(classBlockMass(op, { classOf: new Int32Array(3) })).rejects.toThrow(OptionError);
    await expect(classBlockMass(op, { classOf: new Int32Array(n).fill(-1) })).rejects.toThrow(
      /some coordinate a class/,
    );
    await expect(classBlockMass(op, { classOf, probes: 1 })).rejects.toThrow(/probes/);
    await expect(classBlockMass(op, { classOf, seed: 0.5 })).rejects.toThrow(/seed/);
  });
});
