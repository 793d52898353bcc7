import * as z from 'zod';
import { blockMeanAbs, blockStructure } from '../block-structure.js';
import { blockNorms, exactBlockNorms } from '../blocks.js';
import { denseMatrix, symmetricPart } from '../dense.js';
import type { ParameterLayout } from '../layout.js';
import type { LinearOperator } from '../operator.js';
import {
  count,
  matrix,
  names,
  number,
  oneOf,
  ratio,
  record,
  squareMatrices,
} from '../report/fields.js';
import type { AnalysisContext } from './context.js';
import { integer } from './options.js';
import { defineAnalysis } from './types.js';

/** How the blocks analysis cuts the parameters. */
export const BLOCK_LAYOUTS = ['layer', 'tensor', 'unit', 'class'] as const;

/** Off-diagonal statistics over one set of block pairs (`blockStructure`). */
const PAIR_STATISTICS = record({
  pairs: count().describe('Ordered pairs (i, j), i ≠ j, in the set.'),
  meanRatio: number().describe('mean F_ij over the pairs / mean F_ii over the diagonal blocks.'),
  massRatio: number().describe('Σ F_ij² over the pairs / Σ F_ii² over the diagonal blocks.'),
  massRatioStderr: number().describe('Delta-method standard error of massRatio (0 when exact).'),
});

/** The report's `blocks` section. */
export const BLOCKS_SECTION = record({
  names: names().describe('Block names: the row and column labels of the matrices.'),
  frobeniusSq: matrix().describe('frobeniusSq[i][j] estimates ‖A_ij‖²_F.'),
  stderr: matrix().describe('Standard error of each entry (0 when exact, NaN with one probe).'),
  offDiagonalRatio: ratio().describe('Off-diagonal share of Σ‖A_ij‖²_F (0: block diagonal).'),
  matvecs: count().optional().describe('Matrix-vector products spent.'),
  method: oneOf(['exact', 'randomized']).optional().describe('Assembled or probed.'),
  withinLayer: PAIR_STATISTICS.optional().describe('Statistics of the pairs within one layer.'),
  crossLayer: PAIR_STATISTICS.optional().describe('Statistics of the pairs across layers.'),
  meanAbs: matrix().optional().describe('Mean |A_rc| over each block pair (exact only).'),
}).check((ctx) => {
  ctx.issues.push(
    ...squareMatrices(ctx.value, ctx.value.names.length, ['frobeniusSq', 'stderr', 'meanAbs']),
  );
});

/**
 * Squared Frobenius norms of every block pair of the curvature and the off-diagonal share
 * (block probing: one product per probe gives a whole block column; Dong et al. 2025,
 * arXiv 2505.02809), with the within-layer and cross-layer statistics of `blockStructure`.
 * Exact, with the block-mean |H| heatmap, when assembling the matrix costs no more products
 * than probing (P <= probes × blocks). Report section `blocks`.
 */
export const blocksAnalysis = defineAnalysis({
  name: 'blocks',
  description: 'Frobenius norms of the block pairs (per layer, tensor, output unit or class)',
  report: { blocks: BLOCKS_SECTION },
  onByDefault: false,
  options: z
    .object({
      /**
       * How the parameters are cut (default `'layer'`): one block per layer or per weight
       * tensor; per output unit of every Dense/Conv2D layer (`'unit'`: the class blocks of the
       * last layer and the neuron blocks of the others); or per output class with the earlier
       * layers whole (`'class'`).
       */
      layout: z
        .enum(BLOCK_LAYOUTS, { error: `'layer' | 'tensor' | 'unit' | 'class'` })
        .default('layer'),
      /** Gaussian probes per block, an integer >= 1 (default 4; >= 2 for standard errors). */
      probes: integer(1).default(4),
    })
    .strict(),
  needs: (options) =>
    options.layout === 'unit' || options.layout === 'class' ? { units: true } : {},
  check() {},
  cost(options, context) {
    const { layout } = blockOperator(options.layout, context);
    return Math.min(layout.dim, options.probes * layout.blocks.length);
  },
  async run(options, context, seed) {
    const { operator, layout } = blockOperator(options.layout, context);
    const blocks = await blockSection(operator, layout, options.probes, seed);
    return { sections: { blocks }, matvecs: blocks.matvecs ?? 0 };
  },
});

/** The operator and layout of a block cut; unit and class blocks need permuted coordinates. */
function blockOperator(
  kind: (typeof BLOCK_LAYOUTS)[number],
  context: AnalysisContext,
): { operator: LinearOperator; layout: ParameterLayout } {
  if (kind === 'tensor') return { operator: context.operator, layout: context.layout };
  if (kind === 'layer') {
    return { operator: context.operator, layout: context.layerLayout ?? context.layout };
  }
  // `needs` has made sure the context can cut by unit.
  return (context.unitCurvature as NonNullable<AnalysisContext['unitCurvature']>)(kind);
}

/**
 * The blocks section: exact norms from the assembled matrix when that costs no more products
 * than the randomized route (dim <= probes · blocks), else `blockNorms`; then the within- and
 * cross-layer statistics of `blockStructure`.
 */
async function blockSection(
  op: LinearOperator,
  layout: ParameterLayout,
  probes: number,
  seed: number,
): Promise<z.input<typeof BLOCKS_SECTION>> {
  if (layout.dim <= probes * layout.blocks.length) {
    const n = layout.dim;
    const a = symmetricPart(await denseMatrix(op, { maxDim: n }), n);
    const exact = exactBlockNorms(a, n, layout);
    const structure = blockStructure(exact);
    return {
      names: exact.names,
      frobeniusSq: exact.frobeniusSq,
      stderr: exact.frobeniusSq.map((row) => row.map(() => 0)),
      offDiagonalRatio: exact.offDiagonalRatio,
      matvecs: n,
      method: 'exact',
      withinLayer: { ...structure.withinLayer },
      crossLayer: { ...structure.crossLayer },
      meanAbs: blockMeanAbs(a, n, layout),
    };
  }
  const run = await blockNorms(op, layout, { probes, seed });
  const structure = blockStructure(run);
  return {
    names: run.names,
    frobeniusSq: run.frobeniusSq,
    stderr: run.stderr,
    offDiagonalRatio: run.offDiagonalRatio,
    matvecs: run.matvecs,
    method: 'randomized',
    withinLayer: { ...structure.withinLayer },
    crossLayer: { ...structure.crossLayer },
  };
}
