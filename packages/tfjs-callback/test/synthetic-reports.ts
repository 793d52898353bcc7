/**
 * Test helpers: curvature reports with the structure the callback produces (a two-layer MLP's
 * layout, every analysis section, consistent counts), filled from a seeded generator so that
 * different calls give different, checkable numbers.
 */
import {
  type CurvatureReport,
  createRandom,
  layoutFromSizes,
  normalizeReport,
  REPORT_SCHEMA_VERSION,
} from '@hessian-probe/core';

/** Layout of a 4-8-3 MLP: P = 32 + 8 + 24 + 3 = 67 parameters. */
export const MLP_LAYOUT = layoutFromSizes([
  { name: 'dense_1/kernel', size: 32, shape: [4, 8] },
  { name: 'dense_1/bias', size: 8 },
  { name: 'dense_2/kernel', size: 24, shape: [8, 3] },
  { name: 'dense_2/bias', size: 3 },
]);

export interface SyntheticReportOptions {
  /** Epochs completed (default 0). */
  epoch?: number;
  /** Seed of the numbers (default: the epoch). */
  seed?: number;
  /** Number of top eigenvalues (default 3). */
  k?: number;
  /** Layer names of the per-layer section (default the MLP's two layers). */
  layers?: readonly string[];
}

/** A valid `classes` section of a 3-class model whose level fractions depend on `u` in [0, 1). */
function classesSection(u: number): NonNullable<CurvatureReport['classes']> {
  const g1 = 0.3 + 0.4 * u;
  return {
    classes: 3,
    trace: 12,
    traceStderr: 0,
    traceFractions: { g0: 0.05, g1, g2: 0.1, g3: 0.85 - g1 },
    classMeanOverlap: 0.5 + 0.5 * u,
    overlapK: 3,
    level1Values: [3, 2, 1],
    level2Values: [0.5, 0.25],
    gaussNewtonValues: [3.5, 2.5, 1.5, 0.5],
    eigengaps: [{ position: 3, ratio: 3 }],
    matvecs: 50,
  };
}

/** A complete, valid report; every value depends on `seed`. */
export function syntheticReport(options: SyntheticReportOptions = {}): CurvatureReport {
  const { epoch = 0, k = 3, layers = ['dense_1', 'dense_2'] } = options;
  const rng = createRandom(options.seed ?? epoch);
  const scale = 10 / (1 + epoch);
  const values = Array.from({ length: k }, () => scale * (0.1 + rng.uniform())).sort(
    (a, b) => b - a,
  );
  const lambdaMin = -0.05 * scale * rng.uniform();
  const lambdaMax = values[0];
  const grid = Array.from({ length: 32 }, (_, i) => lambdaMin + ((lambdaMax - lambdaMin) * i) / 31);
  const raw = grid.map((t) => Math.exp(-(t * t) / 2) + 0.01);
  const area = raw.reduce(
    (s, v, i) => (i === 0 ? s : s + ((v + raw[i - 1]) / 2) * (grid[i] - grid[i - 1])),
    0,
  );
  const names = ['dense_1', 'dense_2'];
  const frobeniusSq = names.map((_, i) =>
    names.map((__, j) => (i === j ? 4 : 0.3) * rng.uniform()),
  );
  const total = frobeniusSq.flat().reduce((s, v) => s + v, 0);
  const offDiagonal = frobeniusSq[0][1] + frobeniusSq[1][0];
  const eigenMatvecs = 20 + k;
  return normalizeReport({
    schemaVersion: REPORT_SCHEMA_VERSION,
    epoch,
    step: epoch * 100,
    timestamp: new Date(Date.UTC(2025, 0, 31, 12, epoch)).toISOString(),
    wallSeconds: 60 * epoch,
    kind: 'hessian',
    model: { name: 'mlp', parameterCount: MLP_LAYOUT.dim, layout: MLP_LAYOUT },
    probe: { size: 256, seed: 7 },
    loss: 2.3 / (1 + epoch) + 0.01 * rng.uniform(),
    eigen: {
      values,
      residuals: values.map(() => 1e-6 * rng.uniform()),
      converged: true,
      matvecs: eigenMatvecs,
    },
    trace: { estimate: scale * (5 + rng.uniform()), stderr: 0.1 * rng.uniform(), matvecs: 30 },
    density: {
      grid,
      values: raw.map((v) => v / area),
      sigma: 0.01 * scale,
      negativeFraction: 0.2 * rng.uniform(),
      lambdaMin,
      lambdaMax,
      matvecs: 40,
    },
    blocks: {
      names,
      frobeniusSq,
      stderr: frobeniusSq.map((row) => row.map((v) => 0.05 * v)),
      offDiagonalRatio: offDiagonal / total,
      matvecs: 8,
      method: 'randomized',
      withinLayer: { pairs: 0, meanRatio: Number.NaN, massRatio: 0, massRatioStderr: 0 },
      crossLayer: {
        pairs: 2,
        meanRatio: rng.uniform(),
        massRatio: offDiagonal / (frobeniusSq[0][0] + frobeniusSq[1][1]),
        massRatioStderr: 0.01,
      },
    },
    layers: layers.map((name) => ({
      name,
      lambdaMax: scale * rng.uniform(),
      trace: scale * 2 * rng.uniform(),
      negativeFraction: 0.1 * rng.uniform(),
      effectiveRank: 1 + 20 * rng.uniform(),
      gaussNewtonGap: rng.uniform(),
    })),
    gaussNewtonGap: { ratio: rng.uniform(), stderr: 0.01, method: 'stochastic' as const },
    kronecker: layers.map((name) => ({
      name,
      kind: 'dense' as const,
      method: 'dense' as const,
      exact: true,
      relativeError: rng.uniform(),
      relativeErrorStderr: 0,
      overlap: rng.uniform(),
      inputDominance: 1 + 10 * rng.uniform(),
      rank1Energy: rng.uniform(),
      outliers: 2,
      converged: true,
      matvecs: 12,
    })),
    classes: classesSection(rng.uniform()),
    seconds: 0.2 + rng.uniform(),
    matvecs: eigenMatvecs + 30 + 40 + 8 + 12 * layers.length + 50,
  });
}
