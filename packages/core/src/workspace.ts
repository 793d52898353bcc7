/**
 * The workspace limit: every algorithm that keeps vectors of the operator's dimension checks,
 * before its first product, that the memory they take fits in a budget.
 */
import { OptionError, SizeLimitError } from './errors.js';
import { show } from './options.js';

/**
 * Default `maxBytes` of every algorithm that takes an operator: 4 GiB (2^32 bytes) of float64
 * workspace, i.e. 2^29 numbers.
 *
 * Each algorithm estimates, before its first product, the peak memory of what it keeps: the
 * vectors of length dim (a Lanczos basis, the search subspace of `topEigenpairs` and its
 * products, the Hutch++ sketch, SLQ's per-probe basis, probe vectors), the dense matrices it
 * assembles, and the arrays whose size grows with a count (SLQ's nodes, the block-norm table,
 * the projected matrix of the eigensolver). When that exceeds `maxBytes` it throws a
 * {@link SizeLimitError} naming the counts, instead of aborting the process out of memory
 * hours later (`estimateTrace(op, { matvecs: 1e9 })` would keep 3.3e8 sketch vectors).
 *
 * Why 4 GiB: it is what a browser tab or a 32-bit WebAssembly heap can address at most, the
 * largest `Buffer` Node 20 allocates, and a sixth of the 23.5 GiB machines the benchmarks run
 * on, while the defaults of the library fit in it up to millions of parameters:
 * `topEigenpairs` with k <= 5 keeps 53 to 58 vectors (464 MB at 10^6 parameters, refused from
 * about 9·10^6), Hutch++ with 30 products 13 (from 4·10^7), SLQ with 80 steps and no
 * reorthogonalisation 5 (from 10^8). Larger models, or larger budgets, pass `maxBytes` (any
 * number > 0; `Infinity` turns the check off).
 *
 * Counts that cost only time (`maxMatvecs`, `maxIter`, Hutchinson's `matvecs`, the probes of
 * `estimateDiagonal`, `blockNorms` and `gaussNewtonGap`) have no bound beyond being safe integers
 * (<= 2^53 − 1): they are the caller's budget of products, every loop stops at it, and any
 * bound on them would be arbitrary (a product costs a microsecond for a small dense matrix and
 * seconds for a convolutional network).
 */
export const WORKSPACE_MAX_BYTES = 4 * 2 ** 30;

/** Bytes of `count` float64 numbers. */
export function float64Bytes(count: number): number {
  return 8 * count;
}

/**
 * Checks a `maxBytes` option: a number > 0 (`Infinity` allowed: no limit). Returns it, or
 * {@link WORKSPACE_MAX_BYTES} when it is `undefined`.
 */
export function checkMaxBytes(where: string, maxBytes: number | undefined): number {
  if (maxBytes === undefined) return WORKSPACE_MAX_BYTES;
  if (typeof maxBytes !== 'number' || !(maxBytes > 0)) {
    throw new OptionError(
      `${where}: expected maxBytes to be a number > 0 (Infinity: no limit), got ${show(maxBytes)}`,
    );
  }
  return maxBytes;
}

/**
 * Throws a {@link SizeLimitError} when a workspace of `bytes` exceeds `maxBytes`. `what`
 * describes the workspace ("101 vectors of length 2147483648"), `advice` the counts that
 * would shrink it ("lower steps").
 */
export function checkWorkspace(
  where: string,
  bytes: number,
  maxBytes: number,
  what: string,
  advice: string,
): void {
  if (!(bytes <= maxBytes)) {
    throw new SizeLimitError(
      `${where}: expected a workspace of at most maxBytes = ${maxBytes} bytes (${formatBytes(maxBytes)}), ` +
        `got ${what}: ${bytes} bytes (${formatBytes(bytes)}); ${advice}, or raise maxBytes`,
      { bytes, maxBytes },
    );
  }
}

/** `bytes` in the largest binary unit below it, e.g. "4 GiB", "1.5 TiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toPrecision(3))} ${units[unit]}`;
}
