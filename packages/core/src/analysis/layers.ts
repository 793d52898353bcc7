import * as z from 'zod';
import { layerSpectra, type NamedLayerSpectrum } from '../layer-spectra.js';
import type { ParameterLayout } from '../layout.js';
import {
  count,
  matrix,
  names,
  nonNegative,
  number,
  oneOf,
  ratio,
  record,
  squareMatrices,
  text,
  uniquelyNamed,
} from '../report/fields.js';
import type { AnalysisContext } from './context.js';
import { flag, integer } from './options.js';
import { defineAnalysis } from './types.js';

/** How a layer metric was computed. */
const LAYER_METHOD = oneOf(['exact', 'stochastic']);

/** One layer's local spectrum (`layerSpectrum`; δ = σ_G, p_i = |λ_i|/Σ|λ_j|). */
const LAYER = record({
  name: text().describe('Layer name, unique within a report.'),
  lambdaMax: number().describe(
    "Largest eigenvalue of the layer's block (stochastic: a lower bound).",
  ),
  trace: number().describe("Trace of the layer's block."),
  negativeFraction: ratio().describe('Fraction of its eigenvalues resolvably below zero.'),
  method: LAYER_METHOD.optional().describe("'exact' (dense eigenvalues) or 'stochastic' (SLQ)."),
  lambdaMin: number().optional().describe('Smallest eigenvalue (stochastic: an upper bound).'),
  traceStderr: nonNegative().optional(),
  tracePerParameter: number().optional().describe('trace / P_l.'),
  frobeniusSq: nonNegative().optional().describe('‖H_ll‖²_F = Σλ_i².'),
  frobeniusSqStderr: nonNegative().optional(),
  negativeTraceMass: ratio()
    .optional()
    .describe('Σ_{λ<−δ}|λ| / Σ|λ|: the share of the absolute spectrum that is negative.'),
  spectralEntropy: nonNegative().optional().describe('−Σ p_i ln p_i, in nats.'),
  effectiveRank: nonNegative().optional().describe('exp(spectralEntropy).'),
  participationRatio: nonNegative().optional().describe('(Σ|λ|)²/Σλ².'),
  stableRank: nonNegative().optional().describe('‖H_ll‖²_F / max λ².'),
  bulkEdge: number().optional().describe('m + 3s over the eigenvalues.'),
  outlierCount: count()
    .optional()
    .describe('Eigenvalues above bulkEdge (stochastic: a lower bound).'),
  gaussNewtonGap: nonNegative().optional().describe('‖H_ll − G_ll‖_F / ‖G_ll‖_F.'),
  gaussNewtonGapStderr: nonNegative().optional(),
  matvecs: count().optional().describe('Products spent on this layer.'),
});

/** The report's `layers` section: one entry per layer, names unique. */
export const LAYERS_SECTION = uniquelyNamed(LAYER);

/** The report's `layerCoupling` section. */
export const LAYER_COUPLING_SECTION = record({
  names: names().describe('Layer names: the row and column labels.'),
  frobeniusSq: matrix().describe('‖H_vw‖²_F (or its estimate), symmetric.'),
  stderr: matrix().describe('Standard error of each entry (0 when exact).'),
  normalized: matrix().describe('F_vw/√(F_vv F_ww): 1 on the diagonal, 0 for uncoupled layers.'),
  method: LAYER_METHOD,
  matvecs: count().optional(),
}).check((ctx) => {
  ctx.issues.push(
    ...squareMatrices(ctx.value, ctx.value.names.length, ['frobeniusSq', 'stderr', 'normalized']),
  );
});

/** The report's `gaussNewtonGap` section: ‖H − G‖_F/‖G‖_F of the whole matrices. */
export const GAUSS_NEWTON_GAP_SECTION = record({
  ratio: nonNegative().describe('‖H − G‖_F/‖G‖_F (NaN or Infinity when G = 0).'),
  stderr: nonNegative().describe('Its standard error (0 when exact; NaN with one probe).'),
  method: LAYER_METHOD,
  matvecs: count().optional().describe('Products of H and G together.'),
});

/**
 * The local spectrum of each layer's own diagonal block (Bolshim & Kugaevskikh 2025, arXiv
 * 2510.17486; `layerSpectra`): λmax, λmin, trace, negative mass, entropy, effective rank,
 * participation and stable ranks, bulk edge and outliers; exact for blocks of at most
 * `maxExactDim` parameters, by SLQ and Hutch++ above. Optionally the coupling between layers
 * and the Gauss–Newton gap ‖H − G‖_F/‖G‖_F per layer and overall. Report sections `layers`,
 * `layerCoupling`, `gaussNewtonGap`.
 */
export const layersAnalysis = defineAnalysis({
  name: 'layers',
  description: 'per-layer local spectra, coupling and Gauss–Newton gap',
  report: {
    layers: LAYERS_SECTION,
    layerCoupling: LAYER_COUPLING_SECTION,
    gaussNewtonGap: GAUSS_NEWTON_GAP_SECTION,
  },
  onByDefault: false,
  options: z
    .object({
      /** Lanczos probes per stochastic layer, an integer >= 1 (default 1). */
      probes: integer(1).default(1),
      /** Lanczos steps per probe, an integer >= 2 (default 16; capped at the layer's size). */
      steps: integer(2).default(16),
      /** Hutch++ products per stochastic layer for its trace, an integer >= 3 (default 12). */
      traceMatvecs: integer(3).default(12),
      /**
       * Largest layer assembled densely (exact metrics, one product per entry), an integer
       * >= 0. Default `probes · steps + traceMatvecs`: no more products than the stochastic
       * route.
       */
      maxExactDim: integer(0).optional(),
      /**
       * Gaussian probes per layer for the coupling F_vw/√(F_vv F_ww) between layers, an integer
       * >= 1 (default off); exact, at no extra product, when every metric is exact.
       */
      couplingProbes: integer(1).optional(),
      /**
       * Also the Gauss–Newton gap per layer and overall (default false; kind 'hessian' only):
       * the layer's size in products of G when assembled, else 2·`gapProbes`.
       */
      gaussNewtonGap: flag().default(false),
      /** Probes of each stochastic Gauss–Newton gap, an integer >= 1 (default 8). */
      gapProbes: integer(1).default(8),
    })
    .strict(),
  needs: (options) => (options.gaussNewtonGap ? { kind: 'hessian', gaussNewton: true } : {}),
  check() {},
  cost(options, context) {
    const layout = layersOf(context);
    const maxExactDim = exactLimit(options);
    const gap = options.gaussNewtonGap;
    if (layout.dim <= maxExactDim) return layout.dim * (gap ? 2 : 1);
    let products = 0;
    for (const { size } of layout.blocks) {
      const exact = size <= maxExactDim;
      products += exact
        ? size
        : options.probes * Math.min(options.steps, size) + options.traceMatvecs;
      if (gap) products += exact ? size : 2 * options.gapProbes;
    }
    if (options.couplingProbes !== undefined) {
      products += options.couplingProbes * layout.blocks.length;
    }
    if (gap) products += 2 * options.gapProbes;
    return products;
  },
  async run(options, context, seed) {
    const { gaussNewtonGap, couplingProbes, ...budget } = options;
    const run = await layerSpectra(context.operator, layersOf(context), {
      ...budget,
      maxExactDim: exactLimit(options),
      seed,
      ...(gaussNewtonGap && context.gaussNewton ? { ggn: context.gaussNewton() } : {}),
      ...(couplingProbes === undefined ? {} : { couplingProbes }),
    });
    const sections: {
      layers: z.input<typeof LAYERS_SECTION>;
      layerCoupling?: z.input<typeof LAYER_COUPLING_SECTION>;
      gaussNewtonGap?: z.input<typeof GAUSS_NEWTON_GAP_SECTION>;
    } = { layers: run.layers.map(reportLayer) };
    if (run.coupling) {
      const { names, frobeniusSq, stderr, normalized, method, matvecs } = run.coupling;
      sections.layerCoupling = { names, frobeniusSq, stderr, normalized, method, matvecs };
    }
    if (run.gaussNewtonGap) {
      const { ratio, stderr, method, matvecs } = run.gaussNewtonGap;
      sections.gaussNewtonGap = { ratio, stderr, method, matvecs };
    }
    return { sections, matvecs: run.matvecs };
  },
});

function layersOf(context: AnalysisContext): ParameterLayout {
  return context.layerLayout ?? context.layout;
}

function exactLimit(options: {
  probes: number;
  steps: number;
  traceMatvecs: number;
  maxExactDim?: number | undefined;
}): number {
  return options.maxExactDim ?? options.probes * options.steps + options.traceMatvecs;
}

/** One layer of `layerSpectra` as a report entry (the gap as its ratio and stderr). */
function reportLayer(layer: NamedLayerSpectrum): z.input<typeof LAYER> {
  const { dim: _dim, gaussNewtonGap: gap, ...metrics } = layer;
  return {
    ...metrics,
    ...(gap === undefined ? {} : { gaussNewtonGap: gap.ratio, gaussNewtonGapStderr: gap.stderr }),
  };
}
