import { describe, expect, it } from 'vitest';
import { referenceEigen } from '../../test/dense-eigen.js';
import { blockMeanAbs, blockStructure } from '../block-structure.js';
import { blockNorms, exactBlockNorms } from '../blocks.js';
import { type SpectralDensityResult, spectralDensity } from '../density.js';
import { topEigenpairs } from '../eigenpairs.js';
import { DimensionError, LayoutError, MatvecError, OptionError } from '../errors.js';
import { layerSeed, layerSpectra, layerSpectrum } from '../layer-spectra.js';
import { type LayoutBlock, layoutFromSizes, type ParameterLayout } from '../layout.js';
import { denseOperator, type LinearOperator, restrictOperator } from '../operator.js';
import { createRandom } from '../random.js';
import { countingOperator } from '../testing/counting-operator.js';
import { arithmeticTolerance } from '../testing/operator-contract.js';
import { conjugatedSpectrum, hessianLikeSpectrum } from '../testing/spectra.js';
import { estimateTrace } from '../trace.js';
import { type AnalyzeOperatorOptions, analyzeOperator } from './analyze.js';
import { analysisSeeds } from './seeds.js';

/**
 * The fixture: a 60-dimensional Hessian-like matrix (4 outliers in [1, 10] over a bulk of
 * standard deviation 0.05, so some eigenvalues are negative) with Haar eigenvectors, cut into
 * four "tensors" that pair up into two "layers".
 */
const n = 60;
const spectrum = hessianLikeSpectrum(n, { outliers: 4, seed: 3, bulkScale: 0.05 });
const { matrix } = conjugatedSpectrum(spectrum, 4);
const operator = denseOperator(matrix, n);
const tensors = layoutFromSizes([
  { name: 'dense_1/kernel', size: 36, shape: [6, 6] },
  { name: 'dense_1/bias', size: 6 },
  { name: 'dense_2/kernel', size: 15, shape: [5, 3] },
  { name: 'dense_2/bias', size: 3 },
]);
const layers = layoutFromSizes([
  { name: 'dense_1', size: 42 },
  { name: 'dense_2', size: 18 },
]);

/** Eigenvalues of the symmetric row-major n×n `a`, descending (ml-matrix as the oracle). */
function eigenvalues(a: Float64Array, size: number): number[] {
  return referenceEigen(a, size).values.reverse();
}

/** The diagonal block of `a` on `block`, row-major. */
function diagonalBlock(a: Float64Array, size: number, block: LayoutBlock): Float64Array {
  const k = block.size;
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) out[i * k + j] = a[(block.offset + i) * size + block.offset + j];
  }
  return out;
}

function traceOf(a: Float64Array, size: number): number {
  let sum = 0;
  for (let i = 0; i < size; i++) sum += a[i * size + i];
  return sum;
}

function frobenius(a: Float64Array): number {
  return Math.sqrt(a.reduce((s, x) => s + x * x, 0));
}

/** Ghorbani, Krishnan & Xiao's kernel width over [lo, hi]: √(1e-5 · max(1, hi − lo)). */
function ghorbaniWidth(lo: number, hi: number): number {
  return Math.sqrt(1e-5 * Math.max(1, hi - lo));
}

/** The quadrature weight of Ritz values below −σ_G (over the run's extreme Ritz values). */
function massBelowResolution(run: SpectralDensityResult): number {
  const threshold = -ghorbaniWidth(run.lambdaMin, run.lambdaMax);
  let mass = 0;
  for (const [l, nodes] of run.nodes.entries()) {
    nodes.forEach((theta, k) => {
      if (theta < threshold) mass += run.weights[l][k];
    });
  }
  return mass / run.nodes.length;
}

const exact = eigenvalues(matrix, n);
const norm2 = Math.max(Math.abs(exact[0]), Math.abs(exact[n - 1]));
const exactTrace = spectrum.reduce((s, x) => s + x, 0);

describe('analyzeOperator against a dense reference', () => {
  const options: AnalyzeOperatorOptions = {
    analyses: {
      eigen: { k: 3, tol: 1e-8 },
      trace: { matvecs: 30 },
      density: { probes: 4, steps: 20 },
      blocks: { probes: 8 },
      layers: { probes: 2, steps: 12, traceMatvecs: 9 },
    },
    layerLayout: layers,
    seed: 11,
  };

  it('gives each section the numbers of the core function it wraps, with the documented seed', async () => {
    const result = await analyzeOperator(operator, tensors, options);
    const seeds = analysisSeeds(11);

    const eigen = await topEigenpairs(operator, {
      k: 3,
      tol: 1e-8,
      maxMatvecs: 150,
      seed: seeds.eigen,
    });
    expect(result.eigen).toEqual({
      values: Array.from(eigen.values),
      residuals: Array.from(eigen.residuals),
      converged: eigen.converged,
      matvecs: eigen.matvecs,
    });
    const trace = await estimateTrace(operator, { matvecs: 30, seed: seeds.trace });
    expect(result.trace).toEqual({
      estimate: trace.estimate,
      stderr: trace.stderr,
      matvecs: 30,
      method: trace.method,
    });
    const density = await spectralDensity(operator, {
      probes: 4,
      steps: 20,
      gridSize: 128,
      seed: seeds.density,
    });
    expect(result.density?.values).toEqual(Array.from(density.density));
    expect(result.density?.grid).toEqual(Array.from(density.grid));
    expect(result.density?.negativeFraction).toBe(massBelowResolution(density));
    // … which is spectralDensity's own negativeFraction under its 'resolution' rule.
    const resolved = await spectralDensity(operator, {
      probes: 4,
      steps: 20,
      gridSize: 128,
      seed: seeds.density,
      negativeThreshold: 'resolution',
    });
    expect(result.density?.negativeFraction).toBe(resolved.negativeFraction);
    expect(resolved.density).toEqual(density.density);
    expect(result.density?.matvecs).toBe(80);
    expect(result.density?.negativeCutoff).toBe(
      -ghorbaniWidth(density.lambdaMin, density.lambdaMax),
    );
    // 60 > 8 probes · 2 blocks: the randomized route, with blockStructure's statistics.
    const blocks = await blockNorms(operator, layers, { probes: 8, seed: seeds.blocks });
    const structure = blockStructure(blocks);
    const { samples: _samples, ...reported } = blocks;
    expect(result.blocks).toEqual({
      ...reported,
      method: 'randomized',
      withinLayer: structure.withinLayer,
      crossLayer: structure.crossLayer,
    });

    // dense_1 (42 > 2·12 + 9 entries) takes the Lanczos route, dense_2 (18 <= 33) the dense one;
    // each layer draws from its own seed, derived from the section's and the layer's name.
    const dense1 = restrictOperator(operator, layers, 'dense_1');
    const layerSeed1 = layerSeed(seeds.layers, 'dense_1');
    const lanczosLayer = await spectralDensity(dense1, {
      probes: 2,
      steps: 12,
      gridSize: 2,
      seed: layerSeed1,
      reorthogonalize: 'partial',
    });
    const layerTrace = await estimateTrace(dense1, { matvecs: 9, seed: layerSeed1 });
    expect(result.layers?.[0]).toMatchObject({
      name: 'dense_1',
      lambdaMax: lanczosLayer.lambdaMax,
      trace: layerTrace.estimate,
      negativeFraction: massBelowResolution(lanczosLayer),
    });
    // The rest of the layer-spectra metrics are layerSpectrum's, with the same budget and seed.
    const { dim: _, ...metrics } = await layerSpectrum(dense1, {
      maxExactDim: 2 * 12 + 9,
      probes: 2,
      steps: 12,
      traceMatvecs: 9,
      seed: layerSeed1,
    });
    expect(result.layers?.[0]).toEqual({ name: 'dense_1', ...metrics });
    const exactLayerTrace = traceOf(diagonalBlock(matrix, n, layers.blocks[0]), 42);
    expect(Math.abs(layerTrace.estimate - exactLayerTrace)).toBeLessThanOrEqual(
      4 * layerTrace.stderr,
    );

    // Every product is counted, and the total is the sum of the sections.
    const sectionMatvecs = eigen.matvecs + 30 + 80 + 8 * 2 + (2 * 12 + 9) + 18;
    expect(result.matvecs).toBe(sectionMatvecs);
  });

  it('is accurate where the arithmetic allows: eigenvalues, dense layer spectra, estimates within their error bars', async () => {
    const result = await analyzeOperator(operator, tensors, options);
    const eigen = result.eigen!;
    expect(eigen.converged).toBe(true);
    // Converged pairs: residual <= tol·‖A‖, and for a separated eigenvalue the error is at most
    // residual²/gap (Parlett §11.7) plus float64 rounding of the Rayleigh quotient.
    const gaps = [exact[0] - exact[1], exact[1] - exact[2], exact[2] - exact[3]];
    for (let i = 0; i < 3; i++) {
      expect(eigen.residuals[i]).toBeLessThanOrEqual(1e-8 * norm2);
      const bound = eigen.residuals[i] ** 2 / gaps[i] + n * arithmeticTolerance.float64 * norm2;
      expect(Math.abs(eigen.values[i] - exact[i])).toBeLessThanOrEqual(bound);
    }
    expect(eigen.values).toEqual([...eigen.values].sort((a, b) => b - a));

    // Hutch++ and block probing are unbiased: within 4 of their own standard errors.
    const trace = result.trace!;
    expect(Math.abs(trace.estimate - exactTrace)).toBeLessThanOrEqual(4 * trace.stderr);
    const blocks = result.blocks!;
    const reference = exactBlockNorms(matrix, n, layers);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        expect(
          Math.abs(blocks.frobeniusSq[i][j] - reference.frobeniusSq[i][j]),
          `block ${i},${j}`,
        ).toBeLessThanOrEqual(4 * blocks.stderr[i][j]);
      }
    }

    // SLQ: Ritz values interlace, so λmin <= lambdaMin and lambdaMax <= λmax (up to rounding).
    const density = result.density!;
    const rounding = n * arithmeticTolerance.float64 * norm2;
    expect(density.lambdaMax).toBeLessThanOrEqual(exact[0] + rounding);
    expect(density.lambdaMin).toBeGreaterThanOrEqual(exact[n - 1] - rounding);

    // The dense route of a layer is exact up to float64 rounding of its block's spectrum.
    const block = layers.blocks[1];
    const local = diagonalBlock(matrix, n, block);
    const values = eigenvalues(local, block.size);
    const tolerance = block.size * arithmeticTolerance.float64 * frobenius(local);
    const layer = result.layers![1];
    expect(layer.name).toBe('dense_2');
    expect(Math.abs(layer.lambdaMax - values[0])).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(layer.trace - values.reduce((s, x) => s + x, 0))).toBeLessThanOrEqual(
      tolerance,
    );
    const threshold = -ghorbaniWidth(values[block.size - 1], values[0]);
    expect(layer.negativeFraction).toBe(values.filter((x) => x < threshold).length / block.size);

    // The Lanczos route gives a lower bound on the layer's λmax.
    const first = eigenvalues(diagonalBlock(matrix, n, layers.blocks[0]), 42);
    expect(result.layers![0].lambdaMax).toBeLessThanOrEqual(first[0] + rounding);
  });

  it('assembles the matrix for blocks when that costs no more than probing: exact norms, statistics and heatmap', async () => {
    // 60 <= 16 probes · 4 blocks: dim products instead of 64.
    const counting = countingOperator(operator);
    const result = await analyzeOperator(counting, tensors, {
      analyses: { eigen: false, trace: false, blocks: { probes: 16, layout: 'tensor' } },
    });
    const blocks = result.blocks!;
    expect(blocks.method).toBe('exact');
    expect(blocks.matvecs).toBe(n);
    expect(counting.calls).toBe(n);
    const reference = exactBlockNorms(matrix, n, tensors);
    // Products of a float64 dense operator are exact to n·ε·‖A‖ per entry; squared block
    // sums to ‖A_ij‖_F · that · √(entries) · 2, well within 1e-12 relative here.
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const bound = 1e-12 * Math.max(1, reference.frobeniusSq[i][j]);
        expect(Math.abs(blocks.frobeniusSq[i][j] - reference.frobeniusSq[i][j])).toBeLessThan(
          bound,
        );
        expect(blocks.stderr[i][j]).toBe(0);
      }
    }
    const structure = blockStructure(reference);
    expect(blocks.withinLayer?.pairs).toBe(4); // the kernel–bias pairs of each dense layer
    expect(blocks.crossLayer?.pairs).toBe(8);
    expect(blocks.withinLayer?.massRatio).toBeCloseTo(structure.withinLayer.massRatio, 12);
    expect(blocks.crossLayer?.massRatio).toBeCloseTo(structure.crossLayer.massRatio, 12);
    const heatmap = blockMeanAbs(matrix, n, tensors);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        expect(blocks.meanAbs![i][j]).toBeCloseTo(heatmap[i][j], 12);
      }
    }
  });

  it("never changes one section's numbers by switching another on or off", async () => {
    const alone = await analyzeOperator(operator, tensors, {
      analyses: { eigen: false, trace: { matvecs: 30 } },
      seed: 11,
    });
    const all = await analyzeOperator(operator, tensors, options);
    expect(alone.trace).toEqual(all.trace);
    expect(alone.eigen).toBeUndefined();
    expect(alone.density).toBeUndefined();
    expect(alone.matvecs).toBe(30);
  });

  it('passes the operator itself, with its declared precision, to the density', async () => {
    const rounded: LinearOperator = {
      dim: n,
      precision: 2 ** -24,
      async matvec(v) {
        return (await operator.matvec(v)).map(Math.fround);
      },
    };
    const seeds = analysisSeeds(5);
    const density = { probes: 2, steps: 40, gridSize: 2 };
    const direct = await spectralDensity(rounded, {
      ...density,
      seed: seeds.density,
      negativeThreshold: 'resolution',
    });
    expect(direct.precision).toBe(2 ** -24);
    const result = await analyzeOperator(rounded, tensors, {
      analyses: { eigen: false, trace: false, density },
      seed: 5,
    });
    expect(result.density?.lambdaMin).toBe(direct.lambdaMin);
    expect(result.density?.lambdaMax).toBe(direct.lambdaMax);
    expect(result.density?.negativeFraction).toBe(direct.negativeFraction);
  });

  it('uses the operator layout by default for blocks and layers', async () => {
    const result = await analyzeOperator(operator, tensors, {
      analyses: {
        eigen: false,
        trace: false,
        blocks: { probes: 2 },
        layers: { probes: 1, steps: 40 },
      },
    });
    expect(result.blocks?.names).toEqual(tensors.blocks.map((b) => b.name));
    expect(result.layers?.map((l) => l.name)).toEqual(tensors.blocks.map((b) => b.name));
    // Every tensor has at most 1·40 + 12 entries: all exact, one matvec per entry.
    expect(result.matvecs).toBe(2 * 4 + n);
    for (const [i, block] of tensors.blocks.entries()) {
      const local = diagonalBlock(matrix, n, block);
      const values = eigenvalues(local, block.size);
      const tolerance = block.size * arithmeticTolerance.float64 * frobenius(local);
      expect(Math.abs(result.layers![i].lambdaMax - values[0])).toBeLessThanOrEqual(tolerance);
    }
  });

  it('adds the Gauss–Newton gaps and the layer coupling of layerSpectra, counting every product', async () => {
    // G = H + 0.1·I: H − G = −0.1·I, so each gap is 0.1·√P_l/‖G_ll‖_F.
    const shifted = matrix.map((x, k) => (k % (n + 1) === 0 ? x + 0.1 : x));
    const ggn = countingOperator(denseOperator(shifted, n));
    const layersOptions = { probes: 2, steps: 12, traceMatvecs: 9 };
    const result = await analyzeOperator(operator, tensors, {
      analyses: {
        eigen: false,
        trace: false,
        layers: { ...layersOptions, gaussNewtonGap: true, couplingProbes: 3 },
      },
      layerLayout: layers,
      gaussNewton: ggn,
      seed: 11,
    });
    const reference = await layerSpectra(operator, layers, {
      ...layersOptions,
      maxExactDim: 33,
      ggn: denseOperator(shifted, n),
      couplingProbes: 3,
      seed: analysisSeeds(11).layers,
    });
    for (const [i, layer] of reference.layers.entries()) {
      expect(result.layers![i].gaussNewtonGap).toBe(layer.gaussNewtonGap!.ratio);
      expect(result.layers![i].gaussNewtonGapStderr).toBe(layer.gaussNewtonGap!.stderr);
    }
    // dense_2 (18 entries) is exact: the gap is known in closed form.
    const block = layers.blocks[1];
    const g22 = frobenius(diagonalBlock(shifted, n, block));
    expect(result.layers![1].gaussNewtonGap).toBeCloseTo((0.1 * Math.sqrt(18)) / g22, 12);
    expect(result.gaussNewtonGap?.ratio).toBe(reference.gaussNewtonGap!.ratio);
    expect(result.gaussNewtonGap?.method).toBe('stochastic');
    expect(result.layerCoupling?.names).toEqual(['dense_1', 'dense_2']);
    expect(result.layerCoupling?.normalized).toEqual(reference.coupling!.normalized);
    // Spectra (2·12 + 9) + 18, gaps 2·8 + 18 (G's block; H's is the spectrum's) per layer and
    // 2·8 overall, coupling 3·2.
    expect(result.matvecs).toBe(reference.matvecs);
    expect(result.matvecs).toBe(33 + 18 + 2 * 8 + 18 + 2 * 8 + 3 * 2);
    expect(ggn.calls).toBe(8 + 18 + 8);
  });

  it('measures seconds with the injected clock and returns no section when none is asked', async () => {
    let t = 100;
    const clock = () => {
      t += 0.25;
      return t;
    };
    const result = await analyzeOperator(operator, tensors, {
      analyses: { eigen: false, trace: false },
      now: clock,
    });
    expect(result).toEqual({ matvecs: 0, seconds: 0.25 });
  });
});

describe('analyzeOperator: negative mass with a cluster of eigenvalues at 0', () => {
  // 50 eigenvalues within 1e-9 of 0 with random signs (the rank-deficient part of a trained
  // network's Hessian, seen through rounding), 5 clearly negative, 5 positive outliers.
  const size = 60;
  const values = new Float64Array(size);
  const rng = createRandom(8);
  for (let i = 0; i < 50; i++) values[i] = 1e-9 * rng.gaussian();
  for (let i = 50; i < 55; i++) values[i] = -0.5 - 0.01 * i;
  for (let i = 55; i < 60; i++) values[i] = i - 50;
  const clustered = denseOperator(conjugatedSpectrum(values, 9).matrix, size);
  const single = layoutFromSizes([{ name: 'all', size }]);
  const truth = 5 / size;

  it('counts only eigenvalues below the resolution, exactly on the dense route', async () => {
    const signs = values.filter((x) => x < 0).length / size;
    expect(signs).toBeGreaterThan(truth + 0.2);
    const result = await analyzeOperator(clustered, single, {
      analyses: { eigen: false, trace: false, layers: { probes: 4, steps: 15 } },
    });
    expect(result.layers![0].negativeFraction).toBe(truth);
  });

  it('estimates it from the quadrature, within the sampling error of SLQ', async () => {
    const probes = 8;
    const result = await analyzeOperator(clustered, single, {
      analyses: { eigen: false, trace: false, density: { probes, steps: 20 } },
      seed: 3,
    });
    // With 20 steps on 11 distinct clusters the quadrature is exact, so each probe's estimate is
    // qᵀPq for P the projector on the k = 5 eigenvectors below −σ and q = z/√n, z Rademacher:
    // mean k/n, variance 2(‖P‖²_F − Σ P_ii²)/n² <= 2k/n² (Hutchinson 1989).
    const sd = Math.sqrt((2 * 5) / size ** 2 / probes);
    expect(Math.abs(result.density!.negativeFraction - truth)).toBeLessThanOrEqual(4 * sd);
  });
});

describe('analyzeOperator: options are checked before the first product', () => {
  const cases: [string, AnalyzeOperatorOptions, new (...args: never[]) => Error, RegExp][] = [
    ['k > dim', { analyses: { eigen: { k: n + 1 } } }, OptionError, /analyses\.eigen\.k/],
    [
      'tol <= 0',
      { analyses: { eigen: { k: 1, tol: 0 } } },
      OptionError,
      /analyses\.eigen\.tol to be a number in \(0, 1\], got 0/,
    ],
    [
      'maxMatvecs < k',
      { analyses: { eigen: { k: 3, maxMatvecs: 2 } } },
      OptionError,
      /eigen\.maxMatvecs/,
    ],
    [
      'trace below 3 products',
      { analyses: { trace: { matvecs: 2 } } },
      OptionError,
      /analyses\.trace\.matvecs to be an integer >= 3, got 2/,
    ],
    [
      'an unknown method',
      { analyses: { trace: { matvecs: 9, method: 'exact' as 'hutch++' } } },
      OptionError,
      /analyses\.trace\.method to be "auto" \| "hutch\+\+" \| "hutchinson", got "exact"/,
    ],
    [
      'density probes 0',
      { analyses: { density: { probes: 0, steps: 5 } } },
      OptionError,
      /density\.probes/,
    ],
    ['density steps 1', { analyses: { density: { steps: 1 } } }, OptionError, /density\.steps/],
    ['blocks probes 0', { analyses: { blocks: { probes: 0 } } }, OptionError, /blocks\.probes/],
    [
      'blocks by unit of a bare operator',
      { analyses: { blocks: { layout: 'unit' } } },
      OptionError,
      /cut by output unit or class/,
    ],
    [
      'a layer layout of another dim',
      { layerLayout: layoutFromSizes([{ name: 'a', size: 10 }]) },
      DimensionError,
      /layerLayout of dimension 60/,
    ],
    [
      'a layer layout that does not tile',
      { layerLayout: { dim: n, blocks: [{ name: 'a', offset: 0, size: 30 }] } as ParameterLayout },
      LayoutError,
      /cover/,
    ],
    ['layers steps 1', { analyses: { layers: { steps: 1 } } }, OptionError, /layers\.steps/],
    [
      'a layer trace budget below Hutch++',
      { analyses: { layers: { traceMatvecs: 2 } } },
      OptionError,
      /layers\.traceMatvecs/,
    ],
    [
      'layers gapProbes 0',
      { analyses: { layers: { gapProbes: 0 } } },
      OptionError,
      /layers\.gapProbes/,
    ],
    [
      'layers couplingProbes 1.5',
      { analyses: { layers: { couplingProbes: 1.5 } } },
      OptionError,
      /layers\.couplingProbes to be an integer >= 1, got 1\.5/,
    ],
    [
      'layers maxExactDim -1',
      { analyses: { layers: { maxExactDim: -1 } } },
      OptionError,
      /layers\.maxExactDim/,
    ],
    [
      'a Gauss–Newton gap without the operator',
      { analyses: { layers: { gaussNewtonGap: true } } },
      OptionError,
      /Gauss–Newton operator/,
    ],
    [
      'a GGN of another dimension',
      { gaussNewton: denseOperator(Float64Array.of(1), 1) },
      DimensionError,
      /gaussNewton/,
    ],
    ['kronecker without a model', { analyses: { kronecker: true } }, OptionError, /tfjs model/],
    [
      'an unknown option',
      { analyses: { eigen: { kk: 3 } as never } },
      OptionError,
      /'kk' in analyses\.eigen/,
    ],
    [
      'an analysis that is not an object',
      { analyses: { density: 4 as never } },
      OptionError,
      /analyses\.density to be a boolean or an options object, got 4/,
    ],
    ['a bad seed', { seed: 0.5 }, OptionError, /seed/],
    ['an unknown analysis', { analyses: { hessian: {} } as never }, OptionError, /'hessian'/],
  ];
  it.each(cases)('%s', async (_, options, type, message) => {
    // Valid analyses first, so a lazy check would have spent products before failing.
    const counted = countingOperator(operator);
    const run = analyzeOperator(counted, tensors, {
      ...options,
      analyses: { eigen: { k: 1 }, trace: { matvecs: 3 }, ...options.analyses },
    });
    await expect(run).rejects.toThrow(type);
    await expect(run).rejects.toThrow(message);
    expect(counted.calls).toBe(0);
  });

  it('rejects a main layout of another dimension', async () => {
    const small = layoutFromSizes([{ name: 'x', size: 5 }]);
    await expect(analyzeOperator(operator, small)).rejects.toThrow(DimensionError);
  });
});

describe('analyzeOperator: a failing operator', () => {
  it('stops at the failing product with a MatvecError naming the section', async () => {
    let calls = 0;
    const failing: LinearOperator = {
      dim: n,
      async matvec(v) {
        calls++;
        const out = await operator.matvec(v);
        if (calls === 40) out[0] = Number.NaN;
        return out;
      },
    };
    const run = analyzeOperator(failing, tensors, {
      analyses: { eigen: false, trace: { matvecs: 30 }, density: { probes: 2, steps: 20 } },
    });
    await expect(run).rejects.toThrow(MatvecError);
    await expect(run).rejects.toThrow(/spectralDensity/);
    expect(calls).toBe(40);
  });
});
