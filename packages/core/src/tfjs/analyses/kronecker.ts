import * as z from 'zod';
import type { AnalysisContext, TfjsModelAccess } from '../../analysis/context.js';
import { atLeast, integer } from '../../analysis/options.js';
import { defineAnalysis } from '../../analysis/types.js';
import {
  bool,
  count,
  nonNegative,
  number,
  oneOf,
  ratio,
  record,
  text,
  uniquelyNamed,
} from '../../report/fields.js';
import { type KroneckerModel, kroneckerDecoupling } from '../kronecker.js';
import { kroneckerSection } from '../report-sections.js';

/** The report's `kronecker` section: one entry per Dense/Conv2D layer, names unique. */
export const KRONECKER_SECTION = uniquelyNamed(
  record({
    name: text().describe('Layer name.'),
    kind: oneOf(['dense', 'conv2d']).describe('Layer type (conv2d: patch-unfolded input factor).'),
    method: oneOf(['dense', 'randomized']).describe('H_L assembled, or matvec estimates.'),
    exact: bool().describe('Whether E[M] is the exact output Hessian.'),
    relativeError: number().describe('‖H_L − K‖_F / ‖H_L‖_F (NaN when H_L = 0).'),
    relativeErrorStderr: nonNegative().describe('Its standard error (0 when assembled).'),
    overlap: ratio().describe('Top-k eigenspace overlap ‖UᵀV‖²_F/k of H_L and K.'),
    inputDominance: number().describe('λ₁/λ₂ of E[x̃x̃ᵀ] (Infinity when λ₂ = 0).'),
    rank1Energy: ratio().describe("s₁²/Σs² of H_L's top eigenvector reshaped to the weight."),
    outliers: count().describe('Eigenvalues of E[M] above 1e-3 × its largest.'),
    converged: bool().optional().describe("Whether H_L's top eigenpairs converged."),
    matvecs: count().describe('Hessian-vector products spent on the layer.'),
  }),
);

/**
 * Kronecker decoupling of each Dense/Conv2D layer's Hessian block, H_L ≈ E[M] ⊗ E[x̃x̃ᵀ] (Wu,
 * Zhu, Wu, Wang & Ge 2020–22, arXiv 2010.04261; `kroneckerDecoupling`): relative error,
 * top-eigenspace overlap, input dominance, rank-1 energy, outliers of E[M]. Needs the tfjs
 * model and the Hessian (kind 'hessian'). Report section `kronecker`.
 */
export const kroneckerAnalysis = defineAnalysis({
  name: 'kronecker',
  description: 'Kronecker decoupling of each Dense/Conv2D layer block (tfjs models)',
  report: { kronecker: KRONECKER_SECTION },
  onByDefault: false,
  options: z
    .object({
      /** Top eigenpairs of each layer block compared with the factors' (default 4). */
      topK: integer(1).default(4),
      /**
       * Largest layer block (units × inputs) assembled densely, one product per entry
       * (default 256); larger ones get randomized estimates.
       */
      maxExactDim: integer(1).default(256),
      /** Rademacher probes of the randomized error estimates, an integer >= 2 (default 8). */
      probes: integer(2).default(8),
      /**
       * Products the top-k eigensolve of each randomized layer may spend, an integer >= topK
       * (default 150).
       */
      maxMatvecs: integer(1).default(150),
    })
    .strict()
    .check(atLeast('maxMatvecs', 'topK')),
  needs: () => ({ kind: 'hessian', model: true }),
  check() {},
  cost(options, context) {
    const model = access(context);
    // The factors: C vector-Jacobian products (about half a product each), counted as C; each
    // layer block assembled (one product per entry) or probed and eigensolved.
    let products = model.outputClasses;
    for (const size of model.factoredLayerSizes.values()) {
      products += size <= options.maxExactDim ? size : options.probes + options.maxMatvecs;
    }
    return products;
  },
  async run(options, context, seed) {
    const model = access(context);
    const layers = await kroneckerDecoupling(model.model as KroneckerModel, {
      tf: model.tf,
      x: model.x,
      y: model.y,
      ...options,
      seed,
      selfCheck: model.selfCheck,
      ...(model.loss === undefined ? {} : { loss: model.loss }),
      ...(model.batchSize === undefined ? {} : { batchSize: model.batchSize }),
    });
    const kronecker = kroneckerSection(layers);
    return { sections: { kronecker }, matvecs: kronecker.reduce((sum, l) => sum + l.matvecs, 0) };
  },
});

/** The tfjs model of the context (`needs` has made sure there is one). */
export function access(context: AnalysisContext): TfjsModelAccess {
  return context.model as TfjsModelAccess;
}
