import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { denseMatrix } from './dense.js';
import {
  DimensionError,
  LayoutError,
  MatvecError,
  SizeLimitError,
  SymmetryError,
} from './errors.js';
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
