/**
 * Float64 vector kernels shared by the Krylov methods and estimators. Plain loops over
 * `Float64Array`: they are a small fraction of an HVP's cost for any real model.
 */

/** Inner product xᵀy. */
export function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/** Euclidean norm ‖x‖₂, scaled to avoid overflow and underflow. */
export function norm(x: Float64Array): number {
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
  for (let i = 0; i < x.length; i++) y[i] += a * x[i];
  return y;
}

/** x ← a·x, in place; returns x. */
export function scaleInPlace(a: number, x: Float64Array): Float64Array {
  for (let i = 0; i < x.length; i++) x[i] *= a;
  return x;
}

/** True when every entry is finite (no NaN, no ±Inf). */
export function allFinite(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/**
 * Removes from `w` its components along the orthonormal vectors `basis`, in place, by classical
 * Gram–Schmidt with the DGKS correction (Daniel, Gragg, Kaufman & Stewart 1976, as in ARPACK):
 * a second pass runs only when the first shrank ‖w‖ below 1/√2 of its size, which is when
 * cancellation could have left w visibly non-orthogonal. Returns ‖w‖ after the projection.
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
