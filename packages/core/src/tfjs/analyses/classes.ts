import * as z from 'zod';
import { flag, integer } from '../../analysis/options.js';
import { defineAnalysis } from '../../analysis/types.js';
import { OptionError } from '../../errors.js';
import { count, nonNegative, number, numbers, ratio, record } from '../../report/fields.js';
import { type ClassHierarchyModel, classHierarchy } from '../class-hierarchy.js';
import { classesSection } from '../report-sections.js';
import { access } from './kronecker.js';

/** The eigensolver budget of the class hierarchy for C classes: max(100, 2·(C + 1)). */
function defaultMatvecs(classes: number): number {
  return Math.max(100, 2 * (classes + 1));
}

/** The report's `classes` section (Papyan's hierarchy of G). */
export const CLASSES_SECTION = record({
  classes: count(2).describe('Number of classes C.'),
  trace: number().describe('tr G (exact or a Hutchinson estimate).'),
  traceStderr: nonNegative().describe('Its standard error (0 when exact).'),
  traceFractions: record({ g0: number(), g1: number(), g2: number(), g3: number() }).describe(
    'tr(G_k)/tr(G) for the levels G₀, G₁ (class means), G₂ (pairs), G₃ (within).',
  ),
  classMeanOverlap: ratio().describe("Overlap of span{δ_c} with G's top eigenspace."),
  classMeanOverlapHessian: ratio().optional().describe("The same with H's top eigenspace."),
  overlapK: count().describe('Dimension k of the compared subspaces.'),
  level1Values: numbers().describe('Non-zero eigenvalues of G₁, descending.'),
  level2Values: numbers().describe('Largest eigenvalues of G₂, descending.'),
  gaussNewtonValues: numbers().describe('Top eigenvalues of G, descending.'),
  hessianValues: numbers().optional().describe('Top eigenvalues of H, descending.'),
  eigengaps: z
    .array(record({ position: count(1), ratio: number() }), { error: 'an array' })
    .describe("λ_k/λ_{k+1} of G's top eigenvalues at C − 1, C (and C²)."),
  matvecs: count().describe('Products spent: vector-Jacobian, Gauss–Newton and Hessian.'),
});

/**
 * Papyan's three-level class hierarchy of the Gauss–Newton matrix (Papyan 2019, arXiv
 * 1901.08244; `classHierarchy`): trace fractions of the levels, class-mean overlaps with G's
 * and H's top eigenspaces, level spectra and eigengaps. Needs a tfjs model trained with softmax
 * cross-entropy, and every class present in the probe labels. Report section `classes`.
 */
export const classesAnalysis = defineAnalysis({
  name: 'classes',
  description: "Papyan's class hierarchy of the Gauss–Newton matrix (tfjs, cross-entropy)",
  report: { classes: CLASSES_SECTION },
  onByDefault: false,
  options: z
    .object({
      /**
       * Rademacher probes of the tr G estimate, 0 (exact: N·C single-sample products) or an
       * integer >= 2 (default 4).
       */
      traceProbes: integer(0)
        .refine((k) => k !== 1, { error: 'an integer >= 2, or 0 (exact)' })
        .default(4),
      /** Also the Hessian's top eigenspace and its overlap with the class means (default true). */
      hessian: flag().default(true),
      /**
       * Products each eigensolve (G's top C + 1, H's top C) may spend, an integer >= C + 1
       * (default max(100, 2·(C + 1)), C the output classes).
       */
      maxMatvecs: integer(1).optional(),
    })
    .strict(),
  needs: () => ({ loss: 'softmaxCrossEntropy', model: true }),
  check(options, context) {
    const c = access(context).outputClasses;
    if (options.maxMatvecs !== undefined && options.maxMatvecs < c + 1) {
      throw new OptionError(
        `${context.where}: expected analyses.classes.maxMatvecs to be >= C + 1 (${c + 1}), got ${options.maxMatvecs}`,
      );
    }
  },
  cost(options, context) {
    const { outputClasses: c } = access(context);
    const budget = options.maxMatvecs ?? defaultMatvecs(c);
    // C² class-mean products over the class subsets cost about C full-batch ones; the exact
    // trace's N·C single-sample products are counted one each (an over-estimate).
    const trace = options.traceProbes === 0 ? context.probeSize * c : options.traceProbes;
    return c + trace + budget * (options.hessian ? 2 : 1);
  },
  async run(options, context, seed) {
    const model = access(context);
    const { traceProbes, hessian, maxMatvecs } = options;
    const hierarchy = await classHierarchy(model.model as ClassHierarchyModel, {
      tf: model.tf,
      x: model.x,
      y: model.y,
      hessian,
      maxMatvecs: maxMatvecs ?? defaultMatvecs(model.outputClasses),
      ...(traceProbes === 0 ? {} : { traceProbes }),
      seed,
      selfCheck: model.selfCheck,
      ...(model.batchSize === undefined ? {} : { batchSize: model.batchSize }),
    });
    const classes = classesSection(hierarchy);
    return { sections: { classes }, matvecs: classes.matvecs };
  },
});
