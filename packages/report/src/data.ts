/**
 * From reports to chart rows: runs in time order on one step axis, analysis labels, the density
 * on a common eigenvalue grid, block heatmap values and block sizes.
 */
import type { CurvatureReport, ReportSection } from '@hessian-probe/core';
import type { ReportRun, RunMetric } from './types.js';

/** Run colours (Tableau 10): run i has colour i mod 10 on every chart and heading. */
export const RUN_COLORS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
] as const;

/** One report placed on the page: its run, its x (the optimizer step) and its label. */
export interface Analysis {
  readonly report: CurvatureReport;
  /** The optimizer step, continued across `fit()` calls (see {@link RunView.stepsContinued}). */
  readonly x: number;
  /** "epoch 3 (step 237)". */
  readonly label: string;
}

/** A run ready to draw. */
export interface RunView {
  readonly name: string;
  readonly color: string;
  readonly source?: string;
  /** Its analyses, in time order. */
  readonly analyses: readonly Analysis[];
  readonly metrics: readonly RunMetric[];
  /**
   * True when the step went backwards in time order (several `fit()` calls: each starts at
   * step 0): later analyses then continue from the largest step before them.
   */
  readonly stepsContinued: boolean;
}

/** The runs, each sorted by timestamp (stable), with colours and a continued step axis. */
export function runViews(runs: readonly ReportRun[]): RunView[] {
  return runs.map((run, index) => {
    const ordered = run.reports
      .map((report, i) => ({ report, i, t: Date.parse(report.timestamp) }))
      .sort((a, b) => a.t - b.t || a.i - b.i)
      .map((e) => e.report);
    let offset = 0;
    let previous = -Infinity;
    let maxSoFar = 0;
    let continued = false;
    const analyses = ordered.map((report) => {
      if (report.step + offset < previous) {
        offset = maxSoFar;
        continued = true;
      }
      const x = report.step + offset;
      previous = x;
      maxSoFar = Math.max(maxSoFar, x);
      return { report, x, label: analysisLabel(report) };
    });
    return {
      name: run.name,
      color: RUN_COLORS[index % RUN_COLORS.length],
      ...(run.source === undefined ? {} : { source: run.source }),
      analyses,
      metrics: run.metrics ?? [],
      stepsContinued: continued,
    };
  });
}

/** "epoch 3 (step 237)", with the batch when a batch end triggered the analysis. */
export function analysisLabel(report: CurvatureReport): string {
  const batch = report.batch === undefined ? '' : `, batch ${report.batch}`;
  return `epoch ${report.epoch} (step ${report.step}${batch})`;
}

/** A number for a chart: non-finite or absent values become null, which vega-lite leaves out. */
export function finite(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}

/** Up to `count` items evenly spread over `items`, always the first and the last. */
export function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  if (count <= 1) return [items[items.length - 1]];
  const picked = new Set<number>();
  for (let k = 0; k < count; k++) picked.add(Math.round((k * (items.length - 1)) / (count - 1)));
  return [...picked].sort((a, b) => a - b).map((i) => items[i]);
}

/** One cell of the density heatmap: an eigenvalue bin of one analysis. */
export interface DensityCell {
  readonly label: string;
  readonly lo: number;
  readonly hi: number;
  readonly density: number;
}

/** Cells below this fraction of their analysis's peak are not drawn (blank, not a floor). */
export const DENSITY_CUTOFF = 1e-6;

/**
 * The densities of `analyses` on one eigenvalue grid (the union of their ranges, `bins` bins):
 * each bin holds the mean of the analysis's curve over the bin (linear interpolation, 8 points),
 * so narrow peaks keep their mass. Bins outside an analysis's own grid, and bins below
 * {@link DENSITY_CUTOFF} of its peak, get no cell.
 */
export function densityCells(
  analyses: readonly Analysis[],
  bins = 160,
): { cells: DensityCell[]; range: [number, number] } | undefined {
  const curves = analyses
    .map((a) => ({ label: a.label, density: a.report.density }))
    .filter((c): c is { label: string; density: ReportSection<'density'> } => {
      const d = c.density;
      return d !== undefined && d.grid.length >= 2 && Number.isFinite(d.grid[0]);
    });
  if (curves.length === 0) return undefined;
  let min = Infinity;
  let max = -Infinity;
  for (const { density } of curves) {
    const first = density.grid[0];
    const last = density.grid[density.grid.length - 1];
    if (Number.isFinite(first)) min = Math.min(min, first);
    if (Number.isFinite(last)) max = Math.max(max, last);
  }
  if (!(max > min)) return undefined;
  const width = (max - min) / bins;
  const cells: DensityCell[] = [];
  for (const { label, density } of curves) {
    const { grid, values } = density;
    const peak = Math.max(0, ...values.filter(Number.isFinite));
    if (!(peak > 0)) continue;
    const at = (t: number): number | undefined => {
      if (!(t >= grid[0] && t <= grid[grid.length - 1])) return undefined;
      let lo = 0;
      let hi = grid.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (grid[mid] <= t) lo = mid;
        else hi = mid;
      }
      const span = grid[hi] - grid[lo];
      const w = span > 0 ? (t - grid[lo]) / span : 0;
      const v = values[lo] * (1 - w) + values[hi] * w;
      return Number.isFinite(v) ? v : undefined;
    };
    for (let b = 0; b < bins; b++) {
      const lo = min + b * width;
      let sum = 0;
      let count = 0;
      for (let s = 0; s < 8; s++) {
        const v = at(lo + ((s + 0.5) * width) / 8);
        if (v !== undefined) {
          sum += v;
          count++;
        }
      }
      if (count === 0) continue;
      const mean = sum / count;
      if (mean >= peak * DENSITY_CUTOFF) cells.push({ label, lo, hi: lo + width, density: mean });
    }
  }
  return { cells, range: [min, max] };
}

/** The name of a tensor block's layer: the part before the last `/` (as core's layerOfBlock). */
function layerOf(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? name : name.slice(0, slash);
}

/**
 * The parameter count of each block of a `blocks` section, from the report's tensor layout:
 * a tensor block by its name, a layer by the sum of its tensors, a unit (`layer/unit_j`, the
 * 'unit' and 'class' cuts) by its layer's total over the layer's unit count. Undefined when a
 * name cannot be matched or the sizes do not add up to the parameter count.
 */
export function blockSizes(
  names: readonly string[],
  layout: { readonly dim: number; readonly blocks: readonly { name: string; size: number }[] },
): number[] | undefined {
  const tensors = new Map(layout.blocks.map((b) => [b.name, b.size]));
  const layers = new Map<string, number>();
  for (const b of layout.blocks)
    layers.set(layerOf(b.name), (layers.get(layerOf(b.name)) ?? 0) + b.size);
  const unitOf = (name: string) => /^(.*)\/unit_\d+$/.exec(name)?.[1];
  const units = new Map<string, number>();
  for (const n of names) {
    const layer = unitOf(n);
    if (layer !== undefined) units.set(layer, (units.get(layer) ?? 0) + 1);
  }
  const sizes = names.map((name) => {
    const tensor = tensors.get(name);
    if (tensor !== undefined) return tensor;
    const layer = unitOf(name);
    if (layer !== undefined) return (layers.get(layer) ?? Number.NaN) / units.get(layer)!;
    return layers.get(name) ?? Number.NaN;
  });
  const total = sizes.reduce((s, n) => s + n, 0);
  return sizes.every((n) => Number.isInteger(n) && n >= 1) && total === layout.dim
    ? sizes
    : undefined;
}

/** What a block heatmap shows. */
export type HeatmapQuantity = 'mean |H|' | 'RMS |H|' | '‖H_ij‖_F / max';

/** The block heatmap of one report: the matrix and what it holds. */
export function blockHeatmap(
  report: CurvatureReport,
): { quantity: HeatmapQuantity; values: number[][]; names: readonly string[] } | undefined {
  const blocks = report.blocks;
  if (blocks === undefined || blocks.names.length === 0) return undefined;
  const { names } = blocks;
  if (blocks.meanAbs !== undefined) {
    return { quantity: 'mean |H|', values: blocks.meanAbs.map((r) => [...r]), names };
  }
  const norms = blocks.frobeniusSq.map((row) => row.map((v) => Math.sqrt(Math.max(0, v))));
  const sizes = blockSizes(names, report.model.layout);
  if (sizes !== undefined) {
    return {
      quantity: 'RMS |H|',
      values: norms.map((row, i) => row.map((f, j) => f / Math.sqrt(sizes[i] * sizes[j]))),
      names,
    };
  }
  const largest = Math.max(...norms.flat().filter(Number.isFinite));
  return {
    quantity: '‖H_ij‖_F / max',
    values: norms.map((row) => row.map((f) => (largest > 0 ? f / largest : f))),
    names,
  };
}
