import { describe, expect, it } from 'vitest';
import { spectralDensity } from './density.js';
import { topEigenpairs } from './eigenpairs.js';
import { MatvecError, SizeLimitError } from './errors.js';
import { lanczos } from './lanczos.js';
import { denseOperator, type LinearOperator } from './operator.js';
import { estimateDiagonal, estimateTrace } from './trace.js';
import { formatBytes, WORKSPACE_MAX_BYTES } from './workspace.js';

/** An operator of dimension `dim` whose first product throws: it shows the workspace passed. */
function unreachable(dim: number): LinearOperator {
  return {
    dim,
    async matvec() {
      throw new Error('first product');
    },
  };
}

describe('the workspace limit', () => {
  it('is 4 GiB by default', () => {
    expect(WORKSPACE_MAX_BYTES).toBe(2 ** 32);
    expect(formatBytes(WORKSPACE_MAX_BYTES)).toBe('4 GiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(100)).toBe('100 bytes');
  });

  it('refuses a workspace above maxBytes with the sizes, and can be raised', async () => {
    const op = denseOperator(Float64Array.of(2, 1, 1, 3), 2);
    // Hutch++ with 30 products keeps a sketch of 10 vectors: (10 + 3)·2 + 2·10² numbers.
    const error = await estimateTrace(op, { matvecs: 30, method: 'hutch++', maxBytes: 1000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SizeLimitError);
    expect(error).toMatchObject({ bytes: 8 * (13 * 2 + 200), maxBytes: 1000 });
    expect((error as Error).message).toBe(
      "estimateTrace: expected a workspace of at most maxBytes = 1000 bytes (1000 bytes), got a sketch of 10 vectors of length 2 and 3 probe vectors: 1808 bytes (1.77 KiB); lower matvecs, use method: 'hutchinson', or raise maxBytes",
    );
    const raised = await estimateTrace(op, { matvecs: 30, method: 'hutch++', maxBytes: 1808 });
    expect(raised.estimate).toBeCloseTo(5, 10);
    const unlimited = await estimateTrace(op, {
      matvecs: 30,
      method: 'hutch++',
      maxBytes: Infinity,
    });
    expect(unlimited).toEqual(raised);
  });

  it('lets every default run at 10^6 parameters', async () => {
    const op = unreachable(1e6);
    for (const run of [
      () => topEigenpairs(op, { k: 5 }),
      () => topEigenpairs(op, { k: 2, which: 'both' }),
      () => lanczos(op, { steps: 80 }),
      () => spectralDensity(op),
      () => spectralDensity(op, { reorthogonalize: 'partial' }),
      () => estimateTrace(op, { matvecs: 300 }),
      () => estimateDiagonal(op, { matvecs: 10 }),
    ]) {
      await expect(run()).rejects.toBeInstanceOf(MatvecError);
    }
  });

  it('refuses topEigenpairs with k = 5 between 9·10^6 and 10^7 parameters, before any product', async () => {
    await expect(topEigenpairs(unreachable(9e6), { k: 5 })).rejects.toBeInstanceOf(MatvecError);
    await expect(topEigenpairs(unreachable(1e7), { k: 5 })).rejects.toThrow(
      /^topEigenpairs: expected a workspace of at most maxBytes = 4294967296 bytes \(4 GiB\), got 58 vectors of length 10000000 and 20×20 projected matrices/,
    );
    await expect(
      topEigenpairs(unreachable(1e7), { k: 5, maxBytes: 8 * 2 ** 30 }),
    ).rejects.toBeInstanceOf(MatvecError);
  });
});
