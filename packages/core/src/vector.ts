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
 * Removes from `w` its components along the orthonormal vectors `basis`, in place, by
 * Gram–Schmidt (one vector at a time, each coefficient taken against the updated w) with the
 * DGKS correction (Daniel, Gragg, Kaufman & Stewart 1976, as in ARPACK): a second pass runs
 * only when the first shrank ‖w‖ below 1/√2 of its size, which is when cancellation could have
 * left w visibly non-orthogonal. Returns ‖w‖ after the projection. Cost: one `dot` and one
 * `axpy` per basis vector and pass; at 100k entries a pass streams every basis vector from
 * memory twice, so it is bound by memory bandwidth (fusing the two loops measured no faster).
 */
export function orthogonalizeAgainst(w: Float64Array, basis: readonly Float64Array[]): number {
  let before = norm(w);
  for (let pass = 0; pass < 2; pass++) {
    for (const q of basis) axpy(-dot(q, w), q, w);
    const after = norm(w);
    if (after > Math.SQRT1_2 * before) return after;
    before = after;
  }
  return before;
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
