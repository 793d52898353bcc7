import { describe, expect, it } from 'vitest';
import { blockNorms, blockRatios, exactBlockNorms } from './blocks.js';
import { DimensionError, LayoutError, MatvecError, OptionError } from './errors.js';
import { type LayoutBlock, layoutFromSizes, type ParameterLayout } from './layout.js';
import { denseOperator, type LinearOperator } from './operator.js';
import { createRandom } from './random.js';
import { countingOperator } from './testing/counting-operator.js';
import { arithmeticTolerance } from './testing/operator-contract.js';
import { conjugatedSpectrum, hessianLikeSpectrum } from './testing/spectra.js';

/** Square of a k×k row-major matrix. */
function square(m: Float64Array, k: number): Float64Array {
  const out = new Float64Array(k * k);
  for (let c = 0; c < k; c++) {
    for (let d = 0; d < k; d++) {
      for (let e = 0; e < k; e++) out[c * k + d] += m[c * k + e] * m[e * k + d];
    }
  }
  return out;
}

function trace(m: Float64Array, k: number): number {
  let s = 0;
  for (let c = 0; c < k; c++) s += m[c * k + c];
  return s;
}

/** tr M, tr M², tr M⁴ of M = A_ijᵀA_ij (rows of block `rows`, columns of block `cols`). */
function gramTraces(
  a: Float64Array,
  n: number,
  rows: LayoutBlock,
  cols: LayoutBlock,
): { trM: number; trM2: number; trM4: number } {
  const k = cols.size;
  const m = new Float64Array(k * k);
  for (let r = rows.offset; r < rows.offset + rows.size; r++) {
    for (let c = 0; c < k; c++) {
      for (let d = 0; d < k; d++)
        m[c * k + d] += a[r * n + cols.offset + c] * a[r * n + cols.offset + d];
    }
  }
  const m2 = square(m, k);
  return { trM: trace(m, k), trM2: trace(m2, k), trM4: trace(square(m2, k), k) };
}

function relativeGap(x: number, y: number): number {
  return Math.abs(x - y) / Math.abs(y);
}

describe('blockNorms', () => {
  const layout = layoutFromSizes([
    { name: 'a', size: 3 },
    { name: 'b', size: 8 },
    { name: 'c', size: 13 },
    { name: 'd', size: 6 },
  ]);
  const n = layout.dim;
  const { matrix } = conjugatedSpectrum(
    hessianLikeSpectrum(n, { outliers: 3, seed: 1, bulkScale: 1 }),
    2,
  );
  const op = denseOperator(matrix, n);

  it('estimates every block within 4 theoretical standard errors of exactBlockNorms', async () => {
    const probes = 400;
    const counted = countingOperator(op);
    const estimated = await blockNorms(counted, layout, { probes, seed: 3 });
    const exact = exactBlockNorms(matrix, n, layout);
    expect(estimated.names).toEqual(['a', 'b', 'c', 'd']);
    expect(estimated.matvecs).toBe(probes * 4);
    expect(counted.calls).toBe(probes * 4);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const { trM, trM2, trM4 } = gramTraces(matrix, n, layout.blocks[i], layout.blocks[j]);
        // One probe gives ‖A_ij z‖² = zᵀMz with M = A_ijᵀA_ij and z ~ N(0, I): mean tr M,
        // variance 2 tr M², kurtosis κ = 3 + 12 tr M⁴ / (tr M²)² (Gaussian quadratic form).
        const sigma = Math.sqrt((2 * trM2) / probes);
        const kurtosis = 3 + (12 * trM4) / trM2 ** 2;
        const estimate = estimated.frobeniusSq[i][j];
        const stderr = estimated.stderr[i][j];
        const message = `block (${i}, ${j}): estimate ${estimate}, exact ${exact.frobeniusSq[i][j]}, σ ${sigma}, stderr ${stderr}`;
        // The same <= 13² non-negative squares summed in another order: <= 169ε apart.
        expect(relativeGap(exact.frobeniusSq[i][j], trM)).toBeLessThan(arithmeticTolerance.float64);
        expect(Math.abs(estimate - exact.frobeniusSq[i][j]), message).toBeLessThanOrEqual(
          4 * sigma,
        );
        // The sample variance s² = K·stderr²: Var(s²/σ²) = (κ − 1)/K + 2/(K(K − 1)).
        const spread = Math.sqrt((kurtosis - 1) / probes + 2 / (probes * (probes - 1)));
        expect(Math.abs(stderr ** 2 / sigma ** 2 - 1), message).toBeLessThanOrEqual(4 * spread);
      }
    }
  });

  it('gives bit-identical results for the same seed', async () => {
    const first = await blockNorms(op, layout, { probes: 3, seed: 8 });
    const second = await blockNorms(op, layout, { probes: 3, seed: 8 });
    const other = await blockNorms(op, layout, { probes: 3, seed: 9 });
    expect(second).toEqual(first);
    expect(other.frobeniusSq[0][0]).not.toBe(first.frobeniusSq[0][0]);
  });

  it('reports NaN standard errors for a single probe per block', async () => {
    const { frobeniusSq, stderr, matvecs } = await blockNorms(op, layout, { probes: 1 });
    expect(matvecs).toBe(4);
    expect(frobeniusSq.flat().every((x) => x > 0)).toBe(true);
    expect(stderr.flat().every(Number.isNaN)).toBe(true);
  });

  it('has offDiagonalRatio exactly 0 for a block-diagonal matrix', async () => {
    // Off-diagonal products sum exact zeros, so their squared norms are exactly 0.
    const blockDiagonal = new Float64Array(n * n);
    for (const [b, block] of layout.blocks.entries()) {
      const { matrix: part } = conjugatedSpectrum(
        hessianLikeSpectrum(block.size, { outliers: 1, seed: 10 + b, bulkScale: 1 }),
        20 + b,
      );
      for (let r = 0; r < block.size; r++) {
        for (let c = 0; c < block.size; c++) {
          blockDiagonal[(block.offset + r) * n + block.offset + c] = part[r * block.size + c];
        }
      }
    }
    const estimated = await blockNorms(denseOperator(blockDiagonal, n), layout, {
      probes: 5,
      seed: 4,
    });
    expect(estimated.offDiagonalRatio).toBe(0);
    expect(exactBlockNorms(blockDiagonal, n, layout).offDiagonalRatio).toBe(0);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        if (i === j) {
          expect(estimated.frobeniusSq[i][i]).toBeGreaterThan(0);
        } else {
          expect(estimated.frobeniusSq[i][j]).toBe(0);
          expect(estimated.stderr[i][j]).toBe(0);
        }
      }
    }
  });

  it('validates options and the layout before any matvec', async () => {
    const counted = countingOperator(op);
    await expect(blockNorms(counted, layout, { probes: 0 })).rejects.toThrow(
      'blockNorms: expected probes to be an integer >= 1, got 0',
    );
    await expect(blockNorms(counted, layout, { probes: 2.5 })).rejects.toThrow(OptionError);
    await expect(blockNorms(counted, layout, { probes: 2, seed: 0.5 })).rejects.toThrow(
      OptionError,
    );
    const short = layoutFromSizes([{ name: 'a', size: n - 1 }]);
    await expect(blockNorms(counted, short, { probes: 2 })).rejects.toThrow(DimensionError);
    const gap: ParameterLayout = {
      dim: n,
      blocks: [
        { name: 'a', offset: 0, size: 10 },
        { name: 'b', offset: 12, size: n - 12 },
      ],
    };
    await expect(blockNorms(counted, gap, { probes: 2 })).rejects.toThrow(LayoutError);
    expect(counted.calls).toBe(0);
  });

  it('stops with a MatvecError naming the step when the operator returns NaN', async () => {
    let step = 0;
    const failing: LinearOperator = {
      dim: n,
      async matvec(v) {
        return step++ === 5 ? new Float64Array(n).fill(Number.NaN) : op.matvec(v);
      },
    };
    const error = await blockNorms(failing, layout, { probes: 2 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MatvecError);
    expect(error).toMatchObject({ algorithm: 'blockNorms', step: 5 });
  });
});

describe('exactBlockNorms', () => {
  it('matches hand-computed block norms', () => {
    const a = Float64Array.of(1, 2, 3, 2, 4, 5, 3, 5, 6);
    const layout = layoutFromSizes([
      { name: 'x', size: 1 },
      { name: 'y', size: 2 },
    ]);
    // ‖A_xy‖² = 2² + 3² = 13; ‖A_yy‖² = 4² + 5² + 5² + 6² = 102; total 129.
    expect(exactBlockNorms(a, 3, layout)).toEqual({
      names: ['x', 'y'],
      frobeniusSq: [
        [1, 13],
        [13, 102],
      ],
      offDiagonalRatio: 26 / 129,
    });
  });

  it('gives offDiagonalRatio NaN for the zero matrix', () => {
    const layout = layoutFromSizes([
      { name: 'x', size: 1 },
      { name: 'y', size: 1 },
    ]);
    expect(exactBlockNorms(new Float64Array(4), 2, layout).offDiagonalRatio).toBeNaN();
  });

  it('rejects mismatched sizes', () => {
    const layout = layoutFromSizes([{ name: 'x', size: 2 }]);
    expect(() => exactBlockNorms(new Float64Array(5), 2, layout)).toThrow(
      'exactBlockNorms: expected a matrix of 2×2 = 4 entries, got 5',
    );
    expect(() => exactBlockNorms(new Float64Array(9), 3, layout)).toThrow(DimensionError);
  });
});

describe('blockRatios', () => {
  it('matches a hand-computed case', () => {
    const { meanRatio, massRatio, normalizedCoupling } = blockRatios([
      [4, 1],
      [1, 9],
    ]);
    // F = [[2, 1], [1, 3]]: mean off-diagonal 1, mean diagonal 2.5.
    expect(meanRatio).toBe(1 / 2.5);
    expect(massRatio).toBe(2 / 13);
    expect(normalizedCoupling).toEqual([
      [1, 1 / Math.sqrt(6)],
      [1 / Math.sqrt(6), 1],
    ]);
  });

  it.each([2, 4, 7])(
    'gives 1/(C − 1) for a linear model with cross-entropy at uniform softmax (C = %i)',
    (classes) => {
      // docs/methods.md A: H = (diag(p) − ppᵀ) ⊗ S with p = 1/C, S = XᵀX/N, one block per class.
      const d = 3;
      const samples = 10;
      const rng = createRandom(classes);
      const x = Array.from({ length: samples }, () => rng.gaussianVector(d));
      const s = new Float64Array(d * d);
      for (const row of x) {
        for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) s[a * d + b] += row[a] * row[b];
      }
      const n = classes * d;
      const h = new Float64Array(n * n);
      for (let k = 0; k < classes; k++) {
        for (let l = 0; l < classes; l++) {
          const factor = ((k === l ? classes - 1 : -1) / classes ** 2) * (1 / samples);
          for (let a = 0; a < d; a++) {
            for (let b = 0; b < d; b++) h[(k * d + a) * n + l * d + b] = factor * s[a * d + b];
          }
        }
      }
      const layout = layoutFromSizes(
        Array.from({ length: classes }, (_, k) => ({ name: `class_${k}`, size: d })),
      );
      const exact = exactBlockNorms(h, n, layout);
      const { meanRatio, massRatio, normalizedCoupling } = blockRatios(exact.frobeniusSq);
      const expected = 1 / (classes - 1);
      // A few roundings per entry of sums of d² = 9 squares and of the ratios.
      const tolerance = arithmeticTolerance.float64;
      expect(relativeGap(meanRatio, expected), `meanRatio ${meanRatio}`).toBeLessThan(tolerance);
      expect(relativeGap(massRatio, expected), `massRatio ${massRatio}`).toBeLessThan(tolerance);
      // Σ_{k≠l} over Σ_{k,l}: C(C − 1)/C⁴ over C(C − 1)/C⁴ + C(C − 1)²/C⁴ = 1/C.
      expect(relativeGap(exact.offDiagonalRatio, 1 / classes)).toBeLessThan(tolerance);
      for (let k = 0; k < classes; k++) {
        for (let l = 0; l < classes; l++) {
          const want = k === l ? 1 : expected;
          expect(relativeGap(normalizedCoupling[k][l], want), `coupling (${k}, ${l})`).toBeLessThan(
            tolerance,
          );
        }
      }
    },
  );

  it('rejects non-square or negative input', () => {
    expect(() => blockRatios([])).toThrow(DimensionError);
    expect(() => blockRatios([[1, 2]])).toThrow(
      'blockRatios: expected a square 1×1 array, got row 0 of length 2',
    );
    expect(() =>
      blockRatios([
        [1, -1],
        [0, 1],
      ]),
    ).toThrow(OptionError);
  });
});
