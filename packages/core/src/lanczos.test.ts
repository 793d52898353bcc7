import { describe, expect, it } from 'vitest';
import { MatvecError, OptionError } from './errors.js';
import { lanczos } from './lanczos.js';
import { denseOperator, FLOAT32_PRECISION, type LinearOperator } from './operator.js';
import { createRandom } from './random.js';
import { countingOperator } from './testing/counting-operator.js';
import {
  conjugatedSpectrum,
  hessianLikeSpectrum,
  reflectedSpectrumOperator,
} from './testing/spectra.js';
import { tridiagonalEigen } from './tridiagonal.js';
import { dot, orthonormalBasis } from './vector.js';

const EPS = 2 ** -52;
const SQRT_EPS = Math.sqrt(EPS);

/** max |q_iᵀq_k| over i ≠ k. */
function worstOrthogonality(basis: readonly Float64Array[]): number {
  let worst = 0;
  for (let i = 0; i < basis.length; i++) {
    for (let k = 0; k < i; k++) worst = Math.max(worst, Math.abs(dot(basis[i], basis[k])));
  }
  return worst;
}

describe('lanczos', () => {
  const n = 120;
  const spectrum = hessianLikeSpectrum(n, { outliers: 5, seed: 1, bulkScale: 0.05 });
  const { matrix } = conjugatedSpectrum(spectrum, 2);
  const op = denseOperator(matrix, n);
  const bigSpectrum = hessianLikeSpectrum(2000, { outliers: 10, seed: 6 });
  const bigOp = reflectedSpectrumOperator(bigSpectrum, 7);

  it('builds an orthonormal basis with QᵀAQ = T (full reorthogonalisation)', async () => {
    const m = 30;
    const { alpha, beta, basis, matvecs, breakdown, reorthogonalizations } = await lanczos(op, {
      steps: m,
      seed: 3,
      reorthogonalize: 'full',
    });
    expect(matvecs).toBe(m);
    expect(reorthogonalizations).toBe(m);
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

  it('keeps a semi-orthogonal basis with partial reorthogonalisation, and WᵀAW = T (Simon)', async () => {
    for (const m of [30, 100]) {
      const { alpha, beta, basis, reorthogonalizations } = await lanczos(op, { steps: m, seed: 3 });
      expect(basis).toHaveLength(m);
      // Fewer full orthogonalisations than steps (30 and 100 steps take 12 and 46 here).
      expect(reorthogonalizations).toBeGreaterThan(0);
      expect(reorthogonalizations).toBeLessThan(0.5 * m);
      expect(worstOrthogonality(basis!)).toBeLessThan(SQRT_EPS);
      // Simon (1984), Theorem 4: with W the orthonormal factor of Q = WR (Gram–Schmidt, same
      // nested spans), WᵀAW = T + O(ε‖A‖) although QᵀAQ − T is as large as the loss of
      // orthogonality, O(√ε‖A‖).
      const w = orthonormalBasis(basis!, 0);
      expect(w).toHaveLength(m);
      let worstProjection = 0;
      for (let i = 0; i < m; i++) {
        const aw = await op.matvec(w[i]);
        for (let j = 0; j < m; j++) {
          const expected = i === j ? alpha[i] : Math.abs(i - j) === 1 ? beta[Math.min(i, j)] : 0;
          worstProjection = Math.max(worstProjection, Math.abs(dot(w[j], aw) - expected));
        }
      }
      expect(worstProjection).toBeLessThan(m * EPS * spectrum[0]);
    }
    // Over seeds: the ω recurrence only estimates the loss of orthogonality (with seed 0 it
    // falls 13 times short while the ω are at rounding level); the √ε/10 trigger covers that.
    for (let seed = 0; seed < 8; seed++) {
      const { basis } = await lanczos(op, { steps: 100, seed });
      expect(worstOrthogonality(basis!), `seed ${seed}`).toBeLessThan(SQRT_EPS);
    }
  });

  it('gives the Ritz values and quadrature moments of full reorthogonalisation with partial', async () => {
    const cases = [
      { name: 'dense 120, 30 steps', operator: op, steps: 30, size: spectrum[0] },
      { name: 'dense 120, 100 steps', operator: op, steps: 100, size: spectrum[0] },
      { name: 'Hessian-like 2000, 80 steps', operator: bigOp, steps: 80, size: bigSpectrum[0] },
    ];
    for (const { name, operator, steps, size } of cases) {
      const start = createRandom(5).unitVector(operator.dim);
      const full = await lanczos(operator, { steps, startVector: start, reorthogonalize: 'full' });
      const partial = await lanczos(operator, { steps, startVector: start });
      const f = tridiagonalEigen(full.alpha, full.beta);
      const p = tridiagonalEigen(partial.alpha, partial.beta);
      // Both T are the projection of A on (an orthonormal basis of) the same Krylov space up
      // to O(m·ε·‖A‖) (Simon 1984): their eigenvalues differ by as much at most (Weyl).
      const tolerance = steps * EPS * size;
      expect(p.values.length, name).toBe(f.values.length);
      for (let k = 0; k < f.values.length; k++) {
        expect(Math.abs(p.values[k] - f.values[k]), `${name}, θ_${k}`).toBeLessThan(tolerance);
      }
      // Moments q₁ᵀAᵖq₁ = Σ τ θᵖ, p <= 2m − 1, relative to ‖A‖ᵖ.
      for (let power = 1; power <= 2 * steps - 1; power++) {
        const moment = (rule: typeof f) =>
          rule.values.reduce((sum, theta, k) => sum + rule.weights[k] * (theta / size) ** power, 0);
        expect(Math.abs(moment(p) - moment(f)), `${name}, p = ${power}`).toBeLessThan(steps * EPS);
      }
    }
  });

  it('counts its reorthogonalisations on a Hessian-like spectrum (dim 2000, 80 steps)', async () => {
    const partial = await lanczos(bigOp, { steps: 80, seed: 1 });
    const full = await lanczos(bigOp, { steps: 80, seed: 1, reorthogonalize: 'full' });
    const none = await lanczos(bigOp, { steps: 80, seed: 1, reorthogonalize: 'none' });
    expect(full.reorthogonalizations).toBe(80);
    expect(none.reorthogonalizations).toBe(0);
    expect(none.basis).toBeUndefined();
    // Outliers up to 10 over a bulk of width 0.01: β ≈ 0.015 in the bulk, so the loss of
    // orthogonality grows by ‖A‖/β ≈ 700 a step once the outliers have converged, and a pair
    // of reorthogonalisations is due every 4 steps from step 12 on: 34 here. The worst
    // |q_iᵀq_k| is far below √ε (the trigger at √ε/10 leaves a margin for the estimate).
    expect(partial.reorthogonalizations).toBeGreaterThanOrEqual(20);
    expect(partial.reorthogonalizations).toBeLessThanOrEqual(40);
    expect(worstOrthogonality(partial.basis!)).toBeLessThan(SQRT_EPS / 4);
  });

  it('stays semi-orthogonal when the products are rounded to float32 (a float32 model)', async () => {
    // Products rounded to float32 carry errors ≈ 6e-8·‖Av‖ that are not symmetric: they
    // break orthogonality ~1e8 times faster than float64 rounding. Simon's recurrence with a
    // rounding term of ε·‖A‖ would miss it (this operator then loses orthogonality to O(1));
    // the measured rounding term makes it reorthogonalise (almost) every step instead.
    const rounded: LinearOperator = {
      dim: bigOp.dim,
      async matvec(v) {
        return Float64Array.from(Float32Array.from(await bigOp.matvec(v)));
      },
    };
    for (const seed of [1, 2]) {
      const { basis, reorthogonalizations } = await lanczos(rounded, { steps: 80, seed });
      expect(worstOrthogonality(basis!)).toBeLessThan(SQRT_EPS);
      expect(reorthogonalizations).toBeGreaterThan(40);
    }
  });

  it('keeps float32 products semi-orthogonal at √u only, as accurate as full, when declared', async () => {
    // Products rounded to float32 with their precision u = 2^-24 declared: 'partial' holds the
    // basis to √u (Simon's argument with ε replaced by u), not to √ε. Both runs compute
    // T = QᵀAQ + QᵀF, F = [f₁..f_m] the products' errors, ‖f_j‖ <= u·‖A‖, so ‖QᵀF‖ <= √m·u·‖A‖
    // each (Q orthonormal, resp. semi-orthogonal), and semi-orthogonality adds O(ω²‖A‖) <= u‖A‖
    // (ω <= √u): by Weyl the Ritz values of 'partial' and 'full' differ by at most
    // (2√m + 1)·u·‖A‖. Measured: up to 2.6·u·‖A‖ (120 × 120, 100 steps), the same as 'full'
    // differs from the exact float64 run (up to 1.0·u·‖A‖); moments q₁ᵀAᵖq₁/‖A‖ᵖ agree to
    // 0.02·u. Reorthogonalisations: 16 of 30, 62 of 100 and 47 of 80 instead of 28, 98 and 78
    // when the same operator declares no precision (held to √ε).
    const u = FLOAT32_PRECISION;
    const cases = [
      { name: 'dense 120, 30 steps', exact: op, steps: 30, size: spectrum[0] },
      { name: 'dense 120, 100 steps', exact: op, steps: 100, size: spectrum[0] },
      { name: 'Hessian-like 2000, 80 steps', exact: bigOp, steps: 80, size: bigSpectrum[0] },
    ];
    for (const { name, exact, steps, size } of cases) {
      const rounded: LinearOperator = {
        dim: exact.dim,
        precision: u,
        async matvec(v) {
          return (await exact.matvec(v)).map(Math.fround);
        },
      };
      const undeclared: LinearOperator = { dim: exact.dim, matvec: rounded.matvec };
      for (const seed of [1, 2, 3]) {
        const label = `${name}, seed ${seed}`;
        const startVector = createRandom(seed).unitVector(exact.dim);
        const full = await lanczos(rounded, { steps, startVector, reorthogonalize: 'full' });
        const partial = await lanczos(rounded, { steps, startVector });
        const strict = await lanczos(undeclared, { steps, startVector });
        expect(full.reorthogonalizations, label).toBe(steps);
        expect(partial.reorthogonalizations, label).toBeLessThan(0.65 * steps);
        expect(strict.reorthogonalizations, label).toBeGreaterThan(0.9 * steps);
        expect(worstOrthogonality(partial.basis!), label).toBeLessThan(Math.sqrt(u));
        const f = tridiagonalEigen(full.alpha, full.beta);
        const p = tridiagonalEigen(partial.alpha, partial.beta);
        expect(p.values.length, label).toBe(f.values.length);
        const tolerance = (2 * Math.sqrt(steps) + 1) * u * size;
        for (let k = 0; k < f.values.length; k++) {
          expect(Math.abs(p.values[k] - f.values[k]), `${label}, θ_${k}`).toBeLessThan(tolerance);
        }
        for (let power = 1; power <= 2 * steps - 1; power++) {
          const moment = (rule: typeof f) =>
            rule.values.reduce(
              (sum, theta, k) => sum + rule.weights[k] * (theta / size) ** power,
              0,
            );
          expect(Math.abs(moment(p) - moment(f)), `${label}, p = ${power}`).toBeLessThan(u);
        }
      }
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
    await expect(
      lanczos(counted, { steps: 3, reorthogonalize: 'selective' as 'full' }),
    ).rejects.toThrow(
      `lanczos: expected reorthogonalize to be 'partial' | 'full' | 'none', got "selective"`,
    );
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
