import * as z from 'zod';
import { layerSpectra, type NamedLayerSpectrum } from '../layer-spectra.js';
import type { ParameterLayout } from '../layout.js';
import type { ReportLayer } from '../report.js';
import type { AnalysisContext } from './context.js';
import { flag, integer } from './options.js';
import { defineAnalysis } from './types.js';

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
      layers: ReportLayer[];
      layerCoupling?: NonNullable<import('../report.js').CurvatureReport['layerCoupling']>;
      gaussNewtonGap?: NonNullable<import('../report.js').CurvatureReport['gaussNewtonGap']>;
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
function reportLayer(layer: NamedLayerSpectrum): ReportLayer {
  const { dim: _dim, gaussNewtonGap: gap, ...metrics } = layer;
  return {
    ...metrics,
    ...(gap === undefined ? {} : { gaussNewtonGap: gap.ratio, gaussNewtonGapStderr: gap.stderr }),
  };
}
