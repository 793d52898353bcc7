import type { LinearOperator } from '../operator.js';

/** A {@link LinearOperator} that counts its products, with the count readable as `calls`. */
export interface CountingOperator extends LinearOperator {
  /** Number of `matvec` calls so far. */
  readonly calls: number;
}

/**
 * Wraps `op` so that tests can assert how many products an algorithm spent, e.g. that invalid
 * options are rejected before the first one.
 *
 * @example
 * ```ts
 * import { expect } from 'vitest';
 * const counted = countingOperator(operator);
 * await expect(lanczos(counted, { steps: 0 })).rejects.toThrow(OptionError);
 * expect(counted.calls).toBe(0);
 * ```
 */
export function countingOperator(op: LinearOperator): CountingOperator {
  let calls = 0;
  return {
    dim: op.dim,
    get calls() {
      return calls;
    },
    matvec(v) {
      calls++;
      return op.matvec(v);
    },
  };
}
