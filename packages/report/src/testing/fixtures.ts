/**
 * Test fixtures: reports made by core's real analyses (`analyzeOperator`) on a small
 * Hessian-like matrix of a 4-3-2 MLP's parameters (P = 23) whose cross-layer coupling fades with
 * the epoch, plus valid `kronecker` and `classes` sections (those need a tfjs model). Not
 * part of the package's build.
 */
import {
  type AnalysisRequest,
  analyzeOperator,
  type CurvatureReport,
  createRandom,
  denseOperator,
  encodeReport,
  layoutFromSizes,
  normalizeReport,
  REPORT_SCHEMA_VERSION,
} from '@hessian-probe/core';

/** Tensor layout of a 4-3-2 MLP: P = 12 + 3 + 6 + 2 = 23. */
export const FIXTURE_LAYOUT = layoutFromSizes([
  { name: 'dense_1/kernel', size: 12, shape: [4, 3] },
  { name: 'dense_1/bias', size: 3, shape: [3] },
  { name: 'dense_2/kernel', size: 6, shape: [3, 2] },
  { name: 'dense_2/bias', size: 2, shape: [2] },
]);

/** Its layers. */
export const FIXTURE_LAYERS = layoutFromSizes([
  { name: 'dense_1', size: 15 },
  { name: 'dense_2', size: 8 },
]);

const P = FIXTURE_LAYOUT.dim;

/** G = JᵀJ/m (PSD) and H = G + a small indefinite part; cross-layer entries shrink with `epoch`. */
function matrices(epoch: number, seed: number): { h: Float64Array; g: Float64Array } {
  const rng = createRandom(seed * 1000 + epoch);
  const m = 12;
  const j = Float64Array.from({ length: m * P }, () => rng.gaussian());
  const layerOf = (i: number) => (i < 15 ? 0 : 1);
  const cross = 1 / (1 + epoch);
  const g = new Float64Array(P * P);
  const e = new Float64Array(P * P);
  for (let r = 0; r < P; r++) {
    for (let c = r; c < P; c++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += j[k * P + r] * j[k * P + c];
      const scale = layerOf(r) === layerOf(c) ? 1 : cross;
      g[r * P + c] = g[c * P + r] = (scale * s) / m;
      e[r * P + c] = e[c * P + r] = 0.15 * scale * rng.gaussian();
    }
  }
  const h = g.map((x, i) => x + e[i]);
  return { h, g };
}

/** Options of {@link fixtureReport}. */
export interface FixtureOptions {
  /** Epochs completed (default 0); the step is 50 per epoch. */
  epoch?: number;
  /** Seed of the matrix and the analyses (default 1). */
  seed?: number;
  /** Model name (default 'mlp'). */
  name?: string;
  /** Assemble the blocks (exact norms and mean |H|) instead of probing them (default false). */
  exactBlocks?: boolean;
  /** The analyses (default: eigen k=3, trace, density, blocks, layers with gap and coupling, lambdaMin). */
  analyses?: AnalysisRequest;
  /** Add the model-level kronecker and classes sections (default true). */
  modelSections?: boolean;
}

/** A report of core's analyses on the fixture matrix at `epoch`. */
export async function fixtureReport(options: FixtureOptions = {}): Promise<CurvatureReport> {
  const { epoch = 0, seed = 1, name = 'mlp', exactBlocks = false, modelSections = true } = options;
  const { h, g } = matrices(epoch, seed);
  const analyses: AnalysisRequest = options.analyses ?? {
    eigen: { k: 3 },
    trace: true,
    density: { probes: 2, steps: 20, gridSize: 64 },
    blocks: { layout: 'layer', probes: exactBlocks ? 12 : 4 },
    layers: { gaussNewtonGap: true, couplingProbes: 2 },
    lambdaMin: true,
  };
  const {
    matvecs,
    seconds: _,
    ...sections
  } = await analyzeOperator(denseOperator(h, P), FIXTURE_LAYOUT, {
    analyses,
    seed,
    layerLayout: FIXTURE_LAYERS,
    gaussNewton: denseOperator(g, P),
  });
  const u = createRandom(seed + epoch).uniform();
  return normalizeReport({
    schemaVersion: REPORT_SCHEMA_VERSION,
    epoch,
    step: 50 * epoch,
    timestamp: new Date(Date.UTC(2025, 0, 31, 12, epoch)).toISOString(),
    wallSeconds: 30 * epoch,
    kind: 'hessian',
    model: { name, parameterCount: P, layout: FIXTURE_LAYOUT },
    probe: { size: 64, seed },
    loss: 2.3 / (1 + epoch) + 0.01 * u,
    seconds: 0.05,
    matvecs,
    ...sections,
    ...(modelSections
      ? {
          kronecker: ['dense_1', 'dense_2'].map((layer, i) => ({
            name: layer,
            kind: 'dense' as const,
            method: 'dense' as const,
            exact: i === 1,
            relativeError: 0.1 + 0.3 * u * (i + 1),
            relativeErrorStderr: 0,
            overlap: 0.9 - 0.1 * i,
            inputDominance: 3 + i,
            rank1Energy: 0.95,
            outliers: 2,
            converged: true,
            matvecs: 15,
          })),
          classes: {
            classes: 2,
            trace: 4,
            traceStderr: 0,
            traceFractions: { g0: 0.05, g1: 0.3 + 0.2 * u, g2: 0.1, g3: 0.55 - 0.2 * u },
            classMeanOverlap: 0.8,
            classMeanOverlapHessian: 0.75,
            overlapK: 2,
            level1Values: [1.5, 0.5],
            level2Values: [0.25],
            gaussNewtonValues: [2.5, 1, 0.3],
            eigengaps: [{ position: 1, ratio: 2.5 }],
            matvecs: 20,
          },
        }
      : {}),
  });
}

/** The reports of a run analysed after each of `epochs` + 1 epochs (0 … epochs). */
export async function fixtureRun(
  epochs: number,
  options: Omit<FixtureOptions, 'epoch'> = {},
): Promise<CurvatureReport[]> {
  const reports: CurvatureReport[] = [];
  for (let epoch = 0; epoch <= epochs; epoch++) {
    reports.push(await fixtureReport({ ...options, epoch }));
  }
  return reports;
}

/** The reports as the text of a JSON Lines file (`jsonlSink`'s format). */
export function jsonl(reports: readonly CurvatureReport[]): string {
  return reports.map((r) => `${encodeReport(r)}\n`).join('');
}

/**
 * A version-2 line as schema version 1 wrote it: `schemaVersion` 1 and `negativeMass` where
 * version 2 has `negativeFraction` (density and layers), the one difference between them.
 */
export function asVersion1(line: string): string {
  const value = JSON.parse(line) as Record<string, unknown>;
  const rename = (section: unknown) => {
    if (typeof section !== 'object' || section === null) return section;
    const { negativeFraction, ...rest } = section as Record<string, unknown>;
    return negativeFraction === undefined ? section : { ...rest, negativeMass: negativeFraction };
  };
  value.schemaVersion = 1;
  if (value.density !== undefined) value.density = rename(value.density);
  if (Array.isArray(value.layers)) value.layers = value.layers.map(rename);
  return JSON.stringify(value);
}
