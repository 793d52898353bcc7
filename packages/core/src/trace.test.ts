import { describe, expect, it } from 'vitest';
import { MatvecError, OptionError } from './errors.js';
import { denseOperator, type LinearOperator } from './operator.js';
import { createRandom } from './random.js';
import { countingOperator } from './testing/counting-operator.js';
import { conjugatedSpectrum, reflectedSpectrumOperator } from './testing/spectra.js';
import { estimateDiagonal, estimateTrace, type TraceMethod } from './trace.js';

/** A dense symmetric matrix with Gaussian eigenvalues (mean `shift`) and Haar eigenvectors. */
function randomSymmetric(n: number, seed: number, shift = 0): Float64Array {
  const rng = createRandom(seed);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = shift + rng.gaussian();
  return conjugatedSpectrum(values, seed + 1).matrix;
}

function trace(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i * n + i];
  return s;
}

/** ‖A‖²_F − Σ A_ii² = tr B² for B = A with its diagonal removed. */
function offDiagonalSquares(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) s += a[i * n + j] ** 2;
  return s;
}

/** tr B⁴ = ‖B²‖²_F for B = A with its diagonal removed. */
function offDiagonalFourth(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let bij = 0;
      for (let k = 0; k < n; k++) if (k !== i && k !== j) bij += a[i * n + k] * a[k * n + j];
      s += bij ** 2;
    }
  }
  return s;
}

describe('estimateTrace: Hutchinson', () => {
  const n = 60;
  const a = randomSymmetric(n, 11, 1);
  const op = denseOperator(a, n);
  const exact = trace(a, n);
  // Variance of one Rademacher quadratic form zᵀAz: 2(‖A‖²_F − Σ A_ii²) (Hutchinson 1989).
  const probeVariance = 2 * offDiagonalSquares(a, n);

  it('is unbiased within 4 theoretical standard errors at a fixed seed', async () => {
    const k = 100;
    const { estimate, matvecs } = await estimateTrace(op, {
      matvecs: k,
      method: 'hutchinson',
      seed: 5,
    });
    expect(matvecs).toBe(k);
    const sigma = Math.sqrt(probeVariance / k);
    expect(
      Math.abs(estimate - exact),
      `estimate ${estimate}, trace ${exact}, σ ${sigma}`,
    ).toBeLessThanOrEqual(4 * sigma);
  });

  it('reports a standard error that matches the theoretical one at large K', async () => {
    const k = 2000;
    const { stderr } = await estimateTrace(op, { matvecs: k, method: 'hutchinson', seed: 6 });
    // K·stderr² is the sample variance s² of the K forms. Var(s²/σ²) ≈ (κ − 1)/K with κ the
    // kurtosis of one form. For a Rademacher chaos X = zᵀBz (B off-diagonal) the fourth
    // cumulant is 48 tr B⁴ minus non-negative terms, so κ <= 3 + 12 tr B⁴ / (tr B²)², the
    // Gaussian value. Allow 4 standard deviations of s²/σ²; |s/σ − 1| <= |s²/σ² − 1|.
    const offSq = offDiagonalSquares(a, n);
    const kurtosisBound = 3 + (12 * offDiagonalFourth(a, n)) / offSq ** 2;
    const tolerance = 4 * Math.sqrt((kurtosisBound - 1) / k + 2 / (k * (k - 1)));
    const ratioSq = (k * stderr ** 2) / probeVariance;
    expect(
      Math.abs(ratioSq - 1),
      `s²/σ² = ${ratioSq}, kurtosis <= ${kurtosisBound}`,
    ).toBeLessThanOrEqual(tolerance);
  });

  it('gives a NaN standard error for a single probe', async () => {
    const result = await estimateTrace(op, { matvecs: 1, method: 'hutchinson' });
    expect(Number.isFinite(result.estimate)).toBe(true);
    expect(result.stderr).toBeNaN();
  });
});

describe('estimateTrace: Hutch++', () => {
  it('is unbiased within 4 (bounded) standard errors on a matrix without spectral decay', async () => {
    const n = 200;
    const a = randomSymmetric(n, 21, 1);
    const { estimate, stderr } = await estimateTrace(denseOperator(a, n), {
      matvecs: 150,
      seed: 3,
    });
    // 150 = 50 sketch + 50 exact + 50 Hutchinson products on B = (I − QQᵀ)A(I − QQᵀ). Given Q
    // the estimate is unbiased with variance 2(‖B‖²_F − Σ B_ii²)/50 <= 2‖A‖²_F/50.
    const exact = trace(a, n);
    let frobeniusSq = 0;
    for (const x of a) frobeniusSq += x * x;
    const sigmaBound = Math.sqrt((2 * frobeniusSq) / 50);
    expect(
      Math.abs(estimate - exact),
      `estimate ${estimate}, trace ${exact}, stderr ${stderr}, σ <= ${sigmaBound}`,
    ).toBeLessThanOrEqual(4 * sigmaBound);
  });

  it('has a much lower error than Hutchinson at the same budget on low-rank plus noise', async () => {
    const n = 300;
    const rank = 10;
    const noise = 0.01;
    const rng = createRandom(7);
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++)
      values[i] = i < rank ? 10 * 10 ** (i / (rank - 1)) : noise * rng.gaussian();
    const { matrix } = conjugatedSpectrum(values, 8);
    const op = denseOperator(matrix, n);
    const exact = trace(matrix, n);
    const budget = 60;
    const seeds = 20;
    let hutchinsonSq = 0;
    let hutchPlusPlusSq = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const run = (method: TraceMethod) => estimateTrace(op, { matvecs: budget, method, seed });
      hutchinsonSq += ((await run('hutchinson')).estimate - exact) ** 2;
      hutchPlusPlusSq += ((await run('hutch++')).estimate - exact) ** 2;
    }
    const hutchinsonRmse = Math.sqrt(hutchinsonSq / seeds);
    const hutchPlusPlusRmse = Math.sqrt(hutchPlusPlusSq / seeds);
    // Theory: Hutchinson's error is σ_H = √(2(‖A‖²_F − Σ A_ii²)/60). Hutch++ spends 20 products
    // on the sketch (rank 10 + oversampling 10, so Q captures the outliers) and 20 on tr(QᵀAQ);
    // the remaining 20 run Hutchinson on the deflated bulk, error about σ_++ = √(2 Σ_bulk λ²/20).
    let bulkSq = 0;
    for (let i = rank; i < n; i++) bulkSq += values[i] ** 2;
    const sigmaHutchinson = Math.sqrt((2 * offDiagonalSquares(matrix, n)) / budget);
    const sigmaHutchPlusPlus = Math.sqrt((2 * bulkSq) / (budget - 40));
    // An RMSE over 20 runs has a log standard deviation ≈ 1/√(2·20) ≈ 0.16, so the log of a
    // ratio of two ≈ 0.22: 4 of those is a factor e^0.9 ≈ 2.5.
    const margin = Math.exp(4 * Math.sqrt(2 / (2 * seeds)));
    const message = `RMSE Hutchinson ${hutchinsonRmse} (σ_H ${sigmaHutchinson}), Hutch++ ${hutchPlusPlusRmse} (σ_++ ${sigmaHutchPlusPlus})`;
    expect(hutchinsonRmse, message).toBeGreaterThan(sigmaHutchinson / Math.sqrt(margin));
    expect(hutchinsonRmse, message).toBeLessThan(sigmaHutchinson * Math.sqrt(margin));
    expect(hutchPlusPlusRmse, message).toBeLessThan(sigmaHutchPlusPlus * Math.sqrt(margin));
    expect(hutchinsonRmse / hutchPlusPlusRmse, message).toBeGreaterThan(
      sigmaHutchinson / sigmaHutchPlusPlus / margin,
    );
  });

  it('is exact up to rounding when rank A < matvecs/3 (Q spans the range)', async () => {
    const n = 80;
    const values = new Float64Array(n);
    values.set([5, 4, -3, 2, 1]);
    const { matrix } = conjugatedSpectrum(values, 31);
    const op = countingOperator(denseOperator(matrix, n));
    const { estimate, stderr, matvecs } = await estimateTrace(op, { matvecs: 30, seed: 2 });
    expect(matvecs).toBe(30);
    expect(op.calls).toBe(30);
    // Q = orth(AS) spans range A, so tr(QᵀAQ) = tr A and the deflated remainder is rounding:
    // each of the 30 products and inner products errs by at most ~n·ε·‖A‖₂ (‖A‖₂ = 5).
    const exact = trace(matrix, n);
    const tolerance = 30 * n * Number.EPSILON * 5;
    expect(Math.abs(estimate - exact), `estimate ${estimate}, trace ${exact}`).toBeLessThan(
      tolerance,
    );
    expect(stderr, `stderr ${stderr}`).toBeLessThan(tolerance);
  });

  it('spends exactly the budget when it is not a multiple of 3', async () => {
    const n = 40;
    const dense = denseOperator(randomSymmetric(n, 41), n);
    for (const budget of [3, 4, 5, 31, 32]) {
      const op = countingOperator(dense);
      const { matvecs } = await estimateTrace(op, { matvecs: budget, seed: budget });
      expect(matvecs).toBe(budget);
      expect(op.calls).toBe(budget);
    }
  });
});

describe("estimateTrace: 'auto' and a target precision", () => {
  /** Low rank plus noise (Hutch++ wins) and a flat random spectrum (Hutchinson wins). */
  const rng = createRandom(71);
  const n = 300;
  const decaying = new Float64Array(n);
  for (let i = 0; i < n; i++) decaying[i] = i < 10 ? 10 * 10 ** (i / 9) : 0.01 * rng.gaussian();
  const flat = new Float64Array(n);
  for (let i = 0; i < n; i++) flat[i] = 1 + rng.gaussian();
  const cases = [
    ['low rank plus noise', conjugatedSpectrum(decaying, 72).matrix, 'hutch++'],
    ['a flat spectrum', conjugatedSpectrum(flat, 73).matrix, 'hutchinson'],
  ] as const;

  it.each(cases)(
    'picks the estimator with the smaller error for %s, at a fixed budget',
    async (_name, matrix, better) => {
      const op = countingOperator(denseOperator(matrix, n));
      const exact = trace(matrix, n);
      const chosen: string[] = [];
      for (let seed = 0; seed < 10; seed++) {
        const result = await estimateTrace(op, { matvecs: 60, seed });
        chosen.push(result.method);
        expect(result.matvecs).toBe(60);
        expect(Math.abs(result.estimate - exact)).toBeLessThan(5 * result.stderr + 1e-9);
      }
      expect(op.calls).toBe(600);
      // The choice rests on a 20-probe pilot: it may miss now and then, not usually.
      expect(chosen.filter((m) => m === better).length, chosen.join()).toBeGreaterThanOrEqual(9);
    },
  );

  it.each(cases)('reaches a relative standard error of 1 %% for %s', async (_name, matrix) => {
    const exact = trace(matrix, n);
    const op = countingOperator(denseOperator(matrix, n));
    const result = await estimateTrace(op, { relativeStderr: 0.01, maxMatvecs: 5000, seed: 3 });
    expect(result.converged).toBe(true);
    expect(result.stderr).toBeLessThanOrEqual(0.01 * Math.abs(result.estimate));
    expect(op.calls).toBe(result.matvecs);
    expect(Math.abs(result.estimate - exact)).toBeLessThan(4 * result.stderr + 1e-9);
  });

  it('stops at maxMatvecs and says it did not converge', async () => {
    const op = countingOperator(denseOperator(cases[1][1], n));
    const result = await estimateTrace(op, { relativeStderr: 1e-4, maxMatvecs: 40, seed: 1 });
    expect(result.converged).toBe(false);
    expect(result.matvecs).toBeLessThanOrEqual(40);
    expect(op.calls).toBe(result.matvecs);
  });

  it('gives error bars that cover: |estimate − tr| <= 2·stderr in about 95 % of 200 runs', async () => {
    // Calibration over seeds, for each method on the flat spectrum (Hutchinson's samples are
    // i.i.d., so its t-interval holds) and on low rank plus noise (Hutch++'s remainder forms are
    // i.i.d. given the sketch). With 30+ probes the t quantile at 95 % is within 5 % of 2. The
    // operators are the same spectra behind Householder reflections (O(n) products).
    for (const [name, spectrum] of [
      ['low rank plus noise', decaying],
      ['a flat spectrum', flat],
    ] as const) {
      const op = reflectedSpectrumOperator(spectrum, 74);
      const exact = spectrum.reduce((a, b) => a + b, 0);
      for (const method of ['hutchinson', 'hutch++', 'auto'] as const) {
        let covered = 0;
        for (let seed = 0; seed < 200; seed++) {
          const { estimate, stderr } = await estimateTrace(op, { matvecs: 90, method, seed });
          if (Math.abs(estimate - exact) <= 2 * stderr) covered++;
        }
        // Binomial(200, 0.95): sd 3.1 runs; 4 sd below 190 is 178.
        expect(covered, `${name}, ${method}`).toBeGreaterThanOrEqual(178);
      }
    }
  });

  it('refuses both or neither of matvecs and relativeStderr, and bad targets, before any product', async () => {
    const op = countingOperator(denseOperator(cases[0][1], n));
    const bad = [
      {},
      { matvecs: 10, relativeStderr: 0.1 },
      { relativeStderr: 0 },
      { relativeStderr: 1 },
      { relativeStderr: 0.1, maxMatvecs: 5 },
    ];
    for (const options of bad) {
      await expect(estimateTrace(op, options), JSON.stringify(options)).rejects.toThrow(
        OptionError,
      );
    }
    expect(op.calls).toBe(0);
  });
});

describe('estimateTrace: determinism and errors', () => {
  const n = 30;
  const op = denseOperator(randomSymmetric(n, 51), n);

  it('gives bit-identical results for the same seed, and different ones for another', async () => {
    for (const method of ['hutch++', 'hutchinson'] as const) {
      const first = await estimateTrace(op, { matvecs: 12, method, seed: 9 });
      const second = await estimateTrace(op, { matvecs: 12, method, seed: 9 });
      const other = await estimateTrace(op, { matvecs: 12, method, seed: 10 });
      expect(Object.is(first.estimate, second.estimate)).toBe(true);
      expect(Object.is(first.stderr, second.stderr)).toBe(true);
      expect(other.estimate).not.toBe(first.estimate);
    }
  });

  it('validates options before any matvec', async () => {
    const counted = countingOperator(op);
    const bad: [number, TraceMethod, number][] = [
      [0, 'hutchinson', 0],
      [2, 'hutch++', 0],
      [2.5, 'hutchinson', 0],
      [10, 'lanczos' as TraceMethod, 0],
      [10, 'hutch++', 0.5],
    ];
    for (const [matvecs, method, seed] of bad) {
      await expect(estimateTrace(counted, { matvecs, method, seed })).rejects.toThrow(OptionError);
    }
    await expect(estimateDiagonal(counted, { matvecs: 0 })).rejects.toThrow(
      'estimateDiagonal: expected matvecs to be an integer >= 1, got 0',
    );
    await expect(estimateDiagonal(counted, { matvecs: 5, seed: Number.NaN })).rejects.toThrow(
      OptionError,
    );
    expect(counted.calls).toBe(0);
  });

  it('stops with a MatvecError naming the step on NaN or a wrong length', async () => {
    const failing = (bad: (step: number) => Float64Array | undefined): LinearOperator => {
      let step = 0;
      return {
        dim: n,
        async matvec(v) {
          return bad(step++) ?? op.matvec(v);
        },
      };
    };
    const nanAt4 = () =>
      failing((s) => (s === 4 ? new Float64Array(n).fill(Number.NaN) : undefined));
    const shortAt2 = () => failing((s) => (s === 2 ? new Float64Array(n - 1) : undefined));
    const cases: [() => Promise<unknown>, string, number][] = [
      [() => estimateTrace(nanAt4(), { matvecs: 12 }), 'estimateTrace', 4],
      [() => estimateTrace(shortAt2(), { matvecs: 12, method: 'hutchinson' }), 'estimateTrace', 2],
      [() => estimateDiagonal(nanAt4(), { matvecs: 12 }), 'estimateDiagonal', 4],
    ];
    for (const [run, algorithm, step] of cases) {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MatvecError);
      expect(error).toMatchObject({ algorithm, step });
    }
  });
});

describe('estimateDiagonal', () => {
  it('is exact, with zero standard error, for a diagonal matrix', async () => {
    const n = 25;
    const rng = createRandom(61);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) a[i * n + i] = rng.gaussian();
    const { diagonal, stderr, matvecs } = await estimateDiagonal(denseOperator(a, n), {
      matvecs: 3,
    });
    expect(matvecs).toBe(3);
    for (let i = 0; i < n; i++) {
      // zᵢ(Az)ᵢ = zᵢ·A_ii·zᵢ = A_ii exactly for zᵢ = ±1.
      expect(diagonal[i]).toBe(a[i * n + i]);
      expect(stderr[i]).toBe(0);
    }
  });

  it('is unbiased within 4 theoretical standard errors for a dense matrix', async () => {
    const n = 30;
    const k = 400;
    const a = randomSymmetric(n, 71, 2);
    const { diagonal, stderr } = await estimateDiagonal(denseOperator(a, n), {
      matvecs: k,
      seed: 4,
    });
    for (let i = 0; i < n; i++) {
      // zᵢ(Az)ᵢ = A_ii + Σ_{j≠i} A_ij zᵢz_j, whose terms are uncorrelated: variance Σ_{j≠i} A_ij².
      let variance = 0;
      for (let j = 0; j < n; j++) if (j !== i) variance += a[i * n + j] ** 2;
      const sigma = Math.sqrt(variance / k);
      const message = `entry ${i}: estimate ${diagonal[i]}, exact ${a[i * n + i]}, σ ${sigma}, stderr ${stderr[i]}`;
      expect(Math.abs(diagonal[i] - a[i * n + i]), message).toBeLessThanOrEqual(4 * sigma);
      // zᵢ(Az)ᵢ − A_ii has the law of the Rademacher sum Σ_{j≠i} A_ij w_j, kurtosis κ <= 3, so
      // the sample variance K·stderr² has Var(s²/σ²) = (κ − 1)/K + 2/(K(K − 1)) <= 2/(K − 1).
      expect(Math.abs(stderr[i] ** 2 / sigma ** 2 - 1), message).toBeLessThanOrEqual(
        4 * Math.sqrt(2 / (k - 1)),
      );
    }
  });
});
