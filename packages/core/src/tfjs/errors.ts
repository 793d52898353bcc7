import { HessianProbeError } from '../errors.js';

/**
 * A model contains a layer (or activation) whose second derivatives hessian-probe cannot
 * compute exactly. Raised before any tensor work, listing every offending layer.
 *
 * @example
 * ```ts
 * try { modelCurvature(model, { tf, x, y }); }
 * catch (e) { if (e instanceof UnsupportedLayerError) console.error(e.layers); }
 * ```
 */
export class UnsupportedLayerError extends HessianProbeError {
  /** `name (ClassName[, activation])` of each unsupported layer. */
  readonly layers: readonly string[];

  constructor(message: string, layers: readonly string[]) {
    super('unsupported-layer', message);
    this.layers = [...layers];
  }
}

/**
 * The exact Hessian-vector product (autodiff or the Dense-chain route) disagreed with a
 * central finite-difference product beyond the documented tolerance: a gradient somewhere in
 * the model is not second-order correct. Names the parameter blocks (and so the layers) where the disagreement is largest.
 */
export class SelfCheckError extends HessianProbeError {
  /** Relative error ‖Hv − H_fd v‖ / ‖H_fd v‖ of the worst direction. */
  readonly relativeError: number;
  /** Parameter blocks ordered by their share of the error, largest first. */
  readonly blocks: readonly string[];

  constructor(message: string, relativeError: number, blocks: readonly string[]) {
    super('self-check', message);
    this.relativeError = relativeError;
    this.blocks = [...blocks];
  }
}

/** A loss or label tensor does not fit the model output (shape, dtype or label range). */
export class LossError extends HessianProbeError {
  constructor(message: string) {
    super('loss', message);
  }
}
