/**
 * The geometry of Papyan's three-level clusters (V. Papyan, ICML 2019, arXiv 1901.08244; the
 * definitions of `classHierarchy` in @hessian-probe/core/tfjs): how far apart the class means
 * δ_c are (level 1), how widely the cross-class means δ_{c,c′} scatter around their class mean
 * (level 2, ν_{c,c′} = δ_{c,c′} − δ_c), and how widely single samples' δ_{i,c,c′} scatter around
 * δ_{c,c′} (level 3, from tr G₃). A hierarchy means each level's clusters are tight compared
 * with the distances between the clusters above it.
 */
import type { ClassHierarchyResult } from '@hessian-probe/core/tfjs';

/** Distances and spreads of the three levels, in the units of the gradients (RMS norms). */
export interface ClusterGeometry {
  /** C and N. */
  readonly classes: number;
  readonly samples: number;
  /** RMS over pairs c ≠ c̃ of ‖δ_c − δ_c̃‖: how far apart the level-1 clusters are. */
  readonly classMeanDistance: number;
  /** √(Σ_c π_c ‖δ_c‖²): the class means' size. */
  readonly classMeanNorm: number;
  /**
   * r₂ = √(Σ_c π_c Σ_{c′≠c} ‖ν_{c,c′}‖² / (C − 1)) = √(tr G₂ / (C − 1)): the RMS distance of a
   * cross-class mean from its class mean.
   */
  readonly crossClassSpread: number;
  /**
   * r₃ = √(tr G₃ / C) = √((1/N) Σ_i Σ_{c′} ‖δ_{i,c,c′} − δ_{c,c′}‖² / C): the RMS distance of a
   * sample's δ_{i,c,c′} from its cross-class mean.
   */
  readonly sampleSpread: number;
  /** Standard error of r₃ from that of tr G (0 when tr G is exact), by the delta method. */
  readonly sampleSpreadStderr: number;
  /**
   * √(C · tr G₃ / (N (C − 1))): about how much sampling noise alone adds to r₂ (each δ_{c,c′}
   * is a mean of N_c samples whose spread is r₃-sized; exact for balanced classes when the
   * c′ = c terms are as large as the others, an upper estimate otherwise).
   */
  readonly noiseFloor: number;
  /**
   * The share of the cross-class means' spread (c′ ≠ c, weights π_c) that grouping them by
   * the sample's class c explains: 1 − Σ‖δ_{c,c′} − δ_c‖² / Σ‖δ_{c,c′} − δ̄‖², δ̄ their
   * weighted mean. Papyan's level 1 groups them this way.
   */
  readonly explainedByClass: number;
  /** The same for grouping by the logit c′ (means over c ≠ c′), the other way to cluster. */
  readonly explainedByLogit: number;
  /**
   * The share the additive two-way model δ_{c,c′} ≈ m + a_c + b_{c′} explains (Papyan's
   * "additive two-way structure" of the gradient means), fitted by weighted least squares over
   * the cells c′ ≠ c (backfitting, Buja, Hastie & Tibshirani 1989, until the residual changes
   * by less than 1e-12 relative, at most 200 sweeps).
   */
  readonly explainedAdditive: number;
}

/**
 * The cluster geometry of a `classHierarchy` result.
 *
 * @throws RangeError when C < 3 (level 2 needs two cross-class means per class).
 * @example
 * ```ts
 * const g = clusterGeometry(await classHierarchy(model, { tf, x, y }));
 * console.log(g.classMeanDistance / g.crossClassSpread);
 * ```
 */
export function clusterGeometry(h: ClassHierarchyResult): ClusterGeometry {
  const C = h.classes;
  if (C < 3) {
    throw new RangeError(`clusterGeometry: expected C >= 3 classes for level 2, got ${C}`);
  }
  const P = h.parameters;
  const pair = (c: number, d: number) =>
    h.classPairMeans.subarray((c * C + d) * P, (c * C + d + 1) * P);
  const mean = (c: number) => h.classMeans.subarray(c * P, (c + 1) * P);
  const pi = h.classFrequencies;

  let distance = 0;
  for (let c = 0; c < C; c++)
    for (let d = c + 1; d < C; d++) distance += squaredDistance(mean(c), mean(d));
  let norm = 0;
  for (let c = 0; c < C; c++) norm += pi[c] * squaredDistance(mean(c), undefined);

  // Grand mean δ̄ of the cross-class means (c′ ≠ c, weights π_c/(C − 1)) and the means by logit.
  const grand = new Float64Array(P);
  const byLogit = Array.from({ length: C }, () => new Float64Array(P));
  const logitWeight = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    for (let d = 0; d < C; d++) {
      if (d === c) continue;
      const v = pair(c, d);
      for (let p = 0; p < P; p++) {
        grand[p] += (pi[c] / (C - 1)) * v[p];
        byLogit[d][p] += pi[c] * v[p];
      }
      logitWeight[d] += pi[c];
    }
  }
  for (let d = 0; d < C; d++) for (let p = 0; p < P; p++) byLogit[d][p] /= logitWeight[d];

  let total = 0;
  let withinClass = 0;
  let withinLogit = 0;
  for (let c = 0; c < C; c++) {
    for (let d = 0; d < C; d++) {
      if (d === c) continue;
      const v = pair(c, d);
      total += pi[c] * squaredDistance(v, grand);
      withinClass += pi[c] * squaredDistance(v, mean(c));
      withinLogit += pi[c] * squaredDistance(v, byLogit[d]);
    }
  }
  const residual = additiveResidual(h, pair, grand);
  const traceG3 = h.g3.trace;
  const sampleSpread = Math.sqrt(Math.max(0, traceG3) / C);
  return {
    classes: C,
    samples: h.samples,
    classMeanDistance: Math.sqrt(distance / ((C * (C - 1)) / 2)),
    classMeanNorm: Math.sqrt(norm),
    crossClassSpread: Math.sqrt(withinClass / (C - 1)),
    sampleSpread,
    sampleSpreadStderr: sampleSpread > 0 ? h.trace.stderr / (2 * C * sampleSpread) : 0,
    noiseFloor: Math.sqrt((C * Math.max(0, traceG3)) / (h.samples * (C - 1))),
    explainedByClass: 1 - withinClass / total,
    explainedByLogit: 1 - withinLogit / total,
    explainedAdditive: 1 - residual / total,
  };
}

/** Σ_c π_c Σ_{c′≠c} ‖δ_{c,c′} − m − a_c − b_{c′}‖² of the backfitted additive model. */
function additiveResidual(
  h: ClassHierarchyResult,
  pair: (c: number, d: number) => Float64Array,
  grand: Float64Array,
): number {
  const C = h.classes;
  const P = h.parameters;
  const pi = h.classFrequencies;
  const a = Array.from({ length: C }, () => new Float64Array(P));
  const b = Array.from({ length: C }, () => new Float64Array(P));
  const residual = () => {
    let sum = 0;
    for (let c = 0; c < C; c++) {
      for (let d = 0; d < C; d++) {
        if (d === c) continue;
        const v = pair(c, d);
        for (let p = 0; p < P; p++) sum += pi[c] * (v[p] - grand[p] - a[c][p] - b[d][p]) ** 2;
      }
    }
    return sum;
  };
  let previous = residual();
  for (let sweep = 0; sweep < 200; sweep++) {
    for (let c = 0; c < C; c++) {
      a[c].fill(0);
      for (let d = 0; d < C; d++) {
        if (d === c) continue;
        const v = pair(c, d);
        for (let p = 0; p < P; p++) a[c][p] += (v[p] - grand[p] - b[d][p]) / (C - 1);
      }
    }
    for (let d = 0; d < C; d++) {
      b[d].fill(0);
      let weight = 0;
      for (let c = 0; c < C; c++) {
        if (c === d) continue;
        const v = pair(c, d);
        for (let p = 0; p < P; p++) b[d][p] += pi[c] * (v[p] - grand[p] - a[c][p]);
        weight += pi[c];
      }
      for (let p = 0; p < P; p++) b[d][p] /= weight;
    }
    const current = residual();
    if (previous - current <= 1e-12 * previous) return current;
    previous = current;
  }
  return previous;
}

/** ‖a − b‖² in float64 (‖a‖² without b). */
function squaredDistance(a: Float64Array, b: Float64Array | undefined): number {
  let sum = 0;
  for (let p = 0; p < a.length; p++) sum += (a[p] - (b?.[p] ?? 0)) ** 2;
  return sum;
}
