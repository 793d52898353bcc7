import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';
import { OptionError, SizeLimitError } from './errors.js';
import { show } from './options.js';
import { norm, scaleInPlace } from './vector.js';

/** Low bits of each 32-bit draw that {@link Random.rademacherVector} skips. */
const SKIPPED_LOW_BITS = 4;

/** Signs {@link Random.rademacherVector} takes from each 32-bit draw. */
export const SIGNS_PER_DRAW = 32 - SKIPPED_LOW_BITS;

/**
 * The project's seeded random generator (xoroshiro128+ from `pure-rand`). The same seed gives
 * bit-identical streams on every platform; nothing here reads `Math.random` or any global state
 * (docs/design.md, decision 3).
 *
 * @example
 * ```ts
 * const rng = createRandom(42);
 * const z = rng.rademacherVector(1000); // entries ±1
 * ```
 */
export class Random {
  readonly #generator: JumpableRandomGenerator;
  #spareGaussian: number | undefined;
  /** (u, v) of the last accepted polar-method point: the pair of normals is f·u, f·v. */
  #pairFirst = 0;
  #pairSecond = 0;

  /**
   * @param generator - a jumpable pure-rand generator; use {@link createRandom} to get one.
   * @throws {@link @hessian-probe/core!index.OptionError | OptionError} when `generator` lacks
   *   `next`, `clone` or `jump`.
   */
  constructor(generator: JumpableRandomGenerator) {
    const ok =
      typeof generator === 'object' &&
      generator !== null &&
      ['next', 'clone', 'jump'].every(
        (method) => typeof (generator as unknown as Record<string, unknown>)[method] === 'function',
      );
    if (!ok) {
      throw new OptionError(
        `Random: expected generator to be a jumpable pure-rand generator (next, clone, jump), got ${show(generator)}; use createRandom(seed)`,
      );
    }
    this.#generator = generator;
  }

  /** Uniform on [0, 1), 53 random bits (two 32-bit draws). */
  uniform(): number {
    return uniformFloat64(this.#generator);
  }

  /**
   * Standard normal N(0, 1) by Marsaglia's polar method (Marsaglia & Bray 1964; Knuth, TAOCP
   * vol. 2, §3.4.1, Algorithm P): (u, v) uniform on the square (−1, 1)², 53 bits each, until
   * s = u² + v² lies in (0, 1) (probability π/4); then u·f and v·f with f = √(−2 ln s / s) are
   * two independent standard normals. It replaces Box–Muller's sine and cosine by the rejection
   * and costs one logarithm, one square root and one division per pair. The second normal of a
   * pair is kept for the next call, so the stream of values does not depend on how it is split
   * into calls of `gaussian` and `gaussianVector`.
   */
  gaussian(): number {
    const spare = this.#spareGaussian;
    if (spare !== undefined) {
      this.#spareGaussian = undefined;
      return spare;
    }
    const f = this.#polarPair();
    this.#spareGaussian = f * this.#pairSecond;
    return f * this.#pairFirst;
  }

  /**
   * Draws (u, v) uniform in the unit disc without its centre into #pairFirst and #pairSecond;
   * returns f = √(−2 ln s / s).
   */
  #polarPair(): number {
    const g = this.#generator;
    for (;;) {
      // 2·uniform − 1 is exact: multiples of 2^-52 in [−1, 1); s < 1 rejects u = −1 or v = −1,
      // so the accepted u and v are symmetric about 0.
      const u = 2 * uniformFloat64(g) - 1;
      const v = 2 * uniformFloat64(g) - 1;
      const s = u * u + v * v;
      if (s < 1 && s > 0) {
        this.#pairFirst = u;
        this.#pairSecond = v;
        return Math.sqrt((-2 * Math.log(s)) / s);
      }
    }
  }

  /** +1 or −1 with equal probability (the sign bit of one 32-bit draw). */
  rademacher(): number {
    return this.#generator.next() < 0 ? -1 : 1;
  }

  /**
   * A vector of `n` independent N(0, 1) entries: the same values as `n` calls of
   * {@link Random.gaussian}, generated a pair at a time.
   */
  gaussianVector(n: number): Float64Array {
    const out = allocate('Random.gaussianVector', n);
    let i = 0;
    if (n > 0 && this.#spareGaussian !== undefined) {
      out[0] = this.#spareGaussian;
      this.#spareGaussian = undefined;
      i = 1;
    }
    for (; i + 1 < n; i += 2) {
      const f = this.#polarPair();
      out[i] = f * this.#pairFirst;
      out[i + 1] = f * this.#pairSecond;
    }
    if (i < n) out[i] = this.gaussian();
    return out;
  }

  /**
   * A vector of `n` independent ±1 entries, 28 of them from each 32-bit draw (bits 4 to 31,
   * lowest first; leftover bits of the last draw are discarded). A draw is the low half of
   * xoroshiro128+'s 64-bit output, whose four lowest bits have low linear complexity (bit 0 is
   * a linear-feedback shift register) and may fail linearity tests, while the others pass
   * every test (Blackman & Vigna 2021, "Scrambled linear pseudorandom number generators", ACM
   * TOMS 47(4)): those four are skipped. A different stream from `n` calls of
   * {@link Random.rademacher}, which uses one draw each.
   */
  rademacherVector(n: number): Float64Array {
    const out = allocate('Random.rademacherVector', n);
    const g = this.#generator;
    let i = 0;
    while (i < n) {
      let bits = g.next() >>> SKIPPED_LOW_BITS;
      const stop = Math.min(n, i + SIGNS_PER_DRAW);
      for (; i < stop; i++) {
        out[i] = 1 - 2 * (bits & 1);
        bits >>>= 1;
      }
    }
    return out;
  }

  /**
   * A vector drawn uniformly from the unit sphere in R^n (normalized Gaussian), n >= 1 (R^0 has
   * no unit vector: the draw would never end).
   */
  unitVector(n: number): Float64Array {
    checkLength('Random.unitVector', n, 1);
    for (;;) {
      const v = this.gaussianVector(n);
      const size = norm(v);
      if (size > 0) return scaleInPlace(1 / size, v);
    }
  }

  /**
   * An independent generator: this one's stream jumped 2^64 draws ahead, so that, e.g., each
   * probe of an estimator has its own stream no matter how many numbers another probe used.
   */
  split(): Random {
    const child = this.#generator.clone() as JumpableRandomGenerator;
    child.jump();
    // Advance this generator past the child's start as well, so that successive splits differ.
    this.#generator.jump();
    this.#generator.jump();
    return new Random(child);
  }
}

/** Checks a vector length for `where`: a safe integer >= `min`, else an {@link OptionError}. */
function checkLength(where: string, n: number, min: number): void {
  if (!Number.isSafeInteger(n) || n < min) {
    throw new OptionError(`${where}: expected n to be an integer >= ${min}, got ${show(n)}`);
  }
}

/**
 * A zero vector of length `n` for `where`, checked ({@link checkLength}); a length the engine
 * cannot allocate (its RangeError) becomes a {@link SizeLimitError}.
 */
function allocate(where: string, n: number): Float64Array {
  checkLength(where, n, 0);
  try {
    return new Float64Array(n);
  } catch (cause) {
    throw new SizeLimitError(
      `${where}: expected a length that can be allocated, got n = ${n} (${8 * n} bytes): ${String(cause)}`,
    );
  }
}

/**
 * Creates the project's seeded generator.
 *
 * @param seed - any safe integer; the same seed gives the same stream.
 * @throws {@link OptionError} when `seed` is not a safe integer.
 */
export function createRandom(seed: number): Random {
  checkSeed(seed, 'createRandom');
  // xoroshiro128plus(seed) starts from the state (−1, ~seed, seed, 0), whose first outputs
  // are far from uniform for small seeds (seed 5 first gives u ≈ 1 − 8e-8, a 5.7σ Gaussian).
  // One jump (2^64 draws ahead) mixes the state before the first draw.
  const generator = xoroshiro128plus(seed);
  generator.jump();
  return new Random(generator);
}

/** Throws an {@link OptionError} naming `where` unless `seed` is a safe integer. */
export function checkSeed(seed: number, where: string): void {
  if (!Number.isSafeInteger(seed)) {
    throw new OptionError(`${where}: expected seed to be a safe integer, got ${show(seed)}`);
  }
}
