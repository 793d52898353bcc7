import { describe, expect, it } from 'vitest';
import { referenceEigen } from '../test/dense-eigen.js';
import { exactBlockNorms } from './blocks.js';
import { densityResolution, spectralDensity } from './density.js';
import { DimensionError, OptionError } from './errors.js';
import {
  gaussNewtonGap,
  type LayerSpectrum,
  layerCoupling,
  layerSeed,
  layerSpectra,
  layerSpectrum,
} from './layer-spectra.js';
import { layoutFromSizes } from './layout.js';
import {
  denseOperator,
  FLOAT32_PRECISION,
  type LinearOperator,
  restrictOperator,
} from './operator.js';
import { createRandom } from './random.js';
import { spectralSummary } from './summary.js';
import { countingOperator } from './testing/counting-operator.js';
import { arithmeticTolerance } from './testing/operator-contract.js';
import { conjugatedSpectrum, hessianLikeSpectrum } from './testing/spectra.js';

/** Every metric of a spectrum, computed directly from its eigenvalues by the stated formulas. */
function reference(values: readonly number[]) {
  const n = values.length;
  const lambdaMax = Math.max(...values);
  const lambdaMin = Math.min(...values);
  const trace = values.reduce((s, x) => s + x, 0);
  const frobeniusSq = values.reduce((s, x) => s + x * x, 0);
  const absolute = values.reduce((s, x) => s + Math.abs(x), 0);
  const delta = Math.sqrt(1e-5 * Math.max(1, lambdaMax - lambdaMin));
  const negative = values.filter((x) => x < -delta);
  const entropy = -values.reduce((s, x) => {
    const p = Math.abs(x) / absolute;
    return p > 0 ? s + p * Math.log(p) : s;
  }, 0);
  const maxAbs = Math.max(...values.map(Math.abs));
  const mean = trace / n;
  const bulkEdge = mean + 3 * Math.sqrt(frobeniusSq / n - mean * mean);
  return {
    dim: n,
    lambdaMax,
    lambdaMin,
    trace,
    tracePerParameter: trace / n,
    frobeniusSq,
    negativeFraction: negative.length / n,
    negativeTraceMass: -negative.reduce((s, x) => s + x, 0) / absolute,
    spectralEntropy: entropy,
    effectiveRank: Math.exp(entropy),
    participationRatio: absolute ** 2 / frobeniusSq,
    stableRank: frobeniusSq / maxAbs ** 2,
    bulkEdge,
    outlierCount: values.filter((x) => x > bulkEdge).length,
  };
}

/** The diagonal block of the row-major n×n `a` on [offset, offset + size), row-major. */
function diagonalBlock(a: Float64Array, n: number, offset: number, size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) out[i * size + j] = a[(offset + i) * n + offset + j];
  }
  return out;
}

const INTEGER_FIELDS = ['dim', 'outlierCount', 'negativeFraction'] as const;

describe('layerSpectrum, exact route', () => {
  // A Hessian-like spectrum: 5 outliers in [1, 10] over a bulk N(0, 0.2²), Haar eigenvectors.
  const n = 80;
  const spectrum = hessianLikeSpectrum(n, { outliers: 5, seed: 2, bulkScale: 0.2 });
  const { matrix } = conjugatedSpectrum(spectrum, 5);
  const op = denseOperator(matrix, n);

  it('gives every metric of the known spectrum to float64 rounding, in n matvecs', async () => {
    const counted = countingOperator(op);
    const result = await layerSpectrum(counted, { maxExactDim: n });
    expect(result.method).toBe('exact');
    expect(result.matvecs).toBe(n);
    expect(counted.calls).toBe(n);
    const truth = reference(Array.from(spectrum));
    // The eigenvalues of a backward-stable solver err by O(n·ε·‖A‖); every metric is a smooth
    // function of them with derivatives of order 1/‖A‖ relative, so 1e-12 relative covers it
    // (n·256·2^-53·‖A‖ ≈ 2e-12·‖A‖ absolute for the eigenvalues).
    const tolerance = n * arithmeticTolerance.float64;
    for (const [field, expected] of Object.entries(truth)) {
      const got = result[field as keyof LayerSpectrum] as number;
      if ((INTEGER_FIELDS as readonly string[]).includes(field)) {
        expect(got, field).toBe(expected);
      } else {
        expect(Math.abs(got - expected), field).toBeLessThanOrEqual(
          tolerance * Math.max(1, Math.abs(expected)),
        );
      }
    }
    // The spectrum has negative eigenvalues below the resolution and outliers above the edge,
    // so these counts test something.
    expect(truth.negativeFraction).toBeGreaterThan(0.2);
    expect(truth.outlierCount).toBeGreaterThanOrEqual(2);
    expect(result.traceStderr).toBe(0);
    expect(result.frobeniusSqStderr).toBe(0);
  });

  it('matches an independent dense eigensolver on a random symmetric matrix', async () => {
    const size = 40;
    const rng = createRandom(7);
    const a = new Float64Array(size * size);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j <= i; j++) {
        const x = rng.gaussian();
        a[i * size + j] = x;
        a[j * size + i] = x;
      }
    }
    const values = referenceEigen(a, size).values;
    const result = await layerSpectrum(denseOperator(a, size));
    const truth = reference(values);
    const norm = Math.max(...values.map(Math.abs));
    const tolerance = size * arithmeticTolerance.float64 * norm;
    expect(Math.abs(result.lambdaMax - truth.lambdaMax)).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(result.lambdaMin - truth.lambdaMin)).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(result.participationRatio - truth.participationRatio)).toBeLessThanOrEqual(
      1e-10 * truth.participationRatio,
    );
    expect(result.negativeFraction).toBe(truth.negativeFraction);
  });
});

describe('layerSpectrum, stochastic route', () => {
  // Bulk-dominated spectrum (outliers 4 in [1, 3], bulk N(0, 0.5²)), so that Hutchinson's
  // variances are moderate and the bounds below are informative.
  const n = 200;
  const spectrum = hessianLikeSpectrum(n, {
    outliers: 4,
    seed: 11,
    bulkScale: 0.5,
    outlierMin: 1,
    outlierMax: 3,
  });
  const { matrix } = conjugatedSpectrum(spectrum, 12);
  const op = denseOperator(matrix, n);
  const probes = 16;
  const steps = 40;
  const options = { maxExactDim: 0, probes, steps, traceMatvecs: 60, seed: 3 };
  const truth = reference(Array.from(spectrum));
  const run = layerSpectrum(op, options);
  const span = truth.lambdaMax - truth.lambdaMin;
  const rounding = n * arithmeticTolerance.float64 * span;

  it('spends probes·steps + traceMatvecs products', async () => {
    const counted = countingOperator(op);
    const result = await layerSpectrum(counted, options);
    expect(result.method).toBe('stochastic');
    expect(result.matvecs).toBe(probes * steps + 60);
    expect(counted.calls).toBe(result.matvecs);
  });

  it('brackets the spectrum by Ritz values (Cauchy interlacing)', async () => {
    const result = await run;
    expect(result.lambdaMax).toBeLessThanOrEqual(truth.lambdaMax + rounding);
    expect(result.lambdaMin).toBeGreaterThanOrEqual(truth.lambdaMin - rounding);
    // 40 steps resolve the spectrum's ends: within the quadrature's W1 scale π·span/(4m).
    const quadrature = (Math.PI * span) / (4 * steps);
    expect(truth.lambdaMax - result.lambdaMax).toBeLessThanOrEqual(quadrature);
    expect(result.lambdaMin - truth.lambdaMin).toBeLessThanOrEqual(quadrature);
  });

  it('estimates trace and ‖H‖²_F without bias, within 4 standard deviations', async () => {
    const result = await run;
    expect(Math.abs(result.trace - truth.trace)).toBeLessThanOrEqual(4 * result.traceStderr);
    expect(result.tracePerParameter).toBe(result.trace / n);
    // Per probe ‖Hz‖² = zᵀH²z with z Rademacher: variance 2(‖H²‖²_F − Σ(H²)_ii²) <= 2Σλ⁴
    // (Hutchinson 1989); the quadrature is exact for degree 2 <= 2m − 1.
    const fourth = spectrum.reduce((s, x) => s + x ** 4, 0);
    const sd = Math.sqrt((2 * fourth) / probes);
    expect(Math.abs(result.frobeniusSq - truth.frobeniusSq)).toBeLessThanOrEqual(4 * sd);
    // The bound is informative: under a third of the true value.
    expect(4 * sd).toBeLessThan(truth.frobeniusSq / 3);
  });

  it('bounds the participation ratio by the errors of Σ|λ| and Σλ²', async () => {
    const result = await run;
    // Σ|λ|: |x| is 1-Lipschitz, so each probe's rule errs by at most n·π·span/(4m) in
    // quadrature (Jackson; spectralDensity's W1 bound), and zᵀ|H|z has variance <= 2Σλ².
    const sAbs = spectrum.reduce((s, x) => s + Math.abs(x), 0);
    const sError =
      (n * Math.PI * span) / (4 * steps) + 4 * Math.sqrt((2 * truth.frobeniusSq) / probes);
    const fourth = spectrum.reduce((s, x) => s + x ** 4, 0);
    const fError = 4 * Math.sqrt((2 * fourth) / probes);
    const low = (sAbs - sError) ** 2 / (truth.frobeniusSq + fError);
    const high = (sAbs + sError) ** 2 / (truth.frobeniusSq - fError);
    expect(result.participationRatio).toBeGreaterThanOrEqual(low);
    expect(result.participationRatio).toBeLessThanOrEqual(high);
    expect(truth.participationRatio).toBeGreaterThan(low);
  });

  it('takes entropy and effective rank from spectralSummary of the same rules', async () => {
    const result = await run;
    const slq = await spectralDensity(op, {
      probes,
      steps,
      seed: 3,
      gridSize: 2,
      reorthogonalize: 'partial',
    });
    const summary = spectralSummary(slq);
    expect(result.spectralEntropy).toBe(summary.spectralEntropy);
    expect(result.effectiveRank).toBe(summary.effectiveRank);
    expect(result.stableRank).toBe(summary.stableRank);
    // Consistency with the exact values (the estimator is tested in summary.test.ts).
    expect(Math.abs(result.spectralEntropy - truth.spectralEntropy)).toBeLessThan(0.1);
  });

  it('counts outliers from below (interlacing) and finds the separated ones', async () => {
    // Few outliers far above the bulk: 3 eigenvalues in [20, 40] over N(0, 0.5²).
    const values = hessianLikeSpectrum(n, {
      outliers: 3,
      seed: 4,
      bulkScale: 0.5,
      outlierMin: 20,
      outlierMax: 40,
    });
    const separated = denseOperator(conjugatedSpectrum(values, 6).matrix, n);
    const exact = await layerSpectrum(separated);
    const stochastic = await layerSpectrum(separated, { ...options, probes: 2, steps: 20 });
    expect(exact.outlierCount).toBe(3);
    expect(stochastic.outlierCount).toBe(3);
    // In general a lower bound: with two steps, two Ritz values per probe reach at most two of
    // the three outliers.
    const twoSteps = await layerSpectrum(separated, { ...options, probes: 2, steps: 2 });
    expect(twoSteps.outlierCount).toBeLessThanOrEqual(2);
    // A single step would make ‖H‖²_F n·(qᵀHq)², not a quadrature of λ²: refused.
    await expect(layerSpectrum(separated, { ...options, steps: 1 })).rejects.toThrow(/steps/);
  });

  it('estimates the negative fraction and negative mass within the sampling error', async () => {
    // 50 eigenvalues within 1e-9 of 0, 5 at about −0.5 and 5 positive: 11 clusters, so 20
    // steps make the quadrature exact and only Hutchinson's error remains. For the projector
    // P on the k = 5 negative eigenvectors, qᵀPq has variance <= 2k/n² per probe.
    const size = 60;
    const values = new Float64Array(size);
    const rng = createRandom(8);
    for (let i = 0; i < 50; i++) values[i] = 1e-9 * rng.gaussian();
    for (let i = 50; i < 55; i++) values[i] = -0.5 - 0.01 * i;
    for (let i = 55; i < 60; i++) values[i] = i - 50;
    const clustered = denseOperator(conjugatedSpectrum(values, 9).matrix, size);
    const k = 8;
    const result = await layerSpectrum(clustered, { ...options, probes: k, steps: 20 });
    const truth = reference(Array.from(values));
    expect(truth.negativeFraction).toBe(5 / size);
    expect(Math.abs(result.negativeFraction - truth.negativeFraction)).toBeLessThanOrEqual(
      4 * Math.sqrt((2 * 5) / size ** 2 / k),
    );
    // Negative mass = N/S with N = Σ_{neg}|λ| and S = Σ|λ|, each a spectral sum with
    // per-probe variance <= 2Σf(λ)² (f the summand), so by interval arithmetic:
    const negative = values.filter((x) => x < 0 && x < -1e-6).map((x) => -x);
    const nSum = negative.reduce((s, x) => s + x, 0);
    const nError = 4 * Math.sqrt((2 * negative.reduce((s, x) => s + x * x, 0)) / k);
    const sSum = values.reduce((s, x) => s + Math.abs(x), 0);
    const sError = 4 * Math.sqrt((2 * values.reduce((s, x) => s + x * x, 0)) / k);
    expect(result.negativeTraceMass).toBeGreaterThanOrEqual((nSum - nError) / (sSum + sError));
    expect(result.negativeTraceMass).toBeLessThanOrEqual((nSum + nError) / (sSum - sError));
    // The resolution δ hides the 1e-9 cluster and keeps the −0.5 eigenvalues.
    const delta = densityResolution(result.lambdaMin, result.lambdaMax);
    expect(delta).toBeGreaterThan(1e-6);
    expect(delta).toBeLessThan(0.5);
  });
});

describe('layerSpectra: per-layer traces add up to the full trace', () => {
  const n = 90;
  const spectrum = hessianLikeSpectrum(n, { outliers: 4, seed: 5, bulkScale: 0.1 });
  const { matrix } = conjugatedSpectrum(spectrum, 8);
  const op = denseOperator(matrix, n);
  const layout = layoutFromSizes([
    { name: 'a', size: 50 },
    { name: 'b', size: 30 },
    { name: 'c', size: 10 },
  ]);
  const fullTrace = spectrum.reduce((s, x) => s + x, 0);

  it('exactly in the exact route (each block is exact, the trace a sum of diagonals)', async () => {
    const result = await layerSpectra(op, layout);
    expect(result.layers.map((l) => l.method)).toEqual(['exact', 'exact', 'exact']);
    const sum = result.layers.reduce((s, l) => s + l.trace, 0);
    expect(Math.abs(sum - fullTrace)).toBeLessThanOrEqual(
      n * arithmeticTolerance.float64 * Math.max(...spectrum.map(Math.abs)),
    );
    // Each layer's spectrum is that of its own block.
    for (const [i, block] of layout.blocks.entries()) {
      const values = referenceEigen(
        diagonalBlock(matrix, n, block.offset, block.size),
        block.size,
      ).values;
      expect(result.layers[i].name).toBe(block.name);
      expect(result.layers[i].lambdaMax).toBeCloseTo(values[values.length - 1], 10);
    }
    expect(result.matvecs).toBe(n);
  });

  it('within the combined standard error in the stochastic route', async () => {
    const result = await layerSpectra(op, layout, {
      maxExactDim: 0,
      probes: 2,
      steps: 8,
      traceMatvecs: 24,
      seed: 9,
    });
    expect(result.layers.every((l) => l.method === 'stochastic')).toBe(true);
    const sum = result.layers.reduce((s, l) => s + l.trace, 0);
    const stderr = Math.hypot(...result.layers.map((l) => l.traceStderr));
    expect(stderr).toBeGreaterThan(0);
    expect(Math.abs(sum - fullTrace)).toBeLessThanOrEqual(4 * stderr);
    expect(result.matvecs).toBe(result.layers.reduce((s, l) => s + l.matvecs, 0));
  });
});

describe('layerCoupling', () => {
  const n = 48;
  const spectrum = hessianLikeSpectrum(n, { outliers: 3, seed: 1, bulkScale: 0.3 });
  const { matrix } = conjugatedSpectrum(spectrum, 2);
  const op = denseOperator(matrix, n);
  const layout = layoutFromSizes([
    { name: 'first', size: 30 },
    { name: 'second', size: 18 },
  ]);
  const exact = exactBlockNorms(matrix, n, layout).frobeniusSq;

  it('equals the exact block norms and F_vw/√(F_vv F_ww) in the exact route', async () => {
    const result = await layerCoupling(op, layout);
    expect(result.method).toBe('exact');
    expect(result.names).toEqual(['first', 'second']);
    for (let v = 0; v < 2; v++) {
      for (let w = 0; w < 2; w++) {
        expect(result.frobeniusSq[v][w]).toBeCloseTo(exact[v][w], 12);
        const normalized = Math.sqrt(exact[v][w]) / Math.sqrt(Math.sqrt(exact[v][v] * exact[w][w]));
        expect(result.normalized[v][w]).toBeCloseTo(normalized, 12);
      }
    }
    expect(result.normalized[0][1]).toBeGreaterThan(0.1);
  });

  it('estimates them within 4 standard errors by block probing', async () => {
    const counted = countingOperator(op);
    const result = await layerCoupling(counted, layout, { maxExactDim: 0, probes: 16, seed: 4 });
    expect(result.method).toBe('stochastic');
    expect(counted.calls).toBe(2 * 16);
    for (let v = 0; v < 2; v++) {
      for (let w = 0; w < 2; w++) {
        expect(result.frobeniusSq[v][w]).toBe(result.frobeniusSq[w][v]);
        expect(Math.abs(result.frobeniusSq[v][w] - exact[v][w])).toBeLessThanOrEqual(
          4 * result.stderr[v][w],
        );
      }
    }
  });
});

describe('gaussNewtonGap', () => {
  // H = G + E with G = BBᵀ (PSD, rank 10) and E a symmetric perturbation of known norm.
  const n = 40;
  const rng = createRandom(21);
  const b = Array.from({ length: 10 }, () => rng.gaussianVector(n));
  const g = new Float64Array(n * n);
  for (const column of b) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i * n + j] += column[i] * column[j];
  }
  const e = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const x = 0.5 * rng.gaussian();
      e[i * n + j] = x;
      e[j * n + i] = x;
    }
  }
  const h = g.map((x, i) => x + e[i]);
  const frob = (a: Float64Array) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));
  const truth = frob(e) / frob(g);
  const hessian = denseOperator(h, n);
  const ggn = denseOperator(g, n);

  it('is ‖E‖_F/‖G‖_F exactly in the exact route, and 0 when H = G', async () => {
    const exact = await gaussNewtonGap(hessian, ggn);
    expect(exact.method).toBe('exact');
    expect(exact.matvecs).toBe(2 * n);
    expect(Math.abs(exact.ratio - truth)).toBeLessThanOrEqual(1e-13 * truth);
    expect((await gaussNewtonGap(ggn, ggn)).ratio).toBe(0);
  });

  it('is estimated within 4 delta-method standard errors by Hutchinson', async () => {
    const hc = countingOperator(hessian);
    const gc = countingOperator(ggn);
    const result = await gaussNewtonGap(hc, gc, { maxExactDim: 0, probes: 32, seed: 2 });
    expect(result.method).toBe('stochastic');
    expect([hc.calls, gc.calls, result.matvecs]).toEqual([32, 32, 64]);
    expect(result.stderr).toBeGreaterThan(0);
    expect(Math.abs(result.ratio - truth)).toBeLessThanOrEqual(4 * result.stderr);
    expect(Math.abs(result.errorFrobeniusSq - frob(e) ** 2)).toBeLessThan(0.2 * frob(e) ** 2);
  });

  it('is reported per layer and overall by layerSpectra, with every product counted', async () => {
    const layout = layoutFromSizes([
      { name: 'u', size: 25 },
      { name: 'v', size: 15 },
    ]);
    const hc = countingOperator(hessian);
    const gc = countingOperator(ggn);
    const result = await layerSpectra(hc, layout, { ggn: gc, couplingProbes: 2 });
    expect(Math.abs(result.gaussNewtonGap!.ratio - truth)).toBeLessThanOrEqual(1e-13 * truth);
    for (const [i, block] of layout.blocks.entries()) {
      const eb = diagonalBlock(e, n, block.offset, block.size);
      const gb = diagonalBlock(g, n, block.offset, block.size);
      expect(result.layers[i].gaussNewtonGap!.ratio).toBeCloseTo(frob(eb) / frob(gb), 12);
    }
    // n = 40 <= maxExactDim: H and G are assembled once each (40 products apiece), charged by
    // columns: spectra 25 + 15 of H, layer gaps 25 + 15 of G, overall gap and coupling 0.
    expect(result.matvecs).toBe(2 * n);
    expect([hc.calls, gc.calls]).toEqual([n, n]);
    expect(result.layers.map((l) => l.matvecs)).toEqual([25, 15]);
    expect(result.layers.map((l) => l.gaussNewtonGap!.matvecs)).toEqual([25, 15]);
    expect(result.gaussNewtonGap!.matvecs).toBe(0);
    expect(result.coupling?.method).toBe('exact');
    expect(result.coupling?.matvecs).toBe(0);
  });

  it('spends 2P products on the all-exact route, with the numbers of the separate functions', async () => {
    // A float32-rounded, slightly asymmetric H (as a tfjs operator gives), so that the
    // symmetrisation of each block is exercised; three layers of unequal sizes.
    const asymmetric = h.map((x, k) => x + 1e-6 * Math.sin(k));
    const float32: LinearOperator = {
      dim: n,
      precision: FLOAT32_PRECISION,
      async matvec(v) {
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          let sum = 0;
          for (let j = 0; j < n; j++) sum += asymmetric[i * n + j] * v[j];
          out[i] = Math.fround(sum);
        }
        return out;
      },
    };
    const layout = layoutFromSizes([
      { name: 'a', size: 7 },
      { name: 'b', size: 20 },
      { name: 'c', size: 13 },
    ]);
    const hc = countingOperator(float32);
    const gc = countingOperator(ggn);
    const options = { ggn: gc, couplingProbes: 3, seed: 4 };
    const result = await layerSpectra(hc, layout, options);
    expect([hc.calls, gc.calls, result.matvecs]).toEqual([n, n, 2 * n]);
    // The sum of the parts' counts is the whole.
    const parts = result.layers.reduce((s, l) => s + l.matvecs + l.gaussNewtonGap!.matvecs, 0);
    expect(parts + result.gaussNewtonGap!.matvecs + result.coupling!.matvecs).toBe(2 * n);
    // Bit for bit what the separate functions give: each assembles its own matrices from the
    // same (deterministic) products, as layerSpectra did before it shared them.
    for (const [i, block] of layout.blocks.entries()) {
      const local = restrictOperator(float32, layout, block.name);
      const own = layerSeed(4, block.name);
      const { name, gaussNewtonGap: gap, ...spectrum } = result.layers[i];
      expect(name).toBe(block.name);
      expect(spectrum).toEqual(await layerSpectrum(local, { seed: own }));
      const separate = await gaussNewtonGap(local, restrictOperator(ggn, layout, block.name));
      expect(gap).toEqual({ ...separate, matvecs: block.size });
      // And the dense float64 reference of the block's symmetric part, to its rounding.
      const dense = diagonalBlock(asymmetric, n, block.offset, block.size);
      const symmetric = dense.map((x, k) => {
        const [r, c] = [Math.floor(k / block.size), k % block.size];
        return 0.5 * (x + dense[c * block.size + r]);
      });
      const values = referenceEigen(symmetric, block.size).values;
      const scale = Math.max(...values.map(Math.abs));
      const tolerance = n * arithmeticTolerance.float32 * scale;
      expect(Math.abs(spectrum.lambdaMax - values[values.length - 1])).toBeLessThanOrEqual(
        tolerance,
      );
      expect(Math.abs(spectrum.lambdaMin - values[0])).toBeLessThanOrEqual(tolerance);
    }
    expect(result.gaussNewtonGap).toEqual({ ...(await gaussNewtonGap(float32, ggn)), matvecs: 0 });
    expect(result.coupling).toEqual({ ...(await layerCoupling(float32, layout)), matvecs: 0 });
    const exactNorms = exactBlockNorms(asymmetric, n, layout).frobeniusSq;
    for (let v = 0; v < 3; v++) {
      for (let w = 0; w < 3; w++) {
        const expected = 0.5 * (exactNorms[v][w] + exactNorms[w][v]);
        expect(Math.abs(result.coupling!.frobeniusSq[v][w] - expected)).toBeLessThanOrEqual(
          n * arithmeticTolerance.float32 * expected,
        );
      }
    }
  });
});

describe('options are checked before the first product', () => {
  const op = countingOperator(denseOperator(Float64Array.of(2, 1, 1, 3), 2));
  const layout = layoutFromSizes([{ name: 'all', size: 2 }]);
  it.each([
    ['maxExactDim -1', () => layerSpectrum(op, { maxExactDim: -1 }), OptionError],
    ['probes 0', () => layerSpectrum(op, { probes: 0 }), OptionError],
    ['traceMatvecs 2', () => layerSpectrum(op, { traceMatvecs: 2 }), OptionError],
    ['gapProbes 0', () => layerSpectra(op, layout, { gapProbes: 0 }), OptionError],
    ['couplingProbes 0.5', () => layerSpectra(op, layout, { couplingProbes: 0.5 }), OptionError],
    [
      'a GGN of another dimension',
      () => layerSpectra(op, layout, { ggn: { dim: 3, matvec: op.matvec } as LinearOperator }),
      DimensionError,
    ],
    [
      'a layout of another dimension',
      () => layerCoupling(op, layoutFromSizes([{ name: 'x', size: 3 }])),
      DimensionError,
    ],
    [
      'gap dimensions differ',
      () => gaussNewtonGap(op, denseOperator(Float64Array.of(1), 1)),
      DimensionError,
    ],
  ] as const)('%s', async (_, call, type) => {
    await expect(call()).rejects.toThrow(type);
    expect(op.calls).toBe(0);
  });
});

describe('layerSeed', () => {
  it('gives each layer name its own safe-integer seed, the same on every call', () => {
    const names = ['dense_1', 'dense_2', 'conv2d_1', 'dense_1/kernel', ''];
    for (const base of [0, 7, Number.MAX_SAFE_INTEGER - 1]) {
      const seeds = names.map((n) => layerSeed(base, n));
      expect(new Set(seeds).size).toBe(names.length);
      for (const s of seeds) expect(Number.isSafeInteger(s) && s >= 0).toBe(true);
      expect(names.map((n) => layerSeed(base, n))).toEqual(seeds);
    }
    expect(layerSeed(1, 'dense_1')).not.toBe(layerSeed(2, 'dense_1'));
  });
});
