import { describe, expect, it } from 'vitest';
import { MatvecError, OptionError } from './errors.js';
import { denseOperator, type LinearOperator } from './operator.js';
import { type PowerIterationOptions, powerIteration } from './power-iteration.js';
import { countingOperator } from './testing/counting-operator.js';
import { conjugatedSpectrum, hessianLikeSpectrum } from './testing/spectra.js';
import { axpy, dot, norm } from './vector.js';

const EPSILON = 2 ** -52;

function denseResidual(a: Float64Array, n: number, value: number, v: Float64Array): number {
  const av = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j] * v[j];
    av[i] = s;
  }
  return norm(axpy(-value, v, av));
}

describe('powerIteration', () => {
  // Outliers 10, 4.64, 2.15, 1 over a bulk near zero: ratios λ₂/λ₁ ≈ 0.46 and so on.
  const n = 200;
  const values = hessianLikeSpectrum(n, { outliers: 4, seed: 21, bulkScale: 0.02 });
  const { matrix, eigenvectors } = conjugatedSpectrum(values, 22);
  const op = denseOperator(matrix, n);
  const rounding = 2 * n * EPSILON * values[0];

  it('finds the top-|λ| eigenpairs one after another with deflation (k = 3)', async () => {
    const tol = 1e-10;
    const result = await powerIteration(op, { k: 3, tol, maxIter: 1000 });
    expect(result.converged).toBe(true);
    for (let i = 0; i < 3; i++) {
      const theta = result.values[i];
      const r = result.residuals[i];
      const v = result.vectors[i];
      expect(Math.abs(r - denseResidual(matrix, n, theta, v)), `pair ${i}`).toBeLessThanOrEqual(
        rounding,
      );
      // Rigorous: a unit vector's Rayleigh quotient is within r²/gap of the eigenvalue, and its
      // angle to the eigenvector has sin <= r/gap (Parlett §11.7).
      const gap = Math.min(
        ...Array.from(values)
          .filter((_, j) => j !== i)
          .map((mu) => Math.abs(theta - mu)),
      );
      const error = Math.abs(theta - values[i]);
      expect(error, `pair ${i}`).toBeLessThanOrEqual((r * r) / gap + rounding);
      expect(1 - Math.abs(dot(v, eigenvectors[i])), `pair ${i}`).toBeLessThanOrEqual(
        (r / gap) ** 2 + rounding,
      );
      // The convergence model: the error decays like ρᵗ with ρ = (λ_{i+1}/λ_i)², so when the
      // relative change falls below tol the relative error is about tol·ρ/(1 − ρ).
      const rho = (values[i + 1] / values[i]) ** 2;
      expect(error / values[i], `pair ${i}`).toBeLessThanOrEqual((tol * rho) / (1 - rho));
      for (let j = 0; j < i; j++)
        expect(Math.abs(dot(v, result.vectors[j]))).toBeLessThan(4 * EPSILON);
    }
  });

  it('converges to the largest |λ|, here a negative eigenvalue, not the largest algebraic', async () => {
    const indefinite = Float64Array.from(values);
    indefinite[n - 1] = -20;
    const a = conjugatedSpectrum(indefinite, 23).matrix;
    const result = await powerIteration(denseOperator(a, n), { tol: 1e-10, maxIter: 1000 });
    expect(result.converged).toBe(true);
    expect(result.values[0]).toBeCloseTo(-20, 9);
    expect(result.residuals[0]).toBeCloseTo(
      denseResidual(a, n, result.values[0], result.vectors[0]),
      13,
    );
  });

  it('uses PyHessian’s defaults: one pair, tol 1e-3, at most 100 matvecs', async () => {
    const result = await powerIteration(op);
    expect(result.values).toHaveLength(1);
    expect(result.converged).toBe(true);
    expect(result.matvecs).toBeLessThanOrEqual(100);
    // tol·ρ/(1 − ρ) with ρ = (4.64/10)² = 0.215: a relative error of about 2.7e-4.
    expect(Math.abs(result.values[0] - values[0]) / values[0]).toBeLessThan(3e-4);
  });

  it('stops at maxIter with converged false and truthful residuals', async () => {
    const counted = countingOperator(op);
    const result = await powerIteration(counted, { k: 2, maxIter: 3, tol: 1e-12 });
    expect(result).toMatchObject({ converged: false, matvecs: 6 });
    expect(counted.calls).toBe(6);
    for (const [i, theta] of result.values.entries()) {
      const honest = denseResidual(matrix, n, theta, result.vectors[i]);
      expect(Math.abs(result.residuals[i] - honest), `pair ${i}`).toBeLessThanOrEqual(rounding);
      expect(result.residuals[i]).toBeGreaterThan(1e-3);
    }
  });

  it('stops at once on an exact eigenvector: the zero operator', async () => {
    const result = await powerIteration(denseOperator(new Float64Array(100), 10), { k: 2 });
    expect(result).toMatchObject({ converged: true, matvecs: 2, values: Float64Array.of(0, 0) });
    expect(Array.from(result.residuals)).toEqual([0, 0]);
    expect(Math.abs(dot(result.vectors[0], result.vectors[1]))).toBeLessThan(4 * EPSILON);
  });

  it('validates every option before the first matvec', async () => {
    const counted = countingOperator(op);
    const bad: [PowerIterationOptions, RegExp][] = [
      [{ k: 0 }, /powerIteration: expected k to be an integer in \[1, 200\], got 0/],
      [{ k: 201 }, /expected k to be an integer in \[1, 200\], got 201/],
      [{ tol: 0 }, /expected tol to be a finite number > 0, got 0/],
      [{ maxIter: 0 }, /expected maxIter to be an integer >= 1, got 0/],
      [{ seed: Number.NaN }, /expected seed to be a safe integer, got NaN/],
    ];
    for (const [options, message] of bad) {
      const error = await powerIteration(counted, options).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(OptionError);
      expect((error as Error).message).toMatch(message);
    }
    expect(counted.calls).toBe(0);
  });

  it('stops with a MatvecError naming the step', async () => {
    let calls = 0;
    const poisoned: LinearOperator = {
      dim: n,
      async matvec(v) {
        const out = await op.matvec(v);
        return ++calls === 3 ? out.subarray(1) : out;
      },
    };
    const error = await powerIteration(poisoned, { k: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MatvecError);
    expect(error).toMatchObject({ algorithm: 'powerIteration', step: 2 });
    expect((error as Error).message).toMatch(
      /expected matvec at step 2 to return a Float64Array of length 200, got length 199/,
    );
  });

  it('is bit-identical for the same seed', async () => {
    const a = await powerIteration(op, { k: 2, seed: 5 });
    const b = await powerIteration(op, { k: 2, seed: 5 });
    const c = await powerIteration(op, { k: 2, seed: 6 });
    expect(b).toEqual(a);
    expect(c.vectors[0]).not.toEqual(a.vectors[0]);
  });
});
