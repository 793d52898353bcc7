/** A least-squares power law y ≈ a·x^b fitted in log–log space: {@link fitPowerLaw}. */
export interface PowerLaw {
  /** Prefactor a. */
  a: number;
  /** Exponent b. */
  b: number;
  /** Standard error of b from the residuals (NaN with fewer than 3 points). */
  bStderr: number;
  /** Points used (those with x > 0 and finite y > 0). */
  points: number;
}

/**
 * Fits log y = log a + b log x by ordinary least squares over the points with x > 0 and a
 * finite y > 0; the standard error of b is √(RSS/(n − 2) / Σ(log x − mean)²). Returns NaNs with
 * fewer than 2 usable points (for example a ratio that is exactly 0 for every C).
 *
 * @example
 * ```ts
 * fitPowerLaw([2, 4, 8], [1, 1 / 3, 1 / 7]); // b ≈ −1.4: 1/(C − 1) is not a pure power law
 * ```
 */
export function fitPowerLaw(xs: readonly number[], ys: readonly number[]): PowerLaw {
  const points: [number, number][] = [];
  for (const [i, x] of xs.entries()) {
    const y = ys[i];
    if (x > 0 && Number.isFinite(y) && y > 0) points.push([Math.log(x), Math.log(y)]);
  }
  const n = points.length;
  if (n < 2) return { a: Number.NaN, b: Number.NaN, bStderr: Number.NaN, points: n };
  const meanX = points.reduce((s, [u]) => s + u, 0) / n;
  const meanY = points.reduce((s, [, v]) => s + v, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const [u, v] of points) {
    sxx += (u - meanX) ** 2;
    sxy += (u - meanX) * (v - meanY);
  }
  const b = sxy / sxx;
  const intercept = meanY - b * meanX;
  let rss = 0;
  for (const [u, v] of points) rss += (v - intercept - b * u) ** 2;
  return {
    a: Math.exp(intercept),
    b,
    bStderr: n < 3 ? Number.NaN : Math.sqrt(rss / (n - 2) / sxx),
    points: n,
  };
}
