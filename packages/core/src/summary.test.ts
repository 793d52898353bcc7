import { describe, expect, it } from 'vitest';
import { spectralDensity } from './density.js';
import { DimensionError, OptionError } from './errors.js';
import { denseOperator, type LinearOperator } from './operator.js';
import { createRandom } from './random.js';
import { type SpectralSummary, spectralSummary } from './summary.js';
import { symmetricEigen } from './symmetric-eigen.js';
import {
  conjugatedSpectrum,
  hessianLikeSpectrum,
  reflectedSpectrumOperator,
} from './testing/spectra.js';
import { dot } from './vector.js';

type Field = keyof SpectralSummary;

function expectSummaryClose(actual: SpectralSummary, expected: SpectralSummary, relative: number) {
  for (const field of Object.keys(expected) as Field[]) {
    const a = actual[field];
    const e = expected[field];
    if (Number.isNaN(e)) {
      expect(a, field).toBeNaN();
    } else {
      expect(Math.abs(a - e), `${field}: ${a} vs ${e}`).toBeLessThanOrEqual(relative * Math.abs(e));
    }
  }
}

describe('spectralSummary of eigenvalues', () => {
  it('matches hand-computed values for [3, 1, 0, −1]', () => {
    const s = spectralSummary(Float64Array.of(3, 1, 0, -1));
    // Σ|λ| = 5, p = (3/5, 1/5, 0, 1/5): H = −(0.6 ln 0.6 + 0.4 ln 0.2).
    const entropy = -(0.6 * Math.log(0.6) + 0.4 * Math.log(0.2));
    expectSummaryClose(
      s,
      {
        dim: 4,
        lambdaMax: 3,
        lambdaMin: -1,
        trace: 3,
        frobeniusNorm: Math.sqrt(11),
        nuclearNorm: 5,
        negativeFraction: 0.25,
        negativeTraceMass: 0.2,
        spectralEntropy: entropy,
        effectiveRank: Math.exp(entropy),
        conditionEstimate: 3, // 3 / 1: the zero is excluded
        participationRatio: 25 / 11,
        stableRank: 11 / 9,
      },
      1e-15,
    );
    expect(s.spectralEntropy).toBeCloseTo(0.950270539233235, 14);
  });

  it('gives n for every rank-like measure when all |λ| are equal', () => {
    const s = spectralSummary([2, -2, 2, 2]);
    expect(s.spectralEntropy).toBeCloseTo(Math.log(4), 15);
    expect(s.effectiveRank).toBeCloseTo(4, 14);
    expect(s.participationRatio).toBe(4);
    expect(s.stableRank).toBe(4);
    expect(s.conditionEstimate).toBe(1);
    expect(s.negativeTraceMass).toBe(0.25);
    expect(spectralSummary([-5])).toMatchObject({
      effectiveRank: 1,
      participationRatio: 1,
      negativeFraction: 1,
      spectralEntropy: 0,
    });
  });

  it('counts eigenvalues within n·ε·max|λ| of zero as zero, not negative', () => {
    // n = 4, max|λ| = 3: δ = 4·ε·3 ≈ 2.7e-15.
    const rounding = spectralSummary([3, 1, 0, -3e-16]);
    expect(rounding.negativeFraction).toBe(0);
    expect(rounding.negativeTraceMass).toBe(0);
    expect(rounding.lambdaMin).toBe(-3e-16);
    const small = spectralSummary([3, 1, 0, -1e-14]);
    expect(small.negativeFraction).toBe(0.25);
    expect(small.negativeTraceMass).toBe(1e-14 / (4 + 1e-14));
  });

  it('gives negative mass exactly 0 for a PSD matrix with a large null space', () => {
    // Rank 30 of 300: the dense eigensolver returns the 270 zeros as ±1e-15-ish values.
    const n = 300;
    const rng = createRandom(1);
    const values = new Float64Array(n);
    for (let i = 0; i < 30; i++) values[i] = i < 5 ? 10 - i : Math.abs(rng.gaussian());
    const { matrix } = conjugatedSpectrum(values, 2);
    const computed = symmetricEigen(matrix, n).values;
    expect(computed.filter((x) => x < 0).length).toBeGreaterThan(0);
    expect(spectralSummary(computed)).toMatchObject({ negativeFraction: 0, negativeTraceMass: 0 });
    // An indefinite matrix keeps its count: #{λ < 0}/n.
    const indefinite = hessianLikeSpectrum(n, { outliers: 5, seed: 2, bulkScale: 0.05 });
    const computedIndefinite = symmetricEigen(conjugatedSpectrum(indefinite, 3).matrix, n).values;
    expect(spectralSummary(computedIndefinite).negativeFraction).toBe(
      indefinite.filter((x) => x < 0).length / n,
    );
  });

  it('defines the degenerate statistics of the zero spectrum', () => {
    expect(spectralSummary(new Float64Array(3))).toEqual({
      dim: 3,
      lambdaMax: 0,
      lambdaMin: 0,
      trace: 0,
      frobeniusNorm: 0,
      nuclearNorm: 0,
      negativeFraction: 0,
      negativeTraceMass: 0,
      spectralEntropy: 0,
      effectiveRank: 0,
      conditionEstimate: Number.NaN,
      participationRatio: 0,
      stableRank: 0,
    });
  });

  it('is invariant to order, and its ratios to positive scaling', () => {
    const values = createRandom(5).gaussianVector(30);
    const s = spectralSummary(values);
    const reversed = spectralSummary(Float64Array.from(values).reverse());
    expectSummaryClose(reversed, s, 1e-14);
    const scaled = spectralSummary(values.map((x) => 8 * x));
    for (const field of [
      'negativeFraction',
      'negativeTraceMass',
      'spectralEntropy',
      'effectiveRank',
      'conditionEstimate',
      'participationRatio',
      'stableRank',
    ] as const) {
      expect(scaled[field], field).toBeCloseTo(s[field], 12);
    }
    expect(scaled.trace).toBeCloseTo(8 * s.trace, 12);
  });

  it('rejects empty and non-finite input and invalid rules', () => {
    expect(() => spectralSummary([])).toThrow(
      /^spectralSummary: expected at least one eigenvalue, got 0$/,
    );
    expect(() => spectralSummary([1, Number.NaN])).toThrow(
      /^spectralSummary: expected finite eigenvalues, got NaN at index 1$/,
    );
    const rules = { nodes: [Float64Array.of(1, 2)], weights: [Float64Array.of(0.5, 0.5)] };
    expect(() => spectralSummary({ ...rules, dim: 0 })).toThrow(
      /^spectralSummary: expected dim to be an integer >= 1, got 0$/,
    );
    expect(() => spectralSummary({ ...rules, dim: 2.5 })).toThrow(OptionError);
    expect(() =>
      spectralSummary({ nodes: [Float64Array.of(1)], weights: [Float64Array.of(-1)], dim: 3 }),
    ).toThrow(OptionError);
    expect(() => spectralSummary({ nodes: [], weights: [], dim: 3 })).toThrow(OptionError);
    expect(() =>
      spectralSummary({ nodes: [Float64Array.of(1, 2)], weights: [Float64Array.of(1)], dim: 3 }),
    ).toThrow(DimensionError);
  });
});

describe('spectralSummary of quadrature rules', () => {
  it('is exact for a diagonal operator once steps >= dim', async () => {
    // Rademacher probes give every eigenvalue of a diagonal matrix weight exactly 1/n, so the
    // rules equal the eigenvalue distribution (the repeated 3 becomes one node of weight 2/n).
    const values = Float64Array.of(-2, -0.5, 0.25, 1, 3, 3, 7, 10);
    const op: LinearOperator = { dim: 8, matvec: async (v) => v.map((x, i) => values[i] * x) };
    const slq = await spectralDensity(op, { probes: 2, steps: 80 });
    expect(slq.nodes[0]).toHaveLength(7);
    expectSummaryClose(spectralSummary(slq), spectralSummary(values), 1e-12);
  });

  it('applies the Ritz-value rule of spectralDensity to the negative mass of its rules', async () => {
    // PSD, rank 40 of 4000: nodes at 0 up to rounding (some negative) are numerically zero.
    const n = 4000;
    const rng = createRandom(1);
    const values = new Float64Array(n);
    for (let i = 0; i < 40; i++) values[i] = i < 5 ? 10 - i : Math.abs(rng.gaussian());
    const psd = await spectralDensity(reflectedSpectrumOperator(values.sort().reverse(), 2));
    expect(psd.nodes.some((nodes) => nodes.some((x) => x < 0))).toBe(true);
    expect(spectralSummary(psd)).toMatchObject({ negativeFraction: 0, negativeTraceMass: 0 });
    // Indefinite: the same negative mass as spectralDensity's.
    const spectrum = hessianLikeSpectrum(2000, { outliers: 10, seed: 3, bulkScale: 0.05 });
    const slq = await spectralDensity(reflectedSpectrumOperator(spectrum, 4), { probes: 4 });
    expect(slq.negativeFraction).toBeGreaterThan(0.3);
    expect(spectralSummary(slq).negativeFraction).toBeCloseTo(slq.negativeFraction, 14);
  });

  describe('on a dense Hessian-like matrix', () => {
    // 145 bulk eigenvalues N(0, 0.5²) and 5 outliers in [2, 6], Haar eigenvectors. With
    // steps = dim every rule is the exact Gauss rule of its probe's measure, so the only error
    // left is the sampling error of the probes, which the delta method predicts below.
    const n = 150;
    const probes = 20;
    const seed = 4;
    const spectrum = hessianLikeSpectrum(n, {
      outliers: 5,
      seed: 3,
      bulkScale: 0.5,
      outlierMin: 2,
      outlierMax: 6,
    });
    const { matrix, eigenvectors } = conjugatedSpectrum(spectrum, 6);
    const slq = spectralDensity(denseOperator(matrix, n), { probes, steps: n, seed });
    const exact = spectralSummary(spectrum);

    it('equals the summary of the probes’ exact spectral measures (no quadrature error)', async () => {
      const root = createRandom(seed);
      const nodes: Float64Array[] = [];
      const weights: Float64Array[] = [];
      for (let l = 0; l < probes; l++) {
        const z = root.split().rademacherVector(n);
        nodes.push(spectrum);
        weights.push(Float64Array.from(eigenvectors, (u) => dot(u, z) ** 2 / n));
      }
      // Ritz values equal the eigenvalues to ~1e-15·‖A‖ and the weights to ~1e-15 absolute.
      expectSummaryClose(
        spectralSummary(await slq),
        spectralSummary({ nodes, weights, dim: n }),
        1e-10,
      );
    });

    it('estimates every statistic within 4 delta-method standard deviations', async () => {
      const estimate = spectralSummary(await slq);
      // Each statistic is a smooth function of spectral sums tr f(A) estimated by the mean of
      // zᵀf(A)z over Rademacher probes z, whose covariances are exactly
      // Cov(zᵀFz, zᵀGz) = 2(tr FG − Σ_i F_ii G_ii) (Hutchinson 1989), divided by n_v for the
      // mean. First-order propagation gives each statistic's standard deviation; the plug-in
      // bias is O(1/n_v) relative, far below it.
      const sums = {
        id: (x: number) => x,
        sq: (x: number) => x * x,
        abs: (x: number) => Math.abs(x),
        negAbs: (x: number) => (x < 0 ? -x : 0),
        xLogX: (x: number) => (x === 0 ? 0 : Math.abs(x) * Math.log(Math.abs(x))),
        neg: (x: number) => (x < 0 ? 1 : 0),
      };
      type Sum = keyof typeof sums;
      const names = Object.keys(sums) as Sum[];
      const exactSum = {} as Record<Sum, number>;
      const diagonal = {} as Record<Sum, Float64Array>;
      for (const name of names) {
        const f = sums[name];
        exactSum[name] = spectrum.reduce((s, x) => s + f(x), 0);
        const d = new Float64Array(n);
        for (let k = 0; k < n; k++) {
          const fk = f(spectrum[k]);
          const u = eigenvectors[k];
          for (let i = 0; i < n; i++) d[i] += fk * u[i] * u[i];
        }
        diagonal[name] = d;
      }
      const covariance = (a: Sum, b: Sum): number => {
        const fa = sums[a];
        const fb = sums[b];
        const trace = spectrum.reduce((s, x) => s + fa(x) * fb(x), 0);
        return (2 * (trace - dot(diagonal[a], diagonal[b]))) / probes;
      };
      const sd = (gradient: Partial<Record<Sum, number>>): number => {
        let variance = 0;
        for (const a of names) {
          for (const b of names)
            variance += (gradient[a] ?? 0) * (gradient[b] ?? 0) * covariance(a, b);
        }
        return Math.sqrt(variance);
      };
      const { abs: s, sq: f2, xLogX: t, negAbs: negative } = exactSum;
      const maxAbs = Math.max(...spectrum.map(Math.abs));
      const entropyGradient = { abs: 1 / s + t / (s * s), xLogX: -1 / s }; // H = ln S − T/S
      const budgets: [Field, number][] = [
        ['trace', sd({ id: 1 })],
        ['frobeniusNorm', sd({ sq: 1 / (2 * Math.sqrt(f2)) })],
        ['nuclearNorm', sd({ abs: 1 })],
        ['negativeFraction', sd({ neg: 1 / n })],
        ['negativeTraceMass', sd({ negAbs: 1 / s, abs: -negative / (s * s) })],
        ['spectralEntropy', sd(entropyGradient)],
        [
          'effectiveRank',
          exact.effectiveRank * sd({ abs: entropyGradient.abs, xLogX: entropyGradient.xLogX }),
        ],
        ['participationRatio', sd({ abs: (2 * s) / f2, sq: -(s * s) / (f2 * f2) })],
        ['stableRank', sd({ sq: 1 / (maxAbs * maxAbs) })],
      ];
      for (const [field, budget] of budgets) {
        expect(budget, field).toBeGreaterThan(0);
        expect(Math.abs(estimate[field] - exact[field]), `${field}: sd ${budget}`).toBeLessThan(
          4 * budget,
        );
      }
      // The extremes and the smallest |λ| are Ritz values, exact here since steps = dim: to
      // δ = 1e-15·‖A‖ (a few ε·‖A‖). κ = max|λ|/min|λ| then errs by κ·δ·(1/min|λ| + 1/max|λ|)
      // at most (≈ 9e-8 for κ ≈ 9400: the smallest |λ| is 6e-4).
      for (const field of ['lambdaMax', 'lambdaMin'] as const) {
        expect(estimate[field]).toBeCloseTo(exact[field], 8);
      }
      const delta = 1e-15 * maxAbs;
      const kappa = exact.conditionEstimate;
      expect(Math.abs(estimate.conditionEstimate - kappa)).toBeLessThan(
        kappa * delta * (kappa / maxAbs + 1 / maxAbs),
      );
    });
  });
});
