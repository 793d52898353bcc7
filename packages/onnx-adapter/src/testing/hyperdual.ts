/**
 * Hyper-dual numbers in float64 (Fike & Alonso 2011, "The development of hyper-dual numbers
 * for exact second-derivative calculations", AIAA 2011-886): x = f + a·ε₁ + b·ε₂ + c·ε₁ε₂ with
 * ε₁² = ε₂² = 0. Evaluating a function with parameter i seeded in ε₁ and parameter j in ε₂ gives
 * ∂²f/∂θᵢ∂θⱼ exactly (no step, no cancellation) in the ε₁ε₂ part: the float64 reference the
 * converted graphs' Hessians are held to.
 */

/** A hyper-dual number f + a·ε₁ + b·ε₂ + c·ε₁ε₂. */
export interface Dual {
  readonly f: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/** The constant `v` (no ε parts). */
export const constant = (v: number): Dual => ({ f: v, a: 0, b: 0, c: 0 });

/** x + y. */
export const add = (x: Dual, y: Dual): Dual => ({
  f: x.f + y.f,
  a: x.a + y.a,
  b: x.b + y.b,
  c: x.c + y.c,
});

/** x − y. */
export const sub = (x: Dual, y: Dual): Dual => ({
  f: x.f - y.f,
  a: x.a - y.a,
  b: x.b - y.b,
  c: x.c - y.c,
});

/** x · y (the ε₁ε₂ part collects the cross terms a·b′ + b·a′). */
export const mul = (x: Dual, y: Dual): Dual => ({
  f: x.f * y.f,
  a: x.f * y.a + x.a * y.f,
  b: x.f * y.b + x.b * y.f,
  c: x.f * y.c + x.a * y.b + x.b * y.a + x.c * y.f,
});

/** x · k for a float64 constant k. */
export const scale = (x: Dual, k: number): Dual => ({
  f: x.f * k,
  a: x.a * k,
  b: x.b * k,
  c: x.c * k,
});

/**
 * g(x) for a scalar function with value `g0`, first derivative `g1` and second `g2` at x.f:
 * g0 + g1·(a ε₁ + b ε₂) + (g1·c + g2·a·b) ε₁ε₂.
 */
export function lift(x: Dual, g0: number, g1: number, g2: number): Dual {
  return { f: g0, a: g1 * x.a, b: g1 * x.b, c: g1 * x.c + g2 * x.a * x.b };
}

/** 1 / x. */
export const recip = (x: Dual): Dual => lift(x, 1 / x.f, -1 / x.f ** 2, 2 / x.f ** 3);
/** x / y. */
export const div = (x: Dual, y: Dual): Dual => mul(x, recip(y));
/** eˣ. */
export const exp = (x: Dual): Dual => {
  const e = Math.exp(x.f);
  return lift(x, e, e, e);
};
/** ln x. */
export const log = (x: Dual): Dual => lift(x, Math.log(x.f), 1 / x.f, -1 / x.f ** 2);
/** √x. */
export const sqrt = (x: Dual): Dual => {
  const s = Math.sqrt(x.f);
  return lift(x, s, 0.5 / s, -0.25 / (s * x.f));
};
/** tanh x. */
export const tanh = (x: Dual): Dual => {
  const t = Math.tanh(x.f);
  return lift(x, t, 1 - t * t, -2 * t * (1 - t * t));
};

/**
 * erf in float64 to ~1e-15: its Maclaurin series for |x| < 2.5 (terms below 20 in size, so
 * cancellation costs at most two digits), else 1 − erfc(x) from erfc's continued fraction
 * (modified Lentz), which converges fast there.
 */
export function erf64(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(z) = exp(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))).
  const tiny = 1e-300;
  let f = ax;
  let C = ax;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const an = n / 2;
    D = ax + an * D;
    D = 1 / (Math.abs(D) < tiny ? tiny : D);
    C = ax + an / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  return Math.sign(x) * (1 - erfc);
}

/** erf x, value from {@link erf64}, derivatives (2/√π)e^{−x²} and −2x times that. */
export const erf = (x: Dual): Dual => {
  const d = (2 / Math.sqrt(Math.PI)) * Math.exp(-x.f * x.f);
  return lift(x, erf64(x.f), d, -2 * x.f * d);
};

/** Σ of the values. */
export function sum(xs: readonly Dual[]): Dual {
  return xs.reduce(add, constant(0));
}

/** Softmax cross-entropy of logits `z` for class `y`: log Σ exp(z) − z_y (shifted by max z). */
export function crossEntropy(z: readonly Dual[], y: number): Dual {
  const m = Math.max(...z.map((v) => v.f));
  const logSum = add(log(sum(z.map((v) => exp(sub(v, constant(m)))))), constant(m));
  return sub(logSum, z[y]);
}

/** Softmax of `z` (entries that are undefined are masked out: probability 0). */
export function softmax(z: readonly (Dual | undefined)[]): (Dual | undefined)[] {
  const kept = z.filter((v): v is Dual => v !== undefined);
  const m = Math.max(...kept.map((v) => v.f));
  const e = z.map((v) => (v === undefined ? undefined : exp(sub(v, constant(m)))));
  const total = sum(e.filter((v): v is Dual => v !== undefined));
  return e.map((v) => (v === undefined ? undefined : div(v, total)));
}

/**
 * The dense Hessian (row-major, float64) of `loss` at `theta`: entry (i, j) is the ε₁ε₂ part
 * of `loss` with θᵢ seeded in ε₁ and θⱼ in ε₂ (n(n + 1)/2 evaluations, mirrored).
 */
export function hyperDualHessian(
  theta: ArrayLike<number>,
  loss: (params: readonly Dual[]) => Dual,
): Float64Array {
  const n = theta.length;
  const h = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const params = Array.from(theta, (v, k) => ({
        f: v,
        a: k === i ? 1 : 0,
        b: k === j ? 1 : 0,
        c: 0,
      }));
      const value = loss(params).c;
      h[i * n + j] = value;
      h[j * n + i] = value;
    }
  }
  return h;
}
