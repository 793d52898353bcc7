/** The registry of supported ONNX operators (default domain), one module per family. */
import { ACTIVATION_CHECKS, ACTIVATION_OPS } from './activation.js';
import { CONSTANT_OPS } from './constant.js';
import { CONV_CHECKS, CONV_OPS } from './conv.js';
import { ELEMENTWISE_OPS } from './elementwise.js';
import { LINEAR_OPS } from './linear.js';
import { MATH_OPS } from './math.js';
import { NORMALIZATION_CHECKS, NORMALIZATION_OPS } from './normalization.js';
import { POOL_CHECKS, POOL_OPS } from './pool.js';
import { REDUCE_OPS } from './reduce.js';
import { SHAPE_CHECKS, SHAPE_OPS } from './shape.js';
import type { OpCheck, OpImpl } from './types.js';

/** Every supported operator by its ONNX `op_type`. */
export const OPS: Readonly<Record<string, OpImpl>> = {
  ...LINEAR_OPS,
  ...CONV_OPS,
  ...POOL_OPS,
  ...NORMALIZATION_OPS,
  ...ELEMENTWISE_OPS,
  ...MATH_OPS,
  ...REDUCE_OPS,
  ...ACTIVATION_OPS,
  ...SHAPE_OPS,
  ...CONSTANT_OPS,
};

/**
 * Attribute checks run by `convertGraph` on every node before anything is built (operators
 * without attributes the implementation could ignore have none).
 */
export const OP_CHECKS: Readonly<Record<string, OpCheck>> = {
  ...ACTIVATION_CHECKS,
  ...CONV_CHECKS,
  ...POOL_CHECKS,
  ...NORMALIZATION_CHECKS,
  ...SHAPE_CHECKS,
};

/** The names of the supported operators, sorted. */
export const SUPPORTED_OPS: readonly string[] = Object.keys(OPS).sort();
