/**
 * The statistic of Dong et al. 2025 itself: the spectra of diagonal and off-diagonal Hessian
 * blocks as the sample count N and the input dimension d grow together, against their
 * random-matrix limits.
 *
 * Which limit applies (derived here, not taken from the paper, whose full text was not
 * available). In the one-hidden ReLU network without biases, hidden-neuron block (i, j) is
 * B_ij = (1/N) Σₙ τₙ xₙxₙᵀ with the scalar weight τₙ = M_n[i, j], M = diag(s) W₂ᵀ A W₂ diag(s)
 * (see closed-form.ts). τₙ depends on xₙ only through the m projections W₁xₙ; the part of xₙ
 * orthogonal to W₁'s rows is Gaussian and independent of τₙ, so B_ij differs from a weighted
 * Wishart matrix with independent weights by a matrix of rank <= 2m, which does not move the
 * limiting spectral distribution. For x ~ N(0, I_d), d/N → γ, and weights with law H, that
 * limit is the generalized Marchenko–Pastur law (Marchenko & Pastur 1967; Silverstein & Bai
 * 1995) whose Stieltjes transform m(z) = ∫ dF(λ)/(λ − z) solves
 *   m(z) = 1 / (−z + E_H[τ / (1 + γ τ m(z))]),
 * and whose first two moments are E[τ] and E[τ]² + γ E[τ²]. Diagonal blocks have τ >= 0
 * (A ⪰ 0): a deformed MP law on [0, ∞). Off-diagonal blocks have weights of both signs, mostly 0
 * (both neurons must be active): a law around E[τ] of width ~√(γ E[τ²]). H is estimated from
 * fresh inputs x′ ~ N(0, I_d) through the same weights. The class blocks are m × m and the
 * cross blocks d × m: with m fixed they have m eigen/singular values, no spectral distribution,
 * so the limit is stated for the d × d hidden-neuron blocks only.
 */
import { createRandom } from '@hessian-probe/core';
import { symmetricEigen } from '@hessian-probe/core/internal';
import { initialKernel, type StaticForceInit } from './static-force.js';

/** Options of {@link blockSpectra}. */
export interface BlockSpectraOptions {
  /** Input dimensions d, each with N = d/γ samples (default [50, 100, 200, 500]). */
  readonly inputs?: readonly number[];
  /** γ = d/N (default 0.1: the paper's d = 500, N = 5000). */
  readonly gamma?: number;
  /** Classes C (default 500, the paper's). */
  readonly classes?: number;
  /** Hidden width m (default 8). */
  readonly hidden?: number;
  /** Weight init (default 'pytorch'). */
  readonly init?: Exclude<StaticForceInit, 'zero'>;
  /** Fresh inputs that estimate the weight law H (default 4000). */
  readonly lawSamples?: number;
  /** Seed of data, labels and weights (default 1). */
  readonly seed?: number;
}

/** One block at one size: its eigenvalues against the limit. */
export interface BlockSpectrum {
  /** 'diagonal' (neurons 0, 0) or 'off-diagonal' (neurons 0, 1). */
  block: 'diagonal' | 'off-diagonal';
  d: number;
  N: number;
  seed: number;
  /** Eigenvalues of B, ascending. */
  eigenvalues: Float64Array;
  /** (1/d) tr B² measured, and its limit E[τ]² + γ E[τ²]. */
  secondMoment: number;
  secondMomentLimit: number;
  /** The limit density on a grid: λ and f(λ). */
  grid: Float64Array;
  density: Float64Array;
  /** Kolmogorov distance sup |F_emp − F_limit| over the eigenvalues. */
  kolmogorov: number;
  /** Mass of the computed limit density on the grid (≈ 1: a check of the solver). */
  limitMass: number;
}

/**
 * Draws the paper's setup at each d (N = d/γ, x ~ N(0, I_d), uniform labels on C classes, the
 * one-hidden network at `init`; cross-entropy's curvature needs no labels), assembles hidden-neuron blocks (0, 0) and (0, 1) under
 * cross-entropy, and compares their eigenvalues with the generalized Marchenko–Pastur limit.
 *
 * @throws RangeError for sizes that are not positive integers, m < 2, or γ not in (0, 1].
 * @example
 * ```ts
 * const spectra = blockSpectra({ inputs: [50, 100], classes: 10, seed: 1 });
 * spectra.map((s) => [s.block, s.d, s.kolmogorov]);
 * ```
 */
export function blockSpectra(options: BlockSpectraOptions = {}): BlockSpectrum[] {
  const {
    inputs = [50, 100, 200, 500],
    gamma = 0.1,
    classes = 500,
    hidden = 8,
    init = 'pytorch',
    lawSamples = 4000,
    seed = 1,
  } = options;
  for (const [name, value] of Object.entries({ classes, lawSamples })) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`blockSpectra: expected ${name} to be a positive integer, got ${value}`);
    }
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`blockSpectra: expected seed to be an integer >= 0, got ${seed}`);
  }
  if (!Number.isSafeInteger(hidden) || hidden < 2) {
    throw new RangeError(`blockSpectra: expected hidden >= 2 (two neurons), got ${hidden}`);
  }
  if (!(gamma > 0 && gamma <= 1)) {
    throw new RangeError(`blockSpectra: expected 0 < gamma <= 1, got ${gamma}`);
  }
  if (inputs.length === 0 || inputs.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new RangeError(`blockSpectra: expected input dimensions >= 1, got [${inputs}]`);
  }
  const out: BlockSpectrum[] = [];
  for (const d of inputs) {
    const n = Math.round(d / gamma);
    const rng = createRandom(seed * 7919 + d);
    const w1 = initialKernel(init, d, hidden, rng); // d × m, tfjs layout
    const w2 = initialKernel(init, hidden, classes, rng); // m × C
    // Cross-entropy's curvature A = diag(p) − ppᵀ does not depend on the labels: none drawn.
    const x = rng.gaussianVector(n * d);
    const fresh = rng.gaussianVector(lawSamples * d);
    const weights = neuronWeights(x, n, d, w1, w2, hidden, classes);
    const law = neuronWeights(fresh, lawSamples, d, w1, w2, hidden, classes);
    for (const [block, pick] of [
      ['diagonal', 0],
      ['off-diagonal', 1],
    ] as const) {
      const tau = weights[pick];
      const matrix = weightedGram(x, n, d, tau);
      const { values } = symmetricEigen(matrix, d, { vectors: false });
      const lawTau = law[pick];
      const mean = lawTau.reduce((s, t) => s + t, 0) / lawSamples;
      const meanSquare = lawTau.reduce((s, t) => s + t * t, 0) / lawSamples;
      const limit = limitDensity(lawTau, d / n, values);
      out.push({
        block,
        d,
        N: n,
        seed,
        eigenvalues: values,
        secondMoment: values.reduce((s, v) => s + v * v, 0) / d,
        secondMomentLimit: mean * mean + (d / n) * meanSquare,
        ...limit,
        kolmogorov: kolmogorovDistance(values, limit.grid, limit.density),
      });
    }
  }
  return out;
}

/**
 * The weights τ of hidden-neuron blocks (0, 0) and (0, 1) per sample, under cross-entropy:
 * M[i, j] = s_i s_j (Σ_c p_c W₂[c, i] W₂[c, j] − (W₂ᵀp)_i (W₂ᵀp)_j).
 */
function neuronWeights(
  x: Float64Array,
  n: number,
  d: number,
  w1: Float64Array,
  w2: Float64Array,
  m: number,
  classes: number,
): [Float64Array, Float64Array] {
  const diagonal = new Float64Array(n);
  const off = new Float64Array(n);
  const h = new Float64Array(m);
  const z = new Float64Array(classes);
  for (let k = 0; k < n; k++) {
    h.fill(0);
    for (let i = 0; i < d; i++) {
      const v = x[k * d + i];
      for (let j = 0; j < m; j++) h[j] += v * w1[i * m + j];
    }
    z.fill(0);
    for (let j = 0; j < m; j++) {
      const a = Math.max(0, h[j]);
      if (a > 0) for (let c = 0; c < classes; c++) z[c] += a * w2[j * classes + c];
    }
    const top = Math.max(...z);
    let total = 0;
    for (let c = 0; c < classes; c++) {
      z[c] = Math.exp(z[c] - top);
      total += z[c];
    }
    let s00 = 0;
    let s01 = 0;
    let r0 = 0;
    let r1 = 0;
    for (let c = 0; c < classes; c++) {
      const p = z[c] / total;
      const a0 = w2[c];
      const a1 = w2[classes + c];
      s00 += p * a0 * a0;
      s01 += p * a0 * a1;
      r0 += p * a0;
      r1 += p * a1;
    }
    const active0 = h[0] > 0 ? 1 : 0;
    const active1 = h[1] > 0 ? 1 : 0;
    diagonal[k] = active0 * (s00 - r0 * r0);
    off[k] = active0 * active1 * (s01 - r0 * r1);
  }
  return [diagonal, off];
}

/** (1/N) Σₙ τₙ xₙxₙᵀ, d × d row-major (both triangles). */
function weightedGram(x: Float64Array, n: number, d: number, tau: Float64Array): Float64Array {
  const out = new Float64Array(d * d);
  for (let k = 0; k < n; k++) {
    const t = tau[k] / n;
    if (t === 0) continue;
    const row = x.subarray(k * d, (k + 1) * d);
    for (let i = 0; i < d; i++) {
      const ti = t * row[i];
      const base = i * d;
      for (let j = 0; j <= i; j++) out[base + j] += ti * row[j];
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) out[j * d + i] = out[i * d + j];
  return out;
}

/**
 * The generalized Marchenko–Pastur density for weights `tau` (binned into 200 values) and
 * ratio γ on a grid of 400 points spanning the eigenvalues and a margin: f(λ) = Im m(λ + iη)/π,
 * m from the fixed point m = 1/(−z + E[τ/(1 + γτm)]), damped, warm-started along the grid,
 * η = 1e-3 × the span.
 */
export function limitDensity(
  tau: Float64Array,
  gamma: number,
  eigenvalues: Float64Array,
): { grid: Float64Array; density: Float64Array; limitMass: number } {
  const [values, weights] = binned(tau, 200);
  const low = eigenvalues[0];
  const high = eigenvalues[eigenvalues.length - 1];
  const span = Math.max(high - low, 1e-12);
  const points = 400;
  const grid = Float64Array.from(
    { length: points },
    (_, k) => low - 0.25 * span + (1.5 * span * k) / (points - 1),
  );
  const density = new Float64Array(points);
  const eta = 1e-3 * span;
  // m = mr + i·mi; start at −1/z for the first point.
  let mr = -grid[0] / (grid[0] ** 2 + eta ** 2);
  let mi = eta / (grid[0] ** 2 + eta ** 2);
  for (let k = 0; k < points; k++) {
    const zr = grid[k];
    for (let iteration = 0; iteration < 3000; iteration++) {
      // E[τ/(1 + γτm)]
      let er = 0;
      let ei = 0;
      for (let b = 0; b < values.length; b++) {
        const t = values[b];
        const dr = 1 + gamma * t * mr;
        const di = gamma * t * mi;
        const q = weights[b] / (dr * dr + di * di);
        er += t * dr * q;
        ei -= t * di * q;
      }
      // 1/(−z + E) with −z = −zr − iη
      const ar = -zr + er;
      const ai = -eta + ei;
      const norm = ar * ar + ai * ai;
      const nr = ar / norm;
      const ni = -ai / norm;
      const change = Math.hypot(nr - mr, ni - mi);
      mr = 0.5 * mr + 0.5 * nr;
      mi = 0.5 * mi + 0.5 * ni;
      if (change < 1e-10 * Math.hypot(mr, mi)) break;
    }
    density[k] = Math.max(0, mi) / Math.PI;
  }
  let limitMass = 0;
  for (let k = 1; k < points; k++) {
    limitMass += ((density[k] + density[k - 1]) / 2) * (grid[k] - grid[k - 1]);
  }
  return { grid, density, limitMass };
}

/** `count` equal-width bins of the values: bin means and probabilities. */
function binned(values: Float64Array, count: number): [Float64Array, Float64Array] {
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    low = Math.min(low, v);
    high = Math.max(high, v);
  }
  const width = (high - low) / count || 1;
  const sums = new Float64Array(count);
  const counts = new Float64Array(count);
  for (const v of values) {
    const b = Math.min(count - 1, Math.floor((v - low) / width));
    sums[b] += v;
    counts[b] += 1;
  }
  const means: number[] = [];
  const weights: number[] = [];
  for (let b = 0; b < count; b++) {
    if (counts[b] === 0) continue;
    means.push(sums[b] / counts[b]);
    weights.push(counts[b] / values.length);
  }
  return [Float64Array.from(means), Float64Array.from(weights)];
}

/** sup over the eigenvalues of |F_emp − F_limit|, F_limit by the trapezoid rule, normalised to mass 1. */
function kolmogorovDistance(
  eigenvalues: Float64Array,
  grid: Float64Array,
  density: Float64Array,
): number {
  const cdf = new Float64Array(grid.length);
  for (let k = 1; k < grid.length; k++) {
    cdf[k] = cdf[k - 1] + ((density[k] + density[k - 1]) / 2) * (grid[k] - grid[k - 1]);
  }
  const mass = cdf[cdf.length - 1];
  const at = (lambda: number): number => {
    if (lambda <= grid[0]) return 0;
    if (lambda >= grid[grid.length - 1]) return 1;
    const step = grid[1] - grid[0];
    const k = Math.min(grid.length - 2, Math.floor((lambda - grid[0]) / step));
    const f = (lambda - grid[k]) / step;
    return (cdf[k] + f * (cdf[k + 1] - cdf[k])) / mass;
  };
  let worst = 0;
  const count = eigenvalues.length;
  for (const [k, lambda] of eigenvalues.entries()) {
    const limit = at(lambda);
    worst = Math.max(worst, Math.abs(k / count - limit), Math.abs((k + 1) / count - limit));
  }
  return worst;
}
