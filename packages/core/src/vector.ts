/**
 * Float64 vector kernels shared by the Krylov methods and estimators: plain loops over
 * `Float64Array`, unrolled by four. At 100k entries a kernel streams its operands from the
 * cache or memory; four independent accumulators let the additions of a reduction overlap
 * (a single accumulator serialises them on the floating-point add latency), which makes `dot`
 * and `norm` about twice as fast. The summation order differs from a left-to-right sum, with
 * the same error bound (each partial sum is a sum of ⌈n/4⌉ terms).
 */

/** Inner product xᵀy. */
export function dot(x: Float64Array, y: Float64Array): number {
  const n = x.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += x[i] * y[i];
    s1 += x[i + 1] * y[i + 1];
    s2 += x[i + 2] * y[i + 2];
    s3 += x[i + 3] * y[i + 3];
  }
  for (; i < n; i++) s0 += x[i] * y[i];
  return s0 + s1 + (s2 + s3);
}

/**
 * Below this, a sum of squares may have lost relative accuracy to underflow: each of the n
 * squares that underflow (|x_i| < 2^-511) is off by at most 2^-1022 in absolute terms, so the
 * sum is off by at most n·2^-1022 <= 2^53·2^-1022 = 2^-969 (a typed array has fewer than 2^53
 * entries), and above 2^-969/ε = 2^-917 that is below one rounding error ε = 2^-52 of the sum.
 */
const SQUARES_UNDERFLOW = 2 ** -917;

/**
 * Euclidean norm ‖x‖₂, accurate to a few ulps whatever the magnitude of the entries: the
 * plain sum of squares (one pass), and, only when that sum overflowed (to +Inf), may have lost
 * accuracy to underflow (below 2^-917), or is NaN, a second computation scaled by max|x_i|.
 * NaN when an entry is NaN, +Inf when one is infinite (and none is NaN).
 */
export function norm(x: Float64Array): number {
  const n = x.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const a = x[i];
    const b = x[i + 1];
    const c = x[i + 2];
    const d = x[i + 3];
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += d * d;
  }
  for (; i < n; i++) s0 += x[i] * x[i];
  return normFromSquares(x, s0 + s1 + (s2 + s3));
}

/**
 * ‖x‖₂ from a sum of squares `squares` = Σ x_i² that the caller computed along with other
 * work (in any order): its square root when it is as accurate as {@link norm}'s (neither
 * overflowed nor below the underflow threshold), else {@link norm}(x).
 */
export function normFromSquares(x: Float64Array, squares: number): number {
  if (squares >= SQUARES_UNDERFLOW && squares < Number.POSITIVE_INFINITY) {
    return Math.sqrt(squares);
  }
  return scaledNorm(x);
}

/** ‖x‖₂ computed as max|x_i|·‖x / max|x_i|‖₂: no overflow or harmful underflow. */
function scaledNorm(x: Float64Array): number {
  let scale = 0;
  for (let i = 0; i < x.length; i++) scale = Math.max(scale, Math.abs(x[i]));
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const t = x[i] / scale;
    s += t * t;
  }
  return scale * Math.sqrt(s);
}

/** y ← y + a·x, in place; returns y. */
export function axpy(a: number, x: Float64Array, y: Float64Array): Float64Array {
  const n = x.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    y[i] += a * x[i];
    y[i + 1] += a * x[i + 1];
    y[i + 2] += a * x[i + 2];
    y[i + 3] += a * x[i + 3];
  }
  for (; i < n; i++) y[i] += a * x[i];
  return y;
}

/** x ← a·x, in place; returns x. */
export function scaleInPlace(a: number, x: Float64Array): Float64Array {
  const n = x.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    x[i] *= a;
    x[i + 1] *= a;
    x[i + 2] *= a;
    x[i + 3] *= a;
  }
  for (; i < n; i++) x[i] *= a;
  return x;
}

/** True when every entry is finite (no NaN, no ±Inf). */
export function allFinite(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/**
 * out[i] = v_iᵀw for each of `vectors`, four vectors per pass over w (BLAS-2 shaped: w is read
 * once per group of four, each accumulator independent, so the additions overlap). At a
 * million entries this is about three times faster than four separate {@link dot} calls, which
 * re-read w each time (measured in `pnpm bench:core`).
 */
export function dotProducts(
  vectors: readonly Float64Array[],
  w: Float64Array,
  out: Float64Array,
): void {
  const size = w.length;
  const count = vectors.length;
  for (let r = 0; r < count; r += 4) {
    // A group of fewer than four repeats its first vector; the extra sums are discarded.
    const v0 = vectors[r];
    const v1 = r + 1 < count ? vectors[r + 1] : v0;
    const v2 = r + 2 < count ? vectors[r + 2] : v0;
    const v3 = r + 3 < count ? vectors[r + 3] : v0;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let i = 0; i < size; i++) {
      const x = w[i];
      s0 += v0[i] * x;
      s1 += v1[i] * x;
      s2 += v2[i] * x;
      s3 += v3[i] * x;
    }
    out[r] = s0;
    if (r + 1 < count) out[r + 1] = s1;
    if (r + 2 < count) out[r + 2] = s2;
    if (r + 3 < count) out[r + 3] = s3;
  }
}

/**
 * w ← w − Σ_i c_i v_i, four vectors per pass over w, and returns ‖w‖ afterwards (its sum of
 * squares accumulated in the last pass; see {@link normFromSquares}).
 */
export function subtractCombination(
  vectors: readonly Float64Array[],
  c: Float64Array,
  w: Float64Array,
): number {
  const size = w.length;
  const count = vectors.length;
  let squares = 0;
  for (let r = 0; r < count; r += 4) {
    // A group of fewer than four repeats its first vector with coefficient 0.
    const v0 = vectors[r];
    const v1 = r + 1 < count ? vectors[r + 1] : v0;
    const v2 = r + 2 < count ? vectors[r + 2] : v0;
    const v3 = r + 3 < count ? vectors[r + 3] : v0;
    const c0 = c[r];
    const c1 = r + 1 < count ? c[r + 1] : 0;
    const c2 = r + 2 < count ? c[r + 2] : 0;
    const c3 = r + 3 < count ? c[r + 3] : 0;
    if (r + 4 < count) {
      for (let i = 0; i < size; i++) w[i] -= c0 * v0[i] + c1 * v1[i] + (c2 * v2[i] + c3 * v3[i]);
    } else {
      for (let i = 0; i < size; i++) {
        const x = w[i] - (c0 * v0[i] + c1 * v1[i] + (c2 * v2[i] + c3 * v3[i]));
        w[i] = x;
        squares += x * x;
      }
    }
  }
  return count === 0 ? norm(w) : normFromSquares(w, squares);
}

/**
 * Removes from `w`, in place, its components along the orthonormal `vectors` by classical
 * Gram–Schmidt, c = Vᵀw then w ← w − Vc ({@link dotProducts}, {@link subtractCombination}),
 * adding each pass's c into `coefficients` when given. A pass is repeated while it cancels more
 * than 1 − 1/√2 of the norm (the DGKS criterion: Daniel, Gragg, Kaufman & Stewart 1976, as in
 * ARPACK), at most three times: two passes of classical Gram–Schmidt leave w orthogonal to
 * working precision whenever it is not numerically in the span ("twice is enough": Giraud,
 * Langou, Rozložník & van den Eshof 2005). Returns ‖w‖ afterwards, 0 when `w` is numerically
 * in the span of `vectors`.
 *
 * @param before - ‖w‖ when the caller has it (computed otherwise).
 */
export function projectOut(
  w: Float64Array,
  vectors: readonly Float64Array[],
  coefficients?: Float64Array,
  before: number = norm(w),
): number {
  if (vectors.length === 0) return before;
  const pass = new Float64Array(vectors.length);
  for (let round = 0; round < 3 && before > 0; round++) {
    dotProducts(vectors, w, pass);
    const after = subtractCombination(vectors, pass, w);
    if (coefficients) for (let i = 0; i < pass.length; i++) coefficients[i] += pass[i];
    if (after > Math.SQRT1_2 * before) return after;
    before = after;
  }
  return 0;
}

/**
 * Removes from `w` its components along the orthonormal vectors `basis`, in place (blocked
 * classical Gram–Schmidt with reorthogonalisation, {@link projectOut}). Returns ‖w‖ after the
 * projection (0 when `w` lay in the span). At a million entries one pass costs about 1.7 ms per
 * basis vector on this project's machines: it streams every basis vector from memory twice.
 */
export function orthogonalizeAgainst(w: Float64Array, basis: readonly Float64Array[]): number {
  return projectOut(w, basis);
}

/**
 * Orthonormal basis of the span of `columns` (thin QR by Gram–Schmidt with reorthogonalisation).
 * Columns that are (numerically) in the span of the earlier ones are dropped, so the result may
 * have fewer vectors than the input.
 *
 * @param dropTolerance - a column is dropped when its norm after orthogonalisation is below
 *   `dropTolerance` times its norm before (default 1e-10).
 */
export function orthonormalBasis(
  columns: readonly Float64Array[],
  dropTolerance = 1e-10,
): Float64Array[] {
  const basis: Float64Array[] = [];
  for (const column of columns) {
    const w = Float64Array.from(column);
    const before = norm(w);
    if (before === 0) continue;
    const after = orthogonalizeAgainst(w, basis);
    if (after > dropTolerance * before) basis.push(scaleInPlace(1 / after, w));
  }
  return basis;
}
