import * as z from 'zod';
import { type ClassAxis, classAxesLength, classBlockMass, classIndex } from '../class-blocks.js';
import { OptionError } from '../errors.js';
import { count, nonNegative, number, record, text, uniquelyNamed } from '../report/fields.js';
import type { ReportSection } from '../report/schema.js';
import type { AnalysisContext } from './context.js';
import { integer } from './options.js';
import { defineAnalysis } from './types.js';

/** The report's `classBlocks` section. */
export const CLASS_BLOCKS_SECTION = record({
  classes: count(1).describe('Classes C: the length of every class block along its axis.'),
  blocks: uniquelyNamed(record({ name: text(), axis: count(0) })).describe(
    'The parameter blocks cut into classes, each with the axis of its shape that runs over them.',
  ),
  total: nonNegative().describe('T = ‖P A P‖²_F over the class parameters P (an estimate).'),
  totalStderr: nonNegative().describe('Standard error of total.'),
  within: number().describe('D = Σ_c ‖A_cc‖²_F, the within-class blocks (unbiased estimate).'),
  withinStderr: nonNegative().describe('Standard error of within.'),
  crossRatio: number().describe('(T − D) / D: cross-class mass over within-class mass.'),
  crossRatioStderr: nonNegative().describe('Delta-method standard error of crossRatio.'),
  probes: count(2).describe('Gaussian probes (two products each).'),
  matvecs: count().describe('Matrix-vector products spent: 2 · probes.'),
});

/** The report's `classBlocks` section, as checked reports carry it. */
export type ReportClassBlocks = ReportSection<'classBlocks'>;

const BLOCK_OPTION = z
  .object({
    /** The block's name in the layout (an initializer of an ONNX model, a tfjs weight). */
    name: z.string({ error: 'a string' }).min(1, { error: 'a non-empty string' }),
    /**
     * The axis of its shape that runs over the classes. Default: 0 for a 1-D block, else the
     * one axis with as many entries as the output layer has classes.
     */
    axis: integer(0).optional(),
  })
  .strict();

/**
 * Class-block structure of the curvature when the classes are many (a language model's
 * vocabulary): how much of ‖A‖²_F over the parameters of the classes lies in the diagonal
 * blocks A_cc rather than in the cross-class blocks, by randomized class-block probing
 * (`classBlockMass`: two products per probe whatever C is, where exact block norms cost C).
 * Class c of a block is index c along its class axis. Default blocks: the output layer (its
 * weight and bias), as the context knows it (the ONNX adapter finds it in the graph); for a
 * tfjs model, the last weight whose last axis has C entries (C = the model's output classes)
 * with the bias of C entries that follows it. Report section `classBlocks`.
 */
export const classBlocksAnalysis = defineAnalysis({
  name: 'classBlocks',
  description: 'within- vs cross-class Frobenius mass by output class (randomized, any C)',
  report: { classBlocks: CLASS_BLOCKS_SECTION },
  onByDefault: false,
  options: z
    .object({
      /**
       * The parameter blocks whose slices are the classes, each `{ name, axis? }` (default:
       * the output layer's weight and bias, when the context can tell them).
       */
      blocks: z
        .array(BLOCK_OPTION, { error: 'an array of { name, axis? }' })
        .min(1, { error: 'a non-empty array of { name, axis? }' })
        .optional(),
      /** Gaussian probes, an integer >= 2 (default 32); each costs two products. */
      probes: integer(2).default(32),
    })
    .strict(),
  check(options, context) {
    classAxes(options.blocks, context);
  },
  cost: (options) => 2 * options.probes,
  async run(options, context, seed) {
    const { blocks, classes } = classAxes(options.blocks, context);
    const classOf = classIndex(context.layout, blocks, where(context));
    const mass = await classBlockMass(context.operator, {
      classOf,
      probes: options.probes,
      seed,
    });
    return {
      sections: {
        classBlocks: {
          classes,
          blocks: blocks.map(({ name, axis }) => ({ name, axis })),
          total: mass.total.estimate,
          totalStderr: mass.total.stderr,
          within: mass.within.estimate,
          withinStderr: mass.within.stderr,
          crossRatio: mass.crossRatio.estimate,
          crossRatioStderr: mass.crossRatio.stderr,
          probes: options.probes,
          matvecs: mass.matvecs,
        },
      },
      matvecs: mass.matvecs,
    };
  },
});

function where(context: AnalysisContext): string {
  return `${context.where} (analyses.classBlocks)`;
}

/**
 * The class blocks with their axes, and C: the named blocks (axes filled in), else the output
 * layer's.
 *
 * @throws {@link OptionError} when no block is named and the output layer is unknown, or as
 *   `classAxesLength`.
 */
function classAxes(
  named: readonly { readonly name: string; readonly axis?: number | undefined }[] | undefined,
  context: AnalysisContext,
): { blocks: ClassAxis[]; classes: number } {
  const at = where(context);
  const output =
    named === undefined || named.some((b) => b.axis === undefined)
      ? outputLayerOf(context)
      : undefined;
  let blocks: ClassAxis[];
  if (named === undefined) {
    if (output === undefined) {
      throw new OptionError(
        `${at}: cannot tell the output layer of this model; name its blocks in analyses.classBlocks.blocks ([{ name, axis }])`,
      );
    }
    blocks = [...output];
  } else {
    const outputClasses =
      output === undefined ? undefined : classAxesLength(context.layout, output, at);
    blocks = named.map(({ name, axis }) => ({
      name,
      axis: axis ?? classAxisOf(context, name, outputClasses),
    }));
  }
  return { blocks, classes: classAxesLength(context.layout, blocks, at) };
}

/** The class axis of block `name` when none is given: 0 if 1-D, else the one axis of C entries. */
function classAxisOf(context: AnalysisContext, name: string, classes: number | undefined): number {
  const block = context.layout.blocks.find((b) => b.name === name);
  // An unknown name is refused by classAxesLength, with the layout's names.
  const shape = block?.shape ?? [block?.size ?? 0];
  if (shape.length === 1) return 0;
  const axes = shape.flatMap((d, axis) => (d === classes ? [axis] : []));
  if (axes.length !== 1) {
    throw new OptionError(
      `${where(context)}: expected the axis of class block '${name}' (shape [${shape}]) in analyses.classBlocks.blocks, got none (${
        classes === undefined
          ? 'the output layer, whose class count would tell it, is unknown'
          : `${axes.length} axes have the output layer's ${classes} entries`
      })`,
    );
  }
  return axes[0];
}

/**
 * The output layer with its class axes: the context's own answer, else for a tfjs model
 * (kernels [fan-in…, units], then the bias) the last block whose last axis has the model's C
 * entries and the 1-D block of C entries right after it.
 */
function outputLayerOf(context: AnalysisContext): readonly ClassAxis[] | undefined {
  if (context.outputLayer !== undefined) return context.outputLayer();
  const model = context.model;
  if (model === undefined) return undefined;
  const c = model.outputClasses;
  const { blocks } = context.layout;
  for (let i = blocks.length - 1; i >= 0; i--) {
    const shape = blocks[i].shape ?? [blocks[i].size];
    if (shape.length < 2 || shape[shape.length - 1] !== c) continue;
    const next = blocks[i + 1];
    const bias = next !== undefined && (next.shape ?? [next.size]).length === 1 && next.size === c;
    return [
      { name: blocks[i].name, axis: shape.length - 1 },
      ...(bias ? [{ name: next.name, axis: 0 }] : []),
    ];
  }
  return undefined;
}
