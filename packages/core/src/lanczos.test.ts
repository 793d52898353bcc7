import { describe, expect, it } from 'vitest';
import { MatvecError, OptionError } from './errors.js';
import { lanczos } from './lanczos.js';
import { denseOperator, type LinearOperator } from './operator.js';
import { createRandom } from './random.js';
import { countingOperator } from './testing/counting-operator.js';
import { conjugatedSpectrum, hessianLikeSpectrum } from './testing/spectra.js';
import { tridiagonalEigen } from './tridiagonal.js';
import { dot } from './vector.js';

describe('lanczos', () => {
  const n = 120;
  const spectrum = hessianLikeSpectrum(n, { outliers: 5, seed: 1, bulkScale: 0.05 });
  const { matrix } = conjugatedSpectrum(spectrum, 2);
  const op = denseOperator(matrix, n);

  it('builds an orthonormal basis with QᵀAQ = T (full reorthogonalisation)', async () => {
    const m = 30;
    const { alpha, beta, basis, matvecs, breakdown } = await lanczos(op, { steps: m, seed: 3 });
    expect(matvecs).toBe(m);
    expect(breakdown).toBe(false);
    expect(basis).toHaveLength(m);
    let worstOrthogonality = 0;
    let worstProjection = 0;
    for (let i = 0; i < m; i++) {
      const aq = await op.matvec(basis![i]);
      for (let j = 0; j < m; j++) {
        worstOrthogonality = Math.max(
          worstOrthogonality,
          Math.abs(dot(basis![i], basis![j]) - (i === j ? 1 : 0)),
        );
        const expected = i === j ? alpha[i] : Math.abs(i - j) === 1 ? beta[Math.min(i, j)] : 0;
        worstProjection = Math.max(worstProjection, Math.abs(dot(basis![j], aq) - expected));
      }
    }
    // Gram–Schmidt twice keeps orthogonality at a small multiple of ε·√n.
    expect(worstOrthogonality).toBeLessThan(1e-14);
    expect(worstProjection).toBeLessThan(1e-13 * spectrum[0]);
  });

  it('integrates polynomials of degree <= 2m−1 exactly: q₁ᵀAᵖq₁ = Σ τ θᵖ', async () => {
    const m = 8;
    const start = createRandom(9).unitVector(n);
    const { alpha, beta } = await lanczos(op, { steps: m, startVector: start });
    const { values, weights } = tridiagonalEigen(alpha, beta);
    let power: Float64Array = Float64Array.from(start);
    for (let p = 1; p <= 2 * m - 1; p++) {
      power = await op.matvec(power);
      const moment = dot(start, power);
      let quadrature = 0;
      for (let k = 0; k < values.length; k++) quadrature += weights[k] * values[k] ** p;
      // Rounding grows with the moment's size ‖A‖ᵖ.
      expect(Math.abs(quadrature - moment)).toBeLessThan(1e-12 * spectrum[0] ** p);
    }
  });

  it('stops with breakdown on an invariant subspace (rank 1) and finds the eigenvalue', async () => {
    const u = createRandom(4).unitVector(20);
    const a = new Float64Array(400);
    for (let i = 0; i < 20; i++) for (let j = 0; j < 20; j++) a[i * 20 + j] = 5 * u[i] * u[j];
    const result = await lanczos(denseOperator(a, 20), { steps: 10, seed: 1 });
    expect(result.breakdown).toBe(true);
    expect(result.matvecs).toBe(2);
    const { values } = tridiagonalEigen(result.alpha, result.beta);
    expect(values[0]).toBeCloseTo(0, 13);
    expect(values[1]).toBeCloseTo(5, 13);
  });

  it('breaks down at once on the zero and identity operators', async () => {
    for (const [scale, value] of [
      [0, 0],
      [1, 1],
    ] as const) {
      const a = new Float64Array(100);
      for (let i = 0; i < 10; i++) a[i * 10 + i] = scale;
      const result = await lanczos(denseOperator(a, 10), { steps: 5 });
      expect(result).toMatchObject({ breakdown: true, matvecs: 1 });
      expect(result.alpha[0]).toBeCloseTo(value, 15);
    }
  });

  it('is bit-identical for the same seed and differs for another', async () => {
    const a = await lanczos(op, { steps: 10, seed: 7, reorthogonalize: 'none' });
    const b = await lanczos(op, { steps: 10, seed: 7, reorthogonalize: 'none' });
    const c = await lanczos(op, { steps: 10, seed: 8, reorthogonalize: 'none' });
    expect(a.alpha).toEqual(b.alpha);
    expect(a.beta).toEqual(b.beta);
    expect(a.basis).toBeUndefined();
    expect(a.alpha).not.toEqual(c.alpha);
  });

  it('checks options before the first matvec', async () => {
    const counted = countingOperator(op);
    await expect(lanczos(counted, { steps: 0 })).rejects.toThrow(
      'lanczos: expected steps to be an integer >= 1, got 0',
    );
    await expect(lanczos(counted, { steps: 3, seed: 0.5 })).rejects.toThrow(OptionError);
    await expect(lanczos(counted, { steps: 3, startVector: new Float64Array(3) })).rejects.toThrow(
      /startVector of length 120, got 3/,
    );
    await expect(lanczos(counted, { steps: 3, startVector: new Float64Array(n) })).rejects.toThrow(
      /non-zero startVector/,
    );
    expect(counted.calls).toBe(0);
  });

  it('stops with a MatvecError naming the step when the operator returns NaN', async () => {
    let calls = 0;
    const poisoned: LinearOperator = {
      dim: n,
      async matvec(v) {
        const out = await op.matvec(v);
        if (++calls === 3) out[7] = Number.NaN;
        return out;
      },
    };
    const error = await lanczos(poisoned, { steps: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MatvecError);
    expect(error).toMatchObject({ algorithm: 'lanczos', step: 2 });
    expect((error as Error).message).toMatch(/got NaN at index 7/);
  });
});
