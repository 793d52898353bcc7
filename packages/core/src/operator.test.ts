import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { denseMatrix } from './dense.js';
import { spectralDensity } from './density.js';
import { topEigenpairs } from './eigenpairs.js';
import {
  DimensionError,
  LayoutError,
  MatvecError,
  SizeLimitError,
  SymmetryError,
} from './errors.js';
import { lanczos } from './lanczos.js';
import { layoutFromSizes } from './layout.js';
import {
  checkedMatvec,
  denseOperator,
  FLOAT32_PRECISION,
  FLOAT64_PRECISION,
  type LinearOperator,
  operatorPrecision,
  restrictOperator,
  scaleOperator,
  shiftOperator,
} from './operator.js';
import { createRandom } from './random.js';
import { arithmeticTolerance, checkOperatorContract } from './testing/operator-contract.js';
import { conjugatedSpectrum, hessianLikeSpectrum } from './testing/spectra.js';
import { estimateDiagonal, estimateTrace } from './trace.js';

function randomSymmetric(n: number, seed: number): Float64Array {
  const rng = createRandom(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const x = rng.gaussian();
      a[i * n + j] = x;
      a[j * n + i] = x;
    }
  }
  return a;
}

describe('denseOperator', () => {
  it('meets the operator contract against its own matrix', async () => {
    const a = randomSymmetric(40, 1);
    const worst = await checkOperatorContract(denseOperator(a, 40), a, {
      tolerance: arithmeticTolerance.float64,
    });
    expect(worst).toBeLessThan(arithmeticTolerance.float64);
  });

  it('copies the matrix, so later changes do not leak in', async () => {
    const a = Float64Array.of(1, 0, 0, 1);
    const op = denseOperator(a, 2);
    a[0] = 100;
    expect(Array.from(await op.matvec(Float64Array.of(1, 0)))).toEqual([1, 0]);
  });

  it('says where a matrix is not symmetric', () => {
    const a = randomSymmetric(5, 2);
    a[1 * 5 + 3] += 1e-3;
    const error = (() => {
      try {
        denseOperator(a, 5);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SymmetryError);
    expect(error).toMatchObject({ row: 1, column: 3 });
    expect((error as Error).message).toMatch(/got a_1,3 = .* vs a_3,1 = /);
  });

  it('accepts asymmetry within a stated tolerance', () => {
    const a = randomSymmetric(5, 2);
    a[1] += 1e-9;
    expect(() => denseOperator(a, 5)).toThrow(SymmetryError);
    expect(() => denseOperator(a, 5, { symmetryTolerance: 1e-6 })).not.toThrow();
  });

  it('rejects wrong sizes, non-finite entries and wrong vector lengths', async () => {
    expect(() => denseOperator(new Float64Array(5), 2)).toThrow(
      'denseOperator: expected a matrix of 2×2 = 4 entries, got 5',
    );
    expect(() => denseOperator(Float64Array.of(1, Number.POSITIVE_INFINITY, 0, 1), 2)).toThrow(
      /expected finite entries, got Infinity at \(0, 1\)/,
    );
    await expect(denseOperator(Float64Array.of(1), 1).matvec(new Float64Array(2))).rejects.toThrow(
      DimensionError,
    );
  });
});

describe('operator helpers', () => {
  const n = 12;
  const a = randomSymmetric(n, 3);
  const op = denseOperator(a, n);

  it('scaleOperator and shiftOperator meet the contract against c·A and A + sI', async () => {
    const scaled = a.map((x) => -2.5 * x);
    await checkOperatorContract(scaleOperator(op, -2.5), scaled, {
      tolerance: arithmeticTolerance.float64,
    });
    const shifted = Float64Array.from(a);
    for (let i = 0; i < n; i++) shifted[i * n + i] += 0.75;
    await checkOperatorContract(shiftOperator(op, 0.75), shifted, {
      tolerance: arithmeticTolerance.float64,
    });
  });

  it('restrictOperator is the diagonal block A_bb', async () => {
    const layout = layoutFromSizes([
      { name: 'w', size: 5 },
      { name: 'b', size: 4 },
      { name: 'c', size: 3 },
    ]);
    const block = new Float64Array(16);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++) block[i * 4 + j] = a[(5 + i) * n + 5 + j];
    const restricted = restrictOperator(op, layout, 'b');
    expect(restricted.dim).toBe(4);
    await checkOperatorContract(restricted, block, { tolerance: arithmeticTolerance.float64 });
    expect(() => restrictOperator(op, layout, 'nope')).toThrow(LayoutError);
    expect(() => restrictOperator(op, layoutFromSizes([{ name: 'x', size: 3 }]), 'x')).toThrow(
      DimensionError,
    );
  });

  it('property: (A + sI)·v = A·v + s·v and (cA)·v = c·(A·v) for any finite c, s, v', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: -1e3, max: 1e3, noNaN: true }),
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: n, maxLength: n }),
        async (c, values) => {
          const v = Float64Array.from(values);
          const av = await op.matvec(v);
          const shifted = await shiftOperator(op, c).matvec(v);
          const scaled = await scaleOperator(op, c).matvec(v);
          for (let i = 0; i < n; i++) {
            expect(shifted[i]).toBe(av[i] + c * v[i]);
            expect(scaled[i]).toBe(c * av[i]);
          }
        },
      ),
      { numRuns: 50, seed: 11 },
    );
  });

  it('rejects non-finite factors and shifts', () => {
    expect(() => scaleOperator(op, Number.NaN)).toThrow(DimensionError);
    expect(() => shiftOperator(op, Number.POSITIVE_INFINITY)).toThrow(DimensionError);
  });
});

describe('checkedMatvec', () => {
  const identity: LinearOperator = { dim: 3, matvec: async (v) => Float64Array.from(v) };

  it('passes good products through', async () => {
    const out = await checkedMatvec(identity, Float64Array.of(1, 2, 3), 'test', 0);
    expect(Array.from(out)).toEqual([1, 2, 3]);
  });

  it('turns a wrong length, a NaN or a throw into a MatvecError naming algorithm and step', async () => {
    const short: LinearOperator = { dim: 3, matvec: async () => new Float64Array(2) };
    await expect(checkedMatvec(short, new Float64Array(3), 'algo', 4)).rejects.toThrow(
      'algo: expected matvec at step 4 to return a Float64Array of length 3, got length 2',
    );
    const nan: LinearOperator = { dim: 3, matvec: async () => Float64Array.of(0, Number.NaN, 0) };
    await expect(checkedMatvec(nan, new Float64Array(3), 'algo', 1)).rejects.toThrow(MatvecError);
    const cause = new Error('out of memory');
    const throwing: LinearOperator = {
      dim: 3,
      matvec: async () => {
        throw cause;
      },
    };
    const error = await checkedMatvec(throwing, new Float64Array(3), 'algo', 2).catch((e) => e);
    expect(error).toMatchObject({ algorithm: 'algo', step: 2, cause });
  });
});

describe('checkedMatvec: operators that break the contract', () => {
  // A Hessian-like spectrum: trace ≈ 21 (outliers 1..10 and a bulk around 0), dimension 60.
  const n = 60;
  const values = hessianLikeSpectrum(n, { outliers: 4, seed: 3 });
  const exact = denseOperator(conjugatedSpectrum(values, 4).matrix, n, {
    symmetryTolerance: 1e-10,
  });
  const trace = values.reduce((sum, x) => sum + x, 0);

  /** (a) Writes into the vector it receives: scales it by 1000 after computing A·v. */
  const scribbler: LinearOperator = {
    dim: n,
    async matvec(v) {
      const out = await exact.matvec(v);
      for (let i = 0; i < v.length; i++) v[i] *= 1000;
      return out;
    },
  };
  /** (b) Returns the same Float64Array object on every call, overwritten by the next product. */
  const reusing = (): LinearOperator => {
    const out = new Float64Array(n);
    return {
      dim: n,
      async matvec(v) {
        out.set(await exact.matvec(v));
        return out;
      },
    };
  };

  it('hands the operator a copy: an operator writing into its input changes no result', async () => {
    const v = createRandom(1).gaussianVector(n);
    const before = Float64Array.from(v);
    const out = await checkedMatvec(scribbler, v, 'test', 0);
    expect(v).toEqual(before);
    expect(out).toEqual(await exact.matvec(before));
    for (const method of ['hutch++', 'hutchinson'] as const) {
      const wrong = await estimateTrace(scribbler, { matvecs: 30, method, seed: 2 });
      const right = await estimateTrace(exact, { matvecs: 30, method, seed: 2 });
      expect(wrong).toEqual(right);
      expect(Math.abs(right.estimate - trace)).toBeLessThan(4 * right.stderr + 1e-9);
    }
    expect(await lanczos(scribbler, { steps: 20, seed: 1 })).toEqual(
      await lanczos(exact, { steps: 20, seed: 1 }),
    );
    expect(await topEigenpairs(scribbler, { k: 2, seed: 1 })).toEqual(
      await topEigenpairs(exact, { k: 2, seed: 1 }),
    );
    // denseMatrix reuses its unit vector from column to column.
    expect(await denseMatrix(scribbler)).toEqual(await denseMatrix(exact));
    expect(await estimateDiagonal(scribbler, { matvecs: 5 })).toEqual(
      await estimateDiagonal(exact, { matvecs: 5 }),
    );
  });

  it('refuses a result whose buffer an earlier product returned, naming both steps', async () => {
    await expect(checkedMatvec(reusing(), new Float64Array(n), 'test', 0)).resolves.toBeInstanceOf(
      Float64Array,
    );
    const error = await estimateTrace(reusing(), { matvecs: 30, method: 'hutch++' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MatvecError);
    expect(error).toMatchObject({ algorithm: 'estimateTrace', step: 1 });
    expect((error as Error).message).toMatch(
      /^estimateTrace: expected matvec at step 1 to return a new Float64Array, got the buffer it returned at estimateTrace step 0 /,
    );
    for (const run of [
      (op: LinearOperator) => lanczos(op, { steps: 10 }),
      (op: LinearOperator) => topEigenpairs(op, { k: 1 }),
      (op: LinearOperator) => spectralDensity(op, { probes: 1, steps: 10 }),
      (op: LinearOperator) => estimateDiagonal(op, { matvecs: 3 }),
      (op: LinearOperator) => denseMatrix(op),
    ]) {
      await expect(run(reusing())).rejects.toThrow(/to return a new Float64Array/);
    }
    // Another view of one buffer is the same memory.
    const shared = new ArrayBuffer(8 * n);
    const views: LinearOperator = {
      dim: n,
      async matvec(v) {
        const out = new Float64Array(shared);
        out.set(await exact.matvec(v));
        return out;
      },
    };
    await expect(lanczos(views, { steps: 5 })).rejects.toThrow(
      'lanczos: expected matvec at step 1 to return a new Float64Array, got the buffer it returned at lanczos step 0',
    );
  });

  it('accepts an operator that returns its argument (the copy it was given)', async () => {
    const identity: LinearOperator = { dim: n, matvec: async (v) => v };
    const { estimate, stderr } = await estimateTrace(identity, {
      matvecs: 20,
      method: 'hutchinson',
    });
    expect(estimate).toBe(n);
    expect(stderr).toBe(0);
  });
});

describe('denseMatrix', () => {
  it('assembles the matrix of an operator from unit vectors', async () => {
    const a = randomSymmetric(9, 5);
    expect(await denseMatrix(denseOperator(a, 9))).toEqual(a);
  });

  it('refuses dimensions above maxDim before any matvec', async () => {
    let calls = 0;
    const op: LinearOperator = {
      dim: 10,
      async matvec(v) {
        calls++;
        return v;
      },
    };
    await expect(denseMatrix(op, { maxDim: 9 })).rejects.toThrow(SizeLimitError);
    await expect(denseMatrix(op, { maxDim: 9 })).rejects.toThrow(
      'denseMatrix: expected dim <= maxDim = 9, got dim 10',
    );
    expect(calls).toBe(0);
  });
});

describe('operator precision', () => {
  const base = denseOperator(Float64Array.of(2, 1, 1, 3), 2);
  const float32: LinearOperator = { ...base, precision: FLOAT32_PRECISION, matvec: base.matvec };

  it('defaults to float64 and is kept by the derived operators', () => {
    expect(operatorPrecision(base)).toBe(FLOAT64_PRECISION);
    const layout = layoutFromSizes([
      { name: 'a', size: 1 },
      { name: 'b', size: 1 },
    ]);
    for (const derived of [
      scaleOperator(float32, 2),
      shiftOperator(float32, 1),
      restrictOperator(float32, layout, 'b'),
    ]) {
      expect(operatorPrecision(derived)).toBe(FLOAT32_PRECISION);
    }
    expect(scaleOperator(base, 2).precision).toBeUndefined();
  });
});
