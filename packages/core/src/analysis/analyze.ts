import { DimensionError, NonFiniteLossError, OptionError } from '../errors.js';
import { createLayout, type ParameterLayout } from '../layout.js';
import type { LinearOperator } from '../operator.js';
import { checkInteger } from '../options.js';
import { normalizeReport } from '../report/codec.js';
import type { CurvatureKind } from '../report/fields.js';
import { type CurvatureReport, REPORT_SCHEMA_VERSION } from '../report/schema.js';
import type { AnalysisContext } from './context.js';
import { describeValue, parseOptions } from './options.js';
import {
  ANALYSES,
  type AnalysisName,
  type AnalysisRequest,
  type ReportSections,
  type ReportSectionsInput,
} from './registry.js';
import { analysisSeeds } from './seeds.js';
import type { Analysis } from './types.js';

/** Options of {@link prepareAnalyses} and {@link analyzeOperator}. */
export interface AnalyzeOptions {
  /** Which analyses to run and how (default: `eigen` and `trace` with their defaults). */
  readonly analyses?: AnalysisRequest;
  /** Seed of every random vector, a safe integer (default 0); each analysis derives its own. */
  readonly seed?: number;
  /** Clock in seconds (default `performance.now() / 1000`), injectable for tests. */
  readonly now?: () => number;
  /** Told when each analysis starts and ends (e.g. for a progress line); must not throw. */
  readonly onProgress?: (event: AnalysisProgress) => void;
}

/** One step of a run, for {@link AnalyzeOptions.onProgress}. */
export interface AnalysisProgress {
  /** The analysis's name. */
  readonly analysis: string;
  /** Its position in the run (0-based) and the run's length. */
  readonly index: number;
  readonly count: number;
  readonly phase: 'start' | 'end';
  /** At the start: the most products it may take (its `cost`). */
  readonly cost?: number;
  /** At the end: the products and seconds it took. */
  readonly matvecs?: number;
  readonly seconds?: number;
}

/** Where and when a report was made: the fields of a report that are not analyses. */
export interface ReportMeta {
  /** The model's name. */
  readonly name: string;
  /** Epochs completed (default 0). */
  readonly epoch?: number;
  /** Optimizer steps completed in this fit() (default 0). */
  readonly step?: number;
  /** Batch within the epoch, for an analysis triggered at a batch end. */
  readonly batch?: number;
  /** Seconds of training before the analysis. */
  readonly wallSeconds?: number;
  /** ISO 8601 start time (default: now). */
  readonly timestamp?: string;
  /**
   * Fields an adapter records besides the analyses (e.g. the ONNX conversion check), written
   * into the report as they are and kept by every reader.
   */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** What a report says besides its metadata: the model's coordinates, the probe, the sections. */
export interface ReportBody {
  readonly kind: CurvatureKind;
  readonly layout: ParameterLayout;
  readonly probeSize: number;
  readonly seed: number;
  readonly loss: number;
  readonly sections: ReportSectionsInput;
  readonly matvecs: number;
  readonly seconds: number;
}

/**
 * The one place a {@link CurvatureReport} is put together (and checked, by `normalizeReport`):
 * from the analyses' sections and the report's metadata.
 *
 * @example
 * ```ts
 * const { matvecs, seconds, ...sections } = await analyzeOperator(operator, layout);
 * const report = assembleReport(
 *   { kind: 'hessian', layout, probeSize: 64, seed: 0, loss: 0.3, sections, matvecs, seconds },
 *   { name: 'mlp' },
 * );
 * ```
 */
export function assembleReport(body: ReportBody, meta: ReportMeta): CurvatureReport {
  return normalizeReport({
    ...meta.extra,
    schemaVersion: REPORT_SCHEMA_VERSION,
    epoch: meta.epoch ?? 0,
    step: meta.step ?? 0,
    ...(meta.batch === undefined ? {} : { batch: meta.batch }),
    timestamp: meta.timestamp ?? new Date().toISOString(),
    ...(meta.wallSeconds === undefined ? {} : { wallSeconds: meta.wallSeconds }),
    kind: body.kind,
    model: { name: meta.name, parameterCount: body.layout.dim, layout: body.layout },
    probe: { size: body.probeSize, seed: body.seed },
    loss: body.loss,
    ...body.sections,
    seconds: body.seconds,
    matvecs: body.matvecs,
  });
}

/** Analyses checked against a context and ready to run: their cost is known before any work. */
export interface PreparedAnalyses {
  /** The analyses that will run, in order, with their parsed options and seeds. */
  readonly plan: readonly {
    readonly analysis: Analysis;
    readonly options: Record<string, unknown>;
    readonly seed: number;
  }[];
  /**
   * Upper bound of the products the analyses will spend: the sum of their `cost`, plus what
   * the context spends once before its first product (`pendingCost`, the tfjs self-check).
   */
  readonly cost: number;
  readonly seed: number;
}

/** A parsed request: the analyses that will run, in order, with their options and seeds. */
export type AnalysisPlan = PreparedAnalyses['plan'];

/**
 * Parses a request without a model: every option through its analysis's schema (defaults
 * filled in), unknown analyses and options refused. The callback calls it at construction.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} naming the first bad option
 *   ("analyses.eigen.k: …").
 *
 * @example
 * ```ts
 * const plan = parseAnalysisRequest({ density: true }, 0, 'hessianCallback');
 * plan.map((p) => p.analysis.name); // ['eigen', 'trace', 'density']
 * ```
 */
export function parseAnalysisRequest(
  analyses: AnalysisRequest | undefined = {},
  seed: number,
  where: string,
): AnalysisPlan {
  if (typeof analyses !== 'object' || analyses === null || Array.isArray(analyses)) {
    throw new OptionError(
      `${where}: expected analyses to be an object, got ${describeValue(analyses)}`,
    );
  }
  const names = ANALYSES.map((a) => a.name as string);
  for (const key of Object.keys(analyses)) {
    if (!names.includes(key)) {
      throw new OptionError(
        `${where}: expected analyses among ${names.map((n) => `'${n}'`).join(', ')}, got '${key}'`,
      );
    }
  }
  const seeds = analysisSeeds(seed, where);
  const plan: AnalysisPlan[number][] = [];
  for (const analysis of ANALYSES as readonly Analysis[]) {
    const name = analysis.name as AnalysisName;
    const value = (analyses as Record<string, unknown>)[name] ?? analysis.onByDefault;
    if (value === false) continue;
    if (value !== true && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new OptionError(
        `${where}: expected analyses.${name} to be a boolean or an options object, got ${describeValue(value)}`,
      );
    }
    const parsed = parseOptions(
      analysis.options,
      value === true ? {} : value,
      where,
      `analyses.${name}`,
    );
    plan.push({ analysis, options: parsed, seed: seeds[name] });
  }
  return plan;
}

/** What is known of a model when a plan is checked against it (see {@link checkNeeds}). */
export interface KnownModel {
  readonly where: string;
  readonly kind: CurvatureKind;
  /** The resolved loss, when known. */
  readonly lossName?: string;
  /** Whether the model itself, a Gauss–Newton operator and unit cuts are available (when known). */
  readonly model?: boolean;
  readonly gaussNewton?: boolean;
  readonly units?: boolean;
}

/**
 * Checks what each analysis of a plan `needs` against what is known of the model; members of
 * `known` left undefined are not checked (the callback checks kind and loss at construction,
 * before fit() hands it the model).
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} naming the analysis and what it
 *   needs.
 */
export function checkNeeds(plan: AnalysisPlan, known: KnownModel): void {
  const { where } = known;
  for (const { analysis, options } of plan) {
    const needs = analysis.needs?.(options) ?? {};
    const name = `analyses.${analysis.name}`;
    if (needs.kind !== undefined && known.kind !== needs.kind) {
      throw new OptionError(
        `${where}: expected kind '${needs.kind}' with ${name} (it compares or factors the Hessian), got kind '${known.kind}'`,
      );
    }
    if (needs.loss !== undefined && known.lossName !== undefined && known.lossName !== needs.loss) {
      throw new OptionError(
        `${where}: expected a ${needs.loss} loss with ${name}, got '${known.lossName}'`,
      );
    }
    if (needs.model && known.model === false) {
      throw new OptionError(
        `${where}: ${name} works on the layers of a tfjs model, which ${where} does not have`,
      );
    }
    if (needs.gaussNewton && known.gaussNewton === false) {
      throw new OptionError(
        `${where}: ${name} needs the Gauss–Newton operator, which ${where} does not provide`,
      );
    }
    if (needs.units && known.units === false) {
      throw new OptionError(
        `${where}: ${name} needs the curvature cut by output unit or class, which ${where} cannot provide`,
      );
    }
  }
}

/**
 * Parses and checks a request against a context, before any work: every option through its
 * analysis's schema ({@link parseAnalysisRequest}), what each analysis needs
 * ({@link checkNeeds}), then its own checks against the context's sizes. Returns the plan and
 * its cost in products.
 *
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} naming the first bad option
 *   ("analyses.eigen.k: …").
 *
 * @example
 * ```ts
 * const context = tfjsContext(model, { tf, x, y });
 * const prepared = prepareAnalyses(context, { analyses: { density: true } });
 * console.log(`at most ${prepared.cost} products`);
 * ```
 */
export function prepareAnalyses(
  context: AnalysisContext,
  options: AnalyzeOptions = {},
): PreparedAnalyses {
  const seed = options.seed ?? 0;
  const plan = parseAnalysisRequest(options.analyses, seed, context.where);
  const model = context.model;
  checkNeeds(plan, {
    where: context.where,
    kind: context.kind,
    model: model !== undefined,
    gaussNewton: context.gaussNewton !== undefined,
    units: context.unitCurvature !== undefined,
    ...(plan.some((p) => p.analysis.needs?.(p.options).loss) && model
      ? { lossName: model.lossName }
      : {}),
  });
  for (const { analysis, options: parsed } of plan) analysis.check(parsed, context);
  const cost = plan.reduce(
    (sum, p) => sum + p.analysis.cost(p.options, context),
    context.pendingCost?.() ?? 0,
  );
  return { plan, cost, seed };
}

/** What `runAnalyses` found: the analysis sections, with what they cost. */
export interface AnalysesResult extends ReportSections {
  /** Matrix-vector products of the whole run. */
  readonly matvecs: number;
  /** Wall-clock seconds of the whole run. */
  readonly seconds: number;
}

/**
 * Runs prepared analyses in order and returns their sections.
 *
 * @throws {@link MatvecError} from the analysis that met an unusable product.
 */
export async function runAnalyses(
  prepared: PreparedAnalyses,
  context: AnalysisContext,
  options: Pick<AnalyzeOptions, 'now' | 'onProgress'> = {},
): Promise<AnalysesResult> {
  const { now = defaultNow, onProgress } = options;
  const started = now();
  const sections: ReportSectionsInput = {};
  let matvecs = 0;
  const count = prepared.plan.length;
  for (const [index, { analysis, options: parsed, seed }] of prepared.plan.entries()) {
    const name = analysis.name;
    onProgress?.({
      analysis: name,
      index,
      count,
      phase: 'start',
      cost: analysis.cost(parsed, context),
    });
    const begun = now();
    const output = await analysis.run(parsed, context, seed);
    Object.assign(sections, output.sections);
    matvecs += output.matvecs;
    const seconds = Math.max(0, now() - begun);
    onProgress?.({ analysis: name, index, count, phase: 'end', matvecs: output.matvecs, seconds });
  }
  // The analyses hand over plain arrays: their sections already have the output shape.
  return { ...(sections as ReportSections), matvecs, seconds: Math.max(0, now() - started) };
}

/**
 * The one producer of {@link CurvatureReport}s (docs/design.md): prepares the request against the
 * context (every option checked before any work), takes the loss on the probe set (a
 * {@link NonFiniteLossError} when it is NaN or infinite, before any product), runs the analyses
 * and assembles the report. `analyzeModel` (tfjs) and the ONNX command call it.
 *
 * @example
 * ```ts
 * const context = tfjsContext(model, { tf, x, y });
 * const report = await analyze(context, { analyses: { eigen: { k: 5 } }, seed: 1 }, { name: 'mlp' });
 * ```
 */
export async function analyze(
  context: AnalysisContext,
  options: AnalyzeOptions,
  meta: ReportMeta,
): Promise<CurvatureReport> {
  const prepared = prepareAnalyses(context, options);
  return reportOf(prepared, context, meta, options);
}

/** Runs prepared analyses on a context and assembles the report (see {@link analyze}). */
export async function reportOf(
  prepared: PreparedAnalyses,
  context: AnalysisContext,
  meta: ReportMeta,
  options: Pick<AnalyzeOptions, 'now' | 'onProgress'> = {},
): Promise<CurvatureReport> {
  const { now = defaultNow } = options;
  const started = now();
  const timestamp = meta.timestamp ?? new Date().toISOString();
  const loss = await context.lossValue();
  if (!Number.isFinite(loss)) {
    throw new NonFiniteLossError(
      `${context.where}: the loss on the probe set is ${loss}: no curvature analysis of diverged weights`,
      loss,
    );
  }
  const { matvecs, seconds: _, ...sections } = await runAnalyses(prepared, context, options);
  return assembleReport(
    {
      kind: context.kind,
      layout: context.layout,
      probeSize: context.probeSize,
      seed: prepared.seed,
      loss,
      sections,
      matvecs,
      seconds: Math.max(0, now() - started),
    },
    { ...meta, timestamp },
  );
}

/** Options of {@link analyzeOperator}: the request, and what the bare operator comes with. */
export interface AnalyzeOperatorOptions extends AnalyzeOptions {
  /**
   * Layer blocks over the operator's coordinates (e.g. pairs of tensor blocks), for the
   * `'layer'` cut of `blocks` and for `layers`. Default: the layout's own blocks.
   */
  readonly layerLayout?: ParameterLayout;
  /**
   * The Gauss–Newton operator over the same coordinates, for `layers.gaussNewtonGap` (the
   * operator is then taken to be the Hessian).
   */
  readonly gaussNewton?: LinearOperator;
}

/**
 * The analyses of a request on a bare symmetric operator and its layout, as report sections:
 * for users of the numerics alone (no model, so `kronecker` and `classes` are refused, and
 * `blocks` cuts only by tensor or layer).
 *
 * @throws {@link OptionError}, {@link DimensionError} or {@link LayoutError} for bad options or
 *   layouts, before the first product.
 *
 * @example
 * ```ts
 * const operator = denseOperator(Float64Array.of(2, 1, 0, 1, 3, 1, 0, 1, 4), 3);
 * const layout = layoutFromSizes([{ name: 'w', size: 3 }]);
 * const { eigen, density } = await analyzeOperator(operator, layout, {
 *   analyses: { density: true },
 * });
 * ```
 */
export async function analyzeOperator(
  operator: LinearOperator,
  layout: ParameterLayout,
  options: AnalyzeOperatorOptions = {},
): Promise<AnalysesResult> {
  const where = 'analyzeOperator';
  checkInteger(where, 'operator.dim', operator?.dim, 1);
  checkLayoutOf(where, 'layout', layout, operator.dim);
  const { layerLayout, gaussNewton } = options;
  if (layerLayout !== undefined) checkLayoutOf(where, 'layerLayout', layerLayout, operator.dim);
  if (gaussNewton !== undefined && gaussNewton?.dim !== operator.dim) {
    throw new DimensionError(
      `${where}: expected gaussNewton to be an operator of dimension ${operator.dim} (the operator's), got ${gaussNewton?.dim}`,
    );
  }
  const context: AnalysisContext = {
    where,
    kind: 'hessian',
    operator,
    layout,
    ...(layerLayout === undefined ? {} : { layerLayout }),
    ...(gaussNewton === undefined ? {} : { gaussNewton: () => gaussNewton }),
    probeSize: 0,
    lossValue: async () => Number.NaN,
  };
  const prepared = prepareAnalyses(context, options);
  return runAnalyses(prepared, context, options);
}

/** Checks that `layout` is a layout that tiles [0, dim). */
function checkLayoutOf(where: string, name: string, layout: ParameterLayout, dim: number): void {
  if (typeof layout !== 'object' || layout === null || !Array.isArray(layout.blocks)) {
    throw new OptionError(
      `${where}: expected ${name} to be a ParameterLayout, got ${describeValue(layout)}`,
    );
  }
  if (layout.dim !== dim) {
    throw new DimensionError(
      `${where}: expected ${name} of dimension ${dim} (the operator's), got ${layout.dim}`,
    );
  }
  createLayout(layout.blocks, layout.dim);
}

function defaultNow(): number {
  return performance.now() / 1000;
}
