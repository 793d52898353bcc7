/**
 * Prometheus metrics of curvature reports, on prom-client. Each report is checked and stored as
 * a snapshot when it is recorded; gauges are set from that snapshot in their `collect()` hooks at
 * scrape time, so a scrape never runs numerics and always sees one consistent report.
 */
import {
  type CurvatureReport,
  type CurvatureReportInput,
  normalizeReport,
  OptionError,
} from '@hessian-probe/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Labels put on every series of {@link curvatureMetrics}, to tell models and runs apart. */
export interface CurvatureMetricsLabels {
  /** Value of the `model` label, e.g. `'mnist-mlp'`. Default: no `model` label. */
  model?: string;
  /** Value of the `run` label, e.g. a run id. Default: no `run` label. */
  run?: string;
}

/** Options of {@link curvatureMetrics}. */
export interface CurvatureMetricsOptions {
  /**
   * The prom-client registry to register into. Default: a new private `Registry`, so nothing
   * lands in prom-client's global registry. Its default labels are never changed.
   */
  registry?: Registry;
  /** Prefix of every metric name. Default `'hessian_'`. */
  prefix?: string;
  /** Constant `model` and `run` labels on every series. Default: none. */
  defaultLabels?: CurvatureMetricsLabels;
  /**
   * Most distinct `layer` label values ever exported (an integer >= 0). Default 50. The first
   * layers seen keep their label; values of other layers are dropped and counted in
   * `<prefix>layer_labels_dropped_total`.
   */
  maxLayers?: number;
  /**
   * Upper bounds of the analysis duration histogram, in seconds, increasing. Default
   * `[0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]`.
   */
  durationBuckets?: readonly number[];
}

/** The metrics of {@link curvatureMetrics} and the functions that feed them. */
export interface CurvatureMetrics {
  /** The registry holding the metrics: serve it ({@link serveMetrics}) or push it. */
  readonly registry: Registry;
  /**
   * Checks `report`, stores it as the snapshot that gauges show from the next scrape on, and
   * counts it: the duration histogram, the HVP total, dropped layer labels. A section missing
   * from `report` (its analysis did not run this time) keeps the values of the last report that
   * had it; `<prefix>last_report_*` tell when the latest report was made.
   *
   * With `context.learningRate` (the optimizer's learning rate η when the report was made), also
   * sets `<prefix>learning_rate` and the edge-of-stability threshold 2/η
   * (`<prefix>edge_of_stability_threshold`); without it they keep the value of the last report
   * that had one.
   *
   * @throws ReportFormatError (from core) for a malformed report, OptionError (from core) for a
   * `context` that is not an object with at most a `learningRate`, a finite number > 0; nothing
   * is recorded then.
   */
  record(report: CurvatureReportInput, context?: CurvatureRecordContext): void;
  /** Counts one analysis that failed (`<prefix>analyses_failed_total`). */
  recordFailure(): void;
  /**
   * Counts one analysis that was scheduled but not run, by reason (`<prefix>analyses_skipped_total`),
   * e.g. `'budget'` or `'non_finite_loss'`. At most {@link MAX_SKIP_REASONS} distinct reasons
   * are labelled; later new ones are counted under `'other'`.
   *
   * @throws OptionError (from core) when `reason` is not a non-empty string.
   */
  recordSkipped(reason: string): void;
  /**
   * Counts one report that a sink did not take: it threw, rejected or timed out
   * (`<prefix>sink_errors_total{sink}`), e.g. `'metrics'`, `'jsonl'`, `'onReport'`. At most
   * {@link MAX_SINK_LABELS} distinct sinks are labelled; later new ones are counted under
   * `'other'`.
   *
   * @throws OptionError (from core) when `sink` is not a non-empty string.
   */
  recordSinkError(sink: string): void;
}

/** What {@link CurvatureMetrics.record} may know besides the report. */
export interface CurvatureRecordContext {
  /**
   * The optimizer's learning rate η when the report was made, a finite number > 0. Sets
   * `<prefix>learning_rate` and `<prefix>edge_of_stability_threshold` = 2/η: the value at which
   * full-batch gradient descent stops being stable along the top eigenvector, and around which
   * its λmax hovers once training reaches the edge of stability (Cohen, Kaur, Li, Kolter &
   * Talwalkar 2021). It is the threshold of plain gradient descent: with heavy-ball momentum β
   * it is (2 + 2β)/η, and adaptive optimizers (Adam, RMSProp) are bounded in their
   * preconditioned curvature instead, so compare λmax with it only under (S)GD.
   */
  learningRate?: number;
}

/** Distinct `reason` label values of the skipped counter; more are counted as `'other'`. */
export const MAX_SKIP_REASONS = 16;

/** Distinct `sink` label values of the sink error counter; more are counted as `'other'`. */
export const MAX_SINK_LABELS = 16;

const DEFAULT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const KNOWN_OPTIONS = ['registry', 'prefix', 'defaultLabels', 'maxLayers', 'durationBuckets'];
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const WHERE = 'curvatureMetrics';

/** The latest value of each report section. */
interface Snapshot {
  report?: CurvatureReport;
  eigen?: CurvatureReport['eigen'];
  trace?: CurvatureReport['trace'];
  density?: CurvatureReport['density'];
  blocks?: CurvatureReport['blocks'];
  /** The layers of the latest report that had any, restricted to the admitted labels. */
  layers?: CurvatureReport['layers'];
  /** The Kronecker layers of the latest report that had any, admitted labels only. */
  kronecker?: CurvatureReport['kronecker'];
  classes?: CurvatureReport['classes'];
  gaussNewtonGap?: CurvatureReport['gaussNewtonGap'];
  /** The learning rate of the latest record() call that had one. */
  learningRate?: number | undefined;
}

type Labels = Record<string, string>;
type Emit = (labels: Labels, value: number) => void;

const rank = (index: number): Labels => ({ rank: String(index + 1) });

/**
 * Prometheus metrics for curvature reports (prom-client 15). Names follow the Prometheus naming
 * guide: base units with their suffix (`_seconds`), `_total` for counters, `_ratio` only for
 * shares in [0, 1], `A_to_B` for a quotient that can exceed 1. Eigenvalues, traces and the
 * threshold 2/η are in eigenvalue units (loss per squared parameter unit), which have no base
 * unit and no suffix. With the default prefix:
 *
 * | metric | type | labels | value |
 * | --- | --- | --- | --- |
 * | `hessian_eigenvalue` | gauge | `rank` (`"1"` = largest) | top eigenvalues |
 * | `hessian_eigenvalue_residual` | gauge | `rank` | residual norm ‖Hv − λv‖ of each |
 * | `hessian_eigenvalues_converged` | gauge | | 1 if every pair converged, else 0 |
 * | `hessian_trace`, `hessian_trace_stderr` | gauge | | trace estimate and its standard error |
 * | `hessian_density_negative_eigenvalue_ratio` | gauge | | estimated share of the eigenvalues below the negative cutoff −σ_G (SLQ density; a share of their number, not of their magnitude) |
 * | `hessian_density_negative_cutoff` | gauge | | that cutoff −σ_G = −√(1e-5 · max(1, λmax − λmin)), when the report has it |
 * | `hessian_density_lambda_min`, `_max` | gauge | | extreme Ritz values of the density |
 * | `hessian_block_off_diagonal_ratio` | gauge | | off-diagonal share Σ_{i≠j}‖H_ij‖²_F / Σ_{i,j}‖H_ij‖²_F |
 * | `hessian_block_off_diagonal_to_diagonal_frobenius_sq` | gauge | `pairs` (`within_layer`, `cross_layer`) | Σ‖H_ij‖²_F over those off-diagonal pairs / Σ‖H_ii‖²_F (can exceed 1) |
 * | `hessian_kronecker_relative_error` | gauge | `layer` | ‖H_L − E[M] ⊗ E[x̃x̃ᵀ]‖_F / ‖H_L‖_F |
 * | `hessian_class_mean_overlap_ratio` | gauge | | ‖UᵀV‖²_F / k: the class means' span against the GGN's top eigenspace |
 * | `hessian_class_trace_ratio` | gauge | `level` (`g0`…`g3`) | tr(G_level) / tr(G), Papyan's hierarchy |
 * | `hessian_layer_lambda_max`, `hessian_layer_trace` | gauge | `layer` | λmax and trace of each layer's diagonal block |
 * | `hessian_layer_negative_eigenvalue_ratio` | gauge | `layer` | share of the block's eigenvalues below −σ_G of that block |
 * | `hessian_layer_effective_rank`, `hessian_layer_gauss_newton_gap` | gauge | `layer` | per-layer effective rank and ‖H_ll − G_ll‖_F/‖G_ll‖_F (when the report has them) |
 * | `hessian_gauss_newton_gap` | gauge | | ‖H − G‖_F/‖G‖_F of the whole matrix |
 * | `hessian_loss` | gauge | | loss on the probe set |
 * | `hessian_model_parameters` | gauge | | parameter count |
 * | `hessian_learning_rate` | gauge | | the learning rate η passed to `record()` |
 * | `hessian_edge_of_stability_threshold` | gauge | | 2/η, where gradient descent's λmax settles at the edge of stability |
 * | `hessian_last_report_epoch`, `_step`, `_timestamp_seconds` | gauge | | when the last report was made |
 * | `hessian_analysis_duration_seconds` | histogram | | wall time per analysis |
 * | `hessian_matvecs_total` | counter | | curvature matrix-vector products spent |
 * | `hessian_analyses_failed_total` | counter | | analyses that threw |
 * | `hessian_analyses_skipped_total` | counter | `reason` | analyses not run |
 * | `hessian_sink_errors_total` | counter | `sink` | reports a sink did not take (threw, rejected, timed out) |
 * | `hessian_layer_labels_dropped_total` | counter | | per-layer values over `maxLayers` |
 *
 * NaN and ±Infinity are exported as they are (Prometheus stores them): an undefined estimate
 * (a standard error from one probe, an off-diagonal ratio of a zero matrix) reads NaN, which is
 * distinct from a missing series (that analysis never ran). Gauges appear once a report has the
 * section; unlabelled counters start at 0, labelled ones appear with their first increment.
 * Alert rules, a Grafana dashboard and a scrape config for these names are in
 * `packages/tfjs-callback/ops/`.
 *
 * @throws OptionError for a bad option, or when the registry already has one of these names
 * (pass another `prefix` or registry).
 *
 * @example
 * ```ts
 * const metrics = curvatureMetrics({ defaultLabels: { model: 'mnist-mlp', run: 'r42' } });
 * const server = await serveMetrics({ registry: metrics.registry, port: 9464 });
 * metrics.record(report); // from the callback's onReport
 * console.log(`metrics at ${server.url}`);
 * ```
 */
export function curvatureMetrics(options: CurvatureMetricsOptions = {}): CurvatureMetrics {
  const checked = checkOptions(options);
  const { registry, prefix, constantLabels, maxLayers } = checked;
  const constantNames = Object.keys(constantLabels);
  const name = (base: string) => `${prefix}${base}`;

  let snapshot: Snapshot = {};
  const admittedLayers = new Set<string>();
  const skipReasons = new Set<string>();
  const sinkLabels = new Set<string>();

  const gauges: [string, string, string[], (emit: Emit) => void][] = [
    [
      'eigenvalue',
      'Top eigenvalues of the curvature matrix of the loss on the probe set (the Hessian, or the generalized Gauss-Newton matrix for kind ggn); rank 1 is the largest, lambda max.',
      ['rank'],
      (emit) => {
        for (const [i, v] of (snapshot.eigen?.values ?? []).entries()) emit(rank(i), v);
      },
    ],
    [
      'eigenvalue_residual',
      'Residual norm of each top eigenpair, ||H v - lambda v||, same units as the eigenvalue.',
      ['rank'],
      (emit) => {
        for (const [i, v] of (snapshot.eigen?.residuals ?? []).entries()) emit(rank(i), v);
      },
    ],
    [
      'eigenvalues_converged',
      '1 when every top eigenpair met the eigensolver stopping criterion, else 0.',
      [],
      (emit) => snapshot.eigen && emit({}, snapshot.eigen.converged ? 1 : 0),
    ],
    [
      'trace',
      'Stochastic estimate (Hutchinson or Hutch++) of the trace of the curvature matrix.',
      [],
      (emit) => snapshot.trace && emit({}, snapshot.trace.estimate),
    ],
    [
      'trace_stderr',
      'Standard error of the trace estimate (NaN with fewer than two probes).',
      [],
      (emit) => snapshot.trace && emit({}, snapshot.trace.stderr),
    ],
    [
      'density_negative_eigenvalue_ratio',
      `Estimated share of the eigenvalues below the negative cutoff ${name('density_negative_cutoff')} (minus the density resolution sigma_G), from the stochastic Lanczos quadrature nodes of the spectral density (0..1): a share of their number, not of their magnitude.`,
      [],
      (emit) => snapshot.density && emit({}, snapshot.density.negativeFraction),
    ],
    [
      'density_negative_cutoff',
      'Negative cutoff of the spectral density run, -sigma_G = -sqrt(1e-5 * max(1, lambda_max - lambda_min)) over its extreme Ritz values: eigenvalues below it count as negative.',
      [],
      (emit) => {
        const cutoff = snapshot.density?.negativeCutoff;
        if (cutoff !== undefined) emit({}, cutoff);
      },
    ],
    [
      'density_lambda_min',
      'Smallest Ritz value of the spectral density run: an upper bound on the smallest eigenvalue.',
      [],
      (emit) => snapshot.density && emit({}, snapshot.density.lambdaMin),
    ],
    [
      'density_lambda_max',
      'Largest Ritz value of the spectral density run: a lower bound on the largest eigenvalue.',
      [],
      (emit) => snapshot.density && emit({}, snapshot.density.lambdaMax),
    ],
    [
      'block_off_diagonal_ratio',
      'Share of the squared Frobenius norm of the curvature matrix in its off-diagonal blocks, sum over i != j of ||H_ij||_F^2 over the sum over all i, j (0..1; 0 = block-diagonal).',
      [],
      (emit) => snapshot.blocks && emit({}, snapshot.blocks.offDiagonalRatio),
    ],
    [
      'block_off_diagonal_to_diagonal_frobenius_sq',
      'Sum of ||H_ij||_F^2 over the off-diagonal block pairs within one layer (pairs="within_layer") or across layers (pairs="cross_layer"), divided by the sum of ||H_ii||_F^2 over the diagonal blocks: 0 = no coupling; it can exceed 1.',
      ['pairs'],
      (emit) => {
        const blocks = snapshot.blocks;
        if (blocks?.withinLayer) emit({ pairs: 'within_layer' }, blocks.withinLayer.massRatio);
        if (blocks?.crossLayer) emit({ pairs: 'cross_layer' }, blocks.crossLayer.massRatio);
      },
    ],
    [
      'kronecker_relative_error',
      "Relative Frobenius error ||H_L - E[M] (x) E[xx']||_F / ||H_L||_F of the Kronecker factorization of each Dense/Conv2D layer's Hessian block (Wu et al.): 0 = exact; it can exceed 1; NaN when H_L = 0.",
      ['layer'],
      (emit) => {
        for (const l of snapshot.kronecker ?? []) emit({ layer: l.name }, l.relativeError);
      },
    ],
    [
      'class_mean_overlap_ratio',
      "Subspace overlap ||U'V||_F^2 / k of the span of the k class-mean gradients with the top-k eigenspace of the Gauss-Newton matrix (0..1; Papyan's averaging claim).",
      [],
      (emit) => snapshot.classes && emit({}, snapshot.classes.classMeanOverlap),
    ],
    [
      'class_trace_ratio',
      "Share tr(G_level) / tr(G) of the Gauss-Newton trace at each level of Papyan's class hierarchy: g0 (same-class pair means), g1 (class means), g2 (class-pair deviations), g3 (within-class remainder); the four add up to 1, and with an estimated tr(G) a level may fall slightly outside 0..1.",
      ['level'],
      (emit) => {
        for (const [level, value] of Object.entries(snapshot.classes?.traceFractions ?? {})) {
          emit({ level }, value);
        }
      },
    ],
    [
      'layer_lambda_max',
      "Largest eigenvalue of each layer's own diagonal block of the curvature matrix (exact for small blocks, else the largest Ritz value, a lower bound).",
      ['layer'],
      (emit) => {
        for (const l of snapshot.layers ?? []) emit({ layer: l.name }, l.lambdaMax);
      },
    ],
    [
      'layer_trace',
      "Trace of each layer's own diagonal block of the curvature matrix (exact for small blocks, else a Hutch++ estimate).",
      ['layer'],
      (emit) => {
        for (const l of snapshot.layers ?? []) emit({ layer: l.name }, l.trace);
      },
    ],
    [
      'layer_negative_eigenvalue_ratio',
      "Share of the eigenvalues of each layer's diagonal block below minus that block's density resolution, -sigma_G = -sqrt(1e-5 * max(1, lambda_max - lambda_min)) (0..1; by stochastic Lanczos quadrature for large blocks): a share of their number, not of their magnitude.",
      ['layer'],
      (emit) => {
        for (const l of snapshot.layers ?? []) emit({ layer: l.name }, l.negativeFraction);
      },
    ],
    [
      'layer_effective_rank',
      "Effective rank exp(entropy of |eigenvalue| shares) of each layer's diagonal block.",
      ['layer'],
      (emit) => {
        for (const l of snapshot.layers ?? []) {
          if (l.effectiveRank !== undefined) emit({ layer: l.name }, l.effectiveRank);
        }
      },
    ],
    [
      'layer_gauss_newton_gap',
      "Gauss-Newton gap ||H_ll - G_ll||_F / ||G_ll||_F of each layer's diagonal block.",
      ['layer'],
      (emit) => {
        for (const l of snapshot.layers ?? []) {
          if (l.gaussNewtonGap !== undefined) emit({ layer: l.name }, l.gaussNewtonGap);
        }
      },
    ],
    [
      'gauss_newton_gap',
      'Gauss-Newton gap ||H - G||_F / ||G||_F of the whole curvature matrix.',
      [],
      (emit) => snapshot.gaussNewtonGap && emit({}, snapshot.gaussNewtonGap.ratio),
    ],
    [
      'loss',
      'Loss on the probe set at the weights of the last report: the loss whose curvature is reported.',
      [],
      (emit) => snapshot.report && emit({}, snapshot.report.loss),
    ],
    [
      'model_parameters',
      'Number of trainable parameters of the analysed model.',
      [],
      (emit) => snapshot.report && emit({}, snapshot.report.model.parameterCount),
    ],
    [
      'learning_rate',
      'Learning rate eta of the optimizer at the last report that was recorded with one.',
      [],
      (emit) => snapshot.learningRate !== undefined && emit({}, snapshot.learningRate),
    ],
    [
      'edge_of_stability_threshold',
      `Edge-of-stability threshold 2 / eta for the learning rate in ${name('learning_rate')}, in eigenvalue units: gradient descent without momentum is unstable along eigenvalues above it, and its lambda max settles around it (Cohen et al. 2021).`,
      [],
      (emit) => snapshot.learningRate !== undefined && emit({}, 2 / snapshot.learningRate),
    ],
    [
      'last_report_epoch',
      'Epochs completed when the last report was made.',
      [],
      (emit) => snapshot.report && emit({}, snapshot.report.epoch),
    ],
    [
      'last_report_step',
      'Optimizer steps completed when the last report was made.',
      [],
      (emit) => snapshot.report && emit({}, snapshot.report.step),
    ],
    [
      'last_report_timestamp_seconds',
      'Unix time at which the last reported analysis started, in seconds.',
      [],
      (emit) => snapshot.report && emit({}, Date.parse(snapshot.report.timestamp) / 1000),
    ],
  ];
  const counters = {
    matvecs: [
      'matvecs_total',
      'Curvature matrix-vector products (Hessian, Gauss-Newton or vector-Jacobian) spent by the recorded analyses.',
      [],
    ],
    failed: ['analyses_failed_total', 'Analyses that failed with an error.', []],
    skipped: [
      'analyses_skipped_total',
      'Scheduled analyses that were not run, by reason.',
      ['reason'],
    ],
    sinkErrors: [
      'sink_errors_total',
      'Reports that a sink did not take (it threw, rejected or timed out), by sink.',
      ['sink'],
    ],
    dropped: [
      'layer_labels_dropped_total',
      'Per-layer values not exported because maxLayers distinct layer labels were already in use (once per layer per report).',
      [],
    ],
  } as const;
  const durationName = name('analysis_duration_seconds');

  const allNames = [
    ...gauges.map(([base]) => name(base)),
    ...Object.values(counters).map(([base]) => name(base)),
    durationName,
  ];
  for (const metric of allNames) {
    if (registry.getSingleMetric(metric) !== undefined) {
      throw new OptionError(
        `${WHERE}: expected a registry without a metric called ${metric}, got one that has it (pass another prefix or registry)`,
      );
    }
  }

  for (const [base, help, labelNames, read] of gauges) {
    new Gauge({
      name: name(base),
      help,
      labelNames: [...constantNames, ...labelNames],
      registers: [registry],
      collect() {
        // Rebuilt from the snapshot on every scrape, so series of a previous report (a rank or a
        // layer that is gone) disappear. Values were checked by record(); should setting one
        // fail anyway, the scrape shows this gauge empty rather than failing.
        this.reset();
        let emitted = false;
        try {
          read((labels, value) => {
            this.set({ ...constantLabels, ...labels }, value);
            emitted = true;
          });
        } catch {
          this.reset();
          emitted = false;
        }
        // reset() leaves a gauge without labels at 0; no data must mean no series, not 0.
        if (!emitted) this.remove({});
      },
    });
  }
  const counter = ([base, help, labelNames]: (typeof counters)[keyof typeof counters]) =>
    new Counter({
      name: name(base),
      help,
      labelNames: [...constantNames, ...labelNames],
      registers: [registry],
    });
  const matvecs = counter(counters.matvecs);
  const failed = counter(counters.failed);
  const skipped = counter(counters.skipped);
  const sinkErrors = counter(counters.sinkErrors);
  const dropped = counter(counters.dropped);
  const duration = new Histogram({
    name: durationName,
    help: 'Wall-clock time of one curvature analysis, in seconds.',
    labelNames: constantNames,
    buckets: [...checked.buckets],
    registers: [registry],
  });
  // Counters start at 0 so that rate() and increase() see their first increment.
  for (const c of [matvecs, failed, dropped]) c.inc(constantLabels, 0);
  duration.zero(constantLabels);

  return {
    registry,
    record(input, context) {
      const learningRate = checkContext(context);
      const report = normalizeReport(input);
      // Layer names dropped from this report, counted once each across its sections.
      const droppedNames = new Set<string>();
      const admitted = (layer: { readonly name: string }) => {
        if (admittedLayers.has(layer.name)) return true;
        if (admittedLayers.size < maxLayers) {
          admittedLayers.add(layer.name);
          return true;
        }
        droppedNames.add(layer.name);
        return false;
      };
      const layers = report.layers?.filter(admitted);
      const kronecker = report.kronecker?.filter(admitted);
      snapshot = {
        report,
        eigen: report.eigen ?? snapshot.eigen,
        trace: report.trace ?? snapshot.trace,
        density: report.density ?? snapshot.density,
        blocks: report.blocks ?? snapshot.blocks,
        layers: layers ?? snapshot.layers,
        kronecker: kronecker ?? snapshot.kronecker,
        classes: report.classes ?? snapshot.classes,
        gaussNewtonGap: report.gaussNewtonGap ?? snapshot.gaussNewtonGap,
        learningRate: learningRate ?? snapshot.learningRate,
      };
      matvecs.inc(constantLabels, report.matvecs);
      duration.observe(constantLabels, report.seconds);
      if (droppedNames.size > 0) dropped.inc(constantLabels, droppedNames.size);
    },
    recordFailure() {
      failed.inc(constantLabels, 1);
    },
    recordSkipped(reason) {
      if (typeof reason !== 'string' || reason.length === 0) {
        throw new OptionError(
          `recordSkipped: expected reason to be a non-empty string, got ${String(reason)}`,
        );
      }
      if (!skipReasons.has(reason) && skipReasons.size < MAX_SKIP_REASONS) skipReasons.add(reason);
      skipped.inc({ ...constantLabels, reason: skipReasons.has(reason) ? reason : 'other' }, 1);
    },
    recordSinkError(sink) {
      if (typeof sink !== 'string' || sink.length === 0) {
        throw new OptionError(
          `recordSinkError: expected sink to be a non-empty string, got ${String(sink)}`,
        );
      }
      if (!sinkLabels.has(sink) && sinkLabels.size < MAX_SINK_LABELS) sinkLabels.add(sink);
      sinkErrors.inc({ ...constantLabels, sink: sinkLabels.has(sink) ? sink : 'other' }, 1);
    },
  };
}

/** The learning rate of a record() context, checked; undefined when it has none. */
function checkContext(context: CurvatureRecordContext | undefined): number | undefined {
  if (context === undefined) return undefined;
  if (typeof context !== 'object' || context === null) {
    throw new OptionError(`record: expected context to be an object, got ${String(context)}`);
  }
  for (const key of Object.keys(context)) {
    if (key !== 'learningRate') {
      throw new OptionError(`record: expected context keys among 'learningRate', got '${key}'`);
    }
  }
  const { learningRate } = context;
  if (learningRate === undefined) return undefined;
  if (typeof learningRate !== 'number' || !Number.isFinite(learningRate) || learningRate <= 0) {
    throw new OptionError(
      `record: expected context.learningRate to be a finite number > 0, got ${String(learningRate)}`,
    );
  }
  return learningRate;
}

interface CheckedOptions {
  registry: Registry;
  prefix: string;
  constantLabels: Labels;
  maxLayers: number;
  buckets: readonly number[];
}

function checkOptions(options: CurvatureMetricsOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError(`${WHERE}: expected an options object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) {
      const known = KNOWN_OPTIONS.map((k) => `'${k}'`).join(', ');
      throw new OptionError(`${WHERE}: expected options among ${known}, got '${key}'`);
    }
  }
  const { registry = new Registry(), prefix = 'hessian_', maxLayers = 50 } = options;
  if (
    typeof registry !== 'object' ||
    registry === null ||
    typeof registry.getSingleMetric !== 'function' ||
    typeof registry.registerMetric !== 'function'
  ) {
    throw new OptionError(
      `${WHERE}: expected registry to be a prom-client Registry, got ${String(registry)}`,
    );
  }
  if (typeof prefix !== 'string' || !METRIC_NAME.test(`${prefix}x`)) {
    throw new OptionError(
      `${WHERE}: expected prefix to start a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${JSON.stringify(prefix)}`,
    );
  }
  if (!Number.isInteger(maxLayers) || maxLayers < 0) {
    throw new OptionError(
      `${WHERE}: expected maxLayers to be an integer >= 0, got ${String(maxLayers)}`,
    );
  }
  const constantLabels: Labels = {};
  const labels = options.defaultLabels ?? {};
  if (typeof labels !== 'object' || labels === null) {
    throw new OptionError(
      `${WHERE}: expected defaultLabels to be an object, got ${String(labels)}`,
    );
  }
  for (const [key, value] of Object.entries(labels)) {
    if (key !== 'model' && key !== 'run') {
      throw new OptionError(`${WHERE}: expected defaultLabels among 'model', 'run', got '${key}'`);
    }
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length === 0) {
      throw new OptionError(
        `${WHERE}: expected defaultLabels.${key} to be a non-empty string, got ${JSON.stringify(value)}`,
      );
    }
    constantLabels[key] = value;
  }
  const buckets = options.durationBuckets ?? DEFAULT_BUCKETS;
  const increasing =
    Array.isArray(buckets) &&
    buckets.length > 0 &&
    buckets.every((b, i) => Number.isFinite(b) && b > 0 && (i === 0 || b > buckets[i - 1]));
  if (!increasing) {
    throw new OptionError(
      `${WHERE}: expected durationBuckets to be increasing finite numbers > 0 (seconds), got ${JSON.stringify(buckets)}`,
    );
  }
  return { registry, prefix, constantLabels, maxLayers, buckets };
}
