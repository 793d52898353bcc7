/**
 * Typed errors of hessian-probe. Every message reads "<where>: expected …, got …" so that a
 * user can fix the call without reading the source.
 *
 * @example
 * ```ts
 * try { await lanczos(operator, { steps: 0 }); }
 * catch (e) { if (e instanceof OptionError) console.error(e.message); }
 * // "lanczos: expected steps to be an integer >= 1, got 0"
 * ```
 */
export class HessianProbeError extends Error {
  /** Stable machine-readable code, e.g. `'option'`, `'dimension'`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * An option or argument has a value out of its documented range or of the wrong type: options
 * that are not an object, an operator without a `matvec` function or with a `dim` that is not
 * an integer >= 1, a vector that is not a `Float64Array`, a seed that is not a safe integer, …
 * (raised before any matvec).
 */
export class OptionError extends HessianProbeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('option', message, options);
  }
}

/** Two sizes that must agree do not (vector length vs operator dimension, matrix size, …). */
export class DimensionError extends HessianProbeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('dimension', message, options);
  }
}

/** A {@link ParameterLayout} does not tile its dimension, or a block name is unknown. */
export class LayoutError extends HessianProbeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('layout', message, options);
  }
}

/** A matrix that must be symmetric is not, within the stated tolerance. */
export class SymmetryError extends HessianProbeError {
  /** Row and column of the worst asymmetric pair. */
  readonly row: number;
  readonly column: number;

  constructor(message: string, row: number, column: number) {
    super('symmetry', message);
    this.row = row;
    this.column = column;
  }
}

/**
 * An operator's `matvec` returned something unusable (wrong length, NaN or ±Inf, or threw)
 * at a given step of an algorithm; the algorithm stopped there.
 */
export class MatvecError extends HessianProbeError {
  /** Name of the algorithm that called the operator, e.g. `'lanczos'`. */
  readonly algorithm: string;
  /** Zero-based index of the matvec within that algorithm's run. */
  readonly step: number;

  constructor(message: string, algorithm: string, step: number, options?: { cause?: unknown }) {
    super('matvec', message, options);
    this.algorithm = algorithm;
    this.step = step;
  }
}

/**
 * A request exceeds a configured size limit (e.g. assembling a dense matrix that is too big, or
 * a workspace of vectors larger than `maxBytes`: see `WORKSPACE_MAX_BYTES`), raised before any
 * matvec.
 */
export class SizeLimitError extends HessianProbeError {
  /** Bytes the request would need, when the limit is one of memory. */
  readonly bytes?: number;
  /** The limit in bytes it exceeds, when the limit is one of memory. */
  readonly maxBytes?: number;

  constructor(message: string, sizes?: { bytes: number; maxBytes: number }) {
    super('size-limit', message);
    if (sizes !== undefined) {
      this.bytes = sizes.bytes;
      this.maxBytes = sizes.maxBytes;
    }
  }
}

/**
 * The loss on the probe set is NaN or ±Infinity (the weights diverged): an analysis of its
 * curvature would be meaningless, so none ran.
 */
export class NonFiniteLossError extends HessianProbeError {
  /** The loss value. */
  readonly loss: number;

  constructor(message: string, loss: number) {
    super('non-finite-loss', message);
    this.loss = loss;
  }
}
