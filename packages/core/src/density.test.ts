import { describe, expect, it } from 'vitest';
import {
  densityResolution,
  negativeCutoff,
  ritzZeroTolerance,
  smoothDensity,
  spectralDensity,
  spectralMeasure,
} from './density.js';
import { DimensionError, MatvecError, OptionError } from './errors.js';
import { denseOperator, type LinearOperator } from './operator.js';
import { createRandom } from './random.js';
import { countingOperator } from './testing/counting-operator.js';
import {
  conjugatedSpectrum,
  hessianLikeSpectrum,
  reflectedSpectrumOperator,
} from './testing/spectra.js';
import { dot } from './vector.js';
import { wasserstein1 } from './wasserstein.js';

function diagonalOperator(values: Float64Array): LinearOperator {
  return { dim: values.length, matvec: async (v) => v.map((x, i) => values[i] * x) };
}

/** The Rademacher vector z_l of probe l, as spectralDensity documents: l-th split of the seed. */
function probeVector(seed: number, probe: number, n: number): Float64Array {
  const root = createRandom(seed);
  let stream = root.split();
  for (let l = 0; l < probe; l++) stream = root.split();
  return stream.rademacherVector(n);
}

function trapezoid(grid: Float64Array, f: Float64Array): number {
  let s = 0;
  for (let i = 1; i < grid.length; i++) s += 0.5 * (f[i] + f[i - 1]) * (grid[i] - grid[i - 1]);
  return s;
}

/** Chebyshev polynomial T_k(x) for x >= 1. */
function chebyshevT(k: number, x: number): number {
  return Math.cosh(k * Math.acosh(x));
}

// A Hessian-like test matrix: 10 outliers geometric in [1, 10] over a Gaussian bulk N(0, 0.1²)
// of 390 eigenvalues (about half negative), with Haar-random eigenvectors.
const n = 400;
const spectrum = hessianLikeSpectrum(n, { outliers: 10, seed: 1, bulkScale: 0.1 });
const { matrix, eigenvectors } = conjugatedSpectrum(spectrum, 2);
const op = denseOperator(matrix, n);
const lambdaMax = spectrum[0];
const lambdaMin = spectrum[n - 1];
const span = lambdaMax - lambdaMin;
const exactMeasure = { values: spectrum };

/**
 * The spectral measure seen from probe l, μ_l = Σ_i (u_iᵀq_l)² δ_{λ_i} with q_l = z_l/√n: what
 * probe l's Gauss rule approximates, and whose mean over probes is unbiased for (1/n) Σ_i δ_{λ_i}.
 */
function probeMeasureWeights(seed: number, probe: number): Float64Array {
  const z = probeVector(seed, probe, n);
  return Float64Array.from(eigenvectors, (u) => dot(u, z) ** 2 / n);
}

/**
 * Chebyshev–Markov–Stieltjes bound on W₁(rule, μ_l) for a Gauss rule (θ, τ) of a measure on
 * [λmin, λmax]: between consecutive nodes the two CDFs differ by at most the larger of the two
 * weights (Szegő, Orthogonal Polynomials, Thm 3.41.1), and by τ₁ (τ_m) below θ₁ (above θ_m).
 */
function markovStieltjesBound(nodes: Float64Array, weights: Float64Array): number {
  const m = nodes.length;
  let bound = weights[0] * (nodes[0] - lambdaMin) + weights[m - 1] * (lambdaMax - nodes[m - 1]);
  for (let k = 0; k + 1 < m; k++) {
    bound += (nodes[k + 1] - nodes[k]) * Math.max(weights[k], weights[k + 1]);
  }
  return bound;
}

/**
 * Expected sampling error of the probes' mixture, E W₁(mean_l μ_l, exact) <= B (derived): for
 * every t, F̄(t) = mean_l q_lᵀP_t q_l with P_t the spectral projector on (−∞, t], unbiased for
 * F(t) = k/n with Rademacher variance 2(‖P_t‖²_F − Σ_i P_ii²)/n² <= 2F(1 − F)/n per probe
 * (Σ_i P_ii² >= k²/n). So E|F̄ − F| <= √(2F(1 − F)/(n·n_v)) and, integrating over t,
 * B = ∫ √(2F(1 − F)) dt / √(n·n_v). By Minkowski's integral inequality E W₁² <= B² as well, so
 * Chebyshev gives P(W₁ > 4B) <= 1/16 for any seed.
 */
function samplingBound(probes: number): number {
  const sorted = Float64Array.from(spectrum).sort();
  let integral = 0;
  for (let i = 0; i + 1 < n; i++) {
    const f = (i + 1) / n;
    integral += Math.sqrt(2 * f * (1 - f)) * (sorted[i + 1] - sorted[i]);
  }
  return integral / Math.sqrt(n * probes);
}

/**
 * A priori quadrature bound (derived): a Gauss rule with m nodes integrates polynomials of
 * degree <= 2m − 1 exactly, and both the rule and μ_l live on [λmin, λmax] (Ritz values
 * interlace), so for a 1-Lipschitz f, |∫f dμ_l − Σ τ f(θ)| <= 2·E_{2m−1}(f) <= 2·π(span/2)/(2·2m)
 * by Jackson's theorem (E_d(f) <= πL/(2(d + 1)) on [−1, 1]). Kantorovich–Rubinstein duality
 * turns this into W₁(rule, μ_l) <= π·span/(4m).
 */
function jacksonBound(steps: number): number {
  return (Math.PI * span) / (4 * steps);
}

const defaultRun = spectralDensity(op);

describe('spectralDensity', () => {
  it('returns Gauss rules with weights summing to 1 and a density integrating to 1', async () => {
    const result = await defaultRun;
    expect(result.nodes).toHaveLength(10);
    expect(result.weights).toHaveLength(10);
    expect(result.dim).toBe(n);
    let nodeCount = 0;
    for (let l = 0; l < 10; l++) {
      const { [l]: nodes } = result.nodes;
      const { [l]: weights } = result.weights;
      expect(nodes).toHaveLength(80);
      expect(weights).toHaveLength(80);
      nodeCount += nodes.length;
      let sum = 0;
      for (let k = 0; k < nodes.length; k++) {
        expect(weights[k]).toBeGreaterThanOrEqual(0);
        if (k > 0) expect(nodes[k]).toBeGreaterThanOrEqual(nodes[k - 1]);
        sum += weights[k];
      }
      // Σ τ_k is the squared norm of the first row of T's orthogonal eigenvector matrix.
      expect(Math.abs(sum - 1)).toBeLessThan(1e-13);
    }
    expect(result.matvecs).toBe(nodeCount);
    const { grid, density, sigma } = result;
    expect(grid).toHaveLength(1024);
    const h = (grid[1023] - grid[0]) / 1023;
    for (let i = 1; i < grid.length; i++) expect(grid[i] - grid[i - 1]).toBeCloseTo(h, 12);
    expect(grid[0]).toBeLessThan(result.lambdaMin);
    expect(grid[1023]).toBeGreaterThan(result.lambdaMax);
    // Default kernel: Ghorbani's σ_G = √(1e−5·max(1, span)), widened to one grid spacing.
    const ritzSpan = result.lambdaMax - result.lambdaMin;
    expect(sigma).toBe(Math.max(Math.sqrt(1e-5 * Math.max(1, ritzSpan)), h));
    expect(density.every((x) => x >= 0)).toBe(true);
    expect(Math.abs(trapezoid(grid, density) - 1)).toBeLessThan(1e-12);
    // Re-smoothing the raw rules with the reported σ and grid reproduces the curve exactly.
    expect(smoothDensity(result, { sigma, grid })).toEqual(density);
  });

  it('integrates like its probe: n·Σ τθ = zᵀAz and n·Σ τθ² = ‖Az‖² for each Rademacher z', async () => {
    const result = await defaultRun;
    for (let l = 0; l < 10; l++) {
      const z = probeVector(0, l, n);
      const az = await op.matvec(z);
      let first = 0;
      let second = 0;
      for (let k = 0; k < result.nodes[l].length; k++) {
        first += result.weights[l][k] * result.nodes[l][k];
        second += result.weights[l][k] * result.nodes[l][k] ** 2;
      }
      // Both sides are O(n‖A‖ᵖ) sums of rounded terms; 1e-12 relative is a few hundred ulps.
      expect(Math.abs(n * first - dot(z, az))).toBeLessThan(1e-12 * n * lambdaMax);
      expect(Math.abs(n * second - dot(az, az))).toBeLessThan(1e-12 * n * lambdaMax ** 2);
    }
  });

  it('is exact on a diagonal operator once steps >= dim (each eigenvalue gets weight 1/n)', async () => {
    const values = Float64Array.from({ length: 40 }, (_, i) => -1 + 0.1 * i + 0.001 * i * i);
    const result = await spectralDensity(diagonalOperator(values), { probes: 3, steps: 80 });
    for (let l = 0; l < 3; l++) {
      // Rademacher q has |q_i| = 1/√n, so the probe's measure is exactly (1/n) Σ δ_{λ_i}; the
      // Krylov space is all of R^40, Lanczos breaks down after 40 steps, the rule is the measure.
      expect(result.nodes[l]).toHaveLength(40);
      for (let k = 0; k < 40; k++) {
        expect(Math.abs(result.nodes[l][k] - values[k])).toBeLessThan(1e-13 * 3);
        expect(Math.abs(result.weights[l][k] - 1 / 40)).toBeLessThan(1e-13);
      }
    }
    expect(result.matvecs).toBe(120);
    const trace = values.reduce((a, b) => a + b, 0);
    expect(Math.abs(result.trace.estimate - trace)).toBeLessThan(1e-12 * 40 * 3);
    expect(result.negativeFraction).toBeCloseTo(values.filter((v) => v < 0).length / 40, 12);
    expect(wasserstein1(spectralMeasure(result), { values })).toBeLessThan(1e-12);
  });

  it('stops early on breakdown with fewer nodes that are still an exact rule (rank 1)', async () => {
    const u = createRandom(4).unitVector(50);
    const a = new Float64Array(2500);
    for (let i = 0; i < 50; i++) for (let j = 0; j < 50; j++) a[i * 50 + j] = 5 * u[i] * u[j];
    const result = await spectralDensity(denseOperator(a, 50), { probes: 4, seed: 7 });
    expect(result.matvecs).toBe(8);
    for (let l = 0; l < 4; l++) {
      // The rule of q is 0 with weight 1 − (uᵀq)² and 5 with weight (uᵀq)², exactly.
      const weightOnU = dot(u, probeVector(7, l, 50)) ** 2 / 50;
      expect(result.nodes[l]).toHaveLength(2);
      expect(Math.abs(result.nodes[l][0])).toBeLessThan(1e-13 * 5);
      expect(Math.abs(result.nodes[l][1] - 5)).toBeLessThan(1e-13 * 5);
      expect(Math.abs(result.weights[l][1] - weightOnU)).toBeLessThan(1e-13);
    }
  });

  it('splits its W₁ error into a quadrature part and a sampling part, each within its bound', async () => {
    // Per probe, W₁(rule_l, μ_l) is checked against two bounds that hold for any Gauss rule (an
    // implementation with wrong weights or nodes fails them): Jackson's a priori π·span/(4m)
    // and the a posteriori Chebyshev–Markov–Stieltjes bound. The sampling part
    // W₁(mean_l μ_l, exact) is checked against 4B (fails with probability <= 1/16 per seed). By
    // convexity of W₁ and the triangle inequality the total is below their sum.
    for (const [probes, steps] of [
      [1, 10],
      [4, 30],
      [10, 80],
    ]) {
      const result = await spectralDensity(op, { probes, steps, seed: 0 });
      const mixture = new Float64Array(n);
      let quadratureBound = 0;
      for (let l = 0; l < probes; l++) {
        const probeWeights = probeMeasureWeights(0, l);
        for (let i = 0; i < n; i++) mixture[i] += probeWeights[i] / probes;
        const rule = { values: result.nodes[l], weights: result.weights[l] };
        const quadratureError = wasserstein1(rule, { values: spectrum, weights: probeWeights });
        const bound = Math.min(
          jacksonBound(steps),
          markovStieltjesBound(rule.values, rule.weights),
        );
        expect(quadratureError, `(${probes}, ${steps}) probe ${l}`).toBeLessThanOrEqual(
          bound + 1e-12 * span,
        );
        quadratureBound += bound / probes;
      }
      const samplingError = wasserstein1({ values: spectrum, weights: mixture }, exactMeasure);
      expect(samplingError, `(${probes}, ${steps}) sampling`).toBeLessThan(
        4 * samplingBound(probes),
      );
      const total = wasserstein1(spectralMeasure(result), exactMeasure);
      expect(total).toBeLessThanOrEqual(quadratureBound + samplingError + 1e-12 * span);
    }
  });

  it('has a small W₁ error at the defaults: below π·span/(4m) + 4B ≈ 2% of the span', async () => {
    // Bound: π/320 ≈ 1.0% of the span (quadrature, m = 80) + 4B ≈ 0.9% (sampling, n_v = 10,
    // n = 400). Measured when written: 0.01–0.03 (0.1–0.25% of the span) over seeds 0–4, of
    // which 0.002 from the quadrature; 'none' differs by a few percent of that.
    const bound = jacksonBound(80) + 4 * samplingBound(10);
    for (const reorthogonalize of ['partial', 'full', 'none'] as const) {
      const result =
        reorthogonalize === 'partial'
          ? await defaultRun
          : await spectralDensity(op, { reorthogonalize });
      expect(wasserstein1(spectralMeasure(result), exactMeasure), reorthogonalize).toBeLessThan(
        bound,
      );
    }
  });

  it('gets closer to the eigenvalue distribution as probes and steps grow (mean over 5 seeds)', async () => {
    const means: number[] = [];
    for (const [probes, steps] of [
      [1, 10],
      [4, 30],
      [10, 80],
    ]) {
      let sum = 0;
      for (let seed = 0; seed < 5; seed++) {
        const result = await spectralDensity(op, { probes, steps, seed });
        sum += wasserstein1(spectralMeasure(result), exactMeasure);
      }
      means.push(sum / 5);
      // E W₁ <= π·span/(4m) + B; the mean of five draws is checked against it.
      expect(sum / 5).toBeLessThan(jacksonBound(steps) + samplingBound(probes));
    }
    // Measured when written: about 0.09, 0.03 and 0.017.
    expect(means[1]).toBeLessThan(means[0]);
    expect(means[2]).toBeLessThan(means[1]);
  });

  it('estimates the trace within 4 standard errors (Hutchinson with Rademacher probes)', async () => {
    const result = await defaultRun;
    let trace = 0;
    let diagonalSq = 0;
    for (let i = 0; i < n; i++) {
      trace += matrix[i * n + i];
      diagonalSq += matrix[i * n + i] ** 2;
    }
    const frobeniusSq = spectrum.reduce((s, x) => s + x * x, 0);
    // Var(zᵀAz) = 2(‖A‖²_F − Σ A_ii²) per probe (Hutchinson 1989); the mean of 10 probes.
    const sd = Math.sqrt((2 * (frobeniusSq - diagonalSq)) / 10);
    const error = Math.abs(result.trace.estimate - trace);
    expect(error).toBeLessThan(4 * sd);
    expect(error).toBeLessThan(4 * result.trace.stderr);
    const single = await spectralDensity(op, { probes: 1, steps: 5 });
    expect(single.trace.stderr).toBeNaN();
  });

  it('finds λmin and λmax to rounding at the defaults (Kaniel–Paige bound)', async () => {
    const result = await defaultRun;
    // Ritz values interlace: λmin <= θ <= λmax (up to rounding, ~1e-15·‖A‖).
    const rounding = 1e-13 * span;
    expect(result.lambdaMin).toBeGreaterThanOrEqual(lambdaMin - rounding);
    expect(result.lambdaMax).toBeLessThanOrEqual(lambdaMax + rounding);
    // Kaniel–Paige (Saad, Numerical Methods for Large Eigenvalue Problems, Thm 6.4): after m
    // steps from q, λ₁ − θ₁ <= span·(tan∠(q, u₁)/T_{m−1}(1 + 2γ))², γ = (λ₁ − λ₂)/(λ₂ − λ_n);
    // the best probe counts. With these gaps it is ~1e-66 at the top (γ ≈ 0.28) and ~4e-7 at
    // the bottom of the bulk (γ ≈ 0.006); the Ritz values found are exact to rounding there.
    const edges = [
      {
        exact: lambdaMax,
        found: result.lambdaMax,
        u: eigenvectors[0],
        gap: spectrum[0] - spectrum[1],
        rest: spectrum[1] - lambdaMin,
      },
      {
        exact: lambdaMin,
        found: result.lambdaMin,
        u: eigenvectors[n - 1],
        gap: spectrum[n - 2] - lambdaMin,
        rest: lambdaMax - spectrum[n - 2],
      },
    ];
    for (const { exact, found, u, gap, rest } of edges) {
      let bound = Number.POSITIVE_INFINITY;
      for (let l = 0; l < 10; l++) {
        const cosSq = dot(u, probeVector(0, l, n)) ** 2 / n;
        const tanSq = (1 - cosSq) / cosSq;
        bound = Math.min(bound, (span * tanSq) / chebyshevT(79, 1 + (2 * gap) / rest) ** 2);
      }
      expect(Math.abs(found - exact)).toBeLessThanOrEqual(bound + rounding);
    }
  });

  it('estimates the negative mass within quadrature + 4 sampling standard deviations', async () => {
    const result = await defaultRun;
    const fraction = spectrum.filter((x) => x < 0).length / n;
    // Quadrature part, per probe: the rule's and μ_l's CDFs at 0 differ by at most the larger
    // weight of the two nodes around 0 (Chebyshev–Markov–Stieltjes). Sampling part: μ_l(−∞, 0)
    // has mean k/n and Rademacher variance <= 2p(1 − p)/n (see samplingBound).
    let quadrature = 0;
    for (let l = 0; l < 10; l++) {
      const { [l]: nodes } = result.nodes;
      const j = nodes.findIndex((x) => x >= 0);
      const below = j > 0 ? result.weights[l][j - 1] : 0;
      const above = j >= 0 ? result.weights[l][j] : 0;
      quadrature += Math.max(below, above) / 10;
    }
    const sd = Math.sqrt((2 * fraction * (1 - fraction)) / (n * 10));
    expect(Math.abs(result.negativeFraction - fraction)).toBeLessThan(quadrature + 4 * sd);
  });

  it('counts no negative mass for a PSD operator with a large null space (rounding-level nodes)', async () => {
    // Rank 30 of 300 (dense) and rank 40 of 4000 (matrix-free): most of each probe's mass sits
    // on a node at 0 up to rounding, which comes out as −1e-16 for some probes. Those nodes lie
    // within δ = m·ε·‖A‖ of 0 (ritzZeroTolerance) and are numerically zero.
    const psd = (dim: number, rank: number) => {
      const rng = createRandom(1);
      const values = new Float64Array(dim);
      for (let i = 0; i < rank; i++) values[i] = i < 5 ? 10 - i : Math.abs(rng.gaussian());
      return values.sort().reverse();
    };
    const operators = [
      ['dense, rank 30 of 300', denseOperator(conjugatedSpectrum(psd(300, 30), 2).matrix, 300)],
      ['matrix-free, rank 40 of 4000', reflectedSpectrumOperator(psd(4000, 40), 2)],
    ] as const;
    for (const [name, operator] of operators) {
      for (const reorthogonalize of ['partial', 'full', 'none'] as const) {
        const result = await spectralDensity(operator, { reorthogonalize });
        const label = `${name}, ${reorthogonalize}`;
        // The case is a real one: some nodes are negative, by rounding only.
        const negativeNodes = result.nodes.flatMap((nodes) => [...nodes].filter((x) => x < 0));
        expect(negativeNodes.length, label).toBeGreaterThan(0);
        for (const [l, nodes] of result.nodes.entries()) {
          const zero = ritzZeroTolerance(nodes.length, result.lambdaMax);
          for (const x of nodes) if (x < 0) expect(-x, label).toBeLessThanOrEqual(zero);
          expect(zero, `${label}, probe ${l}`).toBeLessThan(1e-12 * result.lambdaMax);
        }
        expect(result.negativeFraction, label).toBe(0);
      }
    }
  });

  it('keeps the negative mass of an indefinite operator: Σ τ over nodes below 0', async () => {
    const result = await defaultRun;
    let expected = 0;
    for (const [l, nodes] of result.nodes.entries()) {
      const zero = ritzZeroTolerance(nodes.length, Math.max(-result.lambdaMin, result.lambdaMax));
      for (const [k, x] of nodes.entries()) {
        // No node is numerically zero here, so the threshold changes nothing.
        expect(Math.abs(x)).toBeGreaterThan(zero);
        if (x < 0) expect(result.weights[l][k]).toBeGreaterThan(0);
        if (x < 0) expected += result.weights[l][k];
      }
    }
    expect(result.negativeFraction).toBe(expected / 10);
    expect(result.negativeFraction).toBeGreaterThan(0.3);
  });

  it('counts below the rounding band or below the resolution σ_G, as negativeThreshold says', async () => {
    // 90 eigenvalues at −1e-3 (far outside the rounding band, well inside σ_G ≈ 0.01), 10 at
    // −0.5 and 100 positive ones in 10 clusters: 12 distinct values, so 20 steps break down
    // with an exact rule, and on a diagonal operator each Rademacher probe puts weight exactly
    // k/n on any k coordinates: the negative mass is exact, whatever the threshold.
    const values = new Float64Array(200);
    for (let i = 0; i < 90; i++) values[i] = -1e-3;
    for (let i = 90; i < 100; i++) values[i] = -0.5;
    for (let i = 100; i < 200; i++) values[i] = 1 + (i % 10);
    const operator = diagonalOperator(values);
    const run = (negativeThreshold?: 'rounding' | 'resolution' | number) =>
      spectralDensity(operator, {
        probes: 3,
        steps: 20,
        seed: 4,
        ...(negativeThreshold === undefined ? {} : { negativeThreshold }),
      });
    const byDefault = await run();
    expect(byDefault.matvecs).toBe(3 * 12);
    expect(byDefault.negativeFraction).toBeCloseTo(100 / 200, 12);
    expect((await run('rounding')).negativeFraction).toBe(byDefault.negativeFraction);
    const resolved = await run('resolution');
    const sigmaG = densityResolution(-0.5, 10);
    expect(sigmaG).toBeCloseTo(Math.sqrt(1e-5 * 10.5), 15);
    expect(resolved.negativeFraction).toBeCloseTo(10 / 200, 12);
    // Nothing else changes with the threshold.
    expect({ ...resolved, negativeFraction: 0 }).toEqual({ ...byDefault, negativeFraction: 0 });
    expect((await run(0)).negativeFraction).toBe(byDefault.negativeFraction);
    expect((await run(1e-4)).negativeFraction).toBe(byDefault.negativeFraction);
    expect((await run(0.1)).negativeFraction).toBe(resolved.negativeFraction);
    expect((await run(1)).negativeFraction).toBe(0);
  });

  it('defines both cutoffs in negativeCutoff, for Ritz values and exact eigenvalues alike', () => {
    const spectrum = { lambdaMin: -0.5, lambdaMax: 10, steps: 80 };
    expect(negativeCutoff('rounding', spectrum)).toBe(ritzZeroTolerance(80, 10));
    expect(negativeCutoff('rounding', { ...spectrum, lambdaMin: -20 })).toBe(
      ritzZeroTolerance(80, 20),
    );
    expect(negativeCutoff('rounding', { ...spectrum, precision: 2 ** -24 })).toBe(
      ritzZeroTolerance(80, 10, 2 ** -24),
    );
    expect(negativeCutoff('resolution', spectrum)).toBe(densityResolution(-0.5, 10));
    // σ_G never drops below √1e-5: spans below 1 count as 1.
    expect(negativeCutoff('resolution', { ...spectrum, lambdaMin: 0, lambdaMax: 0.1 })).toBe(
      Math.sqrt(1e-5),
    );
    expect(negativeCutoff(0.25, spectrum)).toBe(0.25);
    expect(() => negativeCutoff(-1, spectrum)).toThrow(OptionError);
    expect(() => negativeCutoff('sign' as never, spectrum)).toThrow(
      /^negativeCutoff: expected negativeThreshold/,
    );
  });

  it('is deterministic, and probe l does not depend on the number of probes', async () => {
    const first = await spectralDensity(op, { probes: 3, steps: 20, seed: 11 });
    const again = await spectralDensity(op, { probes: 3, steps: 20, seed: 11 });
    expect(again).toEqual(first);
    const more = await spectralDensity(op, { probes: 5, steps: 20, seed: 11 });
    expect(more.nodes.slice(0, 3)).toEqual(first.nodes);
    expect(more.weights.slice(0, 3)).toEqual(first.weights);
    const other = await spectralDensity(op, { probes: 3, steps: 20, seed: 12 });
    expect(other.nodes[0]).not.toEqual(first.nodes[0]);
  });

  it('honours range and sigma', async () => {
    const result = await spectralDensity(op, {
      probes: 2,
      steps: 20,
      range: [-1, 11],
      sigma: 0.05,
      gridSize: 241,
    });
    expect(result.sigma).toBe(0.05);
    expect(result.grid).toHaveLength(241);
    expect(result.grid[0]).toBe(-1);
    expect(result.grid[240]).toBe(11);
    expect(result.grid[120]).toBeCloseTo(5, 12);
    expect(Math.abs(trapezoid(result.grid, result.density) - 1)).toBeLessThan(1e-12);
  });

  it('validates every option before the first matvec', async () => {
    const counted = countingOperator(op);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ probes: 0 }, /^spectralDensity: expected probes to be an integer >= 1, got 0$/],
      [{ probes: 2.5 }, /expected probes .* got 2.5/],
      [{ steps: 0 }, /^spectralDensity: expected steps to be an integer >= 1, got 0$/],
      [{ seed: 0.5 }, /^spectralDensity: expected seed to be a safe integer, got 0.5$/],
      [{ sigma: 0 }, /^spectralDensity: expected sigma to be a finite number > 0, got 0$/],
      [{ sigma: Number.NaN }, /expected sigma .* got NaN/],
      [{ gridSize: 1 }, /^spectralDensity: expected gridSize to be an integer >= 2, got 1$/],
      [
        { range: [1, 1] },
        /^spectralDensity: expected range to be \[lo, hi\] with finite lo < hi, got \[1, 1\]$/,
      ],
      [{ range: [0, Number.POSITIVE_INFINITY] }, /expected range .* got \[0, Infinity\]$/],
      [{ range: [2] }, /expected range/],
      [
        { negativeThreshold: 'sign' },
        /^spectralDensity: expected negativeThreshold to be 'rounding' \| 'resolution', got "sign"$/,
      ],
      [
        { negativeThreshold: -1e-3 },
        /^spectralDensity: expected negativeThreshold to be a finite number >= 0, got -0.001$/,
      ],
      [{ negativeThreshold: Number.NaN }, /expected negativeThreshold .* got NaN/],
      [
        { reorthogonalize: 'selective' },
        /^spectralDensity: expected reorthogonalize to be 'partial' \| 'full' \| 'none', got "selective"$/,
      ],
    ];
    for (const [options, message] of bad) {
      await expect(
        spectralDensity(counted, options as never),
        JSON.stringify(options),
      ).rejects.toThrow(message);
      await expect(spectralDensity(counted, options as never)).rejects.toBeInstanceOf(OptionError);
    }
    expect(counted.calls).toBe(0);
  });

  it('stops with a MatvecError naming the probe and the matvec of the run', async () => {
    let calls = 0;
    const failing: LinearOperator = {
      dim: n,
      async matvec(v) {
        const out = await op.matvec(v);
        if (calls++ === 85) out[3] = Number.NaN;
        return out;
      },
    };
    const error = await spectralDensity(failing, { steps: 80 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MatvecError);
    const matvecError = error as MatvecError;
    expect(matvecError.algorithm).toBe('spectralDensity');
    expect(matvecError.step).toBe(85);
    expect(matvecError.message).toBe(
      'spectralDensity: probe 1 (matvec 85 of the run): expected finite matvec output at step 5, got NaN at index 3',
    );
    expect(matvecError.cause).toBeInstanceOf(MatvecError);
    expect(calls).toBe(86);

    const throwing: LinearOperator = {
      dim: 3,
      matvec: async () => {
        throw new Error('out of memory');
      },
    };
    await expect(spectralDensity(throwing)).rejects.toThrow(
      /^spectralDensity: probe 0 \(matvec 0 of the run\): the operator's matvec threw at step 0: Error: out of memory$/,
    );
  });
});

describe('smoothDensity', () => {
  it('is a normalised Gaussian around a single node', () => {
    const grid = Float64Array.from({ length: 2001 }, (_, i) => -1 + i / 1000);
    const sigma = 0.1;
    const density = smoothDensity(
      { nodes: [Float64Array.of(0.2)], weights: [Float64Array.of(1)] },
      { sigma, grid },
    );
    // The trapezoid rule on a grid 100 times finer than σ integrates the Gaussian to within
    // ~e^(−2π²·100²), and the grid's end 8σ above the node cuts off Φ(−8) ≈ 6e-16 of the mass:
    // the renormalisation changes nothing beyond rounding.
    for (let i = 0; i < grid.length; i++) {
      const x = (grid[i] - 0.2) / sigma;
      const exact = Math.exp(-0.5 * x * x) / (sigma * Math.sqrt(2 * Math.PI));
      expect(Math.abs(density[i] - exact)).toBeLessThan(1e-12 * (1 / sigma));
    }
  });

  it('averages the rules with equal weight per probe', () => {
    const grid = Float64Array.from({ length: 4001 }, (_, i) => -2 + i / 1000);
    const density = smoothDensity(
      {
        nodes: [Float64Array.of(-1, 1), Float64Array.of(1)],
        weights: [Float64Array.of(0.5, 0.5), Float64Array.of(1)],
      },
      { sigma: 0.05, grid },
    );
    // Mass 1/4 at −1 and 3/4 at +1: the peaks are in ratio 1 : 3.
    expect(density[1000] / density[3000]).toBeCloseTo(1 / 3, 12);
    expect(trapezoid(grid, density)).toBeCloseTo(1, 12);
  });

  it('is the conditional density on a window that cuts the spectrum', () => {
    const grid = Float64Array.from({ length: 1001 }, (_, i) => i / 1000);
    const density = smoothDensity(
      { nodes: [Float64Array.of(-0.5, 0)], weights: [Float64Array.of(0.5, 0.5)] },
      { sigma: 0.01, grid },
    );
    // The node at −0.5 is 50σ away; the one at 0 puts half its mass on [0, 1], renormalised to
    // 1: a half-normal of height 2·g_σ(0).
    expect(density[0]).toBeCloseTo(2 / (0.01 * Math.sqrt(2 * Math.PI)), 6);
    expect(trapezoid(grid, density)).toBeCloseTo(1, 12);
    const far = smoothDensity(
      { nodes: [Float64Array.of(5)], weights: [Float64Array.of(1)] },
      { sigma: 0.01, grid },
    );
    expect(far.every((x) => x === 0)).toBe(true);
  });

  it('validates its input', () => {
    const rules = { nodes: [Float64Array.of(0)], weights: [Float64Array.of(1)] };
    const grid = Float64Array.of(0, 1);
    expect(() => smoothDensity(rules, { sigma: -1, grid })).toThrow(
      /^smoothDensity: expected sigma to be a finite number > 0, got -1$/,
    );
    expect(() => smoothDensity(rules, { sigma: 1, grid: Float64Array.of(0, 1, 1) })).toThrow(
      /^smoothDensity: expected a finite, strictly increasing grid, got grid\[2\] = 1 after grid\[1\] = 1$/,
    );
    expect(() => smoothDensity(rules, { sigma: 1, grid: Float64Array.of(0) })).toThrow(OptionError);
    expect(() => smoothDensity({ nodes: [], weights: [] }, { sigma: 1, grid })).toThrow(
      OptionError,
    );
    expect(() =>
      smoothDensity(
        { nodes: [Float64Array.of(0, 1)], weights: [Float64Array.of(1)] },
        { sigma: 1, grid },
      ),
    ).toThrow(DimensionError);
    expect(() =>
      smoothDensity(
        { nodes: [Float64Array.of(Number.NaN)], weights: [Float64Array.of(1)] },
        { sigma: 1, grid },
      ),
    ).toThrow(/^smoothDensity: expected finite nodes and finite weights >= 0, got node NaN/);
  });
});

describe('spectralMeasure', () => {
  it('concatenates the rules with weight τ/n_v', async () => {
    const result = await spectralDensity(op, { probes: 3, steps: 7 });
    const { values, weights } = spectralMeasure(result);
    expect(values).toHaveLength(21);
    expect(values.subarray(7, 14)).toEqual(result.nodes[1]);
    expect(weights[8]).toBe(result.weights[1][1] / 3);
    expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 13);
  });
});
